"""Synthetic catalogs for the benchmark: documents in the bundled catalog format, and databases.

`synthetic_catalog(n)` makes a catalog document with `n` made-up trials (registry ids
NCT9xxxxxxx, which ClinicalTrials.gov does not use yet) and the bundled education pages. The mix
of conditions, registry statuses, age limits and criteria follows the shape of a diabetes and
pancreatitis catalog: most trials are about type 2 diabetes, a fifth to a quarter about type 1,
a few about chronic pancreatitis, and so roughly 30 % relate to the benchmark person (type 1
diabetes and chronic pancreatitis, aged 40), spread over every verdict and status. Every
criterion uses only the facts and operators the engine supports, and every document passes
`webapp.catalog.schema.validate_catalog`.

`build_database(url, document, method)` migrates a fresh database and loads a document either
through the app's own `load_catalog` ("service") or with bulk inserts ("bulk", for 10,000
trials, where the service's per-trial flushes take minutes). `--smoke` checks that both give
the same export.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections.abc import Sequence
from typing import Any

from webapp.catalog.schema import FORMAT, FORMAT_VERSION, validate_catalog
from webapp.core.engine import Criterion, Operator
from webapp.core.screening import TrialSpec

SEED = 20261121
GENERATOR_VERSION = "1"

# (conditions, weight in %). Persons with type 1 and chronic pancreatitis relate to the
# rows that mention either, or "any".
CONDITION_MIX: Sequence[tuple[tuple[str, ...], int]] = (
    (("type2",), 46),
    (("type1",), 21),
    (("type1", "type2"), 6),
    (("other_diabetes",), 8),
    (("type2", "other_diabetes"), 7),
    (("chronic_pancreatitis",), 4),
    (("chronic_pancreatitis", "other_diabetes"), 2),
    (("type1", "chronic_pancreatitis"), 1),
    (("type2", "chronic_pancreatitis"), 1),
    (("any",), 1),
    (("type1", "type2", "other_diabetes"), 3),
)
# ClinicalTrials.gov overall statuses, roughly as registries hold them.
STATUS_MIX: Sequence[tuple[str, int]] = (
    ("RECRUITING", 26), ("NOT_YET_RECRUITING", 7), ("ENROLLING_BY_INVITATION", 3),
    ("ACTIVE_NOT_RECRUITING", 12), ("COMPLETED", 36), ("TERMINATED", 6), ("WITHDRAWN", 3),
    ("SUSPENDED", 1), ("UNKNOWN", 6),
)
# Age limits as (min, max, check_min, check_max); None means no limit. Weight in %.
AGE_MIX: Sequence[tuple[tuple[int | None, int | None, int | None, int | None] | None, int]] = (
    ((18, 65, None, None), 28), ((18, 75, None, None), 18), ((18, None, None, None), 18),
    ((18, 70, None, None), 8), ((12, 17, None, None), 4), ((6, 17, None, None), 3),
    ((18, 40, None, None), 5), ((18, 30, None, 40), 3), ((40, 80, None, None), 4),
    ((65, None, None, None), 2), ((21, 60, 18, 65), 2), (None, 5),
)
STUDY_TEAM_CHECKS = (
    ("An HbA1c blood test between 7% and 10%", "HbA1c 7.0-10.0 %"),
    ("A body mass index (BMI) between 20 and 40", "BMI 20-40 kg/m2"),
    ("Not pregnant or breastfeeding, and not planning a pregnancy", "exclusion: pregnancy"),
    ("Kidneys that work well enough (a blood test shows this)", "eGFR >= 45"),
    ("No heart attack or stroke in the last 6 months", "exclusion: recent CV event"),
    ("No cancer treatment in the last 5 years", "exclusion: malignancy within 5 years"),
    ("Not taking medicines that weaken the immune system", "exclusion: immunosuppressants"),
    ("Diabetes antibodies in your blood (a blood test shows this)", "autoantibody positive"),
    ("No severe low blood sugar episodes in the last 3 months", "exclusion: severe hypoglycaemia"),
    ("Able to use a continuous glucose monitor", "CGM use"),
    ("Liver tests in the normal range", "ALT/AST < 2.5 x ULN"),
    ("Chronic pancreatitis that scans show clearly", "Cambridge stage 1-3 on imaging"),
)
SPONSORS = (
    "Medical University of South Carolina", "University of Minnesota", "Joslin Diabetes Center",
    "Novo Nordisk A/S", "Eli Lilly and Company", "Sanofi", "Vertex Pharmaceuticals",
    "National Institute of Diabetes and Digestive and Kidney Diseases (NIDDK)",
    "VA Office of Research and Development", "Johns Hopkins University", "Mayo Clinic",
    "Stanford University", "University of Pittsburgh", "Indiana University", "Barbara Davis Center",
)
SITES = (
    ("Medical University of South Carolina", "Charleston, South Carolina"),
    ("Ralph H. Johnson VA Medical Center", "Charleston, South Carolina"),
    ("Mayo Clinic", "Rochester, Minnesota"), ("Joslin Diabetes Center", "Boston, Massachusetts"),
    ("Barbara Davis Center for Diabetes", "Aurora, Colorado"),
    ("Indiana University Health", "Indianapolis, Indiana"),
    ("UPMC Presbyterian", "Pittsburgh, Pennsylvania"), ("Stanford Hospital", "Palo Alto, California"),
    ("Johns Hopkins Hospital", "Baltimore, Maryland"), ("M Health Fairview", "Minneapolis, Minnesota"),
)
PHASES = ("EARLY_PHASE1", "PHASE1", "PHASE1", "PHASE2", "PHASE2", "PHASE3", "PHASE4", "NA")
TREATMENTS = (
    "a once-weekly injection", "a daily tablet", "stem cells from donated umbilical cords",
    "an insulin pump that adjusts itself", "a new kind of long-acting insulin",
    "a diet and exercise coaching program", "an app that reminds you to check your sugar",
    "an infusion that calms the immune system", "islet cells from a donor",
    "your own bone marrow stem cells", "a nerve block for pancreatitis pain",
    "pancreatic enzyme capsules", "a vitamin D supplement", "a continuous glucose monitor",
)
CONDITION_WORDS = {
    "type1": "type 1 diabetes", "type2": "type 2 diabetes",
    "chronic_pancreatitis": "chronic pancreatitis", "other_diabetes": "another kind of diabetes",
    "any": "diabetes or pancreas conditions",
}
SENTENCES = (
    "You would visit the study clinic about {visits} times over {months} months.",
    "Some visits include blood tests and a check of your blood sugar records.",
    "You might get a placebo, which looks the same but has no medicine in it.",
    "The study team will explain every step before you decide.",
    "You can leave the study at any time without losing your usual care.",
    "Ask the study team whether they help with travel and parking costs.",
    "You would keep a short diary of your meals, sugar levels or pain.",
    "Some people in the study wear a small sensor on the arm for two weeks.",
)


def _weighted(rng: random.Random, mix: Sequence[tuple[Any, int]]) -> Any:
    values, weights = zip(*mix)
    return rng.choices(values, weights)[0]


def _year_month(rng: random.Random, first: int, last: int) -> str:
    year = rng.randint(first, last)
    month = rng.randint(1, 12 if year < 2026 else 11)
    return f"{year:04d}-{month:02d}"


def _criterion(fact: str | None, operator: str, value: dict[str, Any], description: str,
               if_not_met: str | None, source: str, rng: random.Random,
               languages: Sequence[str]) -> dict[str, Any]:
    texts: dict[str, Any] = {}
    for lang in ("en", *languages):
        entry: dict[str, Any] = {"description": description if lang == "en" else f"[{lang}] {description}"}
        if if_not_met:
            entry["if_not_met"] = if_not_met if lang == "en" else f"[{lang}] {if_not_met}"
        texts[lang] = entry
    return {"fact": fact, "operator": operator, "source": source, "texts": texts, "value": value}


def _criteria(rng: random.Random, conditions: tuple[str, ...], sponsor: str,
              languages: Sequence[str]) -> list[dict[str, Any]]:
    c = lambda *args: _criterion(*args, rng=rng, languages=languages)  # noqa: E731
    items: list[dict[str, Any]] = []
    words = " or ".join(CONDITION_WORDS[x] for x in conditions)
    if "any" not in conditions:
        items.append(c("conditions", "one_of", {"met": list(conditions)},
                       f"You have {words}", f"This study is only for people with {words}.",
                       "Registry conditions"))
    age = _weighted(rng, AGE_MIX)
    if age is not None:
        low, high, check_low, check_high = age
        value = {k: v for k, v in (("min", low), ("max", high), ("check_min", check_low),
                                   ("check_max", check_high)) if v is not None}
        span = f"{low} to {high}" if high is not None else f"{low} or older"
        items.append(c("age_years", "between", value, f"You are {span} years old",
                       f"This study only takes people aged {span}.", f"Registry ages: {span}"))
    else:
        items.append(c(None, "study_team_checks", {}, "Age limits: not found in our sources",
                       None, "No age limits in the registry record"))
    if "type1" in conditions:
        kind = rng.random()
        if kind < 0.35:  # new-onset trials
            window = rng.choice(({"max": 3, "check_max": 6}, {"max": 6}, {"max": 12},
                                 {"max": 3}, {"min": 1, "max": 24}))
            items.append(c("months_since_type1_diagnosis", "between", window,
                           f"You were told you have type 1 diabetes less than {window['max']} months ago",
                           "This study is only for people who found out recently.",
                           "Registry: time since diagnosis"))
            items.append(c("type1_own_insulin", "one_of", {"met": ["yes"]},
                           "Your body still makes some of its own insulin (a blood test shows this)",
                           "This study is for people whose body still makes some insulin.",
                           "Registry: residual C-peptide"))
        elif kind < 0.6:  # established disease
            items.append(c("months_since_type1_diagnosis", "between",
                           {"min": rng.choice((12, 24, 60))},
                           "You have had type 1 diabetes for at least a year",
                           "This study is for people who have had type 1 diabetes for longer.",
                           "Registry: disease duration"))
    if "chronic_pancreatitis" in conditions:
        if rng.random() < 0.7:
            items.append(c("cp_pain_duration", "one_of",
                           {"met": ["over_6_months"], "check": ["about_6_months"]},
                           "You have had pain from chronic pancreatitis for more than 6 months",
                           "This study is for people who have had this pain for more than 6 months.",
                           "Registry: painful chronic pancreatitis > 6 months"))
        if rng.random() < 0.6:
            items.append(c("cp_dose_stable", "one_of", {"met": ["yes"]},
                           "Your pain medicine dose has stayed the same for the last month",
                           "You may be able to join once your dose has been steady for a month.",
                           "Registry: stable opioid dose 30 days"))
        if rng.random() < 0.5:
            items.append(c("cp_procedure_planned", "one_of", {"met": ["no"]},
                           "No procedure or surgery on your pancreas is planned in the next 6 months",
                           "This study does not take people who have a pancreas procedure planned soon.",
                           "Registry: exclusion, planned pancreas procedure"))
        if sponsor.startswith("VA "):
            items.append(c("veteran", "one_of", {"met": ["yes"], "check": ["no"]},
                           "You are a U.S. military veteran", None, "Sponsor: VA"))
    for text, source in rng.sample(STUDY_TEAM_CHECKS, rng.randint(0, 3)):
        items.append(c(None, "study_team_checks", {}, text, None, f"Registry: {source}"))
    return items


def _trial(rng: random.Random, index: int) -> dict[str, Any]:
    conditions = _weighted(rng, CONDITION_MIX)
    status = _weighted(rng, STATUS_MIX)
    sponsor = rng.choice(SPONSORS)
    site, city = rng.choice(SITES)
    treatment = rng.choice(TREATMENTS)
    words = " and ".join(CONDITION_WORDS[x] for x in conditions)
    registry_id = f"NCT9{index:07d}"
    # Most registry imports are English only; some trials have a reviewed Spanish text.
    languages = ("es",) if rng.random() < 0.15 else ()
    title = f"{treatment[0].upper()}{treatment[1:]} for {words}"
    summary = (f"This study tests if {treatment} is safe and helps people with {words}. "
               f"It is a {rng.choice(('small', 'mid-sized', 'large'))} study of about "
               f"{rng.choice((20, 40, 60, 120, 300, 800))} people, run by {sponsor}.")
    involves = " ".join(s.format(visits=rng.randint(3, 14), months=rng.choice((3, 6, 12, 24)))
                        for s in rng.sample(SENTENCES, rng.randint(2, 5)))
    texts: dict[str, Any] = {"en": {"title": title, "summary": summary, "involves": involves,
                                     "reviewed": True}}
    for lang in languages:
        texts[lang] = {"title": f"[{lang}] {title}", "summary": f"[{lang}] {summary}",
                       "involves": f"[{lang}] {involves}", "reviewed": rng.random() < 0.5}
    contacts = [{"name": f"Study coordinator {k + 1}", "phone": f"843-555-{rng.randint(0, 9999):04d}",
                 "email": f"study{index}-{k}@example.org"} for k in range(rng.choice((0, 0, 1, 2)))]
    sources = [{"label": f"ClinicalTrials.gov record {registry_id}",
                "url": f"https://clinicaltrials.gov/study/{registry_id}"}]
    if rng.random() < 0.4:
        sources.append({"label": "Sponsor's study page (third-party summary)", "url": None})
    return {
        "acronym": f"SYN-{index}" if rng.random() < 0.4 else None,
        "conditions": list(conditions),
        "contacts": contacts,
        "criteria": _criteria(rng, conditions, sponsor, languages),
        "facts_checked": _year_month(rng, 2025, 2026) + f"-{rng.randint(1, 28):02d}",
        "official_title": f"A Phase {rng.randint(1, 3)} Study of {title}",
        "phase": rng.choice(PHASES),
        "registry_id": registry_id,
        "registry_url": f"https://clinicaltrials.gov/study/{registry_id}",
        "site": site,
        "site_city": city,
        "sources": sources,
        "sponsor": sponsor,
        "status": status,
        "status_verified": _year_month(rng, 2023, 2026),
        "texts": texts,
    }


def synthetic_catalog(count: int, seed: int = SEED,
                      education_pages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A valid catalog document with `count` synthetic trials (deterministic for a seed)."""
    rng = random.Random(seed)
    if education_pages is None:
        from webapp.catalog.service import read_bundled_catalog
        education_pages = read_bundled_catalog()["education_pages"]
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "catalog_version": f"bench-{count}-{seed}-v{GENERATOR_VERSION}",
        "trials": [_trial(rng, i) for i in range(count)],
        "education_pages": education_pages,
    }
    validate_catalog(document)
    return document


