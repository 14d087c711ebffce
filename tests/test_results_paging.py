"""Results with many trials: a first page per group, and the rest in pages."""

from __future__ import annotations

import copy

from conftest import Screener, verdicts
from webapp.catalog.service import load_catalog, read_bundled_catalog


def test_large_groups_show_a_first_page_and_link_to_the_rest(app, client):
    document = read_bundled_catalog()
    template = next(t for t in document["trials"] if t["registry_id"] == "NCT06205342")
    for number in range(30):
        trial = copy.deepcopy(template)
        trial["registry_id"] = f"TEST-{number:03d}"
        document["trials"].append(trial)
    with app.app_context():
        load_catalog(document)
    screener = Screener(client)
    screener.answer_all({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
                         "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"},
                         "cp_procedure_planned": {"answer": "no"}})
    html = screener.results_html()
    assert len(verdicts(html)) == 5  # 32 related trials in one group: the first 5 are listed
    assert "See all 32 studies in this group" in html
    assert 'href="/en/results/check"' in html
    first = client.get("/en/results/check").get_data(as_text=True)
    assert len(verdicts(first)) == 20 and "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/en/results/check?page=2").get_data(as_text=True)
    assert len(verdicts(second)) == 12 and 'rel="prev"' in second and 'rel="next"' not in second
    assert "This tool does not give medical advice." in second
    # Odd page numbers and empty groups are handled, not errors.
    assert client.get("/en/results/check?page=99").status_code == 200
    assert client.get("/en/results/check?page=abc").status_code == 200
    assert client.get("/en/results/fit").status_code == 302
