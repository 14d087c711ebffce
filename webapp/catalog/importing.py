"""Imports ClinicalTrials.gov records into the catalog.

A new study becomes a hidden trial with its registry fields, draft English texts from the
registry, and the criteria the record structures: its conditions (mapped to the catalog's
conditions by their registry wordings), its age limits and its sex limit. Its free-text
eligibility lines wait for staff to go through them; until they have, the study is at best
"the study team would need to check". Re-importing updates the registry fields only: texts,
criteria and line decisions staff made are never touched.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from ..core.engine import Operator
from ..core.facts import AGE_YEARS, CONDITIONS, SEX
from ..core.registry_conditions import match_conditions
from ..extensions import db
from .ctgov import RegistryRecordError, RegistryStudy, age_criterion_value, parse_json, read_study, studies_in
from .models import CatalogCondition, Criterion, Trial
from .service import bump_revision, count_untriaged_lines, retrying
from ..core.eligibility_text import split_lines
from .wording import criterion_texts, team_check_texts


@dataclass
class ImportResult:
    registry_id: str
    created: bool
    changed: list[str]
    shown: bool = False
    # Why the study cannot be shown to patients, when it cannot.
    hidden_because: str | None = None
    conditions: list[str] = field(default_factory=list)


@dataclass
class Refused:
    """A record, or a whole file, that was not imported, and why."""

    where: str
    reason: str


@dataclass
class BulkReport:
    results: list[ImportResult] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for r in self.results if r.created)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.results if not r.created and r.changed)

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.results if not r.created and not r.changed)

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.refused)} refused")


def records_in(named_texts: list[tuple[str, str | bytes]]) -> tuple[list[tuple[str, Mapping[str, Any]]], list[Refused]]:
    """Every record of every file ("name, record 3", record), and the files that cannot be read."""
    records: list[tuple[str, Mapping[str, Any]]] = []
    refused: list[Refused] = []
    for name, text in named_texts:
        try:
            found = studies_in(parse_json(text))
        except RegistryRecordError as error:
            refused.append(Refused(name, str(error)))
            continue
        many = len(found) > 1
        records += [(f"{name}, record {number}" if many else name, record)
                    for number, record in enumerate(found, start=1)]
    return records, refused


# Records written per commit; each record still has its own savepoint, so a bad one is
# refused alone and the others of its batch are kept.
IMPORT_BATCH = 200


def import_each(records: list[tuple[str, Mapping[str, Any]]], show: bool = False,
                after_each: Callable[[ImportResult], None] | None = None,
                progress: Callable[[], None] | None = None) -> BulkReport:
    """Import each record on its own: a bad record is named and refused, the rest are
    imported. Each record is written under its own savepoint and committed with the others of
    its batch (IMPORT_BATCH at a time); `after_each` runs within the record's savepoint (the
    audit trail); `progress` after each record."""
    report = BulkReport()
    catalog = ConditionCatalog.load()
    pending = 0
    # pysqlite turns a savepoint opened first into the transaction itself, which its release
    # commits: on SQLite each record is committed on its own.
    batch = 1 if db.engine.dialect.name == "sqlite" else IMPORT_BATCH

    def commit() -> None:
        nonlocal pending
        if pending:
            bump_revision()
            db.session.commit()
            pending = 0

    for where, record in records:
        try:
            study = read_study(record)
        except RegistryRecordError as error:
            report.refused.append(Refused(where, str(error)))
        else:
            try:
                result = _import_one(study, catalog, show, after_each, alone=pending == 0)
            except SQLAlchemyError as error:
                report.refused.append(Refused(f"{where} ({study.registry_id})", _could_not_save(error)))
            except Exception as error:  # noqa: BLE001 - one record's surprise must not end the import
                current_app.logger.exception("import of one record failed")
                report.refused.append(Refused(f"{where} ({study.registry_id})",
                                              f"it could not be imported ({type(error).__name__}); nothing of it was saved"))
            else:
                report.results.append(result)
                pending += 1
        if pending >= batch:
            try:
                commit()
            except SQLAlchemyError as error:
                # The batch could not be committed (a save racing it): say so for each of them.
                db.session.rollback()
                lost = report.results[-pending:]
                del report.results[-pending:]
                report.refused += [Refused(r.registry_id, _could_not_save(error)) for r in lost]
                pending = 0
        if progress is not None:
            progress()
    try:
        commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        lost = report.results[-pending:] if pending else []
        if pending:
            del report.results[-pending:]
        report.refused += [Refused(r.registry_id, _could_not_save(error)) for r in lost]
    return report


# A record that met a racing save is written again up to this many times, waiting a little
# longer each time: SQLite refuses the second of two writers at once rather than let them wait
# for each other, and the first needs a moment to finish.
RACE_TRIES = 5
RACE_PAUSE_SECONDS = 0.02


def _import_one(study: RegistryStudy, catalog: "ConditionCatalog", show: bool,
                after_each: Callable[[ImportResult], None] | None, alone: bool) -> ImportResult:
    """Write one record under its savepoint. A save that raced it (a staff edit of the same
    study, or SQLite refusing a second writer) makes it run again on fresh rows, as an import
    does not depend on what anyone saw, when it is `alone` in its transaction, so the rollback
    loses no other record."""

    def write() -> ImportResult:
        with db.session.begin_nested():
            result = _import(study, catalog, show)
            if after_each is not None:
                after_each(result)
            db.session.flush()
        return result

    if not alone:
        return write()
    return retrying((StaleDataError, OperationalError), RACE_TRIES, RACE_PAUSE_SECONDS)(write)()


def _could_not_save(error: SQLAlchemyError) -> str:
    if isinstance(error, StaleDataError):
        return "someone saved this study at the same moment; import it again"
    return f"the database refused it ({type(error).__name__}); nothing of this record was saved"


def read_records(text: str | bytes) -> list[RegistryStudy]:
    """Parse and check every study first, so one bad record means nothing is written."""
    return [read_study(record) for record in studies_in(parse_json(text))]


@dataclass(frozen=True)
class ConditionCatalog:
    """The catalog's conditions as the importer needs them: wordings and names per language."""

    terms: dict[str, list[str]]
    names: dict[str, dict[str, str]]
    # Criterion wordings already made in this run: an import of thousands of studies words the
    # same few age, sex and condition limits over and over.
    wordings: dict[Any, Any] = field(default_factory=dict, compare=False)

    def texts(self, fact: str, value: Mapping[str, Any], with_names: bool = False) -> dict[str, dict[str, Any]] | None:
        key = (fact, json.dumps(value, sort_keys=True), with_names)
        if key not in self.wordings:
            self.wordings[key] = criterion_texts(fact, value, self.names if with_names else None)
        found = self.wordings[key]
        return copy.deepcopy(found) if found is not None else None

    def team_texts(self, kind: str, **values: str) -> dict[str, dict[str, Any]]:
        key = ("team", kind, tuple(sorted(values.items())))
        if key not in self.wordings:
            self.wordings[key] = team_check_texts(kind, **values)
        return copy.deepcopy(self.wordings[key])

    @classmethod
    def load(cls) -> "ConditionCatalog":
        rows = db.session.scalars(select(CatalogCondition).where(CatalogCondition.retired.is_(False))
                                  .order_by(CatalogCondition.position, CatalogCondition.id))
        terms, names = {}, {}
        for row in rows:
            terms[row.key] = list(row.registry_terms or [])
            names[row.key] = {lang: words.get("in_sentence") or words.get("label") or row.key
                              for lang, words in (row.texts or {}).items()}
        return cls(terms, names)


