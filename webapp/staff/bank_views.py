"""Staff pages for the question bank: questions, conditions and facts (admins change them),
and the preview of the questionnaire a patient would get for a chosen set of studies."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..catalog.models import CatalogCondition, CatalogFact, CatalogQuestion, Trial
from ..catalog.service import bank_entry
from ..catalog.snapshot import snapshot
from ..core.asking import plan
from ..core.questions import Kind
from ..core.screening import open_facts, positions_of
from ..extensions import db
from ..languages import LANGUAGE_NAMES
from . import forms, services
from .auth import admin_required
from .views import _save, _status, bp

MODELS = {"questions": CatalogQuestion, "conditions": CatalogCondition, "facts": CatalogFact}

def _row(part: str, row_id: int) -> Any:
    return db.session.get(MODELS[part], row_id) or abort(404)


def _lines(text: str | None) -> list[list[str]]:
    return [[p.strip() for p in line.split("|")] for line in (text or "").splitlines() if line.strip()]


@bp.get("/bank")
@login_required
def bank():  # type: ignore[no-untyped-def]
    entries = {part: [(row, bank_entry(part, row)) for row in db.session.scalars(
        select(MODELS[part]).order_by(*((MODELS[part].position,) if hasattr(MODELS[part], "position") else ()),
                                      MODELS[part].id))] for part in MODELS}
    return render_template("staff/bank.html", entries=entries, action=forms.VersionForm())


@bp.post("/bank/<any(questions, conditions, facts):part>/<int:row_id>/<any(up, down, retire, restore):action>")
@login_required
@admin_required
def bank_action(part: str, row_id: int, action: str):  # type: ignore[no-untyped-def]
    row = _row(part, row_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action in ("up", "down"):
            services.move_bank_entry(current_user, part, row, -1 if action == "up" else 1, form.version.data)
        else:
            services.set_bank_retired(current_user, part, row, action == "retire", form.version.data)
    except services.EditConflict:
        flash("Someone else changed this while you were looking at it. Nothing was changed.")
    except services.InvalidInput as error:
        flash(str(error))
    return redirect(url_for("staff.bank") + f"#{part}")


# --- questions -------------------------------------------------------------------------------

def _question_data(form: forms.QuestionForm, row: Any | None) -> dict[str, Any]:
    kind = form.kind.data if row is None or row.kind != "conditions" else "conditions"
    options, english = services.parse_options(form.options.data)
    facts = list(form.facts.data or [])
    if (form.new_fact.data or "").strip():
        facts.append(form.new_fact.data.strip())
    return {"id": form.key.data.strip(), "kind": kind, "facts": facts, "options": options,
            "condition": form.condition.data or None, "skip": services.parse_skip_rules(form.skip.data),
            "minimum": services.form_number(form.minimum.data), "maximum": services.form_number(form.maximum.data),
            "caregiver_hint": bool(form.caregiver_hint.data), "_english_options": english}


@bp.route("/bank/questions/new", methods=["GET", "POST"])
@bp.route("/bank/questions/<int:row_id>", methods=["GET", "POST"])
@login_required
@admin_required
def question_edit(row_id: int | None = None):  # type: ignore[no-untyped-def]
    row = _row("questions", row_id) if row_id else None
    form = forms.QuestionForm()
    bank_now = snapshot().entries
    form.facts.choices = [(f["id"], f["id"]) for f in bank_now["facts"]]
    form.condition.choices = [("", "— anyone")] + [(c["id"], c["id"]) for c in bank_now["conditions"]]
    conflict, problem = None, None
    if form.validate_on_submit():
        try:
            data = _question_data(form, row)
            english_options = data.pop("_english_options")
            texts = dict(row.texts) if row else {}
            english = dict(texts.get("en", {}))
            english.setdefault("text", request.form.get("text_en", "").strip())
            english.setdefault("short_label", request.form.get("short_label_en", "").strip() or english["text"])
            english["options"] = {**english.get("options", {}),
                                  **{v: {"label": label} for v, label in english_options.items()}}
            english.setdefault("reviewed", False)
            texts["en"] = english
            data["texts"] = texts
            saved, conflict = _save(form, lambda: services.save_question(
                current_user, row, data, form.version.data, form.loaded.data, (form.new_fact.data or "").strip() or None))
        except services.InvalidInput as error:
            problem = str(error)
            db.session.rollback()
        else:
            if saved is not None:
                flash(f"Saved question {saved.key}. Write its texts in every language.")
                return redirect(url_for("staff.question_edit", row_id=saved.id))
    elif request.method == "GET" and row is not None:
        entry = bank_entry("questions", row)
        form.key.data, form.kind.data, form.facts.data = row.key, row.kind, row.facts
        labels = (row.texts or {}).get("en", {}).get("options", {})
        form.options.data = "\n".join(" | ".join([o["value"], labels.get(o["value"], {}).get("label", "")]
                                                 + (["exclusive"] if o.get("exclusive") else [])
                                                 + (["unknown"] if o.get("unknown") else []))
                                      for o in row.options or [])
        form.condition.data = row.condition_key or ""
        form.skip.data = "\n".join(_skip_line(s) for s in row.skip or [])
        form.minimum.data = "" if row.minimum is None else str(row.minimum)
        form.maximum.data = "" if row.maximum is None else str(row.maximum)
        form.caregiver_hint.data = row.caregiver_hint
        form.version.data, form.loaded.data = str(row.version), json.dumps(entry, sort_keys=True)
    return render_template("staff/question_edit.html", form=form, row=row, conflict=conflict, problem=problem,
                           languages=current_app.config["LANGUAGES"], language_names=LANGUAGE_NAMES), \
        409 if conflict else 400 if (problem or form.errors) else 200


def _skip_line(skip: dict[str, Any]) -> str:
    if skip.get("languages"):
        return f"language {','.join(skip['languages'])} then {skip.get('then')}"
    if skip.get("values"):
        return f"{skip['fact']} in {','.join(skip['values'])} then {skip.get('then')}"
    key = "below" if skip.get("below") is not None else "above"
    return f"{skip['fact']} {key} {skip.get(key)} then {skip.get('then')}"


@bp.route("/bank/questions/<int:row_id>/texts/<lang>", methods=["GET", "POST"])
@login_required
@admin_required
def question_texts(row_id: int, lang: str):  # type: ignore[no-untyped-def]
    row = _row("questions", row_id)
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    form = forms.QuestionTextsForm()
    values = [o["value"] for o in row.options or []]
    conflict = None
    entry = (row.texts or {}).get(lang, {})
    if form.validate_on_submit():
        words = {"text": form.text.data.strip(), "short_label": form.short_label.data.strip(),
                 "reviewed": bool(form.reviewed.data)}
        if (form.hint.data or "").strip():
            words["hint"] = form.hint.data.strip()
        if (form.required_message.data or "").strip():
            words["messages"] = {**entry.get("messages", {}), "required": form.required_message.data.strip()}
        elif entry.get("messages"):
            words["messages"] = {k: v for k, v in entry["messages"].items() if k != "required"} or None
            if not words["messages"]:
                words.pop("messages")
        options = {}
        for value in values:
            label = (request.form.get(f"option-{value}-label") or "").strip()[:300]
            hint = (request.form.get(f"option-{value}-hint") or "").strip()[:500]
            if label:
                options[value] = {"label": label, **({"hint": hint} if hint else {})}
        if options:
            words["options"] = options
        try:
            _, conflict = _save(form, lambda: services.save_bank_texts(
                current_user, "questions", row, lang, words, form.version.data, form.loaded.data))
        except services.InvalidInput as error:
            form.text.errors = [str(error)]
        else:
            if conflict is None:
                flash(f"Saved the {LANGUAGE_NAMES[lang]} texts of question {row.key}.")
                return redirect(url_for("staff.question_texts", row_id=row.id, lang=lang))
    elif request.method == "GET":
        form.text.data, form.hint.data = entry.get("text"), entry.get("hint")
        form.short_label.data = entry.get("short_label")
        form.required_message.data = (entry.get("messages") or {}).get("required")
        form.reviewed.data = entry.get("reviewed", False)
        form.version.data = str(row.version)
        form.loaded.data = json.dumps(bank_entry("questions", row), sort_keys=True)
    options = [(v, request.form.get(f"option-{v}-label") if request.method == "POST" else
                entry.get("options", {}).get(v, {}).get("label"),
                request.form.get(f"option-{v}-hint") if request.method == "POST" else
                entry.get("options", {}).get(v, {}).get("hint"),
                (row.texts or {}).get("en", {}).get("options", {}).get(v, {}).get("label")) for v in values]
    return render_template("staff/question_texts.html", form=form, row=row, lang=lang, options=options,
                           english=(row.texts or {}).get("en", {}), conflict=conflict,
                           language_names=LANGUAGE_NAMES), _status(form, conflict)


# --- conditions ------------------------------------------------------------------------------

@bp.route("/bank/conditions/new", methods=["GET", "POST"])
@bp.route("/bank/conditions/<int:row_id>", methods=["GET", "POST"])
@login_required
@admin_required
def condition_edit(row_id: int | None = None):  # type: ignore[no-untyped-def]
    row = _row("conditions", row_id) if row_id else None
    form = forms.ConditionForm()
    conflict, problem = None, None
    if form.validate_on_submit():
        texts = dict(row.texts) if row else {}
        english = dict(texts.get("en", {}))
        english.setdefault("label", request.form.get("label_en", "").strip() or form.key.data)
        english.setdefault("reviewed", False)
        texts["en"] = english
        data = {"id": form.key.data.strip(), "registry_terms": [p[0] for p in _lines(form.registry_terms.data)],
                "search_term": (form.search_term.data or "").strip() or None, "texts": texts}
        try:
            saved, conflict = _save(form, lambda: services.save_bank_entry(
                current_user, "conditions", row, data, form.version.data, form.loaded.data))
        except services.InvalidInput as error:
            problem = str(error)
        else:
            if saved is not None:
                flash(f"Saved condition {saved.key}. Write its name in every language; add a diagnosis-date "
                      f"question for it if a study asks how long ago it was found.")
                return redirect(url_for("staff.condition_edit", row_id=saved.id))
    elif request.method == "GET" and row is not None:
        form.key.data = row.key
        form.registry_terms.data = "\n".join(row.registry_terms or [])
        form.search_term.data = row.search_term
        form.version.data, form.loaded.data = str(row.version), json.dumps(bank_entry("conditions", row), sort_keys=True)
    return render_template("staff/condition_edit.html", form=form, row=row, conflict=conflict, problem=problem,
                           languages=current_app.config["LANGUAGES"], language_names=LANGUAGE_NAMES), \
        409 if conflict else 400 if (problem or form.errors) else 200


@bp.route("/bank/conditions/<int:row_id>/texts/<lang>", methods=["GET", "POST"])
@login_required
@admin_required
def condition_texts(row_id: int, lang: str):  # type: ignore[no-untyped-def]
    return _named_texts("conditions", row_id, lang, forms.ConditionTextsForm, ("in_sentence", "hint"),
                        "staff.condition_edit", "name of condition")


def _named_texts(part: str, row_id: int, lang: str, form_class: Any, optional: tuple[str, ...],
                 edit_endpoint: str, noun: str):  # type: ignore[no-untyped-def]
    """One language's words for a condition or a fact: a label, optional texts, the review flag."""
    row = _row(part, row_id)
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    form = form_class()
    conflict = None
    entry = (row.texts or {}).get(lang, {})
    if form.validate_on_submit():
        words = {"label": form.label.data.strip(), "reviewed": bool(form.reviewed.data)}
        for key in optional:
            if (getattr(form, key).data or "").strip():
                words[key] = getattr(form, key).data.strip()
        try:
            _, conflict = _save(form, lambda: services.save_bank_texts(
                current_user, part, row, lang, words, form.version.data, form.loaded.data))
        except services.InvalidInput as error:
            form.label.errors = [str(error)]
        else:
            if conflict is None:
                flash(f"Saved the {LANGUAGE_NAMES[lang]} {noun} {row.key}.")
                return redirect(request.path)
    elif request.method == "GET":
        for key in ("label", *optional):
            getattr(form, key).data = entry.get(key)
        form.reviewed.data = entry.get("reviewed", False)
        form.version.data = str(row.version)
        form.loaded.data = json.dumps(bank_entry(part, row), sort_keys=True)
    return render_template("staff/bank_texts.html", form=form, row=row, lang=lang, conflict=conflict,
                           fields=("label", *optional), back=url_for(edit_endpoint, row_id=row.id),
                           english=(row.texts or {}).get("en", {}), language_names=LANGUAGE_NAMES), \
        _status(form, conflict)


