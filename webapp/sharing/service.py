"""Share links and anonymous usage counts.

Counting never stores an answer: only the day, the link, the language, and for finished
screenings which result group each trial landed in.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

import numpy as np
import segno
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.engine import Verdict
from ..core.screening import CatalogIndex, Screening, mask_of
from ..extensions import db
from .models import CountedScreening, ShareLink, UsageCount

log = logging.getLogger(__name__)

# Counts below this are shown as "fewer than 5", so small numbers cannot point at a person.
SMALL_COUNT = 5
# Verdict count rows written per statement (all in one transaction).
COUNT_ROWS_PER_STATEMENT = 2000
# How long a process keeps what it read of a share link (switching a link off takes effect
# within this time).
LINK_SCOPE_SECONDS = 60
STARTED, FINISHED, VERDICT = "started", "finished", "verdict"


def new_code() -> str:
    while True:
        code = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
        if db.session.scalar(select(ShareLink.id).where(ShareLink.code == code)) is None:
            return code


def link_by_code(code: str) -> ShareLink | None:
    if not code or len(code) > 20:
        return None
    return db.session.scalar(select(ShareLink).where(ShareLink.code == code))


def link_scope(code: str | None) -> set[str] | None:
    """The registry ids a share link narrows results to, or None for every listed trial.

    Kept per process for a minute, so question pages do not read the link on every request and
    keep working for a while when the database cannot be reached.
    """
    if not code:
        return None
    scopes = current_app.extensions.setdefault("link_scopes", {})
    found = scopes.get(code)
    now = time.monotonic()
    if found is not None and now - found[0] < LINK_SCOPE_SECONDS:
        return found[1]
    try:
        link = link_by_code(code)
    except (DBAPIError, PoolTimeout):
        db.session.rollback()
        if found is None:
            raise
        return found[1]
    scope = None if link is None or not link.active or not link.trials else set(link.trials)
    if len(scopes) > 10_000:
        scopes.clear()
    scopes[code] = (now, scope)
    return scope


def qr_code(url: str, kind: str) -> bytes:
    """The link as a QR code, as SVG or PNG, big enough to scan from a printed flyer."""
    buffer = io.BytesIO()
    qr = segno.make(url, error="m")
    if kind == "svg":
        qr.save(buffer, kind="svg", scale=8, border=4, xmldecl=True, svgns=True,
                title="QR code")
    else:
        qr.save(buffer, kind="png", scale=12, border=4)
    return buffer.getvalue()


def _increment(rows: list[dict[str, object]]) -> None:
    """Add each row's count to its counter in a single statement, creating the ones that do not
    exist."""
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(UsageCount)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "link_code", "language", "event", "registry_id", "verdict"],
        set_={"count": UsageCount.count + statement.excluded.count})
    db.session.execute(statement, rows)


def count_started(link_code: str | None, language: str, token: str) -> bool:
    return _record(STARTED, link_code, language, token)


def count_finished(link_code: str | None, language: str, screening: Screening, token: str) -> bool:
    """Count a finished screening, and the result group each listed trial landed in (whether
    its card is on the first results page or behind a "show more" link)."""
    day = date.today()
    return _record(FINISHED, link_code, language, token,
                   then=lambda: tally().add((day, link_code or "", language), screening.index,
                                           tuple(screening.verdicts[v] for v in TALLIED)))


def _record(event: str, link_code: str | None, language: str, token: str,
            then: Callable[[], None] | None = None) -> bool:
    """Add one screening's event to the day's counts, once per screening token; True when it
    is counted (now or before). `then` runs once the event is stored for the first time. A
    count must never cost a patient their page: a failure is logged and left for the next page
    to try again."""
    try:
        today = date.today()
        insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        # RETURNING says whether this screening's event was new (rowcount is not reliable for
        # an ORM insert on every driver).
        first = db.session.execute(insert(CountedScreening.__table__).on_conflict_do_nothing().values(
            token_hash=hashlib.sha256(token.encode()).hexdigest(), event=event, day=today)
            .returning(CountedScreening.__table__.c.token_hash)).first()
        if first is not None:
            _increment([{"day": today, "link_code": link_code or "", "language": language, "event": event,
                         "registry_id": "", "verdict": "", "count": 1}])
        db.session.execute(delete(CountedScreening).where(CountedScreening.day < today - timedelta(days=1)))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("usage count not recorded", exc_info=True)
        return False
    if first is not None and then is not None:
        then()
        if not current_app.config["CATALOG_BACKGROUND_REFRESH"]:
            # No background thread to write the tally: it is written now.
            write_verdict_counts()
    return True


TALLIED = (Verdict.FIT, Verdict.CHECK, Verdict.UNLIKELY)
# Screenings a process keeps while the database cannot take their verdict counts.
TALLY_KEPT = 10_000


class VerdictTally:
    """The result groups of this process's finished screenings, added up per trial and written
    together (`write_verdict_counts`, about once a second from the catalog refresher thread).

    With a registry-sized catalog one screening lists tens of thousands of trials: a row
    written for each while the person waits would cost their results page most of a second.
    A screening adds only its verdict bitsets (which trials landed in which group, nothing of
    the answers), and the writer turns them into counts with numpy. A process that dies loses
    at most its last second's screenings.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[tuple[date, str, str], CatalogIndex, tuple[int, ...]]] = []

    def add(self, key: tuple[date, str, str], index: CatalogIndex, verdicts: tuple[int, ...]) -> None:
        with self._lock:
            self._pending.append((key, index, verdicts))

    def take(self) -> list[tuple[tuple[date, str, str], CatalogIndex, tuple[int, ...]]]:
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

    def give_back(self, taken: list[tuple[tuple[date, str, str], CatalogIndex, tuple[int, ...]]]) -> None:
        with self._lock:
            self._pending[:0] = taken
            if len(self._pending) > TALLY_KEPT:
                log.warning("verdict counts dropped: the database has not taken them for too long")
                del self._pending[:len(self._pending) - TALLY_KEPT]


