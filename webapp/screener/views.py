"""Patient-facing views. Thin: read the form, call the core or a service, render or redirect."""

from __future__ import annotations

import time
from datetime import date

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf

from ..catalog import snapshot as catalog
from ..core import asking
from ..core.questions import InvalidAnswer
from ..core.engine import Assessment, Verdict
from ..core.facts import LOCATION
from ..core.places import FILTER_MILES, KM_PER_MILE, by_distance
from ..core.questions import Kind
from ..core.screening import TrialOutcome, screen, status_date
from ..sharing import service as sharing
from . import cards, pagecache, presenters
from .answers import clear_answers, count_once, current_answers, current_link_code, save_answers
from .forms import form_class

bp = Blueprint("screener", __name__, url_prefix="/<lang_code>")


SESSION_REFRESH_MINUTES = 5
# "Read next" on the results page: the pages that fit the person best, with a link to the rest.
READ_NEXT_PAGES = 6


def today() -> date:
    return date.today()


@bp.url_defaults
def add_language_code(endpoint: str, values: dict) -> None:
    if "lang_code" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
        values["lang_code"] = g.get("lang_code") or "en"


@bp.url_value_preprocessor
def pull_language_code(endpoint: str | None, values: dict | None) -> None:
    g.lang_code = (values or {}).pop("lang_code", None)


@bp.before_request
def check_language_and_session():  # type: ignore[no-untyped-def]
    if g.lang_code not in current_app.config["LANGUAGES"]:
        g.lang_code = None
        abort(404)
    if getattr(session, "unreadable", False):
        # A tampered or expired cookie: start again, and say so.
        session.unreadable = False
        flash(gettext("We could not read your saved answers, so we started a new screening."))
        return redirect(url_for(".start"))
    return None


