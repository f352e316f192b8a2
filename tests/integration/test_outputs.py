"""The standard outputs through the real OCR function (moto S3, real Tesseract), checked against their standards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pagesearch import lambda_local
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, s3_event, shared_pages_dir, sns_event
from tests.standards import assert_pdf_text_matches, assert_valid_alto, assert_valid_hocr, pdf_pages_text

pytestmark = pytest.mark.integration
PHOTOTEST = SAMPLES / "phototest.tif"
CONTENT_TYPES = {"alto": "application/xml", "hocr": "application/xhtml+xml", "pdf": "application/pdf"}


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_local.invoke("ocr", event, stage="test")


def upload(s3: Any, key: str, data: bytes, **event: Any) -> dict[str, Any]:
    response = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=data)
    return s3_event(PAGES_BUCKET, key, etag=response["ETag"].strip('"'), size=len(data), **event)


def ocr(s3: Any, key: str, data: bytes, **event: Any) -> dict[str, Any]:
    [outcome] = invoke(sns_event(upload(s3, key, data, **event)))["pages"]
    return outcome


def page_json(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read())


def results(s3: Any, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix=prefix).get("Contents", []))


def stored(s3: Any, key: str) -> tuple[bytes, str]:
    obj = s3.get_object(Bucket=RESULTS_BUCKET, Key=key)
    return obj["Body"].read(), obj["ContentType"]


def named(document: dict[str, Any]) -> list[str]:
    """Every object of the results bucket a page JSON stands for: itself, its browser image, its outputs."""
    shown = document["image"].get("display", {}).get("key")
    own = f"{document['book']}/{document['page']}.json"
    return sorted([own, *([shown] if shown else []), *document.get("outputs", {}).values()])


def assert_outputs(s3: Any, document: dict[str, Any], names: tuple[str, ...]) -> None:
    """The page JSON names exactly ``names``, each there with its content type and valid by its standard."""
    assert sorted(document.get("outputs", {})) == sorted(names)
    for name, key in document.get("outputs", {}).items():
        data, content_type = stored(s3, key)
        assert content_type == CONTENT_TYPES[name]
        if name == "alto":
            assert_valid_alto(data, document)
        elif name == "hocr":
            assert_valid_hocr(data, document)
        else:
            [text] = pdf_pages_text(data)
            assert_pdf_text_matches(text, document)


@pytest.mark.parametrize(
    ("setting", "names"),
    [(None, ("alto", "hocr")), ("alto,hocr,pdf", ("alto", "hocr", "pdf")), ("pdf", ("pdf",)), ("none", ())],
)
def test_the_outputs_the_setting_asks_for_are_written_beside_the_page_json(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch, setting: str | None, names: tuple[str, ...]
) -> None:
    if setting is None:
        monkeypatch.delenv("OUTPUTS", raising=False)
    else:
        monkeypatch.setenv("OUTPUTS", setting)
    assert ocr(s3, "book/0001.tif", PHOTOTEST.read_bytes())["status"] == "ocr"
    document = page_json(s3, "book/0001.json")
    assert_outputs(s3, document, names)
    assert results(s3) == named(document)
    assert all(key.startswith("book/0001.") for key in document.get("outputs", {}).values())
    if not names:
        assert "outputs" not in document


def _real_pages() -> list[Path]:
    base = shared_pages_dir()
    return sorted(p for p in base.rglob("*") if p.suffix.lower() in (".tif", ".tiff")) if base else []


@pytest.mark.parametrize("image", sorted(SAMPLES.glob("*.tif*")), ids=lambda p: p.name)
def test_real_pages_give_valid_alto_hocr_and_a_pdf_with_their_text(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch, image: Path
) -> None:
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    assert ocr(s3, f"samples/{image.stem}.tif", image.read_bytes())["status"] == "ocr"
    assert_outputs(s3, page_json(s3, f"samples/{image.stem}.json"), ("alto", "hocr", "pdf"))


@pytest.mark.slow
@pytest.mark.skipif(not _real_pages(), reason="no shared evaluation pages beside the repository")
@pytest.mark.parametrize("image", _real_pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_shared_pages_give_valid_outputs(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch, image: Path
) -> None:
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    assert ocr(s3, f"shared/{image.stem}.tif", image.read_bytes())["status"] == "ocr"
    assert_outputs(s3, page_json(s3, f"shared/{image.stem}.json"), ("alto", "hocr", "pdf"))


def test_a_failed_page_leaves_no_output(s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    assert ocr(s3, "book/0002.png", b"\x89PNG\r\n\x1a\n not really")["status"] == "failed"
    assert [k for k in results(s3) if not k.startswith("failed/")] == []


def test_outputs_go_with_the_page(s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    ocr(s3, "book/0003.tif", PHOTOTEST.read_bytes())
    assert len(results(s3, "book/")) == 5  # the page JSON, its browser image (a TIFF) and three outputs
    s3.delete_object(Bucket=PAGES_BUCKET, Key="book/0003.tif")
    removal = s3_event(PAGES_BUCKET, "book/0003.tif", name="ObjectRemoved:Delete", sequencer="0062A1B2C3D4E5F6FF")
    assert invoke(sns_event(removal))["pages"][0]["status"] == "deleted"
    assert results(s3) == []


def test_a_newer_version_replaces_the_outputs_of_the_old(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-scan under another suffix, with fewer outputs asked for: only the new version's remain."""
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    ocr(s3, "book/0004.tif", PHOTOTEST.read_bytes(), event_time="2026-11-25T09:00:00.000Z")
    old = page_json(s3, "book/0004.json")["outputs"]
    monkeypatch.setenv("OUTPUTS", "alto")
    eurotext = (SAMPLES / "eurotext.tif").read_bytes()
    assert ocr(s3, "book/0004.tiff", eurotext, event_time="2026-11-25T09:05:00.000Z")["status"] == "ocr"
    document = page_json(s3, "book/0004.json")
    assert document["source"]["key"] == "book/0004.tiff" and set(document["outputs"]) == {"alto"}
    assert document["outputs"]["alto"] != old["alto"]
    assert results(s3, "book/") == named(document)
    assert_outputs(s3, document, ("alto",))


