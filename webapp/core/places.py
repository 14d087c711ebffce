"""How far each study's sites are from where a person lives.

Distance never changes a verdict. It orders the studies within each result group (those with
a near site first), narrows the list when the person asks for it (within 25, 100 or 500 miles),
and says on each card which site is nearest.

The sites are kept once per catalog as arrays in rows of latitude, sorted by longitude in each
row, so a person's screening measures only the sites that can be within reach, all at once; the
rest are "far". A page's nearest studies are looked for close by first (`Nearby`).
"""

from __future__ import annotations

import math
from array import array
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
# Rows of latitude (one degree each) the sites are kept in.
ROWS = 180


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
    """The studies with a site within some distance of a person: their positions (ascending,
    which `nearest_first` relies on) and the kilometres to each one's nearest measured site."""

    __slots__ = ("positions", "km", "_nearest")

    def __init__(self, positions: np.ndarray, km: np.ndarray):
        self.positions, self.km = positions, km
        self._nearest: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.positions)

    def __bool__(self) -> bool:
        return len(self.positions) > 0

    def within(self, km: float) -> np.ndarray:
        """Positions of the studies with a site within `km`."""
        return self.positions[self.km <= km]

    def nearest_first(self, keep: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The positions `keep` holds, nearest first (ties by position), from the start-th to
        before the stop-th. `keep` is a set of catalog positions packed as bits (uint8, the
        lowest bit first). The studies are sorted once, for every group a page shows, and read
        only as far along as the page needs."""
        if self._nearest is None:
            # A stable sort keeps studies as far as each other in catalog order.
            nearest = self.positions[np.argsort(self.km, kind="stable")]
            self._nearest = (nearest, nearest >> 3, (nearest & 7).astype(np.uint8))
        nearest, byte, bit = self._nearest
        found, count, begin, chunk = [], 0, 0, 512
        while begin < len(nearest) and (stop is None or count < stop):
            end = len(nearest) if stop is None else min(len(nearest), begin + chunk)
            held = ((keep[byte[begin:end]] >> bit[begin:end]) & 1).view(bool)
            found.append(nearest[begin:end][held])
            count += len(found[-1])
            begin, chunk = end, chunk * 4
        return np.concatenate(found)[start:stop] if found else nearest[:0]


# A located site as stored and gathered: packed, 21 bytes (`pack_sites`).
SITE_RECORD = np.dtype([("lat", "<f8"), ("lon", "<f8"), ("number", "<i4"), ("taking", "i1")])


def pack_sites(sites: Sequence[Site]) -> bytes:
    """A study's located sites as SITE_RECORD bytes (what `Trial.site_points` keeps)."""
    return np.array([(s.lat, s.lon, s.number, s.taking) for s in sites], dtype=SITE_RECORD).tobytes()


class SiteColumns:
    """Sites gathered study by study into one buffer of packed records (no object per study or
    site kept): the stored `Trial.site_points` as they are, or a study's sites packed here. A
    study's sites can be put in later (`put`), for those worked out after the first pass."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._counts = array("q")
        self._later: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def add(self, sites: Sequence[Site]) -> None:
        self.add_packed(pack_sites(sites) if sites else b"")

    def add_packed(self, records: bytes | memoryview) -> None:
        if len(records) % SITE_RECORD.itemsize:
            raise ValueError("not whole site records")
        self._buffer += records
        self._counts.append(len(records) // SITE_RECORD.itemsize)

    def put(self, study: int, sites: Sequence[Site]) -> None:
        """The sites of the study-th study, which was added without them."""
        if self._counts[study]:
            raise ValueError("that study's sites were added already")
        self._later[study] = pack_sites(sites) if sites else b""

    def records(self) -> tuple[np.ndarray, np.ndarray]:
        """(every site in study order, as SITE_RECORD; each study's number of sites). The buffer
        is handed over (and let go here) rather than kept twice."""
        buffer, self._buffer = self._buffer, bytearray()
        counts = np.frombuffer(self._counts, dtype=np.int64).copy()
        self._counts = array("q")
        if self._later:
            # (Rare: stored points missing or stale.) Rebuilt once, with the late studies in place.
            later, self._later = self._later, {}
            ends = np.cumsum(counts) * SITE_RECORD.itemsize
            joined = bytearray()
            start = 0
            for study in sorted(later):
                joined += buffer[start:int(ends[study])]
                joined += later[study]
                counts[study] = len(later[study]) // SITE_RECORD.itemsize
                start = int(ends[study])
            joined += buffer[start:]
            buffer = joined
        return np.frombuffer(buffer, dtype=SITE_RECORD), counts


class SiteGrid:
    """Every located site of the listed studies, as arrays: a screening measures the sites that
    can be within reach of the person at once (numpy). Only what that needs is kept (each
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
        # Sorted by row of latitude (a degree each), then by longitude: the sites within some
        # distance of a person are a few runs of this order, one or two per row. Sites at the
        # same place (many studies share a hospital) come together, and each place is measured
        # once: the arrays below are per place, but for each site's study.
        lat, lon = records["lat"][measured], records["lon"][measured]
        rows = np.clip(np.floor(lat) + 90, 0, ROWS - 1).astype(np.int16)
        order = np.lexsort((lat, lon, rows))
        del records
        lat, lon, rows = lat[order], lon[order], rows[order]
        self._owner = owner[measured][order]
        del owner, measured, order
        new = np.ones(len(lat), dtype=bool)
        new[1:] = (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
        first = np.flatnonzero(new)
        del new
        # The sites of the p-th place are _owner[_place_starts[p]:_place_starts[p + 1]].
        self._place_starts = np.append(first, len(lat)).astype(np.int64)
        self._row_starts = np.searchsorted(rows[first], np.arange(ROWS + 1)).astype(np.int64)
        self._lon = lon[first].astype(np.float32)
        # Each place as a point on the unit sphere: the straight-line (chord) distance to a
        # person orders places as the great-circle distance does, without trigonometry.
        # (Rows x, y, z: a person's point times them is one pass over the chosen places.)
        lat_r, lon_r = np.radians(lat[first]), np.radians(lon[first])
        del lat, lon, rows, first
        self._xyz = np.empty((3, len(lat_r)))
        np.sin(lat_r, out=self._xyz[2])
        np.cos(lat_r, out=lat_r)
        np.multiply(lat_r, np.cos(lon_r), out=self._xyz[0])
        np.multiply(lat_r, np.sin(lon_r), out=self._xyz[1])
        del lat_r, lon_r

    def _runs(self, lat: float, lon: float, within_km: float) -> list[tuple[int, int]]:
        """The runs of places (start, stop) that hold every place within `within_km`, and a few
        more: the rows of latitude it reaches, and in each the longitudes it can reach."""
        band = within_km / 111.0 + 0.01  # degrees of latitude, a little over
        first = int(np.clip(math.floor(lat - band) + 90, 0, ROWS - 1))
        last = int(np.clip(math.floor(lat + band) + 90, 0, ROWS - 1))
        starts = self._row_starts
        # The widest longitude a circle around the person reaches (all of them, over a pole).
        angle = within_km / EARTH_KM
        reach = math.sin(angle) / max(1e-12, math.cos(math.radians(lat)))
        if angle >= math.pi / 2 or reach >= 1 or abs(lat) + band >= 90:
            return [(int(starts[first]), int(starts[last + 1]))]
        width = math.degrees(math.asin(reach)) + 0.01
        west, east = lon - width, lon + width
        spans = [(west, east)]
        if west < -180:
            spans = [(west + 360, 180.0), (-180.0, east)]
        elif east > 180:
            spans = [(west, 180.0), (-180.0, east - 360)]
        runs = []
        for row in range(first, last + 1):
            begin, end = int(starts[row]), int(starts[row + 1])
            if begin == end:
                continue
            lons = self._lon[begin:end]
            for low, high in spans:
                i = begin + int(np.searchsorted(lons, low, "left"))
                j = begin + int(np.searchsorted(lons, high, "right"))
                if i < j:
                    runs.append((i, j))
        return runs

    def near(self, lat: float, lon: float, within_km: float = NEAR_KM) -> NearSites:
        """For each study with a site within `within_km`: the distance to its nearest site taking
        people (or, when none of its sites is taking people, to its nearest site)."""
        runs = self._runs(lat, lon, within_km)
        if not any(j > i for i, j in runs):
            return NearSites(np.zeros(0, dtype=np.int64), np.zeros(0))
        p, q = math.radians(lat), math.radians(lon)
        # For points on the unit sphere the squared chord is 2 - 2 × their dot product: the
        # nearest site has the largest dot product. (Element-wise, run by run, not a matrix
        # product: BLAS would start threads in every worker.)
        a, b, c = math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)
        # Each study's best over all its chosen sites, then the studies within the limit.
        best = np.full(self.size, -np.inf)
        for i, j in runs:
            x, y, z = self._xyz[:, i:j]
            dot = x * a
            dot += y * b
            dot += z * c
            # Each place's value for each of its sites' studies.
            starts = self._place_starts[i:j + 1]
            np.maximum.at(best, self._owner[starts[0]:starts[-1]], np.repeat(dot, np.diff(starts)))
        limit = 1 - (2 * math.sin(min(math.pi / 2, within_km / (2 * EARTH_KM)))) ** 2 / 2
        positions = np.flatnonzero(best >= limit)
        chord = np.sqrt(np.maximum(0.0, 2 - 2 * best[positions]))
        return NearSites(positions, 2 * EARTH_KM * np.arcsin(np.minimum(1.0, chord / 2)))


class Nearby:
    """The studies with a site within `limit_km` of a person, measured only as far out as a
    page needs: a group's nearest studies are looked for within 25 miles, then 100, and all of
    `limit_km` is measured only when fewer of the group's studies than the page shows are that
    close (or when every near study is asked for). Each distance is the same as measuring all
    of `limit_km` gives: a study's nearest site within a radius is its nearest site."""

    STEPS_KM = (25 * KM_PER_MILE, 100 * KM_PER_MILE)

    __slots__ = ("grid", "lat", "lon", "limit_km", "_measured")

    def __init__(self, grid: SiteGrid, lat: float, lon: float, limit_km: float = NEAR_KM):
        self.grid, self.lat, self.lon, self.limit_km = grid, lat, lon, limit_km
        self._measured: dict[float, NearSites] = {}

    def close(self, km: float) -> NearSites:
        """The studies with a site within `km` (at most `limit_km`), with their distances."""
        km = min(km, self.limit_km)
        found = self._measured.get(km)
        if found is None:
            if km == self.limit_km:
                found = self.grid.near(self.lat, self.lon, km)
            else:
                # Measured a little further out, then cut at `km` by the same test as for all.
                wider = self.close(self.limit_km) if self.limit_km in self._measured else \
                    self.grid.near(self.lat, self.lon, km * 1.001 + 0.01)
                kept = wider.km <= km
                found = wider if kept.all() else NearSites(wider.positions[kept], wider.km[kept])
            self._measured[km] = found
        return found

    @property
    def all(self) -> NearSites:
        return self.close(self.limit_km)

    def within(self, km: float) -> np.ndarray:
        """Positions of the studies with a site within `km`."""
        return self.close(km).positions if km < self.limit_km else self.all.within(km)

    def nearest_first(self, keep: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """As NearSites.nearest_first over every study within `limit_km`."""
        if stop is not None:
            for km in self.STEPS_KM:
                if km >= self.limit_km:
                    break
                # Enough of the group this close: no study further out comes before them.
                found = self.close(km).nearest_first(keep, 0, stop)
                if len(found) >= stop:
                    return found[start:stop]
        return self.all.nearest_first(keep, start, stop)


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
