"""Two saves of the same item at the same instant: one is saved, the other gets the conflict
page with what that person typed, never a 500 or lost input. Also an edit racing a re-import
and a page edit racing a catalog load. On SQLite and PostgreSQL.

The instant is forced: each thread's first flush waits at a barrier, so both have read the
item and passed the version check before either writes.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from conftest import RECORDS, create_staff, page_token, sign_in
from test_staff_catalog import edit_form_data, trial_id
from webapp.catalog.models import EducationPage, Trial
from webapp.catalog.service import load_catalog, read_bundled_catalog
from webapp.extensions import db

ROUNDS = 4


@contextmanager
def first_flushes_meet(parties: int):
    barrier = threading.Barrier(parties, timeout=30)
    waited = threading.local()

    def before_flush(session, context, instances):  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread() and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()

    event.listen(Session, "before_flush", before_flush)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", before_flush)


def at_once(*actions):  # type: ignore[no-untyped-def]
    """Run the actions in threads at once; their results (or exceptions) in order."""
    results: list = [None] * len(actions)

    def run(index, action):  # type: ignore[no-untyped-def]
        try:
            results[index] = action()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[index] = error

    with first_flushes_meet(len(actions)):
        threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    return results


def two_editors(app):  # type: ignore[no-untyped-def]
    create_staff(app, "one@clinic.example")
    create_staff(app, "two@clinic.example")
    first, second = app.test_client(), app.test_client()
    sign_in(first, "one@clinic.example")
    sign_in(second, "two@clinic.example")
    return first, second


def test_two_people_save_the_same_study_at_the_same_instant(app):
    first, second = two_editors(app)
    tid = trial_id(app, "NCT06205342")
    path = f"/staff/trials/{tid}"
    for round_ in range(ROUNDS):
        mine, theirs = edit_form_data(first, path), edit_form_data(second, path)
        mine["site"] = f"Site typed by one, round {round_}"
        theirs["site"] = f"Site typed by two, round {round_}"
        responses = at_once(lambda: first.post(path, data=mine), lambda: second.post(path, data=theirs))
        assert not [r for r in responses if isinstance(r, BaseException)], responses
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [302, 409], statuses
        loser = next(r for r in responses if r.status_code == 409)
        lost_text = mine["site"] if loser is responses[0] else theirs["site"]
        kept_text = theirs["site"] if loser is responses[0] else mine["site"]
        html = loser.get_data(as_text=True)
        assert "Someone else saved this while you were editing" in html
        assert f'value="{lost_text}"' in html  # the loser's input is on the page
        with app.app_context():
            assert db.session.get(Trial, tid).site == kept_text


def test_two_people_save_the_same_texts_at_the_same_instant(app):
    first, second = two_editors(app)
    tid = trial_id(app, "NCT05925036")
    path = f"/staff/trials/{tid}/texts/es"
    mine, theirs = edit_form_data(first, path), edit_form_data(second, path)
    mine["summary"], theirs["summary"] = "Resumen de uno.", "Resumen de dos."
    responses = at_once(lambda: first.post(path, data=mine), lambda: second.post(path, data=theirs))
    assert not [r for r in responses if isinstance(r, BaseException)], responses
    assert sorted(r.status_code for r in responses) == [302, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert ("Resumen de uno." if loser is responses[0] else "Resumen de dos.") in loser.get_data(as_text=True)


def test_an_edit_racing_a_re_import_of_the_same_study(app):
    """The import is written again on fresh rows when the edit got there first (SQLite refuses
    the second of two writers at once), so it is never refused for the race."""
    first, second = two_editors(app)
    record = (RECORDS / "registry" / "NCT06772168.json").read_text()
    token = page_token(first, "/staff/import")
    assert first.post("/staff/import", data={"csrf_token": token, "record": record}).status_code == 200
    with app.app_context():
        tid = db.session.scalar(select(Trial.id).where(Trial.registry_id == "NCT06772168"))
    path = f"/staff/trials/{tid}"
    for round_ in range(ROUNDS):
        form = edit_form_data(second, path)
        form["site"] = f"A site typed during the import, round {round_}"
        token = page_token(first, "/staff/import")
        responses = at_once(lambda: first.post("/staff/import", data={"csrf_token": token, "record": record}),
                            lambda: second.post(path, data=form))
        assert not [r for r in responses if isinstance(r, BaseException)], responses
        imported, edited = responses
        assert imported.status_code == 200, re.findall(r"<li>(the pasted.*?)</li>", imported.get_data(as_text=True))
        assert edited.status_code in (302, 409)
        if edited.status_code == 409:
            assert f'value="{form["site"]}"' in edited.get_data(as_text=True)
        else:
            with app.app_context():
                assert db.session.get(Trial, tid).site == form["site"]


def test_a_page_edit_racing_a_catalog_load(app):
    first, _ = two_editors(app)
    with app.app_context():
        page_id = db.session.scalar(select(EducationPage.id).where(EducationPage.slug == "new-onset"))
    path = f"/staff/pages/{page_id}/texts/en"
    form = edit_form_data(first, path)
    form["summary"] = "A summary typed during the load."
    document = read_bundled_catalog()
    document["catalog_version"] = "racing-load"
    for page in document["education_pages"]:
        page["texts"]["en"]["summary"] += " (from the file)"

    def load():  # type: ignore[no-untyped-def]
        with app.app_context():
            return load_catalog(document)

    edited, report = at_once(lambda: first.post(path, data=form), load)
    assert not isinstance(report, BaseException), report
    assert not isinstance(edited, BaseException), edited
    assert edited.status_code in (302, 409)
    with app.app_context():
        summary = db.session.get(EducationPage, page_id).texts["en"]["summary"]
    if edited.status_code == 302:
        # The edit landed first: the load kept it (staff-edited) and says so.
        assert summary == "A summary typed during the load." and "new-onset" in report.kept
    else:
        assert "A summary typed during the load." in edited.get_data(as_text=True)
        assert summary.endswith("(from the file)")

