"""A registry record's free-text eligibility criteria, split into the lines staff go through.

ClinicalTrials.gov gives the criteria as Markdown-ish text: an "Inclusion Criteria:" header
(spelled in many ways: "Key inclusion criteria", "Inclusion Criteria for CKD Participants:",
"Non-Inclusion Criteria"), bullets written with *, -, •, 1., 1), a., nested bullets, lines that
wrap, whole paragraphs, and criteria under neither header. Each top-level bullet (with the
lines nested under it, which belong to it) is one line to triage, in its section: inclusion,
exclusion, or other. A line's key is derived from its section and words only, so a decision
staff made about it survives a re-import that leaves the line unchanged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

INCLUSION, EXCLUSION, OTHER = "inclusion", "exclusion", "other"

BULLET = re.compile(
    r"^(?P<indent>\s*)(?P<mark>[*\-•·▪◦‣+]|\(?\d{1,3}\\?[.)]|\(?[a-zA-Z]\\?[.)]|\([ivxIVX]{1,4}\)|[ivx]{1,4}\\?[.)])\s+(?P<text>\S.*)$")
# Markdown emphasis and heading marks around a header, and a trailing colon.
DECORATION = re.compile(r"^[#*_\s]+|[*_\s:]+$")
# A header is the header and nothing else: "Inclusion Criteria", "Key Exclusion Criteria",
# "Screening (Visit 1) Inclusion Criteria", "Exclusion:", with at most a short qualifier
# ("for CKD participants", "- for all participants"). A line that goes on to say something
# ("Exclusion criteria include current pregnancy", "Meeting any exclusion criteria ...") is a
# criterion, never a header: a header is dropped, and a dropped criterion would be lost.
_KIND = r"(?P<kind>non[- ]?inclusion|inclusion|exclusion|eligibility)s?"
# Words before the kind are a capitalised qualifier ("Screening Visit (Visit 1)", "Main").
HEADER = re.compile(rf"^(?:(?-i:[A-Z(0-9])[\w()/,#-]*\s+){{0,4}}?{_KIND}(?:\s+criteria)?$", re.I)
NOT_A_HEADING_WORD = frozenset({
    "meet", "meets", "meeting", "met", "not", "no", "does", "do", "did", "fulfil", "fulfill", "fulfils",
    "fulfills", "fulfilling", "satisfy", "satisfies", "satisfying", "any", "all", "without", "none", "fail",
    "fails", "failing", "failed", "see", "per", "has", "have", "had", "with", "who", "if", "unless"})
QUALIFIED_HEADER = re.compile(
    rf"^(?:(?:the|key|main|additional|general|specific)\s+)*{_KIND}\s+criteria\s*(?:[-–—]\s*)?"
    r"(?:for|in|of)\b[^.;:]{0,100}$", re.I)
# A header glued to the end of a line ("* Own a smartphone Exclusion Criteria").
TRAILING_HEADER = re.compile(r"^(?P<before>.*\S)\s+(?P<header>(?:key\s+|main\s+)?(?:inclusion|exclusion)\s+criteria)\s*:?\s*$", re.I)
# A header with the first criterion on the same line ("Inclusion Criteria: Adults with ...").
LEADING_HEADER = re.compile(r"^(?P<header>(?:key\s+|main\s+)?(?:inclusion|exclusion)(?:\s+criteria)?)\s*:\s*(?P<after>\S.*)$", re.I)
# Lines that open an exclusion list without saying "criteria".
EXCLUDED_LEAD = re.compile(r"\b(?:will be excluded|are excluded|exclusions?|not be eligible|are not eligible|ineligible)\b.*:\s*$", re.I)
# ... and an inclusion list ("To be eligible, a participant must meet all of the following criteria:").
INCLUDED_LEAD = re.compile(r"\b(?:must meet all of the following|must meet the following|must fulfil+ all|must satisfy all|"
                           r"(?:are|is|be|will be) eligible (?:to participate )?if|will be included|may be included|are included)\b.*:\s*$", re.I)
# A short line ending in a colon that heads the bullets below it ("Aim 1 for child:").
SUBHEADING = re.compile(r"^[#*_\s]*[^*\-•·\s][^.]{0,80}:[*_\s]*$")
SENTENCE = re.compile(r"(?<=[.;])\s+(?=[A-Z(])")
ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|incl|U\.S|Dr|Mr|Mrs|Ms|No)\.$", re.I)
ESCAPES = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~^=])")


@dataclass(frozen=True, slots=True)
class EligibilityLine:
    key: str
    section: str
    # The line's own words, without its bullet; Markdown escapes removed.
    text: str
    # Lines nested under it.
    children: tuple[str, ...]
    number: int
    # The header it sits under, as written ("Inclusion Criteria for CKD Participants").
    heading: str | None = None

    @property
    def full_text(self) -> str:
        return "\n".join((self.text, *self.children))


def unescape(text: str) -> str:
    """Markdown escapes as the registry writes them ("HbA1c \\>10%") in plain characters."""
    return ESCAPES.sub(r"\1", text)


def line_key(section: str, text: str) -> str:
    words = " ".join(unescape(text).lower().split())
    return hashlib.sha1(f"{section}\n{words}".encode("utf-8")).hexdigest()[:20]


def _header(text: str) -> tuple[str, str] | None:
    """(section, heading) when the line is a section header and nothing more."""
    bare = DECORATION.sub("", unescape(text)).strip()
    if not bare or len(bare) > 120:
        return None
    lowered = bare.lower()
    if "inclusion" in lowered and "exclusion" in lowered and not lowered.startswith(("inclusion and", "inclusion/")):
        return None  # "Additional inclusion/exclusion criteria may apply": a note, not a header
    ends_with_colon = text.rstrip().rstrip("*_ ").endswith(":")
    match = HEADER.match(bare) or QUALIFIED_HEADER.match(bare)
    if match and NOT_A_HEADING_WORD & set(re.findall(r"[a-z]+", lowered[:match.start("kind")])):
        match = None  # "Meets all inclusion criteria", "Not meeting exclusion criteria": a criterion
    if match is None and ends_with_colon and "criteria" in lowered and len(bare.split()) <= 12 \
            and not re.search(r"[.;]", bare):
        # "Inclusion criteria for daughters are:" introduces the bullets below it.
        match = re.search(_KIND, bare, re.I)
    if match:
        kind = match.group("kind").lower().replace(" ", "").replace("-", "")
        if kind.startswith("eligibility"):
            return (INCLUSION, bare) if "criteria" in lowered else None
        return (EXCLUSION if kind.startswith(("exclusion", "noninclusion")) else INCLUSION), bare
    written = unescape(text).strip().rstrip("*_ ")
    if EXCLUDED_LEAD.search(written) and len(bare) < 160:
        return EXCLUSION, bare
    if INCLUDED_LEAD.search(written) and len(bare) < 160 and not re.search(r"\bexclu", lowered):
        return INCLUSION, bare
    return None


def _glued_header(line: str) -> re.Match[str] | None:
    """A header run onto the end of a criterion for want of a line break ("* Own a smartphone
    Exclusion Criteria"): written in capitals, after a word that does not make it part of the
    sentence ("Meets all inclusion criteria" is a criterion)."""
    glued = TRAILING_HEADER.match(line)
    if glued is None or not glued.group("header")[:1].isupper():
        return None
    before = re.findall(r"[a-z]+", glued.group("before").lower())
    if not before or before[-1] in NOT_A_HEADING_WORD or before[-1] in ("the", "of", "these", "those", "our"):
        return None
    return glued


def split_lines(text: str | None) -> list[EligibilityLine]:
    """The top-level criteria of a registry eligibility text, each with its section."""
    return list(_split_lines(text)) if text else []


@lru_cache(maxsize=512)
def _split_lines(text: str) -> tuple[EligibilityLine, ...]:
    # The same text is split for the import, its line counts and the staff page: once.
    return tuple(_split(text))


def _split(text: str) -> list[EligibilityLine]:
    if not text:
        return []
    items: list[dict] = []  # {"section", "heading", "text", "children", "indent", "open"}
    section, heading = OTHER, None
    top_indent: int | None = None
    paragraph: list[str] = []

    def flush_paragraph() -> None:
        if not paragraph:
            return
        joined = " ".join(paragraph)
        paragraph.clear()
        pieces, buffer = [], ""
        for piece in SENTENCE.split(joined):
            buffer = f"{buffer} {piece}".strip() if buffer else piece
            if not ABBREVIATION.search(buffer):
                pieces.append(buffer)
                buffer = ""
        if buffer:
            pieces.append(buffer)
        for piece in pieces:
            items.append({"section": section, "heading": heading, "text": piece, "children": [],
                          "indent": 0, "bullet": False})

    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    after_blank = True
    for raw in raw_lines:
        line = raw.rstrip()
        if not line.strip():
            flush_paragraph()
            after_blank = True
            continue
        was_blank, after_blank = after_blank, False
        glued = _glued_header(line.strip())
        lead = LEADING_HEADER.match(line.strip())
        bullet = BULLET.match(line)
        found = None if bullet else _header(line)
        if bullet and _header(bullet.group("text")) and bullet.group("text").rstrip().endswith(":") and (
                "criteria" in bullet.group("text").lower()):
            # "1. Inclusion criteria for cases:" is a header written as a bullet.
            found = _header(bullet.group("text"))
            bullet = None
        if found:
            flush_paragraph()
            section, heading = found
            top_indent = None
            continue
        if lead:
            flush_paragraph()
            section = EXCLUSION if lead.group("header").lower().endswith("exclusion criteria") or \
                "exclusion" in lead.group("header").lower() else INCLUSION
            heading, top_indent = lead.group("header"), None
            line = lead.group("after")
            bullet = None
        header_after = None
        if glued and not _header(glued.group("before")):
            header_after = glued.group("header")
            line = line[: line.rstrip().rfind(glued.group("header"))].rstrip()
            bullet = BULLET.match(line)
        if bullet:
            flush_paragraph()
            indent = len(bullet.group("indent").expandtabs(4))
            words = bullet.group("text").strip()
            parent = items[-1] if items and items[-1]["bullet"] and items[-1]["section"] == section else None
            if top_indent is None or indent <= top_indent or parent is None:
                top_indent = indent if top_indent is None or indent < top_indent or parent is None else top_indent
                items.append({"section": section, "heading": heading, "text": words, "children": [],
                              "indent": indent, "bullet": True})
            else:
                parent["children"].append(words)
        elif not paragraph and SUBHEADING.match(line.strip()) and (was_blank or not items):
            # "Aim 1 for child:" heads the bullets that follow, within the section.
            heading, top_indent = DECORATION.sub("", unescape(line)).strip(), None
            items.append({"section": section, "heading": heading, "text": None, "children": [],
                          "indent": 0, "bullet": False})
        elif items and items[-1]["bullet"] and items[-1]["section"] == section and not paragraph \
                and not was_blank:
            # A wrapped line: it continues the bullet above.
            target = items[-1]
            if target["children"]:
                target["children"][-1] += " " + line.strip()
            else:
                target["text"] += " " + line.strip()
        else:
            paragraph.append(line.strip())
        if header_after:
            flush_paragraph()
            lowered = header_after.lower()
            section = EXCLUSION if "exclusion" in lowered else INCLUSION
            heading, top_indent = header_after, None
    flush_paragraph()
    lines = []
    items = [item for item in items if item["text"] is not None]
    for number, item in enumerate(items, start=1):
        words = unescape(item["text"]).strip()
        children = tuple(unescape(c).strip() for c in item["children"])
        lines.append(EligibilityLine(
            key=line_key(item["section"], "\n".join((item["text"], *item["children"]))),
            section=item["section"], text=words, children=children, number=number,
            heading=item["heading"]))
    return lines
