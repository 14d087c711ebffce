"""Suggested criteria from a registry record's free-text eligibility lines.

Plain rules over the lines `eligibility_text.split_lines` gives, for the standard facts of the
question bank: age (only where the text differs from the registry's structured limits), sex,
time since diagnosis per condition, HbA1c, BMI, pregnancy or breastfeeding, English, insulin
use. Each suggestion says what a person needs to *take part*: an exclusion is turned round
("BMI > 40" excluded gives a maximum of 40). Deterministic, no network, no model.

A wrong number is worse than none, so a line that is unclear gives nothing: a line with two
different limits for the same measure (subgroups), a limit joined by "or" to another test, a
percentile instead of a value, a condition the line does not name in a study with several.
Where the lines of one study give different limits for one fact, nothing is suggested for it;
where they differ only in whether the limit itself is allowed, the stricter one is kept (a
person must meet every inclusion line and no exclusion line).

Suggestions are for staff: nothing here reaches a patient until a person has accepted it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .eligibility_text import EXCLUSION, INCLUSION, EligibilityLine
from .facts import AGE_YEARS, BMI, ENGLISH, HBA1C, INSULIN_USE, PREGNANCY, SEX, time_since_diagnosis


@dataclass(frozen=True, slots=True)
class Suggestion:
    fact: str
    operator: str
    value: dict[str, Any]
    section: str
    line: str          # the line as staff see it (with its nested lines)
    line_key: str
    # The keys of other lines that said the same (accepting the suggestion settles them too).
    also: tuple[str, ...] = field(default=())

    def as_json(self, registry_id: str) -> dict[str, Any]:
        """The JSON line `flask trials suggest` prints (QUESTION_BANK.md)."""
        return {"registry_id": registry_id, "fact": self.fact, "operator": self.operator,
                "value": self.value, "section": self.section, "line": self.line}


# --- text clean-up ------------------------------------------------------------------------------

_SYMBOLS = {"≤": "<=", "⩽": "<=", "≦": "<=", "≥": ">=", "⩾": ">=", "≧": ">=", "＜": "<", "＞": ">",
            "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "～": "~", "\u00a0": " ", "％": "%"}
_SYMBOL_RE = re.compile("|".join(map(re.escape, _SYMBOLS)))


def clean(text: str) -> str:
    """One spelling for the signs the registry writes in many ways."""
    text = unicodedata.normalize("NFKC", text.replace("\\", ""))
    text = re.sub(r"=\s*<|<\s*=", "<=", text)
    text = re.sub(r"=\s*>|>\s*=", ">=", text)
    text = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group(0)], text)
    text = re.sub(r"(?<![<>])=\s*(?=[<>])", "", text)  # "HbA1c = >=6.5"
    # Abbreviations whose dots are not the end of a sentence or clause.
    text = re.sub(r"\b(e)\.g\.|\b(i)\.e\.|\b(etc)\.", lambda m: "eg" if m.group(1) else "ie" if m.group(2) else "etc", text, flags=re.I)
    return " ".join(text.split())


# A number with at most two decimals, and the whole of it ("6.499" is not 6.49).
NUMBER = r"(?<![\d.,])(\d{1,3}(?:[.,]\d{1,2})?)(?!\d|[.,]\d)"
WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty": 20}


def _num(text: str) -> float:
    text = text.strip().lower()
    if text in WORD_NUMBERS:
        return float(WORD_NUMBERS[text])
    return float(text.replace(",", "."))


# Comparisons as words and signs, and what they mean: (bound, inclusive).
AT_MOST = r"(?:<=|equal (?:to )?or (?:less|lower|smaller) than|less (?:than )?or equal (?:to|than)|lower (?:than )?or equal to|up to and including|no more than|not more than|no greater than|not greater than|no higher than|not higher than|not above|not exceeding|not to exceed|at most|up to|maximum(?: of)?|\bmax\.?|≤)"
BELOW = r"(?:(?<!no )(?<!not )(?:<|less than|lower than|below|under|fewer than))"
AT_LEAST = r"(?:>=|equal (?:to )?or (?:greater|higher|more) than|(?:greater|more|higher) (?:than )?or equal (?:to|than)|at least|no less than|not less than|minimum(?: of)?|\bmin\.?)"
ABOVE = r"(?:(?<!no )(?<!not )(?:>|greater than|more than|higher than|above|over|exceeding|in excess of))"
COMPARISONS = ((AT_MOST, "max", True), (BELOW, "max", False), (AT_LEAST, "min", True), (ABOVE, "min", False))


@dataclass(frozen=True, slots=True)
class Limit:
    """What a line says a measure must be, as a person taking part: None where it gives none."""
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    unit: str | None = None
    # "< 15 or > 40": the values outside min..max (an exclusion's two ends).
    outside: bool = False

    def value(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.min is not None:
            found["min"] = _tidy(self.min)
            if not self.min_inclusive:
                found["min_inclusive"] = False
        if self.max is not None:
            found["max"] = _tidy(self.max)
            if not self.max_inclusive:
                found["max_inclusive"] = False
        if self.unit:
            found["unit"] = self.unit
        return found


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def _turned_round(limit: Limit) -> Limit | None:
    """An exclusion's limit as what a person needs to take part, or None when it cannot be one
    range (an excluded band "between 7 and 10")."""
    if limit.outside:  # excluded below 15 and above 40: must be from 15 to 40
        return Limit(min=limit.max, max=limit.min, min_inclusive=not limit.max_inclusive,
                     max_inclusive=not limit.min_inclusive, unit=limit.unit)
    if limit.min is not None and limit.max is not None:
        return None
    if limit.max is not None:  # excluded below a value: must be at least it
        return Limit(min=limit.max, min_inclusive=not limit.max_inclusive, unit=limit.unit)
    if limit.min is not None:
        return Limit(max=limit.min, max_inclusive=not limit.min_inclusive, unit=limit.unit)
    return None


OTHER_MEASURE = re.compile(r"\s*-?\s*(?:months?|years?|weeks?|days?|hours?|mg|g/|mmol/l|mcg|µg|units?|iu|ml|cm|kg(?!\s*/)|lbs?|points?|times)\b", re.I)


def _one_sided(text: str, unit: str) -> list[tuple[str, float, bool, str | None]]:
    """Every "<comparison> <number><unit>" in text: (bound, number, inclusive, unit)."""
    found = []
    for words, bound, inclusive in COMPARISONS:
        for match in re.finditer(rf"(?<![\w<>])(?:{words})\s*(?:(?:a|an|of|than|value of|level of|bmi of|bmi|hba1c of|hba1c)\s+)?{NUMBER}\s*(?P<unit>{unit})?", text, re.I):
            if not match.group("unit") and OTHER_MEASURE.match(text, match.end()):
                continue  # "< 6 months old", "> 140 mg/dL": not this measure
            found.append((bound, _num(match.group(1)), inclusive, match.group("unit")))
    # "7% or less", "40 kg/m2 or more" (not "24 or greater than 40")
    for match in re.finditer(rf"{NUMBER}\s*(?P<unit>{unit})?\s+or\s+(?P<dir>less|lower|below|fewer|more|greater|higher|above|over)\b(?!\s+than)", text, re.I):
        direction = match.group("dir").lower()
        bound = "max" if direction in ("less", "lower", "below", "fewer") else "min"
        found.append((bound, _num(match.group(1)), True, match.group("unit")))
    return found


def _range(text: str, unit: str) -> list[tuple[float, float, str | None]]:
    """Every "between A and B", "A-B", "A to B" (inclusive), with its unit if written."""
    found = []
    pattern = rf"(?:between\s+|from\s+|range\s+(?:of\s+)?|of\s+|=\s*|:\s*|\b)(?<![\d.,]){NUMBER}\s*(?P<u1>{unit})?\s*(?:-|to|and|~)\s*{NUMBER}\s*(?P<u2>{unit})?"
    for match in re.finditer(pattern, text, re.I):
        low, high = _num(match.group(1)), _num(match.group(3))
        if low < high:
            found.append((low, high, match.group("u2") or match.group("u1")))
    return found


# --- numeric measures: HbA1c and BMI ------------------------------------------------------------

HBA1C_WORDS = re.compile(
    r"\b(?:hb\s?a1c|hba1c|hgb\s?a1c|a1c|haemoglobin a1c|hemoglobin a1c|glyc(?:osyl)?ated ha?emoglobin(?: a1c)?|glycoha?emoglobin|ghb)\b", re.I)
HBA1C_UNIT = r"%|mmol\s*/\s*mol|percent"
BMI_WORDS = re.compile(r"\b(?:bmi|body mass index|body-mass index)\b", re.I)
BMI_UNIT = r"kg\s*/\s*m\s*\^?\s*2|kg\s*/\s*m²|kg/m2|kilograms? per (?:square )?met(?:er|re)s?(?: squared)?"
# A limit "or" another test's ("FPG >= 126 mg/dL or HbA1c >= 6.5%") means either will do: the
# HbA1c alone is not the rule.
OTHER_TESTS = re.compile(r"\b(?:glucose|fpg|ogtt|plasma|c-peptide|mg/dl|mmol/l|waist|weight|percentile|z-score|sds)\b", re.I)


@dataclass
class _Measure:
    fact: str
    words: re.Pattern[str]
    unit: str
    lowest: float
    highest: float

    def unit_of(self, written: str | None) -> str | None:
        if self.fact != HBA1C:
            return None
        if written is None:
            return None
        return "mmol/mol" if "mmol" in written.lower() else "%"


MEASURES = (_Measure(HBA1C, HBA1C_WORDS, HBA1C_UNIT, 4.0, 20.0), _Measure(BMI, BMI_WORDS, BMI_UNIT, 12.0, 80.0))


def _measure_limit(measure: _Measure, text: str) -> Limit | None:
    """The single limit a line gives for the measure, as written (not turned round)."""
    mentions = []
    for mention in measure.words.finditer(text):
        # "glycated hemoglobin (HbA1c)": the name in brackets is the same mention.
        if mentions and re.fullmatch(r"\s*\(\s*", text[mentions[-1].end():mention.start()]):
            continue
        mentions.append(mention)
    if not mentions:
        return None
    if measure.fact == BMI and re.search(r"percentile|z-?score|sds\b", text, re.I):
        return None
    limits: set[Limit] = set()
    for number, mention in enumerate(mentions):
        # The words right after the mention, up to the next clause or the next mention, and
        # those right before it.
        # (the next mention ends it only once a number came: "at least 21 and up to BMI of 29").
        later = [m.start() for m in mentions[number + 1:] if re.search(r"\d", text[mention.end():m.start()])
                 and not re.search(rf"(?:{AT_MOST}|{BELOW}|{AT_LEAST}|{ABOVE})\s*$", text[mention.end():m.start()], re.I)]
        end = later[0] if later else len(text)
        pieces = re.split(r"([;]|\bor\b(?!\s*(?:[<>]|less|more|greater|lower|higher|above|below))|, (?!\d)|\band\b(?!\s*(?:[<>]|\d|up to|including|less|lower|below|under|at most|no more|not more|greater|more|higher|above|over|at least)))",
                          text[mention.end():end], maxsplit=1)
        after = pieces[0][:80]
        if len(pieces) == 3 and pieces[1].strip() == "or" and re.match(r"\s*\d", pieces[2]):
            return None  # "< 8.0 or 8.0-12.0%": two groups
        # "(e.g., BMI < 25)": an example, not a rule.
        if re.search(r"\((?:[^()]*\b(?:eg|such as|including|suggestive|features|for example)\b)[^()]*$", text[:mention.start()], re.I):
            continue
        before = text[max(0, mention.start() - 24):mention.start()]
        limit = _limit_in(measure, before, after)
        if limit is not None:
            limits.add(limit)
    if len(limits) != 1:
        return None
    limit = limits.pop()
    # "HbA1c >= 6.5% or fasting glucose >= 126": either will do, so HbA1c is not the rule.
    if measure.fact == HBA1C and (
            re.search(rf"{OTHER_TESTS.pattern}[^.]{{0,60}}\bor\b[^.]{{0,30}}{measure.words.pattern}", text, re.I)
            or re.search(rf"{measure.words.pattern}[^.]{{0,40}}\bor\b[^.]{{0,40}}{OTHER_TESTS.pattern}", text, re.I)
            # "(HbA1c >= 6.5%, fasting plasma glucose >= 126 mg/dL, ... or random glucose ...)":
            # the ways a diagnosis is made, any one of which will do.
            or re.search(rf"\([^()]*{measure.words.pattern}[^()]*\bor\b[^()]*\)", text, re.I)
            and OTHER_TESTS.search(text)):
        return None
    return limit


def _limit_in(measure: _Measure, before: str, after: str) -> Limit | None:
    written_unit = None
    # ">=6.5-<=11%" is the range 6.5 to 11.
    after = re.sub(rf"(?:>=\s*)?{NUMBER}\s*(%?)\s*(?:-|to)\s*<=\s*{NUMBER}", r"\1\2-\3", after)
    # "7.0% <= HbA1c <= 10.5%", "6.0% < HbA1c level <= 8.5%": a bound written before the name.
    lead = re.search(rf"{NUMBER}\s*(?P<unit>{measure.unit})?\s*(?P<op><=|<)\s*$", before, re.I)
    after_bounds = _one_sided(after, measure.unit)
    low = high = None
    low_inclusive = high_inclusive = True
    if lead:
        low, low_inclusive = _num(lead.group(1)), lead.group("op") == "<="
        written_unit = lead.group("unit")
        maxes = [b for b in after_bounds if b[0] == "max"]
        if len(maxes) != 1 or any(b[0] == "min" for b in after_bounds):
            return None
        _, high, high_inclusive, unit = maxes[0]
        written_unit = written_unit or unit
    else:
        head = re.sub(r"^\s*(?:\([^)]*\)\s*)?(?:levels?|values?|results?|concentration|measured|of|is|was|at screening)?\s*", "", after, flags=re.I)
        ranges = _range(head[:40], measure.unit)
        if ranges and not after_bounds:
            if len(ranges) != 1:
                return None
            low, high, written_unit = ranges[0]
        else:
            if not after_bounds:
                return None
            mins = {(b[1], b[2]) for b in after_bounds if b[0] == "min"}
            maxes = {(b[1], b[2]) for b in after_bounds if b[0] == "max"}
            if len(mins) > 1 or len(maxes) > 1:
                return None
            if mins:
                low, low_inclusive = next(iter(mins))
            if maxes:
                high, high_inclusive = next(iter(maxes))
            written_unit = next((b[3] for b in after_bounds if b[3]), None)
            if low is not None and high is not None and low > high:
                # "< 15 or > 40": below 15 or above 40.
                return _checked(measure, Limit(min=low, max=high, min_inclusive=low_inclusive,
                                               max_inclusive=high_inclusive, unit=measure.unit_of(written_unit),
                                               outside=True), written_unit)
    if low is not None and high is not None and low >= high:
        return None
    return _checked(measure, Limit(min=low, max=high, min_inclusive=low_inclusive, max_inclusive=high_inclusive),
                    written_unit)


def _checked(measure: _Measure, limit: Limit, written_unit: str | None) -> Limit | None:
    """The limit with its unit, or None when its numbers cannot be that measure."""
    low, high = limit.min, limit.max
    unit = measure.unit_of(written_unit)
    if measure.fact == HBA1C:
        if unit is None:
            # No unit written: a percentage only where the numbers can only be one.
            numbers = [n for n in (low, high) if n is not None]
            if not numbers or not all(measure.lowest <= n <= measure.highest for n in numbers):
                return None
            unit = "%"
        numbers = [n for n in (low, high) if n is not None]
        if unit == "%" and not all(measure.lowest <= n <= measure.highest for n in numbers):
            return None
        if unit == "mmol/mol" and not all(20 <= n <= 200 for n in numbers):
            return None
    else:
        if not all(measure.lowest <= n <= measure.highest for n in (low, high) if n is not None):
            return None
    return Limit(min=low, max=high, min_inclusive=limit.min_inclusive, max_inclusive=limit.max_inclusive,
                 unit=unit, outside=limit.outside)


def _unclear(measure: _Measure, text: str) -> bool:
    """The line gives the measure a number (within a few words of its name) we did not read."""
    return any(re.match(r"[^.;]{0,30}?\d", text[m.end():]) for m in measure.words.finditer(text))


# A line that gives alternatives ("one of the following", "at least one among") or is only for
# a subgroup ("for participants with ...", "in phase II", "Aim 3") gives no rule for everyone.
ALTERNATIVES = re.compile(
    r"\b(?:(?:at least|any) one (?:of|among)|one (?:or more )?of the following|any of the following|"
    r"documented by|one of (?:these|the) (?:criteria|conditions|following)|risk factors?)", re.I)
SUBGROUP = re.compile(
    r"\b(?:for (?:those|participants|subjects|patients|people|individuals|women|men|children|adolescents|adults|caregivers|parents) (?:with|who|aged|in)|"
    r"(?:phase|part|cohort|arm|group|stage|aim|substudy|sub-study) (?:[0-9ivx]+|[a-d])\b|\bsubstudy|\bcaucasian|\basians?\b|"
    r"\bonly (?:for|in)\b|\bif (?:they|the participant|the subject|participants|subjects|applicable)\b|"
    r"\bonly (?:at|for) randomi[sz]ation|randomi[sz]ation (?:to|in|into) (?:phase|part|arm)|caregivers?)", re.I)


# --- time since diagnosis -----------------------------------------------------------------------

CONDITION_WORDS = {
    "type1": r"(?:type\s*(?:1|i|one)\s*(?:diabetes|dm|diabetes mellitus)|t1d(?:m)?|iddm|insulin[- ]dependent diabetes)",
    "type2": r"(?:type\s*(?:2|ii|two)\s*(?:diabetes|dm|diabetes mellitus)|t2d(?:m)?|niddm)",
    "chronic_pancreatitis": r"(?:chronic pancreatitis|\bcp\b)",
}
DURATION_UNIT = r"(?P<unit>days?|weeks?|months?|years?|yrs?)"
DURATION_NUMBER = r"(?P<n>\d{1,3}(?:[.,]\d)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|twenty)"
_DIAGNOSIS = r"(?:diagnos(?:ed|is)|duration|history|disease duration)"


def _unit(word: str) -> str:
    word = word.lower()
    if word.startswith("d"):
        return "days"
    if word.startswith("w"):
        return "weeks"
    if word.startswith("m"):
        return "months"
    return "years"


def _duration_limit(text: str) -> Limit | None:
    """A limit on time since diagnosis in one line, as written: "diagnosed for at least 1 year",
    "diabetes duration less than 6 months", "diagnosed within the past 2 years", "diagnosed at
    most one year ago", "duration of diabetes >= 5 years"."""
    lowered = text.lower()
    if not re.search(r"diagnos|duration|\bfor\b", lowered):
        return None
    if re.search(r"insulin[- ]dependen\w* for|on insulin for|treated for|treatment for|ulcer|wound|pain", lowered):
        return None
    patterns = [
        # diagnosed (for|of|since)? <comparison> N unit (ago|prior)?
        # "diagnosed according to ADA criteria within 100 days", "diagnosis, based on ..., of
        # type 2 diabetes within the past 24 months": words between, then a comparison.
        (rf"diagnos(?:ed|is)\b(?P<filler>[\w\s,()-]{{0,80}}?)\s(?P<op>{AT_LEAST}|{ABOVE}|{AT_MOST}|{BELOW}|within(?: the)?(?: past| last)?|in the (?:past|last))\s*(?:the\s+)?(?:past\s+|last\s+)?{DURATION_NUMBER}\s*{DURATION_UNIT}"),
        (rf"diagnos(?:ed|is)\s+(?:(?:with|of|as having)\s+[\w\s,()-]{{0,50}}?\s+)?(?:(?:for|since|made|of)\s+)?(?:(?P<op>{AT_LEAST}|{ABOVE}|{AT_MOST}|{BELOW}|within(?: the)?(?: past| last)?|in the (?:past|last))\s*)?(?:the\s+)?(?:past\s+|last\s+)?{DURATION_NUMBER}\s*{DURATION_UNIT}"),
        (rf"(?:diabetes\s+duration|duration\s+of\s+(?:type\s*\w\s+)?(?:diabetes|t[12]dm?|dm|disease)|disease\s+duration|(?:diabetes|t[12]dm?)\s+(?:diagnosis\s+)?duration)\s*(?:of\s+|is\s+|:\s*)?(?P<op>{AT_LEAST}|{ABOVE}|{AT_MOST}|{BELOW})\s*{DURATION_NUMBER}\s*{DURATION_UNIT}"),
    ]
    condition_words = "|".join(CONDITION_WORDS.values())
    patterns += [
        # "have T1D for at least 1 year", "with type 2 diabetes for more than 6 months"
        (rf"(?:have|has|had|having|with)\s+(?:{condition_words})\s*(?:\([^)]*\)\s*)?(?:mellitus\s+)?for\s+(?P<op>{AT_LEAST}|{ABOVE}|{AT_MOST}|{BELOW})\s*{DURATION_NUMBER}\s*{DURATION_UNIT}"),
        # "less than or equal to 60 days from T1D diagnosis", "within 100 days of diagnosis"
        (rf"^(?:\w+\s+){{0,2}}?(?P<op>{AT_LEAST}|{ABOVE}|{AT_MOST}|{BELOW}|within)\s*{DURATION_NUMBER}\s*{DURATION_UNIT}\s+(?:from|since|after|of)\s+(?:the\s+)?(?:(?:{condition_words}|diabetes|initial|first|clinical)\s+){{0,3}}diagnosis"),
    ]
    found: set[Limit] = set()
    for pattern in patterns:
        for match in re.finditer(pattern, lowered):
            filler = match.groupdict().get("filler") or ""
            if len(filler.split()) > 3 and not re.search(
                    r"diabetes|\bt[12]dm?\b|\bdm\b|pancreatitis|according to|based on|criteria|\bby\b", filler):
                continue  # "a diagnosed episode of ketoacidosis within the past month"
            op = (match.group("op") or "").strip()
            if re.search(r"\b(?:age|aged|ages|onset|old|older|younger)\b\W*(?:\w+\W+){0,2}$",
                         lowered[max(0, match.start("op") - 30) if match.group("op") else match.start():
                                 match.start("op") if match.group("op") else match.end()]):
                continue  # "diagnosed at age >= 18 years": an age, not a time since
            number, unit = _num(match.group("n")), _unit(match.group("unit"))
            tail = lowered[match.end():match.end() + 30]
            if op.startswith(("within", "in the")) or re.match(r"\s*ago", tail) and re.search(AT_MOST + "|" + BELOW, op or "x"):
                found.add(Limit(max=number, unit=unit, max_inclusive=not re.fullmatch(BELOW, op or "") if op else True))
                continue
            if not op:
                if re.match(r"\s*(?:duration\s+)?(?:or more|or longer|and more|or greater)", tail):
                    found.add(Limit(min=number, unit=unit))
                continue
            for words, bound, inclusive in COMPARISONS:
                if re.fullmatch(words, op):
                    if re.match(r"\s*ago", tail):
                        # "diagnosed more than 1 year ago" is a minimum; "less than 1 year ago" a maximum.
                        pass
                    found.add(Limit(min=number, min_inclusive=inclusive, unit=unit) if bound == "min"
                              else Limit(max=number, max_inclusive=inclusive, unit=unit))
                    break
    if len(found) != 1:
        return None
    return found.pop()


