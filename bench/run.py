"""`make bench`: Trial Check under gunicorn on 127.0.0.1, load from a separate process, one table.

    python -m bench            # the full benchmark (about 3 minutes on 2 cores)
    python -m bench --smoke    # the same steps, tiny and fast (< 30 s), for `make test`

What it does:

1. Installs gunicorn into the running interpreter's environment when it is missing.
2. Builds its own SQLite databases in a temporary folder: the bundled catalog, and synthetic
   catalogs of 1,000 and 10,000 trials (bench/synth.py), each migrated with Flask-Migrate.
3. Times `webapp.core.screening.screen` in process (bench/evaluate.py, in a fresh interpreter)
   on TrialSpecs built in memory, and `webapp.catalog.service.catalog_index` against each database.
4. For each database, starts gunicorn (fixed setup: sync workers, 2 per core, on 127.0.0.1),
   and runs the scenarios with bench/loadgen.py in a separate process: a warm-up, then a fixed
   window, a request cap and a per-request timeout. The benchmark person (type 1 diabetes and
   chronic pancreatitis, aged 40) answers the questionnaire with real CSRF-protected POSTs in
   every virtual client, so every cookie is a real one.
5. Reads each worker's memory from /proc, measures every patient page's weight (HTML plus its
   stylesheets) with the bundled catalog in every language, prints the tables with each target
   marked met or missed, and writes them to bench/results/latest.md (and latest.json).

Exit status: 0 when every scenario ran without errors (targets may be missed: the table says
so; add --strict to fail on a missed target), 1 on errors, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(os.path.abspath(__file__)).parent.parent
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"

# Targets (issue 6), on the 2-core machine.
QUESTION_RATIO_TARGET = 0.5          # question page >= half the bare route's throughput
LARGE_QUESTION_RATIO_TARGET = 0.25   # the same with 10,000 synthetic studies (issue 10)
SYNTHETIC_QUESTION = "hba1c"
RESULTS_P99_TARGET_MS = 100.0        # results page with 100,000 trials, 8 concurrent clients (issue 14)
RESULTS_P99_10K_TARGET_MS = 60.0     # ... and with 10,000 (issue 14)
RESULTS_CPU_RATIO_TARGET = 2.0       # server CPU per results request at 100,000 <= 2 x the bundled's
SCREEN_TARGET_MS = 10.0              # screen() in process at 100,000 trials
BUILD_TARGET_S = 5.0                 # building the catalog index from the database at 100,000
LINEAR_TOLERANCE = 1.2               # n x the trials may take at most 1.2 n x the time
PAGE_BYTES_TARGET = 30_000           # every patient page, HTML + CSS, bundled catalog
WORKER_RSS_TARGET = 150_000_000      # bytes per worker (decimal MB, peak RSS)
LARGE_WORKER_RSS_TARGET = 200_000_000  # ... with 100,000 trials (issue 14)

# The benchmark person, as form fields (question id, [(field, value), ...]).
DIAGNOSED_MONTHS_AGO = 30


def person_form(today: date) -> list[list[Any]]:
    """Form fields for every question the benchmark person may be asked (only those that can
    change a verdict are asked, so which depends on the catalog)."""
    index = today.year * 12 + today.month - 1 - DIAGNOSED_MONTHS_AGO
    return [
        ["conditions", [["answer", "type1"], ["answer", "chronic_pancreatitis"]]],
        ["age", [["answer", "40"]]],
        ["sex", [["answer", "female"]]],
        ["type1_diagnosed", [["month", str(index % 12 + 1)], ["year", str(index // 12)]]],
        ["chronic_pancreatitis_diagnosed", [["month", str(index % 12 + 1)], ["year", str(index // 12)]]],
        ["type1_own_insulin", [["answer", "not_sure"]]],
        ["insulin_use", [["answer", "yes"]]],
        ["hba1c", [["value", "7.6"], ["unit", "%"]]],
        ["height_weight", [["cm", "168"], ["kg", "72"]]],
        ["pregnancy", [["answer", "no"]]],
        ["cp_pain_duration", [["answer", "over_6_months"]]],
        ["cp_dose_stable", [["answer", "yes"]]],
        ["cp_procedure_planned", [["answer", "no"]]],
        ["veteran", [["answer", "no"]]],
        ["english", [["answer", "yes"]]],
        ["location", [["place", "29425"]]],  # Charleston: near some synthetic sites, far from most
    ]


def person_answers(today: date) -> dict[str, Any]:
    """The same person as stored answers, for the in-process evaluation."""
    index = today.year * 12 + today.month - 1 - DIAGNOSED_MONTHS_AGO
    diagnosed = f"{index // 12:04d}-{index % 12 + 1:02d}"
    return {
        "conditions": ["type1", "chronic_pancreatitis"], "age": 40, "sex": "female",
        "type1_diagnosed": diagnosed, "chronic_pancreatitis_diagnosed": diagnosed,
        "type1_own_insulin": "not_sure", "insulin_use": "yes", "hba1c": {"value": 7.6, "unit": "%"},
        "height_weight": {"height": {"cm": 168.0}, "weight": {"kg": 72.0}}, "pregnancy": "no",
        "cp_pain_duration": "over_6_months", "cp_dose_stable": "yes", "cp_procedure_planned": "no",
        "veteran": "no", "english": "yes",
        "location": {"lat": 32.7853, "lon": -79.9484, "label": "Charleston, SC 29425"},
    }


# --- settings ---------------------------------------------------------------------------------


@dataclass
class Settings:
    smoke: bool
    duration: float
    warmup: float
    clients: int
    processes: int
    workers: int
    max_requests: int
    timeout: float
    sizes: tuple[int, ...]
    eval_sizes: tuple[int, ...]
    languages: tuple[str, ...] | None
    keep: bool
    strict: bool
    out: Path
    postgres: str | None = None


def parse_args(argv: list[str] | None) -> Settings:
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny and fast run that checks the harness works (< 30 s)")
    parser.add_argument("--duration", type=float, help="recorded seconds per scenario (10)")
    parser.add_argument("--warmup", type=float, help="unrecorded seconds before each (2)")
    parser.add_argument("--clients", type=int, help="concurrent clients (8)")
    parser.add_argument("--processes", type=int, help="load generator processes (2)")
    parser.add_argument("--workers", type=int, default=2 * cores,
                        help=f"gunicorn sync workers (2 per core: {2 * cores})")
    parser.add_argument("--max-requests", type=int, help="request cap per scenario (50000)")
    parser.add_argument("--sizes", help="synthetic catalog sizes, comma-separated (1000,10000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--postgres", help="also time loading the largest catalog into this PostgreSQL "
                                           "database (its public schema is dropped first)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--out", type=Path, help="where to write the markdown table")
    args = parser.parse_args(argv)
    smoke = args.smoke
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (
        (60,) if smoke else (1000, 10000, 100000))
    if any(s < 1 for s in sizes):
        parser.error("--sizes must be positive")
    return Settings(
        smoke=smoke,
        duration=args.duration or (0.5 if smoke else 10.0),
        warmup=args.warmup if args.warmup is not None else (0.2 if smoke else 2.0),
        clients=args.clients or (2 if smoke else 8),
        processes=args.processes or (1 if smoke else 2),
        workers=args.workers if not smoke else min(args.workers, 2),
        max_requests=args.max_requests or (200 if smoke else 50_000),
        timeout=60.0,
        sizes=sizes,
        eval_sizes=(50, 200) if smoke else (1000, 10000, 100000),
        languages=("en",) if smoke else None,
        keep=args.keep,
        strict=args.strict,
        out=args.out or RESULTS / ("smoke.md" if smoke else "latest.md"),
        postgres=args.postgres,
    )


# --- environment ------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_gunicorn() -> str:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        log("installing gunicorn from PyPI into this environment")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "gunicorn"], check=True)
    from importlib.metadata import version

    return version("gunicorn")


def gunicorn_has_option(option: str) -> bool:
    help_text = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True,
                               text=True, cwd=ROOT).stdout
    return option in help_text


def ensure_translations() -> None:
    """Compiled catalogs are build output: compile them when any is missing or stale."""
    stale = [po for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po")
             if not po.with_suffix(".mo").exists()
             or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        log("compiling translations")
        subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "translate", "compile"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def machine_info(gunicorn_version: str) -> dict[str, str]:
    from importlib.metadata import version

    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "webapp"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (webapp/ has uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "not a git checkout"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "gunicorn": gunicorn_version,
        "flask": version("flask"),
        "sqlalchemy": version("sqlalchemy"),
        "commit": commit,
        "load average at start": " ".join(open("/proc/loadavg").read().split()[:3]),
    }


# --- CPU accounting ---------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU-seconds spent not idle since boot, all cores together."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry))
    return sorted(found)


def memory_of(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, amount, _unit = line.split()
                    values[name[:-1]] = int(amount) * 1024
    except OSError:
        pass
    return values


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving webapp:create_app() on 127.0.0.1 with one database."""

    def __init__(self, name: str, database_url: str, folder: Path, workers: int,
                 extra_options: list[str]):
        self.name, self.database_url, self.folder = name, database_url, folder
        self.workers, self.extra_options = workers, extra_options
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / f"gunicorn-{name}.log"

    @property
    def command(self) -> list[str]:
        # The production settings: each worker builds its catalog index before it serves.
        return [sys.executable, "-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", "--workers", str(self.workers),
                "--worker-class", "sync", "--bind", f"{HOST}:{self.port}", "--timeout", "120",
                "--graceful-timeout", "5", "--log-level", "warning", *self.extra_options,
                "webapp:create_app()"]

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("TRUSTED_PROXIES", "DATABASE_URL")}
        env.update(DATABASE_URL=self.database_url, SECRET_KEY="trialcheck-bench-not-secret", TRIALCHECK_ACCESS_LOG="",
                   TRIALCHECK_INSTANCE_PATH=str(self.folder / "instance"), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env,
                                        stdout=open(self.log_path, "wb"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        from bench.loadgen import Client

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                client = Client(HOST, self.port, timeout=5)
                status, _, body = client.request("GET", "/healthz")
                client.close()
                if status == 200 and len(self.worker_pids()) == self.workers:
                    self.wait_until_idle(deadline)
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer /healthz within 120 s:\n{self.log_tail()}")

    def wait_until_idle(self, deadline: float) -> None:
        """Every worker builds its catalog index before it serves (gunicorn's post_worker_init);
        the first answer comes from the quickest. Wait until the workers' CPU time stops
        growing, so no scenario starts while a worker is still building."""
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < 0.05:
                return
            last = now

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid) if self.process else []

    def cpu_seconds(self) -> float:
        if not self.process:
            return 0.0
        return sum(process_cpu_seconds(pid) for pid in [self.process.pid, *self.worker_pids()])

    def memory(self) -> list[dict[str, int]]:
        return [memory_of(pid) for pid in self.worker_pids()]

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# --- scenarios --------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    catalog: str
    step: dict[str, Any]
    expected_cards: int | None = None
    result: dict[str, Any] = field(default_factory=dict)


def run_load(server: Server, scenario: Scenario, settings: Settings, answers: list[list[Any]]) -> None:
    spec = {
        "host": HOST, "port": server.port, "clients": settings.clients,
        "processes": settings.processes, "warmup": settings.warmup,
        "duration": settings.duration, "max_requests": settings.max_requests,
        "timeout": settings.timeout, "answers": answers, "step": scenario.step,
    }
    process = subprocess.Popen([sys.executable, "-m", "bench.loadgen"], cwd=ROOT, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(json.dumps(spec))
    process.stdin.close()
    first = process.stdout.readline().split()
    if len(first) != 3 or first[0] != "window":
        process.wait(timeout=30)
        raise RuntimeError(f"load generator failed for {scenario.key}: {process.stderr.read()[-2000:]}")
    start, end = float(first[1]), float(first[2])
    time.sleep(max(0.0, start - time.monotonic()))
    if scenario.key.endswith("-rebuild"):
        change_catalog(server.database_url)
    busy0, server0 = machine_busy_seconds(), server.cpu_seconds()
    time.sleep(max(0.0, end - time.monotonic()))
    busy1, server1 = machine_busy_seconds(), server.cpu_seconds()
    line = process.stdout.readline()
    limit = settings.duration + settings.warmup + settings.timeout + 60
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        raise RuntimeError(f"load generator for {scenario.key} did not stop") from None
    if process.returncode != 0 or not line:
        raise RuntimeError(f"load generator failed for {scenario.key}: {process.stderr.read()[-2000:]}")
    result = json.loads(line)
    capacity = (end - start) * len(os.sched_getaffinity(0))
    server_cpu = server1 - server0
    loadgen_cpu = result["cpu_seconds"]
    other = max(0.0, (busy1 - busy0) - server_cpu - loadgen_cpu)
    # Server CPU per request: robust to other work on the machine, unlike req/s.
    result["server_cpu_ms_per_request"] = (
        server_cpu * 1000 / result["in_window"] if result["in_window"] >= 10 else None)
    result["cpu_percent"] = {"server": 100 * server_cpu / capacity,
                             "loadgen": 100 * loadgen_cpu / capacity,
                             "other": 100 * other / capacity}
    scenario.result = result


def scenarios_for(key: str | int, catalog: str, cards: int, bundled: bool) -> list[Scenario]:
    results_step = {"method": "GET", "path": "/en/results", "count_pattern": 'data-trial="'}
    label = "bundled" if bundled else f"{catalog} synthetic"
    items = []
    if bundled:
        items += [
            Scenario("bare", "bare route GET /healthz (ceiling)", label,
                     {"method": "GET", "path": "/healthz", "cookies": False}),
            Scenario("start", "start page GET /en/", label, {"method": "GET", "path": "/en/"}),
            Scenario("question", "question page GET /en/questions/conditions", label,
                     {"method": "GET", "path": "/en/questions/conditions"}),
            Scenario("answer", "answer: POST /en/questions/conditions → 302 → GET /en/check", label,
                     {"method": "POST", "path": "/en/questions/conditions", "csrf": True,
                      "form": [["answer", "type1"], ["answer", "chronic_pancreatitis"]],
                      "follow": True, "expect_first": 302, "expect": 200}),
        ]
    else:
        # A question only some synthetic studies turn on: deciding whether it is still worth
        # asking is the work that grows with the catalog.
        items.append(Scenario(f"question-{key}", f"question page GET /en/questions/{SYNTHETIC_QUESTION}",
                              label, {"method": "GET", "path": f"/en/questions/{SYNTHETIC_QUESTION}"}))
    items.append(Scenario(f"results-{key}", "results GET /en/results", label, results_step,
                          expected_cards=cards))
    if key == 100_000:
        # The catalog changes as the window opens: every worker rebuilds its index in its
        # background thread while it goes on answering from the old one.
        items.append(Scenario(f"results-{key}-rebuild", "results while the catalog changes", label,
                              results_step, expected_cards=cards))
    return items


def change_catalog(database_url: str) -> None:
    """What a staff save does to the catalog revision (the workers notice within a second). On
    SQLite it waits for other writes as the app's own saves do (SQLITE_BUSY_SECONDS): the new
    clients' first results pages are being counted as the window opens."""
    import secrets

    from sqlalchemy import create_engine, text

    from webapp.config import Defaults

    engine = create_engine(database_url, connect_args={"timeout": Defaults.SQLITE_BUSY_SECONDS}
                           if database_url.startswith("sqlite") else {})
    with engine.begin() as connection:
        connection.execute(text("UPDATE catalog_info SET value = :value WHERE key = 'revision'"),
                           {"value": secrets.token_hex(8)})
    engine.dispose()


# --- page weight ------------------------------------------------------------------------------

LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
HREF = re.compile(r'\bhref="([^"]+)"')


def stylesheets(html: str) -> list[str]:
    return [m.group(1) for tag in LINK.findall(html)
            if re.search(r'\brel="?stylesheet', tag) and (m := HREF.search(tag))]


def page_weights(server: Server, answers: list[list[Any]], languages: tuple[str, ...],
                 slugs: list[str]) -> list[dict[str, Any]]:
    """Every patient page's HTML and stylesheet bytes, per language (sequential GETs), with
    each question the benchmark person is asked."""
    from bench.loadgen import Client

    client = Client(HOST, server.port, timeout=30)
    client.answer_questionnaire("en", answers)
    question_ids = client.asked
    css_sizes: dict[str, tuple[int, int]] = {}
    rows = []
    for lang in languages:
        pages = [("start", f"/{lang}/"), ("privacy", f"/{lang}/privacy")]
        pages += [(f"question: {q}", f"/{lang}/questions/{q}") for q in question_ids]
        pages += [("check your answers", f"/{lang}/check"), ("results", f"/{lang}/results"),
                  ("results, all studies", f"/{lang}/results?show=all"),
                  ("results, print", f"/{lang}/results/print"), ("learn: index", f"/{lang}/learn/")]
        pages += [(f"learn: {slug}", f"/{lang}/learn/{slug}") for slug in slugs]
        for name, path in pages:
            client.language = lang
            status, _, body = client.request("GET", path)
            css_total = css_gzip = 0
            for href in stylesheets(body.decode("utf-8", "replace")):
                if href not in css_sizes:
                    css_status, _, css = client.request("GET", href.split("#")[0])
                    css_sizes[href] = ((len(css), len(gzip.compress(css, 6)))
                                       if css_status == 200 else (0, 0))
                css_total += css_sizes[href][0]
                css_gzip += css_sizes[href][1]
            rows.append({"page": name, "lang": lang, "path": path, "status": status,
                         "html": len(body), "css": css_total, "total": len(body) + css_total,
                         "gzip": len(gzip.compress(body, 6)) + css_gzip})
    client.close()
    return rows


# --- in-process evaluation --------------------------------------------------------------------


def evaluate_in_process(sizes: tuple[int, ...], databases: dict[str, str], folder: Path,
                        smoke: bool) -> list[dict[str, Any]]:
    """bench/evaluate.py in a fresh interpreter, so this process's heap does not slow it."""
    options = {"sizes": sorted(sizes), "databases": databases,
               "instance": str(folder / "instance"), "quick": smoke}
    done = subprocess.run([sys.executable, "-m", "bench.evaluate", json.dumps(options)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"bench.evaluate failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- tables -----------------------------------------------------------------------------------


def mark(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**MISSED**")


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ms(value: float) -> str:
    return "—" if value != value else (f"{value:,.1f}" if value < 100 else f"{value:,.0f}")


def render(info: dict[str, str], settings: Settings, server_command: str,
           scenarios: list[Scenario], memory: list[dict[str, Any]], evaluation: list[dict[str, Any]],
           weights: list[dict[str, Any]], load_times: dict[str, float]) -> tuple[str, list[str]]:
    lines: list[str] = []
    missed: list[str] = []
    add = lines.append
    add(f"# Trial Check benchmark{' (smoke run: numbers mean nothing)' if settings.smoke else ''}")
    add("")
    add(f"{info['date']} · commit {info['commit']}")
    add("")
    add(f"Machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} memory, Linux {info['kernel']}, "
        f"load average at start {info['load average at start']}. Python {info['python']}, "
        f"gunicorn {info['gunicorn']}, Flask {info['flask']}, SQLAlchemy {info['sqlalchemy']}, SQLite.")
    add("")
    add(f"Server: `{server_command}` (one server per database, same setup).  ")
    add(f"Load: {settings.clients} concurrent clients in {settings.processes} load-generator "
        f"process(es) on {HOST}; {settings.warmup:g} s warm-up, then {settings.duration:g} s recorded, "
        f"at most {settings.max_requests:,} requests per scenario. Every client is the benchmark "
        f"person (type 1 diabetes + chronic pancreatitis, 40, diagnosed {DIAGNOSED_MONTHS_AGO} months "
        f"ago) with a real session cookie.")
    add("")
    bare = next((s for s in scenarios if s.key == "bare"), None)
    bare_rps = bare.result.get("rps") if bare and bare.result else None
    add("| scenario | catalog | req/s | p50 ms | p99 ms | × bare | bytes | requests | errors | server CPU ms / request | CPU % server / loadgen / other | target |")
    add("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for s in scenarios:
        r = s.result
        if not r:
            continue
        ratio = r["rps"] / bare_rps if bare_rps else float("nan")
        target = ""
        if s.key == "question":
            ok = ratio >= QUESTION_RATIO_TARGET
            target = f"≥ {QUESTION_RATIO_TARGET:.2f} × bare: {mark(ok)}"
            if not ok:
                missed.append(f"question page at {ratio:.2f} × the bare route (target ≥ {QUESTION_RATIO_TARGET})")
        if s.key in ("question-10000", "question-100000"):
            ok = ratio >= LARGE_QUESTION_RATIO_TARGET
            target = f"≥ {LARGE_QUESTION_RATIO_TARGET:.2f} × bare: {mark(ok)}"
            if not ok:
                missed.append(f"question page with {s.key.split('-')[1]} trials at {ratio:.2f} × the bare route "
                              f"(target ≥ {LARGE_QUESTION_RATIO_TARGET})")
        if s.key == "results-100000-rebuild":
            target = "no request waits for the rebuild (compare p99 with the row above)"
        if s.key in ("results-10000", "results-100000"):
            limit = RESULTS_P99_10K_TARGET_MS if s.key == "results-10000" else RESULTS_P99_TARGET_MS
            ok = r["p99_ms"] < limit
            target = f"p99 < {limit:.0f} ms: {mark(ok)}"
            if not ok:
                missed.append(f"results with {int(s.key.split('-')[1]):,} trials: p99 {r['p99_ms']:,.0f} ms "
                              f"(target < {limit:.0f} ms)")
            bundled_cpu = next((x.result.get("server_cpu_ms_per_request") for x in scenarios
                                if x.key == "results-bundled"), None)
            cpu_ms = r.get("server_cpu_ms_per_request")
            if s.key == "results-100000" and bundled_cpu and cpu_ms:
                cpu_ok = cpu_ms <= RESULTS_CPU_RATIO_TARGET * bundled_cpu
                target += f"; CPU {cpu_ms / bundled_cpu:.2f} × bundled (≤ {RESULTS_CPU_RATIO_TARGET:g}): {mark(cpu_ok)}"
                if not cpu_ok:
                    missed.append(f"results with 100,000 trials: server CPU {cpu_ms / bundled_cpu:.2f} × the "
                                  f"bundled catalog's (target ≤ {RESULTS_CPU_RATIO_TARGET:g})")
        catalog = s.catalog
        if s.expected_cards is not None:
            shown = r.get("pattern_count")
            catalog += f" ({s.expected_cards:,} listed" + (
                "" if shown == s.expected_cards else f", {shown} cards on the page") + ")"
        cpu = r.get("cpu_percent", {})
        few = " (few samples)" if r["count"] + r.get("timeouts", 0) < 100 else ""
        timeouts = r.get("timeouts", 0)
        at_least = lambda ms: ("≥ " if timeouts and ms >= settings.timeout * 1000 else "") + fmt_ms(ms)  # noqa: E731
        errors = f"{r['errors']}" + (f" + {timeouts} over {settings.timeout:g} s" if timeouts else "")
        add(f"| {s.label} | {catalog} | {r['rps']:,.2f} | {at_least(r['p50_ms'])} | "
            f"{at_least(r['p99_ms'])}{few} | {ratio:.2f} | {fmt_int(r['bytes'])} | {r['count']:,}"
            f"{' (cap)' if r.get('capped') else ''} | {errors} | "
            f"{fmt_ms(r['server_cpu_ms_per_request']) if r.get('server_cpu_ms_per_request') else '—'} | "
            f"{cpu.get('server', 0):.0f} / {cpu.get('loadgen', 0):.0f} / {cpu.get('other', 0):.0f} | {target} |")
    add("")
    add("A request counts when it completes after the warm-up; none starts after the window, and "
        f"those still running are waited for, up to {settings.timeout:g} s each (slower ones are "
        "counted apart and enter the percentiles as that limit, marked ≥). "
        "bytes: median response body; for the answer scenario, the page the redirect leads to. "
        "Server CPU ms / request: gunicorn's CPU time in the window divided by the requests completed "
        "in it (— when fewer than 10); it is the figure least disturbed by other work on the machine. "
        "CPU %: share of the whole machine during the recorded window used by gunicorn, by the "
        "load generator and by anything else (other work on the machine makes the numbers noisy).")
    colds = [f"{s.catalog}: {s.result['cold_max_ms'] / 1000:,.1f} s" for s in scenarios
             if s.key.startswith("results") and s.result.get("cold_max_ms", 0) > 1000]
    if colds:
        add("First results request in each worker (before the warm-up, not in the table; the worker "
            "builds its per-process caches): up to " + "; ".join(colds) + ".")
        add("")
    others = [s.result["cpu_percent"]["other"] for s in scenarios if s.result.get("cpu_percent")]
    if others and max(others) > 15:
        add(f"**Noisy run:** other processes used up to {max(others):.0f} % of the machine during a "
            "recorded window (mean {:.0f} %); req/s and latencies are then lower than this app can do. "
            "Compare server CPU ms / request, or rerun on a quiet machine.".format(sum(others) / len(others)))
        add("")

    add("## Memory per worker (RSS from /proc after the scenarios)")
    add("")
    add("| server | workers | RSS now, MB (min–max) | peak RSS (VmHWM), MB, max | target |")
    add("|---|--:|--:|--:|---|")
    for m in memory:
        rss = [w.get("VmRSS", 0) for w in m["workers"]] or [0]
        peak = max([w.get("VmHWM", 0) for w in m["workers"]] or [0])
        limit = LARGE_WORKER_RSS_TARGET if m["catalog"] == "100,000" else WORKER_RSS_TARGET
        ok = peak < limit
        if not ok:
            missed.append(f"worker memory {peak / 1e6:,.0f} MB peak with the {m['catalog']} catalog "
                          f"(target < {limit / 1e6:.0f} MB)")
        add(f"| {m['catalog']} | {len(m['workers'])} | {min(rss) / 1e6:,.0f}–{max(rss) / 1e6:,.0f} | "
            f"{peak / 1e6:,.0f} | < {limit / 1e6:.0f} MB: {mark(ok)} |")
    add("")

    add("## Evaluating one person in process (`webapp.core.screening.screen`)")
    add("")
    add("Each run is what a results page asks of the engine: `screen()`, then each group's first "
        "trials as the page shows them, nearest first (the distances to the person's sites are measured there).")
    add("")
    add("| trials | criteria | listed (fit / check / unlikely / not recruiting) | unrelated | screen() ms, median (best) | per trial µs (best) | GC off, ms, median (best) | catalog_index(), first call / later calls, ms | target |")
    add("|--:|--:|---|--:|--:|--:|--:|--:|---|")
    measured = [row for row in evaluation if row["trials"] in settings.eval_sizes]
    base = min(measured, key=lambda row: row["trials"]) if measured else None
    for row in evaluation:
        target = ""
        if base and row is not base and row in measured:
            # Best-of times: other work on the machine only ever adds time.
            growth = row["screen_min_ms"] / base["screen_min_ms"]
            allowed = row["trials"] / base["trials"] * LINEAR_TOLERANCE
            ok = growth <= allowed
            target = (f"{growth:.1f}× time for {row['trials'] / base['trials']:.0f}× trials "
                      f"(≤ {allowed:.0f}×, linear): {mark(ok)}")
            if not ok:
                missed.append(f"evaluation grew {growth:.1f}× for {row['trials'] / base['trials']:.0f}× trials")
        if row["trials"] == 100_000 and row in measured:
            ok = row["screen_ms"] < SCREEN_TARGET_MS
            target += ("; " if target else "") + f"median < {SCREEN_TARGET_MS:g} ms: {mark(ok)}"
            if not ok:
                missed.append(f"screen() at 100,000 trials: {row['screen_ms']:.1f} ms (target < {SCREEN_TARGET_MS:g} ms)")
            if "trial_specs_first_ms" in row:
                ok = row["trial_specs_first_ms"] <= BUILD_TARGET_S * 1000
                target += f"; index built in ≤ {BUILD_TARGET_S:g} s: {mark(ok)}"
                if not ok:
                    missed.append(f"building the index at 100,000 trials: {row['trial_specs_first_ms'] / 1000:.1f} s "
                                  f"(target ≤ {BUILD_TARGET_S:g} s)")
        v = row["by_verdict"]
        specs = (f"{fmt_ms(row['trial_specs_first_ms'])} / {fmt_ms(row['trial_specs_later_ms'])}"
                 if "trial_specs_first_ms" in row else "—")
        add(f"| {row['trials']:,} | {row['criteria']:,} | {row['listed']:,} ({v['fit']} / {v['check']} / "
            f"{v['unlikely']} / {row['not_recruiting']}) | {row['unrelated']:,} | "
            f"{fmt_ms(row['screen_ms'])} ({fmt_ms(row['screen_min_ms'])}) | "
            f"{row['screen_min_ms'] * 1000 / row['trials']:.1f} | "
            f"{fmt_ms(row['screen_no_gc_ms'])} ({fmt_ms(row['screen_no_gc_min_ms'])}) | {specs} | {target} |")
    add("")
    if load_times:
        add("Building the databases: " + "; ".join(f"{k} {v:.1f} s" for k, v in load_times.items()) + ".")
        add("")

    add(f"## Page weight with the bundled catalog (HTML + CSS, uncompressed; target ≤ {PAGE_BYTES_TARGET:,} bytes)")
    add("")
    add("Fetched with `Accept-Encoding: identity`, every language, the benchmark person's answers; "
        "the stylesheets a page links count in full on every page. The gzip column compresses the "
        "same bytes here (level 6) to show what travels when the server or a proxy compresses.")
    add("")
    add("| page | heaviest language | HTML bytes | CSS bytes | total | English total | gzip total (for information) | target |")
    add("|---|---|--:|--:|--:|--:|--:|---|")
    by_page: dict[str, list[dict[str, Any]]] = {}
    for w in weights:
        by_page.setdefault(w["page"], []).append(w)
    over = []
    for page, items in by_page.items():
        worst = max(items, key=lambda w: w["total"])
        english = next((w for w in items if w["lang"] == "en"), worst)
        ok = all(w["total"] <= PAGE_BYTES_TARGET and w["status"] == 200 for w in items)
        if not ok:
            over.append(f"{page} ({worst['lang']}, {worst['total']:,} bytes)")
        status = "" if all(w["status"] == 200 for w in items) else " (status " + ",".join(
            sorted({str(w["status"]) for w in items})) + ")"
        add(f"| {page} | {worst['lang']} | {worst['html']:,} | {worst['css']:,} | {worst['total']:,}{status} | "
            f"{english['total']:,} | {worst['gzip']:,} | {mark(ok)} |")
    if over:
        missed.append("pages over 30 KB: " + ", ".join(over))
    add("")

    add("## Targets")
    add("")
    if settings.smoke:
        add("Not judged in a smoke run: it only checks that every step works.")
        add("")
        return "\n".join(lines), []
    targets = [
        ("question page ≥ half the bare route's throughput", "question page at", None),
        ("question pages with 10,000 and 100,000 trials ≥ a quarter of the bare route's", "question page with", None),
        ("results with 10,000 trials: p99 < 60 ms with 8 clients", "results with 10,000", "results-10000"),
        ("results with 100,000 trials: p99 < 100 ms, server CPU ≤ 2 × the bundled catalog's", "results with 100,000",
         "results-100000"),
        ("evaluation time grows no faster than linearly", "evaluation grew", None),
        ("screen() at 100,000 trials < 10 ms", "screen() at 100,000", None),
        ("catalog index built from the database in ≤ 5 s at 100,000 trials", "building the index", None),
        ("every patient page with the bundled catalog ≤ 30 KB HTML+CSS", "pages over", None),
        ("memory per worker < 150 MB (< 200 MB with 100,000 trials)", "worker memory", None),
    ]
    for text, needle, needs in targets:
        relevant = [m for m in missed if m.startswith(needle)]
        measured = needs is None or any(s.key == needs for s in scenarios)
        add(f"- {text}: {mark(not relevant) if measured else 'not measured in this run'}"
            + (f" — {'; '.join(relevant)}" if relevant else ""))
    add("")
    return "\n".join(lines), missed


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    began = time.monotonic()
    gunicorn_version = ensure_gunicorn()
    ensure_translations()
    info = machine_info(gunicorn_version)
    extra = ["--no-control-socket"] if gunicorn_has_option("--no-control-socket") else []
    folder = Path(tempfile.mkdtemp(prefix="trialcheck-bench-"))
    servers: list[Server] = []
    problems: list[str] = []
    try:
        from bench import synth
        from webapp.catalog.service import read_bundled_catalog
        from webapp.config import LANGUAGES

        today = date.today()
        answers = person_form(today)
        bundled = read_bundled_catalog()
        pages = bundled["education_pages"]
        documents: dict[int, dict[str, Any]] = {}
        databases: dict[str | int, str] = {}
        load_times: dict[str, float] = {}

        log(f"building databases in {folder}")
        databases["bundled"] = f"sqlite:///{folder / 'bundled.sqlite3'}"
        load_times["bundled (load_catalog)"] = synth.build_database(
            databases["bundled"], str(folder / "instance"), bundled, "service")
        for size in settings.sizes:
            documents[size] = synth.synthetic_catalog(size, education_pages=pages)
            method = "service" if size <= 2000 else "bulk"
            databases[size] = f"sqlite:///{folder / f'synthetic-{size}.sqlite3'}"
            load_times[f"{size:,} trials ({'load_catalog' if method == 'service' else 'bulk insert'}, SQLite)"] = \
                synth.build_database(databases[size], str(folder / "instance"), documents[size], method)
            if settings.postgres and size == max(settings.sizes):
                log(f"loading the {size:,} catalog into PostgreSQL")
                from sqlalchemy import create_engine, text

                engine = create_engine(settings.postgres)
                with engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
                engine.dispose()
                load_times[f"{size:,} trials (bulk insert, PostgreSQL)"] = synth.build_database(
                    settings.postgres, str(folder / "instance"), documents[size], "bulk")
            del documents[size]
        if settings.smoke:
            # The bulk path must write what load_catalog writes.
            small = synth.synthetic_catalog(40, seed=7, education_pages=pages)
            exports = []
            for method in ("service", "bulk"):
                url = f"sqlite:///{folder / f'check-{method}.sqlite3'}"
                synth.build_database(url, str(folder / "instance"), small, method)
                exports.append(synth.export_database(url, str(folder / "instance")))
            if exports[0] != exports[1]:
                problems.append("bulk insert and load_catalog give different exports")

        log("timing screen() in process")
        evaluation = evaluate_in_process(
            tuple(sorted(set(settings.sizes) | set(settings.eval_sizes))),
            {str(k): v for k, v in databases.items() if isinstance(k, int)}, folder, settings.smoke)
        expected = {row["trials"]: row["listed"] for row in evaluation}
        bundled_bank, bundled_index = synth.index_in_memory(bundled)
        expected["bundled"] = synth.screen_answers(bundled_bank, bundled_index, person_answers(today),
                                                   today).listed_count

        scenarios: list[Scenario] = []
        memory: list[dict[str, Any]] = []
        weights: list[dict[str, Any]] = []
        command = ""
        for key in ["bundled", *settings.sizes]:
            catalog = "bundled" if key == "bundled" else f"{key:,}"
            server = Server(str(key), databases[key], folder, settings.workers, extra)
            servers.append(server)
            log(f"starting gunicorn with the {catalog} catalog")
            server.start()
            command = " ".join(["gunicorn", *server.command[3:]]).replace(f":{server.port}", ":PORT")
            for scenario in scenarios_for(key, catalog, expected[key], key == "bundled"):
                log(f"scenario {scenario.key}")
                run_load(server, scenario, settings, answers)
                r = scenario.result
                log(f"  {r['rps']:,.2f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                    f"{r['count']} requests, {r['errors']} errors, {r['timeouts']} timeouts")
                if (r["errors"] or r.get("failures") or r["count"] + r["timeouts"] == 0
                        or (settings.smoke and r["timeouts"])):
                    problems.append(f"{scenario.key}: {r['count']} requests, {r['errors']} errors "
                                    f"{r['statuses']} {r.get('failures') or ''}")
                shown = r.get("pattern_count")
                if scenario.expected_cards is not None and (
                        shown is None or shown > scenario.expected_cards
                        or (scenario.expected_cards > 0 and shown == 0)):
                    problems.append(f"{scenario.key}: {shown} trial cards on the page, "
                                    f"the engine lists {scenario.expected_cards}")
                scenarios.append(scenario)
            if key == "bundled":
                log("measuring page weights")
                weights = page_weights(server, answers, settings.languages or tuple(LANGUAGES),
                                       [p["slug"] for p in pages])
                bad = [w for w in weights if w["status"] != 200]
                if bad:
                    problems.append("pages that did not answer 200: " + ", ".join(
                        f"{w['path']} ({w['status']})" for w in bad))
            memory.append({"catalog": catalog, "workers": server.memory()})
            server.stop()

        text, missed = render(info, settings, command, scenarios, memory, evaluation, weights,
                              load_times)
        if problems:
            text += "\n## Problems\n\n" + "\n".join(f"- {p}" for p in problems) + "\n"
        text += f"\nTotal time: {time.monotonic() - began:.0f} s.\n"
        if settings.smoke and not problems:
            # Short, for `make test`: the table goes to the file.
            print(f"bench smoke: ok ({len(scenarios)} scenarios, {len(weights)} pages weighed, "
                  f"{time.monotonic() - began:.0f} s); table in "
                  f"{settings.out.relative_to(ROOT) if settings.out.is_relative_to(ROOT) else settings.out}")
        else:
            print(text)
        settings.out.parent.mkdir(parents=True, exist_ok=True)
        settings.out.write_text(text)
        settings.out.with_suffix(".json").write_text(json.dumps({
            "machine": info, "server": command,
            "scenarios": [{"key": s.key, "label": s.label, "catalog": s.catalog,
                           "expected_cards": s.expected_cards, **s.result} for s in scenarios],
            "memory": memory, "evaluation": evaluation, "page_weights": weights,
            "load_times": load_times, "missed": missed, "problems": problems,
        }, indent=2, default=str))
        log(f"wrote {settings.out.relative_to(ROOT) if settings.out.is_relative_to(ROOT) else settings.out}")
    except Exception as error:  # noqa: BLE001 - shown with the server logs
        for server in servers:
            tail = server.log_tail()
            if tail:
                log(f"gunicorn log ({server.name}):\n{tail}")
        log(f"failed: {type(error).__name__}: {error}")
        raise
    finally:
        for server in servers:
            server.stop()
        if settings.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if problems:
        log("problems: " + "; ".join(problems))
        return 1
    if settings.strict and missed:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
