"""Rebuild the index from the page JSONs in the results bucket (``pagesearch reindex``).

The whole library goes into a new index (``ALIAS-vN``, N the mapping's
INDEX_VERSION, when the alias still points at an older mapping's index, else
the next generation ``ALIAS-vN-rM``),
built beside the one the alias points at, which keeps answering searches;
then the alias moves to the new index in one atomic ``_aliases`` request, and
a catch-up pass re-reads the bucket for pages the indexer changed or removed
in the old index meanwhile. An interrupted run leaves the new index unaliased:
running again resumes into it, skipping pages it already holds.

``--book`` rebuilds one book in place, in the index the alias points at: each
page is one document, so each is replaced atomically and searches never miss
it; pages of the book with no page JSON any more are deleted.

A page's version in the index is its page JSON's ETag and LastModified time
(the reindex sees objects, not their events); the indexer's later events are
newer and win.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lib import storage
from lib.index.documents import INDEX_VERSION, PageDocument, delete_action, index_action, page_document, page_id
from lib.index.store import create_index, index_name, run_bulk
from lib.keys import FAILURE_PREFIX, InvalidKey, page_ref_from_result_key
from lib.page_json import PageInvalid, load_page_json
from lib.versions import SourceVersion

# Pages per bulk request: a few MB for book pages, and never more than MAX_PAGE_JSON_BYTES per page.
BATCH_PAGES = 50
_GENERATION = re.compile(r"-v(\d+)(?:-r(\d+))?$")

Progress = Callable[[int, int], None]  # (pages done, pages in all)


@dataclass
class ReindexReport:
    index: str
    previous: str | None
    pages: int = 0
    indexed: int = 0
    unchanged: int = 0
    deleted: int = 0
    caught_up: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def current_index(client: Any, alias: str) -> str | None:
    """The index the alias points at, or None (nothing indexed yet)."""
    if not client.indices.exists_alias(name=alias):
        return None
    return sorted(client.indices.get_alias(name=alias))[0]


def next_index(alias: str, current: str | None) -> str:
    """Where a full rebuild goes: the current mapping's first index, or the next generation of it."""
    match = _GENERATION.search(current or "")
    if not match or int(match[1]) < INDEX_VERSION:
        return index_name(alias)
    return index_name(alias, INDEX_VERSION, int(match[2] or 0) + 1)


def page_objects(results_bucket: str, book: str | None = None) -> dict[str, storage.StoredObject]:
    """Every page JSON of the bucket (or of one book) by page id, never failure records."""
    prefix = f"{book}/" if book else ""
    found = {}
    for obj in storage.list_objects(results_bucket, prefix):
        if obj.key.startswith(FAILURE_PREFIX):
            continue
        try:
            ref = page_ref_from_result_key(obj.key)
        except InvalidKey:
            continue
        if book is None or ref.book == book:
            found[page_id(ref.book, ref.page)] = obj
    return found


def _indexed_etags(client: Any, index: str, pids: list[str]) -> dict[str, str]:
    """The source ETag each page holds in ``index`` (pages missing from it are left out)."""
    if not pids:
        return {}
    found = client.mget(index=index, body={"ids": pids}, _source_includes=["source.etag"])
    return {d["_id"]: d["_source"]["source"]["etag"] for d in found["docs"] if d.get("found")}


def _documents(
    results_bucket: str, keys: Iterable[str], max_bytes: int, report: ReindexReport
) -> Iterator[PageDocument]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    for key in keys:
        try:
            obj = storage.get(results_bucket, key, max_bytes=max_bytes)
            document = load_page_json(obj.body)
        except storage.ObjectMissing:
            continue  # deleted meanwhile: the catch-up pass removes it
        except (storage.ObjectTooLarge, PageInvalid) as exc:
            if key not in {f["key"] for f in report.failed}:  # the catch-up pass meets it again
                report.failed.append({"key": key, "reason": str(exc)})
            continue
        version = SourceVersion.of(key, obj.last_modified.replace("+00:00", "Z"), None, obj.etag)
        yield page_document(document, version, now)


