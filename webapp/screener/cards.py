"""The parts of a results card that read the same for everyone who sees it.

A card's title, summary, registry facts, notes and contacts depend only on the trial, the
reader's language and how old the registry's status date is; they are rendered once (from
components/trial_parts.html) and kept per process until the catalog revision changes. Only the
verdict, the nearest site and the reasons are rendered for each person.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from markupsafe import Markup

from ..catalog.snapshot import TrialCard
from ..core.screening import StatusDate
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
