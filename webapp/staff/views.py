"""Staff area under /staff: catalog editing, registry import, share links, counts, accounts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, session,
                   request, url_for)
from flask_login import current_user, login_required, login_url
from sqlalchemy import select

from ..catalog import ctgov
from ..catalog.bank import fact_answers
from ..catalog.importing import ConditionCatalog, cannot_show
from ..catalog.models import Criterion, EducationPage, Trial
from ..catalog.schema import CatalogError
from ..catalog.service import database_bank, dump_catalog, export_catalog
from ..catalog.snapshot import question_bank, snapshot
from ..catalog.suggesting import suggestions_for_trial
from ..catalog.wording import criterion_texts
from ..core import units
from ..core.eligibility_text import split_lines
from ..content import render_markdown
from ..extensions import db, limiter, login_manager
from ..languages import LANGUAGE_NAMES
from ..sharing import service as sharing
from ..sharing.models import ShareLink
from ..staff.auth import PasswordTooShort, admin_required, authenticate, end_staff_session, start_staff_session
from . import drafts, forms, services
from .models import AuditEvent, StaffUser

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.after_request
def never_cache(response):  # type: ignore[no-untyped-def]
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def staff_context() -> dict[str, Any]:
    return {"language_names": LANGUAGE_NAMES, "current_user": current_user}


def _login_key() -> str:
    return "staff-login:" + (request.form.get("email") or "").strip().lower()[:254]


def _safe_next(target: str | None) -> str:
    """Only same-site paths inside the staff area: never an open redirect."""
    if target and target.startswith("/staff/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"][0], methods=["POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"][1], methods=["POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"][0], methods=["POST"], key_func=_login_key)
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_staff_session(user)
            draft = drafts.draft_of(request.args.get("draft") or "", user.id)
            if draft is not None:
                return redirect(url_for("staff.draft", token=draft.token))
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = ["The email address or password is not right."]
    return render_template("staff/login.html", form=form), (400 if form.errors else 200)


@login_manager.unauthorized_handler
def unauthorized():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        return drafts.sign_in_again()
    # Once: the message waits in the cookie until a page shows it.
    if ("message", login_manager.login_message) not in session.get("_flashes", []):
        flash(login_manager.login_message)
    return redirect(login_url("staff.login", request.url))


@bp.get("/drafts/<token>")
@login_required
def draft(token: str):  # type: ignore[no-untyped-def]
    """What the person typed before their session ran out, ready to be sent again."""
    kept = drafts.draft_of(token, current_user.id) or abort(404)
    return render_template("staff/draft.html", draft=kept, action=_safe_next(kept.path))


@bp.post("/drafts/<token>/discard")
@login_required
def draft_discard(token: str):  # type: ignore[no-untyped-def]
    kept = drafts.draft_of(token, current_user.id) or abort(404)
    drafts.forget_draft(kept.token)
    flash("The kept text was discarded.")
    return redirect(url_for("staff.home"))


@bp.after_request
def forget_saved_draft(response):  # type: ignore[no-untyped-def]
    if request.method != "POST" or response.status_code >= 400:
        return response
    token = request.form.get("_draft")
    if token and current_user.is_authenticated:
        if drafts.draft_of(token, current_user.id) is not None:
            drafts.forget_draft(token)
    return response


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    end_staff_session()
    flash("You have signed out.")
    return redirect(url_for("staff.login"))


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    return render_template("staff/home.html")


# --- trials ----------------------------------------------------------------------------------

def _lines(text: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    items = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if any(parts):
            items.append({key: (parts[i] if i < len(parts) and parts[i] else None) for i, key in enumerate(keys)})
    return items


def _unlines(items: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
    return "\n".join(" | ".join(item.get(k) or "" for k in keys).rstrip(" |") for item in items or [])


CONTACT_KEYS = ("name", "phone", "email")
SOURCE_KEYS = ("label", "url")


def _save(form: Any, save: Any) -> tuple[Any, services.EditConflict | None]:
    """Run a save and return (what it returned, None); on an edit conflict return (None, the
    conflict), keeping the person's input and pointing the form at the version now stored, so
    saving again is a deliberate overwrite."""
    try:
        return save(), None
    except services.EditConflict as error:
        form.version.data = str(error.current_version)
        if hasattr(form, "loaded"):
            form.loaded.data = json.dumps(error.current_snapshot)
        return None, error


def _status(form: Any, conflict: services.EditConflict | None) -> int:
    return 409 if conflict else 400 if form.errors else 200


def _trial(trial_id: int) -> Trial:
    return db.session.get(Trial, trial_id) or abort(404)


def _page(page_id: int) -> EducationPage:
    return db.session.get(EducationPage, page_id) or abort(404)


@bp.get("/trials")
@login_required
def trials():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(select(Trial).order_by(Trial.archived, Trial.position, Trial.id)).all()
    return render_template("staff/trials.html", trials=rows)


@bp.route("/trials/new", methods=["GET", "POST"])
@bp.route("/trials/<int:trial_id>", methods=["GET", "POST"])
@login_required
def trial_edit(trial_id: int | None = None):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id) if trial_id else None
    form = forms.TrialForm()
    form.conditions.choices = _condition_choices()
    conflict = None
    if form.validate_on_submit():
        data = {key: getattr(form, key).data for key in (
            "registry_id", "registry_url", "acronym", "official_title", "sponsor", "phase", "status",
            "status_verified", "site", "site_city", "facts_checked")}
        data = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}
        data["conditions"] = form.conditions.data or []
        data["contacts"] = _lines(form.contacts.data, CONTACT_KEYS)
        data["sources"] = _lines(form.sources.data, SOURCE_KEYS)
        data["archived"] = not form.shown.data
        try:
            saved, conflict = _save(form, lambda: services.save_trial(
                current_user, trial, data, form.version.data, form.loaded.data))
        except services.InvalidInput as error:
            form.registry_id.errors = [str(error)]
        else:
            if saved is not None:
                flash(f"Saved {saved.registry_id}.")
                return redirect(url_for("staff.trial_edit", trial_id=saved.id))
    elif request.method == "GET" and trial is not None:
        for key in ("registry_id", "registry_url", "acronym", "official_title", "sponsor", "phase",
                    "status", "status_verified", "site", "site_city", "facts_checked"):
            getattr(form, key).data = getattr(trial, key)
        form.conditions.data = trial.conditions
        form.contacts.data = _unlines(trial.contacts, CONTACT_KEYS)
        form.sources.data = _unlines(trial.sources, SOURCE_KEYS)
        form.shown.data = not trial.archived
        form.version.data, form.loaded.data = str(trial.version), json.dumps(services.trial_snapshot(trial))
    elif request.method == "GET":
        form.status.data = "RECRUITING"
        form.shown.data = False
    lines = split_lines(trial.eligibility_text) if trial else []
    linked = {c.line_key: c for c in trial.criteria if c.line_key} if trial else {}
    conditions = ConditionCatalog.load() if trial else None
    hidden_because = cannot_show(trial, set(conditions.terms)) if conditions else None
    suggestions = suggestions_for_trial(trial) if trial else {}
    names = conditions.names if conditions and suggestions else {}
    texts = {key: [_suggestion_text(item, names) for item in items] for key, items in suggestions.items()}
    return render_template("staff/trial_edit.html", form=form, trial=trial, conflict=conflict,
                           action=forms.VersionForm(), languages=current_app.config["LANGUAGES"],
                           lines=lines, linked=linked, hidden_because=hidden_because,
                           suggestions=suggestions, suggestion_texts=texts,
                           bank_facts=set(question_bank().facts) if trial else set()), \
        _status(form, conflict)


def _suggestion_text(item, names) -> str:  # type: ignore[no-untyped-def]
    """A suggestion in the plain English patients would read ("Your A1C is from 7 % to 10.5 %")."""
    words = criterion_texts(item.fact, item.value, names, languages=("en",))
    return words["en"]["description"] if words else f"{item.fact} {item.value}"


@bp.post("/trials/<int:trial_id>/lines/<key>/accept")
@login_required
def accept_suggestion(trial_id: int, key: str):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        abort(400)
    fact = (request.form.get("fact") or "")[:100]
    try:
        criterion = services.accept_suggestion(current_user, trial, question_bank(), key[:40], fact, form.version.data)
    except services.EditConflict:
        flash("Someone else changed this study while you were looking at it. Nothing was changed: check the lines and try again.")
    except services.InvalidInput as error:
        flash(str(error))
    else:
        flash(f"Criterion saved: {criterion.texts['en']['description']}. Check its wording in each language.")
    return redirect(url_for("staff.trial_edit", trial_id=trial.id) + f"#line-{key[:40]}")


def _condition_choices(everyone: bool = False) -> list[tuple[str, str]]:
    choices = [(c["id"], c["texts"].get("en", {}).get("label", c["id"]))
               for c in database_bank(include_retired=False)["conditions"]]
    return choices + ([("any", "Everyone")] if everyone else [])


@bp.post("/trials/<int:trial_id>/lines/<key>")
@login_required
def line_triage(trial_id: int, key: str):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        abort(400)
    state = request.form.get("state") or None
    try:
        services.set_line_state(current_user, trial, key[:40], None if state == "undo" else state, form.version.data)
    except services.EditConflict:
        flash("Someone else changed this study while you were looking at it. Nothing was changed: check the lines and try again.")
    except services.InvalidInput as error:
        flash(str(error))
    return redirect(url_for("staff.trial_edit", trial_id=trial.id) + f"#line-{key[:40]}")


def _fact_choices(bank) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    labels = {f["id"]: f["texts"].get("en", {}).get("label", f["id"]) for f in database_bank(False)["facts"]}
    used = [f for f in bank.facts if f in bank.for_fact]
    return [("", "— nothing a person answers: the study team checks")] + [
        (fact, f"{labels.get(fact, fact)} ({fact})") for fact in used]


def _criterion_words(form_data, languages) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    return {lang: {"description": (form_data.get(f"description_{lang}") or "")[:1000],
                   "if_not_met": (form_data.get(f"if_not_met_{lang}") or "")[:1000]} for lang in languages}


@bp.route("/trials/<int:trial_id>/criteria/new", methods=["GET", "POST"])
@bp.route("/trials/<int:trial_id>/criteria/<int:criterion_id>", methods=["GET", "POST"])
@login_required
def criterion_edit(trial_id: int, criterion_id: int | None = None):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id)
    criterion = None
    if criterion_id is not None:
        criterion = db.session.get(Criterion, criterion_id)
        if criterion is None or criterion.trial_id != trial.id:
            abort(404)
    bank = question_bank()
    languages = current_app.config["LANGUAGES"]
    form = forms.CriterionForm()
    form.fact.choices = _fact_choices(bank)
    conflict, problem = None, None
    # The fact comes from the form, or the "Choose" step (?fact=), or the criterion being edited.
    fact = request.form.get("fact") if request.method == "POST" else request.args.get(
        "fact", criterion.fact if criterion else "")
    fact = fact if fact in bank.facts else ""
    spec = bank.facts.get(fact)
    form.unit.choices = [(u, u) for u in units.CANONICAL.get(spec.unit or "", (spec.unit,))] if spec and spec.is_number else []
    line_key = request.values.get("line") or (criterion.line_key if criterion else None)
    line = next((item for item in split_lines(trial.eligibility_text) if item.key == line_key), None)
    words = _criterion_words(request.form, languages) if request.method == "POST" else None
    value = {}
    if request.method == "POST" and request.form.get("step") != "choose" and form.validate_on_submit():
        try:
            _, conflict = _save(form, lambda: services.save_criterion(
                current_user, trial, criterion, bank, request.form, words, form.version.data,
                line_key=line.key if line else None))
        except services.InvalidInput as error:
            problem = str(error)
        else:
            if conflict is None:
                flash("Criterion saved.")
                return redirect(url_for("staff.trial_edit", trial_id=trial.id) + "#criteria")
        try:
            value = services.criterion_data(bank, request.form)[2]
        except services.InvalidInput:
            value = {}
    elif request.method == "GET" or request.form.get("step") == "choose":
        form.version.data = str(trial.version)
        form.fact.data = fact
        if criterion is not None and criterion.fact == fact:
            value = criterion.value or {}
            words = {lang: criterion.texts.get(lang, {}) for lang in languages}
            form.source.data = criterion.source
        else:
            words = {lang: {} for lang in languages}
            form.source.data = line.full_text if line else None
            # "Change before saving": the app's suggestion for this line, to correct.
            suggested = next((item for item in suggestions_for_trial(trial).get(line.key, []) if item.fact == fact),
                             None) if line and request.args.get("suggested") else None
            if suggested is not None:
                value = suggested.value
                words = criterion_texts(fact, value, ConditionCatalog.load().names) or words
        for key, name in (("min", "minimum"), ("max", "maximum"), ("check_min", "check_minimum"),
                          ("check_max", "check_maximum")):
            getattr(form, name).data = "" if value.get(key) is None else str(value[key])
        form.unit.data = value.get("unit") or (spec.unit if spec else None)
        form.min_inclusive.data = value.get("min_inclusive", True)
        form.max_inclusive.data = value.get("max_inclusive", True)
    answers = fact_answers(bank, fact) if spec and spec.kind == "choice" else []
    counted = {answer: key for key in ("met", "check", "edge") for answer in value.get(key, [])}
    chosen = {answer: (request.form.get(f"answer-{answer}") if request.method == "POST" and request.form.get("step") != "choose"
                       else counted.get(answer, "not_met")) for answer in answers}
    labels = _answer_labels(fact, bank)
    return render_template("staff/criterion_edit.html", form=form, trial=trial, criterion=criterion,
                           conflict=conflict, problem=problem, fact=fact, spec=spec, answers=answers,
                           chosen=chosen, labels=labels, words=words, languages=languages, line=line,
                           language_labels=forms.LANGUAGE_LABELS), \
        409 if conflict else 400 if (problem or form.errors) else 200


def _answer_labels(fact: str, bank) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each answer of a choice fact as the English question words it."""
    question = bank.for_fact.get(fact)
    if question is None:
        return {}
    texts = snapshot().question_texts("en").get(question.id)
    return {value: words.label for value, words in (texts.options if texts else {}).items()}


