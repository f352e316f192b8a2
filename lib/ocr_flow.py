"""The OCR function's work for one S3 event: image in the pages bucket -> page JSON in the results bucket.

Idempotent and order-safe: the page JSON carries the stamp of its source
(key, ETag, sequencer, event time) in its S3 metadata, so a duplicate delivery
is skipped before any OCR, an older event never overwrites a newer page (also
across ``0042.jpg`` / ``0042.png`` re-scans), and the write itself is
conditional on what was read, so two concurrent writers cannot interleave.
"""

from __future__ import annotations

import time
from typing import Any

from lib import storage
from lib.events import BadMessage, ObjectEvent, SourceStamp
from lib.failures import clear_failure, record_bad_message, record_failure, record_object_failure
from lib.images import ImageRejected, page_image
from lib.keys import InvalidKey, PageRef, is_image_key, page_ref_from_key, stamp_key
from lib.observability import logger
from lib.ocr import OcrFailed, run_tesseract, tesseract_cmd
from lib.outcome import Outcome
from lib.page import page_document, parse_tsv
from lib.settings import Settings

STAGE = "ocr"
_WRITE_ATTEMPTS = 4


def _stamp_of(metadata: dict[str, str]) -> SourceStamp | None:
    if "source-key" not in metadata:
        return None
    return SourceStamp(
        key=metadata["source-key"],
        event_time=metadata.get("source-event-time", ""),
        sequencer=metadata.get("source-sequencer"),
        etag=metadata.get("source-etag"),
    )


def _stamp_metadata(stamp: SourceStamp) -> dict[str, str | None]:
    return {
        "source-key": stamp.key,
        "source-event-time": stamp.event_time,
        "source-sequencer": stamp.sequencer,
        "source-etag": stamp.etag,
    }


def process_message(item: ObjectEvent | BadMessage, settings: Settings) -> Outcome:
    """One parsed record. Raises only for errors a retry may cure (S3, network, no Tesseract)."""
    if isinstance(item, BadMessage):
        return record_bad_message(item, results_bucket=settings.results_bucket, stage=STAGE)
    if not is_image_key(item.key):
        # The bucket notifies on image suffixes only; anything else was sent by hand.
        logger.warning("not an image key, ignored", extra={"key": item.key, "event": item.event_name})
        return Outcome(key=item.key, status="skipped", detail="not an image suffix")
    try:
        ref = page_ref_from_key(item.key)
    except InvalidKey as exc:
        if item.removed:
            return Outcome(key=item.key, status="skipped", detail=str(exc))
        record_failure(
            results_bucket=settings.results_bucket,
            stage=STAGE,
            source_bucket=item.bucket,
            source_key=item.key,
            reason=str(exc),
        )
        return Outcome(key=item.key, status="failed", detail=str(exc))
    if item.removed:
        return _remove_page(item, ref, settings)
    if item.created:
        return _ocr_page(item, ref, settings)
    logger.info("event ignored", extra={"key": item.key, "event": item.event_name})
    return Outcome(key=item.key, status="skipped", book=ref.book, page=ref.page, detail=item.event_name)


def _ocr_page(item: ObjectEvent, ref: PageRef, settings: Settings) -> Outcome:
    started = time.perf_counter()
    stamp = SourceStamp(key=stamp_key(item.key), event_time=item.event_time, sequencer=item.sequencer, etag=item.etag)
    existing = storage.head(settings.results_bucket, ref.result_key)
    skip = _skip_reason(stamp, existing)
    if skip:
        logger.info("page skipped", extra={"key": item.key, "book": ref.book, "page": ref.page, "reason": skip})
        return Outcome(key=item.key, status="skipped", book=ref.book, page=ref.page, detail=skip)
    try:
        obj = storage.get(item.bucket, item.key, max_bytes=settings.max_image_bytes)
    except storage.ObjectMissing:
        # Deleted before we read it: its ObjectRemoved event tidies up.
        logger.info("image gone before OCR", extra={"key": item.key, "book": ref.book, "page": ref.page})
        return Outcome(key=item.key, status="skipped", book=ref.book, page=ref.page, detail="object no longer exists")
    except storage.ObjectTooLarge as exc:
        return _fail(item, ref, settings, str(exc))
    # What we OCR is what GetObject returned, which may be newer than the event.
    stamp = SourceStamp(key=stamp_key(item.key), event_time=item.event_time, sequencer=item.sequencer, etag=obj.etag)
    try:
        document = ocr_document(
            obj.body,
            ref,
            settings,
            source={
                "bucket": item.bucket,
                "key": item.key,
                "etag": obj.etag,
                "version_id": obj.version_id,
                "sequencer": item.sequencer,
                "event_time": item.event_time,
                "last_modified": obj.last_modified,
                "size": obj.size,
            },
        )
    except (ImageRejected, OcrFailed) as exc:
        return _fail(item, ref, settings, str(exc))
    written = _write_if_newest(settings.results_bucket, ref.result_key, document, stamp, existing)
    if not written:
        return Outcome(
            key=item.key, status="skipped", book=ref.book, page=ref.page, detail="a newer version was written meanwhile"
        )
    clear_failure(settings.results_bucket, item.key)
    stats = document["stats"]
    outcome = Outcome(
        key=item.key,
        status="ocr",
        book=ref.book,
        page=ref.page,
        words=stats["words"],
        lines=stats["lines"],
        ms=round((time.perf_counter() - started) * 1000),
    )
    logger.info("page OCR'd", extra=outcome.as_dict())
    return outcome


