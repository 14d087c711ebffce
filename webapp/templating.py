"""Template loading: patient templates lose their source indentation before they are compiled."""

from __future__ import annotations

import re

from jinja2.ext import Extension

LEADING_SPACE = re.compile(r"^[ \t]+", re.MULTILINE)


class Dedent(Extension):
    """Drop each line's leading indentation from a template's source, once, at compile time.

    Indentation keeps templates readable but is a few hundred bytes on every page sent to a
    phone. Whitespace between words stays (the line break remains). Templates with
    whitespace-sensitive elements, and the staff area's, are left as they are.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if not name or name.startswith("staff/") or "<pre" in source or "<textarea" in source:
            return source
        return LEADING_SPACE.sub("", source)
