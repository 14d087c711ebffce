"""Profile one patient page in process with pyinstrument (a developer tool, not part of `make bench`).

    .venv/bin/pip install pyinstrument
    .venv/bin/python -m bench.profile --trials 1000 --page /en/results --requests 5
    .venv/bin/python -m bench.profile --page /en/questions/conditions --requests 300

Builds a fresh SQLite database in a temporary folder with the bundled catalog (`--trials 0`) or a
synthetic one (bench/synth.py), answers the questionnaire as the benchmark person through
Flask's test client (real CSRF tokens and session cookie), warms up, then profiles `--requests`
GETs of `--page`. Prints pyinstrument's text report and writes its HTML report to
bench/results/profile-<page>-<trials>.html.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(os.path.abspath(__file__)).parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--trials", type=int, default=0, help="synthetic trials (0: bundled catalog)")
    parser.add_argument("--page", default="/en/results")
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.001, help="sampling interval, s")
    parser.add_argument("--database", type=Path,
                        help="reuse this folder's database (db.sqlite3 and instance/, from an earlier run) "
                             "instead of building one")
    parser.add_argument("--show-all", action="store_true", help="print every frame, not only the app's")
    args = parser.parse_args(argv)
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is missing: .venv/bin/pip install pyinstrument", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from bench import synth
    from bench.run import person_form
    from webapp.catalog.service import read_bundled_catalog

    folder = args.database or Path(tempfile.mkdtemp(prefix="trialcheck-profile-"))
    url = f"sqlite:///{folder / 'db.sqlite3'}"
    if args.database is None:
        bundled = read_bundled_catalog()
        document = bundled if args.trials == 0 else synth.synthetic_catalog(
            args.trials, education_pages=bundled["education_pages"])
        synth.build_database(url, str(folder / "instance"), document,
                             "service" if args.trials <= 2000 else "bulk")
        print(f"database: --database {folder}", file=sys.stderr)
    app = synth.make_app(url, str(folder / "instance"))
    client = app.test_client()
    page = client.get("/en/questions/conditions").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    for question_id, fields in person_form(date.today()):
        data: dict[str, list[str]] = {"csrf_token": [token]}
        for name, value in fields:
            data.setdefault(name, []).append(value)
        response = client.post(f"/en/questions/{question_id}", data=data)
        assert response.status_code == 302, (question_id, response.status_code)
    warm = client.get(args.page)
    assert warm.status_code == 200, warm.status_code
    print(f"{args.page}: {len(warm.data):,} bytes", file=sys.stderr)
    profiler = Profiler(interval=args.interval)
    began = time.perf_counter()
    profiler.start()
    for _ in range(args.requests):
        client.get(args.page)
    profiler.stop()
    took = time.perf_counter() - began
    print(f"{args.requests} requests in {took:.2f} s: {took / args.requests * 1000:.1f} ms each",
          file=sys.stderr)
    print(profiler.output_text(unicode=True, color=False, show_all=args.show_all))
    name = re.sub(r"[^a-z0-9]+", "-", args.page.lower()).strip("-")
    out = ROOT / "bench" / "results" / f"profile-{name}-{args.trials or 'bundled'}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_html())
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
