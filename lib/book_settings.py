"""A book's own settings, ``BOOK/_book.json`` in the pages bucket, and the language each page is read in.

A page is read in the language its upload names (S3 metadata
``x-amz-meta-ocr-lang``, which ``pagesearch ingest --lang`` sets), else its
book's (``{"ocr_lang": "deu+eng"}`` in ``BOOK/_book.json``), else the
deployment's ``OCR_LANG``: a library changes a book's language without a
redeploy, and one odd page without touching its book. The book's file is read
only for a page whose upload names no language: one small GET, beside the
image's. The bucket notifies the OCR function of image suffixes only, so
uploading ``_book.json`` starts nothing; it applies to pages read after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib import storage
from lib.languages import LANG_METADATA, InvalidLanguage, ocr_languages

BOOK_SETTINGS = "_book.json"
_MAX_BYTES = 64 * 1024
_KNOWN = {"ocr_lang"}


@dataclass(frozen=True)
class BookSettings:
    ocr_lang: str | None = None


def book_settings_key(book: str) -> str:
    return f"{book}/{BOOK_SETTINGS}"


def parse_book_settings(data: bytes, key: str) -> BookSettings:
    """The settings in a ``_book.json``'s bytes; InvalidLanguage (a failure of the page) when they are not."""
    try:
        document: Any = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidLanguage(f"{key} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidLanguage(f'{key} must be a JSON object such as {{"ocr_lang": "deu"}}')
    unknown = sorted(set(document) - _KNOWN)
    if unknown:
        raise InvalidLanguage(f"{key} has unknown settings {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN))})")
    lang = document.get("ocr_lang")
    if lang is not None and not isinstance(lang, str):
        raise InvalidLanguage(f"{key}: ocr_lang must be a string such as deu+eng")
    return BookSettings(ocr_lang=ocr_languages(lang, f"{key} ocr_lang") if lang is not None else None)


def read_book_settings(bucket: str, book: str) -> BookSettings:
    """The book's settings; none set when it has no ``_book.json``."""
    key = book_settings_key(book)
    try:
        obj = storage.get(bucket, key, max_bytes=_MAX_BYTES)
    except storage.ObjectMissing:
        return BookSettings()
    except storage.ObjectTooLarge:
        raise InvalidLanguage(f"{key} is over {_MAX_BYTES // 1024} KiB: it holds a few settings only") from None
    return parse_book_settings(obj.body, key)


def page_language(metadata: Mapping[str, str], bucket: str, book: str, default: str) -> str:
    """The language a page is read in: its upload's, else its book's, else ``default``; InvalidLanguage."""
    named = metadata.get(LANG_METADATA)
    if named is not None:
        return ocr_languages(named, "the upload's x-amz-meta-ocr-lang")
    return read_book_settings(bucket, book).ocr_lang or default
