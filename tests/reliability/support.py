"""Helpers of the reliability tests: invoking both functions, reading what they left, making pages.

Everything here talks to the real parts (moto's S3, the OpenSearch API
server, the real Tesseract); nothing stands in for the code under test.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from pagesearch.lambda_local import invoke
from tests.conftest import RESULTS_BUCKET, SAMPLES

# S3's own limits, which moto does not enforce: checked on everything the functions write.
MAX_KEY_BYTES = 1024
MAX_USER_METADATA_BYTES = 2048
PHOTOTEST = SAMPLES / "phototest.tif"


def invoke_ocr(event: Any) -> dict[str, Any]:
    return invoke("ocr", event, stage="test")


def invoke_indexer(event: Any) -> dict[str, Any]:
    return invoke("indexer", event, stage="test")


def emf_metrics(stdout: str) -> dict[str, float]:
    """Totals of every metric in the CloudWatch embedded-metric-format lines printed to standard output."""
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


def log_lines(stdout: str) -> list[dict[str, Any]]:
    """Powertools' structured log lines (JSON with a level) from standard output."""
    lines = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"level"' in line:
            lines.append(json.loads(line))
    return lines


def failure_records(s3: Any) -> list[dict[str, Any]]:
    """Every object under failed/ in the results bucket, with its key as ``_key``."""
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=RESULTS_BUCKET, Prefix="failed/"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=RESULTS_BUCKET, Key=item["Key"])["Body"].read()
            records.append(json.loads(body) | {"_key": item["Key"]})
    return records


def assert_failure_record(
    s3: Any, *, stage: str, key: str, reason: str, book: str | None, page: str | None
) -> dict[str, Any]:
    """The rule's failure record: under failed/, not .json, decoded key verbatim, book, page, reason, time."""
    matching = [r for r in failure_records(s3) if r["source"]["key"] == key]
    assert len(matching) == 1, (
        f"expected one failure record for {key!r}, found {[r['_key'] for r in failure_records(s3)]}"
    )
    record = matching[0]
    assert record["_key"].startswith("failed/") and not record["_key"].endswith(".json"), record["_key"]
    assert record["stage"] == stage
    assert (record["book"], record["page"]) == (book, page)
    assert reason.lower() in record["reason"].lower(), f"{reason!r} not in {record['reason']!r}"
    written = dt.datetime.fromisoformat(record["time"])
    assert written.tzinfo is not None and abs(dt.datetime.now(dt.UTC) - written) < dt.timedelta(minutes=10)
    return record


def result_keys(s3: Any, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=RESULTS_BUCKET, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def assert_within_s3_limits(s3: Any, bucket: str = RESULTS_BUCKET) -> None:
    """Every object written fits S3's key and user-metadata limits (moto accepts more than S3 does)."""
    for key in result_keys(s3) if bucket == RESULTS_BUCKET else []:
        assert len(key.encode()) <= MAX_KEY_BYTES, f"{len(key.encode())}-byte key: S3 refuses it"
        metadata = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
        assert size <= MAX_USER_METADATA_BYTES, f"{size} bytes of user metadata on {key[:80]!r}: S3 refuses it"


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def real_page(path: Path = PHOTOTEST, mode: str = "L") -> Image.Image:
    with Image.open(path) as image:
        return image.convert(mode)


def small_good_page() -> bytes:
    """Two real lines of phototest (a fraction of a second of OCR): the good record mixed into events."""
    return encode(real_page().crop((0, 80, 640, 160)), "PNG", dpi=(200, 200))


def words(document: dict[str, Any]) -> list[str]:
    from lib.page_json import iter_lines

    return [w["text"] for _, _, line in iter_lines(document["blocks"]) for w in line["words"]]


def word_boxes(document: dict[str, Any], text: str) -> list[list[int]]:
    from lib.page_json import iter_lines

    return [w["bbox"] for _, _, line in iter_lines(document["blocks"]) for w in line["words"] if w["text"] == text]
