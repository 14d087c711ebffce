"""The new kinds of question in Chromium, in English and in Arabic: sex, a diagnosis date, a
decimal A1C with its unit, height and weight. Asked because a listed study uses them (the
quality gates' test study), with screenshots of each page for a person to look at."""

from __future__ import annotations

from datetime import date

import pytest
from flask_migrate import upgrade

from audit_pages import audit_catalog
from browser import ARTIFACTS, live_server
from conftest import make_app
from webapp.catalog.service import load_catalog

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bank_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-bank")
    app = make_app(f"sqlite:///{tmp / 'bank.sqlite3'}", tmp)
    with app.app_context():
        upgrade()
        load_catalog(audit_catalog())
    with live_server(app) as url:
        yield url


def continue_(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_new_questions_in_english_and_arabic(bank_url, browser, lang):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{bank_url}/{lang}/questions/conditions")
    page.locator('input[value="type2"]').check()
    continue_(page)
    page.locator("main input[name=answer]").fill("٤٥" if lang == "ar" else "45")
    continue_(page)
    assert page.url.endswith("/questions/sex")
    page.screenshot(path=str(ARTIFACTS / f"{lang}-question-sex.png"), full_page=True)
    page.locator('input[value="female"]').check()
    continue_(page)
    assert page.url.endswith("/questions/type2_diagnosed")
    today = date.today()
    page.locator("#month").select_option(str(today.month))
    page.locator("#year").fill(str(today.year - 3))
    continue_(page)
    assert page.url.endswith("/questions/insulin_use")
    page.locator('input[value="yes"]').check()
    continue_(page)

    # A1C with a decimal comma, in % (the unit is chosen, % first).
    assert page.url.endswith("/questions/hba1c")
    page.locator("#value").fill("ab")
    continue_(page)
    assert page.title().startswith("Error:" if lang == "en" else "خطأ:")
    assert page.locator(".error-summary").evaluate("e => e === document.activeElement")
    page.locator("#value").fill("7,4")
    page.screenshot(path=str(ARTIFACTS / f"{lang}-question-hba1c.png"), full_page=True)
    continue_(page)

    # Height in feet and inches, weight in kilograms: BMI is worked out.
    assert page.url.endswith("/questions/height_weight")
    page.locator("#feet").fill("5")
    page.locator("#inches").fill("5")
    page.locator("#kg").fill("70")
    page.screenshot(path=str(ARTIFACTS / f"{lang}-question-height-weight.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    continue_(page)
    assert page.url.endswith("/questions/pregnancy")
    page.locator('input[value="no"]').check()
    continue_(page)
    assert page.url.endswith("/questions/veteran")
    page.locator('input[value="yes"]').check()
    continue_(page)
    if lang != "en":
        # English pages take "can you take part in English" as yes; other languages ask.
        assert page.url.endswith("/questions/english")
        page.locator('input[value="yes"]').check()
        continue_(page)
    assert page.url.endswith(f"/{lang}/check")
    summary = page.locator(".summary-list").inner_text()
    assert "7.4 %" in summary and ("BMI 25.7" in summary or "مؤشر كتلة الجسم 25.7" in summary)
    page.screenshot(path=str(ARTIFACTS / f"{lang}-check-new-kinds.png"), full_page=True)
    page.locator("main a.button").click()
    card = page.locator('[data-trial="NCT09999903"]')
    # HbA1c is a lab value: inside its range it can only be "the study team will check".
    assert card.get_attribute("data-verdict") == "check"
    page.screenshot(path=str(ARTIFACTS / f"{lang}-results-new-kinds.png"), full_page=True)
    page.close()
