"""The parts of a results card that read the same for everyone who sees it.

A card's title, summary, registry facts, notes and contacts depend only on the trial, the
reader's language and how old the registry's status date is; they are rendered once (from
components/trial_parts.html) and kept per process until the catalog revision changes. Only the
verdict, the nearest site and the reasons are rendered for each person, here in Python (a
Jinja macro per card was a third of a results page's time at registry scale).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext, ngettext
from markupsafe import Markup, escape

from ..catalog.snapshot import TrialCard
from ..core.screening import StatusDate, TrialOutcome
from . import presenters

PARTS_TEMPLATE = "components/trial_parts.html"
# About ten results pages' worth of cards in each of the four languages.
PARTS_KEPT = 4000


@dataclass(frozen=True, slots=True)
class CardParts:
    title: Markup
    about: Markup
    where: Markup
    sites: Markup
    sites_link: Markup
    notes: Markup
    contact: Markup


def parts_for(revision: str | None, lang: str) -> Callable[[TrialCard, int, StatusDate, bool], CardParts]:
    """`card_parts(card, level, status, recruiting)` for one page: the catalog revision and
    language are read once, not for every card."""
    kept: OrderedDict[tuple[Any, ...], tuple[str | None, CardParts]] = current_app.extensions.setdefault(
        "card_parts", OrderedDict())

    def card_parts(card: TrialCard, level: int, status: StatusDate, recruiting: bool) -> CardParts:
        key = (lang, card.registry_id, level, status, recruiting)
        found = kept.get(key)
        if found is not None and found[0] == revision:
            kept.move_to_end(key)
            return found[1]
        parts = _render(card, level, status, recruiting)
        kept[key] = (revision, parts)
        while len(kept) > PARTS_KEPT:
            kept.popitem(last=False)
        return parts

    return card_parts


def _render(card: TrialCard, level: int, status: StatusDate, recruiting: bool) -> CardParts:
    context = {"card": card, "level": level, "status": status, "recruiting": recruiting, "present": presenters}
    current_app.update_template_context(context)
    module = current_app.jinja_env.get_template(PARTS_TEMPLATE).make_module(context)
    return CardParts(**{name: getattr(module, name) for name in CardParts.__slots__})


def card_renderer(card_parts: Callable[[TrialCard, int, StatusDate, bool], CardParts],
                  nearby: dict[str, presenters.NearSite], status_of: Callable[[TrialCard], StatusDate],
                  answered: Callable[[str | None], Any],
                  within_miles: int | None = None) -> Callable[[TrialOutcome, int], Markup]:
    """`trial_card(outcome, level)` for one page: one study on the results page, with its
    status, reasons and how to contact the study team. As in a template, every value is
    escaped and the interface's own translations are not (Jinja's gettext trusts them too).
    `within_miles`: the page's distance filter, kept by the link to a study's sites (and the
    sites page's link back)."""
    nearest_site, not_taking = Markup(gettext("Nearest site")), Markup(gettext("not taking new people now"))
    sites_label = Markup(gettext("Sites"))
    verdicts = {verdict: escape(label) for verdict, label in presenters.VERDICT_SHORT.items()}
    far_note = Markup(gettext("This study's nearest site is far from you. That is not a reason to give up: "
                              "ask the study team if they can help with travel."))
    see_all = Markup(gettext("See all sites"))

    def sites_link(card: TrialCard, parts: CardParts) -> Markup | str:
        if within_miles is None:
            return parts.sites_link
        href = url_for("screener.study_sites", registry_id=card.registry_id, within=within_miles)
        return f' <a href="{escape(href)}">{see_all}</a>'

    def trial_card(outcome: TrialOutcome, level: int = 3) -> Markup:
        card = outcome.trial.payload
        parts = card_parts(card, level, status_of(card), outcome.trial.recruiting)
        near = nearby.get(card.registry_id)
        verdict = outcome.verdict.value
        html = [f'<article class="trial" data-trial="{escape(card.registry_id)}" data-verdict="{escape(verdict)}" '
                f'data-status="{escape(card.status)}"']
        if near:
            html.append(f' data-nearest-site="{escape(near.facility)}" data-nearest-km="{escape("%.1f" % near.km)}"')
        html.append(f' aria-labelledby="trial-{escape(card.registry_id)}">\n{parts.title}'
                    f'<p class="verdict verdict-{escape(verdict)}">{verdicts[outcome.verdict]}</p>\n'
                    f"{parts.about}")
        if near:
            place = f", {escape(near.place)}" if near.place and near.place != near.facility else ""
            taking = "" if near.taking else f" ({not_taking})"
            html.append(f'<div><dt>{nearest_site}</dt><dd><bdi lang="en" translate="no">{escape(near.facility)}{place}'
                        f"</bdi>: {escape(near.distance)}{taking}</dd></div>\n")
            if len(card.locations) > 1:
                sites = Markup(ngettext("%(num)d site, %(near)d within 100 miles of you",
                                        "%(num)d sites, %(near)d within 100 miles of you", near.sites,
                                        near=near.within_100_miles))
                html.append(f"<div><dt>{sites_label}</dt><dd>{sites}{sites_link(card, parts)}</dd></div>\n")
        else:
            html.append(f"{parts.where}{parts.sites}")
        html.append("</dl>\n")
        if near and near.far:
            html.append(f'<p class="note">{far_note}</p>\n')
        html.append(f'{parts.notes}<ul class="reasons">\n'
                    f"{presenters.reason_items(outcome.assessment.results, answered)}</ul>\n{parts.contact}</article>\n")
        return Markup("".join(html))

    return trial_card
