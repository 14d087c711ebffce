"""How well `flask trials suggest` reads registry text: precision and recall per fact against
hand-made labels (`make suggest-eval`).

    python scripts/suggest-eval.py [--records FILE] [--labels FILE] [--misses] [--json OUT]

Runs the real command on the records, keeps the labelled studies, and compares per study and
fact. A suggestion equal to the label (same bounds, same inclusive ends, same unit; durations
compared in days) is right; one that differs, or one for a fact the label does not mention, is
wrong. A label the suggestions do not give is a miss, except where the label is marked
ambiguous (the text gives different limits for subgroups): suggesting nothing there is what the
suggester is meant to do, so it is reported as "left to staff", not as a miss (the "recall, all"
column counts it as one). Labels on conditions the bank has no fact for (an ulcer's duration)
are listed as outside the bank.

The labels are one reader's; a disagreement the evaluation shows is either the suggester's
fault or the label's, and the misses are printed with their lines so a person can tell which.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The shared folder's samples, or their copies in the repository on a machine without it.
SAMPLES = ROOT.parent / "shared" / "registry-samples"
if not (SAMPLES / "labels-dev.json").exists():
    SAMPLES = ROOT / "tests" / "records" / "registry"
FACTS = ("time_since_diagnosis", "hba1c", "bmi", "pregnancy", "english", "insulin_use", "age_years")
PRECISION_TARGET, RECALL_TARGET = 0.95, 0.85
DAYS = {"days": 1, "weeks": 7, "months": 30.4375, "years": 365.25}
BANK_CONDITIONS = ("type1", "type2", "chronic_pancreatitis", "other_diabetes")


def run_suggest(records: Path) -> list[dict[str, Any]]:
    command = [sys.executable, "-m", "flask", "--app", "webapp", "trials", "suggest", str(records)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"trials suggest failed:\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _bound(value: Any, unit: str | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):  # durations: {"value", "unit"}
        return round(float(value["value"]) * DAYS[value["unit"]], 1)
    return round(float(value) * (DAYS[unit] if unit in DAYS else 1), 1)


def expected(fact: str, label: dict[str, Any]) -> tuple[str, Any] | None:
    """(fact id, comparable value) for a label, or None where no bank fact can say it."""
    if fact in ("hba1c", "bmi", "age_in_text"):
        unit = label.get("unit") if fact == "hba1c" else None
        return ("age_years" if fact == "age_in_text" else fact), (
            _bound(label.get("min"), None), label.get("min_inclusive", True) if label.get("min") is not None else True,
            _bound(label.get("max"), None), label.get("max_inclusive", True) if label.get("max") is not None else True,
            unit)
    if fact == "time_since_diagnosis":
        condition = label.get("condition", "")
        if condition not in BANK_CONDITIONS:
            return None
        return (f"time_since_diagnosis:{condition}", (
            _bound(label.get("min"), None), label.get("min_inclusive", True) if label.get("min") else True,
            _bound(label.get("max"), None), label.get("max_inclusive", True) if label.get("max") else True, None))
    if fact == "pregnancy" and label.get("excluded"):
        return "pregnancy", ("no",)
    if fact == "english" and label.get("required"):
        return ("english", ("yes",)) if not label.get("or_languages") else None
    if fact == "insulin_use":
        return "insulin_use", ("yes",) if label.get("rule") == "required" else ("no",)
    return None


def comparable(suggestion: dict[str, Any]) -> tuple[str, Any]:
    value = suggestion["value"]
    if suggestion["operator"] == "one_of":
        return suggestion["fact"], tuple(value["met"])
    unit = value.get("unit")
    duration = suggestion["fact"].startswith("time_since_diagnosis:")
    return suggestion["fact"], (
        _bound(value.get("min"), unit if duration else None), value.get("min_inclusive", True) if value.get("min") is not None else True,
        _bound(value.get("max"), unit if duration else None), value.get("max_inclusive", True) if value.get("max") is not None else True,
        None if duration or suggestion["fact"] != "hba1c" else unit)


def family(fact_id: str) -> str:
    return "time_since_diagnosis" if fact_id.startswith("time_since_diagnosis:") else fact_id


def evaluate(records: Path, labels_path: Path) -> dict[str, Any]:
    labels = json.loads(labels_path.read_text("utf-8"))["trials"]
    suggestions = [s for s in run_suggest(records) if s["registry_id"] in labels]
    by_trial: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for item in suggestions:
        by_trial[item["registry_id"]][item["fact"]] = item
    counts = {f: {"right": 0, "wrong": 0, "missed": 0, "left_to_staff": 0, "labels": 0} for f in FACTS}
    details: dict[str, list[dict[str, Any]]] = defaultdict(list)
    outside = []
    for registry_id, entry in labels.items():
        wanted: dict[str, tuple[Any, dict[str, Any]]] = {}
        for fact, label in entry.items():
            if fact == "notes":
                continue
            for one in (label if isinstance(label, list) else [label]):
                found = expected(fact, one)
                if found is None:
                    outside.append({"registry_id": registry_id, "fact": fact, "label": one})
                    continue
                wanted[found[0]] = (found[1], one)
        given = by_trial.get(registry_id, {})
        for fact_id, (value, label) in wanted.items():
            group = family(fact_id)
            counts[group]["labels"] += 1
            suggestion = given.get(fact_id)
            if suggestion is not None and comparable(suggestion)[1] == value:
                counts[group]["right"] += 1
                continue
            if suggestion is not None:
                counts[group]["wrong"] += 1
                details[group].append({"registry_id": registry_id, "kind": "wrong", "label": label, "suggested": suggestion})
            if label.get("ambiguous"):
                if suggestion is None:
                    counts[group]["left_to_staff"] += 1
                continue
            counts[group]["missed"] += 1
            details[group].append({"registry_id": registry_id, "kind": "missed", "label": label, "suggested": suggestion})
        for fact_id, suggestion in given.items():
            if fact_id not in wanted and family(fact_id) in counts:
                counts[family(fact_id)]["wrong"] += 1
                details[family(fact_id)].append({"registry_id": registry_id, "kind": "not in the labels", "suggested": suggestion})
    rows = []
    for fact in FACTS:
        c = counts[fact]
        suggested = c["right"] + c["wrong"]
        clear = c["right"] + c["missed"]
        rows.append({"fact": fact, "labels": c["labels"], "suggested": suggested, "right": c["right"],
                     "wrong": c["wrong"], "missed": c["missed"], "left_to_staff": c["left_to_staff"],
                     "precision": c["right"] / suggested if suggested else None,
                     "recall": c["right"] / clear if clear else None,
                     "recall_all": c["right"] / c["labels"] if c["labels"] else None})
    return {"records": str(records), "labels": str(labels_path), "studies": len(labels), "rows": rows,
            "details": details, "outside_the_bank": outside}


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def table(result: dict[str, Any]) -> str:
    lines = ["| fact | labels | suggested | right | wrong | missed | left to staff | precision | recall | recall, all |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["rows"]:
        lines.append(f"| {row['fact']} | {row['labels']} | {row['suggested']} | {row['right']} | {row['wrong']} | "
                     f"{row['missed']} | {row['left_to_staff']} | {fmt(row['precision'])} | {fmt(row['recall'])} | "
                     f"{fmt(row['recall_all'])} |")
    return "\n".join(lines)


def met_targets(result: dict[str, Any]) -> list[str]:
    failures = []
    for row in result["rows"]:
        if row["precision"] is not None and row["precision"] < PRECISION_TARGET:
            failures.append(f"{row['fact']}: precision {row['precision']:.2f} < {PRECISION_TARGET}")
        if row["recall"] is not None and row["recall"] < RECALL_TARGET:
            failures.append(f"{row['fact']}: recall {row['recall']:.2f} < {RECALL_TARGET}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=Path, default=SAMPLES / "diabetes-studies.json")
    parser.add_argument("--labels", type=Path, default=SAMPLES / "labels-dev.json")
    parser.add_argument("--json", type=Path, help="also write the figures and misses here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    result = evaluate(args.records, args.labels)
    print(f"{result['studies']} labelled studies in {args.labels.name}, suggestions from `flask trials suggest {args.records.name}`")
    print()
    print(table(result))
    print()
    for fact, items in result["details"].items():
        for item in items:
            suggested = item.get("suggested")
            print(f"{item['kind']:>17}  {fact:<20} {item['registry_id']}")
            if "label" in item:
                label = {k: v for k, v in item["label"].items() if k not in ("lines", "detail", "note")}
                print(f"{'':>19}label: {json.dumps(label)}")
                for line in item["label"].get("lines", [])[:2]:
                    print(f"{'':>21}| {line[:160]}")
            if suggested:
                print(f"{'':>19}suggested: {json.dumps(suggested['value'])} from {suggested['section']}")
                print(f"{'':>21}| {suggested['line'][:160]}")
    if result["outside_the_bank"]:
        print()
        for item in result["outside_the_bank"]:
            print(f"outside the bank: {item['registry_id']} {item['fact']} {item['label'].get('condition', '')}")
    failures = met_targets(result)
    print()
    print("targets (precision >= 0.95, recall >= 0.85 per fact): " + ("met" if not failures else "missed: " + "; ".join(failures)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
