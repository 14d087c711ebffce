"""The patient languages: names in their own script, direction, and the language switch."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for

# Each language named in itself, so a person can find theirs whatever page they are on.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "zh": "中文", "ar": "العربية"}
RIGHT_TO_LEFT = frozenset({"ar"})


def current_language() -> str:
    lang = g.get("lang_code")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config["LANGUAGES"][0]


def switch_links() -> list[dict[str, object]]:
    """Links to this same page in every language; answers live in the session, so they stay."""
    endpoint = request.endpoint
    args = dict(request.view_args or {})
    same_page = bool(endpoint) and current_app.url_map.is_endpoint_expecting(endpoint, "lang_code")
    # The query string is carried over as it came, never as url_for keywords: "?_method=POST"
    # or "?_external=1" would otherwise steer how the address is built.
    query = urlencode(list(request.args.items(multi=True))) if same_page and request.args else ""
    links = []
    for code in current_app.config["LANGUAGES"]:
        if same_page:
            href = url_for(endpoint, **{**args, "lang_code": code}) + (f"?{query}" if query else "")
        else:
            href = url_for("screener.start", lang_code=code)
        links.append({"code": code, "name": LANGUAGE_NAMES.get(code, code), "href": href,
                      "current": code == current_language()})
    return links


def register_language_context(app: Flask) -> None:
    @app.context_processor
    def language_context() -> dict[str, object]:
        lang = current_language()
        return {
            "lang": lang,
            "text_direction": "rtl" if lang in RIGHT_TO_LEFT else "ltr",
            "language_links": switch_links,
            "language_names": LANGUAGE_NAMES,
        }
