"""What each holder of a series is owed, and what the series claims on redemption or in
liquidation, as of a date: the arithmetic behind the position's dividend and preference
figures and the waterfall's claims (SPEC.md §5 Arrears, §7, §8, §11 Reports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from ledger import accrual
from ledger.dividends import compound_not_yet_due
from ledger.redemption import base_price
from ledger.schedule import ONE_DAY
from ledger.state import SeriesState
from ledger.values import CONTEXT, ZERO, money


def declared_owed(s: SeriesState) -> dict[str, Decimal]:
    """SPEC.md §12: per holder, declared amounts whose record date has passed and whose
    payment date has not come (owed, not yet due; once due they are arrears)."""
    out: dict[str, Decimal] = {}
    for d in s.declarations:
        for h, amt in (d.owed or {}).items():
            out[h] = out.get(h, ZERO) + amt
    return out


def holder_accrued(s: SeriesState, through: dt.date,
                   holders: Collection[str] | None = None) -> dict[str, Decimal]:
    """Per holder: arrears plus accrual not yet due to ``through`` (SPEC.md §5), rounded
    per holder per period (§2); §12: plus declared amounts not yet due. ``holders``: only
    these (each one listed, owed or not), at the cost of their own lots and dues (a report
    about a few holders)."""
    out: dict[str, Decimal] = (s.unpaid_by_holder() if holders is None
                               else {h: s.unpaid(h) for h in holders})
    for h, amt in declared_owed(s).items():
        if holders is None or h in holders:
            out[h] = out.get(h, ZERO) + amt
    if s.rate is not None:
        by_holder: dict[str, list[accrual.Lot]] = getattr(s.lots, "by_holder", None) or {}
        if not by_holder:
            for lot in s.lots:
                by_holder.setdefault(lot.holder, []).append(lot)
        if holders is not None:
            by_holder = {h: by_holder[h] for h in holders if by_holder.get(h)}
        open_rd: dict[dt.date, Decimal] = {}  # shared: the same rate and ``through``
        for h, lots in by_holder.items():
            pending = accrual.not_yet_due(lots, through, s.rate, s.terms.stated_value, open_rd,
                                          s.terms.day_count)
            if h in s.compound:  # §12 compounding: with what the arrears accrued
                _add(pending, compound_not_yet_due(s, h, through))
            out[h] = out.get(h, ZERO) + accrual.rounded_total(pending)
        for h in s.compound:
            if h not in by_holder and (holders is None or h in holders):
                # a former holder whose arrears still compound
                pending = compound_not_yet_due(s, h, through)
                out[h] = out.get(h, ZERO) + accrual.rounded_total(pending)
    return out


def _add(into: dict[dt.date, Decimal], more: dict[dt.date, Decimal]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, ZERO) + v


@dataclass(frozen=True)
class SeriesClaims:
    """A series' amounts owed as of the end of a day (SPEC.md §11 Reports)."""

    #: per holder: arrears plus accrual not yet due (excludes ``payable``)
    accrued: dict[str, Decimal]
    #: per holder (former holders included): dividends payable on converted shares (§5)
    payable: dict[str, Decimal]
    #: the series' total §8 claim: stated value of the outstanding shares, plus what is
    #: owed when the terms include accrued dividends, plus dividends payable
    liquidation_preference: Decimal
    #: stated (× the §12 premium) + accrued unpaid ÷ outstanding, to the cent (§7); None
    #: if not redeemable (by the company or, §12, at the holder's option)
    redemption_price_per_share: Decimal | None

    @property
    def accrued_total(self) -> Decimal:
        return sum(self.accrued.values(), ZERO)

    @property
    def payable_total(self) -> Decimal:
        return sum(self.payable.values(), ZERO)


def preference_of(s: SeriesState) -> Decimal:
    """The preference without dividends: multiple × stated value per share (SPEC.md §12
    ``liquidation_multiple``), rounded to the cent per holder when the multiple is not
    1, as the waterfall's claims are (§8 with the default 1: stated value)."""
    t = s.terms
    if t.liquidation_multiple == 1:
        return s.outstanding * t.stated_value
    return sum((money(CONTEXT.multiply(CONTEXT.multiply(n, t.stated_value),
                                       t.liquidation_multiple))
                for n in s.holdings().values()), ZERO)


def series_claims(s: SeriesState, as_of: dt.date) -> SeriesClaims:
    """``s``'s claims as of the end of ``as_of`` (accrual runs to ``as_of`` + 1, §5)."""
    t = s.terms
    accrued = holder_accrued(s, as_of + ONE_DAY)
    payable = s.unpaid_by_holder("payable")
    outstanding = s.outstanding
    series_accrued = sum(accrued.values(), ZERO)
    series_payable = sum(payable.values(), ZERO)
    preference = preference_of(s) + series_payable
    if t.liquidation_includes_accrued:
        preference += series_accrued
    redemption = None
    if (t.redeemable or t.holder_redemption_from is not None) and outstanding > 0:
        # SPEC.md §12: premium × stated value (the stated value with the default premium)
        # declared amounts not yet due stay owed to the holders of record (§12)
        owed = series_accrued - sum(declared_owed(s).values(), ZERO)
        redemption = base_price(s) + money(CONTEXT.divide(owed, outstanding))
    return SeriesClaims(accrued, payable, preference, redemption)
