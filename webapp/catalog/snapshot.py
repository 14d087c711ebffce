"""The catalog as patient pages read it: the question bank, the index, texts per language.

Everything language-free (the bank, the index of listed trials) is built once per process for
each catalog revision; texts are read for the language and items a page shows, and kept per
process until the revision changes. A request costs one primary-key lookup of the revision.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import selectinload

from ..bidi import isolate_latin
from ..core.engine import Assessment, CriterionResult, InvalidCriterion, Operator
from ..core.engine import Criterion as CoreCriterion
from ..core.facts import FactSpec
from ..core.questions import Bank
from ..core.places import Site, SiteColumns, sites_from
from ..core.screening import ANY_CONDITION, CatalogIndex, TrialOutcome, TrialSpec, frozen, relates_to, with_line_rules
from ..extensions import db
from ..languages import RIGHT_TO_LEFT
from .bank import answers_by_fact, bank_from
from .models import Criterion, EducationPage, Trial
from .service import DEFAULT_LANGUAGE, catalog_revision, database_bank, localised, unreviewed_text
from .sites import stored_records, zip_point


def _same(text: str) -> str:
    return text


def _fit(lang: str):  # type: ignore[no-untyped-def]
    """Keeps Latin names whole in right-to-left text (see bidi.py)."""
    return isolate_latin if lang in RIGHT_TO_LEFT else _same


# --- texts of the bank --------------------------------------------------------------------------

@dataclass(frozen=True)
class OptionText:
    label: str
    hint: str | None = None


@dataclass(frozen=True)
class QuestionText:
    """A question's words in one language (English where a translation is missing)."""

    text: str
    short_label: str
    hint: str | None
    options: dict[str, OptionText]
    messages: dict[str, str]
    untranslated: bool
    unreviewed: bool
    text_lang: str


@dataclass(frozen=True)
class ConditionText:
    id: str
    label: str
    in_sentence: str | None
    search_term: str | None


def _question_text(entry: dict[str, Any], conditions: dict[str, dict[str, Any]], lang: str) -> QuestionText:
    words, fallback = localised(entry["texts"], lang)
    english = entry["texts"].get(DEFAULT_LANGUAGE, {})
    fit = _fit(lang) if not fallback else _same
    options: dict[str, OptionText] = {}
    untranslated = fallback
    if entry["kind"] == "conditions":
        for key, condition in conditions.items():
            label, missing = localised(condition["texts"], lang)
            untranslated = untranslated or missing
            options[key] = OptionText(fit(label.get("label", key)),
                                      fit(label["hint"]) if label.get("hint") else None)
    for value, option in (english.get("options") or {}).items():
        translated = (words.get("options") or {}).get(value)
        untranslated = untranslated or translated is None
        chosen = translated or option
        options[value] = OptionText(fit(chosen.get("label", value)), fit(chosen["hint"]) if chosen.get("hint") else None)
    return QuestionText(
        text=fit(words.get("text") or english.get("text", entry["id"])),
        short_label=fit(words.get("short_label") or english.get("short_label") or english.get("text", entry["id"])),
        hint=fit(words["hint"]) if words.get("hint") else None,
        options=options, messages={**(english.get("messages") or {}), **(words.get("messages") or {})}
        if fallback else dict(words.get("messages") or {}),
        untranslated=untranslated, unreviewed=unreviewed_text(words),
        text_lang=DEFAULT_LANGUAGE if fallback else lang,
    )


# --- trial cards ----------------------------------------------------------------------------------

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
    locations: list[dict[str, Any]] = field(default_factory=list)
    # Its located sites (numbered by their place in `locations`), for its nearest site.
    sites: tuple[Site, ...] = ()


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


# --- the snapshot -----------------------------------------------------------------------------------

