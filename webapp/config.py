"""Configuration: defaults in code, secrets and site settings from instance/ or the environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

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
    STAFF_LOGIN_LIMITS = ("10 per minute", "50 per hour")
    # Where the registry API lives; tests point it at 127.0.0.1.
    CTGOV_API_URL = "https://clinicaltrials.gov/api/v2/studies/"
    CTGOV_TIMEOUT_SECONDS = 10
    # Base of share-link addresses printed on flyers; defaults to the address the page was served on.
    PUBLIC_BASE_URL = None
    # Results show this many trials per group, with a link to the rest in pages of GROUP_PAGE_SIZE.
    RESULTS_PER_GROUP = 5
    GROUP_PAGE_SIZE = 20


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
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key
