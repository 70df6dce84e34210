"""The official SDK (perplexityai) in a thread pool, pointed at the benchmark server: each line
of stdin asked with ``client.responses.create(effort="fast", input=line)`` by 16 threads, the
answers printed in input order. The SDK retries a 429 on its own (2 retries, honouring
``retry-after``), each thread by itself: no shared limiter.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from perplexity import Perplexity

client = Perplexity(api_key=os.environ["PPLX_API_KEY"], base_url=sys.argv[1], max_retries=10)
prompts = sys.stdin.read().splitlines()


def ask(prompt):
    try:
        return client.responses.create(effort="fast", input=prompt).output_text
    except Exception as e:  # a line's failure is its line
        return f"error: {e}"


with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
    for answer in pool.map(ask, prompts):
        print(answer)
