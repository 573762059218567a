"""A fault-injecting HTTP proxy on loopback, in front of the local AWS server.

Every request is counted and logged (method, path); a `rule` decides, per request,
whether to forward it or to inject a fault instead: an S3 error response (503
SlowDown, 500 InternalError, 403 AccessDenied, 404 NoSuchBucket...), a connection
reset, a stall (the client's read timeout fires), or a callback run after the
request reached the server but before the client sees the answer (used to SIGKILL a
running refresh at a precise point of its request sequence).
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlparse


@dataclass(frozen=True)
class Request:
    n: int  # 1 = the first request this proxy saw
    method: str
    path: str  # with the query string

    @property
    def bucket(self) -> str:
        return self.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]

    @property
    def is_s3(self) -> bool:
        return self.method != "POST" or "?" in self.path  # STS/IAM are form POSTs to "/"


@dataclass(frozen=True)
class Fault:
    """What to do with one request instead of (or after) forwarding it."""

    status: int | None = None  # answer with this status and an S3 error document
    code: str = ""
    reset: bool = False  # close the connection with an RST, no answer
    stall: float = 0.0  # wait this long without answering, then drop the connection
    after: Callable[[], None] | None = None  # forward, then run this before answering (and drop)
    wait: Callable[[], None] | None = None  # run this first (e.g. hold the request), then carry on


def s3_error(status: int, code: str) -> Fault:
    return Fault(status=status, code=code)


Rule = Callable[[Request], "Fault | None"]


class FaultProxy:
    def __init__(self, upstream: str, rule: Rule | None = None):
        self.rule: Rule | None = rule
        self.requests: list[Request] = []
        self.faults: list[tuple[Request, Fault]] = []
        self.on_answer: Callable[[Request], None] | None = None  # called after each forwarded answer
        self._lock = threading.Lock()
        target = urlparse(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    req = Request(len(proxy.requests) + 1, self.command, self.path)
                    proxy.requests.append(req)
                    fault = proxy.rule(req) if proxy.rule else None
                    if fault:
                        proxy.faults.append((req, fault))
                if fault and fault.wait:
                    fault.wait()
                if fault and fault.reset:
                    return self._reset()
                if fault and fault.stall:
                    time.sleep(fault.stall)
                    return self._reset()
                if fault and fault.status:
                    doc = (
                        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{fault.code}</Code>'
                        f"<Message>injected by the fault proxy</Message></Error>"
                    ).encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(doc)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(doc)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if fault and fault.after:
                    fault.after()
                    return self._reset()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.wfile.flush()
                if proxy.on_answer:
                    proxy.on_answer(req)

            def _reset(self):
                # SO_LINGER 0: close() sends an RST, the client sees "connection reset by peer"
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, rule: Rule | None = None) -> None:
        """Forget the requests seen so far and use a new rule."""
        with self._lock:
            self.requests, self.faults, self.rule, self.on_answer = [], [], rule, None

    def seen(self, method: str | None = None, bucket: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (bucket is None or r.bucket == bucket)
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
