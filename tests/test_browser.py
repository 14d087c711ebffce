"""A patient's walk from the start page to results in Debian's Chromium, as a person would."""

from __future__ import annotations

import pytest

from browser import ARTIFACTS

pytestmark = pytest.mark.browser


def test_patient_walks_from_start_to_results(base_url, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base_url) else None)

    page.goto(base_url + "/")
    assert page.url == base_url + "/en/"
    page.get_by_role("link", name="Start", exact=True).click()

    # A missing answer shows the error summary, linked to the field.
    page.get_by_role("button", name="Continue").click()
    assert page.title().startswith("Error:")
    page.get_by_role("link", name="Select the conditions a doctor has told you about").click()

    page.get_by_label("Chronic pancreatitis").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("How old are you?").fill("45")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("More than 6 months").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Yes").check()  # dose steady
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("No", exact=True).check()  # no procedure planned
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("ZIP code or city").fill("10001")  # New York City, far from Charleston
    page.get_by_role("button", name="Continue").click()

    assert page.get_by_role("heading", name="Check your answers").is_visible()
    page.get_by_role("link", name="See the studies").click()

    assert page.get_by_role("heading", name="Your results", level=1).is_visible()
    stemcap = page.locator('[data-trial="NCT06205342"]')
    assert stemcap.get_attribute("data-verdict") in ("fit", "check")
    assert stemcap.get_attribute("data-status") == "RECRUITING"
    assert page.locator('[data-trial="NCT05925036"]').get_attribute("data-verdict") == "check"
    assert page.get_by_text("ask the study team if they can help with travel").first.is_visible()
    # The nearest site is in Charleston, about 1,030 km from New York, and the verdict stays.
    assert 980 < float(stemcap.get_attribute("data-nearest-km")) < 1080
    assert stemcap.get_by_text("Charleston").first.is_visible()
    assert page.get_by_role("heading", name="Talk to your doctor").is_visible()
    page.screenshot(path=str(ARTIFACTS / "results-en.png"), full_page=True)

    # No sideways scrolling on a phone-sized screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert external == []

    page.get_by_role("button", name="Clear my answers").click()
    assert page.get_by_text("Your answers have been cleared.").is_visible()
    page.close()


def test_pages_work_without_javascript(base_url, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base_url + "/en/questions/conditions")
    page.get_by_label("Type 1 diabetes").check()
    page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/en/questions/age")
    context.close()
