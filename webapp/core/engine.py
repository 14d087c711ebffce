"""The eligibility engine: criteria as data, evaluated against a person's facts.

A criterion reads one fact, applies an operator with a value, and comes out *met*,
*not met* or *unknown*. A trial's verdict follows from its criteria alone:
all met -> may be a fit; any not met -> probably not a fit; otherwise the study team
would need to check. Unknown always carries why, so the page can say it plainly.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .facts import Granularity, fact_spec
from .questions import NOT_SURE


class Outcome(enum.Enum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class Unknown(enum.Enum):
    """Why a criterion could not be decided from the answers."""

    NOT_SURE = "not_sure"
    NOT_ASKED = "not_asked"
    # Nothing a person answers decides it (a scan, an antibody test, an unknown age limit).
    STUDY_TEAM_CHECKS = "study_team_checks"
    # The person's answer is one the study team has to weigh (a "no" to a VA study's veteran
    # question, "I take no opioids" to a steady-dose rule).
    ANSWER_CHECKED = "answer_checked"
    LAB_TEST = "lab_test"
    DISPUTED_LIMIT = "disputed_limit"
    # The answer is right at a limit ("about 6 months" against "more than 6 months", or the
    # calendar month on a window's edge), so it could fall either side.
    AT_LIMIT = "at_limit"


class Verdict(enum.Enum):
    FIT = "fit"
    CHECK = "check"
    UNLIKELY = "unlikely"


class Operator(enum.Enum):
    # The answer (or, for several-choice answers, any chosen option) is in value["met"];
    # answers in value["check"] leave it to the study team, answers in value["edge"] are right
    # at the limit; anything else is not met.
    ONE_OF = "one_of"
    # A number inside [min, max] is met; inside the wider [check_min, check_max] band it is
    # unknown (sources disagree on the limit); outside both it is not met. A missing bound
    # means no limit.
    BETWEEN = "between"
    # Nothing a person can answer decides it; always unknown.
    STUDY_TEAM_CHECKS = "study_team_checks"


class InvalidCriterion(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Criterion:
    fact: str | None
    operator: Operator
    value: Mapping[str, Any]
    description: str
    # Shown when the criterion is not met: what the person could do about it, if anything.
    if_not_met: str | None = None
    _met: frozenset[str] = field(init=False, repr=False, compare=False)
    _check: frozenset[str] = field(init=False, repr=False, compare=False)
    _edge: frozenset[str] = field(init=False, repr=False, compare=False)
    _spec: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_criterion(self.fact, self.operator, self.value)
        # Worked out once here rather than on every evaluation (a catalog may hold 10,000s).
        object.__setattr__(self, "_met", frozenset(self.value.get("met", ())))
        object.__setattr__(self, "_check", frozenset(self.value.get("check", ())))
        object.__setattr__(self, "_edge", frozenset(self.value.get("edge", ())))
        object.__setattr__(self, "_spec", fact_spec(self.fact) if self.fact else None)


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion: Criterion
    outcome: Outcome
    unknown_because: Unknown | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    verdict: Verdict
    results: tuple[CriterionResult, ...] = field(default_factory=tuple)


def validate_criterion(fact: str | None, operator: Operator, value: Mapping[str, Any]) -> None:
    """Reject a criterion the engine could not evaluate, with a message naming the problem."""
    if not isinstance(operator, Operator):
        raise InvalidCriterion(f"unknown operator {operator!r}")
    if operator is Operator.STUDY_TEAM_CHECKS:
        return
    if fact is None:
        raise InvalidCriterion(f"operator {operator.value} needs a fact")
    try:
        spec = fact_spec(fact)
    except ValueError as error:
        raise InvalidCriterion(str(error)) from None
    if not isinstance(value, Mapping):
        raise InvalidCriterion("value must be an object")
    if operator is Operator.ONE_OF:
        if spec.kind != "choices":
            raise InvalidCriterion(f"one_of needs a choice fact, {fact} is a {spec.kind}")
        lists = ("met", "check", "edge")
        for key in lists:
            items = value.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise InvalidCriterion(f"value.{key} must be a list of answer values")
        if not value.get("met"):
            raise InvalidCriterion("value.met must list at least one answer")
        listed = [answer for key in lists for answer in value.get(key, [])]
        if len(listed) != len(set(listed)):
            raise InvalidCriterion("an answer can be in only one of met, check and edge")
        unexpected = set(value) - set(lists)
        if unexpected:
            raise InvalidCriterion(f"unexpected keys in value: {sorted(unexpected)}")
        return
    if operator is Operator.BETWEEN:
        if spec.kind != "number":
            raise InvalidCriterion(f"between needs a number fact, {fact} is a {spec.kind}")
        bounds = {k: value.get(k) for k in ("min", "max", "check_min", "check_max")}
        for key, bound in bounds.items():
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise InvalidCriterion(f"value.{key} must be a whole number or empty")
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            raise InvalidCriterion("value.min is above value.max")
        if bounds["check_min"] is not None and (low is None or bounds["check_min"] > low):
            raise InvalidCriterion("value.check_min must be at or below value.min")
        if bounds["check_max"] is not None and (high is None or bounds["check_max"] < high):
            raise InvalidCriterion("value.check_max must be at or above value.max")
        unexpected = set(value) - set(bounds)
        if unexpected:
            raise InvalidCriterion(f"unexpected keys in value: {sorted(unexpected)}")


def evaluate(criterion: Criterion, facts: Mapping[str, Any]) -> CriterionResult:
    if criterion.operator is Operator.STUDY_TEAM_CHECKS:
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.STUDY_TEAM_CHECKS)
    answer = facts.get(criterion.fact, _MISSING)
    if answer is _MISSING:
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.NOT_ASKED)
    if answer == NOT_SURE:
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.NOT_SURE)
    if criterion.operator is Operator.ONE_OF:
        result = _one_of(criterion, answer)
    else:
        result = _between(criterion, answer)
    if result.outcome is Outcome.MET and not criterion._spec.answer_can_confirm:
        # Only the study team's test can confirm this; an answer can only rule it out.
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.LAB_TEST)
    return result


_MISSING = object()


def _one_of(criterion: Criterion, answer: Any) -> CriterionResult:
    chosen = answer if isinstance(answer, frozenset) else frozenset(
        answer if isinstance(answer, list) else (answer,))
    if not chosen.isdisjoint(criterion._met):
        return CriterionResult(criterion, Outcome.MET)
    if not chosen.isdisjoint(criterion._edge):
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.AT_LIMIT)
    if not chosen.isdisjoint(criterion._check):
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.ANSWER_CHECKED)
    if NOT_SURE in chosen:
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.NOT_SURE)
    return CriterionResult(criterion, Outcome.NOT_MET)


def _between(criterion: Criterion, number: int) -> CriterionResult:
    value = criterion.value
    low, high = value.get("min"), value.get("max")
    check_low = value.get("check_min", low)
    check_high = value.get("check_max", high)
    check_low = low if check_low is None else check_low
    check_high = high if check_high is None else check_high

    def inside(lo: int | None, hi: int | None) -> bool:
        return (lo is None or number >= lo) and (hi is None or number <= hi)

    if inside(low, high):
        on_edge = number == high or (low is not None and low > 0 and number == low)
        if criterion._spec.granularity is Granularity.CALENDAR_MONTH and on_edge:
            return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.AT_LIMIT)
        return CriterionResult(criterion, Outcome.MET)
    if inside(check_low, check_high):
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.DISPUTED_LIMIT)
    return CriterionResult(criterion, Outcome.NOT_MET)


def assess(criteria: Sequence[Criterion], facts: Mapping[str, Any]) -> Assessment:
    results = tuple(evaluate(c, facts) for c in criteria)
    return Assessment(verdict_for(r.outcome for r in results), results)


class Assessor:
    """Assesses many trials for one person, working out each distinct rule only once.

    A criterion's outcome depends only on the person's facts, so trials that share a rule
    object (or a whole list of them) share its result. Catalog indexes share identical
    criteria and criteria lists between trials, which makes large catalogs cheap to screen.
    """

    def __init__(self, facts: Mapping[str, Any]):
        self.facts = facts
        self._results: dict[int, CriterionResult] = {}
        self._assessments: dict[int, Assessment] = {}
        # Keep every memoised object alive, so an id() is never reused while cached.
        self._seen: list[Any] = []

    def evaluate(self, criterion: Criterion) -> CriterionResult:
        result = self._results.get(id(criterion))
        if result is None:
            result = self._results[id(criterion)] = evaluate(criterion, self.facts)
            self._seen.append(criterion)
        return result

    def assess(self, criteria: Sequence[Criterion]) -> Assessment:
        assessment = self._assessments.get(id(criteria))
        if assessment is not None:
            return assessment
        # The same rule as verdict_for, written out: this loop runs once per trial listed.
        results, unmet, unknown = [], False, False
        memo = self._results
        for criterion in criteria:
            result = memo.get(id(criterion)) or self.evaluate(criterion)
            if result.outcome is Outcome.NOT_MET:
                unmet = True
            elif result.outcome is Outcome.UNKNOWN:
                unknown = True
            results.append(result)
        verdict = Verdict.UNLIKELY if unmet else Verdict.CHECK if unknown or not results else Verdict.FIT
        assessment = self._assessments[id(criteria)] = Assessment(verdict, tuple(results))
        self._seen.append(criteria)
        return assessment


def verdict_for(outcomes: Iterable[Outcome]) -> Verdict:
    outcomes = list(outcomes)
    if Outcome.NOT_MET in outcomes:
        return Verdict.UNLIKELY
    if outcomes and all(o is Outcome.MET for o in outcomes):
        return Verdict.FIT
    # Unknowns remain, or the trial has no criteria at all: never claim a fit on nothing.
    return Verdict.CHECK
