"""``pagesearch serve``: the search API on this machine, as API Gateway would run it.

Each HTTP request becomes the payload 2.0 event the HTTP API would deliver
(``pagesearch.lambda_local.http_event``, the request's own ``Host`` as the
domain), is handed to the search function's handler, and its answer is
written back. CORS preflight (``OPTIONS``) is answered here, as the HTTP API
answers it from serverless.yml's ``httpApi.cors`` without calling the
function. No authorization: locally the API is what ``searchAuth=public``
deploys.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from pagesearch import lambda_local

# As serverless.yml's provider.httpApi.cors.
PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET",
    "Access-Control-Allow-Headers": "Authorization,Content-Type,X-Amz-Content-Sha256,X-Amz-Date,X-Amz-Security-Token",
    "Access-Control-Max-Age": "86400",
}


class _Handler(BaseHTTPRequestHandler):
    server_version = "pagesearch-serve"

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _invoke(self) -> None:
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        headers = {name.lower(): value for name, value in self.headers.items()}
        event = lambda_local.http_event(parts.path, parts.query, method=self.command, headers=headers, domain=host)
        answer = lambda_local.invoke("search", event)
        self._send(answer["statusCode"], answer.get("headers") or {}, answer.get("body", "").encode())

    def do_OPTIONS(self) -> None:
        self._send(204, PREFLIGHT, b"")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _invoke


def make_server(host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server bound to ``host``:``port`` (0 for any free port); ``serve_forever`` runs it."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    return server


def run(host: str, port: int) -> int:
    """Serve until interrupted; prints the address (a line of its own on standard output) when ready."""
    server = make_server(host, port)
    bound_host, bound_port = server.server_address[:2]
    print(f"http://{bound_host}:{bound_port}", flush=True)
    print("pagesearch serve: search API up (Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
