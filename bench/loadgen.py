"""The benchmark's load generator: a separate process that drives one scenario against 127.0.0.1.

Run as `python -m bench.loadgen` with a JSON spec on standard input (bench/run.py does this).
It forks `processes` children, each running its share of `clients` threads; every thread is one
virtual person with its own cookie jar, who first answers the questionnaire with real GETs and
CSRF-protected POSTs and sends the scenario's request once (all clients at once, so every
server worker is primed), then repeats it for `warmup` seconds (not recorded)
and `duration` seconds (recorded), stopping early at `max_requests`. Standard library only,
blocking sockets, HTTP/1.1 with keep-alive when the server offers it (gunicorn's sync workers
close every connection, so each request then pays for its own TCP connect, as behind a proxy).

A request counts when it completes after the warm-up; no request starts after the window
ends, and those still running then are waited for (each bounded by `timeout`), so throughput is
counted requests / (last completion - window start).

Output on standard output: one line `window START END` (time.monotonic() values, the same clock
in every process on Linux) as soon as the recorded window is known, so the caller can sample
CPU use over it, then one line of JSON with the results.

Only loopback addresses are accepted as targets.
"""

from __future__ import annotations

import ipaddress
import json
import math
import multiprocessing as mp
import re
import resource
import socket
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*?value="([^"]+)"')


class HTTPError(Exception):
    pass


def require_loopback(host: str) -> None:
    address = ipaddress.ip_address(socket.gethostbyname(host))
    if not address.is_loopback:
        raise SystemExit(f"refusing to send load to {host} ({address}): loopback only")


