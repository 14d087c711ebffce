"""Every page the quality gates audit, in every language and every state a person can reach.

The gates (axe in Chromium, the Nu HTML Checker, security headers, reflow) all walk
`pages_to_audit(app)`. Another area adds its pages by appending one function to PAGE_LISTS,
for example the staff area: `PAGE_LISTS.append(staff_pages)`, where `staff_pages(app)`
returns AuditPage items whose `prepare` signs in.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from webapp.catalog.models import EducationPage
from webapp.catalog.service import load_catalog, read_bundled_catalog
from webapp.catalog.bank import bundled_bank
from webapp.extensions import db

Prepare = Callable[[Any], None]  # takes a Flask test client and brings its session into a state


@dataclass(frozen=True)
class AuditPage:
    name: str  # unique: file names of saved HTML and screenshots, and test reports
    path: str
    lang: str
    prepare: Prepare | None = None
    # Press the page's form button with nothing filled in: the page with its errors.
    submit_empty: bool = False
    status: int = 200
    # What the page is, for gates that treat kinds differently ("question", "results", ...).
    kind: str = "page"


CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def fetch(client, page: AuditPage, **options: Any):  # type: ignore[no-untyped-def]
    """The page as the test client sees it, after `prepare` and an empty submit if asked.

    `options` go to the requests (base_url="https://localhost" for HTTPS, say).
    """
    if page.prepare:
        page.prepare(client)
    response = client.get(page.path, **options)
    if page.submit_empty:
        token = CSRF.search(response.get_data(as_text=True))
        assert token, f"{page.name}: no form with a CSRF token to submit"
        response = client.post(page.path, data={"csrf_token": token.group(1)}, **options)
    assert response.status_code == page.status, (page.name, response.status_code, response.location)
    return response


def month_ago(months: int) -> str:
    today = date.today()
    index = today.year * 12 + today.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


QUESTIONS = bundled_bank().questions

# Answers as the session stores them, one set per kind of results page: every question of the
# bank answered. With the audit catalog (below) every one of them is asked.
EVERY_QUESTION = {
    "conditions": ["type1", "type2", "chronic_pancreatitis", "other_diabetes"], "age": 27, "sex": "female",
    "type1_diagnosed": month_ago(2), "type2_diagnosed": month_ago(40),
    "chronic_pancreatitis_diagnosed": month_ago(30), "other_diabetes_diagnosed": month_ago(20),
    "type1_own_insulin": "not_sure", "insulin_use": "yes",
    "hba1c": {"value": 7.2, "unit": "%"}, "height_weight": {"height": {"cm": 170}, "weight": {"kg": 80}},
    "pregnancy": "no", "cp_pain_duration": "over_6_months", "cp_dose_stable": "yes",
    "cp_procedure_planned": "no", "veteran": "yes", "english": "yes",
    "location": {"lat": 32.7853, "lon": -79.9484, "label": "Charleston, SC 29425"},
}
# Where a person lives, as the session keeps it: near the bundled studies' sites, and far.
NEAR_CHARLESTON = {"lat": 32.7853, "lon": -79.9484, "label": "Charleston, SC 29425"}
NEW_YORK = {"lat": 40.7506, "lon": -73.9973, "label": "New York, NY 10001"}
# Pages a language never shows: English pages take "can you take part in English" as yes.
NEVER_ASKED = {("en", "english")}
RESULTS_ANSWERS = {
    # With the audit catalog (below) the VA study is a fit; STEMCAP-1 needs the study team.
    "fit": {"conditions": ["chronic_pancreatitis"], "age": 45, "cp_pain_duration": "over_6_months",
            "cp_dose_stable": "yes", "cp_procedure_planned": "no", "veteran": "yes",
            "location": NEAR_CHARLESTON},
    "check": {"conditions": ["chronic_pancreatitis"], "age": 45, "cp_pain_duration": "about_6_months",
              "cp_dose_stable": "yes", "cp_procedure_planned": "no", "veteran": "not_sure",
              "location": NEW_YORK},
    "unlikely": {"conditions": ["chronic_pancreatitis"], "age": 45, "cp_pain_duration": "under_6_months",
                 "cp_dose_stable": "no", "cp_procedure_planned": "yes", "veteran": "no",
                 "location": "not_sure"},
    "not-recruiting": {"conditions": ["type1"], "age": 25, "type1_diagnosed": month_ago(2),
                       "type1_own_insulin": "yes", "location": NEAR_CHARLESTON},
    "nothing-fits": {"conditions": ["none"]},
    "under-18": {"conditions": ["type1"], "age": 15, "type1_diagnosed": "not_sure",
                 "type1_own_insulin": "not_sure", "location": "not_sure"},
    "everything": EVERY_QUESTION,
}


def with_answers(answers: dict[str, Any]) -> Prepare:
    def prepare(client) -> None:  # type: ignore[no-untyped-def]
        with client.session_transaction() as session:
            session["answers"] = dict(answers)
    return prepare


def after_clearing(lang: str) -> Prepare:
    """Answers saved, then cleared with the button: the start page shows a message."""
    def prepare(client) -> None:  # type: ignore[no-untyped-def]
        with_answers(EVERY_QUESTION)(client)
        token = CSRF.search(client.get(f"/{lang}/").get_data(as_text=True)).group(1)
        assert client.post(f"/{lang}/clear", data={"csrf_token": token}).status_code == 302
    return prepare


def answers_before(question_id: str) -> dict[str, Any]:
    """EVERY_QUESTION up to, not including, this question: the page a person first sees."""
    ids = [q.id for q in QUESTIONS]
    return {k: v for k, v in EVERY_QUESTION.items() if ids.index(k) < ids.index(question_id)}


def patient_pages(app: Flask) -> list[AuditPage]:
    with app.app_context():
        slugs = db.session.scalars(select(EducationPage.slug).order_by(EducationPage.position)).all()
    pages = []
    for lang in app.config["LANGUAGES"]:
        def page(name: str, path: str, **options: Any) -> None:
            pages.append(AuditPage(f"{lang}-{name}", f"/{lang}{path}", lang, **options))

        page("start", "/")
        page("start-with-answers", "/", prepare=with_answers(EVERY_QUESTION))
        page("start-after-clearing", "/", prepare=after_clearing(lang))
        page("privacy", "/privacy")
        page("learn", "/learn/")
        for slug in slugs:
            page(f"learn-{slug}", f"/learn/{slug}", kind="education")
        for question in QUESTIONS:
            if (lang, question.id) in NEVER_ASKED:
                continue
            first_seen = with_answers(answers_before(question.id))
            page(f"question-{question.id}", f"/questions/{question.id}", prepare=first_seen,
                 kind="question")
            page(f"question-{question.id}-error", f"/questions/{question.id}", prepare=first_seen,
                 submit_empty=True, status=400, kind="question")
            page(f"question-{question.id}-change", f"/questions/{question.id}?change=1",
                 prepare=with_answers(EVERY_QUESTION), kind="question")
        page("check", "/check", prepare=with_answers(EVERY_QUESTION))
        for name, answers in RESULTS_ANSWERS.items():
            page(f"results-{name}", "/results", prepare=with_answers(answers), kind="results")
        page("results-show-all", "/results?show=all", prepare=with_answers(RESULTS_ANSWERS["nothing-fits"]),
             kind="results")
        groups = {"fit": "fit", "check": "check", "unlikely": "unlikely", "closed": "not-recruiting"}
        for group, answers in groups.items():
            page(f"results-group-{group}", f"/results/{group}",
                 prepare=with_answers(RESULTS_ANSWERS[answers]), kind="results")
        page("results-group-check-page-2", "/results/check?page=2",
             prepare=with_answers(RESULTS_ANSWERS["check"]), kind="results")
        page("results-within-100-miles", "/results?within=100", prepare=with_answers(RESULTS_ANSWERS["fit"]),
             kind="results")
        page("sites", "/studies/NCT06205342/sites", prepare=with_answers(RESULTS_ANSWERS["fit"]))
        page("print", "/results/print", prepare=with_answers(RESULTS_ANSWERS["fit"]), kind="print")
        page("print-show-all", "/results/print?show=all",
             prepare=with_answers(RESULTS_ANSWERS["nothing-fits"]), kind="print")
        page("not-found", "/no-such-page", status=404, kind="error")
        page("question-not-found", "/questions/no-such-question", status=404, kind="error")
    return pages


# Functions that list pages to audit; each takes the app and returns AuditPage items.
PAGE_LISTS: list[Callable[[Flask], list[AuditPage]]] = [patient_pages]

# Sample values for URL arguments when a gate visits every rule of the URL map.
URL_ARGUMENTS: dict[str, str] = {"lang_code": "en", "question_id": "conditions", "slug": "new-onset"}

# Flows that end in a redirect to a `next` address, such as a staff sign-in: each takes the app,
# a fresh test client and the `next` value, and returns the response that redirects.
NEXT_FLOWS: list[Callable[[Flask, Any, str], Any]] = []


def pages_to_audit(app: Flask) -> list[AuditPage]:
    pages = [page for page_list in PAGE_LISTS for page in page_list(app)]
    names = [page.name for page in pages]
    assert len(names) == len(set(names)), "audit page names must be unique"
    return pages


def _rule(fact: str, operator: str, value: dict[str, Any], words: str) -> dict[str, Any]:
    return {"fact": fact, "operator": operator, "value": value, "source": "test record",
            "texts": {lang: {"description": words} for lang in ("en", "es", "zh", "ar")}}


# A test record, not a real trial: one study with a rule on every fact of the bank, so every
# question is asked and every question page gets audited.
EVERY_FACT_STUDY = {
    "registry_id": "NCT09999903", "official_title": "Test record: a study with a rule on every fact",
    "status": "RECRUITING", "conditions": ["type2", "other_diabetes"], "facts_checked": "2026-12-01",
    "sources": [{"label": "Test record made for the quality gates (not a real trial)", "url": None}],
    "texts": {lang: {"title": "Test record: a study with a rule on every fact", "summary": "Test record.",
                     "reviewed": False} for lang in ("en", "es", "zh", "ar")},
    "criteria": [
        _rule("conditions", "one_of", {"met": ["type2", "other_diabetes"]}, "Type 2 or another diabetes"),
        _rule("age_years", "between", {"min": 18}, "Adult"),
        _rule("sex", "one_of", {"met": ["female"]}, "Female at birth"),
        _rule("time_since_diagnosis:type2", "between", {"min": 1, "unit": "years"}, "Type 2 for a year"),
        _rule("time_since_diagnosis:chronic_pancreatitis", "between", {"min": 6, "unit": "months"}, "CP 6 months"),
        _rule("time_since_diagnosis:other_diabetes", "between", {"min": 6, "unit": "months"}, "6 months"),
        _rule("insulin_use", "one_of", {"met": ["yes"]}, "Takes insulin"),
        _rule("hba1c", "between", {"min": 7, "max": 10.5}, "A1C 7 to 10.5"),
        _rule("bmi", "between", {"min": 25, "max": 40}, "BMI 25 to 40"),
        _rule("pregnancy", "one_of", {"met": ["no"]}, "Not pregnant"),
        _rule("english", "one_of", {"met": ["yes"]}, "English"),
        _rule("veteran", "one_of", {"met": ["yes"]}, "Veteran"),
    ],
}


def audit_catalog() -> dict[str, Any]:
    """The bundled catalog, less the VA study's one study-team-only criterion, plus a test
    study with a rule on every fact.

    Every bundled trial has a criterion only the study team can check, so none can be
    "may be a fit"; without that one criterion the VA study can, and that group gets audited.
    """
    document = copy.deepcopy(read_bundled_catalog())
    trial = next(t for t in document["trials"] if t["registry_id"] == "NCT05925036")
    trial["criteria"] = [c for c in trial["criteria"] if c["operator"] != "study_team_checks"]
    document["trials"].append(copy.deepcopy(EVERY_FACT_STUDY))
    return document


def make_audit_app(tmp_path) -> Flask:  # type: ignore[no-untyped-def]
    from conftest import make_app

    # One trial per group and per page, so the small catalog also shows "see more" links
    # and page-to-page navigation.
    app = make_app(f"sqlite:///{tmp_path / 'audit.sqlite3'}", tmp_path,
                   RESULTS_PER_GROUP=1, GROUP_PAGE_SIZE=1)
    with app.app_context():
        upgrade()
        load_catalog(audit_catalog())
    return app


def own_script(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """The print view's one script, served by the app from its hashed asset address."""
    source = dict(attrs).get("src") or ""
    return tag == "script" and bool(re.fullmatch(r"/assets/print-[0-9a-f]{12}\.js", source))
