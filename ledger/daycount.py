"""30/360 US day count (SPEC.md §4 Reading, §5 Accrual)."""

from __future__ import annotations

import datetime as dt


def days360(start: dt.date, end: dt.date) -> int:
    """Days from ``start`` to ``end`` under 30/360 US.

    SPEC.md §5: ``days = 360·Δy + 30·Δm + (d2 − d1)``, d1 = min(d1, 30),
    d2 = 30 if d2 = 31 and d1 = 30.
    """
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def add_years(day: dt.date, years: int) -> dt.date:
    """Same month and day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
