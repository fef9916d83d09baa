"""The ``position`` report (SPEC.md §9): shares, dividends, conversion, votes as of a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ledger import accrual
from ledger.conversion import votes
from ledger.schedule import ONE_DAY
from ledger.state import IssuerState, SeriesState
from ledger.values import CONTEXT, ZERO, money, money_str, plain


def _opt(d: Decimal | None, fmt: Any = plain) -> str | None:
    return None if d is None else fmt(d)


def holder_accrued(s: SeriesState, through: dt.date) -> dict[str, Decimal]:
    """Per holder: arrears plus accrual not yet due to ``through`` (SPEC.md §5), rounded
    per holder per period (§2)."""
    out: dict[str, Decimal] = s.unpaid_by_holder()
    if s.rate is not None:
        by_holder: dict[str, list[accrual.Lot]] = getattr(s.lots, "by_holder", None) or {}
        if not by_holder:
            for lot in s.lots:
                by_holder.setdefault(lot.holder, []).append(lot)
        open_rd: dict[dt.date, Decimal] = {}  # shared: the same rate and ``through``
        for h, lots in by_holder.items():
            pending = accrual.not_yet_due(lots, through, s.rate, s.terms.stated_value, open_rd)
            out[h] = out.get(h, ZERO) + accrual.rounded_total(pending)
    return out


def series_row(s: SeriesState, as_of: dt.date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    t = s.terms
    through = as_of + ONE_DAY  # SPEC.md §5: as of D, accrual runs to D + 1
    accrued = holder_accrued(s, through)
    holdings = s.holdings()
    payable = s.unpaid_by_holder("payable")
    pays = s.rate is not None
    outstanding = s.outstanding
    series_accrued = sum(accrued.values(), ZERO)
    series_payable = sum(payable.values(), ZERO)
    holder_votes = {h: votes(s, n) for h, n in holdings.items()}
    stated_total = outstanding * t.stated_value
    if t.liquidation_includes_accrued:
        preference = stated_total + series_accrued + series_payable
    else:
        preference = stated_total + series_payable
    if t.redeemable and outstanding > 0:
        redemption = t.stated_value + money(CONTEXT.divide(series_accrued, outstanding))
    else:
        redemption = None
    row = {
        "series": s.name,
        "authorized": plain(t.authorized_shares),
        "issued_total": plain(s.issued_total),
        "outstanding": plain(outstanding),
        "converted_total": plain(s.converted_total),
        "redeemed_total": plain(s.redeemed_total),
        "dividend_rate": _opt(s.rate),
        "accrued_unpaid": money_str(series_accrued) if pays else None,
        "arrears": money_str(s.unpaid()) if pays else None,
        "dividends_payable": money_str(series_payable),
        "missed_streak": s.missed_streak if pays else None,
        "conversion_rate": _opt(s.conversion_rate),
        "votes": plain(sum(holder_votes.values(), ZERO)),
        "redemption_price_per_share": _opt(redemption, money_str),
        "liquidation_preference": money_str(preference),
    }
    names = sorted(set(holdings) | {h for h in s.dues if accrued.get(h) or payable.get(h)})
    holders = [
        {
            "holder": h,
            "series": s.name,
            "shares": plain(holdings.get(h, ZERO)),
            "accrued_unpaid": money_str(accrued.get(h, ZERO)) if pays else None,
            "dividends_payable": money_str(payable.get(h, ZERO)),
            "votes": plain(holder_votes.get(h, ZERO)),
        }
        for h in names
    ]
    return row, holders


def position(st: IssuerState, as_of: dt.date, as_recorded: str | None = None) -> dict[str, Any]:
    """SPEC.md §9 ``position``."""
    series: list[dict[str, Any]] = []
    holders: list[dict[str, Any]] = []
    for s in sorted(st.series.values(), key=lambda s: s.name):
        row, hs = series_row(s, as_of)
        series.append(row)
        holders.extend(hs)
    holders.sort(key=lambda h: (h["holder"], h["series"]))
    preferred_votes = sum((Decimal(r["votes"]) for r in series), ZERO)
    return {
        "as_of": as_of.isoformat(),
        "as_recorded": as_recorded,
        "issuer": st.issuer,
        "common_outstanding": plain(st.common_outstanding),
        "common_votes": plain(st.common_outstanding),
        "total_votes": plain(st.common_outstanding + preferred_votes),
        "liquidated_on": st.liquidated_on.isoformat() if st.liquidated_on else None,
        # the distribution recorded by the Liquidation event (SPEC.md §8, §9 waterfall shape)
        "liquidation": st.liquidation.to_json() if hasattr(st.liquidation, "to_json") else None,
        "series": series,
        "holders": holders,
    }
