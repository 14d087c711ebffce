"""The session cookie holds a person's answers, so it is encrypted: nothing that sees it on
the way can read them. Servers sharing the secret read each other's cookies; the secret can
be rotated without signing everyone out."""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from conftest import Screener, make_app, months_ago


def answered(app) -> Screener:
    person = Screener(app.test_client())
    person.answer("conditions", answer=["chronic_pancreatitis"])
    person.answer("age", answer="47")
    person.answer("chronic_pancreatitis_diagnosed", **months_ago(30))
    return person


def remembered_age(client) -> str | None:
    page = client.get("/en/questions/age?change=1").get_data(as_text=True)
    match = re.search(r'name="answer"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="answer"', page)
    return (match.group(1) or match.group(2)) if match else None


def every_decoding(value: str) -> str:
    """What anyone could make of the cookie without the key: each dot-separated part as
    base64, and zlib-inflated if it is compressed (as Flask's signed cookies are)."""
    seen = [value]
    for part in value.lstrip(".").split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        seen.append(raw.decode("latin-1"))
        try:
            seen.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            pass
    return "\n".join(seen)


def test_nobody_can_read_the_answers_in_the_cookie(app):
    person = answered(app)
    cookie = person.client.get_cookie("trialcheck").value
    readable = every_decoding(cookie)
    # Words long enough never to turn up by chance in random bytes or base64 text; the
    # age only as a stored value would look (a bare "47" turns up by chance in ciphertext).
    for answer in ("chronic_pancreatitis", "pancreatitis", "answers", "conditions", '"47"', ":47"):
        assert answer not in readable
    assert remembered_age(person.client) == "47"  # and the app itself reads it


def test_servers_sharing_the_secret_read_each_others_cookies(app, database_url, tmp_path):
    person = answered(app)
    cookie = person.client.get_cookie("trialcheck").value
    other = make_app(database_url, tmp_path / "other")
    client = other.test_client()
    client.set_cookie("trialcheck", cookie)
    assert remembered_age(client) == "47"
    stranger = make_app(database_url, tmp_path / "stranger", SECRET_KEY="another-secret-key")
    client = stranger.test_client()
    client.set_cookie("trialcheck", cookie)
    page = client.get("/en/questions/age", follow_redirects=True).get_data(as_text=True)
    assert "We could not read your saved answers" in page


def test_the_secret_can_be_rotated_without_losing_answers(app, database_url, tmp_path):
    person = answered(app)
    old_cookie = person.client.get_cookie("trialcheck").value
    rotated = make_app(database_url, tmp_path / "rotated", SECRET_KEY="the-new-secret-key",
                       SECRET_KEY_FALLBACKS=["test-only-secret-key"])
    client = rotated.test_client()
    client.set_cookie("trialcheck", old_cookie)
    assert remembered_age(client) == "47"
    client.post("/en/questions/age", data={"csrf_token": Screener(client).csrf_token("age"), "answer": "48"})
    new_cookie = client.get_cookie("trialcheck").value
    assert new_cookie != old_cookie
    only_new = make_app(database_url, tmp_path / "only-new", SECRET_KEY="the-new-secret-key")
    client = only_new.test_client()
    client.set_cookie("trialcheck", new_cookie)
    assert remembered_age(client) == "48"
