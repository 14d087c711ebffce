"""Reads a ClinicalTrials.gov API v2 study record into the fields a trial keeps.

Pure functions over the parsed JSON: every problem raises RegistryRecordError naming the
field path ("protocolSection.eligibilityModule.minimumAge"), so nothing half-read is written.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.places import valid_point
from ..core.typed import plain_digits
from .limits import first_nul, text_problem
from .schema import REGISTRY_STATUSES

# ASCII digits only: `\d` would also take other scripts' digits, which then fail further on
# or import as a look-alike of the real study. Other scripts are turned into ASCII on purpose
# first (`registry_number`).
NCT_ID = re.compile(r"^NCT[0-9]{8}$")
_DATE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$")
_AGE = re.compile(r"^\s*([0-9]{1,4}(?:\.[0-9]{1,4})?)\s+([A-Za-z]+)\s*$")
# No person is older; a limit above it is a mistake in the record.
OLDEST_AGE_YEARS = 120
MAX_RECORD_BYTES = 5 * 1024 * 1024
# Registry keys and the catalog field whose length limit they share.
_LIMIT_KEYS = {"nctId": "registry_id", "briefTitle": "brief_title", "officialTitle": "official_title",
               "overallStatus": "status", "briefSummary": "summary", "eligibilityCriteria": "eligibility_text",
               "minimumAge": "minimum_age", "maximumAge": "maximum_age"}
# Length of one unit in years (ClinicalTrials.gov units: Year(s) ... Minute(s)).
AGE_UNITS = {
    "year": 1.0,
    "month": 1 / 12,
    "week": 7 / 365.25,
    "day": 1 / 365.25,
    "hour": 1 / (365.25 * 24),
    "minute": 1 / (365.25 * 24 * 60),
}
PHASES = {"NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4"}
SEXES = {"ALL", "FEMALE", "MALE"}
class RegistryRecordError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


class RegistryUnavailable(RuntimeError):
    pass


@dataclass
class RegistryStudy:
    """What a trial takes from the registry. Updated on every re-import."""

    registry_id: str
    registry_url: str
    brief_title: str
    official_title: str
    acronym: str | None
    status: str
    status_verified: str | None
    registry_updated: str | None
    sponsor: str | None
    brief_summary: str | None
    registry_conditions: list[str]
    phases: list[str]
    sex: str | None
    minimum_age: str | None
    maximum_age: str | None
    minimum_years: float | None
    maximum_years: float | None
    eligibility_text: str | None
    locations: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)

    def registry_fields(self) -> dict[str, Any]:
        """The trial columns a (re-)import sets."""
        phase = ", ".join(self.phases) if self.phases else None
        return {
            "registry_url": self.registry_url, "brief_title": self.brief_title,
            "official_title": self.official_title, "acronym": self.acronym,
            "status": self.status, "status_verified": self.status_verified,
            "registry_updated": self.registry_updated, "sponsor": self.sponsor,
            "registry_conditions": self.registry_conditions, "phases": self.phases,
            "phase": phase, "sex": self.sex, "minimum_age": self.minimum_age,
            "maximum_age": self.maximum_age, "eligibility_text": self.eligibility_text,
            "locations": self.locations, "contacts": self.contacts,
        }


def registry_number(text: str) -> str:
    """A registry number as staff may type it: other scripts' digits and spaces made plain,
    letters in capitals ("nct 0620 5342" -> "NCT06205342")."""
    return "".join(plain_digits(text).split()).upper()


def parse_json(text: str | bytes) -> Any:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = f" at line {error.lineno}, column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise RegistryRecordError("record", f"is not valid JSON{where}") from None
    except RecursionError:
        raise RegistryRecordError("record", "is nested too deeply to be a registry record") from None
    where = first_nul(document)
    if where is not None:
        raise RegistryRecordError(where, "must not contain a NUL character")
    return document


def studies_in(document: Any) -> list[Mapping[str, Any]]:
    """One study, a list of studies, or the API's {"studies": [...]} page."""
    if isinstance(document, Mapping) and isinstance(document.get("studies"), list):
        document = document["studies"]
    if isinstance(document, list):
        if not document:
            raise RegistryRecordError("studies", "is empty")
        for index, item in enumerate(document):
            if not isinstance(item, Mapping):
                raise RegistryRecordError(f"studies[{index}]", "must be a study object")
        return list(document)
    if not isinstance(document, Mapping):
        raise RegistryRecordError("record", "must be a JSON object")
    return [document]


