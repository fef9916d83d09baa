"""Conversion, anti-dilution and splits (SPEC.md §6; §11 Conversion).

Series H certificate: 1,388.89 common per share, anti-dilution below $0.72; Series M:
4,000 common per share from one year after closing, anti-dilution below $0.25; Series K:
automatic on the shareholder approval, stated value / $0.23.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ledger import accrual
from ledger.daycount import add_years
from ledger.events import CommonStockIssued, CommonStockSplit, ShareholderApproval, SharesConverted
from ledger.problems import Rejected
from ledger.state import Adjustment, Conversion, Due, IssuerState, SeriesState
from ledger.values import CONTEXT, ZERO, floor_int, money, money_str, plain


def _protected(st: IssuerState, price: Decimal, exempt_up_to: dt.date | None
               ) -> list[SeriesState]:
    """Series whose anti-dilution an issuance at ``price`` per common share triggers.

    SPEC.md §6: every protected series already designated (replayed before the issuance,
    same day counts, §11) whose threshold is above the price; a conversion of a series
    designated on or before the protected series (its own included) is exempt.
    """
    out = []
    for s in st.series.values():
        if s.threshold is None or s.conversion_rate is None or s.extinguished:
            continue
        if exempt_up_to is not None and exempt_up_to <= s.terms.designated:
            continue
        if price < s.threshold:
            out.append(s)
    return out


def _antidilution(st: IssuerState, cause: str, event_id: str | None, when: dt.date,
                  a: Decimal, c: Decimal, consideration: Decimal,
                  exempt_up_to: dt.date | None = None) -> None:
    """SPEC.md §6 Anti-dilution: rate × (A + C) / (A + B), B = consideration ÷ threshold.

    A = common outstanding just before, C = whole common actually issued (§11).
    Each adjustment is kept as an explainable ``Adjustment`` record.
    """
    if c <= 0:
        return
    price = CONTEXT.divide(consideration, c)
    for s in _protected(st, price, exempt_up_to):
        assert s.threshold is not None and s.conversion_rate is not None
        b = CONTEXT.divide(consideration, s.threshold)
        a_plus_b = CONTEXT.add(a, b)
        if a_plus_b <= 0:  # pragma: no cover - issue_common rejects this case up front
            continue
        factor = CONTEXT.divide(CONTEXT.add(a, c), a_plus_b)
        before = s.conversion_rate
        after = CONTEXT.multiply(before, factor)
        s.conversion_rate = after
        s.adjustments.append(Adjustment(
            effective=when, cause=cause, event_id=event_id, factor=factor,
            rate_before=before, rate_after=after, a=a, b=b, c=c, price=price,
            threshold=s.threshold, consideration=consideration))


def issue_common(st: IssuerState, ev: CommonStockIssued) -> None:
    """SPEC.md §3 CommonStockIssued: common outstanding grows; §6 anti-dilution.

    ``option_exercise`` and ``opening`` are exempt (§6); ``sale`` and ``other`` adjust
    every protected series whose threshold is above the price per common share.
    """
    if ev.price_per_share is not None and ev.consideration is not None:
        if money(ev.price_per_share * ev.shares) != money(ev.consideration):
            raise Rejected("consideration",
                           "does not equal shares × price_per_share; give one of them")
    consideration = ev.consideration
    if consideration is None and ev.price_per_share is not None:
        consideration = ev.price_per_share * ev.shares
    if consideration is None and ev.kind != "opening":
        raise Rejected("price_per_share", f"a {ev.kind!r} issuance needs price_per_share or "
                       "consideration (only an opening balance may omit it)")
    a = st.common_outstanding
    adjusts = ev.kind in ("sale", "other") and consideration is not None
    if adjusts and a == 0 and consideration == 0:
        assert consideration is not None
        if _protected(st, ZERO, None):
            raise Rejected("consideration", "common issued for no consideration while no common is "
                           "outstanding: the anti-dilution factor (A + C) / (A + B) has A + B = 0")
    st.common_outstanding = CONTEXT.add(a, ev.shares)
    if adjusts:
        assert consideration is not None
        _antidilution(st, f"common {ev.kind} of {plain(ev.shares)} shares", ev.id,
                      ev.effective_date, a, ev.shares, consideration)
    return None


def split(st: IssuerState, ev: CommonStockSplit) -> None:
    """SPEC.md §6 Split: common × r, conversion rates × r, thresholds ÷ r (exact, §11)."""
    r = ev.ratio
    st.common_outstanding = CONTEXT.multiply(st.common_outstanding, r)
    for s in st.series.values():
        if s.conversion_rate is not None:
            before = s.conversion_rate
            s.conversion_rate = CONTEXT.multiply(before, r)
            s.adjustments.append(Adjustment(
                ev.effective_date, f"common split: {plain(r)} new shares per old share",
                ev.id, r, before, s.conversion_rate))
        if s.threshold is not None:
            s.threshold = CONTEXT.divide(s.threshold, r)


def window_opens(s: SeriesState) -> dt.date | None:
    """Series M: conversion from the closing date + 1 year (SPEC.md §4; M §5(a))."""
    years = s.terms.conversion_after_closing_years
    if years is None or s.closing_date is None:
        return None
    return add_years(s.closing_date, years)


def may_convert(s: SeriesState, on: dt.date) -> bool:
    """Whether the holders of ``s`` may elect to convert on ``on`` (SPEC.md §4, §8)."""
    if s.terms.conversion != "elective" or s.conversion_rate is None:
        return False
    if s.terms.conversion_after_closing_years is not None:
        opens = window_opens(s)
        if opens is None or on < opens:
            return False
    return True


def _do_convert(st: IssuerState, s: SeriesState, holder: str, shares: Decimal,
                when: dt.date, market_price: Decimal | None, automatic: bool,
                event_id: str | None) -> Conversion:
    """Convert ``shares`` of ``holder``: oldest lots first (§11), accrual to payable (§5).

    The converted lots accrue to ``when`` exclusive; their accrual not yet due becomes
    the holder's ``dividends_payable`` (rounded per due date); their arrears stay
    arrears (§11 Accrual). Common issued = shares × rate rounded down; the fraction is
    paid in cash at ``market_price`` (§2, term ``fractional_common``).
    """

    assert s.conversion_rate is not None
    rate = s.conversion_rate
    parts = s.lots.take(holder, shares)
    payable = ZERO
    if s.rate is not None:
        # SPEC.md §5 On conversion: one call closes the lots and prices their accrual
        payable = accrual.settle(parts, when, s.rate, s.terms.stated_value)
        if payable > 0:
            s.dues.setdefault(holder, []).append(Due(when, payable, "payable"))
    exact = CONTEXT.multiply(shares, rate)
    if s.terms.fractional_common == "issue":
        common, fraction = exact, ZERO
    else:
        common = floor_int(exact)
        fraction = CONTEXT.subtract(exact, common)
    cash = (money(CONTEXT.multiply(fraction, market_price))
            if market_price is not None and fraction else None)
    s.converted_total += shares
    st.common_outstanding = CONTEXT.add(st.common_outstanding, common)
    conv = Conversion(when, s.name, holder, shares, common, fraction, cash, payable,
                      automatic, rate, event_id)
    st.conversions.append(conv)
    if fraction and market_price is None:
        st.notes.append(f"{when}: fraction {plain(fraction)} of a common share on converting "
                        f"{plain(shares)} Series {s.name} of {holder!r} dropped (no market_price)")
    return conv


def convert(st: IssuerState, s: SeriesState, ev: SharesConverted, held: Decimal
            ) -> None:
    """SPEC.md §3 SharesConverted, §6, §7 (M notice window), §11 Conversion.

    H any time, M from closing + 1 year (M §5(a)); in multiples of 100 or all the
    holder's shares. Shares under a redemption notice convert first; for M only on
    notice date + 0…10 days (M §6(a)), after which only shares not under notice may.
    """
    t = s.terms
    if t.conversion != "elective" or s.conversion_rate is None:
        raise Rejected("series", f"Series {s.name} is not convertible at the holder's option")
    if t.conversion_after_closing_years is not None:
        opens = window_opens(s)
        if opens is None or ev.effective_date < opens:
            raise Rejected("effective_date", f"Series {s.name} converts only from {opens} (closing "
                           f"{s.closing_date} + {t.conversion_after_closing_years} year)")
    mult = t.conversion_multiple
    if mult is not None and ev.shares != held and ev.shares % mult != 0:
        raise Rejected("shares", f"{plain(ev.shares)} is not a multiple of {plain(mult)} nor all "
                       f"{plain(held)} Series {s.name} shares of {ev.holder!r}")
    notice = s.notices.get(ev.holder)
    noticed_converted = ZERO
    if notice is not None:
        noticed_converted = min(ev.shares, notice.shares)
        if t.notice_conversion_days is not None:
            last = notice.notice_date + dt.timedelta(days=t.notice_conversion_days)
            if ev.effective_date > last:
                free = held - notice.shares
                if ev.shares > free:
                    raise Rejected(
                        "shares", f"{plain(notice.shares)} of {ev.holder!r}'s {plain(held)} "
                        f"Series {s.name} shares are under the redemption notice of "
                        f"{notice.notice_date}; their conversion right ended on {last} "
                        f"(notice + {t.notice_conversion_days} days), so at most "
                        f"{plain(free)} may convert")
                noticed_converted = ZERO
    a = st.common_outstanding
    if notice is not None and noticed_converted > 0:
        notice.shares -= noticed_converted
        if notice.shares <= 0:
            del s.notices[ev.holder]
    conv = _do_convert(st, s, ev.holder, ev.shares, ev.effective_date, ev.market_price,
                       False, ev.id)
    _antidilution(st, f"conversion of {plain(ev.shares)} Series {s.name} of {ev.holder}",
                  ev.id, ev.effective_date, a, conv.common, ev.shares * t.stated_value,
                  exempt_up_to=t.designated)
    return None


def automatic(st: IssuerState, ev: ShareholderApproval) -> None:
    """SPEC.md §6: K converts, all holders, on the approval listing its trigger.

    The whole conversion is one issuance for anti-dilution (§11): C and the
    consideration are summed over the holders. K §5(a) has one Conversion Date: only
    the first approval listing the trigger converts; K shares issued later stay K (§11).
    """
    for s in list(st.series.values()):
        t = s.terms
        if t.conversion != "automatic" or t.conversion_trigger not in ev.matters:
            continue
        if s.extinguished or s.conversion_rate is None or s.converted_on is not None:
            continue
        s.converted_on = ev.effective_date
        a = st.common_outstanding
        c = ZERO
        surrendered = ZERO
        for holder, shares in sorted(s.holdings().items()):
            conv = _do_convert(st, s, holder, shares, ev.effective_date, None, True, ev.id)
            c = CONTEXT.add(c, conv.common)
            surrendered += shares
        _antidilution(st, f"automatic conversion of {plain(surrendered)} Series {s.name}",
                      ev.id, ev.effective_date, a, c, surrendered * t.stated_value,
                      exempt_up_to=t.designated)


def votes(s: SeriesState, shares: Decimal) -> Decimal:
    """SPEC.md §6, §11: floor(shares × rate) as converted; a non-voting series has 0."""
    if s.terms.votes == "none" or s.conversion_rate is None:
        return ZERO
    return floor_int(CONTEXT.multiply(shares, s.conversion_rate))


def _opt(d: Decimal | None) -> str | None:
    return None if d is None else plain(d)


def listing(st: IssuerState, series: str) -> dict[str, Any]:
    """The ``conversions --series S`` report (SPEC.md §10): every conversion-rate
    adjustment with its A, B, C, factor and rates, plus the conversions and redemptions
    of the series, each recomputable by hand (§6, §7)."""
    s = st.series[series]
    t = s.terms
    return {
        "issuer": st.issuer,
        "as_of": st.day.isoformat() if st.day else None,
        "series": s.name,
        "conversion": t.conversion,
        "base_rate": _opt(t.base_conversion_rate),
        "conversion_rate": _opt(s.conversion_rate),
        "threshold": _opt(s.threshold),
        "window_opens": (w.isoformat() if (w := window_opens(s)) else None),
        "adjustments": [
            {
                "date": adj.effective.isoformat(),
                "cause": adj.cause,
                "event_id": adj.event_id,
                "A": _opt(adj.a),
                "B": _opt(adj.b),
                "C": _opt(adj.c),
                "consideration": None if adj.consideration is None
                else money_str(adj.consideration),
                "price_per_common": _opt(adj.price),
                "threshold": _opt(adj.threshold),
                "factor": plain(adj.factor),
                "rate_before": plain(adj.rate_before),
                "rate_after": plain(adj.rate_after),
            }
            for adj in s.adjustments
        ],
        "conversions": [
            {
                "date": c.effective.isoformat(),
                "holder": c.holder,
                "shares": plain(c.shares),
                "rate": _opt(c.rate),
                "common": plain(c.common),
                "fraction": plain(c.fraction),
                "cash_in_lieu": None if c.cash_in_lieu is None else money_str(c.cash_in_lieu),
                "dividends_payable": money_str(c.dividends_payable),
                "automatic": c.automatic,
                "event_id": c.event_id,
            }
            for c in st.conversions if c.series == s.name
        ],
        "redemptions": [
            {
                "date": r.effective.isoformat(),
                "holder": r.holder,
                "requested": _opt(r.requested),
                "shares": plain(r.shares),
                "price_per_share": money_str(r.price_per_share),
                "funds_available": None if r.funds_available is None
                else money_str(r.funds_available),
                "stated": money_str(r.stated),
                "accrued": money_str(r.accrued),
                "arrears": money_str(r.arrears),
                "paid": money_str(r.paid),
                "event_id": r.event_id,
            }
            for r in st.redemptions if r.series == s.name
        ],
        "notices": [
            {"holder": h, "notice_date": n.notice_date.isoformat(),
             "redemption_date": n.redemption_date.isoformat(), "shares": plain(n.shares)}
            for h, n in sorted(s.notices.items())
        ],
    }
