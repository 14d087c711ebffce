"""Trial Check: a plain-language clinical-trial pre-screener (Flask app factory)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config
from .assets import register_assets
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .languages import current_language, register_language_context
from .logs import register_logging
from .security import register_request_checks
from .sessions import EncryptedSessionInterface

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("TRIALCHECK_INSTANCE_PATH") or None,
    )
    configure(app, test_config)
    register_logging(app)
    warn_about_limits_per_worker(app)
    register_request_checks(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_security_headers(app)
    register_template_filters(app)
    register_language_context(app)
    register_assets(app)
    return app


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object(config.Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        if os.environ.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
        if os.environ.get("SECRET_KEY_FALLBACKS"):
            # Older keys, comma-separated: cookies written with them are still read.
            app.config["SECRET_KEY_FALLBACKS"] = [k for k in os.environ["SECRET_KEY_FALLBACKS"].split(",") if k]
        if os.environ.get("RATELIMIT_STORAGE_URI"):
            app.config["RATELIMIT_STORAGE_URI"] = os.environ["RATELIMIT_STORAGE_URI"]
    else:
        app.config.from_mapping(test_config)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", config.database_url(app.instance_path))
    config.check_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from .db_deadline import postgresql_engine_options

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   **postgresql_engine_options(app)}
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from .sqlite_settings import sqlite_engine_options

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   **sqlite_engine_options(app)}
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret_key(app.instance_path)
    app.session_interface = EncryptedSessionInterface()
    proxies = config.trusted_proxies(
        os.environ.get("TRUSTED_PROXIES") or app.config.get("TRUSTED_PROXIES"))
    if proxies:
        # Behind a TLS-terminating proxy: trust its X-Forwarded-* headers so request.is_secure
        # (Secure cookie, HSTS) and the client address are right.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def warn_about_limits_per_worker(app: Flask) -> None:
    """Sign-in limits kept in memory hold per worker only: with 4 workers, 4 times as many
    guesses get through. Say so where operators look when serving that way."""
    workers = os.environ.get("TRIALCHECK_WORKERS") or os.environ.get("WEB_CONCURRENCY") or "1"
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if storage.startswith("memory://") and workers.isdigit() and int(workers) > 1:
        app.logger.warning("sign-in limits are kept in each worker's memory", extra={"fields": {
            "workers": int(workers), "advice": "set RATELIMIT_STORAGE_URI to a shared store such as "
                                                "redis://127.0.0.1:6379/0, so the limits hold across workers"}})


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    # Batch mode lets SQLite alter tables the way PostgreSQL does.
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    # current_user is offered to staff templates only (see staff.views), so patient pages never
    # load a staff user or touch the session for it.
    login_manager.init_app(app, add_context_processor=False)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    # After register_request_checks, which sets the staff upload limit before anything reads the form.
    csrf.init_app(app)


def select_locale() -> str:
    return current_language()


def register_blueprints(app: Flask) -> None:
    # Importing the models registers their tables for migrations and queries.
    from .sharing import models as _sharing_models  # noqa: F401
    from .staff import auth as _staff_auth  # noqa: F401
    from .staff import bank_views as _bank_views  # noqa: F401  (its routes join the staff blueprint)
    from .staff import models as _staff_models  # noqa: F401
    from .errors import bp as errors_bp
    from .screener import bp as screener_bp
    from .sharing.views import bp as sharing_bp
    from .site import bp as site_bp
    from .staff.views import bp as staff_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(sharing_bp)
    app.register_blueprint(staff_bp)
    # Only staff sign-in is rate limited; patient pages skip the limiter's checks entirely.
    for blueprint in (site_bp, sharing_bp, screener_bp, errors_bp):
        limiter.exempt(blueprint)
    app.register_blueprint(screener_bp)
    app.register_blueprint(errors_bp)
    from .sharing.service import VerdictTally, write_verdict_counts

    app.extensions["verdict_tally"] = VerdictTally()
    # Run by the catalog refresher thread about once a second (webapp.catalog.snapshot).
    app.extensions["background_tasks"] = [write_verdict_counts]


def register_template_filters(app: Flask) -> None:
    from .content import render_markdown
    from .links import is_safe_link

    app.jinja_env.filters["markdown"] = render_markdown
    # {% if url is safe_link %}: only web and e-mail addresses become live links.
    app.jinja_env.tests["safe_link"] = is_safe_link
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.add_extension("webapp.templating.Dedent")
    # Drop the template's own indentation and block newlines from the HTML sent to phones.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def register_commands(app: Flask) -> None:
    from .catalog.cli import catalog_cli, trials_cli
    from .staff.cli import staff_cli
    from .translations_cli import translate_cli

    app.cli.add_command(catalog_cli)
    app.cli.add_command(trials_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(translate_cli)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):  # type: ignore[no-untyped-def]
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