def criterion_for(fact: str | None, operator: str, value: dict[str, Any], specs: dict[str, FactSpec],
                  description: str = "", if_not_met: str | None = None) -> CoreCriterion:
    """A stored criterion as the engine reads it. One the bank can no longer read (its fact was
    retired, say) becomes "the study team will check": knowing less never improves a verdict."""
    try:
        return CoreCriterion(fact=fact, operator=Operator(operator), value=value or {},
                             description=description, if_not_met=if_not_met,
                             spec=specs.get(fact) if fact else None)
    except (InvalidCriterion, ValueError):
        return CoreCriterion(fact=None, operator=Operator.STUDY_TEAM_CHECKS, value={},
                             description=description, if_not_met=if_not_met)


def showable_conditions(conditions: list[str] | None, known: set[str]) -> list[str]:
    """The trial's conditions the catalog knows ("any" counts), which let it be listed."""
    return [c for c in conditions or [] if c in known or c == ANY_CONDITION]


class Snapshot:
    """The catalog at one revision, language-free; texts are added per language on demand."""

    def __init__(self, revision: str | None):
        self.revision = revision
        self.entries = database_bank(include_retired=False)
        self.bank: Bank = bank_from(self.entries)
        self.conditions = {c["id"]: c for c in self.entries["conditions"]}
        self.questions = {q["id"]: q for q in self.entries["questions"]}
        self.index = self._build_index()
        self._question_texts: dict[str, dict[str, QuestionText]] = {}
        self._condition_texts: dict[str, list[ConditionText]] = {}

    def _build_index(self) -> CatalogIndex:
        listed = Trial.archived.is_(False)
        specs = self.bank.facts
        criteria: dict[int, tuple[CoreCriterion, ...]] = {}
        shared: dict[Any, CoreCriterion] = {}
        # Rows are streamed: at registry scale neither the rows nor their locations are held.
        # The value as stored text: most rules repeat across studies, so each distinct text is
        # parsed (and made a rule) once.
        raw_value = cast(Criterion.value, Text)
        # Core, not the ORM session: these are plain rows, and the ORM's row handling would
        # double the time of reading 600,000 of them.
        connection = db.session.connection()
        rows = connection.execute(
            select(Criterion.trial_id, Criterion.fact, Criterion.operator, raw_value)
            .join(Trial, Trial.id == Criterion.trial_id).where(listed)
            .order_by(Criterion.trial_id, Criterion.position).execution_options(yield_per=5000))
        # Each distinct rule gets a small number, so a trial's rules are first a tuple of small
        # ints (no new object per trial while reading).
        by_text: dict[tuple[Any, ...], int] = {}
        numbered: list[CoreCriterion] = []
        number_of: dict[int, int] = {}
        # Trials with the same rules share one tuple, so a screening assesses it once (and the
        # rules of 100,000 trials take a few megabytes, not a list each).
        rule_sets: dict[tuple[int, ...], tuple[CoreCriterion, ...]] = {}

        def rule_set(numbers: tuple[int, ...]) -> tuple[CoreCriterion, ...]:
            found = rule_sets.get(numbers)
            if found is None:
                found = rule_sets[numbers] = tuple(numbered[n] for n in numbers)
            return found

        current: list[int] = []
        current_id = None
        for trial_id, fact, operator, text in rows:
            if trial_id != current_id:
                if current:
                    criteria[current_id] = rule_set(tuple(current))
                current, current_id = [], trial_id
            number = by_text.get((fact, operator, text))
            if number is None:
                value = json.loads(text) if text else {}
                # Identical rules (same fact, operator and value) share one object across trials.
                key = (fact, operator, frozen(value))
                found = shared.get(key)
                if found is None:
                    found = shared[key] = criterion_for(fact, operator, value, specs)
                number = number_of.setdefault(id(found), len(numbered))
                if number == len(numbered):
                    numbered.append(found)
                by_text[(fact, operator, text)] = number
            current.append(number)
        if current:
            criteria[current_id] = rule_set(tuple(current))
        del rule_sets, by_text
        known = set(self.bank.conditions)
        sites = SiteColumns()

        def listed_trials() -> Iterator[TrialSpec]:
            """The listed trials, made one at a time as the index takes them (no list of them
            is held while the index is built), each trial's sites added to `sites` alongside."""
            tag_sets: dict[tuple[str, ...], tuple[str, ...]] = {}
            statuses: dict[str, str] = {}
            # Each trial's sites as stored packed (sites.py); the few without them, or with
            # stale ones, are worked out from their locations after this pass.
            missing: dict[int, int] = {}
            with_lines: dict[tuple[int, bool, bool], tuple[tuple[CoreCriterion, ...], tuple[CoreCriterion, ...]]] = {}
            trials = connection.execute(
                select(Trial.id, Trial.registry_id, Trial.status, Trial.conditions, Trial.untriaged_lines,
                       Trial.team_lines, Trial.site_points)
                .where(listed).order_by(Trial.position, Trial.id).execution_options(yield_per=2000))
            for trial_id, registry_id, status, conditions, untriaged, team_lines, points in trials:
                tags = tuple(showable_conditions(conditions, known))
                if not tags:
                    continue  # no condition the catalog knows: it cannot be shown (staff are told why)
                tags = tag_sets.setdefault(tags, tags)
                base = criteria.pop(trial_id, ())
                # Trials with the same rules share one tuple, so a screening assesses it once.
                lines = (id(base), bool(team_lines), bool(untriaged))
                found = with_lines.get(lines)
                if found is None:  # (the base is kept with it, so its id is not reused meanwhile)
                    found = with_lines[lines] = (base, with_line_rules(base, untriaged or 0, team_lines or 0))
                records = stored_records(points)
                if records is None:
                    missing[trial_id] = len(sites)
                    records = b""
                sites.add_packed(records)
                # (One string per status, not one per trial.)
                yield TrialSpec(registry_id, statuses.setdefault(status, status), tags, found[1])
            missing_ids = list(missing)
            for start in range(0, len(missing_ids), 1000):
                batch = missing_ids[start:start + 1000]
                for trial_id, status, locations in connection.execute(
                        select(Trial.id, Trial.status, Trial.locations).where(Trial.id.in_(batch))):
                    sites.put(missing[trial_id], sites_from(locations, status, zip_point))

        index = CatalogIndex(listed_trials(), answers_by_fact(self.bank), sites=sites)
        del criteria
        return index

    def question_texts(self, lang: str) -> dict[str, QuestionText]:
        found = self._question_texts.get(lang)
        if found is None:
            found = self._question_texts[lang] = {
                key: _question_text(entry, self.conditions, lang) for key, entry in self.questions.items()}
        return found

    def condition_texts(self, lang: str) -> list[ConditionText]:
        found = self._condition_texts.get(lang)
        if found is None:
            found = []
            for key, entry in self.conditions.items():
                words, _ = localised(entry["texts"], lang)
                english = entry["texts"].get(DEFAULT_LANGUAGE, {})
                found.append(ConditionText(key, words.get("label") or english.get("label", key),
                                           words.get("in_sentence") or english.get("in_sentence"),
                                           entry.get("search_term")))
            self._condition_texts[lang] = found
        return found




