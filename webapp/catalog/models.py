"""Database tables for the catalog. Patient answers never go here.

Texts a person reads are kept per language in JSON columns, shaped
{"en": {"title": ..., "summary": ..., "reviewed": false}, ...}, so a new language is new
data rather than new columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Trial(db.Model):
    __tablename__ = "trial"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registry_id: Mapped[str] = mapped_column(String(32), unique=True)
    registry_url: Mapped[str | None] = mapped_column(String(500))
    acronym: Mapped[str | None] = mapped_column(String(200))
    official_title: Mapped[str] = mapped_column(Text)
    sponsor: Mapped[str | None] = mapped_column(String(1000))
    phase: Mapped[str | None] = mapped_column(String(200))
    # ClinicalTrials.gov overallStatus, e.g. RECRUITING or ACTIVE_NOT_RECRUITING.
    status: Mapped[str] = mapped_column(String(40))
    # "YYYY-MM-DD" or "YYYY-MM": registries often give a month only.
    status_verified: Mapped[str | None] = mapped_column(String(10))
    site: Mapped[str | None] = mapped_column(String(1000))
    site_city: Mapped[str | None] = mapped_column(String(300))
    # Condition tags from the screener's condition question (type1, chronic_pancreatitis, ...).
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    facts_checked: Mapped[str | None] = mapped_column(String(10))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Set when staff change the trial, so loading a newer bundled catalog leaves it alone.
    staff_edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Fields kept from a ClinicalTrials.gov import (updated on re-import, never staff texts).
    brief_title: Mapped[str | None] = mapped_column(Text)
    phases: Mapped[list[str]] = mapped_column(JSON, default=list)
    sex: Mapped[str | None] = mapped_column(String(10))
    minimum_age: Mapped[str | None] = mapped_column(String(40))
    maximum_age: Mapped[str | None] = mapped_column(String(40))
    registry_conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    locations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The located sites of `locations`, packed, kept up to date on every write of the locations
    # or the status (webapp/catalog/sites.py), so building the catalog index does not parse the
    # locations of every study. Only a cache: when missing or stale, the locations are read.
    site_points: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    eligibility_text: Mapped[str | None] = mapped_column(Text)
    registry_updated: Mapped[str | None] = mapped_column(String(10))
    # Staff decisions on the lines of the registry's eligibility text, by line key:
    # "study_team" (the study team will check) or "not_about_patient" (consent, say). A line
    # turned into a criterion is linked from the criterion instead.
    line_triage: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # How many of those lines staff have not gone through yet (kept up to date by the services
    # that change the text, the triage or the criteria, so screening never re-reads the text).
    untriaged_lines: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How many lines staff marked "the study team will check" (the study is then at best
    # "might be a fit", as with any criterion only the study team can check).
    team_lines: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Optimistic locking: a save based on an older version is refused, never silently lost.
    # Services bump it on every change (criteria and texts included); the UPDATE also checks it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="trial",
        order_by="Criterion.position",
        cascade="all, delete-orphan",
    )


class Criterion(db.Model):
    __tablename__ = "criterion"
    __table_args__ = (UniqueConstraint("trial_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    fact: Mapped[str | None] = mapped_column(String(60))
    operator: Mapped[str] = mapped_column(String(40))
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"en": {"description": ..., "if_not_met": ...}}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str | None] = mapped_column(Text)
    # The registry eligibility line this criterion was made from, if any (see Trial.line_triage).
    line_key: Mapped[str | None] = mapped_column(String(40))

    trial: Mapped[Trial] = relationship(back_populates="criteria")


class EducationPage(db.Model):
    __tablename__ = "education_page"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"en": {"title": ..., "summary": ..., "body": <Markdown>, "reviewed": false}}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Registry ids of the trials this page is about.
    trials: Mapped[list[str]] = mapped_column(JSON, default=list)
    staff_edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class CatalogInfo(db.Model):
    """Facts about the loaded catalog itself, such as the bundled file's version."""

    __tablename__ = "catalog_info"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CatalogCondition(db.Model):
    """A condition the screener asks about, and the registry wordings that mean it."""

    __tablename__ = "catalog_condition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    registry_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What to search ClinicalTrials.gov for when nothing fits ("Type 1 Diabetes"), if anything.
    search_term: Mapped[str | None] = mapped_column(String(200))
    # {"en": {"label": ..., "hint": ..., "search_label": ..., "reviewed": false}}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    staff_edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class CatalogFact(db.Model):
    """A fact criteria read: its kind, unit, and whether an answer can confirm it."""

    __tablename__ = "catalog_fact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(20))
    lab_value: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    condition_key: Mapped[str | None] = mapped_column(String(60))
    lowest: Mapped[float | None] = mapped_column(Float)
    highest: Mapped[float | None] = mapped_column(Float)
    # {"en": {"label": ..., "reviewed": false}}: how staff see the fact.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    staff_edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class CatalogQuestion(db.Model):
    """A question of the bank: its kind, answers, when it is skipped, the facts it gives."""

    __tablename__ = "catalog_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(Integer, default=0)
    facts: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"value": "yes"}, {"value": "not_sure", "unknown": true}, ...]
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    condition_key: Mapped[str | None] = mapped_column(String(60))
    skip: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    minimum: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    caregiver_hint: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # {"en": {"text", "hint", "short_label", "options": {value: {"label", "hint"}},
    #         "messages": {code: text}, "reviewed": false}}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    staff_edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
