"""Catalog services: load and export the catalog file, and keep the catalog's revision.

Loading is idempotent: questions, conditions and facts are matched by id, trials by registry id
and pages by slug, updated in place, and the whole load is one transaction, so a bad file writes
nothing. Reading the catalog for patients (the question bank, the index, texts) is in snapshot.py.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from importlib import resources
from typing import Any, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..core.eligibility_text import split_lines
from ..extensions import db
from .models import CatalogCondition, CatalogFact, CatalogInfo, CatalogQuestion, Criterion, EducationPage, Trial
from .schema import BANK_PARTS, FORMAT, FORMAT_VERSION, CatalogError, upgrade_document, validate_catalog

BUNDLED_CATALOG = "catalog.json"
DEFAULT_LANGUAGE = "en"

# Everything the catalog file carries for a trial or page, in the order it is written.
# "edited" marks items staff have changed, which a newer bundled catalog leaves alone.
TRIAL_FIELDS = (
    "registry_id", "registry_url", "acronym", "official_title", "brief_title", "sponsor",
    "phase", "phases", "status", "status_verified", "registry_updated", "site", "site_city",
    "conditions", "registry_conditions", "sex", "minimum_age", "maximum_age", "locations",
    "contacts", "sources", "facts_checked", "eligibility_text", "texts", "archived", "line_triage",
)
TRIAL_DEFAULTS: dict[str, Any] = {
    "registry_url": None, "acronym": None, "brief_title": None, "sponsor": None, "phase": None,
    "phases": [], "status_verified": None, "registry_updated": None, "site": None,
    "site_city": None, "registry_conditions": [], "sex": None, "minimum_age": None,
    "maximum_age": None, "locations": [], "contacts": [], "facts_checked": None,
    "eligibility_text": None, "archived": False, "line_triage": {},
}
PAGE_FIELDS = ("slug", "conditions", "trials", "sources", "texts")
PAGE_DEFAULTS: dict[str, Any] = {"trials": []}


# --- the question bank: database rows and catalog entries ---------------------------------------

@dataclass(frozen=True)
class BankPart:
    """One part of the bank: its table, and each catalog field with the column that holds it."""

    model: type
    fields: tuple[tuple[str, str], ...]  # (entry key, column)
    defaults: dict[str, Any]


BANK = {
    "conditions": BankPart(CatalogCondition, (
        ("registry_terms", "registry_terms"), ("search_term", "search_term"), ("texts", "texts"),
        ("retired", "retired")), {"registry_terms": [], "search_term": None, "retired": False}),
    "facts": BankPart(CatalogFact, (
        ("kind", "kind"), ("unit", "unit"), ("lab_value", "lab_value"), ("condition", "condition_key"),
        ("lowest", "lowest"), ("highest", "highest"), ("texts", "texts"), ("retired", "retired")),
        {"unit": None, "lab_value": False, "condition": None, "lowest": None, "highest": None,
         "retired": False}),
    "questions": BankPart(CatalogQuestion, (
        ("kind", "kind"), ("facts", "facts"), ("options", "options"), ("condition", "condition_key"),
        ("skip", "skip"), ("minimum", "minimum"), ("maximum", "maximum"),
        ("caregiver_hint", "caregiver_hint"), ("texts", "texts"), ("retired", "retired")),
        {"options": [], "condition": None, "skip": [], "minimum": None, "maximum": None,
         "caregiver_hint": True, "retired": False}),
}


def bank_entry(part: str, row: Any) -> dict[str, Any]:
    entry = {"id": row.key, **{key: _plain(getattr(row, column)) for key, column in BANK[part].fields}}
    entry["edited"] = bool(row.staff_edited)
    return entry


def _plain(value: Any) -> Any:
    """Whole numbers stored in float columns read back as they were written (120, not 120.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def database_bank(include_retired: bool = True) -> dict[str, list[dict[str, Any]]]:
    """The bank in the database, as catalog entries in asking (or listing) order."""
    bank = {}
    for part, spec in BANK.items():
        order = (spec.model.position, spec.model.id) if hasattr(spec.model, "position") else (spec.model.id,)
        rows = db.session.scalars(select(spec.model).order_by(*order))
        bank[part] = [bank_entry(part, r) for r in rows if include_retired or not r.retired]
    return bank


def apply_bank_entry(part: str, row: Any, entry: dict[str, Any], position: int | None) -> None:
    spec = BANK[part]
    if row.id is not None:
        row.version += 1
    row.key = entry["id"]
    for key, column in spec.fields:
        setattr(row, column, entry.get(key, spec.defaults.get(key)))
    if position is not None and hasattr(row, "position"):
        row.position = position
    row.staff_edited = bool(entry.get("edited", False))


# --- reading and writing catalog files ---------------------------------------------------------

@dataclass
class LoadReport:
    catalog_version: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Items staff have edited, which this load did not touch.
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"Catalog {self.catalog_version}: {len(self.created)} added, "
                f"{len(self.updated)} updated, {len(self.unchanged)} unchanged")
        if self.kept:
            text += f", {len(self.kept)} left alone because staff edited them ({', '.join(self.kept)})"
        return text + "."


