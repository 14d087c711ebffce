"""Staff sign-in: Flask-Login wiring, role checks, and the login service."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from ..extensions import db, login_manager
from .models import StaffUser

MIN_PASSWORD_LENGTH = 12

login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to use the staff area."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    # The id carries the password generation, so a password reset ends older sessions.
    identifier, _, generation = user_id.partition(":")
    if not identifier.isdigit() or not generation.isdigit():
        return None
    user = db.session.get(StaffUser, int(identifier))
    if user is None or not user.active or user.password_generation != int(generation):
        return None
    return user


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
    """Sign in with a brand-new session, so an id set before login is never reused."""
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)
    login_user(user)


def end_staff_session() -> None:
    logout_user()
    session.clear()


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
