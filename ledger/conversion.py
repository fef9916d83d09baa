"""Conversion, anti-dilution and splits (SPEC.md §6; §11 Conversion).

Series H certificate: 1,388.89 common per share, anti-dilution below $0.72; Series M:
4,000 common per share from one year after closing, anti-dilution below $0.25; Series K:
automatic on the shareholder approval, stated value / $0.23.
"""

from __future__ import annotations

from decimal import Decimal

from . import accrual
from .daycount import add_years
from .events import CommonStockIssued, CommonStockSplit, ShareholderApproval, SharesConverted
from .state import Adjustment, Conversion, Due, IssuerState, SeriesState
from .values import CONTEXT, ONE, ZERO, floor_int, money, plain


def _antidilution(st: IssuerState, cause: str, event_id: str | None, when: object,
                  a: Decimal, c: Decimal, consideration: Decimal,
                  exempt_up_to: object | None = None) -> None:
    """SPEC.md §6 Anti-dilution: rate × (A + C) / (A + B), B = consideration ÷ threshold.

    Applies to every protected series designated before the issuance (same day counts,
    §11) whose threshold is above the price per common share; a conversion of a series
    designated on or before the protected series is exempt (``exempt_up_to``).
    """
    if c <= 0:
        return
    price = CONTEXT.divide(consideration, c)
    for s in st.series.values():
        if s.threshold is None or s.conversion_rate is None or s.extinguished:
            continue
        if exempt_up_to is not None and exempt_up_to <= s.terms.designated:  # type: ignore[operator]
            continue
        if price >= s.threshold:
            continue
        b = CONTEXT.divide(consideration, s.threshold)
        factor = CONTEXT.divide(a + c, a + b)
        before = s.conversion_rate
        after = CONTEXT.multiply(before, factor)
        s.conversion_rate = after
        s.adjustments.append(Adjustment(
            effective=when, cause=cause, event_id=event_id, factor=factor,  # type: ignore[arg-type]
            rate_before=before, rate_after=after, a=a, b=b, c=c, price=price,
            threshold=s.threshold))


def issue_common(st: IssuerState, ev: CommonStockIssued) -> tuple[str, str] | None:
    """SPEC.md §3 CommonStockIssued: common outstanding grows; §6 anti-dilution."""
    if ev.price_per_share is not None and ev.consideration is not None:
        if money(ev.price_per_share * ev.shares) != money(ev.consideration):
            return ("consideration", "does not equal shares × price_per_share; give one of them")
    consideration = ev.consideration
    if consideration is None and ev.price_per_share is not None:
        consideration = ev.price_per_share * ev.shares
    if consideration is None and ev.kind != "opening":
        return ("price_per_share", f"a {ev.kind!r} issuance needs price_per_share or "
                "consideration (only an opening balance may omit it)")
    a = st.common_outstanding
    st.common_outstanding = a + ev.shares
    if ev.kind in ("sale", "other") and consideration is not None:
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
            s.adjustments.append(Adjustment(ev.effective_date, f"split {plain(r)} for 1",
                                            ev.id, r, before, s.conversion_rate))
        if s.threshold is not None:
            s.threshold = CONTEXT.divide(s.threshold, r)


def window_opens(s: SeriesState) -> object | None:
    """Series M: conversion from the closing date + 1 year (SPEC.md §4)."""
    years = s.terms.conversion_after_closing_years
    if years is None:
        return None
    if s.closing_date is None:
        return None
    return add_years(s.closing_date, years)


def may_convert(s: SeriesState, on: object) -> bool:
    """Whether the holders of ``s`` may elect to convert on ``on`` (SPEC.md §4, §8)."""
    if s.terms.conversion != "elective" or s.conversion_rate is None:
        return False
    opens = window_opens(s)
    if s.terms.conversion_after_closing_years is not None and (opens is None or on < opens):  # type: ignore[operator]
        return False
    return True