class _Reader:
    def __init__(self, root: Mapping[str, Any]):
        self.root = root

    def module(self, name: str, required: bool = False) -> Mapping[str, Any]:
        protocol = self.root.get("protocolSection")
        if not isinstance(protocol, Mapping):
            raise RegistryRecordError("protocolSection", "is missing or not an object")
        value = protocol.get(name)
        if value is None:
            if required:
                raise RegistryRecordError(f"protocolSection.{name}", "is missing")
            return {}
        if not isinstance(value, Mapping):
            raise RegistryRecordError(f"protocolSection.{name}", "must be an object")
        return value

    @staticmethod
    def text(module: Mapping[str, Any], key: str, path: str, required: bool = False,
             limit: str | None = None) -> str | None:
        value = module.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise RegistryRecordError(f"{path}.{key}", "is missing")
            return None
        if not isinstance(value, str):
            raise RegistryRecordError(f"{path}.{key}", f"must be text, not {type(value).__name__}")
        problem = text_problem(limit or _LIMIT_KEYS.get(key, key), value.strip())
        if problem:
            raise RegistryRecordError(f"{path}.{key}", problem)
        return value.strip()

    @staticmethod
    def texts(module: Mapping[str, Any], key: str, path: str) -> list[str]:
        value = module.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RegistryRecordError(f"{path}.{key}", "must be a list of text")
        return [v.strip() for v in value if v.strip()]


def age_in_years(text: str | None, path: str) -> float | None:
    """'18 Years' -> 18.0, '6 Months' -> 0.5; a missing age means no limit (None)."""
    if text is None:
        return None
    match = _AGE.match(text)
    unit = match.group(2).lower().rstrip("s") if match else ""
    if not match or unit not in AGE_UNITS:
        raise RegistryRecordError(path, f"{text[:40]!r} is not an age like '18 Years' or '6 Months'")
    years = float(match.group(1)) * AGE_UNITS[unit]
    if years > OLDEST_AGE_YEARS:
        raise RegistryRecordError(path, f"{text!r} is older than any person: correct the record "
                                        f"(leave the limit out when there is none)")
    return years


def _date(module: Mapping[str, Any], key: str, path: str) -> str | None:
    value = _Reader.text(module, key, path)
    if value is not None and not _DATE.match(value):
        raise RegistryRecordError(f"{path}.{key}", f"{value!r} is not a date like 2024-08 or 2024-08-15")
    return value


