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