@bp.after_request
def keep_session_alive(response):  # type: ignore[no-untyped-def]
    # Re-sign the cookie now and then, so two hours means two hours without activity
    # (every few minutes is enough, and spares signing a cookie on each page).
    if session.get("answers"):
        minute = int(time.time() // 60)
        if session.get("active_minute", 0) <= minute - SESSION_REFRESH_MINUTES:
            session["active_minute"] = minute
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class Visit:
    """One request's view of the screening: the catalog snapshot, the person's answers, the
    share link's studies, and the questions still to ask."""

    def __init__(self) -> None:
        self.catalog = catalog.snapshot()
        self.bank = self.catalog.bank
        self.index = self.catalog.index
        self.answers = current_answers(self.bank)
        self.link_code = current_link_code()
        ids = sharing.link_scope(self.link_code)
        self.scope = None if ids is None else self.index.bits_for(ids)
        self.plan = asking.plan(self.bank, self.index, self.answers, today(), g.lang_code, self.scope)

    def replan(self) -> None:
        self.plan = asking.plan(self.bank, self.index, self.answers, today(), g.lang_code, self.scope)

    def next_url(self, changing: bool) -> str:
        upcoming = self.plan.next
        if upcoming is None:
            return url_for(".check")
        return url_for(".question", question_id=upcoming.id, change=1 if changing else None)

    def texts(self):  # type: ignore[no-untyped-def]
        return self.catalog.question_texts(g.lang_code)

    def rows(self) -> list[tuple[object, object, str]]:
        texts = self.texts()
        return [(question, texts[question.id], presenters.answer_text(question, self.answers[question.id], texts[question.id]))
                for question in self.plan.asked]


@bp.get("/")
def start():  # type: ignore[no-untyped-def]
    visit = Visit()
    conditions = visit.catalog.condition_texts(g.lang_code)
    return render_template("screener/start.html", has_answers=bool(visit.answers),
                           first_question=visit.bank.first.id, conditions=conditions,
                           condition_list=presenters.either_of([c.in_sentence or c.label for c in conditions]))


@bp.get("/privacy")
def privacy():  # type: ignore[no-untyped-def]
    return render_template("screener/privacy.html")


@bp.route("/questions/<question_id>", methods=["GET", "POST"])
def question(question_id: str):  # type: ignore[no-untyped-def]
    visit = Visit()
    current = visit.bank.by_id.get(question_id)
    if current is None:
        abort(404)
    changing = request.args.get("change") == "1"
    if not asking.can_ask(visit.plan, question_id):
        return redirect(visit.next_url(changing))
    previous = asking.previous_question(visit.bank, visit.plan, question_id)
    if changing:
        back_url = url_for(".check")
    elif previous is not None:
        back_url = url_for(".question", question_id=previous.id)
    else:
        back_url = url_for(".start")
    progress = asking.progress(visit.bank, visit.plan, question_id)
    texts = visit.texts()[question_id]
    form = form_class(current)()
    suggestions: list[str] = []

    def render(csrf_value):  # type: ignore[no-untyped-def]
        return render_template(
            "screener/question.html", question=current, texts=texts, form=form, back_url=back_url,
            progress=progress, month_names=presenters.month_names(), changing=changing,
            year_first=presenters.year_comes_first(), csrf_value=csrf_value, suggestions=suggestions)

    if not form.is_submitted():
        form.fill_from(visit.answers.get(question_id))
        if "_flashes" in session:
            return render(generate_csrf())
        if current.kind is Kind.PLACE and visit.answers.get(question_id) is not None:
            # Where the person lives is never kept, not even in this process's page cache.
            return render(generate_csrf())
        # Everything this page shows, bar the CSRF token, comes from these values.
        key = pagecache.cache_key(visit.catalog.revision, g.lang_code, request.full_path,
                                  visit.answers.get(question_id), back_url, progress, changing)
        return pagecache.cached_page(key) or pagecache.remember_page(key, render)
    if form.validate():
        try:
            value = current.clean(form.raw_answer(), today(), visit.bank.age_years(visit.plan.facts))
        except InvalidAnswer as error:
            form.show_error(error, presenters.error_message(error, texts))
            suggestions = error.params.get("suggestions") or []
        else:
            visit.answers = visit.bank.relevant_answers({**visit.answers, question_id: value})
            save_answers(visit.answers)
            count_once("counted_start", lambda token: sharing.count_started(visit.link_code, g.lang_code, token))
            visit.replan()
            return redirect(visit.next_url(changing))
    return render(generate_csrf()), (400 if form.errors else 200)


@bp.get("/check")
def check():  # type: ignore[no-untyped-def]
    visit = Visit()
    if not visit.plan.complete:
        return redirect(visit.next_url(False) if visit.answers else url_for(".start"))
    return render_template("screener/check.html", rows=visit.rows())


def _within_miles() -> int | None:
    """The results' distance filter from the address (25, 100 or 500 miles), or None."""
    within = request.args.get("within")
    return int(within) if within in {str(m) for m in FILTER_MILES} else None


def _screening_page(template: str, count: bool = False, group: str | None = None):  # type: ignore[no-untyped-def]
    visit = Visit()
    if not visit.plan.complete:
        return redirect(visit.next_url(False) if visit.answers else url_for(".start"))
    show_all = request.args.get("show") == "all"
    within_miles = _within_miles()
    chosen = visit.bank.chosen_conditions(visit.answers)
    screening = screen(visit.index, visit.plan.facts, chosen, include_unrelated=show_all, scope=visit.scope,
                       within_km=within_miles * KM_PER_MILE if within_miles else None)
    extra = {}
    if group is None:
        groups = presenters.result_groups(screening, current_app.config["RESULTS_PER_GROUP"])
    else:
        paged = presenters.group_page(screening, group, request.args.get("page"),
                                      current_app.config["GROUP_PAGE_SIZE"])
        if paged is None:
            return redirect(url_for(".results", show="all" if show_all else None))
        groups, extra = [paged.group], {"page_of": (paged.number, paged.count), "group_key": group}
    if count:
        count_once("counted_finish", lambda token: sharing.count_finished(
            visit.link_code, g.lang_code, screening, token))
    # Only the trials on this page are read in the reader's language.
    groups = presenters.localised_groups(groups, lambda outcomes: catalog.localise_outcomes(outcomes, g.lang_code))
    pages = catalog.pages_for_conditions(chosen, g.lang_code)
    texts = visit.texts()
    rows = visit.rows()
    return render_template(
        template,
        screening=screening,
        groups=groups,
        per_group=current_app.config["RESULTS_PER_GROUP"],
        **extra,
        pages=pages[:READ_NEXT_PAGES],
        more_pages=len(pages) > READ_NEXT_PAGES,
        search_links=presenters.registry_searches(chosen, visit.catalog.condition_texts(g.lang_code)),
        show_all=show_all,
        rows=rows,
        present=presenters,
        trial_card=cards.card_renderer(
            cards.parts_for(visit.catalog.revision, g.lang_code), presenters.nearby(groups, screening),
            lambda card: status_date(card.status_verified, card.registry_updated, today()),
            presenters.answer_lookup(visit.answers, visit.bank, texts, {q.id: text for q, _, text in rows}),
            within_miles),
        distance_filters=presenters.distance_filters(within_miles) if screening.here else [],
        within_miles=within_miles,
        narrowed=visit.scope is not None,
        printed_on=presenters.registry_date(today().isoformat()),
    )


@bp.get("/results")
def results():  # type: ignore[no-untyped-def]
    return _screening_page("screener/results.html", count=True)


@bp.get("/results/<any(fit, check, unlikely, closed):group>")
def results_group(group: str):  # type: ignore[no-untyped-def]
    return _screening_page("screener/results_group.html", group=group)


@bp.get("/studies/<registry_id>/sites")
def study_sites(registry_id: str):  # type: ignore[no-untyped-def]
    """Every site of one listed study: nearest first when the person said where they live,
    each with its status and contact."""
    visit = Visit()
    position = visit.index.position.get(registry_id)
    # (A share link's page lists only the studies the clinic chose: so do their sites pages.)
    if position is None or (visit.scope is not None and not visit.scope >> position & 1):
        abort(404)
    spec = visit.index.trials[position]
    localised = catalog.localise_outcomes([TrialOutcome(spec, Assessment(Verdict.CHECK, ()))], g.lang_code)
    card = localised[0].trial.payload
    here = visit.plan.facts.get(LOCATION)
    distances = {}
    if isinstance(here, tuple):
        sites = spec.sites or card.sites
        distances = {site.number: km for km, site in by_distance(sites, here[0], here[1])}
    order = sorted(range(len(card.locations)), key=lambda n: (distances.get(n, float("inf")), n))
    rows = [(card.locations[n], presenters.distance_text(distances[n]) if n in distances else None) for n in order]
    return render_template("screener/sites.html", card=card, rows=rows, located=bool(distances),
                           present=presenters, within_miles=_within_miles())


@bp.get("/results/print")
def print_results():  # type: ignore[no-untyped-def]
    return _screening_page("screener/print.html")


@bp.post("/clear")
def clear():  # type: ignore[no-untyped-def]
    clear_answers()
    flash(gettext("Your answers have been cleared."))
    return redirect(url_for(".start"))


@bp.get("/learn/")
def learn_index():  # type: ignore[no-untyped-def]
    return render_template("screener/learn_index.html", pages=catalog.education_pages(g.lang_code))


@bp.get("/learn/<slug>")
def learn_page(slug: str):  # type: ignore[no-untyped-def]
    page = catalog.education_page(slug, g.lang_code)
    if page is None:
        abort(404)
    return render_template("screener/learn_page.html", page=page, present=presenters)

