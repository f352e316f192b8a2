"""German compounds split into their words (pure, no I/O but the word list): ``Bettdecke`` is found by ``Decke``.

German writes compounds as one word (``Menschenzimmer``, ``Musterkollektion``),
so a search for ``Zimmer`` must also look inside words. OpenSearch's answer,
a ``dictionary_decompounder`` filter with a word list, needs that list in the
index settings or as a package on the domain, and the OpenSearch API server
of the tests ignores it; so the index does it itself, at indexing, where it
is tested: the parts of every German noun that splits into known words are
written into ``text_de`` after the page's joined text, a compound's parts on
a line (so they are analysed like the text, and ``Decken`` finds them too),
and ``parts`` records where each compound's line is and which word of the
joined text it came from, which maps a hit on a part back to the whole
printed word and its box (lib.search.hits).

A word is split by the frequency of its parts (Koehn and Knight, "Empirical
Methods for Compound Splitting", 2003): of every way to write it as two to
``MAX_PARTS`` known words of ``MIN_PART`` letters or more, joined by nothing
or a linking ``s``, ``es``, ``n``, ``en``, ``er``, ``e`` or ``ens``
(``Mensch-en-zimmer``), the last possibly inflected (``-zimmers``), the one
whose parts are most frequent on average wins, and only if they are more
frequent than the word itself: ``Zeitschrift`` is ``Zeit`` + ``Schrift``,
``Vergleich`` stays whole. The words and frequencies are wordfreq's German
list (lib/index/lexicon/deu.txt, made by scripts/make_lexicon.py). Only words
printed as nouns (a capital, then lower case) are split; an inseparable
prefix or a particle does not begin a compound (``Verwandlung``,
``Unterhaltung``), nor a suffix end one (``Landschaft``). A split of three or
more parts also gives the known words its neighbouring parts make
(``Autobahnraststätte``: ``Auto``, ``Bahn``, ``Rast``, ``Stätte`` and
``Autobahn``, ``Raststätte``). Only the parts are written: the whole word is
in ``text`` already.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

LEXICON = Path(__file__).resolve().parent / "lexicon" / "deu.txt"
# The page document's map from each compound's parts to its word (lib.index.documents).
PARTS = "parts"
# Between the joined text and the parts: a paragraph break, as between paragraphs of the text.
SEPARATOR = "\n\n"
MIN_WORD = 8
MIN_PART = 4
MAX_PARTS = 4
# Fugenelemente: what German puts between the words of a compound, the empty one first.
_LINKS = ("", "s", "es", "n", "en", "er", "e", "ens")
# Inflections of the last word: a compound's case and number are its head's.
_ENDINGS = ("", "s", "es", "n", "en", "e", "er", "ern")
# Prefixes and particles make derivations (``Verwandlung``, ``Unterhaltung``), not compounds; a suffix
# ends one (``Landschaft``), though wordfreq lists both as words.
_NOT_FIRST = frozenset(
    {"ver", "ent", "zer", "emp", "miss", "miß", "unter", "über", "nach", "gegen", "durch", "nieder", "wieder"}
    | {"zusammen", "hinter", "neben", "zwischen", "ober", "vorder", "voll"}
)
_NOT_LAST = frozenset(
    {"schaft", "schaften", "heit", "heiten", "keit", "keiten", "ung", "ungen", "chen", "lein", "tum", "nis", "lich"}
    | {"isch", "ling"}
)
_TOKEN = re.compile(r"[^\W\d_]+")


@functools.cache
def _lexicon() -> dict[str, float]:
    """Every known word (lower case) and its Zipf frequency: read once per process, on the first German page."""
    frequencies: dict[str, float] = {}
    for line in LEXICON.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, _, zipf = line.partition("\t")
            frequencies[word] = float(zipf)
    return frequencies


def split_compound(word: str) -> list[str]:
    """The words of a German compound (lower case), or [] when it is not one."""
    if len(word) < MIN_WORD:
        return []
    lower = word.lower()
    best = _best_split(lower, MAX_PARTS)[1]
    if len(best) < 2:
        return []
    parts = list(best)
    if len(best) > 2:  # a known word made of neighbouring parts (``autobahn``) is one too
        frequencies = _lexicon()
        spans = _spans(lower, best)
        for first in range(len(best) - 1):
            for last in range(first + 1, len(best)):
                if (first, last) != (0, len(best) - 1):
                    joined = lower[spans[first][0] : spans[last][1]]
                    if joined in frequencies and joined not in parts:
                        parts.append(joined)
    return parts


def _spans(word: str, parts: tuple[str, ...]) -> list[tuple[int, int]]:
    spans, at = [], 0
    for part in parts:
        at = word.index(part, at)
        spans.append((at, at + len(part)))
        at += len(part)
    return spans


@functools.lru_cache(maxsize=65536)
def _best_split(word: str, most: int) -> tuple[float, tuple[str, ...]]:
    """(mean frequency, parts) of the most frequent split of ``word`` into at most ``most`` parts: (its own, (word,))
    when no split is more frequent than the word itself."""
    frequencies = _lexicon()
    best = (_head_frequency(word, frequencies), (word,))
    if most < 2:
        return best
    for cut in range(MIN_PART, len(word) - MIN_PART + 1):
        first = word[:cut]
        if first in _NOT_FIRST or first not in frequencies:
            continue
        for link in _LINKS:
            rest = word[cut + len(link) :]
            if len(rest) < MIN_PART or not word.startswith(link, cut):
                continue
            rest_score, tail = _best_split(rest, most - 1)
            if not rest_score or tail[-1] in _NOT_LAST:
                continue
            # The mean over all parts, the tail's parts counted one by one.
            score = (frequencies[first] + rest_score * len(tail)) / (1 + len(tail))
            if score > best[0]:
                best = (score, (first, *tail))
    return best


def _head_frequency(word: str, frequencies: dict[str, float]) -> float:
    """How frequent ``word`` is as the last word of a compound, inflected or not (0 when unknown)."""
    return max(
        (frequencies.get(word[: len(word) - len(e)], 0.0) for e in _ENDINGS if word.endswith(e)),
        default=0.0,
    )


def _nouns(text: str) -> Iterable[re.Match[str]]:
    """The words printed as nouns, long enough to be compounds."""
    for match in _TOKEN.finditer(text):
        word = match.group()
        if len(word) >= MIN_WORD and word[0].isupper() and word[1:].islower():
            yield match


def with_parts(joined: str) -> tuple[str, list[list[int]]]:
    """A German page's joined text with the parts of its compounds after it, and where each compound stands.

    The map holds, per compound, [start, end of its parts' line, start, end
    of the word in the joined text]; it is empty, and the text unchanged,
    when the page has no compound.
    """
    lines: list[str] = []
    where: list[list[int]] = []
    at = len(joined) + len(SEPARATOR)
    for match in _nouns(joined):
        parts = split_compound(match.group())
        if not parts:
            continue
        line = " ".join(parts)
        where.append([at, at + len(line), match.start(), match.end()])
        lines.append(line)
        at += len(line) + 1
    return (joined + SEPARATOR + "\n".join(lines), where) if lines else (joined, [])


def marks_on_words(
    text: str, spans: list[tuple[int, int]], where: Sequence[list[int]]
) -> tuple[str, list[tuple[int, int]]]:
    """The joined text and its marked spans, from the text ``with_parts`` made: a mark on a compound's part
    becomes a mark on the whole compound."""
    if not where:
        return text, spans
    end = where[0][0] - len(SEPARATOR)
    starts = [line_start for line_start, *_ in where]
    moved: list[tuple[int, int]] = []
    for start, stop in spans:
        if stop <= end:
            moved.append((start, stop))
            continue
        for line_start, line_end, word_start, word_end in where[max(0, bisect.bisect_right(starts, start) - 1) :]:
            if line_start >= stop:
                break
            if line_end > start:
                moved.append((word_start, word_end))
    return text[:end], moved
