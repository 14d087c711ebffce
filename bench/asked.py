"""How many questions each test persona is asked (a developer tool, not part of `make bench`).

    .venv/bin/python -m bench.asked                      # the bundled catalog
    .venv/bin/python -m bench.asked --import FILE.json   # plus registry records, shown to patients

Walks the questionnaire through Flask's test client as a person would (real CSRF tokens and
POSTs, following each redirect) on a fresh SQLite database, answering each question the
screener asks from the persona's answers, and prints the questions asked. Only the HTTP
interface is used, so the same script measures an older checkout too.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(os.path.abspath(__file__)).parent.parent
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def months_ago(months: int) -> dict[str, str]:
    today = date.today()
    index = today.year * 12 + today.month - 1 - months
    return {"month": str(index % 12 + 1), "year": str(index // 12)}


# Answers to every question any version asks; each persona overrides a few.
EVERYTHING = {
    "age": {"answer": "45"}, "sex": {"answer": "female"},
    "type1_diagnosed": months_ago(2), "type2_diagnosed": months_ago(60),
    "chronic_pancreatitis_diagnosed": months_ago(40), "other_diabetes_diagnosed": months_ago(12),
    "type1_own_insulin": {"answer": "yes"}, "insulin_use": {"answer": "yes"},
    "hba1c": {"value": "7.6", "unit": "%"}, "height_weight": {"cm": "168", "kg": "72"},
    "pregnancy": {"answer": "no"}, "cp_pain_duration": {"answer": "over_6_months"},
    "cp_dose_stable": {"answer": "yes"}, "cp_procedure_planned": {"answer": "no"},
    "veteran": {"answer": "no"}, "english": {"answer": "yes"}, "travel_charleston": {"answer": "yes"},
}
PERSONAS: dict[str, dict[str, Any]] = {
    "pancreatitis, 45": {"conditions": ["chronic_pancreatitis"]},
    "pancreatitis, 80, pain about 6 months": {"conditions": ["chronic_pancreatitis"], "age": {"answer": "80"},
                                              "cp_pain_duration": {"answer": "about_6_months"}},
    "type 1, diagnosed 2 months ago, 25": {"conditions": ["type1"], "age": {"answer": "25"}},
    "type 1, diagnosed 10 years ago": {"conditions": ["type1"], "type1_diagnosed": months_ago(120)},
    "type 1, no own insulin": {"conditions": ["type1"], "type1_own_insulin": {"answer": "no"}},
    "type 1 and pancreatitis, 27": {"conditions": ["type1", "chronic_pancreatitis"], "age": {"answer": "27"}},
    "not sure of the condition": {"conditions": ["not_sure"]},
    "under 18 (15), type 1": {"conditions": ["type1"], "age": {"answer": "15"}},
}
REGISTRY_PERSONAS: dict[str, dict[str, Any]] = {
    "type 1, 30": {"conditions": ["type1"], "age": {"answer": "30"}},
    "type 2, 55": {"conditions": ["type2"], "age": {"answer": "55"}, "sex": {"answer": "male"}},
    "pancreatitis, 45": {"conditions": ["chronic_pancreatitis"]},
}


def walk(client, persona: dict[str, Any]) -> list[str]:
    answers = {**EVERYTHING, **{k: v for k, v in persona.items() if k != "conditions"},
               "conditions": {"answer": persona["conditions"]}}
    path, asked = "/en/questions/conditions", []
    for _ in range(60):
        page = client.get(path)
        if page.status_code == 302:
            path = page.location
        if "/questions/" not in path:
            break
        question_id = path.rsplit("/questions/", 1)[1].split("?")[0]
        html = client.get(path).get_data(as_text=True)
        token = CSRF.search(html).group(1)
        if question_id not in answers:
            raise SystemExit(f"asked {question_id!r}, which this script has no answer for")
        asked.append(question_id)
        response = client.post(path, data={"csrf_token": token, **answers[question_id]})
        if response.status_code != 302:
            raise SystemExit(f"answering {question_id} gave {response.status_code}")
        path = response.location
    return asked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.asked")
    parser.add_argument("--import", dest="records", nargs="*", default=[],
                        help="ClinicalTrials.gov records to import and show (needs `trials import-ctgov --show`)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="trialcheck-asked-"))
    os.environ["TRIALCHECK_INSTANCE_PATH"] = str(folder / "instance")
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.catalog.service import load_catalog, read_bundled_catalog

    app = create_app({"SECRET_KEY": "asked-only", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'db.sqlite3'}"})
    with app.app_context():
        import contextlib
        import io

        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
        load_catalog(read_bundled_catalog())
    personas = PERSONAS
    if args.records:
        result = app.test_cli_runner().invoke(args=["trials", "import-ctgov", "--show", *args.records])
        if result.exit_code != 0:
            raise SystemExit(result.output)
        shown = sum(1 for line in result.output.splitlines() if "shown to patients" in line)
        print(f"imported {len(args.records)} file(s); {shown} studies shown to patients")
        personas = REGISTRY_PERSONAS
    import logging

    logging.getLogger("webapp").setLevel(logging.WARNING)
    for name, persona in personas.items():
        asked = walk(app.test_client(), persona)
        print(f"{name}: {len(asked)} questions — {', '.join(asked)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
