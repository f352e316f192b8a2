"""Page addressing: how object keys map to books, pages, result, output and failure keys.

The pages bucket holds ``BOOK/PAGE.ext``; the results bucket mirrors it as
``BOOK/PAGE.json``, with the page's standard outputs beside it
(``BOOK/PAGE.TAG.alto.xml``, ``.hocr``, ``.pdf``; lib/outputs). Failure
records live under ``failed/`` and end in ``.failure``. Neither outputs nor
failure records end in ``.json``, so the indexer's trigger never sees them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The bucket notifications (lib/notifications.json) say which suffixes reach
# each function; the same file configures AWS and the local stack.
NOTIFICATIONS: dict[str, Any] = json.loads((Path(__file__).with_name("notifications.json")).read_text())
IMAGE_SUFFIXES: tuple[str, ...] = tuple(NOTIFICATIONS["pages"]["suffixes"])
# Whole books in one file, split into pages by the splitter (lib.split); multi-page TIFFs reach it through the
# OCR function, which keeps the TIFF suffixes.
BOOK_SUFFIXES: tuple[str, ...] = tuple(NOTIFICATIONS["books"]["suffixes"])
TIFF_SUFFIXES = (".tif", ".tiff")
# Where a split's progress record goes, beside the book's pages in the results bucket (lib.split.status).
SPLIT_DIR = "_split"
SPLIT_STATUS_SUFFIX = ".status"
# The least number of digits of a page split from a book file: BOOK/0001 ... BOOK/9999, BOOK/10000 ...
PAGE_DIGITS = 4
RESULT_SUFFIX: str = NOTIFICATIONS["results"]["suffixes"][0]
FAILURE_PREFIX = "failed/"
FAILURE_SUFFIX = ".failure"
# S3 keys are at most 1,024 bytes; a failure key adds the prefix and suffix.
MAX_KEY_BYTES = 1024
# The largest integer JavaScript (and so every IIIF viewer) reads exactly.
MAX_PAGE_NUMBER = 2**53 - 1
# The standard outputs a page may have beside its JSON, by the name OUTPUTS uses, in the order they are listed.
OUTPUT_SUFFIXES: dict[str, str] = {"alto": ".alto.xml", "hocr": ".hocr", "pdf": ".pdf"}
# Where an output goes when its natural key would pass S3's limit (a page name of about 1,000 bytes).
LONG_OUTPUT_PREFIX = "outputs-long-keys/"


class InvalidKey(ValueError):
    """The object key cannot name a page: no book prefix, no page name, or not an image."""


@dataclass(frozen=True)
class PageRef:
    """One page of one book, as named by the uploaded key."""

    book: str
    page: str

    @property
    def page_number(self) -> int | None:
        """The page as an integer when its name is a plain number (``0042`` -> 42), else None.

        Only ASCII digits count (``str.isdigit`` also accepts ``²`` and ``①``,
        which ``int`` refuses), and only up to 2**53 - 1, the largest integer
        a JSON reader in JavaScript keeps exactly: an ISBN (13 digits) is a
        page number, a 20-digit name is not.
        """
        if not (self.page.isascii() and self.page.isdigit()):
            return None
        number = int(self.page)
        return number if number <= MAX_PAGE_NUMBER else None

    @property
    def result_key(self) -> str:
        return f"{self.book}/{self.page}{RESULT_SUFFIX}"

    def display_key(self, etag: str, suffix: str) -> str:
        """Where the page's browser image goes (results bucket): named after the source's ETag, so two
        versions written at once never share one, and the page JSON names exactly its own."""
        return f"{self.book}/{self.page}.{etag[:16] or 'current'}.display{suffix}"

    def output_key(self, name: str, tag: str) -> str:
        """Where the page's output ``name`` (alto, hocr, pdf) goes (results bucket), beside its page JSON.

        ``tag`` names the version it was made from (``output_tag``), so two
        versions written at once never share a key and the page JSON names
        exactly its own. A key past S3's 1,024 bytes is replaced by a digest.
        """
        key = f"{self.book}/{self.page}.{tag}{OUTPUT_SUFFIXES[name]}"
        if len(key.encode()) <= MAX_KEY_BYTES:
            return key
        digest = hashlib.sha256(self.result_key.encode()).hexdigest()[:32]
        return f"{LONG_OUTPUT_PREFIX}{digest}.{tag}{OUTPUT_SUFFIXES[name]}"


def output_tag(source_key: str, etag: str) -> str:
    """The part of an output's key that names its source version: the image's key and bytes.

    Both count: ``0042.jpg`` and ``0042.png`` holding the same bytes are two
    sources of one page and must not write each other's outputs.
    """
    return hashlib.sha256(f"{source_key}\n{etag}".encode()).hexdigest()[:16]


def is_image_key(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def page_ref_from_key(key: str, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> PageRef:
    """Derive book and page from a decoded key: the book is everything before the last ``/``.

    Raises InvalidKey when the key has no book prefix, an empty page name or
    a suffix outside ``suffixes``.
    """
    lowered = key.lower()
    suffix = next((s for s in suffixes if lowered.endswith(s)), None)
    if suffix is None:
        raise InvalidKey(f"key {key!r} does not end in one of {', '.join(suffixes)}")
    book, sep, name = key.rpartition("/")
    page = name[: -len(suffix)]
    if not sep or not book:
        raise InvalidKey(f"key {key!r} has no book prefix: upload pages as BOOK/PAGE{suffix}")
    if not page:
        raise InvalidKey(f"key {key!r} has no page name before {suffix}")
    if book == FAILURE_PREFIX.rstrip("/") or book.startswith(FAILURE_PREFIX):
        # Results of a book called "failed" would be listed as failure records.
        raise InvalidKey(f"key {key!r}: the book name 'failed' is reserved for failure records")
    ref = PageRef(book=book, page=page)
    size = len(ref.result_key.encode())
    if size > MAX_KEY_BYTES:
        # S3 would refuse the page JSON's key, and retrying cannot help.
        raise InvalidKey(f"key {key!r} is too long: its page JSON key would be {size} bytes, over S3's {MAX_KEY_BYTES}")
    return ref


def page_ref_from_result_key(key: str) -> PageRef:
    """Book and page of a page JSON key in the results bucket."""
    return page_ref_from_key(key, suffixes=(RESULT_SUFFIX,))


def failure_key(source_key: str) -> str:
    """Where the failure record for ``source_key`` goes in the results bucket.

    Named after the source key itself, so two sources of one page
    (``0042.jpg`` and ``0042.png``) keep separate records.
    """
    key = f"{FAILURE_PREFIX}{source_key}{FAILURE_SUFFIX}"
    if len(key.encode()) > MAX_KEY_BYTES:
        digest = hashlib.sha256(source_key.encode()).hexdigest()[:32]
        key = f"{FAILURE_PREFIX}long-keys/{digest}{FAILURE_SUFFIX}"
    return key


def is_book_key(key: str) -> bool:
    """A key the splitter takes as a whole book (a PDF)."""
    return key.lower().endswith(BOOK_SUFFIXES)


def is_tiff_key(key: str) -> bool:
    return key.lower().endswith(TIFF_SUFFIXES)


def book_of_file(key: str) -> str:
    """The book a whole-book file makes: ``BOOK/anything.pdf`` -> BOOK, ``BOOK.pdf`` -> BOOK.

    Raises InvalidKey when that leaves no name, names the reserved book
    ``failed``, or gives page keys past S3's limit.
    """
    book, sep, name = key.rpartition("/")
    if not sep:
        book = name.rpartition(".")[0] if "." in name else name
    if not book.strip("/"):
        raise InvalidKey(f"key {key!r} names no book: upload BOOK.pdf or BOOK/FILE.pdf")
    if book == FAILURE_PREFIX.rstrip("/") or book.startswith(FAILURE_PREFIX):
        raise InvalidKey(f"key {key!r}: the book name 'failed' is reserved for failure records")
    longest = book_page(book, 10**PAGE_DIGITS).result_key
    if len(longest.encode()) > MAX_KEY_BYTES - 64:
        raise InvalidKey(f"key {key!r}: its book name is too long for the keys of its pages")
    return book


def book_page(book: str, number: int) -> PageRef:
    """Page ``number`` (1-based) of a book split from one file: ``0001``, at least PAGE_DIGITS digits."""
    return PageRef(book=book, page=f"{number:0{PAGE_DIGITS}d}")


def split_status_key(source_key: str, book: str) -> str:
    """Where the split of ``source_key`` records its progress (results bucket); never ends in ``.json``."""
    name = source_key.rpartition("/")[2]
    key = f"{book}/{SPLIT_DIR}/{name}{SPLIT_STATUS_SUFFIX}"
    if len(key.encode()) > MAX_KEY_BYTES:
        key = f"{book}/{SPLIT_DIR}/{hashlib.sha256(source_key.encode()).hexdigest()[:32]}{SPLIT_STATUS_SUFFIX}"
    return key


def page_failure_name(source_key: str, page: str) -> str:
    """The name a failure record of one page of a book file is filed under (each page its own record)."""
    return f"{source_key}#page={page}"
