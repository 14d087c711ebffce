"""The question bank as data: kinds and validation, skips, facts, and asking only what matters.

No app is needed: the bank and the studies come from the bundled catalog file.
"""

from __future__ import annotations

from datetime import date

import pytest

from webapp.catalog.bank import bank_from, bundled_bank, bundled_document
from webapp.catalog.snapshot import criterion_for
from webapp.core import asking
from webapp.core import questions as q
from webapp.core.dates import YearMonth, earliest_birth_month, whole_months_between
from webapp.core.screening import CatalogIndex, TrialSpec
from webapp.catalog.bank import answers_by_fact

TODAY = date(2026, 11, 21)
BANK = bundled_bank()


def bundled_index(document=None) -> CatalogIndex:
    document = document or bundled_document()
    bank = bank_from(document)
    specs = [TrialSpec(t["registry_id"], t["status"], tuple(t["conditions"]),
                       tuple(criterion_for(c["fact"], c["operator"], c["value"], bank.facts) for c in t["criteria"]))
             for t in document["trials"] if not t.get("archived")]
    return CatalogIndex(specs, answers_by_fact(bank))


INDEX = bundled_index()


def ids(questions):
    return [question.id for question in questions]


def asked(answers, lang="en", scope=None):
    current = asking.plan(BANK, INDEX, answers, TODAY, lang, scope)
    return ids(current.asked) + ids(current.remaining)


def test_the_bank_has_the_standard_facts_and_no_question_text_in_code():
    assert {"conditions", "age_years", "sex", "hba1c", "bmi", "pregnancy", "english", "insulin_use",
            "time_since_diagnosis:type1", "time_since_diagnosis:type2"} <= set(BANK.facts)
    assert BANK.first.id == "conditions" and BANK.first.kind is q.Kind.CONDITIONS
    for question in BANK.questions:
        assert question.facts and all(f in BANK.facts for f in question.facts), question.id
    source = open(q.__file__, encoding="utf-8").read()
    assert "Which of these has a doctor told you" not in source and "Charleston" not in source


def test_not_sure_is_offered_wherever_a_person_might_not_know():
    for question in BANK.questions:
        if question.is_choice:
            assert any(o.unknown for o in question.options), question.id
        else:
            # numbers a person knows (age); the rest have their own "not sure" box
            assert question.has_not_sure_box or question.kind is q.Kind.WHOLE_NUMBER, question.id


@pytest.mark.parametrize(
    "conditions, expected",
    [
        # No listed study is about type 2 or "none": nothing more can change a verdict.
        (["type2"], ["conditions"]),
        (["none"], ["conditions"]),
        (["type1"], ["conditions", "age", "type1_diagnosed", "type1_own_insulin"]),
        (["chronic_pancreatitis"], ["conditions", "age", "cp_pain_duration", "cp_dose_stable",
                                    "cp_procedure_planned"]),
        (["type1", "chronic_pancreatitis"], ["conditions", "age", "type1_diagnosed", "type1_own_insulin",
                                             "cp_pain_duration", "cp_dose_stable", "cp_procedure_planned"]),
        # "Not sure" asks the follow-ups of every condition a listed study turns on.
        (["not_sure"], ["conditions", "age", "type1_diagnosed", "type1_own_insulin", "cp_pain_duration",
                        "cp_dose_stable", "cp_procedure_planned"]),
    ],
)
def test_only_questions_that_can_change_a_verdict_are_asked(conditions, expected):
    assert asked({"conditions": conditions}) == expected


def test_a_study_ruled_out_keeps_no_question_open():
    # 45 is too old for the type 1 study (18 to 30, one source 40): its questions stop.
    assert asked({"conditions": ["type1"], "age": 45}) == ["conditions", "age"]
    assert asked({"conditions": ["type1"], "age": 35}) == ["conditions", "age", "type1_diagnosed",
                                                           "type1_own_insulin"]


def test_a_share_link_narrows_the_questions_to_its_studies():
    only_va = INDEX.bits_for(["NCT05925036"])
    assert asked({"conditions": ["chronic_pancreatitis"]}, scope=only_va) == [
        "conditions", "cp_pain_duration", "cp_dose_stable"]


def study(registry_id, *criteria, conditions=("type2",)) -> TrialSpec:
    return TrialSpec(registry_id, "RECRUITING", conditions, tuple(criteria))


def rule(fact, operator, value):
    return criterion_for(fact, operator, value, BANK.facts)


