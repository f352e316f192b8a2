"""How the index analyses a page's text: folded for every page, and by its language's analyzer where there is one.

Every page's ``text`` (and ``text_joined``) is lower-cased and accent-folded,
with no stemming: exact words, and the OCR-tolerant fuzzy matches of
lib.search.query, are what a search finds first. A page whose OCR language
has an analyzer built into OpenSearch also gets its joined text in that
language's field (``text_de``, ``text_fr``...), searched beside the others:
German stemming and normalisation (``Häuser`` finds ``Haus``, ``Strasse``
finds ``Straße``), French elision and stemming (``église`` finds
``l'église`` and ``églises``), and so on. A page is analysed by its first
language (``deu`` of ``deu+eng``); an index field per language, because
OpenSearch gives a field one analyzer for all its documents.

Only OpenSearch's built-in language analyzers are used: they need no files
on the domain (a managed domain cannot load any but packages), and they are
the ones the OpenSearch API server of the tests also implements, so each is
tested. Decompounding (``Schiff`` finding ``Dampfschiff``) needs a German
word list in a ``dictionary_decompounder`` filter, which no built-in
analyzer has: see docs/search-index.md, "Languages". English pages have no
stemmed field: their search stays the exact and fuzzy matching whose
precision and recall were measured (docs/search-index.md).
"""

from __future__ import annotations

from lib.languages import primary_language

# Tesseract's language codes -> (index field, OpenSearch's built-in analyzer).
_FIELDS = {
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "ru": "russian",
}
_BY_CODE = {
    "deu": "de",
    "deu_latf": "de",  # Fraktur, Tesseract 5's name
    "frk": "de",  # Fraktur, its older name: German text
    "fra": "fr",
    "frm": "fr",  # Middle French
    "spa": "es",
    "spa_old": "es",
    "ita": "it",
    "ita_old": "it",
    "por": "pt",
    "rus": "ru",
}
LANGUAGE_FIELDS = tuple(f"text_{suffix}" for suffix in _FIELDS)


def language_field(lang: str | None) -> str | None:
    """The index field analysing a page read in ``lang`` (``text_de`` for ``deu+eng``), or None."""
    suffix = _BY_CODE.get(primary_language(lang) or "")
    return f"text_{suffix}" if suffix else None


def language_analyzers() -> dict[str, dict[str, str]]:
    """Each built-in language analyzer, keeping its stop words: a phrase's marks then cover all its words
    (``l'enfant par la nuit``), and ``par`` stays searchable."""
    return {f"lang_{suffix}": {"type": analyzer, "stopwords": "_none_"} for suffix, analyzer in _FIELDS.items()}


def language_mappings() -> dict[str, dict[str, str]]:
    """The mapping of every language field."""
    return {f"text_{suffix}": {"type": "text", "analyzer": f"lang_{suffix}"} for suffix in _FIELDS}
