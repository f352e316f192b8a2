"""A hostile-key scenario for the OCR function: pages whose keys look like paths, through the real handler.

Run in-process by test_runtime.py (with an audit hook), and as a child process
under strace (``python -m tests.security.hostile_ocr TMPDIR OUT``), so that
even what Tesseract itself writes is seen. Everything runs for real: moto's
S3 in-process, the OCR handler, Pillow and the host's Tesseract; only the
settings change per case (a missing language, a one-second timeout).
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw

# Every hostile key carries this marker: no path touched on disk may contain it.
MARK = "escape-MARK"
PAGES_BUCKET = "test-pages"
RESULTS_BUCKET = "test-results"


@dataclass(frozen=True)
class Case:
    key: str
    content: str  # which bytes are uploaded: see content()
    settings: str  # "ok", "nolang" (Tesseract exits with an error) or "timeout"
    expected: str  # the handler's status for the record: "ocr" or "failed"


CASES: tuple[Case, ...] = (
    Case(f"../../{MARK}/0001.png", "png", "ok", "ocr"),
    Case(f"/abs/{MARK}/0002.jpg", "jpeg", "ok", "ocr"),
    Case(f"book/../../../{MARK}-0003.png", "corrupt", "ok", "failed"),
    Case(f"~/{MARK}/0004.png", "dense", "timeout", "failed"),
    Case(f"C:\\{MARK}\\x/0005.png", "rgba", "ok", "ocr"),
    # Both parts longer than any file name may be (NAME_MAX 255), 1,000 bytes in all.
    Case(f"{MARK}-{'b' * 300}/{'p' * 680}.png", "png", "ok", "ocr"),
    Case(f"книга {MARK}/страница 0007.png", "png", "nolang", "failed"),
    Case(f"book/{MARK}%2F..%2F0008.png", "truncated", "ok", "failed"),
    Case(f"./{MARK}/./0009.tif", "png", "ok", "ocr"),
    Case(f"{MARK}-0010.png", "png", "ok", "failed"),  # no book prefix
    Case(f"failed/{MARK}/0011.png", "png", "ok", "failed"),  # reserved book name
    Case(f"book/{MARK}-{'q' * 990}.png", "corrupt", "ok", "failed"),  # failure key must be hashed
)


def small_page(fmt: str = "PNG", mode: str = "L") -> bytes:
    """A small real page with one line of text (fast to OCR)."""
    image = Image.new("L", (420, 90), 255)
    ImageDraw.Draw(image).text((12, 18), "Call me Ishmael 42", fill=0, font_size=40)
    if mode == "RGBA":
        image = image.convert("RGBA")  # not passed through: converted to PNG first
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@lru_cache(maxsize=1)
def dense_page() -> bytes:
    """An A4 page at 300 dpi full of text: Tesseract needs several seconds, so a 1 s timeout fires."""
    rng = random.Random(7)
    words = ["whale", "sea", "ship", "captain", "harpoon", "ocean", "deck", "sail", "storm", "island", "voyage"]
    image = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(image)
    for line in range(80):
        text = " ".join(rng.choice(words) for _ in range(14))
        draw.text((120, 120 + line * 41), text, fill=0, font_size=30)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def content(kind: str) -> bytes:
    if kind == "png":
        return small_page()
    if kind == "jpeg":
        return small_page("JPEG")
    if kind == "rgba":
        return small_page(mode="RGBA")
    if kind == "dense":
        return dense_page()
    if kind == "corrupt":
        return b"\x89PNG\r\n\x1a\n but nothing of an image follows"
    if kind == "truncated":
        return small_page()[:120]
    raise ValueError(kind)


def run(tesseract: str) -> list[dict[str, Any]]:
    """Upload every case, deliver its SNS event to the OCR handler; report what each left in S3."""
    from moto import mock_aws

    from lib import storage
    from lib.keys import failure_key, page_ref_from_key
    from pagesearch.lambda_local import invoke, s3_record, sns_event

    # The function reads its settings from the environment at each invocation, as in Lambda.
    base = {"PAGES_BUCKET": PAGES_BUCKET, "RESULTS_BUCKET": RESULTS_BUCKET, "TESSERACT_CMD": tesseract,
            "OCR_LANG": "eng", "TESSERACT_TIMEOUT": "240"}  # fmt: skip
    per_case = {
        "ok": base,
        "nolang": {**base, "OCR_LANG": "zz_no_such_language"},
        "timeout": {**base, "TESSERACT_TIMEOUT": "1"},
    }
    storage.s3_client.cache_clear()
    report = []
    saved = {name: os.environ.get(name) for name in base}
    with mock_aws():
        s3 = storage.s3_client()
        s3.create_bucket(Bucket=PAGES_BUCKET)
        s3.create_bucket(Bucket=RESULTS_BUCKET)
        for case in CASES:
            etag = s3.put_object(Bucket=PAGES_BUCKET, Key=case.key, Body=content(case.content))["ETag"].strip('"')
            os.environ.update(per_case[case.settings])
            returned = invoke("ocr", sns_event(s3_record(PAGES_BUCKET, case.key, etag=etag)), stage="test")
            results = set(storage.list_keys(RESULTS_BUCKET))
            try:
                result_key: str | None = page_ref_from_key(case.key).result_key
            except ValueError:
                result_key = None
            record_key = failure_key(case.key)
            record = (
                json.loads(storage.get(RESULTS_BUCKET, record_key, max_bytes=1 << 20).body)
                if record_key in results
                else None
            )
            report.append({
                "key": case.key, "expected": case.expected,
                "status": [p["status"] for p in returned["pages"]],
                "result_written": result_key in results,
                "failure_source_key": record["source"]["key"] if record else None,
            })  # fmt: skip
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    storage.s3_client.cache_clear()
    return report


if __name__ == "__main__":
    # Child mode: the temporary directory is private, and the report goes to a file
    # (standard output carries the handler's logs).
    private_tmp, out_path, tesseract_path = sys.argv[1:4]
    tempfile.tempdir = private_tmp
    os.environ["TMPDIR"] = private_tmp
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(run(tesseract_path), out)
