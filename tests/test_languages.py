"""Every patient page in English, Spanish, Chinese and Arabic: prefixes, the language switch,
direction, complete catalogs, translated content with its notes, and locale formatting."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from conftest import Screener, months_ago
from webapp.catalog.models import EducationPage
from webapp.config import LANGUAGES
from webapp.extensions import db

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
OTHER_LANGUAGES = [code for code in LANGUAGES if code != "en"]
# Words that are the same in every language: the product's name and proper names.
SAME_EVERYWHERE = {"Trial Check", "English", "Español", "中文", "العربية", "ClinicalTrials.gov"}
# Words spelt the same in a language as in English.
COGNATES = {"es": {"Placebo", "Error:"}}
# Codes rather than words: registry numbers and study acronyms such as (STEMCAP-1).
CODE = re.compile(r"^\(?(?=[^ ]*(\d|[A-Z][^ ]*[A-Z]))[A-Za-z0-9-]+\)?$")

TYPE1_AND_PANCREATITIS = {
    "conditions": {"answer": ["type1", "chronic_pancreatitis"]},
    "age": {"answer": "27"},
    "type1_diagnosed": months_ago(2),
    "type1_own_insulin": {"answer": "not_sure"},
    "cp_pain_duration": {"answer": "over_6_months"},
    "cp_dose_stable": {"answer": "yes"},
    "cp_procedure_planned": {"answer": "no"},
}


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_catalog_has_no_untranslated_or_fuzzy_message(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        template = read_po(handle)
    missing = [m.id for m in template if m.id and m.id not in catalog]
    assert missing == [], f"run `make update-translations`: {missing[:5]}"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(message.id)
        placeholders = set(re.findall(r"%\(\w+\)[sd]", str(message.id)))
        for text in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", text or "")) <= placeholders | {"%(num)d"}, message.id
    assert problems == []


class VisibleText(HTMLParser):
    """Collects visible text nodes, skipping anything marked as being in English on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.title = False

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "link", "input", "br", "img"):
            return
        attributes = dict(attrs)
        english = attributes.get("lang") == "en" and tag != "html"
        inherited = bool(self.stack) and self.stack[-1][1]
        self.stack.append((tag, english or inherited))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not (self.stack and self.stack[-1][1]):
            self.texts.append(text)


def visible_texts(html: str, lang: str = "") -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    return {t for t in parser.texts
            if re.search(r"[A-Za-z]{3,}", t) and not CODE.match(t)
            and t not in SAME_EVERYWHERE | COGNATES.get(lang, set())}


def patient_pages(client, app) -> list[str]:
    with app.app_context():
        slugs = db.session.scalars(select(EducationPage.slug)).all()
    pages = ["/", "/privacy", "/learn/", "/check", "/results", "/results?show=all", "/results/print"]
    pages += [f"/learn/{slug}" for slug in slugs]
    pages += [f"/questions/{question_id}" for question_id in TYPE1_AND_PANCREATITIS]
    return pages


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_page_is_fully_translated(app, client, lang):
    screener = Screener(client)
    screener.answer_all(TYPE1_AND_PANCREATITIS)
    untranslated = {}
    for path in patient_pages(client, app):
        english = client.get("/en" + path)
        translated = client.get(f"/{lang}" + path)
        assert english.status_code == translated.status_code == 200, path
        html = translated.get_data(as_text=True)
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html
        same = visible_texts(english.get_data(as_text=True)) & visible_texts(html, lang)
        if same:
            untranslated[path] = sorted(same)
    assert untranslated == {}


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_error_pages_and_validation_messages_are_translated(client, lang):
    screener = Screener(client, lang)
    english = Screener(client, "en").answer("conditions").get_data(as_text=True)
    html = screener.answer("conditions").get_data(as_text=True)
    assert visible_texts(english) & visible_texts(html, lang) == set()
    page = client.get(f"/{lang}/questions/no-such-question")
    assert page.status_code == 404
    assert visible_texts(client.get("/en/questions/no-such-question").get_data(as_text=True)) & \
        visible_texts(page.get_data(as_text=True)) == set()


