"""Redemption at the company's option (SPEC.md §7; §11 Days and order, Payments).

Series G §5 and H: any time on 30 days notice; Series M: after closing on 15 days
notice, the holder may convert within 10 days of the notice. Price: stated value plus
accrued unpaid dividends to the redemption date (exclusive).
"""

from __future__ import annotations

from decimal import Decimal

from . import accrual
from .events import RedemptionNoticed, SharesRedeemed
from .state import IssuerState, Notice, Redemption, SeriesState
from .values import CONTEXT, ZERO, floor_int, money, money_str, plain


def notice(s: SeriesState, ev: RedemptionNoticed) -> tuple[str, str] | None:
    """SPEC.md §7: ``redemption_date - effective_date >= notice days``."""
    t = s.terms
    if not t.redeemable or t.redemption_notice_days is None:
        return ("series", f"Series {s.name} is not redeemable at the company's option")
    if t.redemption_from_closing and (s.closing_date is None
                                      or ev.effective_date < s.closing_date):
        return ("effective_date", f"Series {s.name} may be called only from its closing date "
                f"({s.closing_date or 'no shares issued yet'})")
    days = (ev.redemption_date - ev.effective_date).days
    if days < t.redemption_notice_days:
        return ("redemption_date", f"{days} days of notice; Series {s.name} needs at least "
                f"{t.redemption_notice_days}")
    for holder, shares in ev.holders.items():
        s.notices[holder] = Notice(ev.effective_date, ev.redemption_date, shares)
    return None


def price_per_share(s: SeriesState, holder: str, on: object) -> Decimal:
    """Stated value plus the holder's accrued unpaid per share, to the cent (§7, §11)."""
    held = s.held(holder)
    if held == 0:
        return s.terms.stated_value
    accrued = accrued_unpaid(s, holder, on)
    return s.terms.stated_value + money(CONTEXT.divide(accrued, held))


def accrued_unpaid(s: SeriesState, holder: str, through: object) -> Decimal:
    """Holder's arrears plus accrual not yet due up to ``through`` (exclusive), rounded."""
    lots = [lot for lot in s.lots if lot.holder == holder]
    pending = ZERO
    if s.rate is not None:
        pending = accrual.rounded_total(accrual.not_yet_due(
            lots, through, s.rate, s.terms.stated_value))  # type: ignore[arg-type]
    return s.unpaid(holder) + pending


def redeem(st: IssuerState, s: SeriesState, ev: SharesRedeemed) -> tuple[str, str] | None:
    """SPEC.md §7 SharesRedeemed; DGCL §160 when ``funds_available`` is short (§11)."""
    from .replay import take_lots

    n = notice_for = s.notices.get(ev.holder)
    if notice_for is None:
        return ("holder", f"no redemption notice covers {ev.holder!r} on Series {s.name}")
    if ev.effective_date < notice_for.redemption_date:
        return ("effective_date", f"the notice of {notice_for.notice_date} sets the "
                f"redemption date {notice_for.redemption_date}")
    if ev.shares > notice_for.shares:
        return ("shares", f"only {plain(notice_for.shares)} shares of {ev.holder!r} are "
                "under notice")
    held = s.held(ev.holder)
    shares = ev.shares
    price = price_per_share(s, ev.holder, ev.effective_date)
    if ev.funds_available is not None and ev.funds_available < shares * price:
        shares = min(shares, floor_int(CONTEXT.divide(ev.funds_available, price)))
        st.notes.append(f"{ev.effective_date}: funds of {money_str(ev.funds_available)} "
                        f"redeem {plain(shares)} of {plain(ev.shares)} Series {s.name} "
                        f"shares of {ev.holder!r} at {money_str(price)} (DGCL §160)")
        if shares <= 0:
            return None
    parts = take_lots(s, ev.holder, shares)
    accrued = ZERO
    if s.rate is not None:
        for lot in parts:
            accrual.cut(lot, ev.effective_date, s.rate)
        accrued = accrual.rounded_total(accrual.not_yet_due(
            parts, ev.effective_date, s.rate, s.terms.stated_value))
    carried = ZERO
    for d in s.dues.get(ev.holder, []):
        if d.kind == "arrears" and d.unpaid > 0:
            part = money(CONTEXT.divide(d.unpaid * shares, held))
            d.paid += part
            carried += part
    s.redeemed_total += shares
    n.shares -= shares
    if n.shares <= 0:
        del s.notices[ev.holder]
    st.redemptions.append(Redemption(ev.effective_date, s.name, ev.holder, shares, price,
                                     shares * s.terms.stated_value, accrued, carried))
    return None
