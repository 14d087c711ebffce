"""A small per-process cache of rendered question pages, for the GET of a question.

A question page depends only on the language, the address, the question, the saved answer
to that one question and where the back link goes; the one per-person part, the CSRF
token, is filled in on every request. Pages with a message to show (a flash) or an error
are never cached. No person's identity is kept: only page text for an answer value.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from flask import current_app
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

TOKEN_SLOT = "__trialcheck_csrf_token__"
PAGES_KEPT = 1024


def cache_key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def _pages() -> OrderedDict[str, str]:
    return current_app.extensions.setdefault("question_pages", OrderedDict())


def cached_page(key: str) -> str | None:
    pages = _pages()
    page = pages.get(key)
    if page is None:
        return None
    pages.move_to_end(key)
    return page.replace(TOKEN_SLOT, generate_csrf())


def remember_page(key: str, render) -> str:  # type: ignore[no-untyped-def]
    """Render with a placeholder token, keep it, and return it with this person's token."""
    page = render(Markup(TOKEN_SLOT))
    pages = _pages()
    pages[key] = page
    while len(pages) > PAGES_KEPT:
        pages.popitem(last=False)
    return page.replace(TOKEN_SLOT, generate_csrf())
