"""Dividends: amounts falling due, payments, missed dates, the Series G step-up.

SPEC.md §5 and §11 Payments; Series G certificate §2(a)-(b) for the step-up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import accrual
from .events import DividendPaid
from .schedule import ONE_DAY
from .state import Due, IssuerState, Payment, RateChange, SeriesState
from .values import ZERO, allocate, money_str

__all__ = ["RateChange", "change_rate", "fall_due", "end_of_day", "pay", "arrears_on"]


def change_rate(s: SeriesState, at: dt.date, rate: Decimal, cause: str) -> None:
    """Cut every lot's open piece at ``at``, then accrue at ``rate`` (§11 Accrual)."""
    assert s.rate is not None
    for lot in s.lots:
        accrual.cut(lot, at, s.rate)
    s.rate = rate
    s.rate_history.append(RateChange(at, rate, cause))


def fall_due(s: SeriesState, payment_date: dt.date) -> None:
    """SPEC.md §5 Periods: what accrued in the closed period falls due, rounded per holder."""
    for holder, amt in accrual.take_due(s.lots, payment_date, s.terms.stated_value).items():
        s.dues.setdefault(holder, []).append(Due(payment_date, amt))
    s.last_payment = payment_date


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


def pay(st: IssuerState, s: SeriesState, ev: DividendPaid) -> tuple[str, str] | None:
    """SPEC.md §3 DividendPaid, §11 Payments: oldest due date first.

    Naming a holder: pays that holder's arrears and dividends payable together.
    Series-wide: arrears only, pro rata to what each holder is owed inside one due
    date (floored to the cent, leftover cents by largest remainder).
    """
    if ev.holder is not None:
        dues = sorted((d for d in s.dues.get(ev.holder, []) if d.unpaid > 0),
                      key=lambda d: d.due_date)
        owed = sum((d.unpaid for d in dues), ZERO)
        if ev.amount > owed:
            return ("amount", f"{money_str(ev.amount)} is more than the {money_str(owed)} due "
                    f"or payable to {ev.holder!r} on Series {s.name} on {ev.effective_date}")
        left = ev.amount
        for d in dues:
            take = min(left, d.unpaid)
            d.paid += take
            left -= take
            if left <= 0:
                break
    else:
        owed = s.unpaid()
        if ev.amount > owed:
            return ("amount", f"{money_str(ev.amount)} is more than the Series {s.name} "
                    f"arrears of {money_str(owed)} on {ev.effective_date}")
        left = ev.amount
        dates = sorted({d.due_date for ds in s.dues.values() for d in ds
                        if d.kind == "arrears" and d.unpaid > 0})
        for day in dates:
            if left <= 0:
                break
            per_holder = {h: d for h, ds in s.dues.items() for d in ds
                          if d.kind == "arrears" and d.due_date == day and d.unpaid > 0}
            total = sum((d.unpaid for d in per_holder.values()), ZERO)
            if left >= total:
                for d in per_holder.values():
                    d.paid += d.unpaid
                left -= total
            else:
                parts = allocate(left, {h: d.unpaid for h, d in per_holder.items()})
                for h, part in parts.items():
                    per_holder[h].paid += part
                left = ZERO
    st.payments.append(Payment(ev.effective_date, s.name, ev.amount, ev.holder, ev.id))
    return None
