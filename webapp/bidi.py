"""Keeps Latin-script runs whole inside right-to-left text.

An English name in an Arabic sentence, such as a city and state in brackets or
"(U.S. Food and Drug Administration، FDA)", is laid out by the Unicode bidirectional algorithm,
which moves its commas, full stops and brackets to the wrong side. Wrapping each Latin run in
LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE keeps it one unit, as <bdi> does in HTML,
and works in plain text and inside rendered Markdown alike. Text in left-to-right languages is
left as it is.
"""

from __future__ import annotations

import re

LRI, PDI = "\u2066", "\u2069"
# A run starts with a Latin letter or digit and holds Latin letters, digits, spaces and the
# punctuation names use; it ends on a letter, a digit, "+" (CD8+) or the full stop of "U.S.".
LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,'’&/+:\-]*[A-Za-z0-9+]\.?|[A-Za-z]")
HAS_LETTER = re.compile(r"[A-Za-z]")
# Text between tags of sanitised HTML (attributes stay untouched).
HTML_TEXT = re.compile(r">([^<]+)<")


def _wrap(match: re.Match[str]) -> str:
    run = match.group(0)
    if not HAS_LETTER.search(run) or (LRI in run):
        return run
    # A full stop that ends the sentence belongs to the Arabic text, not to the name.
    if run.endswith(".") and not re.search(r"[A-Za-z]\.[A-Za-z]\.$", run):
        return LRI + run[:-1] + PDI + "."
    return LRI + run + PDI


def isolate_latin(text: str) -> str:
    """`text` with every Latin run wrapped in a left-to-right isolate."""
    if not text or not HAS_LETTER.search(text):
        return text
    return LATIN_RUN.sub(_wrap, text)


def isolate_latin_in_html(html: str) -> str:
    """The same for the text of sanitised HTML, leaving tags and attributes alone."""
    return HTML_TEXT.sub(lambda m: ">" + isolate_latin(m.group(1)) + "<", html)
