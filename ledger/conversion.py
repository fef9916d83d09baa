"""Conversion, anti-dilution and splits (SPEC.md §6; §11 Conversion; §12 Anti-dilution,
Conversion).

Series H certificate: 1,388.89 common per share, anti-dilution below $0.72; Series M:
4,000 common per share from one year after closing, anti-dilution below $0.25; Series K:
automatic on the shareholder approval, stated value / $0.23. The general terms add the
price-based methods (full ratchet, narrow and broad weighted average, each keeping a
conversion price CP = stated ÷ rate), what counts as an issuance, and mandatory
conversion on an approval, a qualified public offering or a date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger import accrual
from ledger.daycount import add_years
from ledger.events import (
    CommonStockIssued,
    CommonStockSplit,
    PublicOffering,
    ShareholderApproval,
    SharesConverted,
    SharesIssued,
)
from ledger.problems import Rejected
from ledger.state import UNATTRIBUTED, Adjustment, Conversion, Due, IssuerState, SeriesState
from ledger.terms import PRICE_BASED, ApprovalTrigger, DateTrigger, OfferingTrigger
from ledger.values import CONTEXT, ZERO, floor_int, money, money_str, plain


@dataclass(frozen=True)
class Issuance:
    """One issuance of common, or of rights to common, as anti-dilution sees it (SPEC.md
    §6; §12 Anti-dilution): ``a`` common outstanding just before, ``issuable`` the
    common issuable on conversion of every outstanding convertible series at its rate
    just before (unrounded), ``c`` the common issued, ``consideration`` what was paid.

    ``source``: ``"common"`` (a ``CommonStockIssued`` of ``kind``; an offering is a
    ``sale``), ``"conversion"`` or ``"convertible_issuance"`` of Series ``series``.
    """

    cause: str
    event_id: str | None
    when: dt.date
    a: Decimal
    issuable: Decimal
    c: Decimal
    consideration: Decimal
    source: str
    kind: str | None = None
    series: SeriesState | None = None

    @property
    def price(self) -> Decimal:
        """P = consideration ÷ C, per common share."""
        return CONTEXT.divide(self.consideration, self.c)


def issuable(st: IssuerState) -> Decimal:
    """Common issuable on conversion of every outstanding convertible series at its rate
    in force, unrounded (SPEC.md §12 ``broad_weighted``: part of A)."""
    total = ZERO
    for s in st.series.values():
        if s.extinguished or s.conversion_rate is None or s.terms.conversion == "none":
            continue
        total = CONTEXT.add(total, CONTEXT.multiply(s.outstanding, s.conversion_rate))
    return total


def _counts(s: SeriesState, iss: Issuance) -> bool:
    """Whether ``iss`` counts for ``s``'s anti-dilution (SPEC.md §6 exemptions; §12
    ``antidilution_exempt_kinds``, ``antidilution_counts``)."""
    t = s.terms
    if iss.source == "common":
        return iss.kind not in t.antidilution_exempt_kinds
    other = iss.series
    assert other is not None
    if iss.source == "conversion":
        # §6: conversions of a series designated on or before the protected one (its
        # own included) are exempt; §12: only with ``later_conversions``
        return (t.antidilution_counts == "later_conversions"
                and other.terms.designated > t.designated)
    # §12 ``convertible_issuances``: another convertible series sold at a price
    return t.antidilution_counts == "convertible_issuances" and other is not s


def _level(s: SeriesState) -> Decimal | None:
    """The price below which an issuance adjusts ``s``: its threshold (§6) or its
    conversion price in force (§12 price-based methods)."""
    method = s.terms.antidilution_method
    if method == "threshold":
        return s.threshold
    if method in PRICE_BASED:
        return s.conversion_price
    return None


def _protected(st: IssuerState, iss: Issuance) -> list[SeriesState]:
    """Series whose anti-dilution ``iss`` triggers (SPEC.md §6, §12): every protected
    series already designated (replayed before the issuance, same day counts, §11), not
    exempt from it, whose threshold or conversion price is above the price."""
    out = []
    price = iss.price
    for s in st.series.values():
        if s.conversion_rate is None or s.extinguished:
            continue
        level = _level(s)
        if level is None or not _counts(s, iss):
            continue
        if price < level:
            out.append(s)
    return out


def _adjusted(s: SeriesState, iss: Issuance) -> Adjustment:
    """The adjustment ``iss`` makes to ``s`` (not applied). Raises ``Rejected`` when it
    cannot be made (a factor or conversion price of zero or undefined).

    - ``threshold`` (SPEC.md §6): rate × (A + C) / (A + B), B = consideration ÷ threshold.
    - ``full_ratchet`` (§12): CP' = P.
    - ``narrow_weighted``: CP' = CP × (A + B) / (A + C), B = consideration ÷ CP.
    - ``broad_weighted``: the same with A = common outstanding + ``issuable``.

    For the price-based methods the new rate is stated ÷ CP' (40 digits).
    """
    assert s.conversion_rate is not None
    method = s.terms.antidilution_method
    before = s.conversion_rate
    price = iss.price
    if method == "threshold":
        assert s.threshold is not None
        tb = CONTEXT.divide(iss.consideration, s.threshold)
        a_plus_b = CONTEXT.add(iss.a, tb)
        if a_plus_b <= 0:
            raise Rejected("consideration", "common issued for no consideration while no "
                           "common is outstanding: the anti-dilution factor (A + C) / (A + B) "
                           "has A + B = 0")
        factor = CONTEXT.divide(CONTEXT.add(iss.a, iss.c), a_plus_b)
        after = CONTEXT.multiply(before, factor)
        return Adjustment(
            effective=iss.when, cause=iss.cause, event_id=iss.event_id, factor=factor,
            rate_before=before, rate_after=after, a=iss.a, b=tb, c=iss.c, price=price,
            threshold=s.threshold, consideration=iss.consideration, method=method,
            cp_before=s.conversion_price,
            cp_after=CONTEXT.divide(s.terms.stated_value, after))
    cp = s.conversion_price
    assert cp is not None
    a = iss.a
    b: Decimal | None = None
    if method == "full_ratchet":
        cp_after = price
    else:
        if method == "broad_weighted":
            a = CONTEXT.add(a, iss.issuable)
        b = CONTEXT.divide(iss.consideration, cp)
        cp_after = CONTEXT.divide(CONTEXT.multiply(cp, CONTEXT.add(a, b)),
                                  CONTEXT.add(a, iss.c))
    if cp_after <= 0:
        raise Rejected("consideration", f"an issuance for no consideration would set Series "
                       f"{s.name}'s conversion price to 0 ({method.replace('_', ' ')} "
                       "anti-dilution)")
    after = CONTEXT.divide(s.terms.stated_value, cp_after)
    return Adjustment(
        effective=iss.when, cause=iss.cause, event_id=iss.event_id,
        factor=CONTEXT.divide(after, before), rate_before=before, rate_after=after, a=a,
        b=b, c=iss.c, price=price, consideration=iss.consideration, method=method,
        cp_before=cp, cp_after=cp_after)


def _antidilution(st: IssuerState, iss: Issuance) -> list[tuple[SeriesState, Adjustment]]:
    """Every adjustment ``iss`` makes (SPEC.md §6, §12), computed from the figures just
    before it, none applied yet (so a rejected issuance changes nothing)."""
    if iss.c <= 0:
        return []
    return [(s, _adjusted(s, iss)) for s in _protected(st, iss)]


def _apply(adjs: list[tuple[SeriesState, Adjustment]]) -> None:
    """Apply adjustments computed by ``_antidilution``; each is kept as an explainable
    ``Adjustment`` record."""
    for s, adj in adjs:
        s.conversion_rate = adj.rate_after
        s.conversion_price = adj.cp_after
        s.adjustments.append(adj)


def issue_common(st: IssuerState, ev: CommonStockIssued) -> None:
    """SPEC.md §3 CommonStockIssued: common outstanding grows; §6, §12 anti-dilution.

    Kinds in a series' ``antidilution_exempt_kinds`` (default ``opening`` and
    ``option_exercise``, §6) never adjust it; the others adjust every protected series
    whose threshold or conversion price is above the price per common share.
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
    _issue_common(st, ev.shares, ev.kind, consideration,
                  f"common {ev.kind} of {plain(ev.shares)} shares", ev.id, ev.effective_date,
                  ev.holder)