def snapshot() -> Snapshot:
    """This process's snapshot of the catalog, rebuilt when the catalog revision changes.

    The revision is read in a background thread every CATALOG_REVISION_SECONDS, which also
    rebuilds the snapshot when it changed, so no request waits for the database or for a
    rebuild (CATALOG_BACKGROUND_REFRESH; without it, a request reads the revision at most once
    per interval). A change this process commits is read at once (`service.bump_revision`).
    When the database cannot be reached, the snapshot this process already has is used, so a
    person can go on answering questions; a process that never read the catalog cannot.
    """
    app = current_app
    extensions = app.extensions
    cached: Snapshot | None = extensions.get("catalog_snapshot")
    if cached is None or "catalog_revision_read" not in extensions:
        return _read_now(cached)
    if app.config["CATALOG_BACKGROUND_REFRESH"]:
        _keep_refreshing(app._get_current_object())  # type: ignore[attr-defined]
        return cached
    if time.monotonic() - extensions["catalog_revision_read"] < app.config["CATALOG_REVISION_SECONDS"]:
        return cached
    return _read_now(cached)


def _read_now(cached: Snapshot | None, quiet: bool = False) -> Snapshot:
    extensions = current_app.extensions
    try:
        revision = catalog_revision()
    except (DBAPIError, PoolTimeout):
        db.session.rollback()
        if cached is None:
            raise
        # Try again after the usual interval, not on every request.
        extensions["catalog_revision_read"] = time.monotonic()
        if not quiet:
            current_app.logger.warning("database unavailable: using this process's catalog snapshot")
        return cached
    if cached is None or cached.revision != revision:
        fresh = Snapshot(revision)
        if cached is not None:
            gc.unfreeze()
        extensions["catalog_snapshot"] = cached = fresh
        # Long-lived objects: keep the garbage collector from walking them on every collection.
        gc.collect()
        gc.freeze()
        _return_freed_memory()
    extensions["catalog_revision_read"] = time.monotonic()
    return cached


