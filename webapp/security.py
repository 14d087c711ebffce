"""Checks every request passes before any page sees it."""

from __future__ import annotations

import re

from flask import Flask, abort, request

# C0 control characters and DEL. No address of this app contains one, and PostgreSQL refuses
# NUL in text, so such an address would otherwise fail inside a query instead of finding no page.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def register_request_checks(app: Flask) -> None:
    """Registered before every other request hook (CSRF protection included)."""

    @app.before_request
    def staff_upload_limit() -> None:
        # Before anything reads the form: registry records and catalog files sent to /staff
        # may be larger than anything a patient sends.
        if request.path.startswith("/staff/"):
            request.max_content_length = app.config["STAFF_MAX_CONTENT_LENGTH"]

    @app.before_request
    def refuse_control_characters_in_addresses() -> None:
        if CONTROL_CHARACTERS.search(request.path):
            abort(404)
        if any(CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value)
               for key, value in request.args.items(multi=True)):
            abort(400)
        # Form fields may hold line breaks and tabs, never NUL: PostgreSQL cannot store it, and
        # SQLite would store what PostgreSQL refuses. Files are checked where they are read.
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in FORM_TYPES and any(
                "\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)):
            abort(400)
