"""A scriptable threaded HTTP server on 127.0.0.1 for tests that need a real socket.

Each request to a path takes the next :class:`Reply` queued for it (the last one repeats).
A reply can stream its body in parts with delays, in chunked, Content-Length or
connection-close framing, stall before headers, drop the connection mid-body, or write every
byte on its own. Every request is recorded with its headers and JSON body.
"""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """What the server sends for one request."""

    status: int = 200
    parts: list = field(default_factory=list)  # bytes written one after another
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    framing: str = "chunked"  # chunked | length | close
    delay: float = 0.0  # seconds before each part after the first
    stall_before_headers: float = 0.0
    drop_after: int = None  # close the socket after this many parts, mid-body
    bytewise: bool = False  # write every byte of every part on its own
    sent_at: list = field(default_factory=list)  # time.monotonic() as each part's last byte was written


def sse(*objects, event=None) -> bytes:
    """``data: <json>`` events (and an ``event:`` line when given), each ended by a blank line."""
    out = []
    for obj in objects:
        data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
        out.append((f"event: {event}\n" if event else "") + f"data: {data}\n\n")
    return "".join(out).encode()


def json_reply(obj, status=200, headers=None) -> Reply:
    body = json.dumps(obj).encode()
    return Reply(status=status, parts=[body], headers={"Content-Type": "application/json", **(headers or {})}, framing="length")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.do_POST()

    def do_POST(self):
        server = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        reply = server.reject_unknown_agent_fields(self.path, body) or server.next_reply(self.path)
        if reply.stall_before_headers:
            time.sleep(reply.stall_before_headers)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.framing == "length":
            self.send_header("Content-Length", str(sum(len(p) for p in reply.parts)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        try:
            for i, part in enumerate(reply.parts):
                if reply.drop_after is not None and i >= reply.drop_after:
                    self._drop()
                    return
                if i and reply.delay:
                    time.sleep(reply.delay)
                pieces = [part[j:j + 1] for j in range(len(part))] if reply.bytewise else [part]
                for k, piece in enumerate(pieces):
                    if reply.framing == "chunked":
                        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                    if k == len(pieces) - 1:
                        reply.sent_at.append(time.monotonic())  # the moment the part's last byte is sent
                    self.wfile.write(piece)
                    self.wfile.flush()
            if reply.drop_after is not None and reply.drop_after >= len(reply.parts):
                self._drop()
                return
            if reply.framing == "chunked":
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if reply.framing == "close":
            self.close_connection = True

    def _drop(self):
        """End the connection abruptly (no final chunk)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


#: The request fields the Agent API accepts; like the real one, the fake rejects any other.
AGENT_FIELDS = {
    "input", "model", "preset", "instructions", "stream", "max_output_tokens", "reasoning", "response_format",
    "tools", "temperature", "top_p", "previous_response_id", "language_preference", "max_steps",
}


class FakeAPI:
    """The server; use as a context manager. ``url`` is its base URL."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.api = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path, *replies):
        """Queue replies for ``path``; the last one is repeated."""
        self.routes.setdefault(path, []).extend(replies)
        return replies[0] if len(replies) == 1 else replies

    def next_reply(self, path):
        with self._lock:
            queue = self.routes.get(path.split("?")[0])
            if not queue:
                return json_reply({"error": {"message": f"no route {path}", "type": "not_found"}}, status=404)
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def reject_unknown_agent_fields(self, path, body):
        """A 400 naming the first unknown field of an Agent API request, as the service does."""
        if not path.startswith(("/v1/responses", "/v1/agent")) or not isinstance(body, dict):
            return None
        unknown = sorted(set(body) - AGENT_FIELDS)
        if not unknown:
            return None
        return json_reply({"error": {"message": f"Unknown parameter: '{unknown[0]}'.", "type": "invalid_request_error",
                                     "param": unknown[0], "code": 400}}, status=400)

    def paths(self):
        return [r["path"] for r in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
