"""Staff sessions end on the server when someone signs out, last while they are used, and a
save that arrives after a session ran out keeps what the person typed."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import STAFF_PASSWORD, create_staff, page_token, sign_in
from test_staff_catalog import edit_form_data, trial_id
from webapp.catalog.models import Trial
from webapp.extensions import db
from webapp.staff.models import StaffDraft

EMAIL = "nurse@clinic.example"


class Clock:
    """Moves time.time() (which the cookie's age, the session rows and the drafts all use)."""

    def __init__(self, monkeypatch):  # type: ignore[no-untyped-def]
        self.start, self.offset = time.time(), 0.0
        monkeypatch.setattr(time, "time", lambda: self.start + self.offset)

    def minutes(self, minutes: float) -> None:
        self.offset = minutes * 60


@pytest.fixture
def nurse(app):  # type: ignore[no-untyped-def]
    create_staff(app, EMAIL)
    client = app.test_client()
    assert sign_in(client, EMAIL).status_code == 302
    return client


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/staff/").status_code == 200


def test_signing_out_ends_the_session_on_the_server(nurse):
    copy = nurse.get_cookie("trialcheck").value
    assert signed_in(nurse)
    nurse.post("/staff/logout", data={"csrf_token": page_token(nurse, "/staff/")})
    assert not signed_in(nurse)
    nurse.set_cookie("trialcheck", copy)  # a copy of the cookie from before signing out
    response = nurse.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.location


def test_a_session_lasts_while_it_is_used(app, monkeypatch):
    clock = Clock(monkeypatch)
    create_staff(app, EMAIL)
    client = app.test_client()
    sign_in(client, EMAIL)
    for minute in (50, 100, 150, 200, 250):  # busy for over four hours, never 2 hours idle
        clock.minutes(minute)
        assert signed_in(client), minute
    clock.minutes(250 + 121)  # two hours without a request
    assert not signed_in(client)


def test_a_session_ends_twelve_hours_after_signing_in_however_busy(app, monkeypatch):
    clock = Clock(monkeypatch)
    create_staff(app, EMAIL)
    client = app.test_client()
    sign_in(client, EMAIL)
    for hour in range(1, 12):
        clock.minutes(hour * 60)
        assert signed_in(client), hour
    clock.minutes(12 * 60 + 1)
    assert not signed_in(client)


def send_again(client, html: str):  # type: ignore[no-untyped-def]
    """Post the draft page's "Save it now" form as the browser would."""
    form = html[:html.index('name="_draft"')]
    form = html[form.rindex("<form"):]
    form = form[:form.index("</form>")]
    action = re.search(r'action="([^"]+)"', form).group(1).replace("&amp;", "&")
    fields = [(n, v.replace("&#34;", '"').replace("&amp;", "&").replace("&#39;", "'").replace("&lt;", "<")
               .replace("&gt;", ">")) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)]
    data: dict = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return client.post(action, data=data)


@pytest.mark.parametrize("how", ["cookie expired", "idle on the server"])
def test_a_save_after_the_session_ran_out_keeps_the_typed_text(app, nurse, monkeypatch, how):
    clock = Clock(monkeypatch)
    tid = trial_id(app, "NCT06205342")
    form = edit_form_data(nurse, f"/staff/trials/{tid}")
    form["sponsor"] = "A sponsor typed slowly, with care"
    if how == "cookie expired":
        clock.minutes(180)  # the cookie and its form token are too old
    else:
        app.config["STAFF_IDLE_TIMEOUT"] = timedelta(minutes=30)
        clock.minutes(45)  # the cookie is still readable, the server session is not
    response = nurse.post(f"/staff/trials/{tid}", data=form)
    assert response.status_code == 302 and "/staff/login" in response.location and "draft=" in response.location
    login_page = nurse.get(response.location).get_data(as_text=True)
    assert "Your session ended before this was saved. Sign in again: what you typed is kept." in login_page
    token = page_token(nurse, response.location)
    signed = nurse.post(response.location, data={"csrf_token": token, "email": EMAIL, "password": STAFF_PASSWORD})
    assert signed.status_code == 302 and "/staff/drafts/" in signed.location
    page = nurse.get(signed.location).get_data(as_text=True)
    assert "A sponsor typed slowly, with care" in page
    saved = send_again(nurse, page)
    assert saved.status_code == 302 and "/login" not in saved.location, (saved.location, saved.get_data(as_text=True)[-2000:])
    with app.app_context():
        assert db.session.get(Trial, tid).sponsor == "A sponsor typed slowly, with care"
        assert db.session.scalar(select(func.count()).select_from(StaffDraft)) == 0


def test_a_kept_draft_is_only_given_back_to_its_author_and_never_holds_a_password(app, nurse, monkeypatch):
    clock = Clock(monkeypatch)
    path = "/staff/users"
    create_staff(app, "admin@clinic.example", "admin")
    admin = app.test_client()
    sign_in(admin, "admin@clinic.example")
    token = page_token(admin, path)
    clock.minutes(180)
    response = admin.post(path, data={"csrf_token": token, "email": "new@clinic.example", "role": "editor",
                                      "password": "a new long password for them"})
    draft_token = response.location.split("draft=")[1]
    with app.app_context():
        draft = db.session.scalar(select(StaffDraft).where(StaffDraft.token == draft_token))
        assert ["email", "new@clinic.example"] in draft.fields
        assert not [f for f in draft.fields if "password" in f[0]]
    # Another person signing in with that address does not get it.
    clock.minutes(181)
    other = app.test_client()
    create_staff(app, "other@clinic.example")
    login = f"/staff/login?draft={draft_token}"
    signed = other.post(login, data={"csrf_token": page_token(other, login), "email": "other@clinic.example",
                                     "password": STAFF_PASSWORD})
    assert "/staff/drafts/" not in signed.location
    assert other.get(f"/staff/drafts/{draft_token}").status_code == 404


def test_a_forged_post_without_a_session_is_not_kept(app):
    client = app.test_client()
    response = client.post("/staff/trials/1", data={"sponsor": "planted"})
    assert response.status_code == 400  # no form token at all: refused, nothing kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StaffDraft)) == 0
