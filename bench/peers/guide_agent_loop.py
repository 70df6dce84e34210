"""The streaming guide's requests loop, on the Agent API: the code users would copy.

iter_lines, the ``data: `` prefix, json.loads, and the delta of each
``response.output_text.delta`` event printed as it comes (``event:`` lines are skipped).
"""

import json
import os
import sys

import requests

url = sys.argv[1] + "/v1/responses"
headers = {"Authorization": f"Bearer {os.environ['PPLX_API_KEY']}", "Content-Type": "application/json"}
payload = {"model": "perplexity/sonar", "input": "q", "tools": [{"type": "web_search"}], "stream": True}

response = requests.post(url, headers=headers, json=payload, stream=True)
for line in response.iter_lines():
    if line:
        line = line.decode("utf-8")
        if line.startswith("data: "):
            data_str = line[6:]
            try:
                event = json.loads(data_str)
            except json.JSONDecodeError:
                continue
            if event.get("type") == "response.output_text.delta":
                print(event["delta"], end="", flush=True)
print()
