"""Plain-language wording for answers, verdicts, reasons, statuses and dates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton, get_date_format, get_month_names
from babel.lists import format_list
from babel.units import format_unit
from flask_babel import format_decimal, format_number, get_locale, gettext, lazy_gettext as _l, ngettext
from markupsafe import Markup, escape

from ..bidi import isolate_latin
from ..catalog.snapshot import ConditionText, QuestionText
from ..core.dates import YearMonth
from ..core.engine import CriterionResult, Outcome, Unknown, Verdict
from ..core.questions import NOT_SURE, Bank, InvalidAnswer, Kind, Question, height_and_weight
from ..core.places import FAR_KM, FILTER_MILES, KM_PER_MILE, nearest_site
from ..core.screening import GROUPS, Screening, TrialOutcome
from ..core.units import body_mass_index
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
GROUP_TEXTS = {
    "fit": (VERDICT_HEADINGS[Verdict.FIT], VERDICT_INTROS[Verdict.FIT]),
    "check": (VERDICT_HEADINGS[Verdict.CHECK], VERDICT_INTROS[Verdict.CHECK]),
    "unlikely": (VERDICT_HEADINGS[Verdict.UNLIKELY], VERDICT_INTROS[Verdict.UNLIKELY]),
    "closed": (CLOSED_HEADING, CLOSED_INTRO),
}


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

    Only the first `first` trials of each group are assessed for their reasons.
    """
    groups = []
    for key in GROUPS:
        total = screening.count(key)
        if total:
            heading, intro = GROUP_TEXTS[key]
            groups.append(ResultGroup(key, str(heading), str(intro), screening.outcomes(key, 0, first), total))
    return groups


@dataclass(frozen=True)
class GroupPage:
    group: ResultGroup
    number: int
    count: int


def group_page(screening: Screening, key: str, requested: str | None, size: int) -> GroupPage | None:
    """One page of one result group; an odd page number shows the nearest real page."""
    total = screening.count(key) if key in GROUPS else 0
    if not total:
        return None
    count = max(1, -(-total // size))
    try:
        number = min(max(1, int(requested or 1)), count) if len(requested or "") <= 6 else 1
    except ValueError:
        number = 1
    start = (number - 1) * size
    heading, intro = GROUP_TEXTS[key]
    outcomes = screening.outcomes(key, start, start + size)
    return GroupPage(ResultGroup(key, str(heading), str(intro), outcomes, total), number, count)


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
    Unknown.UNTRIAGED: _l("This study has other rules that we have not turned into questions yet. "
                          "The study team will check them."),
}
UNTRIAGED_DESCRIPTION = _l("Other rules of this study")
TEAM_LINES_DESCRIPTION = _l("Other rules the study team checks")
TEAM_LINES_REASON = _l("Only the study team can check these.")
# Reasons that stand without quoting the answer: the person gave none that applies.
WITHOUT_ANSWER = frozenset({Unknown.NOT_ASKED, Unknown.STUDY_TEAM_CHECKS, Unknown.UNTRIAGED})
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


def registry_searches(chosen: Sequence[str], conditions: Sequence[ConditionText]) -> list[tuple[str, str]]:
    """Registry searches for the conditions chosen, or for every condition when none of
    those chosen has one: (label, ClinicalTrials.gov condition query)."""
    searchable = [c for c in conditions if c.search_term and c.in_sentence]
    picked = [c for c in searchable if c.id in chosen] or searchable
    return [(c.in_sentence, c.search_term) for c in picked]


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, STATUS_LABELS["UNKNOWN"]))


def reason_sentences(result: CriterionResult, answered: Callable[[str | None], tuple[str, Any] | None],
                     locale: str | None = None) -> list[str]:
    """What a criterion's outcome means for this person, starting from what they answered.

    `answered(fact)` gives the person's answer behind a fact, in words and as stored, or None.
    Cards that share a rule share its result object, so each is worded once per page.
    `locale`: the reader's, when the caller has it already.
    """
    locale = locale or str(get_locale())
    memo = getattr(answered, "reasons", None)
    if memo is None:
        return _reason_sentences(result, answered, locale)
    # What the sentences depend on: the same rule outcome on another card reads the same.
    criterion = result.criterion
    key = (result.outcome, result.unknown_because, criterion.fact, criterion.if_not_met,
           criterion.team_lines, criterion.untriaged)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _reason_sentences(result, answered, locale)
    return found


REASON_MARKS = {Outcome.MET: "✓", Outcome.NOT_MET: "✗", Outcome.UNKNOWN: "?"}