def trial_specs_in_memory(document: dict[str, Any]) -> list[TrialSpec]:
    """TrialSpecs built straight from a document, the way the service builds them from rows."""
    specs = []
    for item in document["trials"]:
        criteria = tuple(
            Criterion(fact=c.get("fact"), operator=Operator(c["operator"]),
                      value=c.get("value") or {}, description=c["texts"]["en"]["description"],
                      if_not_met=c["texts"]["en"].get("if_not_met"))
            for c in item["criteria"]
        )
        specs.append(TrialSpec(item["registry_id"], item["status"], tuple(item["conditions"]),
                               criteria))
    return specs


# --- databases -------------------------------------------------------------------------------


def make_app(database_url: str, instance_path: str):  # type: ignore[no-untyped-def]
    import os

    os.environ["TRIALCHECK_INSTANCE_PATH"] = instance_path
    from webapp import create_app

    return create_app({"SECRET_KEY": "bench-build-only", "SQLALCHEMY_DATABASE_URI": database_url})


def build_database(database_url: str, instance_path: str, document: dict[str, Any],
                   method: str = "service") -> float:
    """Migrate a fresh database and load `document`; return the seconds the load took."""
    from flask_migrate import upgrade

    from webapp.extensions import db

    app = make_app(database_url, instance_path)
    with app.app_context():
        # Alembic's logging setup prints every migration step; keep the benchmark's output short.
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
        started = time.perf_counter()
        if method == "service":
            from webapp.catalog.service import load_catalog

            load_catalog(document)
        elif method == "bulk":
            bulk_load(document)
        else:
            raise ValueError(f"unknown load method {method!r}")
        elapsed = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return elapsed


