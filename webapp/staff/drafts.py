"""A save that arrives after the staff session (or its form token) ran out is kept, not lost.

The person is asked to sign in again and then sees what they typed, with a button that sends
it again to the page it was for: it then goes through the usual checks, so a change someone
else made meanwhile still shows as an edit conflict. A draft is kept only when the expired
session can be told to be theirs, is given back only to them, and is deleted once saved,
discarded, or a day old. Passwords and uploaded files are never kept.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import flash, redirect, request, session, url_for
from sqlalchemy import delete, select

from ..extensions import db
from .auth import as_utc, session_row
from .models import StaffDraft, utcnow

KEPT_FOR = timedelta(days=1)
MAX_FIELD_BYTES = 2 * 1024 * 1024
NEVER_KEPT = ("csrf_token", "_draft")


def _kept_fields() -> list[list[str]] | None:
    fields, size = [], 0
    for name, value in request.form.items(multi=True):
        if name in NEVER_KEPT or "password" in name.lower():
            continue
        size += len(name) + len(value)
        if size > MAX_FIELD_BYTES:
            return None
        fields.append([name, value])
    return fields


def keep_draft() -> str | None:
    """Keep this staff POST's form as a draft of the person whose session it came from; the
    draft's token, or None when whose it is cannot be told (or nothing was typed)."""
    if request.method != "POST" or request.endpoint in ("staff.login", "staff.logout"):
        return None
    token = session.get("sid") or getattr(session, "expired_sid", None)
    row = session_row(token)
    if row is None or utcnow() - as_utc(row.last_seen_at) > KEPT_FOR:
        return None
    fields = _kept_fields()
    if not fields:
        return None
    db.session.execute(delete(StaffDraft).where(StaffDraft.created_at < utcnow() - KEPT_FOR))
    draft = StaffDraft(token=secrets.token_urlsafe(24), staff_id=row.staff_id,
                       path=request.full_path.rstrip("?")[:500], fields=fields)
    db.session.add(draft)
    db.session.commit()
    return draft.token


def sign_in_again() -> Any:
    """Where to send a staff POST whose session ran out: the sign-in page, with the draft."""
    draft = keep_draft()
    if draft:
        flash("Your session ended before this was saved. Sign in again: what you typed is kept.")
        return redirect(url_for("staff.login", next=request.path, draft=draft))
    flash("Your session ended. Please sign in again.")
    return redirect(url_for("staff.login", next=request.path))


def draft_of(token: str, staff_id: int) -> StaffDraft | None:
    draft = db.session.scalar(select(StaffDraft).where(StaffDraft.token == token))
    if draft is None or draft.staff_id != staff_id or utcnow() - as_utc(draft.created_at) > KEPT_FOR:
        return None
    return draft


def forget_draft(token: str) -> None:
    db.session.execute(delete(StaffDraft).where(StaffDraft.token == token))
    db.session.commit()
