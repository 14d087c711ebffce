"""The corrections from the medical and translation review and the first-day walk-through.

Each test names the review item it proves, so a regression points back at the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

from conftest import Screener, card, create_staff, sign_in
from webapp.catalog.service import read_bundled_catalog
from webapp.screener.presenters import VERDICT_HEADINGS, VERDICT_SHORT
from webapp.core.engine import Verdict

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("en", "es", "zh", "ar")
CP_PERSON = {
    "conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
    "cp_pain_duration": {"answer": "about_6_months"}, "cp_dose_stable": {"answer": "yes"},
    "cp_procedure_planned": {"answer": "no"},
}


@pytest.fixture
def audit_client(empty_app):
    """The audit catalog: the VA study can be a fit there, so its veteran question is asked."""
    from audit_pages import audit_catalog
    from webapp.catalog.service import load_catalog

    with empty_app.app_context():
        load_catalog(audit_catalog())
    return empty_app.test_client()


def pages_by_slug():
    return {p["slug"]: p for p in read_bundled_catalog()["education_pages"]}


# --- 1. a registry listing is not a check ------------------------------------------------------

@pytest.mark.parametrize("lang, says", [
    ("en", "does not mean a study is safe, approved or checked"),
    ("es", "no significa que sea seguro, que esté aprobado ni que alguien lo haya revisado"),
    ("zh", "并不代表它安全、获得批准或经过审核"),
    ("ar", "لا يعني أنها آمنة أو معتمدة أو أن أحدًا راجعها"),
])
def test_unproven_clinics_page_says_a_listing_is_not_a_check(lang, says):
    page = pages_by_slug()["unproven-clinics"]
    body = page["texts"][lang]["body"]
    assert says in body
    assert "NCT" in body and "ClinicalTrials.gov" in body
    # The old advice that an NCT number marks a real trial is gone.
    assert "registry number that starts with" not in body and "Ask for the registry number" not in body
    urls = {s["url"] for s in page["sources"]}
    assert "https://clinicaltrials.gov/about-site/disclaimer" in urls
    assert "https://doi.org/10.2217/rme-2017-0015" in urls  # pay-to-participate listings


def test_every_registry_search_link_carries_the_caution(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["type2"]}})
    html = screener.results_html()
    searches = html.count("https://clinicaltrials.gov/search?")
    assert searches >= 1
    panel = html[html.index('id="nothing-fits"'):]
    panel = panel[:panel.index("</section>")]
    assert "does not mean a study is safe, approved or checked" in panel
    assert "you do not pay for the treatment being tested" in panel


# --- 2. evidence labels ------------------------------------------------------------------------

def test_evidence_labels_claim_no_more_than_the_sources():
    pages = pages_by_slug()
    exosomes = pages["msc-exosomes"]["texts"]["en"]["body"]
    assert "- Diabetes can harm the kidneys over time." in exosomes  # background, no label
    ipsc = pages["ipsc-beta-cells"]["texts"]["en"]["body"]
    assert "Seen in people" not in ipsc
    assert "we could not check which studies these are" in ipsc
    blood = pages["blood-stem-cells"]["texts"]
    assert "Our sources do not say." in blood["en"]["body"]
    assert "Nuestras fuentes no lo dicen." in blood["es"]["body"]
    for lang in ("es", "zh", "ar"):
        assert "Seen in people" not in pages["ipsc-beta-cells"]["texts"][lang]["body"]
    for page in pages.values():
        for source in page["sources"]:
            assert "cites the studies behind each claim" not in source["label"]
            if "Stem Cells and Diabetes" in source["label"]:
                assert source["label"].startswith("Wellness blog")
                assert "not peer reviewed" in source["label"] and "animal studies" in source["label"]


# --- 3, 4, 5. wording in other languages -------------------------------------------------------

def test_the_two_hopeful_verdicts_read_differently_in_every_language(app):
    markers = {"en": "Needs checking", "es": "Falta revisar", "zh": "待核实", "ar": "بحاجة إلى تحقق"}
    heading_markers = {**markers, "en": "the study team would need to check"}
    with app.test_request_context():
        for lang in LANGS:
            with force_locale(lang):
                fit, check = str(VERDICT_SHORT[Verdict.FIT]), str(VERDICT_SHORT[Verdict.CHECK])
                heading = str(VERDICT_HEADINGS[Verdict.CHECK])
                assert fit != check
                assert markers[lang] in check and heading_markers[lang] in heading, lang
                if lang == "zh":
                    assert "可能" not in check and "可能" not in heading
                    for text in ("This is not a decision. Only the study team can say if you can join.",
                                 "From Trial Check. This is not a decision. Only the study team can say if someone can join."):
                        assert "最终" not in gettext(text)


def question_words(app, lang: str, question_id: str):
    from webapp.catalog.snapshot import snapshot

    with app.test_request_context():
        return snapshot().question_texts(lang)[question_id]


def test_chinese_dose_question_is_asked_positively_and_pancreatitis_is_not_swelling(app):
    asked = question_words(app, "zh", "cp_dose_stable").text
    assert "没有变" not in asked and "保持不变" in asked
    for lang, swelling in (("en", "swelling"), ("zh", "肿"), ("ar", "ورم")):
        hint = question_words(app, lang, "conditions").options["chronic_pancreatitis"].hint
        assert swelling not in hint, lang
    assert "inflammation" in question_words(app, "en", "conditions").options["chronic_pancreatitis"].hint


# --- 7, 8. hints that never read as advice, and the insulin hint ------------------------------

def test_dose_and_procedure_wording_warn_against_changing_care(app, screener: Screener):
    assert "Do not change your medicine to fit a study." in question_words(app, "en", "cp_dose_stable").hint
    assert "Do not put off a procedure you need to fit a study." in question_words(app, "en", "cp_procedure_planned").hint
    assert "Taking insulin does not mean your body makes none." in question_words(app, "en", "type1_own_insulin").hint
    screener.answer_all({**CP_PERSON, "cp_procedure_planned": {"answer": "yes"}})
    stemcap = card(screener.results_html(), "NCT06205342")
    assert "Do not put off a procedure you need to fit a study. Talk with your doctor first." in stemcap
    # A dose that changed rules STEMCAP-1 out, so its procedure question is then not asked.
    screener.answer("cp_dose_stable", change=True, answer="no")
    stemcap = card(screener.results_html(), "NCT06205342")
    assert "You may be able to join once your dose has been steady for a month." in stemcap
    assert "Do not change your medicine to fit a study. Talk with your doctor first." in stemcap


# --- 9. reasons start from the person's answer -------------------------------------------------

def test_reasons_start_from_what_the_person_answered(screener: Screener, audit_client):
    screener.answer_all(CP_PERSON)
    html = screener.results_html()
    va = card(html, "NCT05925036")
    assert "You answered: About 6 months. Your answer is right at the limit." in va
    assert "You answered: Chronic pancreatitis. This matches what the study asks for." in va
    stemcap = card(html, "NCT06205342")
    assert "You answered: 45. This matches what the study asks for." in stemcap
    # Where the VA study can be a fit (the audit catalog), its veteran question is asked.
    other = Screener(audit_client)
    other.answer_all({**CP_PERSON, "cp_pain_duration": {"answer": "over_6_months"}, "veteran": {"answer": "no"}})
    va = card(other.results_html(), "NCT05925036")
    assert "You answered: No. The study team will check whether this study can include you." in va


# --- 10. group pages and registry dates --------------------------------------------------------

def test_each_group_page_has_its_own_heading(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "80"},
                         "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"}})
    headings = {"unlikely": "Probably not a fit", "check": "Might be a fit – the study team would need to check"}
    for group, heading in headings.items():
        html = screener.client.get(f"/en/results/{group}").get_data(as_text=True)
        assert re.search(rf"<h1 [^>]*>{re.escape(heading)}</h1>", html), group
        assert "Studies you might fit" not in html


# --- 11, 12. digits as phones send them; caregivers; date order ----------------------------------

@pytest.mark.parametrize("typed", ["٢٤", "۲۴", "２４", " 24 ", "\u00a024\u3000"])
def test_age_in_any_digits_is_understood(screener: Screener, typed):
    screener.answer("conditions", answer=["type1"])
    response = screener.answer("age", answer=typed)
    assert response.status_code == 302
    assert ">24<" in screener.client.get("/en/questions/age").get_data(as_text=True).replace('value="24"', ">24<")


def test_year_in_arabic_indic_digits_is_understood(screener: Screener):
    from datetime import date

    screener.answer("conditions", answer=["type1"])
    screener.answer("age", answer="30")
    today = date.today()
    year = str(today.year).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    response = screener.answer("type1_diagnosed", month=str(today.month), year=year)
    assert response.status_code == 302 and "type1_own_insulin" in response.location


def test_every_question_reminds_a_caregiver_and_chinese_dates_are_year_first(screener: Screener):
    screener.answer("conditions", answer=["type1"])
    age = screener.client.get("/en/questions/age").get_data(as_text=True)
    assert "If you are answering for someone else, give their age." in age
    screener.answer("age", answer="30")
    for question_id in ("conditions", "type1_diagnosed"):
        html = screener.client.get(f"/en/questions/{question_id}").get_data(as_text=True)
        assert 'id="hint-caregiver"' in html, question_id
    english = screener.client.get("/en/questions/type1_diagnosed").get_data(as_text=True)
    chinese = screener.client.get("/zh/questions/type1_diagnosed").get_data(as_text=True)
    assert english.index('id="month"') < english.index('id="year"')
    assert chinese.index('id="year"') < chinese.index('id="month"')


# --- 13. sources, directions, words, plurals ---------------------------------------------------

def test_sources_link_to_their_own_pages_and_have_translated_labels():
    pages = pages_by_slug()
    fda = next(s for s in pages["unproven-clinics"]["sources"] if "FDA" in s["label"])
    assert fda["url"].startswith("https://www.fda.gov/") and fda["url"] != "https://www.fda.gov/"
    for page in pages.values():
        for source in page["sources"]:
            assert set(source.get("labels", {})) == {"es", "zh", "ar"}, source["label"]


def test_arabic_results_keep_latin_names_whole(client):
    screener = Screener(client, "ar")
    screener.answer_all(CP_PERSON)
    html = screener.results_html()
    va = card(html, "NCT05925036")
    assert '<bdi lang="en" translate="no">Ralph H. Johnson VA Medical Center, Charleston, South Carolina</bdi>' in va
    learn = client.get("/ar/learn/mesenchymal-stem-cells").get_data(as_text=True)
    assert "\u2066" in learn  # Latin runs inside Arabic text sit in left-to-right isolates
    assert "(Charleston, South Carolina)" not in learn


def test_spanish_and_arabic_say_tool_not_app():
    catalog = (ROOT / "webapp/catalog/data/catalog.json").read_text("utf-8")
    assert "esta aplicación" not in catalog.lower() and "التطبيق" not in catalog
    for lang, word in (("es", "aplicación"), ("ar", "تطبيق")):
        po = (ROOT / f"translations/{lang}/LC_MESSAGES/messages.po").read_text("utf-8")
        assert word not in po


def test_arabic_plural_for_one_study_reads_as_a_word(client):
    screener = Screener(client, "ar")
    screener.answer_all(CP_PERSON)
    html = screener.results_html()
    assert "توجد دراسة أخرى واحدة في قائمتنا" in html
    assert "توجد 1 دراسة" not in html


# --- 14. education pages -----------------------------------------------------------------------

def test_education_index_carries_the_physician_notice(client):
    for lang in LANGS:
        html = client.get(f"/{lang}/learn/").get_data(as_text=True)
        assert 'id="physician-notice-heading"' in html, lang


def test_read_next_lists_the_pages_that_fit_first(screener: Screener):
    screener.answer_all(CP_PERSON)
    html = screener.results_html()
    section = html[html.index('id="read-next"'):]
    section = section[:section.index("</section>")]
    slugs = re.findall(r'href="/en/learn/([a-z-]+)"', section)
    # The one page about chronic pancreatitis comes before the pages for everyone, and not all nine show.
    assert slugs[0] == "mesenchymal-stem-cells"
    assert len(slugs) < 9


# --- 15. print ---------------------------------------------------------------------------------

def test_print_view_has_a_print_button_and_a_plain_instruction(screener: Screener):
    screener.answer_all(CP_PERSON)
    html = screener.client.get("/en/results/print").get_data(as_text=True)
    assert re.search(r'<button type="button" class="button" data-print hidden>Print these results</button>', html)
    assert "Use your browser's print button to print this page." in html
    script = re.search(r'<script src="(/assets/print-[0-9a-f]+\.js)" defer></script>', html).group(1)
    served = screener.client.get(script)
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert b"window.print()" in served.get_data()
    css = (ROOT / "webapp/static/css/app.css").read_text("utf-8")
    assert re.search(r"\.trial, [^{]*\{[^}]*break-inside: auto", css)


# --- 16. staff criterion buttons ---------------------------------------------------------------

def test_criterion_buttons_name_their_own_criterion(app):
    create_staff(app, "editor@clinic.example")
    client = app.test_client()
    sign_in(client, "editor@clinic.example")
    html = client.get("/staff/trials/1").get_data(as_text=True)
    for number in (1, 2, 3):
        assert f'Remove<span class="visually-hidden"> criterion {number}</span>' in html
        assert f'Move up<span class="visually-hidden"> criterion {number}</span>' in html


# --- 17. the README a newcomer reads -----------------------------------------------------------

def test_readme_points_at_files_in_the_repository():
    readme = (ROOT / "README.md").read_text("utf-8")
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)\)", readme):
        assert (ROOT / target).exists(), target
    assert "webapp/catalog/data/CATALOG_FACTS.md" in readme
    assert (ROOT / "webapp/catalog/data/CATALOG_FACTS.md").exists()
    assert "make run PORT=5050" in readme
