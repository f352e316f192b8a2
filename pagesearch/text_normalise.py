"""How OCR text and ground truth are made comparable before error rates are counted (docs/accuracy.md, "Rules").

Pure and applied identically to both sides, so that a difference in typography
the reader does not see (a curly quote against a straight one, an em dash
against Project Gutenberg's ``--``, a line break against a space) is not
counted as an OCR error, while every letter, digit and other mark still is.
"""

from __future__ import annotations

import re
import unicodedata

# Rule 2: quotes. Every single-quote-like mark becomes ', every double one ".
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u0060\u00b4"  # curly, low, reversed; primes; grave, acute
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb"  # their double forms and guillemets
# Rule 3: dashes. Hyphens, dashes and minus signs, and any run of them ("--", "—"), become one "-".
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d-"
_QUOTES = str.maketrans({**dict.fromkeys(_SINGLE_QUOTES, "'"), **dict.fromkeys(_DOUBLE_QUOTES, '"')})
_DASH_RUN = re.compile(f"[{re.escape(_DASHES)}]+")
# Rule 4: characters that are invisible on the page: soft hyphen, zero-width space and joiners, BOM.
_INVISIBLE = str.maketrans(dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def normalise(text: str) -> str:
    """The text as compared: NFKC, quotes and dashes unified, invisible characters dropped, whitespace collapsed.

    1. Unicode NFKC: compatibility forms become plain letters (the ligature
       "ﬁ" is "fi", "…" is "...", a no-break space is a space).
    2. Quotes: curly, low and reversed single quotes, primes, the grave and
       acute accents become '; their double forms and guillemets become ".
    3. Dashes: every run of hyphens, dashes or minus signs is one "-".
    4. Soft hyphens, zero-width characters and byte-order marks are dropped.
    5. Whitespace: every run (line and paragraph breaks included) is one space; none at either end.

    Case, accents, punctuation and words split by a line-end hyphen are kept:
    those are what a reader or a search would see differently.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_QUOTES)
    text = _DASH_RUN.sub("-", text)
    return " ".join(text.split())
