"""Page JSON of the real pages, made once by our own OCR core and reused by the indexing and search parts.

Cached under bench/.cache keyed by the image's hash and the Tesseract version, so
a rerun of `python -m bench search` does not OCR again. Copies of these under
distinct books and pages stand in for a large library.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from bench.log import log
from bench.pages import Page
from bench.paths import CACHE
from bench.tesseract import tesseract_version


def _cache_path(page: Page) -> Path:
    digest = hashlib.sha256(page.path.read_bytes()).hexdigest()[:16]
    version = re.sub(r"[^0-9A-Za-z.]+", "_", tesseract_version())
    return CACHE / "pages" / f"{page.stem}-{digest}-{version}.json"


def page_json(page: Page) -> Path:
    """Path of the page's JSON as lib.ocr_flow.ocr_document makes it (made on first use)."""
    path = _cache_path(page)
    if path.exists():
        return path
    from lib.keys import PageRef
    from lib.ocr.flow import ocr_document
    from lib.settings import Settings

    log(f"OCR {page.name} once for the corpus")
    document = ocr_document(
        page.path.read_bytes(),
        PageRef("corpus", page.stem),
        Settings.from_env(),
        source={"bucket": "corpus", "key": f"corpus/{page.path.name}"},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False))
    tmp.replace(path)
    return path


def documents(pages: list[Page]) -> dict[str, dict[str, Any]]:
    """stem -> page JSON."""
    return {page.stem: json.loads(page_json(page).read_text(encoding="utf-8")) for page in pages}


def renamed(document: dict[str, Any], book: str, page: str) -> dict[str, Any]:
    """A copy of a page JSON under another book and page, as another upload would produce."""
    copy = dict(document)
    copy.update(book=book, page=page, page_number=int(page) if page.isdigit() else None)
    copy["source"] = {**document.get("source", {}), "key": f"{book}/{page}.tif"}
    return copy


_WORD = re.compile(r"^[A-Za-z]+$")
_EDGES = re.compile(r"^[^A-Za-z]+|[^A-Za-z]+$")


def pick_queries(docs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Deterministic queries that do occur in the corpus: a frequent word, its misspelling, a phrase, and two
    words far apart on one page (never within a line of each other anywhere, so a line cannot hold both)."""
    from lib.page_json import iter_lines

    counts: Counter[str] = Counter()
    longer: Counter[str] = Counter()  # words of 8+ letters, punctuation stripped: the misspelt query's
    phrase = ""
    # stem -> the words of 6+ letters of each line, lower case
    lines: dict[str, list[set[str]]] = {}
    for stem in sorted(docs):
        lines[stem] = []
        for _, _, line in iter_lines(docs[stem]["blocks"]):
            words = [w["text"] for w in line["words"]]
            counts.update(w.lower() for w in words if _WORD.match(w) and len(w) >= 6)
            # Every word of the line without its punctuation ("Armenians," is armenians), for the far pair.
            bare = [_EDGES.sub("", w).lower() for w in words]
            lines[stem].append({w for w in bare if _WORD.match(w) and len(w) >= 3})
            longer.update(w for w in bare if _WORD.match(w) and len(w) >= 8)
            alpha = [w for w in words if _WORD.match(w) and len(w) >= 3]
            if not phrase and len(alpha) == len(words) and len(words) >= 5:
                phrase = " ".join(words[1:4])
    word = counts.most_common(1)[0][0] if counts else "the"
    # One substituted letter in a word long enough for the shipped fuzziness (AUTO:8,11: one edit from 8 letters).
    long = longer.most_common(1)[0][0] if longer else word
    swap = "x" if long[2] != "x" else "y"
    fuzzy = long[:2] + swap + long[3:]
    return {"word": word, "phrase": f'"{phrase}"', "fuzzy": fuzzy, "far": _far_pair(word, lines, counts)}


def _far_pair(word: str, lines: dict[str, list[set[str]]], counts: Counter[str], gap: int = 5) -> str:
    """``word`` and the most frequent other word that shares a page with it, at least ``gap`` lines away there,
    such that no word within two edits of it (what the line layout's fuzzy clause matches) ever stands on the
    line of a word within two edits of ``word``, or a neighbouring line: no line, nor line pair, holds both."""
    from rapidfuzz.distance import Levenshtein

    def rows(stem: str, w: str, edits: int = 0) -> list[int]:
        return [i for i, found in enumerate(lines[stem]) if any(Levenshtein.distance(w, f) <= edits for f in found)]

    for other, _ in counts.most_common():
        if other == word:
            continue
        near = far = False
        for stem in lines:
            mine, theirs = rows(stem, word), rows(stem, other)
            if mine and theirs:
                far = far or min(abs(a - b) for a in mine for b in theirs) >= gap
            mine_alike = rows(stem, word, 2)
            alike = rows(stem, other, 2) if mine_alike else []
            near = near or any(abs(a - b) <= 1 for a in mine_alike for b in alike)
            if near:
                break
        if far and not near:
            return f"{word} {other}"
    return word


def version(book: str, page: str) -> Any:
    """A fixed source version for a copied page (the documents carry it; its values do not matter here)."""
    from lib.versions import SourceVersion

    return SourceVersion(key=f"{book}/{page}.json", event_time="2026-01-01T00:00:00.000Z", sequencer="01", etag="x")


def bulk_body(actions: list[dict[str, Any]]) -> bytes:
    """Bulk actions (``_id``, ``_source``, ``_op_type``, external ``version``) as the NDJSON body of one ``_bulk``.

    The version travels in the action line, as opensearch-py's helpers send it,
    so a bare request built from our actions is the request ours makes.
    """
    lines = []
    for action in actions:
        header = {"_id": action["_id"], **{k: action[k] for k in ("version", "version_type") if k in action}}
        meta = {action.get("_op_type", "index"): header}
        lines.append(json.dumps(meta, separators=(",", ":")))
        if "_source" in action:
            lines.append(json.dumps(action["_source"], ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()
