"""Where the person lives: the nearest site of each study and how far it is, offline. Distance
orders and narrows the list, never changes a verdict, and is never stored."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import inspect, text

from conftest import RECORDS, Screener, months_ago, verdicts
from webapp.extensions import db
from webapp.geo import place_table, zip_table

PANCREATITIS = {
    "conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "45"},
    "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"},
    "cp_procedure_planned": {"answer": "no"},
}
NEAREST = re.compile(r'data-trial="(?P<trial>[^"]+)" data-verdict="(?P<verdict>[^"]+)" data-status="[^"]+"'
                     r'(?: data-nearest-site="(?P<site>[^"]*)" data-nearest-km="(?P<km>[0-9.]+)")?')


def cards(html: str) -> list[dict]:
    return [m.groupdict() for m in NEAREST.finditer(html)]


def screened_at(app, place: str, answers=PANCREATITIS, lang: str = "en") -> Screener:  # type: ignore[no-untyped-def]
    person = Screener(app.test_client(), lang)
    asked = person.questions_asked({**answers, "location": {"place": place}})
    assert asked[-1] == "location"
    return person


def test_the_tables_are_offline_and_right():
    charleston, new_york = zip_table().find("29425"), zip_table().find("10001")
    from webapp.core.places import distance_km

    assert 1000 < distance_km(charleston.lat, charleston.lon, new_york.lat, new_york.lon) < 1060
    assert place_table().find("Zurich")[0].label.startswith("Zürich")
    assert place_table().find("Springfield, IL")[0].label == "Springfield, IL, US"


def test_charleston_is_near_and_new_york_far_with_the_same_verdicts(app):
    near = cards(screened_at(app, "29425").results_html())
    assert {c["trial"]: c["site"] for c in near} == {
        "NCT06205342": "Medical University of South Carolina", "NCT05925036": "Ralph H. Johnson VA Medical Center"}
    assert all(float(c["km"]) < 5 * 1.609344 for c in near)
    far_page = screened_at(app, "10001").results_html()
    far = cards(far_page)
    assert all(1000 < float(c["km"]) < 1060 for c in far)  # about 640 miles
    assert re.search(r"64[01] miles \(1,03[0-2] km\)", far_page)
    assert {c["trial"]: c["verdict"] for c in far} == {c["trial"]: c["verdict"] for c in near}
    # A far site is not a reason to give up: the note says so on those cards only.
    assert far_page.count("That is not a reason to give up") == 2
    assert "That is not a reason to give up" not in screened_at(app, "29425").results_html()


def test_the_location_is_asked_only_when_a_listed_study_has_a_located_site(app):
    from sqlalchemy import update

    from webapp.catalog.models import Trial
    from webapp.catalog.service import bump_revision

    with app.app_context():
        db.session.execute(update(Trial).values(locations=[]))
        bump_revision()
        db.session.commit()
    asked = Screener(app.test_client()).questions_asked(PANCREATITIS)
    assert "location" not in asked


@pytest.mark.parametrize("lang, typed, message", [
    ("en", "00000", "We do not know the ZIP code 00000."),
    ("en", "2942", "A ZIP code has 5 numbers, like 29425."),
    ("en", "abcde", "We could not find a place called “abcde”."),
    ("en", "Xqzvillezz", "We could not find a place called “Xqzvillezz”."),
    ("en", "x" * 2000, "That is too long for a place."),
    ("es", "00000", "No conocemos el código postal 00000."),
    ("ar", "٢٩٤٢", "يتكوّن الرمز البريدي من 5 أرقام"),
    ("zh", "", "请输入美国邮政编码（ZIP）或您所在城市的名称"),
])
def test_bad_places_get_a_clear_message_in_the_persons_language(app, lang, typed, message):
    person = up_to_the_location_question(app, lang)
    response = person.answer("location", place=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert 'class="error-summary"' in html


def up_to_the_location_question(app, lang: str = "en") -> Screener:  # type: ignore[no-untyped-def]
    person = Screener(app.test_client(), lang)
    for question_id, fields in {**PANCREATITIS, **({"english": {"answer": "yes"}} if lang != "en" else {})}.items():
        assert person.answer(question_id, **fields).status_code == 302
    assert person.asked("location")
    return person


def test_arabic_digits_and_full_width_and_zip_plus_four_work(app):
    for typed in ("٢٩٤٢٥", "２９４２５", "29425-1234", " 29425 "):
        html = screened_at(app, typed).results_html()
        assert 'data-nearest-site="Medical University of South Carolina"' in html, typed


def test_a_misspelt_city_offers_suggestions_to_choose_from(app):
    person = up_to_the_location_question(app)
    response = person.answer("location", place="Charlest")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Did you mean:" in html
    assert 'name="pick" value="Charleston, SC, US"' in html
    chosen = person.answer("location", place="Charlest", pick="Charleston, SC, US")
    assert chosen.status_code == 302 and chosen.location.endswith("/en/check")
    assert "Charleston, SC, US" in person.client.get("/en/check").get_data(as_text=True)


def test_a_city_anywhere_in_the_world(app):
    html = screened_at(app, "Zürich").results_html()
    km = [float(c["km"]) for c in cards(html)]
    assert km and all(7000 < k < 7600 for k in km)  # Zürich to Charleston


def test_the_sites_page_lists_every_site_nearest_first(app):
    person = screened_at(app, "29425")
    page = person.client.get("/en/studies/NCT06205342/sites").get_data(as_text=True)
    assert "Medical University of South Carolina" in page and "Looking for people to join now" in page
    assert "Nearest to you first." in page and re.search(r"less than 1 mile|\d mile", page)
    assert Screener(app.test_client()).client.get("/en/studies/NCT99999999/sites").status_code == 404


@pytest.fixture
def registry_app(app):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["trials", "import-ctgov", "--show",
                                                str(RECORDS / "registry" / "diabetes-studies.json")])
    assert result.exit_code == 0, result.output
    return app


TYPE1_AT_NEWPORT_BEACH = {
    "conditions": {"answer": ["type1"]}, "age": {"answer": "30"}, "sex": {"answer": "female"},
    "type1_diagnosed": months_ago(24), "type1_own_insulin": {"answer": "yes"}, "insulin_use": {"answer": "yes"},
    "hba1c": {"value": "7.5", "unit": "%"}, "height_weight": {"cm": "165", "kg": "65"},
    "pregnancy": {"answer": "no"}, "location": {"place": "92663"},
}


def test_sample_studies_near_newport_beach_come_first_and_can_be_narrowed(registry_app):
    person = Screener(registry_app.test_client())
    person.questions_asked(TYPE1_AT_NEWPORT_BEACH)
    listed = cards(person.results_html("?show=all"))
    assert len(listed) > 5
    near = [c for c in listed if c["km"] and float(c["km"]) <= 25 * 1.609344]
    assert near, "the sample records have sites in Orange County"
    # Within each group, studies with a near site first, nearest first.
    html = person.results_html("?show=all")
    for body in re.findall(r'<section class="group group-\w+".*?</section>', html, re.S):
        distances = [float(c["km"]) for c in cards(body) if c["km"]]
        near_first = [d for d in distances if d <= 500 * 1.609344]
        assert near_first == sorted(near_first) and distances[:len(near_first)] == near_first
    # Each study with a site within 25 miles shows that site as its nearest.
    for c in near:
        assert c["site"]
    # "Within 25 miles" shows only those, with the same verdicts.
    narrowed = cards(person.results_html("?show=all&within=25"))
    assert {c["trial"] for c in narrowed} <= {c["trial"] for c in near} | {c["trial"] for c in listed
                                                                           if c["km"] and float(c["km"]) <= 40.3}
    assert narrowed and all(float(c["km"]) <= 25 * 1.609344 for c in narrowed)
    everywhere = {c["trial"]: c["verdict"] for c in listed}
    assert all(everywhere[c["trial"]] == c["verdict"] for c in narrowed)
    page = person.results_html("?within=25")
    assert "further away are not shown" in page or "further away is not shown" in page


def test_no_location_reaches_the_database_the_logs_or_the_counts(app, caplog):
    caplog.set_level(logging.DEBUG)
    # A ZIP no catalog text mentions (the question's hint gives 29425 as an example).
    person = screened_at(app, "92663")
    person.results_html()
    person.client.get("/en/studies/NCT06205342/sites")
    logged = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    for value in ("92663", "33.62", "-117.928", "Newport Beach"):
        assert value not in logged, value
    with app.app_context():
        stored = []
        for table in inspect(db.engine).get_table_names():
            stored += [repr(row) for row in db.session.execute(text(f'SELECT * FROM "{table}"'))]
    everything = "\n".join(stored)
    assert "92663" not in everything and "33.62" not in everything and "Newport Beach" not in everything


PLACES = ((32.7853, -79.9484), (40.7506, -73.9972), (34.0522, -118.2437), (51.5, -0.12))


def _grid_of(app):  # type: ignore[no-untyped-def]
    """What the built index measures: for each listed study, its distance (km, to a site taking
    people when it has one) from a few places, None when it has no located site."""
    from webapp.catalog.snapshot import Snapshot

    with app.app_context():
        index = Snapshot("test").index
    found = {t.registry_id: [] for t in index.trials}
    for lat, lon in PLACES:
        near = index.grid.near(lat, lon, 21000)  # (the whole earth)
        km = dict(zip(near.positions.tolist(), near.km.tolist()))
        for position, trial in enumerate(index.trials):
            found[trial.registry_id].append(km.get(position))
    return {r: tuple(d) if d[0] is not None else None for r, d in found.items()}


def _measured(sites):  # type: ignore[no-untyped-def]
    from webapp.core.places import distance_km

    measured = [s for s in sites if s.taking] or sites
    if not measured:
        return None
    return tuple(min(distance_km(lat, lon, s.lat, s.lon) for s in measured) for lat, lon in PLACES)


def _same(found, expected) -> bool:  # type: ignore[no-untyped-def]
    """The same studies, each the same distance from each place (to a millimetre)."""
    import math

    def one(a, b):  # type: ignore[no-untyped-def]
        return (a is None and b is None) or (a is not None and b is not None and all(
            math.isclose(x, y, rel_tol=0, abs_tol=1e-6) for x, y in zip(a, b, strict=True)))

    return found.keys() == expected.keys() and all(one(found[k], expected[k]) for k in found)


def test_each_study_keeps_its_sites_packed_and_the_index_is_the_same_without_them(app):
    """The packed site points (read instead of every location when the index is built) are
    kept up to date on every write, and are only a cache: missing or stale, the index is built
    from the locations and comes out the same."""
    from sqlalchemy import select, update

    from webapp.catalog.models import Trial
    from webapp.catalog.sites import site_points_for, stamp, zip_point
    from webapp.core.places import Site, sites_from

    with app.app_context():
        trials = db.session.scalars(select(Trial).where(Trial.archived.is_(False))).all()
        assert trials and all(t.site_points == site_points_for(t.locations, t.status) for t in trials)
        expected = {t.registry_id: sites_from(t.locations, t.status, zip_point) for t in trials}
        ids = {t.registry_id: t.id for t in trials}
    grid = _grid_of(app)
    located = [r for r in grid if grid[r]]
    assert len(located) >= 2 and _same(grid, {r: _measured(expected[r]) for r in grid})
    with app.app_context():
        # Missing (as in a database from before the column), and stale (another ZIP table).
        db.session.execute(update(Trial).where(Trial.id == ids[located[0]]).values(status=Trial.status))
        db.session.execute(text("UPDATE trial SET site_points = :stale WHERE id = :id"),
                           {"stale": b"TCS1\x00\x00\x00\x00" + b"\x01" * 21, "id": ids[located[1]]})
        db.session.commit()
        # An ORM bulk UPDATE runs no mapper event: it clears the points rather than leave them stale.
        assert db.session.scalar(select(Trial.site_points).where(Trial.id == ids[located[0]])) is None
    assert _same(_grid_of(app), grid)
    with app.app_context():
        # The right stamp but not whole records (a damaged value): also worked out again.
        db.session.execute(text("UPDATE trial SET site_points = :damaged WHERE id = :id"),
                           {"damaged": stamp() + b"\x01" * 5, "id": ids[located[1]]})
        db.session.commit()
    assert _same(_grid_of(app), grid)
    with app.app_context():
        trial = db.session.get(Trial, ids[located[1]])
        trial.locations = [{"facility": "A new site", "zip": "10001", "country": "United States"}]
        trial.version += 1
        db.session.commit()
        assert trial.site_points == site_points_for(trial.locations, trial.status)
    new_york = zip_table().find("10001")
    assert _same({"new": _grid_of(app)[located[1]]}, {"new": _measured([Site(new_york.lat, new_york.lon, True, 0)])})


def test_a_distance_filter_is_kept_on_the_way_to_a_study_s_sites_and_back(registry_app):
    person = Screener(registry_app.test_client())
    person.questions_asked(TYPE1_AT_NEWPORT_BEACH)
    plain = person.results_html()
    narrowed = person.results_html("?within=25")
    links = re.findall(r'href="(/en/studies/[^"/]+/sites[^"]*)"', narrowed)
    assert links and all(link.endswith("/sites?within=25") for link in links)
    assert not re.findall(r'href="/en/studies/[^"/]+/sites\?', plain)  # no filter, no query
    page = person.client.get(links[0]).get_data(as_text=True)
    assert 'class="back-link" href="/en/results?within=25"' in page
    unfiltered = person.client.get(links[0].split("?")[0]).get_data(as_text=True)
    assert 'class="back-link" href="/en/results"' in unfiltered
    # An odd value is not carried on.
    odd = person.client.get(links[0].split("?")[0] + "?within=7").get_data(as_text=True)
    assert 'class="back-link" href="/en/results"' in odd