def reason_items(results: Sequence[CriterionResult],
                 answered: Callable[[str | None], tuple[str, Any] | None]) -> Markup:
    """A card's reasons as list items: each rule's wording, then what its outcome means for
    this person. Cards that share a rule with the same wording share its item, made once per page."""
    memo = getattr(answered, "items", None)
    locale = str(get_locale())
    items = []
    for result in results:
        criterion = result.criterion
        key = (criterion.description, result.outcome, result.unknown_because, criterion.fact,
               criterion.if_not_met, criterion.team_lines, criterion.untriaged)
        item = memo.get(key) if memo is not None else None
        if item is None:
            words = escape(" ".join(reason_sentences(result, answered, locale)))
            item = Markup(f"{_reason_head(locale, result.outcome, criterion.description, criterion.team_lines, criterion.untriaged)}"
                          f"{words}</span>\n</li>\n")
            if memo is not None:
                memo[key] = item
        items.append(item)
    # (Every item is Markup already: joined as it is, not escaped again one by one.)
    return Markup("".join(items))


@lru_cache(maxsize=4096)
def _reason_head(locale: str, outcome: Outcome, description: str, team_lines: bool, untriaged: bool) -> Markup:
    """The start of a reason's list item: its mark and the rule's wording (the same for everyone)."""
    wording = (str(UNTRIAGED_DESCRIPTION) if untriaged else str(TEAM_LINES_DESCRIPTION) if team_lines
               else description)
    return Markup(f'<li class="reason-{outcome.value}">\n<i aria-hidden="true">{REASON_MARKS[outcome]}</i>\n'
                  f"<span><strong>{escape(wording)}</strong><br>\n")


def _reason_sentences(result: CriterionResult, answered: Callable[[str | None], tuple[str, Any] | None],
                      locale: str) -> list[str]:
    because = result.unknown_because
    found = None
    if result.outcome is not Outcome.UNKNOWN or because not in WITHOUT_ANSWER:
        found = answered(result.criterion.fact)
    if because is Unknown.NOT_SURE and found is not None and found[1] != NOT_SURE:
        # "Prefer not to say", "I don't know it": said as they answered it.
        return [_you_answered(found[0], answered), gettext("The study team will check.")]
    said = [_you_answered(found[0], answered)] if found is not None and because is not Unknown.NOT_SURE else []
    criterion = result.criterion
    return said + list(_outcome_sentences(locale, result.outcome, because, criterion.team_lines,
                                          criterion.if_not_met))


def _you_answered(answer: str, answered: Callable[[str | None], tuple[str, Any] | None]) -> str:
    memo = getattr(answered, "said", None)
    if memo is None:
        return gettext("You answered: %(answer)s.", answer=answer)
    found = memo.get(answer)
    if found is None:
        found = memo[answer] = gettext("You answered: %(answer)s.", answer=answer)
    return found


@lru_cache(maxsize=1024)
def _outcome_sentences(locale: str, outcome: Outcome, because: Unknown | None, team_lines: bool,
                       if_not_met: str | None) -> tuple[str, ...]:
    """What a rule's outcome means, after the person's own answer (the same for everyone)."""
    if outcome is Outcome.UNKNOWN:
        return (str(TEAM_LINES_REASON) if team_lines else str(UNKNOWN_REASONS[because or Unknown.STUDY_TEAM_CHECKS]),)
    label = str(OUTCOME_LABELS[outcome])
    return (label, if_not_met) if outcome is Outcome.NOT_MET and if_not_met else (label,)


def answer_lookup(answers: Mapping[str, Any], bank: Bank,
                  texts: Mapping[str, QuestionText],
                  worded: Mapping[str, str] | None = None) -> Callable[[str | None], tuple[str, Any] | None]:
    """For the results page: the person's answer behind each fact, in words and as stored.
    `worded`: answers already put in words on the page (by question id), not worded again."""
    cache: dict[str | None, tuple[str, Any] | None] = {}
    worded = worded or {}

    def answered(fact: str | None) -> tuple[str, Any] | None:
        if fact not in cache:
            question = bank.for_fact.get(fact) if fact else None
            value = answers.get(question.id) if question else None
            if question and value is not None and question.id in texts:
                text = worded.get(question.id)
                cache[fact] = (answer_text(question, value, texts[question.id]) if text is None else text, value)
            else:
                cache[fact] = None
        return cache[fact]

    answered.reasons = {}  # type: ignore[attr-defined]
    answered.items = {}  # type: ignore[attr-defined]
    answered.said = {}  # type: ignore[attr-defined]

    return answered


def error_message(error: InvalidAnswer, texts: QuestionText) -> str:
    """A question's own words for a problem with an answer, or the interface's general ones."""
    own = texts.messages.get(error.code)
    if own:
        return own
    return gettext(error.message, **error.params)


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


def decimal(value: float) -> str:
    """A measurement as people write it in the reader's language (7.2, 7,2, ٧٫٢)."""
    return format_decimal(round(value, 1), format="#,##0.#")