OTHER_DIAGNOSES = re.compile(
    r"ketoacidosis|hypoglyc|cancer|malignan|tumou?r|infection|stroke|myocardial|retinopathy|nephropathy|neuropathy|"
    r"ulcer|wound|surgery|transplant|pregnan|covid|episode|event|injur|fracture|hypertension|heart|kidney|renal|"
    r"liver|hepat|asthma|depress|psychiatr|epilep|dementia|hiv|tuberculosis|gastroparesis|cystic fibrosis", re.I)


def _diagnosis_condition(text: str, conditions: Sequence[str]) -> str | None:
    """Which condition a duration line is about: the one it names, or the study's only one."""
    named = [c for c, pattern in CONDITION_WORDS.items() if re.search(pattern, text, re.I)]
    if len(named) == 1:
        return named[0] if named[0] in conditions or not conditions else None
    if named:
        return None
    # The line names no condition: in a study about one condition, a diagnosis is that one,
    # unless the line is about something else.
    if OTHER_DIAGNOSES.search(text):
        return None
    if len(set(conditions)) == 1 and conditions[0] in ("type1", "type2", "chronic_pancreatitis"):
        return conditions[0]
    return None


# --- choices --------------------------------------------------------------------------------------

PREGNANCY_WORDS = re.compile(r"\bpregnan\w*|\bbreast[- ]?feed\w*|\blactat\w*|\bnursing (?:mother|women)|\bbreast-?feeding", re.I)
PREGNANCY_HISTORY = re.compile(r"\b(?:previous|prior|past|history of|gestational|postpartum women with|after pregnancy|during pregnancy|disorders? of pregnancy|complications? of pregnancy|pregnancy complications?)\b", re.I)
PREGNANCY_NOT = re.compile(r"\b(?:not|non)[- ](?:currently\s+)?(?:known to be\s+)?(?:be\s+)?(?:pregnant|lactating|breast[- ]?feeding)|\bnegative (?:serum |urine )?pregnancy test|\bmust not be (?:pregnant|lactating|breast[- ]?feeding)", re.I)
ENGLISH_NEEDED = re.compile(
    r"\b(?:able to|ability to|can|capable of|willing and able to)\s+(?:\w+\s+){0,3}?(?:speak|read|understand|communicate in|converse in)\b[^.;]{0,40}\benglish\b"
    r"|\benglish (?:language )?(?:comprehension|fluency|proficiency|literacy)\b"
    r"|\b(?:sufficient |adequate |good )?(?:understanding|knowledge|command|comprehension) of (?:the )?english\b"
    r"|\bproficient in [^.;]{0,30}\benglish\b|\b(?:ability|able|willing)\b[^.;]{0,60}\bin english\b|\b(?:english[- ]speaking|fluent in english|fluency in english|proficient in english|english proficiency|speaks? english|speak and (?:read|understand) english)\b", re.I)