def ocr_document(data: bytes, ref: PageRef, settings: Settings, *, source: dict[str, Any]) -> dict[str, Any]:
    """The page JSON for an image's bytes: the pure core of the OCR function (no AWS)."""
    cmd = tesseract_cmd(settings.tesseract_cmd)
    with page_image(data, max_pixels=settings.max_image_pixels, default_dpi=settings.default_dpi) as image:
        started = time.perf_counter()
        output = run_tesseract(
            image.path, lang=settings.ocr_lang, dpi=image.dpi, timeout=settings.tesseract_timeout, cmd=cmd
        )
        duration_ms = round((time.perf_counter() - started) * 1000)
    blocks = parse_tsv(output.tsv)
    return page_document(
        book=ref.book,
        page=ref.page,
        page_number=ref.page_number,
        source={k: v for k, v in source.items() if v is not None},
        image={
            "width": image.width,
            "height": image.height,
            "dpi": image.dpi,
            "dpi_from_file": image.dpi_from_file,
            "format": image.format,
            "frames": image.frames,
        },
        ocr={"engine": output.engine, "lang": output.lang, "psm": output.psm, "duration_ms": duration_ms},
        blocks=blocks,
    )


def _skip_reason(stamp: SourceStamp, existing: storage.StoredObject | None) -> str | None:
    current = _stamp_of(existing.metadata) if existing else None
    if current is None:
        return None
    if stamp.same_content(current):
        return "duplicate delivery: this version is already OCR'd"
    if stamp.older_than(current):
        return f"stale event: the page already holds a newer source ({current.key})"
    return None


def _write_if_newest(
    bucket: str, key: str, document: dict[str, Any], stamp: SourceStamp, existing: storage.StoredObject | None
) -> bool:
    """Conditional write: only over the version we compared against; re-compare on a lost race."""
    for _ in range(_WRITE_ATTEMPTS):
        try:
            storage.put_json(
                bucket,
                key,
                document,
                metadata=_stamp_metadata(stamp),
                if_match=existing.etag if existing else None,
                if_absent=existing is None,
            )
            return True
        except storage.WriteConflict:
            existing = storage.head(bucket, key)
            if _skip_reason(stamp, existing):
                return False
    raise storage.WriteConflict(f"s3://{bucket}/{key}: gave up after {_WRITE_ATTEMPTS} conflicting writes")


def _remove_page(item: ObjectEvent, ref: PageRef, settings: Settings) -> Outcome:
    """An image was deleted: delete its page JSON, unless a newer or other source owns it."""
    existing = storage.head(settings.results_bucket, ref.result_key)
    current = _stamp_of(existing.metadata) if existing else None
    removal = SourceStamp(key=stamp_key(item.key), event_time=item.event_time, sequencer=item.sequencer)
    clear_failure(settings.results_bucket, item.key)
    if existing is None:
        return Outcome(key=item.key, status="skipped", book=ref.book, page=ref.page, detail="no page JSON to remove")
    if current is not None and (current.key != stamp_key(item.key) or removal.older_than(current)):
        return Outcome(
            key=item.key, status="skipped", book=ref.book, page=ref.page, detail="page JSON belongs to a newer source"
        )
    storage.delete(settings.results_bucket, ref.result_key)
    logger.info("page removed", extra={"key": item.key, "book": ref.book, "page": ref.page})
    return Outcome(key=item.key, status="deleted", book=ref.book, page=ref.page)


def _fail(item: ObjectEvent, ref: PageRef, settings: Settings, reason: str) -> Outcome:
    return record_object_failure(
        item, results_bucket=settings.results_bucket, stage=STAGE, reason=reason, book=ref.book, page=ref.page
    )
