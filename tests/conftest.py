"""Shared fixtures: an app per database backend, a client, a CLI runner, a screener helper.

Database-touching tests run against SQLite and, when TEST_POSTGRES_URL is set (as
`make test` does after starting the local server), against a real PostgreSQL too.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from webapp import create_app
from webapp.catalog.service import load_catalog, read_bundled_catalog
from webapp.config import database_url_from
from webapp.extensions import db

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backends: {', '.join(BACKENDS)}"


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = database_url_from(POSTGRES_URL)
    reset_postgres(url)
    return url


def make_app(database_url: str, tmp_path, **overrides: Any):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-only-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Tests read the catalog revision in the request (no thread reading a database a test is
        # about to drop); test_database_hangs and test_catalog_revision cover the thread.
        "CATALOG_BACKGROUND_REFRESH": False,
        **overrides,
    }
    os.environ["TRIALCHECK_INSTANCE_PATH"] = str(tmp_path / "instance")
    return create_app(config)


@pytest.fixture
def empty_app(database_url, tmp_path):
    """An app whose database is migrated to the newest schema but holds no catalog."""
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(empty_app):
    with empty_app.app_context():
        load_catalog(read_bundled_catalog())
    return empty_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Screener:
    """Drives the questionnaire through the test client the way a browser would."""

    def __init__(self, client, lang: str = "en"):
        self.client = client
        self.lang = lang

    def csrf_token(self, question_id: str = "conditions") -> str:
        page = self.client.get(f"/{self.lang}/questions/{question_id}", follow_redirects=True)
        match = CSRF.search(page.get_data(as_text=True))
        assert match, "the question page has a CSRF token"
        return match.group(1)

    def asked(self, question_id: str, change: bool = False) -> bool:
        """Whether the screener would show this question now (it redirects when not)."""
        query = "?change=1" if change else ""
        return self.client.get(f"/{self.lang}/questions/{question_id}{query}").status_code == 200

    def answer(self, question_id: str, change: bool = False, **fields: Any):
        data = {"csrf_token": self.csrf_token(question_id), **fields}
        query = "?change=1" if change else ""
        return self.client.post(f"/{self.lang}/questions/{question_id}{query}", data=data)

    # Unless a test says where the person lives, they would rather not say (the location
    # question is asked whenever a listed study has a located site).
    UNLESS_GIVEN = {"location": {"not_sure": "y"}}

    def _answer_pending_location(self, answers: dict[str, Any]):  # type: ignore[no-untyped-def]
        if "location" not in answers and self.asked("location"):
            response = self.answer("location", **self.UNLESS_GIVEN["location"])
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
            return response
        return None

    def answer_all(self, answers: dict[str, dict[str, Any]]):
        """Answer each question in turn; each must be one the screener asks at that point."""
        response = None
        for question_id, fields in answers.items():
            if not self.asked(question_id):
                self._answer_pending_location(answers)
            assert self.asked(question_id), f"{question_id} was not asked"
            response = self.answer(question_id, **fields)
            assert response.status_code == 302, (question_id, response.get_data(as_text=True)[:2000])
        return self._answer_pending_location(answers) or response

    def questions_asked(self, answers: dict[str, dict[str, Any]]) -> list[str]:
        """Walk the questionnaire answering from `answers` (question id -> form fields) until the
        check page; the ids of the questions asked, in order."""
        asked, url = [], f"/{self.lang}/questions/conditions"
        while "/questions/" in url:
            question_id = url.rsplit("/questions/", 1)[1].split("?")[0]
            asked.append(question_id)
            given = answers.get(question_id, self.UNLESS_GIVEN.get(question_id))
            assert given is not None, f"asked {question_id}, which the test gives no answer for"
            response = self.answer(question_id, **given)
            assert response.status_code == 302, (question_id, response.get_data(as_text=True)[:1500])
            url = response.location
        return asked

    def results_html(self, query: str = "") -> str:
        response = self.client.get(f"/{self.lang}/results{query}")
        assert response.status_code == 200, response.location
        return response.get_data(as_text=True)


@pytest.fixture
def screener(client):
    return Screener(client)


def months_ago(months: int, today: date | None = None) -> dict[str, str]:
    """Form fields for a diagnosis `months` whole calendar months before today."""
    today = today or date.today()
    index = today.year * 12 + today.month - 1 - months
    return {"month": str(index % 12 + 1), "year": str(index // 12)}


TRIAL_CARD = re.compile(
    r'data-trial="(?P<trial>[^"]+)" data-verdict="(?P<verdict>[^"]+)" data-status="(?P<status>[^"]+)"'
)


def verdicts(html: str) -> dict[str, str]:
    return {m["trial"]: m["verdict"] for m in TRIAL_CARD.finditer(html)}


def card(html: str, registry_id: str) -> str:
    """The HTML of one trial card."""
    start = html.index(f'data-trial="{registry_id}"')
    return html[start:html.index("</article>", start)]


# --- staff area --------------------------------------------------------------------------------

STAFF_PASSWORD = "correct horse battery staple"
LOGIN_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def create_staff(app, email: str, role: str = "editor", password: str = STAFF_PASSWORD):
    from webapp.staff.services import create_staff as create

    with app.app_context():
        return create(None, email, role, password).id


def page_token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = LOGIN_CSRF.search(html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"{path} has a CSRF token"
    return match.group(1)


def sign_in(client, email: str, password: str = STAFF_PASSWORD):
    token = page_token(client, "/staff/login")
    return client.post("/staff/login", data={"csrf_token": token, "email": email, "password": password})


@pytest.fixture
def admin_client(app):
    create_staff(app, "admin@clinic.example", "admin")
    client = app.test_client()
    assert sign_in(client, "admin@clinic.example").status_code == 302
    return client


@pytest.fixture
def editor_client(app):
    create_staff(app, "editor@clinic.example", "editor")
    client = app.test_client()
    assert sign_in(client, "editor@clinic.example").status_code == 302
    return client


RECORDS = Path(__file__).parent / "records"


# --- browser tests -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app with the bundled catalog, served on 127.0.0.1 for a module's browser tests."""
    from browser import live_server

    tmp = tmp_path_factory.mktemp("served")
    app = make_app(f"sqlite:///{tmp / 'browser.sqlite3'}", tmp)
    with app.app_context():
        upgrade()
        load_catalog(read_bundled_catalog())
    with live_server(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def base_url(served):
    return served[1]


@pytest.fixture(scope="session")
def browser():
    from browser import chromium

    with chromium() as instance:
        yield instance


# The staff area's pages join every quality gate's page list.
from audit_pages import NEXT_FLOWS, PAGE_LISTS, URL_ARGUMENTS  # noqa: E402
from audit_staff_pages import staff_pages, staff_sign_in_with_next  # noqa: E402

if staff_pages not in PAGE_LISTS:
    PAGE_LISTS.append(staff_pages)
    NEXT_FLOWS.append(staff_sign_in_with_next)
    URL_ARGUMENTS.update({"trial_id": "1", "criterion_id": "1", "page_id": "1", "link_id": "1",
                          "user_id": "1", "lang": "es", "code": "nosuchcode", "row_id": "1",
                          "key": "0123456789abcdef0123"})
