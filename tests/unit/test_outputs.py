"""ALTO and hOCR rendered from the page model (pure), their keys, and the OUTPUTS setting."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from lib.keys import MAX_KEY_BYTES, OUTPUT_SUFFIXES, RESULT_SUFFIX, PageRef, output_tag
from lib.outputs import alto, hocr
from lib.page_json import build_page_json
from lib.settings import ConfigError, Settings
from tests.standards import assert_valid_alto, assert_valid_hocr

ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"


def page(lines: list[list[tuple[str, float]]], *, page: str = "0042", key: str = "b/0042.tif") -> dict[str, Any]:
    """A page JSON of one block and one paragraph; each line's words 40 px apart."""
    line_docs = []
    for n, words in enumerate(lines):
        top = 10 + 30 * n
        word_docs = [
            {"text": text, "bbox": [10 + 50 * i, top, 40 + 50 * i, top + 20], "conf": conf}
            for i, (text, conf) in enumerate(words)
        ]
        line_docs.append(
            {
                "bbox": [10, top, word_docs[-1]["bbox"][2], top + 20],
                "text": " ".join(t for t, _ in words),
                "conf": 90.0,
                "words": word_docs,
            }
        )
    blocks = []
    if line_docs:
        box = [10, 10, max(ln["bbox"][2] for ln in line_docs), line_docs[-1]["bbox"][3]]
        blocks = [{"bbox": box, "paragraphs": [{"bbox": box, "lines": line_docs}]}]
    return build_page_json(
        book="b",
        page=page,
        page_number=int(page) if page.isdigit() else None,
        source={"bucket": "pages", "key": key, "etag": "abc"},
        image={"width": 1000, "height": 800, "dpi": 300, "dpi_from_file": True, "format": "TIFF", "frames": 1},
        ocr={"engine": "tesseract 5.3.0", "lang": "eng", "psm": 3, "duration_ms": 1},
        blocks=blocks,
    )


def test_a_page_renders_as_valid_alto_4_with_its_words_boxes_and_confidences() -> None:
    document = page([[("Call", 96.5), ("me", 91.0)], [("Ishmael.", 100.0)]])
    root = assert_valid_alto(alto.render(document), document)
    strings = list(root.iter(f"{ALTO}String"))
    assert [s.get("WC") for s in strings] == ["0.965", "0.91", "1"]
    assert root.find(f"{ALTO}Layout/{ALTO}Page").get("PHYSICAL_IMG_NR") == "42"
    assert root.findtext(f"{ALTO}Description/{ALTO}sourceImageInformation/{ALTO}fileName") == "b/0042.tif"
    software = root.find(f"{ALTO}Description/{ALTO}Processing/{ALTO}processingSoftware")
    assert [e.text for e in software] == ["tesseract", "5.3.0"]


def test_a_page_renders_as_hocr_with_the_required_classes() -> None:
    document = page([[("Call", 96.5), ("me", 91.0)], [("Ishmael.", 100.0)]])
    root = assert_valid_hocr(hocr.render(document), document)
    [page_div] = [e for e in root.iter() if e.get("class") == "ocr_page"]
    assert page_div.get("title") == 'image "b/0042.tif"; bbox 0 0 1000 800; ppageno 0; scan_res 300 300'
    words = [e.get("title") for e in root.iter() if e.get("class") == "ocrx_word"]
    assert words[0] == "bbox 10 10 40 30; x_wconf 96"


def test_an_empty_page_is_valid_too() -> None:
    document = page([], page="cover")
    root = assert_valid_alto(alto.render(document), document)
    assert root.find(f"{ALTO}Layout/{ALTO}Page").get("PHYSICAL_IMG_NR") == "1"
    assert_valid_hocr(hocr.render(document), document)


def test_text_xml_cannot_hold_is_escaped_or_dropped_never_breaking_the_file() -> None:
    """Markup characters are escaped; control characters, which no XML 1.0 parser accepts, are dropped."""
    hostile = [("<b>&amp;", 90.0), ('"quoted"', 90.0), ("tab\there", 90.0), ("bell\x07", 90.0), ("\U0001f40b", 90.0)]
    document = page([hostile], key='b/"odd" \\ name\x01.tif')
    words = [w for w, _ in hostile]
    kept = [w.replace("\x07", "") for w in words]
    root = ET.fromstring(alto.render(document))
    assert [s.get("CONTENT") for s in root.iter(f"{ALTO}String")] == kept
    from tests.standards import alto_schema

    alto_schema().validate(alto.render(document).decode())
    tree = ET.fromstring(hocr.render(document))
    assert ["".join(e.itertext()) for e in tree.iter() if e.get("class") == "ocrx_word"] == kept
    [page_div] = [e for e in tree.iter() if e.get("class") == "ocr_page"]
    assert page_div.get("title").startswith('image "b/\\"odd\\" \\\\ name.tif"; bbox')


def test_output_keys_sit_beside_the_page_json_and_never_reach_the_indexer() -> None:
    ref = PageRef("moby-dick", "0042")
    tag = output_tag("moby-dick/0042.tif", "d41d8cd98f00b204e9800998ecf8427e")
    keys = {name: ref.output_key(name, tag) for name in OUTPUT_SUFFIXES}
    assert keys == {
        "alto": f"moby-dick/0042.{tag}.alto.xml",
        "hocr": f"moby-dick/0042.{tag}.hocr",
        "pdf": f"moby-dick/0042.{tag}.pdf",
    }
    assert not any(key.lower().endswith(RESULT_SUFFIX) for key in keys.values())
    # Two sources of one page with the same bytes (a re-scan saved twice) never share outputs.
    assert output_tag("moby-dick/0042.jpg", "same") != output_tag("moby-dick/0042.png", "same")


def test_an_output_key_past_s3s_limit_is_shortened() -> None:
    ref = PageRef("long", "p" * (MAX_KEY_BYTES - len("long/") - len(RESULT_SUFFIX)))
    assert len(ref.result_key.encode()) == MAX_KEY_BYTES
    keys = {ref.output_key(name, "0123456789abcdef") for name in OUTPUT_SUFFIXES}
    assert len(keys) == 3 and all(len(k.encode()) <= MAX_KEY_BYTES for k in keys)


@pytest.mark.parametrize(
    ("value", "outputs"),
    [
        (None, ("alto", "hocr")),
        ("", ()),
        ("none", ()),
        ("pdf", ("pdf",)),
        ("PDF, alto,hocr,", ("alto", "hocr", "pdf")),
        ("hocr,hocr", ("hocr",)),
    ],
)
def test_outputs_setting(monkeypatch: pytest.MonkeyPatch, value: str | None, outputs: tuple[str, ...]) -> None:
    if value is None:
        monkeypatch.delenv("OUTPUTS", raising=False)
    else:
        monkeypatch.setenv("OUTPUTS", value)
    assert Settings.from_env().outputs == outputs


@pytest.mark.parametrize("value", ["alto,txt", "xml", "none,pdf"])
def test_an_unknown_output_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OUTPUTS", value)
    with pytest.raises(ConfigError, match=r"OUTPUTS=.*unknown output"):
        Settings.from_env()


def test_the_stage_parameter_reaches_the_ocr_function_with_the_same_default() -> None:
    import yaml

    from lib.settings import DEFAULT_OUTPUTS
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "serverless.yml").read_text())
    assert config["functions"]["ocr"]["environment"]["OUTPUTS"] == "${param:ocrOutputs}"
    assert config["params"]["default"]["ocrOutputs"] == "${env:OUTPUTS, '" + ",".join(DEFAULT_OUTPUTS) + "'}"