def test_root_picks_language_from_accept_language(client):
    cases = {"es-MX,es;q=0.9,en;q=0.8": "es", "zh-CN": "zh", "fr;q=1, ar;q=0.9, en;q=0.2": "ar",
             "en-GB": "en", "de, fr": "en", "": "en"}
    for header, lang in cases.items():
        response = client.get("/", headers={"Accept-Language": header} if header else {})
        assert response.location.endswith(f"/{lang}/"), header


def test_language_switch_keeps_the_page_and_the_answers(client):
    screener = Screener(client, "en")
    screener.answer("conditions", answer=["type1"])
    html = client.get("/en/questions/age").get_data(as_text=True)
    for code in LANGUAGES:
        assert f'href="/{code}/questions/age"' in html
    # Switch to Arabic mid-questionnaire and go on there.
    arabic = Screener(client, "ar")
    assert arabic.answer("age", answer="30").location.endswith("/ar/questions/type1_diagnosed")
    arabic.answer("type1_diagnosed", **months_ago(1))
    arabic.answer("type1_own_insulin", answer="yes")
    arabic.answer("english", answer="yes")
    # A ZIP code typed with Arabic-Indic digits is understood.
    assert arabic.answer("location", place="٢٩٤٢٥").location.endswith("/ar/check")
    for code in LANGUAGES:
        check = client.get(f"/{code}/check")
        assert check.status_code == 200
        assert 'href="/%s/questions/age?change=1"' % code in check.get_data(as_text=True)
    spanish = client.get("/es/check").get_data(as_text=True)
    assert "Diabetes tipo 1" in spanish or "diabetes tipo 1" in spanish.lower()
    assert 'href="/en/results?show=all"' in client.get("/es/results?show=all").get_data(as_text=True)


def test_unknown_prefix_links_to_every_language(client):
    html = client.get("/de/").get_data(as_text=True)
    for code in LANGUAGES:
        assert f'href="/{code}/"' in html


def test_interpreter_note_and_unreviewed_notes(client):
    screener = Screener(client, "es")
    screener.answer_all(TYPE1_AND_PANCREATITIS)
    spanish = screener.results_html()
    english = Screener(client, "en").results_html()
    interpreter = "intérprete"
    assert interpreter in spanish and interpreter not in english
    assert spanish.count('class="small text-note"') == 3  # every translated trial text is unreviewed
    # Unreviewed English medical text says so too.
    assert english.count("This text has not yet been checked by a qualified person.") == 3
    page = client.get("/es/learn/new-onset").get_data(as_text=True)
    assert 'class="small text-note"' in page


def test_missing_translation_falls_back_to_english_with_a_note(app, client):
    with app.app_context():
        page = db.session.scalar(select(EducationPage).where(EducationPage.slug == "new-onset"))
        texts = dict(page.texts)
        del texts["zh"]
        page.texts = texts
        db.session.commit()
        english_title = texts["en"]["title"]
    html = client.get("/zh/learn/new-onset").get_data(as_text=True)
    assert english_title.replace('"', "&#34;") in html
    assert '<div lang="en" dir="ltr">' in html
    note = re.search(r'<p class="small text-note">([^<]+)</p>', html).group(1)
    assert re.search(r"[\u4e00-\u9fff]", note), "the note itself is in Chinese"


def test_dates_and_month_names_follow_the_locale(client):
    screener = Screener(client, "es")
    screener.answer("conditions", answer=["chronic_pancreatitis"])
    screener.answer_all({k: v for k, v in TYPE1_AND_PANCREATITIS.items()
                         if k not in ("conditions", "type1_diagnosed", "type1_own_insulin")} | {})
    html = screener.results_html()
    assert "29 de febrero de 2024" in html  # the VA study's status date
    assert "agosto de 2024" in html  # STEMCAP-1's month-only date
    chinese = Screener(client, "zh")
    chinese.answer("conditions", answer=["type1"])
    chinese.answer("age", answer="30")
    question = client.get("/zh/questions/type1_diagnosed").get_data(as_text=True)
    assert "三月" in question or "3月" in question
    assert client.get("/zh/results").status_code in (200, 302)