def _contact(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise RegistryRecordError(path, "must be an object")
    contact = {key: _Reader.text(item, key, path) for key in ("name", "role", "phone", "email")}
    return {key: value for key, value in contact.items() if value}


def read_study(record: Mapping[str, Any]) -> RegistryStudy:
    reader = _Reader(record)
    ident = reader.module("identificationModule", required=True)
    path = "protocolSection.identificationModule"
    nct_id = registry_number(reader.text(ident, "nctId", path, required=True) or "")
    if not NCT_ID.match(nct_id):
        raise RegistryRecordError(f"{path}.nctId", f"{nct_id!r} is not a registry number like NCT01234567")
    brief_title = reader.text(ident, "briefTitle", path, required=True)
    official_title = reader.text(ident, "officialTitle", path) or brief_title

    status_module = reader.module("statusModule", required=True)
    spath = "protocolSection.statusModule"
    status = reader.text(status_module, "overallStatus", spath, required=True)
    if status not in REGISTRY_STATUSES:
        raise RegistryRecordError(f"{spath}.overallStatus", f"{status!r} is not a registry status")
    updated = status_module.get("lastUpdatePostDateStruct") or {}
    if not isinstance(updated, Mapping):
        raise RegistryRecordError(f"{spath}.lastUpdatePostDateStruct", "must be an object")

    sponsor_module = reader.module("sponsorCollaboratorsModule")
    lead = sponsor_module.get("leadSponsor") or {}
    if not isinstance(lead, Mapping):
        raise RegistryRecordError("protocolSection.sponsorCollaboratorsModule.leadSponsor", "must be an object")

    design = reader.module("designModule")
    phases = reader.texts(design, "phases", "protocolSection.designModule")
    for index, phase in enumerate(phases):
        if phase not in PHASES:
            raise RegistryRecordError(f"protocolSection.designModule.phases[{index}]", f"{phase!r} is not a phase")

    eligibility = reader.module("eligibilityModule")
    epath = "protocolSection.eligibilityModule"
    sex = reader.text(eligibility, "sex", epath)
    if sex is not None and sex not in SEXES:
        raise RegistryRecordError(f"{epath}.sex", f"{sex!r} must be ALL, FEMALE or MALE")
    minimum_age = reader.text(eligibility, "minimumAge", epath)
    maximum_age = reader.text(eligibility, "maximumAge", epath)
    minimum_years = age_in_years(minimum_age, f"{epath}.minimumAge")
    maximum_years = age_in_years(maximum_age, f"{epath}.maximumAge")
    if minimum_years is not None and maximum_years is not None and minimum_years > maximum_years:
        raise RegistryRecordError(f"{epath}.minimumAge", "is above the maximum age")

    contacts_module = reader.module("contactsLocationsModule")
    cpath = "protocolSection.contactsLocationsModule"
    central = contacts_module.get("centralContacts") or []
    locations_raw = contacts_module.get("locations") or []
    for key, value in (("centralContacts", central), ("locations", locations_raw)):
        if not isinstance(value, list):
            raise RegistryRecordError(f"{cpath}.{key}", "must be a list")
    locations = []
    for index, item in enumerate(locations_raw):
        lpath = f"{cpath}.locations[{index}]"
        if not isinstance(item, Mapping):
            raise RegistryRecordError(lpath, "must be an object")
        location = {key: reader.text(item, key, lpath) for key in
                    ("facility", "status", "city", "state", "zip", "country")}
        contacts = item.get("contacts") or []
        if not isinstance(contacts, list):
            raise RegistryRecordError(f"{lpath}.contacts", "must be a list")
        location["contacts"] = [_contact(c, f"{lpath}.contacts[{i}]") for i, c in enumerate(contacts)]
        point = item.get("geoPoint")
        if isinstance(point, Mapping) and valid_point(point.get("lat"), point.get("lon")):
            location.update(lat=float(point["lat"]), lon=float(point["lon"]), coordinates="registry")
        locations.append({k: v for k, v in location.items() if v or k in ("lat", "lon")})

    return RegistryStudy(
        registry_id=nct_id,
        registry_url=f"https://clinicaltrials.gov/study/{nct_id}",
        brief_title=brief_title,
        official_title=official_title,
        acronym=reader.text(ident, "acronym", path),
        status=status,
        status_verified=_date(status_module, "statusVerifiedDate", spath),
        registry_updated=_date(updated, "date", f"{spath}.lastUpdatePostDateStruct"),
        sponsor=reader.text(lead, "name", "protocolSection.sponsorCollaboratorsModule.leadSponsor", limit="sponsor"),
        brief_summary=reader.text(reader.module("descriptionModule"), "briefSummary",
                                  "protocolSection.descriptionModule"),
        registry_conditions=reader.texts(reader.module("conditionsModule"), "conditions",
                                         "protocolSection.conditionsModule"),
        phases=phases,
        sex=sex,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        minimum_years=minimum_years,
        maximum_years=maximum_years,
        eligibility_text=reader.text(eligibility, "eligibilityCriteria", epath),
        locations=locations,
        contacts=[_contact(c, f"{cpath}.centralContacts[{i}]") for i, c in enumerate(central)],
    )


def age_criterion_value(minimum: float | None, maximum: float | None) -> dict[str, int] | None:
    """Whole-year bounds for the engine; a part year becomes a band the study team checks.

    A person's age is asked in whole years, so someone who says 0 may be 0 to 11 months old:
    against a 6-month minimum that is unknown, not met or unmet. Returns None when the
    record gives no limit at all, or when the limits are too fine for whole years.
    """
    if minimum is None and maximum is None:
        return None
    value: dict[str, int] = {}
    if minimum is not None:
        if minimum.is_integer():
            value["min"] = int(minimum)
        else:
            value["min"], value["check_min"] = math.ceil(minimum), math.floor(minimum)
    if maximum is not None:
        if maximum.is_integer():
            value["max"] = int(maximum)
        else:
            value["max"], value["check_max"] = math.floor(maximum) - 1, math.floor(maximum)
    if "min" in value and "max" in value and value["min"] > value["max"]:
        return None
    return value


def fetch_study(registry_id: str, base_url: str, timeout: float) -> bytes:
    """Download one study record within `timeout` seconds for the whole request (a registry
    that trickles a byte at a time is cut off, not waited for); at most 5 MB. Raises
    RegistryUnavailable with a plain reason."""
    registry_id = registry_number(registry_id)
    if not NCT_ID.match(registry_id):
        raise RegistryRecordError("registry number", f"{registry_id[:40]!r} is not like NCT01234567")
    request = urllib.request.Request(base_url.rstrip("/") + "/" + registry_id,
                                     headers={"Accept": "application/json"})
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return _read_before(response, deadline)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise RegistryUnavailable(f"ClinicalTrials.gov has no study {registry_id}.") from None
        raise RegistryUnavailable(f"ClinicalTrials.gov answered with an error ({error.code}). Try again later.") from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise RegistryUnavailable(
            "Could not reach ClinicalTrials.gov (no connection, or it took too long). "
            "Download the study's JSON record from its page and upload it here instead."
        ) from None


def _read_before(response: Any, deadline: float) -> bytes:
    chunks, size = [], 0
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the registry took too long")
        if sock is not None:
            sock.settimeout(max(0.05, min(1.0, remaining)))  # each wait ends by the deadline
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RECORD_BYTES:
            raise RegistryUnavailable(
                f"ClinicalTrials.gov sent more than {MAX_RECORD_BYTES // (1024 * 1024)} MB for one study, more "
                "than a study record can be. Download the study's JSON record from its page and upload it here.")
        chunks.append(chunk)
