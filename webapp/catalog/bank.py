"""The question bank from catalog data: plain entries (as in the catalog file) to core objects.

Used by the catalog file's checks, by the per-process catalog snapshot and by tests, so one
piece of code says what a question, condition or fact entry means. Retired entries are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.facts import FactSpec, fact_spec_from
from ..core.questions import NONE_OF_THESE, NOT_SURE, Bank, Kind, Option, Question, Skip


def active(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in entries if not e.get("retired")]


def condition_ids(conditions: Sequence[Mapping[str, Any]]) -> list[str]:
    return [c["id"] for c in active(conditions)]


def fact_specs(facts: Sequence[Mapping[str, Any]]) -> dict[str, FactSpec]:
    return {f["id"]: fact_spec_from(dict(f)) for f in active(facts)}


def skip_from(entry: Mapping[str, Any]) -> Skip:
    return Skip(then=entry.get("then"), fact=entry.get("fact"), values=tuple(entry.get("values") or ()),
                below=entry.get("below"), above=entry.get("above"),
                languages=tuple(entry.get("languages") or ()))


def question_from(entry: Mapping[str, Any], conditions: Sequence[str]) -> Question:
    kind = Kind(entry["kind"])
    options = tuple(Option(o["value"], exclusive=bool(o.get("exclusive")), unknown=bool(o.get("unknown")))
                    for o in entry.get("options") or ())
    if kind is Kind.CONDITIONS:
        # The catalog's conditions, then the question's own "none of these" and "not sure".
        options = tuple(Option(c) for c in conditions) + tuple(
            o for o in options if o.value in (NONE_OF_THESE, NOT_SURE) or o.exclusive)
    return Question(
        id=entry["id"], kind=kind, facts=tuple(entry.get("facts") or ()), options=options,
        condition=entry.get("condition"), skip=tuple(skip_from(s) for s in entry.get("skip") or ()),
        minimum=entry.get("minimum"), maximum=entry.get("maximum"),
        caregiver_hint=entry.get("caregiver_hint", True),
    )


def bank_from(document: Mapping[str, Any]) -> Bank:
    """The core Bank from a document's (or the database's) conditions, facts and questions."""
    conditions = condition_ids(document.get("conditions") or [])
    questions = [question_from(q, conditions) for q in active(document.get("questions") or [])]
    return Bank(questions, fact_specs(document.get("facts") or []), conditions)


def answers_by_fact(bank: Bank) -> dict[str, set[str]]:
    """For each choice fact, the answers some question can give (not "not sure")."""
    found: dict[str, set[str]] = {}
    for question in bank.questions:
        if question.is_choice:
            for fact in question.facts:
                found.setdefault(fact, set()).update(question.answer_values())
    return found


def fact_answers(bank: Bank, fact: str) -> list[str]:
    """The answers a choice fact can take, in a stable order (what a criterion may count)."""
    return sorted(answers_by_fact(bank).get(fact, set()))


def bundled_document() -> dict[str, Any]:
    """The bundled catalog file, read as it is (no database, no checks)."""
    import json
    from importlib import resources

    return json.loads(resources.files("webapp.catalog.data").joinpath("catalog.json").read_text("utf-8"))


def bundled_bank() -> Bank:
    """The bundled starter bank as core objects, for tests and tools that need no app."""
    return bank_from(bundled_document())
