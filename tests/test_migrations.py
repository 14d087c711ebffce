"""Migrations upgrade a database that already holds a catalog without losing any of it,
on SQLite and on PostgreSQL.

The database starts at an older revision with the format-1 catalog (the one before the question
bank, kept in tests/records/catalog-format-1.json) written in that revision's own columns
(through reflected tables, not today's models), then is upgraded to the newest revision: every
row and value is still there (the renamed fact aside, which is checked), the bank is filled in,
and every verdict and reason is the one the bundled format-2 catalog gives.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import webapp
from flask_migrate import upgrade
from markupsafe import escape
from sqlalchemy import MetaData, select, text

from conftest import RECORDS, make_app, months_ago
from webapp.catalog.service import load_catalog, read_bundled_catalog
from webapp.catalog.sites import site_points_for
from webapp.extensions import db

CATALOG_TABLES = ("trial", "criterion", "education_page", "catalog_info")
FORMAT_1 = json.loads((RECORDS / "catalog-format-1.json").read_text("utf-8"))
RENAMED = {"months_since_type1_diagnosis": "time_since_diagnosis:type1"}


def reflect(only=CATALOG_TABLES) -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=db.engine, only=only)
    return metadata


def insert_format_1_catalog() -> None:
    """The format-1 catalog, written into whatever columns the tables have at this revision."""
    tables = reflect().tables

    def row(table: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
        columns = tables[table].columns.keys()
        return {**{k: v for k, v in item.items() if k in columns}, **extra}

    with db.engine.begin() as connection:
        for position, trial in enumerate(FORMAT_1["trials"]):
            trial_id = connection.execute(
                tables["trial"].insert().values(row("trial", trial, position=position))
            ).inserted_primary_key[0]
            for index, criterion in enumerate(trial["criteria"]):
                connection.execute(tables["criterion"].insert().values(
                    row("criterion", criterion, trial_id=trial_id, position=index)))
        for position, page in enumerate(FORMAT_1["education_pages"]):
            connection.execute(tables["education_page"].insert().values(
                row("education_page", page, position=position)))
        connection.execute(tables["catalog_info"].insert().values(
            key="catalog_version", value=FORMAT_1["catalog_version"]))


def snapshot(columns: dict[str, list[str]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every catalog row, by table, limited to the given columns (all columns when None)."""
    tables = reflect().tables
    found = {}
    with db.engine.connect() as connection:
        for name in CATALOG_TABLES:
            table = tables[name]
            keep = columns[name] if columns else table.columns.keys()
            rows = connection.execute(select(*(table.c[k] for k in keep))).mappings()
            found[name] = sorted((dict(r) for r in rows), key=repr)
    return found


def renamed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Criterion rows as the bank's migration writes them: the type 1 window under its new id."""
    result = []
    for row in rows:
        if row.get("fact") in RENAMED:
            row = {**row, "fact": RENAMED[row["fact"]], "value": {**row["value"], "unit": "months"}}
        result.append(row)
    return sorted(result, key=repr)


@pytest.mark.parametrize("start", ["0001", "0002"])
def test_upgrading_keeps_every_catalog_row_and_value(database_url, tmp_path, start):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade(revision=start)
        insert_format_1_catalog()
        before = snapshot()
        first_columns = {name: list(rows[0]) for name, rows in before.items()}
        upgrade()
        after = snapshot(first_columns)
        bank = reflect(("catalog_question", "catalog_condition", "catalog_fact")).tables
        with db.engine.connect() as connection:
            counts = {name: len(connection.execute(select(table)).all()) for name, table in bank.items()}
            # Migration 0007 packs each study's sites as the app keeps them.
            points = connection.execute(text("SELECT locations, status, site_points FROM trial")).all()
        db.engine.dispose()
    assert points and all(bytes(p) == site_points_for(json.loads(loc) if isinstance(loc, str) else loc, status)
                          for loc, status, p in points)
    assert {name: len(rows) for name, rows in before.items()} == {
        "trial": 3, "criterion": 16, "education_page": 9, "catalog_info": 1}
    assert after["criterion"] == renamed(before["criterion"])
    assert {k: v for k, v in after.items() if k != "criterion"} == {k: v for k, v in before.items() if k != "criterion"}
    # The starter bank as migration 0003 froze it (later entries come with the catalog file).
    bundled = json.loads((Path(webapp.__file__).parent / "migrations" / "data" / "0003_question_bank.json").read_text())
    assert counts == {"catalog_question": len(bundled["questions"]), "catalog_condition": len(bundled["conditions"]),
                      "catalog_fact": len(bundled["facts"])}


# Stored answers, as several people leave them, with the verdicts and reasons they get.
PERSONAS = {
    "type 1 and pancreatitis, 27": {
        "conditions": ["type1", "chronic_pancreatitis"], "age": 27, "type1_diagnosed": "not_sure",
        "type1_own_insulin": "not_sure", "cp_pain_duration": "over_6_months", "cp_dose_stable": "yes",
        "cp_procedure_planned": "no"},
    "pancreatitis, 80": {"conditions": ["chronic_pancreatitis"], "age": 80, "cp_pain_duration": "about_6_months",
                         "cp_dose_stable": "no"},
    "type 1, new": {"conditions": ["type1"], "age": 25, "type1_own_insulin": "no"},
    "not sure": {"conditions": ["not_sure"], "age": 35, "type1_diagnosed": "not_sure",
                 "type1_own_insulin": "yes", "cp_pain_duration": "under_6_months", "cp_dose_stable": "no_opioids",
                 "cp_procedure_planned": "yes"},
}
CARD = re.compile(r'<article class="trial"(.*?)</article>', re.S)


