"""Staff sign-in: Flask-Login wiring, role checks, and the login service."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import wraps
from typing import Any

from flask import abort, current_app, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select, update

from ..extensions import db, login_manager
from .models import StaffSession, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12

login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to use the staff area."
login_manager.session_protection = "strong"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def session_row(token: object) -> StaffSession | None:
    if not isinstance(token, str) or not 10 <= len(token) <= 100:
        return None
    return db.session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def session_is_live(row: StaffSession, now: datetime) -> bool:
    config = current_app.config
    return (row.ended_at is None and now - as_utc(row.last_seen_at) < config["STAFF_IDLE_TIMEOUT"]
            and now - as_utc(row.created_at) < config["STAFF_SESSION_MAX"])


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    # The id carries the password generation, so a password reset ends older sessions; the
    # session row must be live (not signed out, not idle too long, not too old).
    identifier, _, generation = user_id.partition(":")
    if not identifier.isascii() or not identifier.isdigit() or not generation.isascii() or not generation.isdigit():
        return None
    row = session_row(session.get("sid"))
    now = utcnow()
    if row is None or row.staff_id != int(identifier) or not session_is_live(row, now):
        return None
    user = db.session.get(StaffUser, int(identifier))
    if user is None or not user.active or user.password_generation != int(generation):
        return None
    _keep_alive(row, now)
    return user


def _keep_alive(row: StaffSession, now: datetime) -> None:
    """A session lasts while it is used: note the activity on the server and rewrite the cookie
    (whose own age limit is PERMANENT_SESSION_LIFETIME), each at most every eighth of its limit."""
    idle = current_app.config["STAFF_IDLE_TIMEOUT"]
    if now - as_utc(row.last_seen_at) > idle / 8:
        db.session.execute(update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if time.time() - session.get("seen", 0) > lifetime / 8:
        session["seen"] = int(time.time())


class PasswordTooShort(ValueError):
    pass


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(f"Use at least {MIN_PASSWORD_LENGTH} characters.")


def find_staff(email: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> StaffUser | None:
    user = find_staff(email)
    if user is None or not user.active:
        # Spend the same time as a real check so timing does not reveal which emails exist.
        StaffUser(password_hash="").set_password(password)
        return None
    return user if user.check_password(password) else None


def start_staff_session(user: StaffUser) -> None:
    """Sign in with a brand-new session, so an id set before login is never reused. The
    session lives on the server too: signing out ends it there."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(token_hash=token_hash(token), staff_id=user.id))
    db.session.commit()
    session["sid"] = token
    session["seen"] = int(time.time())
    login_user(user)


def end_staff_session() -> None:
    row = session_row(session.get("sid"))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        db.session.commit()
    logout_user()
    session.clear()


def end_sessions_of(user: StaffUser) -> None:
    """End every session of an account (password changed, account blocked), in the caller's
    transaction."""
    db.session.execute(update(StaffSession).where(StaffSession.staff_id == user.id,
                                                  StaffSession.ended_at.is_(None)).values(ended_at=utcnow()))


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
