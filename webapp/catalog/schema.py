"""Checks a catalog document (the bundled file or an export) before anything is written.

Every problem is reported with the path of the field it concerns, such as
"trials[1].criteria[0].value.min", so whoever edits the file can find it.

Format 2 carries the question bank (conditions, facts, questions) beside the trials and
education pages. A format-1 file (trials and pages only) is still read: `upgrade_document`
brings it to format 2, and its criteria are checked against the bank already in the database.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..core.engine import InvalidCriterion, Operator, validate_criterion
from ..core.facts import FACT_KINDS, time_since_diagnosis
from ..core.places import valid_point
from ..core.questions import CONDITIONS, NOT_SURE, Kind
from ..core.screening import ANY_CONDITION
from ..links import UNSAFE_LINK_MESSAGE, is_safe_link
from .bank import answers_by_fact, bank_from, condition_ids, fact_specs
from .limits import first_nul, text_problem

FORMAT = "trialcheck-catalog"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
REGISTRY_STATUSES = {
    "RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING",
    "COMPLETED", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
}
BANK_PARTS = ("conditions", "facts", "questions")
# Facts renamed by format 2 (the question bank): format-1 criteria are read under the new id.
RENAMED_FACTS = {"months_since_type1_diagnosis": (time_since_diagnosis("type1"), "months")}
_DATE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LANG = re.compile(r"^[a-z]{2}$")
_KEY = re.compile(r"^[a-z0-9_]+(:[a-z0-9_]+)?$")
# How staff marked a registry line: already a criterion (the registry's structured age or sex
# limit, say), the study team will check, or not about the patient (consent, say). A line turned
# into a new criterion is linked from that criterion instead.
LINE_STATES = ("criterion", "study_team", "not_about_patient")


class CatalogError(ValueError):
    pass


def _require(condition: bool, path: str, message: str) -> None:
    if not condition:
        raise CatalogError(f"{path}: {message}")


def _text(item: Mapping[str, Any], key: str, path: str, optional: bool = False, limit: str | None = None) -> None:
    value = item.get(key)
    if optional and value is None:
        return
    _require(isinstance(value, str) and value.strip() != "", f"{path}.{key}", "must be text")
    problem = text_problem(limit or key, value)
    _require(problem is None, f"{path}.{key}", problem or "")


def _sources(items: Any, path: str) -> None:
    _require(isinstance(items, list) and items, path, "must list at least one source")
    for i, source in enumerate(items):
        _require(isinstance(source, Mapping), f"{path}[{i}]", "must be an object")
        _text(source, "label", f"{path}[{i}]")
        _text(source, "url", f"{path}[{i}]", optional=True)
        _require(source.get("url") is None or is_safe_link(source["url"]), f"{path}[{i}].url", UNSAFE_LINK_MESSAGE)
        labels = source.get("labels", {})
        _require(isinstance(labels, Mapping), f"{path}[{i}].labels", "must map languages to labels")
        for lang in labels:
            _require(bool(_LANG.match(lang)), f"{path}[{i}].labels.{lang}", "is not a two-letter language code")
            _text(labels, lang, f"{path}[{i}].labels", limit="label")


def _locations(items: Any, path: str) -> None:
    _require(isinstance(items, list), path, "must be a list")
    for i, site in enumerate(items):
        _require(isinstance(site, Mapping), f"{path}[{i}]", "must be an object")
        for key in ("facility", "status", "city", "state", "zip", "country", "coordinates"):
            _text(site, key, f"{path}[{i}]", optional=True)
        if "lat" in site or "lon" in site:
            _require(valid_point(site.get("lat"), site.get("lon")), f"{path}[{i}]",
                     "lat and lon must be a latitude (-90 to 90) and a longitude (-180 to 180)")
        _contacts(site.get("contacts", []), f"{path}[{i}].contacts")


def _contacts(items: Any, path: str) -> None:
    _require(isinstance(items, list), path, "must be a list")
    for i, contact in enumerate(items):
        _require(isinstance(contact, Mapping), f"{path}[{i}]", "must be an object")
        for key in ("name", "role", "phone", "email"):
            _text(contact, key, f"{path}[{i}]", optional=True)


def _texts(texts: Any, path: str, fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    _require(isinstance(texts, Mapping) and "en" in texts, path, "needs English (en) texts")
    for lang, entry in texts.items():
        _require(bool(_LANG.match(lang)), f"{path}.{lang}", "is not a two-letter language code")
        _require(isinstance(entry, Mapping), f"{path}.{lang}", "must be an object")
        for key in fields:
            _text(entry, key, f"{path}.{lang}")
        for key in optional:
            _text(entry, key, f"{path}.{lang}", optional=True)
        if "reviewed" in entry:
            _require(isinstance(entry["reviewed"], bool), f"{path}.{lang}.reviewed", "must be true or false")


def _strings(items: Any, path: str) -> None:
    _require(isinstance(items, list) and all(isinstance(i, str) for i in items), path,
             "must be a list of text")


def _conditions(items: Any, path: str, known: set[str], allow_empty: bool = False) -> None:
    _require(isinstance(items, list) and (items or allow_empty), path,
             "must list at least one condition")
    for i, tag in enumerate(items):
        _require(tag in known, f"{path}[{i}]", f"must be one of {sorted(known)}")


def _date(item: Mapping[str, Any], key: str, path: str) -> None:
    value = item.get(key)
    _require(value is None or (isinstance(value, str) and bool(_DATE.match(value))),
             f"{path}.{key}", "must be a date like 2026-11-21 or 2024-08")


def upgrade_document(document: Any) -> Any:
    """A format-1 document as format 2, without its own bank (the database's is used)."""
    if not isinstance(document, Mapping) or document.get("format_version") != 1:
        return document
    upgraded = copy.deepcopy(dict(document))
    upgraded["format_version"] = FORMAT_VERSION
    for trial in upgraded.get("trials") or []:
        if not isinstance(trial, dict):
            continue
        trial.setdefault("line_triage", {})
        for criterion in trial.get("criteria") or []:
            if isinstance(criterion, dict) and criterion.get("fact") in RENAMED_FACTS:
                fact, unit = RENAMED_FACTS[criterion["fact"]]
                criterion["fact"] = fact
                if isinstance(criterion.get("value"), dict):
                    criterion["value"] = {**criterion["value"], "unit": unit}
    return upgraded


def _bank(document: Mapping[str, Any]) -> None:
    for part in BANK_PARTS:
        _require(isinstance(document.get(part), list), part, "must be a list")
    seen: set[str] = set()
    for i, condition in enumerate(document["conditions"]):
        path = f"conditions[{i}]"
        _require(isinstance(condition, Mapping), path, "must be an object")
        _require(isinstance(condition.get("id"), str) and bool(_KEY.match(condition["id"])), f"{path}.id",
                 "must be lowercase letters, digits and underscores")
        _require(condition["id"] not in seen and condition["id"] not in (ANY_CONDITION, NOT_SURE, "none"),
                 f"{path}.id", "appears twice or is reserved")
        seen.add(condition["id"])
        _strings(condition.get("registry_terms", []), f"{path}.registry_terms")
        _text(condition, "search_term", path, optional=True)
        _texts(condition.get("texts"), f"{path}.texts", ("label",), ("hint", "in_sentence"))
        _flags(condition, path, ("retired", "edited"))
    known_conditions = set(condition_ids(document["conditions"]))
    facts: set[str] = set()
    for i, fact in enumerate(document["facts"]):
        path = f"facts[{i}]"
        _require(isinstance(fact, Mapping), path, "must be an object")
        _require(isinstance(fact.get("id"), str) and bool(_KEY.match(fact["id"])), f"{path}.id",
                 "must be lowercase letters, digits, underscores and at most one colon")
        _require(fact["id"] not in facts, f"{path}.id", "appears twice")
        facts.add(fact["id"])
        _require(fact.get("kind") in FACT_KINDS, f"{path}.kind", f"must be one of {list(FACT_KINDS)}")
        _text(fact, "unit", path, optional=True)
        for key in ("lowest", "highest"):
            _require(fact.get(key) is None or _number(fact[key]), f"{path}.{key}", "must be a number or empty")
        _require(fact.get("condition") is None or fact["condition"] in known_conditions,
                 f"{path}.condition", "must be one of the catalog's conditions")
        _flags(fact, path, ("lab_value", "retired", "edited"))
        _texts(fact.get("texts"), f"{path}.texts", ("label",))
    questions: set[str] = set()
    kinds = {k.value for k in Kind}
    for i, question in enumerate(document["questions"]):
        path = f"questions[{i}]"
        _require(isinstance(question, Mapping), path, "must be an object")
        _require(isinstance(question.get("id"), str) and bool(_KEY.match(question["id"])), f"{path}.id",
                 "must be lowercase letters, digits and underscores")
        _require(question["id"] not in questions, f"{path}.id", "appears twice")
        questions.add(question["id"])
        _require(question.get("kind") in kinds, f"{path}.kind", f"must be one of {sorted(kinds)}")
        _strings(question.get("facts"), f"{path}.facts")
        _require(bool(question["facts"]), f"{path}.facts", "must name at least one fact")
        for f, fact_id in enumerate(question["facts"]):
            _require(fact_id in facts, f"{path}.facts[{f}]", "must be one of the catalog's facts")
        _require(question.get("condition") is None or question["condition"] in known_conditions,
                 f"{path}.condition", "must be one of the catalog's conditions")
        options = question.get("options", [])
        _require(isinstance(options, list), f"{path}.options", "must be a list")
        values: set[str] = set()
        for o, option in enumerate(options):
            opath = f"{path}.options[{o}]"
            _require(isinstance(option, Mapping) and isinstance(option.get("value"), str)
                     and bool(_KEY.match(option["value"])), opath, "must be an object with a value")
            _require(option["value"] not in values, f"{opath}.value", "appears twice")
            values.add(option["value"])
            _flags(option, opath, ("exclusive", "unknown"))
        if question["kind"] in ("one_choice", "several_choices"):
            _require(len(values) >= 2, f"{path}.options", "must offer at least two answers")
        for key in ("minimum", "maximum"):
            _require(question.get(key) is None or _number(question[key]), f"{path}.{key}", "must be a number or empty")
        skips = question.get("skip", [])
        _require(isinstance(skips, list), f"{path}.skip", "must be a list")
        for k, skip in enumerate(skips):
            spath = f"{path}.skip[{k}]"
            _require(isinstance(skip, Mapping), spath, "must be an object")
            _require(skip.get("fact") is None or skip["fact"] in facts, f"{spath}.fact", "must be one of the catalog's facts")
            _require(skip.get("then") is None or skip["then"] in values, f"{spath}.then",
                     "must be one of the question's answers")
        _flags(question, path, ("caregiver_hint", "retired", "edited"))
        _texts(question.get("texts"), f"{path}.texts", ("text", "short_label"), ("hint",))
        for lang, entry in question["texts"].items():
            option_texts = entry.get("options", {})
            _require(isinstance(option_texts, Mapping), f"{path}.texts.{lang}.options", "must be an object")
            for value, words in option_texts.items():
                _require(value in values, f"{path}.texts.{lang}.options.{value}", "is not one of the question's answers")
                _require(isinstance(words, Mapping), f"{path}.texts.{lang}.options.{value}", "must be an object")
                _text(words, "label", f"{path}.texts.{lang}.options.{value}")
            messages = entry.get("messages", {})
            _require(isinstance(messages, Mapping) and all(isinstance(v, str) and v.strip() for v in messages.values()),
                     f"{path}.texts.{lang}.messages", "must map problems to texts")
        english = question["texts"]["en"].get("options", {})
        for value in values:
            if question["kind"] != "conditions" or value in english:
                _require(value in english, f"{path}.texts.en.options", f"needs a label for {value!r}")
    _require(any(q.get("kind") == "conditions" and not q.get("retired") for q in document["questions"]),
             "questions", "must include the conditions question")
    for i, question in enumerate(document["questions"]):
        # Answers, plans and share links find the person's conditions under this id.
        _require(question.get("kind") != "conditions" or question.get("id") == CONDITIONS, f"questions[{i}].id",
                 f"the conditions question keeps the id {CONDITIONS!r}")
    first = next(q for q in document["questions"] if not q.get("retired"))
    _require(first.get("kind") == "conditions", "questions[0]", "the conditions question must come first")


def _flags(item: Mapping[str, Any], path: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        _require(isinstance(item.get(key, False), bool), f"{path}.{key}", "must be true or false")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_catalog(document: Any, bank: Mapping[str, Any] | None = None) -> None:
    """Check a format-2 document. `bank`: the database's bank, for a document without one."""
    _require(isinstance(document, Mapping), "catalog", "must be a JSON object")
    where = first_nul(document, "catalog")
    _require(where is None, where or "", "must not contain a NUL character")
    _require(document.get("format") == FORMAT, "format", f"must be {FORMAT!r}")
    _require(document.get("format_version") == FORMAT_VERSION, "format_version",
             f"must be one of {list(READABLE_VERSIONS)}")
    _text(document, "catalog_version", "catalog")
    if any(part in document for part in BANK_PARTS):
        _bank(document)
        bank = document
    _require(bank is not None, "questions", "must be given (or loaded before) with the conditions and facts")
    core_bank = bank_from(bank)
    known = set(core_bank.conditions) | {ANY_CONDITION}
    answers = answers_by_fact(core_bank)
    specs = fact_specs(bank.get("facts") or [])
    trials = document.get("trials")
    _require(isinstance(trials, list), "trials", "must be a list")
    seen: set[str] = set()
    for t, trial in enumerate(trials):
        path = f"trials[{t}]"
        _require(isinstance(trial, Mapping), path, "must be an object")
        _text(trial, "registry_id", path)
        _require(trial["registry_id"] not in seen, f"{path}.registry_id", "appears twice")
        seen.add(trial["registry_id"])
        _text(trial, "official_title", path)
        for key in ("registry_url", "acronym", "sponsor", "phase", "site", "site_city"):
            _text(trial, key, path, optional=True)
        _require(trial.get("registry_url") is None or is_safe_link(trial["registry_url"]), f"{path}.registry_url",
                 UNSAFE_LINK_MESSAGE)
        _require(trial.get("status") in REGISTRY_STATUSES, f"{path}.status",
                 "must be a ClinicalTrials.gov overall status")
        _date(trial, "status_verified", path)
        _date(trial, "facts_checked", path)
        # An imported trial may have no condition tags until staff add them.
        _conditions(trial.get("conditions"), f"{path}.conditions", known, allow_empty=True)
        for key in ("phases", "registry_conditions"):
            _strings(trial.get(key, []), f"{path}.{key}")
        _locations(trial.get("locations", []), f"{path}.locations")
        _require(trial.get("sex") in (None, "ALL", "FEMALE", "MALE"), f"{path}.sex",
                 "must be ALL, FEMALE or MALE")
        for key in ("brief_title", "eligibility_text", "minimum_age", "maximum_age"):
            _text(trial, key, path, optional=True)
        _date(trial, "registry_updated", path)
        for key in ("archived", "edited"):
            _require(isinstance(trial.get(key, False), bool), f"{path}.{key}", "must be true or false")
        _contacts(trial.get("contacts", []), f"{path}.contacts")
        triage = trial.get("line_triage", {})
        _require(isinstance(triage, Mapping) and all(v in LINE_STATES for v in triage.values()),
                 f"{path}.line_triage", f"must map line keys to one of {list(LINE_STATES)}")
        _sources(trial.get("sources"), f"{path}.sources")
        _texts(trial.get("texts"), f"{path}.texts", ("title", "summary"), ("involves",))
        criteria = trial.get("criteria")
        _require(isinstance(criteria, list), f"{path}.criteria", "must be a list")
        for c, criterion in enumerate(criteria):
            cpath = f"{path}.criteria[{c}]"
            _require(isinstance(criterion, Mapping), cpath, "must be an object")
            operators = {o.value for o in Operator}
            _require(criterion.get("operator") in operators, f"{cpath}.operator",
                     f"must be one of {sorted(operators)}")
            fact = criterion.get("fact")
            try:
                validate_criterion(specs.get(fact) if fact else None, Operator(criterion["operator"]),
                                   criterion.get("value") or {}, fact=fact,
                                   answers=_answers_for(fact, answers, core_bank))
            except InvalidCriterion as error:
                raise CatalogError(f"{cpath}: {error}") from None
            _texts(criterion.get("texts"), f"{cpath}.texts", ("description",), ("if_not_met",))
            _text(criterion, "source", cpath, optional=True)
            _text(criterion, "line", cpath, optional=True)
    pages = document.get("education_pages")
    _require(isinstance(pages, list), "education_pages", "must be a list")
    slugs: set[str] = set()
    for p, page in enumerate(pages):
        path = f"education_pages[{p}]"
        _require(isinstance(page, Mapping), path, "must be an object")
        _require(isinstance(page.get("slug"), str) and bool(_SLUG.match(page["slug"])),
                 f"{path}.slug", "must be lowercase words joined by hyphens")
        _require(page["slug"] not in slugs, f"{path}.slug", "appears twice")
        slugs.add(page["slug"])
        _conditions(page.get("conditions"), f"{path}.conditions", known)
        _strings(page.get("trials", []), f"{path}.trials")
        _require(isinstance(page.get("edited", False), bool), f"{path}.edited", "must be true or false")
        _sources(page.get("sources"), f"{path}.sources")
        _texts(page.get("texts"), f"{path}.texts", ("title", "summary", "body"))


def _answers_for(fact: str | None, answers: Mapping[str, set[str]], bank: Any) -> set[str] | None:
    """The answers a choice fact can take (for conditions "none of these" too)."""
    if fact is None or fact not in answers:
        return None
    return answers[fact]