@bp.post("/trials/<int:trial_id>/criteria/<int:criterion_id>/<any(up, down, remove):action>")
@login_required
def criterion_action(trial_id: int, criterion_id: int, action: str):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id)
    criterion = db.session.get(Criterion, criterion_id)
    if criterion is None or criterion.trial_id != trial.id:
        abort(404)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action == "remove":
            services.remove_criterion(current_user, trial, criterion, form.version.data)
        else:
            services.move_criterion(current_user, trial, criterion, -1 if action == "up" else 1, form.version.data)
    except services.EditConflict:
        flash("Someone else changed this study while you were looking at it. Nothing was changed: "
              "check the criteria below and try again.")
    return redirect(url_for("staff.trial_edit", trial_id=trial.id) + "#criteria")


@bp.post("/trials/<int:trial_id>/<any(archive, show):action>")
@login_required
def trial_visibility(trial_id: int, action: str):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_trial_archived(current_user, trial, action == "archive", form.version.data)
    except services.EditConflict:
        flash("Someone else changed this study while you were looking at it. Nothing was changed.")
    except services.InvalidInput as error:
        flash(str(error))
    else:
        flash(f"{trial.registry_id} is {'archived: patients no longer see it' if action == 'archive' else 'now shown to patients'}.")
    return redirect(url_for("staff.trial_edit", trial_id=trial.id))


