"""Streaming from the Agent API with the official SDK (perplexityai), pointed at the benchmark server.

``client.responses.create(..., stream=True)`` posts to ``/v1/responses`` and yields one typed
event per server-sent event; a text delta is an event of type ``response.output_text.delta``
with the text in ``.delta``.
"""

import os
import sys

from perplexity import Perplexity

client = Perplexity(api_key=os.environ["PPLX_API_KEY"], base_url=sys.argv[1])
stream = client.responses.create(model="perplexity/sonar", input="q", tools=[{"type": "web_search"}], stream=True)
for event in stream:
    if event.type == "response.output_text.delta":
        print(event.delta, end="", flush=True)
print()
