"""Dividend periods and payment dates of a series (SPEC.md §4 table, §5 Periods).

A period runs from one period start (``MM-DD``) to the next; its amount falls due on
the next period start plus ``payment_lag_days`` (G: +9, the 10th day after the
quarter; H and M: the boundary itself). ``first_payment_date``: accrual that would
fall due before it falls due on it instead (§4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from ledger.terms import Terms

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    terms: Terms

    @cached_property
    def _starts(self) -> tuple[tuple[int, int], ...]:
        return tuple((int(p[:2]), int(p[3:])) for p in self.terms.period_starts)

    def next_boundary(self, after: dt.date) -> dt.date:
        """The first period start strictly after ``after``."""
        for year in (after.year, after.year + 1):
            for m, d in self._starts:
                b = dt.date(year, m, d)
                if b > after:
                    return b
        raise ValueError("no period starts")  # pragma: no cover - terms validated

    def due_date(self, piece_start: dt.date) -> dt.date:
        """Payment date of the period containing ``piece_start``."""
        natural = self.next_boundary(piece_start) + dt.timedelta(days=self.terms.payment_lag_days)
        fpd = self.terms.first_payment_date
        return max(natural, fpd) if fpd else natural

    def next_payment(self, after: dt.date) -> dt.date:
        """The first payment date strictly after ``after``."""
        lag = dt.timedelta(days=self.terms.payment_lag_days)
        fpd = self.terms.first_payment_date
        if fpd and fpd > after:
            return fpd
        b = self.next_boundary(after - lag)
        return b + lag

    def payment_dates(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Every payment date ``p`` with ``start < p <= end``."""
        out = []
        p = self.next_payment(start)
        while p <= end:
            out.append(p)
            p = self.next_payment(p)
        return out
