"""Importing ClinicalTrials.gov records (test records the tests ship; never the network)."""

from __future__ import annotations

import copy
import http.server
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from conftest import RECORDS, page_token
from webapp.catalog import ctgov
from webapp.catalog.models import Trial
from webapp.extensions import db

RECORD_1 = json.loads((RECORDS / "NCT09999901.json").read_text())
RECORD_2 = json.loads((RECORDS / "NCT09999902.json").read_text())


def trial_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Trial))


def import_text(client, text: str):
    token = page_token(client, "/staff/import")
    return client.post("/staff/import", data={"csrf_token": token, "record": text})


def test_import_maps_registry_fields_and_first_criteria(admin_client, app):
    response = import_text(admin_client, json.dumps(RECORD_1))
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert "hidden from patients until you check it" in response.get_data(as_text=True)
    with app.app_context():
        trial = db.session.scalar(select(Trial).where(Trial.registry_id == "NCT09999901"))
        assert trial.archived and trial.status == "RECRUITING" and trial.status_verified == "2026-10"
        assert trial.acronym == "ISLET-TEST" and trial.sponsor == "Test Sponsor University"
        assert trial.phases == ["PHASE2"] and trial.sex == "ALL" and trial.registry_updated == "2026-10-15"
        assert trial.conditions == ["type1"] and trial.registry_conditions == ["Type 1 Diabetes Mellitus"]
        assert trial.site == "Test Hospital" and trial.site_city == "Charleston, South Carolina"
        assert [loc["status"] for loc in trial.locations] == ["RECRUITING", "NOT_YET_RECRUITING"]
        assert trial.contacts == [{"name": "Test Coordinator", "role": "CONTACT", "phone": "555-0100",
                                   "email": "study@example.org"}]
        assert trial.eligibility_text.startswith("Inclusion Criteria:")
        assert [(c.fact, c.operator, c.value) for c in trial.criteria] == [
            ("conditions", "one_of", {"met": ["type1"]}),
            ("age_years", "between", {"min": 18, "max": 45}),
        ]


def test_missing_limits_and_modules(admin_client, app):
    import_text(admin_client, json.dumps(RECORD_2))
    with app.app_context():
        trial = db.session.scalar(select(Trial).where(Trial.registry_id == "NCT09999902"))
        # "6 Months" minimum, no maximum: ages 1 and up met, age 0 for the study team, no upper limit.
        age = next(c for c in trial.criteria if c.fact == "age_years")
        assert age.value == {"min": 1, "check_min": 0}
        assert trial.sex == "FEMALE" and trial.locations == [] and trial.contacts == []
        assert trial.conditions == ["chronic_pancreatitis"]


def test_reimport_updates_registry_fields_only(admin_client, app):
    import_text(admin_client, json.dumps(RECORD_1))
    with app.app_context():
        trial = db.session.scalar(select(Trial).where(Trial.registry_id == "NCT09999901"))
        trial.texts = {"en": {"title": "Plain title by staff", "summary": "Plain summary by staff", "reviewed": True}}
        trial.criteria[1].value = {"min": 18, "max": 40}
        trial.version += 1
        db.session.commit()
    changed = copy.deepcopy(RECORD_1)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    changed["protocolSection"]["eligibilityModule"]["maximumAge"] = "50 Years"
    response = import_text(admin_client, json.dumps(changed))
    assert "Your texts and criteria were not changed" in response.get_data(as_text=True)
    with app.app_context():
        trial = db.session.scalar(select(Trial).where(Trial.registry_id == "NCT09999901"))
        assert trial.status == "ACTIVE_NOT_RECRUITING" and trial.maximum_age == "50 Years"
        assert trial.texts["en"]["title"] == "Plain title by staff"
        assert trial.criteria[1].value == {"min": 18, "max": 40}


def mutated(path: list, value) -> dict:
    record = copy.deepcopy(RECORD_1)
    target = record
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return record


