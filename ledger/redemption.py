"""Redemption at the company's option (SPEC.md §7; §11 Days and order, Payments).

Series G §5 and H §6: any time on 30 days notice; Series M §6(a): after closing on 15
days notice, the holder may convert within 10 days of the notice; M §6(b): DGCL §160
limits a redemption to what the funds legally available pay. Price: stated value plus
accrued unpaid dividends to the redemption date (exclusive).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from ledger import accrual
from ledger.dividends import compound_not_yet_due, settle_compound
from ledger.events import RedemptionNoticed, SharesRedeemed
from ledger.problems import Rejected
from ledger.state import IssuerState, Notice, Redemption, SeriesState
from ledger.values import CONTEXT, ZERO, floor_int, money, money_str, plain


def notice(s: SeriesState, ev: RedemptionNoticed) -> None:
    """SPEC.md §7: ``redemption_date - effective_date >= notice days`` (calendar days, §11).

    M: a notice may be given from the closing date on (§11). A holder has at most one
    pending notice per series: a second one, before the first is redeemed, is rejected.
    §12 ``by: "holder"``: a holder requires redemption (a put), from
    ``holder_redemption_from`` on, for its own shares only, on the same notice.
    """
    t = s.terms
    by = ev.by or "company"
    if by == "holder":
        _holder_request(s, ev)
    elif not t.redeemable or t.redemption_notice_days is None:
        raise Rejected("series", f"Series {s.name} is not redeemable at the company's option")
    if by == "company" and t.redemption_from_closing and (
            s.closing_date is None or ev.effective_date < s.closing_date):
        raise Rejected("effective_date", f"Series {s.name} may be called only from its "
                       f"closing date ({s.closing_date or 'no shares issued yet'})")
    assert t.redemption_notice_days is not None  # terms validation: a put needs notice days
    days = (ev.redemption_date - ev.effective_date).days
    if days < t.redemption_notice_days:
        raise Rejected("redemption_date", f"{days} days of notice; Series {s.name} needs at least "
                       f"{t.redemption_notice_days}")
    for holder in ev.holders:
        prior = s.notices.get(holder)
        if prior is not None:
            raise Rejected(f"holders.{holder}", f"{plain(prior.shares)} Series {s.name} shares of "
                           f"{holder!r} are still under the notice of {prior.notice_date} "
                           f"(redemption date {prior.redemption_date}); redeem them first")
    for holder, shares in ev.holders.items():
        s.notices[holder] = Notice(ev.effective_date, ev.redemption_date, shares, by)
    return None


def _holder_request(s: SeriesState, ev: RedemptionNoticed) -> None:
    """SPEC.md §12 ``holder_redemption_from``: from that date a holder may require the
    redemption of its shares with ``RedemptionNoticed`` ``by: "holder"`` listing only
    that holder, with ``redemption_notice_days`` notice."""
    t = s.terms
    if t.holder_redemption_from is None:
        raise Rejected("by", f"Series {s.name} gives its holders no right to require "
                       "redemption (holder_redemption_from is not set)")
    if len(ev.holders) != 1:
        raise Rejected("holders", "a holder's redemption request lists only that holder "
                       f"({len(ev.holders)} listed)")
    if ev.effective_date < t.holder_redemption_from:
        raise Rejected("effective_date", f"Series {s.name} holders may require redemption "
                       f"from {t.holder_redemption_from}, not on {ev.effective_date}")


def base_price(s: SeriesState) -> Decimal:
    """SPEC.md §12 ``redemption_premium``: premium × stated value per share, to the cent
    (the stated value itself with the default premium of 1)."""
    t = s.terms
    if t.redemption_premium == 1:
        return t.stated_value
    return money(t.redemption_premium * t.stated_value)


def accrued_unpaid(s: SeriesState, holder: str, through: dt.date) -> Decimal:
    """Holder's arrears plus accrual not yet due up to ``through`` (exclusive), rounded
    per due date (SPEC.md §2, §5); ``dividends_payable`` is not part of it (§11)."""
    lots = [lot for lot in s.lots if lot.holder == holder]
    pending = ZERO
    if s.rate is not None:
        due = accrual.not_yet_due(lots, through, s.rate, s.terms.stated_value,
                                  basis=s.terms.day_count)
        for k, v in compound_not_yet_due(s, holder, through).items():  # §12 compounding
            due[k] = due.get(k, ZERO) + v
        pending = accrual.rounded_total(due)
    return s.unpaid(holder) + pending


def price_per_share(s: SeriesState, holder: str, on: dt.date) -> Decimal:
    """Stated value (× the §12 premium) plus the holder's accrued unpaid per share, each
    to the cent (§7, §11)."""
    held = s.held(holder)
    base = base_price(s)
    if held == 0:
        return base
    return base + money(CONTEXT.divide(accrued_unpaid(s, holder, on), held))


def _quote(s: SeriesState, holder: str, shares: Decimal, on: dt.date
           ) -> tuple[Decimal, Decimal]:
    """(accrued, arrears) the redemption of ``shares`` pays, without changing ``s``.

    Accrued: the not-yet-due accrual to ``on`` (exclusive) of the holder's oldest lots
    (§11: oldest lots first), rounded per due date. Arrears: the holder's arrears carried
    pro rata to shares, each amount due split half-up to the cent (§11 Payments).
    """
    held = s.held(holder)
    accrued = ZERO
    if s.rate is not None:
        taken = []
        left = shares
        for lot in (lot for lot in s.lots if lot.holder == holder):
            if left <= 0:
                break
            n = min(left, lot.shares)
            taken.append(replace(lot, shares=n, pending=dict(lot.pending)))
            left -= n
        accrued = accrual.rounded_total(accrual.not_yet_due(
            taken, on, s.rate, s.terms.stated_value, basis=s.terms.day_count))
    arrears = sum((money(CONTEXT.divide(d.unpaid * shares, held))
                   for d in s.dues.get(holder, []) if d.kind == "arrears" and d.unpaid > 0),
                  ZERO)
    return accrued, arrears


def redeem(st: IssuerState, s: SeriesState, ev: SharesRedeemed) -> None:
    """SPEC.md §7 SharesRedeemed: pays stated + accrued unpaid of the redeemed shares.

    Dated on or after the notice's redemption date (§11); at most the noticed shares.
    The aggregate price is shares × the price per share (stated + the holder's accrued
    unpaid per share, to the cent). With ``funds_available`` below it, redeems
    floor(funds ÷ price) whole shares (§11; M §6(b), DGCL §160); the rest stay
    outstanding and noticed. Redeemed shares stop accruing and are never reissued; the
    accrual of their lots and their pro-rata arrears are settled (recorded as
    ``accrued`` and ``arrears``).
    """

    n = s.notices.get(ev.holder)
    if n is None:
        raise Rejected("holder", f"no redemption notice covers {ev.holder!r} on Series {s.name}")
    if ev.effective_date < n.redemption_date:
        raise Rejected("effective_date", f"the notice of {n.notice_date} sets the redemption date "
                       f"{n.redemption_date}; Series {s.name} shares of {ev.holder!r} cannot be "
                       "redeemed before it")
    if ev.shares > n.shares:
        raise Rejected("shares", f"only {plain(n.shares)} Series {s.name} shares of {ev.holder!r} "
                       "are under notice")
    held = s.held(ev.holder)
    price = price_per_share(s, ev.holder, ev.effective_date)
    shares = ev.shares
    funds = ev.funds_available
    if funds is not None and funds < shares * price:
        shares = min(shares, floor_int(CONTEXT.divide(funds, price)))
        st.notes.append(f"{ev.effective_date}: funds of {money_str(funds)} redeem "
                        f"{plain(shares)} of {plain(ev.shares)} Series {s.name} shares of "
                        f"{ev.holder!r} at {money_str(price)} (DGCL §160)")
        if shares <= 0:
            return None
    accrued, arrears = _quote(s, ev.holder, shares, ev.effective_date)
    # §12 compounding: the redeemed part of what the holder's arrears accrued goes too
    accrued += settle_compound(s, ev.holder, ev.effective_date, CONTEXT.divide(shares, held))
    s.lots.take(ev.holder, shares)  # oldest lots first; detached lots stop accruing
    for d in s.dues.get(ev.holder, []):
        if d.kind == "arrears" and d.unpaid > 0:
            d.paid += money(CONTEXT.divide(d.unpaid * shares, held))
    s.redeemed_total += shares
    n.shares -= shares
    if n.shares <= 0:
        del s.notices[ev.holder]
    st.redemptions.append(Redemption(
        ev.effective_date, s.name, ev.holder, shares, price, shares * s.terms.stated_value,
        accrued, arrears, ev.shares, funds, ev.id,
        shares * (base_price(s) - s.terms.stated_value), n.by))
    return None
