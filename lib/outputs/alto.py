"""ALTO 4.4 (Library of Congress, https://www.loc.gov/standards/alto/) of one page, rendered from its page JSON.

Rendered from the model rather than taken from Tesseract: Tesseract 5.3's
``alto`` renderer writes ALTO v3. The structure is Tesseract's own mapping
(its blocks are ``ComposedBlock``, its paragraphs ``TextBlock``), with
``String`` per word (``WC``: confidence 0-1) and ``SP`` between words, so
ALTO readers that join strings by their spaces get the page JSON's line text.
Positions are ``pixel`` units of the image as displayed, the boxes of the
page JSON as they are; nothing is added that the page JSON does not hold.
Validated against the ALTO 4.4 XSD in the tests (tests/fixtures/alto-4-4.xsd).
"""

from __future__ import annotations

from typing import Any

from lib.outputs.markup import attribute, text

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA_LOCATION = "http://www.loc.gov/alto/v4/alto-4-4.xsd"
SCHEMA_VERSION = "4.4"
CONTENT_TYPE = "application/xml"


def _box(bbox: list[int]) -> str:
    left, top, right, bottom = bbox
    return f'HPOS="{left}" VPOS="{top}" WIDTH="{right - left}" HEIGHT="{bottom - top}"'


def _confidence(conf: float) -> str:
    # ALTO's WC is 0-1; the page JSON's confidences are 0-100 with two decimals.
    return f"{conf / 100:.4f}".rstrip("0").rstrip(".") if conf < 100 else "1"


def _description(document: dict[str, Any]) -> list[str]:
    engine = document["ocr"]["engine"]
    name, _, version = engine.partition(" ")
    ocr = document["ocr"]
    # A text page of a PDF (lib.split) ran no Tesseract: no language or page segmentation to name.
    settings = " ".join(f"{k}={ocr[k]}" for k in ("lang", "psm") if k in ocr) + f" dpi={document['image']['dpi']}"
    return [
        "<Description>",
        "<MeasurementUnit>pixel</MeasurementUnit>",
        f"<sourceImageInformation><fileName>{text(document['source']['key'])}</fileName></sourceImageInformation>",
        '<Processing ID="ocr_1">',
        "<processingCategory>contentGeneration</processingCategory>",
        f"<processingStepSettings>{text(settings)}</processingStepSettings>",
        f"<processingSoftware><softwareName>{text(name)}</softwareName>"
        f"<softwareVersion>{text(version)}</softwareVersion></processingSoftware>",
        "</Processing>",
        "</Description>",
    ]


def _line(line: dict[str, Any], ids: dict[str, int], out: list[str]) -> None:
    ids["line"] += 1
    out.append(f'<TextLine ID="line_{ids["line"]}" {_box(line["bbox"])}>')
    previous: list[int] | None = None
    for word in line["words"]:
        bbox = word["bbox"]
        if previous is not None:
            # The gap between two words; overlapping boxes (italics, kerning) give a zero-width space.
            gap = max(0, bbox[0] - previous[2])
            out.append(f'<SP WIDTH="{gap}" HPOS="{previous[2]}" VPOS="{line["bbox"][1]}"/>')
        ids["string"] += 1
        out.append(
            f'<String ID="string_{ids["string"]}" {_box(bbox)} WC="{_confidence(word["conf"])}" '
            f'CONTENT="{attribute(word["text"])}"/>'
        )
        previous = bbox
    out.append("</TextLine>")


def render(document: dict[str, Any]) -> bytes:
    """The page's ALTO 4.4 document, UTF-8."""
    image = document["image"]
    width, height = image["width"], image["height"]
    # PHYSICAL_IMG_NR is required: the page's number when it has one, else 1 (one page per file).
    number = document["page_number"] if document.get("page_number") is not None else 1
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<alto xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{NAMESPACE} {SCHEMA_LOCATION}" SCHEMAVERSION="{SCHEMA_VERSION}">',
        *_description(document),
        "<Layout>",
        f'<Page ID="page_1" PHYSICAL_IMG_NR="{number}" WIDTH="{width}" HEIGHT="{height}" PROCESSING="ocr_1">',
        f'<PrintSpace HPOS="0" VPOS="0" WIDTH="{width}" HEIGHT="{height}">',
    ]
    ids = {"cblock": 0, "block": 0, "line": 0, "string": 0}
    for block in document["blocks"]:
        ids["cblock"] += 1
        out.append(f'<ComposedBlock ID="cblock_{ids["cblock"]}" {_box(block["bbox"])}>')
        for paragraph in block["paragraphs"]:
            ids["block"] += 1
            out.append(f'<TextBlock ID="block_{ids["block"]}" {_box(paragraph["bbox"])}>')
            for line in paragraph["lines"]:
                _line(line, ids, out)
            out.append("</TextBlock>")
        out.append("</ComposedBlock>")
    out += ["</PrintSpace>", "</Page>", "</Layout>", "</alto>", ""]
    return "\n".join(out).encode()