def test_new_facts_are_asked_exactly_when_a_study_uses_them():
    index = CatalogIndex([
        study("NCT09999911", rule("conditions", "one_of", {"met": ["type2"]}),
              rule("hba1c", "between", {"min": 7, "max": 10.5, "unit": "%"}),
              rule("bmi", "between", {"max": 40}),
              rule("sex", "one_of", {"met": ["female"]}),
              rule("pregnancy", "one_of", {"met": ["no"]})),
    ], answers_by_fact(BANK))
    plan = asking.plan(BANK, index, {"conditions": ["type2"]}, TODAY, "es")
    assert ids(plan.remaining) == ["sex", "hba1c", "height_weight", "pregnancy"]
    # A man is not asked about pregnancy (his answer is taken as "no"), and is ruled out by sex.
    plan = asking.plan(BANK, index, {"conditions": ["type2"], "sex": "male"}, TODAY, "es")
    assert ids(plan.remaining) == []
    assert plan.facts["pregnancy"] == frozenset({"no"})
    # Nobody else's study uses them: a type 1 person is asked none of these.
    assert ids(asking.plan(BANK, index, {"conditions": ["type1"]}, TODAY, "es").remaining) == []


def test_english_is_asked_only_on_other_languages_pages():
    index = CatalogIndex([study("NCT09999912", rule("conditions", "one_of", {"met": ["type2"]}),
                                rule("english", "one_of", {"met": ["yes"]}))], answers_by_fact(BANK))
    assert ids(asking.plan(BANK, index, {"conditions": ["type2"]}, TODAY, "en").remaining) == []
    assert asking.plan(BANK, index, {"conditions": ["type2"]}, TODAY, "en").facts["english"] == frozenset({"yes"})
    assert ids(asking.plan(BANK, index, {"conditions": ["type2"]}, TODAY, "zh").remaining) == ["english"]


def test_questions_are_asked_in_order_with_a_truthful_progress_hint():
    current = asking.plan(BANK, INDEX, {"conditions": ["type1"]}, TODAY)
    assert asking.can_ask(current, "age")
    assert not asking.can_ask(current, "type1_diagnosed")
    assert not asking.can_ask(current, "veteran")
    later = asking.plan(BANK, INDEX, {"conditions": ["type1"], "age": 30}, TODAY)
    assert asking.previous_question(BANK, later, "type1_diagnosed").id == "age"
    assert asking.progress(BANK, current, "age") == asking.Progress(2, 4, total_known=True, at_most=True)
    first = asking.plan(BANK, INDEX, {}, TODAY)
    assert asking.progress(BANK, first, "conditions").total_known is False


CONDITIONS = BANK.by_id["conditions"]
AGE = BANK.by_id["age"]
DIAGNOSED = BANK.by_id["type1_diagnosed"]
VETERAN = BANK.by_id["veteran"]
HBA1C = BANK.by_id["hba1c"]
HEIGHT_WEIGHT = BANK.by_id["height_weight"]
SEX = BANK.by_id["sex"]


@pytest.mark.parametrize(
    "question, raw, age, expected",
    [
        (CONDITIONS, ["chronic_pancreatitis", "type1"], None, ["type1", "chronic_pancreatitis"]),
        (CONDITIONS, ["type1", "type1"], None, ["type1"]),
        (CONDITIONS, "not_sure", None, ["not_sure"]),
        (AGE, " 45 ", None, 45),
        (AGE, "٤٥", None, 45),
        (AGE, "0", None, 0),
        (AGE, "120", None, 120),
        (VETERAN, "not_sure", None, "not_sure"),
        (SEX, "prefer_not_to_say", None, "prefer_not_to_say"),
        (DIAGNOSED, {"month": "11", "year": "2026"}, 25, "2026-11"),
        (DIAGNOSED, {"month": "", "year": "", "not_sure": True}, 25, "not_sure"),
        # born between 22 Nov 2000 and 21 Nov 2001: November 2000 is still possible
        (DIAGNOSED, {"month": "11", "year": "2000"}, 25, "2000-11"),
        (HBA1C, {"value": "7,2", "unit": "%"}, None, {"value": 7.2, "unit": "%"}),
        (HBA1C, {"value": "٧٫٢", "unit": "%"}, None, {"value": 7.2, "unit": "%"}),
        (HBA1C, {"value": "55", "unit": "mmol/mol"}, None, {"value": 55.0, "unit": "mmol/mol"}),
        (HBA1C, {"not_sure": True}, None, "not_sure"),
        (HEIGHT_WEIGHT, {"cm": "170", "kg": "80,5"}, None, {"height": {"cm": 170.0}, "weight": {"kg": 80.5}}),
        (HEIGHT_WEIGHT, {"ft": "5", "in": "7", "lb": "176"}, None,
         {"height": {"ft": 5.0, "in": 7.0}, "weight": {"lb": 176.0}}),
    ],
)
def test_valid_answers_are_cleaned(question, raw, age, expected):
    assert question.clean(raw, TODAY, age) == expected


