"""Staff accounts: CLI, sign-in, rate limits, roles, and no /staff page without a login."""

from __future__ import annotations

import pytest

from conftest import STAFF_PASSWORD, create_staff, make_app, page_token, sign_in
from webapp.extensions import db
from webapp.staff.models import StaffUser

SAMPLE_VALUES = {"trial_id": 1, "criterion_id": 1, "page_id": 1, "link_id": 1, "user_id": 1,
                 "lang": "es", "action": "up", "state": "on", "kind": "svg", "key": "0123456789abcdef0123",
                 "row_id": 1, "part": "questions", "token": "not-a-draft"}


def test_every_staff_route_requires_a_login(database_url, tmp_path):
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=False)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or rule.endpoint == "staff.login":
            continue
        values = {arg: sorted(getattr(rule._converters[arg], "items", None) or [SAMPLE_VALUES[arg]])[0]
                  for arg in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 302, (method, path, response.status_code)
            assert "/staff/login" in response.location
            checked += 1
    assert checked >= 25


def test_cli_creates_staff_reading_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "create", "New@Clinic.example", "--role", "editor"],
                           input=STAFF_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert STAFF_PASSWORD not in result.output
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == "new@clinic.example"))
        assert user.role == "editor" and user.password_hash.startswith("scrypt:")
        assert STAFF_PASSWORD not in user.password_hash
    short = runner.invoke(args=["staff", "create", "x@clinic.example", "--role", "admin"], input="short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    twice = runner.invoke(args=["staff", "create", "new@clinic.example", "--role", "admin"], input=STAFF_PASSWORD + "\n")
    assert twice.exit_code != 0 and "already an account" in twice.output


def test_set_password_signs_out_old_sessions(app):
    create_staff(app, "a@clinic.example")
    client = app.test_client()
    sign_in(client, "a@clinic.example")
    assert client.get("/staff/").status_code == 200
    result = app.test_cli_runner().invoke(args=["staff", "set-password", "a@clinic.example"],
                                          input="another long password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302  # the old session no longer works
    assert sign_in(client, "a@clinic.example", "another long password").status_code == 302


def test_sign_in_changes_the_session_and_sign_out_ends_it(app):
    create_staff(app, "b@clinic.example")
    client = app.test_client()
    page_token(client, "/staff/login")
    before = client.get_cookie("trialcheck").value
    wrong = sign_in(client, "b@clinic.example", "not the password")
    assert wrong.status_code == 400 and "The email address or password is not right." in wrong.get_data(as_text=True)
    assert sign_in(client, "B@clinic.example").status_code == 302
    after = client.get_cookie("trialcheck").value
    assert after != before
    with client.session_transaction() as session:
        assert session.get("sid") and "_user_id" in session
    token = page_token(client, "/staff/")
    response = client.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_next_parameter_is_not_an_open_redirect(app, target):
    create_staff(app, "c@clinic.example")
    client = app.test_client()
    token = page_token(client, "/staff/login")
    response = client.post("/staff/login?next=" + target, data={
        "csrf_token": token, "email": "c@clinic.example", "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response.location == "/staff/"


def test_next_parameter_keeps_a_staff_path(app):
    create_staff(app, "d@clinic.example")
    client = app.test_client()
    token = page_token(client, "/staff/login")
    response = client.post("/staff/login?next=/staff/links", data={
        "csrf_token": token, "email": "d@clinic.example", "password": STAFF_PASSWORD})
    assert response.location == "/staff/links"


def test_login_attempts_are_rate_limited_per_account(app):
    create_staff(app, "e@clinic.example")
    statuses = []
    for attempt in range(12):
        client = app.test_client()  # a fresh session each time, as an attacker would use
        token = page_token(client, "/staff/login")
        response = client.post("/staff/login", data={"csrf_token": token, "email": "e@clinic.example",
                                                     "password": f"guess {attempt}"},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{attempt}"})
        statuses.append(response.status_code)
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    assert "Too many tries" in response.get_data(as_text=True)


def test_login_attempts_are_rate_limited_per_address(app):
    client = app.test_client()
    statuses = []
    for attempt in range(11):
        token = page_token(client, "/staff/login")
        statuses.append(client.post("/staff/login", data={
            "csrf_token": token, "email": f"nobody{attempt}@clinic.example", "password": "x" * 12}).status_code)
    assert statuses[-1] == 429 and statuses[0] == 400


def test_editors_cannot_manage_accounts_or_read_the_audit_trail(editor_client):
    assert editor_client.get("/staff/users").status_code == 403
    assert editor_client.get("/staff/audit").status_code == 403
    assert editor_client.get("/staff/trials").status_code == 200


def test_admin_manages_accounts(admin_client, app):
    token = page_token(admin_client, "/staff/users")
    response = admin_client.post("/staff/users", data={
        "csrf_token": token, "email": "f@clinic.example", "role": "editor", "password": "a new long password"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == "f@clinic.example"))
        user_id = user.id
    token = page_token(admin_client, f"/staff/users/{user_id}")
    response = admin_client.post(f"/staff/users/{user_id}", data={
        "csrf_token": token, "role": "editor", "password": "reset by the admin 1"})
    assert response.status_code == 302
    other = app.test_client()
    assert sign_in(other, "f@clinic.example", "a new long password").status_code == 400
    assert sign_in(other, "f@clinic.example", "reset by the admin 1").status_code == 400  # blocked: active unticked
    audit = admin_client.get("/staff/audit").get_data(as_text=True)
    assert "Created editor account f@clinic.example" in audit
    assert "password reset" in audit and STAFF_PASSWORD not in audit


def test_staff_forms_need_csrf(admin_client):
    response = admin_client.post("/staff/links", data={"label": "x", "language": "en"})
    assert response.status_code == 400
