"""SQLite, the embedded default: its settings in one place (PostgreSQL's are in db_deadline).

- **Write-ahead log.** Readers (a worker reading the whole catalog for its index, seconds at
  registry scale) and a writer (a staff save) no longer lock each other out; only two writers
  at once still take turns. The mode stays with the database file, whose `-wal` and `-shm`
  files sit beside it; the log needs shared memory, so keep the file on a local disk.
- **A write waits its turn.** A write waits up to SQLITE_BUSY_SECONDS for another to finish
  (background writes of new screenings' counts queue behind each other), rather than give up
  after pysqlite's 5 s with "database is locked".
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def sqlite_engine_options(app: Flask) -> dict[str, Any]:
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    return {"connect_args": {"timeout": app.config["SQLITE_BUSY_SECONDS"], **options.get("connect_args", {})}}


@event.listens_for(Engine, "connect")
def _write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:
    # On every SQLite engine in the process once an app uses SQLite: the tests' and the
    # bench's own engines on the same files get it too.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