class Client:
    """A minimal HTTP/1.1 client with a cookie jar, for one virtual person."""

    def __init__(self, host: str, port: int, timeout: float = 60.0):
        require_loopback(host)
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.cookies: dict[str, str] = {}
        self.language = "en"

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None,
                send_cookies: bool = True) -> tuple[int, dict[str, list[str]], bytes]:
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "User-Agent: trialcheck-bench", "Accept: text/html,*/*",
                 f"Accept-Language: {self.language}", "Accept-Encoding: identity"]
        if send_cookies and self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            lines.append("Content-Type: application/x-www-form-urlencoded")
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        reused = self.sock is not None
        try:
            return self._exchange(raw)
        except (ConnectionError, HTTPError):
            # A kept-alive connection the server closed meanwhile: one fresh try.
            self.close()
            if not reused:
                raise
            return self._exchange(raw)

    def _exchange(self, raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
        if self.sock is None:
            self.sock = self._connect()
        sock = self.sock
        sock.sendall(raw)
        buffer = bytearray()
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = sock.recv(65536)
            if not chunk:
                raise HTTPError("connection closed before the response headers")
            buffer += chunk
        head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        rest = buffer[end + 4:]
        version, status_text = head[0].split(" ", 2)[:2]
        status = int(status_text)
        headers: dict[str, list[str]] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        if "content-length" in headers:
            length = int(headers["content-length"][0])
            while len(rest) < length:
                chunk = sock.recv(max(65536, length - len(rest)))
                if not chunk:
                    raise HTTPError("connection closed in the middle of the body")
                rest += chunk
            body = bytes(rest[:length])
        elif "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
            body = self._read_chunked(sock, rest)
        else:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            body = bytes(rest)
            self.close()
        connection = ",".join(headers.get("connection", [])).lower()
        if "close" in connection or version == "HTTP/1.0":
            self.close()
        for cookie in headers.get("set-cookie", []):
            pair, _, attributes = cookie.partition(";")
            name, _, value = pair.partition("=")
            name, value = name.strip(), value.strip()
            expired = "expires=thu, 01 jan 1970" in attributes.lower() or "max-age=0" in attributes.lower()
            if expired or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, headers, body

    def _read_chunked(self, sock: socket.socket, rest: bytearray) -> bytes:
        body = bytearray()
        while True:
            while b"\r\n" not in rest:
                rest += sock.recv(65536)
            line, _, remainder = bytes(rest).partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            rest = bytearray(remainder)
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                return bytes(body)

    def fetch(self, method: str, path: str, form: list[tuple[str, str]] | None = None,
              follow: bool = True, send_cookies: bool = True) -> tuple[int, int, bytes]:
        """One request, following redirects with GET; returns (first status, last status, body)."""
        status, headers, body = self.request(method, path, form, send_cookies)
        first = status
        hops = 0
        while follow and status in (301, 302, 303, 307, 308) and hops < 5:
            location = urlsplit(headers["location"][0])
            path = location.path + (f"?{location.query}" if location.query else "")
            status, headers, body = self.request("GET", path, None, send_cookies)
            hops += 1
        return first, status, body

    def csrf_token(self, path: str) -> str:
        _, status, body = self.fetch("GET", path)
        match = CSRF_FIELD.search(body)
        if status != 200 or not match:
            raise HTTPError(f"no CSRF token on {path} (status {status})")
        return match.group(1).decode()

    def answer_questionnaire(self, lang: str, answers: list[list[Any]]) -> str:
        """Walk the questionnaire as a person would, with real POSTs, answering each question
        the screener asks from `answers` ([question id, fields] pairs; only what matters for the
        catalog is asked); return the CSRF token of the session."""
        given = {question_id: fields for question_id, fields in answers}
        path = f"/{lang}/questions/{answers[0][0]}"
        token = self.csrf_token(path)
        self.asked: list[str] = []
        for _ in range(len(given) + 1):
            question_id = path.rsplit("/questions/", 1)[1].split("?")[0]
            self.asked.append(question_id)
            if question_id not in given:
                raise HTTPError(f"the screener asked {question_id}, which the benchmark person has no answer for")
            form = [("csrf_token", token)] + [(k, v) for k, v in given[question_id]]
            status, headers, body = self.request("POST", path, form)
            if status != 302:
                raise HTTPError(f"answering {question_id} gave {status}: {body[:300]!r}")
            path = urlsplit(headers["location"][0]).path
            if "/questions/" not in path:
                break
        # The check page answers 200 only to a complete set of answers (and is cheap).
        first, status, _ = self.fetch("GET", f"/{lang}/check", follow=False)
        if first != 200:
            raise HTTPError(f"the check-your-answers page gave {first} after the questionnaire: "
                            "the benchmark person leaves a question unanswered")
        return token


# --- one load run ---------------------------------------------------------------------------


def prepare(spec: dict[str, Any]) -> tuple[Client, list[tuple[str, str]] | None]:
    """A client whose person has answered the questionnaire, and the scenario's form."""
    step = spec["step"]
    client = Client(spec["host"], spec["port"], spec.get("timeout", 60.0))
    token = ""
    if spec.get("answers"):
        token = client.answer_questionnaire(spec.get("lang", "en"), spec["answers"])
    form = None
    if step.get("form") is not None:
        form = [(k, v) for k, v in step["form"]]
        if step.get("csrf"):
            form = [("csrf_token", token)] + form
    return client, form


def drive(client: Client, form: list[tuple[str, str]] | None, spec: dict[str, Any],
          start: float, end: float, cap: int) -> dict[str, Any]:
    """Repeat the scenario's step until `end`; record the requests completed after `start`."""
    step = spec["step"]
    send_cookies = step.get("cookies", True)
    expect_first = step.get("expect_first")
    expect = step.get("expect", 200)
    pattern = step.get("count_pattern", "").encode()
    result: dict[str, Any] = {"latencies": [], "errors": 0, "timeouts": 0, "sizes": [],
                              "statuses": {}, "pattern_count": None, "finished": 0.0,
                              "capped": False, "in_window": 0}
    latencies, statuses = result["latencies"], result["statuses"]
    while True:
        if time.monotonic() >= end:
            break
        if len(latencies) >= cap:
            result["capped"] = True
            break
        began = time.perf_counter()
        try:
            first, last, body = client.fetch(step["method"], step["path"], form,
                                             step.get("follow", True), send_cookies)
        except TimeoutError:
            # Slower than `timeout`: counted apart, and as `timeout` in the percentiles.
            client.close()
            if time.monotonic() >= start:
                result["timeouts"] += 1
            continue
        except (OSError, HTTPError, ValueError) as error:
            client.close()
            if time.monotonic() >= start:
                result["errors"] += 1
                name = type(error).__name__
                statuses[name] = statuses.get(name, 0) + 1
            continue
        took = time.perf_counter() - began
        if pattern and result["pattern_count"] is None:
            result["pattern_count"] = body.count(pattern)
        # Recorded when it completes after the warm-up: a page slower than the warm-up still
        # gets samples (its latency then includes time before the window, as a person's would).
        if time.monotonic() < start:
            continue
        key = str(last) if expect_first is None else f"{first}->{last}"
        statuses[key] = statuses.get(key, 0) + 1
        if last != expect or (expect_first is not None and first != expect_first):
            result["errors"] += 1
            continue
        latencies.append(took)
        if time.monotonic() <= end:
            result["in_window"] += 1
        if len(result["sizes"]) < 50:
            result["sizes"].append(len(body))
        result["finished"] = time.monotonic()
    client.close()
    return result


def _child(spec: dict[str, Any], threads: int, cap_each: int, ready: Any, go: Any,
           window: Any, pipe: Any) -> None:
    barrier = threading.Barrier(threads + 1)
    started = threading.Event()
    failures: list[str] = []
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    cold: list[float] = []

    def thread_main() -> None:
        try:
            client, form = prepare(spec)
            # One unrecorded request per client before the clock starts, all at once, so every
            # worker has served the page (and built its caches) before the warm-up.
            step = spec["step"]
            began = time.perf_counter()
            client.fetch(step["method"], step["path"], form, step.get("follow", True),
                         step.get("cookies", True))
            cold.append(time.perf_counter() - began)
        except Exception as error:  # noqa: BLE001 - reported to the parent
            failures.append(f"{type(error).__name__}: {error}")
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        started.wait()
        result = drive(client, form, spec, window[0], window[1], cap_each)
        with lock:
            results.append(result)

    workers = [threading.Thread(target=thread_main, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=float(spec.get("setup_timeout", 120)))
    except threading.BrokenBarrierError:
        ready.put(("failed", "; ".join(failures) or "setup timed out"))
        pipe.send({"failures": failures})
        return
    ready.put(("ok", ""))
    if not go.wait(timeout=float(spec.get("setup_timeout", 120)) + 30):
        pipe.send({"failures": ["the parent never started the run"]})
        return
    start, end = window[0], window[1]
    started.set()
    usage: dict[str, float] = {}

    def cpu_now() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    time.sleep(max(0.0, start - time.monotonic()))
    usage["start"] = cpu_now()
    time.sleep(max(0.0, end - time.monotonic()))
    usage["end"] = cpu_now()
    for worker in workers:
        worker.join()
    merged: dict[str, Any] = {"latencies": [], "errors": 0, "timeouts": 0, "in_window": 0,
                              "sizes": [], "statuses": {},
                              "pattern_count": None, "finished": 0.0, "failures": failures,
                              "cold": cold,
                              "cpu": usage["end"] - usage["start"]}
    for result in results:
        merged["latencies"].extend(result["latencies"])
        merged["errors"] += result["errors"]
        merged["timeouts"] += result["timeouts"]
        merged["in_window"] += result["in_window"]
        merged["sizes"].extend(result["sizes"])
        for key, value in result["statuses"].items():
            merged["statuses"][key] = merged["statuses"].get(key, 0) + value
        if merged["pattern_count"] is None:
            merged["pattern_count"] = result["pattern_count"]
        merged["finished"] = max(merged["finished"], result["finished"])
        merged["all_capped"] = merged.get("all_capped", True) and result["capped"]
    pipe.send(merged)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run(spec: dict[str, Any], emit=print) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    require_loopback(spec["host"])
    clients = int(spec["clients"])
    processes = max(1, min(int(spec.get("processes", 2)), clients))
    cap_each = math.ceil(int(spec["max_requests"]) / clients)
    context = mp.get_context("fork")
    ready = context.Queue()
    go = context.Event()
    window = context.Array("d", 2)
    pipes, children = [], []
    share = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    for threads in share:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_child, daemon=True,
                                args=(spec, threads, cap_each, ready, go, window, sender))
        child.start()
        pipes.append(receiver)
        children.append(child)
    setup_deadline = time.monotonic() + float(spec.get("setup_timeout", 120))
    problems = []
    for _ in children:
        remaining = max(0.1, setup_deadline - time.monotonic())
        try:
            state, message = ready.get(timeout=remaining)
        except Exception:  # noqa: BLE001
            state, message = "failed", "setup timed out"
        if state != "ok":
            problems.append(message)
    if problems:
        for child in children:
            child.terminate()
        raise SystemExit("load generator setup failed: " + " | ".join(problems))
    start = time.monotonic() + 0.05 + float(spec.get("warmup", 2.0))
    end = start + float(spec["duration"])
    window[0], window[1] = start, end
    emit(f"window {start:.6f} {end:.6f}")
    go.set()
    parts = [pipe.recv() for pipe in pipes]
    for child in children:
        child.join(timeout=float(spec.get("timeout", 60.0)) + 5)
    completed = [x for part in parts for x in part.get("latencies", [])]
    timeouts = sum(part.get("timeouts", 0) for part in parts)
    timeout = float(spec.get("timeout", 60.0))
    # Requests that timed out took at least `timeout`: the percentiles include them as that.
    latencies = sorted(completed + [timeout] * timeouts)
    sizes = sorted(x for part in parts for x in part.get("sizes", []))
    finished = max([part.get("finished", 0.0) for part in parts] + [start])
    all_capped = all(part.get("all_capped", False) for part in parts)
    # Every client reached its share of the cap: the run ended at the last completion.
    elapsed = (finished if all_capped else max(finished, end)) - start
    elapsed = elapsed if completed and elapsed > 0 else float(spec["duration"])
    statuses: dict[str, int] = {}
    for part in parts:
        for key, value in part.get("statuses", {}).items():
            statuses[key] = statuses.get(key, 0) + value
    counts = [part.get("pattern_count") for part in parts if part.get("pattern_count") is not None]
    return {
        "count": len(completed),
        "in_window": sum(part.get("in_window", 0) for part in parts),
        "timeouts": timeouts,
        "errors": sum(part.get("errors", 0) for part in parts),
        "failures": [f for part in parts for f in part.get("failures", [])],
        "elapsed": elapsed,
        "rps": len(completed) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": (sum(latencies) / len(latencies) * 1000) if latencies else math.nan,
        "max_ms": (latencies[-1] * 1000) if latencies else math.nan,
        "bytes": sizes[len(sizes) // 2] if sizes else 0,
        "statuses": statuses,
        "pattern_count": counts[0] if counts else None,
        "cpu_seconds": sum(part.get("cpu", 0.0) for part in parts),
        "cold_max_ms": max([x for part in parts for x in part.get("cold", [])] or [0.0]) * 1000,
        "window": [start, end],
        "capped": all_capped,
    }


def main() -> None:
    spec = json.load(sys.stdin)

    def emit(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    result = run(spec, emit)
    emit(json.dumps(result))


if __name__ == "__main__":
    main()