# --- facts -----------------------------------------------------------------------------------

@bp.route("/bank/facts/new", methods=["GET", "POST"])
@bp.route("/bank/facts/<int:row_id>", methods=["GET", "POST"])
@login_required
@admin_required
def fact_edit(row_id: int | None = None):  # type: ignore[no-untyped-def]
    row = _row("facts", row_id) if row_id else None
    form = forms.FactForm()
    form.condition.choices = [("", "—")] + [(c["id"], c["id"]) for c in snapshot().entries["conditions"]]
    conflict, problem = None, None
    if form.validate_on_submit():
        try:
            texts = dict(row.texts) if row else {}
            texts["en"] = {**texts.get("en", {}), "label": form.label.data.strip(),
                           "reviewed": texts.get("en", {}).get("reviewed", False)}
            data = {"id": form.key.data.strip(), "kind": form.kind.data, "unit": (form.unit.data or "").strip() or None,
                    "lab_value": bool(form.lab_value.data), "condition": form.condition.data or None,
                    "lowest": services.form_number(form.lowest.data),
                    "highest": services.form_number(form.highest.data), "texts": texts}
            saved, conflict = _save(form, lambda: services.save_bank_entry(
                current_user, "facts", row, data, form.version.data, form.loaded.data))
        except services.InvalidInput as error:
            problem = str(error)
        else:
            if saved is not None:
                flash(f"Saved fact {saved.key}.")
                return redirect(url_for("staff.bank") + "#facts")
    elif request.method == "GET" and row is not None:
        form.key.data, form.kind.data, form.unit.data = row.key, row.kind, row.unit
        form.lab_value.data, form.condition.data = row.lab_value, row.condition_key or ""
        form.lowest.data = "" if row.lowest is None else str(row.lowest)
        form.highest.data = "" if row.highest is None else str(row.highest)
        form.label.data = (row.texts or {}).get("en", {}).get("label")
        form.version.data, form.loaded.data = str(row.version), json.dumps(bank_entry("facts", row), sort_keys=True)
    return render_template("staff/fact_edit.html", form=form, row=row, conflict=conflict, problem=problem,
                           languages=current_app.config["LANGUAGES"], language_names=LANGUAGE_NAMES), \
        409 if conflict else 400 if (problem or form.errors) else 200


