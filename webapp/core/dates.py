"""Calendar-month arithmetic shared by questions and facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, order=True)
class YearMonth:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> "YearMonth":
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> "YearMonth":
        """Read 'YYYY-MM' as stored in the session."""
        year, month = text.split("-")
        value = cls(int(year), int(month))
        if not 1 <= value.month <= 12:
            raise ValueError(f"month out of range: {text!r}")
        return value

    def index(self) -> int:
        return self.year * 12 + (self.month - 1)

    def isoformat(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def whole_months_between(earlier: YearMonth, later: YearMonth) -> int:
    """Whole calendar months from `earlier` to `later` (same month gives 0)."""
    return later.index() - earlier.index()


def earliest_birth_month(age_years: int, today: date) -> YearMonth:
    """The earliest month a person who is `age_years` old today can have been born in.

    Someone aged 45 on 21 November 2026 was born between 22 November 1980 and
    21 November 1981, so November 1980 is the earliest possible month.
    """
    index = YearMonth.of(today).index() - (age_years + 1) * 12
    return YearMonth(index // 12, index % 12 + 1)
