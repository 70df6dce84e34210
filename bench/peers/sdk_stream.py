"""Streaming with the official SDK (perplexityai), pointed at the benchmark server."""

import os
import sys

from perplexity import Perplexity

client = Perplexity(api_key=os.environ["PPLX_API_KEY"], base_url=sys.argv[1])
stream = client.chat.completions.create(model="sonar", messages=[{"role": "user", "content": "q"}], stream=True)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
print()
