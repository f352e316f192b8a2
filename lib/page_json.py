"""The page JSON, the contract between the functions and with users: built from TSV, read back, validated.

Contract: ``schema/page.schema.json`` (``SCHEMA_VERSION``). Boxes are
``[left, top, right, bottom]`` in pixels of the image as displayed (after EXIF
orientation). Only rows with a confidence are words; rows with ``conf`` -1
are structure (page, block, paragraph, line) and give no text of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2
# Versions the indexer still reads: 1 lacks image.rotation, deskew, scale and ocr.passes.
READABLE_VERSIONS = (1, 2)
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "page.schema.json"

# TSV levels
_WORD = 5
_COLUMNS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)

Box = list[int]


def _union(boxes: Iterable[Box]) -> Box:
    lefts, tops, rights, bottoms = zip(*boxes, strict=False)
    return [min(lefts), min(tops), max(rights), max(bottoms)]


def parse_tsv(tsv: str) -> list[dict[str, Any]]:
    """Blocks -> paragraphs -> lines -> words from one Tesseract TSV output.

    Empty words are dropped, and so are lines, paragraphs and blocks left
    without words; containers' boxes are the union of what they hold, so
    every box encloses its words.
    """
    blocks: dict[int, dict[int, dict[int, list[dict[str, Any]]]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < len(_COLUMNS) or cells[0] != str(_WORD):
            continue
        text = cells[11].strip()
        conf = float(cells[10])
        if not text or conf < 0:
            continue
        left, top, width, height = (int(c) for c in cells[6:10])
        word = {"text": text, "bbox": [left, top, left + width, top + height], "conf": round(conf, 2)}
        block, par, line = int(cells[2]), int(cells[3]), int(cells[4])
        blocks.setdefault(block, {}).setdefault(par, {}).setdefault(line, []).append(word)
    return assemble_blocks(
        [
            [[words for _, words in sorted(lines.items())] for _, lines in sorted(paras.items())]
            for _, paras in sorted(blocks.items())
        ]
    )


def assemble_blocks(blocks: list[list[list[list[dict[str, Any]]]]]) -> list[dict[str, Any]]:
    """The page's blocks from words grouped as blocks -> paragraphs -> lines -> words (none of them empty).

    Every container's box is the union of what it holds; a line's text and
    confidence come from its words. Shared by Tesseract's TSV and a PDF's own
    text layer (lib.split.textlayer), so both make the same page model.
    """
    result = []
    for paragraphs in blocks:
        paras = []
        for lines in paragraphs:
            line_docs = [_line(words) for words in lines]
            paras.append({"bbox": _union(line["bbox"] for line in line_docs), "lines": line_docs})
        result.append({"bbox": _union(p["bbox"] for p in paras), "paragraphs": paras})
    return result


def _line(words: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "bbox": _union(w["bbox"] for w in words),
        "text": " ".join(w["text"] for w in words),
        "conf": round(sum(w["conf"] for w in words) / len(words), 2),
        "words": words,
    }


def iter_lines(blocks: list[dict[str, Any]]) -> Iterable[tuple[int, int, dict[str, Any]]]:
    """(block index, paragraph index, line) in reading order."""
    for b, block in enumerate(blocks):
        for p, paragraph in enumerate(block["paragraphs"]):
            for line in paragraph["lines"]:
                yield b, p, line


def page_text(blocks: list[dict[str, Any]]) -> str:
    """Reading-order text: a line per line, a blank line between paragraphs."""
    return "\n\n".join(
        "\n".join(line["text"] for line in paragraph["lines"]) for block in blocks for paragraph in block["paragraphs"]
    )


def build_page_json(
    *,
    book: str,
    page: str,
    page_number: int | None,
    source: dict[str, Any],
    image: dict[str, Any],
    ocr: dict[str, Any],
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    """The page JSON: everything a reader of the contract may rely on."""
    words = sum(len(line["words"]) for _, _, line in iter_lines(blocks))
    lines = sum(1 for _ in iter_lines(blocks))
    return {
        "schema_version": SCHEMA_VERSION,
        "book": book,
        "page": page,
        "page_number": page_number,
        "source": source,
        "image": image,
        "ocr": ocr,
        "stats": {"blocks": len(blocks), "lines": lines, "words": words},
        "text": page_text(blocks),
        "blocks": blocks,
    }


class PageInvalid(ValueError):
    """The bytes are not a page JSON: bad JSON or it fails the schema."""


@lru_cache(maxsize=1)
def _validator() -> Any:
    # fastjsonschema compiles the schema to Python once per container: about
    # 1 ms a page where the generic jsonschema validator took 40 ms. Imported
    # on first use, since the OCR function, which shares this module, never validates.
    import fastjsonschema

    return fastjsonschema.compile(json.loads(SCHEMA_PATH.read_text()))


def load_page_json(body: bytes) -> dict[str, Any]:
    """Parse and validate a page JSON; PageInvalid says where it is wrong."""
    from fastjsonschema import JsonSchemaValueException

    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PageInvalid(f"not JSON: {exc}") from None
    try:
        _validator()(document)
    except JsonSchemaValueException as exc:
        where = "/".join(str(p) for p in (exc.path or [])[1:]) or "(root)"
        raise PageInvalid(f"fails the page schema at {where}: {exc.message[:300]}") from None
    return document
