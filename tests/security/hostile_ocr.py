"""A hostile-key scenario for the OCR function: pages whose keys look like paths, through the real handler.

Run in-process by test_runtime.py (with an audit hook), and as a child process
under strace (``python -m tests.security.hostile_ocr TMPDIR OUT``), so that
even what Tesseract itself writes is seen. Everything runs for real: moto's
S3 in-process, the OCR handler, Pillow and the host's Tesseract; only the
settings change per case (a missing language, a one-second timeout).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import sys
import tempfile
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

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


def _s3_record(key: str, etag: str) -> dict[str, Any]:
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T09:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": PAGES_BUCKET, "arn": f"arn:aws:s3:::{PAGES_BUCKET}"},
               # S3 sends keys URL-encoded with '+' for spaces.
               "object": {"key": quote_plus(key, safe="/"), "size": 1, "eTag": etag,
                          "sequencer": "0062A1B2C3D4E5F601"}},
    }  # fmt: skip


def _sns_event(record: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": json.dumps({"Records": [record]}),
                "Timestamp": "2026-11-25T09:00:00.000Z", "TopicArn": "arn:aws:sns:us-east-1:123456789012:pages"},
    }]}  # fmt: skip


@dataclass(frozen=True)
class _Context:
    """What Powertools reads from a Lambda context."""

    function_name: str = "pagesearch-test-ocr"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pagesearch-test-ocr"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def run(tesseract: str) -> list[dict[str, Any]]:
    """Upload every case, deliver its SNS event to the OCR handler; report what each left in S3."""
    from moto import mock_aws

    from lib import storage
    from lib.keys import failure_key, page_ref_from_key
    from lib.settings import Settings

    base = dataclasses.replace(Settings.from_env(), pages_bucket=PAGES_BUCKET, results_bucket=RESULTS_BUCKET,
                               tesseract_cmd=tesseract, ocr_lang="eng")  # fmt: skip
    per_case = {
        "ok": base,
        "nolang": dataclasses.replace(base, ocr_lang="zz_no_such_language"),
        "timeout": dataclasses.replace(base, tesseract_timeout=1),
    }
    storage.s3_client.cache_clear()
    report = []
    with mock_aws():
        import handlers.ocr

        s3 = storage.s3_client()
        s3.create_bucket(Bucket=PAGES_BUCKET)
        s3.create_bucket(Bucket=RESULTS_BUCKET)
        for case in CASES:
            etag = s3.put_object(Bucket=PAGES_BUCKET, Key=case.key, Body=content(case.content))["ETag"].strip('"')
            handlers.ocr.SETTINGS = per_case[case.settings]
            returned = handlers.ocr.handler(_sns_event(_s3_record(case.key, etag)), _Context())
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
