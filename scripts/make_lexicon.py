"""Writes lib/index/lexicon/deu.txt, the German words and frequencies the indexer splits compounds by.

    .venv/bin/python scripts/make_lexicon.py            # (re)write the word list
    .venv/bin/python scripts/make_lexicon.py --check    # exit 1 if the committed list differs

The words and their frequencies are wordfreq's German "large" list (the
pinned wordfreq of requirements-dev.txt; its data is CC BY-SA 4.0, so this
derived list is too: see docs/search-index.md, "Languages"). Kept: words of
German letters only, ``MIN_LETTERS`` or more, as frequent as ``MIN_ZIPF`` on
wordfreq's Zipf scale (3 is once per million words) or more; each as
``word<TAB>zipf`` in wordfreq's order, most frequent first. The frequencies
choose between splits (lib.index.compounds); rarer words make poor parts
(below 3 the list holds fragments such as ``besch`` and ``vorst``).
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "lib" / "index" / "lexicon" / "deu.txt"
MIN_LETTERS = 4
MIN_ZIPF = 3.0
_GERMAN = re.compile(r"[a-zäöüß]+")


def lexicon() -> str:
    """The lexicon file's text, from the installed wordfreq."""
    from wordfreq import top_n_list, zipf_frequency

    lines = [
        "# German words and their frequency (Zipf scale) for decompounding, lib.index.compounds.\n",
        f"# From wordfreq {version('wordfreq')}'s German list (data CC BY-SA 4.0) by scripts/make_lexicon.py.\n",
    ]
    for word in top_n_list("de", 10**6, wordlist="large"):
        if len(word) < MIN_LETTERS or not _GERMAN.fullmatch(word):
            continue
        zipf = zipf_frequency(word, "de", wordlist="large")
        if zipf < MIN_ZIPF:
            break  # the list is in order of frequency: nothing after this is kept
        lines.append(f"{word}\t{zipf:.2f}\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed list instead of writing")
    args = parser.parse_args(argv)
    text = lexicon()
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.relative_to(ROOT)}: {'up to date' if same else 'differs: run scripts/make_lexicon.py'}")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {sum(1 for line in text.splitlines() if not line.startswith('#'))} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
