"""Keeps a person's answers in the session cookie, and nowhere else."""

from __future__ import annotations

from typing import Any

from flask import session

from ..core.questions import Bank

SESSION_KEY = "answers"
# Which share link this screening came through, and whether it has been counted yet.
# These are not answers: a link code and two flags.
LINK_KEY = "link"
COUNTED_KEYS = ("counted_start", "counted_finish")


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


def first_time(flag: str) -> bool:
    """True once per screening for `flag` (so a reload is not counted twice)."""
    if session.get(flag):
        return False
    session[flag] = True
    return True
