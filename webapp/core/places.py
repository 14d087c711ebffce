"""How far each study's sites are from where a person lives.

Distance never changes a verdict. It orders the studies within each result group (those with
a near site first), narrows the list when the person asks for it (within 25, 100 or 500 miles),
and says on each card which site is nearest.

The sites are indexed once per catalog in a grid of one-degree cells, so a person's screening
measures only the sites in the cells around them; the rest are "far".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EARTH_KM = 6371.0088
KM_PER_MILE = 1.609344
# Sites further than this are "far": measured only for the cards on the page.
NEAR_KM = 500 * KM_PER_MILE
# The nearest site of a card further than this gets the note about help with travel.
FAR_KM = 100 * KM_PER_MILE
FILTER_MILES = (25, 100, 500)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(min(1.0, h)))


def valid_point(lat: object, lon: object) -> bool:
    return (isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and not isinstance(lat, bool)
            and not isinstance(lon, bool) and -90 <= lat <= 90 and -180 <= lon <= 180)


@dataclass(frozen=True, slots=True)
class Site:
    lat: float
    lon: float
    # The site is taking people (its own status, or the study's when the record gives none).
    taking: bool
    # Its place in the study's list of locations, for the card and the sites page.
    number: int


@dataclass(frozen=True, slots=True)
class Nearest:
    site: Site
    km: float
    # How many of the study's sites are within 100 miles.
    within_100_miles: int


def nearest_site(sites: Sequence[Site], lat: float, lon: float) -> Nearest | None:
    """The nearest site taking people (or, when none is, the nearest site)."""
    if not sites:
        return None
    measured = [(distance_km(lat, lon, s.lat, s.lon), s) for s in sites]
    taking = [m for m in measured if m[1].taking] or measured
    km, site = min(taking, key=lambda m: m[0])
    return Nearest(site, km, sum(1 for d, _ in measured if d <= FAR_KM))


def by_distance(sites: Sequence[Site], lat: float, lon: float) -> list[tuple[float, Site]]:
    return sorted(((distance_km(lat, lon, s.lat, s.lon), s) for s in sites), key=lambda m: (m[0], m[1].number))


class SiteGrid:
    """Every located site of the listed studies, in one-degree cells."""

    def __init__(self, sites_by_position: Sequence[Sequence[Site]]):
        self.cells: dict[tuple[int, int], list[tuple[int, Site]]] = {}
        self.located = 0
        for position, sites in enumerate(sites_by_position):
            if sites:
                self.located |= 1 << position
            # The sites a study's distance is measured to: those taking people, if any is.
            for site in [s for s in sites if s.taking] or sites:
                self.cells.setdefault((math.floor(site.lat), math.floor(site.lon)), []).append((position, site))

    def near(self, lat: float, lon: float, within_km: float = NEAR_KM) -> dict[int, float]:
        """For each study with a site within `within_km`: the distance to its nearest site taking
        people (or, when none of its sites is taking people, to its nearest site)."""
        if not self.cells:
            return {}
        rows = math.ceil(within_km / 111.0)
        cos_lat = max(0.05, math.cos(math.radians(min(89.0, abs(lat) + rows))))
        columns = min(180, math.ceil(within_km / (111.0 * cos_lat)))
        found: dict[int, float] = {}
        base_lat, base_lon = math.floor(lat), math.floor(lon)
        for row in range(base_lat - rows, base_lat + rows + 1):
            for column in range(base_lon - columns, base_lon + columns + 1):
                wrapped = (column + 180) % 360 - 180
                for position, site in self.cells.get((row, wrapped), ()):
                    km = distance_km(lat, lon, site.lat, site.lon)
                    if km <= within_km and km < found.get(position, math.inf):
                        found[position] = km
        return found


# A site's status under which it is taking people (ClinicalTrials.gov location statuses).
TAKING_PEOPLE = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})
US_NAMES = frozenset({"united states", "united states of america", "usa", "us"})


def sites_from(locations: Sequence[Mapping[str, Any]] | None, study_status: str,
               zip_point: Callable[[str], tuple[float, float] | None]) -> tuple[Site, ...]:
    """The located sites of a study's registry locations: the record's own coordinates, or a
    U.S. site's ZIP code's (`zip_point`); a site with neither is listed but not located."""
    found = []
    for number, location in enumerate(locations or ()):
        if not isinstance(location, Mapping):
            continue
        lat, lon = location.get("lat"), location.get("lon")
        if not valid_point(lat, lon):
            zip_code = str(location.get("zip") or "")[:5]
            country = str(location.get("country") or "United States").strip().lower()
            point = zip_point(zip_code) if country in US_NAMES and len(zip_code) == 5 else None
            if point is None:
                continue
            lat, lon = point
        status = location.get("status") or study_status
        found.append(Site(float(lat), float(lon), status in TAKING_PEOPLE, number))  # type: ignore[arg-type]
    return tuple(found)


def miles(km: float) -> float:
    return km / KM_PER_MILE