def results_of(app, answers: dict[str, Any]) -> list[str]:
    """Each card's verdict and reasons, as the results page shows them (the person would rather
    not say where they live: the new catalog's sites would otherwise ask)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["answers"] = {**answers, "location": "not_sure"}
        if "type1_diagnosed" not in answers and "type1" in answers["conditions"]:
            field = months_ago(2)
            session["answers"]["type1_diagnosed"] = f"{int(field['year']):04d}-{int(field['month']):02d}"
    html = client.get("/en/results?show=all").get_data(as_text=True)
    return [re.sub(r"\s+", " ", card) for card in CARD.findall(html)]


def test_the_upgraded_database_gives_the_same_verdicts_and_reasons_as_the_new_catalog(database_url, tmp_path):
    migrated = make_app(database_url, tmp_path / "migrated")
    with migrated.app_context():
        upgrade(revision="0002")
        insert_format_1_catalog()
        upgrade()
    results = {name: results_of(migrated, answers) for name, answers in PERSONAS.items()}
    with migrated.app_context():
        db.engine.dispose()
    fresh = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path / "fresh")
    with fresh.app_context():
        upgrade()
        load_catalog(read_bundled_catalog())
    for name, answers in PERSONAS.items():
        cards = results[name]
        assert len(cards) == 3 and cards == results_of(fresh, answers), name


def test_the_app_shows_an_upgraded_catalog(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade(revision="0001")
        insert_format_1_catalog()
        upgrade()
    client = app.test_client()
    for page in FORMAT_1["education_pages"]:
        html = client.get(f"/en/learn/{page['slug']}").get_data(as_text=True)
        assert str(escape(page["texts"]["en"]["title"])) in html, page["slug"]
    with client.session_transaction() as session:
        session["answers"] = PERSONAS["type 1 and pancreatitis, 27"]
    html = client.get("/en/results").get_data(as_text=True)
    for trial in FORMAT_1["trials"]:
        assert f'data-trial="{trial["registry_id"]}"' in html
    with app.app_context():
        db.engine.dispose()


def test_a_format_1_catalog_file_still_loads(empty_app, tmp_path):
    """A catalog exported before the question bank loads into today's database unchanged in
    meaning: its type 1 window reads the renamed fact, and the bank stays as it is."""
    runner = empty_app.test_cli_runner()
    path = tmp_path / "format-1.json"
    path.write_text(json.dumps(FORMAT_1))
    result = runner.invoke(args=["catalog", "load", str(path)])
    assert result.exit_code == 0, result.output
    from webapp.catalog.models import Criterion

    with empty_app.app_context():
        facts = set(db.session.scalars(select(Criterion.fact)))
    assert "time_since_diagnosis:type1" in facts and "months_since_type1_diagnosis" not in facts


def test_registry_lines_are_recounted_with_the_current_splitter(empty_app, tmp_path):
    """Migration 0006: a stored count of lines nobody has gone through that the splitter no
    longer agrees with is corrected, so a study cannot look better than what staff have done."""
    from flask_migrate import downgrade

    from webapp.catalog.models import Trial
    from webapp.core.eligibility_text import split_lines

    text = ("A participant must meet all of the following criteria:\n\n1. Adults with type 2 diabetes\n"
            "2. HbA1c between 7% and 10%\n\nA participant who meets any of the following criteria will "
            "be excluded from participation in this study:\n\n1. Pregnancy\n2. Dialysis")
    with empty_app.app_context():
        upgrade()
        load_catalog(read_bundled_catalog())
        trial = db.session.scalar(select(Trial).limit(1))
        trial.eligibility_text = text
        trial.line_triage = {}
        trial.untriaged_lines = 0  # what an older count could have left behind
        trial.team_lines = 0
        trial_id = trial.id
        db.session.commit()
        downgrade(revision="0005")
        upgrade()
        db.session.expire_all()
        trial = db.session.get(Trial, trial_id)
        lines = split_lines(text)
        assert [line.section for line in lines] == ["inclusion", "inclusion", "exclusion", "exclusion"]
        assert trial.untriaged_lines == 4 - sum(1 for c in trial.criteria if c.line_key)


def test_a_serving_process_loads_alembic_only_when_something_migrates(tmp_path):
    """Flask-Migrate (and Alembic, about 11 MB) is bound on first use: a process that serves
    pages never loads it, an upgrade in process still works, and `flask db` is still there."""
    import os
    import subprocess
    import sys

    database = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TRIALCHECK_INSTANCE_PATH": str(tmp_path)}
    script = (
        "import sys, webapp\n"
        "app = webapp.create_app()\n"
        "assert app.test_client().get('/healthz').status_code == 200\n"
        "print('serving', 'alembic' in sys.modules, 'flask_migrate' in sys.modules)\n"
        "from flask_migrate import upgrade\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        "print('upgraded', 'alembic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(webapp.__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "serving False False" in done.stdout
    assert "upgraded True" in done.stdout
    flask = Path(sys.executable).with_name("flask")
    current = subprocess.run([str(flask), "--app", "webapp", "db", "current"], env=env, capture_output=True,
                             text=True, timeout=120, cwd=Path(webapp.__file__).parent.parent)
    assert current.returncode == 0, current.stderr[-2000:]
    assert "(head)" in current.stdout
