"""Rendered question pages are reused, but never one person's token or answer for another."""

from __future__ import annotations

import re

from conftest import CSRF, Screener


def token_of(html: str) -> str:
    return CSRF.search(html).group(1)


def test_cached_question_page_gets_each_persons_own_token_and_answer(app):
    first, second = Screener(app.test_client()), Screener(app.test_client())
    for person, age in ((first, "31"), (second, "64")):
        person.answer("conditions", answer=["type1"])
        person.answer("age", answer=age)
    pages = [p.client.get("/en/questions/age").get_data(as_text=True) for p in (first, second, first)]
    assert 'value="31"' in pages[0] and 'value="64"' in pages[1] and 'value="31"' in pages[2]
    assert len({token_of(page) for page in pages[:2]}) == 2
    assert "__trialcheck_csrf_token__" not in "".join(pages)
    # The token in a page served from the cache works for its own session.
    response = first.client.post("/en/questions/age", data={"csrf_token": token_of(pages[2]), "answer": "32"})
    assert response.status_code == 302
    assert len(app.extensions["question_pages"]) >= 2


def test_pages_with_a_message_are_not_cached(app):
    client = app.test_client()
    Screener(client).answer("conditions", answer=["type1"])
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "A one-off message")]
    assert "A one-off message" in client.get("/en/questions/age").get_data(as_text=True)
    assert "A one-off message" not in client.get("/en/questions/age").get_data(as_text=True)
    other = app.test_client()
    Screener(other).answer("conditions", answer=["type1"])
    page = other.get("/en/questions/age").get_data(as_text=True)
    assert "A one-off message" not in page and re.search(r'name="csrf_token"', page)
