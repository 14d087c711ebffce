"""No-op gettext marker for strings defined in the pure core.

`N_` marks a string for extraction (pybabel's keyword list includes it) without translating
it here; the web layer passes the marked string through gettext when it shows it.
"""


def N_(message: str) -> str:
    return message
