"""Catalog services: load and export the catalog file, and read trials for screening.

Loading is idempotent: trials are matched by registry id and pages by slug, updated in
place, and the whole load is one transaction, so a bad file writes nothing.
"""

from __future__ import annotations

import gc
import json
import secrets
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.engine import Assessment, CriterionResult, Operator
from ..core.engine import Criterion as CoreCriterion
from ..core.screening import CatalogIndex, TrialOutcome, TrialSpec, relates_to
from ..core.questions import Answers, chosen_conditions
from ..bidi import isolate_latin
from ..extensions import db
from ..languages import RIGHT_TO_LEFT
from .models import CatalogInfo, Criterion, EducationPage, Trial
from .schema import FORMAT, FORMAT_VERSION, CatalogError, validate_catalog

BUNDLED_CATALOG = "catalog.json"
DEFAULT_LANGUAGE = "en"

# Everything the catalog file carries for a trial or page, in the order it is written.
# "edited" marks items staff have changed, which a newer bundled catalog leaves alone.
TRIAL_FIELDS = (
    "registry_id", "registry_url", "acronym", "official_title", "brief_title", "sponsor",
    "phase", "phases", "status", "status_verified", "registry_updated", "site", "site_city",
    "conditions", "registry_conditions", "sex", "minimum_age", "maximum_age", "locations",
    "contacts", "sources", "facts_checked", "eligibility_text", "texts", "archived",
)
TRIAL_DEFAULTS: dict[str, Any] = {
    "registry_url": None, "acronym": None, "brief_title": None, "sponsor": None, "phase": None,
    "phases": [], "status_verified": None, "registry_updated": None, "site": None,
    "site_city": None, "registry_conditions": [], "sex": None, "minimum_age": None,
    "maximum_age": None, "locations": [], "contacts": [], "facts_checked": None,
    "eligibility_text": None, "archived": False,
}
PAGE_FIELDS = ("slug", "conditions", "trials", "sources", "texts")
PAGE_DEFAULTS: dict[str, Any] = {"trials": []}


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
    return parse_catalog(text)


def parse_catalog(text: str | bytes) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise CatalogError(f"not valid JSON{where}") from None
    validate_catalog(document)
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


def load_catalog(document: dict[str, Any], replace_edited: bool = False) -> LoadReport:
    """Load a catalog document in one transaction.

    Items staff have edited are left alone unless `replace_edited` (restoring an export);
    the report names them.
    """
    validate_catalog(document)
    report = LoadReport(catalog_version=document["catalog_version"])
    try:
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
        ))


def criterion_record(criterion: Criterion) -> dict[str, Any]:
    return {"fact": criterion.fact, "operator": criterion.operator, "value": criterion.value,
            "texts": criterion.texts, "source": criterion.source}


def _trial_record(trial: Trial | None) -> dict[str, Any] | None:
    if trial is None:
        return None
    record = {key: getattr(trial, key) for key in TRIAL_FIELDS}
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
        "trials": [_trial_record(t) for t in trials],
        "education_pages": [_page_record(p) for p in pages],
    }


# --- reading the catalog for patients -------------------------------------------------------


def localised(texts: dict[str, Any], lang: str) -> tuple[dict[str, Any], bool]:
    """The texts in `lang`, or English with a flag saying it is a fallback."""
    if lang in texts:
        return texts[lang], False
    return texts.get(DEFAULT_LANGUAGE, {}), lang != DEFAULT_LANGUAGE


def unreviewed_text(texts: dict[str, Any]) -> bool:
    """Medical text nobody qualified has checked yet, in English as in any translation."""
    return not texts.get("reviewed", False)


@dataclass(frozen=True)
class TrialCard:
    """What the results page shows of one trial, in the reader's language."""

    registry_id: str
    registry_url: str | None
    acronym: str | None
    official_title: str
    sponsor: str | None
    status: str
    status_verified: str | None
    registry_updated: str | None
    site: str | None
    site_city: str | None
    contacts: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    facts_checked: str | None
    title: str
    summary: str
    involves: str | None
    # Shown in English because this language has no text yet.
    untranslated: bool
    # A text (English or a translation) that no qualified person has checked yet.
    unreviewed: bool
    # The language title, summary and "involves" are actually in (English when not translated).
    text_lang: str