ENGLISH_MISSING = re.compile(
    r"\b(?:non[- ]english[- ]speak\w*|not (?:able to |fluent in )?(?:speak|read|understand)\w*\b[^.;]{0,30}\benglish"
    r"|(?:cannot|can not|can't|unable to|inability to|does not|do not|doesn't)\s+(?:\w+\s+){0,3}?(?:speak|read|understand|communicate)\b[^.;]{0,30}\benglish"
    r"|not able to (?:speak|read|understand)\b[^.;]{0,30}\benglish|not fluent in english|limited english"
    r"|\b(?:insufficient|inadequate|limited|poor|lack of|no) (?:understanding|knowledge|command|comprehension|proficiency) (?:of|in) (?:the )?english)", re.I)
OTHER_LANGUAGE = re.compile(r"\benglish\s*,\s*[A-Z]?\w+(?:ish|ese|ian|ic|ch|an)\b|\benglish\s*(?:and/or|or|/)\s*(?:spanish|french|chinese|mandarin|cantonese|arabic|german|italian|portuguese|korean|japanese|hindi|\w+ish)\b"
                            r"|\b(?:spanish|french|chinese|mandarin|arabic|german|italian|portuguese|korean|\w+(?:ian|ese|ish|ic|ch))\s*(?:or|and/or|/)\s*english\b", re.I)
