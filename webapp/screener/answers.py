"""Keeps a person's answers in the signed session cookie, and nowhere else."""

from __future__ import annotations

from typing import Any

from flask import session

from ..core.questions import QUESTIONS_BY_ID, relevant_answers

SESSION_KEY = "answers"


def current_answers() -> dict[str, Any]:
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return {}
    # Keep only well-formed answers to questions that still exist and still apply.
    usable = {
        key: value for key, value in stored.items()
        if key in QUESTIONS_BY_ID and QUESTIONS_BY_ID[key].accepts(value)
    }
    return relevant_answers(usable)


def save_answers(answers: dict[str, Any]) -> None:
    session[SESSION_KEY] = answers


def clear_answers() -> None:
    session.pop(SESSION_KEY, None)
