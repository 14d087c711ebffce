"""Plain-language wording for answers, verdicts, reasons, statuses and dates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import date
from typing import Any

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton, get_date_format, get_month_names
from babel.lists import format_list
from flask_babel import format_number, get_locale, gettext, lazy_gettext as _l, ngettext

from ..bidi import isolate_latin
from ..core.dates import YearMonth
from ..core.engine import CriterionResult, Outcome, Unknown, Verdict
from ..core.screening import Screening, TrialOutcome
from ..core.facts import FACT_SPECS
from ..core.questions import NOT_SURE, QUESTIONS_BY_ID, Kind, Question
from ..languages import RIGHT_TO_LEFT

VERDICT_HEADINGS = {
    Verdict.FIT: _l("May be a fit"),
    Verdict.CHECK: _l("Might be a fit – the study team would need to check"),
    Verdict.UNLIKELY: _l("Probably not a fit"),
}
VERDICT_INTROS = {
    Verdict.FIT: _l("Your answers match everything we could check. "
                    "The study team still decides who can join."),
    Verdict.CHECK: _l("Nothing in your answers rules these out. "
                      "Some things can only be checked by the study team."),
    Verdict.UNLIKELY: _l("At least one of your answers does not match what these studies need."),
}
CLOSED_HEADING = _l("Not recruiting now")
CLOSED_INTRO = _l("These studies are not taking new people at the moment. We show them so you know they exist.")


@dataclass(frozen=True)
class ResultGroup:
    key: str  # fit, check, unlikely, closed
    heading: str
    intro: str
    # The outcomes to show (a first page, or one page of the group)...
    outcomes: list[TrialOutcome]
    # ...out of this many in the group.
    total: int


def result_groups(screening: Screening, first: int | None = None) -> list[ResultGroup]:
    """The results page's sections in order: recruiting trials by verdict, then the rest.

    With `first`, each group keeps all its outcomes in `all_outcomes` order but shows `first`.
    """
    sections = [(v.value, VERDICT_HEADINGS[v], VERDICT_INTROS[v], screening.by_verdict[v]) for v in Verdict]
    sections.append(("closed", CLOSED_HEADING, CLOSED_INTRO, screening.not_recruiting))
    return [ResultGroup(key, str(heading), str(intro), outcomes if first is None else outcomes[:first], len(outcomes))
            for key, heading, intro, outcomes in sections if outcomes]


@dataclass(frozen=True)
class GroupPage:
    group: ResultGroup
    number: int
    count: int


def group_page(screening: Screening, key: str, requested: str | None, size: int) -> GroupPage | None:
    """One page of one result group; an odd page number shows the nearest real page."""
    chosen = next((g for g in result_groups(screening) if g.key == key), None)
    if chosen is None:
        return None
    count = max(1, -(-chosen.total // size))
    try:
        number = min(max(1, int(requested or 1)), count)
    except ValueError:
        number = 1
    start = (number - 1) * size
    return GroupPage(replace(chosen, outcomes=chosen.outcomes[start:start + size]), number, count)


def localised_groups(groups: list[ResultGroup], localise) -> list[ResultGroup]:  # type: ignore[no-untyped-def]
    """Swap in the shown outcomes with their texts in the reader's language, in one lookup."""
    shown = localise([o for group in groups for o in group.outcomes])
    result, start = [], 0
    for group in groups:
        end = start + len(group.outcomes)
        result.append(replace(group, outcomes=shown[start:end]))
        start = end
    return result


VERDICT_SHORT = {
    Verdict.FIT: _l("May be a fit"),
    # Says the study team still has to check, so it never reads like "may be a fit".
    Verdict.CHECK: _l("Needs checking: might be a fit"),
    Verdict.UNLIKELY: _l("Probably not a fit"),
}
# What an outcome means, said after the person's own answer ("You answered: No.").
OUTCOME_LABELS = {
    Outcome.MET: _l("This matches what the study asks for."),
    Outcome.NOT_MET: _l("This does not match what the study asks for."),
}
UNKNOWN_REASONS = {
    Unknown.NOT_SURE: _l("You said you are not sure. The study team will check."),
    Unknown.NOT_ASKED: _l("We did not ask about this. The study team will check."),
    Unknown.STUDY_TEAM_CHECKS: _l("Only the study team can check this."),
    Unknown.ANSWER_CHECKED: _l("The study team will check whether this study can include you."),
    Unknown.LAB_TEST: _l("A blood test will confirm this. The study team will check."),
    Unknown.DISPUTED_LIMIT: _l("Sources give different limits here. The study team will check."),
    Unknown.AT_LIMIT: _l("Your answer is right at the limit. The study team will check."),
}
# Reasons that stand without quoting the answer: the person gave none that applies.
WITHOUT_ANSWER = frozenset({Unknown.NOT_SURE, Unknown.NOT_ASKED, Unknown.STUDY_TEAM_CHECKS})
# ClinicalTrials.gov overall statuses, in plain words.
STATUS_LABELS = {
    "RECRUITING": _l("Looking for people to join now"),
    "NOT_YET_RECRUITING": _l("Will start looking for people soon"),
    "ENROLLING_BY_INVITATION": _l("Only people who are invited can join"),
    "ACTIVE_NOT_RECRUITING": _l("Still running, but not taking new people"),
    "COMPLETED": _l("Finished"),
    "SUSPENDED": _l("Paused for now"),
    "TERMINATED": _l("Stopped early"),
    "WITHDRAWN": _l("Stopped before anyone joined"),
    "AVAILABLE": _l("Available outside a study"),
    "NO_LONGER_AVAILABLE": _l("No longer available"),
    "TEMPORARILY_NOT_AVAILABLE": _l("Not available for now"),
    "APPROVED_FOR_MARKETING": _l("Approved for sale"),
    "WITHHELD": _l("Status not shared"),
    "UNKNOWN": _l("Status not known"),
}


