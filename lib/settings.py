"""Configuration of both functions, read once from the environment.

The same variables drive Lambda (set by serverless.yml), ``sls invoke local``
and the local stack, so every one has a default that works locally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class Settings:
    pages_bucket: str
    results_bucket: str
    ocr_lang: str
    tesseract_cmd: str | None
    # Seconds Tesseract may take on one page; kept below the function's timeout
    # so a hanging page ends in a failure record rather than a Lambda timeout.
    tesseract_timeout: int
    # Pillow's decompression-bomb guard, in pixels (a 100-megapixel scan passes).
    max_image_pixels: int
    max_image_bytes: int
    default_dpi: int
    opensearch_url: str
    opensearch_index: str
    max_page_json_bytes: int
    # Seconds per OpenSearch request; with the client's retries this stays well
    # inside the indexer's 120 s function timeout.
    opensearch_timeout: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            pages_bucket=os.environ.get("PAGES_BUCKET", "pagesearch-pages"),
            results_bucket=os.environ.get("RESULTS_BUCKET", "pagesearch-results"),
            ocr_lang=os.environ.get("OCR_LANG", "eng") or "eng",
            tesseract_cmd=os.environ.get("TESSERACT_CMD") or None,
            tesseract_timeout=_int("TESSERACT_TIMEOUT", 240),
            max_image_pixels=_int("MAX_IMAGE_PIXELS", 120_000_000),
            max_image_bytes=_int("MAX_IMAGE_BYTES", 200 * 1024 * 1024),
            default_dpi=_int("DEFAULT_DPI", 300),
            opensearch_url=os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200"),
            opensearch_index=os.environ.get("OPENSEARCH_INDEX", "pages") or "pages",
            # Real pages are 25-55 kB; a page's bulk body is about 2.2x its JSON and
            # must stay under small OpenSearch domains' 10 MiB request limit.
            max_page_json_bytes=_int("MAX_PAGE_JSON_BYTES", 4 * 1024 * 1024),
            opensearch_timeout=_int("OPENSEARCH_TIMEOUT", 20),
        )
