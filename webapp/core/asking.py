"""Which questions to ask a person, in which order: only those whose answer can still matter.

A question is asked when it applies (its condition was chosen, no skip rule holds) and its
answer can still change the verdict of a study listed for the person: studies about their
conditions, within a share link's studies, not already ruled out by an earlier answer. The
conditions question is always first and always asked. The sets behind it are worked out once
per catalog (see CatalogIndex); a request costs a few set operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .questions import CONDITIONS, Bank, Question
from .screening import CatalogIndex, open_facts


@dataclass(frozen=True)
class Plan:
    # The answered questions that still apply, in asking order.
    asked: tuple[Question, ...]
    # The questions still to ask, in order; the first is the next one.
    remaining: tuple[Question, ...]
    facts: Mapping[str, Any]
    conditions_known: bool

    @property
    def next(self) -> Question | None:
        return self.remaining[0] if self.remaining else None

    @property
    def complete(self) -> bool:
        return self.conditions_known and not self.remaining


@dataclass(frozen=True)
class Progress:
    number: int
    total: int
    # False while an answer that decides which questions follow is still missing.
    total_known: bool = True
    # True when later answers may still leave some of the total unasked ("of up to").
    at_most: bool = False


def plan(bank: Bank, index: CatalogIndex, answers: Mapping[str, Any], today: date,
         lang: str | None = None, scope: int | None = None) -> Plan:
    facts, open_questions = bank.walk(answers, today, lang)
    conditions_known = CONDITIONS in answers
    conditions = bank.chosen_conditions(answers) if conditions_known else None
    useful = open_facts(index, facts, conditions, scope)
    asked, remaining = [], []
    for question in open_questions:
        if question.id in answers:
            asked.append(question)
        elif question is bank.first or not useful.isdisjoint(question.facts):
            remaining.append(question)
    return Plan(tuple(asked), tuple(remaining), facts, conditions_known)


def can_ask(current: Plan, question_id: str) -> bool:
    """A question can be shown when it was asked already, or it is the next one."""
    return any(q.id == question_id for q in current.asked) or (
        current.next is not None and current.next.id == question_id)


def sequence(bank: Bank, current: Plan) -> list[Question]:
    """Every question asked or still to ask, in asking order."""
    order = {q.id: i for i, q in enumerate(bank.questions)}
    return sorted((*current.asked, *current.remaining), key=lambda q: order[q.id])


def previous_question(bank: Bank, current: Plan, question_id: str) -> Question | None:
    """The answered question before this one, for the back link."""
    order = {q.id: i for i, q in enumerate(bank.questions)}
    here = order.get(question_id, len(order))
    before = [q for q in current.asked if order[q.id] < here]
    return before[-1] if before else None


def progress(bank: Bank, current: Plan, question_id: str) -> Progress:
    questions = sequence(bank, current)
    ids = [q.id for q in questions]
    number = ids.index(question_id) + 1 if question_id in ids else len(ids)
    later = [q for q in current.remaining if q.id != question_id and ids.index(q.id) >= number]
    return Progress(number=number, total=len(ids), total_known=current.conditions_known,
                    at_most=bool(later))
