"""`pagesearch retry` (lib.redrive): a failure record re-driven makes S3 announce the object again.

The events are those moto's S3 emits for the copy-onto-itself, through the
same wiring as the uploads (pages bucket -> SNS -> the OCR function; results
bucket -> the indexer).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET
from tests.reliability.conftest import Notifications
from tests.reliability.support import (
    encode,
    failure_records,
    invoke_indexer,
    invoke_ocr,
    real_page,
    small_good_page,
    words,
)

pytestmark = pytest.mark.integration


def _slow_tesseract(tmp_path: Path, tesseract: str) -> str:
    script = tmp_path / "slow-tesseract"
    script.write_text(f'#!/bin/sh\ncase "$1" in --version) ;; *) sleep 30 ;; esac\nexec {tesseract} "$@"\n')
    script.chmod(0o755)
    return str(script)


def _names(events: list[dict[str, Any]]) -> list[str]:
    names = []
    for event in events:
        for record in event["Records"]:
            inner = json.loads(record["Sns"]["Message"])["Records"] if "Sns" in record else [record]
            names += [r["eventName"] for r in inner]
    return names


def test_an_ocr_failure_is_redriven_and_then_succeeds(
    s3: Any,
    tesseract: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    notifications: Callable[[str], Notifications],
) -> None:
    """A page timed out on a busy machine; the operator gives Tesseract more time and re-drives it."""
    from lib.redrive import REDRIVE_METADATA, redrive_all

    emitted = notifications("aws")
    data = encode(real_page(), "PNG", dpi=(200, 200))
    s3.put_object(
        Bucket=PAGES_BUCKET,
        Key="redrive/0001.png",
        Body=data,
        ContentType="image/png",
        Metadata={"scanner": "book-eye-4"},
    )
    monkeypatch.setenv("TESSERACT_CMD", _slow_tesseract(tmp_path, tesseract))
    monkeypatch.setenv("TESSERACT_TIMEOUT", "1")
    [upload] = emitted.ocr_events()
    assert invoke_ocr(upload)["pages"][0]["status"] == "failed"
    [record] = failure_records(s3)
    assert "timed out" in record["reason"]
    before = s3.head_object(Bucket=PAGES_BUCKET, Key="redrive/0001.png")

    monkeypatch.delenv("TESSERACT_CMD")
    monkeypatch.setenv("TESSERACT_TIMEOUT", "60")
    [result] = redrive_all(RESULTS_BUCKET)

    assert (result.status, result.stage, result.key) == ("redriven", "ocr", "redrive/0001.png")
    after = s3.head_object(Bucket=PAGES_BUCKET, Key="redrive/0001.png")
    assert after["ETag"] == before["ETag"] and after["ContentType"] == "image/png"
    assert after["Metadata"]["scanner"] == "book-eye-4" and REDRIVE_METADATA in after["Metadata"]
    redelivered = emitted.ocr_events()
    assert _names(redelivered) == ["ObjectCreated:Copy"]
    assert [p["status"] for e in redelivered for p in invoke_ocr(e)["pages"]] == ["ocr"]
    assert failure_records(s3) == [], "the success cleared the record"
    document = json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key="redrive/0001.json")["Body"].read())
    assert {"quick", "brown", "dog"} <= set(words(document))


def test_an_index_failure_is_redriven_and_then_succeeds(
    s3: Any,
    settings: Any,
    tesseract: str,
    monkeypatch: pytest.MonkeyPatch,
    notifications: Callable[[str], Notifications],
) -> None:
    """The page JSON was over a (too low) size limit; the limit is raised and the record re-driven."""
    from lib.redrive import redrive_all

    emitted = notifications("aws")
    s3.put_object(Bucket=PAGES_BUCKET, Key="redrive/0002.png", Body=small_good_page())
    [upload] = emitted.ocr_events()
    assert invoke_ocr(upload)["pages"][0]["status"] == "ocr"
    [written] = emitted.index_events()
    monkeypatch.setenv("MAX_PAGE_JSON_BYTES", "100")
    assert invoke_indexer(written)["pages"][0]["status"] == "failed"
    [record] = failure_records(s3)
    assert record["stage"] == "index" and record["source"] == {"bucket": RESULTS_BUCKET, "key": "redrive/0002.json"}
    stamp = s3.head_object(Bucket=RESULTS_BUCKET, Key="redrive/0002.json")["Metadata"]

    monkeypatch.delenv("MAX_PAGE_JSON_BYTES")
    [result] = redrive_all(RESULTS_BUCKET, stage="index")

    assert result.status == "redriven"
    kept = s3.head_object(Bucket=RESULTS_BUCKET, Key="redrive/0002.json")
    assert {k: v for k, v in kept["Metadata"].items() if k != "pagesearch-redrive"} == stamp, "the OCR stamp survives"
    assert kept["ContentType"] == "application/json"
    assert emitted.ocr_events() == [], "a page JSON re-driven does not reach the OCR function"
    redelivered = emitted.index_events()
    assert _names(redelivered) == ["ObjectCreated:Copy"]
    assert [p["status"] for e in redelivered for p in invoke_indexer(e)["pages"]] == ["indexed"]
    assert failure_records(s3) == []


def test_what_cannot_or_need_not_be_redriven(
    s3: Any, tesseract: str, notifications: Callable[[str], Notifications]
) -> None:
    from lib.redrive import redrive_all

    emitted = notifications("aws")
    invoke_ocr({"Records": [{"eventSource": "aws:sqs"}]})  # a malformed message: no object
    s3.put_object(Bucket=PAGES_BUCKET, Key="redrive/0003.png", Body=b"not an image at all")
    s3.put_object(Bucket=PAGES_BUCKET, Key="redrive/0042.jpg", Body=b"%PDF-1.4 not an image either")
    for event in emitted.ocr_events():
        invoke_ocr(event)
    s3.delete_object(Bucket=PAGES_BUCKET, Key="redrive/0003.png")  # gone since (its removal event not delivered)
    emitted.ocr_events()
    # A re-scan of page 0042 as PNG succeeded after the JPEG failed.
    s3.put_object(Bucket=PAGES_BUCKET, Key="redrive/0042.png", Body=small_good_page())
    [rescan] = emitted.ocr_events()
    assert invoke_ocr(rescan)["pages"][0]["status"] == "ocr"
    assert len(failure_records(s3)) == 3

    dry = {r.key: r.status for r in redrive_all(RESULTS_BUCKET, dry_run=True)}
    results = {r.key: r.status for r in redrive_all(RESULTS_BUCKET)}

    events_key = next(k for k in results if k.startswith("events/"))
    assert results == {events_key: "not-redrivable", "redrive/0003.png": "missing", "redrive/0042.jpg": "superseded"}
    assert dry == results
    assert emitted.ocr_events() == [], "nothing was re-announced"
    assert len(failure_records(s3)) == 3, "records stay until their object succeeds"
