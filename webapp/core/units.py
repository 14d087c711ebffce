"""Units a criterion's limit or a person's answer may come in, and how they convert.

Each fact has one canonical unit the engine compares in (HbA1c in %, BMI in kg/m², durations
in calendar months, age in years). A criterion may give its limit in another unit and a person
may answer in another unit; both are converted here, in one place.
"""

from __future__ import annotations

import math

# HbA1c: NGSP % from IFCC mmol/mol (QUESTION_BANK.md: % = 0.0915 × mmol/mol + 2.15). Results
# are reported to one decimal in %, so both directions round there: 53 mmol/mol is 7.0 %.
HBA1C_UNITS = ("%", "mmol/mol")


def hba1c_percent(value: float, unit: str) -> float:
    if unit == "%":
        return round(value, 1)
    if unit == "mmol/mol":
        return round(0.0915 * value + 2.15, 1)
    raise ValueError(f"unknown HbA1c unit {unit!r}")


# Durations: a limit in days, weeks, months or years becomes calendar months. A month is
# 30.436875 days on average (365.2425 / 12).
DAYS_PER_MONTH = 365.2425 / 12
DURATION_UNITS = ("days", "weeks", "months", "years")


def months(value: float, unit: str) -> float:
    if unit == "months":
        return float(value)
    if unit == "years":
        return value * 12.0
    if unit == "weeks":
        return value * 7 / DAYS_PER_MONTH
    if unit == "days":
        return value / DAYS_PER_MONTH
    raise ValueError(f"unknown duration unit {unit!r}")


# Height and weight: metric or U.S. customary, whichever the person uses.
CM_PER_INCH = 2.54
KG_PER_POUND = 0.45359237


def centimetres(feet: float, inches: float) -> float:
    return (feet * 12 + inches) * CM_PER_INCH


def kilograms(pounds: float) -> float:
    return pounds * KG_PER_POUND


def body_mass_index(height_cm: float, weight_kg: float) -> float:
    """kg/m², to one decimal as it is usually reported."""
    metres = height_cm / 100
    return round(weight_kg / (metres * metres), 1)


# The unit each kind of number fact is compared in, and which units a criterion may use for it.
CANONICAL = {"%": HBA1C_UNITS, "months": DURATION_UNITS, "years": ("years",), "kg/m2": ("kg/m2",)}


def to_canonical(value: float, unit: str | None, canonical: str | None) -> float:
    """A criterion limit in `unit`, in the fact's canonical unit."""
    if unit is None or unit == canonical:
        return value
    if canonical == "%":
        return hba1c_percent(value, unit)
    if canonical == "months":
        return months(value, unit)
    raise ValueError(f"{unit!r} cannot be converted to {canonical!r}")


def finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
