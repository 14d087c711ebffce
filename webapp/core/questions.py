"""The kinds of question, how each checks an answer, and the question bank they make up.

The bank itself is catalog data (questions, conditions, facts; their texts per language); this
module holds what does not change with the catalog: the kinds, how an answer of each kind is
validated and stored, and which questions apply to a person so far. It holds no question text:
the web layer shows each question with its texts from the catalog, and messages here are
gettext-marked interface strings (`N_`) a question's own texts may replace.

Answers are plain JSON values so they fit in the session cookie:
one choice -> str; several choices -> list[str]; whole number -> int; decimal -> float;
month and year -> "YYYY-MM" or "not_sure"; HbA1c -> {"value": float, "unit": "%"|"mmol/mol"}
or "not_sure"; height and weight -> {"height": {"cm": x} | {"ft": a, "in": b},
"weight": {"kg": y} | {"lb": z}} or "not_sure".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import units
from .places import valid_point
from .dates import YearMonth, earliest_birth_month
from .i18n import N_
from .typed import decimal_number, plain_digits, whole_number

NOT_SURE = "not_sure"
NONE_OF_THESE = "none"
CONDITIONS = "conditions"

Answers = Mapping[str, Any]


class Kind(enum.Enum):
    # Which conditions a doctor has told you about: the catalog's conditions, "none", "not sure".
    CONDITIONS = "conditions"
    ONE_CHOICE = "one_choice"
    SEVERAL_CHOICES = "several_choices"
    WHOLE_NUMBER = "whole_number"
    # A number with a decimal part, written with a point or a comma.
    DECIMAL = "decimal"
    MONTH_YEAR = "month_year"
    # An HbA1c result in % or mmol/mol, or "I don't know it".
    HBA1C = "hba1c"
    # Height and weight, in cm and kg or in feet, inches and pounds; gives BMI.
    HEIGHT_WEIGHT = "height_weight"
    # Where the person lives: a U.S. ZIP code or a place name, or "I'd rather not say"; gives
    # latitude and longitude. Never rules a study out.
    PLACE = "place"


CHOICE_KINDS = frozenset({Kind.CONDITIONS, Kind.ONE_CHOICE, Kind.SEVERAL_CHOICES})
# Kinds whose page has its own "not sure" box rather than an option.
NOT_SURE_BOX_KINDS = frozenset({Kind.MONTH_YEAR, Kind.HBA1C, Kind.HEIGHT_WEIGHT, Kind.PLACE})


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    # For several-choice questions: an option that cannot be combined with others.
    exclusive: bool = False
    # "Not sure", "I don't know", "Prefer not to say": the fact stays unknown, never not met.
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Skip:
    """When a question is not asked, and what its facts are then.

    Matches when an earlier fact holds one of `values` (sex is male), is below or above a
    number (age), or the page is in one of `languages` (English pages need no "can you take
    part in English"). `then` is the answer the question's facts take; None leaves them unknown.
    """

    then: str | None
    fact: str | None = None
    values: tuple[str, ...] = ()
    below: float | None = None
    above: float | None = None
    languages: tuple[str, ...] = ()

    def matches(self, facts: Mapping[str, Any], lang: str | None) -> bool:
        if self.languages:
            return lang in self.languages
        value = facts.get(self.fact) if self.fact else None
        if value is None or value == NOT_SURE:
            return False
        if self.values:
            chosen = value if isinstance(value, frozenset) else {value}
            return not chosen.isdisjoint(self.values)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (self.below is not None and value < self.below) or (
                self.above is not None and value > self.above)
        return False


class InvalidAnswer(ValueError):
    """An answer that cannot be accepted.

    `code` names the problem ("required", "format", "range", ...) so a question's own texts can
    say it in their words; `message` is the gettext-marked default, `params` fill it in.
    """

    def __init__(self, code: str, message: str, part: str | None = None, **params: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        # Which input of a multi-input question the message belongs to ("month", "year").
        self.part = part
        self.params = params


REQUIRED_MESSAGES = {
    Kind.CONDITIONS: N_("Select the conditions a doctor has told you about, or select “Not sure”."),
    Kind.ONE_CHOICE: N_("Select an answer, or select “Not sure”."),
    Kind.SEVERAL_CHOICES: N_("Select all that apply, or select “Not sure”."),
    Kind.WHOLE_NUMBER: N_("Enter a whole number, like 45."),
    Kind.DECIMAL: N_("Enter a number, like 7.5."),
    Kind.MONTH_YEAR: N_("Enter the month and year you were diagnosed, or select “I am not sure”."),
    Kind.HBA1C: N_("Enter your most recent A1C result, or select “I don't know it”."),
    Kind.HEIGHT_WEIGHT: N_("Enter your height and weight, or select “I don't know them”."),
    Kind.PLACE: N_("Enter a U.S. ZIP code or the name of your city, or select “I'd rather not say”."),
}
LONGEST_PLACE = 100

# What a person can plausibly type, for the checks of HbA1c, height and weight. Not limits of
# any study: only the range outside which the number cannot be what they meant.
HBA1C_RANGE = {"%": (3.0, 20.0), "mmol/mol": (9.0, 195.0)}
HEIGHT_CM_RANGE = (50.0, 250.0)
WEIGHT_KG_RANGE = (20.0, 300.0)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: Kind
    # The facts its answer gives (one for most kinds; height and weight may give BMI and more).
    facts: tuple[str, ...]
    options: tuple[Option, ...] = ()
    # Asked only when the person chose this condition, or "not sure" (its diagnosis date, say).
    condition: str | None = None
    skip: tuple[Skip, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    # The page adds the reminder to answer for the person with the condition, unless the
    # question's own hint says it.
    caregiver_hint: bool = True
    _options: Mapping[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_options", {o.value: o for o in self.options})

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS

    @property
    def has_not_sure_box(self) -> bool:
        return self.kind in NOT_SURE_BOX_KINDS

    def option(self, value: str) -> Option | None:
        return self._options.get(value) if isinstance(value, str) else None

    def answer_values(self) -> tuple[str, ...]:
        """The answers a person can give that say something (not "not sure")."""
        return tuple(o.value for o in self.options if not o.unknown)

    def accepts(self, stored: Any) -> bool:
        """Whether a stored answer has the shape this question gives (session hygiene)."""
        kind = self.kind
        if kind is Kind.ONE_CHOICE:
            return isinstance(stored, str) and self.option(stored) is not None
        if kind in (Kind.SEVERAL_CHOICES, Kind.CONDITIONS):
            return (isinstance(stored, list) and bool(stored)
                    and all(isinstance(v, str) and self.option(v) for v in stored))
        if kind is Kind.WHOLE_NUMBER:
            return (isinstance(stored, int) and not isinstance(stored, bool) and self._in_range(stored))
        if kind is Kind.DECIMAL:
            return (isinstance(stored, (int, float)) and not isinstance(stored, bool)
                    and units.finite(stored) and self._in_range(stored))
        if stored == NOT_SURE:
            return True
        if kind is Kind.MONTH_YEAR:
            try:
                YearMonth.parse(stored)
            except (AttributeError, TypeError, ValueError):
                return False
            return True
        if kind is Kind.HBA1C:
            return _stored_hba1c(stored) is not None
        if kind is Kind.HEIGHT_WEIGHT:
            return height_and_weight(stored) is not None
        if kind is Kind.PLACE:
            return (isinstance(stored, Mapping) and valid_point(stored.get("lat"), stored.get("lon"))
                    and isinstance(stored.get("label"), str) and 0 < len(stored["label"]) <= 200)
        return False

    def _in_range(self, number: float) -> bool:
        return (self.minimum is None or number >= self.minimum) and (
            self.maximum is None or number <= self.maximum)

    # --- checking what a person sent ------------------------------------------------------------

    def clean(self, raw: Any, today: date, age_years: int | None = None) -> Any:
        """Turn raw form input into a stored answer, or raise InvalidAnswer.

        `age_years`, when known, lets a date before the person's birth be caught.
        """
        kind = self.kind
        if kind is Kind.ONE_CHOICE:
            return self._clean_one_choice(raw)
        if kind in (Kind.SEVERAL_CHOICES, Kind.CONDITIONS):
            return self._clean_several_choices(raw)
        if kind is Kind.WHOLE_NUMBER:
            return self._clean_number(raw, whole=True)
        if kind is Kind.DECIMAL:
            return self._clean_number(raw, whole=False)
        raw = raw if isinstance(raw, Mapping) else {}
        if raw.get("not_sure"):
            return NOT_SURE
        if kind is Kind.MONTH_YEAR:
            return self._clean_month_year(raw, today, age_years)
        if kind is Kind.HBA1C:
            return self._clean_hba1c(raw)
        if kind is Kind.HEIGHT_WEIGHT:
            return self._clean_height_weight(raw)
        if kind is Kind.PLACE:
            return self._clean_place(raw)
        raise AssertionError(f"unhandled kind {kind}")

    def _required(self, part: str | None = None) -> InvalidAnswer:
        return InvalidAnswer("required", REQUIRED_MESSAGES[self.kind], part=part)

    def _clean_one_choice(self, raw: Any) -> str:
        if raw is None or raw == "":
            raise self._required()
        if not isinstance(raw, str) or self.option(raw) is None:
            raise InvalidAnswer("choose_shown", N_("Select one of the answers shown."))
        return raw

    def _clean_several_choices(self, raw: Any) -> list[str]:
        values = [raw] if isinstance(raw, str) else list(raw or [])
        if not values:
            raise self._required()
        if any(not isinstance(v, str) or self.option(v) is None for v in values):
            raise InvalidAnswer("choose_shown", N_("Select only the answers shown."))
        chosen = list(dict.fromkeys(values))  # drop repeats, keep order
        if len(chosen) > 1 and any(self._options[v].exclusive for v in chosen):
            raise InvalidAnswer(
                "exclusive",
                N_("Select “None of these” or “Not sure” on its own, or select your conditions."))
        # Stored in the question's own order, so the same choices always look the same.
        order = [o.value for o in self.options]
        return sorted(chosen, key=order.index)

    def _clean_number(self, raw: Any, whole: bool) -> int | float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number: int | float | None = raw
        else:
            text = plain_digits(raw) if isinstance(raw, str) else ""
            if not text:
                raise self._required()
            number = whole_number(text) if whole else decimal_number(text)
        if number is None:
            raise InvalidAnswer("format", N_("Enter a whole number, like 45.") if whole
                                else N_("Enter a number, like 7.5."))
        if not self._in_range(number):
            raise InvalidAnswer("range", N_("Enter a number from %(min)s to %(max)s."),
                                min=_shown(self.minimum), max=_shown(self.maximum))
        return int(number) if whole else float(number)

    def _clean_month_year(self, raw: Mapping[str, Any], today: date, age_years: int | None) -> str:
        month_text = plain_digits(str(raw.get("month") or ""))
        year_text = plain_digits(str(raw.get("year") or ""))
        if not month_text and not year_text:
            raise self._required(part="month")
        if not month_text:
            raise InvalidAnswer("month_missing", N_("Select the month you were diagnosed."), part="month")
        if not (len(month_text) <= 2 and month_text.isascii() and month_text.isdigit()
                and 1 <= int(month_text) <= 12):
            raise InvalidAnswer("month_invalid", N_("Select a month from the list."), part="month")
        if not year_text:
            raise InvalidAnswer("year_missing", N_("Enter the year you were diagnosed."), part="year")
        if not (year_text.isascii() and year_text.isdigit() and len(year_text) == 4):
            raise InvalidAnswer("year_invalid", N_("Enter the year as 4 numbers, like 2024."), part="year")
        diagnosed = YearMonth(int(year_text), int(month_text))
        if diagnosed > YearMonth.of(today):
            raise InvalidAnswer(
                "future", N_("The date you were diagnosed must be this month or in the past."), part="year")
        if isinstance(age_years, int) and diagnosed < earliest_birth_month(age_years, today):
            raise InvalidAnswer(
                "before_birth", N_("This date is before you were born. Check the year, or change your age."),
                part="year")
        return diagnosed.isoformat()

    def _clean_hba1c(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        text = plain_digits(str(raw.get("value") or ""))
        unit = raw.get("unit")
        if not text:
            raise self._required(part="value")
        value = decimal_number(text)
        if value is None:
            raise InvalidAnswer("format", N_("Enter your A1C as a number, like 7.2."), part="value")
        if unit not in units.HBA1C_UNITS:
            raise InvalidAnswer("unit", N_("Choose the unit of your result."), part="unit")
        low, high = HBA1C_RANGE[unit]
        if not low <= value <= high:
            raise InvalidAnswer("range", N_("Enter an A1C from 3 to 20 % (or 9 to 195 mmol/mol)."),
                                part="value")
        return {"value": value, "unit": unit}

    def _clean_height_weight(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        text = {key: plain_digits(str(raw.get(key) or "")) for key in ("cm", "ft", "in", "kg", "lb")}
        if not any(text.values()):
            raise self._required(part="height")
        if text["cm"] and (text["ft"] or text["in"]):
            raise InvalidAnswer("height_twice", N_("Enter your height in centimetres or in feet and inches, not both."),
                                part="height")
        if text["kg"] and text["lb"]:
            raise InvalidAnswer("weight_twice", N_("Enter your weight in kilograms or in pounds, not both."),
                                part="weight")
        if text["cm"]:
            cm = decimal_number(text["cm"])
            height: dict[str, float] = {"cm": cm} if cm is not None else {}
        elif text["ft"] or text["in"]:
            feet, inches = decimal_number(text["ft"] or "0"), decimal_number(text["in"] or "0")
            height = {"ft": feet, "in": inches} if feet is not None and inches is not None else {}
            cm = units.centimetres(feet, inches) if height else None
        else:
            raise InvalidAnswer("height_missing", N_("Enter your height."), part="height")
        if not height:
            raise InvalidAnswer("height_format", N_("Enter your height as a number, like 170 or 5 feet 7."),
                                part="height")
        if not HEIGHT_CM_RANGE[0] <= cm <= HEIGHT_CM_RANGE[1]:
            raise InvalidAnswer("height_range", N_("Enter a height from 50 to 250 cm (1 foot 8 to 8 feet 2)."),
                                part="height")
        if text["kg"]:
            kg = decimal_number(text["kg"])
            weight: dict[str, float] = {"kg": kg} if kg is not None else {}
        elif text["lb"]:
            pounds = decimal_number(text["lb"])
            weight = {"lb": pounds} if pounds is not None else {}
            kg = units.kilograms(pounds) if weight else None
        else:
            raise InvalidAnswer("weight_missing", N_("Enter your weight."), part="weight")
        if not weight:
            raise InvalidAnswer("weight_format", N_("Enter your weight as a number, like 80 or 176."),
                                part="weight")
        if not WEIGHT_KG_RANGE[0] <= kg <= WEIGHT_KG_RANGE[1]:
            raise InvalidAnswer("weight_range", N_("Enter a weight from 20 to 300 kg (44 to 661 pounds)."),
                                part="weight")
        return {"height": height, "weight": weight}

    def _clean_place(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        from ..geo import place_table, zip_table

        text = str(raw.get("pick") or raw.get("place") or "").strip()
        if not text:
            raise self._required(part="place")
        if len(text) > LONGEST_PLACE:
            raise InvalidAnswer("place_long", N_("That is too long for a place. Enter a ZIP code or a city name."),
                                part="place")
        compact = "".join(plain_digits(text).split())
        if compact.replace("-", "").isascii() and compact.replace("-", "").isdigit():
            digits = compact.replace("-", "")
            if len(digits) not in (5, 9) or (len(digits) == 9 and "-" in compact and compact.index("-") != 5):
                raise InvalidAnswer("zip_digits", N_("A ZIP code has 5 numbers, like 29425."), part="place")
            found = zip_table().find(digits[:5])
            if found is None:
                raise InvalidAnswer("zip_unknown", N_("We do not know the ZIP code %(zip)s. Check it, or enter your city."),
                                    part="place", zip=digits[:5])
            return {"lat": round(found.lat, 4), "lon": round(found.lon, 4), "label": found.label}
        places = place_table().find(text, limit=1)
        if not places:
            suggestions = [p.label for p in place_table().starting_with(text)]
            raise InvalidAnswer("place_unknown", N_("We could not find a place called “%(place)s”. Check the spelling, "
                                                     "or add the state or country, like “Paris, France”."),
                                part="place", place=text, suggestions=suggestions)
        place = places[0]
        return {"lat": round(place.lat, 4), "lon": round(place.lon, 4), "label": place.label}

    # --- what an answer says ------------------------------------------------------------------

    def facts_from(self, stored: Any, today: date, fact_units: Mapping[str, str | None]) -> dict[str, Any]:
        """The facts a stored answer gives. `fact_units`: each of this question's facts' unit,
        which says which measure a height-and-weight question gives it (kg/m2, kg or cm)."""
        kind = self.kind
        if kind in CHOICE_KINDS:
            chosen = stored if isinstance(stored, list) else [stored]
            if any(self._options[v].unknown for v in chosen):
                value: Any = frozenset({NOT_SURE})
            else:
                value = frozenset(chosen)
            return {fact: value for fact in self.facts}
        if stored == NOT_SURE:
            return {fact: NOT_SURE for fact in self.facts}
        if kind in (Kind.WHOLE_NUMBER, Kind.DECIMAL):
            return {fact: stored for fact in self.facts}
        if kind is Kind.MONTH_YEAR:
            elapsed = YearMonth.of(today).index() - YearMonth.parse(stored).index()
            return {fact: elapsed for fact in self.facts}
        if kind is Kind.HBA1C:
            value = units.hba1c_percent(stored["value"], stored["unit"])
            return {fact: value for fact in self.facts}
        if kind is Kind.HEIGHT_WEIGHT:
            cm, kg = height_and_weight(stored)
            measures = {"kg/m2": units.body_mass_index(cm, kg), "kg": round(kg, 1), "cm": round(cm, 1)}
            return {fact: measures.get(fact_units.get(fact) or "kg/m2") for fact in self.facts}
        if kind is Kind.PLACE:
            return {fact: (float(stored["lat"]), float(stored["lon"])) for fact in self.facts}
        raise AssertionError(f"unhandled kind {kind}")


def _shown(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)


def _stored_hba1c(stored: Any) -> tuple[float, str] | None:
    if not isinstance(stored, Mapping) or stored.get("unit") not in units.HBA1C_UNITS:
        return None
    value = stored.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not units.finite(value):
        return None
    low, high = HBA1C_RANGE[stored["unit"]]
    return (value, stored["unit"]) if low <= value <= high else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not units.finite(value):
        return None
    return float(value)


def height_and_weight(stored: Any) -> tuple[float, float] | None:
    """(cm, kg) of a stored height-and-weight answer, or None when it is not well formed."""
    if not isinstance(stored, Mapping):
        return None
    height, weight = stored.get("height"), stored.get("weight")
    if not isinstance(height, Mapping) or not isinstance(weight, Mapping):
        return None
    if set(height) == {"cm"}:
        cm = _number(height["cm"])
    elif set(height) == {"ft", "in"}:
        feet, inches = _number(height["ft"]), _number(height["in"])
        cm = units.centimetres(feet, inches) if feet is not None and inches is not None else None
    else:
        return None
    if set(weight) == {"kg"}:
        kg = _number(weight["kg"])
    elif set(weight) == {"lb"}:
        pounds = _number(weight["lb"])
        kg = units.kilograms(pounds) if pounds is not None else None
    else:
        return None
    if cm is None or kg is None or not (HEIGHT_CM_RANGE[0] <= cm <= HEIGHT_CM_RANGE[1]
                                        and WEIGHT_KG_RANGE[0] <= kg <= WEIGHT_KG_RANGE[1]):
        return None
    return cm, kg


# --- the bank -------------------------------------------------------------------------------------

class Bank:
    """The questions in asking order, with the catalog's conditions and facts.

    Built from catalog data by the web layer (or from plain dicts in tests). Which of the
    questions that apply are worth asking is decided with the catalog index (see asking.py).
    """

    def __init__(self, questions: Sequence[Question], facts: Mapping[str, Any],
                 conditions: Sequence[str]):
        self.questions = tuple(questions)
        self.by_id = {q.id: q for q in self.questions}
        self.facts = dict(facts)  # fact id -> FactSpec
        self.conditions = tuple(conditions)
        self.for_fact: dict[str, Question] = {}
        for question in self.questions:
            for fact in question.facts:
                self.for_fact.setdefault(fact, question)
        self.fact_units = {fact: getattr(spec, "unit", None) for fact, spec in self.facts.items()}
        self.first = self.questions[0] if self.questions else None

    def chosen_conditions(self, answers: Answers) -> list[str]:
        value = answers.get(CONDITIONS) or []
        return list(value) if isinstance(value, list) else []

    def applies(self, question: Question, answers: Answers) -> bool:
        """Whether the question's condition was chosen (or "not sure"); skips are separate."""
        if question.condition is None:
            return True
        chosen = self.chosen_conditions(answers)
        return question.condition in chosen or NOT_SURE in chosen

    def walk(self, answers: Answers, today: date, lang: str | None) -> tuple[dict[str, Any], list[Question]]:
        """The facts the answers give, and the questions that still apply and are not skipped,
        in order. A skipped question's facts take its skip's answer."""
        facts: dict[str, Any] = {}
        open_questions: list[Question] = []
        for question in self.questions:
            if not self.applies(question, answers):
                continue
            skip = next((s for s in question.skip if s.matches(facts, lang)), None)
            if skip is not None:
                if skip.then is not None:
                    stored = [skip.then] if question.kind is not Kind.ONE_CHOICE else skip.then
                    facts.update(question.facts_from(stored, today, self.fact_units))
                continue
            open_questions.append(question)
            if question.id in answers:
                facts.update(question.facts_from(answers[question.id], today, self.fact_units))
        return facts, open_questions

    def usable_answers(self, stored: Any) -> dict[str, Any]:
        """Well-formed answers to questions that still exist (a cookie is never trusted)."""
        if not isinstance(stored, Mapping):
            return {}
        return {key: value for key, value in stored.items()
                if key in self.by_id and self.by_id[key].accepts(value)}

    def relevant_answers(self, answers: Answers) -> dict[str, Any]:
        """Drop answers to questions that no longer apply (after a change of the conditions)."""
        return {key: value for key, value in answers.items()
                if key in self.by_id and self.applies(self.by_id[key], answers)}

    def age_years(self, facts: Mapping[str, Any]) -> int | None:
        age = facts.get("age_years")
        return age if isinstance(age, int) and not isinstance(age, bool) else None

