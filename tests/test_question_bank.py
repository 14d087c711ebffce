"""The question bank as catalog data, tried as a new clinic would: real registry studies with an
HbA1c range, a BMI limit and a sex limit become screenable without a line of Python; a study
with lines nobody went through is never "may be a fit"; an admin's new question is asked exactly
when a shown study uses it.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from conftest import RECORDS, Screener, card, months_ago, page_token, verdicts
from webapp.catalog.models import CatalogQuestion, Trial
from webapp.core.eligibility_text import split_lines
from webapp.extensions import db

REGISTRY = RECORDS / "registry"
TYPE2_STUDY = "NCT06772168"  # type 2 diabetes; HbA1c 7.0 to 10.5 %; BMI 15 to 40; age 19 to 80
FEMALE_STUDY = "NCT06557317"  # type 2 diabetes; female only; age 12 to 18


def import_record(client, registry_id: str) -> None:
    token = page_token(client, "/staff/import")
    text = (REGISTRY / f"{registry_id}.json").read_text("utf-8")
    response = client.post("/staff/import", data={"csrf_token": token, "record": text})
    assert response.status_code == 200 and registry_id in response.get_data(as_text=True)


def trial_of(app, registry_id: str) -> Trial:
    with app.app_context():
        trial = db.session.scalar(select(Trial).where(Trial.registry_id == registry_id))
        db.session.expunge(trial)
        return trial


def version(app, registry_id: str) -> str:
    return str(trial_of(app, registry_id).version)


def show(client, app, registry_id: str):  # type: ignore[no-untyped-def]
    trial = trial_of(app, registry_id)
    token = page_token(client, f"/staff/trials/{trial.id}")
    return client.post(f"/staff/trials/{trial.id}/show", data={"csrf_token": token, "version": str(trial.version)},
                       follow_redirects=True)


def lines_of(app, registry_id: str):  # type: ignore[no-untyped-def]
    return split_lines(trial_of(app, registry_id).eligibility_text)


def mark_line(client, app, registry_id: str, key: str, state: str) -> None:
    trial = trial_of(app, registry_id)
    token = page_token(client, f"/staff/trials/{trial.id}")
    response = client.post(f"/staff/trials/{trial.id}/lines/{key}",
                           data={"csrf_token": token, "version": str(trial.version), "state": state})
    assert response.status_code == 302


def add_criterion(client, app, registry_id: str, fields: dict, line_key: str | None = None) -> None:
    trial = trial_of(app, registry_id)
    path = f"/staff/trials/{trial.id}/criteria/new"
    token = page_token(client, path)
    data = {"csrf_token": token, "version": str(trial.version), "step": "save", **fields}
    if line_key:
        data["line"] = line_key
    response = client.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2500:]


def test_a_new_clinic_screens_real_registry_studies_on_what_they_ask(admin_client, app):
    import_record(admin_client, TYPE2_STUDY)
    import_record(admin_client, FEMALE_STUDY)
    female = trial_of(app, FEMALE_STUDY)
    # The registry's own limits became criteria: conditions (mapped by wording), age, sex.
    with app.app_context():
        rows = db.session.get(Trial, female.id).criteria
        assert [(c.fact, c.value) for c in rows] == [
            ("conditions", {"met": ["type2"]}), ("age_years", {"min": 12, "max": 18}),
            ("sex", {"met": ["female"]})]
        assert rows[2].texts["ar"]["description"] and rows[2].texts["zh"]["reviewed"] is False
    show(admin_client, app, TYPE2_STUDY)
    show(admin_client, app, FEMALE_STUDY)
    assert not trial_of(app, TYPE2_STUDY).archived and trial_of(app, TYPE2_STUDY).untriaged_lines == 29

    # Before staff go through its lines, a study is at best "might be a fit", with the reason.
    person = Screener(app.test_client())
    asked = person.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "50"}})
    assert asked == ["conditions", "age", "location"]  # its sites are located: how near is it?
    html = person.results_html()
    assert verdicts(html)[TYPE2_STUDY] == "check"
    assert "This study has other rules that we have not turned into questions yet." in card(html, TYPE2_STUDY)

    # Staff go through every line: the HbA1c and BMI lines become criteria, the rest are marked.
    lines = lines_of(app, TYPE2_STUDY)
    hba1c = next(l for l in lines if l.number == 10)
    bmi = next(l for l in lines if "body mass index" in l.text)
    add_criterion(admin_client, app, TYPE2_STUDY, {
        "fact": "hba1c", "minimum": "7,0", "maximum": "10.5", "unit": "%", "min_inclusive": "y",
        "max_inclusive": "y", "description_en": "Your A1C is from 7.0 % to 10.5 %",
        "if_not_met_en": "This study is for people whose A1C is from 7.0 % to 10.5 %.",
        "description_ar": "نتيجة A1C لديك من 7.0 % إلى 10.5 %"}, line_key=hba1c.key)
    add_criterion(admin_client, app, TYPE2_STUDY, {
        "fact": "bmi", "minimum": "15", "maximum": "40", "min_inclusive": "y", "max_inclusive": "y",
        "description_en": "Your BMI is from 15 to 40"}, line_key=bmi.key)
    for line in lines:
        if line.key not in (hba1c.key, bmi.key):
            mark_line(admin_client, app, TYPE2_STUDY, line.key,
                      "not_about_patient" if "consent" in line.text.lower() else "study_team")
    assert trial_of(app, TYPE2_STUDY).untriaged_lines == 0

    # A patient inside the ranges: might be a fit (HbA1c is a lab value the team tests again),
    # every reason shown, the new questions asked (decimal A1C, height and weight).
    inside = Screener(app.test_client())
    asked = inside.questions_asked({
        "conditions": {"answer": ["type2"]}, "age": {"answer": "50"},
        "hba1c": {"value": "8,1", "unit": "%"}, "height_weight": {"cm": "175", "kg": "85"}})
    assert asked == ["conditions", "age", "hba1c", "height_weight", "location"]
    html = inside.results_html()
    assert verdicts(html)[TYPE2_STUDY] == "check"
    study = card(html, TYPE2_STUDY)
    assert "You answered: 8.1 %. A blood test will confirm this." in study
    assert "You answered: 175 cm, 85 kg (BMI 27.8). This matches what the study asks for." in study
    # The lines staff left to the study team are one reason: the study is at best "might be a fit".
    assert "This study has other rules" not in study
    assert "Other rules the study team checks" in study and "Only the study team can check these." in study

    # Above the HbA1c range: probably not, and why.
    above = Screener(app.test_client())
    above.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "50"},
                           "hba1c": {"value": "97", "unit": "mmol/mol"}})  # 11.0 %: nothing else to ask
    study = card(above.results_html(), TYPE2_STUDY)
    assert 'data-verdict="unlikely"' in study
    assert "This study is for people whose A1C is from 7.0 % to 10.5 %." in study

    # A man is never offered the female-only study as a fit; he is asked his sex.
    man = Screener(app.test_client())
    asked = man.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "15"},
                                 "sex": {"answer": "male"}})
    assert asked == ["conditions", "age", "sex"]
    html = man.results_html()
    assert verdicts(html)[FEMALE_STUDY] == "unlikely"
    assert "This study is only for people assigned female at birth." in card(html, FEMALE_STUDY)
    # "Prefer not to say" is unknown, never "not met"; untriaged lines keep it from "may be a fit".
    unsaid = Screener(app.test_client())
    unsaid.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "15"},
                            "sex": {"answer": "prefer_not_to_say"}, "pregnancy": {"answer": "no"}})
    assert verdicts(unsaid.results_html())[FEMALE_STUDY] == "check"


def test_a_study_with_no_condition_the_catalog_knows_cannot_be_shown(admin_client, app):
    record = json.loads((REGISTRY / FEMALE_STUDY).with_suffix(".json").read_text("utf-8"))
    record["protocolSection"]["identificationModule"]["nctId"] = "NCT09999920"
    record["protocolSection"]["conditionsModule"]["conditions"] = ["Adolescent Obesity"]
    token = page_token(admin_client, "/staff/import")
    admin_client.post("/staff/import", data={"csrf_token": token, "record": json.dumps(record)})
    html = show(admin_client, app, "NCT09999920").get_data(as_text=True)
    assert "cannot be shown to patients" in html and "Adolescent Obesity" in html
    assert trial_of(app, "NCT09999920").archived


def test_the_criterion_editor_offers_each_facts_real_answers(admin_client, app):
    tid = trial_of(app, "NCT05925036").id
    choice = admin_client.get(f"/staff/trials/{tid}/criteria/new?fact=cp_pain_duration").get_data(as_text=True)
    for value in ("under_6_months", "about_6_months", "over_6_months", "no_pain"):
        assert f'name="answer-{value}"' in choice
    number = admin_client.get(f"/staff/trials/{tid}/criteria/new?fact=hba1c").get_data(as_text=True)
    assert re.search(r'<option[^>]*value="mmol/mol"', number) and 'name="maximum"' in number
    duration = admin_client.get(f"/staff/trials/{tid}/criteria/new?fact=time_since_diagnosis:type2").get_data(as_text=True)
    for unit in ("days", "weeks", "months", "years"):
        assert re.search(rf'<option[^>]*value="{unit}"', duration), unit
    # A limit the fact cannot have, or a value no question gives, is refused with the reason.
    token = page_token(admin_client, f"/staff/trials/{tid}/criteria/new")
    base = {"csrf_token": token, "version": version(app, "NCT05925036"), "step": "save", "description_en": "x"}
    refused = admin_client.post(f"/staff/trials/{tid}/criteria/new", data={**base, "fact": "hba1c", "maximum": "six"})
    assert refused.status_code == 400 and "is not a number" in refused.get_data(as_text=True)
    refused = admin_client.post(f"/staff/trials/{tid}/criteria/new",
                                data={**base, "fact": "time_since_diagnosis:type2", "minimum": "5", "unit": "fortnights"})
    assert refused.status_code == 400 and "must be one of days" in refused.get_data(as_text=True)
    saved = admin_client.post(f"/staff/trials/{tid}/criteria/new",
                              data={**base, "fact": "time_since_diagnosis:type2", "minimum": "5", "unit": "years",
                                    "min_inclusive": "y", "max_inclusive": "y"})
    assert saved.status_code == 302


def create_question(admin_client) -> None:
    token = page_token(admin_client, "/staff/bank/questions/new")
    response = admin_client.post("/staff/bank/questions/new", data={
        "csrf_token": token, "key": "insulin_pump", "kind": "one_choice", "new_fact": "insulin_pump",
        "text_en": "Do you use an insulin pump?", "short_label_en": "Uses an insulin pump",
        "options": "yes | Yes\nno | No\nnot_sure | Not sure | unknown", "caregiver_hint": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    words = {"es": ("¿Usa una bomba de insulina?", "Usa bomba de insulina", "Sí", "No", "No sé"),
             "zh": ("您使用胰岛素泵吗？", "使用胰岛素泵", "是", "否", "不确定"),
             "ar": ("هل تستخدم مضخة إنسولين؟", "يستخدم مضخة إنسولين", "نعم", "لا", "لست متأكدًا")}
    row_id = response.location.rsplit("/", 1)[1]
    for lang, (text, short, yes, no, unsure) in words.items():
        path = f"/staff/bank/questions/{row_id}/texts/{lang}"
        html = admin_client.get(path).get_data(as_text=True)
        loaded = html.split('name="loaded" type="hidden" value="', 1)[1].split('"', 1)[0].replace("&#34;", '"')
        version_now = html.split('name="version" type="hidden" value="', 1)[1].split('"', 1)[0]
        response = admin_client.post(path, data={
            "csrf_token": page_token(admin_client, path), "version": version_now, "loaded": loaded,
            "text": text, "short_label": short, "option-yes-label": yes, "option-no-label": no,
            "option-not_sure-label": unsure})
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]


def test_an_admins_new_question_is_asked_exactly_when_a_shown_study_uses_it(admin_client, app):
    create_question(admin_client)
    patient = Screener(app.test_client(), "es")
    assert "insulin_pump" not in patient.questions_asked({"conditions": {"answer": ["type1"]}, "age": {"answer": "25"},
                                                          "type1_diagnosed": months_ago(1),
                                                          "type1_own_insulin": {"answer": "yes"}})
    # A study starts to use it: the type 1 study takes people who use a pump.
    add_criterion(admin_client, app, "NCT04061746", {"fact": "insulin_pump", "answer-yes": "met",
                                                     "answer-no": "not_met", "description_en": "You use an insulin pump",
                                                     "description_es": "Usa una bomba de insulina"})
    patient = Screener(app.test_client(), "es")
    asked = patient.questions_asked({"conditions": {"answer": ["type1"]}, "age": {"answer": "25"},
                                     "type1_diagnosed": months_ago(1), "type1_own_insulin": {"answer": "yes"},
                                     "insulin_pump": {"answer": "no"}})
    assert asked[-1] == "insulin_pump"
    page = patient.client.get("/es/questions/insulin_pump?change=1").get_data(as_text=True)
    assert "¿Usa una bomba de insulina?" in page and "No sé" in page
    assert verdicts(patient.results_html())["NCT04061746"] == "unlikely"
    # Not for people the study is not about, and not once the study is hidden.
    other = Screener(app.test_client(), "es")
    assert "insulin_pump" not in other.questions_asked({
        "conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
        "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"},
        "cp_procedure_planned": {"answer": "no"}})
    trial = trial_of(app, "NCT04061746")
    admin_client.post(f"/staff/trials/{trial.id}/archive",
                      data={"csrf_token": page_token(admin_client, f"/staff/trials/{trial.id}"),
                            "version": str(trial.version)})
    hidden = Screener(app.test_client(), "es")
    assert hidden.questions_asked({"conditions": {"answer": ["type1"]}}) == ["conditions"]
    with app.app_context():
        assert db.session.scalar(select(CatalogQuestion.key).where(CatalogQuestion.key == "insulin_pump"))


def test_the_preview_shows_the_questionnaire_for_chosen_studies(admin_client):
    html = admin_client.get("/staff/preview?trials=NCT05925036&conditions=chronic_pancreatitis").get_data(as_text=True)
    assert 'data-question="cp_pain_duration" data-asked="yes"' in html
    assert 'data-question="cp_procedure_planned" data-asked="no"' in html  # only STEMCAP-1 asks it
    assert 'data-question="veteran" data-asked="no"' in html


def test_commands_import_and_show_or_hide(runner, app):
    result = runner.invoke(args=["trials", "import-ctgov", "--show", str(REGISTRY / "diabetes-studies.json")])
    assert result.exit_code == 0, result.output
    shown = [line for line in result.output.splitlines() if "shown to patients" in line]
    refused = [line for line in result.output.splitlines() if "cannot be shown" in line]
    assert len(shown) + len(refused) == 234 and shown and refused
    assert "Prediabetes" in next(line for line in refused if line.startswith("NCT07235358"))
    result = runner.invoke(args=["trials", "hide", TYPE2_STUDY])
    assert result.exit_code == 0 and trial_of(app, TYPE2_STUDY).archived
    result = runner.invoke(args=["trials", "show", TYPE2_STUDY])
    assert result.exit_code == 0 and not trial_of(app, TYPE2_STUDY).archived
    result = runner.invoke(args=["trials", "show", "NCT07235358"])
    assert result.exit_code != 0 and "cannot be shown" in result.output
    # Every imported study with registry lines is at best "check" until staff go through them.
    patient = Screener(app.test_client())
    patient.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "50"},
                             "sex": {"answer": "female"}, "pregnancy": {"answer": "no"}, "insulin_use": {"answer": "no"},
                             "hba1c": {"not_sure": "y"}, "height_weight": {"not_sure": "y"},
                             "english": {"answer": "yes"}, "type2_diagnosed": months_ago(30)})
    assert "fit" not in set(verdicts(patient.results_html("?show=all")).values())


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_results_for_new_kinds_read_in_the_persons_language(admin_client, app, lang):
    import_record(admin_client, FEMALE_STUDY)
    show(admin_client, app, FEMALE_STUDY)
    person = Screener(app.test_client(), lang)
    person.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "16"},
                            "sex": {"answer": "female"}, "pregnancy": {"answer": "no"}})
    html = card(person.results_html(), FEMALE_STUDY)
    said = {"en": "You answered: Female. This matches what the study asks for.",
            "ar": "إجابتك: أنثى. هذا يتوافق مع ما تطلبه الدراسة."}[lang]
    assert said in html


def test_a_facts_label_is_written_in_each_language(admin_client, app):
    from webapp.catalog.models import CatalogFact
    from webapp.staff.models import AuditEvent

    with app.app_context():
        fact = db.session.scalar(select(CatalogFact).where(CatalogFact.key == "bmi"))
        row_id, before = fact.id, fact.version
        assert fact.texts["ar"]["label"] and fact.texts["ar"]["reviewed"] is False
    path = f"/staff/bank/facts/{row_id}/texts/ar"
    html = admin_client.get(path).get_data(as_text=True)
    assert 'dir="rtl"' in html and "Body mass index from height and weight" in html
    loaded = html.split('name="loaded" type="hidden" value="', 1)[1].split('"', 1)[0].replace("&#34;", '"')
    empty = admin_client.post(path, data={"csrf_token": page_token(admin_client, path), "version": str(before),
                                          "loaded": loaded, "label": " "})
    assert empty.status_code == 400
    response = admin_client.post(path, data={"csrf_token": page_token(admin_client, path), "version": str(before),
                                             "loaded": loaded, "label": "مؤشر كتلة الجسم", "reviewed": "y"})
    assert response.status_code == 302
    with app.app_context():
        fact = db.session.get(CatalogFact, row_id)
        assert fact.texts["ar"] == {"label": "مؤشر كتلة الجسم", "reviewed": True}
        assert fact.texts["en"]["label"] == "Body mass index from height and weight"
        assert fact.version == before + 1 and fact.staff_edited
        assert db.session.scalar(select(AuditEvent.summary).where(AuditEvent.action == "fact.texts"))
    # Saving again from the page loaded before is a conflict, not a silent overwrite.
    stale = admin_client.post(path, data={"csrf_token": page_token(admin_client, path), "version": str(before),
                                          "loaded": loaded, "label": "شيء آخر"})
    assert stale.status_code == 409


def test_a_limit_left_unticked_is_strict(admin_client, app):
    from webapp.catalog.models import Criterion

    tid = trial_of(app, "NCT05925036").id
    path = f"/staff/trials/{tid}/criteria/new"
    saved = admin_client.post(path, data={
        "csrf_token": page_token(admin_client, path), "version": version(app, "NCT05925036"), "step": "save",
        "fact": "bmi", "maximum": "40", "description_en": "Your BMI is below 40"})  # "maximum allowed" unticked
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    with app.app_context():
        value = db.session.scalar(select(Criterion.value).where(Criterion.trial_id == tid, Criterion.fact == "bmi"))
    assert value == {"max": 40, "max_inclusive": False}


def test_the_conditions_question_keeps_its_id():
    from webapp.catalog.schema import CatalogError, validate_catalog
    from webapp.catalog.service import read_bundled_catalog

    document = read_bundled_catalog()
    document["questions"][0]["id"] = "diagnoses"
    with pytest.raises(CatalogError, match="keeps the id 'conditions'"):
        validate_catalog(document)


@pytest.mark.parametrize("wording, expected", [
    ("Diabetes Insipidus", []), ("Pre-diabetes", []), ("Prediabetes", []), ("Non-type 1 diabetes", []),
    ("Diabetes", ["type1", "type2", "other_diabetes"]), ("Diabetes Mellitus, Type 2", ["type2"]),
    ("Type 1 Diabetes Mellitus in Children", ["type1"]), ("Type 1 Diabetes (T1D)", ["type1"]),
])
def test_registry_condition_wordings(wording, expected):
    from webapp.catalog.bank import bundled_document
    from webapp.core.registry_conditions import match_conditions

    terms = {c["id"]: c["registry_terms"] for c in bundled_document()["conditions"]}
    assert match_conditions([wording], terms) == expected


def test_a_record_without_eligibility_text_is_never_may_be_a_fit(admin_client, app):
    record = json.loads((REGISTRY / f"{TYPE2_STUDY}.json").read_text())
    assert record["protocolSection"]["eligibilityModule"].pop("eligibilityCriteria")
    token = page_token(admin_client, "/staff/import")
    response = admin_client.post("/staff/import", data={"csrf_token": token, "record": json.dumps(record)})
    assert response.status_code == 200
    trial = trial_of(app, TYPE2_STUDY)
    with app.app_context():
        from webapp.catalog.models import Criterion

        rules = db.session.execute(select(Criterion.fact, Criterion.operator, Criterion.texts)
                                   .where(Criterion.trial_id == trial.id)).all()
    team = [texts for fact, operator, texts in rules if operator == "study_team_checks"]
    assert team and team[0]["es"]["description"] == "El registro no indica quién puede participar en este estudio"
    show(admin_client, app, TYPE2_STUDY)
    person = Screener(app.test_client())
    person.questions_asked({"conditions": {"answer": ["type2"]}, "age": {"answer": "50"},
                            "sex": {"answer": "female"}})
    assert verdicts(person.results_html())[TYPE2_STUDY] == "check"
