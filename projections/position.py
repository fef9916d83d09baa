"""The ``position`` report (SPEC.md §9): shares, dividends, conversion, votes as of a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ledger.claims import series_claims
from ledger.conversion import conversion_price, votes
from ledger.state import IssuerState, SeriesState
from ledger.values import ZERO, money_str, plain

#: the ``series`` of a common holder line (SPEC.md §13)
COMMON = "common"


def _opt(d: Decimal | None, fmt: Any = plain) -> str | None:
    return None if d is None else fmt(d)


def series_row(s: SeriesState, as_of: dt.date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    t = s.terms
    claims = series_claims(s, as_of)
    accrued, payable = claims.accrued, claims.payable
    holdings = s.holdings()
    # SPEC.md §12: a non-cumulative series owes what is declared, though nothing accrues
    pays = s.rate is not None or not t.cumulative
    accrues = s.rate is not None
    rate = s.rate if accrues or t.cumulative else t.dividend_rate
    declared = None if t.cumulative else _declared_unpaid(s, accrued)
    outstanding = s.outstanding
    holder_votes = {h: votes(s, n) for h, n in holdings.items()}
    row = {
        "series": s.name,
        "authorized": plain(t.authorized_shares),
        "issued_total": plain(s.issued_total),
        "outstanding": plain(outstanding),
        "converted_total": plain(s.converted_total),
        "redeemed_total": plain(s.redeemed_total),
        # SPEC.md §13: shares cancelled for good (part of issued_total, never reissued)
        "cancelled_total": plain(s.cancelled_total),
        "dividend_rate": _opt(rate),
        "accrued_unpaid": money_str(claims.accrued_total) if pays else None,
        "arrears": money_str(s.unpaid()) if pays else None,
        "dividends_payable": money_str(claims.payable_total),
        "missed_streak": s.missed_streak if accrues else None,
        "conversion_rate": _opt(s.conversion_rate),
        # SPEC.md §12: the conversion price in force, stated ÷ rate
        "conversion_price": _opt(conversion_price(s)),
        "votes": plain(sum(holder_votes.values(), ZERO)),
        "redemption_price_per_share": _opt(claims.redemption_price_per_share, money_str),
        "liquidation_preference": money_str(claims.liquidation_preference),
        # SPEC.md §12: declared and unpaid (non-cumulative only), shares paid in kind
        "declared_unpaid": None if declared is None else money_str(sum(declared.values(),
                                                                       ZERO)),
        "pik_shares": (plain(s.pik_shares) if s.pik_shares or t.dividend_form != "cash"
                       else None),
    }
    names = sorted(set(holdings) | {h for h in s.dues if accrued.get(h) or payable.get(h)}
                   | {h for h, v in accrued.items() if v})
    holders = [
        {
            "holder": h,
            "series": s.name,
            "shares": plain(holdings.get(h, ZERO)),
            "accrued_unpaid": money_str(accrued.get(h, ZERO)) if pays else None,
            "dividends_payable": money_str(payable.get(h, ZERO)),
            "votes": plain(holder_votes.get(h, ZERO)),
            "declared_unpaid": None if declared is None else money_str(declared.get(h, ZERO)),
        }
        for h in names
    ]
    return row, holders


def _declared_unpaid(s: SeriesState, accrued: dict[str, Decimal]) -> dict[str, Decimal]:
    """SPEC.md §12: on a non-cumulative series everything owed (``accrued``: arrears plus
    declared amounts not yet due) is declared and unpaid."""
    return {h: v for h, v in accrued.items() if v}
def common_rows(st: IssuerState) -> list[dict[str, Any]]:
    """SPEC.md §13: one holder line per holder of common (``holder`` None: common issued
    without a holder), one vote a share (§6); the dividend fields do not apply."""
    return [
        {
            "holder": h,
            "series": COMMON,
            "shares": plain(n),
            "accrued_unpaid": None,
            "dividends_payable": None,
            "votes": plain(n),
            "declared_unpaid": None,
        }
        for h, n in st.common.items() if n > 0
    ]


def holder_order(row: dict[str, Any]) -> tuple[bool, str, str]:
    """Holder lines by holder name, then series; the unattributed holder (None) last."""
    h = row["holder"]
    return (h is None, h or "", row["series"])


def position(st: IssuerState, as_of: dt.date, as_recorded: str | None = None) -> dict[str, Any]:
    """SPEC.md §9 ``position``."""
    series: list[dict[str, Any]] = []
    holders: list[dict[str, Any]] = []
    for s in sorted(st.series.values(), key=lambda s: s.name):
        row, hs = series_row(s, as_of)
        series.append(row)
        holders.extend(hs)
    holders.extend(common_rows(st))
    holders.sort(key=holder_order)
    preferred_votes = sum((Decimal(r["votes"]) for r in series), ZERO)
    return {
        "as_of": as_of.isoformat(),
        "as_recorded": as_recorded,
        "issuer": st.issuer,
        "common_outstanding": plain(st.common_outstanding),
        "common_votes": plain(st.common_outstanding),
        "common_cancelled_total": plain(st.common_cancelled_total),
        "total_votes": plain(st.common_outstanding + preferred_votes),
        "liquidated_on": st.liquidated_on.isoformat() if st.liquidated_on else None,
        # the distribution recorded by the Liquidation event (SPEC.md §8, §9 waterfall shape)
        "liquidation": st.liquidation.to_json() if hasattr(st.liquidation, "to_json") else None,
        "series": series,
        "holders": holders,
    }
