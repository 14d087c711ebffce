"""Times one person's evaluation in process, in a fresh interpreter so the heap holds only it.

    python -m bench.evaluate '{"sizes": [1000, 10000], "databases": {"1000": "sqlite:///..."},
                               "instance": "/tmp/...", "quick": false}'

For each size: builds the synthetic catalog's TrialSpecs in memory (bench/synth.py, the same
trials the benchmark's databases hold) and drops the document; then times
`webapp.core.screening.screen` for the benchmark person call by call, the sizes taking turns so
other work on the machine disturbs them alike, with Python's cyclic garbage collector on (as in
a server) and, to show its share, off. Where a database is given, also times
`webapp.catalog.service.catalog_index()`, which the results page calls first: its first call
in a fresh app, and later calls (which any per-process cache serves).
Prints one JSON list on standard output.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from datetime import date
from typing import Any, Callable


def interleaved(run: Callable[[int], Any], sizes: list[int], seconds: float,
                min_runs: int) -> dict[int, list[float]]:
    """Time `run(size)` call by call, the sizes taking turns (smaller ones more often)."""
    largest = max(sizes)
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for size in sizes:
        run(size)  # first call: imports, caches
    began = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - began
        if elapsed > 4 * seconds or (elapsed >= seconds
                                     and all(len(t) >= min_runs for t in times.values())):
            return times
        for size in sizes:
            for _ in range(min(50, max(1, round(largest / size)))):
                started = time.perf_counter()
                run(size)
                times[size].append(time.perf_counter() - started)


def evaluate(sizes: list[int], databases: dict[str, str], instance: str,
             quick: bool) -> list[dict[str, Any]]:
    from bench.run import person_answers
    from bench.synth import index_in_memory, make_app, screen_answers, synthetic_catalog
    from webapp.config import Defaults
    from webapp.core.screening import GROUPS

    today = date.today()
    answers = person_answers(today)
    seconds, min_runs = (0.3, 3) if quick else (4.0, 5)
    rows: dict[int, dict[str, Any]] = {}
    indexes = {}
    for size in sizes:
        document = synthetic_catalog(size, education_pages=[])
        bank, index = index_in_memory(document)  # the index the app builds once per catalog
        del document
        screening = screen_answers(bank, index, answers, today)
        rows[size] = {
            "trials": size, "criteria": sum(len(t.criteria) for t in index.trials),
            "listed": screening.listed_count, "unrelated": screening.unrelated_count,
            "by_verdict": {v.value: (bits & ~screening.groups["closed"]).bit_count()
                           for v, bits in screening.verdicts.items()},
            "not_recruiting": screening.count("closed"),
        }
        indexes[size] = (bank, index)
        del screening
    gc.collect()

    def run(size: int) -> None:
        # What a results page asks of the engine: the groups, and each group's first cards
        # (nearest first: the distances are measured here, as far out as these need).
        bank, index = indexes[size]
        screening = screen_answers(bank, index, answers, today)
        for group in GROUPS:
            screening.positions(group, 0, Defaults.RESULTS_PER_GROUP)

    # Sizes take turns, so a burst of other work on the machine hits them alike.
    with_gc = interleaved(run, sizes, seconds, min_runs)
    gc.disable()
    try:
        without_gc = interleaved(run, sizes, seconds, min_runs)
    finally:
        gc.enable()
    for size in sizes:
        rows[size].update(
            screen_ms=statistics.median(with_gc[size]) * 1000, screen_min_ms=min(with_gc[size]) * 1000,
            runs=len(with_gc[size]), screen_no_gc_ms=statistics.median(without_gc[size]) * 1000,
            screen_no_gc_min_ms=min(without_gc[size]) * 1000)
    indexes.clear()
    gc.collect()
    for size in sizes:
        row = rows[size]
        if str(size) in databases:
            from webapp.catalog.snapshot import catalog_index
            from webapp.extensions import db

            # First call in a fresh app (builds whatever the service caches), then later calls.
            cold, warm = [], []
            for _ in range(1 if size >= 5000 else 3):
                app = make_app(databases[str(size)], instance)
                with app.app_context():
                    started = time.perf_counter()
                    catalog_index()
                    cold.append(time.perf_counter() - started)
                    for _ in range(5):
                        started = time.perf_counter()
                        catalog_index()
                        warm.append(time.perf_counter() - started)
                    db.session.remove()
                    db.engine.dispose()
                del app
                gc.collect()
            row["trial_specs_first_ms"] = min(cold) * 1000
            row["trial_specs_later_ms"] = statistics.median(warm) * 1000
    return [rows[size] for size in sizes]


def main() -> None:
    options = json.loads(sys.argv[1])
    rows = evaluate(options["sizes"], options.get("databases", {}), options["instance"],
                    options.get("quick", False))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
