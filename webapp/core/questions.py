"""The screening questions as data, and the rules for walking through them.

Each question says what it asks, what answers it takes, when it is shown (a condition over
earlier answers) and which trial criteria or education pages it serves. The web layer builds
its forms from these definitions; adding a question is a change here, not a new view.

Answers are kept as plain JSON values so they fit in the signed session cookie:
one choice or yes/no/not sure -> str, several choices -> list[str], whole number -> int,
month and year -> "YYYY-MM" or "not_sure".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .dates import YearMonth, earliest_birth_month
from .i18n import N_
from .typed import plain_digits, whole_number

NOT_SURE = "not_sure"

Answers = Mapping[str, Any]


class Kind(enum.Enum):
    ONE_CHOICE = "one_choice"
    SEVERAL_CHOICES = "several_choices"
    MONTH_YEAR = "month_year"
    WHOLE_NUMBER = "whole_number"
    YES_NO_NOT_SURE = "yes_no_not_sure"


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    hint: str | None = None
    # For several-choice questions: an option that cannot be combined with others.
    exclusive: bool = False


@dataclass(frozen=True)
class ShowIf:
    """Show a question only when an earlier answer includes one of `any_of`."""

    question: str
    any_of: tuple[str, ...]

    def holds(self, answers: Answers) -> bool:
        answer = answers.get(self.question)
        if answer is None:
            return False
        chosen = set(answer) if isinstance(answer, list) else {answer}
        return bool(chosen.intersection(self.any_of))


class InvalidAnswer(ValueError):
    """An answer that cannot be accepted; `message` is a gettext-marked plain sentence."""

    def __init__(self, message: str, part: str | None = None):
        super().__init__(message)
        self.message = message
        # Which input of a multi-input question the message belongs to ("month", "year").
        self.part = part


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    text: str
    required_message: str
    hint: str | None = None
    options: tuple[Option, ...] = ()
    show_if: ShowIf | None = None
    # Which trial criteria or education pages use this answer (documentation and tests).
    serves: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # Label used on the check-your-answers page.
    short_label: str = ""
    format_message: str = N_("Enter a whole number, like 45.")
    # Whether the page adds the reminder to answer for the person with the condition; off where
    # the hint already says it in the question's own words.
    caregiver_hint: bool = True
    range_message: str = N_("Enter a number in the range shown.")

    def is_shown(self, answers: Answers) -> bool:
        return self.show_if is None or self.show_if.holds(answers)

    def accepts(self, stored: Any) -> bool:
        """Whether a stored answer has the shape this question gives (session hygiene)."""
        if self.kind in (Kind.ONE_CHOICE, Kind.YES_NO_NOT_SURE):
            return isinstance(stored, str) and self.option(stored) is not None
        if self.kind is Kind.SEVERAL_CHOICES:
            return (isinstance(stored, list) and bool(stored)
                    and all(isinstance(v, str) and self.option(v) for v in stored))
        if self.kind is Kind.WHOLE_NUMBER:
            return (isinstance(stored, int) and not isinstance(stored, bool)
                    and (self.minimum is None or stored >= self.minimum)
                    and (self.maximum is None or stored <= self.maximum))
        if stored == NOT_SURE:
            return True
        try:
            YearMonth.parse(stored)
        except (AttributeError, TypeError, ValueError):
            return False
        return True

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def clean(self, raw: Any, answers: Answers, today: date) -> Any:
        """Turn raw form input into a stored answer, or raise InvalidAnswer."""
        if self.kind in (Kind.ONE_CHOICE, Kind.YES_NO_NOT_SURE):
            return self._clean_one_choice(raw)
        if self.kind is Kind.SEVERAL_CHOICES:
            return self._clean_several_choices(raw)
        if self.kind is Kind.WHOLE_NUMBER:
            return self._clean_whole_number(raw)
        if self.kind is Kind.MONTH_YEAR:
            return self._clean_month_year(raw, answers, today)
        raise AssertionError(f"unhandled kind {self.kind}")

    def _clean_one_choice(self, raw: Any) -> str:
        if raw is None or raw == "":
            raise InvalidAnswer(self.required_message)
        if not isinstance(raw, str) or self.option(raw) is None:
            raise InvalidAnswer(N_("Select one of the answers shown."))
        return raw

    def _clean_several_choices(self, raw: Any) -> list[str]:
        values = [raw] if isinstance(raw, str) else list(raw or [])
        if not values:
            raise InvalidAnswer(self.required_message)
        if any(not isinstance(v, str) or self.option(v) is None for v in values):
            raise InvalidAnswer(N_("Select only the answers shown."))
        chosen = list(dict.fromkeys(values))  # drop repeats, keep order
        exclusive = [v for v in chosen if self.option(v).exclusive]
        if exclusive and len(chosen) > 1:
            raise InvalidAnswer(
                N_("Select “None of these” or “Not sure” on its own, or select your conditions.")
            )
        # Store in the question's own order so the same choices always look the same.
        order = [o.value for o in self.options]
        return sorted(chosen, key=order.index)

    def _clean_whole_number(self, raw: Any) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            number = raw
        else:
            text = plain_digits(raw) if isinstance(raw, str) else ""
            if not text:
                raise InvalidAnswer(self.required_message)
            found = whole_number(text)
            if found is None:
                raise InvalidAnswer(self.format_message)
            number = found
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise InvalidAnswer(self.range_message)
        return number

    def _clean_month_year(self, raw: Any, answers: Answers, today: date) -> str:
        raw = raw if isinstance(raw, Mapping) else {}
        if raw.get("not_sure"):
            return NOT_SURE
        month_text = plain_digits(str(raw.get("month") or ""))
        year_text = plain_digits(str(raw.get("year") or ""))
        if not month_text and not year_text:
            raise InvalidAnswer(self.required_message, part="month")
        if not month_text:
            raise InvalidAnswer(N_("Select the month you were diagnosed."), part="month")
        if not (len(month_text) <= 2 and month_text.isascii() and month_text.isdigit()
                and 1 <= int(month_text) <= 12):
            raise InvalidAnswer(N_("Select a month from the list."), part="month")
        if not year_text:
            raise InvalidAnswer(N_("Enter the year you were diagnosed."), part="year")
        if not (year_text.isascii() and year_text.isdigit() and len(year_text) == 4):
            raise InvalidAnswer(N_("Enter the year as 4 numbers, like 2024."), part="year")
        diagnosed = YearMonth(int(year_text), int(month_text))
        if diagnosed > YearMonth.of(today):
            raise InvalidAnswer(
                N_("The date you were diagnosed must be this month or in the past."), part="year"
            )
        age = answers.get("age")
        if isinstance(age, int) and diagnosed < earliest_birth_month(age, today):
            raise InvalidAnswer(
                N_("This date is before you were born. Check the year, or change your age."),
                part="year",
            )
        return diagnosed.isoformat()


YES_NO_NOT_SURE_OPTIONS = (
    Option("yes", N_("Yes")),
    Option("no", N_("No")),
    Option(NOT_SURE, N_("Not sure")),
)

CONDITIONS = "conditions"
TYPE1 = "type1"
TYPE2 = "type2"
CHRONIC_PANCREATITIS = "chronic_pancreatitis"
OTHER_DIABETES = "other_diabetes"
NONE_OF_THESE = "none"

# Conditions that at least one listed trial or education page turns on.
TRIAL_CONDITIONS = (TYPE1, CHRONIC_PANCREATITIS)

QUESTIONS: tuple[Question, ...] = (
    Question(
        id=CONDITIONS,
        kind=Kind.SEVERAL_CHOICES,
        text=N_("Which of these has a doctor told you that you have?"),
        hint=N_("Select all that apply."),
        short_label=N_("Conditions"),
        options=(
            Option(TYPE1, N_("Type 1 diabetes")),
            Option(TYPE2, N_("Type 2 diabetes")),
            Option(CHRONIC_PANCREATITIS, N_("Chronic pancreatitis"),
                   hint=N_("Long-lasting inflammation that harms the pancreas over time. "
                           "It often causes pain.")),
            Option(OTHER_DIABETES, N_("Another kind of diabetes")),
            Option(NONE_OF_THESE, N_("None of these"), exclusive=True),
            Option(NOT_SURE, N_("Not sure"), exclusive=True),
        ),
        required_message=N_("Select the conditions a doctor has told you about, or select “Not sure”."),
        serves=(
            "NCT04061746: has type 1 diabetes",
            "NCT06205342: has chronic pancreatitis",
            "NCT05925036: has chronic pancreatitis",
            "education pages: which pages fit",
        ),
    ),
    Question(
        id="age",
        kind=Kind.WHOLE_NUMBER,
        text=N_("How old are you?"),
        hint=N_("Your age in years, like 45. If you are answering for someone else, give their age."),
        caregiver_hint=False,
        short_label=N_("Age"),
        minimum=0,
        maximum=120,
        required_message=N_("Enter your age in years."),
        format_message=N_("Enter your age as a whole number, like 45."),
        range_message=N_("Enter an age between 0 and 120."),
        serves=(
            "NCT04061746: age 18 to 30 (one source says 40)",
            "NCT06205342: age 18 to 75",
            "results: the message for people under 18",
        ),
    ),
    Question(
        id="type1_diagnosed",
        kind=Kind.MONTH_YEAR,
        text=N_("When were you told you have type 1 diabetes?"),
        hint=N_("The month and year are enough. If you do not know, select “I am not sure”."),
        short_label=N_("When type 1 diabetes was diagnosed"),
        show_if=ShowIf(CONDITIONS, (TYPE1, NOT_SURE)),
        required_message=N_("Enter the month and year you were diagnosed, or select “I am not sure”."),
        serves=("NCT04061746: diagnosed in the last 3 to 6 months (new-onset)",),
    ),
    Question(
        id="type1_own_insulin",
        kind=Kind.YES_NO_NOT_SURE,
        text=N_("Does your body still make some of its own insulin?"),
        hint=N_("A doctor can check this with a blood test called C-peptide. "
                "Taking insulin does not mean your body makes none. Many people who were "
                "diagnosed recently still make some. If no one has told you, select “Not sure”."),
        short_label=N_("Still makes some insulin"),
        options=YES_NO_NOT_SURE_OPTIONS,
        show_if=ShowIf(CONDITIONS, (TYPE1, NOT_SURE)),
        required_message=N_("Select yes, no or not sure."),
        serves=("NCT04061746: some insulin production left (blood test)",),
    ),
    Question(
        id="cp_pain_duration",
        kind=Kind.ONE_CHOICE,
        text=N_("How long have you had pain from chronic pancreatitis?"),
        short_label=N_("How long pancreatitis pain has lasted"),
        options=(
            Option("under_6_months", N_("Less than 6 months")),
            Option("about_6_months", N_("About 6 months")),
            Option("over_6_months", N_("More than 6 months")),
            Option("no_pain", N_("I do not have this pain")),
            Option(NOT_SURE, N_("Not sure")),
        ),
        show_if=ShowIf(CONDITIONS, (CHRONIC_PANCREATITIS, NOT_SURE)),
        required_message=N_("Select how long you have had this pain, or select “Not sure”."),
        serves=("NCT05925036: painful chronic pancreatitis for more than 6 months",),
    ),
    Question(
        id="cp_dose_stable",
        kind=Kind.ONE_CHOICE,
        text=N_("Has the dose of your opioid pain medicine stayed the same for the last month?"),
        hint=N_("Opioids are strong pain medicines, such as morphine or oxycodone. "
                "Select “No” if the amount you take changed in the last month. "
                "Do not change your medicine to fit a study. Talk with your doctor first."),
        short_label=N_("Same opioid dose for a month"),
        options=(
            Option("yes", N_("Yes")),
            Option("no", N_("No")),
            Option("no_opioids", N_("I do not take opioid pain medicine")),
            Option(NOT_SURE, N_("Not sure")),
        ),
        show_if=ShowIf(CONDITIONS, (CHRONIC_PANCREATITIS, NOT_SURE)),
        required_message=N_("Select an answer, or select “Not sure”."),
        serves=(
            "NCT06205342: opioid pain-medicine dose stable for 30 days",
            "NCT05925036: opioid dose stable for 30 days",
        ),
    ),
    Question(
        id="cp_procedure_planned",
        kind=Kind.YES_NO_NOT_SURE,
        text=N_("Is a procedure or surgery on your pancreas planned in the next 6 months?"),
        hint=N_("This could be an operation or a scope (endoscopy). Do not put off a "
                "procedure you need to fit a study. Talk with your doctor first."),
        short_label=N_("Pancreas procedure planned"),
        options=YES_NO_NOT_SURE_OPTIONS,
        show_if=ShowIf(CONDITIONS, (CHRONIC_PANCREATITIS, NOT_SURE)),
        required_message=N_("Select yes, no or not sure."),
        serves=("NCT06205342: no pancreas procedure planned in the next 6 months",),
    ),
    Question(
        id="veteran",
        kind=Kind.YES_NO_NOT_SURE,
        text=N_("Are you a U.S. military veteran?"),
        hint=N_("One study is run by the U.S. Department of Veterans Affairs (VA)."),
        short_label=N_("U.S. military veteran"),
        options=YES_NO_NOT_SURE_OPTIONS,
        show_if=ShowIf(CONDITIONS, (CHRONIC_PANCREATITIS, NOT_SURE)),
        required_message=N_("Select yes, no or not sure."),
        serves=("NCT05925036: VA study (the study team checks who can join)",),
    ),
    Question(
        id="travel_charleston",
        kind=Kind.YES_NO_NOT_SURE,
        text=N_("Could you travel to Charleston, South Carolina, for study visits?"),
        hint=N_("The studies listed here are in Charleston. Answering no does not rule you out."),
        short_label=N_("Could travel to Charleston"),
        options=YES_NO_NOT_SURE_OPTIONS,
        show_if=ShowIf(CONDITIONS, (*TRIAL_CONDITIONS, NOT_SURE)),
        required_message=N_("Select yes, no or not sure."),
        serves=("results: the note about help with travel",),
    ),
)

QUESTIONS_BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}


@dataclass(frozen=True)
class Progress:
    number: int
    total: int
    # False while an answer that decides which questions follow is still missing.
    total_known: bool = True


def shown_questions(answers: Answers) -> list[Question]:
    """Questions that apply given the answers so far, in asking order.

    A question's show-if only looks at earlier questions, so walking in order is enough.
    """
    return [q for q in QUESTIONS if q.is_shown(answers)]


def relevant_answers(answers: Answers) -> dict[str, Any]:
    """Drop answers to questions that no longer apply (after a change of an earlier answer)."""
    kept: dict[str, Any] = {}
    for question in QUESTIONS:
        if question.id in answers and question.is_shown(kept):
            kept[question.id] = answers[question.id]
    return kept


def first_unanswered(answers: Answers) -> Question | None:
    return next((q for q in shown_questions(answers) if q.id not in answers), None)


def previous_question(question_id: str, answers: Answers) -> Question | None:
    shown = shown_questions(answers)
    ids = [q.id for q in shown]
    if question_id not in ids:
        return None
    position = ids.index(question_id)
    return shown[position - 1] if position > 0 else None


def progress(question_id: str, answers: Answers) -> Progress:
    ids = [q.id for q in shown_questions(answers)]
    number = ids.index(question_id) + 1 if question_id in ids else len(ids)
    deciding = {q.show_if.question for q in QUESTIONS if q.show_if is not None}
    return Progress(number=number, total=len(ids), total_known=deciding <= set(answers))


def can_ask(question_id: str, answers: Answers) -> bool:
    """A question can be asked when it applies and every earlier applicable one is answered."""
    for question in shown_questions(answers):
        if question.id == question_id:
            return True
        if question.id not in answers:
            return False
    return False


def is_complete(answers: Answers) -> bool:
    return bool(answers) and first_unanswered(answers) is None


def record_answer(answers: Answers, question_id: str, value: Any) -> dict[str, Any]:
    """Return new answers with this one set and answers that stopped applying dropped."""
    updated = dict(answers)
    updated[question_id] = value
    return relevant_answers(updated)


def chosen_conditions(answers: Answers) -> Sequence[str]:
    value = answers.get(CONDITIONS) or []
    return list(value)


__all__ = [
    "NOT_SURE", "Kind", "Option", "ShowIf", "Question", "InvalidAnswer", "QUESTIONS",
    "QUESTIONS_BY_ID", "shown_questions", "relevant_answers", "first_unanswered",
    "previous_question", "progress", "can_ask", "is_complete", "record_answer",
    "chosen_conditions",
]