@pytest.mark.parametrize(
    "text, field",
    [
        ("this is not json", "not valid JSON"),
        (json.dumps(mutated(["protocolSection", "identificationModule", "nctId"], KeyError)),
         "protocolSection.identificationModule.nctId: is missing"),
        (json.dumps(mutated(["protocolSection", "eligibilityModule", "minimumAge"], "eighteen")),
         "protocolSection.eligibilityModule.minimumAge: 'eighteen' is not an age"),
        (json.dumps(mutated(["protocolSection", "conditionsModule", "conditions"], "Type 1 Diabetes")),
         "protocolSection.conditionsModule.conditions: must be a list of text"),
        (json.dumps(mutated(["protocolSection", "identificationModule", "briefTitle"], 42)),
         "protocolSection.identificationModule.briefTitle: must be text, not int"),
        (json.dumps(mutated(["protocolSection", "statusModule", "overallStatus"], "OPEN")),
         "overallStatus: 'OPEN' is not a registry status"),
        (json.dumps(mutated(["protocolSection", "contactsLocationsModule", "locations"], {"facility": "x"})),
         "contactsLocationsModule.locations: must be a list"),
    ],
)
def test_bad_records_are_refused_naming_the_field_and_nothing_is_written(admin_client, app, text, field):
    before = trial_count(app)
    response = import_text(admin_client, text)
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 400
    assert "Nothing was imported" in html and field in html
    assert trial_count(app) == before


def test_one_bad_record_is_refused_and_the_others_are_imported(admin_client, app):
    before = trial_count(app)
    text = json.dumps([RECORD_2, mutated(["protocolSection", "eligibilityModule", "maximumAge"], "10 Decades")])
    response = import_text(admin_client, text)
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 200
    assert "1 record was refused" in html and "record 2" in html and "maximumAge: '10 Decades' is not an age" in html
    assert "1 added, 0 updated, 0 unchanged, 1 refused" in html
    assert trial_count(app) == before + 1


@pytest.mark.parametrize(
    "text, years",
    [("18 Years", 18.0), ("1 Year", 1.0), ("6 Months", 0.5), ("30 Days", 30 / 365.25),
     ("2 Weeks", 14 / 365.25), ("36 Hours", 36 / 8766), ("90 Minutes", 90 / 525960), (None, None)],
)
def test_age_units(text, years):
    assert ctgov.age_in_years(text, "x") == pytest.approx(years)


@pytest.mark.parametrize(
    "minimum, maximum, value",
    [(18.0, 65.0, {"min": 18, "max": 65}), (18.0, None, {"min": 18}), (None, 17.0, {"max": 17}),
     (None, None, None), (0.5, None, {"min": 1, "check_min": 0}), (None, 2.5, {"max": 1, "check_max": 2}),
     (1.5, 1.75, None)],
)
def test_age_criterion_values(minimum, maximum, value):
    assert ctgov.age_criterion_value(minimum, maximum) == value


def test_cli_import(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["trials", "import-ctgov", str(RECORDS / "NCT09999901.json"),
                                 str(RECORDS / "NCT09999902.json")])
    assert result.exit_code == 0, result.output
    assert "NCT09999901: added" in result.output and "NCT09999902: added" in result.output
    result = runner.invoke(args=["trials", "import-ctgov", str(RECORDS / "NCT09999901.json")])
    assert "NCT09999901: unchanged" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(mutated(["protocolSection", "eligibilityModule", "sex"], "BOTH")))
    before = trial_count(app)
    result = runner.invoke(args=["trials", "import-ctgov", str(RECORDS / "NCT09999902.json"), str(bad)])
    assert result.exit_code == 1 and f"refused: {bad}: protocolSection.eligibilityModule.sex" in result.output
    assert "NCT09999902: unchanged" in result.output and "0 added, 0 updated, 1 unchanged, 1 refused" in result.output
    assert trial_count(app) == before


class RecordHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.endswith("/NCT09999901"):
            body = json.dumps(RECORD_1).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


