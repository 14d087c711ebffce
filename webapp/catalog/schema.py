"""Checks a catalog document (the bundled file or an export) before anything is written.

Every problem is reported with the path of the field it concerns, such as
"trials[1].criteria[0].value.min", so whoever edits the file can find it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.engine import InvalidCriterion, Operator, validate_criterion
from ..core.questions import CHRONIC_PANCREATITIS, OTHER_DIABETES, TYPE1, TYPE2
from ..core.screening import ANY_CONDITION

FORMAT = "trialcheck-catalog"
FORMAT_VERSION = 1
CONDITION_TAGS = {TYPE1, TYPE2, CHRONIC_PANCREATITIS, OTHER_DIABETES, ANY_CONDITION}
REGISTRY_STATUSES = {
    "RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING",
    "COMPLETED", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
}
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LANG = re.compile(r"^[a-z]{2}$")


class CatalogError(ValueError):
    pass


def _require(condition: bool, path: str, message: str) -> None:
    if not condition:
        raise CatalogError(f"{path}: {message}")


def _text(item: Mapping[str, Any], key: str, path: str, optional: bool = False) -> None:
    value = item.get(key)
    if optional and value is None:
        return
    _require(isinstance(value, str) and value.strip() != "", f"{path}.{key}", "must be text")


def _sources(items: Any, path: str) -> None:
    _require(isinstance(items, list) and items, path, "must list at least one source")
    for i, source in enumerate(items):
        _require(isinstance(source, Mapping), f"{path}[{i}]", "must be an object")
        _text(source, "label", f"{path}[{i}]")
        _text(source, "url", f"{path}[{i}]", optional=True)
        labels = source.get("labels", {})
        _require(isinstance(labels, Mapping), f"{path}[{i}].labels", "must map languages to labels")
        for lang in labels:
            _require(bool(_LANG.match(lang)), f"{path}[{i}].labels.{lang}", "is not a two-letter language code")
            _text(labels, lang, f"{path}[{i}].labels")


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


def _conditions(items: Any, path: str, allow_empty: bool = False) -> None:
    _require(isinstance(items, list) and (items or allow_empty), path,
             "must list at least one condition")
    for i, tag in enumerate(items):
        _require(tag in CONDITION_TAGS, f"{path}[{i}]", f"must be one of {sorted(CONDITION_TAGS)}")


def _date(item: Mapping[str, Any], key: str, path: str) -> None:
    value = item.get(key)
    _require(value is None or (isinstance(value, str) and bool(_DATE.match(value))),
             f"{path}.{key}", "must be a date like 2026-11-21 or 2024-08")


def validate_catalog(document: Any) -> None:
    _require(isinstance(document, Mapping), "catalog", "must be a JSON object")
    _require(document.get("format") == FORMAT, "format", f"must be {FORMAT!r}")
    _require(document.get("format_version") == FORMAT_VERSION, "format_version",
             f"must be {FORMAT_VERSION}")
    _text(document, "catalog_version", "catalog")
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
        _require(trial.get("status") in REGISTRY_STATUSES, f"{path}.status",
                 "must be a ClinicalTrials.gov overall status")
        _date(trial, "status_verified", path)
        _date(trial, "facts_checked", path)
        # An imported trial may have no condition tags until staff add them.
        _conditions(trial.get("conditions"), f"{path}.conditions", allow_empty=True)
        for key in ("phases", "registry_conditions"):
            _strings(trial.get(key, []), f"{path}.{key}")
        _require(isinstance(trial.get("locations", []), list), f"{path}.locations", "must be a list")
        _require(trial.get("sex") in (None, "ALL", "FEMALE", "MALE"), f"{path}.sex",
                 "must be ALL, FEMALE or MALE")
        for key in ("brief_title", "eligibility_text", "minimum_age", "maximum_age"):
            _text(trial, key, path, optional=True)
        _date(trial, "registry_updated", path)
        for key in ("archived", "edited"):
            _require(isinstance(trial.get(key, False), bool), f"{path}.{key}", "must be true or false")
        _require(isinstance(trial.get("contacts", []), list), f"{path}.contacts", "must be a list")
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
            try:
                validate_criterion(criterion.get("fact"), Operator(criterion["operator"]),
                                   criterion.get("value") or {})
            except InvalidCriterion as error:
                raise CatalogError(f"{cpath}: {error}") from None
            _texts(criterion.get("texts"), f"{cpath}.texts", ("description",), ("if_not_met",))
            _text(criterion, "source", cpath, optional=True)
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
        _conditions(page.get("conditions"), f"{path}.conditions")
        _strings(page.get("trials", []), f"{path}.trials")
        _require(isinstance(page.get("edited", False), bool), f"{path}.edited", "must be true or false")
        _sources(page.get("sources"), f"{path}.sources")
        _texts(page.get("texts"), f"{path}.texts", ("title", "summary", "body"))

