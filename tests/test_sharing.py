"""Share links, QR codes and anonymous counts."""

from __future__ import annotations

import csv
import io

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
    assert asked == ["conditions", "age", "cp_dose_stable", "cp_procedure_planned"]
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


def test_counts_are_anonymous_and_small_counts_are_hidden(admin_client, app):
    link = make_link(admin_client, app, language="en", trials=())
    for _ in range(4):
        screen_through(app, link.code, "en")
    page = admin_client.get("/staff/counts").get_data(as_text=True)
    assert '<td data-count="started">fewer than 5</td>' in page
    screen_through(app, link.code, "en")
    page = admin_client.get("/staff/counts").get_data(as_text=True)
    assert '<td data-count="started">5</td>' in page and '<td data-count="finished">5</td>' in page
    links_page = admin_client.get("/staff/links").get_data(as_text=True)
    assert '<td data-count="finished">5</td>' in links_page
    rows = list(csv.DictReader(io.StringIO(admin_client.get("/staff/counts.csv").get_data(as_text=True))))
    finished = [r for r in rows if r["measure"] == "finished"]
    assert finished == [{"day": finished[0]["day"], "link": link.code, "language": "en",
                         "measure": "finished", "trial": "", "count": "5"}]
    groups = {(r["trial"], r["measure"]): r["count"] for r in rows if r["trial"]}
    assert groups[("NCT06205342", "check")] == "5" and ("NCT04061746", "check") not in groups
    # One more person: a count of 1 in a new group is shown as "fewer than 5" in the CSV too.
    screen_through(app, link.code, "en", PANCREATITIS | {"age": {"answer": "80"}})
    rows = list(csv.DictReader(io.StringIO(admin_client.get("/staff/counts.csv").get_data(as_text=True))))
    assert {r["count"] for r in rows if r["trial"] == "NCT06205342" and r["measure"] == "unlikely"} == {"fewer than 5"}


def test_reloading_results_is_counted_once(app):
    screener = Screener(app.test_client())
    screener.answer_all(PANCREATITIS)
    for _ in range(3):
        screener.results_html()
    from webapp.sharing.service import count_tables

    with app.app_context():
        screenings, _ = count_tables()
    assert [(r.started, r.finished) for r in screenings] == [(1, 1)]
