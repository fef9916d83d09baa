"""Dividends: amounts falling due, payments, missed dates, the Series G step-up.

SPEC.md §5 and §11 Payments; Series G certificate §2(a)-(b) for the step-up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger import accrual
from ledger.events import DividendPaid
from ledger.problems import Rejected
from ledger.schedule import ONE_DAY
from ledger.state import Due, IssuerState, Payment, RateChange, SeriesState
from ledger.values import CONTEXT, ONE, ZERO, allocate, floor_int, money, money_str, plain

__all__ = ["RateChange", "change_rate", "fall_due", "end_of_day", "pay", "arrears_on",
           "rates_report"]


def change_rate(s: SeriesState, at: dt.date, rate: Decimal, cause: str) -> None:
    """Cut every lot's open piece at ``at``, then accrue at ``rate`` (§11 Accrual)."""
    assert s.rate is not None
    for lot in s.lots:
        accrual.cut(lot, at, s.rate, basis=s.terms.day_count)
    cut_compound(s, at)
    s.rate = rate
    s.rate_history.append(RateChange(at, rate, cause))


def fall_due(s: SeriesState, payment_date: dt.date) -> None:
    """SPEC.md §5 Periods: what accrued in the closed period falls due, rounded per holder
    (§12 compounding: with what the holder's arrears accrued in it)."""
    raw = accrual.take_due_raw(s.lots, payment_date, s.terms.stated_value, s.terms.day_count)
    if s.compound:
        _compound_due(s, payment_date, raw)
    for holder, amt in raw.items():
        s.dues.setdefault(holder, []).append(Due(payment_date, money(amt)))
    s.last_payment = payment_date
    accrual.merge_alike(s.lots)  # keeps the lot count near the holder count (performance)


def end_of_day(s: SeriesState, t: dt.date) -> None:
    """SPEC.md §5 Missed and Step-up, run at the end of day ``t``.

    A payment date with arrears left is missed; every ``every_missed``-th consecutive
    miss raises the rate by ``increment`` from the next day, up to ``cap`` (Series G
    §2(b)). A payment date not missed resets the count. When arrears are zero the rate
    returns to the base rate from the next day and the count to zero.
    """
    arrears = s.unpaid()
    base = s.terms.dividend_rate
    assert base is not None and s.rate is not None
    if s.last_payment == t:
        if arrears > 0:
            s.missed_streak += 1
            s.missed_dates.append(t)
            s.missed_arrears[t] = arrears
            up = s.terms.step_up
            if up is not None and s.missed_streak % up.every_missed == 0:
                current = s.pending_rate[1] if s.pending_rate else s.rate
                new = min(current + up.increment, up.cap)
                if new != current:
                    s.pending_rate = (t + ONE_DAY, new,
                                      f"step-up: {s.missed_streak} consecutive missed "
                                      f"payment dates through {t}")
        else:
            s.missed_streak = 0
    if arrears == 0:
        s.missed_streak = 0
        current = s.pending_rate[1] if s.pending_rate else s.rate
        if current != base:
            s.pending_rate = (t + ONE_DAY, base, f"reset: arrears paid in full on {t}")


def arrears_on(s: SeriesState) -> Decimal:
    return s.unpaid()


def pay(st: IssuerState, s: SeriesState, ev: DividendPaid) -> None:
    """SPEC.md §3 DividendPaid, §11 Payments: oldest due date first.

    Naming a holder: pays that holder's arrears and dividends payable together.
    Series-wide: arrears only, pro rata to what each holder is owed inside one due
    date (floored to the cent, leftover cents by largest remainder). Cash is whole cents
    (§2). The arrears of the other series at this moment are kept on the ``Payment`` for
    the §5 Priority check. In kind (§12 ``form: "shares"``): see ``_in_kind``.
    """
    if ev.amount != money(ev.amount):
        raise Rejected("amount", f"{ev.amount} is not a whole number of cents")
    others = tuple((o.name, o.unpaid()) for o in st.series.values()
                   if o is not s and not o.extinguished and o.unpaid() > 0)
    plan = _plan(s, ev)
    amount = ev.amount
    in_kind: tuple[tuple[str, Decimal], ...] = ()
    if ev.form == "shares":
        amount, in_kind, plan = _in_kind(s, ev, plan)
    for _h, d, take in plan:
        d.paid += take
    if in_kind:
        _issue_in_kind(s, ev.effective_date, dict(in_kind))
    st.payments.append(Payment(ev.effective_date, s.name, amount, ev.holder, ev.id, others,
                               ev.form or "cash", in_kind))
    return None


