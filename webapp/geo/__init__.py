"""Where places are, offline: U.S. ZIP codes and the world's towns and cities, in memory.

The tables in data/ ship with the app (see data/ATTRIBUTION.txt and the README for sources and
licences: U.S. Census ZCTA points, public domain; GeoNames, CC BY 4.0); nothing is fetched when
the app runs. They are compact arrays read once per process, on first use: about 14 MB, ZIP
lookups in about a microsecond, place names in about ten.

Pure Python, no Flask: the screener, the importer and the benchmark use the same lookups.
"""

from __future__ import annotations

import gzip
import math
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

EARTH_KM = 6371.0088
KM_PER_MILE = 1.609344

_SPECIAL = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "đ": "d",
                          "Đ": "D", "ı": "i", "þ": "th", "Þ": "Th", "œ": "oe", "Œ": "OE", "ð": "d", "Ð": "D"})
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018\u02bb\u02bc`")


def norm(text: str) -> str:
    """A place name's matching key: ASCII-folded, lower case, punctuation as spaces, "St." and
    "Ft." spelled out ("St. Louis" and "Saint Louis" meet)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
        text = "".join(c for c in text if not unicodedata.combining(c))
    words = _NOT_ALNUM.sub(" ", text.lower().translate(_APOSTROPHES)).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float
    # As the data names it: "Newport Beach, CA 92663", "Zürich, ZH, CH".
    label: str
    country: str


def _rows(name: str) -> Iterator[list[str]]:
    with resources.files("webapp.geo").joinpath("data", name).open("rb") as raw, \
            gzip.open(raw, "rt", encoding="utf-8", newline="") as lines:
        next(lines)
        for line in lines:
            yield line.rstrip("\n").split("\t")


class ZipTable:
    def __init__(self) -> None:
        self.zips, self.lat, self.lon = array("I"), array("f"), array("f")
        self.city_i, self.state_i = array("H"), array("B")
        cities: list[str] = []
        states: list[str] = []
        city_index: dict[str, int] = {}
        state_index: dict[str, int] = {}
        for zip_code, lat, lon, city, state, _source in _rows("zips.tsv.gz"):
            self.zips.append(int(zip_code))
            self.lat.append(float(lat))
            self.lon.append(float(lon))
            self.city_i.append(city_index.setdefault(city, len(cities)))
            if len(cities) < len(city_index):
                cities.append(city)
            self.state_i.append(state_index.setdefault(state, len(states)))
            if len(states) < len(state_index):
                states.append(state)
        self.cities, self.states = tuple(cities), tuple(states)

    def find(self, zip_code: str) -> Place | None:
        if len(zip_code) != 5 or not (zip_code.isascii() and zip_code.isdigit()):
            return None
        number = int(zip_code)
        i = bisect_left(self.zips, number)
        if i == len(self.zips) or self.zips[i] != number:
            return None
        return Place(float(self.lat[i]), float(self.lon[i]),
                     f"{self.cities[self.city_i[i]]}, {self.states[self.state_i[i]]} {zip_code}", "US")


class _Keys:
    """A sequence view over a blob of sorted keys, for bisect."""

    __slots__ = ("blob", "offsets")

    def __init__(self, blob: bytes, offsets: array):
        self.blob, self.offsets = blob, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.offsets[i]:self.offsets[i + 1]]


class PlaceTable:
    """Towns and cities of 1,000 people or more, sorted by key (the build script sorts them),
    with the alternate names of places of 15,000 or more ("Munich" for München)."""

    def __init__(self) -> None:
        keys, key_offsets = bytearray(), array("I", [0])
        names, name_offsets = bytearray(), array("I", [0])
        self.lat, self.lon, self.population = array("f"), array("f"), array("I")
        self.country_i, self.region_i = array("B"), array("H")
        countries: list[str] = []
        regions: list[str] = []
        country_index: dict[str, int] = {}
        region_index: dict[str, int] = {}
        for name, ascii_name, country, region, lat, lon, population in _rows("places.tsv.gz"):
            keys += norm(ascii_name or name).encode("ascii", "ignore")
            key_offsets.append(len(keys))
            names += name.encode("utf-8")
            name_offsets.append(len(names))
            self.lat.append(float(lat))
            self.lon.append(float(lon))
            self.population.append(int(population))
            self.country_i.append(country_index.setdefault(country, len(countries)))
            if len(countries) < len(country_index):
                countries.append(country)
            region_key = f"{country}.{region}"
            self.region_i.append(region_index.setdefault(region_key, len(regions)))
            if len(regions) < len(region_index):
                regions.append(region_key)
        self._keys = _Keys(bytes(keys), key_offsets)
        self._names = (bytes(names), name_offsets)
        self.countries, self.regions = tuple(countries), tuple(regions)
        alias_keys, alias_offsets, alias_rows = bytearray(), array("I", [0]), array("I")
        for key, row in _rows("aliases.tsv.gz"):
            alias_keys += key.encode("ascii")
            alias_offsets.append(len(alias_keys))
            alias_rows.append(int(row))
        self._aliases = (_Keys(bytes(alias_keys), alias_offsets), alias_rows)
        self.region_names = {code: name for code, name in _rows("admin1.tsv.gz")}

    def _name(self, i: int) -> str:
        blob, offsets = self._names
        return blob[offsets[i]:offsets[i + 1]].decode("utf-8")

    def place(self, i: int) -> Place:
        country = self.countries[self.country_i[i]]
        region = self.regions[self.region_i[i]].split(".", 1)[1]
        if country != "US":
            region = self.region_names.get(f"{country}.{region}", "")
        parts = [self._name(i)] + [p for p in (region, country) if p and p != self._name(i)]
        return Place(float(self.lat[i]), float(self.lon[i]), ", ".join(parts), country)

    @staticmethod
    def _matches(keys: _Keys, key: bytes) -> Iterator[int]:
        i = bisect_left(keys, key)
        while i < len(keys) and keys[i] == key:
            yield i
            i += 1

    def _rows_for(self, key: bytes) -> list[int]:
        rows = list(self._matches(self._keys, key))
        if not rows:
            alias_keys, alias_rows = self._aliases
            rows = sorted({alias_rows[j] for j in self._matches(alias_keys, key)})
        return sorted(rows, key=lambda i: -self.population[i])

    def find(self, text: str, limit: int = 5) -> list[Place]:
        """Places called `text`, most populous first. A state, region or country after a comma
        narrows them ("Springfield, IL", "Paris, France", "Portland, OR, US"), as does a last
        word that is one ("Springfield IL")."""
        key = norm(text)
        if not key:
            return []
        rows = self._rows_for(key.encode("ascii", "ignore"))
        if not rows:
            name, *qualifiers = [part for part in text.split(",") if part.strip()] or [text]
            if not qualifiers and " " in name.strip():
                name, last = name.strip().rsplit(" ", 1)
                qualifiers = [last]
            wanted = [norm(q) for q in qualifiers]
            if wanted:
                rows = [i for i in self._rows_for(norm(name).encode("ascii", "ignore"))
                        if all(w in self._qualifiers(i) for w in wanted)]
        return [self.place(i) for i in rows[:limit]]

    def _qualifiers(self, i: int) -> set[str]:
        country = self.countries[self.country_i[i]]
        region = self.regions[self.region_i[i]].split(".", 1)[1]
        names = {norm(country), norm(region), norm(self.region_names.get(f"{country}.{region}", ""))}
        return names | COUNTRY_NAMES.get(country, set())

    def starting_with(self, text: str, limit: int = 5) -> list[Place]:
        """Suggestions for a name we do not know: places whose name starts with the same words."""
        key = norm(text).encode("ascii", "ignore")
        if len(key) < 3:
            return []
        i = bisect_left(self._keys, key)
        found = []
        while i < len(self._keys) and self._keys[i].startswith(key) and len(found) < 200:
            found.append(i)
            i += 1
        found.sort(key=lambda j: -self.population[j])
        return [self.place(j) for j in found[:limit]]


# A few country names as people type them (the data has two-letter codes).
COUNTRY_NAMES = {
    "US": {"usa", "us", "united states", "united states of america"}, "GB": {"uk", "united kingdom", "england"},
    "FR": {"france"}, "DE": {"germany", "deutschland"}, "ES": {"spain", "espana"}, "MX": {"mexico"},
    "CA": {"canada"}, "CN": {"china"}, "IT": {"italy", "italia"}, "EG": {"egypt"}, "SA": {"saudi arabia"},
    "AE": {"united arab emirates", "uae"}, "IN": {"india"}, "BR": {"brazil", "brasil"}, "CH": {"switzerland"},
    "AU": {"australia"}, "JP": {"japan"}, "KR": {"korea", "south korea"}, "TW": {"taiwan"}, "HK": {"hong kong"},
}

_TABLES: dict[str, object] = {}
_LOCK = threading.Lock()


def zip_table() -> ZipTable:
    table = _TABLES.get("zip")
    if table is None:
        with _LOCK:
            table = _TABLES.get("zip") or _TABLES.setdefault("zip", ZipTable())
    return table  # type: ignore[return-value]


def place_table() -> PlaceTable:
    table = _TABLES.get("place")
    if table is None:
        with _LOCK:
            table = _TABLES.get("place") or _TABLES.setdefault("place", PlaceTable())
    return table  # type: ignore[return-value]