def cannot_show(trial: Trial, known: set[str]) -> str | None:
    """Why a trial cannot be shown to patients, or None when it can."""
    if not any(c in known or c == "any" for c in trial.conditions or []):
        wordings = ", ".join(trial.registry_conditions or []) or "none given"
        return (f"None of its conditions matches a condition the screener asks about (registry "
                f"conditions: {wordings}). Add the condition, or its wording to a condition, in the "
                f"question bank, or set the study's conditions.")
    return None


def import_studies(studies: list[RegistryStudy], show: bool = False) -> list[ImportResult]:
    """Import or update the studies in the caller's transaction (rolled back on any error).

    `show`: make new studies visible to patients; one that cannot be shown stays hidden and its
    result says why.
    """
    catalog = ConditionCatalog.load()
    results = []
    try:
        for study in studies:
            results.append(_import(study, catalog, show))
        bump_revision()
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    return results


def _import(study: RegistryStudy, catalog: ConditionCatalog, show: bool) -> ImportResult:
    trial = db.session.scalar(select(Trial).where(Trial.registry_id == study.registry_id))
    fields = study.registry_fields()
    known = set(catalog.terms)
    if trial is not None:
        changed = [key for key, value in fields.items() if getattr(trial, key) != value]
        for key in changed:
            setattr(trial, key, fields[key])
        if changed:
            trial.version += 1
            if "eligibility_text" in changed:
                count_untriaged_lines(trial)
        return ImportResult(study.registry_id, created=False, changed=changed, shown=not trial.archived,
                            hidden_because=cannot_show(trial, known), conditions=list(trial.conditions or []))

    last = db.session.scalar(select(func.max(Trial.position))) or 0
    first_site = study.locations[0] if study.locations else {}
    tags = match_conditions(study.registry_conditions, catalog.terms)
    trial = Trial(
        registry_id=study.registry_id,
        **fields,
        site=first_site.get("facility"),
        site_city=", ".join(p for p in (first_site.get("city"), first_site.get("state")) if p) or None,
        conditions=tags,
        sources=[{"label": f"ClinicalTrials.gov record {study.registry_id}", "url": study.registry_url}],
        # Draft texts from the registry; staff rewrite them in plain words before showing them.
        texts={"en": {"title": study.brief_title,
                      "summary": study.brief_summary or study.brief_title,
                      "reviewed": False}},
        position=last + 1,
        line_triage={},
        archived=True,
    )
    trial.criteria = _first_criteria(study, tags, catalog)
    count_untriaged_lines(trial)
    hidden_because = cannot_show(trial, known)
    # Hidden from patients until staff have checked it and chosen to show it (or --show).
    trial.archived = not (show and hidden_because is None)
    db.session.add(trial)
    return ImportResult(study.registry_id, created=True, changed=sorted(fields), shown=not trial.archived,
                        hidden_because=hidden_because, conditions=tags)


