"""The OCR function's work for one S3 event: image in the pages bucket -> page JSON in the results bucket.

Idempotent and order-safe: the page JSON carries the version of its source
(key, ETag, sequencer, event time; ``lib.versions``) in its S3 metadata, so a duplicate delivery
is skipped before any OCR, an older event never overwrites a newer page (also
across ``0042.jpg`` / ``0042.png`` re-scans), and the write itself is
conditional on what was read, so two concurrent writers cannot interleave.
The page's browser image and standard outputs (ALTO, hOCR, PDF) are written
before the page JSON that names them, only kept when its write wins, and
removed with the page or when a newer version replaces it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from lib import jobs, results, storage
from lib.book_settings import page_language
from lib.events import BadMessage, ObjectEvent
from lib.failures import clear_failure, record_bad_message, record_failure, record_object_failure
from lib.keys import (
    InvalidKey,
    PageRef,
    book_of_file,
    is_image_key,
    is_tiff_key,
    output_tag,
    page_ref_from_key,
    split_status_key,
)
from lib.languages import LANG_METADATA, InvalidLanguage
from lib.observability import logger
from lib.ocr import outputs
from lib.ocr.display import DisplayImage
from lib.ocr.geometry import blocks_back
from lib.ocr.images import ImageRejected, is_multipage_tiff, page_image
from lib.ocr.reading import read_page
from lib.ocr.tesseract import OcrFailed, tesseract_cmd
from lib.outcome import Outcome, Status, foreign_bucket
from lib.page_json import build_page_json
from lib.results import DISPLAY_METADATA
from lib.settings import Settings
from lib.versions import SourceVersion

STAGE = "ocr"
# Metadata entry of a page JSON announced to the indexer again for the same bytes: the time.
REANNOUNCED_METADATA = "pagesearch-reannounced"


def process_message(item: ObjectEvent | BadMessage, settings: Settings) -> Outcome:
    """One parsed record. Raises only for errors a retry may cure (S3, network, no Tesseract)."""
    if isinstance(item, BadMessage):
        return record_bad_message(item, results_bucket=settings.results_bucket, stage=STAGE)
    if item.bucket != settings.pages_bucket:
        return foreign_bucket(item, settings.pages_bucket)
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
    held = results.held(existing)
    again = held is not None and version.same_content(held) and existing is not None
    if again:
        outcome = _same_bytes_again(item, ref, settings, version, held, existing)
        if outcome is not None:
            return outcome
        # The same bytes, now to be read in another language: read again.
    skip = None if again else results.skip_reason(version, existing)
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
    if settings.split_queue and is_tiff_key(item.key) and is_multipage_tiff(obj.body):
        return _hand_to_splitter(item, settings, obj.etag, "a multi-page TIFF is a book")
    origin = jobs.split_origin(obj.metadata)
    try:
        lang = page_language(obj.metadata, item.bucket, ref.book, settings.ocr_lang)
        result = ocr_page(
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
                "split_from": origin,
            },
            lang=lang,
        )
    except (InvalidLanguage, ImageRejected, OcrFailed) as exc:
        return _fail(item, ref, settings, str(exc))
    document = result.document
    # The browser's image and the outputs first, so that a page JSON never names one that is not there yet.
    shown = (document["image"].get("display") or {}).get("key")
    if result.display and shown:
        storage.put_file(settings.results_bucket, shown, result.display.data, content_type=result.display.content_type)
    outputs.write(settings.results_bucket, result.outputs)
    made = [o.key for o in result.outputs]
    extra = {DISPLAY_METADATA: shown, LANG_METADATA: lang, **outputs.metadata(result.outputs, result.output_tag)}
    won = results.write_if_newest(settings.results_bucket, ref.result_key, document, version, existing, extra)
    if won is None:
        # Whatever the winner's page JSON names stays: a duplicate delivery made the very same keys.
        current = storage.head(settings.results_bucket, ref.result_key)
        if not current or current.metadata.get(DISPLAY_METADATA) != shown:
            _drop(settings, shown)
        results.drop(settings.results_bucket, made, keep=results.output_keys(ref, current))
        return Outcome.skipped(item.key, "a newer version was written meanwhile", ref)
    written, replaced = won
    if storage.head(item.bucket, item.key) is None:
        return _undo_for_a_deleted_source(item, ref, settings, written)
    if replaced is not None and replaced.metadata.get(DISPLAY_METADATA) != shown:
        _drop(settings, replaced.metadata.get(DISPLAY_METADATA))  # the previous version's image
    results.drop(settings.results_bucket, results.output_keys(ref, replaced), keep=made)  # the previous version's
    clear_failure(settings.results_bucket, item.key)
    outcome = Outcome.done(item.key, Status.OCR, ref, document["stats"], started)
    logger.info("page OCR'd", extra=outcome.as_dict())
    return outcome


@dataclass(frozen=True)
class OcrPage:
    """What one OCR run makes of a page: its page JSON, the image browsers show when not the original, the outputs."""

    document: dict[str, Any]
    display: DisplayImage | None
    outputs: list[outputs.PageOutput]
    output_tag: str


def ocr_document(
    data: bytes, ref: PageRef, settings: Settings, *, source: dict[str, Any], lang: str | None = None
) -> dict[str, Any]:
    """The page JSON for an image's bytes: the pure core of the OCR function (no AWS)."""
    return ocr_page(data, ref, settings, source=source, lang=lang).document


