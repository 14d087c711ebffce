"""/s/<code>: a share link starts the screener in its language, narrowed to its trials."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for

from ..screener.answers import start_fresh_screening
from .service import link_by_code

bp = Blueprint("sharing", __name__)


@bp.get("/s/<code>")
def follow(code: str):  # type: ignore[no-untyped-def]
    link = link_by_code(code)
    if link is None:
        abort(404)
    g.lang_code = link.language
    if not link.active:
        return render_template("sharing/inactive.html"), 410
    start_fresh_screening(link.code)
    return redirect(url_for("screener.start", lang_code=link.language))