def _language_or_404(lang: str) -> str:
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    return lang


@bp.route("/trials/<int:trial_id>/texts/<lang>", methods=["GET", "POST"])
@login_required
def trial_texts(trial_id: int, lang: str):  # type: ignore[no-untyped-def]
    trial = _trial(trial_id)
    _language_or_404(lang)
    form = forms.TrialTextsForm()
    conflict = None
    criteria_words = [{"description": request.form.get(f"criterion-{c.id}-description", "").strip()[:1000],
                       "if_not_met": request.form.get(f"criterion-{c.id}-if_not_met", "").strip()[:1000]}
                      for c in trial.criteria] if request.method == "POST" else [
        c.texts.get(lang, {}) for c in trial.criteria]
    if form.validate_on_submit():
        _, conflict = _save(form, lambda: services.save_trial_texts(
            current_user, trial, lang, form.data, criteria_words, form.version.data, request.form.get("loaded")))
        if conflict is None:
            flash(f"Saved the {LANGUAGE_NAMES[lang]} texts of {trial.registry_id}.")
            return redirect(url_for("staff.trial_texts", trial_id=trial.id, lang=lang))
    elif request.method == "GET":
        entry = trial.texts.get(lang, {})
        form.title.data, form.summary.data = entry.get("title"), entry.get("summary")
        form.involves.data, form.reviewed.data = entry.get("involves"), entry.get("reviewed", False)
        form.version.data = str(trial.version)
    return render_template("staff/trial_texts.html", form=form, trial=trial, lang=lang,
                           criteria=list(zip(trial.criteria, criteria_words)), conflict=conflict,
                           loaded=json.dumps(services.trial_snapshot(trial)) if not conflict else json.dumps(conflict.current_snapshot)), \
        _status(form, conflict)