def ocr_page(
    data: bytes, ref: PageRef, settings: Settings, *, source: dict[str, Any], lang: str | None = None
) -> OcrPage:
    """Everything one Tesseract run makes of an image's bytes, read in ``lang`` (else OCR_LANG; no AWS).

    A second run only for a page read turned.
    """
    cmd = tesseract_cmd(settings.tesseract_cmd)
    with page_image(
        data,
        max_pixels=settings.max_image_pixels,
        default_dpi=settings.default_dpi,
        max_frames=settings.max_image_frames,
        max_dpi=settings.ocr_max_dpi,
        min_deskew=settings.ocr_min_deskew,
        assume_default_dpi=settings.assume_default_dpi,
        # Tesseract's PDF pictures the image it read: a 1-bit page stays crisp (and small) there.
        bilevel_scale=1.0 if "pdf" in settings.outputs else settings.ocr_bilevel_scale,
    ) as image:
        started = time.perf_counter()
        reading = read_page(image, settings, cmd, lang)
        duration_ms = round((time.perf_counter() - started) * 1000)
    output, blocks = reading.output, reading.blocks
    # Boxes in pixels of the page as displayed, whatever was turned, levelled or scaled for Tesseract.
    blocks_back(blocks, reading.forward.inverse(), image.width, image.height)
    described = {
        "width": image.width,
        "height": image.height,
        "dpi": image.dpi,
        "dpi_from_file": image.dpi_from_file,
        "format": image.format,
        "frames": image.frames,
        "rotation": reading.rotation,
        "deskew": round(image.deskew + reading.deskew, 2),
        "scale": image.scale,
    }
    if image.display:
        shown = image.display
        described["display"] = {
            "key": ref.display_key(source.get("etag") or "", shown.suffix),
            "format": shown.format,
            "width": shown.width,
            "height": shown.height,
        }
    document = build_page_json(
        book=ref.book,
        page=ref.page,
        page_number=ref.page_number,
        source={k: v for k, v in source.items() if v is not None},
        image=described,
        ocr={
            "engine": output.engine,
            "lang": output.lang,
            "psm": output.psm,
            "duration_ms": duration_ms,
            "passes": reading.passes,
        },
        blocks=blocks,
    )
    tag = output_tag(source.get("key") or ref.result_key, source.get("etag") or "")
    made = outputs.make(settings.outputs, document, output.files, ref, tag)
    if made:
        document["outputs"] = {o.name: o.key for o in made}
    return OcrPage(document, image.display, made, tag)


def _drop(settings: Settings, display_key: str | None) -> None:
    if display_key:
        storage.delete(settings.results_bucket, display_key)


def _same_bytes_again(
    item: ObjectEvent,
    ref: PageRef,
    settings: Settings,
    version: SourceVersion,
    held: SourceVersion,
    existing: storage.StoredObject,
) -> Outcome | None:
    """The page JSON already holds these bytes: no OCR, but perhaps work left downstream (None: read them again).

    A redelivery of the very event changes nothing. Any other announcement of
    the same bytes (a re-upload, a copy, ``pagesearch retry``) may come after
    the page JSON failed to reach the index (an outage that outlasted the
    indexer's retries), or after an upload of other bytes failed: so the
    failure record of this key is cleared and the page JSON is announced to
    the indexer again, which indexes it unless its page record already holds
    it. The JSON's metadata then names this newer event. Bytes uploaded again
    to be read in another language (``pagesearch ingest --lang``, a book's
    ``_book.json``) are read again: None.
    """
    if (version.sequencer, version.event_time) == (held.sequencer, held.event_time) or version.older_than(held):
        return Outcome.skipped(item.key, "duplicate delivery: this version is already OCR'd", ref)
    current = storage.head(item.bucket, item.key)
    if current is None or current.etag != held.etag:
        # Deleted or replaced since: that change has an event of its own.
        return Outcome.skipped(item.key, "the image changed again since this event", ref)
    try:
        if page_language(current.metadata, item.bucket, ref.book, settings.ocr_lang) != _read_in(existing, settings):
            return None
    except InvalidLanguage:
        return None  # reading it again records why it cannot be
    clear_failure(settings.results_bucket, item.key)
    try:
        storage.touch(
            settings.results_bucket,
            ref.result_key,
            {**version.to_metadata(), REANNOUNCED_METADATA: storage.now_iso()},
            if_match=existing.etag,
        )
    except (storage.WriteConflict, storage.ObjectMissing):
        return Outcome.skipped(item.key, "the page JSON changed meanwhile", ref)
    logger.info("same bytes again: page JSON re-announced", extra={"key": item.key, "book": ref.book, "page": ref.page})
    return Outcome.skipped(item.key, "already OCR'd: the page JSON was announced to the indexer again", ref)


