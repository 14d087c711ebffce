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
    ("cp_procedure_planned", {"answer": "no"}),
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
def gunicorn(database_url: str, instance: Path) -> Iterator[int]:
    """A gunicorn server with two workers on 127.0.0.1; yields its port."""
    port = free_port()
    instance.mkdir()
    environment = {**os.environ, "SECRET_KEY": "shared-by-every-server", "DATABASE_URL": database_url,
                   "TRIALCHECK_INSTANCE_PATH": str(instance)}
    log = open(instance / "gunicorn.log", "w+")
    server = subprocess.Popen(
        [GUNICORN, *gunicorn_options(), "--workers", "2", "--bind", f"127.0.0.1:{port}",
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
