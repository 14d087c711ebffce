"""The set-based screening gives exactly the straightforward evaluation: over a synthetic
catalog in the registry's proportions (bench/synth.py, the benchmark's own), for random
people, every study's verdict equals what evaluating each of its rules one by one gives, and
the nearest-first order equals measuring every site of every study."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synth import index_in_memory, synthetic_catalog, zip_point  # noqa: E402
from webapp.core.engine import Outcome, Verdict, evaluate  # noqa: E402
from webapp.core.facts import CONDITIONS, LOCATION  # noqa: E402
from webapp.core.places import NEAR_KM, distance_km, sites_from  # noqa: E402
from webapp.core.questions import NOT_SURE  # noqa: E402
from webapp.core.screening import GROUPS, mask_of, positions_of, screen  # noqa: E402

STUDIES = 1500
PEOPLE = 120


@pytest.fixture(scope="module")
def document():
    return synthetic_catalog(STUDIES, seed=7, education_pages=[])


@pytest.fixture(scope="module")
def catalog(document):
    bank, index = index_in_memory(document)
    return bank, index


def random_facts(rng: random.Random, bank, index) -> tuple[dict, list[str] | None]:
    """A person: for each fact the catalog's rules read, an answer a question could give, "not
    sure", or nothing yet; and where they live (or not)."""
    from webapp.catalog.bank import answers_by_fact

    choices = answers_by_fact(bank)
    facts: dict = {}
    for fact, spec in bank.facts.items():
        if fact not in index.fact_studies or rng.random() < 0.2:
            continue
        if rng.random() < 0.1:
            facts[fact] = NOT_SURE if spec.kind != "choice" else frozenset({NOT_SURE})
        elif spec.kind == "choice":
            options = sorted(choices.get(fact, ()))
            facts[fact] = frozenset(rng.sample(options, rng.randint(1, min(2, len(options))))) if options else None
        elif spec.kind == "duration":
            facts[fact] = rng.randint(0, 360)
        elif spec.kind == "number":
            low, high = spec.lowest or 0, spec.highest or 120
            value = rng.uniform(low, min(high, low + 100))
            facts[fact] = round(value) if fact == "age_years" else round(value, 1)
    facts = {k: v for k, v in facts.items() if v is not None}
    conditions = sorted(facts[CONDITIONS]) if isinstance(facts.get(CONDITIONS), frozenset) else None
    if rng.random() < 0.7:
        facts[LOCATION] = (rng.uniform(25, 48), rng.uniform(-123, -70))
    return facts, conditions


def straightforward(criteria, facts) -> Verdict:
    """Each rule on its own: any not met rules the study out; all met is a fit."""
    outcomes = [evaluate(c, facts).outcome for c in criteria]
    if any(o is Outcome.NOT_MET for o in outcomes):
        return Verdict.UNLIKELY
    return Verdict.FIT if outcomes and all(o is Outcome.MET for o in outcomes) else Verdict.CHECK


def test_verdicts_equal_the_straightforward_evaluation(catalog):
    bank, index = catalog
    rng = random.Random(20261201)
    seen = {verdict: 0 for verdict in Verdict}
    for _ in range(PEOPLE):
        facts, conditions = random_facts(rng, bank, index)
        screening = screen(index, facts, conditions)
        listed = index.related(conditions)
        for verdict, bits in screening.verdicts.items():
            mask = mask_of(bits, index.size)
            for position, trial in enumerate(index.trials):
                if not listed >> position & 1:
                    assert not mask[position]
                    continue
                expected = straightforward(trial.criteria, facts)
                assert bool(mask[position]) == (expected is verdict), (trial.registry_id, facts)
                seen[verdict] += expected is verdict
    # The random people reach every verdict, often.
    assert all(count > 1000 for count in seen.values()), seen


def test_nearest_first_equals_measuring_every_site(catalog, document):
    bank, index = catalog
    # Each study's located sites, worked out from its locations as a card's are.
    sites_of = [sites_from(item.get("locations"), item["status"], zip_point) for item in document["trials"]]
    assert [t.registry_id for t in index.trials] == [item["registry_id"] for item in document["trials"]]
    rng = random.Random(7)
    for _ in range(25):
        facts, conditions = random_facts(rng, bank, index)
        facts[LOCATION] = here = (rng.uniform(25, 48), rng.uniform(-123, -70))
        screening = screen(index, facts, conditions)
        nearest = {}
        for position in range(index.size):
            sites = sites_of[position]
            measured = [s for s in sites if s.taking] or sites
            if measured:
                km = min(distance_km(here[0], here[1], s.lat, s.lon) for s in measured)
                if km <= NEAR_KM:
                    nearest[position] = km
        found = dict(zip(screening.near.all.positions.tolist(), screening.near.all.km.tolist()))
        assert found.keys() == nearest.keys()
        assert all(math.isclose(found[p], nearest[p], rel_tol=1e-9, abs_tol=1e-6) for p in nearest)
        for group in GROUPS:
            bits = screening.groups[group]
            members = positions_of(bits)
            expected = sorted((p for p in members if p in nearest), key=lambda p: (nearest[p], p)) + \
                [p for p in members if p not in nearest]
            assert screening.positions(group) == expected
            # (Few enough for the nearest to be found within 25 or 100 miles, not measuring all.)
            assert screening.positions(group, 0, 1) == expected[:1]
            assert screening.positions(group, 1, 3) == expected[1:3]
            assert screening.positions(group, 0, 10) == expected[:10]
            assert screening.positions(group, 10, 20) == expected[10:20]


