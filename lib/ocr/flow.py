"""The OCR function's work for one S3 event: image in the pages bucket -> page JSON in the results bucket.

Idempotent and order-safe: the page JSON carries the version of its source
(key, ETag, sequencer, event time; ``lib.versions``) in its S3 metadata, so a duplicate delivery
is skipped before any OCR, an older event never overwrites a newer page (also
across ``0042.jpg`` / ``0042.png`` re-scans), and the write itself is
conditional on what was read, so two concurrent writers cannot interleave.
"""

from __future__ import annotations

import time
from typing import Any

from lib import storage
from lib.events import BadMessage, ObjectEvent
from lib.failures import clear_failure, record_bad_message, record_failure, record_object_failure
from lib.keys import InvalidKey, PageRef, is_image_key, page_ref_from_key
from lib.observability import logger
from lib.ocr.images import ImageRejected, page_image
from lib.ocr.tesseract import OcrFailed, run_tesseract, tesseract_cmd
from lib.outcome import Outcome, Status
from lib.page_json import build_page_json, parse_tsv
from lib.settings import Settings
from lib.versions import SourceVersion

STAGE = "ocr"
_WRITE_ATTEMPTS = 4


def _held(existing: storage.StoredObject | None) -> SourceVersion | None:
    """The source version a stored page JSON was made from."""
    return SourceVersion.from_metadata(existing.metadata) if existing else None


def process_message(item: ObjectEvent | BadMessage, settings: Settings) -> Outcome:
    """One parsed record. Raises only for errors a retry may cure (S3, network, no Tesseract)."""
    if isinstance(item, BadMessage):
        return record_bad_message(item, results_bucket=settings.results_bucket, stage=STAGE)
    if not is_image_key(item.key):
        # The bucket notifies on image suffixes only; anything else was sent by hand.
        logger.warning("not an image key, ignored", extra={"key": item.key, "event": item.event_name})
        return Outcome.skipped(item.key, "not an image suffix")
    try:
        ref = page_ref_from_key(item.key)
    except InvalidKey as exc:
        if item.removed:
            return Outcome.skipped(item.key, str(exc))
        record_failure(
            results_bucket=settings.results_bucket,
            stage=STAGE,
            source_bucket=item.bucket,
            source_key=item.key,
            reason=str(exc),
        )
        return Outcome.failed(item.key, str(exc))
    if item.removed:
        return _remove_page(item, ref, settings)
    if item.created:
        return _ocr_page(item, ref, settings)
    logger.info("event ignored", extra={"key": item.key, "event": item.event_name})
    return Outcome.skipped(item.key, item.event_name, ref)


def _ocr_page(item: ObjectEvent, ref: PageRef, settings: Settings) -> Outcome:
    started = time.perf_counter()
    version = SourceVersion.of(item.key, item.event_time, item.sequencer, item.etag)
    existing = storage.head(settings.results_bucket, ref.result_key)
    skip = _skip_reason(version, existing)
    if skip:
        logger.info("page skipped", extra={"key": item.key, "book": ref.book, "page": ref.page, "reason": skip})
        return Outcome.skipped(item.key, skip, ref)
    try:
        obj = storage.get(item.bucket, item.key, max_bytes=settings.max_image_bytes)
    except storage.ObjectMissing:
        # Deleted before we read it: its ObjectRemoved event tidies up.
        logger.info("image gone before OCR", extra={"key": item.key, "book": ref.book, "page": ref.page})
        return Outcome.skipped(item.key, "object no longer exists", ref)
    except storage.ObjectTooLarge as exc:
        return _fail(item, ref, settings, str(exc))
    # What we OCR is what GetObject returned, which may be newer than the event.
    version = version.with_etag(obj.etag)
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
    written = _write_if_newest(settings.results_bucket, ref.result_key, document, version, existing)
    if not written:
        return Outcome.skipped(item.key, "a newer version was written meanwhile", ref)
    clear_failure(settings.results_bucket, item.key)
    stats = document["stats"]
    outcome = Outcome(
        key=item.key,
        status=Status.OCR,
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
            image.path,
            lang=settings.ocr_lang,
            dpi=image.dpi,
            psm=settings.tesseract_psm,
            threads=settings.tesseract_threads,
            timeout=settings.tesseract_timeout,
            cmd=cmd,
        )
        duration_ms = round((time.perf_counter() - started) * 1000)
    blocks = parse_tsv(output.tsv)
    return build_page_json(
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


def _skip_reason(version: SourceVersion, existing: storage.StoredObject | None) -> str | None:
    current = _held(existing)
    if current is None:
        return None
    if version.same_content(current):
        return "duplicate delivery: this version is already OCR'd"
    if version.older_than(current):
        return f"stale event: the page already holds a newer source ({current.key})"
    return None


def _write_if_newest(
    bucket: str, key: str, document: dict[str, Any], version: SourceVersion, existing: storage.StoredObject | None
) -> bool:
    """Conditional write: only over the version we compared against; re-compare on a lost race."""
    for _ in range(_WRITE_ATTEMPTS):
        try:
            storage.put_json(
                bucket,
                key,
                document,
                metadata=version.to_metadata(),
                if_match=existing.etag if existing else None,
                if_absent=existing is None,
            )
            return True
        except storage.WriteConflict:
            existing = storage.head(bucket, key)
            if _skip_reason(version, existing):
                return False
    raise storage.WriteConflict(f"s3://{bucket}/{key}: gave up after {_WRITE_ATTEMPTS} conflicting writes")


def _remove_page(item: ObjectEvent, ref: PageRef, settings: Settings) -> Outcome:
    """An image was deleted: delete its page JSON, unless a newer or other source owns it."""
    existing = storage.head(settings.results_bucket, ref.result_key)
    current = _held(existing)
    removal = SourceVersion.of(item.key, item.event_time, item.sequencer)
    clear_failure(settings.results_bucket, item.key)
    if existing is None:
        return Outcome.skipped(item.key, "no page JSON to remove", ref)
    if current is not None and (not current.names(item.key) or removal.older_than(current)):
        return Outcome.skipped(item.key, "page JSON belongs to a newer source", ref)
    storage.delete(settings.results_bucket, ref.result_key)
    logger.info("page removed", extra={"key": item.key, "book": ref.book, "page": ref.page})
    return Outcome.deleted(item.key, ref)


def _fail(item: ObjectEvent, ref: PageRef, settings: Settings, reason: str) -> Outcome:
    return record_object_failure(item, results_bucket=settings.results_bucket, stage=STAGE, reason=reason, ref=ref)
