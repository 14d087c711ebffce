"""Match one person's facts against the listed trials, and decide which questions still matter.

The catalog index is built once per catalog revision. It keeps, for every distinct rule, the set
of trials that hold it, as a bitset over trial positions (a Python int: bit i is the trial at
catalog position i). A screening works each distinct rule out once for the person and derives
every trial's verdict by set operations: a trial is *probably not* when any of its rules is not
met, *may be a fit* when all are met, and *might be* otherwise. Only the trials on the page are
then assessed rule by rule, for their reasons.

The same sets tell which questions can still change a verdict: a question is worth asking
while some listed trial that is not yet ruled out has a rule on one of its facts that an answer
could leave unmet, or could meet where the trial might still be a fit.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date
from typing import Any

import numpy as np

from .dates import YearMonth, whole_months_between
from .engine import (Assessment, Assessor, Criterion, Outcome, Verdict, evaluate, possible_outcomes,
                     team_lines_rule, untriaged_rule)
from .facts import AGE_YEARS, LOCATION
from .places import NEAR_KM, Nearby, Site, SiteGrid
from .questions import NOT_SURE

# Registry statuses under which a trial is taking people now (ClinicalTrials.gov API v2).
RECRUITING_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})

ANY_CONDITION = "any"
ADULT_AGE = 18
STALE_AFTER_MONTHS = 6
# Results groups, in the order the page shows them.
GROUPS = ("fit", "check", "unlikely", "closed")
# Distinct answers whose rule outcomes each process keeps per fact (ages, HbA1c values ...).
FACT_CACHE_SIZE = 512

UNTRIAGED = untriaged_rule(1)
TEAM_LINES = team_lines_rule(1)


@dataclass(frozen=True, slots=True)
class TrialSpec:
    registry_id: str
    status: str
    conditions: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    # Anything the web layer wants to carry along (texts, site, contacts); the core ignores it.
    payload: Any = None
    # Its located sites (see core.places); distance never changes a verdict.
    sites: tuple[Site, ...] = ()

    @property
    def recruiting(self) -> bool:
        return self.status in RECRUITING_STATUSES


def with_line_rules(criteria: Sequence[Criterion], untriaged: int, team_lines: int) -> tuple[Criterion, ...]:
    """A trial's criteria, then one rule for the registry lines staff left to the study team and
    one for those nobody has gone through yet: either keeps it from "may be a fit"."""
    return (*criteria, *((TEAM_LINES,) if team_lines else ()), *((UNTRIAGED,) if untriaged else ()))


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    trial: TrialSpec
    assessment: Assessment

    @property
    def verdict(self) -> Verdict:
        return self.assessment.verdict


def bits_of(positions: Iterable[int]) -> int:
    bits = 0
    for position in positions:
        bits |= 1 << position
    return bits


def packed_of(bits: int, size: int) -> np.ndarray:
    """A bitset as packed bits: a byte per 8 catalog positions, the lowest bit first."""
    return np.frombuffer(bits.to_bytes(max(1, (size + 7) // 8), "little"), dtype=np.uint8)


def mask_of(bits: int, size: int) -> np.ndarray:
    """A bitset as an array of booleans, one per catalog position."""
    return np.unpackbits(packed_of(bits, size), count=size, bitorder="little").view(bool)


def bits_from(positions: np.ndarray, size: int) -> int:
    """The bitset of an array of positions."""
    mask = np.zeros(max(size, 1), dtype=np.uint8)
    mask[positions] = 1
    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def _bitset(positions: array, size: int) -> int:
    return bits_from(np.frombuffer(positions, dtype=np.int32), size) if positions else 0


# Above this many bits a bitset is read with numpy rather than bit by bit.
LARGE_BITSET = 4096


def positions_of(bits: int, start: int = 0, stop: int | None = None) -> list[int]:
    """The positions of the set bits, lowest first, from the start-th to before the stop-th."""
    size = bits.bit_length()
    if size > LARGE_BITSET and (stop is None or stop > 8):
        return np.flatnonzero(mask_of(bits, size))[start:stop].tolist()
    found, seen = [], 0
    while bits and (stop is None or seen < stop):
        lowest = bits & -bits
        if seen >= start:
            found.append(lowest.bit_length() - 1)
        bits ^= lowest
        seen += 1
    return found


class TrialTable(Sequence[TrialSpec]):
    """The listed trials in catalog order, kept as columns rather than an object per trial (at
    registry scale the objects, their ids and a dict of positions took some 20 MB per worker):
    a trial's TrialSpec is made when it is asked for. Statuses, condition tags and rule tuples
    are shared between trials, as the snapshot shares them. A trial that carries a payload or
    its sites is kept as it is."""

    def __init__(self) -> None:
        self._ids: list[bytes] | np.ndarray = []
        self._status = array("B")
        self._tags = array("I")
        self._rules = array("I")
        self._values: dict[str, list[Any]] = {"status": [], "tags": [], "rules": []}
        self._codes: dict[str, dict[Any, int]] = {"status": {}, "tags": {}, "rules": {}}
        self._kept: dict[int, TrialSpec] = {}
        self._sorted: np.ndarray | None = None
        self._order: np.ndarray | None = None

    def _code(self, column: str, value: Any, key: Any) -> int:
        codes = self._codes[column]
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(self._values[column])
            self._values[column].append(value)
        return code

    def append(self, trial: TrialSpec) -> None:
        assert isinstance(self._ids, list), "the table is closed"
        if trial.payload is not None or trial.sites:
            self._kept[len(self._ids)] = trial
        self._ids.append(trial.registry_id.encode())
        self._status.append(self._code("status", trial.status, trial.status))
        self._tags.append(self._code("tags", trial.conditions, trial.conditions))
        # (Rule tuples by identity: the same tuple object is one entry, and is kept alive here.)
        self._rules.append(self._code("rules", trial.criteria, id(trial.criteria)))

    def close(self) -> None:
        """Done appending: the ids become one array, with a sorted copy to find positions by."""
        ids = np.array(self._ids, dtype=bytes)
        self._ids = ids
        self._order = np.argsort(ids, kind="stable").astype(np.int32)
        self._sorted = ids[self._order]
        self._codes = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, position):  # type: ignore[no-untyped-def, override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        kept = self._kept.get(position)
        if kept is not None:
            return kept
        return TrialSpec(self._ids[position].decode(), self._values["status"][self._status[position]],
                         self._values["tags"][self._tags[position]], self._values["rules"][self._rules[position]])

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self)))

    def registry_id(self, position: int) -> str:
        """The registry id at a position, without making the trial's TrialSpec."""
        kept = self._kept.get(position)
        return kept.registry_id if kept is not None else self._ids[position].decode()

    def position_of(self, registry_id: str) -> int | None:
        if self._sorted is None or not len(self._sorted):
            return None
        key = registry_id.encode()
        i = int(np.searchsorted(self._sorted, key))
        if i < len(self._sorted) and self._sorted[i] == key:
            return int(self._order[i])
        return None


