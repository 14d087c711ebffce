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
import json
import random
import time
from collections.abc import Sequence
from typing import Any

from webapp.catalog.bank import answers_by_fact, bank_from, bundled_document
from webapp.catalog.schema import FORMAT, FORMAT_VERSION, validate_catalog
from webapp.catalog.snapshot import criterion_for
from webapp.core.engine import Criterion
from webapp.core.questions import Bank
from webapp.core.screening import CatalogIndex, TrialSpec, screen
from webapp.core.places import SiteColumns, sites_from
from webapp.geo import zip_table

SEED = 20261121
GENERATOR_VERSION = "3"

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
# A ZIP in each of those cities, for the site's coordinates.
CITY_ZIPS = {"Charleston, South Carolina": "29425", "Rochester, Minnesota": "55905",
             "Boston, Massachusetts": "02215", "Aurora, Colorado": "80045",
             "Indianapolis, Indiana": "46202", "Pittsburgh, Pennsylvania": "15213",
             "Palo Alto, California": "94304", "Baltimore, Maryland": "21287",
             "Minneapolis, Minnesota": "55455"}
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


# How often the registry's free text asks for each standard fact, from the team's hand labels of
# 80 real diabetes records (registry-samples/labels-dev.json and two held-out sets), and how
# often the registry limits sex (23 of the 234 sample records).
FACT_SHARES = {"hba1c": 0.38, "bmi": 0.30, "pregnancy": 0.62, "english": 0.28, "insulin_use": 0.36,
               "time_since_diagnosis": 0.25, "sex": 0.10}
