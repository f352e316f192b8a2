"""Hits on one page (pure): the highlighter's marks mapped to the page's words, their boxes and snippets.

A page document's ``text`` is its words in reading order and ``words`` the
character span and box of each (lib.index.documents). The search asks for
the whole ``text`` highlighted with control-character marks; every marked
span is mapped to the words it overlaps, and each run of consecutive marked
words is one hit: a word, or a phrase, however many lines, paragraphs or
columns it spans. A hit carries its words with their boxes (page-JSON
pixels), its boxes per line, and the text before and after it.

A page whose words break across lines is also searched in its joined text
(lib.index.documents): ``highlighted_text`` moves that field's marks onto
``text``, so a hit on ``remarkable`` covers ``remark-`` and ``able``; and a
mark on a German compound's part (lib.index.compounds) onto the whole word,
so ``Decke`` marks ``Bettdecke``.

Marks are read leniently: a highlighter may drop a mark at the very start or
end of the text (the OpenSearch API server does), so an end without a start
begins at its word's start, and a start without an end ends at its word's end.
"""

from __future__ import annotations

import bisect
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lib.index.analysis import DECOMPOUNDED_FIELD, LANGUAGE_FIELDS
from lib.index.compounds import PARTS, marks_on_words
from lib.index.documents import JOINED, MARK_END, MARK_START, joined_text
from lib.search.syntax import ParsedQuery

SNIPPET_CHARS = 60
# The fields besides ``text`` whose highlights are read: each holds the page's joined text.
MARKED_FIELDS = (JOINED, *LANGUAGE_FIELDS)
_TOKENS = re.compile(r"[^\W_]+")
_WORD_EDGE = re.compile(r"\s")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\S+")
_first = operator.itemgetter(0)


@dataclass(frozen=True)
class Word:
    text: str
    bbox: list[int]


@dataclass(frozen=True)
class Hit:
    """One place a query word or phrase occurs on a page."""

    start: int  # character span in the page text
    end: int
    words: list[Word]
    boxes: list[list[int]]  # one box per line the hit spans
    before: str
    match: str
    after: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "before": self.before,
            "after": self.after,
            "words": [{"text": w.text, "bbox": w.bbox} for w in self.words],
            "boxes": self.boxes,
        }


