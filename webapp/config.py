"""Configuration: defaults in code, secrets and site settings from instance/ or the environment."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

LANGUAGES = ("en", "es", "zh", "ar")


class Defaults:
    LANGUAGES = LANGUAGES
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent.parent / "translations")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Answers live only in the signed cookie; it lasts for the browser session and is
    # refused after two hours without activity.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=2)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "trialcheck"
    # The CSRF token lives as long as the session; a separate, shorter timer only loses answers.
    WTF_CSRF_TIME_LIMIT = None
    # Patient messages come from the core in the reader's language, not from WTForms' own
    # catalogs (which Flask-WTF would otherwise reload on every form).
    WTF_I18N_ENABLED = False
    MAX_CONTENT_LENGTH = 64 * 1024
    # Staff uploads (registry records, catalog files) may be larger than patient forms.
    STAFF_MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    # While a shared store (Redis) cannot be reached, count in each worker's memory rather than
    # refuse every sign-in; the outage is logged by Flask-Limiter.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    STAFF_LOGIN_LIMITS = ("10 per minute", "50 per hour")
    # A staff sign-in lasts while it is used: it ends after this long without a request, and
    # in any case this long after signing in.
    STAFF_IDLE_TIMEOUT = timedelta(hours=2)
    STAFF_SESSION_MAX = timedelta(hours=12)
    # Where the registry API lives; tests point it at 127.0.0.1.
    CTGOV_API_URL = "https://clinicaltrials.gov/api/v2/studies/"
    CTGOV_TIMEOUT_SECONDS = 10
    # Base of share-link addresses printed on flyers; defaults to the address the page was served on.
    PUBLIC_BASE_URL = None
    # Results show this many trials per group, with a link to the rest in pages of GROUP_PAGE_SIZE.
    RESULTS_PER_GROUP = 5
    GROUP_PAGE_SIZE = 20
    # How long a process trusts the catalog revision it last read before reading it again. A
    # change committed by this process is seen at once; one committed by another worker within
    # this many seconds. 0 reads it on every request.
    CATALOG_REVISION_SECONDS = 1.0
    # Read the catalog revision (and rebuild the snapshot) in a background thread per process,
    # so no request waits for it, even while the database hangs.
    CATALOG_BACKGROUND_REFRESH = True
    # Deadlines for PostgreSQL (webapp/db_deadline.py): a page's database work, the staff
    # area's, work outside requests, connecting, and waiting for a free connection.
    DATABASE_SECONDS = 5.0
    STAFF_DATABASE_SECONDS = 60.0
    # The app's own work outside requests: reading the catalog revision, and building the
    # catalog index from the database (about 5 s for 100,000 studies), which no request waits for.
    BACKGROUND_DATABASE_SECONDS = 120.0
    # `flask catalog load`, `flask trials import-ctgov` of a whole search page, ...
    COMMAND_DATABASE_SECONDS = 3600.0
    DATABASE_CONNECT_SECONDS = 3
    DATABASE_POOL_SECONDS = 3
    # SQLite: how long a write waits for another to finish before it gives up. A background
    # write of a new screening's counts takes about half a second at 100,000 studies, and a few
    # can queue: a staff save waits its turn rather than fail.
    SQLITE_BUSY_SECONDS = 20.0


class StartupError(SystemExit):
    """Configuration the app cannot start with: one plain message on stderr, no traceback.

    A SystemExit with status 3, which `flask` passes on as its exit status and which
    gunicorn's master reads as "worker failed to boot", so it stops instead of restarting
    workers for ever.
    """

    EXIT_STATUS = 3

    def __init__(self, message: str):
        super().__init__(self.EXIT_STATUS)
        self.message = f"Trial Check cannot start: {message}"
        # A numeric SystemExit prints nothing, so say why here, where operators look.
        print(self.message, file=sys.stderr, flush=True)


DATABASE_BACKENDS = ("sqlite", "postgresql")


def check_database_url(url: str) -> None:
    scheme = url.split(":", 1)[0] if ":" in url else ""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = None
    if backend not in DATABASE_BACKENDS:
        # Only the scheme is repeated: the rest of the address may hold a password.
        raise StartupError(
            f"DATABASE_URL must start with postgresql:// or sqlite:/// (it starts with "
            f"{scheme + '://' if scheme else 'something else'})."
        )


def trusted_proxies(value: object) -> int:
    try:
        count = int(value or 0)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise StartupError(
            f"TRUSTED_PROXIES must be the number of proxies in front of the app, such as 0 or 1 "
            f"(it is {value!r})."
        )
    return count


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "trialcheck.sqlite3")
    return database_url_from(url)


def database_url_from(url: str) -> str:
    """Accept the common postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Read instance/secret_key, creating it with a random key on first run."""
    path = Path(instance_path) / "secret_key"
    try:
        if path.exists():
            key = path.read_text().strip()
            if key:
                return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key + "\n")
    except OSError as error:
        raise StartupError(
            f"could not write the secret key to {path} ({error.strerror or error}). Make "
            f"{path.parent} writable, or set SECRET_KEY in the environment."
        ) from None
    return key
