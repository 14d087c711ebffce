"""Keeps a person's answers in the session cookie, and nowhere else."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import session

from ..core.questions import Bank

SESSION_KEY = "answers"
# Which share link this screening came through, whether it has been counted yet, and a random
# token naming this screening for the counts (so a replayed cookie is not counted twice).
# These are not answers: a link code, two flags and a random token.
LINK_KEY = "link"
COUNTED_KEYS = ("counted_start", "counted_finish", "screening")


def current_answers(bank: Bank) -> dict[str, Any]:
    """Well-formed answers to questions that still exist and still apply (a cookie is never
    trusted: it may be old, or tampered with)."""
    return bank.relevant_answers(bank.usable_answers(session.get(SESSION_KEY)))


def save_answers(answers: dict[str, Any]) -> None:
    session[SESSION_KEY] = answers


def clear_answers() -> None:
    session.pop(SESSION_KEY, None)
    for key in COUNTED_KEYS:
        session.pop(key, None)


def start_fresh_screening(link_code: str | None) -> None:
    clear_answers()
    if link_code:
        session[LINK_KEY] = link_code
    else:
        session.pop(LINK_KEY, None)


def current_link_code() -> str | None:
    code = session.get(LINK_KEY)
    return code if isinstance(code, str) else None


def count_once(flag: str, record: Callable[[str], bool]) -> None:
    """Count this screening's `flag` event once: `record(token)` stores it (True when stored or
    already stored). If it could not be stored (the database was down for a moment), the flag
    stays unset and the next page tries again."""
    if session.get(flag):
        return
    token = session.get("screening")
    if not isinstance(token, str) or len(token) != 32:
        token = session["screening"] = secrets.token_hex(16)
    if record(token):
        session[flag] = True
