"""The eligibility engine as a table of cases: criteria in, outcomes and verdicts out.

These tests need no app: the engine is plain Python, and the facts come from the bundled bank.
"""

from __future__ import annotations

import pytest

from webapp.catalog.bank import bundled_bank
from webapp.core.engine import (Criterion, InvalidCriterion, Operator, Outcome, Unknown, Verdict,
                                assess, evaluate, possible_outcomes, verdict_for)
from webapp.core.questions import NOT_SURE

SPECS = bundled_bank().facts
DIAGNOSED = "time_since_diagnosis:type1"


def between(fact: str, **bounds) -> Criterion:
    return Criterion(fact, Operator.BETWEEN, bounds, "test", spec=SPECS.get(fact))


def one_of(fact: str, met, check=(), edge=()) -> Criterion:
    value = {"met": list(met)}
    if check:
        value["check"] = list(check)
    if edge:
        value["edge"] = list(edge)
    return Criterion(fact, Operator.ONE_OF, value, "test", spec=SPECS.get(fact))


# Age in whole years: 18 to 30 met, 31 to 40 disputed, outside both not met (NCT04061746).
AGE = between("age_years", min=18, max=30, check_max=40)
# Months since diagnosis: within 3 months met (month 3 is the edge), up to 6 disputed.
NEW_ONSET = between(DIAGNOSED, max=3, check_max=6, unit="months")


