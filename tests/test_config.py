"""Configuration: the secret key is generated into instance/ on first run, never hard-coded."""

from __future__ import annotations

import stat

from webapp import create_app
from webapp.config import database_url_from


def test_secret_key_generated_once_in_instance(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("TRIALCHECK_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = create_app()
    key_file = instance / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) == 64
    assert create_app().config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance}/trialcheck.sqlite3"


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALCHECK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "shared-between-servers")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.internal/trialcheck")
    app = create_app()
    assert app.config["SECRET_KEY"] == "shared-between-servers"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal/trialcheck"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_spellings():
    assert database_url_from("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert database_url_from("sqlite:///x.db") == "sqlite:///x.db"


def test_trusted_proxy_makes_https_visible(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALCHECK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers
    monkeypatch.setenv("TRUSTED_PROXIES", "0")
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
