"""Checks of the standard outputs against their standards, shared by the unit, integration and export tests.

- ALTO: validated by xmlschema against the ALTO 4.4 XSD kept in tests/fixtures
  (the XLink schema it imports is mapped to the local copy, so nothing is fetched).
- hOCR: parsed as XML (well-formed), the classes the hOCR 1.2 spec requires
  for what we claim (``ocr-capabilities``), properly nested, ``title="bbox ..."``
  on every element, and the words and boxes of the page JSON in order.
- PDF: its text layer extracted again with pypdfium2 (PDFium), to compare with the page JSON's text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

from lib.page_json import iter_lines
from tests.conftest import FIXTURES

XHTML = "{http://www.w3.org/1999/xhtml}"
# What each hOCR class must sit in (hOCR 1.2: typesetting and content areas).
HOCR_PARENT = {"ocr_carea": "ocr_page", "ocr_par": "ocr_carea", "ocr_line": "ocr_par", "ocrx_word": "ocr_line"}
_BBOX = re.compile(r"(?:^|;\s*)bbox (\d+) (\d+) (\d+) (\d+)(?:;|$)")


@lru_cache(maxsize=1)
def alto_schema() -> Any:
    """ALTO 4.4's XSD, built once per session (about 2 s)."""
    import xmlschema

    return xmlschema.XMLSchema10(
        str(FIXTURES / "alto-4-4.xsd"),
        locations=[("http://www.w3.org/1999/xlink", str(FIXTURES / "xlink.xsd"))],
        allow="local",  # never the network: the XSD's own import points at loc.gov
    )


def page_words(document: dict[str, Any]) -> list[tuple[str, list[int]]]:
    return [(w["text"], w["bbox"]) for _, _, line in iter_lines(document["blocks"]) for w in line["words"]]


def assert_valid_alto(data: bytes, document: dict[str, Any]) -> ET.Element:
    """Valid ALTO 4.4 whose strings are the page JSON's words, boxes and confidences."""
    alto_schema().validate(data.decode())
    root = ET.fromstring(data)
    ns = "{http://www.loc.gov/standards/alto/ns-v4#}"
    page = root.find(f"{ns}Layout/{ns}Page")
    assert page is not None
    assert (float(page.get("WIDTH", 0)), float(page.get("HEIGHT", 0))) == (
        document["image"]["width"],
        document["image"]["height"],
    )
    strings = [
        (s.get("CONTENT"), [int(s.get(k, -1)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")])
        for s in root.iter(f"{ns}String")
    ]
    expected = [(text, [b[0], b[1], b[2] - b[0], b[3] - b[1]]) for text, b in page_words(document)]
    assert strings == expected
    lines = [line["text"] for _, _, line in iter_lines(document["blocks"])]
    alto_lines = [
        "".join(" " if child.tag == f"{ns}SP" else child.get("CONTENT", "") for child in line)
        for line in root.iter(f"{ns}TextLine")
    ]
    assert alto_lines == lines
    return root


def _bbox(element: ET.Element) -> list[int]:
    match = _BBOX.search(element.get("title", ""))
    assert match, f"{element.get('class')} {element.get('id')} has no bbox in its title: {element.get('title')!r}"
    left, top, right, bottom = (int(v) for v in match.groups())
    assert left <= right and top <= bottom, element.get("title")
    return [left, top, right, bottom]


def assert_valid_hocr(data: bytes, document: dict[str, Any]) -> ET.Element:
    """Well-formed hOCR with the required classes, nested as the spec says, a bbox on every element, our words."""
    root = ET.fromstring(data)  # raises on anything not well-formed
    assert root.tag == f"{XHTML}html"
    metas = {m.get("name"): m.get("content", "") for m in root.iter(f"{XHTML}meta") if m.get("name")}
    assert metas.get("ocr-system"), "hOCR requires the ocr-system meta"
    capabilities = set(metas.get("ocr-capabilities", "").split())
    parents: dict[ET.Element, ET.Element] = {child: parent for parent in root.iter() for child in parent}
    classed = [e for e in root.iter() if e.get("class", "").startswith(("ocr_", "ocrx_"))]
    pages = [e for e in classed if e.get("class") == "ocr_page"]
    assert len(pages) == 1, "one ocr_page per page file"
    width, height = document["image"]["width"], document["image"]["height"]
    assert _bbox(pages[0]) == [0, 0, width, height]
    for element in classed:
        kind = element.get("class", "")
        assert kind in capabilities, f"{kind} is used but not in ocr-capabilities {sorted(capabilities)}"
        box = _bbox(element)
        assert box[2] <= width and box[3] <= height, (kind, box)
        if kind in HOCR_PARENT:
            ancestor = parents.get(element)
            while ancestor is not None and not ancestor.get("class", "").startswith("ocr"):
                ancestor = parents.get(ancestor)
            assert ancestor is not None and ancestor.get("class") == HOCR_PARENT[kind], (kind, element.get("id"))
    ids = [e.get("id") for e in classed]
    assert all(ids) and len(set(ids)) == len(ids), "every element has an id, each once"
    words = [("".join(e.itertext()), _bbox(e)) for e in classed if e.get("class") == "ocrx_word"]
    assert words == page_words(document)
    return root


def pdf_pages_text(data: bytes) -> list[str]:
    """The text layer of each page of a PDF, as PDFium extracts it."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


def normalised(text: str) -> str:
    """Whitespace-normalised text: Tesseract's PDF renderer writes a line per line, PDFium adds \\r\\n and spaces."""
    return " ".join(text.split())


def assert_pdf_text_matches(extracted: str, document: dict[str, Any]) -> None:
    """The PDF's text layer, as PDFium extracts it, is the page JSON's text, allowing for PDFium's reading.

    What differs is PDFium's extraction, not Tesseract's renderer (whose text
    objects hold the page JSON's words in its order, a word each):

    - a hyphen ending a line comes back as U+FFFE, PDFium's mark of a word
      broken across lines (``Queens\\ufffetown`` for ``Queens-`` / ``town``);
    - text that shares a baseline is read left to right, so a block beside
      another on the same line (a margin word by a heading) can come before
      or after it. Hence every line of the page JSON must appear whole, and
      every word exactly as often, but the lines' order is not compared;
    - words whose boxes overlap (a speck read as ``j`` on the next word) have
      no left-to-right order, and PDFium may give them in either. Hence a line
      must appear as one unbroken run of the extracted words, in any order.
    """
    got = normalised(extracted.replace("\ufffe", "- ")).split()
    assert sorted(got) == sorted(normalised(document["text"]).split())
    for _, _, line in iter_lines(document["blocks"]):
        words = sorted(normalised(line["text"]).split())
        runs = (sorted(got[i : i + len(words)]) for i in range(len(got) - len(words) + 1))
        assert words in runs, line["text"]
