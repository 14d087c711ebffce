"""The red team's findings, replayed: requests any visitor can send that once gave a 500. Each
now gets a 4xx page in the reader's language with the physician notice and one JSON log line,
on SQLite and PostgreSQL. The count of requests sent and of 5xx answers is written to
tests/artifacts/red-team-<backend>.json for the closing note."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from conftest import Screener, page_token

ARTIFACTS = Path(__file__).parent / "artifacts"
NOTICE = {
    "en": "This tool does not give medical advice.",
    "es": "Esta herramienta no da consejos médicos.",
    "ar": "هذه الأداة لا تقدّم نصائح طبية",
}
# The footer every page carries, question pages included.
FOOTER = {
    "en": "Trial Check does not give medical advice.",
    "es": "Trial Check no da consejos médicos.",
}
ERROR_TITLE = {"en": "Something was wrong with that request", "es": "Algo estaba mal en esa solicitud"}
PATIENT_PAGES = ["/{lang}/", "/{lang}/questions/conditions", "/{lang}/privacy", "/{lang}/learn/",
                 "/{lang}/learn/new-onset", "/{lang}/check", "/{lang}/results"]
URL_FOR_KEYWORDS = ["_method=POST", "_external=1", "_anchor=x", "_scheme=javascript", "_method=DELETE&_external=0"]


class Tally:
    def __init__(self) -> None:
        self.sent, self.server_errors = 0, []

    def __call__(self, response, what: str):  # type: ignore[no-untyped-def]
        self.sent += 1
        if response.status_code >= 500:
            self.server_errors.append((what, response.status_code))
        return response


@pytest.fixture(scope="module")
def tally(request):  # type: ignore[no-untyped-def]
    counts: dict[str, Tally] = {}
    yield counts
    ARTIFACTS.mkdir(exist_ok=True)
    for backend, t in counts.items():
        (ARTIFACTS / f"red-team-{backend}.json").write_text(json.dumps(
            {"requests": t.sent, "server_errors": len(t.server_errors)}, indent=1))


def backend_of(app) -> str:  # type: ignore[no-untyped-def]
    return "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite"


def test_url_for_keywords_in_the_query_string(app, tally):
    count = tally.setdefault(backend_of(app), Tally())
    client = app.test_client()
    Screener(client).answer("conditions", answer=["type1"])
    for lang in ("en", "es", "zh", "ar"):
        for page in PATIENT_PAGES:
            for query in URL_FOR_KEYWORDS:
                path = page.format(lang=lang) + "?" + query
                response = count(client.get(path), path)
                assert response.status_code < 500, path
                if response.status_code == 200:
                    html = response.get_data(as_text=True)
                    # The language switch carries the query over as text, never as url_for keywords.
                    switch = re.search(r'href="(/es/[^"]*)" lang="es"', html)
                    assert switch and "_method" not in switch.group(1).split("?")[0], path
    assert not count.server_errors


def test_a_host_label_over_63_characters(app, tally, caplog):
    count = tally.setdefault(backend_of(app), Tally())
    caplog.set_level(logging.INFO)
    for lang in ("en", "es", "ar"):
        for host in ("a" * 64 + ".example", "x" * 300, "." * 5, "a..b"):
            response = count(app.test_client().get(f"/{lang}/", headers={"Host": host}), host)
            assert response.status_code == 400, host
            html = response.get_data(as_text=True)
            assert f'<html lang="{lang}"' in html and NOTICE[lang] in html
    lines = [r for r in caplog.records if r.getMessage() == "request" and r.fields.get("status") == 400]
    assert lines and all(json.dumps(r.fields) for r in lines)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_numbers_with_thousands_of_digits(app, tally, lang):
    count = tally.setdefault(backend_of(app), Tally())
    person = Screener(app.test_client(), lang)
    person.answer("conditions", answer=["type1"])
    for digits in ("9" * 4301, "1" * 5000, "٩" * 5000, "1" + "0" * 10_000):
        response = count(person.answer("age", answer=digits), "age")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert FOOTER[lang] in html and ('class="error-summary"' in html) and f'<html lang="{lang}"' in html
    person.answer("age", answer="30")
    for month, year in (("1" * 5000, "2020"), ("3", "2" * 5000), ("٣" * 4400, "٢٠٢٠")):
        response = count(person.answer("type1_diagnosed", month=month, year=year), "type1_diagnosed")
        assert response.status_code == 400


def test_nul_in_any_form_field(app, tally):
    count = tally.setdefault(backend_of(app), Tally())
    client = app.test_client()
    response = count(client.post("/staff/login", data={"csrf_token": page_token(client, "/staff/login"),
                                                       "email": "a\x00b@clinic.example",
                                                       "password": "a long enough password"}), "login")
    assert response.status_code == 400
    person = Screener(app.test_client(), "es")
    response = count(person.answer("conditions", answer=["type1\x00"]), "conditions")
    assert response.status_code == 400 and NOTICE["es"] in response.get_data(as_text=True)
    assert 'lang="es"' in response.get_data(as_text=True)
    assert not count.server_errors


# --- registry records, catalog files and staff forms: refused by name, the same on both databases


def registry_record(**changes) -> dict:  # type: ignore[no-untyped-def]
    import copy

    from conftest import RECORDS

    record = copy.deepcopy(json.loads((RECORDS / "NCT09999901.json").read_text()))
    protocol = record["protocolSection"]
    for path, value in changes.items():
        module, key = path.split("__")
        target = protocol.setdefault(module, {})
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return record


def import_record(client, text: str):  # type: ignore[no-untyped-def]
    return client.post("/staff/import", data={"csrf_token": page_token(client, "/staff/import"), "record": text})


def trial_ids(app) -> set[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from webapp.catalog.models import Trial
    from webapp.extensions import db

    with app.app_context():
        return set(db.session.scalars(select(Trial.registry_id)))


def test_registry_records_that_once_crashed_are_refused_by_name(admin_client, app, tally):
    count = tally.setdefault(backend_of(app), Tally())
    before = trial_ids(app)
    facility = {"facility": "F", "city": "C", "contacts": 5}
    cases = [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps(registry_record(contactsLocationsModule__locations=[facility])), "locations[0].contacts: must be a list"),
        (json.dumps(registry_record(eligibilityModule__minimumAge="1" * 309 + " Years")), "minimumAge"),
        (json.dumps(registry_record(eligibilityModule__maximumAge="999 Years")), "older than any person"),
        (json.dumps(registry_record(sponsorCollaboratorsModule__leadSponsor={"name": "S" * 1001})),
         "leadSponsor.name: is 1,001 characters long; at most 1,000 fit"),
        (json.dumps(registry_record(identificationModule__acronym="A\x00B")), "must not contain a NUL character"),
        (json.dumps(registry_record(contactsLocationsModule__locations=[{"facility": "F" * 1001}])), "facility"),
    ]
    for text, message in cases:
        response = count(import_record(admin_client, text), message)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and "Nothing was imported" in html and message in html, (message, html[-1500:])
    assert trial_ids(app) == before
    # Real data at the sizes the columns now hold imports on both databases.
    long_names = registry_record(sponsorCollaboratorsModule__leadSponsor={"name": "S" * 900},
                                 contactsLocationsModule__locations=[{"facility": "F" * 900, "city": "C" * 250}])
    assert count(import_record(admin_client, json.dumps(long_names)), "long names").status_code == 200
    assert "NCT09999901" in trial_ids(app)
    assert not count.server_errors


def test_registry_numbers_in_other_scripts_are_the_same_study(admin_client, app):
    record = registry_record(identificationModule__nctId="NCT٠٦٢٠٥٣٤٢")  # Arabic-Indic digits
    before = trial_ids(app)
    response = import_record(admin_client, json.dumps(record))
    assert response.status_code == 200
    assert trial_ids(app) == before  # the existing NCT06205342, re-imported, not a look-alike
    assert "NCT06205342" in response.get_data(as_text=True)


def test_a_tampered_loaded_field_gives_the_conflict_page(admin_client, app, tally):
    from test_staff_catalog import edit_form_data, trial_id

    count = tally.setdefault(backend_of(app), Tally())
    tid = trial_id(app, "NCT06205342")
    form = edit_form_data(admin_client, f"/staff/trials/{tid}")
    for loaded in ("[]", "5", "null", "{" * 100_000, "not json", '{"site": {"deep": [1, 2]}}'):
        response = count(admin_client.post(f"/staff/trials/{tid}", data={**form, "version": "999", "loaded": loaded}),
                         "loaded")
        assert response.status_code == 409, loaded
    for version in ("٣", "9" * 5000, "-1", "1e3"):
        response = count(admin_client.post(f"/staff/trials/{tid}", data={**form, "version": version}), "version")
        assert response.status_code == 409, version


def test_links_staff_write_are_web_or_e_mail_only(admin_client, app, tally):
    from test_staff_catalog import edit_form_data, trial_id

    count = tally.setdefault(backend_of(app), Tally())
    tid = trial_id(app, "NCT06205342")
    form = edit_form_data(admin_client, f"/staff/trials/{tid}")
    for url in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:alert(1)",
                "vbscript:x", "//evil.example", "https://", " javascript:alert(1)"):
        response = count(admin_client.post(f"/staff/trials/{tid}", data={**form, "sources": f"A source | {url}"}), url)
        assert response.status_code == 400, url
        assert "web address (http:// or https://) or an e-mail address" in response.get_data(as_text=True)
    ok = admin_client.post(f"/staff/trials/{tid}", data={**form, "sources": "The registry | https://clinicaltrials.gov/\n"
                                                                        "Write to us | mailto:team@clinic.example"})
    assert ok.status_code == 302
    # A catalog file is held to the same rule.
    from webapp.catalog.schema import CatalogError, validate_catalog
    from webapp.catalog.service import read_bundled_catalog

    document = read_bundled_catalog()
    document["trials"][0]["sources"][0]["url"] = "javascript:alert(1)"
    with pytest.raises(CatalogError, match=r"trials\[0\]\.sources\[0\]\.url: must be a web address"):
        validate_catalog(document)
    # And one that got into the database some other way is shown as text, never as a link.
    from sqlalchemy import update

    from webapp.catalog.models import Trial
    from webapp.extensions import db

    with app.app_context():
        db.session.execute(update(Trial).where(Trial.id == tid).values(
            sources=[{"label": "Sneaky", "url": "javascript:alert(1)"}]))
        from webapp.catalog.service import bump_revision

        bump_revision()
        db.session.commit()
    person = Screener(app.test_client())
    person.questions_asked({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
                            "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"},
                            "cp_procedure_planned": {"answer": "no"}})
    html = person.results_html()
    assert "Sneaky" in html and "javascript:" not in html


def test_csv_cells_never_start_a_formula(admin_client, app):
    from test_sharing import make_link, screen_through, the_day_passes

    for label in ("=HYPERLINK(\"http://evil.example\")", "+1+1", "-2", "@SUM(A1)"):
        link = make_link(admin_client, app, language="en", trials=(), label=label)
        screen_through(app, link.code, "en")
    the_day_passes(app)
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(admin_client.get("/staff/counts.csv").get_data(as_text=True))))
    labels = {row["link label"] for row in rows}
    assert labels and all(not label.startswith(("=", "+", "-", "@", "\t", "\r")) for label in labels), labels
    assert "'=HYPERLINK(\"http://evil.example\")" in labels
    from webapp.staff.views import spreadsheet_cell

    assert [spreadsheet_cell(v) for v in ("\tTab", "\rReturn", "plain", 5)] == ["'\tTab", "'\rReturn", "plain", 5]