def _plan(s: SeriesState, ev: DividendPaid) -> list[tuple[str, Due, Decimal]]:
    """What ``ev`` pays on which amount due (SPEC.md §11 Payments), without paying it."""
    out: list[tuple[str, Due, Decimal]] = []
    if ev.holder is not None:
        dues = sorted((d for d in s.dues.get(ev.holder, []) if d.unpaid > 0),
                      key=lambda d: d.due_date)
        owed = sum((d.unpaid for d in dues), ZERO)
        if ev.amount > owed:
            raise Rejected("amount", f"{money_str(ev.amount)} is more than the "
                           f"{money_str(owed)} due or payable to {ev.holder!r} on Series "
                           f"{s.name} on {ev.effective_date}")
        left = ev.amount
        for d in dues:
            take = min(left, d.unpaid)
            out.append((ev.holder, d, take))
            left -= take
            if left <= 0:
                break
        return out
    owed = s.unpaid()
    if ev.amount > owed:
        raise Rejected("amount", f"{money_str(ev.amount)} is more than the Series {s.name} "
                       f"arrears of {money_str(owed)} on {ev.effective_date}")
    left = ev.amount
    open_ = s.open_arrears()  # due date -> {holder: Due}, unpaid > 0 (live index)
    for day in sorted(open_):
        if left <= 0:
            break
        per_holder = dict(open_.get(day, {}))
        total = sum((d.unpaid for d in per_holder.values()), ZERO)
        if left >= total:
            out += [(h, d, d.unpaid) for h, d in per_holder.items()]
            left -= total
        else:
            parts = allocate(left, {h: d.unpaid for h, d in per_holder.items()})
            out += [(h, per_holder[h], part) for h, part in parts.items() if part > 0]
            left = ZERO
    return out


def _in_kind(s: SeriesState, ev: DividendPaid, plan: list[tuple[str, Due, Decimal]]
             ) -> tuple[Decimal, tuple[tuple[str, Decimal], ...], list[tuple[str, Due, Decimal]]]:
    """SPEC.md §12 paid in kind: each holder's part of the amount (split as §11) buys
    floor(part ÷ pik_price) whole shares; only those shares' value (shares × pik_price) is
    applied to what the holder is owed, oldest first; the cents that buy no whole share
    stay owed. PIK shares count against ``authorized_shares``. Returns the value applied,
    the shares per holder and the plan cut to the value applied."""
    price = s.terms.pik_price_in_force
    part: dict[str, Decimal] = {}
    for h, _d, take in plan:
        part[h] = part.get(h, ZERO) + take
    shares = {h: floor_int(CONTEXT.divide(v, price)) for h, v in sorted(part.items())}
    shares = {h: n for h, n in shares.items() if n > 0}
    if not shares:
        raise Rejected("amount", f"{money_str(ev.amount)} in kind at the pik_price of "
                       f"{money_str(price)} buys no whole Series {s.name} share")
    total = sum(shares.values(), ZERO)
    after = s.issued_total + total
    if after > s.terms.authorized_shares:
        raise Rejected("amount", f"paying in kind issues {plain(total)} Series {s.name} "
                       f"shares, bringing the series to {plain(after)} issued, more than the "
                       f"{plain(s.terms.authorized_shares)} authorized")
    value = {h: n * price for h, n in shares.items()}
    cut: list[tuple[str, Due, Decimal]] = []
    for h, d, take in plan:
        left = value.get(h, ZERO)
        use = min(left, take)
        if use > 0:
            cut.append((h, d, use))
            value[h] = left - use
    applied = sum((n * price for n in shares.values()), ZERO)
    return applied, tuple(shares.items()), cut