INSULIN_WORDS = re.compile(r"\binsulin\b", re.I)
INSULIN_NOT_USE = re.compile(
    r"\binsulin (?:resistance|sensitivity|secretion|secretagogue|clearance|level|antibod|autoantibod|production|deficien|analog(?:ue)? naive|naive|naïve)|insulinoma|insulin-?like|c-peptide|insulin allergy|non-?insulin|(?:other|rather) than insulin|than insulin|besides insulin|beyond insulin|in addition to insulin|apart from insulin|except(?: for)? insulin|excluding insulin|insulin tolerance|insulin[- ]producing|insulin (?:requirement|dose|dosage|need)s?|units? of insulin|iu/kg", re.I)
INSULIN_TAKES = re.compile(
    r"\b(?:treat(?:ed|ment) with (?:\w+\s+){0,3}?insulin|(?:on|using|use of|uses?|taking|takes|receiving|requir\w+|used|administ\w+)\s+(?:basal\s+|daily\s+|exogenous\s+|subcutaneous\s+)?insulin"
    r"|insulin[- ](?:treated|therapy|pump|injection|dependen\w*|user|regimen)|insulin treatment|multiple daily (?:insulin )?injections|\bmdi\b|\bcsii\b)", re.I)


def _choice_for(line: EligibilityLine, text: str, fact: str) -> list[str] | None:
    """The answers a person needs for a choice fact, from one line, or None."""
    section = line.section
    if fact == PREGNANCY:
        if not PREGNANCY_WORDS.search(text):
            return None
        if section == EXCLUSION:
            if PREGNANCY_NOT.search(text) or PREGNANCY_HISTORY.search(text) and not re.search(r"\b(?:currently|current|are|is) pregnant|pregnan\w* or (?:breast|lactat)", text, re.I):
                return None
            return ["no"]
        if section == INCLUSION and PREGNANCY_NOT.search(text):
            return ["no"]
        return None
    if fact == ENGLISH:
        if OTHER_LANGUAGE.search(text) or "english" not in text.lower():
            return None
        if section == EXCLUSION and ENGLISH_MISSING.search(text):
            return ["yes"]
        if section == INCLUSION and ENGLISH_NEEDED.search(text) and not ENGLISH_MISSING.search(text):
            return ["yes"]
        return None
    if fact == INSULIN_USE:
        if not INSULIN_WORDS.search(text):
            return None
        if INSULIN_NOT_USE.search(text):
            return None
        if section == INCLUSION and INSULIN_TAKES.search(text):
            if re.search(r"\bwith or without\b[^.;]{0,30}\binsulin", text, re.I):
                return None  # insulin allowed, not a rule
            if re.search(r"\b(?:no|not|never|without|naive|naïve)\b[^.;]{0,30}\binsulin|\binsulin\b[^.;]{0,20}\b(?:naive|naïve)", text, re.I):
                return ["no"]
            if re.search(r"\bor\b[^.;]{0,40}(?:metformin|oral|diet|lifestyle|glp|sglt|sulfonyl|agent)|(?:metformin|oral|diet|lifestyle|agents?)[^.;]{0,40}\b(?:and/)?or\b[^.;]{0,20}insulin", text, re.I):
                return None  # insulin is one of the treatments allowed, not a rule
            return ["yes"]
        if section == EXCLUSION and re.fullmatch(r"(?:[^i]|i(?!nsulin\b))*(?:insulin pumps?(?:[^i]|i(?!nsulin\b))*)+", text, re.I):
            return None  # only an insulin pump is excluded, not insulin
        if section == EXCLUSION and re.search(
                r"(?:closed[- ]loop|automated|hybrid)\s+(?:\w+\s+)?insulin|insulin delivery|(?:pre)?mixed insulin|basal insulin|"
                r"bolus insulin|types? of insulin|insulin (?:glargine|degludec|detemir|aspart|lispro|glulisine|analogue?s?)\b", text, re.I):
            return None  # a kind of insulin or a way of giving it is excluded, not insulin
        if section == EXCLUSION and (INSULIN_TAKES.search(text) or re.search(
                r"\b(?:medications?|drugs?|agents?|therap\w*|treatment|taken|use of|administ\w+)\b[^.;]{0,160}\binsulin\b", text, re.I)):
            if re.search(r"\b(?:not|never)\b[^.;]{0,20}\binsulin|\bwithout insulin|insulin[- ]naive", text, re.I):
                return None
            return ["no"]
        return None
    return None