def _read_in(page_json: storage.StoredObject, settings: Settings) -> str:
    # Page JSONs written before languages were chosen per page were read in OCR_LANG.
    return page_json.metadata.get(LANG_METADATA) or settings.ocr_lang


def _undo_for_a_deleted_source(item: ObjectEvent, ref: PageRef, settings: Settings, written: str) -> Outcome:
    """The image was deleted while it was OCR'd: its removal found no page JSON, so remove the one just written."""
    page_json = storage.head(settings.results_bucket, ref.result_key)
    if page_json is not None and page_json.etag == written:
        storage.delete(settings.results_bucket, ref.result_key)
        _drop(settings, page_json.metadata.get(DISPLAY_METADATA))
        results.drop(settings.results_bucket, results.output_keys(ref, page_json))
    clear_failure(settings.results_bucket, item.key)
    logger.info("image deleted during OCR: page JSON removed", extra={"key": item.key, "book": ref.book})
    return Outcome.skipped(item.key, "the image was deleted while it was OCR'd: its page JSON was removed", ref)


def _remove_page(item: ObjectEvent, ref: PageRef, settings: Settings) -> Outcome:
    """An image (or one version of it) was deleted: bring the page JSON in line with what is current.

    In a versioned bucket, deleting a noncurrent version leaves the image in
    place, and permanently deleting the latest version makes an older one
    current again: only when no version is current does the page go.
    """
    if settings.split_queue and is_tiff_key(item.key) and _was_split(item.key, settings):
        return _hand_to_splitter(item, settings, None, "the TIFF was split as a book")
    existing = storage.head(settings.results_bucket, ref.result_key)
    held = results.held(existing)
    current = storage.head(item.bucket, item.key)
    if current is not None:
        if held is not None and held.names(item.key) and held.etag == current.etag:
            return Outcome.skipped(item.key, "a noncurrent version was deleted: the current image is the page", ref)
        # The latest version was deleted and an older one is current again: it is the page now.
        became_current = ObjectEvent(
            item.bucket, item.key, "ObjectCreated:VersionRestored", item.event_time, item.sequencer, current.etag
        )
        return _ocr_page(became_current, ref, settings)
    clear_failure(settings.results_bucket, item.key)
    if existing is None:
        return Outcome.skipped(item.key, "no page JSON to remove", ref)
    removal = SourceVersion.of(item.key, item.event_time, item.sequencer)
    if held is not None and (not held.names(item.key) or removal.older_than(held)):
        return Outcome.skipped(item.key, "page JSON belongs to a newer source", ref)
    storage.delete(settings.results_bucket, ref.result_key)
    _drop(settings, existing.metadata.get(DISPLAY_METADATA))
    results.drop(settings.results_bucket, results.output_keys(ref, existing))
    logger.info("page removed", extra={"key": item.key, "book": ref.book, "page": ref.page})
    return Outcome.deleted(item.key, ref)


def _fail(item: ObjectEvent, ref: PageRef, settings: Settings, reason: str) -> Outcome:
    return record_object_failure(item, results_bucket=settings.results_bucket, stage=STAGE, reason=reason, ref=ref)


def _was_split(key: str, settings: Settings) -> bool:
    """True when the splitter split this file (its progress record is there)."""
    try:
        return storage.head(settings.results_bucket, split_status_key(key, book_of_file(key))) is not None
    except InvalidKey:
        return False


def _hand_to_splitter(item: ObjectEvent, settings: Settings, etag: str | None, why: str) -> Outcome:
    """A book, not a page: the splitter's queue gets the event (its pages come back here one by one)."""
    event = ObjectEvent(
        item.bucket, item.key, item.event_name, item.event_time, item.sequencer, etag or item.etag, item.version_id
    )
    jobs.send(settings.split_queue, jobs.SplitJob(event))
    logger.info("handed to the splitter", extra={"key": item.key, "reason": why})
    return Outcome.skipped(item.key, f"{why}: handed to the splitter")
