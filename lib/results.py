"""Page JSONs in the results bucket: which source version each holds, writing only over an older one, and what
each names beside it (its browser image, its standard outputs).

Two functions write page JSONs: the OCR function (from a page image) and the
splitter (a PDF page with its own text layer, lib.split). Both write through
``write_if_newest``, so whichever source is newer wins however deliveries are
ordered, and both find what a page JSON names from its S3 metadata alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lib import storage
from lib.keys import OUTPUT_SUFFIXES, PageRef
from lib.versions import SourceVersion

_WRITE_ATTEMPTS = 4
# Metadata entry of a page JSON naming its browser image (lib.ocr.display, lib.split), removed with it.
DISPLAY_METADATA = "display-key"
# Metadata entries of a page JSON: the outputs it names (comma list) and the tag of their keys.
OUTPUTS_METADATA = "outputs"
OUTPUT_TAG_METADATA = "outputs-tag"


def held(existing: storage.StoredObject | None) -> SourceVersion | None:
    """The source version a stored page JSON was made from."""
    return SourceVersion.from_metadata(existing.metadata) if existing else None


def skip_reason(version: SourceVersion, existing: storage.StoredObject | None) -> str | None:
    """Why a page JSON made from ``version`` must not replace ``existing`` (None: it may)."""
    current = held(existing)
    if current is None:
        return None
    if version.same_content(current):
        return "duplicate delivery: this version is already OCR'd"
    if version.older_than(current):
        return f"stale event: the page already holds a newer source ({current.key})"
    return None


def write_if_newest(
    bucket: str,
    key: str,
    document: dict[str, Any],
    version: SourceVersion,
    existing: storage.StoredObject | None,
    extra: dict[str, str | None] | None = None,
) -> tuple[str, storage.StoredObject | None] | None:
    """Conditional write: only over the version we compared against; re-compare on a lost race.

    ``extra`` is metadata besides the version: what else the page JSON names.
    Returns the page JSON's new ETag and the page JSON it replaced (what
    was there when the write succeeded, perhaps not what was first read), or
    None when a newer source won the race.
    """
    for _ in range(_WRITE_ATTEMPTS):
        try:
            etag = storage.put_json(
                bucket,
                key,
                document,
                metadata={**version.to_metadata(), **(extra or {})},
                if_match=existing.etag if existing else None,
                if_absent=existing is None,
            )
            return etag, existing
        except storage.WriteConflict:
            existing = storage.head(bucket, key)
            if skip_reason(version, existing):
                return None
    raise storage.WriteConflict(f"s3://{bucket}/{key}: gave up after {_WRITE_ATTEMPTS} conflicting writes")


def output_keys(ref: PageRef, stored: storage.StoredObject | None) -> list[str]:
    """The output keys a stored page JSON names (by its metadata)."""
    if stored is None:
        return []
    names = [n for n in stored.metadata.get(OUTPUTS_METADATA, "").split(",") if n in OUTPUT_SUFFIXES]
    tag = stored.metadata.get(OUTPUT_TAG_METADATA, "")
    return [ref.output_key(name, tag) for name in names] if tag else []


def drop(bucket: str, keys: Iterable[str | None], keep: Iterable[str | None] = ()) -> None:
    """Delete ``keys`` (outputs, browser images), except those in ``keep`` (what the current page JSON names)."""
    kept = set(keep)
    for key in keys:
        if key and key not in kept:
            storage.delete(bucket, key)


def remove_page(bucket: str, ref: PageRef, existing: storage.StoredObject) -> None:
    """Delete a page JSON and everything it names beside it."""
    storage.delete(bucket, ref.result_key)
    drop(bucket, [existing.metadata.get(DISPLAY_METADATA), *output_keys(ref, existing)])