# --- registry import -------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_registry():  # type: ignore[no-untyped-def]
    form = forms.ImportForm()
    report, error = None, None
    if form.validate_on_submit():
        texts: list[tuple[str, str | bytes]] = []
        try:
            if form.registry_id.data:
                texts.append((form.registry_id.data, ctgov.fetch_study(
                    form.registry_id.data, current_app.config["CTGOV_API_URL"],
                    current_app.config["CTGOV_TIMEOUT_SECONDS"])))
            if (form.record.data or "").strip():
                texts.append(("the pasted record", form.record.data))
            texts += [(f.filename, f.read()) for f in request.files.getlist(form.upload.name) if f and f.filename]
            if not texts:
                error = "Give a registry number, paste a record, or choose a file."
            else:
                report = services.import_records(current_user, texts)
                if not report.results:
                    error = "Nothing was imported: every record was refused (see why below)."
        except (ctgov.RegistryRecordError, ctgov.RegistryUnavailable) as problem:
            error = f"Nothing was imported. {problem}"
    return render_template("staff/import.html", form=form, report=report, results=report.results if report else None,
                           error=error, trials={t.registry_id: t for t in db.session.scalars(select(Trial))}), \
        (400 if error or form.errors else 200)


# --- education pages -------------------------------------------------------------------------

