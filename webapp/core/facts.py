"""Facts the eligibility engine reads, derived from a person's answers.

A fact is either read straight from an answer or derived from one (age in years, whole
calendar months since diagnosis). Each fact declares how much an answer can prove:
a self-reported answer about a lab result (remaining insulin) can rule a person out but
never confirm them, because only the study team's blood test can.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from .dates import YearMonth, whole_months_between
from .questions import NOT_SURE, Answers


class Granularity(enum.Enum):
    EXACT = "exact"
    # A month count derived from month-and-year answers: the month on a window's edge may
    # fall either side of it, so the engine treats that month as unknown.
    CALENDAR_MONTH = "calendar_month"


@dataclass(frozen=True)
class FactSpec:
    name: str
    # The question whose answer this fact comes from (for "we did not ask about this").
    question: str
    kind: str  # "choices", "number"
    granularity: Granularity = Granularity.EXACT
    # False where only a test by the study team can confirm it (remaining insulin).
    answer_can_confirm: bool = True


FACT_SPECS: dict[str, FactSpec] = {
    spec.name: spec
    for spec in (
        FactSpec("conditions", question="conditions", kind="choices"),
        FactSpec("age_years", question="age", kind="number"),
        FactSpec(
            "months_since_type1_diagnosis",
            question="type1_diagnosed",
            kind="number",
            granularity=Granularity.CALENDAR_MONTH,
        ),
        FactSpec(
            "type1_own_insulin",
            question="type1_own_insulin",
            kind="choices",
            answer_can_confirm=False,
        ),
        FactSpec("cp_pain_duration", question="cp_pain_duration", kind="choices"),
        FactSpec("cp_dose_stable", question="cp_dose_stable", kind="choices"),
        FactSpec("cp_procedure_planned", question="cp_procedure_planned", kind="choices"),
        FactSpec("veteran", question="veteran", kind="choices"),
    )
}


def derive_facts(answers: Answers, today: date) -> dict[str, Any]:
    """Map answers to fact values. A missing key means the question was not asked.

    Values: str or list[str] for choice facts, int for number facts, NOT_SURE where the
    person said they were not sure.
    """
    facts: dict[str, Any] = {}
    for spec in FACT_SPECS.values():
        if spec.question in answers and spec.name not in _DERIVED:
            answer = answers[spec.question]
            # Choice answers become sets once here, so each criterion only intersects them.
            if spec.kind == "choices" and answer != NOT_SURE:
                answer = frozenset(answer if isinstance(answer, list) else (answer,))
            facts[spec.name] = answer
    if isinstance(answers.get("age"), int):
        facts["age_years"] = answers["age"]
    diagnosed = answers.get("type1_diagnosed")
    if diagnosed == NOT_SURE:
        facts["months_since_type1_diagnosis"] = NOT_SURE
    elif isinstance(diagnosed, str):
        facts["months_since_type1_diagnosis"] = whole_months_between(
            YearMonth.parse(diagnosed), YearMonth.of(today)
        )
    return facts


_DERIVED = {"age_years", "months_since_type1_diagnosis"}


def fact_spec(name: str) -> FactSpec:
    try:
        return FACT_SPECS[name]
    except KeyError:
        raise ValueError(f"unknown fact {name!r}; known facts: {sorted(FACT_SPECS)}") from None

