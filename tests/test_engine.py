"""The eligibility engine as a table of cases: criteria in, outcomes and verdicts out.

These tests need no app: the engine is plain Python.
"""

from __future__ import annotations

import pytest

from webapp.core.engine import (Criterion, InvalidCriterion, Operator, Outcome, Unknown, Verdict,
                                assess, evaluate, verdict_for)
from webapp.core.questions import NOT_SURE


def between(fact: str, **bounds) -> Criterion:
    return Criterion(fact, Operator.BETWEEN, bounds, "test")


def one_of(fact: str, met, check=()) -> Criterion:
    return Criterion(fact, Operator.ONE_OF, {"met": list(met), "check": list(check)}, "test")


# Age in whole years: 18 to 30 met, 31 to 40 disputed, outside both not met (NCT04061746).
AGE = between("age_years", min=18, max=30, check_max=40)
# Months since diagnosis: within 3 months met (month 3 is the edge), up to 6 disputed.
NEW_ONSET = between("months_since_type1_diagnosis", max=3, check_max=6)


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
        (NEW_ONSET, {"months_since_type1_diagnosis": 0}, Outcome.MET, None),
        (NEW_ONSET, {"months_since_type1_diagnosis": 2}, Outcome.MET, None),
        (NEW_ONSET, {"months_since_type1_diagnosis": 3}, Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (NEW_ONSET, {"months_since_type1_diagnosis": 6}, Outcome.UNKNOWN, Unknown.DISPUTED_LIMIT),
        (NEW_ONSET, {"months_since_type1_diagnosis": 7}, Outcome.NOT_MET, None),
        (NEW_ONSET, {"months_since_type1_diagnosis": NOT_SURE}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        (between("months_since_type1_diagnosis", max=6), {"months_since_type1_diagnosis": 6},
         Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (between("months_since_type1_diagnosis", min=6), {"months_since_type1_diagnosis": 6},
         Outcome.UNKNOWN, Unknown.AT_LIMIT),
        (between("months_since_type1_diagnosis", min=6), {"months_since_type1_diagnosis": 7},
         Outcome.MET, None),
        # several choices: any chosen option that is met is enough; "not sure" is unknown
        (one_of("conditions", ["type1"]), {"conditions": ["type1", "chronic_pancreatitis"]}, Outcome.MET, None),
        (one_of("conditions", ["type1"]), {"conditions": ["type2"]}, Outcome.NOT_MET, None),
        (one_of("conditions", ["type1"]), {"conditions": [NOT_SURE]}, Outcome.UNKNOWN, Unknown.NOT_SURE),
        # one choice with a "check" band: a "no" the study team must weigh is unknown, not unmet
        (one_of("veteran", ["yes"], ["no"]), {"veteran": "yes"}, Outcome.MET, None),
        (one_of("veteran", ["yes"], ["no"]), {"veteran": "no"}, Outcome.UNKNOWN, Unknown.ANSWER_CHECKED),
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
                                   "months_since_type1_diagnosis": 1})
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
        ("age_years", Operator.BETWEEN, {"min": "18"}, "whole number"),
        ("age_years", Operator.BETWEEN, {"min": 18, "check_min": 20}, "check_min"),
        ("age_years", Operator.BETWEEN, {"max": 30, "check_max": 20}, "check_max"),
        ("age_years", Operator.BETWEEN, {"maximum": 30}, "unexpected"),
        ("veteran", Operator.ONE_OF, {"met": []}, "at least one"),
        ("veteran", Operator.ONE_OF, {"met": ["yes"], "check": ["yes"]}, "only one of"),
        ("cp_pain_duration", Operator.ONE_OF, {"met": ["over_6_months"], "edge": ["over_6_months"]}, "only one of"),
        ("veteran", Operator.ONE_OF, {"met": ["yes"], "maybe": ["no"]}, "unexpected"),
        (None, Operator.ONE_OF, {"met": ["yes"]}, "needs a fact"),
    ],
)
def test_invalid_criteria_are_refused(fact, operator, value, message):
    with pytest.raises(InvalidCriterion, match=message):
        Criterion(fact, operator, value, "test")


def test_assessor_gives_the_same_results_as_assessing_each_trial():
    from webapp.core.engine import Assessor

    shared = (one_of("conditions", ["type1"]), AGE)
    catalog = [shared, shared, (AGE, NEW_ONSET), (one_of("conditions", ["type1"]), AGE), ()]
    for facts in ({"conditions": frozenset({"type1"}), "age_years": 25, "months_since_type1_diagnosis": 3},
                  {"conditions": frozenset({"type2"}), "age_years": 45}, {}):
        assessor = Assessor(facts)
        for criteria in catalog:
            assert assessor.assess(criteria) == assess(criteria, facts)