class Positions(Mapping[str, int]):
    """A trial's catalog position by its registry id (a lookup in the trial table)."""

    def __init__(self, table: TrialTable):
        self._table = table

    def __getitem__(self, registry_id: str) -> int:
        found = self._table.position_of(registry_id) if isinstance(registry_id, str) else None
        if found is None:
            raise KeyError(registry_id)
        return found

    def __contains__(self, registry_id: object) -> bool:
        return isinstance(registry_id, str) and self._table.position_of(registry_id) is not None

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self._table.registry_id(i) for i in range(len(self._table)))


class _Rule:
    __slots__ = ("criterion", "studies", "outcomes")

    def __init__(self, criterion: Criterion):
        self.criterion = criterion
        self.studies = 0
        self.outcomes: frozenset[Outcome] = frozenset()


class CatalogIndex:
    """The listed trials in catalog order, with bitsets per rule, fact and condition.

    `answers`: for each choice fact, the answers a question can give (to work out which
    outcomes each rule allows); built from the question bank.
    """

    def __init__(self, trials: Iterable[TrialSpec], answers: Mapping[str, Collection[str]] | None = None,
                 sites: Iterable[Sequence[Site]] | None = None):
        """`sites`: each trial's located sites, in catalog order, when the trials do not carry
        them (the snapshot passes them here so that only the index's arrays keep them)."""
        table = TrialTable()
        rules: dict[int, _Rule] = {}
        by_key: dict[tuple[Any, ...], _Rule] = {}
        # Positions are gathered first and each bitset made once: or-ing bits into a large int
        # one at a time would copy it every time.
        holding: dict[int, array] = {}
        conditions: dict[str, array] = {}
        recruiting, no_criteria = array("i"), array("i")
        for position, trial in enumerate(trials):
            table.append(trial)
            if trial.recruiting:
                recruiting.append(position)
            if not trial.criteria:
                no_criteria.append(position)
            for tag in set(trial.conditions):
                conditions.setdefault(tag, array("i")).append(position)
            for criterion in trial.criteria:
                # Identical rules (same fact, operator and value) are one rule.
                rule = rules.get(id(criterion))
                if rule is None:
                    key = (criterion.fact, criterion.operator, frozen(criterion.value))
                    rule = by_key.get(key)
                    if rule is None:
                        rule = by_key[key] = _Rule(criterion)
                        holding[id(rule)] = array("i")
                    rules[id(criterion)] = rule
                holding[id(rule)].append(position)
        table.close()
        self.trials = table
        self.size = len(table)
        self.all = (1 << self.size) - 1
        self.position = Positions(table)
        for rule in by_key.values():
            rule.studies = _bitset(holding[id(rule)], self.size)
        self.by_condition: dict[str, int] = {tag: _bitset(found, self.size) for tag, found in conditions.items()}
        self.recruiting = _bitset(recruiting, self.size)
        no_criteria = _bitset(no_criteria, self.size)
        self.any_condition = self.by_condition.get(ANY_CONDITION, 0)
        self.by_fact: dict[str | None, list[_Rule]] = {}
        self.fact_studies: dict[str, int] = {}
        self.can_rule_out: dict[str, int] = {}
        self.can_confirm: dict[str, int] = {}
        always_unknown, cannot_fit = no_criteria, no_criteria
        answers = answers or {}
        for rule in by_key.values():
            fact = rule.criterion.fact
            rule.outcomes = possible_outcomes(rule.criterion, answers.get(fact or "", ()))
            if Outcome.MET not in rule.outcomes:
                cannot_fit |= rule.studies
            if fact is None:
                always_unknown |= rule.studies
                continue
            self.by_fact.setdefault(fact, []).append(rule)
            self.fact_studies[fact] = self.fact_studies.get(fact, 0) | rule.studies
            if Outcome.NOT_MET in rule.outcomes:
                self.can_rule_out[fact] = self.can_rule_out.get(fact, 0) | rule.studies
            if Outcome.MET in rule.outcomes:
                self.can_confirm[fact] = self.can_confirm.get(fact, 0) | rule.studies
        self.always_unknown = always_unknown
        self.cannot_fit = cannot_fit
        self.grid = SiteGrid(sites if sites is not None else (t.sites for t in self.trials))
        self.located = bits_from(self.grid.located_positions, self.size) if len(self.grid.located_positions) else 0
        self._cache: dict[str, OrderedDict[Any, tuple[int, int]]] = {}

    def __len__(self) -> int:
        return self.size

    def bits_for(self, registry_ids: Iterable[str]) -> int:
        return bits_of(self.position[r] for r in registry_ids if r in self.position)

    def related(self, conditions: Collection[str] | None) -> int:
        """Trials about any condition the person chose; "not sure" (or no answer yet): all."""
        if conditions is None or NOT_SURE in conditions:
            return self.all
        bits = self.any_condition
        for tag in conditions:
            bits |= self.by_condition.get(tag, 0)
        return bits

    def fact_bits(self, fact: str, value: Any) -> tuple[int, int]:
        """(trials with a rule on `fact` this value leaves unmet, trials it leaves unknown)."""
        cache = self._cache.setdefault(fact, OrderedDict())
        key = value if not isinstance(value, list) else frozenset(value)
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
        unmet = unknown = 0
        facts = {fact: value}
        for rule in self.by_fact.get(fact, ()):
            outcome = evaluate(rule.criterion, facts).outcome
            if outcome is Outcome.NOT_MET:
                unmet |= rule.studies
            elif outcome is Outcome.UNKNOWN:
                unknown |= rule.studies
        found = cache[key] = (unmet, unknown)
        if len(cache) > FACT_CACHE_SIZE:
            cache.popitem(last=False)
        return found

    def decided(self, facts: Mapping[str, Any]) -> tuple[int, int, int]:
        """(trials some answer rules out, trials an answer leaves unknown, trials some unasked
        fact leaves unknown), for the facts a person has given so far."""
        unmet = answered_unknown = 0
        unasked = self.always_unknown
        for fact, studies in self.fact_studies.items():
            if fact in facts and facts[fact] is not None:
                u, k = self.fact_bits(fact, facts[fact])
                unmet |= u
                answered_unknown |= k
            else:
                unasked |= studies
        return unmet, answered_unknown, unasked