def read_bundled_catalog() -> dict[str, Any]:
    text = resources.files("webapp.catalog.data").joinpath(BUNDLED_CATALOG).read_text("utf-8")
    return parse_catalog(text, bank={})


def parse_catalog(text: str | bytes, bank: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read and check a catalog file; a format-1 file comes back as format 2.

    `bank`: the bank to check a file without one against (by default the database's).
    """
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise CatalogError(f"not valid JSON{where}") from None
    except RecursionError:
        raise CatalogError("not valid JSON (nested too deeply)") from None
    document = upgrade_document(document)
    has_bank = isinstance(document, dict) and any(part in document for part in BANK_PARTS)
    validate_catalog(document, None if has_bank else (bank or database_bank(include_retired=False)))
    return document


def dump_catalog(document: dict[str, Any]) -> str:
    """The one canonical text form, so export -> load -> export gives identical bytes."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def loaded_catalog_version() -> str | None:
    """The version of the catalog file last loaded, or None when none has been (or it is empty)."""
    if catalog_is_empty():
        return None
    return db.session.scalar(select(CatalogInfo.value).where(CatalogInfo.key == "catalog_version"))


def catalog_is_empty() -> bool:
    return db.session.scalar(select(Trial.id).limit(1)) is None and (
        db.session.scalar(select(EducationPage.id).limit(1)) is None
    )


T = TypeVar("T")
STALE_TRIES = 3


def retrying(errors: tuple[type[BaseException], ...], tries: int,
             pause: float = 0.0) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run a write again from the start, after a rollback, when it fails with one of `errors`;
    `pause` seconds before the second try, twice that before the third, and so on."""

    def wrap(function: Callable[..., T]) -> Callable[..., T]:
        @wraps(function)
        def run(*args: Any, **kwargs: Any) -> T:
            for attempt in range(tries):
                try:
                    return function(*args, **kwargs)
                except errors:
                    db.session.rollback()
                    if attempt == tries - 1:
                        raise
                    if pause:
                        time.sleep(pause * 2 ** attempt)
            raise AssertionError("unreachable")

        return run

    return wrap


def retry_when_stale(function: Callable[..., T]) -> Callable[..., T]:
    """Run a write again from the start when another transaction changed one of its rows
    between our read and our write.

    Version columns make the losing UPDATE match no row (StaleDataError), raised by the commit
    or by any autoflush before it. After the rollback every row is read afresh, so the rerun
    works on what the other transaction left: a staff save then meets its version check and
    reports an ordinary edit conflict; a catalog load keeps what staff just edited.
    """
    return retrying((StaleDataError,), STALE_TRIES)(function)


@retry_when_stale
def load_catalog(document: dict[str, Any], replace_edited: bool = False) -> LoadReport:
    """Load a catalog document in one transaction.

    Items staff have edited are left alone unless `replace_edited` (restoring an export);
    the report names them.
    """
    document = upgrade_document(document)
    has_bank = any(part in document for part in BANK_PARTS)
    validate_catalog(document, None if has_bank else database_bank(include_retired=False))
    report = LoadReport(catalog_version=document["catalog_version"])
    try:
        if has_bank:
            _load_bank(document, report, replace_edited)
        trials = {t.registry_id: t for t in db.session.scalars(
            select(Trial).options(selectinload(Trial.criteria)))}
        for position, item in enumerate(document["trials"]):
            trial = trials.get(item["registry_id"])
            if trial is not None and trial.staff_edited and not replace_edited:
                report.kept.append(item["registry_id"])
                continue
            _sort_into(report, item["registry_id"], trial, _trial_record(trial), item, position)
            if trial is None:
                trial = Trial()
                db.session.add(trial)
            _apply_trial(trial, item, position)
        pages = {p.slug: p for p in db.session.scalars(select(EducationPage))}
        for position, item in enumerate(document["education_pages"]):
            page = pages.get(item["slug"])
            if page is not None and page.staff_edited and not replace_edited:
                report.kept.append(item["slug"])
                continue
            _sort_into(report, item["slug"], page, _page_record(page), item, position)
            if page is None:
                page = EducationPage()
                db.session.add(page)
            if page.id is not None:
                page.version += 1
            for key in PAGE_FIELDS:
                setattr(page, key, item.get(key, PAGE_DEFAULTS.get(key)))
            page.staff_edited = bool(item.get("edited", False))
            page.position = position
        info = db.session.get(CatalogInfo, "catalog_version") or CatalogInfo(key="catalog_version")
        info.value = document["catalog_version"]
        db.session.add(info)
        bump_revision()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _load_bank(document: dict[str, Any], report: LoadReport, replace_edited: bool) -> None:
    for part, spec in BANK.items():
        rows = {row.key: row for row in db.session.scalars(select(spec.model))}
        for position, entry in enumerate(document[part]):
            row = rows.get(entry["id"])
            name = f"{part[:-1]} {entry['id']}"
            if row is not None and row.staff_edited and not replace_edited:
                report.kept.append(name)
                continue
            if row is None:
                report.created.append(name)
                row = spec.model()
                db.session.add(row)
            elif _normalised(bank_entry(part, row)) == _normalised({**spec.defaults, "edited": False, **entry}) \
                    and getattr(row, "position", position) == position:
                report.unchanged.append(name)
            else:
                report.updated.append(name)
            apply_bank_entry(part, row, entry, position)
    db.session.flush()


def _sort_into(report: LoadReport, key: str, existing: Any, current: Any,
               item: dict[str, Any], position: int) -> None:
    if existing is None:
        report.created.append(key)
    elif current == _normalised(_with_defaults(item, existing)) and existing.position == position:
        report.unchanged.append(key)
    else:
        report.updated.append(key)


def _with_defaults(item: dict[str, Any], existing: Any) -> dict[str, Any]:
    defaults = TRIAL_DEFAULTS if isinstance(existing, Trial) else PAGE_DEFAULTS
    complete = {**defaults, **item}
    complete.setdefault("edited", False)
    if isinstance(existing, Trial):
        for criterion in complete["criteria"]:
            criterion.setdefault("source", None)
            criterion.setdefault("value", {})
    return complete


def _normalised(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(dump_catalog(item))


def _apply_trial(trial: Trial, item: dict[str, Any], position: int) -> None:
    if trial.id is not None:
        trial.version += 1  # anyone editing the old version gets a conflict, not a silent loss
    for key in TRIAL_FIELDS:
        setattr(trial, key, item.get(key, TRIAL_DEFAULTS.get(key)))
    trial.staff_edited = bool(item.get("edited", False))
    trial.position = position
    # Criteria are replaced whole; flush the removals first so positions can be reused.
    trial.criteria.clear()
    db.session.flush()
    for index, entry in enumerate(item["criteria"]):
        trial.criteria.append(Criterion(
            position=index,
            fact=entry.get("fact"),
            operator=entry["operator"],
            value=entry.get("value") or {},
            texts=entry["texts"],
            source=entry.get("source"),
            line_key=entry.get("line"),
        ))
    count_untriaged_lines(trial)


def count_untriaged_lines(trial: Trial) -> int:
    """Recount the registry lines staff have not gone through, and those they left to the study
    team (after the text, the triage or the criteria changed)."""
    triage = trial.line_triage or {}
    with_criterion = {c.line_key for c in trial.criteria if c.line_key}
    keys = [line.key for line in split_lines(trial.eligibility_text)]
    trial.untriaged_lines = sum(1 for key in keys if key not in triage and key not in with_criterion)
    trial.team_lines = sum(1 for key in keys if triage.get(key) == "study_team" and key not in with_criterion)
    return trial.untriaged_lines


def criterion_record(criterion: Criterion) -> dict[str, Any]:
    record = {"fact": criterion.fact, "operator": criterion.operator, "value": criterion.value,
              "texts": criterion.texts, "source": criterion.source}
    if criterion.line_key:
        record["line"] = criterion.line_key
    return record


def _trial_record(trial: Trial | None) -> dict[str, Any] | None:
    if trial is None:
        return None
    record = {key: getattr(trial, key) for key in TRIAL_FIELDS}
    record["line_triage"] = record["line_triage"] or {}
    record["edited"] = bool(trial.staff_edited)
    record["criteria"] = [criterion_record(c) for c in trial.criteria]
    return _normalised(record)


def _page_record(page: EducationPage | None) -> dict[str, Any] | None:
    if page is None:
        return None
    record = {key: getattr(page, key) for key in PAGE_FIELDS}
    record["edited"] = bool(page.staff_edited)
    return _normalised(record)


def export_catalog() -> dict[str, Any]:
    info = db.session.get(CatalogInfo, "catalog_version")
    trials = db.session.scalars(
        select(Trial).options(selectinload(Trial.criteria)).order_by(Trial.position, Trial.id))
    pages = db.session.scalars(select(EducationPage).order_by(EducationPage.position, EducationPage.id))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "catalog_version": info.value if info else "unversioned",
        **database_bank(),
        "trials": [_trial_record(t) for t in trials],
        "education_pages": [_page_record(p) for p in pages],
    }


# --- the catalog's revision ------------------------------------------------------------------

REVISION_KEY = "revision"


def bump_revision() -> None:
    """Mark the catalog as changed, in the caller's transaction.

    A fresh random token rather than a counter, so two changes committed at once can never
    leave the same value behind; every process compares it on each request and rebuilds its
    cached snapshot when it differs.
    """
    info = db.session.get(CatalogInfo, REVISION_KEY)
    if info is None:
        info = CatalogInfo(key=REVISION_KEY)
        db.session.add(info)
    info.value = secrets.token_hex(8)
    # Once committed, this process reads the new revision on its next request instead of
    # trusting the one it read less than CATALOG_REVISION_SECONDS ago.
    db.session.info[REVISION_CHANGED] = True


REVISION_CHANGED = "catalog_revision_changed"


@event.listens_for(Session, "after_commit")
def _revision_committed(session: Session) -> None:
    if session.info.pop(REVISION_CHANGED, False) and has_app_context():
        current_app.extensions.pop("catalog_revision_read", None)


@event.listens_for(Session, "after_rollback")
def _revision_rolled_back(session: Session) -> None:
    session.info.pop(REVISION_CHANGED, None)


def catalog_revision() -> str | None:
    return db.session.scalar(select(CatalogInfo.value).where(CatalogInfo.key == REVISION_KEY))


def localised(texts: dict[str, Any], lang: str) -> tuple[dict[str, Any], bool]:
    """The texts in `lang`, or English with a flag saying it is a fallback."""
    if lang in texts:
        return texts[lang], False
    return texts.get(DEFAULT_LANGUAGE, {}), lang != DEFAULT_LANGUAGE


def unreviewed_text(texts: dict[str, Any]) -> bool:
    """Medical text nobody qualified has checked yet, in English as in any translation."""
    return not texts.get("reviewed", False)