def _issue_common(st: IssuerState, shares: Decimal, kind: str, consideration: Decimal | None,
                  cause: str, event_id: str | None, when: dt.date,
                  holder: str | None = UNATTRIBUTED) -> None:
    """Issue ``shares`` common to ``holder`` (SPEC.md §13: without one, the unattributed
    holder); an opening without consideration has no price and never adjusts (§6)."""
    adjs: list[tuple[SeriesState, Adjustment]] = []
    if consideration is not None:
        adjs = _antidilution(st, Issuance(
            cause, event_id, when, st.common_outstanding,
            issuable(st) if _needs_issuable(st) else ZERO, shares, consideration, "common",
            kind))
    st.add_common(holder, shares)
    _apply(adjs)


def issue_convertible(st: IssuerState, s: SeriesState, ev: SharesIssued) -> None:
    """SPEC.md §12 ``antidilution_counts: "convertible_issuances"``: an issuance of a
    convertible series at a ``price_per_share`` issues C = shares × its rate just after
    (unrounded; its own issuance leaves its rate as it was) for consideration shares ×
    price. Called before the new lot is added, so A and ``issuable`` are "just before"."""
    if ev.price_per_share is None or s.conversion_rate is None or s.terms.conversion == "none":
        return
    if not any(o.terms.antidilution_counts == "convertible_issuances" and o is not s
               and not o.extinguished for o in st.series.values()):
        return
    c = CONTEXT.multiply(ev.shares, s.conversion_rate)
    iss = Issuance(f"issuance of {plain(ev.shares)} Series {s.name} at "
                   f"{plain(ev.price_per_share)}", ev.id, ev.effective_date,
                   st.common_outstanding, issuable(st) if _needs_issuable(st) else ZERO, c,
                   CONTEXT.multiply(ev.shares, ev.price_per_share), "convertible_issuance",
                   series=s)
    _apply(_antidilution(st, iss))


