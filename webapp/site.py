"""Pages outside any language prefix: the root address picks a language and redirects."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for

bp = Blueprint("site", __name__)


@bp.get("/")
def root():  # type: ignore[no-untyped-def]
    languages = current_app.config["LANGUAGES"]
    best = request.accept_languages.best_match(languages) or languages[0]
    return redirect(url_for("screener.start", lang_code=best))


@bp.get("/healthz")
def health():  # type: ignore[no-untyped-def]
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