def _return_freed_memory() -> None:
    """Hand the memory a build used and freed back to the system (glibc keeps it otherwise:
    about 15 MB per worker at 100,000 trials). Elsewhere this does nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


_REFRESHERS_LOCK = threading.Lock()


def _keep_refreshing(app: Any) -> None:
    """Start this process's refresher thread for `app` if it is not running (one per process:
    a forked worker starts its own)."""
    running = app.extensions.get("catalog_refresher")
    if running is not None and running[0] == os.getpid():
        return
    with _REFRESHERS_LOCK:
        running = app.extensions.get("catalog_refresher")
        if running is not None and running[0] == os.getpid():
            return
        thread = threading.Thread(target=_refresh, args=(weakref.ref(app), app.config["CATALOG_REVISION_SECONDS"]),
                                  name="catalog-refresh", daemon=True)
        app.extensions["catalog_refresher"] = (os.getpid(), thread)
        thread.start()


def _refresh(app_ref: Any, interval: float) -> None:
    while True:
        time.sleep(interval)
        app = app_ref()
        if app is None or not app.config["CATALOG_BACKGROUND_REFRESH"]:
            return  # the app is gone, or was told to stop (tests make many)
        try:
            with app.app_context():
                try:
                    # While the database is out of reach this keeps the snapshot and says nothing:
                    # the pages that need the database log the outage.
                    _read_now(app.extensions.get("catalog_snapshot"), quiet=True)
                    # Other work that must not keep a patient waiting (sharing's verdict counts).
                    for task in app.extensions.get("background_tasks", ()):
                        task()
                finally:
                    db.session.remove()
        except Exception as error:  # noqa: BLE001 - the thread must outlive any one failure
            app.logger.warning("catalog refresh failed", extra={"fields": {"error": type(error).__name__}})
        del app


def warm_up(app: Any) -> None:
    """Build what a worker's first patient request would otherwise wait for: the place tables
    (ZIP codes and world places, about 1 s) and this process's catalog snapshot with its index.
    gunicorn calls it in each worker before it serves (`webapp.gunicorn_conf`)."""
    from ..geo import place_table, zip_table

    started = time.monotonic()
    zip_table()
    place_table()
    fields: dict[str, Any] = {"pid": os.getpid()}
    with app.app_context():
        try:
            fields["studies"] = len(snapshot().index.trials)
        except (DBAPIError, PoolTimeout):
            app.logger.warning("database unavailable at start: the catalog is read on the first request")
        finally:
            db.session.remove()
    # One line per worker, so operators (and the tests) can tell when every worker serves.
    fields["seconds"] = round(time.monotonic() - started, 2)
    app.logger.info("ready to serve", extra={"fields": fields})


def catalog_index() -> CatalogIndex:
    return snapshot().index


def question_bank() -> Bank:
    return snapshot().bank


# --- trials and pages in the reader's language ----------------------------------------------------

CARDS_KEPT = 2000


def localise_outcomes(outcomes: list[TrialOutcome], lang: str) -> list[TrialOutcome]:
    """The same outcomes, carrying the card and criterion wording in `lang` for display.

    Cards are kept per process (the most recently shown ones, for the current catalog
    revision), so a busy results page does not read the same trials again and again.
    """
    wanted = {o.trial.registry_id for o in outcomes}
    if not wanted:
        return []
    current = snapshot()
    cards: OrderedDict[tuple[str, str], Any] = current_app.extensions.setdefault("trial_cards", OrderedDict())
    if cards and next(iter(cards.values()))[0] != current.revision:
        cards.clear()
    missing = {rid for rid in wanted if (lang, rid) not in cards}
    if missing:
        rows = db.session.scalars(select(Trial).options(selectinload(Trial.criteria))
                                  .where(Trial.registry_id.in_(missing)))
        for trial in rows:
            cards[(lang, trial.registry_id)] = (current.revision, _card_and_criteria(trial, lang, current.bank))
    shown = {}
    for rid in wanted:
        cards.move_to_end((lang, rid))
        shown[rid] = cards[(lang, rid)][1]
    while len(cards) > CARDS_KEPT:
        cards.popitem(last=False)
    localised_outcomes = []
    for outcome in outcomes:
        card, criteria = shown[outcome.trial.registry_id]
        # The rules for registry lines (left to the team, not gone through) come last.
        criteria = criteria + outcome.trial.criteria[len(criteria):]
        results = tuple(CriterionResult(criterion, result.outcome, result.unknown_because)
                        for criterion, result in zip(criteria, outcome.assessment.results, strict=False))
        trial = replace(outcome.trial, payload=card, criteria=criteria)
        localised_outcomes.append(TrialOutcome(trial, Assessment(outcome.assessment.verdict, results)))
    return localised_outcomes


def _card_and_criteria(trial: Trial, lang: str, bank: Bank) -> tuple[TrialCard, tuple[CoreCriterion, ...]]:
    texts, card_fallback = localised(trial.texts, lang)
    untranslated = card_fallback
    fit = _fit(lang)
    criteria = []
    for row in trial.criteria:
        words, fallback = localised(row.texts, lang)
        untranslated = untranslated or fallback
        if_not_met = words.get("if_not_met")
        criteria.append(criterion_for(row.fact, row.operator, row.value, bank.facts,
                                      description=fit(words.get("description", "")),
                                      if_not_met=fit(if_not_met) if if_not_met else None))
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
        untranslated=untranslated, locations=trial.locations or [],
        sites=sites_from(trial.locations, trial.status, zip_point),
    )
    return card, tuple(criteria)


def _page_view(page: EducationPage, lang: str) -> PageView:
    texts, untranslated = localised(page.texts, lang)
    fit = _fit(lang) if not untranslated else _same
    return PageView(page.slug, fit(texts.get("title", page.slug)), fit(texts.get("summary", "")),
                    texts.get("body", ""), page.sources or [], page.conditions or [], untranslated,
                    unreviewed_text(texts),
                    DEFAULT_LANGUAGE if untranslated else lang)


def education_pages(lang: str) -> list[PageView]:
    """Every education page in `lang`, kept per process until the catalog revision changes.

    Each results page lists the pages that fit; reading every page's texts in every language
    from the database on each request would be the heaviest part of a small catalog's page.
    """
    revision = snapshot().revision
    cache = current_app.extensions.setdefault("education_pages", {})
    cached = cache.get(lang)
    if cached is None or cached[0] != revision:
        pages = db.session.scalars(select(EducationPage).order_by(EducationPage.position, EducationPage.id))
        cached = cache[lang] = (revision, [_page_view(p, lang) for p in pages])
    return cached[1]


def education_page(slug: str, lang: str) -> PageView | None:
    page = db.session.scalar(select(EducationPage).where(EducationPage.slug == slug))
    return _page_view(page, lang) if page else None


def pages_for_conditions(chosen: list[str], lang: str) -> list[PageView]:
    """The pages that fit the chosen conditions: those about one of them first, then the pages
    for everyone."""
    fitting = [p for p in education_pages(lang) if relates_to(p.conditions, chosen)]
    specific = [p for p in fitting if not set(chosen).isdisjoint(p.conditions)]
    return specific + [p for p in fitting if set(chosen).isdisjoint(p.conditions)]
