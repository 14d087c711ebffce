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
from .engine import Assessment, Assessor, Criterion, Outcome, Verdict
from .facts import derive_facts
from .questions import NOT_SURE, Answers, chosen_conditions

# Registry statuses under which a trial is taking people now (ClinicalTrials.gov API v2).
RECRUITING_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})

ANY_CONDITION = "any"
AGE_FACT = "age_years"
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
    # For a person under 18: how the listed studies' age criteria treat their age.
    young_person: AgeLimits | None = None
    asks_about_travel_help: bool = False

    @property
    def under_18(self) -> bool:
        return self.young_person is not None

    @property
    def listed(self) -> list[TrialOutcome]:
        return [o for v in Verdict for o in self.by_verdict[v]] + self.not_recruiting

    @property
    def nothing_fits(self) -> bool:
        """No related trial is open and possibly a fit."""
        return not (self.by_verdict[Verdict.FIT] or self.by_verdict[Verdict.CHECK])


@dataclass(frozen=True, slots=True)
class AgeLimits:
    """How many listed studies' age criteria rule a person's age out, leave it to the study
    team (no age limit found, or one the sources dispute), or take it."""

    ruled_out: int
    unknown: int
    taking: int

    @property
    def all_ruled_out(self) -> bool:
        return self.ruled_out > 0 and not (self.unknown or self.taking)


def age_limits(outcomes: Sequence[TrialOutcome]) -> AgeLimits:
    counts = {Outcome.NOT_MET: 0, Outcome.UNKNOWN: 0, Outcome.MET: 0}
    for outcome in outcomes:
        found = [r.outcome for r in outcome.assessment.results if r.criterion.fact == AGE_FACT]
        decided = (Outcome.NOT_MET if Outcome.NOT_MET in found else
                   Outcome.MET if found and all(o is Outcome.MET for o in found) else Outcome.UNKNOWN)
        counts[decided] += 1
    return AgeLimits(counts[Outcome.NOT_MET], counts[Outcome.UNKNOWN], counts[Outcome.MET])


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
    if isinstance(age, int) and age < ADULT_AGE:
        screening.young_person = age_limits(screening.listed)
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


def months_elapsed(when: str, today: date) -> int:
    """Whole months from a 'YYYY-MM' or 'YYYY-MM-DD' date to today (a month-only date counts
    from its first day), never below 0."""
    year, month, *rest = (int(part) for part in when.split("-"))
    months = whole_months_between(YearMonth(year, month), YearMonth.of(today))
    if rest and today.day < rest[0]:
        months -= 1
    return max(0, months)


@dataclass(frozen=True, slots=True)
class StatusDate:
    """The registry date that tells how current a trial's status is, and how old it is."""

    kind: str  # "verified" (statusVerifiedDate), "updated" (last update posted) or "unknown"
    date: str | None
    months: int | None
    stale: bool


def status_date(verified: str | None, updated: str | None, today: date) -> StatusDate:
    """The registry's status-verified date when it has one, else the record's last update."""
    for kind, when in (("verified", verified), ("updated", updated)):
        if when:
            return StatusDate(kind, when, months_elapsed(when, today), status_is_stale(when, today))
    return StatusDate("unknown", None, None, True)
