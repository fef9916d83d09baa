"""Day counts: 30/360 US (SPEC.md §4 Reading, §5 Accrual) and the §12 ``day_count`` term.

A piece of accrual [a, b) is the year fraction ``units(basis, a, b) / DENOMINATOR[basis]``,
both integers, so every basis keeps the exact arithmetic of 30/360 (money is computed once,
when an amount falls due, as shares × stated × rate × units / denominator).
"""

from __future__ import annotations

import calendar
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


#: SPEC.md §12 day_count: the denominator of each basis' year fraction. ACT/ACT (ISDA)
#: counts days in a 365-day year as 366 units and in a 366-day year as 365 units of a
#: 365 × 366 year, so the sum over calendar years is exact.
DENOMINATOR: dict[str, int] = {"30/360": 360, "ACT/360": 360, "ACT/365F": 365,
                               "ACT/ACT": 365 * 366}
BASES = tuple(DENOMINATOR)


def _year_length(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def units(basis: str, start: dt.date, end: dt.date) -> int:
    """The numerator of the year fraction of [start, end) under ``basis`` (SPEC.md §12).

    ``30/360``: days360 (§5); ``ACT/360`` and ``ACT/365F``: actual days; ``ACT/ACT``
    (ISDA): the days falling in each calendar year ÷ that year's length, summed (a piece
    across a year end is split there; in units of 1/(365 × 366) of a year).
    """
    if basis == "30/360":
        return days360(start, end)
    if basis != "ACT/ACT":
        return (end - start).days
    if end <= start:  # never asked by the accrual (pieces are non-empty)
        return (end - start).days * (365 * 366 // _year_length(start.year))
    total = 0
    a = start
    while a < end:
        year_end = dt.date(a.year + 1, 1, 1)
        b = min(end, year_end)
        total += (b - a).days * (365 * 366 // _year_length(a.year))
        a = b
    return total
