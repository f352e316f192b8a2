"""Faults: OpenSearch down, refusing, slow or overloaded mid-bulk, and S3 throttling, through a fault proxy.

Every OpenSearch test starts from a page already indexed in a longer version
(29 lines) and replaces it, under the fault, by a shorter one (8 lines): the
invocation must raise (so Lambda retries it and, in the end, its on-failure
destination keeps the event), write no failure record, and, once the service
recovers and the event is redelivered, leave exactly the new page in the
index: one document, holding the new text and nothing of the old.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos import S3_SLOW_DOWN, ChaosProxy, rounds
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, ocr_page_json, s3_event, sns_event
from tests.reliability.support import failure_records, invoke_indexer, invoke_ocr, small_good_page

pytestmark = pytest.mark.integration
BOOK, PAGE = "faults", "0001"
SHORT_TIMEOUT = 1  # seconds: the OpenSearch client's timeout in the slow-server tests


# ------------------------------------------------------------------ helpers


def put_page(s3: Any, document: dict[str, Any], version: int) -> dict[str, Any]:
    """Write BOOK/PAGE.json as the OCR function would, and the event S3 emits for it (version orders them)."""
    key = f"{BOOK}/{PAGE}.json"
    response = s3.put_object(
        Bucket=RESULTS_BUCKET, Key=key, Body=json.dumps(document).encode(), ContentType="application/json"
    )
    return {
        "Records": [
            s3_event(
                RESULTS_BUCKET,
                key,
                etag=response["ETag"].strip('"'),
                sequencer=f"0062A1B2C3D4E5F6{version:02X}",
                event_time=f"2026-11-25T09:{version:02d}:00.000Z",
            )
        ]
    }


def page_documents(settings: Any) -> list[dict[str, Any]]:
    """Every document of the page, read from the server itself (not through the proxy)."""
    from lib.opensearch import client

    body = {"size": 1000, "query": {"bool": {"filter": [{"term": {"book": BOOK}}, {"term": {"page": PAGE}}]}}}
    hits = client(settings.opensearch_url).search(index=settings.opensearch_index, body=body)["hits"]["hits"]
    return [{"_id": h["_id"], **h["_source"]} for h in hits]


def assert_exactly(settings: Any, document: dict[str, Any]) -> None:
    """The index holds this page and only it: one document, with every line of this version and no other."""
    from lib.page_json import iter_lines

    [doc] = page_documents(settings)
    expected = [line["text"] for _, _, line in iter_lines(document["blocks"])]
    assert [line for line in doc["text"].split("\n") if line] == expected, "missing or leftover lines"
    assert doc["stats"]["lines"] == len(expected) and len(doc["words"]) == document["stats"]["words"]


@pytest.fixture
def pages(page_json_cache: dict[str, Any], tesseract: str) -> dict[str, dict[str, Any]]:
    long = ocr_page_json(page_json_cache, SAMPLES / "d015.tiff", book=BOOK, page=PAGE)
    short = ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book=BOOK, page=PAGE)
    third = ocr_page_json(page_json_cache, SAMPLES / "eurotext.tif", book=BOOK, page=PAGE)
    assert long["stats"]["lines"] > third["stats"]["lines"] > short["stats"]["lines"]
    return {"long": long, "short": short, "third": third}


@pytest.fixture
def chaos(
    s3: Any, settings: Any, opensearch_url: str, pages: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ChaosProxy]:
    """The long version indexed without faults, then OPENSEARCH_URL pointed at a fault proxy."""
    assert invoke_indexer(put_page(s3, pages["long"], 1))["pages"][0]["status"] == "indexed"
    assert_exactly(settings, pages["long"])
    proxy = ChaosProxy(opensearch_url).start()
    monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
    yield proxy
    proxy.stop()


def short_client_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The slow-server tests give the OpenSearch client a 1 s timeout, as a user would: OPENSEARCH_TIMEOUT."""
    monkeypatch.setenv("OPENSEARCH_TIMEOUT", str(SHORT_TIMEOUT))


def fails_then_converges(
    s3: Any, settings: Any, chaos: ChaosProxy, event: dict[str, Any], document: dict[str, Any], error: str
) -> None:
    from lib.outcome import RetryableFailure

    with pytest.raises(RetryableFailure, match=error):
        invoke_indexer(event)
    assert failure_records(s3) == [], "a retryable error is not the page's fault: no failure record"
    chaos.clear()
    chaos.settle()
    redelivered = invoke_indexer(event)["pages"][0]
    # Indexed again, or skipped because a timed-out bulk was applied by the server after all and the
    # page record holds this version (written only after all its lines): either way exactly the page.
    assert redelivered["status"] == "indexed" or "already indexed" in redelivered["detail"], redelivered
    assert_exactly(settings, document)


