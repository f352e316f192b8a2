"""OCR text made safe for XML (ALTO, hOCR): escaped, and stripped of what XML 1.0 cannot hold.

Tesseract's words are Unicode from an image: nothing stops a control
character or a lone surrogate from reaching the page JSON, and one such
character in an attribute makes the whole file unreadable to every XML parser.
"""

from __future__ import annotations

# Characters XML 1.0 forbids anywhere (https://www.w3.org/TR/xml/#charsets): C0 controls but tab, newline and
# carriage return, surrogates, U+FFFE and U+FFFF. A translate table, not a regular expression: compiling the
# character class cost the OCR function's cold start several milliseconds.
_CONTROLS = [c for c in range(0x20) if c not in (0x9, 0xA, 0xD)]
_NOT_XML: dict[int, None] = dict.fromkeys([*_CONTROLS, *range(0xD800, 0xE000), 0xFFFE, 0xFFFF])
# In an attribute a parser turns tab, newline and carriage return into spaces unless written as references.
_ATTRIBUTE = _NOT_XML | str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)
_TEXT = _NOT_XML | str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def attribute(value: str) -> str:
    """``value`` for a double-quoted attribute."""
    return value.translate(_ATTRIBUTE)


def text(value: str) -> str:
    """``value`` as element content."""
    return value.translate(_TEXT)
