"""Facts the eligibility engine reads, as the catalog declares them.

A fact has a kind (a choice, a number, a duration, a place), the unit it is compared in, and
says how much a person's answer can prove: a self-reported lab value (remaining insulin, HbA1c)
can rule a person out but never confirm them, because only the study team's test can. The
catalog lists its facts; the standard ids below are fixed (QUESTION_BANK.md) because registry
suggestions, the catalog file and outside checks use them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

CONDITIONS = "conditions"
AGE_YEARS = "age_years"
SEX = "sex"
HBA1C = "hba1c"
BMI = "bmi"
PREGNANCY = "pregnancy"
ENGLISH = "english"
INSULIN_USE = "insulin_use"
LOCATION = "location"
TIME_SINCE_DIAGNOSIS = "time_since_diagnosis"

FACT_KINDS = ("choice", "number", "duration", "place")


def time_since_diagnosis(condition: str) -> str:
    """The fact id for time since diagnosis of one condition: time_since_diagnosis:type1."""
    return f"{TIME_SINCE_DIAGNOSIS}:{condition}"


class Granularity(enum.Enum):
    EXACT = "exact"
    # A month count derived from month-and-year answers: the real time since may be up to a
    # month either side, so an answer on a limit's edge is unknown.
    CALENDAR_MONTH = "calendar_month"


@dataclass(frozen=True, slots=True)
class FactSpec:
    id: str
    kind: str  # one of FACT_KINDS
    # The unit the engine compares in: "years", "%", "kg/m2", "months" (durations), or None.
    unit: str | None = None
    # True where only a test by the study team can confirm it (remaining insulin, HbA1c).
    lab_value: bool = False
    # For a duration since diagnosis: the condition it is about.
    condition: str | None = None
    # The numbers a person can answer, for working out which outcomes a limit allows.
    lowest: float | None = None
    highest: float | None = None

    @property
    def granularity(self) -> Granularity:
        return Granularity.CALENDAR_MONTH if self.kind == "duration" else Granularity.EXACT

    @property
    def is_number(self) -> bool:
        return self.kind in ("number", "duration")


def fact_spec_from(row: dict[str, Any]) -> FactSpec:
    """A FactSpec from the catalog's plain data ({"id", "kind", "unit", ...})."""
    if row.get("kind") not in FACT_KINDS:
        raise ValueError(f"fact {row.get('id')!r}: kind must be one of {FACT_KINDS}")
    unit = row.get("unit") or ("months" if row["kind"] == "duration" else None)
    return FactSpec(id=row["id"], kind=row["kind"], unit=unit, lab_value=bool(row.get("lab_value")),
                    condition=row.get("condition"), lowest=row.get("lowest"), highest=row.get("highest"))
