"""The promises: answers never reach the database or the logs, cookies are locked down,
no third-party requests, the physician notice everywhere it must be."""

from __future__ import annotations

import logging
import re

from sqlalchemy import event, inspect, select, text

from conftest import Screener, months_ago
from webapp.extensions import db
from webapp.sharing.models import UsageCount

DISTINCT_ANSWERS = {
    "conditions": {"answer": ["type1", "chronic_pancreatitis"]},
    "age": {"answer": "27"},
    "type1_diagnosed": months_ago(1),
    "type1_own_insulin": {"answer": "yes"},
    "cp_pain_duration": {"answer": "about_6_months"},
    "cp_dose_stable": {"answer": "not_sure"},
    "cp_procedure_planned": {"answer": "no"},
}


def snapshot(app) -> dict[str, list]:
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            return {name: sorted(map(repr, connection.execute(text(f'SELECT * FROM "{name}"'))))
                    for name in names}


def test_a_full_screening_writes_only_anonymous_counts(app, client):
    before = snapshot(app)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        screener = Screener(client)
        screener.answer_all(DISTINCT_ANSWERS)
        screener.results_html()
        client.get("/en/results/print")
        client.get("/en/check")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if re.match(r"\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)", s, re.I)]
    assert statements, "the results page did read the catalog"
    assert writes and all(re.match(r"\s*(INSERT INTO|DELETE FROM) (usage_count|counted_screening)\b", s)
                          for s in writes), writes
    after = snapshot(app)
    counts = ("usage_count", "counted_screening")
    assert {k: v for k, v in after.items() if k not in counts} == {k: v for k, v in before.items() if k not in counts}
    with app.app_context():
        counted = db.session.execute(text("SELECT token_hash, event, day FROM counted_screening")).all()
    # Which screenings are counted: a hash of a random token, the event and the day; nothing else.
    assert sorted(event for _, event, _ in counted) == ["finished", "started"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", token) for token, _, _ in counted)
    with app.app_context():
        rows = [row.as_row() for row in db.session.scalars(select(UsageCount))]
    # A day, no link, the language, the event, and per trial only its result group.
    assert {(r["event"], r["trial"], r["group"], r["count"]) for r in rows} == {
        ("started", "", "", 1), ("finished", "", "", 1),
        ("verdict", "NCT06205342", "check", 1), ("verdict", "NCT05925036", "check", 1),
        ("verdict", "NCT04061746", "check", 1)}
    assert {r["language"] for r in rows} == {"en"} and {r["link"] for r in rows} == {""}
    stored = repr(after["usage_count"])
    for value in ("27", "about_6_months", "not_sure", "yes"):
        assert value not in stored


def test_answers_never_reach_the_logs(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    screener = Screener(client)
    screener.answer_all(DISTINCT_ANSWERS)
    screener.results_html()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for value in ("27", "about_6_months", "chronic_pancreatitis", "veteran"):
        assert value not in logged


def test_answers_are_never_in_urls(client):
    screener = Screener(client)
    for question_id, fields in DISTINCT_ANSWERS.items():
        response = screener.answer(question_id, **fields)
        assert "27" not in response.location and "yes" not in response.location


def test_session_cookie_flags(client):
    response = Screener(client).answer("conditions", answer=["type1"])  # saving an answer sets it
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("trialcheck="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # plain HTTP here
    assert "Expires" not in header  # gone when the browser closes


def test_session_cookie_is_secure_over_https(app):
    client = app.test_client()
    page = client.get("/en/questions/conditions", base_url="https://localhost")
    header = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("trialcheck="))
    assert "Secure" in header
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")


def test_security_headers(client):
    response = client.get("/en/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


PAGES = ["/en/", "/en/privacy", "/en/learn/", "/en/learn/mesenchymal-stem-cells",
         "/en/questions/conditions"]


def test_no_third_party_resources_and_no_javascript(client):
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html, path
        for tag in re.findall(r"<(?:link|img|iframe|source|video|audio)\b[^>]*>", html):
            assert "http" not in tag, (path, tag)
        assert "style=" not in html, path  # no inline styles under the strict CSP


def test_physician_notice_everywhere_it_must_be(app, client):
    notice = "This tool does not give medical advice."
    assert notice in client.get("/en/").get_data(as_text=True)
    with app.app_context():
        from webapp.catalog.models import EducationPage
        slugs = db.session.scalars(select(EducationPage.slug)).all()
    assert len(slugs) >= 9
    for slug in slugs:
        assert notice in client.get(f"/en/learn/{slug}").get_data(as_text=True), slug
    screener = Screener(client)
    screener.answer_all(DISTINCT_ANSWERS)
    assert notice in screener.results_html()
    assert notice in client.get("/en/results/print").get_data(as_text=True)
    assert notice in screener.results_html("?show=all")


def test_never_says_eligible(client):
    screener = Screener(client)
    screener.answer_all(DISTINCT_ANSWERS)
    pages = [screener.results_html(), client.get("/en/results/print").get_data(as_text=True),
             client.get("/en/check").get_data(as_text=True)]
    pages += [client.get(path).get_data(as_text=True) for path in PAGES]
    for html in pages:
        assert "eligib" not in html.lower()


def test_patient_pages_set_only_the_session_cookie(client):
    Screener(client).answer("conditions", answer=["type1"])
    for path in ("/en/", "/en/questions/age", "/en/privacy"):
        cookies = client.get(path).headers.getlist("Set-Cookie")
        assert all(c.startswith("trialcheck=") for c in cookies), cookies
    with client.session_transaction() as session:
        assert set(session) <= {"csrf_token", "answers", "counted_start", "active_minute", "link", "counted_finish",
                                "screening"}