@bp.route("/bank/facts/<int:row_id>/texts/<lang>", methods=["GET", "POST"])
@login_required
@admin_required
def fact_texts(row_id: int, lang: str):  # type: ignore[no-untyped-def]
    return _named_texts("facts", row_id, lang, forms.FactTextsForm, (), "staff.fact_edit", "label of fact")


# --- preview ---------------------------------------------------------------------------------

@bp.get("/preview")
@login_required
def preview():  # type: ignore[no-untyped-def]
    """The questions a patient would be asked for the chosen studies (all shown ones by default),
    with the studies each one serves."""
    current = snapshot()
    chosen = [r for r in request.args.getlist("trials") if r in current.index.position][:500]
    scope = current.index.bits_for(chosen) if chosen else None
    condition_choice = request.args.get("conditions") or "not_sure"
    answers = {"conditions": [condition_choice]} if condition_choice in current.bank.conditions or \
        condition_choice == "not_sure" else {"conditions": ["not_sure"]}
    lang = request.args.get("lang") if request.args.get("lang") in current_app.config["LANGUAGES"] else "en"
    steps = plan(current.bank, current.index, answers, date.today(), lang, scope)
    useful = open_facts(current.index, {}, None if condition_choice == "not_sure" else answers["conditions"], scope)
    index = current.index
    within = index.all if scope is None else scope

    def serving(facts: list[str]) -> list[str]:
        bits = 0
        for fact in facts:
            bits |= index.fact_studies.get(fact, 0)
        return [index.trials.registry_id(p) for p in positions_of(bits & within, 0, 20)]

    texts = current.question_texts("en")
    rows = [(q, texts[q.id], q in steps.remaining, serving(list(q.facts)),
             not useful.isdisjoint(q.facts) or q.kind is Kind.CONDITIONS) for q in current.bank.questions]
    trials = db.session.execute(select(Trial.registry_id, Trial.archived).order_by(Trial.position, Trial.id)).all()
    return render_template("staff/preview.html", rows=rows, chosen=chosen, trials=trials,
                           conditions=current.condition_texts("en"), condition_choice=condition_choice,
                           asked=len(steps.remaining), lang=lang, language_names=LANGUAGE_NAMES)