SEX_ONLY = re.compile(r"^(?:(?:post-?menopausal|pre-?menopausal|adult|healthy)\s+)?(?P<sex>women|females?|men|males?)\s+(?:only|aged\b|between\b|\d)", re.I)


def _sex_for(line: EligibilityLine, text: str) -> list[str] | None:
    if line.section != INCLUSION:
        return None
    match = SEX_ONLY.match(text) or re.search(r"\b(?:only|exclusively)\s+(?P<sex>women|females|men|males)\b", text, re.I)
    if not match:
        return None
    return ["female"] if match.group("sex").lower().startswith(("wom", "fem")) else ["male"]


AGE_RANGE = re.compile(rf"\b(?:aged?|age(?:d)? (?:of|between|from)|aged between)\s*(?:between\s+|from\s+)?{NUMBER}\s*(?:years?\s*)?(?:-|to|and)\s*{NUMBER}\s*(?:years|yrs)?", re.I)
AGE_MIN = re.compile(rf"\b(?:aged?\s*(?:>=|at least|over|above|>)\s*{NUMBER}|{NUMBER}\s*years?(?: of age)?(?: old)?\s+(?:or|and)\s+(?:older|above|over)|(?:aged?|age of)\s*{NUMBER}\s*(?:years?\s*)?(?:or|and)\s+(?:older|above|over))", re.I)


