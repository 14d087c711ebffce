"""Faults: the database out of reach, structured logs without answers, and starting up with a
read-only instance folder or a wrong setting."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

from audit_pages import EVERY_QUESTION, with_answers
from conftest import Screener, make_app
from webapp.config import StartupError
from webapp.logs import JsonLines

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = {
    # Nothing listens on port 1; the connection is refused at once.
    "postgresql": "postgresql+psycopg://trialcheck:secret@127.0.0.1:1/trialcheck?connect_timeout=3",
    "sqlite": "sqlite:////nonexistent-folder/trialcheck/trialcheck.sqlite3",
}
ANSWER_VALUES = ["chronic_pancreatitis", "about_6_months", "not_sure", "87"]


@contextmanager
def captured_logs(app) -> Iterator[io.StringIO]:  # type: ignore[no-untyped-def]
    """The app's JSON log lines, sent to a string the test can read while the block runs."""
    stream = io.StringIO()
    handler = next(h for h in app.logger.handlers if isinstance(h.formatter, JsonLines))
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def log_entries(stream: io.StringIO) -> list[dict]:
    lines = stream.getvalue().splitlines()
    assert lines, "something was logged"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def translated(app, lang: str, message: str) -> str:  # type: ignore[no-untyped-def]
    with app.test_request_context(), force_locale(lang):
        return gettext(message)


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
@pytest.mark.parametrize("lang", ["es", "ar"])
def test_database_out_of_reach_gives_a_friendly_page_in_the_persons_language(tmp_path, backend, lang):
    app = make_app(UNREACHABLE[backend], tmp_path)
    client = app.test_client()
    with_answers(EVERY_QUESTION)(client)
    with captured_logs(app) as stream:
        for path in (f"/{lang}/results", f"/{lang}/results/print", f"/{lang}/learn/",
                     f"/{lang}/learn/new-onset"):
            response = client.get(path)
            html = response.get_data(as_text=True)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"].isdigit()
            assert f'<html lang="{lang}"' in html
            assert translated(app, lang, "Sorry, something went wrong on our side") in html
            assert translated(app, lang, "Talk to your doctor") in html  # the physician notice
            assert "Traceback" not in html and "OperationalError" not in html
    failures = [e for e in log_entries(stream) if e["event"] == "database unavailable"]
    assert len(failures) == 4
    assert failures[0]["status"] == 503 and failures[0]["endpoint"] == "screener.results"
    assert "path" not in failures[0]  # a patient page's address can say what was asked
    assert failures[0]["error"] == "sqlalchemy.exc.OperationalError"
    assert "secret" not in stream.getvalue()  # nor the database password


