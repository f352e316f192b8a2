"""The search API as users run it: `sls invoke local` with the sample HTTP API events, `pagesearch serve` over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES, ocr_page_json
from tests.e2e.test_framework import returned, sls
from tests.integration.conftest import index

pytestmark = pytest.mark.e2e
BIN = ROOT / ".venv" / "bin"


@pytest.fixture
def indexed(s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str) -> dict[str, str]:
    """phototest.tif OCR'd and indexed as samples/phototest, as the sample events expect; the env to reach it."""
    index(s3, ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="samples", page="phototest"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PUBLIC_BASE_URL"))}
    env.update(
        OPENSEARCH_URL=settings.opensearch_url,
        OPENSEARCH_INDEX=settings.opensearch_index,
        PATH=f"{BIN}:{os.environ['PATH']}",
        SLS_TELEMETRY_DISABLED="1",
    )
    return env


def test_invoke_local_answers_the_sample_http_api_events(indexed: dict[str, str]) -> None:
    found = returned(sls("invoke", "local", "-f", "search", "-p", "events/search.json", env=indexed).stdout)
    assert found["statusCode"] == 200 and found["headers"]["Access-Control-Allow-Origin"] == "*"
    page = json.loads(found["body"])
    assert page["type"] == "AnnotationPage" and page["partOf"]["total"] == 4 == len(page["items"])
    # The base URL is the API's own, from the event (publicBaseUrl is empty by default).
    assert page["id"].startswith("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/search?q=%22lazy%20fox%22")
    assert all(len(item["target"]) == 2 for item in page["items"]), "a two-word phrase: two targets"

    v1 = returned(sls("invoke", "local", "-f", "search", "-p", "events/search-iiif1.json", env=indexed).stdout)
    listing = json.loads(v1["body"])
    assert v1["statusCode"] == 200 and listing["@type"] == "sc:AnnotationList" and listing["hits"]
    ids = {r["@id"] for r in listing["resources"]}
    assert all(set(hit["annotations"]) <= ids for hit in listing["hits"])

    bad = returned(sls("invoke", "local", "-f", "search", "-p", "events/search-bad-query.json", env=indexed).stdout)
    assert bad["statusCode"] == 400 and "q parameter" in json.loads(bad["body"])["error"]


@pytest.fixture
def served(indexed: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`pagesearch serve --port 0` running against the indexed page; its address."""
    env = {**indexed, "PAGESEARCH_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen(
        [str(BIN / "pagesearch"), "serve", "--port", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = process.stdout.readline().strip() if process.stdout else ""
        assert address.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str, method: str = "GET") -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, method=method, headers={"Origin": "https://viewer.example.org"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_serve_answers_http_requests_through_the_handler(served: str) -> None:
    status, headers, body = fetch(f"{served}/iiif/samples/search/1?q=lazy")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    listing = json.loads(body)
    assert listing["@id"].startswith(f"{served}/iiif/samples/search/1?q=lazy&cursor=")
    assert listing["resources"][0]["on"].startswith(f"{served}/iiif/samples/canvas/phototest#xywh=")
    status, headers, body = fetch(f"{served}/iiif/samples/autocomplete/2?q=la")
    assert status == 200 and {"value": "lazy", "total": 4} in json.loads(body)["items"]
    status, headers, body = fetch(f"{served}/iiif/nobody/search/2?q=lazy")
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "*" and json.loads(body)["error"]
    status, headers, _ = fetch(f"{served}/search?q=lazy", method="OPTIONS")
    assert status == 204 and headers["Access-Control-Allow-Methods"] == "GET"