def bulk_load(document: dict[str, Any]) -> None:
    """Insert a validated document into an empty database with executemany inserts.

    Writes the same columns `load_catalog` writes (the document's fields that are columns,
    plus positions); every other column gets its declared default. `--smoke` compares the
    export of both ways.
    """
    from sqlalchemy import insert

    from webapp.catalog.models import CatalogInfo, Criterion as CriterionRow, EducationPage, Trial
    from webapp.extensions import db

    validate_catalog(document)
    trial_columns = set(Trial.__table__.columns.keys())
    page_columns = set(EducationPage.__table__.columns.keys())
    criterion_columns = set(CriterionRow.__table__.columns.keys())
    trial_rows, criterion_rows = [], []
    for position, item in enumerate(document["trials"]):
        row = {k: v for k, v in item.items() if k in trial_columns and k != "criteria"}
        row.setdefault("contacts", [])
        row.update(id=position + 1, position=position)
        trial_rows.append(row)
        for index, entry in enumerate(item["criteria"]):
            criterion = {"trial_id": position + 1, "position": index, "fact": entry.get("fact"),
                         "operator": entry["operator"], "value": entry.get("value") or {},
                         "texts": entry["texts"], "source": entry.get("source")}
            criterion_rows.append({k: v for k, v in criterion.items() if k in criterion_columns})
    page_rows = []
    for position, item in enumerate(document["education_pages"]):
        row = {k: v for k, v in item.items() if k in page_columns}
        row["position"] = position
        page_rows.append(row)
    session = db.session
    session.execute(insert(Trial.__table__), trial_rows)
    if criterion_rows:
        session.execute(insert(CriterionRow.__table__), criterion_rows)
    if page_rows:
        session.execute(insert(EducationPage.__table__), page_rows)
    session.merge(CatalogInfo(key="catalog_version", value=document["catalog_version"]))
    session.commit()


def export_database(database_url: str, instance_path: str) -> dict[str, Any]:
    from webapp.catalog.service import export_catalog
    from webapp.extensions import db

    app = make_app(database_url, instance_path)
    with app.app_context():
        exported = export_catalog()
        db.session.remove()
        db.engine.dispose()
    return exported
