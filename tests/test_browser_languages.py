"""The whole questionnaire in Chromium in Spanish and in Arabic, switching language midway,
with screenshots of the Arabic pages (right to left) for a person to look at."""

from __future__ import annotations

import pytest

from browser import ARTIFACTS

pytestmark = pytest.mark.browser

ANSWERS = [
    ("conditions", ['input[value="chronic_pancreatitis"]']),
    ("age", "45"),
    ("cp_pain_duration", ['input[value="over_6_months"]']),
    ("cp_dose_stable", ['input[value="yes"]']),
    ("cp_procedure_planned", ['input[value="no"]']),
    ("location", {"#place": "29425"}),  # Charleston's medical district
]
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def answer(page, question_id, value):
    assert page.url.endswith(f"/questions/{question_id}"), page.url
    if isinstance(value, str):
        page.locator("main input[name=answer]").fill(value)
    elif isinstance(value, dict):
        for selector, text in value.items():
            page.locator(selector).fill(text)
    else:
        for selector in value:
            page.locator(selector).check()
    page.locator("main form button[type=submit]").click()


def switch_to(page, lang):
    page.locator(f'nav.language-switch a[hreflang="{lang}"]').click()
    assert page.locator("html").get_attribute("lang") == lang


@pytest.mark.parametrize("lang, detour", [("es", "en"), ("ar", "zh")])
def test_whole_flow_in_language_with_a_switch_midway(base_url, browser, lang, detour):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{base_url}/{lang}/")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    if lang == "ar":
        page.screenshot(path=str(ARTIFACTS / "ar-start.png"))
    page.locator("a.button-start").click()
    for index, (question_id, value) in enumerate(ANSWERS):
        if index == 3:
            # Switch language on a question page, then come back: every answer is kept.
            switch_to(page, detour)
            assert page.url.endswith(f"/{detour}/questions/{question_id}")
            switch_to(page, lang)
            if lang == "ar":
                page.screenshot(path=str(ARTIFACTS / "ar-question.png"))
        if lang == "ar" and isinstance(value, dict):  # a ZIP typed in Arabic-Indic digits
            value = {selector: text.translate(ARABIC_DIGITS) for selector, text in value.items()}
        answer(page, question_id, value)
    assert page.url.endswith(f"/{lang}/check")
    rows = page.locator(".summary-row").count()
    assert rows == len(ANSWERS)
    page.locator("main a.button").click()
    assert page.url.endswith(f"/{lang}/results")
    assert page.locator('[data-trial="NCT06205342"]').get_attribute("data-verdict") in ("fit", "check")
    assert page.locator('[data-trial="NCT05925036"]').get_attribute("data-verdict") == "check"
    assert float(page.locator('[data-trial="NCT06205342"]').get_attribute("data-nearest-km")) < 8
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / f"{lang}-results.png"))
    if lang == "ar":
        # Right to left: the page's text starts at the right edge.
        left, right = page.evaluate("""() => {
            const range = document.createRange();
            range.selectNodeContents(document.querySelector('main h1'));
            const box = range.getBoundingClientRect();
            return [box.left, box.right];
        }""")
        assert right > 390 - 30, (left, right)
    page.close()
