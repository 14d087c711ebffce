"""How long each catalog text may be, the same for SQLite and PostgreSQL.

SQLite stores any length in any column and PostgreSQL refuses what does not fit, so the limits
are checked where text comes in (catalog files, registry records, staff forms), with a message
naming the field, and the columns are sized to hold them. The limits are set for real
registry data with room to spare: ClinicalTrials.gov's longest sponsor and facility names are
well under them.
"""

from __future__ import annotations

from typing import Any

FIELD_LIMITS = {
    "registry_id": 32, "registry_url": 500, "acronym": 200, "official_title": 2000, "brief_title": 2000,
    "sponsor": 1000, "phase": 200, "site": 1000, "site_city": 300, "minimum_age": 40, "maximum_age": 40,
    "eligibility_text": 100_000, "source": 5000, "line": 40, "slug": 100,
    # Texts per language.
    "title": 2000, "summary": 5000, "involves": 10_000, "body": 100_000, "description": 2000,
    "if_not_met": 2000, "label": 500, "text": 2000, "hint": 2000, "short_label": 300, "in_sentence": 300,
    # Sources and contacts.
    "url": 2000, "name": 300, "role": 100, "phone": 100, "email": 254,
    # Locations.
    "facility": 1000, "status": 40, "city": 300, "state": 300, "zip": 40, "country": 200,
}
DEFAULT_LIMIT = 5000


def limit_of(key: str) -> int:
    return FIELD_LIMITS.get(key, DEFAULT_LIMIT)


def text_problem(key: str, value: str) -> str | None:
    """Why this text cannot be stored under `key`, or None."""
    if "\x00" in value:
        return "must not contain a NUL character"
    if len(value) > limit_of(key):
        return f"is {len(value):,} characters long; at most {limit_of(key):,} fit"
    return None


def first_nul(document: Any, root: str = "record") -> str | None:
    """The path of the first string (or key) holding a NUL character, walking without recursion
    (a document may be nested very deep)."""
    stack: list[tuple[str, Any]] = [(root, document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    return path
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None
