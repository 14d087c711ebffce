"""Production serving: two gunicorn servers, two workers each, sharing SECRET_KEY and the
database. One screening moves between them, request by request, with the same cookie."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask_migrate import upgrade

from conftest import make_app, verdicts
from webapp.catalog.service import load_catalog, read_bundled_catalog
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ANSWERS = [
    ("conditions", {"answer": "chronic_pancreatitis"}), ("age", {"answer": "45"}),
    ("cp_pain_duration", {"answer": "over_6_months"}), ("cp_dose_stable", {"answer": "yes"}),
    ("cp_procedure_planned", {"answer": "no"}), ("location", {"place": "29425"}),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_options() -> list[str]:
    # gunicorn 27 opens a control socket under the home folder unless told not to.
    help_text = subprocess.run([GUNICORN, "--help"], capture_output=True, text=True).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


@contextmanager
def gunicorn(database_url: str, instance: Path, workers: int = 2, environment: dict | None = None,
             options: tuple[str, ...] = (), every_worker_ready: bool = False) -> Iterator[int]:
    """A gunicorn server on 127.0.0.1 (two workers unless told); yields its port. Its output
    is in instance/gunicorn.log. With every_worker_ready (and webapp.gunicorn_conf, whose workers
    say "ready to serve" once warmed up) it yields only when all the workers serve, not just
    the first."""
    port = free_port()
    instance.mkdir()
    environment = {**os.environ, "SECRET_KEY": "shared-by-every-server", "DATABASE_URL": database_url,
                   "TRIALCHECK_INSTANCE_PATH": str(instance), **(environment or {})}
    log = open(instance / "gunicorn.log", "w+")
    server = subprocess.Popen(
        [GUNICORN, *gunicorn_options(), *options, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "5", "webapp:create_app()"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (instance / "gunicorn.log").read_text()
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start in 60 s"
                time.sleep(0.2)
        while every_worker_ready and (instance / "gunicorn.log").read_text().count('"ready to serve"') < workers:
            assert server.poll() is None and time.monotonic() < deadline, (instance / "gunicorn.log").read_text()
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.seek(0)
        output = log.read()
        log.close()
        assert "Traceback" not in output, output


def request(port: int, method: str, path: str, cookie: str = "", form: dict | None = None):  # type: ignore[no-untyped-def]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"trialcheck={cookie}"} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    html = response.read().decode("utf-8")
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("trialcheck="):
            cookie = header.split(";", 1)[0].split("=", 1)[1]
    connection.close()
    return response.status, html, cookie, response.getheader("Location")


@pytest.mark.skipif(not os.path.exists(GUNICORN), reason="gunicorn is installed by `make test`")
def test_one_screening_moves_between_two_gunicorn_servers(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade()
        load_catalog(read_bundled_catalog())
        db.engine.dispose()
    with ExitStack() as stack:
        ports = [stack.enter_context(gunicorn(database_url, tmp_path / f"server-{n}")) for n in (1, 2)]
        cookie = ""
        for index, (question_id, fields) in enumerate(ANSWERS):
            # Read the form from one server and send it to the other; halfway, swap them round.
            reader, writer = (ports[0], ports[1]) if index < len(ANSWERS) // 2 else (ports[1], ports[0])
            status, html, cookie, _ = request(reader, "GET", f"/en/questions/{question_id}", cookie)
            assert status == 200, (question_id, html[:500])
            token = CSRF.search(html).group(1)
            status, html, cookie, location = request(
                writer, "POST", f"/en/questions/{question_id}", cookie, {"csrf_token": token, **fields})
            assert status == 302, (question_id, status, html[:500])
        assert location.endswith("/en/check")
        status, check, cookie, _ = request(ports[0], "GET", "/en/check", cookie)
        assert status == 200 and check.count('class="summary-row"') == len(ANSWERS)
        results = [request(port, "GET", "/en/results", cookie)[1] for port in ports]
    assert verdicts(results[0]) == verdicts(results[1])
    assert verdicts(results[0]) == {"NCT06205342": "check", "NCT05925036": "check"}


REDIS_URL = os.environ.get("TEST_REDIS_URL")
FIGURES = ROOT / "tests" / "artifacts" / "sign-in-limits.json"


def record_figure(name: str, through: int) -> None:
    """Guesses that got through, of 40 in a minute against a limit of 10 (for the closing note)."""
    import json

    FIGURES.parent.mkdir(exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = through
    FIGURES.write_text(json.dumps(figures, indent=1))


def sign_in_attempts(port: int, attempts: int, clients: int = 1) -> list[int]:
    """Wrong-password sign-ins for one address, each from a fresh session as a script would,
    sent by `clients` scripts at once."""
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_: int) -> int:
        status, html, cookie, _ = request(port, "GET", "/staff/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        status, _, _, _ = request(port, "POST", "/staff/login", cookie,
                                  {"csrf_token": token, "email": "someone@clinic.example", "password": "a wrong guess here"})
        return status

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(attempt, range(attempts)))


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is set by `make test` (scripts/ensure-redis.sh)")
def test_the_sign_in_limit_holds_across_four_workers(database_url, tmp_path):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    conf = ("-c", "python:webapp.gunicorn_conf")
    with gunicorn(database_url, tmp_path / "shared", workers=4, environment={"RATELIMIT_STORAGE_URI": REDIS_URL},
                  options=conf) as port:
        statuses = sign_in_attempts(port, 40)
    through = sum(1 for s in statuses if s != 429)
    # 10 per minute are allowed (STAFF_LOGIN_LIMITS); the other 30 are refused, whichever
    # worker each lands on.
    assert through == 10 and statuses.count(429) == 30, statuses
    log = (tmp_path / "shared" / "gunicorn.log").read_text()
    assert "sign-in limits are kept in each worker's memory" not in log
    record_figure("redis, 4 workers", through)


def test_memory_limits_with_several_workers_warn_at_start_up(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with gunicorn(database_url, tmp_path / "memory", workers=4, options=("-c", "python:webapp.gunicorn_conf"),
                  every_worker_ready=True) as port:
        # Four scripts at once, once all four workers serve: a worker busy with one guess
        # cannot take the next, so the guesses spread over the workers. (One after another,
        # or while the others still warm up, one worker could take all 40 and refuse 30.)
        statuses = sign_in_attempts(port, 40, clients=4)
        request(port, "GET", "/en/questions/conditions")
        request(port, "GET", "/s/somecode")
    log = (tmp_path / "memory" / "gunicorn.log").read_text()
    assert '"event": "sign-in limits are kept in each worker\'s memory"' in log and '"workers": 4' in log
    # Each worker counts on its own: more than the configured 10 get through.
    through = sum(1 for s in statuses if s != 429)
    record_figure("memory, 4 workers", through)
    assert through > 10
    # The access log says the language and "…" for patient pages, never which question or link.
    access = [line for line in log.splitlines() if '"GET ' in line or '"POST ' in line]
    assert access and any('"GET /en/… HTTP/1.1"' in line for line in access)
    assert not [line for line in access if "/questions/" in line or "somecode" in line]
