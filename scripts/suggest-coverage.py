"""Of each study's registry lines, the share no suggestion covers (what staff leave to the study
team or mark "not about the patient"), over the records of a file: median and quartiles.

    python scripts/suggest-coverage.py [FILE]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from webapp.catalog.ctgov import read_study, parse_json, studies_in
from webapp.catalog.suggesting import bundled_condition_terms, suggestions_for
from webapp.core.eligibility_text import split_lines

ROOT = Path(__file__).resolve().parent.parent
path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "records" / "registry" / "diabetes-studies.json"
terms = bundled_condition_terms()
shares, lines_per_study, covered_total, lines_total = [], [], 0, 0
for record in studies_in(parse_json(path.read_bytes())):
    study = read_study(record)
    lines = split_lines(study.eligibility_text)
    if not lines:
        continue
    covered = set()
    for item in suggestions_for(study, terms):
        covered.add(item.line_key)
        covered.update(item.also)
    shares.append(1 - len(covered) / len(lines))
    lines_per_study.append(len(lines))
    covered_total += len(covered)
    lines_total += len(lines)
q1, median, q3 = statistics.quantiles(shares, n=4)
print(f"{len(shares)} studies, {lines_total} lines ({statistics.median(lines_per_study):.0f} per study, median)")
print(f"lines a suggestion covers: {covered_total} ({covered_total / lines_total:.1%})")
print(f"share of a study's lines left to staff (study team / not about the patient): "
      f"median {statistics.median(shares):.1%}, quartiles {q1:.1%} to {q3:.1%}")
