"""Share links and anonymous usage counts.

Counting never stores an answer: only the day, the link, the language, and for finished
screenings which result group each trial landed in.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import segno
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.screening import positions_of
from ..extensions import db
from .models import CountedScreening, ShareLink, UsageCount

log = logging.getLogger(__name__)

# Counts below this are shown as "fewer than 5", so small numbers cannot point at a person.
SMALL_COUNT = 5
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


def landed(screening) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(registry id, result group) for every trial listed for the person, whether its card is
    on the first results page or behind a "show more" link."""
    trials = screening.index.trials
    return [(trials[p].registry_id, verdict.value) for verdict, bits in screening.verdicts.items()
            for p in positions_of(bits)]


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
    """Add one to each counter in a single statement, creating the ones that do not exist."""
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(UsageCount).on_conflict_do_update(
        index_elements=["day", "link_code", "language", "event", "registry_id", "verdict"],
        set_={"count": UsageCount.count + 1})
    db.session.execute(statement, rows)


def count_started(link_code: str | None, language: str, token: str) -> bool:
    return _record([(STARTED, "", "")], link_code, language, token)


def count_finished(link_code: str | None, language: str, verdicts: list[tuple[str, str]], token: str) -> bool:
    """`verdicts`: (registry id, result group) for each trial listed for the person."""
    return _record([(FINISHED, "", "")] + [(VERDICT, rid, group) for rid, group in verdicts],
                   link_code, language, token)


def _record(events: list[tuple[str, str, str]], link_code: str | None, language: str, token: str) -> bool:
    """Add one screening's events to the day's counts, once per screening token; True when
    they are counted (now or before). A count must never cost a patient their page: a failure
    is logged and left for the next page to try again."""
    try:
        today = date.today()
        insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        # RETURNING says whether this screening's event was new (rowcount is not reliable for
        # an ORM insert on every driver).
        first = db.session.execute(insert(CountedScreening.__table__).on_conflict_do_nothing().values(
            token_hash=hashlib.sha256(token.encode()).hexdigest(), event=events[0][0], day=today)
            .returning(CountedScreening.__table__.c.token_hash)).first()
        if first is not None:
            _increment([{"day": today, "link_code": link_code or "", "language": language, "event": event,
                         "registry_id": registry_id, "verdict": verdict, "count": 1}
                        for event, registry_id, verdict in events])
        db.session.execute(delete(CountedScreening).where(CountedScreening.day < today - timedelta(days=1)))
        db.session.commit()
        return True
    except Exception:
        db.session.rollback()
        log.warning("usage count not recorded", exc_info=True)
        return False


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
