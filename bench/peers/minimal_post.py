"""The least a script does to ask: import requests and post the body. argv: URL, the body as JSON."""

import json
import os
import sys

import requests

response = requests.post(sys.argv[1], headers={"Authorization": f"Bearer {os.environ['PPLX_API_KEY']}"},
                         json=json.loads(sys.argv[2]))
print(response.text)
