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

INCLUSION, EXCLUSION, OTHER = "inclusion", "exclusion", "other"

BULLET = re.compile(
    r"^(?P<indent>\s*)(?P<mark>[*\-•·▪◦‣+]|\(?\d{1,3}\\?[.)]|\(?[a-zA-Z]\\?[.)]|\([ivxIVX]{1,4}\)|[ivx]{1,4}\\?[.)])\s+(?P<text>\S.*)$")
# Markdown emphasis and heading marks around a header, and a trailing colon.
DECORATION = re.compile(r"^[#*_\s]+|[*_\s:]+$")
HEADER = re.compile(
    r"^(?:[\w\-/(),#]+\s+){0,6}?(?P<kind>non[- ]?inclusion|inclusion|exclusion|eligibility)s?"
    r"(?:\s+criteria)?(?:\b[^.]{0,90})?$", re.I)
# A header glued to the end of a line ("* Own a smartphone Exclusion Criteria").
TRAILING_HEADER = re.compile(r"^(?P<before>.*\S)\s+(?P<header>(?:key\s+|main\s+)?(?:inclusion|exclusion)\s+criteria)\s*:?\s*$", re.I)
# A header with the first criterion on the same line ("Inclusion Criteria: Adults with ...").
LEADING_HEADER = re.compile(r"^(?P<header>(?:key\s+|main\s+)?(?:inclusion|exclusion)\s+criteria)\s*:\s*(?P<after>\S.*)$", re.I)
# Lines that open an exclusion list without saying "criteria".
EXCLUDED_LEAD = re.compile(r"\b(?:will be excluded|are excluded|exclusions?)\b.*:\s*$", re.I)
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
    """(section, heading) when the line is a section header."""
    bare = DECORATION.sub("", unescape(text)).strip()
    if not bare or len(bare) > 120:
        return None
    lowered = bare.lower()
    if "inclusion" in lowered and "exclusion" in lowered:
        return None  # "Additional inclusion/exclusion criteria may apply": a note, not a header
    match = HEADER.match(bare)
    if match and ("criteria" in lowered or len(bare.split()) <= 3 or text.rstrip().endswith(":")):
        kind = match.group("kind").lower().replace(" ", "").replace("-", "")
        if kind == "eligibility":
            return None if "criteria" not in lowered else (INCLUSION, bare)
        return (EXCLUSION if kind in ("exclusion", "noninclusion") else INCLUSION), bare
    if EXCLUDED_LEAD.search(bare) and len(bare) < 100:
        return EXCLUSION, bare
    return None


def split_lines(text: str | None) -> list[EligibilityLine]:
    """The top-level criteria of a registry eligibility text, each with its section."""
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
        glued = TRAILING_HEADER.match(line.strip())
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
