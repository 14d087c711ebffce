"""The questions as data: branching, dropping answers that stop applying, validation."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.core import questions as q
from webapp.core.dates import YearMonth, earliest_birth_month, whole_months_between
from webapp.core.facts import FACT_SPECS, derive_facts

TODAY = date(2026, 11, 21)


def ids(questions):
    return [question.id for question in questions]


def test_every_question_names_what_it_serves_and_every_fact_has_a_question():
    for question in q.QUESTIONS:
        assert question.serves, question.id
        assert question.text and question.required_message and question.short_label
    asked = {question.id for question in q.QUESTIONS}
    assert {spec.question for spec in FACT_SPECS.values()} <= asked


def test_not_sure_is_offered_wherever_a_person_might_not_know():
    for question in q.QUESTIONS:
        if question.kind in (q.Kind.ONE_CHOICE, q.Kind.SEVERAL_CHOICES, q.Kind.YES_NO_NOT_SURE):
            assert question.option(q.NOT_SURE) is not None, question.id


@pytest.mark.parametrize(
    "conditions, expected",
    [
        (["type2"], ["conditions", "age"]),
        (["none"], ["conditions", "age"]),
        (["type1"], ["conditions", "age", "type1_diagnosed", "type1_own_insulin", "travel_charleston"]),
        (["chronic_pancreatitis"], ["conditions", "age", "cp_pain_duration", "cp_dose_stable",
                                    "cp_procedure_planned", "veteran", "travel_charleston"]),
        (["type1", "chronic_pancreatitis"], ["conditions", "age", "type1_diagnosed", "type1_own_insulin",
                                             "cp_pain_duration", "cp_dose_stable", "cp_procedure_planned",
                                             "veteran", "travel_charleston"]),
        # "Not sure" asks the follow-ups of every condition a listed study turns on.
        (["not_sure"], ["conditions", "age", "type1_diagnosed", "type1_own_insulin", "cp_pain_duration",
                        "cp_dose_stable", "cp_procedure_planned", "veteran", "travel_charleston"]),
    ],
)
def test_branching_shows_only_relevant_questions(conditions, expected):
    assert ids(q.shown_questions({"conditions": conditions})) == expected


def test_changing_an_earlier_answer_drops_answers_that_stopped_applying():
    answers = {"conditions": ["chronic_pancreatitis"], "age": 45, "cp_pain_duration": "over_6_months",
               "cp_dose_stable": "yes", "veteran": "no", "travel_charleston": "yes"}
    updated = q.record_answer(answers, "conditions", ["type1"])
    assert updated == {"conditions": ["type1"], "age": 45, "travel_charleston": "yes"}
    assert q.first_unanswered(updated).id == "type1_diagnosed"


def test_questions_are_asked_in_order():
    answers = {"conditions": ["type1"]}
    assert q.can_ask("age", answers)
    assert not q.can_ask("type1_diagnosed", answers)
    assert not q.can_ask("veteran", {"conditions": ["type1"], "age": 30})  # not relevant
    assert q.previous_question("type1_diagnosed", {**answers, "age": 30}).id == "age"
    assert q.progress("age", answers) == q.Progress(2, 5)
    assert q.progress("conditions", {}) == q.Progress(1, 2, total_known=False)


CONDITIONS = q.QUESTIONS_BY_ID["conditions"]
AGE = q.QUESTIONS_BY_ID["age"]
DIAGNOSED = q.QUESTIONS_BY_ID["type1_diagnosed"]
VETERAN = q.QUESTIONS_BY_ID["veteran"]


@pytest.mark.parametrize(
    "question, raw, answers, expected",
    [
        (CONDITIONS, ["chronic_pancreatitis", "type1"], {}, ["type1", "chronic_pancreatitis"]),
        (CONDITIONS, ["type1", "type1"], {}, ["type1"]),
        (CONDITIONS, "not_sure", {}, ["not_sure"]),
        (AGE, " 45 ", {}, 45),
        (AGE, "0", {}, 0),
        (AGE, "120", {}, 120),
        (VETERAN, "not_sure", {}, "not_sure"),
        (DIAGNOSED, {"month": "11", "year": "2026"}, {"age": 25}, "2026-11"),
        (DIAGNOSED, {"month": "", "year": "", "not_sure": True}, {"age": 25}, "not_sure"),
        # born between 22 Nov 2000 and 21 Nov 2001: November 2000 is still possible
        (DIAGNOSED, {"month": "11", "year": "2000"}, {"age": 25}, "2000-11"),
    ],
)
def test_valid_answers_are_cleaned(question, raw, answers, expected):
    assert question.clean(raw, answers, TODAY) == expected


@pytest.mark.parametrize(
    "question, raw, answers, message, part",
    [
        (CONDITIONS, [], {}, "Select the conditions", None),
        (CONDITIONS, ["type3"], {}, "Select only the answers shown", None),
        (CONDITIONS, ["none", "type1"], {}, "on its own", None),
        (AGE, "", {}, "Enter your age in years", None),
        (AGE, "forty", {}, "whole number", None),
        (AGE, "4.5", {}, "whole number", None),
        (AGE, "-1", {}, "whole number", None),
        (AGE, "121", {}, "between 0 and 120", None),
        (AGE, "٤٥x", {}, "whole number", None),  # digits in another script, but not a number
        (AGE, "1" * 4400, {}, "whole number", None),  # far too long: refused, never an int()
        (VETERAN, None, {}, "Select yes, no or not sure", None),
        (VETERAN, "maybe", {}, "Select one of the answers shown", None),
        (DIAGNOSED, {}, {"age": 25}, "Enter the month and year", "month"),
        (DIAGNOSED, {"month": "", "year": "2024"}, {"age": 25}, "Select the month", "month"),
        (DIAGNOSED, {"month": "13", "year": "2024"}, {"age": 25}, "Select a month", "month"),
        (DIAGNOSED, {"month": "3", "year": ""}, {"age": 25}, "Enter the year", "year"),
        (DIAGNOSED, {"month": "3", "year": "24"}, {"age": 25}, "4 numbers", "year"),
        (DIAGNOSED, {"month": "12", "year": "2026"}, {"age": 25}, "in the past", "year"),
        (DIAGNOSED, {"month": "10", "year": "2000"}, {"age": 25}, "before you were born", "year"),
    ],
)
def test_invalid_answers_get_plain_messages(question, raw, answers, message, part):
    with pytest.raises(q.InvalidAnswer) as caught:
        question.clean(raw, answers, TODAY)
    assert message in caught.value.message
    assert caught.value.part == part


@pytest.mark.parametrize(
    "earlier, later, months",
    [((2026, 11), (2026, 11), 0), ((2026, 9), (2026, 11), 2), ((2025, 12), (2026, 1), 1),
     ((2016, 11), (2026, 11), 120)],
)
def test_whole_calendar_months(earlier, later, months):
    assert whole_months_between(YearMonth(*earlier), YearMonth(*later)) == months


def test_earliest_birth_month():
    assert earliest_birth_month(45, TODAY) == YearMonth(1980, 11)
    assert earliest_birth_month(0, date(2026, 1, 5)) == YearMonth(2025, 1)


def test_derived_facts():
    facts = derive_facts({"conditions": ["type1"], "age": 25, "type1_diagnosed": "2026-09",
                          "type1_own_insulin": "yes", "travel_charleston": "no"}, TODAY)
    assert facts == {"conditions": frozenset({"type1"}), "age_years": 25, "months_since_type1_diagnosis": 2,
                     "type1_own_insulin": frozenset({"yes"})}
    assert derive_facts({"type1_diagnosed": "not_sure"}, TODAY) == {
        "months_since_type1_diagnosis": "not_sure"}
