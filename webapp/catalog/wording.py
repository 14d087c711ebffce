"""Plain patient wording for a criterion on a standard fact, in every language.

When staff accept a suggestion, or an import turns the registry's age or sex limit into a
criterion, the criterion needs a description (what the study asks) and, where it helps, what to
tell a person it rules out. The templates are interface strings (gettext); filled in for each
language they become catalog content, marked not reviewed, which staff then edit and review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from babel.lists import format_list
from flask_babel import force_locale, gettext, ngettext

from ..core.i18n import N_
from ..core.facts import AGE_YEARS, BMI, CONDITIONS, ENGLISH, HBA1C, INSULIN_USE, PREGNANCY, SEX, TIME_SINCE_DIAGNOSIS

from ..config import LANGUAGES


def _number(value: float) -> str:
    """A limit as the reader's locale writes numbers ("8,5" in Spanish)."""
    from babel.numbers import format_decimal

    return format_decimal(value, format="#,##0.##", locale=_locale())


def _duration(value: float, unit: str) -> str:
    """"3 months", "1,5 años": the plural form chosen by the whole number, the number written as
    the locale writes it (flask_babel's ngettext would put the count itself in %(num)s)."""
    from flask_babel import get_translations

    number = _number(value)
    # A fraction takes the plural form of "other" in every language (CLDR); 100 is "other" in
    # each of ours (2 would be the Arabic dual, "two years").
    count = int(value) if float(value).is_integer() else 100
    translations = get_translations()  # ngettext calls written out, so Babel extracts both forms
    if unit == "years":
        template = translations.ngettext("%(num)s year", "%(num)s years", count)
    elif unit == "weeks":
        template = translations.ngettext("%(num)s week", "%(num)s weeks", count)
    elif unit == "days":
        template = translations.ngettext("%(num)s day", "%(num)s days", count)
    else:
        template = translations.ngettext("%(num)s month", "%(num)s months", count)
    return template % {"num": number}


def _range(value: Mapping[str, Any], shown) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    low, high = value.get("min"), value.get("max")
    return (shown(low) if low is not None else None, shown(high) if high is not None else None)


def _between(value: Mapping[str, Any], shown, both: str, at_least: str, above: str, at_most: str,  # type: ignore[no-untyped-def]
             below: str, strict: tuple[str, str, str] | None = None) -> str:
    """`strict`: the both-limits wording when the lower, the upper or both limits are not
    allowed themselves ("above 6 % and at most 8.5 %"); without it, "from ... to ..." is used
    only when both limits are allowed."""
    low, high = _range(value, shown)
    if low is not None and high is not None:
        low_in, high_in = value.get("min_inclusive", True), value.get("max_inclusive", True)
        if strict is not None and not (low_in and high_in):
            template = strict[0] if high_in else strict[1] if low_in else strict[2]
            return gettext(template, min=low, max=high)
        return gettext(both, min=low, max=high)
    if low is not None:
        return gettext(at_least if value.get("min_inclusive", True) else above, min=low)
    return gettext(at_most if value.get("max_inclusive", True) else below, max=high)


