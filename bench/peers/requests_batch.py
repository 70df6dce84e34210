"""The floor under pplx batch's CPU per request: one requests session (keep-alive, a pool of
16) posting each line of stdin from 16 threads and printing the answers' text, nothing else
(no history, no records, no retries). argv: base URL, threads."""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

url = sys.argv[1] + "/v1/responses"
session = requests.Session()
session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=int(sys.argv[2])))
headers = {"Authorization": f"Bearer {os.environ['PPLX_API_KEY']}"}


def ask(prompt):
    body = session.post(url, headers=headers, json={"effort": "fast", "input": prompt, "stream": False}).json()
    return "".join(part.get("text", "") for item in body.get("output", []) if item.get("type") == "message"
                   for part in item.get("content") or [])


with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
    for answer in pool.map(ask, sys.stdin.read().splitlines()):
        print(json.dumps(answer))
