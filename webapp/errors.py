"""Friendly error pages in the reader's language; never a stack trace."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.globals import request_ctx
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .logs import error_fields, request_fields

bp = Blueprint("errors", __name__)

MESSAGES = {
    400: (_l("Something was wrong with that request"),
          _l("Please go back and try again.")),
    404: (_l("Page not found"),
          _l("Check the address, or start from the beginning.")),
    405: (_l("That did not work"),
          _l("Please go back and try again.")),
    413: (_l("That was too much to send"),
          _l("Please go back and send a shorter answer.")),
    429: (_l("Too many tries"),
          _l("Please wait a few minutes, then try again.")),
    500: (_l("Sorry, something went wrong on our side"),
          _l("Your answers are safe in your browser. Please try again in a few minutes.")),
}
# A database outage reads the same to a person as any fault on our side.
MESSAGES[503] = MESSAGES[500]
# Seconds a browser or proxy should wait before asking again while the database is down.
RETRY_AFTER = 30


def _page_language() -> str:
    """The language of the page asked for, even when its address matched no page."""
    languages = current_app.config["LANGUAGES"]
    if g.get("lang_code") in languages:
        return g.lang_code
    prefix = request.path.strip("/").split("/", 1)[0]
    return prefix if prefix in languages else languages[0]


def _render(code: int):  # type: ignore[no-untyped-def]
    if request_ctx.url_adapter is None:
        # The Host header could not be used (BadHost: a label over 63 characters, say), so no
        # address could be matched or built from it: build the page's links without it.
        request_ctx.url_adapter = current_app.url_map.bind("localhost", script_name=request.script_root or None,
                                                           url_scheme=request.scheme)
    g.lang_code = _page_language()
    title, advice = MESSAGES.get(code, MESSAGES[400])
    return render_template("errors/error.html", code=code, title=title, advice=advice,
                           languages=current_app.config["LANGUAGES"]), code


# Flask-WTF's reasons when the form's token could not be checked because the session is gone.
SESSION_RAN_OUT = ("The CSRF session token is missing.", "The CSRF token has expired.")


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
    if request.blueprint == "staff":
        from flask_login import current_user

        if not current_user.is_authenticated and error.description in SESSION_RAN_OUT:
            # The session ran out (or the browser lost it): sign in again, keeping what was typed.
            from .staff.drafts import sign_in_again

            return sign_in_again()
        return _render(400)
    if getattr(session, "unreadable", False) or not session.get("csrf_token"):
        # The cookie was tampered with, expired, or never sent: start again, and say so.
        session.unreadable = False
        g.lang_code = _page_language()
        flash(gettext("We could not read your saved answers, so we started a new screening."))
        return redirect(url_for("screener.start", lang_code=g.lang_code))
    return _render(400)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    return _render(error.code or 500)


@bp.app_errorhandler(DBAPIError)
@bp.app_errorhandler(PoolTimeout)
def database_error(error: Exception):  # type: ignore[no-untyped-def]
    unreachable = isinstance(error, (OperationalError, InterfaceError, PoolTimeout)) or getattr(
        error, "connection_invalidated", False)
    if not unreachable:
        return unexpected_error(error)
    # The database is down or out of reach: say so plainly and ask the person to come back.
    original = getattr(error, "orig", None)
    current_app.logger.error("database unavailable", extra={"fields": {
        **request_fields(), **error_fields(error), "status": ServiceUnavailable.code,
        "driver_error": type(original).__name__ if original is not None else None,
    }})
    body, code = _render(ServiceUnavailable.code)
    return body, code, {"Retry-After": str(RETRY_AFTER)}


@bp.app_errorhandler(Exception)
def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
    current_app.logger.error("unhandled error", extra={"fields": {
        **request_fields(), **error_fields(error), "status": InternalServerError.code,
    }})
    return _render(InternalServerError.code)
