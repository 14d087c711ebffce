"""Extension objects, created unbound here and bound to the app in the factory.

This module imports nothing of the app, so any module may import it without a cycle.
"""

from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class Migrations:
    """Flask-Migrate, bound only when something uses it: it brings Alembic (about 11 MB of
    every process's memory), which a worker serving pages never needs.

    Under the `flask` command the app is made inside click's context: Flask-Migrate is bound at
    once, so `flask db ...` is there. Elsewhere (gunicorn, the tests) `app.extensions["migrate"]`
    binds it on first use, e.g. by `flask_migrate.upgrade()`.
    """

    def init_app(self, app: Flask, db: SQLAlchemy, **options: Any) -> None:
        def bind() -> Any:
            from flask_migrate import Migrate

            Migrate(app, db, **options)  # puts its own config in app.extensions["migrate"]
            return app.extensions["migrate"]

        if click.get_current_context(silent=True) is not None:
            bind()
        else:
            app.extensions["migrate"] = _Unbound(bind)


class _Unbound:
    """Stands in for Flask-Migrate's config until the first look at it."""

    def __init__(self, bind: Callable[[], Any]):
        self._bind = bind

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bind(), name)


db = SQLAlchemy(model_class=Base)
migrate = Migrations()
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# Storage comes from RATELIMIT_STORAGE_URI: memory by default, a shared store (redis://...)
# when several servers run. Only staff login is limited; patient pages are not.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