def _issue_in_kind(s: SeriesState, day: dt.date, shares: dict[str, Decimal]) -> None:
    """SPEC.md §12: PIK shares are a new lot per holder, issued on the payment day and
    accruing from that day (its period's payment date as for any new lot)."""
    open_due = s.schedule.due_date(day) if s.rate is not None else None
    seq = max((lot.seq for lot in s.lots), default=-1) + 1
    for k, (holder, n) in enumerate(sorted(shares.items())):
        s.lots.append(accrual.Lot(holder, n, day, seq + k, day, open_due))
    total = sum(shares.values(), ZERO)
    s.issued_total += total
    s.pik_shares += total


# -- SPEC.md §12 General terms: declared dividends (non-cumulative series) ----------------

def _add_due(s: SeriesState, holder: str, day: dt.date, amount: Decimal) -> None:
    """An amount falling due to ``holder`` on ``day``: added to the holder's amount of
    that day if there is one (one amount per holder and payment date, SPEC.md §11)."""
    ds = s.dues.setdefault(holder, [])
    for d in reversed(ds):
        if d.due_date == day and d.kind == "arrears":
            d.amount += amount
            return
        if d.due_date < day:
            break
    ds.append(Due(day, amount))


def record_holders(s: SeriesState, t: dt.date) -> bool:
    """End of day ``t`` (SPEC.md §12 DividendDeclared): each holder of record at the end of
    a declaration's record date is owed shares × amount per share, half-up to the cent.
    A declaration whose payment date is its record date falls due right then. Returns
    whether anything fell due."""
    for d in s.declarations:
        if d.owed is None and d.record_date <= t:
            d.owed = {h: money(n * d.amount_per_share)
                      for h, n in sorted(s.holdings().items()) if n > 0}
    return declared_fall_due(s, t)


def declared_fall_due(s: SeriesState, t: dt.date) -> bool:
    """Start of day ``t``: declared amounts whose payment date has come fall due (they are
    arrears from then on, until paid). Returns whether anything fell due."""
    due = [d for d in s.declarations if d.owed is not None and d.payment_date <= t]
    if not due:
        return False
    s.declarations[:] = [d for d in s.declarations if all(d is not x for x in due)]
    for d in due:
        assert d.owed is not None
        for h, amt in d.owed.items():
            if amt > 0:
                _add_due(s, h, d.payment_date, amt)
    return True


def declared_points(s: SeriesState) -> list[dt.date]:
    """The days the calendar must visit for ``s``'s declarations: the end of each record
    date not yet passed, the start of each payment date."""
    return [d.record_date if d.owed is None else d.payment_date for d in s.declarations]


# -- SPEC.md §12 General terms: compounding (``compounding: payment_date``) -------------------

def _cut_one(s: SeriesState, holder: str, lot: accrual.Lot, at: dt.date,
             new_due: dt.date | None = None) -> None:
    assert s.rate is not None
    base = s.compound_base.get(holder, ZERO)
    if base and s.rate:
        accrual.cut(lot, at, s.rate * base, new_due, s.terms.day_count)
    else:  # nothing accrues: move the piece on without a zero amount
        lot.piece_start = max(lot.piece_start, at)
        if new_due is not None:
            lot.open_due = new_due


def cut_compound(s: SeriesState, at: dt.date, new_due: dt.date | None = None) -> None:
    """Close every holder's compounding piece at ``at`` (a rate change, a period start)."""
    for h, lot in s.compound.items():
        _cut_one(s, h, lot, at, new_due)


def compound(s: SeriesState, day: dt.date) -> None:
    """SPEC.md §12 compounding: from ``day`` each holder's accrual base is its arrears
    that fell due before ``day`` and are still unpaid; where it changes, the holder's
    piece is cut (an amount unpaid at the end of its payment date joins from the next
    day; a payment, in cash or in kind, or a redemption lowers it from its own day).
    Without ``compounding`` (or after an amendment removed it) the base is zero."""
    if s.rate is None or s.extinguished:
        return
    on = s.terms.compounding == "payment_date"
    if not on and not s.compound_base:
        return
    target: dict[str, Decimal] = {}
    if on:
        for due_date, per_holder in s.open_arrears().items():
            if due_date < day:
                for h, d in per_holder.items():
                    target[h] = target.get(h, ZERO) + d.unpaid
    for h in sorted(set(target) | set(s.compound_base)):
        new = target.get(h, ZERO)
        if new == s.compound_base.get(h, ZERO):
            continue
        lot = s.compound.get(h)
        if lot is None:
            lot = s.compound[h] = accrual.Lot(h, ONE, day, 0, day, s.schedule.due_date(day))
        else:
            _cut_one(s, h, lot, day)
        if new:
            s.compound_base[h] = new
        else:
            s.compound_base.pop(h, None)


