"""Share links that staff hand out, and the anonymous daily counts of their use.

Counts hold a day, a link, a language and numbers: never an answer, an address or a time
finer than the day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..staff.models import utcnow


class ShareLink(db.Model):
    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5))
    # Registry ids the results are narrowed to; empty means every listed trial.
    trials: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UsageCount(db.Model):
    """One counter: e.g. (2026-11-21, link "abc", "es", "finished") = 12.

    Empty strings rather than NULLs for "no link", "no trial" and "no group", so the unique
    constraint holds on every database and an upsert can find the row.
    """

    __tablename__ = "usage_count"
    __table_args__ = (UniqueConstraint("day", "link_code", "language", "event", "registry_id", "verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    link_code: Mapped[str] = mapped_column(String(20), default="")
    language: Mapped[str] = mapped_column(String(5))
    # "started", "finished", or "verdict" (with registry_id and verdict set)
    event: Mapped[str] = mapped_column(String(20))
    registry_id: Mapped[str] = mapped_column(String(32), default="")
    verdict: Mapped[str] = mapped_column(String(20), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)

    def as_row(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "link": self.link_code, "language": self.language,
                "event": self.event, "trial": self.registry_id, "group": self.verdict,
                "count": self.count}


class CountedScreening(db.Model):
    """Which screenings a count already holds, so replaying an old cookie adds nothing. A hash
    of the random token the cookie carries, the event and the day: no answer, no time of day.
    Rows older than a day are deleted (a cookie is refused after two hours idle anyway)."""

    __tablename__ = "counted_screening"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