def _trial_choices() -> list[tuple[str, str]]:
    return [(t.registry_id, f"{t.registry_id} – {t.texts.get('en', {}).get('title', t.official_title)}")
            for t in db.session.scalars(select(Trial).order_by(Trial.position))]


@bp.get("/pages")
@login_required
def pages():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(select(EducationPage).order_by(EducationPage.position)).all()
    return render_template("staff/pages.html", pages=rows)


@bp.route("/pages/new", methods=["GET", "POST"])
@bp.route("/pages/<int:page_id>", methods=["GET", "POST"])
@login_required
def page_edit(page_id: int | None = None):  # type: ignore[no-untyped-def]
    page = _page(page_id) if page_id else None
    form = forms.PageForm()
    form.conditions.choices = _condition_choices(everyone=True)
    form.trials.choices = _trial_choices()
    conflict = None
    if form.validate_on_submit():
        data = {"slug": form.slug.data.strip(), "conditions": form.conditions.data or [],
                "trials": form.trials.data or [], "sources": _lines(form.sources.data, SOURCE_KEYS)}
        if not data["conditions"]:
            form.conditions.errors = ["Choose who this page is for."]
        else:
            try:
                saved, conflict = _save(form, lambda: services.save_page(
                    current_user, page, data, form.version.data, request.form.get("loaded")))
            except services.InvalidInput as error:
                form.slug.errors = [str(error)]
            else:
                if saved is not None:
                    flash(f"Saved page {saved.slug}.")
                    return redirect(url_for("staff.page_edit", page_id=saved.id))
    elif request.method == "GET" and page is not None:
        form.slug.data, form.conditions.data, form.trials.data = page.slug, page.conditions, page.trials
        form.sources.data = _unlines(page.sources, SOURCE_KEYS)
        form.version.data = str(page.version)
    snapshot = services.page_snapshot(page) if page else {}
    return render_template("staff/page_edit.html", form=form, page=page, conflict=conflict,
                           loaded=json.dumps(conflict.current_snapshot if conflict else snapshot),
                           languages=current_app.config["LANGUAGES"]), \
        _status(form, conflict)


