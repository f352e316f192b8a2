"""#14, 1: an OpenSearch outage through the local stack loses no page.

The stack's OpenSearch is reached through a fault proxy that answers 503 to
everything (the server is down); the pages' indexer events fail, are
retried, and end in the indexer's dead-letter queue, as on AWS they end in
the on-failure queue. ``pagesearch failures`` lists them, and once the
server is back ``pagesearch retry`` sends them to the indexer again: every
page becomes searchable without anyone knowing which ones were hit. The
outage is simulated by the proxy, not waited for: the queues' visibility
a failed message is tried again after 1 s here (PAGESEARCH_RETRY_DELAY) instead of 60.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos import ChaosProxy
from tests.conftest import SAMPLES
from tests.e2e.conftest import BIN, run

pytestmark = pytest.mark.e2e
PAGES = ("0001", "0002", "0003")


def pagesearch(env: dict[str, str], *args: str, check: bool = True) -> Any:
    done = run(str(BIN / "pagesearch"), *args, "--json", env=env, check=check)
    return json.loads(done.stdout)


def until(condition: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


@pytest.fixture
def down(opensearch_url: str) -> Iterator[ChaosProxy]:
    proxy = ChaosProxy(opensearch_url).start()
    proxy.add(status=503, times=10**6)
    yield proxy
    proxy.stop()


def test_pages_indexed_during_an_outage_are_listed_and_redriven(
    cli_env: dict[str, str], down: ChaosProxy, tmp_path: Path
) -> None:
    env = {
        **cli_env,
        "OPENSEARCH_URL": down.url,
        "OPENSEARCH_INDEX": f"outage-{tmp_path.name[-6:]}".lower(),
        "OPENSEARCH_TIMEOUT": "2",
        "PAGESEARCH_RETRY_DELAY": "1",
    }
    run(str(BIN / "pagesearch"), "up", env=env)
    files = []
    for page in PAGES:
        (tmp_path / f"{page}.tif").write_bytes((SAMPLES / "phototest.tif").read_bytes())
        files.append(str(tmp_path / f"{page}.tif"))
    assert pagesearch(env, "ingest", *files, "--book", "outage", "--no-wait")["uploaded"] == 3

    def dead_letters() -> list[dict[str, Any]]:
        rows = pagesearch(env, "failures")
        events = [r for r in rows if r["kind"] == "failed-event"]
        return events if len(events) == len(PAGES) else []

    events = until(dead_letters)
    assert sorted(r["source"]["key"] for r in events) == [f"outage/{p}.json" for p in PAGES], events
    assert {r["stage"] for r in events} == {"index"} and all(r["received"] >= 1 for r in events)
    assert [r for r in pagesearch(env, "failures") if r["kind"] == "failure-record"] == [], (
        "an outage is not the pages' fault: no failure record"
    )

    down.clear()  # the server is back
    retried = pagesearch(env, "retry")
    assert sorted(r["status"] for r in retried) == ["redriven"] * 3, retried

    def searchable() -> set[str]:
        hits = pagesearch(env, "search", '"lazy fox"', "--book", "outage", "--limit", "100")["hits"]
        pages = {h["page"] for h in hits}
        return pages if pages == set(PAGES) else set()

    assert until(searchable) == set(PAGES), "a page of the outage never became searchable"
    assert until(lambda: pagesearch(env, "failures") == []) is True
