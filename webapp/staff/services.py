"""Staff changes to the catalog, links and accounts: each checks for edit conflicts,
writes an audit event and commits in one place."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from ..catalog import importing
from ..catalog.bank import fact_answers
from ..catalog.importing import ConditionCatalog, cannot_show
from ..catalog.models import Criterion, EducationPage, Trial
from ..catalog.schema import LINE_STATES
from ..catalog.limits import text_problem
from ..catalog.schema import CatalogError, validate_catalog
from ..catalog.service import (BANK, LoadReport, apply_bank_entry, bank_entry, bump_revision, count_untriaged_lines,
                               criterion_record, database_bank, load_catalog, parse_catalog, retry_when_stale)
from ..core.eligibility_text import split_lines
from ..core.engine import InvalidCriterion, Operator, validate_criterion
from ..core.questions import Bank
from ..core.typed import decimal_number
from ..extensions import db
from ..links import UNSAFE_LINK_MESSAGE, is_safe_link
from ..sharing.models import ShareLink
from ..sharing.service import new_code
from .auth import check_new_password, end_sessions_of, find_staff
from .models import AuditEvent, StaffUser


T = TypeVar("T")


class EditConflict(Exception):
    """Someone saved this item after the editor opened it. `changes`: field -> value now."""

    def __init__(self, changes: dict[str, Any], current_version: int, current_snapshot: dict[str, Any]):
        super().__init__("edit conflict")
        self.changes = changes
        self.current_version = current_version
        self.current_snapshot = current_snapshot


class InvalidInput(ValueError):
    pass


def audit(actor: StaffUser, action: str, target: str, summary: str, details: dict[str, Any] | None = None) -> None:
    db.session.add(AuditEvent(staff_id=actor.id, staff_email=actor.email, action=action,
                              target=target, summary=summary, details=details or {}))


SAVED_AT_THE_SAME_MOMENT = {"(saved at the same moment)": "reload the page to see what was saved"}


def _saving(function: Callable[..., T]) -> Callable[..., T]:
    """Make a save end in "saved" or an edit conflict, even when another save of the same row
    lands between our read and our write: `retry_when_stale` runs it again on fresh rows, where
    its version check raises the ordinary conflict (the view keeps what the person typed). Two
    saves creating the same new item at once collide on a unique key, and get a conflict too.
    """
    retried = retry_when_stale(function)

    @wraps(function)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return retried(*args, **kwargs)
        except (StaleDataError, IntegrityError):
            db.session.rollback()
            raise EditConflict(SAVED_AT_THE_SAME_MOMENT, -1, {}) from None
        except ObjectDeletedError:
            db.session.rollback()
            raise EditConflict({"(removed at the same moment)": "reload the page"}, -1, {}) from None

    return run


def _commit() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


# --- trials ----------------------------------------------------------------------------------

TRIAL_EDIT_FIELDS = ("registry_id", "registry_url", "acronym", "official_title", "sponsor", "phase",
                     "status", "status_verified", "site", "site_city", "conditions", "contacts",
                     "sources", "facts_checked", "archived")


def trial_snapshot(trial: Trial) -> dict[str, Any]:
    return json.loads(json.dumps({
        **{key: getattr(trial, key) for key in TRIAL_EDIT_FIELDS},
        "texts": trial.texts,
        "criteria": [criterion_record(c) for c in trial.criteria],
    }, sort_keys=True))


def _check_version(item: Trial | EducationPage, expected: str | int | None, loaded: str | None,
                   snapshot: Any) -> None:
    text = str(expected or "0")
    expected_version = int(text) if text.isascii() and text.isdigit() and len(text) < 12 else 0
    if item.id is None or expected_version == item.version:
        return
    current = snapshot(item)
    # The hidden copy of what the form was loaded with: only ever read to show what changed,
    # so anything tampered with (not JSON, not an object, nested absurdly deep) counts as empty.
    try:
        before = json.loads(loaded or "{}") if len(loaded or "") <= 2_000_000 else {}
    except (ValueError, RecursionError):
        before = {}
    if not isinstance(before, dict):
        before = {}
    changes = {key: value for key, value in current.items() if before.get(key) != value}
    raise EditConflict(changes, item.version, current)


FIELD_NAMES = {"registry_id": "Registry number", "registry_url": "Registry address", "acronym": "Acronym",
               "official_title": "Official title", "sponsor": "Sponsor", "phase": "Phase", "site": "Site",
               "site_city": "City", "slug": "Address name"}


def _check_fields(data: Mapping[str, Any]) -> None:
    """The same limits as catalog files and registry records, so SQLite and PostgreSQL store
    the same things; addresses only ever web pages or e-mail."""
    for key, value in data.items():
        if isinstance(value, str):
            problem = text_problem(key, value)
            if problem:
                raise InvalidInput(f"{FIELD_NAMES.get(key, key)} {problem}.")
    if data.get("registry_url") and not is_safe_link(data["registry_url"]):
        raise InvalidInput(f"Registry address {UNSAFE_LINK_MESSAGE}.")
    for source in data.get("sources") or []:
        if source.get("url") and not is_safe_link(source["url"]):
            raise InvalidInput(f"The source “{source.get('label')}”: its address {UNSAFE_LINK_MESSAGE}.")
        for key in ("label", "url"):
            problem = text_problem(key, source.get(key) or "")
            if problem:
                raise InvalidInput(f"The source “{(source.get('label') or '')[:60]}”: its {key} {problem}.")
    for contact in data.get("contacts") or []:
        for key in ("name", "phone", "email"):
            problem = text_problem(key, contact.get(key) or "")
            if problem:
                raise InvalidInput(f"A contact's {key} {problem}.")


def keep_source_translations(edited: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The staff form edits a source's English label and address; its translated labels stay
    with it while the English label is unchanged."""
    labels = {source.get("label"): source.get("labels") for source in stored if source.get("labels")}
    return [{**source, "labels": labels[source["label"]]} if source.get("label") in labels else source
            for source in edited]


