"""OCR text made safe for XML (ALTO, hOCR): escaped, and stripped of what XML 1.0 cannot hold.

Tesseract's words are Unicode from an image: nothing stops a control
character or a lone surrogate from reaching the page JSON, and one such
character in an attribute makes the whole file unreadable to every XML parser.
"""

from __future__ import annotations

import re

# Characters XML 1.0 forbids anywhere (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# In an attribute a parser turns tab, newline and carriage return into spaces unless written as references.
_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def attribute(value: str) -> str:
    """``value`` for a double-quoted attribute."""
    return _NOT_XML.sub("", value).translate(_ATTRIBUTE)


def text(value: str) -> str:
    """``value`` as element content."""
    return _NOT_XML.sub("", value).translate(_TEXT)
