"""Migrations upgrade a database that already holds a catalog without losing any of it,
on SQLite and on PostgreSQL.

The database starts at the first revision, "0001", with the bundled catalog written in that
revision's own columns (through reflected tables, not today's models), then is upgraded to
the newest revision; every row and value is still there, and the app still shows it.
"""

from __future__ import annotations

from typing import Any

from flask_migrate import upgrade
from markupsafe import escape
from sqlalchemy import MetaData, select

from conftest import make_app
from webapp.catalog.service import read_bundled_catalog
from webapp.extensions import db

FIRST_REVISION = "0001"
CATALOG_TABLES = ("trial", "criterion", "education_page", "catalog_info")


def reflect() -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=db.engine, only=CATALOG_TABLES)
    return metadata


def insert_catalog_at_first_revision() -> None:
    """The bundled catalog, written into whatever columns the tables had at revision 0001."""
    catalog = read_bundled_catalog()
    tables = reflect().tables

    def row(table: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
        columns = tables[table].columns.keys()
        return {**{k: v for k, v in item.items() if k in columns}, **extra}

    with db.engine.begin() as connection:
        for position, trial in enumerate(catalog["trials"]):
            trial_id = connection.execute(
                tables["trial"].insert().values(row("trial", trial, position=position))
            ).inserted_primary_key[0]
            for index, criterion in enumerate(trial["criteria"]):
                connection.execute(tables["criterion"].insert().values(
                    row("criterion", criterion, trial_id=trial_id, position=index)))
        for position, page in enumerate(catalog["education_pages"]):
            connection.execute(tables["education_page"].insert().values(
                row("education_page", page, position=position)))
        connection.execute(tables["catalog_info"].insert().values(
            key="catalog_version", value=catalog["catalog_version"]))


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


def test_upgrading_keeps_every_catalog_row_and_value(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade(revision=FIRST_REVISION)
        insert_catalog_at_first_revision()
        before = snapshot()
        first_columns = {name: list(rows[0]) for name, rows in before.items()}
        upgrade()
        after = snapshot(first_columns)
        db.engine.dispose()
    assert {name: len(rows) for name, rows in before.items()} == {
        "trial": 3, "criterion": 16, "education_page": 9, "catalog_info": 1}
    assert after == before


def test_the_app_shows_an_upgraded_catalog(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        upgrade(revision=FIRST_REVISION)
        insert_catalog_at_first_revision()
        upgrade()
    client = app.test_client()
    catalog = read_bundled_catalog()
    for page in catalog["education_pages"]:
        html = client.get(f"/en/learn/{page['slug']}").get_data(as_text=True)
        assert str(escape(page["texts"]["en"]["title"])) in html, page["slug"]
    with client.session_transaction() as session:
        session["answers"] = {"conditions": ["type1", "chronic_pancreatitis"], "age": 27,
                              "type1_diagnosed": "not_sure", "type1_own_insulin": "not_sure",
                              "cp_pain_duration": "over_6_months", "cp_dose_stable": "yes",
                              "cp_procedure_planned": "no", "veteran": "yes",
                              "travel_charleston": "yes"}
    html = client.get("/en/results").get_data(as_text=True)
    for trial in catalog["trials"]:
        assert f'data-trial="{trial["registry_id"]}"' in html
    with app.app_context():
        db.engine.dispose()
