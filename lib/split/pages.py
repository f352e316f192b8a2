"""Writing one page of a book file: an image for the OCR function, or a text page's JSON for the indexer.

Both are idempotent: an image already written from these bytes of the file
is not written again (so S3 announces nothing and nothing is OCR'd twice),
and a text page goes through ``lib.results.write_if_newest`` like every page
JSON, so a newer source of the page (a newer version of the file, or a
re-scan uploaded as ``BOOK/0003.png``) is never overwritten by an older one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lib import jobs, results, storage
from lib.book_settings import page_language
from lib.events import ObjectEvent
from lib.failures import record_failure
from lib.keys import PageRef, book_page, output_tag, page_failure_name
from lib.languages import LANG_METADATA
from lib.observability import logger
from lib.outputs import alto, hocr
from lib.page_json import build_page_json
from lib.results import DISPLAY_METADATA, OUTPUT_TAG_METADATA, OUTPUTS_METADATA
from lib.settings import Settings
from lib.split.pdf import ImagePage, PageFailed, TextPage
from lib.versions import SourceVersion, stored_key

STAGE = "split"
# What a text page says made it, in the page JSON's ``ocr.engine``: no OCR engine, the PDF's own text.
TEXT_ENGINE = "pdf-text"
# The outputs a text page can have: rendered from its page model (a searchable PDF needs Tesseract's run).
_FROM_MODEL = {"alto": (alto.render, alto.CONTENT_TYPE), "hocr": (hocr.render, hocr.CONTENT_TYPE)}


@dataclass(frozen=True)
class Language:
    """The language of a book file's pages: the one its upload names, handed on to its page images, and the
    one its text pages are in (lib.book_settings: the upload's, else the book's, else OCR_LANG)."""

    named: str | None
    resolved: str

    @classmethod
    def of(cls, metadata: Mapping[str, str], bucket: str, book: str, default: str) -> Language:
        """InvalidLanguage when the upload or the book names a language wrongly: the file cannot be split."""
        resolved = page_language(metadata, bucket, book, default)
        return cls(resolved if metadata.get(LANG_METADATA) is not None else None, resolved)


class PageWriter:
    """Writes the pages of one version of one book file."""

    def __init__(
        self, item: ObjectEvent, version: SourceVersion, book: str, settings: Settings, language: Language
    ) -> None:
        self.item, self.book, self.settings, self.language = item, book, settings, language
        self.etag = version.etag or ""
        # A text page is ordered against other sources of its page by when it is written, as a page image is
        # by its own upload event: an older version's split still writing images after this version was
        # uploaded must not make this version's text pages look older. Versions of the file itself are still
        # ordered by their sequencer, and the same bytes are recognised by key and ETag.
        written = storage.now_iso().replace("+00:00", "Z")
        self.version = SourceVersion(version.key, written, version.sequencer, version.etag)

    def write(self, number: int, page_of: Callable[[int], ImagePage | TextPage]) -> dict[str, Any]:
        """Make and write page ``number``; its entry in the progress record."""
        ref = book_page(self.book, number)
        started = time.perf_counter()
        try:
            made = page_of(number)
        except PageFailed as exc:
            return self.failed(number, str(exc))
        if isinstance(made, ImagePage):
            return self._image(ref, number, made)
        return self._text(ref, number, made, round((time.perf_counter() - started) * 1000))

    def failed(self, number: int, reason: str) -> dict[str, Any]:
        """A page that can never be made: its own failure record; the other pages go on."""
        page = book_page(self.book, number).page
        item = self.item
        record_failure(
            results_bucket=self.settings.results_bucket,
            stage=STAGE,
            source_bucket=item.bucket,
            source_key=item.key,
            reason=reason,
            book=self.book,
            page=page,
            event={"name": item.event_name, "time": item.event_time, "sequencer": item.sequencer, "etag": self.etag},
            name=page_failure_name(item.key, page),
        )
        return {"kind": "failed", "page": page, "reason": reason}

    def _image(self, ref: PageRef, number: int, made: ImagePage) -> dict[str, Any]:
        bucket = self.settings.pages_bucket
        key = f"{ref.book}/{ref.page}{made.suffix}"
        metadata = {
            jobs.SPLIT_SOURCE_METADATA: stored_key(self.item.key),
            jobs.SPLIT_ETAG_METADATA: self.etag,
            jobs.SPLIT_PAGE_METADATA: str(number),
            # Only a language the upload named: the book's or the deployment's is looked up when the page is read.
            **({LANG_METADATA: self.language.named} if self.language.named else {}),
        }
        existing = storage.head(bucket, key)
        if existing is not None and all(existing.metadata.get(k) == v for k, v in metadata.items()):
            etag = existing.etag  # written from these very bytes before: nothing to announce again
        else:
            etag = storage.put_file(bucket, key, made.data, content_type=made.content_type, metadata=metadata)
        entry = {"kind": "image", "page": ref.page, "key": key, "etag": etag, "how": made.how}
        return entry | {"width": made.width, "height": made.height}

    def _text(self, ref: PageRef, number: int, made: TextPage, duration_ms: int) -> dict[str, Any]:
        bucket = self.settings.results_bucket
        existing = storage.head(bucket, ref.result_key)
        held = results.held(existing)
        if existing is not None and held is not None and self.version.same_content(held):
            return {"kind": "text", "page": ref.page, "key": ref.result_key, "etag": existing.etag}
        skip = results.skip_reason(self.version, existing)
        if skip:
            return {"kind": "superseded", "page": ref.page, "key": ref.result_key, "reason": skip}
        shown = ref.display_key(self.etag, ".jpg")
        document = self._document(ref, number, made, shown, duration_ms)
        tag = output_tag(self.item.key, self.etag)
        outputs = {name: _FROM_MODEL[name] for name in self.settings.outputs if name in _FROM_MODEL}
        made_keys = [shown]
        storage.put_file(bucket, shown, made.display, content_type="image/jpeg")
        for name, (render, content_type) in outputs.items():
            made_keys.append(ref.output_key(name, tag))
            storage.put_file(bucket, made_keys[-1], render(document), content_type=content_type)
        if outputs:
            document["outputs"] = {name: ref.output_key(name, tag) for name in outputs}
        extra: dict[str, str | None] = {
            DISPLAY_METADATA: shown,
            OUTPUTS_METADATA: ",".join(outputs) or None,
            OUTPUT_TAG_METADATA: tag if outputs else None,
        }
        won = results.write_if_newest(bucket, ref.result_key, document, self.version, existing, extra)
        if won is None:
            current = storage.head(bucket, ref.result_key)
            names = [current.metadata.get(DISPLAY_METADATA)] if current else []
            results.drop(bucket, made_keys, keep=names + results.output_keys(ref, current))
            return {"kind": "superseded", "page": ref.page, "key": ref.result_key, "reason": "a newer source won"}
        written, replaced = won
        if replaced is not None:
            old = [replaced.metadata.get(DISPLAY_METADATA), *results.output_keys(ref, replaced)]
            results.drop(bucket, old, keep=made_keys)
        logger.info("text page written", extra={"key": self.item.key, "book": ref.book, "page": ref.page})
        return {"kind": "text", "page": ref.page, "key": ref.result_key, "etag": written}

    def _document(self, ref: PageRef, number: int, made: TextPage, shown: str, duration_ms: int) -> dict[str, Any]:
        item, origin = self.item, {"key": self.item.key, "etag": self.etag, "page": number}
        source = {"bucket": item.bucket, "key": item.key, "etag": self.etag, "sequencer": item.sequencer}
        source.update(event_time=item.event_time, version_id=item.version_id, split_from=origin)
        width, height = made.display_size
        return build_page_json(
            book=ref.book,
            page=ref.page,
            page_number=number,
            source={k: v for k, v in source.items() if v is not None},
            image={
                "width": made.width,
                "height": made.height,
                "dpi": made.dpi,
                "dpi_from_file": False,
                "format": "PDF",
                "frames": 1,
                # Read from the PDF's own text: nothing turned, levelled or scaled (page JSON v2).
                "rotation": 0,
                "deskew": 0.0,
                "scale": 1.0,
                "display": {"key": shown, "format": "JPEG", "width": width, "height": height},
            },
            # The language the text is in, by the same rule as an OCR'd page's: what the index analyses it as.
            ocr={"engine": TEXT_ENGINE, "lang": self.language.resolved, "duration_ms": duration_ms},
            blocks=made.blocks,
        )
