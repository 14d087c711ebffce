"""The eligibility engine: criteria as data, evaluated against a person's facts.

A criterion reads one fact, applies an operator with a value, and comes out *met*,
*not met* or *unknown*. A trial's verdict follows from its criteria alone:
all met -> may be a fit; any not met -> probably not a fit; otherwise the study team
would need to check. Unknown always carries why, so the page can say it plainly.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import units
from .facts import FactSpec, Granularity
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
    # The study's registry text has lines staff have not gone through yet.
    UNTRIAGED = "untriaged"


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
    # means no limit; "unit" says what the limits are in (converted to the fact's unit);
    # "min_inclusive"/"max_inclusive" (true by default) say whether a bound itself is allowed.
    BETWEEN = "between"
    # Nothing a person can answer decides it; always unknown.
    STUDY_TEAM_CHECKS = "study_team_checks"


class InvalidCriterion(ValueError):
    pass


BOUNDS = ("min", "max", "check_min", "check_max")
ONE_OF_LISTS = ("met", "check", "edge")


@dataclass(frozen=True, slots=True)
class Criterion:
    fact: str | None
    operator: Operator
    value: Mapping[str, Any]
    description: str
    # Shown when the criterion is not met: what the person could do about it, if anything.
    if_not_met: str | None = None
    # The fact it reads, as the catalog declares it (kind, unit, lab value).
    spec: FactSpec | None = field(default=None, compare=False)
    _met: frozenset[str] = field(init=False, repr=False, compare=False)
    _check: frozenset[str] = field(init=False, repr=False, compare=False)
    _edge: frozenset[str] = field(init=False, repr=False, compare=False)
    # Limits in the fact's own unit: (min, max, check_min, check_max, min_inclusive, max_inclusive).
    _bounds: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_criterion(self.spec, self.operator, self.value, fact=self.fact)
        # Worked out once here rather than on every evaluation (a catalog may hold 100,000s).
        object.__setattr__(self, "_met", frozenset(self.value.get("met", ())))
        object.__setattr__(self, "_check", frozenset(self.value.get("check", ())))
        object.__setattr__(self, "_edge", frozenset(self.value.get("edge", ())))
        bounds: tuple[Any, ...] = ()
        if self.operator is Operator.BETWEEN:
            canonical = self.spec.unit if self.spec else None
            unit = self.value.get("unit")
            converted = [None if self.value.get(k) is None
                         else units.to_canonical(self.value[k], unit, canonical) for k in BOUNDS]
            bounds = (*converted, self.value.get("min_inclusive", True), self.value.get("max_inclusive", True))
        object.__setattr__(self, "_bounds", bounds)

    @property
    def untriaged(self) -> bool:
        return self.operator is Operator.STUDY_TEAM_CHECKS and bool(self.value.get("untriaged"))

    @property
    def team_lines(self) -> bool:
        return self.operator is Operator.STUDY_TEAM_CHECKS and bool(self.value.get("team_lines"))


def untriaged_rule(count: int) -> Criterion:
    """Stands for registry lines staff have not gone through: the study is at best "check"."""
    return Criterion(None, Operator.STUDY_TEAM_CHECKS, {"untriaged": count}, "")


def team_lines_rule(count: int) -> Criterion:
    """Stands for registry lines staff left to the study team: the study is at best "check"."""
    return Criterion(None, Operator.STUDY_TEAM_CHECKS, {"team_lines": count}, "")


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion: Criterion
    outcome: Outcome
    unknown_because: Unknown | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    verdict: Verdict
    results: tuple[CriterionResult, ...] = field(default_factory=tuple)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and units.finite(value)


def validate_criterion(spec: FactSpec | None, operator: Operator, value: Mapping[str, Any],
                       fact: str | None = None, answers: Collection[str] | None = None) -> None:
    """Reject a criterion the engine could not evaluate, with a message naming the problem.

    `spec` is the fact it reads; `answers`, for a choice fact, the answers a question can give:
    a value no question can produce ("boston" as a condition) is refused.
    """
    if not isinstance(operator, Operator):
        raise InvalidCriterion(f"unknown operator {operator!r}")
    if not isinstance(value, Mapping):
        raise InvalidCriterion("value must be an object")
    if operator is Operator.STUDY_TEAM_CHECKS:
        unexpected = set(value) - {"untriaged", "team_lines"}
        if unexpected:
            raise InvalidCriterion(f"unexpected keys in value: {sorted(unexpected)}")
        return
    if fact is None:
        raise InvalidCriterion(f"operator {operator.value} needs a fact")
    if spec is None:
        raise InvalidCriterion(f"unknown fact {fact!r}")
    if operator is Operator.ONE_OF:
        if spec.kind != "choice":
            raise InvalidCriterion(f"one_of needs a choice fact, {fact} is a {spec.kind}")
        for key in ONE_OF_LISTS:
            items = value.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise InvalidCriterion(f"value.{key} must be a list of answer values")
        if not value.get("met"):
            raise InvalidCriterion("value.met must list at least one answer")
        listed = [answer for key in ONE_OF_LISTS for answer in value.get(key, [])]
        if len(listed) != len(set(listed)):
            raise InvalidCriterion("an answer can be in only one of met, check and edge")
        unexpected = set(value) - set(ONE_OF_LISTS)
        if unexpected:
            raise InvalidCriterion(f"unexpected keys in value: {sorted(unexpected)}")
        if answers is not None:
            unknown = sorted(set(listed) - set(answers))
            if unknown:
                raise InvalidCriterion(
                    f"no question can give {', '.join(map(repr, unknown))} for {fact}; "
                    f"its answers are {', '.join(sorted(answers))}")
        return
    if operator is Operator.BETWEEN:
        if not spec.is_number:
            raise InvalidCriterion(f"between needs a number fact, {fact} is a {spec.kind}")
        allowed = {"unit", "min_inclusive", "max_inclusive", *BOUNDS}
        unexpected = set(value) - allowed
        if unexpected:
            raise InvalidCriterion(f"unexpected keys in value: {sorted(unexpected)}")
        for key in BOUNDS:
            bound = value.get(key)
            if bound is not None and not _is_number(bound):
                raise InvalidCriterion(f"value.{key} must be a number or empty")
        for key in ("min_inclusive", "max_inclusive"):
            if key in value and not isinstance(value[key], bool):
                raise InvalidCriterion(f"value.{key} must be true or false")
        unit = value.get("unit")
        accepted = units.CANONICAL.get(spec.unit or "", (spec.unit,))
        if unit is not None and unit not in accepted:
            raise InvalidCriterion(f"value.unit must be one of {', '.join(accepted)} for {fact}")
        canonical = spec.unit
        bounds = {k: None if value.get(k) is None else units.to_canonical(value[k], unit, canonical)
                  for k in BOUNDS}
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            raise InvalidCriterion("value.min is above value.max")
        if bounds["check_min"] is not None and (low is None or bounds["check_min"] > low):
            raise InvalidCriterion("value.check_min must be at or below value.min")
        if bounds["check_max"] is not None and (high is None or bounds["check_max"] < high):
            raise InvalidCriterion("value.check_max must be at or above value.max")
        for key in ("min", "max"):
            if spec.lowest is not None and spec.highest is not None and bounds[key] is not None:
                if not (spec.lowest - 1 <= bounds[key] <= spec.highest + 1):
                    raise InvalidCriterion(
                        f"value.{key} is outside what a person can answer for {fact} "
                        f"({_plain(spec.lowest)} to {_plain(spec.highest)} {spec.unit or ''})".rstrip())


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


_MISSING = object()


def evaluate(criterion: Criterion, facts: Mapping[str, Any]) -> CriterionResult:
    if criterion.operator is Operator.STUDY_TEAM_CHECKS:
        because = Unknown.UNTRIAGED if criterion.untriaged else Unknown.STUDY_TEAM_CHECKS
        return CriterionResult(criterion, Outcome.UNKNOWN, because)
    answer = facts.get(criterion.fact, _MISSING)
    if answer is _MISSING or answer is None:
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.NOT_ASKED)
    if answer == NOT_SURE:
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.NOT_SURE)
    if criterion.operator is Operator.ONE_OF:
        result = _one_of(criterion, answer)
    else:
        result = _between(criterion, answer)
    if result.outcome is Outcome.MET and criterion.spec is not None and criterion.spec.lab_value:
        # Only the study team's test can confirm this; an answer can only rule it out.
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.LAB_TEST)
    return result


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


def _contains(a: float, b: float, point: bool, low: float | None, high: float | None,
              low_in: bool, high_in: bool) -> bool:
    """Whether every value the person may mean, a point or the span (a, b), is within the limits."""
    if point:
        return ((low is None or a > low or (a == low and low_in))
                and (high is None or a < high or (a == high and high_in)))
    return (low is None or a >= low) and (high is None or b <= high)


def _touches(a: float, b: float, point: bool, low: float | None, high: float | None,
             low_in: bool, high_in: bool) -> bool:
    """Whether some value the person may mean is within the limits."""
    if point:
        return _contains(a, b, True, low, high, low_in, high_in)
    return (low is None or b > low) and (high is None or a < high)


def _between(criterion: Criterion, number: float) -> CriterionResult:
    low, high, check_low, check_high, low_in, high_in = criterion._bounds
    check_low = low if check_low is None else check_low
    check_high = high if check_high is None else check_high
    spec = criterion.spec
    if spec is not None and spec.granularity is Granularity.CALENDAR_MONTH:
        # n whole calendar months since a month-and-year: really between n - 1 and n + 1
        # months (never below 0), so the month on a limit's edge may fall either side.
        if number <= 0:
            a, b, point = 0.0, 1.0, False
            if _contains(0, 0, True, low, high, low_in, high_in) and (high is None or high >= 1):
                return CriterionResult(criterion, Outcome.MET)
        else:
            a, b, point = number - 1, number + 1, False
    else:
        a = b = number
        point = True
    if _contains(a, b, point, low, high, low_in, high_in):
        return CriterionResult(criterion, Outcome.MET)
    if not point and _touches(a, b, point, low, high, low_in, high_in):
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.AT_LIMIT)
    if (check_low, check_high) != (low, high) and _touches(a, b, point, check_low, check_high, True, True):
        return CriterionResult(criterion, Outcome.UNKNOWN, Unknown.DISPUTED_LIMIT)
    return CriterionResult(criterion, Outcome.NOT_MET)


def possible_outcomes(criterion: Criterion, answers: Collection[str] = ()) -> frozenset[Outcome]:
    """The outcomes some answer could give this criterion ("not sure" always gives unknown).

    `answers`: for a choice fact, the answers a question can give. Worked out once per catalog
    so the questionnaire can skip questions whose answer could not change a verdict.
    """
    found = {Outcome.UNKNOWN}
    if criterion.operator is Operator.STUDY_TEAM_CHECKS:
        return frozenset(found)
    if criterion.operator is Operator.ONE_OF:
        for answer in answers:
            found.add(evaluate(criterion, {criterion.fact: frozenset({answer})}).outcome)
        return frozenset(found)
    spec = criterion.spec
    lowest = spec.lowest if spec and spec.lowest is not None else -1e9
    highest = spec.highest if spec and spec.highest is not None else 1e9
    points = {lowest, highest}
    for bound in criterion._bounds[:4]:
        if bound is not None:
            for step in (-2, -1, -0.05, 0, 0.05, 1, 2):
                points.add(bound + step)
                points.add(round(bound) + step)
    for point in points:
        if lowest <= point <= highest:
            if spec is not None and spec.granularity is Granularity.CALENDAR_MONTH:
                point = max(0, round(point))
            found.add(evaluate(criterion, {criterion.fact: point}).outcome)
    return frozenset(found)


def assess(criteria: Sequence[Criterion], facts: Mapping[str, Any]) -> Assessment:
    results = tuple(evaluate(c, facts) for c in criteria)
    return Assessment(verdict_for(r.outcome for r in results), results)


class Assessor:
    """Assesses trials for one person, working out each distinct rule only once.

    A criterion's outcome depends only on the person's facts, so trials that share a rule
    object (or a whole list of them) share its result.
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
        results = tuple(self.evaluate(c) for c in criteria)
        assessment = self._assessments[id(criteria)] = Assessment(
            verdict_for(r.outcome for r in results), results)
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