def _touch(item: Any) -> None:
    """A trial, page, question, condition or fact staff changed: a catalog load keeps it, a
    save from a stale page is refused, and every process rebuilds its index."""
    item.staff_edited = True
    if item.id is not None:
        item.version += 1
    bump_revision()


@_saving
def save_trial(actor: StaffUser, trial: Trial | None, data: dict[str, Any],
               version: str | None, loaded: str | None) -> Trial:
    creating = trial is None
    _check_fields(data)
    if creating:
        if db.session.scalar(select(Trial.id).where(Trial.registry_id == data["registry_id"])):
            raise InvalidInput(f"A study with registry number {data['registry_id']} already exists.")
        last = db.session.scalar(select(func.max(Trial.position))) or 0
        trial = Trial(position=last + 1, texts={"en": {"title": data["official_title"],
                                                      "summary": data["official_title"],
                                                      "reviewed": False}})
        db.session.add(trial)
    else:
        _check_version(trial, version, loaded, trial_snapshot)
        clash = db.session.scalar(select(Trial.id).where(
            Trial.registry_id == data["registry_id"], Trial.id != trial.id))
        if clash:
            raise InvalidInput(f"Another study already has registry number {data['registry_id']}.")
    before = {} if creating else {k: getattr(trial, k) for k in TRIAL_EDIT_FIELDS}
    data = {**data, "sources": keep_source_translations(data["sources"], trial.sources or [])}
    for key in TRIAL_EDIT_FIELDS:
        setattr(trial, key, data[key])
    _touch(trial)
    changed = sorted(k for k in TRIAL_EDIT_FIELDS if before.get(k) != data[k]) if before else ["created"]
    audit(actor, "trial.create" if creating else "trial.edit", trial.registry_id,
          f"{'Created' if creating else 'Edited'} {trial.registry_id}: {', '.join(changed)}",
          {"fields": changed})
    _commit()
    return trial