# Registry searches offered when nothing fits: (label, ClinicalTrials.gov condition query).
REGISTRY_SEARCHES = {
    "type1": (_l("type 1 diabetes"), "Type 1 Diabetes"),
    "type2": (_l("type 2 diabetes"), "Type 2 Diabetes"),
    "chronic_pancreatitis": (_l("chronic pancreatitis"), "Chronic Pancreatitis"),
}


def registry_searches(conditions: list[str]) -> list[tuple[str, str]]:
    """Searches for the conditions chosen, or for all of them when none of these was chosen."""
    chosen = [c for c in REGISTRY_SEARCHES if c in conditions] or list(REGISTRY_SEARCHES)
    return [(str(REGISTRY_SEARCHES[c][0]), REGISTRY_SEARCHES[c][1]) for c in chosen]


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, STATUS_LABELS["UNKNOWN"]))


def reason_sentences(result: CriterionResult, answered: Callable[[str | None], str | None]) -> list[str]:
    """What a criterion's outcome means for this person, starting from what they answered.

    `answered(fact)` gives the person's answer behind a fact in words, or None.
    """
    sentences = []
    because = result.unknown_because
    if result.outcome is not Outcome.UNKNOWN or because not in WITHOUT_ANSWER:
        answer = answered(result.criterion.fact)
        if answer:
            sentences.append(gettext("You answered: %(answer)s.", answer=answer))
    if result.outcome is Outcome.UNKNOWN:
        sentences.append(str(UNKNOWN_REASONS[because or Unknown.STUDY_TEAM_CHECKS]))
        return sentences
    sentences.append(str(OUTCOME_LABELS[result.outcome]))
    if result.outcome is Outcome.NOT_MET and result.criterion.if_not_met:
        sentences.append(result.criterion.if_not_met)
    return sentences


def answer_lookup(answers: Mapping[str, Any]) -> Callable[[str | None], str | None]:
    """For the results page: the person's answer behind each fact, in words."""
    cache: dict[str | None, str | None] = {}

    def answered(fact: str | None) -> str | None:
        if fact not in cache:
            spec = FACT_SPECS.get(fact) if fact else None
            question = QUESTIONS_BY_ID.get(spec.question) if spec else None
            value = answers.get(question.id) if question else None
            cache[fact] = answer_text(question, value) if question and value is not None else None
        return cache[fact]

    return answered


def month_year(value: YearMonth) -> str:
    return format_skeleton("yMMMM", date(value.year, value.month, 1), locale=get_locale())


def registry_date(text: str | None) -> str:
    """'2024-08' -> 'August 2024', '2026-04-22' -> 'April 22, 2026' in the reader's locale."""
    if not text:
        return gettext("not known")
    return _registry_date(text, str(get_locale()))


@lru_cache(maxsize=4096)
def _registry_date(text: str, locale: str) -> str:
    # Pure in (date, locale): results pages show the same few dates on every card.
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 2:
        return format_skeleton("yMMMM", date(parts[0], parts[1], 1), locale=locale)
    return babel_format_date(date(*parts), format="long", locale=locale)


def year_comes_first() -> bool:
    """Whether the reader's language writes a date year first (Chinese: 2024年3月)."""
    return get_date_format("short", locale=get_locale()).pattern.lstrip().startswith("y")


def month_names() -> list[tuple[str, str]]:
    names = get_month_names("wide", context="format", locale=get_locale())
    return [(str(m), names[m]) for m in range(1, 13)]


def answer_text(question: Question, value: Any) -> str:
    if value == NOT_SURE:
        return gettext("Not sure")
    if question.kind is Kind.MONTH_YEAR:
        return month_year(YearMonth.parse(value))
    if question.kind is Kind.WHOLE_NUMBER:
        return format_number(value)
    values = value if isinstance(value, list) else [value]
    labels = [gettext(o.label) for o in question.options if o.value in values]
    return format_list(labels, locale=get_locale())


def time_ago(months: int) -> str:
    """'2 years and 9 months ago', 'this month', in the reader's language."""
    if months <= 0:
        return gettext("this month")
    years, rest = divmod(months, 12)
    parts = []
    if years:
        parts.append(ngettext("%(num)d year", "%(num)d years", years))
    if rest:
        parts.append(ngettext("%(num)d month", "%(num)d months", rest))
    return gettext("%(time)s ago", time=format_list(parts, locale=get_locale()))


def source_label(source: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """A source's label in the reader's language when the catalog has one, with its language."""
    translated = (source.get("labels") or {}).get(lang)
    if translated:
        return (isolate_latin(translated) if lang in RIGHT_TO_LEFT else translated), lang
    return source.get("label") or "", "en"


def travel_note(answers: Mapping[str, Any]) -> str | None:
    """The note about help with travel, in the person's own terms; never a reason to rule out."""
    answer = answers.get("travel_charleston")
    if answer == "no":
        return gettext("You said you could not travel for study visits. "
                       "Ask the study team if they can help with travel.")
    if answer == NOT_SURE:
        return gettext("You said you are not sure you could travel for study visits. "
                       "Ask the study team if they can help with travel.")
    return None
