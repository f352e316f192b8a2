"""Error rates of OCR text against ground truth: the one definition the tests and benchmarks use.

Both sides are normalised the same way before comparing: Unicode NFC, and
every run of whitespace (line breaks included) becomes one space. Edit
distances are rapidfuzz's Levenshtein (C, milliseconds a page where a table
in Python takes seconds); words are compared as sequences of whole words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Errors:
    """Edits and lengths, so that rates over several pages add up edits, not ratios."""

    char_edits: int
    chars: int
    word_edits: int
    words: int

    @property
    def cer(self) -> float:
        return self.char_edits / max(1, self.chars)

    @property
    def wer(self) -> float:
        return self.word_edits / max(1, self.words)

    def __add__(self, other: Errors) -> Errors:
        return Errors(
            self.char_edits + other.char_edits,
            self.chars + other.chars,
            self.word_edits + other.word_edits,
            self.words + other.words,
        )


def errors(text: str, truth: str, normaliser: Callable[[str], str] = normalise) -> Errors:
    """Edits between ``text`` and ``truth`` after ``normaliser`` (pagesearch.text_normalise for bench accuracy)."""
    hyp, ref = normaliser(text), normaliser(truth)
    return Errors(
        Levenshtein.distance(hyp, ref), len(ref), Levenshtein.distance(hyp.split(), ref.split()), len(ref.split())
    )


def cer(text: str, truth: str) -> float:
    """Character error rate: edit distance of the normalised texts over the truth's length."""
    return errors(text, truth).cer