def _texts_now(fact: str, value: Mapping[str, Any], condition_names: Mapping[str, str]) -> dict[str, str] | None:
    """The description and what to say when it is not met, in the current locale."""
    met = list(value.get("met", []))
    if fact == CONDITIONS:
        names = format_list([condition_names.get(c, c) for c in met if c != "none"] or met,
                            style="or", locale=_locale())
        return {"description": gettext("You have %(conditions)s", conditions=names),
                "if_not_met": gettext("This study is only for people with %(conditions)s.", conditions=names)}
    if fact == AGE_YEARS:
        years = _number
        return {"description": _between(value, years, N_("You are %(min)s to %(max)s years old"),
                                        N_("You are %(min)s or older"), N_("You are older than %(min)s"),
                                        N_("You are %(max)s or younger"), N_("You are younger than %(max)s")),
                "if_not_met": _between(value, years, N_("This study only takes people aged %(min)s to %(max)s."),
                                       N_("This study only takes people aged %(min)s or older."),
                                       N_("This study only takes people older than %(min)s."),
                                       N_("This study only takes people aged %(max)s or younger."),
                                       N_("This study only takes people younger than %(max)s."))}
    if fact == SEX and met:
        if met == ["female"]:
            return {"description": gettext("You were assigned female at birth"),
                    "if_not_met": gettext("This study is only for people assigned female at birth.")}
        if met == ["male"]:
            return {"description": gettext("You were assigned male at birth"),
                    "if_not_met": gettext("This study is only for people assigned male at birth.")}
        return None
    if fact == HBA1C:
        unit = value.get("unit", "%")
        shown = lambda v: f"{_number(v)} {unit}"  # noqa: E731
        return {"description": _between(value, shown, N_("Your A1C is from %(min)s to %(max)s"),
                                        N_("Your A1C is %(min)s or higher"), N_("Your A1C is above %(min)s"),
                                        N_("Your A1C is %(max)s or lower"), N_("Your A1C is below %(max)s"),
                                        (N_("Your A1C is above %(min)s and at most %(max)s"),
                                         N_("Your A1C is at least %(min)s and below %(max)s"),
                                         N_("Your A1C is above %(min)s and below %(max)s"))),
                "if_not_met": _between(value, shown, N_("This study is for people whose A1C is from %(min)s to %(max)s."),
                                       N_("This study is for people whose A1C is %(min)s or higher."),
                                       N_("This study is for people whose A1C is above %(min)s."),
                                       N_("This study is for people whose A1C is %(max)s or lower."),
                                       N_("This study is for people whose A1C is below %(max)s."),
                                       (N_("This study is for people whose A1C is above %(min)s and at most %(max)s."),
                                        N_("This study is for people whose A1C is at least %(min)s and below %(max)s."),
                                        N_("This study is for people whose A1C is above %(min)s and below %(max)s.")))}
    if fact == BMI:
        return {"description": _between(value, _number, N_("Your BMI is from %(min)s to %(max)s"),
                                        N_("Your BMI is %(min)s or higher"), N_("Your BMI is above %(min)s"),
                                        N_("Your BMI is %(max)s or lower"), N_("Your BMI is below %(max)s"),
                                        (N_("Your BMI is above %(min)s and at most %(max)s"),
                                         N_("Your BMI is at least %(min)s and below %(max)s"),
                                         N_("Your BMI is above %(min)s and below %(max)s"))),
                "if_not_met": _between(value, _number, N_("This study is for people with a BMI from %(min)s to %(max)s."),
                                       N_("This study is for people with a BMI of %(min)s or higher."),
                                       N_("This study is for people with a BMI above %(min)s."),
                                       N_("This study is for people with a BMI of %(max)s or lower."),
                                       N_("This study is for people with a BMI below %(max)s."),
                                       (N_("This study is for people with a BMI above %(min)s and at most %(max)s."),
                                        N_("This study is for people with a BMI of at least %(min)s and below %(max)s."),
                                        N_("This study is for people with a BMI above %(min)s and below %(max)s.")))}
    if fact.startswith(TIME_SINCE_DIAGNOSIS + ":"):
        condition = condition_names.get(fact.split(":", 1)[1], fact.split(":", 1)[1])
        unit = value.get("unit", "months")
        shown = lambda v: _duration(v, unit)  # noqa: E731
        low, high = _range(value, shown)
        if low is not None and high is not None:
            text = gettext("You were told you have %(condition)s between %(min)s and %(max)s ago",
                           condition=condition, min=low, max=high)
        elif low is not None:
            text = gettext("You were told you have %(condition)s at least %(min)s ago", condition=condition, min=low)
        else:
            text = gettext("You were told you have %(condition)s less than %(max)s ago", condition=condition, max=high)
        return {"description": text,
                "if_not_met": gettext("This study is for people whose %(condition)s was found within the time shown.",
                                      condition=condition)}
    if fact == PREGNANCY and met == ["no"]:
        return {"description": gettext("You are not pregnant, breastfeeding, or planning a pregnancy"),
                "if_not_met": gettext("This study does not take people who are pregnant, breastfeeding, or planning a pregnancy.")}
    if fact == ENGLISH and met == ["yes"]:
        return {"description": gettext("You can take part in a study held in English"),
                "if_not_met": gettext("This study is held in English. Ask the study team about an interpreter.")}
    if fact == INSULIN_USE and met in (["yes"], ["no"]):
        if met == ["yes"]:
            return {"description": gettext("You take insulin now"),
                    "if_not_met": gettext("This study is only for people who take insulin.")}
        return {"description": gettext("You do not take insulin now"),
                "if_not_met": gettext("This study is only for people who do not take insulin.")}
    return None


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


def criterion_texts(fact: str, value: Mapping[str, Any],
                    condition_names: Mapping[str, Mapping[str, str]] | None = None,
                    languages: Sequence[str] = LANGUAGES) -> dict[str, dict[str, Any]] | None:
    """{lang: {"description", "if_not_met", "reviewed": False}} for a standard fact, or None.

    `condition_names`: condition id -> {lang: name in a sentence} ("type 1 diabetes").
    Needs an app context (the translations).
    """
    condition_names = condition_names or {}
    found: dict[str, dict[str, Any]] = {}
    for lang in languages:
        with force_locale(lang):
            names = {c: words.get(lang) or words.get("en") or c for c, words in condition_names.items()}
            words = _texts_now(fact, value, names)
        if words is None:
            return None
        found[lang] = {**words, "reviewed": False}
    return found


def team_check_texts(kind: str, languages: Sequence[str] = LANGUAGES, **values: str) -> dict[str, dict[str, Any]]:
    """Texts of an imported "the study team will check" criterion, in every language:
    "no_rules" (the registry gives no eligibility text) or "age_limits" (limits we could not
    read; `limits` as the registry writes them)."""
    found: dict[str, dict[str, Any]] = {}
    for lang in languages:
        with force_locale(lang):
            if kind == "no_rules":
                description = gettext("The registry lists no rules for who can join this study")
            else:
                description = gettext("The registry gives age limits we could not read: %(limits)s", **values)
        found[lang] = {"description": description, "reviewed": False}
    return found
