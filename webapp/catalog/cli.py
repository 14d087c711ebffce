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


trials_cli = AppGroup("trials", help="Import trials from ClinicalTrials.gov records; show or hide them.")


@trials_cli.command("import-ctgov")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--show", is_flag=True, help="Show the new studies to patients (a study that cannot be shown "
                                           "stays hidden and is named with why).")
@click.option("--quiet", is_flag=True, help="Only the summary and the refused records, no line per study.")
def import_ctgov_command(files: tuple[str, ...], show: bool, quiet: bool) -> None:
    """Import or update trials from ClinicalTrials.gov API v2 JSON FILES.

    A file holds one study, a list of studies or a search page ({"studies": [...]}). Each record
    is imported in its own transaction: a record that is wrong is named and refused, the others
    are imported. Exits with 1 when any record or file was refused.
    """
    import sys

    from .importing import import_each, records_in

    named = []
    for name in files:
        with open(name, "rb") as handle:
            named.append((name, handle.read()))
    records, refused = records_in(named)
    with click.progressbar(length=len(records), label="Importing", file=sys.stderr,
                           show_pos=True) as bar:
        report = import_each(records, show=show, progress=lambda: bar.update(1))
    report.refused[:0] = refused
    for result in report.results if not quiet else []:
        if result.created:
            state = "added, shown to patients" if result.shown else "added (hidden until staff show it)"
        else:
            state = f"updated: {', '.join(result.changed)}" if result.changed else "unchanged"
        if result.hidden_because and (show or result.created):
            state += f"; cannot be shown: {result.hidden_because}"
        click.echo(f"{result.registry_id}: {state}")
    for item in report.refused:
        click.echo(f"refused: {item.where}: {item.reason}")
    click.echo(report.summary())
    if report.refused:
        raise SystemExit(1)


def _set_shown(registry_ids: tuple[str, ...], shown: bool) -> None:
    from ..extensions import db
    from .importing import ConditionCatalog, cannot_show
    from .models import Trial
    from .service import bump_revision

    from sqlalchemy import select

    known = set(ConditionCatalog.load().terms)
    trials = {t.registry_id: t for t in db.session.scalars(select(Trial).where(Trial.registry_id.in_(registry_ids)))}
    missing = [r for r in registry_ids if r not in trials]
    if missing:
        raise click.ClickException(f"Nothing was changed. No study {', '.join(missing)} in the catalog.")
    refused = {r: cannot_show(t, known) for r, t in trials.items() if shown and cannot_show(t, known)}
    if refused:
        raise click.ClickException("Nothing was changed. " + " ".join(f"{r} cannot be shown: {why}" for r, why in refused.items()))
    for trial in trials.values():
        if trial.archived == shown:
            trial.archived = not shown
            trial.version += 1
    bump_revision()
    db.session.commit()
    for registry_id in registry_ids:
        click.echo(f"{registry_id}: {'shown to patients' if shown else 'hidden from patients'}")


@trials_cli.command("show")
@click.argument("registry_ids", nargs=-1, required=True)
def show_command(registry_ids: tuple[str, ...]) -> None:
    """Show studies to patients (refused for a study whose conditions the screener does not know)."""
    _set_shown(registry_ids, True)


@trials_cli.command("hide")
@click.argument("registry_ids", nargs=-1, required=True)
def hide_command(registry_ids: tuple[str, ...]) -> None:
    """Hide studies from patients."""
    _set_shown(registry_ids, False)


@trials_cli.command("suggest")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def suggest_command(files: tuple[str, ...]) -> None:
    """Print the criteria the free text of ClinicalTrials.gov records suggests, one JSON object
    per line, without touching the database. Conditions are matched with the bundled question
    bank's registry wordings. A record that cannot be read is named on stderr and skipped."""
    import json

    from .ctgov import RegistryRecordError, parse_json, read_study, studies_in
    from .suggesting import bundled_condition_terms, suggestions_for

    terms = bundled_condition_terms()
    failed = 0
    for name in files:
        with open(name, "rb") as handle:
            try:
                records = list(studies_in(parse_json(handle.read())))
            except RegistryRecordError as error:
                click.echo(f"{name}: {error}", err=True)
                failed += 1
                continue
        for number, record in enumerate(records, start=1):
            try:
                study = read_study(record)
            except RegistryRecordError as error:
                click.echo(f"{name}, record {number}: {error}", err=True)
                failed += 1
                continue
            for item in suggestions_for(study, terms):
                click.echo(json.dumps(item.as_json(study.registry_id), ensure_ascii=False))
    if failed:
        raise SystemExit(1)
