"""A new staff member's first day, in Chromium: account, sign in, import a registry record,
structure its criteria, translate its summary, make a share link and QR code, run a screening
through the link, and see the count go up."""

from __future__ import annotations

from datetime import date

import pytest

from browser import ARTIFACTS
from conftest import RECORDS
from test_sharing import the_day_passes

pytestmark = pytest.mark.browser
PASSWORD = "a long staff password"


def test_new_staff_member_first_day(served, browser):
    app, base_url = served
    # The README's command: the password comes from standard input, never the command line.
    result = app.test_cli_runner().invoke(args=["staff", "create", "nurse@clinic.example", "--role", "editor"],
                                          input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    ARTIFACTS.mkdir(exist_ok=True)
    staff = browser.new_page(viewport={"width": 1280, "height": 900})
    staff.goto(base_url + "/staff/trials")
    assert "/staff/login" in staff.url
    staff.get_by_label("Email address").fill("nurse@clinic.example")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    assert staff.url.endswith("/staff/trials")

    # Import a registry record (a test record in the real v2 shape).
    staff.get_by_role("link", name="Import", exact=True).click()
    staff.get_by_label("Or upload JSON files").set_input_files(str(RECORDS / "NCT09999901.json"))
    staff.get_by_role("button", name="Import", exact=True).click()
    assert staff.get_by_text("hidden from patients until you check it").is_visible()
    staff.get_by_role("link", name="NCT09999901").click()

    # Go through the registry's free text line by line.
    assert staff.get_by_text("Type 1 diabetes diagnosed within 100 days").is_visible()
    line = staff.locator(".registry-line", has_text="diagnosed within 100 days")
    line.get_by_role("link", name="Turn into a criterion").click()
    staff.get_by_label("Fact it reads").select_option("time_since_diagnosis:type1")
    staff.get_by_role("button", name="Choose this fact").click()
    staff.get_by_label("Maximum (empty means no limit)").fill("100")
    staff.get_by_label("Unit of the limits").select_option("days")
    staff.locator("#description_en").fill("You were told you have type 1 diabetes in the last 100 days")
    staff.locator("#description_es").fill("Le dijeron que tiene diabetes tipo 1 en los últimos 100 días")
    staff.get_by_role("button", name="Save criterion").click()
    assert staff.get_by_text("Criterion saved.").is_visible()
    assert staff.get_by_text('time_since_diagnosis:type1 between {"max": 100, "unit": "days"}').is_visible()
    # The age line is the registry's own age limit, already a criterion; pregnancy becomes one.
    staff.locator(".registry-line", has_text="Age 18 to 45").get_by_role("button", name="Already a criterion").click()
    staff.locator(".registry-line", has_text="Pregnancy").get_by_role("link", name="Turn into a criterion").click()
    staff.get_by_label("Fact it reads").select_option("pregnancy")
    staff.get_by_role("button", name="Choose this fact").click()
    staff.locator("#answer-no-met").check()
    staff.locator("#description_en").fill("You are not pregnant, breastfeeding, or planning a pregnancy")
    staff.get_by_role("button", name="Save criterion").click()
    assert staff.locator('[data-state="untriaged"]').count() == 0
    staff.screenshot(path=str(ARTIFACTS / "staff-lines.png"), full_page=True)

    # Translate the summary into Spanish.
    staff.get_by_role("link", name="Español").click()
    staff.get_by_label("Title in plain words").fill("Células de apoyo para la diabetes tipo 1 (registro de prueba)")
    staff.get_by_label("Summary").fill("Este registro de prueba describe un estudio con células de apoyo.")
    staff.get_by_role("button", name="Save texts").click()
    assert staff.get_by_text("Saved the Español texts of NCT09999901.").is_visible()
    staff.get_by_role("link", name="NCT09999901").click()
    staff.get_by_role("button", name="Show to patients").click()
    assert staff.get_by_text("NCT09999901 is now shown to patients.").is_visible()

    # A share link in Spanish for this study, with its QR code.
    staff.get_by_role("link", name="Share links").click()
    staff.get_by_label("Label").fill("Type 1 clinic flyer")
    staff.get_by_label("Language the screener opens in").select_option("es")
    staff.get_by_label("NCT09999901 –").check()
    staff.get_by_role("button", name="Make link and QR code").click()
    share_url = staff.locator("[data-share-url]").get_attribute("href")
    qr = staff.locator("img.qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download PNG").click()
    assert download.value.suggested_filename.endswith(".png")
    staff.pdf(path=str(ARTIFACTS / "staff-qr-flyer.pdf"))  # what printing the page gives
    staff.screenshot(path=str(ARTIFACTS / "staff-link.png"))

    staff.get_by_role("link", name="Counts").click()
    assert staff.get_by_text("No screenings before today.").is_visible()

    # A patient opens the link on a phone and screens in Spanish.
    patient = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    patient.goto(share_url)
    assert patient.url.endswith("/es/")
    patient.locator("a.button-start").click()
    steps = [('input[value="type1"]',), "28", "month-year", ('input[value="no"]',), "place"]
    for step in steps:
        if step == "place":
            assert "/questions/location" in patient.url
            patient.locator("#place").fill("29425")
        elif step == "month-year":
            today = date.today()
            patient.locator("#month").select_option(str(today.month))
            patient.locator("#year").fill(str(today.year))
        elif isinstance(step, str):
            patient.locator("main input[name=answer]").fill(step)
        else:
            patient.locator(step[0]).check()
        patient.locator("main form button[type=submit]").click()
    patient.locator("main a.button").click()
    card = patient.locator('[data-trial="NCT09999901"]')
    # Every line gone through and every rule met: this study may be a fit.
    assert card.get_attribute("data-verdict") == "fit"
    assert "Células de apoyo" in card.inner_text()
    assert patient.locator("[data-trial]").count() == 1  # the link narrows the list

    # Counts appear the next day (today's would show this one visit): let the day pass.
    staff.reload()
    assert staff.get_by_text("No screenings before today.").is_visible()
    the_day_passes(app)
    staff.reload()
    row = staff.locator("#screenings tbody tr").first
    assert "Type 1 clinic flyer" in row.inner_text()
    assert row.locator('[data-count="finished"]').inner_text() == "fewer than 5"
    staff.screenshot(path=str(ARTIFACTS / "staff-counts.png"))
    from webapp.sharing.service import count_tables

    with app.app_context():
        screenings, _ = count_tables()
    assert [(r.language, r.started, r.finished) for r in screenings] == [("es", 1, 1)]