@dataclass
class PageHits:
    """A page that matched, with every hit on it, in reading order."""

    book: str
    page: str
    page_number: int | None
    score: float | None
    width: int | None
    height: int | None
    hits: list[Hit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """One hit of `pagesearch search --json`: a page, every matched word with its box, a snippet per place."""
        return {
            "book": self.book,
            "page": self.page,
            "page_number": self.page_number,
            "score": self.score,
            "words": [{"text": w.text, "bbox": w.bbox} for h in self.hits for w in h.words],
            "snippets": [h.as_dict() for h in self.hits],
        }


def marked_spans(highlighted: str) -> tuple[str, list[tuple[int, int]]]:
    """The text without marks, and the character spans the marks enclosed."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length, opened = 0, None
    for piece in re.split(f"([{MARK_START}{MARK_END}])", highlighted):
        if piece == MARK_START:
            opened = length
        elif piece == MARK_END:
            start = opened if opened is not None else _word_start("".join(plain))
            spans.append((start, length))
            opened = None
        elif piece:
            plain.append(piece)
            length += len(piece)
    text = "".join(plain)
    if opened is not None:
        match = _WORD_EDGE.search(text, opened)
        spans.append((opened, match.start() if match else len(text)))
    return text, [(s, e) for s, e in spans if e > s]


def hit_text(raw: dict[str, Any]) -> str | None:
    """The highlighted page text of one hit of a search response, as ``highlighted_text`` makes it."""
    source = raw.get("_source") or {}
    return highlighted_text(raw.get("highlight") or {}, source.get("joins"), source.get(PARTS))


def highlighted_text(
    highlight: dict[str, list[str]],
    joins: Sequence[Sequence[Any]] | None,
    parts: Sequence[list[int]] | None = None,
) -> str | None:
    """The page text with the marks of ``text`` and of every field holding the joined text, or None when none matched.

    A page without breaks has no ``text_joined``, and its language field holds
    ``text`` itself (no joins): its marks stand where they are. A German
    page's language field holds its compounds' parts after the text: a mark
    there is moved onto its compound (``parts``, lib.index.compounds).
    """
    own = (highlight.get("text") or [None])[0]
    others = []
    for name in MARKED_FIELDS:
        marked = highlight.get(name)
        if marked and marked[0]:
            text, spans = marked_spans(marked[0])
            others.append(marks_on_words(text, spans, parts or []) if name == DECOMPOUNDED_FIELD else (text, spans))
    if not others:
        return own
    joins = joins or []
    moved = [(_unjoined(start, joins), _unjoined(end, joins)) for _, spans in others for start, end in spans]
    if own:
        text, spans = marked_spans(own)
    else:  # only the joined text matched: the page text is the joined text with its cuts put back
        text, spans = _unjoin(others[0][0], joins), []
    return _with_marks(text, spans + moved)


def _unjoined(position: int, joins: Sequence[Sequence[Any]]) -> int:
    """A position in the joined text as a position in ``text``: every cut before it put back."""
    return position + sum(len(cut) for at, cut in joins if at < position)


def _unjoin(joined: str, joins: Sequence[Sequence[Any]]) -> str:
    pieces, at = [], 0
    for position, cut in joins:
        pieces += [joined[at:position], cut]
        at = position
    return "".join(pieces) + joined[at:]


def _with_marks(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, at = [], 0
    for start, end in merged:
        pieces += [text[at:start], MARK_START, text[start:end], MARK_END]
        at = end
    return "".join(pieces) + text[at:]


def _word_start(so_far: str) -> int:
    """Where the word that ends ``so_far`` starts."""
    edges = [m.end() for m in _WORD_EDGE.finditer(so_far)]
    return edges[-1] if edges else 0


def _normal(text: str) -> list[str]:
    """Tokens as the index's analyzer sees them, near enough: lower case, accents folded."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return _TOKENS.findall("".join(c for c in folded if not unicodedata.combining(c)))


def page_hits(source: dict[str, Any], highlighted: str | None, parsed: ParsedQuery, score: float | None) -> PageHits:
    """Every hit on one page, from its stored words and the highlighted text."""
    result = PageHits(
        book=source["book"],
        page=source["page"],
        page_number=source.get("page_number"),
        score=score,
        width=(source.get("image") or {}).get("width"),
        height=(source.get("image") or {}).get("height"),
    )
    if not highlighted:
        return result
    text, spans = marked_spans(highlighted)
    words = source.get("words") or []
    marked = sorted({i for s, e in spans for i in _overlapping(words, s, e)})
    lines = _Lines(source.get("lines") or [])
    runs = _runs(marked)
    if _phrases_only(parsed):
        found = _phrase_runs(
            runs, len(words), lambda a, b: _holds_phrase(text[words[a][0] : words[b][1]], parsed), parsed
        )
        runs = [list(range(first, last + 1)) for first, last in found]
    for run in runs:
        result.hits.append(_hit(run, words, lines, text))
    return result


def hit_count(highlighted: str, parsed: ParsedQuery) -> int:
    """How many hits ``page_hits`` finds on a page, from its highlighted text alone (no stored words).

    The index writes a page's words into ``text`` separated by whitespace, so
    two marks are in one run of words when no whole word stands between them:
    the text between them holds at most one stretch of whitespace. Counting a
    whole result set this way reads neither the words' boxes nor the words
    themselves, only the marks. (A word holding a space, which Tesseract never
    writes but the schema allows, would count as two words here.)
    """
    text, spans = marked_spans(highlighted)
    if not _phrases_only(parsed):
        count, previous_end = 0, -1
        for start, end in spans:
            count += previous_end < 0 or len(_SPACES.findall(text, previous_end, start)) > 1
            previous_end = end
        return count
    # A phrase's hit may take in unmarked words (``_phrase_runs``): count over the words, as page_hits does.
    words = [[m.start(), m.end()] for m in _WORDS.finditer(text)]
    marked = sorted({i for s, e in spans for i in _overlapping(words, s, e)})
    holds = lambda a, b: _holds_phrase(text[words[a][0] : words[b][1]], parsed)  # noqa: E731
    return len(_phrase_runs(_runs(marked), len(words), holds, parsed))


def _least(first: int, last: int, holds: Callable[[int, int], bool]) -> bool:
    """Whether words ``first..last`` hold a phrase and would not without either end word."""
    return holds(first, last) and (first == last or not (holds(first + 1, last) or holds(first, last - 1)))


def _phrases_only(parsed: ParsedQuery) -> bool:
    return not parsed.words and bool(parsed.phrases)


def _phrase_runs(
    runs: list[list[int]], total: int, holds: Callable[[int, int], bool], parsed: ParsedQuery
) -> list[tuple[int, int]]:
    """The (first, last) word of every hit of a query of phrases alone, from the runs of marked words.

    A run that is a phrase is a hit. A run of a phrase's words that is not
    the whole phrase was marked for it elsewhere, or is part of it with some
    words unmarked: a highlighter may mark only the words its analyzer keeps
    (the OpenSearch API server's German analyzer drops ``aus`` of ``aus
    unruhigen Träumen``). So such a run, with the runs after it and the words
    around, becomes the hit when together they hold a phrase within the
    longest phrase's length, without reaching into the hit before, and with
    no word at either end that the phrase does not need.
    """
    longest = max(len(_normal(phrase)) for phrase in parsed.phrases)
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        first, last, taken = runs[i][0], runs[i][-1], i
        hit = (first, last) if holds(first, last) else None
        after = found[-1][1] if found else -1
        for k in range(i, len(runs)):
            if hit or runs[k][-1] - first + 1 > longest:
                break
            spare = longest - (runs[k][-1] - first + 1)
            hit = next(
                (
                    (a, b)
                    for left in range(spare + 1)
                    for right in range(spare - left + 1)
                    if (a := first - left) > after and (b := runs[k][-1] + right) < total and _least(a, b, holds)
                ),
                None,
            )
            taken = k
        if hit:
            found.append(hit)
            i = taken + 1
        else:  # the runs it tried to join may still begin a hit of their own
            i += 1
    return found


def _holds_phrase(piece: str, parsed: ParsedQuery) -> bool:
    """Whether ``piece`` holds one of the phrases, as printed or with its line-end breaks joined."""
    tokens = _normal(piece)
    if any(_holds(tokens, _normal(phrase)) for phrase in parsed.phrases):
        return True
    joined, joins = joined_text(piece)
    return bool(joins) and any(_holds(_normal(joined), _normal(phrase)) for phrase in parsed.phrases)


def _holds(tokens: list[str], wanted: list[str]) -> bool:
    return any(all(map(_same_word, tokens[k : k + len(wanted)], wanted)) for k in range(len(tokens) - len(wanted) + 1))


def _same_word(token: str, wanted: str) -> bool:
    """The word, or a form of it a language analyzer gives the same stem (``alten Hause`` for ``altes Haus``).

    This only decides whether a run the highlighter marked is the phrase, not
    what matches, so a shared stem of four letters or more, all but a short
    ending, is near enough.
    """
    if token == wanted:
        return True
    shortest = min(len(token), len(wanted))
    shared = next((i for i in range(shortest) if token[i] != wanted[i]), shortest)
    return shared >= max(4, shortest - 2)


def _overlapping(words: Sequence[list[int]], start: int, end: int) -> Iterable[int]:
    index = max(0, bisect.bisect_right(words, start, key=_first) - 1)
    while index < len(words) and words[index][0] < end:
        if words[index][1] > start:
            yield index
        index += 1


def _runs(indexes: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


class _Lines:
    """The line a word is on, by bisecting the lines' first words: only the hits' words are looked up,
    so a page costs its hits, not its words."""

    def __init__(self, lines: Sequence[list[int]]) -> None:
        self.lines = lines

    def of(self, index: int) -> int:
        number = bisect.bisect_right(self.lines, index, key=_first) - 1
        return number if number >= 0 and index <= self.lines[number][1] else 0


def _union(boxes: list[list[int]]) -> list[int]:
    if len(boxes) == 1:  # most hits are one word: no comparisons
        return list(boxes[0])
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def _hit(run: list[int], words: Sequence[list[int]], lines: _Lines, text: str) -> Hit:
    start, end = words[run[0]][0], words[run[-1]][1]
    by_line: dict[int, list[list[int]]] = {}
    for index in run:
        by_line.setdefault(lines.of(index), []).append(list(words[index][2:6]))
    return Hit(
        start=start,
        end=end,
        words=[Word(text[words[i][0] : words[i][1]], list(words[i][2:6])) for i in run],
        boxes=[_union(boxes) for _, boxes in sorted(by_line.items())],
        before=_context(text[max(0, start - SNIPPET_CHARS) : start], left=True),
        match=" ".join(text[start:end].split()),
        after=_context(text[end : end + SNIPPET_CHARS], left=False),
    )


def _one_line(piece: str) -> str:
    """Every run of whitespace as one space (``re.sub(r"\\s+", " ", piece)``, at a quarter of its cost)."""
    inner = " ".join(piece.split())
    if not inner:
        return " " if piece else ""
    return (" " if piece[0].isspace() else "") + inner + (" " if piece[-1].isspace() else "")


def _context(piece: str, *, left: bool) -> str:
    """Snippet context on one line, cut at a word boundary, keeping the space next to the match."""
    flat = _one_line(piece)
    if left and len(piece) == SNIPPET_CHARS and " " in flat:
        flat = flat[flat.index(" ") :]
    if not left and len(piece) == SNIPPET_CHARS and " " in flat:
        flat = flat[: flat.rindex(" ")]
    return flat
