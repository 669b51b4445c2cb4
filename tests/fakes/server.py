"""A real HTTP server on loopback for tests: it records every request and answers through a
function of the request, so the product's outbound client is tested over real sockets (the fake
platform APIs and the test delivery's targets are built on it; nothing of the client is mocked)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        import json

        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Seen], Answer]


class FakeServer:
    """`with FakeServer(respond) as server:` serves on `server.url` until the block ends;
    `server.seen` lists the requests received, in order."""

    def __init__(self, respond: Responder | None = None):
        self.respond = respond or (lambda seen: Answer())
        self.seen: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(self.command, parts.path, parse_qs(parts.query),
                            dict(self.headers.items()), self.rfile.read(length))  # fmt: skip
                owner.seen.append(seen)
                answer = owner.respond(seen)
                body = answer.body
                headers = dict(answer.headers)
                if isinstance(body, dict | list):
                    import json

                    body = json.dumps(body).encode()
                    headers.setdefault("Content-Type", "application/json")
                elif isinstance(body, str):
                    body = body.encode()
                self.send_response(answer.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class FakePlatform:
    """What every fake platform shares: its FakeServer (answering through `respond`), the
    requests counted, and faults scripted by request number (`faults[3] = answer`, or a function
    of the request returning an answer, or None to answer normally)."""

    def __init__(self):
        self.server = FakeServer(self.respond)
        self.faults: dict[int, Answer | Callable[[Seen], Answer | None]] = {}
        self.requests = 0

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def seen(self) -> list[Seen]:
        return self.server.seen

    def scripted(self, seen: Seen) -> Answer | None:
        """Counts the request; the fault scripted for it, if any."""
        self.requests += 1
        fault = self.faults.pop(self.requests, None)
        return fault(seen) if callable(fault) else fault

    def respond(self, seen: Seen) -> Answer:
        raise NotImplementedError