REVISION_KEY = "revision"


def bump_revision() -> None:
    """Mark the catalog as changed, in the caller's transaction.

    A fresh random token rather than a counter, so two changes committed at once can never
    leave the same value behind; every process compares it on each request and rebuilds its
    cached index when it differs.
    """
    info = db.session.get(CatalogInfo, REVISION_KEY)
    if info is None:
        info = CatalogInfo(key=REVISION_KEY)
        db.session.add(info)
    info.value = secrets.token_hex(8)


def catalog_revision() -> str | None:
    return db.session.scalar(select(CatalogInfo.value).where(CatalogInfo.key == REVISION_KEY))


def catalog_index() -> CatalogIndex:
    """Every listed trial's engine part (id, status, conditions, criteria), indexed by condition.

    Language-free and built once per process until the catalog changes, so a request costs one
    primary-key lookup. The texts a page shows are loaded only for the trials on that page
    (see `localise_outcomes`).
    """
    revision = catalog_revision()
    cached = current_app.extensions.get("catalog_index")
    if cached is None or cached[0] != revision:
        if cached is not None:
            gc.unfreeze()
        cached = (revision, _build_index())
        current_app.extensions["catalog_index"] = cached
        # Long-lived objects: keep the garbage collector from walking them on every collection.
        gc.collect()
        gc.freeze()
    return cached[1]


def _build_index() -> CatalogIndex:
    listed = Trial.archived.is_(False)
    trials = db.session.execute(
        select(Trial.id, Trial.registry_id, Trial.status, Trial.conditions)
        .where(listed).order_by(Trial.position, Trial.id)).all()
    criteria: dict[int, list[CoreCriterion]] = defaultdict(list)
    shared: dict[str, CoreCriterion] = {}
    rows = db.session.execute(
        select(Criterion.trial_id, Criterion.fact, Criterion.operator, Criterion.value)
        .join(Trial, Trial.id == Criterion.trial_id).where(listed)
        .order_by(Criterion.trial_id, Criterion.position))
    for trial_id, fact, operator, value in rows:
        # Identical rules (same fact, operator and value) share one object across trials.
        key = json.dumps([fact, operator, value], sort_keys=True)
        if key not in shared:
            shared[key] = CoreCriterion(fact=fact, operator=Operator(operator), value=value or {}, description="")
        criteria[trial_id].append(shared[key])
    # Trials with the same rules share one tuple too, so a screening assesses it once.
    rule_sets: dict[tuple[int, ...], tuple[CoreCriterion, ...]] = {}
    specs = []
    for trial_id, registry_id, status, conditions in trials:
        rules = tuple(criteria[trial_id])
        rules = rule_sets.setdefault(tuple(map(id, rules)), rules)
        specs.append(TrialSpec(registry_id, status, tuple(conditions or ()), rules))
    return CatalogIndex(specs)


CARDS_KEPT = 2000


def localise_outcomes(outcomes: list[TrialOutcome], lang: str) -> list[TrialOutcome]:
    """The same outcomes, carrying the card and criterion wording in `lang` for display.

    Cards are kept per process (the most recently shown ones, for the current catalog
    revision), so a busy results page does not read the same trials again and again.
    """
    wanted = {o.trial.registry_id for o in outcomes}
    if not wanted:
        return []
    revision = catalog_revision()
    cards: OrderedDict[tuple[str, str], Any] = current_app.extensions.setdefault("trial_cards", OrderedDict())
    if cards and next(iter(cards.values()))[0] != revision:
        cards.clear()
    missing = {rid for rid in wanted if (lang, rid) not in cards}
    if missing:
        rows = db.session.scalars(select(Trial).options(selectinload(Trial.criteria))
                                  .where(Trial.registry_id.in_(missing)))
        for trial in rows:
            cards[(lang, trial.registry_id)] = (revision, _card_and_criteria(trial, lang))
    shown = {}
    for rid in wanted:
        cards.move_to_end((lang, rid))
        shown[rid] = cards[(lang, rid)][1]
    while len(cards) > CARDS_KEPT:
        cards.popitem(last=False)
    localised_outcomes = []
    for outcome in outcomes:
        card, criteria = shown[outcome.trial.registry_id]
        results = tuple(CriterionResult(criterion, result.outcome, result.unknown_because)
                        for criterion, result in zip(criteria, outcome.assessment.results, strict=False))
        trial = replace(outcome.trial, payload=card, criteria=criteria)
        localised_outcomes.append(TrialOutcome(trial, Assessment(outcome.assessment.verdict, results)))
    return localised_outcomes