def frozen(value: Any) -> Any:
    """A criterion value as a hashable key: identical rules are one rule."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


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


@dataclass
class Screening:
    index: CatalogIndex
    facts: Mapping[str, Any]
    # Bitsets of the listed trials in each results group.
    groups: dict[str, int]
    verdicts: dict[Verdict, int]
    # Trials about none of the chosen conditions: counted, not shown unless asked for.
    unrelated_count: int = 0
    # For a person under 18: how the listed studies' age criteria treat their age.
    young_person: AgeLimits | None = None
    # Where the person lives, when they said: the distance (km) to the nearest site of each
    # study with a site within NEAR_KM, and how many listed studies a distance filter left out.
    here: tuple[float, float] | None = None
    near: Nearby | None = None
    within_km: float | None = None
    beyond_filter: int = 0
    _assessor: Assessor | None = field(default=None, repr=False)
    _near_bits: int | None = field(default=None, repr=False)

    def count(self, group: str) -> int:
        return self.groups[group].bit_count()

    @property
    def listed_count(self) -> int:
        return sum(self.count(group) for group in GROUPS)

    @property
    def nothing_fits(self) -> bool:
        """No related trial is open and possibly a fit (however far away)."""
        return not (self.verdicts[Verdict.FIT] | self.verdicts[Verdict.CHECK]) & self.index.recruiting

    @property
    def under_18(self) -> bool:
        return self.young_person is not None

    def positions(self, group: str, start: int = 0, stop: int | None = None) -> list[int]:
        """The group's trials from the start-th to before the stop-th: in catalog order, or,
        when the person said where they live, those with a near site first, nearest first."""
        bits = self.groups[group]
        if self.near is None:
            return positions_of(bits, start, stop)
        keep = packed_of(bits, self.index.size)
        near = self.near.nearest_first(keep, 0, stop)
        if stop is not None and stop <= len(near):
            return near[start:stop].tolist()
        near = self.near.nearest_first(keep)
        rest = bits & ~self.near_bits
        skip = max(0, start - len(near))
        return near[start:].tolist() + positions_of(rest, skip, None if stop is None else stop - len(near))

    @property
    def near_bits(self) -> int:
        if self._near_bits is None:
            self._near_bits = bits_from(self.near.all.positions, self.index.size) if self.near else 0
        return self._near_bits

    def outcomes(self, group: str, start: int = 0, stop: int | None = None) -> list[TrialOutcome]:
        """The group's trials from the start-th to before the stop-th, each with its reasons."""
        assessor = self._assessor or Assessor(self.facts)
        self._assessor = assessor
        trials = [self.index.trials[p] for p in self.positions(group, start, stop)]
        return [TrialOutcome(trial, assessor.assess(trial.criteria)) for trial in trials]