def test_within_a_distance_keeps_exactly_the_studies_that_close(catalog):
    bank, index = catalog
    here = (32.7853, -79.9484)  # Charleston
    facts = {LOCATION: here}
    everywhere = screen(index, facts, None)
    within = screen(index, facts, None, within_km=100 * 1.609344)
    kept = set().union(*(positions_of(bits) for bits in within.groups.values()))
    close = {p for p, km in zip(everywhere.near.all.positions.tolist(), everywhere.near.all.km.tolist()) if km <= 100 * 1.609344}
    listed = set().union(*(positions_of(bits) for bits in everywhere.groups.values()))
    assert kept == close & listed and kept
    # Distance changes no verdict.
    for verdict, bits in within.verdicts.items():
        assert bits == everywhere.verdicts[verdict]


def test_a_distance_filter_does_not_say_nothing_fits_when_something_further_away_does(catalog):
    bank, index = catalog
    facts = {LOCATION: (35.0, -40.0)}  # mid-Atlantic: no site within 25 miles
    everywhere = screen(index, facts, None)
    nearby = screen(index, facts, None, within_km=25 * 1.609344)
    assert not everywhere.nothing_fits
    assert nearby.count("fit") + nearby.count("check") == 0
    assert not nearby.nothing_fits


def test_the_sites_near_anyone_on_earth_are_all_found():
    """Sites anywhere (by the poles, either side of longitude 180, many at the same places) and
    people anywhere: each study's distance within a radius is the one measuring every site gives."""
    from webapp.core.places import Nearby, Site, SiteGrid

    rng = random.Random(11)
    corners = [(89.9, 10.0), (-89.95, -170.0), (0.0, 179.99), (0.0, -179.99), (65.0, 179.5), (-40.0, -179.8)]

    # Places several studies' sites share (as hospitals are), some by the poles and longitude 180.
    shared = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(8)] + corners

    def point():
        if rng.random() < 0.3:
            return rng.choice(shared)
        if rng.random() < 0.3:
            lat, lon = rng.choice(corners)
            return (max(-90.0, min(90.0, lat + rng.uniform(-0.5, 0.5))),
                    ((lon + rng.uniform(-1.5, 1.5) + 180) % 360) - 180)
        return rng.uniform(-90, 90), rng.uniform(-180, 180)

    studies = [tuple(Site(*point(), rng.random() < 0.7, n) for n in range(rng.randint(0, 5))) for _ in range(600)]
    grid = SiteGrid(studies)
    for _ in range(120):
        lat, lon = point()
        for km in (10.0, 40.2, 160.9, 804.7, 3000.0, 21000.0):
            found = grid.near(lat, lon, km)
            got = dict(zip(found.positions.tolist(), found.km.tolist()))
            expected = {}
            for position, sites in enumerate(studies):
                measured = [s for s in sites if s.taking] or sites
                if measured:
                    best = min(distance_km(lat, lon, s.lat, s.lon) for s in measured)
                    if best <= km:
                        expected[position] = best
            # (A study exactly at the limit may fall either side of it.)
            borderline = {p for p, d in expected.items() if abs(d - km) < 1e-6}
            assert got.keys() - borderline == expected.keys() - borderline, (lat, lon, km)
            assert all(math.isclose(got[p], expected[p], rel_tol=1e-9, abs_tol=1e-6) for p in expected if p in got)
        # Measured step by step, the same as all at once.
        nearby, everything = Nearby(grid, lat, lon, 804.7), grid.near(lat, lon, 804.7)
        keep = np.packbits(np.array([rng.random() < 0.5 for _ in studies]), bitorder="little")
        for stop in (1, 3, 8):
            assert nearby.nearest_first(keep, 0, stop).tolist() == everything.nearest_first(keep, 0, stop).tolist()
        assert nearby.within(40.2).tolist() == everything.within(40.2).tolist()


def test_the_index_keeps_its_trials_as_columns_and_gives_back_the_same_trials(document):
    """The index holds its trials as columns, not an object per trial: what it gives back, and
    each trial's position by registry id, is what it was given."""
    from webapp.core.places import Site
    from webapp.core.screening import CatalogIndex, TrialSpec

    bank, index = index_in_memory(document)
    given = [(item["registry_id"], item["status"], tuple(item["conditions"])) for item in document["trials"]]
    assert [(t.registry_id, t.status, t.conditions) for t in index.trials] == given
    assert len(index.trials) == index.size == len(given)
    assert index.trials[-1].registry_id == given[-1][0] and [t.registry_id for t in index.trials[2:5]] == \
        [g[0] for g in given[2:5]]
    for position in (0, 1, len(given) // 2, len(given) - 1):
        assert index.position[given[position][0]] == position and given[position][0] in index.position
        assert index.trials.registry_id(position) == given[position][0]
    assert "NCT00000000" not in index.position and index.position.get("NCT00000000") is None
    assert list(index.position) == [g[0] for g in given] and len(index.position) == len(given)
    with pytest.raises(IndexError):
        index.trials[len(given)]
    assert [[(c.fact, str(c.operator.value)) for c in t.criteria] for t in index.trials] == \
        [[(c.get("fact"), c["operator"]) for c in item["criteria"]] for item in document["trials"]]
    # A trial that carries its sites (or a payload) is kept as it is; ids need not be NCT ids.
    carried = TrialSpec("ISRCTN-é", "RECRUITING", ("type1",), (), payload={"x": 1},
                        sites=(Site(32.8, -79.9, True, 0),))
    small = CatalogIndex([TrialSpec("B", "COMPLETED", ("type2",), ()), carried])
    assert small.trials[1] is carried and small.position["ISRCTN-é"] == 1 and small.position["B"] == 0
    assert list(small.position) == ["B", "ISRCTN-é"] and len(small.grid.located_positions) == 1
