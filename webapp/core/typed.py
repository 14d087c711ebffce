"""Text as phones and keyboards really send it: digits in any script, stray spaces.

A person may type their age with Arabic-Indic digits (٢٤), Persian digits (۲۴) or full-width
digits (２４), often with a space before or after. Every number a person types is read through
here first, so what they meant is understood and nothing else slips through.
"""

from __future__ import annotations

import unicodedata

# Longer than any number a person could mean here; checked before converting, so a page of
# digits is refused as text instead of becoming an enormous integer.
LONGEST_NUMBER = 12


def plain_digits(text: str) -> str:
    """The text with every decimal digit in ASCII and surrounding spaces removed.

    Only characters Unicode classes as decimal digits (category Nd) are changed; letters,
    signs and other marks stay as they are, so they are still refused as not a number.
    """
    # NFKC turns full-width digits and spaces into their ordinary forms.
    text = unicodedata.normalize("NFKC", text).strip()
    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text)


def whole_number(text: str) -> int | None:
    """A whole number typed in any script, or None when the text is not one."""
    digits = plain_digits(text)
    if not digits or len(digits) > LONGEST_NUMBER or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)


# The decimal separators people type: a point, a comma, and the Arabic decimal separator (٫).
DECIMAL_SEPARATORS = (",", "\u066b")


def decimal_number(text: str) -> float | None:
    """A number with an optional decimal part ("7.2", "7,2", "٧٫٢"), or None when it is not one."""
    digits = plain_digits(text)
    for separator in DECIMAL_SEPARATORS:
        digits = digits.replace(separator, ".")
    whole, point, fraction = digits.partition(".")
    if (not whole and not fraction) or len(digits) > LONGEST_NUMBER or "." in fraction:
        return None
    if not ((whole.isascii() and whole.isdigit()) or whole == "") or not (
            fraction == "" or (fraction.isascii() and fraction.isdigit())):
        return None
    if point and not fraction and not whole:
        return None
    return float((whole or "0") + ("." + fraction if fraction else ""))