@pytest.mark.parametrize(
    "criterion, facts, outcome, because",
    [
        # limits exactly at the edge, for a whole-year fact: both ends are met
        (AGE, {"age_years": 17}, Outcome.NOT_MET, None),
        (AGE, {"age_years": 18}, Outcome.MET, None),
        (AGE, {"age_years": 30}, Outcome.MET, None),
        (AGE, {"age_years": 31}, Outcome.UNKNOWN, Unknown.DISPUTED_LIMIT),
        (AGE, {"age_years": 40}, Outcome.UNKNOWN, Unknown.DISPUTED_LIMIT),
        (AGE, {"age_years": 41}, Outcome.NOT_MET, None),
        (AGE, {}, Outcome.UNKNOWN, Unknown.NOT_ASKED),
        # missing limits mean no limit
        (between("age_years", min=18), {"age_years": 120}, Outcome.MET, None),
        (between("age_years", min=18), {"age_years": 17}, Outcome.NOT_MET, None),
        (between("age_years", max=75), {"age_years": 0}, Outcome.MET, None),
        (between("age_years"), {"age_years": 55}, Outcome.MET, None),
        # calendar months: diagnosed this month is 0; the month on the window's edge is unknown
        (NEW_ONSET, {DIAGNOSED: 0}, Outcome.MET, None),
        (NEW_ONSET, {DIAGNOSED: 2}, Outcome.MET, None),
        (NEW_ONSET, {DIAGNOSED: 3}, Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (NEW_ONSET, {DIAGNOSED: 6}, Outcome.UNKNOWN, Unknown.DISPUTED_LIMIT),
        (NEW_ONSET, {DIAGNOSED: 7}, Outcome.NOT_MET, None),
        (NEW_ONSET, {DIAGNOSED: NOT_SURE}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        (between(DIAGNOSED, max=6), {DIAGNOSED: 6},
         Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (between(DIAGNOSED, min=6), {DIAGNOSED: 6},
         Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (between(DIAGNOSED, min=6), {DIAGNOSED: 7},
         Outcome.MET, None),
        # several choices: any chosen option that is met is enough; "not sure" is unknown
        (one_of("conditions", ["type1"]), {"conditions": ["type1", "chronic_pancreatitis"]}, Outcome.MET, None),
        (one_of("conditions", ["type1"]), {"conditions": ["type2"]}, Outcome.NOT_MET, None),
        (one_of("conditions", ["type1"]), {"conditions": [NOT_SURE]}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        # one choice with a "check" band: a "no" the study team must weigh is unknown, not unmet
        (one_of("veteran", ["yes"], ["no"]), {"veteran": "yes"}, Outcome.MET, None),
        (one_of("veteran", ["yes"], ["no"]), {"veteran": "no"}, Outcome.UNKNOWN, Unknown.ANSWER_CHECKED),
        (one_of("cp_pain_duration", ["over_6_months"], edge=["about_6_months"]), {"cp_pain_duration": "about_6_months"},
         Outcome.UNKNOWN, Unknown.AT_LIMIT),
        # sex: "prefer not to say" is unknown, never not met
        (one_of("sex", ["female"]), {"sex": frozenset({"male"})}, Outcome.NOT_MET, None),
        (one_of("sex", ["female"]), {"sex": frozenset({NOT_SURE})}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        # decimals, inclusive and strict limits, units: HbA1c is a lab value (never met from an answer)
        (between("hba1c", min=6.5, max=10.5), {"hba1c": 7.2}, Outcome.UNKNOWN, Unknown.LAB_TEST),
        (between("hba1c", min=6.5, max=10.5), {"hba1c": 10.6}, Outcome.NOT_MET, None),
        (between("hba1c", max=10, max_inclusive=False), {"hba1c": 10.0}, Outcome.NOT_MET, None),
        (between("hba1c", max=86, unit="mmol/mol"), {"hba1c": 10.0}, Outcome.UNKNOWN, Unknown.LAB_TEST),
        (between("hba1c", max=86, unit="mmol/mol"), {"hba1c": 10.1}, Outcome.NOT_MET, None),  # 86 mmol/mol is 10.0 %
        (between("bmi", min=25, max=39.9), {"bmi": 39.9}, Outcome.MET, None),
        (between("bmi", min=25, max=39.9), {"bmi": 40.0}, Outcome.NOT_MET, None),
        (between("bmi", min=30, min_inclusive=False), {"bmi": 30.0}, Outcome.NOT_MET, None),
        # durations with a limit in years, weeks or days, against whole calendar months
        (between(DIAGNOSED, min=1, unit="years"), {DIAGNOSED: 13}, Outcome.MET, None),
        (between(DIAGNOSED, min=1, unit="years"), {DIAGNOSED: 12}, Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (between(DIAGNOSED, min=1, unit="years"), {DIAGNOSED: 11}, Outcome.NOT_MET, None),
        (between(DIAGNOSED, max=100, unit="days"), {DIAGNOSED: 2}, Outcome.MET, None),  # 100 days: 3.3 months
        (between(DIAGNOSED, max=100, unit="days"), {DIAGNOSED: 3}, Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (between(DIAGNOSED, max=100, unit="days"), {DIAGNOSED: 5}, Outcome.NOT_MET, None),
        (between(DIAGNOSED, max=12, unit="weeks"), {DIAGNOSED: 0}, Outcome.MET, None),
        (between(DIAGNOSED, max=12, unit="weeks"), {DIAGNOSED: 4}, Outcome.NOT_MET, None),
        (one_of("veteran", ["yes"], ["no"]), {"veteran": NOT_SURE}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        (one_of("cp_dose_stable", ["yes"]), {"cp_dose_stable": "no"}, Outcome.NOT_MET, None),
        # a lab-only fact: an answer can rule out, never confirm
        (one_of("type1_own_insulin", ["yes"]), {"type1_own_insulin": "yes"}, Outcome.UNKNOWN, Unknown.LAB_TEST),
        (one_of("type1_own_insulin", ["yes"]), {"type1_own_insulin": "no"}, Outcome.NOT_MET, None),
        (one_of("type1_own_insulin", ["yes"]), {"type1_own_insulin": NOT_SURE}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        # a criterion only the study team can judge
        (Criterion(None, Operator.STUDY_TEAM_CHECKS, {}, "antibodies"), {"age_years": 20},
         Outcome.UNKNOWN, Unknown.STUDY_TEAM_CHECKS),
    ],
)
def test_criterion_outcomes(criterion, facts, outcome, because):
    result = evaluate(criterion, facts)
    assert result.outcome is outcome
    assert result.unknown_because is because


@pytest.mark.parametrize(
    "outcomes, verdict",
    [
        ([Outcome.MET, Outcome.MET], Verdict.FIT),
        ([Outcome.MET, Outcome.UNKNOWN], Verdict.CHECK),
        ([Outcome.UNKNOWN, Outcome.NOT_MET], Verdict.UNLIKELY),
        ([Outcome.MET, Outcome.NOT_MET, Outcome.MET], Verdict.UNLIKELY),
        ([], Verdict.CHECK),  # a trial with no criteria is never called a fit
    ],
)
def test_verdict_from_outcomes(outcomes, verdict):
    assert verdict_for(outcomes) is verdict


def test_assessment_lists_every_criterion_in_order():
    criteria = [one_of("conditions", ["type1"]), AGE, NEW_ONSET]
    assessment = assess(criteria, {"conditions": ["type1"], "age_years": 35,
                                   DIAGNOSED: 1})
    assert [r.criterion for r in assessment.results] == criteria
    assert [r.outcome for r in assessment.results] == [Outcome.MET, Outcome.UNKNOWN, Outcome.MET]
    assert assessment.verdict is Verdict.CHECK


@pytest.mark.parametrize(
    "fact, operator, value, message",
    [
        ("height", Operator.BETWEEN, {"min": 1}, "unknown fact"),
        ("age_years", Operator.ONE_OF, {"met": ["x"]}, "needs a choice fact"),
        ("conditions", Operator.BETWEEN, {"min": 1}, "needs a number fact"),
        ("age_years", Operator.BETWEEN, {"min": 30, "max": 18}, "above"),
        ("age_years", Operator.BETWEEN, {"min": "18"}, "must be a number"),
        ("age_years", Operator.BETWEEN, {"min": True}, "must be a number"),
        ("age_years", Operator.BETWEEN, {"min": 18, "check_min": 20}, "check_min"),
        ("age_years", Operator.BETWEEN, {"max": 30, "check_max": 20}, "check_max"),
        ("age_years", Operator.BETWEEN, {"maximum": 30}, "unexpected"),
        ("age_years", Operator.BETWEEN, {"min": 999}, "outside what a person can answer"),
        ("hba1c", Operator.BETWEEN, {"max": 7, "unit": "mg/dL"}, "must be one of %, mmol/mol"),
        (DIAGNOSED, Operator.BETWEEN, {"max": 7, "unit": "fortnights"}, "must be one of days"),
        ("bmi", Operator.BETWEEN, {"max": 40, "max_inclusive": "no"}, "true or false"),
        ("veteran", Operator.ONE_OF, {"met": []}, "at least one"),
        ("veteran", Operator.ONE_OF, {"met": ["yes"], "check": ["yes"]}, "only one of"),
        ("cp_pain_duration", Operator.ONE_OF, {"met": ["over_6_months"], "edge": ["over_6_months"]}, "only one of"),
        ("veteran", Operator.ONE_OF, {"met": ["yes"], "maybe": ["no"]}, "unexpected"),
        (None, Operator.ONE_OF, {"met": ["yes"]}, "needs a fact"),
    ],
)
def test_invalid_criteria_are_refused(fact, operator, value, message):
    with pytest.raises(InvalidCriterion, match=message):
        Criterion(fact, operator, value, "test", spec=SPECS.get(fact))


def test_a_value_no_question_can_give_is_refused():
    from webapp.catalog.bank import answers_by_fact
    from webapp.core.engine import validate_criterion

    answers = answers_by_fact(bundled_bank())
    with pytest.raises(InvalidCriterion, match="no question can give 'boston'"):
        validate_criterion(SPECS["conditions"], Operator.ONE_OF, {"met": ["boston"]}, fact="conditions",
                           answers=answers["conditions"])
    validate_criterion(SPECS["conditions"], Operator.ONE_OF, {"met": ["type2"]}, fact="conditions",
                       answers=answers["conditions"])


@pytest.mark.parametrize("criterion, possible", [
    (one_of("veteran", ["yes"], ["no"]), {Outcome.MET, Outcome.UNKNOWN}),  # a "no" is left to the team
    (one_of("type1_own_insulin", ["yes"]), {Outcome.NOT_MET, Outcome.UNKNOWN}),  # a lab value
    (between("age_years", min=18, max=75), {Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN}),
    (between("hba1c", min=7, max=10), {Outcome.NOT_MET, Outcome.UNKNOWN}),
    (Criterion(None, Operator.STUDY_TEAM_CHECKS, {}, "scan"), {Outcome.UNKNOWN}),
])
def test_possible_outcomes_say_what_an_answer_could_change(criterion, possible):
    answers = {"veteran": ["yes", "no"], "type1_own_insulin": ["yes", "no"]}.get(criterion.fact, [])
    assert possible_outcomes(criterion, answers) == possible


def test_assessor_gives_the_same_results_as_assessing_each_trial():
    from webapp.core.engine import Assessor

    shared = (one_of("conditions", ["type1"]), AGE)
    catalog = [shared, shared, (AGE, NEW_ONSET), (one_of("conditions", ["type1"]), AGE), ()]
    for facts in ({"conditions": frozenset({"type1"}), "age_years": 25, DIAGNOSED: 3},
                  {"conditions": frozenset({"type2"}), "age_years": 45}, {}):
        assessor = Assessor(facts)
        for criteria in catalog:
            assert assessor.assess(criteria) == assess(criteria, facts)
