"""The search syntax users type, parsed into words, phrases and exclusions (pure, no I/O).

Words must all appear; a word with one or two wrong letters still matches (OCR
errors); ``"double quotes"`` make a phrase (an unclosed quote runs to the
end); ``-word`` or ``-"a phrase"`` excludes. Everything else is literal text:
what is parsed here only ever reaches OpenSearch as the text of
``match``/``match_phrase`` clauses, never as query syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
WORDCHARS = re.compile(r"\w+")
# A term counts when it holds a letter or a digit: the analyzer drops the rest
# (``_``, ``—``), and a term it drops would match nothing and empty the result.
_HAS_TEXT = re.compile(r"[^\W_]")


class QueryError(ValueError):
    """The query has nothing to search for, or too much: a user error (exit 2, HTTP 400)."""


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


def parse_query(text: str) -> ParsedQuery:
    """Split user input into words, quoted phrases and exclusions; an unclosed quote runs to the end."""
    parsed = ParsedQuery()
    for match in _TOKEN.finditer(text[:MAX_QUERY_CHARS]):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if phrase is not None:
            if _HAS_TEXT.search(phrase):
                (parsed.excluded if negated else parsed.phrases).append(" ".join(phrase.split()))
        elif bare.startswith("-") and len(bare) > 1 and _HAS_TEXT.search(bare):
            parsed.excluded.append(bare[1:])
        elif _HAS_TEXT.search(bare):
            parsed.words.append(bare)
    if len(parsed.words) + len(parsed.phrases) > MAX_TERMS:
        raise QueryError(f"too many terms: at most {MAX_TERMS}")
    if not parsed.words and not parsed.phrases:
        raise QueryError("nothing to search for: type at least one word")
    return parsed
