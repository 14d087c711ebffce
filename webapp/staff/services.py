"""Staff changes to the catalog, links and accounts: each checks for edit conflicts,
writes an audit event and commits in one place."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from ..catalog import importing
from ..catalog.models import Criterion, EducationPage, Trial
from ..catalog.service import LoadReport, bump_revision, criterion_record, load_catalog, parse_catalog
from ..core.engine import InvalidCriterion, Operator, validate_criterion
from ..extensions import db
from ..sharing.models import ShareLink
from ..sharing.service import new_code
from .auth import check_new_password, find_staff
from .models import AuditEvent, StaffUser


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


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        # Another save landed between our read and our write.
        db.session.rollback()
        raise EditConflict({"(saved at the same moment)": "reload to see it"}, -1, {}) from None
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
    try:
        expected_version = int(expected or 0)
    except ValueError:
        expected_version = 0
    if item.id is None or expected_version == item.version:
        return
    current = snapshot(item)
    try:
        before = json.loads(loaded or "{}")
    except ValueError:
        before = {}
    changes = {key: value for key, value in current.items() if before.get(key) != value}
    raise EditConflict(changes, item.version, current)


def keep_source_translations(edited: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The staff form edits a source's English label and address; its translated labels stay
    with it while the English label is unchanged."""
    labels = {source.get("label"): source.get("labels") for source in stored if source.get("labels")}
    return [{**source, "labels": labels[source["label"]]} if source.get("label") in labels else source
            for source in edited]


def _touch(item: Trial | EducationPage) -> None:
    item.staff_edited = True
    if item.id is not None:
        item.version += 1
    bump_revision()


def save_trial(actor: StaffUser, trial: Trial | None, data: dict[str, Any],
               version: str | None, loaded: str | None) -> Trial:
    creating = trial is None
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


def set_trial_archived(actor: StaffUser, trial: Trial, archived: bool, version: str | None) -> None:
    _check_version(trial, version, None, trial_snapshot)
    trial.archived = archived
    _touch(trial)
    audit(actor, "trial.archive" if archived else "trial.show", trial.registry_id,
          f"{'Archived' if archived else 'Showed'} {trial.registry_id}")
    _commit()


def criterion_data(form_data: dict[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
    """Turn the criterion form into (fact, operator, value) and check the engine accepts it."""
    fact = form_data.get("fact") or None
    operator = form_data["operator"]
    if operator == Operator.ONE_OF.value:
        split = lambda text: [v.strip() for v in (text or "").split(",") if v.strip()]  # noqa: E731
        value: dict[str, Any] = {"met": split(form_data.get("met"))}
        if split(form_data.get("check")):
            value["check"] = split(form_data.get("check"))
    elif operator == Operator.BETWEEN.value:
        value = {key: form_data.get(field) for key, field in (
            ("min", "minimum"), ("max", "maximum"), ("check_min", "check_minimum"), ("check_max", "check_maximum"))
            if form_data.get(field) is not None}
    else:
        fact, value = None, {}
    try:
        validate_criterion(fact, Operator(operator), value)
    except (InvalidCriterion, ValueError) as error:
        raise InvalidInput(f"This criterion cannot be used: {error}.") from None
    return fact, operator, value


def save_criterion(actor: StaffUser, trial: Trial, criterion: Criterion | None,
                   form_data: dict[str, Any], version: str | None) -> None:
    _check_version(trial, version, None, trial_snapshot)
    fact, operator, value = criterion_data(form_data)
    texts = dict(criterion.texts) if criterion else {}
    english = {"description": form_data["description"].strip()}
    if (form_data.get("if_not_met") or "").strip():
        english["if_not_met"] = form_data["if_not_met"].strip()
    texts["en"] = english
    if criterion is None:
        criterion = Criterion(position=len(trial.criteria))
        trial.criteria.append(criterion)
    criterion.fact, criterion.operator, criterion.value = fact, operator, value
    criterion.texts = texts
    criterion.source = (form_data.get("source") or "").strip() or None
    _touch(trial)
    audit(actor, "criterion.save", trial.registry_id,
          f"Saved criterion {criterion.position + 1} of {trial.registry_id}: {english['description']}",
          {"fact": fact, "operator": operator, "value": value})
    _commit()


def remove_criterion(actor: StaffUser, trial: Trial, criterion: Criterion, version: str | None) -> None:
    _check_version(trial, version, None, trial_snapshot)
    description = criterion.texts.get("en", {}).get("description", "")
    trial.criteria.remove(criterion)
    db.session.flush()
    _renumber(trial)
    _touch(trial)
    audit(actor, "criterion.remove", trial.registry_id, f"Removed criterion from {trial.registry_id}: {description}")
    _commit()


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


# --- registry import -------------------------------------------------------------------------

def import_records(actor: StaffUser, texts: list[str | bytes]) -> list[importing.ImportResult]:
    """Check every record first; write all or nothing."""
    studies = [study for text in texts for study in importing.read_records(text)]
    results = importing.import_studies(studies)
    for result in results:
        audit(actor, "trial.import", result.registry_id,
              f"{'Imported' if result.created else 'Re-imported'} {result.registry_id} from ClinicalTrials.gov",
              {"changed": result.changed})
    _commit()
    return results


# --- education pages -------------------------------------------------------------------------

PAGE_EDIT_FIELDS = ("slug", "conditions", "trials", "sources")


def page_snapshot(page: EducationPage) -> dict[str, Any]:
    return json.loads(json.dumps({**{k: getattr(page, k) for k in PAGE_EDIT_FIELDS}, "texts": page.texts},
                                 sort_keys=True))


def save_page(actor: StaffUser, page: EducationPage | None, data: dict[str, Any],
              version: str | None, loaded: str | None) -> EducationPage:
    creating = page is None
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

def create_link(actor: StaffUser, label: str, language: str, trials: list[str]) -> ShareLink:
    link = ShareLink(code=new_code(), label=label.strip(), language=language, trials=trials,
                     active=True, created_by=actor.id)
    db.session.add(link)
    audit(actor, "link.create", link.code, f"Created share link {link.code} ({link.label})",
          {"language": language, "trials": trials})
    _commit()
    return link


def set_link_active(actor: StaffUser, link: ShareLink, active: bool) -> None:
    link.active = active
    audit(actor, "link.on" if active else "link.off", link.code,
          f"Switched share link {link.code} {'on' if active else 'off'}")
    _commit()


# --- staff accounts --------------------------------------------------------------------------

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
    if actor is not None and changes:
        audit(actor, "staff.update", user.email, f"Changed {user.email}: {', '.join(changes)}")
    _commit()


# --- catalog files ---------------------------------------------------------------------------

def load_catalog_file(actor: StaffUser, text: str | bytes, replace_edited: bool) -> LoadReport:
    document = parse_catalog(text)
    report = load_catalog(document, replace_edited=replace_edited)
    audit(actor, "catalog.load", document["catalog_version"], report.summary())
    _commit()
    return report