def _age_limit(text: str) -> Limit | None:
    if re.search(r"\b(?:onset|diagnos\w*|children|adolescents?|subjects? age plus|sum of)\b", text, re.I):
        return None
    ranges = AGE_RANGE.findall(text)
    mins = AGE_MIN.findall(text)
    if len(ranges) + len(mins) != 1:
        return None
    if ranges:
        low, high = (_num(x) for x in ranges[0])
        return Limit(min=low, max=high) if 0 < low < high <= 120 else None
    number = next(x for x in mins[0] if x)
    value = _num(number)
    inclusive = not re.search(r"(?:over|above|>)\s*" + re.escape(number), text, re.I)
    return Limit(min=value, min_inclusive=inclusive) if 0 < value <= 120 else None


# --- the study --------------------------------------------------------------------------------------


def suggest(lines: Iterable[EligibilityLine], conditions: Sequence[str] = (),
            structured_age: tuple[float | None, float | None] = (None, None),
            structured_sex: str | None = None) -> list[Suggestion]:
    """The criteria the lines suggest, one per fact at most, in the order their lines come.

    `conditions`: the study's catalog conditions (for a duration line that names none);
    `structured_age`: the registry's own age limits in years (a text age that says the same is
    not suggested again); `structured_sex`: the registry's sex field ("ALL", "FEMALE", "MALE").
    """
    found: dict[str, list[tuple[Limit | list[str], EligibilityLine]]] = {}
    # Facts a line gives a number for that we cannot read: the study's rule for them is unclear.
    unclear: set[str] = set()
    for_pregnancy = False
    for line in lines:
        if line.section not in (INCLUSION, EXCLUSION):
            continue
        text = clean(line.full_text)
        exclusion = line.section == EXCLUSION
        if SUBGROUP.search(text):
            # Not a rule for everyone: nothing comes from this line, and a number it gives for
            # a measure makes that measure's rule unclear.
            unclear.update(m.fact for m in MEASURES if m.words.search(text) and _unclear(m, text))
            continue
        # From "one of the following" on, an inclusion line gives alternatives, not rules (in an
        # exclusion, "any of the following" excludes each one: that is a rule).
        choice = ALTERNATIVES.search(text) if line.section == INCLUSION else None
        if choice is not None:
            rest = text[choice.start():]
            unclear.update(m.fact for m in MEASURES if m.words.search(rest) and _unclear(m, rest))
            text = text[:choice.start()]
        for measure in MEASURES:
            limit = _measure_limit(measure, text)
            if limit is not None and exclusion:
                limit = _turned_round(limit)
            if limit is not None:
                found.setdefault(measure.fact, []).append((limit, line))
            elif _unclear(measure, text):
                unclear.add(measure.fact)
        duration = _duration_limit(text)
        if duration is not None:
            condition = _diagnosis_condition(text, conditions)
            if exclusion:
                duration = _turned_round(duration)
            if condition is not None and duration is not None:
                found.setdefault(time_since_diagnosis(condition), []).append((duration, line))
        if re.search(r"\b(?:multiple|twin|triplet|singleton) (?:pregnanc|gestation)|\btwins\b|weeks'? (?:of )?gestation|gestational age", text, re.I):
            for_pregnancy = True
        if line.section == INCLUSION and PREGNANCY_WORDS.search(text) and not PREGNANCY_NOT.search(text) \
                and re.search(r"\b(?:pregnant (?:women|people|participants|persons|individuals|patients|mothers)|"
                              r"(?:women|people|participants|patients) (?:who are |with (?:a |an )?)?(?:pregnan|singleton)|"
                              r"gestational (?:age|diabetes)|weeks'? (?:of )?gestation|singleton pregnancy)", text, re.I):
            for_pregnancy = True
        if OTHER_LANGUAGE.search(text):
            unclear.add(ENGLISH)  # some lines allow another language: English is not the rule for all
        for fact in (PREGNANCY, ENGLISH, INSULIN_USE):
            chosen = _choice_for(line, text, fact)
            if chosen is not None:
                found.setdefault(fact, []).append((chosen, line))
        if (structured_sex or "ALL").upper() == "ALL":
            sex = _sex_for(line, text)
            if sex is not None:
                found.setdefault(SEX, []).append((sex, line))
        age = _age_limit(text) if line.section == INCLUSION else None
        if age is not None and (age.min, age.max if age.max is not None else structured_age[1]) != structured_age \
                and (age.min, age.max) != structured_age:
            found.setdefault(AGE_YEARS, []).append((age, line))
    if for_pregnancy:
        unclear.add(PREGNANCY)  # a study of pregnant people: its pregnancy lines are not a "no"
    suggestions = []
    for fact, items in found.items():
        if fact in unclear:
            continue
        merged = _merge([item for item, _ in items])
        if merged is None:
            continue
        first = items[0][1]
        others = tuple(dict.fromkeys(line.key for _, line in items[1:] if line.key != first.key))
        if isinstance(merged, list):
            suggestions.append(Suggestion(fact, "one_of", {"met": merged}, first.section, first.full_text,
                                          first.key, others))
        else:
            value = merged.value()
            if fact == AGE_YEARS:
                value.pop("unit", None)
            suggestions.append(Suggestion(fact, "between", value, first.section, first.full_text, first.key, others))
    order = {fact: index for index, fact in enumerate(found)}
    return sorted(suggestions, key=lambda s: order[s.fact])


def _merge(items: list[Limit | list[str]]) -> Limit | list[str] | None:
    """One suggestion from what several lines said, or None when they disagree."""
    choices = [item for item in items if isinstance(item, list)]
    if choices:
        distinct = {tuple(item) for item in choices}
        return list(distinct.pop()) if len(distinct) == 1 and len(choices) == len(items) else None
    limits = [item for item in items if isinstance(item, Limit)]
    units = {limit.unit for limit in limits}
    if len(units) != 1:
        return None
    lows = {limit.min for limit in limits if limit.min is not None}
    highs = {limit.max for limit in limits if limit.max is not None}
    if len(lows) > 1 or len(highs) > 1:
        return None
    low = lows.pop() if lows else None
    high = highs.pop() if highs else None
    # Same numbers: a person must meet all of them, so a limit that excludes its own value wins.
    low_inclusive = all(limit.min_inclusive for limit in limits if limit.min is not None)
    high_inclusive = all(limit.max_inclusive for limit in limits if limit.max is not None)
    if low is not None and high is not None and low >= high:
        return None
    return Limit(min=low, max=high, min_inclusive=low_inclusive, max_inclusive=high_inclusive, unit=units.pop())