def test_questions_keep_answering_when_the_database_goes_away(tmp_path):
    """A process that has read the catalog keeps asking questions while the database is out of
    reach; only the pages that read studies from it say so."""
    from flask_migrate import upgrade

    from webapp.catalog.service import load_catalog, read_bundled_catalog

    folder = tmp_path / "db"
    folder.mkdir()
    app = make_app(f"sqlite:///{folder / 'trialcheck.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade()
        load_catalog(read_bundled_catalog())
    client = app.test_client()
    screener = Screener(client, "es")
    screener.answer("conditions", answer=["type1"])
    shutil.move(str(folder), str(tmp_path / "gone"))  # SQLite can no longer open its file
    with app.app_context():
        from webapp.extensions import db
        db.engine.dispose()
    assert client.get("/es/questions/age").status_code == 200
    assert screener.answer("age", answer="30").status_code == 302
    assert client.get("/es/questions/type1_diagnosed").status_code == 200
    screener.answer("type1_diagnosed", month="1", year="2000")  # ruled out: nothing more to ask
    assert client.get("/es/check").status_code == 200
    assert client.get("/es/results").status_code == 503


def test_logs_are_json_lines_without_answers(app, client):
    with captured_logs(app) as stream:
        Screener(client).answer_all({
            "conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "87"},
            "cp_pain_duration": {"answer": "about_6_months"}, "cp_dose_stable": {"answer": "not_sure"},
        })
        client.get("/en/results")
        client.post("/en/questions/age", data={"answer": "87 years and chronic_pancreatitis"})
    entries = log_entries(stream)
    requests = [e for e in entries if e["event"] == "request"]
    assert {"time", "level", "method", "endpoint", "status", "duration_ms"} <= requests[0].keys()
    assert any(e["endpoint"] == "screener.results" and e["status"] == 200 for e in requests)
    # No address of a patient page: "/en/questions/cp_pain_duration" says chronic pancreatitis.
    assert not [e for e in requests if "path" in e and not e["path"].startswith(("/staff", "/healthz", "/assets"))]
    assert "cp_pain_duration" not in stream.getvalue() and "questions/" not in stream.getvalue()
    for entry in entries:
        text = json.dumps({k: v for k, v in entry.items() if k not in ("time", "duration_ms")})
        for value in ANSWER_VALUES:
            assert value not in text, entry


def test_an_unexpected_error_is_logged_by_type_and_place_not_by_message(app, client):
    def fails():  # type: ignore[no-untyped-def]
        raise ValueError("the person typed 87 and chronic_pancreatitis")

    app.add_url_rule("/fails-for-test", "fails_for_test", fails)
    with captured_logs(app) as stream:
        response = client.get("/fails-for-test")
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    entry = next(e for e in log_entries(stream) if e["event"] == "unhandled error")
    assert entry["error"] == "builtins.ValueError" and entry["status"] == 500
    assert any("fails" in place for place in entry["where"])
    assert "87" not in json.dumps(entry["where"]) and "chronic" not in stream.getvalue()


def start(env: dict[str, str], prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    """Start the app the way `make run` does, as far as loading it: `flask routes`."""
    command = [*(prefix or []), sys.executable, "-m", "flask", "--app", "webapp", "routes"]
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SECRET_KEY", "DATABASE_URL", "TRUSTED_PROXIES", "TRIALCHECK_INSTANCE_PATH")}
    return subprocess.run(command, env={**clean, **env}, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def assert_clear_refusal(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == StartupError.EXIT_STATUS, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Trial Check cannot start: "), result.stderr
    for word in words:
        assert word in message


@pytest.fixture
def read_only_instance(tmp_path):  # type: ignore[no-untyped-def]
    """An empty instance folder nothing can write to, and the command prefix that makes it so.

    Root may write anywhere its permissions say no, so for root the folder is a read-only
    file system mounted in a private mount namespace (unshare) for the one command.
    """
    folder = tmp_path / "instance"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder, []
        folder.chmod(0o755)
        return
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to make a read-only folder as root")
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', str(folder)]
    probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True, text=True)
    if "Read-only file system" not in probe.stderr:
        # A container may forbid mount namespaces even to root; nothing read-only can be made.
        pytest.skip(f"cannot mount a read-only folder here: {probe.stderr.strip()}")
    yield folder, prefix


def test_read_only_instance_folder_is_a_clear_message(read_only_instance, tmp_path):
    folder, prefix = read_only_instance
    database = f"sqlite:///{tmp_path / 'trialcheck.sqlite3'}"
    result = start({"TRIALCHECK_INSTANCE_PATH": str(folder), "DATABASE_URL": database}, prefix)
    assert_clear_refusal(result, "secret key", str(folder), "SECRET_KEY")
    # With the key given in the environment, nothing needs writing there and the app starts.
    result = start({"TRIALCHECK_INSTANCE_PATH": str(folder), "DATABASE_URL": database,
                    "SECRET_KEY": "shared-key"}, prefix)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("url, shown", [
    ("mysql://trialcheck:hunter2@db.internal/trialcheck", "mysql://"),
    ("not a database address", "something else"),
    ("http://db.internal/trialcheck", "http://"),
])
def test_wrong_database_url_is_a_clear_message(tmp_path, url, shown):
    result = start({"TRIALCHECK_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "k"})
    assert_clear_refusal(result, "DATABASE_URL", shown)
    assert "hunter2" not in result.stderr


def test_wrong_trusted_proxies_is_a_clear_message(tmp_path):
    result = start({"TRIALCHECK_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k",
                    "TRUSTED_PROXIES": "yes"})
    assert_clear_refusal(result, "TRUSTED_PROXIES")


def test_startup_errors_are_exceptions_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "-1")
    with pytest.raises(StartupError):
        make_app("sqlite://", tmp_path)
    monkeypatch.delenv("TRUSTED_PROXIES")
    with pytest.raises(StartupError) as refused:
        make_app("oracle://scott:tiger@db/x", tmp_path)
    assert "oracle://" in refused.value.message and "tiger" not in refused.value.message


def test_log_records_from_other_code_still_format():
    # A library logging with arguments, not fields, still gives one JSON object.
    record = logging.LogRecord("webapp", logging.WARNING, __file__, 1, "pool %s of %d", ("full", 5), None)
    entry = json.loads(JsonLines().format(record))
    assert entry["event"] == "pool full of 5" and entry["level"] == "warning"
