"""Imports ClinicalTrials.gov records into the catalog.

A new study becomes a hidden trial with its registry fields, draft English texts from the
registry, and the criteria the record supports (condition, age limits). Re-importing updates
the registry fields only: texts and structured criteria staff wrote are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..core.engine import Operator
from ..extensions import db
from .ctgov import RegistryStudy, age_criterion_value, parse_json, read_study, studies_in
from .models import Criterion, Trial
from .service import bump_revision


@dataclass
class ImportResult:
    registry_id: str
    created: bool
    changed: list[str]


def read_records(text: str | bytes) -> list[RegistryStudy]:
    """Parse and check every study first, so one bad record means nothing is written."""
    return [read_study(record) for record in studies_in(parse_json(text))]


def import_studies(studies: list[RegistryStudy]) -> list[ImportResult]:
    results = []
    try:
        for study in studies:
            results.append(_import(study))
        bump_revision()
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    return results


def _import(study: RegistryStudy) -> ImportResult:
    trial = db.session.scalar(select(Trial).where(Trial.registry_id == study.registry_id))
    fields = study.registry_fields()
    if trial is not None:
        changed = [key for key, value in fields.items() if getattr(trial, key) != value]
        for key in changed:
            setattr(trial, key, fields[key])
        if changed:
            trial.version += 1
        return ImportResult(study.registry_id, created=False, changed=changed)

    last = db.session.scalar(select(func.max(Trial.position))) or 0
    first_site = study.locations[0] if study.locations else {}
    trial = Trial(
        registry_id=study.registry_id,
        **fields,
        site=first_site.get("facility"),
        site_city=", ".join(p for p in (first_site.get("city"), first_site.get("state")) if p) or None,
        conditions=study.condition_tags,
        sources=[{"label": f"ClinicalTrials.gov record {study.registry_id}", "url": study.registry_url}],
        # Draft texts from the registry; staff rewrite them in plain words before showing them.
        texts={"en": {"title": study.brief_title,
                      "summary": study.brief_summary or study.brief_title,
                      "reviewed": False}},
        position=last + 1,
        # Hidden from patients until staff have checked it and chosen to show it.
        archived=True,
    )
    trial.criteria = _first_criteria(study)
    db.session.add(trial)
    return ImportResult(study.registry_id, created=True, changed=sorted(fields))


def _first_criteria(study: RegistryStudy) -> list[Criterion]:
    criteria: list[dict[str, Any]] = []
    source = f"ClinicalTrials.gov record {study.registry_id}"
    if study.condition_tags:
        criteria.append({"fact": "conditions", "operator": Operator.ONE_OF.value,
                         "value": {"met": study.condition_tags},
                         "texts": {"en": {"description": "You have the condition this study is about"}},
                         "source": f"{source}: conditions {', '.join(study.registry_conditions)}"})
    age = age_criterion_value(study.minimum_years, study.maximum_years)
    limits = f"{study.minimum_age or 'no minimum'} to {study.maximum_age or 'no maximum'}"
    if age is not None:
        criteria.append({"fact": "age_years", "operator": Operator.BETWEEN.value, "value": age,
                         "texts": {"en": {"description": _age_description(study)}},
                         "source": f"{source}: age {limits}"})
    elif study.minimum_age or study.maximum_age:
        criteria.append({"fact": None, "operator": Operator.STUDY_TEAM_CHECKS.value, "value": {},
                         "texts": {"en": {"description": f"Age limits in the registry: {limits}"}},
                         "source": f"{source}: age {limits}"})
    return [Criterion(position=i, **c) for i, c in enumerate(criteria)]


def _age_description(study: RegistryStudy) -> str:
    low, high = study.minimum_years, study.maximum_years
    whole = all(v is None or v.is_integer() for v in (low, high))
    if not whole:
        return f"Age limits in the registry: {study.minimum_age or 'none'} to {study.maximum_age or 'none'}"
    if low is not None and high is not None:
        return f"You are {int(low)} to {int(high)} years old"
    if low is not None:
        return f"You are {int(low)} or older"
    return f"You are {int(high)} or younger"