def screen(index: CatalogIndex, facts: Mapping[str, Any], conditions: Collection[str] | None,
           include_unrelated: bool = False, scope: int | None = None,
           within_km: float | None = None) -> Screening:
    """Group the listed trials for one person's facts. `scope`: a share link's trials (bits).

    When the facts say where the person lives, each group lists studies with a near site
    first; `within_km` keeps only studies with a site taking people that close. Neither changes
    a verdict."""
    scope = index.all if scope is None else scope & index.all
    listed = scope if include_unrelated else index.related(conditions) & scope
    unmet, answered_unknown, unasked = index.decided(facts)
    unknown = answered_unknown | unasked
    verdicts = {
        Verdict.UNLIKELY: listed & unmet,
        Verdict.CHECK: listed & ~unmet & unknown,
        Verdict.FIT: listed & ~unmet & ~unknown,
    }
    groups = {
        "fit": verdicts[Verdict.FIT] & index.recruiting,
        "check": verdicts[Verdict.CHECK] & index.recruiting,
        "unlikely": verdicts[Verdict.UNLIKELY] & index.recruiting,
        "closed": listed & ~index.recruiting,
    }
    screening = Screening(index, facts, groups, verdicts,
                          unrelated_count=scope.bit_count() - listed.bit_count())
    here = facts.get(LOCATION)
    if isinstance(here, tuple):
        screening.here = here
        screening.near = Nearby(index.grid, here[0], here[1], max(NEAR_KM, within_km or 0))
        if within_km is not None:
            close = bits_from(screening.near.within(within_km), index.size)
            before = sum(bits.bit_count() for bits in groups.values())
            for key in groups:
                groups[key] &= close
            screening.within_km = within_km
            screening.beyond_filter = before - sum(bits.bit_count() for bits in groups.values())
    age = facts.get(AGE_YEARS)
    if isinstance(age, int) and not isinstance(age, bool) and age < ADULT_AGE:
        screening.young_person = _age_limits(index, age, listed)
    return screening