def answer_text(question: Question, value: Any, texts: QuestionText) -> str:
    kind = question.kind
    if value == NOT_SURE:
        return gettext("I'd rather not say") if kind is Kind.PLACE else gettext("Not sure")
    if kind is Kind.MONTH_YEAR:
        return month_year(YearMonth.parse(value))
    if kind is Kind.WHOLE_NUMBER:
        return format_number(value)
    if kind is Kind.DECIMAL:
        return decimal(value)
    if kind is Kind.HBA1C:
        return f"{decimal(value['value'])} {value['unit']}"
    if kind is Kind.PLACE:
        # A place name as the data gives it, kept whole in right-to-left text.
        return isolate_latin(value["label"]) if str(get_locale()) in RIGHT_TO_LEFT else value["label"]
    if kind is Kind.HEIGHT_WEIGHT:
        height, weight = value["height"], value["weight"]
        if "cm" in height:
            height_text = gettext("%(number)s cm", number=decimal(height["cm"]))
        else:
            height_text = gettext("%(feet)s ft %(inches)s in", feet=decimal(height["ft"]), inches=decimal(height["in"]))
        weight_text = (gettext("%(number)s kg", number=decimal(weight["kg"])) if "kg" in weight
                       else gettext("%(number)s lb", number=decimal(weight["lb"])))
        cm, kg = height_and_weight(value)
        return gettext("%(height)s, %(weight)s (BMI %(bmi)s)", height=height_text, weight=weight_text,
                       bmi=decimal(body_mass_index(cm, kg)))
    values = value if isinstance(value, list) else [value]
    labels = [texts.options[o.value].label for o in question.options if o.value in values and o.value in texts.options]
    return format_list(labels, locale=get_locale())


def time_ago(months: int) -> str:
    """'2 years and 9 months ago', 'this month', in the reader's language."""
    return _time_ago(months, str(get_locale()))


@lru_cache(maxsize=2048)
def _time_ago(months: int, locale: str) -> str:
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


@dataclass(frozen=True)
class NearSite:
    """The nearest site of a study to where the person lives, as a card shows it."""

    facility: str
    place: str
    km: float
    distance: str
    taking: bool
    far: bool
    sites: int
    within_100_miles: int


def distance_text(km: float) -> str:
    """"640 miles (1,030 km)" in the reader's language and number format."""
    return _distance_text(round(km, 1), str(get_locale()))


@lru_cache(maxsize=4096)
def _distance_text(km: float, locale: str) -> str:
    miles = km / KM_PER_MILE
    kilometres = format_unit(round(km), "length-kilometer", length="short", locale=locale)
    if miles < 1:
        return gettext("less than 1 mile (%(km)s)", km=format_unit(round(km, 1), "length-kilometer", length="short",
                                                                    locale=locale))
    return gettext("%(miles)s (%(km)s)", miles=format_unit(round(miles), "length-mile", length="long", locale=locale),
                   km=kilometres)


def site_place(location: Mapping[str, Any]) -> str:
    """"Boston, Massachusetts, United States" as the registry writes it."""
    return ", ".join(str(p) for p in (location.get("city"), location.get("state"), location.get("country")) if p)


def nearby(groups: Sequence[ResultGroup], screening: Screening) -> dict[str, NearSite]:
    """For each card on the page, its nearest site (when the person said where they live)."""
    if screening.here is None:
        return {}
    lat, lon = screening.here
    found = {}
    for group in groups:
        for outcome in group.outcomes:
            card = outcome.trial.payload
            if card is None:
                continue
            nearest = nearest_site(outcome.trial.sites or card.sites, lat, lon)
            if nearest is None or nearest.site.number >= len(card.locations):
                continue
            location = card.locations[nearest.site.number]
            found[outcome.trial.registry_id] = NearSite(
                facility=str(location.get("facility") or site_place(location)), place=site_place(location),
                km=nearest.km, distance=distance_text(nearest.km), taking=nearest.site.taking,
                far=nearest.km > FAR_KM, sites=len(card.locations), within_100_miles=nearest.within_100_miles)
    return found


def distance_filters(selected: float | None) -> list[tuple[str, int | None, bool]]:
    """The "within 25 / 100 / 500 miles / anywhere" links: (label, miles, chosen)."""
    links = [(gettext("within %(distance)s", distance=format_unit(m, "length-mile", length="long", locale=get_locale())),
              m, selected == m) for m in FILTER_MILES]
    return links + [(gettext("anywhere"), None, selected is None)]


def either_of(names: Sequence[str]) -> str:
    """"type 1 diabetes, type 2 diabetes, or chronic pancreatitis" in the reader's language."""
    return format_list(list(names), style="or", locale=get_locale())