def split(st: IssuerState, ev: CommonStockSplit) -> None:
    """SPEC.md §6 Split: common × r, conversion rates × r, thresholds ÷ r (exact, §11);
    §12: conversion prices ÷ r; §13: every holder's common × r, exactly."""
    r = ev.ratio
    st.scale_common(r)
    for s in st.series.values():
        if s.conversion_rate is not None:
            before = s.conversion_rate
            cp = s.conversion_price
            s.conversion_rate = CONTEXT.multiply(before, r)
            if cp is not None:
                s.conversion_price = CONTEXT.divide(cp, r)
            s.adjustments.append(Adjustment(
                ev.effective_date, f"common split: {plain(r)} new shares per old share",
                ev.id, r, before, s.conversion_rate, method="split", cp_before=cp,
                cp_after=s.conversion_price))
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
                event_id: str | None, trigger: str | None = None) -> Conversion:
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
        payable = accrual.settle(parts, when, s.rate, s.terms.stated_value,
                                 s.terms.day_count)
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
    st.add_common(holder, common)  # SPEC.md §13: to the converting holder
    conv = Conversion(when, s.name, holder, shares, common, fraction, cash, payable,
                      automatic, rate, event_id, trigger)
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
    before = issuable(st) if _needs_issuable(st) else ZERO
    if notice is not None and noticed_converted > 0:
        notice.shares -= noticed_converted
        if notice.shares <= 0:
            del s.notices[ev.holder]
    conv = _do_convert(st, s, ev.holder, ev.shares, ev.effective_date, ev.market_price,
                       False, ev.id)
    _apply(_antidilution(st, Issuance(
        f"conversion of {plain(ev.shares)} Series {s.name} of {ev.holder}", ev.id,
        ev.effective_date, a, before, conv.common, ev.shares * t.stated_value, "conversion",
        series=s)))
    return None


