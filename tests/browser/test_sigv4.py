"""web/viewer/sigv4.js against botocore (#9): the signature our JavaScript computes in Chromium for a request is
the one botocore's SigV4Auth computes for the same request (service execute-api, region eu-west-1), and the
requests the viewer really sends when the deployment says searchAuth=iam carry a valid signature for exactly
the URL sent. botocore is the reference: AWS's SDKs sign this way, and API Gateway checks the same algorithm.

The pages come from a plain static server over web/viewer (no stack needed): Web Crypto needs a secure
context, which http://127.0.0.1 is.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from lib.web import WEB

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REGION = "eu-west-1"
API = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
NOW = dt.datetime(2026, 11, 25, 9, 0, 0)  # UTC, as botocore's clock gives it (naive)
# The example keys of AWS's own SigV4 documentation, and a session token with the characters that need care.
KEYS = {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
TOKEN = {**KEYS, "sessionToken": "FwoGZXIvYXdzEBYaD+example/token=="}
# (url as the viewer or a link of the API writes it, credentials): every route kind, a stage prefix, a port,
# spaces as "+" (URLSearchParams) and as %20 (our links), characters encodeURIComponent leaves alone
# ('()*!), non-ASCII, an empty value, a repeated name, parameters out of order.
REQUESTS = [
    (f"{API}/iiif/Viewer%20Book/search/1?q=Fuchs", KEYS),
    (f"{API}/search?q=%22lazy+fox%22&book=Viewer+Book", KEYS),
    (f"{API}/iiif/Viewer%20Book/search/2?q=%22lazy%20fox%22&cursor=eyJ2IjoxLCJvIjoyNX0", TOKEN),
    (f"{API}/prod/iiif/O'Brien%20(1851)/manifest", TOKEN),
    (f"{API}/autocomplete?q=it's+*fine*!&min=&q=again", KEYS),
    (f"{API}/books", KEYS),
    ("http://127.0.0.1:8080/iiif/caf%C3%A9/autocomplete/2?q=%C3%A9t%C3%A9&motivation=highlighting", TOKEN),
]


def botocore_headers(url: str, credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch, when: dt.datetime) -> Any:
    """The headers botocore's SigV4Auth adds to GET ``url`` at ``when`` (its clock set to that instant)."""
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: when)
    request = AWSRequest(method="GET", url=url)
    keys = Credentials(credentials["accessKeyId"], credentials["secretAccessKey"], credentials.get("sessionToken"))
    SigV4Auth(keys, "execute-api", REGION).add_auth(request)
    return request.headers


class _Recorder(SimpleHTTPRequestHandler):
    """Serves web/viewer under /viewer/ and records every other request (the API's) with its headers."""

    seen: list[dict[str, Any]]

    def do_GET(self) -> None:
        if self.path.startswith("/viewer/"):
            super().do_GET()
            return
        self.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        body = json.dumps({"error": "a recorder, not the API"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # the test reads `seen`, not a log
        pass


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A static server: the viewer's files, a config.json saying the deployment signs (searchAuth=iam)."""
    root = tmp_path / "root"
    shutil.copytree(WEB / "viewer", root / "viewer")
    (root / "viewer" / "config.json").write_text(json.dumps({"auth": "iam", "region": REGION}))
    seen: list[dict[str, Any]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_sigv4_js_signs_as_botocore_does(
    static_site: tuple[str, list[dict[str, Any]]], page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = static_site
    page.goto(f"{url}/viewer/")
    page.wait_for_function("() => window.sigv4 && document.documentElement.dataset.ready")
    signed = page.evaluate(
        """async ([requests, region, now]) => {
          const out = [];
          for (const [url, credentials] of requests) {
            const canonical = window.sigv4.canonicalUrl(url);
            out.push({ canonical, headers: await window.sigv4.sign(url, region, credentials, new Date(now)) });
          }
          return out;
        }""",
        [REQUESTS, REGION, NOW.isoformat() + "Z"],
    )
    for (original, credentials), js in zip(REQUESTS, signed, strict=True):
        sent, reference = urlsplit(original), urlsplit(js["canonical"])
        # The URL to send is the same request: path as given, the same parameters, no "+" left to misread.
        assert (reference.scheme, reference.netloc, reference.path) == (sent.scheme, sent.netloc, sent.path)
        assert sorted(parse_qsl(reference.query, keep_blank_values=True)) == sorted(
            parse_qsl(sent.query, keep_blank_values=True)
        )
        assert "+" not in reference.query
        expected = botocore_headers(js["canonical"], credentials, monkeypatch, NOW)
        assert js["headers"]["Authorization"] == expected["Authorization"], original
        assert js["headers"]["x-amz-date"] == expected["X-Amz-Date"] == "20261125T090000Z"
        assert js["headers"].get("x-amz-security-token") == expected.get("X-Amz-Security-Token")
        # signing the URL as written or as it is sent is one signature.
        again = page.evaluate(
            "([u, r, c, n]) => window.sigv4.sign(u, r, c, new Date(n))",
            [js["canonical"], REGION, credentials, NOW.isoformat() + "Z"],
        )
        assert again == js["headers"]


def test_the_viewer_sends_requests_signed_for_exactly_their_url(
    static_site: tuple[str, list[dict[str, Any]]], page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = static_site
    page.goto(f"{url}/viewer/")
    page.wait_for_function("() => document.documentElement.dataset.ready")
    page.locator("#signing summary").click()  # shown because config.json says iam
    page.get_by_label("Access key id").fill(TOKEN["accessKeyId"])
    page.get_by_label("Secret access key").fill(TOKEN["secretAccessKey"])
    page.get_by_label("Session token").fill(TOKEN["sessionToken"])
    page.get_by_role("button", name="Use them").click()
    page.get_by_role("combobox", name="Search terms").fill('"lazy fox" -dog')
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Search failed')")
    [search] = [r for r in seen if r["path"].startswith("/search?")]
    assert dict(parse_qsl(urlsplit(search["path"]).query)) == {"q": '"lazy fox" -dog'}
    signed_requests = [r for r in seen if "authorization" in r["headers"]]
    assert search in signed_requests
    for request in signed_requests:
        headers = request["headers"]
        when = dt.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
        expected = botocore_headers(f"{url}{request['path']}", TOKEN, monkeypatch, when)
        assert headers["authorization"] == expected["Authorization"], request["path"]
        assert headers["x-amz-security-token"] == TOKEN["sessionToken"]
    # The credentials stay in this tab's sessionStorage, never in localStorage or a cookie.
    stored = page.evaluate("() => [sessionStorage.length, localStorage.length, document.cookie]")
    assert stored == [1, 0, ""]