def _first_criteria(study: RegistryStudy, tags: list[str], catalog: ConditionCatalog) -> list[Criterion]:
    criteria: list[dict[str, Any]] = []
    source = f"ClinicalTrials.gov record {study.registry_id}"
    if tags:
        value = {"met": tags}
        criteria.append({"fact": CONDITIONS, "operator": Operator.ONE_OF.value, "value": value,
                         "texts": catalog.texts(CONDITIONS, value, with_names=True),
                         "source": f"{source}: conditions {', '.join(study.registry_conditions)}"})
    age = age_criterion_value(study.minimum_years, study.maximum_years)
    limits = f"{study.minimum_age or 'no minimum'} to {study.maximum_age or 'no maximum'}"
    if age is not None:
        criteria.append({"fact": AGE_YEARS, "operator": Operator.BETWEEN.value, "value": age,
                         "texts": _age_texts(study, age, catalog),
                         "source": f"{source}: age {limits}"})
    elif study.minimum_age or study.maximum_age:
        criteria.append({"fact": None, "operator": Operator.STUDY_TEAM_CHECKS.value, "value": {},
                         "texts": catalog.team_texts("age_limits", limits=_shown_limits(study)),
                         "source": f"{source}: age {limits}"})
    if study.sex in ("FEMALE", "MALE"):
        value = {"met": [study.sex.lower()]}
        criteria.append({"fact": SEX, "operator": Operator.ONE_OF.value, "value": value,
                         "texts": catalog.texts(SEX, value),
                         "source": f"{source}: sex {study.sex}"})
    if not split_lines(study.eligibility_text):
        # Nothing for staff to go through, so nothing would hold the study back from "may be a
        # fit": what the registry does not say, the study team checks.
        criteria.append({"fact": None, "operator": Operator.STUDY_TEAM_CHECKS.value, "value": {},
                         "texts": catalog.team_texts("no_rules"), "source": f"{source}: no eligibility criteria"})
    return [Criterion(position=i, **c) for i, c in enumerate(criteria)]


def _age_texts(study: RegistryStudy, age: dict[str, int], catalog: ConditionCatalog) -> dict[str, dict[str, Any]]:
    low, high = study.minimum_years, study.maximum_years
    whole = all(v is None or v.is_integer() for v in (low, high))
    if whole:
        texts = catalog.texts(AGE_YEARS, {k: v for k, v in age.items() if k in ("min", "max")})
        if texts:
            return texts
    return catalog.team_texts("age_limits", limits=_shown_limits(study))


def _shown_limits(study: RegistryStudy) -> str:
    # As the registry writes them ("18 Years"), in any language's sentence.
    return f"{study.minimum_age or '—'} – {study.maximum_age or '—'}"
