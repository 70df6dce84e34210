"""-a/--attach: files and images sent with the prompt, checked before anything is sent, kept
in the history by name, type, size and SHA-256 only; --reattach. Against the local server."""

import base64
import hashlib
import json
import os
import subprocess

from tests.conftest import pplx_executable

AGENT = "/v1/responses"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


def run_cli(api, *args, stdin=b"", env=None):
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, timeout=60,
                          env=dict(os.environ, PPLX_BASE_URL=api.url, **(env or {})))


def test_images_and_files_become_input_parts_typed_by_content(api, home, tmp_path):
    picture = tmp_path / "photo.bin"  # a PNG whatever its name says
    picture.write_bytes(PNG)
    fake = tmp_path / "fake.png"  # named like an image, but text
    fake.write_text("not an image\n")
    result = run_cli(api, "ask", "describe", "-a", str(picture), "-a", str(fake), "-a", "https://x.example/a.jpg",
                     "-a", "https://x.example/paper.pdf", "--no-meta")
    assert result.returncode == 0, result.stderr
    [body] = [r["body"] for r in api.requests]
    assert body["input"] == [{"role": "user", "content": [
        {"type": "input_text", "text": "describe"},
        {"type": "input_image", "image_url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
        {"type": "input_file", "file_data": base64.b64encode(b"not an image\n").decode(), "filename": "fake.png"},
        {"type": "input_image", "image_url": "https://x.example/a.jpg"},
        {"type": "input_file", "file_url": "https://x.example/paper.pdf", "filename": "paper.pdf"}]}]
    [record] = [json.loads(line) for line in run_cli(api, "log", "--json").stdout.splitlines()]
    assert record["options"]["attachments"][0] == {"name": "photo.bin", "type": "image/png", "size": len(PNG),
                                                   "sha256": hashlib.sha256(PNG).hexdigest(), "source": str(picture)}
    assert base64.b64encode(PNG).decode() not in json.dumps(record)  # never the bytes


def test_stdin_as_an_attachment_with_the_prompt_as_arguments(api, home):
    result = run_cli(api, "ask", "-a", "-", "summarise", "this", "--no-meta", stdin=b"a log file\n")
    assert result.returncode == 0, result.stderr
    content = api.requests[0]["body"]["input"][0]["content"]
    assert content == [{"type": "input_text", "text": "summarise this"},
                       {"type": "input_file", "file_data": base64.b64encode(b"a log file\n").decode(), "filename": "stdin"}]
    assert run_cli(api, "ask", "-a", "-", stdin=b"x").returncode == 2  # the prompt must be arguments


def test_bad_attachments_are_usage_errors_before_sending(api, home, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    long_url = "https://x.example/" + "a" * 2100 + ".png"
    for spec, message in ((str(tmp_path / "missing.pdf"), "No such file or directory"), (str(empty), "it is empty"),
                          (long_url, "the API takes at most 2,048"), (str(tmp_path), "is a directory")):
        result = run_cli(api, "ask", "q", "-a", spec)
        assert result.returncode == 2 and message in result.stderr.decode(), (spec, result.stderr)
    chat = run_cli(api, "ask", "q", "--api", "chat", "-a", str(tmp_path / "x"))
    assert chat.returncode == 2
    assert api.requests == []


def test_continuing_does_not_resend_attachments_unless_reattach(api, home, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("version one\n")
    assert run_cli(api, "ask", "read this", "-a", str(doc), "--no-meta", "--no-store").returncode == 0
    assert run_cli(api, "ask", "-c", "and then?", "--no-meta", "--no-store").returncode == 0
    assert "file_data" not in json.dumps(api.requests[-1]["body"])
    again = run_cli(api, "ask", "-c", "--reattach", "and again?", "--no-meta", "--no-store")
    assert again.returncode == 0, again.stderr
    assert api.requests[-1]["body"]["input"][-1]["content"][1]["file_data"] == base64.b64encode(b"version one\n").decode()
    doc.write_text("version two\n")
    changed = run_cli(api, "ask", "-c", "--reattach", "once more")
    assert changed.returncode == 2 and b"has changed since it was sent" in changed.stderr
    assert run_cli(api, "ask", "--reattach", "q").returncode == 2
