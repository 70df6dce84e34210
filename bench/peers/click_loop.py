"""The floor under pplx's whole-process figures: the streaming guide's requests loop
(guide_agent_loop.py), printing as it does, as a minimal click command. pplx is built on click and requests (fixed by
its design): this is what those two alone cost a program that streams the answer (pplx
saves a little of it back: no charset detector, no interpreter tidy-up at exit)."""

import json
import os

import click
import requests


@click.command()
@click.argument("base_url")
def main(base_url):
    url = base_url + "/v1/responses"
    headers = {"Authorization": f"Bearer {os.environ['PPLX_API_KEY']}", "Content-Type": "application/json"}
    payload = {"model": "perplexity/sonar", "input": "q", "tools": [{"type": "web_search"}], "stream": True}
    response = requests.post(url, headers=headers, json=payload, stream=True)
    for line in response.iter_lines():
        if line:
            line = line.decode("utf-8")
            if line.startswith("data: "):
                try:
                    event = json.loads(line[6:])
                except json.JSONDecodeError:
                    continue
                if event.get("type") == "response.output_text.delta":
                    print(event["delta"], end="", flush=True)
    print()


if __name__ == "__main__":
    main()