# ------------------------------------------------------------------ OpenSearch


def test_opensearch_answering_503_to_everything(
    s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any]
) -> None:
    chaos.add(status=503, times=10**6)
    event = put_page(s3, pages["short"], 2)
    fails_then_converges(s3, settings, chaos, event, pages["short"], "TransportError")
    first = chaos.requests()[:4]
    assert [r.method for r in first] == ["HEAD"] * 4, "the client's own retries (1 + max_retries 3)"


def test_opensearch_refusing_connections(
    s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: connection refused
        monkeypatch.setenv("OPENSEARCH_URL", closed)
        event = put_page(s3, pages["short"], 2)
        from lib.outcome import RetryableFailure

        with pytest.raises(RetryableFailure, match="ConnectionError"):
            invoke_indexer(event)
    assert failure_records(s3) == []
    monkeypatch.setenv("OPENSEARCH_URL", chaos.url)
    assert invoke_indexer(event)["pages"][0]["status"] == "indexed"
    assert_exactly(settings, pages["short"])


def test_opensearch_too_slow_for_the_client_timeout(
    s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bulk attempt times out on the client and is still applied by the server later: harmless."""
    short_client_timeout(monkeypatch)
    chaos.add(path="/_bulk", delay=SHORT_TIMEOUT + 1.5, times=10**6)
    event = put_page(s3, pages["short"], 2)
    fails_then_converges(s3, settings, chaos, event, pages["short"], "ConnectionTimeout")
    # At least the client's 1 + max_retries 3 timed-out attempts, then the redelivery's one.
    assert len(chaos.requests("POST", "/_bulk")) >= 4 + 1


def test_429_on_the_page_retries_it_with_backoff_and_never_leaves_a_mix(
    s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any]
) -> None:
    """The node rejects the page's document with 429 (inside a 200 bulk answer), on every attempt.

    The bulk helper resends the rejected item after 1, 2 and 4 s, then gives
    up: the index still holds the old page, whole (the page is one document,
    so there is no moment of half new, half old lines), and the redelivery
    makes it exactly the new page.
    """
    chaos.add(path="/_bulk", reject_bulk_items_from=0, times=4)
    event = put_page(s3, pages["short"], 2)
    from lib.outcome import RetryableFailure

    with pytest.raises(RetryableFailure, match="BulkIndexError"):
        invoke_indexer(event)
    bulks = chaos.requests("POST", "/_bulk")
    actions = [sum(1 for line in b.body.decode().splitlines() if line.startswith('{"index"')) for b in bulks]
    assert actions == [1, 1, 1, 1], actions
    # Backoff shows as pauses of at least 1, 2 and 4 s before the retries (a lower bound: never flaky).
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(bulks)]
    assert all(gap >= pause - 0.05 for gap, pause in zip(gaps, (1, 2, 4), strict=True)), gaps
    assert_exactly(settings, pages["long"])  # the old page, whole
    assert failure_records(s3) == []
    chaos.clear()
    assert invoke_indexer(event)["pages"][0]["status"] == "indexed"
    assert_exactly(settings, pages["short"])


def test_whole_bulk_answered_429_backs_off_then_fails(
    s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any]
) -> None:
    chaos.add(path="/_bulk", status=429, times=10**6)
    event = put_page(s3, pages["short"], 2)
    fails_then_converges(s3, settings, chaos, event, pages["short"], "TransportError")
    bursts = rounds(chaos.requests("POST", "/_bulk")[:-1])
    # The helper's 4 attempts (after 1, 2, 4 s of backoff), each retried 3 more times at once by the transport.
    assert len(bursts) >= 4 and sum(len(b) for b in bursts) >= 16, [len(b) for b in bursts]


def test_503_mid_bulk_is_retried_with_backoff(s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any]) -> None:
    chaos.add(path="/_bulk", status=503, times=10**6)
    event = put_page(s3, pages["short"], 2)
    fails_then_converges(s3, settings, chaos, event, pages["short"], "TransportError")
    bursts = rounds(chaos.requests("POST", "/_bulk")[:-1], gap=0.5)
    assert len(bursts) > 1, f"{len(chaos.requests('POST', '/_bulk')) - 1} attempts with no pause between them"


def test_an_older_bulk_landing_late_never_overwrites_a_newer_page(
    s3: Any, settings: Any, chaos: ChaosProxy, pages: dict[str, Any]
) -> None:
    """Two invocations of the same page at once (S3 events of one key can be delivered concurrently)."""
    release = threading.Event()
    older_event = put_page(s3, pages["short"], 2)
    original_forward = chaos._forward

    def held_forward(method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
        if target.split("?")[0].endswith("/_bulk") and not release.is_set() and b"quick brown" in body:
            release.wait(30)  # the older version's bulk is stuck in the network
        return original_forward(method, target, body, headers)

    chaos._forward = held_forward  # type: ignore[method-assign]
    older = threading.Thread(target=invoke_indexer, args=(older_event,))
    older.start()
    while not chaos.requests("POST", "/_bulk"):
        time.sleep(0.05)
    newer_event = put_page(s3, pages["third"], 3)
    assert invoke_indexer(newer_event)["pages"][0]["status"] == "indexed"
    release.set()
    older.join(60)
    assert_exactly(settings, pages["third"])


# ------------------------------------------------------------------ S3


def test_s3_retries_are_botocore_standard_mode_configured_once(s3: Any) -> None:
    from lib import storage

    configured = dict(storage.RETRY_CONFIG.retries)
    # botocore's max_attempts counts retries (the client makes one more attempt in all), and botocore rewrites
    # the dict to total_max_attempts in place once a client is built from it.
    total = configured.get("total_max_attempts") or configured["max_attempts"] + 1
    assert configured["mode"] in ("standard", "adaptive") and total >= 4
    client = storage.s3_client()
    assert client.meta.config.retries == {"mode": configured["mode"], "total_max_attempts": total}
    assert storage.s3_client() is client, "one client (and retry quota) per container"


@pytest.fixture
def moto_server(tmp_path: Path) -> Iterator[str]:
    """moto_server in a process of its own: the proxy needs a real HTTP endpoint to stand in front of."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = Path(sys.executable).with_name("moto_server")
    log = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture
def s3_through_chaos(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tesseract: str
) -> Iterator[tuple[Any, ChaosProxy]]:
    import boto3

    from lib import storage

    direct = boto3.client("s3", endpoint_url=moto_server)
    direct.create_bucket(Bucket=PAGES_BUCKET)
    direct.create_bucket(Bucket=RESULTS_BUCKET)
    proxy = ChaosProxy(moto_server).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    storage.s3_client.cache_clear()
    yield direct, proxy
    storage.s3_client.cache_clear()
    proxy.stop()


def test_s3_throttling_is_retried_by_the_client(s3_through_chaos: tuple[Any, ChaosProxy]) -> None:
    """Two 503 SlowDown answers to the image's GET: botocore retries, the page is OCR'd, nothing raised."""
    direct, proxy = s3_through_chaos
    response = direct.put_object(Bucket=PAGES_BUCKET, Key="s3/0001.png", Body=small_good_page())
    proxy.add(method="GET", path="/s3/0001.png", status=503, body=S3_SLOW_DOWN, content_type="application/xml", times=2)
    record = s3_event(PAGES_BUCKET, "s3/0001.png", etag=response["ETag"].strip('"'))
    assert invoke_ocr(sns_event(record))["pages"][0]["status"] == "ocr"
    assert len(proxy.requests("GET", "/s3/0001.png")) == 3
    assert json.loads(direct.get_object(Bucket=RESULTS_BUCKET, Key="s3/0001.json")["Body"].read())["page"] == "0001"


def test_s3_failing_past_the_retries_raises_for_lambda(s3_through_chaos: tuple[Any, ChaosProxy]) -> None:
    """S3 keeps answering 500 to the page JSON's write: after botocore's attempts the invocation raises."""
    from lib import storage
    from lib.outcome import RetryableFailure

    direct, proxy = s3_through_chaos
    response = direct.put_object(Bucket=PAGES_BUCKET, Key="s3/0002.png", Body=small_good_page())
    proxy.add(
        method="PUT",
        path="/s3/0002.json",
        status=500,
        content_type="application/xml",
        times=10**6,
        body=S3_SLOW_DOWN.replace(b"SlowDown", b"InternalError"),
    )
    record = s3_event(PAGES_BUCKET, "s3/0002.png", etag=response["ETag"].strip('"'))
    with pytest.raises(RetryableFailure, match="InternalError"):
        invoke_ocr(sns_event(record))
    assert len(proxy.requests("PUT", "/s3/0002.json")) == storage.s3_client().meta.config.retries["total_max_attempts"]
    assert failure_records(direct) == []
