"""Staff keep the catalog: trials, criteria, texts per language, conflicts, education pages,
and the catalog file."""

from __future__ import annotations

import io
import json
import re

from sqlalchemy import func, select

from conftest import Screener, page_token, sign_in, create_staff, verdicts
from webapp.catalog.models import EducationPage, Trial
from webapp.catalog.service import dump_catalog, export_catalog, read_bundled_catalog
from webapp.extensions import db
from webapp.staff.models import AuditEvent


def trial_id(app, registry_id: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Trial.id).where(Trial.registry_id == registry_id))


def edit_form_data(client, path: str) -> dict:
    """Everything the edit form would send back unchanged (hidden fields included)."""
    html = client.get(path).get_data(as_text=True)
    form = html[html.index('<form method="post" novalidate'):]
    data: dict = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        data[name] = value.replace("&#34;", '"').replace("&amp;", "&").replace("&#39;", "'")
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\n?([^<]*)</textarea>', form):
        data[name] = value.replace("&#34;", '"').replace("&amp;", "&").replace("&#39;", "'")
    for name, value in re.findall(r'<select[^>]*name="([^"]+)".*?<option selected value="([^"]*)"', form, re.S):
        data[name] = value
    checked = re.findall(r'<input[^>]*checked[^>]*name="([^"]+)"[^>]*value="([^"]*)"|<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*checked', form)
    boxes: dict = {}
    for a, b, c, d in checked:
        boxes.setdefault(a or c, []).append(b or d)
    for name in set(re.findall(r'type="checkbox"[^>]*name="([^"]+)"|name="([^"]+)"[^>]*type="checkbox"', form)):
        data.pop(name[0] or name[1], None)
    data.update({k: v if len(v) > 1 else v[0] for k, v in boxes.items()})
    return data