def _do_convert(st: IssuerState, s: SeriesState, holder: str, shares: Decimal,
                when: object, market_price: Decimal | None, automatic: bool) -> Conversion:
    """Convert ``shares`` of ``holder``: oldest lots first, accrual to payable (§5, §11)."""
    from .replay import take_lots

    assert s.conversion_rate is not None
    parts = take_lots(s, holder, shares)
    payable = ZERO
    if s.rate is not None:
        for lot in parts:
            accrual.cut(lot, when, s.rate)  # type: ignore[arg-type]
        pending: dict[object, Decimal] = {}
        for lot in parts:
            for due, rd in lot.pending.items():
                pending[due] = pending.get(due, ZERO) + accrual.amount(
                    lot.shares, s.terms.stated_value, rd)
        payable = sum((money(v) for v in pending.values()), ZERO)
        if payable > 0:
            s.dues.setdefault(holder, []).append(Due(when, payable, "payable"))  # type: ignore[arg-type]
    exact = CONTEXT.multiply(shares, s.conversion_rate)
    if s.terms.fractional_common == "issue":
        common, fraction = exact, ZERO
    else:
        common = floor_int(exact)
        fraction = exact - common
    cash = money(fraction * market_price) if market_price is not None and fraction else None
    s.converted_total += shares
    st.common_outstanding += common
    conv = Conversion(when, s.name, holder, shares, common, fraction, cash, payable,  # type: ignore[arg-type]
                      automatic)
    st.conversions.append(conv)
    if fraction and market_price is None:
        st.notes.append(f"{when}: fraction {plain(fraction)} of a common share on converting "
                        f"{plain(shares)} Series {s.name} of {holder!r} dropped (no market_price)")
    return conv


def convert(st: IssuerState, s: SeriesState, ev: SharesConverted, held: Decimal
            ) -> tuple[str, str] | None:
    """SPEC.md §3 SharesConverted, §6, §7 (M notice window), §11 Conversion."""
    t = s.terms
    if t.conversion != "elective" or s.conversion_rate is None:
        return ("series", f"Series {s.name} is not convertible at the holder's option")
    opens = window_opens(s)
    if t.conversion_after_closing_years is not None and (
            opens is None or ev.effective_date < opens):  # type: ignore[operator]
        return ("effective_date", f"Series {s.name} converts only from {opens} "
                f"(closing {s.closing_date} + {t.conversion_after_closing_years} year)")
    mult = t.conversion_multiple
    if mult is not None and ev.shares != held and ev.shares % mult != 0:
        return ("shares", f"{plain(ev.shares)} is not a multiple of {plain(mult)} nor all "
                f"{plain(held)} Series {s.name} shares of {ev.holder!r}")
    notice = s.notices.get(ev.holder)
    if notice is not None and t.notice_conversion_days is not None:
        last = notice.notice_date.toordinal() + t.notice_conversion_days
        if ev.effective_date.toordinal() > last and ev.shares > held - notice.shares:
            return ("shares", f"{plain(notice.shares)} of these shares are under the "
                    f"redemption notice of {notice.notice_date} and could convert only "
                    f"within {t.notice_conversion_days} days of it")
    if notice is not None:
        notice.shares = max(ZERO, notice.shares - ev.shares)
        if notice.shares == 0:
            del s.notices[ev.holder]
    a = st.common_outstanding
    conv = _do_convert(st, s, ev.holder, ev.shares, ev.effective_date, ev.market_price, False)
    _antidilution(st, f"conversion of {plain(ev.shares)} Series {s.name}", ev.id,
                  ev.effective_date, a, conv.common, ev.shares * t.stated_value,
                  exempt_up_to=t.designated)
    return None


def automatic(st: IssuerState, ev: ShareholderApproval) -> None:
    """SPEC.md §6: K converts, all holders, on the approval listing its trigger.

    The whole conversion is one issuance for anti-dilution (§11): C and the
    consideration are summed over the holders.
    """
    for s in list(st.series.values()):
        t = s.terms
        if t.conversion != "automatic" or t.conversion_trigger not in ev.matters:
            continue
        if s.extinguished or s.conversion_rate is None:
            continue
        a = st.common_outstanding
        c = ZERO
        surrendered = ZERO
        for holder, shares in sorted(s.holdings().items()):
            conv = _do_convert(st, s, holder, shares, ev.effective_date, None, True)
            c += conv.common
            surrendered += shares
        _antidilution(st, f"automatic conversion of {plain(surrendered)} Series {s.name}",
                      ev.id, ev.effective_date, a, c, surrendered * t.stated_value,
                      exempt_up_to=t.designated)


def votes(s: SeriesState, shares: Decimal) -> Decimal:
    """SPEC.md §6, §11: floor(shares × rate) as converted; a non-voting series has 0."""
    if s.terms.votes == "none" or s.conversion_rate is None:
        return ZERO
    return floor_int(CONTEXT.multiply(shares, s.conversion_rate))


_ = ONE
