"""Splitting a registry record's eligibility text into the lines staff go through. A header is
dropped, so nothing that says something may be taken for one: every word of every criterion
in the 234 sample records reaches a line."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from conftest import RECORDS
from webapp.core.eligibility_text import (BULLET, EXCLUSION, INCLUSION, LEADING_HEADER, OTHER, SUBHEADING, _glued_header, _header,
                                         split_lines, unescape)

WORD = re.compile(r"[A-Za-z0-9]+")
STUDIES = json.loads((RECORDS / "registry" / "diabetes-studies.json").read_text())["studies"]


def texts(text: str) -> list[tuple[str, str]]:
    return [(line.section, line.full_text) for line in split_lines(text)]


@pytest.mark.parametrize("header, section", [
    ("Inclusion Criteria:", INCLUSION), ("Key Exclusion Criteria", EXCLUSION), ("**Exclusion criteria:**", EXCLUSION),
    ("Inclusion Criteria for CKD Participants:", INCLUSION), ("Exclusion Criteria - For all participants", EXCLUSION),
    ("Screening (Visit 1) Inclusion Criteria", INCLUSION), ("Non-Inclusion Criteria:", EXCLUSION),
    ("Exclusion:", EXCLUSION), ("Inclusion criteria for daughters are:", INCLUSION),
])
def test_headers_are_recognised(header, section):
    assert _header(header) == (section, re.sub(r"^[#*_\s]+|[*_\s:]+$", "", header))


@pytest.mark.parametrize("line", [
    "Exclusion criteria include current pregnancy, eGFR below 30 or active infection",
    "Meeting any exclusion criteria based on specific contraindications to their home oral therapy",
    "Does not live within the distance inclusion criteria",
    "Meets all inclusion criteria",
    "These exclusion criteria may be waived if the recruit's personal hepatologist approves an exception",
    "Not meeting the inclusion criteria",
])
def test_a_line_that_says_something_is_never_a_header(line):
    assert _header(line) is None
    assert [text for _, text in texts(line)] == [line]


def test_a_header_with_its_first_criterion_on_the_same_line():
    assert texts("Exclusion: pregnancy\nInclusion Criteria: Adults with type 2 diabetes") == [
        (EXCLUSION, "pregnancy"), (INCLUSION, "Adults with type 2 diabetes")]


def test_bullets_nesting_and_sections():
    text = ("Inclusion Criteria:\n\n* Age 18 to 75\n* HbA1c 7.0 to 10.5 %\n  * measured at screening\n\n"
            "Exclusion Criteria:\n\n1. Pregnancy\n2. eGFR \\< 30")
    lines = split_lines(text)
    assert [(l.section, l.text, l.children) for l in lines] == [
        (INCLUSION, "Age 18 to 75", ()), (INCLUSION, "HbA1c 7.0 to 10.5 %", ("measured at screening",)),
        (EXCLUSION, "Pregnancy", ()), (EXCLUSION, "eGFR < 30", ())]
    assert split_lines("Adults only. Must own a phone.")[0].section == OTHER


# Every line of the 234 sample records taken for a header (and so not shown as a line), as
# reviewed by hand: each says only which section follows, and for whom.
DROPPED_AS_HEADERS = {
    "Additional exclusion criteria for diabetes subjects:",
    "Exclusion Criteria",
    "Exclusion Criteria - For all participants :",
    "Exclusion Criteria for CKD and non-CKD Participants:",
    "Exclusion Criteria for PWD:",
    "Exclusion Criteria for adolescent participants:",
    "Exclusion Criteria for caregiver participants:",
    "Exclusion Criteria:",
    "Exclusion criteria for CP:",
    "Exclusion criteria for optional muscle biopsy",
    "Exclusion criteria:",
    "Eye-Related Inclusion Criteria:",
    "Inclusion Criteria",
    "Inclusion Criteria - For all participants :",
    "Inclusion Criteria - For the non-obese group with impaired renal function",
    "Inclusion Criteria - For the non-obese group with normal renal function (control group)",
    "Inclusion Criteria - For the obese group with impaired renal function",
    "Inclusion Criteria - For the obese group with normal renal function",
    "Inclusion Criteria for CKD Participants:",
    "Inclusion Criteria for CP:",
    "Inclusion Criteria for Clinics:",
    "Inclusion Criteria for PWD:",
    "Inclusion Criteria for Participants:",
    "Inclusion Criteria for adolescent participants:",
    "Inclusion Criteria for caregiver participants:",
    "Inclusion Criteria for controls (patients relatives and unrelated subjects):",
    "Inclusion Criteria for daughters are:",
    "Inclusion Criteria for healthy controls:",
    "Inclusion Criteria for non-CKD Participants:",
    "Inclusion Criteria:",
    "Inclusion criteria for cases:",
    "Inclusion criteria for mothers are:",
    "Inclusion criteria for patients",
    "Inclusion criteria for patients:",
    "Inclusion criteria of the controls were as follows:",
    "Inclusion criteria:",
    "Key Exclusion Criteria:",
    "Key Inclusion Criteria:",
    "Main Exclusion Criteria",
    "Main Exclusion Criteria:",
    "Main Inclusion Criteria",
    "Main Inclusion Criteria:",
    "Non-Inclusion Criteria:",
    "Original inclusion criteria for participation in the RCTs at all sites included:",
    "Participant-Related Exclusion Criteria:",
    "Participant-Related Inclusion Criteria:",
    "Randomization (Visit 2) Inclusion Criteria",
    "Randomization Visit (Visit 2) Exclusion Criteria",
    "Screening (Visit 1) Inclusion Criteria",
    "Screening Visit (Visit 1) Exclusion Criteria",
    "The exclusion criteria for both daughters and mothers includes:",
    # Sentences that only open a list: "... must meet all of the following criteria:".
    "In order to be eligible to participate in this study, a participant must meet all of the following criteria:",
    "A participant who meets any of the following criteria will be excluded from participation in this study:",
    "Subjects will be excluded from the study for the following reasons:",
    "Women with the following risk factors will be excluded:",
    "Additional patient subject exclusions:",
}


def test_what_the_sample_records_lose_as_headers_is_only_headers():
    found = set()
    for study in STUDIES:
        text = study["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria") or ""
        for raw in text.split("\n"):
            bullet = BULLET.match(raw)
            body = (bullet.group("text") if bullet else raw).strip()
            if body and _header(body):
                found.add(body)
    assert found == DROPPED_AS_HEADERS


def words_of(text: str) -> Counter:
    return Counter(w.lower() for w in WORD.findall(unescape(text)))


def test_no_criterion_in_the_sample_records_is_lost():
    lost = {}
    for study in STUDIES:
        text = study["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria") or ""
        kept = Counter()
        for line in split_lines(text):
            kept += words_of(line.full_text)
        needed = Counter()
        for raw in text.split("\n"):
            bullet = BULLET.match(raw)
            body = bullet.group("text") if bullet else raw
            if _header(body) or (not bullet and SUBHEADING.match(body.strip())):
                continue  # a header, or a short "Part 1:" heading over the bullets below it
            leading, glued = LEADING_HEADER.match(body.strip()), _glued_header(body.strip())
            needed += words_of(leading.group("after") if leading else glued.group("before") if glued else body)
        missing = needed - kept
        if missing:
            lost[study["protocolSection"]["identificationModule"]["nctId"]] = dict(missing)
    assert lost == {}
