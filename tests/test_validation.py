"""Every validation error: a plain message, an error summary, and the other answers kept."""

from __future__ import annotations

import re
from datetime import date

import pytest

from conftest import Screener, months_ago

ERROR_LINK = re.compile(r'<div class="error-summary".*?<a href="#(?P<field>[^"]+)">(?P<message>[^<]+)</a>', re.S)


def error_of(response) -> tuple[str, str]:
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in html
    match = ERROR_LINK.search(html)
    assert match, "an error summary links to the field"
    field = match["field"]
    assert f'id="{field}"' in html, "the summary links to an input on the page"
    assert f'id="{field}-error"' in html, "the message is also shown beside the field"
    return field, match["message"].replace("&#34;", '"').replace("&#39;", "'")


def start_type1(screener: Screener, age: str = "25") -> None:
    screener.answer_all({"conditions": {"answer": ["type1"]}, "age": {"answer": age}})


@pytest.mark.parametrize(
    "question, fields, field, message",
    [
        ("conditions", {}, "answer", "Select the conditions a doctor has told you about"),
        ("conditions", {"answer": ["type9"]}, "answer", "Select only the answers shown."),
        ("conditions", {"answer": ["none", "type2"]}, "answer", "on its own"),
        ("age", {"answer": ""}, "answer", "Enter your age in years."),
        ("age", {"answer": "121"}, "answer", "Enter an age between 0 and 120."),
        ("age", {"answer": "-4"}, "answer", "Enter your age as a whole number, like 45."),
        ("age", {"answer": "thirty"}, "answer", "Enter your age as a whole number, like 45."),
        ("type1_diagnosed", {}, "month", "Enter the month and year you were diagnosed"),
        ("type1_diagnosed", {"month": "2", "year": ""}, "year", "Enter the year you were diagnosed."),
        ("type1_diagnosed", {"month": "14", "year": "2020"}, "month", "Select a month from the list."),
        ("type1_diagnosed", {"month": "2", "year": "20x0"}, "year", "Enter the year as 4 numbers"),
        ("type1_diagnosed", {"month": "1", "year": str(date.today().year + 1)}, "year",
         "must be this month or in the past"),
        ("type1_diagnosed", {"month": "1", "year": str(date.today().year - 40)}, "year",
         "before you were born"),
        ("type1_own_insulin", {}, "answer", "Select yes, no or not sure."),
        ("type1_own_insulin", {"answer": "perhaps"}, "answer", "Select one of the answers shown."),
    ],
)
def test_invalid_answer_gets_plain_message_and_keeps_other_answers(screener, question, fields, field, message):
    if question not in ("conditions", "age"):
        start_type1(screener)
        if question == "type1_own_insulin":
            screener.answer("type1_diagnosed", **months_ago(1))
    elif question == "age":
        screener.answer("conditions", answer=["type1"])
    response = screener.answer(question, **fields)
    found_field, found_message = error_of(response)
    assert found_field == field
    assert message in found_message
    # The person's earlier answers are still there: the next valid answer moves on.
    if question == "type1_own_insulin":
        ok = screener.answer(question, answer="yes")
        assert ok.location.endswith("/en/questions/location")


def test_invalid_month_year_keeps_what_was_typed(screener):
    start_type1(screener)
    html = screener.answer("type1_diagnosed", month="3", year="20").get_data(as_text=True)
    assert '<option value="3" selected>March</option>' in html
    assert 'value="20"' in html


def test_error_summary_takes_focus_and_fields_are_described(screener):
    html = screener.answer("conditions").get_data(as_text=True)
    assert 'class="error-summary" role="alert"' in html and "autofocus" in html
    assert 'aria-describedby="hint hint-caregiver answer-error"' in html


def test_csrf_is_enforced(screener):
    screener.answer("conditions", answer=["type1"])  # the session now holds a CSRF token
    response = screener.client.post("/en/questions/age", data={"answer": "30"})
    assert response.status_code == 400
    assert "Something was wrong with that request" in response.get_data(as_text=True)
    response = screener.client.post("/en/questions/age", data={"answer": "30", "csrf_token": "forged"})
    assert response.status_code == 400
    # Nothing was saved.
    assert screener.client.get("/en/check").location.endswith("/en/questions/age")


def test_post_without_any_session_starts_fresh_with_message(client):
    response = client.post("/en/questions/conditions", data={"answer": ["type1"]}, follow_redirects=True)
    assert response.status_code == 200
    assert "We could not read your saved answers, so we started a new screening." in response.get_data(as_text=True)


