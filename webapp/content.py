"""Renders staff-written Markdown to safe HTML: markdown-it for parsing, nh3 for sanitising."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from .bidi import isolate_latin_in_html

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {"p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote",
                "code", "br", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(text: str, right_to_left: bool = False) -> Markup:
    """Safe HTML from staff Markdown; in a right-to-left page, Latin names stay whole."""
    html = _markdown.render(text or "")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    return Markup(isolate_latin_in_html(clean) if right_to_left else clean)