def test_an_older_event_arriving_late_writes_no_outputs(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    ocr(s3, "book/0005.tiff", PHOTOTEST.read_bytes(), event_time="2026-11-25T09:05:00.000Z")
    before = results(s3, "book/")
    late = ocr(s3, "book/0005.tif", (SAMPLES / "eurotext.tif").read_bytes(), event_time="2026-11-25T09:00:00.000Z")
    assert late["status"] == "skipped"
    assert results(s3, "book/") == before


def test_a_concurrent_duplicate_that_loses_keeps_the_winners_outputs(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 may deliver one event twice at once: both OCR, both make the same keys, one page JSON write wins.

    The loser must not delete what the winner's page JSON names. Here the
    second delivery is made not to see the first's page JSON when it looks
    (as if both had looked at once), so it OCRs and then loses the write.
    """
    from lib import storage

    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    record = upload(s3, "book/0006.tif", PHOTOTEST.read_bytes())
    invoke(sns_event(record))
    document = page_json(s3, "book/0006.json")
    real_head, looked = storage.head, []

    def head_before_the_winner_wrote(bucket: str, key: str) -> Any:
        if key == "book/0006.json" and not looked:
            looked.append(key)
            return None
        return real_head(bucket, key)

    monkeypatch.setattr(storage, "head", head_before_the_winner_wrote)
    [again] = invoke(sns_event(record))["pages"]
    assert again["status"] == "skipped", again
    assert looked, "the second delivery never looked for the page JSON"
    assert_outputs(s3, document, ("alto", "hocr", "pdf"))


def test_one_tesseract_process_per_page_with_every_output(
    s3: Any, tesseract: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF comes from the page's one run, and ALTO and hOCR from its TSV: counted through a wrapper."""
    starts = tmp_path / "starts.log"
    wrapper = tmp_path / "tesseract"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {starts}\nexec {tesseract} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("TESSERACT_CMD", str(wrapper))
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    for n, image in enumerate(sorted(SAMPLES.glob("*.tif*")), 1):
        assert ocr(s3, f"count/{n:04}.tif", image.read_bytes())["status"] == "ocr"
        assert_outputs(s3, page_json(s3, f"count/{n:04}.json"), ("alto", "hocr", "pdf"))
    runs = [line for line in starts.read_text().splitlines() if "--version" not in line]
    assert len(runs) == 3, runs
    assert all("tessedit_create_pdf=1" in line and "tessedit_create_tsv=1" in line for line in runs)


def test_an_unknown_output_fails_the_invocation_naming_the_setting(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment's mistake, not the page's: no failure record, nothing written, Lambda retries."""
    from lib.settings import ConfigError

    monkeypatch.setenv("OUTPUTS", "alto,docx")
    with pytest.raises(ConfigError, match="OUTPUTS='alto,docx': unknown output 'docx'"):
        invoke(sns_event(upload(s3, "book/0007.tif", PHOTOTEST.read_bytes())))
    assert results(s3) == []
