"""How far each study's sites are from where a person lives.

Distance never changes a verdict. It orders the studies within each result group (those with
a near site first), narrows the list when the person asks for it (within 25, 100 or 500 miles),
and says on each card which site is nearest.

The sites are kept once per catalog as arrays sorted by latitude, so a person's screening
measures only the sites in the band of latitude around them, all at once; the rest are "far".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


class NearSites:
    """The studies with a site within some distance of a person: their positions (ascending)
    and the kilometres to each one's nearest measured site."""

    __slots__ = ("positions", "km")

    def __init__(self, positions: np.ndarray, km: np.ndarray):
        self.positions, self.km = positions, km

    def __len__(self) -> int:
        return len(self.positions)

    def __bool__(self) -> bool:
        return len(self.positions) > 0

    def within(self, km: float) -> np.ndarray:
        """Positions of the studies with a site within `km`."""
        return self.positions[self.km <= km]

    def nearest_first(self, keep: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The positions `keep` (a boolean per catalog position) allows, nearest first (ties by
        position), from the start-th to before the stop-th. Only what the page needs is sorted."""
        chosen = keep[self.positions]
        positions, km = self.positions[chosen], self.km[chosen]
        if stop is not None and stop < len(positions):
            # The `stop` nearest (and any tied with the last of them), then sorted.
            cut = np.partition(km, stop - 1)[stop - 1]
            close = km <= cut
            positions, km = positions[close], km[close]
        order = np.lexsort((positions, km))
        return positions[order][start:stop]


# A located site as stored and gathered: packed, 21 bytes (`pack_sites`).
SITE_RECORD = np.dtype([("lat", "<f8"), ("lon", "<f8"), ("number", "<i4"), ("taking", "i1")])


def pack_sites(sites: Sequence[Site]) -> bytes:
    """A study's located sites as SITE_RECORD bytes (what `Trial.site_points` keeps)."""
    return np.array([(s.lat, s.lon, s.number, s.taking) for s in sites], dtype=SITE_RECORD).tobytes()


class SiteColumns:
    """Sites gathered study by study, as packed records (no object per site kept): the stored
    `Trial.site_points` as they are, or a study's sites packed here."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def add(self, sites: Sequence[Site]) -> None:
        self.parts.append(pack_sites(sites) if sites else b"")

    def add_packed(self, records: bytes) -> None:
        if len(records) % SITE_RECORD.itemsize:
            raise ValueError("not whole site records")
        self.parts.append(records)

    def records(self) -> tuple[np.ndarray, np.ndarray]:
        """(every site in study order, as SITE_RECORD; each study's number of sites). The parts
        are handed over (and let go) rather than kept twice."""
        parts, self.parts = self.parts, []
        counts = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        joined = b"".join(parts)
        del parts
        return np.frombuffer(joined, dtype=SITE_RECORD), counts // SITE_RECORD.itemsize


class SiteGrid:
    """Every located site of the listed studies, as arrays: a screening measures the sites in
    the band of latitude around the person at once (numpy). Only what that needs is kept (each
    measured site as a point on the unit sphere, and its study); a card's own sites come with
    the card (`TrialCard.sites`)."""

    def __init__(self, sites_by_position: Iterable[Sequence[Site]] | SiteColumns):
        columns = sites_by_position if isinstance(sites_by_position, SiteColumns) else SiteColumns()
        if columns is not sites_by_position:
            for sites in sites_by_position:  # type: ignore[union-attr]
                columns.add(sites)
        records, counts = columns.records()
        self.size = len(counts)
        self.located_positions = np.flatnonzero(counts)
        owner = np.repeat(np.arange(self.size, dtype=np.int32), counts)
        # The sites a study's distance is measured to: those taking people, if any of its are.
        taking = records["taking"].view(np.bool_)
        any_taking = np.zeros(self.size, dtype=bool)
        any_taking[owner[taking]] = True
        measured = np.flatnonzero(taking | ~any_taking[owner])
        del taking, any_taking
        # Sorted by latitude (as z, below, is: it grows with the latitude).
        order = measured[np.argsort(records["lat"][measured], kind="stable")]
        del measured
        self._owner = owner[order]
        del owner
        # Each measured site as a point on the unit sphere: the straight-line (chord) distance
        # to a person orders sites as the great-circle distance does, without trigonometry.
        # (Rows x, y, z: a person's point times them is one pass over the band's sites.)
        lat_r, lon_r = np.radians(records["lat"][order]), np.radians(records["lon"][order])
        del records, order
        self._xyz = np.empty((3, len(lat_r)))
        np.sin(lat_r, out=self._xyz[2])
        np.cos(lat_r, out=lat_r)
        np.multiply(lat_r, np.cos(lon_r), out=self._xyz[0])
        np.multiply(lat_r, np.sin(lon_r), out=self._xyz[1])
        del lat_r, lon_r
        self._z = self._xyz[2]

    def near(self, lat: float, lon: float, within_km: float = NEAR_KM) -> NearSites:
        """For each study with a site within `within_km`: the distance to its nearest site taking
        people (or, when none of its sites is taking people, to its nearest site)."""
        band = within_km / 111.0 + 0.01  # degrees of latitude, a little over
        edges = np.sin(np.radians(np.clip([lat - band, lat + band], -90.0, 90.0)))
        low, high = (int(i) for i in np.searchsorted(self._z, edges))
        if low == high:
            return NearSites(np.zeros(0, dtype=np.int64), np.zeros(0))
        p, q = math.radians(lat), math.radians(lon)
        # For points on the unit sphere the squared chord is 2 - 2 × their dot product: the
        # nearest site has the largest dot product. The limit is `within_km`'s. (Element-wise,
        # not a matrix product: BLAS would start threads in every worker.)
        x, y, z = self._xyz[:, low:high]
        dot = x * (math.cos(p) * math.cos(q))
        dot += y * (math.cos(p) * math.sin(q))
        dot += z * math.sin(p)
        limit = 1 - (2 * math.sin(min(math.pi / 2, within_km / (2 * EARTH_KM)))) ** 2 / 2
        # Each study's best over all its band's sites (picking the close ones first costs more
        # than it saves), then the studies within the limit.
        best = np.full(self.size, -np.inf)
        np.maximum.at(best, self._owner[low:high], dot)
        positions = np.flatnonzero(best >= limit)
        chord = np.sqrt(np.maximum(0.0, 2 - 2 * best[positions]))
        return NearSites(positions, 2 * EARTH_KM * np.arcsin(np.minimum(1.0, chord / 2)))


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