def test_tampered_cookie_starts_a_fresh_screening(screener):
    screener.answer("conditions", answer=["type1"])
    cookie = screener.client.get_cookie("trialcheck")
    screener.client.set_cookie("trialcheck", cookie.value[:-3] + "abc")
    response = screener.client.get("/en/questions/age", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "We could not read your saved answers, so we started a new screening." in html
    assert screener.client.get("/en/check").location.endswith("/en/")


def test_expired_session_starts_a_fresh_screening(screener, monkeypatch):
    import cryptography.fernet

    screener.answer("conditions", answer=["type1"])
    later = cryptography.fernet.time.time() + 3 * 3600  # past the 2-hour limit
    monkeypatch.setattr(cryptography.fernet.time, "time", lambda: later)
    response = screener.client.get("/en/results", follow_redirects=True)
    assert "We could not read your saved answers" in response.get_data(as_text=True)


def test_unknown_question_and_language_are_friendly_404s(client):
    response = client.get("/en/questions/blood_type")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    response = client.get("/fr/")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'href="/en/"' in html and "Choose your language" in html


def test_oversized_request_gets_413_page(client):
    response = client.post("/en/questions/age", data={"answer": "x" * 100_000})
    assert response.status_code == 413
    assert "That was too much to send" in response.get_data(as_text=True)


@pytest.mark.parametrize("method, path", [("GET", "/en/clear"), ("DELETE", "/en/results")])
def test_wrong_method_is_friendly(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "stored",
    [
        {"conditions": "type1", "age": "abc"},
        {"conditions": ["type1"], "age": 25, "type1_diagnosed": "2024-13"},
        {"conditions": ["type1"], "age": True, "type1_diagnosed": 5},
        {"conditions": [], "age": 500},
        {"conditions": ["chronic_pancreatitis"], "age": 40, "veteran": ["yes"], "unknown": 1},
        "not a dict",
    ],
)
def test_odd_stored_answers_never_cause_a_500(client, stored):
    # A signed cookie from an older version of the questions, say: odd values are dropped.
    with client.session_transaction() as session:
        session["answers"] = stored
    for path in ("/en/", "/en/check", "/en/results", "/en/results/print", "/en/questions/age",
                 "/en/questions/type1_diagnosed", "/en/questions/veteran"):
        response = client.get(path)
        assert response.status_code in (200, 302), (path, response.status_code)


@pytest.mark.parametrize(
    "question, fields",
    [
        ("conditions", {"answer": ["type1"] * 50}),
        ("conditions", {"answer": ["<script>alert(1)</script>"]}),
        ("age", {"answer": "1e3"}),
        ("age", {"answer": "9" * 400}),
        ("age", {"answer": "\x00"}),
        ("age", {"answer": ["30", "40"]}),
    ],
)
def test_hostile_values_get_messages_not_errors(screener, question, fields):
    if question == "age":
        screener.answer("conditions", answer=["type1"])
    response = screener.answer(question, **fields)
    assert response.status_code in (302, 400)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_new_kinds_get_plain_messages_in_the_persons_language(app):
    """HbA1c, height and weight, sex: asked with a study that uses them, errors in Spanish."""
    from conftest import Screener
    from audit_pages import EVERY_FACT_STUDY
    import copy

    from webapp.catalog.service import load_catalog, read_bundled_catalog

    document = read_bundled_catalog()
    document["trials"].append(copy.deepcopy(EVERY_FACT_STUDY))
    with app.app_context():
        load_catalog(document)
    screener = Screener(app.test_client(), "es")
    screener.answer_all({"conditions": {"answer": ["type2"]}, "age": {"answer": "50"},
                         "sex": {"answer": "female"}, "type2_diagnosed": months_ago(30),
                         "insulin_use": {"answer": "yes"}})
    field, message = error_of(screener.answer("hba1c", value="siete", unit="%"))
    assert field == "value" and message == "Escriba su resultado de A1C como un número, por ejemplo 7,2."
    assert screener.answer("hba1c", value="7,2", unit="%").status_code == 302
    field, message = error_of(screener.answer("height_weight", cm="170"))
    assert field == "kg"
    field, _ = error_of(screener.answer("height_weight", cm="170", feet="5", kg="80"))
    assert field == "cm"
    assert screener.answer("height_weight", feet="5", inches="7", lb="176").status_code == 302
    screener.answer_all({"pregnancy": {"answer": "no"}, "veteran": {"answer": "yes"}, "english": {"answer": "yes"}})
    html = screener.client.get("/es/check").get_data(as_text=True)
    assert "7,2 %" in html and "IMC 27,6" in html
