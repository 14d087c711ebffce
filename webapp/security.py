"""Checks every request passes before any page sees it."""

from __future__ import annotations

import re

from flask import Flask, abort, request

# C0 control characters and DEL. No address of this app contains one, and PostgreSQL refuses
# NUL in text, so such an address would otherwise fail inside a query instead of finding no page.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def register_request_checks(app: Flask) -> None:
    @app.before_request
    def refuse_control_characters_in_addresses() -> None:
        if CONTROL_CHARACTERS.search(request.path):
            abort(404)
        if any(CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value)
               for key, value in request.args.items(multi=True)):
            abort(400)
