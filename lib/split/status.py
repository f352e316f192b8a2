"""A split's progress record: ``BOOK/_split/FILE.status`` in the results bucket (JSON, never ending in ``.json``).

It says which version of the file is being split (or was), how far it got,
and what became of every page: an image for OCR (its key and ETag in the
pages bucket), a text page (its page JSON's key and ETag), or a failure and
why. ``pagesearch ingest`` follows a book by it; the splitter resumes by it
and skips, on a repeated delivery of the same bytes, every page already done.
Writes are conditional on the record's ETag as last read, so two invocations
splitting one file at once (a newer upload overtaking an older split, or a
duplicate delivery) cannot both go on: the one whose write fails stops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lib import storage

RECORD_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class SplitStatus:
    key: str  # where the record is stored
    source: dict[str, Any]  # bucket, key, etag, version_id, event_time, sequencer of the file split
    book: str
    kind: str  # pdf or tiff
    state: str = "splitting"  # splitting, done, failed
    pages_total: int | None = None
    next_page: int = 1
    chunks: int = 0
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)  # "1" -> {"kind", "page", "key", "etag", ...}
    reason: str | None = None
    started: str = ""
    updated: str = ""
    etag: str | None = None  # of the stored record, for the next conditional write

    def about(self, etag: str) -> bool:
        return self.source.get("etag") == etag

    def as_json(self) -> dict[str, Any]:
        done = [p for p in self.pages.values() if p["kind"] != "failed"]
        return {
            "source": self.source,
            "book": self.book,
            "kind": self.kind,
            "state": self.state,
            "pages_total": self.pages_total,
            "pages_done": len(done),
            "pages_failed": len(self.pages) - len(done),
            "next_page": self.next_page,
            "chunks": self.chunks,
            "reason": self.reason,
            "started": self.started,
            "updated": self.updated,
            "pages": self.pages,
        }


def load(bucket: str, key: str) -> SplitStatus | None:
    try:
        obj = storage.get(bucket, key, max_bytes=RECORD_MAX_BYTES)
    except storage.ObjectMissing:
        return None
    data = json.loads(obj.body)
    fields = {name: data.get(name) for name in SplitStatus.__dataclass_fields__ if name in data}
    return SplitStatus(key=key, etag=obj.etag, **{k: v for k, v in fields.items() if k not in ("key", "etag")})


def save(bucket: str, status: SplitStatus) -> None:
    """Write the record over the one last read (its ``etag``), or where none is; WriteConflict when overtaken."""
    status.updated = storage.now_iso()
    status.started = status.started or status.updated
    status.etag = storage.put_json(
        bucket, status.key, status.as_json(), if_match=status.etag, if_absent=status.etag is None
    )
