"""Accrual per lot, in closed form per constant-rate piece (SPEC.md §5, §11 Accrual).

A lot keeps, per share, the *rate-days* (rate × 30/360 days) of its closed pieces,
keyed by the payment date they fall due on, plus the start of its open piece. Money is
``shares × stated × rate-days / 360``, computed once when an amount falls due, so a
20-year history costs one multiplication per lot per period, never a loop over days.

SPEC.md §12 ``day_count``: with another basis the rate-days are rate × the basis' units
(``ledger.daycount.units``) and the 360 is the basis' denominator; ``basis`` defaults to
30/360 everywhere. A series' basis never changes while it accrues (an amendment of
``day_count`` is refused then), so one lot's rate-days are always in one unit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.daycount import DENOMINATOR, days360, units
from ledger.values import CONTEXT, ZERO, money


@dataclass
class Lot:
    """Shares of one series held by one holder, issued on one date (oldest first)."""

    holder: str
    shares: Decimal
    issued: dt.date
    seq: int
    piece_start: dt.date
    open_due: dt.date | None
    pending: dict[dt.date, Decimal] = field(default_factory=dict)

    def __reduce__(self) -> tuple[object, ...]:
        # a checkpoint pickles thousands of lots: as a tuple, not a __dict__ (performance)
        return (Lot, (self.holder, self.shares, self.issued, self.seq, self.piece_start,
                      self.open_due, self.pending))

    def split(self, shares: Decimal) -> Lot:
        """Detach ``shares`` of this lot as a new lot with the same accrual state."""
        part = Lot(self.holder, shares, self.issued, self.seq, self.piece_start, self.open_due,
                   dict(self.pending))
        self.shares -= shares
        return part


def _units(basis: str, start: dt.date, end: dt.date) -> int:
    return days360(start, end) if basis == "30/360" else units(basis, start, end)


#: the denominators as Decimals (SPEC.md §12 day_count)
_DENOM = {k: Decimal(v) for k, v in DENOMINATOR.items()}


def cut(lot: Lot, at: dt.date, rate: Decimal, new_due: dt.date | None = None,
        basis: str = "30/360") -> None:
    """Close the lot's open piece at ``at`` (exclusive) at ``rate`` (SPEC.md §11 Accrual).

    ``new_due``: when ``at`` is a period start, the payment date of the new period.
    """
    if lot.open_due is not None and at > lot.piece_start:
        rd = rate * _units(basis, lot.piece_start, at)
        lot.pending[lot.open_due] = lot.pending.get(lot.open_due, ZERO) + rd
    lot.piece_start = max(lot.piece_start, at)
    if new_due is not None:
        lot.open_due = new_due


def amount(shares: Decimal, stated: Decimal, rate_days: Decimal, basis: str = "30/360"
           ) -> Decimal:
    """Unrounded dividend: shares × stated × rate-days / 360 (SPEC.md §5 Accrual; §12:
    the basis' denominator)."""
    return CONTEXT.divide(shares * stated * rate_days, _DENOM[basis])


def take_due_raw(lots: list[Lot], due: dt.date, stated: Decimal, basis: str = "30/360"
                 ) -> dict[str, Decimal]:
    """Amounts falling due on ``due``, per holder, unrounded (``take_due`` rounds)."""
    raw: dict[str, Decimal] = {}
    for lot in lots:
        rd = lot.pending.pop(due, None)
        if rd is not None:
            raw[lot.holder] = raw.get(lot.holder, ZERO) + amount(lot.shares, stated, rd, basis)
    return raw


def take_due(lots: list[Lot], due: dt.date, stated: Decimal, basis: str = "30/360"
             ) -> dict[str, Decimal]:
    """Amounts falling due on ``due``, per holder, rounded half-up (SPEC.md §2, §5)."""
    return {h: money(v) for h, v in take_due_raw(lots, due, stated, basis).items()}


def not_yet_due(lots: list[Lot], through: dt.date, rate: Decimal, stated: Decimal,
                open_rd: dict[dt.date, Decimal] | None = None, basis: str = "30/360"
                ) -> dict[dt.date, Decimal]:
    """Accrual not yet due of ``lots`` up to ``through`` (exclusive), per due date, unrounded.

    Pure: the open piece is priced at ``rate`` without mutating the lots. ``open_rd``:
    the open pieces' rate-days by start date, shared between calls with the same
    ``through`` and ``rate`` (performance: most lots of a series start together).
    """
    if open_rd is None:
        open_rd = {}
    out: dict[dt.date, Decimal] = {}
    for lot in lots:
        for due, rd in lot.pending.items():
            out[due] = out.get(due, ZERO) + amount(lot.shares, stated, rd, basis)
        if lot.open_due is not None and through > lot.piece_start:
            rd = open_rd.get(lot.piece_start)  # type: ignore[assignment]
            if rd is None:
                rd = open_rd[lot.piece_start] = rate * _units(basis, lot.piece_start, through)
            out[lot.open_due] = out.get(lot.open_due, ZERO) + amount(lot.shares, stated, rd,
                                                                     basis)
    return out


def rounded_total(parts: dict[dt.date, Decimal]) -> Decimal:
    """Sum of per-period amounts, each rounded half-up (SPEC.md §2: sums of rounded parts)."""
    return sum((money(v) for v in parts.values()), ZERO)


def settle(lots: list[Lot], at: dt.date, rate: Decimal, stated: Decimal,
           basis: str = "30/360") -> Decimal:
    """Close ``lots`` at ``at`` (exclusive) and return their accrual not yet due.

    SPEC.md §5 On conversion, §11 Accrual: converted (or redeemed) shares accrue to the
    event date exclusive; what they accrued that has not fallen due is rounded per due
    date (§2) and summed. One call: the caller records it as ``dividends_payable``.
    The lots must already be detached from the series (they stop accruing).
    """
    for lot in lots:
        cut(lot, at, rate, basis=basis)
        lot.open_due = None
    return rounded_total(not_yet_due(lots, at, rate, stated, basis=basis))


def merge_alike(lots: list[Lot]) -> None:
    """Merge each holder's neighbouring lots whose accrual state is the same (performance).

    Two lots of one holder with the same open piece, due date and pending rate-days
    accrue the same per share from now on, so one lot of their summed shares gives the
    same amounts (SPEC.md §5: money is shares × stated × rate-days / 360) and the same
    oldest-first order (§11: only neighbours in the holder's own order merge; the first
    keeps its place). Run after amounts fall due, when every lot older than the period
    has the same state: without it, every partial transfer leaves one more lot forever.
    """
    last: dict[str, Lot] = {}
    keep: list[Lot] = []
    for lot in lots:
        prev = last.get(lot.holder)
        if (prev is not None and prev.piece_start == lot.piece_start
                and prev.open_due == lot.open_due and prev.pending == lot.pending):
            prev.shares += lot.shares
            continue
        last[lot.holder] = lot
        keep.append(lot)
    if len(keep) != len(lots):
        lots[:] = keep
