"""Settings: defaults that work, and limits that agree with serverless.yml."""

from __future__ import annotations

import pytest
import yaml

from lib.settings import ConfigError, Settings
from tests.conftest import ROOT


def test_a_dense_newspaper_page_fits_the_time_limits() -> None:
    """#14, 9: a 5000 x 7000 page of 14,000 words timed out at 240 s. Measured here: a 35 MP page of 12,891
    words takes 372 s of Tesseract on one thread (docs/reliability.md), so the limits must leave room for it."""
    config = yaml.safe_load((ROOT / "serverless.yml").read_text())
    ocr = config["functions"]["ocr"]
    measured_dense_page_s = 372
    assert Settings.from_env().tesseract_timeout == int(ocr["environment"]["TESSERACT_TIMEOUT"]) == 840
    assert measured_dense_page_s * 2 < 840 < int(ocr["timeout"]) <= 900


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_a_setting_that_is_not_a_number_names_itself(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MAX_IMAGE_FRAMES", value)
    with pytest.raises(ConfigError, match=f"MAX_IMAGE_FRAMES={value!r} is not a whole number"):
        Settings.from_env()


def test_page_geometry_settings_default_on_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = Settings.from_env()
    assert (shipped.ocr_rotate, shipped.ocr_min_deskew, shipped.ocr_max_dpi) == (True, 1.0, 400)
    assert shipped.ocr_bilevel_scale == pytest.approx(2 / 3)
    assert shipped.tesseract_variables == ()
    monkeypatch.setenv("OCR_ROTATE", "off")
    monkeypatch.setenv("OCR_DESKEW_MIN", "0")
    monkeypatch.setenv("OCR_MAX_DPI", "0")
    off = Settings.from_env()
    assert (off.ocr_rotate, off.ocr_min_deskew, off.ocr_max_dpi) == (False, 0.0, 0)


@pytest.mark.parametrize(
    ("name", "value"), [("OCR_ROTATE", "sometimes"), ("OCR_DESKEW_MIN", "7"), ("OCR_DESKEW_MIN", "nan")]
)
def test_a_bad_geometry_setting_names_itself(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}={value!r}"):
        Settings.from_env()
