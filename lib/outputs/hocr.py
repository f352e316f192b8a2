"""hOCR 1.2 (http://kba.github.io/hocr-spec/1.2/) of one page, rendered from its page JSON.

Rendered from the model rather than written by Tesseract's ``hocr`` renderer
in the same run (docs/outputs.md has both measured): the words are exactly
the page JSON's, with its boxes, the ``image`` property names the uploaded
key rather than the private temporary file Tesseract read, and any page JSON
can be rendered again. XHTML, as Tesseract writes it: ``ocr_page`` >
``ocr_carea`` (a Tesseract block) > ``ocr_par`` > ``ocr_line`` >
``ocrx_word``, every element with ``bbox``, words with ``x_wconf`` (0-100).
"""

from __future__ import annotations

from typing import Any

from lib.outputs.markup import attribute, text

CONTENT_TYPE = "application/xhtml+xml"
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"


def _bbox(bbox: list[int]) -> str:
    return "bbox {} {} {} {}".format(*bbox)


def _quoted(value: str) -> str:
    """A string property value of a title (hOCR's delimited string: backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(document: dict[str, Any]) -> bytes:
    """The page's hOCR document (XHTML), UTF-8."""
    image = document["image"]
    dpi = image["dpi"]
    page_title = (
        f"image {_quoted(document['source']['key'])}; bbox 0 0 {image['width']} {image['height']}; "
        f"ppageno 0; scan_res {dpi} {dpi}"
    )
    title = text(f"{document['book']} {document['page']}")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        f"<title>{title}</title>",
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f'<meta name="ocr-system" content="{attribute(document["ocr"]["engine"])}"/>',
        f'<meta name="ocr-capabilities" content="{CAPABILITIES}"/>',
        '<meta name="ocr-number-of-pages" content="1"/>',
        "</head>",
        "<body>",
        f'<div class="ocr_page" id="page_1" title="{attribute(page_title)}">',
    ]
    line_number = word_number = 0
    for b, block in enumerate(document["blocks"], 1):
        out.append(f'<div class="ocr_carea" id="block_{b}" title="{_bbox(block["bbox"])}">')
        for p, paragraph in enumerate(block["paragraphs"], 1):
            out.append(f'<p class="ocr_par" id="par_{b}_{p}" title="{_bbox(paragraph["bbox"])}">')
            for line in paragraph["lines"]:
                line_number += 1
                words = []
                for word in line["words"]:
                    word_number += 1
                    words.append(
                        f'<span class="ocrx_word" id="word_{word_number}" '
                        f'title="{_bbox(word["bbox"])}; x_wconf {round(word["conf"])}">{text(word["text"])}</span>'
                    )
                out.append(
                    f'<span class="ocr_line" id="line_{line_number}" title="{_bbox(line["bbox"])}">'
                    + " ".join(words)
                    + "</span>"
                )
            out.append("</p>")
        out.append("</div>")
    out += ["</div>", "</body>", "</html>", ""]
    return "\n".join(out).encode()