def _card_and_criteria(trial: Trial, lang: str) -> tuple[TrialCard, tuple[CoreCriterion, ...]]:
    texts, card_fallback = localised(trial.texts, lang)
    untranslated = card_fallback
    fit = isolate_latin if lang in RIGHT_TO_LEFT else _same
    criteria = []
    for row in trial.criteria:
        words, fallback = localised(row.texts, lang)
        untranslated = untranslated or fallback
        if_not_met = words.get("if_not_met")
        criteria.append(CoreCriterion(
            fact=row.fact, operator=Operator(row.operator), value=row.value or {},
            description=fit(words.get("description", "")),
            if_not_met=fit(if_not_met) if if_not_met else None,
        ))
    card = TrialCard(
        registry_id=trial.registry_id, registry_url=trial.registry_url,
        acronym=trial.acronym, official_title=trial.official_title, sponsor=trial.sponsor,
        status=trial.status, status_verified=trial.status_verified,
        registry_updated=trial.registry_updated, site=trial.site,
        site_city=trial.site_city, contacts=trial.contacts or [], sources=trial.sources or [],
        facts_checked=trial.facts_checked, title=fit(texts.get("title", trial.official_title)),
        summary=fit(texts.get("summary", "")),
        involves=fit(texts["involves"]) if texts.get("involves") else None,
        unreviewed=unreviewed_text(texts),
        text_lang=DEFAULT_LANGUAGE if card_fallback else lang,
        untranslated=untranslated,
    )
    return card, tuple(criteria)


@dataclass(frozen=True)
class PageView:
    slug: str
    title: str
    summary: str
    body: str
    sources: list[dict[str, Any]]
    conditions: list[str]
    untranslated: bool
    unreviewed: bool
    text_lang: str


def _same(text: str) -> str:
    return text


def _page_view(page: EducationPage, lang: str) -> PageView:
    texts, untranslated = localised(page.texts, lang)
    fit = isolate_latin if lang in RIGHT_TO_LEFT and not untranslated else _same
    return PageView(page.slug, fit(texts.get("title", page.slug)), fit(texts.get("summary", "")),
                    texts.get("body", ""), page.sources or [], page.conditions or [], untranslated,
                    unreviewed_text(texts),
                    DEFAULT_LANGUAGE if untranslated else lang)


def education_pages(lang: str) -> list[PageView]:
    """Every education page in `lang`, kept per process until the catalog revision changes.

    Each results page lists the pages that fit; reading every page's texts in every language
    from the database on each request would be the heaviest part of a small catalog's page.
    """
    revision = catalog_revision()
    cache = current_app.extensions.setdefault("education_pages", {})
    cached = cache.get(lang)
    if cached is None or cached[0] != revision:
        pages = db.session.scalars(select(EducationPage).order_by(EducationPage.position, EducationPage.id))
        cached = cache[lang] = (revision, [_page_view(p, lang) for p in pages])
    return cached[1]


def education_page(slug: str, lang: str) -> PageView | None:
    page = db.session.scalar(select(EducationPage).where(EducationPage.slug == slug))
    return _page_view(page, lang) if page else None


def pages_for_answers(answers: Answers, lang: str) -> list[PageView]:
    """The pages that fit the answers: those about a condition the person chose first, then
    the pages for everyone."""
    chosen = set(chosen_conditions(answers))
    fitting = [p for p in education_pages(lang) if relates_to(p.conditions, answers)]
    specific = [p for p in fitting if chosen.intersection(p.conditions)]
    return specific + [p for p in fitting if not chosen.intersection(p.conditions)]