def _needs_issuable(st: IssuerState) -> bool:
    """Whether any series would read ``issuable`` (broad-weighted anti-dilution): only
    then is it computed, since it sums every lot of every convertible series."""
    return any(s.terms.antidilution_method == "broad_weighted" and not s.extinguished
               for s in st.series.values())


def _pending(s: SeriesState) -> bool:
    """Whether ``s`` still waits for a mandatory conversion (SPEC.md §12: the first
    trigger met converts; shares issued afterwards stay, as K's do, §11)."""
    return (bool(s.terms.triggers) and not s.extinguished and s.conversion_rate is not None
            and s.converted_on is None)


def _mandatory(st: IssuerState, s: SeriesState, when: dt.date, cause: str, trigger: str,
               event_id: str | None, market_price: Decimal | None) -> None:
    """Every holder's shares of ``s`` convert at once (SPEC.md §6 K, §12 Conversion).

    The whole conversion is one issuance for anti-dilution (§11): C and the
    consideration are summed over the holders. A fraction of a common share is paid in
    cash at ``market_price`` (an offering's price), else dropped and noted (§11).
    Redemption notices of the converted shares lapse.
    """
    s.converted_on = when
    a = st.common_outstanding
    before = issuable(st) if _needs_issuable(st) else ZERO
    c = ZERO
    surrendered = ZERO
    for holder, shares in sorted(s.holdings().items()):
        conv = _do_convert(st, s, holder, shares, when, market_price, True, event_id,
                           trigger)
        c = CONTEXT.add(c, conv.common)
        surrendered += shares
    s.notices.clear()
    if surrendered > 0:
        _apply(_antidilution(st, Issuance(
            f"{cause} of {plain(surrendered)} Series {s.name}", event_id, when, a, before, c,
            surrendered * s.terms.stated_value, "conversion", series=s)))


def automatic(st: IssuerState, ev: ShareholderApproval) -> None:
    """SPEC.md §6: K converts, all holders, on the approval listing its trigger; §12: so
    does every series with a mandatory ``{"approval": MATTER}`` trigger listed.

    K §5(a) has one Conversion Date: only the first trigger met converts; K shares
    issued later stay K (§11).
    """
    for s in list(st.series.values()):
        if not _pending(s):
            continue
        hit = next((tr.approval for tr in s.terms.triggers
                    if isinstance(tr, ApprovalTrigger) and tr.approval in ev.matters), None)
        if hit is not None:
            _mandatory(st, s, ev.effective_date, "automatic conversion", f"approval {hit}",
                       ev.id, None)


def _qualifies(tr: OfferingTrigger, ev: PublicOffering) -> bool:
    """SPEC.md §12: an offering at ``min_price`` or more raising ``min_gross_proceeds``
    or more (a minimum left out is no condition)."""
    m = tr.public_offering
    return ((m.min_price is None or ev.price_per_share >= m.min_price)
            and (m.min_gross_proceeds is None or ev.gross_proceeds >= m.min_gross_proceeds))


def offering(st: IssuerState, ev: PublicOffering) -> None:
    """SPEC.md §12 ``PublicOffering``: first the mandatory conversions it triggers (in
    designation order; fractions paid in cash at the offering price), then its common
    is issued as a ``sale`` at ``price_per_share``, which may adjust the other series; it
    goes to the offering's ``holder``, else to the unattributed holder (§13)."""
    if money(ev.price_per_share * ev.shares) != money(ev.gross_proceeds):
        raise Rejected("gross_proceeds", f"{money_str(ev.gross_proceeds)} does not equal "
                       f"shares × price_per_share = {money_str(ev.price_per_share * ev.shares)}")
    for s in list(st.series.values()):
        if _pending(s) and any(isinstance(tr, OfferingTrigger) and _qualifies(tr, ev)
                               for tr in s.terms.triggers):
            _mandatory(st, s, ev.effective_date, "mandatory conversion on the public offering",
                       "public offering", ev.id, ev.price_per_share)
    _issue_common(st, ev.shares, "sale", ev.gross_proceeds,
                  f"public offering of {plain(ev.shares)} shares at "
                  f"{plain(ev.price_per_share)}", ev.id, ev.effective_date, ev.holder)


