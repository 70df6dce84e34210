"""Embedding lines of stdin with the official SDK (perplexityai), pointed at the benchmark server,
doing what ``pplx embed --dimensions N`` does: batches of at most 512 texts, sent in order, each
embedding decoded from base64 int8 and printed as a JSON line ``{"index", "embedding"}``.
"""

import base64
import json
import os
import sys

from perplexity import Perplexity

client = Perplexity(api_key=os.environ["PPLX_API_KEY"], base_url=sys.argv[1])
dimensions = int(sys.argv[2])
texts = sys.stdin.read().splitlines()
out = sys.stdout
for start in range(0, len(texts), 512):
    batch = texts[start:start + 512]
    response = client.embeddings.create(input=batch, model="pplx-embed-v1-0.6b", dimensions=dimensions,
                                        encoding_format="base64_int8")
    for item in sorted(response.data, key=lambda d: d.index):
        vector = [b - 256 if b > 127 else b for b in base64.b64decode(item.embedding)]
        out.write(json.dumps({"index": start + item.index, "embedding": vector}) + "\n")
out.flush()