@pytest.mark.parametrize(
    "question, raw, age, code, part",
    [
        (CONDITIONS, [], None, "required", None),
        (CONDITIONS, ["type3"], None, "choose_shown", None),
        (CONDITIONS, ["none", "type1"], None, "exclusive", None),
        (AGE, "", None, "required", None),
        (AGE, "forty", None, "format", None),
        (AGE, "4.5", None, "format", None),
        (AGE, "-1", None, "format", None),
        (AGE, "121", None, "range", None),
        (AGE, "٤٥x", None, "format", None),  # digits in another script, but not a number
        (AGE, "1" * 4400, None, "format", None),  # far too long: refused, never an int()
        (VETERAN, None, None, "required", None),
        (VETERAN, "maybe", None, "choose_shown", None),
        (DIAGNOSED, {}, 25, "required", "month"),
        (DIAGNOSED, {"month": "", "year": "2024"}, 25, "month_missing", "month"),
        (DIAGNOSED, {"month": "13", "year": "2024"}, 25, "month_invalid", "month"),
        (DIAGNOSED, {"month": "3", "year": ""}, 25, "year_missing", "year"),
        (DIAGNOSED, {"month": "3", "year": "24"}, 25, "year_invalid", "year"),
        (DIAGNOSED, {"month": "12", "year": "2026"}, 25, "future", "year"),
        (DIAGNOSED, {"month": "10", "year": "2000"}, 25, "before_birth", "year"),
        (HBA1C, {"value": "", "unit": "%"}, None, "required", "value"),
        (HBA1C, {"value": "seven", "unit": "%"}, None, "format", "value"),
        (HBA1C, {"value": "7.2", "unit": "mg/dL"}, None, "unit", "unit"),
        (HBA1C, {"value": "72", "unit": "%"}, None, "range", "value"),
        (HEIGHT_WEIGHT, {}, None, "required", "height"),
        (HEIGHT_WEIGHT, {"cm": "170", "ft": "5", "kg": "80"}, None, "height_twice", "height"),
        (HEIGHT_WEIGHT, {"cm": "170"}, None, "weight_missing", "weight"),
        (HEIGHT_WEIGHT, {"cm": "17", "kg": "80"}, None, "height_range", "height"),
        (HEIGHT_WEIGHT, {"cm": "170", "kg": "8000"}, None, "weight_range", "weight"),
    ],
)
def test_invalid_answers_get_plain_messages(question, raw, age, code, part):
    with pytest.raises(q.InvalidAnswer) as caught:
        question.clean(raw, TODAY, age)
    assert caught.value.code == code
    assert caught.value.message  # a gettext-marked interface sentence
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


def test_facts_from_answers():
    facts, _ = BANK.walk({"conditions": ["type1"], "age": 25, "type1_diagnosed": "2026-09",
                          "type1_own_insulin": "yes", "hba1c": {"value": 53, "unit": "mmol/mol"},
                          "height_weight": {"height": {"ft": 5, "in": 7}, "weight": {"lb": 176}},
                          "sex": "prefer_not_to_say"}, TODAY, "en")
    assert facts["conditions"] == frozenset({"type1"}) and facts["age_years"] == 25
    assert facts["time_since_diagnosis:type1"] == 2
    assert facts["type1_own_insulin"] == frozenset({"yes"})
    assert facts["hba1c"] == 7.0  # 53 mmol/mol
    assert facts["bmi"] == 27.6
    assert facts["sex"] == frozenset({"not_sure"})  # "prefer not to say" is unknown
    assert facts["english"] == frozenset({"yes"})  # an English page
    facts, _ = BANK.walk({"conditions": ["type1"], "type1_diagnosed": "not_sure"}, TODAY, "en")
    assert facts["time_since_diagnosis:type1"] == "not_sure"


def test_a_cookie_is_never_trusted():
    stored = {"conditions": ["type1"], "age": "25", "hba1c": {"value": "7", "unit": "%"},
              "height_weight": {"height": {"cm": 1e9}, "weight": {"kg": 80}}, "nonsense": 1,
              "sex": "female"}
    assert BANK.usable_answers(stored) == {"conditions": ["type1"], "sex": "female"}
    # A question for a condition no longer chosen is dropped.
    assert BANK.relevant_answers({"conditions": ["type2"], "type1_diagnosed": "2026-01"}) == {"conditions": ["type2"]}