def _age_limits(index: CatalogIndex, age: int, listed: int) -> AgeLimits:
    unmet, unknown = index.fact_bits(AGE_YEARS, age)
    with_age_rule = index.fact_studies.get(AGE_YEARS, 0)
    ruled_out = listed & unmet
    unsure = listed & ~unmet & (unknown | ~with_age_rule)
    taking = listed & ~unmet & ~unsure
    return AgeLimits(ruled_out.bit_count(), unsure.bit_count(), taking.bit_count())


def open_facts(index: CatalogIndex, facts: Mapping[str, Any], conditions: Collection[str] | None,
               scope: int | None = None) -> set[str]:
    """The facts not yet given whose answer could still change a listed trial's verdict.

    A trial already ruled out keeps no question open; a trial that can no longer be a fit
    (a rule only the study team can check, an answer it must weigh) keeps open only questions
    that could rule it out.
    """
    scope = index.all if scope is None else scope & index.all
    listed = index.related(conditions) & scope
    unmet, answered_unknown, _ = index.decided(facts)
    candidates = listed & ~unmet
    may_fit = candidates & ~index.cannot_fit & ~answered_unknown
    found = set()
    for fact in index.fact_studies:
        if fact in facts and facts[fact] is not None:
            continue
        if candidates & index.can_rule_out.get(fact, 0) or may_fit & index.can_confirm.get(fact, 0):
            found.add(fact)
    # Where the person lives changes no verdict, but says how near each study is: worth asking
    # while a study that is still possible has a located site.
    if candidates & index.located and facts.get(LOCATION) is None:
        found.add(LOCATION)
    return found


def relates_to(item_conditions: Sequence[str], chosen: Collection[str]) -> bool:
    """Whether a trial or page concerns any condition the person chose.

    "Not sure" relates to everything: the person may have any of them.
    """
    if ANY_CONDITION in item_conditions or NOT_SURE in chosen:
        return True
    return not set(chosen).isdisjoint(item_conditions)


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


@lru_cache(maxsize=4096)
def status_date(verified: str | None, updated: str | None, today: date) -> StatusDate:
    """The registry's status-verified date when it has one, else the record's last update."""
    for kind, when in (("verified", verified), ("updated", updated)):
        if when:
            return StatusDate(kind, when, months_elapsed(when, today), status_is_stale(when, today))
    return StatusDate("unknown", None, None, True)
