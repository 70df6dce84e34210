"""The requests loop from Perplexity's streaming guide: the code users copy today."""

import json
import os
import sys

import requests

url = sys.argv[1] + "/chat/completions"
headers = {"Authorization": f"Bearer {os.environ['PPLX_API_KEY']}", "Content-Type": "application/json"}
payload = {"model": "sonar", "messages": [{"role": "user", "content": "q"}], "stream": True}

response = requests.post(url, headers=headers, json=payload, stream=True)
for line in response.iter_lines():
    if line:
        line = line.decode("utf-8")
        if line.startswith("data: "):
            data_str = line[6:]
            if data_str == "[DONE]":
                break
            try:
                chunk_data = json.loads(data_str)
                content = chunk_data["choices"][0]["delta"].get("content", "")
                if content:
                    print(content, end="", flush=True)
            except json.JSONDecodeError:
                continue
print()