def test_fetch_by_registry_number_from_a_local_server(admin_client, app):
    server = http.server.HTTPServer(("127.0.0.1", 0), RecordHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app.config["CTGOV_API_URL"] = f"http://127.0.0.1:{server.server_port}/api/v2/studies/"
        token = page_token(admin_client, "/staff/import")
        response = admin_client.post("/staff/import", data={"csrf_token": token, "registry_id": "NCT09999901"})
        assert response.status_code == 200 and trial_count(app) == 4
        missing = admin_client.post("/staff/import", data={"csrf_token": token, "registry_id": "NCT09999909"})
        assert "has no study NCT09999909" in missing.get_data(as_text=True)
    finally:
        server.shutdown()


def test_fetch_offline_gives_a_clear_error(admin_client, app):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config["CTGOV_API_URL"] = f"http://127.0.0.1:{port}/api/v2/studies/"
    app.config["CTGOV_TIMEOUT_SECONDS"] = 2
    token = page_token(admin_client, "/staff/import")
    response = admin_client.post("/staff/import", data={"csrf_token": token, "registry_id": "NCT09999901"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Could not reach ClinicalTrials.gov" in html
    assert "upload it here instead" in html


def test_upload_a_record_file(admin_client, app):
    import io

    token = page_token(admin_client, "/staff/import")
    response = admin_client.post("/staff/import", data={
        "csrf_token": token, "upload": [(io.BytesIO((RECORDS / "NCT09999902.json").read_bytes()), "record.json")]},
        content_type="multipart/form-data")
    assert response.status_code == 200 and trial_count(app) == 4


class SlowOrHugeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.endswith("/NCT09999901"):  # a byte every half second, for ever
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                return
        body = b"[" + b" " * (6 * 1024 * 1024) + b"]"  # more than 5 MB
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_fetch_has_a_deadline_for_the_whole_request_and_a_size_limit(admin_client, app):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowOrHugeHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app.config["CTGOV_API_URL"] = f"http://127.0.0.1:{server.server_port}/api/v2/studies/"
        app.config["CTGOV_TIMEOUT_SECONDS"] = 2
        token = page_token(admin_client, "/staff/import")
        started = time.monotonic()
        response = admin_client.post("/staff/import", data={"csrf_token": token, "registry_id": "NCT09999901"})
        took = time.monotonic() - started
        assert response.status_code == 400 and "took too long" in response.get_data(as_text=True)
        assert took < 4, took  # the deadline is for the whole request, not per read
        response = admin_client.post("/staff/import", data={"csrf_token": token, "registry_id": "ＮＣＴ０９９９９９０２"})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and "more than 5 MB" in html and "not valid JSON" not in html
    finally:
        server.shutdown()


def test_a_record_the_database_refuses_is_rolled_back_alone(app, monkeypatch):
    """Records are written under their own savepoints and committed in batches: one that fails
    in the database takes nothing of the others with it."""
    from sqlalchemy.exc import DataError

    from webapp.catalog import importing

    studies = json.loads((RECORDS / "registry" / "diabetes-studies.json").read_text())["studies"][:5]
    victim = studies[2]["protocolSection"]["identificationModule"]["nctId"]
    original = importing._import

    def failing(study, catalog, show):
        result = original(study, catalog, show)
        if study.registry_id == victim:
            importing.db.session.flush()  # its rows are written, then the database refuses
            raise DataError("INSERT", {}, Exception("value too long"))
        return result

    monkeypatch.setattr(importing, "_import", failing)
    monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
    with app.app_context():
        records, refused = importing.records_in([("page.json", json.dumps({"studies": studies}))])
        report = importing.import_each(records)
        assert refused == [] and [r.where for r in report.refused] == [f"page.json, record 3 ({victim})"]
        assert "the database refused it" in report.refused[0].reason
        importing.db.session.remove()
        stored = set(importing.db.session.scalars(select(Trial.registry_id)))
    expected = {s["protocolSection"]["identificationModule"]["nctId"] for s in studies} - {victim}
    assert expected <= stored and victim not in stored
    assert report.summary() == "4 added, 0 updated, 0 unchanged, 1 refused"
