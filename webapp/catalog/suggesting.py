"""Suggested criteria for registry records: the core's rules fed with a record's lines, its
conditions as the catalog names them and its structured limits. Used by `flask trials suggest`
(no database: the bundled bank's condition wordings) and by the staff area (the database's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..core.eligibility_text import split_lines
from ..core.registry_conditions import match_conditions
from ..core.suggest import Suggestion, suggest
from .ctgov import RegistryStudy


def bundled_condition_terms() -> dict[str, list[str]]:
    from .bank import bundled_document

    return {c["id"]: list(c.get("registry_terms") or []) for c in bundled_document()["conditions"]
            if not c.get("retired")}


def suggestions_for(study: RegistryStudy, terms: Mapping[str, Sequence[str]]) -> list[Suggestion]:
    conditions = match_conditions(study.registry_conditions, terms)
    return suggest(split_lines(study.eligibility_text), conditions,
                   (study.minimum_years, study.maximum_years), study.sex)


def suggestions_for_trial(trial) -> dict[str, list[Suggestion]]:  # type: ignore[no-untyped-def]
    """A stored trial's suggestions, by the key of the line each comes from."""
    from .ctgov import RegistryRecordError, age_in_years

    try:
        ages = (age_in_years(trial.minimum_age, "minimumAge"), age_in_years(trial.maximum_age, "maximumAge"))
    except RegistryRecordError:
        ages = (None, None)
    found: dict[str, list[Suggestion]] = {}
    for item in suggest(split_lines(trial.eligibility_text), list(trial.conditions or []), ages, trial.sex):
        found.setdefault(item.line_key, []).append(item)
    return found