@bp.route("/pages/<int:page_id>/texts/<lang>", methods=["GET", "POST"])
@login_required
def page_texts(page_id: int, lang: str):  # type: ignore[no-untyped-def]
    page = _page(page_id)
    _language_or_404(lang)
    form = forms.PageTextsForm()
    conflict = None
    if form.validate_on_submit():
        _, conflict = _save(form, lambda: services.save_page_texts(
            current_user, page, lang, form.data, form.version.data, request.form.get("loaded")))
        if conflict is None:
            flash(f"Saved the {LANGUAGE_NAMES[lang]} text of {page.slug}.")
            return redirect(url_for("staff.page_texts", page_id=page.id, lang=lang))
    elif request.method == "GET":
        entry = page.texts.get(lang, {})
        form.title.data, form.summary.data = entry.get("title"), entry.get("summary")
        form.body.data, form.reviewed.data = entry.get("body"), entry.get("reviewed", False)
        form.version.data = str(page.version)
    preview = render_markdown(form.body.data or "")
    return render_template("staff/page_texts.html", form=form, page=page, lang=lang, preview=preview,
                           conflict=conflict,
                           loaded=json.dumps(conflict.current_snapshot if conflict else services.page_snapshot(page))), \
        _status(form, conflict)


# --- share links -----------------------------------------------------------------------------

def _link_url(link: ShareLink) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("sharing.follow", code=link.code)
    return base.rstrip("/") + path if base else url_for("sharing.follow", code=link.code, _external=True)


@bp.route("/links", methods=["GET", "POST"])
@login_required
def links():  # type: ignore[no-untyped-def]
    form = forms.ShareLinkForm()
    form.language.choices = [(code, LANGUAGE_NAMES[code]) for code in current_app.config["LANGUAGES"]]
    form.trials.choices = _trial_choices()
    if form.validate_on_submit():
        link = services.create_link(current_user, form.label.data, form.language.data, form.trials.data or [])
        flash(f"Share link {link.code} is ready.")
        return redirect(url_for("staff.link_detail", link_id=link.id))
    rows = db.session.scalars(select(ShareLink).order_by(ShareLink.created_at.desc())).all()
    return render_template("staff/links.html", form=form, links=rows, totals=sharing.totals_by_link(),
                           shown=sharing.shown), (400 if form.errors else 200)


def _link(link_id: int) -> ShareLink:
    return db.session.get(ShareLink, link_id) or abort(404)


@bp.get("/links/<int:link_id>")
@login_required
def link_detail(link_id: int):  # type: ignore[no-untyped-def]
    link = _link(link_id)
    return render_template("staff/link_detail.html", link=link, url=_link_url(link), action=forms.ActionForm())


@bp.get("/links/<int:link_id>/qr.<any(svg, png):kind>")
@login_required
def link_qr(link_id: int, kind: str):  # type: ignore[no-untyped-def]
    link = _link(link_id)
    body = sharing.qr_code(_link_url(link), kind)
    mimetype = "image/svg+xml" if kind == "svg" else "image/png"
    response = Response(body, mimetype=mimetype)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="trialcheck-{link.code}.{kind}"'
    return response


