"""Configuration of the functions, read from the environment at each invocation (microseconds).

The same variables drive Lambda (set by serverless.yml), ``sls invoke local``
and the local stack, so every one has a default that works locally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lib.keys import OUTPUT_SUFFIXES
from lib.languages import InvalidLanguage, ocr_languages

# Tesseract's page-level segmentation modes. 3 (its default) is automatic
# layout, multi-column aware, without orientation detection; 1 adds
# orientation and script detection in the same run (docs/reliability.md).
PAGE_PSMS = (1, 3, 4, 6, 11, 12)
# The standard outputs written beside each page JSON unless OUTPUTS says otherwise
# (docs/outputs.md: together they add about 2% to a page's time; the PDF, which
# embeds the page image, is left to those who ask for it).
DEFAULT_OUTPUTS = ("alto", "hocr")


# Tesseract variables every page's run sets (``-c name=value``), measured by `make accuracy`
# to cost no accuracy (docs/accuracy.md, Speed).
# None: tessedit_do_invert=0 and textord_tabfind_find_tables=0 read every shared page alike, but their
# time differences (2-6%, either way in two runs) were within the noise of the shared machine.
TESSERACT_VARIABLES: tuple[str, ...] = ()


class ConfigError(ValueError):
    """A setting has a value the functions cannot work with: a deployment problem, named in the message."""


def _int(name: str, default: int, allowed: tuple[int, ...] | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or (allowed is not None and int(value) not in allowed):
        wanted = f"one of {', '.join(map(str, allowed))}" if allowed else "a whole number"
        raise ConfigError(f"{name}={value!r} is not {wanted}")
    return int(value)


def _float(name: str, default: float, low: float, high: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:  # NaN fails both comparisons
        raise ConfigError(f"{name}={value!r} is not a number from {low:g} to {high:g}")
    return number


def _lang(name: str, default: str) -> str:
    try:
        return ocr_languages(os.environ.get(name, "").strip() or default, name)
    except InvalidLanguage as exc:
        raise ConfigError(str(exc)) from None


def _switch(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("auto", "on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    raise ConfigError(f"{name}={value!r} is not auto or off")


def _outputs(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma list of output names, in the canonical order; unset is ``default``, empty or ``none`` is none."""
    value = os.environ.get(name)
    if value is None:
        return default
    wanted = {part.strip().lower() for part in value.split(",")} - {""}
    if wanted == {"none"}:
        return ()
    unknown = sorted(wanted - OUTPUT_SUFFIXES.keys())
    if unknown:
        raise ConfigError(
            f"{name}={value!r}: unknown output {', '.join(map(repr, unknown))}; "
            f"give a comma list of {', '.join(OUTPUT_SUFFIXES)}, or none"
        )
    return tuple(output for output in OUTPUT_SUFFIXES if output in wanted)


