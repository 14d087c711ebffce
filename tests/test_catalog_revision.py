"""Each process trusts the catalog revision it read for CATALOG_REVISION_SECONDS: a change it
commits itself is seen on the next request, one another worker commits within that time."""

from __future__ import annotations

import time

import pytest

from sqlalchemy import update

from conftest import Screener, months_ago, verdicts
from webapp.catalog import snapshot as snapshot_module
from webapp.catalog.models import CatalogInfo, Trial
from webapp.catalog.service import bump_revision
from webapp.extensions import db

TRIAL = "NCT06205342"  # chronic pancreatitis, recruiting
ANSWERS = {
    "conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "50"},
    "chronic_pancreatitis_diagnosed": months_ago(40), "cp_pain_duration": {"answer": "over_6_months"},
    "cp_dose_stable": {"answer": "yes"}, "cp_procedure_planned": {"answer": "no"},
    "veteran": {"answer": "no"}, "english": {"answer": "yes"}, "sex": {"answer": "female"},
    "pregnancy": {"answer": "no"},
}


def listed_ids(client) -> set[str]:
    page = client.get("/en/results?show=all").get_data(as_text=True)
    return set(verdicts(page))


def screened(app) -> Screener:
    person = Screener(app.test_client())
    person.questions_asked(ANSWERS)
    return person


def test_a_change_this_process_commits_is_seen_at_once(app):
    app.config["CATALOG_REVISION_SECONDS"] = 3600
    person = screened(app)
    assert TRIAL in listed_ids(person.client)
    with app.app_context():
        db.session.execute(update(Trial).where(Trial.registry_id == TRIAL).values(archived=True))
        bump_revision()
        db.session.commit()
    assert TRIAL not in listed_ids(person.client)


def test_a_change_another_worker_commits_is_seen_after_the_interval(app, monkeypatch):
    app.config["CATALOG_REVISION_SECONDS"] = 5
    person = screened(app)
    assert TRIAL in listed_ids(person.client)
    with app.app_context():
        # Another worker's commit: new rows and a new revision, without this process's flag.
        db.session.execute(update(Trial).where(Trial.registry_id == TRIAL).values(archived=True))
        db.session.execute(update(CatalogInfo).where(CatalogInfo.key == "revision").values(value="elsewhere"))
        db.session.commit()
    assert TRIAL in listed_ids(person.client)  # still this process's snapshot
    later = time.monotonic() + 6
    monkeypatch.setattr(snapshot_module.time, "monotonic", lambda: later)
    assert TRIAL not in listed_ids(person.client)


def test_a_rolled_back_change_does_not_force_a_read(app):
    app.config["CATALOG_REVISION_SECONDS"] = 3600
    screened(app).client.get("/en/questions/age")
    with app.app_context():
        bump_revision()
        db.session.rollback()
        assert "catalog_revision_read" in app.extensions
        assert not db.session.info.get("catalog_revision_changed")


def test_a_staff_save_is_not_locked_out_while_a_worker_reads_the_catalog(app):
    """A worker building its index reads the whole catalog (seconds, at registry scale). On
    SQLite a save made meanwhile must not wait for that read, nor be refused."""
    from sqlalchemy import create_engine, select, text

    from webapp.catalog.models import Criterion

    with app.app_context():
        url = db.engine.url
        # A save from another process, which would wait at most a second for a lock.
        wait_a_second = {"timeout": 1} if url.get_backend_name() == "sqlite" else {"options": "-c lock_timeout=1000"}
        reader = db.engine.connect()
        try:
            rows = reader.execute(select(Criterion.id))
            assert rows.fetchone() is not None  # the read is under way
            # The read stays open until after the save, so a save that had to wait for it would
            # give up after its second with "database is locked" (or PostgreSQL's lock timeout).
            writer = create_engine(url, connect_args=wait_a_second)
            with writer.begin() as connection:
                connection.execute(text("UPDATE catalog_info SET value = 'staff-save' WHERE key = 'revision'"))
            writer.dispose()
            assert rows.fetchone() is not None  # and the read goes on
            rows.close()
        finally:
            reader.close()
        with db.engine.connect() as connection:
            saved = connection.scalar(select(CatalogInfo.value).where(CatalogInfo.key == "revision"))
        assert saved == "staff-save"


def test_on_sqlite_a_save_waits_for_another_write_to_finish(tmp_path):
    """A write waits up to SQLITE_BUSY_SECONDS for another process's write to finish (a
    background write of a new screening's counts takes about half a second at registry scale),
    and gives up after it."""
    import threading

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from conftest import make_app

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with make_app(url, tmp_path).app_context():
        upgrade()
        db.engine.dispose()
    other = create_engine(url)

    def hold_the_write_lock(held: threading.Event, seconds: float) -> None:
        with other.begin() as connection:
            connection.execute(text("INSERT INTO catalog_info (key, value) VALUES ('other', 'writing')"))
            held.set()
            time.sleep(seconds)
            connection.execute(text("DELETE FROM catalog_info WHERE key = 'other'"))

    def save(busy_seconds: float) -> float:
        app = make_app(url, tmp_path, SQLITE_BUSY_SECONDS=busy_seconds)
        held = threading.Event()
        holder = threading.Thread(target=hold_the_write_lock, args=(held, 1.0))
        holder.start()
        held.wait(5)
        started = time.monotonic()
        try:
            with app.app_context():
                db.session.execute(text("INSERT INTO catalog_info (key, value) VALUES ('staff', 'save')"))
                db.session.commit()
                db.session.execute(text("DELETE FROM catalog_info WHERE key = 'staff'"))
                db.session.commit()
                db.engine.dispose()
        finally:
            holder.join()
        return time.monotonic() - started

    assert 0.5 < save(5.0) < 4  # waited for the other write, then saved
    with pytest.raises(OperationalError, match="database is locked"):
        save(0.2)
    other.dispose()
