"""The bundled catalog: encoded exactly as CATALOG_FACTS.md says, loads idempotently,
round-trips through export, and refuses bad files without writing anything."""

from __future__ import annotations

import copy
import json
import re

import pytest
from sqlalchemy import func, select

from webapp.catalog.models import Criterion, EducationPage, Trial
from webapp.catalog.schema import CatalogError
from webapp.catalog.service import (dump_catalog, export_catalog, load_catalog, parse_catalog,
                                    read_bundled_catalog)
from webapp.content import render_markdown
from webapp.extensions import db


def criteria_of(registry_id: str) -> list[tuple]:
    trial = next(t for t in read_bundled_catalog()["trials"] if t["registry_id"] == registry_id)
    return [(c["fact"], c["operator"], c["value"]) for c in trial["criteria"]]


def test_type1_trial_encoded_as_catalog_facts_says():
    assert criteria_of("NCT04061746") == [
        ("conditions", "one_of", {"met": ["type1"]}),
        # met 0-2 months, unknown 3-6 (month 3 is the window's edge), not met from 7
        ("time_since_diagnosis:type1", "between", {"max": 3, "check_max": 6, "unit": "months"}),
        # met 18-30, unknown 31-40, not met under 18 or over 40
        ("age_years", "between", {"min": 18, "max": 30, "check_max": 40}),
        # never met from an answer (lab-only fact); "no" is not met
        ("type1_own_insulin", "one_of", {"met": ["yes"]}),
        (None, "study_team_checks", {}),  # autoantibodies
    ]


def test_stemcap_encoded_as_catalog_facts_says():
    assert criteria_of("NCT06205342") == [
        ("conditions", "one_of", {"met": ["chronic_pancreatitis"]}),
        (None, "study_team_checks", {}),  # definite CP, stage 1-3
        ("age_years", "between", {"min": 18, "max": 75}),
        # yes met, no not met, not sure unknown; "I take no opioids" is left to the study team
        ("cp_dose_stable", "one_of", {"met": ["yes"], "check": ["no_opioids"]}),
        ("cp_procedure_planned", "one_of", {"met": ["no"]}),
        (None, "study_team_checks", {}),  # infected pseudocyst / walled-off necrosis
    ]


def test_va_trial_encoded_as_catalog_facts_says():
    assert criteria_of("NCT05925036") == [
        ("conditions", "one_of", {"met": ["chronic_pancreatitis"]}),
        ("cp_pain_duration", "one_of", {"met": ["over_6_months"], "edge": ["about_6_months"]}),  # "about 6" is at the limit
        ("cp_dose_stable", "one_of", {"met": ["yes"], "check": ["no_opioids"]}),
        (None, "study_team_checks", {}),  # no age limits found: unknown, not "none"
        ("veteran", "one_of", {"met": ["yes"], "check": ["no"]}),
    ]


def test_trial_facts_and_sources():
    trials = {t["registry_id"]: t for t in read_bundled_catalog()["trials"]}
    # Each registry date under its own name: a status verification, or the record's last update.
    assert {k: (t["status"], t["status_verified"], t["registry_updated"]) for k, t in trials.items()} == {
        "NCT04061746": ("ACTIVE_NOT_RECRUITING", None, "2026-04-22"),
        "NCT06205342": ("RECRUITING", "2024-08", None),
        "NCT05925036": ("RECRUITING", None, "2024-02-29"),
    }
    for registry_id, trial in trials.items():
        assert trial["facts_checked"] == "2026-11-21"
        assert trial["registry_url"] == f"https://clinicaltrials.gov/study/{registry_id}"
        assert len(trial["sources"]) >= 3
        assert trial["contacts"] == []  # no source gives a named contact: none invented
    assert trials["NCT05925036"]["sponsor"] == "VA Office of Research and Development"


def test_load_is_idempotent_and_export_round_trips(empty_app):
    with empty_app.app_context():
        bundled = read_bundled_catalog()
        first = load_catalog(bundled)
        # Trials and pages are new, and the bank entries added since the migration put the
        # starter bank there (where the person lives); the rest of the bank is unchanged.
        assert sorted(first.created) == sorted(["fact location", "question location"] +
                                               [t["registry_id"] for t in bundled["trials"]] +
                                               [p["slug"] for p in bundled["education_pages"]])
        assert len(first.unchanged) == len(bundled["conditions"]) + len(bundled["facts"]) + len(bundled["questions"]) - 2
        exported = dump_catalog(export_catalog())
        again = load_catalog(parse_catalog(exported))
        assert sorted(again.unchanged) == sorted(first.created + first.unchanged) and not again.updated
        assert dump_catalog(export_catalog()) == exported
        assert db.session.scalar(select(func.count()).select_from(Trial)) == 3
        assert db.session.scalar(select(func.count()).select_from(Criterion)) == 16
        assert db.session.scalar(select(func.count()).select_from(EducationPage)) == 9


