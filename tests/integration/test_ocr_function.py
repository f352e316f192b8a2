"""The OCR function against moto's S3 with real pages and the real Tesseract."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pagesearch import lambda_local
from pagesearch.text_metrics import cer
from tests.conftest import (
    PAGES_BUCKET,
    RESULTS_BUCKET,
    ROOT,
    SAMPLES,
    evaluation_pages,
    ground_truth,
    s3_event,
    sns_event,
)

pytestmark = pytest.mark.integration
SCHEMA = json.loads((ROOT / "schema" / "page.schema.json").read_text())


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_local.invoke("ocr", event, stage="test")


def upload(s3: Any, key: str, data: bytes) -> dict[str, Any]:
    response = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=data)
    return s3_event(PAGES_BUCKET, key, etag=response["ETag"].strip('"'), size=len(data))


def result(s3: Any, key: str) -> dict[str, Any]:
    obj = s3.get_object(Bucket=RESULTS_BUCKET, Key=key)
    assert obj["ContentType"] == "application/json"
    return json.loads(obj["Body"].read())


def failures(s3: Any) -> list[dict[str, Any]]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="failed/").get("Contents", [])]
    return [json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=k)["Body"].read()) | {"_key": k} for k in keys]


def test_sample_page_becomes_a_valid_page_json(s3: Any, tesseract: str) -> None:
    import jsonschema

    record = upload(s3, "moby-dick/0042.tif", (SAMPLES / "phototest.tif").read_bytes())
    summary = invoke(sns_event(record))
    assert summary["pages"][0]["status"] == "ocr"
    page = result(s3, "moby-dick/0042.json")
    jsonschema.validate(page, SCHEMA)
    assert (page["book"], page["page"], page["page_number"]) == ("moby-dick", "0042", 42)
    assert page["source"]["key"] == "moby-dick/0042.tif" and page["source"]["etag"]
    assert page["ocr"]["engine"].startswith("tesseract 5") and page["ocr"]["lang"] == "eng"
    assert "quick brown dog" in page["text"]
    width, height = page["image"]["width"], page["image"]["height"]
    for block in page["blocks"]:
        for paragraph in block["paragraphs"]:
            for line in paragraph["lines"]:
                assert line["words"]
                for word in line["words"]:
                    left, top, right, bottom = word["bbox"]
                    assert 0 <= left <= right <= width and 0 <= top <= bottom <= height
                    assert word["text"].strip() and 0 <= word["conf"] <= 100


@pytest.mark.slow
@pytest.mark.parametrize("image", evaluation_pages(), ids=lambda p: p.name)
def test_text_is_as_good_as_plain_tesseract(image: Path, s3: Any, tesseract: str) -> None:
    """CER of our page text <= 1.2 x that of `tesseract IMAGE stdout` (the 1-dpi TIFFs included)."""
    import jsonschema

    record = upload(s3, f"eval/{image.stem}{image.suffix}", image.read_bytes())
    invoke(sns_event(record))
    page = result(s3, f"eval/{image.stem}.json")
    jsonschema.validate(page, SCHEMA)
    plain = subprocess.run(
        [tesseract, str(image), "stdout"],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    ).stdout
    truth = ground_truth(image)
    ours, theirs = cer(page["text"], truth), cer(plain, truth)
    assert ours <= 1.2 * theirs + 0.002, f"CER {ours:.3%} vs plain tesseract {theirs:.3%}"
    for _, _, line in _lines(page):
        for word in line["words"]:
            assert word["bbox"][2] <= page["image"]["width"] and word["bbox"][3] <= page["image"]["height"]


def _lines(page: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    from lib.page_json import iter_lines

    return list(iter_lines(page["blocks"]))


def test_several_records_and_an_encoded_key(s3: Any, tesseract: str) -> None:
    data = (SAMPLES / "phototest.tif").read_bytes()
    records = [upload(s3, "Livre d'heures + notes/Café 0001.tif", data), upload(s3, "b/0002.tif", data)]
    summary = invoke(sns_event(*records))
    assert [p["status"] for p in summary["pages"]] == ["ocr", "ocr"]
    page = result(s3, "Livre d'heures + notes/Café 0001.json")
    assert page["book"] == "Livre d'heures + notes" and page["page"] == "Café 0001"
    assert result(s3, "b/0002.json")["page_number"] == 2


def test_test_event_is_acknowledged_without_a_record(s3: Any) -> None:
    event = json.loads((ROOT / "events" / "ocr-test-event.json").read_text())
    assert invoke(event) == {"records": 0, "pages": []}
    assert failures(s3) == []


def test_duplicate_delivery_runs_tesseract_once(s3: Any, tesseract: str) -> None:
    record = upload(s3, "b/0001.tif", (SAMPLES / "phototest.tif").read_bytes())
    first = invoke(sns_event(record))
    etag = s3.head_object(Bucket=RESULTS_BUCKET, Key="b/0001.json")["ETag"]
    again = invoke(sns_event(record))
    assert first["pages"][0]["status"] == "ocr"
    assert again["pages"][0]["status"] == "skipped" and "duplicate" in again["pages"][0]["detail"]
    assert s3.head_object(Bucket=RESULTS_BUCKET, Key="b/0001.json")["ETag"] == etag


def test_rescan_newer_upload_wins_and_older_event_never_overwrites(s3: Any, tesseract: str) -> None:
    jpg = upload(s3, "b/0042.jpg", _jpeg_of(SAMPLES / "phototest.tif"))
    jpg["eventTime"] = "2026-11-25T09:00:00.000Z"
    png = upload(s3, "b/0042.png", _png_of(SAMPLES / "eurotext.tif"))
    png["eventTime"] = "2026-11-25T09:00:05.000Z"
    invoke(sns_event(png))
    late = invoke(sns_event(jpg))  # the older upload's event arrives last
    assert late["pages"][0]["status"] == "skipped" and "stale" in late["pages"][0]["detail"]
    assert result(s3, "b/0042.json")["source"]["key"] == "b/0042.png"


def test_deleting_the_image_deletes_its_json_but_not_a_rescans(s3: Any, tesseract: str) -> None:
    record = upload(s3, "b/0007.tif", (SAMPLES / "phototest.tif").read_bytes())
    invoke(sns_event(record))
    other = s3_event(PAGES_BUCKET, "b/0007.png", name="ObjectRemoved:Delete", event_time="2026-11-25T09:10:00.000Z")
    assert invoke(sns_event(other))["pages"][0]["status"] == "skipped"
    removal = s3_event(
        PAGES_BUCKET,
        "b/0007.tif",
        name="ObjectRemoved:Delete",
        sequencer="0062A1B2C3D4E5F6FF",
        event_time="2026-11-25T09:10:00.000Z",
    )
    s3.delete_object(Bucket=PAGES_BUCKET, Key="b/0007.tif")
    assert invoke(sns_event(removal))["pages"][0]["status"] == "deleted"
    assert "Contents" not in s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="b/0007")


def test_bad_content_gets_a_failure_record_and_the_others_go_on(s3: Any, tesseract: str) -> None:
    good = upload(s3, "b/0001.tif", (SAMPLES / "phototest.tif").read_bytes())
    corrupt = upload(s3, "b/0002.jpg", b"\xff\xd8\xff\xe0 this is not really a jpeg")
    pdf = upload(s3, "b/0003.png", b"%PDF-1.4 a pdf under an image name")
    no_book = upload(s3, "0004.png", b"whatever")
    summary = invoke(sns_event(corrupt, pdf, no_book, good))
    assert [p["status"] for p in summary["pages"]] == ["failed", "failed", "failed", "ocr"]
    records = {r["source"]["key"]: r for r in failures(s3)}
    assert set(records) == {"b/0002.jpg", "b/0003.png", "0004.png"}
    assert "PDF" in records["b/0003.png"]["reason"] and records["b/0003.png"]["book"] == "b"
    assert all(not r["_key"].endswith(".json") and r["time"] for r in records.values())
    # A later good upload of the same key clears its failure record.
    fixed = upload(s3, "b/0002.jpg", _jpeg_of(SAMPLES / "phototest.tif"))
    fixed["eventTime"] = "2026-11-25T09:30:00.000Z"
    assert invoke(sns_event(fixed))["pages"][0]["status"] == "ocr"
    assert "b/0002.jpg" not in {r["source"]["key"] for r in failures(s3)}


def test_object_deleted_before_it_is_read_is_skipped(s3: Any) -> None:
    record = s3_event(PAGES_BUCKET, "b/gone.png")
    summary = invoke(sns_event(record))
    assert summary["pages"][0]["status"] == "skipped" and failures(s3) == []


def test_sns_message_that_is_not_json_is_recorded(s3: Any) -> None:
    summary = invoke(sns_event(message="definitely { not json"))
    assert summary["pages"][0]["status"] == "failed"
    [record] = failures(s3)
    assert "not JSON" in record["reason"]


def test_s3_outage_raises_so_lambda_retries(s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.outcome import RetryableFailure

    monkeypatch.setenv("PAGES_BUCKET", "bucket-that-does-not-exist")
    record = s3_event("bucket-that-does-not-exist", "b/0001.png")
    with pytest.raises(RetryableFailure):
        invoke(sns_event(record))


def _jpeg_of(path: Path) -> bytes:
    out = io.BytesIO()
    Image.open(path).convert("RGB").save(out, format="JPEG", quality=92)
    return out.getvalue()


def _png_of(path: Path) -> bytes:
    out = io.BytesIO()
    Image.open(path).save(out, format="PNG")
    return out.getvalue()


def test_tesseract_runs_with_one_thread_unless_configured(
    s3: Any, tesseract: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OMP_THREAD_LIMIT has one home (lib.settings): unset, Tesseract still gets one thread."""
    seen = tmp_path / "threads.log"
    wrapper = tmp_path / "tesseract"
    wrapper.write_text(f'#!/bin/sh\necho "${{OMP_THREAD_LIMIT-unset}}" >> {seen}\nexec {tesseract} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("TESSERACT_CMD", str(wrapper))
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    data = (SAMPLES / "phototest.tif").read_bytes()
    assert invoke(sns_event(upload(s3, "threads/0001.tif", data)))["pages"][0]["status"] == "ocr"
    monkeypatch.setenv("OMP_THREAD_LIMIT", "2")
    assert invoke(sns_event(upload(s3, "threads/0002.tif", data)))["pages"][0]["status"] == "ocr"
    # The first line is `tesseract --version`, once per container and binary.
    assert seen.read_text().split()[-2:] == ["1", "2"]


def test_a_bad_setting_is_a_configuration_error_naming_it(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.settings import ConfigError

    monkeypatch.setenv("TESSERACT_PSM", "7x")
    with pytest.raises(ConfigError, match="TESSERACT_PSM='7x' is not one of 1, 3, 4, 6, 11, 12"):
        invoke(sns_event(upload(s3, "b/0001.tif", b"irrelevant")))


def test_a_tiff_page_gets_an_image_browsers_show_and_loses_it_with_the_page(s3: Any, tesseract: str) -> None:
    """#9: browsers cannot show TIFF; the OCR function writes a PNG of the 1-bit scan once, beside the page JSON."""
    from PIL import Image

    record = upload(s3, "shown/0001.tif", (SAMPLES / "phototest.tif").read_bytes())
    assert invoke(sns_event(record))["pages"][0]["status"] == "ocr"
    page = result(s3, "shown/0001.json")
    shown = page["image"]["display"]
    image = s3.get_object(Bucket=RESULTS_BUCKET, Key=shown["key"])
    assert image["ContentType"] == "image/png" and shown["format"] == "PNG"
    with Image.open(io.BytesIO(image["Body"].read())) as png:
        assert png.size == (shown["width"], shown["height"]) == (page["image"]["width"], page["image"]["height"])
    # A JPEG is shown as it is: no second image.
    record = upload(s3, "shown/0002.jpg", _jpeg_of(SAMPLES / "phototest.tif"))
    invoke(sns_event(record))
    assert "display" not in result(s3, "shown/0002.json")["image"]
    # The page's removal takes its image along.
    s3.delete_object(Bucket=PAGES_BUCKET, Key="shown/0001.tif")
    removal = s3_event(PAGES_BUCKET, "shown/0001.tif", name="ObjectRemoved:Delete", sequencer="0062A1B2C3D4E5F6FF")
    assert invoke(sns_event(removal))["pages"][0]["status"] == "deleted"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="shown/").get("Contents", [])]
    assert sorted(keys) == sorted(["shown/0002.json", *result(s3, "shown/0002.json")["outputs"].values()])
