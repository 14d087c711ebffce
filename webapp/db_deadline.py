"""A hung database must not freeze the site.

When PostgreSQL stops answering with its sockets still open, nothing on the client side ends a
query: the worker waits for ever, then the next, until none is left to answer anyone. So every
PostgreSQL connection a request takes from the pool carries a deadline, and a watchdog thread
shuts the connection's socket when it passes: the query fails at once with the driver's
"connection closed" error, SQLAlchemy throws the connection away, and the page answers with
the same kind 503 as for a database that refuses connections.

- Taking a connection from the pool checks it with `SELECT 1` under a short deadline (this
  replaces SQLAlchemy's pre-ping, which has none).
- New connections give up after `connect_timeout`, waiting for a free one after `pool_timeout`,
  and PostgreSQL itself cancels a statement after `statement_timeout`.
- The deadline is DATABASE_SECONDS for patient pages, STAFF_DATABASE_SECONDS for the staff area
  (imports and catalog loads take longer), COMMAND_DATABASE_SECONDS for `flask` commands and
  BACKGROUND_DATABASE_SECONDS for the app's own work outside requests.

SQLite is a local file and cannot hang this way; it is left as it is.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from typing import Any

import click
from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

log = logging.getLogger(__name__)
PING_SECONDS = 2.0


def postgresql_engine_options(app: Flask) -> dict[str, Any]:
    """Engine options for PostgreSQL: timeouts on connecting, on waiting for the pool, and on
    each statement (server side)."""
    statement_ms = int(max(app.config["DATABASE_SECONDS"], app.config["STAFF_DATABASE_SECONDS"]) * 1000)
    return {
        "pool_pre_ping": False,  # the checkout ping below has a deadline; SQLAlchemy's has none
        "pool_timeout": app.config["DATABASE_POOL_SECONDS"],
        "connect_args": {"connect_timeout": max(1, int(app.config["DATABASE_CONNECT_SECONDS"])),
                         "options": f"-c statement_timeout={statement_ms}"},
    }


class Watchdog:
    """Deadlines per connection, and one thread per process that enforces them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, int, Any]] = {}
        self._pid: int | None = None

    def arm(self, connection: Any, seconds: float) -> None:
        fd = connection.pgconn.socket
        with self._lock:
            self._deadlines[id(connection)] = (time.monotonic() + seconds, fd, weakref.ref(connection))
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="database-deadlines", daemon=True).start()

    def disarm(self, connection: Any) -> None:
        with self._lock:
            self._deadlines.pop(id(connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            with self._lock:
                expired = [(key, fd, ref) for key, (deadline, fd, ref) in self._deadlines.items() if deadline <= now]
                for key, _, _ in expired:
                    del self._deadlines[key]
            for _, fd, ref in expired:
                connection = ref()
                if connection is None or connection.closed or connection.pgconn.socket != fd:
                    continue  # closed meanwhile: its file descriptor may belong to another socket now
                log.warning("database did not answer in time: closing the connection")
                try:
                    with socket.socket(fileno=os.dup(fd)) as sock:
                        sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


WATCHDOG = Watchdog()


def _budget() -> float:
    if not has_app_context():
        return 30.0
    config = current_app.config
    if not has_request_context():
        # A command someone runs (a catalog load, an import of thousands of records) may take
        # minutes; the app's own background work may not.
        if click.get_current_context(silent=True) is not None:
            return config["COMMAND_DATABASE_SECONDS"]
        return config["BACKGROUND_DATABASE_SECONDS"]
    return config["STAFF_DATABASE_SECONDS"] if request.path.startswith("/staff") else config["DATABASE_SECONDS"]


def _is_postgresql(connection: Any) -> bool:
    return hasattr(connection, "pgconn")


@event.listens_for(Pool, "checkout")
def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if not _is_postgresql(dbapi_connection):
        return
    WATCHDOG.arm(dbapi_connection, PING_SECONDS)
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        WATCHDOG.disarm(dbapi_connection)
        # The pool throws this connection away and makes a new one (within connect_timeout).
        raise DisconnectionError("the database did not answer the check") from None
    WATCHDOG.arm(dbapi_connection, _budget())


@event.listens_for(Pool, "checkin")
def _checkin(dbapi_connection: Any, record: Any) -> None:
    if dbapi_connection is not None and _is_postgresql(dbapi_connection):
        WATCHDOG.disarm(dbapi_connection)


@event.listens_for(Pool, "close")
def _close(dbapi_connection: Any, record: Any) -> None:
    if _is_postgresql(dbapi_connection):
        WATCHDOG.disarm(dbapi_connection)


@event.listens_for(Pool, "close_detached")
def _close_detached(dbapi_connection: Any) -> None:
    if _is_postgresql(dbapi_connection):
        WATCHDOG.disarm(dbapi_connection)
