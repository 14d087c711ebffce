"""`flask --app webapp catalog load|export`: the bundled catalog file and exports."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from . import service
from .schema import CatalogError

catalog_cli = AppGroup("catalog", help="Load or export the trial and education-page catalog.")


@catalog_cli.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--if-empty", is_flag=True, help="Load only when the database holds no catalog yet.")
@click.option("--if-newer", is_flag=True,
              help="Load only when the database holds no catalog, or an older catalog version than the "
                   "file (so corrections in a new release reach an existing database).")
@click.option("--replace-edited", is_flag=True,
              help="Also overwrite trials and pages staff have edited (restoring an export).")
def load_command(path: str | None, if_empty: bool, if_newer: bool, replace_edited: bool) -> None:
    """Load PATH, or the bundled catalog when no PATH is given."""
    if if_empty and not service.catalog_is_empty():
        click.echo("The catalog is already loaded; nothing to do.")
        return
    try:
        if path:
            with open(path, encoding="utf-8") as handle:
                document = service.parse_catalog(handle.read())
        else:
            document = service.read_bundled_catalog()
        loaded = service.loaded_catalog_version()
        if if_newer and loaded is not None and loaded >= document["catalog_version"]:
            click.echo(f"Catalog {loaded} is loaded, as new as {document['catalog_version']}; nothing to do.")
            return
        report = service.load_catalog(document, replace_edited=replace_edited)
    except CatalogError as error:
        raise click.ClickException(f"The catalog was not loaded: {error}") from None
    click.echo(report.summary())


@catalog_cli.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: standard output).")
def export_command(output: str | None) -> None:
    """Write the catalog in the bundled file's format."""
    text = service.dump_catalog(service.export_catalog())
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


trials_cli = AppGroup("trials", help="Import trials from ClinicalTrials.gov records.")


@trials_cli.command("import-ctgov")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def import_ctgov_command(files: tuple[str, ...]) -> None:
    """Import or update trials from ClinicalTrials.gov API v2 study JSON FILES.

    Every file is checked first; if any record is wrong nothing is written.
    """
    from ..extensions import db
    from .ctgov import RegistryRecordError
    from .importing import import_studies, read_records

    studies = []
    for name in files:
        with open(name, "rb") as handle:
            try:
                studies += read_records(handle.read())
            except RegistryRecordError as error:
                raise click.ClickException(f"Nothing was imported. {name}: {error}") from None
    results = import_studies(studies)
    db.session.commit()
    for result in results:
        state = "added (hidden until staff show it)" if result.created else (
            f"updated: {', '.join(result.changed)}" if result.changed else "unchanged")
        click.echo(f"{result.registry_id}: {state}")