@bp.post("/links/<int:link_id>/<any(on, off):state>")
@login_required
def link_switch(link_id: int, state: str):  # type: ignore[no-untyped-def]
    link = _link(link_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    services.set_link_active(current_user, link, state == "on")
    flash(f"Share link {link.code} is {'on' if state == 'on' else 'off'}.")
    return redirect(url_for("staff.link_detail", link_id=link.id))


# --- counts ----------------------------------------------------------------------------------

@bp.get("/counts")
@login_required
def counts():  # type: ignore[no-untyped-def]
    screenings, verdicts = sharing.count_tables()
    labels = {link.code: link.label for link in db.session.scalars(select(ShareLink))}
    return render_template("staff/counts.html", screenings=screenings, verdicts=verdicts,
                           labels=labels, shown=sharing.shown)


# A cell a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return first).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """The value as a spreadsheet shows it without running it: text that could start a
    formula gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SpreadsheetSafeWriter:
    def __init__(self, buffer: io.StringIO):
        self._writer = csv.writer(buffer)

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([spreadsheet_cell(cell) for cell in row])


@bp.get("/counts.csv")
@login_required
def counts_csv():  # type: ignore[no-untyped-def]
    screenings, verdicts = sharing.count_tables()
    buffer = io.StringIO()
    writer = SpreadsheetSafeWriter(buffer)
    labels = {link.code: link.label for link in db.session.scalars(select(ShareLink))}
    writer.writerow(["day", "link", "link label", "language", "measure", "trial", "count"])
    for row in screenings:
        for measure in ("started", "finished"):
            writer.writerow([row.day, row.link, labels.get(row.link, ""), row.language, measure, "",
                             sharing.shown(getattr(row, measure))])
    for v in verdicts:
        for group in ("fit", "check", "unlikely"):
            count = getattr(v, group)
            if count:
                writer.writerow([v.day, v.link, labels.get(v.link, ""), v.language, group, v.trial,
                                 sharing.shown(count)])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="trialcheck-counts.csv"'})


# --- audit and accounts (admins) -------------------------------------------------------------

@bp.get("/audit")
@login_required
@admin_required
def audit_trail():  # type: ignore[no-untyped-def]
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(500)).all()
    return render_template("staff/audit.html", events=events)


@bp.route("/users", methods=["GET", "POST"])
@login_required
@admin_required
def users():  # type: ignore[no-untyped-def]
    form = forms.StaffCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_staff(current_user, form.email.data, form.role.data, form.password.data)
        except (services.InvalidInput, PasswordTooShort) as error:
            form.email.errors = [str(error)]
        except services.EditConflict:
            form.email.errors = ["An account with this e-mail was created at the same moment."]
        else:
            flash(f"Created an account for {user.email}.")
            return redirect(url_for("staff.users"))
    rows = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("staff/users.html", form=form, users=rows), (400 if form.errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
@admin_required
def user_edit(user_id: int):  # type: ignore[no-untyped-def]
    user = db.session.get(StaffUser, user_id) or abort(404)
    form = forms.StaffUpdateForm()
    if form.validate_on_submit():
        if user.id == current_user.id and (form.role.data != "admin" or not form.active.data):
            form.role.errors = ["You cannot remove your own admin access or block yourself."]
        else:
            try:
                services.update_staff(current_user, user, form.role.data, form.active.data, form.password.data or None)
            except PasswordTooShort as error:
                form.password.errors = [str(error)]
            except services.EditConflict:
                form.role.errors = ["Someone changed this account at the same moment. Reload the page and try again."]
            else:
                flash(f"Saved {user.email}.")
                return redirect(url_for("staff.users"))
    elif request.method == "GET":
        form.role.data, form.active.data = user.role, user.active
    return render_template("staff/user_edit.html", form=form, user=user), (400 if form.errors else 200)


# --- catalog files ---------------------------------------------------------------------------

@bp.route("/catalog", methods=["GET", "POST"])
@login_required
def catalog():  # type: ignore[no-untyped-def]
    form = forms.CatalogLoadForm()
    report, error = None, None
    if form.validate_on_submit():
        if not current_user.is_admin:
            abort(403)
        upload = request.files.get(form.upload.name)
        if not upload or not upload.filename:
            error = "Choose a catalog file to load."
        else:
            try:
                report = services.load_catalog_file(current_user, upload.read(), form.replace_edited.data)
            except CatalogError as problem:
                error = f"Nothing was loaded. {problem}"
            except services.EditConflict:
                error = ("Nothing was loaded: someone saved part of the catalog at the same moment. "
                         "Choose the file and load it again.")
    return render_template("staff/catalog.html", form=form, report=report, error=error), \
        (400 if error or form.errors else 200)


@bp.get("/catalog/export.json")
@login_required
def catalog_export():  # type: ignore[no-untyped-def]
    return Response(dump_catalog(export_catalog()), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="trialcheck-catalog.json"'})