@_saving
def set_trial_archived(actor: StaffUser, trial: Trial, archived: bool, version: str | None) -> None:
    _check_version(trial, version, None, trial_snapshot)
    if not archived:
        why = cannot_show(trial, set(ConditionCatalog.load().terms))
        if why:
            raise InvalidInput(f"{trial.registry_id} cannot be shown to patients. {why}")
    trial.archived = archived
    _touch(trial)
    audit(actor, "trial.archive" if archived else "trial.show", trial.registry_id,
          f"{'Archived' if archived else 'Showed'} {trial.registry_id}")
    _commit()


CRITERION_LISTS = ("met", "check", "edge")


def criterion_data(bank: Bank, form_data: Mapping[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
    """Turn the criterion form into (fact, operator, value) the bank's facts can produce.

    The fact decides the operator: a choice fact gives one_of (each answer meets it, is left to
    the study team, is right at the limit, or does not meet it), a number or a duration gives
    between (limits in a unit the fact accepts), no fact gives "the study team will check".
    """
    fact = (form_data.get("fact") or "").strip() or None
    if fact is None:
        return None, Operator.STUDY_TEAM_CHECKS.value, {}
    spec = bank.facts.get(fact)
    if spec is None:
        raise InvalidInput(f"This criterion cannot be used: there is no fact {fact!r} in the question bank.")
    answers = fact_answers(bank, fact)
    if spec.kind == "choice":
        value: dict[str, Any] = {key: [] for key in CRITERION_LISTS}
        for answer in answers:
            choice = form_data.get(f"answer-{answer}") or "not_met"
            if choice in CRITERION_LISTS:
                value[choice].append(answer)
            elif choice != "not_met":
                raise InvalidInput(f"This criterion cannot be used: {choice!r} is not a way an answer can count.")
        value = {key: items for key, items in value.items() if items}
        operator = Operator.ONE_OF.value
    elif spec.is_number:
        value = {}
        for key, name in (("min", "minimum"), ("max", "maximum"), ("check_min", "check_minimum"),
                          ("check_max", "check_maximum")):
            text = str(form_data.get(name) or "").strip()
            if text:
                number = decimal_number(text)
                if number is None:
                    raise InvalidInput(f"This criterion cannot be used: the {name.replace('_', ' ')} {text!r} "
                                       f"is not a number (write 6.5 or 6,5).")
                value[key] = int(number) if number.is_integer() else number
        unit = (form_data.get("unit") or "").strip() or None
        if unit is not None and unit != spec.unit:
            value["unit"] = unit
        # A checkbox left unticked is not sent at all: a limit without its tick is strict.
        for key, limit in (("min_inclusive", "min"), ("max_inclusive", "max")):
            if limit in value and not form_data.get(key):
                value[key] = False
        if not any(key in value for key in ("min", "max", "check_min", "check_max")):
            raise InvalidInput("This criterion cannot be used: give a minimum, a maximum or both.")
        operator = Operator.BETWEEN.value
    else:
        raise InvalidInput(f"This criterion cannot be used: the fact {fact} ({spec.kind}) is not read by criteria.")
    try:
        validate_criterion(spec, Operator(operator), value, fact=fact,
                           answers=answers if spec.kind == "choice" else None)
    except (InvalidCriterion, ValueError) as error:
        raise InvalidInput(f"This criterion cannot be used: {error}.") from None
    return fact, operator, value


@_saving
def save_criterion(actor: StaffUser, trial: Trial, criterion: Criterion | None, bank: Bank,
                   form_data: Mapping[str, Any], texts: dict[str, dict[str, str]], version: str | None,
                   line_key: str | None = None) -> None:
    """Save a criterion with its words in each language (`texts`: lang -> description and
    what to say when it is not met; English is required)."""
    # What was typed is checked first: a person sees their own mistakes before any conflict.
    fact, operator, value = criterion_data(bank, form_data)
    english = texts.get("en", {})
    if not (english.get("description") or "").strip():
        raise InvalidInput("Write the plain description in English.")
    _check_version(trial, version, None, trial_snapshot)
    cleaned = {lang: {k: v.strip() for k, v in words.items() if v and v.strip()}
               for lang, words in texts.items() if (words.get("description") or "").strip()}
    if criterion is None:
        criterion = Criterion(position=len(trial.criteria), line_key=line_key)
        trial.criteria.append(criterion)
    criterion.fact, criterion.operator, criterion.value = fact, operator, value
    criterion.texts = cleaned
    criterion.source = (form_data.get("source") or "").strip() or None
    count_untriaged_lines(trial)
    _touch(trial)
    audit(actor, "criterion.save", trial.registry_id,
          f"Saved criterion {criterion.position + 1} of {trial.registry_id}: {cleaned['en']['description']}",
          {"fact": fact, "operator": operator, "value": value, "line": criterion.line_key})
    _commit()


@_saving
def accept_suggestion(actor: StaffUser, trial: Trial, bank: Bank, line_key: str, fact: str,
                      version: str | None) -> Criterion:
    """Turn the suggestion the app makes for a registry line into a criterion, with plain
    wording in every language from the fact's template (not reviewed). The suggestion is
    worked out again here from the stored text: what the browser sent names it, never its value.
    Other lines that said the same stay as they are, for staff to mark (they may say more)."""
    from ..catalog.suggesting import suggestions_for_trial
    from ..catalog.wording import criterion_texts

    _check_version(trial, version, None, trial_snapshot)
    found = next((s for s in suggestions_for_trial(trial).get(line_key, []) if s.fact == fact), None)
    if found is None:
        raise InvalidInput("That suggestion is not there any more (the registry text or the study changed). Reload the page.")
    if found.fact not in bank.facts:
        raise InvalidInput(f"The question bank has no fact {found.fact!r} yet: add it (and a question that asks it) "
                           "in the question bank, then accept the suggestion.")
    spec = bank.facts[found.fact]
    try:
        validate_criterion(spec, Operator(found.operator), found.value, fact=found.fact,
                           answers=fact_answers(bank, found.fact) if spec.kind == "choice" else None)
    except (InvalidCriterion, ValueError) as error:
        raise InvalidInput(f"The suggestion does not fit the fact {found.fact!r} as the bank defines it ({error}). "
                           "Turn the line into a criterion by hand.") from None
    texts = criterion_texts(found.fact, found.value, ConditionCatalog.load().names)
    if texts is None:
        raise InvalidInput("There is no plain wording for this suggestion. Turn the line into a criterion by hand.")
    linked = {c.line_key for c in trial.criteria if c.line_key}
    if line_key in linked:
        raise InvalidInput("That line is already a criterion.")
    criterion = Criterion(position=len(trial.criteria), line_key=line_key, fact=found.fact,
                          operator=found.operator, value=found.value, texts=texts,
                          source=f"Registry text, {found.section}: {found.line}"[:2000])
    trial.criteria.append(criterion)
    # Other lines that say the same are left for staff: such a line may hold other rules too.
    count_untriaged_lines(trial)
    _touch(trial)
    audit(actor, "criterion.accept", trial.registry_id,
          f"Accepted the suggested criterion for {trial.registry_id}: {texts['en']['description']}",
          {"fact": found.fact, "operator": found.operator, "value": found.value, "line": line_key})
    _commit()
    return criterion


@_saving
def set_line_state(actor: StaffUser, trial: Trial, key: str, state: str | None, version: str | None) -> None:
    """Mark a registry line "the study team will check" or "not about the patient", or undo."""
    _check_version(trial, version, None, trial_snapshot)
    if key not in {line.key for line in split_lines(trial.eligibility_text)}:
        raise InvalidInput("That line is not in this study's registry text any more. Reload the page.")
    if state is not None and state not in LINE_STATES:
        raise InvalidInput(f"{state!r} is not a way to mark a line.")
    triage = dict(trial.line_triage or {})
    if state is None:
        triage.pop(key, None)
    else:
        triage[key] = state
    trial.line_triage = triage
    count_untriaged_lines(trial)
    _touch(trial)
    audit(actor, "line.triage", trial.registry_id,
          f"Marked a registry line of {trial.registry_id}: {state or 'not gone through'}", {"line": key, "state": state})
    _commit()


@_saving
def remove_criterion(actor: StaffUser, trial: Trial, criterion: Criterion, version: str | None) -> None:
    _check_version(trial, version, None, trial_snapshot)
    description = criterion.texts.get("en", {}).get("description", "")
    trial.criteria.remove(criterion)
    db.session.flush()
    _renumber(trial)
    count_untriaged_lines(trial)
    _touch(trial)
    audit(actor, "criterion.remove", trial.registry_id, f"Removed criterion from {trial.registry_id}: {description}")
    _commit()


@_saving
def move_criterion(actor: StaffUser, trial: Trial, criterion: Criterion, step: int, version: str | None) -> None:
    _check_version(trial, version, None, trial_snapshot)
    order = list(trial.criteria)
    index = order.index(criterion)
    target = max(0, min(len(order) - 1, index + step))
    order.insert(target, order.pop(index))
    _renumber(trial, order)
    _touch(trial)
    audit(actor, "criterion.move", trial.registry_id, f"Moved criterion {index + 1} to {target + 1} in {trial.registry_id}")
    _commit()


def _renumber(trial: Trial, order: list[Criterion] | None = None) -> None:
    order = order if order is not None else sorted(trial.criteria, key=lambda c: c.position)
    # Two passes, so the unique (trial, position) constraint never sees a duplicate.
    for index, criterion in enumerate(order):
        criterion.position = 1000 + index
    db.session.flush()
    for index, criterion in enumerate(order):
        criterion.position = index
    trial.criteria.sort(key=lambda c: c.position)


@_saving
def save_trial_texts(actor: StaffUser, trial: Trial, lang: str, data: dict[str, Any],
                     criteria_texts: list[dict[str, str]], version: str | None, loaded: str | None) -> None:
    _check_version(trial, version, loaded, trial_snapshot)
    texts = dict(trial.texts)
    entry = {"title": data["title"].strip(), "summary": data["summary"].strip(), "reviewed": bool(data["reviewed"])}
    if (data.get("involves") or "").strip():
        entry["involves"] = data["involves"].strip()
    texts[lang] = entry
    trial.texts = texts
    for criterion, words in zip(trial.criteria, criteria_texts):
        if words.get("description"):
            criterion_texts = dict(criterion.texts)
            criterion_texts[lang] = {k: v for k, v in words.items() if v}
            criterion.texts = criterion_texts
    _touch(trial)
    audit(actor, "trial.texts", trial.registry_id,
          f"Saved {lang} texts of {trial.registry_id} ({'reviewed' if entry['reviewed'] else 'not reviewed'})")
    _commit()


# --- the question bank (admins) ----------------------------------------------------------------

def bank_snapshot(part: str, row: Any) -> dict[str, Any]:
    return json.loads(json.dumps(bank_entry(part, row), sort_keys=True))


def _check_bank(part: str, row: Any, entry: dict[str, Any]) -> None:
    """The bank as it would be after this change must still make sense, and every criterion in
    the catalog must still be one the bank can read; otherwise nothing is saved."""
    bank = database_bank()
    entries = [e for e in bank[part] if e["id"] != (row.key if row is not None and row.id is not None else None)]
    position = next((i for i, e in enumerate(bank[part]) if row is not None and e["id"] == row.key), len(entries))
    entries.insert(position, entry)
    bank[part] = entries
    document = {"format": "trialcheck-catalog", "format_version": 2, "catalog_version": "check",
                **bank, "trials": [], "education_pages": []}
    try:
        validate_catalog(document)
    except CatalogError as error:
        raise InvalidInput(f"This cannot be saved: {error}.") from None


@_saving
def save_bank_entry(actor: StaffUser, part: str, row: Any | None, data: dict[str, Any],
                    version: str | None, loaded: str | None) -> Any:
    """Create or edit a question, condition or fact (its texts are saved per language)."""
    row = _stage_bank_entry(actor, part, row, data, version, loaded)
    _commit()
    return row


def form_number(text: str | None) -> float | None:
    """A number staff typed (a point or a comma), None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    number = decimal_number(text)
    if number is None:
        raise InvalidInput(f"{text!r} is not a number.")
    return int(number) if number.is_integer() else number


def parse_options(text: str | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Options written one per line, "value | English label | exclusive | unknown": the
    options, and their English labels."""
    options, english = [], {}
    for parts in _bar_lines(text):
        value, label = parts[0], (parts[1] if len(parts) > 1 else "")
        flags = {p.lower() for p in parts[2:]}
        options.append({"value": value, **({"exclusive": True} if "exclusive" in flags else {}),
                        **({"unknown": True} if "unknown" in flags else {})})
        if label:
            english[value] = label
    return options, english


def parse_skip_rules(text: str | None) -> list[dict[str, Any]]:
    """Skip rules one per line: "sex in male then no", "age_years below 10 then no",
    "language en then yes"."""
    skip: list[dict[str, Any]] = []
    for parts in _bar_lines(text):
        words = parts[0].split()
        try:
            if words[0] == "language":
                skip.append({"languages": words[1].split(","), "then": words[3]})
            elif words[1] == "in":
                skip.append({"fact": words[0], "values": words[2].split(","), "then": words[4]})
            elif words[1] in ("below", "above"):
                skip.append({"fact": words[0], words[1]: form_number(words[2]), "then": words[4]})
            else:
                raise IndexError
        except (IndexError, InvalidInput):
            raise InvalidInput(f"“{parts[0]}” is not a skip rule like “sex in male then no”.") from None
    return skip


def _bar_lines(text: str | None) -> list[list[str]]:
    return [[p.strip() for p in line.split("|")] for line in (text or "").splitlines() if line.strip()]


# The fact a new question yields, by the question's kind: (fact kind, unit, lab value).
FACT_FOR_KIND = {
    "one_choice": ("choice", None, False), "several_choices": ("choice", None, False),
    "whole_number": ("number", None, False), "decimal": ("number", None, False),
    "month_year": ("duration", "months", False), "hba1c": ("number", "%", True),
    "height_weight": ("number", "kg/m2", False),
}


@_saving
def save_question(actor: StaffUser, row: Any | None, data: dict[str, Any], version: str | None,
                  loaded: str | None, new_fact: str | None = None) -> Any:
    """Create or edit a question, and the new fact it yields if it names one: both or neither."""
    if new_fact and db.session.scalar(select(BANK["facts"].model.id).where(BANK["facts"].model.key == new_fact)) is None:
        kind, unit, lab = FACT_FOR_KIND.get(data["kind"], ("choice", None, False))
        label = (data.get("texts") or {}).get("en", {}).get("text") or new_fact
        _stage_bank_entry(actor, "facts", None, {"id": new_fact, "kind": kind, "unit": unit, "lab_value": lab,
                                                 "texts": {"en": {"label": label, "reviewed": False}}}, None, None)
        db.session.flush()
    row = _stage_bank_entry(actor, "questions", row, data, version, loaded)
    _commit()
    return row


def _stage_bank_entry(actor: StaffUser, part: str, row: Any | None, data: dict[str, Any],
                      version: str | None, loaded: str | None) -> Any:
    model = BANK[part].model
    creating = row is None
    if not creating:
        _check_version(row, version, loaded, lambda r: bank_snapshot(part, r))
    clash = db.session.scalar(select(model.id).where(model.key == data["id"]))
    if clash is not None and (creating or clash != row.id):
        raise InvalidInput(f"There is already a {part[:-1]} with the id {data['id']}.")
    entry = {**(bank_entry(part, row) if not creating else {"texts": {}}), **data}
    _check_bank(part, row, entry)
    if creating:
        row = model()
        if hasattr(model, "position"):
            row.position = (db.session.scalar(select(func.max(model.position))) or 0) + 1
        db.session.add(row)
    apply_bank_entry(part, row, {**entry, "edited": True}, None)
    bump_revision()
    audit(actor, f"{part[:-1]}.{'create' if creating else 'edit'}", row.key,
          f"{'Created' if creating else 'Edited'} {part[:-1]} {row.key}", {"fields": sorted(data)})
    return row


@_saving
def save_bank_texts(actor: StaffUser, part: str, row: Any, lang: str, words: dict[str, Any],
                    version: str | None, loaded: str | None) -> None:
    _check_version(row, version, loaded, lambda r: bank_snapshot(part, r))
    texts = {**(row.texts or {}), lang: words}
    entry = {**bank_entry(part, row), "texts": texts}
    _check_bank(part, row, entry)
    row.texts = texts
    _touch(row)
    audit(actor, f"{part[:-1]}.texts", row.key,
          f"Saved {lang} texts of {part[:-1]} {row.key} ({'reviewed' if words.get('reviewed') else 'not reviewed'})")
    _commit()


@_saving
def move_bank_entry(actor: StaffUser, part: str, row: Any, step: int, version: str | None) -> None:
    _check_version(row, version, None, lambda r: bank_snapshot(part, r))
    model = BANK[part].model
    rows = list(db.session.scalars(select(model).order_by(model.position, model.id)))
    index = rows.index(row)
    target = max(0, min(len(rows) - 1, index + step))
    rows.insert(target, rows.pop(index))
    moved = [bank_entry(part, r) for r in rows]
    bank = {**database_bank(), part: moved}
    try:
        validate_catalog({"format": "trialcheck-catalog", "format_version": 2, "catalog_version": "check",
                          **bank, "trials": [], "education_pages": []})
    except CatalogError as error:
        raise InvalidInput(f"This cannot be moved: {error}.") from None
    for position, item in enumerate(rows):
        item.position = position
    _touch(row)
    audit(actor, f"{part[:-1]}.move", row.key, f"Moved {part[:-1]} {row.key} to place {target + 1}")
    _commit()


@_saving
def set_bank_retired(actor: StaffUser, part: str, row: Any, retired: bool, version: str | None) -> None:
    """Retire (or bring back) a question, condition or fact. A criterion on a retired fact counts
    as "the study team will check": knowing less never improves a verdict."""
    _check_version(row, version, None, lambda r: bank_snapshot(part, r))
    _check_bank(part, row, {**bank_entry(part, row), "retired": retired})
    row.retired = retired
    _touch(row)
    audit(actor, f"{part[:-1]}.{'retire' if retired else 'restore'}", row.key,
          f"{'Retired' if retired else 'Brought back'} {part[:-1]} {row.key}")
    _commit()


# --- registry import -------------------------------------------------------------------------

def import_records(actor: StaffUser, named_texts: list[tuple[str, str | bytes]]) -> importing.BulkReport:
    """Import each record in its own transaction (with its audit entry); a bad record or file
    is named and refused, the rest are imported."""
    records, refused = importing.records_in(named_texts)

    def audited(result: importing.ImportResult) -> None:
        audit(actor, "trial.import", result.registry_id,
              f"{'Imported' if result.created else 'Re-imported'} {result.registry_id} from ClinicalTrials.gov",
              {"changed": result.changed})

    report = importing.import_each(records, after_each=audited)
    report.refused[:0] = refused
    return report


# --- education pages -------------------------------------------------------------------------

PAGE_EDIT_FIELDS = ("slug", "conditions", "trials", "sources")


def page_snapshot(page: EducationPage) -> dict[str, Any]:
    return json.loads(json.dumps({**{k: getattr(page, k) for k in PAGE_EDIT_FIELDS}, "texts": page.texts},
                                 sort_keys=True))


@_saving
def save_page(actor: StaffUser, page: EducationPage | None, data: dict[str, Any],
              version: str | None, loaded: str | None) -> EducationPage:
    creating = page is None
    _check_fields(data)
    clash = select(EducationPage.id).where(EducationPage.slug == data["slug"])
    if not creating:
        _check_version(page, version, loaded, page_snapshot)
        clash = clash.where(EducationPage.id != page.id)
    if db.session.scalar(clash):
        raise InvalidInput(f"Another page already uses the address name {data['slug']}.")
    if creating:
        last = db.session.scalar(select(func.max(EducationPage.position))) or 0
        page = EducationPage(position=last + 1, texts={})
        db.session.add(page)
    data = {**data, "sources": keep_source_translations(data["sources"], page.sources or [])}
    for key in PAGE_EDIT_FIELDS:
        setattr(page, key, data[key])
    _touch(page)
    audit(actor, "page.create" if creating else "page.edit", data["slug"],
          f"{'Created' if creating else 'Edited'} education page {data['slug']}")
    _commit()
    return page


@_saving
def save_page_texts(actor: StaffUser, page: EducationPage, lang: str, data: dict[str, Any],
                    version: str | None, loaded: str | None) -> None:
    _check_version(page, version, loaded, page_snapshot)
    texts = dict(page.texts)
    texts[lang] = {"title": data["title"].strip(), "summary": data["summary"].strip(),
                   "body": data["body"].strip(), "reviewed": bool(data["reviewed"])}
    page.texts = texts
    _touch(page)
    audit(actor, "page.texts", page.slug, f"Saved {lang} text of education page {page.slug}")
    _commit()


# --- share links -----------------------------------------------------------------------------

@_saving
def create_link(actor: StaffUser, label: str, language: str, trials: list[str]) -> ShareLink:
    link = ShareLink(code=new_code(), label=label.strip(), language=language, trials=trials,
                     active=True, created_by=actor.id)
    db.session.add(link)
    audit(actor, "link.create", link.code, f"Created share link {link.code} ({link.label})",
          {"language": language, "trials": trials})
    _commit()
    return link


@_saving
def set_link_active(actor: StaffUser, link: ShareLink, active: bool) -> None:
    link.active = active
    audit(actor, "link.on" if active else "link.off", link.code,
          f"Switched share link {link.code} {'on' if active else 'off'}")
    _commit()


# --- staff accounts --------------------------------------------------------------------------

@_saving
def create_staff(actor: StaffUser | None, email: str, role: str, password: str) -> StaffUser:
    check_new_password(password)
    if find_staff(email) is not None:
        raise InvalidInput(f"There is already an account for {email}.")
    user = StaffUser(email=email.strip().lower(), role=role, active=True, password_generation=0)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if actor is not None:
        audit(actor, "staff.create", user.email, f"Created {role} account {user.email}")
    _commit()
    return user


@_saving
def update_staff(actor: StaffUser | None, user: StaffUser, role: str | None = None,
                 active: bool | None = None, password: str | None = None) -> None:
    changes = []
    if role is not None and role != user.role:
        user.role, changes = role, changes + [f"role {role}"]
    if active is not None and active != user.active:
        user.active, changes = active, changes + ["can sign in" if active else "signed out and blocked"]
    if password:
        check_new_password(password)
        user.set_password(password)
        changes.append("password reset")
    if password or active is False:
        end_sessions_of(user)
    if actor is not None and changes:
        audit(actor, "staff.update", user.email, f"Changed {user.email}: {', '.join(changes)}")
    _commit()


# --- catalog files ---------------------------------------------------------------------------

@_saving
def load_catalog_file(actor: StaffUser, text: str | bytes, replace_edited: bool) -> LoadReport:
    document = parse_catalog(text)
    report = load_catalog(document, replace_edited=replace_edited)
    audit(actor, "catalog.load", document["catalog_version"], report.summary())
    _commit()
    return report
