"""OCR languages: what a language setting may hold, and the one a page's text is in (pure, no I/O).

A setting names Tesseract's language data, several joined by ``+``
(``deu+eng``: German first, English words beside it), each a code such as
``eng``, ``chi_sim`` or ``deu_latf``, or a script (``script/Latin``). It is
checked before it reaches Tesseract's command line, so that a typing error
in an upload's metadata is a failure record saying so, not a Tesseract error.
Which setting a page gets (its upload, its book, the deployment) is
lib.book_settings; which analyzer the index gives its text is lib.index.analysis.
"""

from __future__ import annotations

import re

# S3 user metadata of a page image (or a book file) naming its language: x-amz-meta-ocr-lang.
LANG_METADATA = "ocr-lang"
# Tesseract's data names: a letter, then letters, digits and underscores; a script is script/Name.
_CODE = re.compile(r"(?:script/)?[A-Za-z][A-Za-z0-9_]{1,31}")
# More languages than this make Tesseract slower than any page is worth: a setting error, surely.
MAX_LANGUAGES = 8


class InvalidLanguage(ValueError):
    """A language setting that is not Tesseract language codes joined by +: can never succeed as it is."""


def ocr_languages(value: str, where: str) -> str:
    """``value`` as Tesseract takes it (spaces trimmed), or InvalidLanguage naming ``where`` it came from."""
    codes = [code.strip() for code in value.strip().split("+")]
    if not value.strip() or not all(_CODE.fullmatch(code) for code in codes):
        raise InvalidLanguage(
            f"{where} {value[:80]!r} is not Tesseract language codes joined by + (for example deu or deu+eng)"
        )
    if len(codes) > MAX_LANGUAGES:
        raise InvalidLanguage(f"{where} names {len(codes)} languages; at most {MAX_LANGUAGES} are read at once")
    return "+".join(dict.fromkeys(codes))


def primary_language(lang: str | None) -> str | None:
    """The first language of a setting (``deu`` of ``deu+eng``): the one the page is mostly written in."""
    first = (lang or "").split("+")[0].strip()
    return first or None
