"""The floor under pplx's start-to-request figure: minimal_post.py as a minimal click command.
pplx reads its command line with click and posts with requests (fixed by its design): this is
what those two alone cost a program before its request reaches the server (pplx saves a little
of it back by not importing requests' charset detector). argv: URL, the body as JSON."""

import json
import os

import click
import requests


@click.command()
@click.argument("url")
@click.argument("body")
def main(url, body):
    response = requests.post(url, headers={"Authorization": f"Bearer {os.environ['PPLX_API_KEY']}"}, json=json.loads(body))
    print(response.text)


if __name__ == "__main__":
    main()