def test_edit_trial_fields(admin_client, app):
    tid = trial_id(app, "NCT05925036")
    data = edit_form_data(admin_client, f"/staff/trials/{tid}")
    assert data["registry_id"] == "NCT05925036" and data["status"] == "RECRUITING"
    data["status"] = "COMPLETED"
    data["status_verified"] = "2026-11-20"
    response = admin_client.post(f"/staff/trials/{tid}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        trial = db.session.get(Trial, tid)
        assert trial.status == "COMPLETED" and trial.staff_edited and trial.version == 2
        assert trial.sources[0]["url"] == "https://clinicaltrials.gov/study/NCT05925036"
        # The form edits English labels and addresses; the translated labels stay with them.
        assert trial.sources[0]["labels"]["es"] == "Registro NCT05925036 en ClinicalTrials.gov (en inglés)"
        assert trial.conditions == ["chronic_pancreatitis"]


def test_second_save_gets_a_conflict_and_nothing_is_overwritten(app):
    create_staff(app, "one@clinic.example")
    create_staff(app, "two@clinic.example")
    first, second = app.test_client(), app.test_client()
    sign_in(first, "one@clinic.example")
    sign_in(second, "two@clinic.example")
    tid = trial_id(app, "NCT06205342")
    mine = edit_form_data(first, f"/staff/trials/{tid}")
    theirs = edit_form_data(second, f"/staff/trials/{tid}")
    mine["site"] = "Site changed by one"
    assert first.post(f"/staff/trials/{tid}", data=mine).status_code == 302
    theirs["sponsor"] = "Sponsor changed by two"
    response = second.post(f"/staff/trials/{tid}", data=theirs)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this while you were editing" in html
    assert "Site changed by one" in html  # what changed is shown
    assert 'value="Sponsor changed by two"' in html  # their input is kept in the form
    with app.app_context():
        trial = db.session.get(Trial, tid)
        assert trial.site == "Site changed by one" and trial.sponsor != "Sponsor changed by two"
    # Saving again, having seen the change, is a deliberate overwrite and works.
    again = edit_form_data(second, f"/staff/trials/{tid}") | {"sponsor": "Sponsor changed by two"}
    html_form = response.get_data(as_text=True)
    again["version"] = re.search(r'name="version" type="hidden" value="(\d+)"', html_form).group(1)
    again["site"] = "Site changed by one"
    assert second.post(f"/staff/trials/{tid}", data=again).status_code == 302


def test_criteria_add_edit_reorder_remove(admin_client, app):
    tid = trial_id(app, "NCT05925036")
    token = page_token(admin_client, f"/staff/trials/{tid}/criteria/new")
    version = lambda: str(db_version(app, tid))  # noqa: E731
    response = admin_client.post(f"/staff/trials/{tid}/criteria/new", data={
        "csrf_token": token, "version": version(), "fact": "age_years", "step": "save",
        "minimum": "18", "maximum": "", "min_inclusive": "y", "max_inclusive": "y",
        "description_en": "You are 18 or older", "if_not_met_en": "This study is for adults.",
        "description_es": "Usted tiene 18 años o más", "source": "Confirmed by staff against the registry"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    bad = admin_client.post(f"/staff/trials/{tid}/criteria/new", data={
        "csrf_token": token, "version": version(), "fact": "conditions", "step": "save",
        "answer-boston": "met", "description_en": "Broken"})
    assert bad.status_code == 400 and "This criterion cannot be used" in bad.get_data(as_text=True)
    with app.app_context():
        trial = db.session.get(Trial, tid)
        last = trial.criteria[-1]
        assert (last.fact, last.operator, last.value) == ("age_years", "between", {"min": 18})
        assert last.texts["es"] == {"description": "Usted tiene 18 años o más"}
        last_id, first_id = last.id, trial.criteria[0].id
    assert admin_client.post(f"/staff/trials/{tid}/criteria/{last_id}/up",
                             data={"csrf_token": token, "version": version()}).status_code == 302
    with app.app_context():
        order = [c.id for c in db.session.get(Trial, tid).criteria]
    assert order.index(last_id) == len(order) - 2
    admin_client.post(f"/staff/trials/{tid}/criteria/{first_id}/remove", data={"csrf_token": token, "version": version()})
    # A stale version is refused, not applied.
    stale = admin_client.post(f"/staff/trials/{tid}/criteria/{last_id}/remove",
                              data={"csrf_token": token, "version": "1"}, follow_redirects=True)
    assert "Someone else changed this study" in stale.get_data(as_text=True)
    with app.app_context():
        trial = db.session.get(Trial, tid)
        assert [c.position for c in trial.criteria] == list(range(len(order) - 1))
        assert first_id not in [c.id for c in trial.criteria] and last_id in [c.id for c in trial.criteria]
    # Patients see the new criterion: a 16-year-old with pancreatitis is now probably not a fit.
    patient = Screener(app.test_client())
    # Both pancreatitis studies now take adults only: nothing more is asked of a 16-year-old.
    assert patient.questions_asked({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "16"}}) \
        == ["conditions", "age"]
    html = patient.results_html()
    assert verdicts(html)["NCT05925036"] == "unlikely" and "This study is for adults." in html


def db_version(app, tid: int) -> int:
    with app.app_context():
        return db.session.get(Trial, tid).version


def test_translated_text_with_review_status(admin_client, app):
    tid = trial_id(app, "NCT05925036")
    data = edit_form_data(admin_client, f"/staff/trials/{tid}/texts/es")
    assert data["title"].startswith("Sus propias células madre")
    data.update({"title": "Título revisado", "reviewed": "y", "loaded": data.get("loaded", "{}")})
    response = admin_client.post(f"/staff/trials/{tid}/texts/es", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    patient = Screener(app.test_client(), "es")
    patient.answer_all({"conditions": {"answer": ["chronic_pancreatitis"]}, "age": {"answer": "50"},
                        "cp_pain_duration": {"answer": "over_6_months"}, "cp_dose_stable": {"answer": "yes"},
                        "cp_procedure_planned": {"answer": "no"}})
    html = patient.results_html()
    card_html = html[html.index('data-trial="NCT05925036"'):]
    card_html = card_html[:card_html.index("</article>")]
    assert "Título revisado" in card_html and 'class="small text-note"' not in card_html


def test_archived_trials_are_hidden_from_patients(admin_client, app):
    tid = trial_id(app, "NCT04061746")
    token = page_token(admin_client, f"/staff/trials/{tid}")
    admin_client.post(f"/staff/trials/{tid}/archive", data={"csrf_token": token, "version": str(db_version(app, tid))})
    patient = Screener(app.test_client())
    # With the only type 1 study hidden, nothing more is asked of a person with type 1.
    assert patient.questions_asked({"conditions": {"answer": ["type1"]}}) == ["conditions"]
    assert "NCT04061746" not in verdicts(patient.results_html("?show=all"))


def test_education_page_create_and_sanitise(admin_client, app):
    token = page_token(admin_client, "/staff/pages/new")
    response = admin_client.post("/staff/pages/new", data={
        "csrf_token": token, "slug": "questions-for-your-team", "conditions": ["any"],
        "trials": ["NCT06205342"], "sources": "Staff-written | https://example.org/source"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page_id = int(response.location.rsplit("/", 1)[1])
    form = edit_form_data(admin_client, f"/staff/pages/{page_id}/texts/en")
    body = ("## Ask\n\n- **Seen in people:** ask questions <script>alert(1)</script>\n"
            "- [click](javascript:alert(1)) <a href=\"x\" onclick=\"alert(1)\">x</a>")
    response = admin_client.post(f"/staff/pages/{page_id}/texts/en", data=form | {
        "title": "Questions for your team", "summary": "What to ask.", "body": body})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    html = app.test_client().get("/en/learn/questions-for-your-team").get_data(as_text=True)
    article = html[html.index("<article"):html.index("</article>")]
    tags = " ".join(re.findall(r"<[^>]+>", article))
    assert "<script" not in tags and "onclick" not in tags and "javascript:" not in tags
    assert "<strong>Seen in people:</strong>" in article and "This tool does not give medical advice." in html
    with app.app_context():
        page = db.session.scalar(select(EducationPage).where(EducationPage.slug == "questions-for-your-team"))
        assert page.trials == ["NCT06205342"] and page.staff_edited


def test_catalog_export_load_round_trip_from_staff_area(admin_client, app):
    first = admin_client.get("/staff/catalog/export.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    token = page_token(admin_client, "/staff/catalog")
    response = admin_client.post("/staff/catalog", data={
        "csrf_token": token, "replace_edited": "y",
        "upload": (io.BytesIO(first.data), "catalog.json")}, content_type="multipart/form-data")
    assert response.status_code == 200 and "0 added, 0 updated" in response.get_data(as_text=True)
    assert admin_client.get("/staff/catalog/export.json").data == first.data
    broken = admin_client.post("/staff/catalog", data={
        "csrf_token": token, "upload": (io.BytesIO(b'{"format": 1}'), "broken.json")},
        content_type="multipart/form-data")
    assert broken.status_code == 400 and "Nothing was loaded" in broken.get_data(as_text=True)


def test_newer_bundled_catalog_leaves_staff_edits_alone(admin_client, app):
    tid = trial_id(app, "NCT05925036")
    data = edit_form_data(admin_client, f"/staff/trials/{tid}")
    data["site"] = "Edited by staff"
    admin_client.post(f"/staff/trials/{tid}", data=data)
    newer = read_bundled_catalog()
    newer["catalog_version"] = "2027.01.01-1"
    for trial in newer["trials"]:
        trial["facts_checked"] = "2027-01-01"
    token = page_token(admin_client, "/staff/catalog")
    response = admin_client.post("/staff/catalog", data={
        "csrf_token": token, "upload": (io.BytesIO(json.dumps(newer).encode()), "newer.json")},
        content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert "left alone because staff edited them (NCT05925036)" in text
    with app.app_context():
        trials = {t.registry_id: t for t in db.session.scalars(select(Trial))}
        assert trials["NCT05925036"].site == "Edited by staff"
        assert trials["NCT05925036"].facts_checked == "2026-11-21"
        assert trials["NCT06205342"].facts_checked == "2027-01-01"


def test_export_load_export_is_identical_after_staff_edits(admin_client, app):
    tid = trial_id(app, "NCT06205342")
    data = edit_form_data(admin_client, f"/staff/trials/{tid}")
    data["acronym"] = "STEMCAP-1b"
    admin_client.post(f"/staff/trials/{tid}", data=data)
    with app.app_context():
        exported = dump_catalog(export_catalog())
    runner = app.test_cli_runner()
    import tempfile, pathlib  # noqa: E401
    path = pathlib.Path(tempfile.mkdtemp()) / "export.json"
    path.write_text(exported)
    result = runner.invoke(args=["catalog", "load", str(path), "--replace-edited"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert dump_catalog(export_catalog()) == exported
        assert json.loads(exported)["trials"][0]["edited"] is True


def test_changes_are_audited(admin_client, app):
    tid = trial_id(app, "NCT05925036")
    data = edit_form_data(admin_client, f"/staff/trials/{tid}")
    data["phase"] = "PHASE1"
    admin_client.post(f"/staff/trials/{tid}", data=data)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
        assert any(e.action == "trial.edit" and e.staff_email == "admin@clinic.example" and e.target == "NCT05925036"
                   for e in events)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
    assert "Edited NCT05925036" in admin_client.get("/staff/audit").get_data(as_text=True)
