"""Which of the catalog's conditions a registry record's condition wordings mean.

Each catalog condition lists the wordings that mean it ("Diabetes Mellitus, Type 1", "T1D",
"IDDM"). A registry wording matches a condition when one of its listed wordings appears in it
word for word (case, punctuation and bracketed abbreviations aside); when several conditions
match, the most specific wording wins, so "Diabetes Mellitus, Type 2" is type 2 diabetes even
though type 1 also lists the general "Diabetes Mellitus". A general wording listed by several
conditions ("Diabetes") gives all of them, and only when it is the registry's whole wording
("Diabetes Insipidus" and "Pre-diabetes" are not diabetes mellitus); "non-", "not", "without"
before a wording do not say it. The study team, and staff, then decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

_BRACKETS = re.compile(r"\([^)]*\)")
_NOT_WORD = re.compile(r"[^\w]+")


def words(text: str) -> tuple[str, ...]:
    return tuple(_NOT_WORD.sub(" ", _BRACKETS.sub(" ", text).lower()).split())


NEGATIONS = frozenset({"non", "not", "without", "no", "pre", "prediabetes"})


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """The wording says the term, and not as "non-type 1 diabetes" or "pre-diabetes"."""
    size = len(needle)
    return any(haystack[i:i + size] == needle and (i == 0 or haystack[i - 1] not in NEGATIONS)
               for i in range(len(haystack) - size + 1))


def match_conditions(wordings: Iterable[str], terms: Mapping[str, Sequence[str]]) -> list[str]:
    """The catalog conditions the wordings mean, in the catalog's order."""
    prepared = {condition: [words(t) for t in listed if words(t)] for condition, listed in terms.items()}
    owners: dict[tuple[str, ...], set[str]] = {}
    for condition, listed in prepared.items():
        for term in listed:
            owners.setdefault(term, set()).add(condition)
    specific: set[str] = set()
    general: set[str] = set()
    for wording in wordings:
        text = words(wording)
        # Also the bracketed abbreviation alone: "Type 1 Diabetes (T1D)" says T1D too.
        inner = [words(m) for m in re.findall(r"\(([^)]*)\)", wording)]
        best, chosen, shared = 0, set(), False
        for condition, listed in prepared.items():
            for term in listed:
                # A wording several conditions list ("Diabetes", "Diabetes Mellitus") must be the
                # whole registry wording: "Diabetes Insipidus" is not diabetes mellitus.
                general_term = len(owners[term]) > 1
                found = (text == term) if general_term else _contains(text, term)
                if found or any(part == term for part in inner):
                    if len(term) > best:
                        best, chosen, shared = len(term), {condition}, len(owners[term]) > 1
                    elif len(term) == best:
                        chosen.add(condition)
                        shared = shared or len(owners[term]) > 1
        (general if shared else specific).update(chosen)
    found = specific or general
    return [c for c in terms if c in found]