def _copy(
    client: Any,
    target: str,
    results_bucket: str,
    pages: dict[str, storage.StoredObject],
    *,
    max_bytes: int,
    report: ReindexReport,
    progress: Progress | None,
) -> int:
    """Index every page into ``target`` that it does not already hold at the same ETag; returns how many."""
    pids = sorted(pages)
    written = 0
    for start in range(0, len(pids), BATCH_PAGES):
        batch = pids[start : start + BATCH_PAGES]
        held = _indexed_etags(client, target, batch)
        todo = [pages[pid].key for pid in batch if held.get(pid) != pages[pid].etag]
        actions = [index_action(doc) for doc in _documents(results_bucket, todo, max_bytes, report)]
        if actions:
            run_bulk(client, target, actions)
            written += len(actions)
        if progress:
            progress(min(start + BATCH_PAGES, len(pids)), len(pids))
    return written


def _stale_pages(client: Any, index: str, wanted: Iterable[str], book: str | None) -> list[str]:
    """Ids of pages in ``index`` (of the book, if given) that have no page JSON (search_after over book, page)."""
    keep = set(wanted)
    query: dict[str, Any] = {"term": {"book": book}} if book else {"match_all": {}}
    body: dict[str, Any] = {"size": 1000, "query": query, "_source": ["book", "page"], "sort": ["book", "page"]}
    stale: list[str] = []
    while True:
        hits = client.search(index=index, body=body)["hits"]["hits"]
        stale += [h["_id"] for h in hits if h["_id"] not in keep]
        if len(hits) < body["size"]:
            return stale
        body["search_after"] = hits[-1]["sort"]


def _remove(client: Any, index: str, pids: list[str], report: ReindexReport) -> None:
    removal = SourceVersion.of("", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
    for start in range(0, len(pids), 500):
        run_bulk(client, index, [delete_action(pid, removal) for pid in pids[start : start + 500]])
    report.deleted += len(pids)


def _rebuild(
    client: Any,
    index: str,
    results_bucket: str,
    book: str | None,
    *,
    max_bytes: int,
    report: ReindexReport,
    progress: Progress | None,
) -> int:
    """Make ``index`` hold exactly the bucket's pages (of the book): copy what differs, delete what is gone."""
    pages = page_objects(results_bucket, book)
    report.pages = len(pages)
    written = _copy(client, index, results_bucket, pages, max_bytes=max_bytes, report=report, progress=progress)
    _remove(client, index, _stale_pages(client, index, pages, book), report)
    return written


def reindex(
    client: Any,
    alias: str,
    results_bucket: str,
    *,
    book: str | None = None,
    max_bytes: int = 4 * 1024 * 1024,
    progress: Progress | None = None,
) -> ReindexReport:
    """Rebuild the index (or one book of it) from the page JSONs; see the module's docstring."""
    started = time.monotonic()
    current = current_index(client, alias)
    options: dict[str, Any] = {"max_bytes": max_bytes}
    if book is not None:
        if current is None:
            raise LookupError(f"the alias {alias!r} points at no index yet: run a full reindex first")
        report = ReindexReport(index=current, previous=current)
        report.indexed = _rebuild(client, current, results_bucket, book, report=report, progress=progress, **options)
    else:
        target = next_index(alias, current)
        report = ReindexReport(index=target, previous=current)
        create_index(client, target)  # already there after an interrupted run: resumed
        report.indexed = _rebuild(client, target, results_bucket, None, report=report, progress=progress, **options)
        actions: list[dict[str, Any]] = [{"add": {"index": target, "alias": alias}}]
        if current:
            actions.insert(0, {"remove": {"index": current, "alias": alias}})
        client.indices.update_aliases(body={"actions": actions})
        # What the indexer wrote into the old index while we copied: read the bucket again.
        report.caught_up = _rebuild(client, target, results_bucket, None, report=report, progress=None, **options)
    report.unchanged = report.pages - report.indexed - len(report.failed)
    report.seconds = round(time.monotonic() - started, 2)
    return report