def next_trigger_date(s: SeriesState) -> dt.date | None:
    """The next ``{"date": D}`` trigger of ``s`` still to come (SPEC.md §12), for the
    replay calendar."""
    if not s.terms.mandatory_conversion or s.converted_on is not None or not _pending(s):
        return None  # (the cheap tests first: the calendar asks every series every day)
    dates = [tr.date for tr in s.terms.mandatory_conversion if isinstance(tr, DateTrigger)]
    return min(dates) if dates else None


def date_triggers(st: IssuerState, day: dt.date) -> None:
    """SPEC.md §12 ``{"date": D}``: at the start of D, after the amounts falling due that
    day (§11 Days and order), before the day's events."""
    for s in list(st.series.values()):
        d = next_trigger_date(s)
        if d is not None and d <= day:
            _mandatory(st, s, day, "mandatory conversion", f"date {d}", None, None)


def votes(s: SeriesState, shares: Decimal) -> Decimal:
    """SPEC.md §6, §11: floor(shares × rate) as converted; a non-voting series has 0.
    §12 ``per_share``: floor(shares × votes_per_share) per holder."""
    if s.terms.votes == "per_share":
        return floor_int(CONTEXT.multiply(shares, s.terms.votes_per_share))
    if s.terms.votes == "none" or s.conversion_rate is None:
        return ZERO
    return floor_int(CONTEXT.multiply(shares, s.conversion_rate))


def conversion_price(s: SeriesState) -> Decimal | None:
    """CP in force = stated ÷ rate (SPEC.md §12); kept exactly by the price-based methods
    (and set from ``conversion_price`` or stated ÷ ``conversion_rate`` at designation)."""
    if s.conversion_rate is None:
        return None
    if s.conversion_price is not None:
        return s.conversion_price
    return CONTEXT.divide(s.terms.stated_value, s.conversion_rate)


def _opt(d: Decimal | None) -> str | None:
    return None if d is None else plain(d)


def listing(st: IssuerState, series: str) -> dict[str, Any]:
    """The ``conversions --series S`` report (SPEC.md §10): every conversion-rate
    adjustment with its A, B, C, factor and rates, plus the conversions, redemptions and
    cancellations of the series, each recomputable by hand (§6, §7, §13)."""
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
        "antidilution": t.antidilution_method,
        "conversion_price": _opt(conversion_price(s)),
        "mandatory_conversion": [tr.model_dump(mode="json") for tr in t.triggers],
        "converted_on": s.converted_on.isoformat() if s.converted_on else None,
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
                "method": adj.method,
                "conversion_price_before": _opt(adj.cp_before),
                "conversion_price_after": _opt(adj.cp_after),
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
                "trigger": c.trigger,
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
                # SPEC.md §12: only for a series with a premium or a holder put
                **({"premium": money_str(r.premium), "by": r.by}
                   if r.premium or r.by != "company" or s.terms.redemption_premium != 1
                   else {}),
            }
            for r in st.redemptions if r.series == s.name
        ],
        # SPEC.md §13: shares cancelled, with what they were owed and lost
        "cancellations": [
            {
                "date": c.effective.isoformat(),
                "holder": c.holder,
                "shares": plain(c.shares),
                "reason": c.reason,
                "price_per_share": _opt(c.price_per_share),
                "paid": None if c.paid is None else money_str(c.paid),
                "arrears_extinguished": money_str(c.arrears),
                "accrued_extinguished": money_str(c.accrued),
                "extinguished": money_str(c.extinguished),
                "event_id": c.event_id,
            }
            for c in st.cancellations if c.series == s.name
        ],
        "notices": [
            {"holder": h, "notice_date": n.notice_date.isoformat(),
             "redemption_date": n.redemption_date.isoformat(), "shares": plain(n.shares),
             **({"by": n.by} if t.holder_redemption_from is not None else {})}
            for h, n in sorted(s.notices.items())
        ],
    }