def tally() -> VerdictTally:
    """This app's tally (made with the app, see webapp.create_app)."""
    return current_app.extensions["verdict_tally"]


def write_verdict_counts() -> None:
    """Write the tallied verdict counts; on a database error they are kept for the next try."""
    taken = tally().take()
    if not taken:
        return
    grouped: dict[tuple[tuple[date, str, str], int], list[tuple[int, ...]]] = {}
    indexes: dict[int, CatalogIndex] = {}
    for key, index, verdicts in taken:
        indexes[id(index)] = index
        grouped.setdefault((key, id(index)), []).append(verdicts)

    def rows() -> Iterator[dict[str, object]]:
        for ((day, link_code, language), index_id), screenings in grouped.items():
            index = indexes[index_id]
            for n, verdict in enumerate(TALLIED):
                counts = np.zeros(index.size, dtype=np.int64)
                for verdicts in screenings:
                    counts += mask_of(verdicts[n], index.size)
                for position in np.flatnonzero(counts).tolist():
                    yield {"day": day, "link_code": link_code, "language": language, "event": VERDICT,
                           "registry_id": index.trials.registry_id(position), "verdict": verdict.value,
                           "count": int(counts[position])}

    try:
        # In one transaction, a few thousand rows at a time: at 100,000 studies one screening
        # alone is 40,000 rows, and a list of them all would cost the worker tens of MB.
        counted = rows()
        while chunk := list(islice(counted, COUNT_ROWS_PER_STATEMENT)):
            _increment(chunk)
        db.session.commit()
    except Exception:
        db.session.rollback()
        tally().give_back(taken)
        log.warning("verdict counts not written yet", exc_info=True)


@dataclass
class CountRow:
    day: str
    link: str
    language: str
    started: int
    finished: int


@dataclass
class VerdictRow:
    day: str
    link: str
    language: str
    trial: str
    fit: int
    check: int
    unlikely: int


def shown(count: int) -> str:
    return "fewer than 5" if count < SMALL_COUNT else str(count)


def count_tables() -> tuple[list[CountRow], list[VerdictRow]]:
    """The counts staff may see: whole days only (today's would change with each visit, and
    reading them before and after one would show that person's result), and a breakdown by
    study only for a day, link and language with at least 5 finished screenings, so no count
    can point at one person."""
    rows = db.session.scalars(select(UsageCount).where(UsageCount.day < date.today()).order_by(
        UsageCount.day.desc(), UsageCount.link_code, UsageCount.language, UsageCount.registry_id))
    screenings: dict[tuple[str, str, str], CountRow] = {}
    verdicts: dict[tuple[str, str, str, str], VerdictRow] = {}
    for row in rows:
        key = (row.day.isoformat(), row.link_code, row.language)
        if row.event in (STARTED, FINISHED):
            entry = screenings.setdefault(key, CountRow(*key, started=0, finished=0))
            setattr(entry, row.event, getattr(entry, row.event) + row.count)
        elif row.event == VERDICT:
            vkey = (*key, row.registry_id)
            ventry = verdicts.setdefault(vkey, VerdictRow(*vkey, fit=0, check=0, unlikely=0))
            if row.verdict in ("fit", "check", "unlikely"):
                setattr(ventry, row.verdict, getattr(ventry, row.verdict) + row.count)
    enough = {key for key, entry in screenings.items() if entry.finished >= SMALL_COUNT}
    return list(screenings.values()), [v for v in verdicts.values() if (v.day, v.link, v.language) in enough]


def totals_by_link() -> dict[str, dict[str, int]]:
    """Screenings per link over whole days (not today's, for the same reason as count_tables)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {STARTED: 0, FINISHED: 0})
    for row in db.session.scalars(select(UsageCount).where(UsageCount.event.in_((STARTED, FINISHED)),
                                                           UsageCount.day < date.today())):
        totals[row.link_code][row.event] += row.count
    return totals
