"""Share links, QR codes and anonymous counts."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select

from conftest import Screener, page_token, verdicts
from webapp.extensions import db
from webapp.sharing.models import ShareLink

PANCREATITIS = {
    "conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
    "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"},
    "cp_procedure_planned": {"answer": "no"},
}


def make_link(client, app, language="es", trials=("NCT06205342",), label="Clinic flyer") -> ShareLink:
    token = page_token(client, "/staff/links")
    response = client.post("/staff/links", data={"csrf_token": token, "label": label, "language": language,
                                                 "trials": list(trials)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        return db.session.scalar(select(ShareLink).where(ShareLink.label == label))


def screen_through(app, code: str, lang: str, answers=PANCREATITIS) -> str:
    client = app.test_client()
    response = client.get(f"/s/{code}")
    assert response.status_code == 302 and response.location.endswith(f"/{lang}/")
    screener = Screener(client, lang)
    screener.questions_asked(answers)  # answers only what is asked with the link's studies
    return screener.results_html()


def test_share_link_opens_in_its_language_and_narrows_results(admin_client, app):
    link = make_link(admin_client, app)
    client = app.test_client()
    client.get(f"/s/{link.code}")
    asked = Screener(client, "es").questions_asked(PANCREATITIS)
    # Only STEMCAP-1's questions: the VA study's pain question is not asked through this link.
    assert asked == ["conditions", "age", "cp_dose_stable", "cp_procedure_planned", "location"]
    html = Screener(client, "es").results_html()
    assert verdicts(html) == {"NCT06205342": "check"}  # the VA study is left out by the link
    assert "Su clínica eligió qué estudios mostrar aquí." in html
    # Without a link, the same answers list both pancreatitis studies.
    plain = Screener(app.test_client(), "es")
    plain.answer_all(PANCREATITIS)
    assert set(verdicts(plain.results_html())) == {"NCT06205342", "NCT05925036"}


def test_qr_codes(admin_client, app):
    link = make_link(admin_client, app)
    page = admin_client.get(f"/staff/links/{link.id}").get_data(as_text=True)
    assert f"http://localhost/s/{link.code}" in page
    svg = admin_client.get(f"/staff/links/{link.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = admin_client.get(f"/staff/links/{link.id}/qr.png?download=1")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert "attachment" in png.headers["Content-Disposition"]


def test_switched_off_link_says_so_and_offers_the_full_screener(admin_client, app):
    link = make_link(admin_client, app, language="ar")
    token = page_token(admin_client, f"/staff/links/{link.id}")
    admin_client.post(f"/staff/links/{link.id}/off", data={"csrf_token": token})
    response = app.test_client().get(f"/s/{link.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert 'lang="ar" dir="rtl"' in html and "هذا الرابط لم يعد يعمل" in html
    assert 'href="/ar/"' in html
    assert app.test_client().get("/s/nosuchcode").status_code == 404


def the_day_passes(app) -> None:
    """Counts are shown for whole days only: move every count (and counted screening) a day back."""
    from sqlalchemy import text

    with app.app_context():
        for table in ("usage_count", "counted_screening"):
            rows = db.session.execute(text(f"SELECT DISTINCT day FROM {table}")).scalars().all()
            for day in sorted(rows):
                earlier = (day if isinstance(day, date) else date.fromisoformat(day)) - timedelta(days=1)
                db.session.execute(text(f"UPDATE {table} SET day = :earlier WHERE day = :day"),
                                   {"earlier": earlier, "day": day})
        db.session.commit()


def csv_rows(admin_client) -> list[dict]:
    return list(csv.DictReader(io.StringIO(admin_client.get("/staff/counts.csv").get_data(as_text=True))))


def test_counts_are_anonymous_and_small_counts_are_hidden(admin_client, app):
    link = make_link(admin_client, app, language="en", trials=(), label="Flyer at the front desk")
    for _ in range(5):
        screen_through(app, link.code, "en")
    # Today's counts are not shown: reading them before and after one visit would show it.
    assert 'data-count="started"' not in admin_client.get("/staff/counts").get_data(as_text=True)
    assert not [r for r in csv_rows(admin_client) if r["measure"] == "finished"]
    the_day_passes(app)
    page = admin_client.get("/staff/counts").get_data(as_text=True)
    assert '<td data-count="started">5</td>' in page and '<td data-count="finished">5</td>' in page
    links_page = admin_client.get("/staff/links").get_data(as_text=True)
    assert '<td data-count="finished">5</td>' in links_page
    rows = csv_rows(admin_client)
    finished = [r for r in rows if r["measure"] == "finished"]
    assert finished == [{"day": finished[0]["day"], "link": link.code, "link label": "Flyer at the front desk",
                         "language": "en", "measure": "finished", "trial": "", "count": "5"}]
    groups = {(r["trial"], r["measure"]): r["count"] for r in rows if r["trial"]}
    assert groups[("NCT06205342", "check")] == "5" and ("NCT04061746", "check") not in groups


def test_a_link_one_person_used_shows_no_breakdown(admin_client, app):
    link = make_link(admin_client, app, language="en", trials=(), label="Visit 1 Dec")
    screen_through(app, link.code, "en", PANCREATITIS | {"age": {"answer": "80"}})
    the_day_passes(app)
    page = admin_client.get("/staff/counts").get_data(as_text=True)
    assert '<td data-count="started">fewer than 5</td>' in page
    # No study, no result group: nothing that would say what this one person was told.
    assert "NCT06205342" not in page and "unlikely" not in page.lower().split("<main", 1)[1]
    assert not [r for r in csv_rows(admin_client) if r["trial"]]
    assert "Do not put a person's name" in admin_client.get("/staff/links").get_data(as_text=True)


def test_reloading_results_is_counted_once(app):
    screener = Screener(app.test_client())
    screener.answer_all(PANCREATITIS)
    for _ in range(3):
        screener.results_html()
    the_day_passes(app)
    from webapp.sharing.service import count_tables

    with app.app_context():
        screenings, _ = count_tables()
    assert [(r.started, r.finished) for r in screenings] == [(1, 1)]


def test_replaying_an_old_cookie_adds_no_finished_screening(app):
    client = app.test_client()
    screener = Screener(client)
    screener.answer_all(PANCREATITIS)
    before_results = client.get_cookie("trialcheck").value
    screener.results_html()
    for _ in range(3):
        client.set_cookie("trialcheck", before_results)  # the cookie as it was before counting
        screener.results_html()
    the_day_passes(app)
    from webapp.sharing.service import count_tables

    with app.app_context():
        screenings, verdict_rows = count_tables()
    assert [(r.started, r.finished) for r in screenings] == [(1, 1)]


def test_a_count_missed_while_the_database_was_down_is_made_on_the_next_page(app, monkeypatch):
    from webapp.sharing import service

    real = service._increment
    failing = {"on": True}

    def flaky(rows):  # type: ignore[no-untyped-def]
        if failing["on"]:
            raise service.DBAPIError("INSERT", {}, Exception("the database went away"))
        return real(rows)

    monkeypatch.setattr(service, "_increment", flaky)
    screener = Screener(app.test_client())
    screener.answer("conditions", answer=["chronic_pancreatitis"])  # the start is not recorded
    failing["on"] = False
    screener.answer("age", answer="45")  # recorded now
    rest = {k: v for k, v in PANCREATITIS.items() if k not in ("conditions", "age")}
    screener.answer_all(rest)
    failing["on"] = True
    screener.results_html()  # the finish is not recorded
    failing["on"] = False
    screener.results_html()  # recorded now, once
    screener.results_html()
    the_day_passes(app)
    with app.app_context():
        screenings, _ = service.count_tables()
    assert [(r.started, r.finished) for r in screenings] == [(1, 1)]


def test_verdict_counts_are_tallied_and_written_together(app, monkeypatch):
    """As served, the results page only adds the screening's result groups to a tally, and the
    refresher thread writes them together. A failed write keeps them for the next one."""
    from collections import Counter

    from webapp.sharing import service
    from webapp.sharing.models import UsageCount

    # As in production, except that the refresher thread sleeps through the test: it is driven here.
    app.config.update(CATALOG_BACKGROUND_REFRESH=True, CATALOG_REVISION_SECONDS=3600)
    expected: Counter[tuple[str, str]] = Counter()
    for age in ("45", "46", "80"):
        screener = Screener(app.test_client())
        screener.questions_asked(PANCREATITIS | {"age": {"answer": age}})  # only what is asked
        expected.update(verdicts(screener.results_html()).items())
    assert len(set(expected.values())) > 1 or len(expected) > 1  # the three were not all alike

    def written() -> dict[tuple[str, str], int]:
        rows = db.session.scalars(select(UsageCount).where(UsageCount.event == service.VERDICT))
        return {(r.registry_id, r.verdict): r.count for r in rows}

    real = service._increment

    def down(rows):  # type: ignore[no-untyped-def]
        raise service.DBAPIError("INSERT", {}, Exception("the database went away"))

    with app.app_context():
        assert written() == {}  # nothing yet: the pages did not write them
        monkeypatch.setattr(service, "_increment", down)
        service.write_verdict_counts()
        monkeypatch.setattr(service, "_increment", real)
        assert written() == {}
        service.write_verdict_counts()  # kept, not lost: written now, each screening once
        assert written() == dict(expected)
        service.write_verdict_counts()
        assert written() == dict(expected)


def test_a_share_link_shows_the_sites_of_its_own_studies_only(admin_client, app):
    link = make_link(admin_client, app, language="en")
    client = app.test_client()
    client.get(f"/s/{link.code}")
    Screener(client, "en").questions_asked(PANCREATITIS)
    assert client.get("/en/studies/NCT06205342/sites").status_code == 200
    # The VA study is listed, but not by this link.
    assert client.get("/en/studies/NCT05925036/sites").status_code == 404
    assert app.test_client().get("/en/studies/NCT05925036/sites").status_code == 200
