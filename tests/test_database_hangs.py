"""When PostgreSQL stops answering (sockets open, no bytes), the site does not freeze: question
pages and /healthz keep answering at once, pages that need the database say so with a kind 503
within their deadline, and everything recovers when the database answers again.

The hang is made by a TCP proxy this test controls, between the app and the test server (never
by stopping a server others use).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from conftest import POSTGRES_URL, Screener, make_app, months_ago, reset_postgres
from webapp.catalog.service import load_catalog, read_bundled_catalog
from webapp.config import database_url_from

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL is set by `make test`")
ARTIFACTS = Path(__file__).parent / "artifacts"


class HangingProxy:
    """Relays 127.0.0.1:<port> to PostgreSQL until `hang()`; then keeps every socket open and
    passes no byte either way (new connections are accepted and left waiting too)."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.hanging = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(50)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.hanging.is_set():
                continue  # accepted, never answered
            server = socket.create_connection(self.upstream)
            self.sockets.append(server)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.hanging.is_set():
                    time.sleep(0.05)  # hold the bytes: the other side hears nothing
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def hang(self) -> None:
        self.hanging.set()

    def answer_again(self) -> None:
        self.hanging.clear()

    def close(self) -> None:
        # Shut down first: closing alone leaves a blocked accept() taking connections.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for sock in self.sockets:
            sock.close()


def timed(call):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_hung_database_does_not_freeze_the_site(tmp_path):
    direct = database_url_from(POSTGRES_URL)
    reset_postgres(direct)
    url = make_url(direct)
    proxy = HangingProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = make_app(through_proxy, tmp_path, CATALOG_BACKGROUND_REFRESH=True, CATALOG_REVISION_SECONDS=0.5,
                   DATABASE_SECONDS=2.0, STAFF_DATABASE_SECONDS=2.0, DATABASE_CONNECT_SECONDS=2)
    try:
        with app.app_context():
            upgrade()
            load_catalog(read_bundled_catalog())
        person = Screener(app.test_client())
        person.answer("conditions", answer=["type1"])
        assert person.client.get("/en/results", follow_redirects=True).status_code == 200

        proxy.hang()
        figures = {}
        response, figures["healthz_s"] = timed(lambda: app.test_client().get("/healthz"))
        assert response.status_code == 200
        response, figures["question_page_s"] = timed(lambda: person.client.get("/en/questions/age"))
        assert response.status_code == 200
        response, figures["answer_s"] = timed(lambda: person.answer("age", answer="25"))
        assert response.status_code == 302
        response, _ = timed(lambda: person.answer("type1_diagnosed", **months_ago(2)))
        assert response.status_code == 302
        response, figures["results_s"] = timed(lambda: person.client.get("/en/results"))
        for question, answer in (("type1_own_insulin", "yes"), ("location", None)):
            if response.status_code != 302:
                break
            assert response.location.endswith(f"/questions/{question}")  # one more question first
            person.answer(question, **({"answer": answer} if answer else {"place": "29425"}))
            response, figures["results_s"] = timed(lambda: person.client.get("/en/results"))
        assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
        assert "Talk to your doctor" in response.get_data(as_text=True)
        # Within the deadline (2 s) and a new connection's timeout (2 s), not for ever.
        assert figures["results_s"] < 8
        # Question pages do not wait for the database even now.
        assert figures["question_page_s"] < 1 and figures["healthz_s"] < 1 and figures["answer_s"] < 1
        again, figures["question_page_again_s"] = timed(lambda: person.client.get("/en/questions/age"))
        assert again.status_code == 200 and figures["question_page_again_s"] < 1

        proxy.answer_again()
        deadline = time.monotonic() + 20
        while person.client.get("/en/results").status_code != 200:
            assert time.monotonic() < deadline, "did not recover when the database answered again"
            time.sleep(0.5)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "database-hangs.json").write_text(json.dumps(
            {k: round(v, 3) for k, v in figures.items()}, indent=1))
    finally:
        # Stop the refresher thread: left running, it would go on reading (and rebuilding from)
        # the test database the next tests drop and make again.
        app.config["CATALOG_BACKGROUND_REFRESH"] = False
        refresher = app.extensions.get("catalog_refresher")
        if refresher is not None:
            refresher[1].join(5)
        proxy.answer_again()
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()
        proxy.close()
    assert refresher is not None and not refresher[1].is_alive()