HBA1C_MIX: Sequence[tuple[dict[str, Any], int]] = (
    ({"min": 7.0, "max": 10.5, "unit": "%"}, 18), ({"min": 7.5, "max": 11.0, "unit": "%"}, 10),
    ({"max": 10.0, "unit": "%"}, 16), ({"max": 9.0, "unit": "%"}, 8), ({"min": 6.5, "unit": "%"}, 10),
    ({"min": 5.7, "max": 6.4, "unit": "%"}, 8), ({"max": 12.0, "unit": "%"}, 8),
    ({"min": 53, "max": 86, "unit": "mmol/mol"}, 6), ({"max": 10.0, "max_inclusive": False, "unit": "%"}, 8),
    ({"min": 8.0, "unit": "%"}, 8),
)
BMI_MIX: Sequence[tuple[dict[str, Any], int]] = (
    ({"max": 40}, 24), ({"min": 25, "max": 40}, 16), ({"min": 18.5, "max": 35}, 10), ({"max": 45}, 10),
    ({"min": 30}, 10), ({"min": 27}, 8), ({"max": 35}, 10), ({"min": 25.0, "max": 39.9}, 12),
)
DURATION_MIX: Sequence[tuple[dict[str, Any], int]] = (
    ({"min": 1, "unit": "years"}, 22), ({"min": 6, "unit": "months"}, 14), ({"max": 100, "unit": "days"}, 10),
    ({"max": 12, "unit": "months"}, 10), ({"min": 2, "unit": "years"}, 10), ({"max": 5, "unit": "years"}, 8),
    ({"min": 3, "unit": "months"}, 10), ({"max": 6, "unit": "months"}, 8), ({"min": 10, "unit": "years"}, 8),
)


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
    if rng.random() < FACT_SHARES["sex"]:
        sex = "female" if rng.random() < 0.9 else "male"
        items.append(c("sex", "one_of", {"met": [sex]}, f"You were assigned {sex} at birth",
                       f"This study is only for people assigned {sex} at birth.", "Registry: sex"))
    if "type1" in conditions and rng.random() < 0.35:  # new-onset trials
        window = rng.choice(({"max": 3, "check_max": 6, "unit": "months"}, {"max": 6, "unit": "months"},
                             {"max": 100, "unit": "days"}, {"max": 3, "unit": "months"}, {"min": 1, "max": 24, "unit": "months"}))
        items.append(c("time_since_diagnosis:type1", "between", window,
                       "You were told you have type 1 diabetes recently",
                       "This study is only for people who found out recently.",
                       "Registry: time since diagnosis"))
        items.append(c("type1_own_insulin", "one_of", {"met": ["yes"]},
                       "Your body still makes some of its own insulin (a blood test shows this)",
                       "This study is for people whose body still makes some insulin.",
                       "Registry: residual C-peptide"))
    elif rng.random() < FACT_SHARES["time_since_diagnosis"]:
        condition = rng.choice([x for x in conditions if x != "any"] or ["type2"])
        items.append(c(f"time_since_diagnosis:{condition}", "between", dict(_weighted(rng, DURATION_MIX)),
                       f"You were told you have {CONDITION_WORDS[condition]} within the study's window",
                       "This study is for people diagnosed within a certain time.", "Registry: disease duration"))
    if rng.random() < FACT_SHARES["hba1c"]:
        items.append(c("hba1c", "between", dict(_weighted(rng, HBA1C_MIX)), "Your A1C is in the study's range",
                       "This study is for people whose A1C is in its range.", "Registry: HbA1c"))
    if rng.random() < FACT_SHARES["bmi"]:
        items.append(c("bmi", "between", dict(_weighted(rng, BMI_MIX)), "Your BMI is in the study's range",
                       "This study is for people whose BMI is in its range.", "Registry: BMI"))
    if rng.random() < FACT_SHARES["pregnancy"]:
        items.append(c("pregnancy", "one_of", {"met": ["no"]},
                       "You are not pregnant, breastfeeding, or planning a pregnancy",
                       "This study does not take people who are pregnant.", "Registry: pregnancy"))
    if rng.random() < FACT_SHARES["english"]:
        items.append(c("english", "one_of", {"met": ["yes"]}, "You can take part in a study held in English",
                       "This study is held in English.", "Registry: English"))
    if rng.random() < FACT_SHARES["insulin_use"]:
        met = rng.choice((["yes"], ["no"]))
        items.append(c("insulin_use", "one_of", {"met": met},
                       "You take insulin now" if met == ["yes"] else "You do not take insulin now",
                       "This study is for people who take insulin." if met == ["yes"]
                       else "This study is for people who do not take insulin.", "Registry: insulin"))
    if "chronic_pancreatitis" in conditions:
        if rng.random() < 0.7:
            items.append(c("cp_pain_duration", "one_of",
                           {"met": ["over_6_months"], "edge": ["about_6_months"]},
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


# How many sites a study lists, from the 234 sample records (%, rounded): 10 % none, 60 % one,
# 9 % two, 7 % three or four, 5 % five to nine, 7 % ten to fifty, 2 % many more.
SITE_COUNT_MIX: Sequence[tuple[tuple[int, int], int]] = (
    ((0, 0), 10), ((1, 1), 60), ((2, 2), 9), ((3, 4), 7), ((5, 9), 5), ((10, 50), 7), ((60, 180), 2))


def _locations(rng: random.Random, site: str, city: str, status: str) -> list[dict[str, Any]]:
    """The study's sites: the named one first, then others at real U.S. ZIP points (from the
    app's own ZIP table, so coordinates are real places), each with its own status."""
    low, high = _weighted(rng, SITE_COUNT_MIX)
    count = rng.randint(low, high)
    if not count:
        return []
    zips = zip_table()
    name, state = city.split(", ")
    place = zips.find(CITY_ZIPS[city])
    assert place is not None
    locations = [{"facility": site, "city": name, "state": state, "country": "United States",
                  "zip": CITY_ZIPS[city], "lat": round(place.lat, 4), "lon": round(place.lon, 4),
                  "status": status}]
    for k in range(count - 1):
        i = rng.randrange(len(zips.zips))
        locations.append({
            "facility": f"Study site {k + 2}", "city": zips.cities[zips.city_i[i]],
            "state": zips.states[zips.state_i[i]], "country": "United States",
            "zip": f"{zips.zips[i]:05d}", "lat": round(float(zips.lat[i]), 4),
            "lon": round(float(zips.lon[i]), 4),
            "status": status if rng.random() < 0.8 else "NOT_YET_RECRUITING"})
    return locations


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
        "locations": _locations(rng, site, city, status),
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
    """A valid catalog document with `count` synthetic trials (deterministic for a seed), with
    the bundled question bank."""
    rng = random.Random(seed)
    bundled = bundled_document()
    if education_pages is None:
        education_pages = bundled["education_pages"]
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "catalog_version": f"bench-{count}-{seed}-v{GENERATOR_VERSION}",
        "conditions": bundled["conditions"], "facts": bundled["facts"], "questions": bundled["questions"],
        "trials": [_trial(rng, i) for i in range(count)],
        "education_pages": education_pages,
    }
    validate_catalog(document)
    return document


def index_in_memory(document: dict[str, Any]) -> tuple[Bank, CatalogIndex]:
    """The bank and the catalog index built straight from a document, the way the snapshot
    builds them from rows (identical rules shared)."""
    bank = bank_from(document)
    shared: dict[Any, Criterion] = {}
    specs = []
    sites = SiteColumns()
    for item in document["trials"]:
        criteria = []
        for c in item["criteria"]:
            key = json.dumps([c.get("fact"), c["operator"], c.get("value") or {}], sort_keys=True)
            if key not in shared:
                shared[key] = criterion_for(c.get("fact"), c["operator"], c.get("value") or {}, bank.facts)
            criteria.append(shared[key])
        specs.append(TrialSpec(item["registry_id"], item["status"], tuple(item["conditions"]), tuple(criteria)))
        sites.add(sites_from(item.get("locations"), item["status"], zip_point))
    return bank, CatalogIndex(specs, answers_by_fact(bank), sites=sites)


def zip_point(zip_code: str) -> tuple[float, float] | None:
    place = zip_table().find(zip_code)
    return (place.lat, place.lon) if place else None


def screen_answers(bank: Bank, index: CatalogIndex, answers: dict[str, Any], today: Any, lang: str = "en"):  # type: ignore[no-untyped-def]
    """One person's screening from stored answers, as the results page makes it."""
    facts, _ = bank.walk(answers, today, lang)
    return screen(index, facts, bank.chosen_conditions(answers))


# --- databases -------------------------------------------------------------------------------


def make_app(database_url: str, instance_path: str):  # type: ignore[no-untyped-def]
    import os

    os.environ["TRIALCHECK_INSTANCE_PATH"] = instance_path
    from webapp import create_app

    # Loading 100,000 studies takes longer than the app's background work is allowed.
    return create_app({"SECRET_KEY": "bench-build-only", "SQLALCHEMY_DATABASE_URI": database_url,
                       "BACKGROUND_DATABASE_SECONDS": 3600.0})


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
    from webapp.catalog.service import LoadReport, _load_bank, bump_revision
    from webapp.catalog.sites import site_points_for
    from webapp.core.eligibility_text import split_lines
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
        # The same counts count_untriaged_lines keeps for the staff list and the results page.
        triage = item.get("line_triage") or {}
        with_criterion = {c.get("line") for c in item["criteria"] if c.get("line")}
        keys = [line.key for line in split_lines(item.get("eligibility_text"))]
        row["line_triage"] = triage
        row["untriaged_lines"] = sum(1 for k in keys if k not in triage and k not in with_criterion)
        row["team_lines"] = sum(1 for k in keys if triage.get(k) == "study_team" and k not in with_criterion)
        # What the ORM's mapper event keeps up to date on every other write path.
        row["site_points"] = site_points_for(row.get("locations"), row["status"])
        trial_rows.append(row)
        for index, entry in enumerate(item["criteria"]):
            criterion = {"trial_id": position + 1, "position": index, "fact": entry.get("fact"),
                         "operator": entry["operator"], "value": entry.get("value") or {},
                         "texts": entry["texts"], "source": entry.get("source"),
                         "line_key": entry.get("line")}
            criterion_rows.append({k: v for k, v in criterion.items() if k in criterion_columns})
    page_rows = []
    for position, item in enumerate(document["education_pages"]):
        row = {k: v for k, v in item.items() if k in page_columns}
        row["position"] = position
        page_rows.append(row)
    session = db.session
    _load_bank(document, LoadReport(catalog_version=document["catalog_version"]), replace_edited=True)
    session.execute(insert(Trial.__table__), trial_rows)
    if criterion_rows:
        session.execute(insert(CriterionRow.__table__), criterion_rows)
    if page_rows:
        session.execute(insert(EducationPage.__table__), page_rows)
    session.merge(CatalogInfo(key="catalog_version", value=document["catalog_version"]))
    bump_revision()
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
