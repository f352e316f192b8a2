"""A recording, fault-injecting HTTP proxy for tests, between our code and a real server.

It records every request (so a test can prove what was asked, such as the
refresh the local server cannot show), injects 429/503 or delays, and also: an S3-shaped error body, a
bulk request answered item by item (some items applied by the real server,
the rest rejected with 429, as an overloaded OpenSearch node does), delays
after which the request is still forwarded (a timed-out request that the
server applies late), and the time of every request, so backoff can be seen.
The client code under test is never touched.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

S3_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>CHAOS</RequestId></Error>"
)
OPENSEARCH_ERROR = b'{"error":{"type":"injected_fault","reason":"injected by the test proxy"},"status":%d}'
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "expect", "accept-encoding"}


@dataclass
class Seen:
    method: str
    path: str
    query: str
    body: bytes  # as sent, gzip undone
    at: float  # time.monotonic() when it arrived


@dataclass
class Rule:
    """What to do with the next ``times`` requests whose method and path match."""

    path: str = ""  # substring of the path ("" matches all)
    method: str = ""  # "" matches all
    status: int | None = None  # answer this instead of forwarding
    body: bytes | None = None  # the answer's body (default: an OpenSearch-style error)
    content_type: str = "application/json"
    delay: float = 0.0  # sleep first (then answer ``status`` or forward)
    reject_bulk_items_from: int | None = None  # forward items before this index, 429 the rest
    times: int = 1
    matched: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.path in path and (not self.method or self.method == method)


@dataclass
class ChaosProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, **kwargs: Any) -> Rule:
        rule = Rule(**kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def requests(self, method: str = "", path: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if (not method or s.method == method) and path in s.path]

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until no request is in flight (delayed requests are forwarded late)."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.in_flight == 0, "requests still in flight through the proxy"

    def _rule_for(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    rule.matched += 1
                    return rule
        return None

    def _forward(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, Any]:
        request = urllib.request.Request(
            self.upstream + target, data=body if method not in ("GET", "HEAD") else None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    def _partial_bulk(self, rule: Rule, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Forward the first items of a bulk request; answer 429 for the rest, in one 200 response."""
        lines = [line for line in body.decode().split("\n") if line]
        items: list[list[str]] = []
        index = 0
        while index < len(lines):
            action = json.loads(lines[index])
            size = 1 if "delete" in action else 2
            items.append(lines[index : index + size])
            index += size
        keep = min(rule.reject_bulk_items_from or 0, len(items))
        results: list[dict[str, Any]] = []
        took = 0
        if keep:
            forwarded = "\n".join(line for item in items[:keep] for line in item) + "\n"
            status, data, _ = self._forward("POST", target, forwarded.encode(), headers)
            assert status == 200, data[:500]
            reply = json.loads(data)
            results, took = reply["items"], reply.get("took", 0)
        for item in items[keep:]:
            op, meta = next(iter(json.loads(item[0]).items()))
            results.append(
                {
                    op: {
                        "_id": meta.get("_id"),
                        "status": 429,
                        "error": {
                            "type": "es_rejected_execution_exception",
                            "reason": "rejected execution of coordinating operation (injected by the test proxy)",
                        },
                    }
                }
            )
        errors = any("error" in next(iter(r.values())) for r in results)
        return 200, json.dumps({"took": took, "errors": errors, "items": results}).encode()

    def start(self) -> ChaosProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, data: bytes, content_type: str, extra: Any = None) -> None:
                self.send_response(status)
                for key, value in extra.items() if extra else []:
                    if key.lower() not in _HOP_HEADERS | {"content-encoding", "content-type"}:
                        self.send_header(key, value)
                self.send_header("Content-Type", content_type)
                length = extra.get("Content-Length") if extra and self.command == "HEAD" else None
                self.send_header("Content-Length", str(length or len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                parts = urlsplit(self.path)
                with proxy._lock:
                    proxy.seen.append(Seen(self.command, parts.path, parts.query, body, time.monotonic()))
                    proxy.in_flight += 1
                try:
                    rule = proxy._rule_for(self.command, parts.path)
                    if rule and rule.delay:
                        time.sleep(rule.delay)
                    # The body goes upstream as it was decoded here: no gzip, no stale length.
                    dropped = _HOP_HEADERS | {"content-encoding"} if raw is not body else _HOP_HEADERS
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
                    raw = body
                    if rule and rule.status:
                        data = rule.body if rule.body is not None else OPENSEARCH_ERROR % rule.status
                        self._reply(rule.status, data, rule.content_type)
                    elif rule and rule.reject_bulk_items_from is not None:
                        status, data = proxy._partial_bulk(rule, self.path, body, headers)
                        self._reply(status, data, "application/json")
                    else:
                        status, data, reply_headers = proxy._forward(self.command, self.path, raw, headers)
                        self._reply(
                            status, data, reply_headers.get("Content-Type", "application/octet-stream"), reply_headers
                        )
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): the request was still applied upstream
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def rounds(seen: list[Seen], gap: float = 0.5) -> list[list[Seen]]:
    """Requests grouped into bursts separated by at least ``gap`` seconds (a client's backoff pauses)."""
    groups: list[list[Seen]] = []
    for request in seen:
        if groups and request.at - groups[-1][-1].at < gap:
            groups[-1].append(request)
        else:
            groups.append([request])
    return groups
