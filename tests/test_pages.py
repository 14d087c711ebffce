"""Education pages, the print view, and results details that are not about verdicts."""

from __future__ import annotations

import re
from datetime import date

from conftest import Screener, card, verdicts
from webapp.core.screening import status_is_stale


def test_education_pages_have_their_own_addresses_and_sources(client):
    index = client.get("/en/learn/").get_data(as_text=True)
    assert len(set(re.findall(r'href="/en/learn/([a-z0-9-]+)"', index))) == 9
    page = client.get("/en/learn/aat-msc-research").get_data(as_text=True)
    assert "<h1>The AAT-MSC study: mice only so far</h1>" in page
    assert "Seen in animals:" in page
    assert "<h2>Sources</h2>" in page and "10.1101/2025.04.19.649667" in page
    assert client.get("/en/learn/no-such-page").status_code == 404


RESEARCH_PAGES = ["mesenchymal-stem-cells", "aat-msc-research", "ipsc-beta-cells", "blood-stem-cells",
                  "msc-exosomes", "risks-and-limits", "new-onset"]


def test_every_research_page_labels_its_evidence(client):
    for slug in RESEARCH_PAGES:
        html = client.get(f"/en/learn/{slug}").get_data(as_text=True)
        assert any(label in html for label in ("Seen in people:", "Seen in animals:", "Seen in the lab:",
                                               "Not yet known:")), slug


def test_print_view_lists_answers_and_trials(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
                         "cp_pain_duration": {"answer": "over_6_months"},
                         "cp_dose_stable": {"answer": "no"}})
    html = screener.client.get("/en/results/print").get_data(as_text=True)
    assert "<h2>Your answers</h2>" in html and ">45<" in html
    assert 'data-trial="NCT06205342" data-verdict="unlikely"' in html
    assert "You may be able to join once your dose has been steady for a month." in html
    assert "<form" not in html and "site-header" not in html


def ago(year: int, month: int, day: int = 1) -> str:
    """How the card says a registry date's age today, e.g. "2 years and 3 months ago"."""
    today = date.today()
    months = (today.year * 12 + today.month) - (year * 12 + month) - (today.day < day)
    years, rest = divmod(months, 12)
    parts = [f"{years} year{'s' * (years != 1)}"] * bool(years) + [f"{rest} month{'s' * (rest != 1)}"] * bool(rest)
    return " and ".join(parts) + " ago"


def test_trial_card_shows_registry_status_date_site_and_contact(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
                         "cp_pain_duration": {"answer": "over_6_months"},
                         "cp_dose_stable": {"answer": "yes"}, "cp_procedure_planned": {"answer": "no"},
                         })
    html = screener.results_html()
    va = card(html, "NCT05925036")
    assert 'href="https://clinicaltrials.gov/study/NCT05925036"' in va
    assert "Looking for people to join now" in va and "February 29, 2024" in va
    # The date the sources give is the record's last update, named as such, with its age.
    assert "Registry record last updated" in va and "Registry status verified" not in va
    assert f"The registry record was last updated {ago(2024, 2, 29)}" in va
    assert "Ralph H. Johnson VA Medical Center" in va
    assert "The study's registry page lists who to contact." in va
    # The person would rather not say where they live: the card names the study's site.
    assert "Ralph H. Johnson VA Medical Center, Charleston, South Carolina" in va and "data-nearest-km" not in va
    stemcap = card(html, "NCT06205342")
    assert "Registry status verified" in stemcap and f"August 2024 ({ago(2024, 8)})" in stemcap
    assert f"The registry last verified this status {ago(2024, 8)}" in stemcap


def test_under_18_message(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["type1"]}, "age": {"answer": "15"},
                         })
    html = screener.results_html()
    # Built from the listed study's own age limit (18 to 30), not a blanket "for adults".
    assert "The studies listed here do not take people your age." in html
    assert 'data-trial="NCT04061746" data-verdict="unlikely"' in html


def test_under_18_message_says_when_age_limits_are_unknown(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "10"},
                         "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"}})
    html = screener.results_html()
    # STEMCAP-1 takes 18 to 75; no source gives the VA study's age limits.
    assert verdicts(html) == {"NCT06205342": "unlikely", "NCT05925036": "check"}
    assert "Some of the studies listed here do not take people your age." in html
    assert "For the others, the study team will check their age limits." in html
    assert "All the studies listed here are for adults" not in html


def test_status_staleness():
    today = date(2026, 11, 21)
    assert not status_is_stale("2026-06-01", today)
    assert not status_is_stale("2026-05-21", today)
    assert status_is_stale("2026-05-20", today)
    assert status_is_stale("2026-04-22", today)
    assert status_is_stale("2024-08", today)
    assert not status_is_stale("2026-06", today)
    assert status_is_stale(None, today)


def test_months_elapsed_counts_whole_months_and_days():
    from webapp.core.screening import months_elapsed

    today = date(2026, 12, 1)
    assert months_elapsed("2024-02-29", today) == 33  # the 34th month starts on 29 December
    assert months_elapsed("2024-08", today) == 28
    assert months_elapsed("2026-12-01", today) == 0
    assert months_elapsed("2027-01", today) == 0  # a date after today is not negative