def test_bundled_file_is_in_canonical_form(empty_app):
    from importlib import resources

    text = resources.files("webapp.catalog.data").joinpath("catalog.json").read_text("utf-8")
    with empty_app.app_context():
        load_catalog(parse_catalog(text))
        assert dump_catalog(export_catalog()) == text


def test_load_updates_changed_items(empty_app):
    with empty_app.app_context():
        document = read_bundled_catalog()
        load_catalog(document)
        changed = copy.deepcopy(document)
        changed["trials"][0]["status"] = "COMPLETED"
        changed["trials"][0]["criteria"].pop()
        report = load_catalog(changed)
        assert report.updated == [changed["trials"][0]["registry_id"]]
        trial = db.session.scalar(select(Trial).where(Trial.registry_id == report.updated[0]))
        assert trial.status == "COMPLETED" and len(trial.criteria) == 5


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("format"), "format"),
        (lambda d: d["trials"][0].pop("registry_id"), "trials[0].registry_id"),
        (lambda d: d["trials"][0].update(status="OPEN"), "trials[0].status"),
        (lambda d: d["trials"][0].update(status_verified="August 2024"), "trials[0].status_verified"),
        (lambda d: d["trials"][1]["criteria"][0].update(fact="shoe_size"), "trials[1].criteria[0]: unknown fact"),
        (lambda d: d["trials"][0]["criteria"][2]["value"].update(min="eighteen"), "trials[0].criteria[2]"),
        (lambda d: d["trials"][0]["texts"].pop("en"), "trials[0].texts"),
        (lambda d: d["education_pages"][0].update(slug="Bad Slug"), "education_pages[0].slug"),
        (lambda d: d["education_pages"][1].update(conditions=["flu"]), "education_pages[1].conditions[0]"),
        (lambda d: d["trials"].append(copy.deepcopy(d["trials"][0])), "trials[3].registry_id: appears twice"),
    ],
)
def test_bad_catalog_is_refused_naming_the_field_and_writes_nothing(empty_app, mutate, message):
    document = read_bundled_catalog()
    mutate(document)
    with empty_app.app_context():
        with pytest.raises(CatalogError) as caught:
            load_catalog(document)
        assert message in str(caught.value)
        assert db.session.scalar(select(func.count()).select_from(Trial)) == 0


def test_not_json_is_refused():
    with pytest.raises(CatalogError, match="not valid JSON"):
        parse_catalog("{not json")


def test_cli_load_and_export(empty_app, tmp_path):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["catalog", "load", "--if-empty"])
    assert result.exit_code == 0 and "14 added" in result.output  # 3 studies, 9 pages, the location question and fact
    result = runner.invoke(args=["catalog", "load", "--if-empty"])
    assert "already loaded" in result.output
    out = tmp_path / "export.json"
    assert runner.invoke(args=["catalog", "export", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["catalog_version"] == read_bundled_catalog()["catalog_version"]
    result = runner.invoke(args=["catalog", "load", str(out)])
    assert "0 added, 0 updated" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "nope"}')
    result = runner.invoke(args=["catalog", "load", str(broken)])
    assert result.exit_code != 0 and "format: must be" in result.output


def test_markdown_is_sanitised():
    html = str(render_markdown(
        "Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n"
        "[ok](https://example.org)"))
    tags = " ".join(re.findall(r"<[^>]+>", html))
    assert "<script" not in tags and "javascript:" not in tags and "onerror" not in tags
    assert "<img" not in tags
    assert '<a href="https://example.org" rel="noopener noreferrer">ok</a>' in html


def test_cli_if_newer_loads_a_newer_bundled_catalog_into_an_existing_database(empty_app, tmp_path):
    runner = empty_app.test_cli_runner()
    older = read_bundled_catalog()
    older["catalog_version"] = "2026.11.21-1"
    older["education_pages"][0]["texts"]["en"]["summary"] = "An older summary."
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older))
    assert "14 added" in runner.invoke(args=["catalog", "load", "--if-newer", str(path)]).output
    # The release's corrections reach the database that held the older catalog...
    result = runner.invoke(args=["catalog", "load", "--if-newer"])
    assert result.exit_code == 0 and "1 updated" in result.output
    # ...once: the same version again is left alone.
    assert "nothing to do" in runner.invoke(args=["catalog", "load", "--if-newer"]).output
