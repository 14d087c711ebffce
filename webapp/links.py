"""Which addresses staff may put in a page as a live link: web pages and e-mail, nothing else.

A "Sources" line that says `javascript:alert(1)` or `data:text/html,...` must never become a link
a patient can follow (the Content Security Policy stops the script, but a page must not rely on
it). The same rule holds in staff forms, catalog files and templates.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LINK_SCHEMES = ("http", "https", "mailto")
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def is_safe_link(url: object) -> bool:
    """An http(s) address with a host, or a mailto: address; nothing hidden in it."""
    if not isinstance(url, str) or not url or len(url) > 2000 or _SPACE_OR_CONTROL.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.hostname)
    return parts.scheme.lower() == "mailto" and "@" in parts.path


UNSAFE_LINK_MESSAGE = "must be a web address (http:// or https://) or an e-mail address (mailto:)"
