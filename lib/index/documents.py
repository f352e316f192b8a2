"""The index's documents (pure, no I/O): one document per page, made from its page JSON.

People search books for pages: the words of a query may stand anywhere on a
page, and a phrase may run across lines, paragraphs and columns. So the unit
is the page: ``text`` holds its words in reading order (a space between the
words of a line, a newline between lines, a blank line between paragraphs)
and is the one field searched; ``words`` holds, for every word, its character
span in ``text`` and its box, stored but not indexed (not ``nested``: every
nested object would be a hidden document). A hit's words are found by
mapping the highlighter's marks, which are character spans, to those word
spans (``lib.search.hits``). A page is one document, so replacing it is one
atomic write, whatever its size, and the document holds the source version it
was made from (``source``), which orders deliveries. The layout was chosen by
measuring it against one document per line: docs/search-index.md.

Books hyphenate words at line ends (``remark-`` / ``able``). ``text`` keeps
the words as printed, so each part is found; a page with such breaks also
gets ``text_joined``, the same text with every break joined
(``remarkable``), searched beside ``text``, and ``joins``, where each break
was, which maps a mark in the joined text back onto the printed words
(lib.search.hits): a hit on the joined word carries the boxes of both parts.

A page read in a language with an analyzer of its own (lib.index.analysis)
also holds its joined text in that language's field (``text_de``...), whose
marks map back the same way; ``language`` is the language it was read in.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from lib.index.analysis import language_analyzers, language_field, language_mappings
from lib.page_json import iter_lines
from lib.versions import SourceVersion

# The mapping's version: the index is ALIAS-v{INDEX_VERSION} (v1 was one document per line, v2 had no
# joined text of words hyphenated at line ends, v3 no language fields).
INDEX_VERSION = 4
JOINED = "text_joined"
# A word broken at a line end: a letter, a hyphen (ASCII, soft, Unicode, or the not sign of Fraktur
# printing), the newline between two lines of one paragraph, and a lower-case letter. "Well-" / "Known"
# stays two words; "well-" / "known" is joined to "wellknown" beside its parts, which stay findable.
_BREAK = re.compile(r"(?<=[^\W\d_])[-\u00ad\u2010\u00ac]\n(?=[^\W\d_])")
# The highlighter's marks (lib.search.hits): control characters Tesseract never writes; words holding one
# have it replaced (same length, so spans stay true).
MARK_START, MARK_END = "\x02", "\x03"
_REPLACED = str.maketrans({MARK_START: "\ufffd", MARK_END: "\ufffd"})

INDEX_SETTINGS = {
    "analysis": {
        "analyzer": {
            # Lower case and accent folding: "Café" is found by "cafe"; no
            # stemming, so a hit's highlighted words are the words typed.
            "folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
            **language_analyzers(),
        }
    }
}

INDEX_MAPPINGS = {
    "dynamic": "strict",
    "_meta": {"pagesearch_index_version": INDEX_VERSION},
    "properties": {
        "book": {"type": "keyword"},
        "page": {"type": "keyword"},
        # long: page names may be ISBNs; the page JSON schema caps them at 2**53 - 1.
        "page_number": {"type": "long"},
        "text": {"type": "text", "analyzer": "folded"},
        JOINED: {"type": "text", "analyzer": "folded"},
        # The joined text again, analysed by the page's language (lib.index.analysis): one of these per page.
        **language_mappings(),
        "language": {"type": "keyword"},
        # [position in text_joined, what was cut there] per joined break: only read back.
        "joins": {"type": "object", "enabled": False},
        # [start, end, left, top, right, bottom] per word, and [first word, last word, box...] per line:
        # only read back, never searched.
        "words": {"type": "object", "enabled": False},
        "lines": {"type": "object", "enabled": False},
        "image": {"type": "object", "enabled": False},
        "source": {"type": "object", "enabled": False},
        "stats": {"type": "object", "enabled": False},
        "indexed_at": {"type": "date"},
    },
}


def hyphen_breaks(text: str) -> list[tuple[int, int]]:
    """The (start, end) in ``text`` of every hyphen-and-newline that breaks a word across two lines."""
    return [(m.start(), m.end()) for m in _BREAK.finditer(text) if text[m.end()].islower()]


def joined_text(text: str) -> tuple[str, list[list[Any]]]:
    """``text`` with every line-end break joined, and the joins: [position in the joined text, cut string]."""
    pieces: list[str] = []
    joins: list[list[Any]] = []
    at = removed = 0
    for start, end in hyphen_breaks(text):
        pieces.append(text[at:start])
        joins.append([start - removed, text[start:end]])
        removed += end - start
        at = end
    pieces.append(text[at:])
    return "".join(pieces), joins


def page_id(book: str, page: str) -> str:
    """Deterministic, bounded id of a page (book and page names can be long or non-ASCII).

    Book and page are joined by a NUL, which is unambiguous only when neither
    holds one: S3 keys may (``nul\\0a/1.png`` and ``nul/a\\01.png`` would
    collide), so such names are hashed as a JSON pair instead, which escapes
    NUL and so can never equal a joined name. Names without NUL keep their ids.
    """
    name = f"{book}\x00{page}" if "\x00" not in book + page else json.dumps([book, page])
    return hashlib.blake2b(name.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class PageDocument:
    """What one page JSON becomes in the index: one document, and the version it was made from."""

    pid: str
    body: dict[str, Any]
    version: SourceVersion


def page_document(document: dict[str, Any], version: SourceVersion, indexed_at: str) -> PageDocument:
    """The index document of one page JSON: its text in reading order, every word's span and box."""
    pieces: list[str] = []
    words: list[list[int]] = []
    lines: list[list[int]] = []
    length = 0
    previous_paragraph: tuple[int, int] | None = None
    for block, paragraph, line in iter_lines(document["blocks"]):
        if previous_paragraph is not None:
            separator = "\n" if (block, paragraph) == previous_paragraph else "\n\n"
            pieces.append(separator)
            length += len(separator)
        previous_paragraph = (block, paragraph)
        first = len(words)
        for position, word in enumerate(line["words"]):
            if position:
                pieces.append(" ")
                length += 1
            # Tesseract never puts whitespace inside a word, but the schema allows it: keep the word one word.
            text = " ".join(word["text"].split()).translate(_REPLACED) or "\ufffd"
            words.append([length, length + len(text), *word["bbox"]])
            pieces.append(text)
            length += len(text)
        lines.append([first, len(words) - 1, *line["bbox"]])
    image = document.get("image", {})
    text = "".join(pieces)
    joined, joins = joined_text(text)
    lang = (document.get("ocr") or {}).get("lang")
    analysed = language_field(lang)
    body = {
        "book": document["book"],
        "page": document["page"],
        "page_number": document.get("page_number"),
        "text": text,
        # Only pages with a break carry the joined text: the others are not indexed twice.
        **({JOINED: joined, "joins": joins} if joins else {}),
        **({"language": lang} if lang else {}),
        **({analysed: joined} if analysed else {}),
        "words": words,
        "lines": lines,
        # What a IIIF canvas needs (lib.search.manifest): the page's size and the image browsers show.
        "image": {
            "width": image.get("width"),
            "height": image.get("height"),
            "format": image.get("format"),
            **({"display": image["display"]} if image.get("display") else {}),
        },
        "source": version.to_index(image_key=document.get("source", {}).get("key")),
        "stats": {"lines": len(lines), "words": len(words)},
        "indexed_at": indexed_at,
    }
    return PageDocument(pid=page_id(document["book"], document["page"]), body=body, version=version)


def _versioned(action: dict[str, Any], version: int | None) -> dict[str, Any]:
    if version is not None:
        # external_gte: a retry of the same version may re-apply it.
        action.update(version=version, version_type="external_gte")
    return action


def index_action(doc: PageDocument) -> dict[str, Any]:
    """The bulk action that writes the page: one document, carrying its version.

    The external version (the S3 event time in milliseconds) makes OpenSearch
    refuse (409) a write older than what the document holds, so an older
    version's request that lands late cannot overwrite a newer page.
    """
    return _versioned({"_op_type": "index", "_id": doc.pid, "_source": doc.body}, doc.version.index_version)


def delete_action(pid: str, removal: SourceVersion | None = None) -> dict[str, Any]:
    return _versioned({"_op_type": "delete", "_id": pid}, removal.index_version if removal else None)
