"""A real HTTP webhook receiver on 127.0.0.1 (a free port) for the tests: records every request
and answers what the test tells it (a status per request, a hang, a redirect)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, answers=None, *, hang_seconds: float = 0.0):
        """``answers``: statuses for the 1st, 2nd ... request (then 200); or a callable
        ``(n, request) -> status``. A status 301 redirects to ``redirect_to``."""
        self.requests: list[dict] = []
        self.answers = answers or []
        self.hang_seconds = hang_seconds
        self.redirect_to = "http://169.254.169.254/latest/meta-data/"
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                record = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "json": json.loads(body) if body else None,
                    "at": time.monotonic(),
                }
                with receiver.arrived:
                    receiver.requests.append(record)
                    n = len(receiver.requests)
                    receiver.arrived.notify_all()
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                answers = receiver.answers
                if callable(answers):
                    status = answers(n, record)
                else:
                    status = answers[n - 1] if n <= len(answers) else 200
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self.arrived.wait(left)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
