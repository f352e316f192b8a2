"""`pagesearch reindex` (#12): a new index from the page JSONs, the alias swapped atomically, searches answering
throughout, counts equal, safe to run again after an interruption; `--book` in place; the upgrade from v1."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from lib.index.documents import INDEX_VERSION
from tests.conftest import RESULTS_BUCKET, SAMPLES, ocr_page_json
from tests.integration.conftest import index, put_page, search, stored

pytestmark = pytest.mark.integration


def client(settings: Any) -> Any:
    from lib.opensearch import client as opensearch_client

    return opensearch_client(settings.opensearch_url)


def rebuild(settings: Any, **kwargs: Any) -> Any:
    from lib.index.reindex import reindex

    return reindex(client(settings), settings.opensearch_index, RESULTS_BUCKET, **kwargs)


def aliased(settings: Any) -> str:
    from lib.index.reindex import current_index

    name = current_index(client(settings), settings.opensearch_index)
    assert name is not None
    return name


@pytest.fixture
def shelf(s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str) -> list[dict[str, Any]]:
    """12 real pages in two books, indexed by the indexer."""
    pages = []
    for n in range(1, 13):
        image = SAMPLES / ("phototest.tif" if n % 2 else "eurotext.tif")
        document = ocr_page_json(page_json_cache, image, book="shelf-a" if n <= 6 else "shelf-b", page=f"{n:04d}")
        index(s3, document)
        pages.append(document)
    return pages


def count(settings: Any, index_name: str | None = None) -> int:
    body = {"size": 0, "query": {"match_all": {}}, "track_total_hits": True}
    return int(
        client(settings).search(index=index_name or settings.opensearch_index, body=body)["hits"]["total"]["value"]
    )


def test_reindex_builds_a_new_index_swaps_the_alias_and_keeps_every_page(shelf: list[Any], settings: Any) -> None:
    before = aliased(settings)
    assert before.endswith(f"-v{INDEX_VERSION}")
    report = rebuild(settings)
    assert (report.previous, report.index) == (before, f"{settings.opensearch_index}-v{INDEX_VERSION}-r1")
    assert aliased(settings) == report.index
    assert report.pages == report.indexed == count(settings) == 12 and report.failed == []
    assert search(settings, '"lazy fox"').total == 6 and search(settings, "Fuchs").total == 6
    assert count(settings, before) == 12, "the old index is kept, for going back"


def test_searches_never_fail_while_the_reindex_runs(shelf: list[Any], settings: Any) -> None:
    errors: list[BaseException] = []
    totals: list[int] = []
    done = threading.Event()

    def searching() -> None:
        while not done.is_set():
            try:
                totals.append(search(settings, '"lazy fox"').total)
            except BaseException as exc:  # the test is that none happens
                errors.append(exc)

    thread = threading.Thread(target=searching)
    thread.start()
    try:
        for _ in range(3):
            rebuild(settings)
    finally:
        done.set()
        thread.join(30)
    assert errors == [] and len(totals) > 3 and set(totals) == {6}, (errors[:1], set(totals))


def test_an_interrupted_reindex_resumes_and_the_indexers_changes_are_caught_up(
    shelf: list[Any], s3: Any, settings: Any
) -> None:
    import lib.index.reindex as module

    class Interrupted(Exception):
        pass

    def stop_half_way(done: int, total: int) -> None:
        if done >= 6:
            raise Interrupted

    monkey = pytest.MonkeyPatch()
    monkey.setattr(module, "BATCH_PAGES", 3)
    with pytest.raises(Interrupted):
        rebuild(settings, progress=stop_half_way)
    assert aliased(settings).endswith(f"-v{INDEX_VERSION}"), "an interrupted run leaves the alias where it was"
    # Meanwhile the indexer removes one page and changes another, in the index the alias points at.
    s3.delete_object(Bucket=RESULTS_BUCKET, Key="shelf-a/0001.json")
    changed = json.loads(json.dumps(shelf[1]))
    changed["blocks"] = changed["blocks"][:1]
    changed["blocks"][0]["paragraphs"] = changed["blocks"][0]["paragraphs"][:1]
    changed["blocks"][0]["paragraphs"][0]["lines"] = changed["blocks"][0]["paragraphs"][0]["lines"][:1]
    index(s3, changed, sequencer="0062A1B2C3D4E5F6F0", event_time="2026-11-26T09:00:00.000Z")
    report = rebuild(settings)
    monkey.undo()
    # Resumed: of the 6 pages copied before the interruption, those not changed since are not written again.
    assert report.index.endswith("-r1") and report.unchanged >= 4 and report.indexed + report.unchanged == 11
    assert count(settings) == 11 and stored(settings, "shelf-a", "0001") is None
    doc = stored(settings, "shelf-a", "0002")
    assert doc is not None and doc["stats"]["lines"] == sum(len(p["lines"]) for p in changed["blocks"][0]["paragraphs"])


def test_one_book_in_place(shelf: list[Any], s3: Any, settings: Any) -> None:
    before = aliased(settings)
    s3.delete_object(Bucket=RESULTS_BUCKET, Key="shelf-b/0012.json")  # its removal event never came
    report = rebuild(settings, book="shelf-b")
    assert report.index == before == aliased(settings)
    assert (report.pages, report.deleted) == (5, 1) and report.unchanged == 5
    assert stored(settings, "shelf-b", "0012") is None and stored(settings, "shelf-a", "0006") is not None


def test_upgrading_from_the_line_index(s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str) -> None:
    """An existing deployment's alias points at pages-v1 (one document per line): the new indexer refuses to
    write there (a retryable error: the event waits in the failed-event queue), the reindex builds the current
    mapping's index from the page JSONs and moves the alias, and from then on the indexer writes again."""
    from lib.outcome import RetryableFailure
    from tests.integration.conftest import invoke

    old = f"{settings.opensearch_index}-v1"
    client(settings).indices.create(
        index=old,
        body={"mappings": {"properties": {"kind": {"type": "keyword"}}}, "aliases": {settings.opensearch_index: {}}},
    )
    document = ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="upgrade", page="0001")
    with pytest.raises(RetryableFailure, match="pagesearch reindex"):
        invoke(put_page(s3, document))
    report = rebuild(settings)
    assert (report.previous, report.index) == (old, f"{settings.opensearch_index}-v{INDEX_VERSION}")
    assert search(settings, '"lazy fox"', book="upgrade").total == 1
    later = ocr_page_json(page_json_cache, SAMPLES / "eurotext.tif", book="upgrade", page="0002")
    index(s3, later)
    assert search(settings, "Fuchs", book="upgrade").total == 1