def _compound_due(s: SeriesState, payment_date: dt.date, raw: dict[str, Decimal]) -> None:
    """What each holder's arrears accrued in the period closing on ``payment_date``, added
    to the holder's amount before rounding (rounded per holder per period, §2)."""
    for h in list(s.compound):
        lot = s.compound[h]
        for holder, v in accrual.take_due_raw([lot], payment_date, ONE,
                                              s.terms.day_count).items():
            raw[holder] = raw.get(holder, ZERO) + v
        if not lot.pending and h not in s.compound_base:
            del s.compound[h]  # nothing accrues and nothing is pending: forget it


def compound_not_yet_due(s: SeriesState, holder: str, through: dt.date
                         ) -> dict[dt.date, Decimal]:
    """The accrual of ``holder``'s arrears not yet due, to ``through`` (exclusive), per
    due date, unrounded."""
    lot = s.compound.get(holder)
    if lot is None or s.rate is None:
        return {}
    rate = s.rate * s.compound_base.get(holder, ZERO)
    return accrual.not_yet_due([lot], through, rate, ONE, basis=s.terms.day_count)


def settle_compound(s: SeriesState, holder: str, at: dt.date, part: Decimal) -> Decimal:
    """A redemption of ``part`` (a fraction) of ``holder``'s shares settles that part of
    the accrual on its arrears not yet due, each due date rounded half-up (§11: arrears
    travel with redeemed shares pro rata); the rest stays with the holder."""
    lot = s.compound.get(holder)
    if lot is None or part <= 0:
        return ZERO
    _cut_one(s, holder, lot, at)
    out = ZERO
    for due, rd in list(lot.pending.items()):
        taken = CONTEXT.multiply(rd, part)
        out += money(accrual.amount(ONE, ONE, taken, s.terms.day_count))
        lot.pending[due] = rd - taken
    return out


def rates_report(st: IssuerState, series: str) -> dict[str, object]:
    """The ``rates --series S`` report (SPEC.md §5 Step-up, §10): every dividend-rate
    change with its effective date and cause, as of the state's day. A change already
    fixed by the end of that day but effective the next day (a step-up or reset from
    P + 1) is listed too, marked ``scheduled``."""
    s = st.series[series]
    rows: list[dict[str, object]] = [
        {"effective_date": r.effective.isoformat(), "rate": plain(r.rate), "cause": r.cause,
         "scheduled": False}
        for r in s.rate_history
    ]
    if s.pending_rate is not None and not s.extinguished:
        when, rate, cause = s.pending_rate
        rows.append({"effective_date": when.isoformat(), "rate": plain(rate), "cause": cause,
                     "scheduled": True})
    pays = s.rate is not None
    owes = pays or not s.terms.cumulative  # SPEC.md §12: declared dividends fall due
    return {
        "issuer": st.issuer,
        "as_of": st.day.isoformat() if st.day else None,
        "series": s.name,
        "base_rate": None if s.terms.dividend_rate is None else plain(s.terms.dividend_rate),
        "dividend_rate": None if s.rate is None else plain(s.rate),
        "missed_streak": s.missed_streak if pays else None,
        "arrears": money_str(s.unpaid()) if owes else None,
        "missed_dates": [d.isoformat() for d in s.missed_dates],
        "rates": rows,
        # SPEC.md §12 Amendments: every TermsAmended of the series, as of the state's day
        "amendments": [
            {"effective_date": a.effective.isoformat(), "event_id": a.event_id,
             "changes": dict(a.changes), "changed_fields": list(a.changed)}
            for a in s.amendments
        ],
    }