@dataclass(frozen=True)
class Settings:
    pages_bucket: str
    results_bucket: str
    ocr_lang: str
    tesseract_cmd: str | None
    tesseract_psm: int
    # OpenMP threads per Tesseract: several times slower than one on Lambda's
    # fractional vCPUs, so 1 unless OMP_THREAD_LIMIT says otherwise.
    tesseract_threads: int
    # Seconds Tesseract may take on one page; kept below the function's timeout
    # so a hanging page ends in a failure record rather than a Lambda timeout.
    tesseract_timeout: int
    # The standard outputs written beside each page JSON (lib/keys.OUTPUT_SUFFIXES), from the same Tesseract run.
    outputs: tuple[str, ...]
    # Pillow's decompression-bomb guard, in pixels (a 100-megapixel scan passes).
    max_image_pixels: int
    max_image_bytes: int
    # Counting a file's frames grows with their square: bounded (docs/reliability.md).
    max_image_frames: int
    default_dpi: int
    opensearch_url: str
    opensearch_index: str
    max_page_json_bytes: int
    # Seconds per OpenSearch request; with the client's retries this stays well
    # inside the indexer's 120 s function timeout.
    opensearch_timeout: int
    # What the search API's ids and links start with (scheme, host, any path); empty: the API's own URL,
    # taken from each request (a custom domain or a CDN in front sets it).
    public_base_url: str
    # iam or public (serverless.yml's searchAuth): the viewer signs its requests when iam.
    search_auth: str
    # Whole books (lib.split, docs/books.md). The splitter's queue, its URL or its name: where the OCR function
    # hands a multi-page TIFF and where a split that runs out of time continues (none: a split finishes in one
    # invocation, and the OCR function OCRs a multi-page TIFF's first frame, as before books were split).
    split_queue: str = ""
    # A file with more pages, or more bytes, is refused as a whole with a failure record.
    max_book_pages: int = 10_000
    max_book_bytes: int = 2 * 1024**3
    # The resolution pages are rendered at when they are not one embedded scan, and text pages' boxes are in.
    split_dpi: int = 300
    # At most this many pages per invocation, and none begun with less than split_reserve_seconds left:
    # the rest continues in a further invocation (a message on the split queue).
    split_chunk_pages: int = 2_000
    split_reserve_seconds: int = 60
    # A page that reads badly is checked with Tesseract's OSD and read again turned (lib.ocr.orientation).
    ocr_rotate: bool = True
    # Pages skewed by at least this many degrees are levelled before OCR; 0: never (lib.ocr.adjust).
    ocr_min_deskew: float = 1.0
    # Scans whose file says more than this are scaled to it; 0: never (lib.ocr.adjust).
    ocr_max_dpi: int = 400
    # DEFAULT_DPI set: Tesseract is told it for a page whose file states none credibly; unset, Tesseract
    # estimates the page's resolution from its text, which reads such pages better (docs/accuracy.md).
    assume_default_dpi: bool = False
    # Large 1-bit pages are read in grey scaled by this factor (1: as they are): fewer errors and less time
    # (docs/accuracy.md, lib.ocr.adjust).
    ocr_bilevel_scale: float = 2 / 3
    # ``name=value`` Tesseract variables for every run.
    tesseract_variables: tuple[str, ...] = TESSERACT_VARIABLES

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            pages_bucket=os.environ.get("PAGES_BUCKET", "pagesearch-pages"),
            results_bucket=os.environ.get("RESULTS_BUCKET", "pagesearch-results"),
            ocr_lang=_lang("OCR_LANG", "eng"),
            tesseract_cmd=os.environ.get("TESSERACT_CMD") or None,
            tesseract_psm=_int("TESSERACT_PSM", 3, PAGE_PSMS),
            tesseract_threads=_int("OMP_THREAD_LIMIT", 1),
            tesseract_timeout=_int("TESSERACT_TIMEOUT", 840),
            outputs=_outputs("OUTPUTS", DEFAULT_OUTPUTS),
            max_image_pixels=_int("MAX_IMAGE_PIXELS", 120_000_000),
            max_image_bytes=_int("MAX_IMAGE_BYTES", 200 * 1024 * 1024),
            max_image_frames=_int("MAX_IMAGE_FRAMES", 10_000),
            default_dpi=_int("DEFAULT_DPI", 300),
            opensearch_url=os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200"),
            opensearch_index=os.environ.get("OPENSEARCH_INDEX", "pages") or "pages",
            # Real pages are 25-55 kB; a page's bulk body is about 2.2x its JSON and
            # must stay under small OpenSearch domains' 10 MiB request limit.
            max_page_json_bytes=_int("MAX_PAGE_JSON_BYTES", 4 * 1024 * 1024),
            opensearch_timeout=_int("OPENSEARCH_TIMEOUT", 20),
            public_base_url=os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/"),
            search_auth=os.environ.get("SEARCH_AUTH", "public") or "public",
            # The URL when given (the local stack exports it), else the name serverless.yml sets.
            split_queue=(os.environ.get("SPLIT_QUEUE_URL") or os.environ.get("SPLIT_QUEUE_NAME") or "").strip(),
            max_book_pages=_int("MAX_BOOK_PAGES", 10_000),
            max_book_bytes=_int("MAX_BOOK_BYTES", 2 * 1024**3),
            split_dpi=_int("SPLIT_DPI", 300),
            split_chunk_pages=_int("SPLIT_CHUNK_PAGES", 2_000),
            split_reserve_seconds=_int("SPLIT_RESERVE_SECONDS", 60),
            ocr_rotate=_switch("OCR_ROTATE", True),
            assume_default_dpi=bool(os.environ.get("DEFAULT_DPI", "").strip()),
            ocr_min_deskew=_float("OCR_DESKEW_MIN", 1.0, 0.0, 6.0),
            ocr_max_dpi=_int("OCR_MAX_DPI", 400),
            ocr_bilevel_scale=_float("OCR_BILEVEL_SCALE", 2 / 3, 0.25, 1.0),
        )
