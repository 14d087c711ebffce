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
