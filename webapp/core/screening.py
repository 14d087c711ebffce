"""Match one person's answers against the listed trials and education pages.

Groups the trials the way the results page shows them: recruiting trials by verdict,
then the trials not recruiting now, with trials unrelated to every chosen condition set
apart (counted, listed only on request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .dates import YearMonth, whole_months_between
from .engine import Assessment, Assessor, Criterion, Verdict
from .facts import derive_facts
from .questions import NOT_SURE, Answers, chosen_conditions

# Registry statuses under which a trial is taking people now (ClinicalTrials.gov API v2).
RECRUITING_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})

ANY_CONDITION = "any"
ADULT_AGE = 18
STALE_AFTER_MONTHS = 6


@dataclass(frozen=True, slots=True)
class TrialSpec:
    registry_id: str
    status: str
    conditions: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    # Anything the web layer wants to carry along (texts, site, contacts); the core ignores it.
    payload: Any = None

    @property
    def recruiting(self) -> bool:
        return self.status in RECRUITING_STATUSES


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    trial: TrialSpec
    assessment: Assessment

    @property
    def verdict(self) -> Verdict:
        return self.assessment.verdict


@dataclass
class Screening:
    by_verdict: dict[Verdict, list[TrialOutcome]] = field(
        default_factory=lambda: {v: [] for v in Verdict}
    )
    not_recruiting: list[TrialOutcome] = field(default_factory=list)
    # Trials about none of the chosen conditions: counted, not assessed unless asked for.
    unrelated_count: int = 0
    under_18: bool = False
    asks_about_travel_help: bool = False

    @property
    def listed(self) -> list[TrialOutcome]:
        return [o for v in Verdict for o in self.by_verdict[v]] + self.not_recruiting

    @property
    def nothing_fits(self) -> bool:
        """No related trial is open and possibly a fit."""
        return not (self.by_verdict[Verdict.FIT] or self.by_verdict[Verdict.CHECK])


def relates_to(item_conditions: Sequence[str], answers: Answers) -> bool:
    """Whether a trial or page concerns any condition the person chose.

    "Not sure" relates to everything: the person may have any of them.
    """
    chosen = set(chosen_conditions(answers))
    if ANY_CONDITION in item_conditions or NOT_SURE in chosen:
        return True
    return bool(chosen.intersection(item_conditions))


class CatalogIndex:
    """The listed trials in catalog order, indexed by condition tag.

    Built once per catalog change, so a screening visits only the trials related to the
    person's conditions instead of every trial in the catalog.
    """

    def __init__(self, trials: Sequence[TrialSpec]):
        self.trials = list(trials)
        self._by_tag: dict[str, list[int]] = {}
        for position, trial in enumerate(self.trials):
            for tag in set(trial.conditions):
                self._by_tag.setdefault(tag, []).append(position)

    def __len__(self) -> int:
        return len(self.trials)

    def related(self, answers: Answers) -> list[TrialSpec]:
        chosen = set(chosen_conditions(answers))
        if NOT_SURE in chosen:
            return self.trials
        positions: set[int] = set(self._by_tag.get(ANY_CONDITION, ()))
        for tag in chosen:
            positions.update(self._by_tag.get(tag, ()))
        return [self.trials[p] for p in sorted(positions)]

    def restricted_to(self, registry_ids: set[str]) -> "CatalogIndex":
        return CatalogIndex([t for t in self.trials if t.registry_id in registry_ids])


def screen(
    trials: CatalogIndex | Sequence[TrialSpec], answers: Answers, today: date,
    include_unrelated: bool = False,
) -> Screening:
    index = trials if isinstance(trials, CatalogIndex) else CatalogIndex(trials)
    assessor = Assessor(derive_facts(answers, today))
    screening = Screening()
    considered = index.trials if include_unrelated else index.related(answers)
    screening.unrelated_count = len(index) - len(considered)
    for trial in considered:
        outcome = TrialOutcome(trial, assessor.assess(trial.criteria))
        if trial.recruiting:
            screening.by_verdict[outcome.verdict].append(outcome)
        else:
            screening.not_recruiting.append(outcome)
    age = answers.get("age")
    screening.under_18 = isinstance(age, int) and age < ADULT_AGE
    screening.asks_about_travel_help = answers.get("travel_charleston") in ("no", NOT_SURE)
    return screening


def status_is_stale(verified: str | None, today: date) -> bool:
    """Whether a 'YYYY-MM' or 'YYYY-MM-DD' verification date is over 6 months old.

    A missing date counts as stale: nobody can say the status is current.
    """
    if not verified:
        return True
    year, month, *rest = (int(part) for part in verified.split("-"))
    months = whole_months_between(YearMonth(year, month), YearMonth.of(today))
    if months != STALE_AFTER_MONTHS:
        return months > STALE_AFTER_MONTHS
    day = rest[0] if rest else 1
    return today.day > day
