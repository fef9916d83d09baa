"""Cancellation of shares (SPEC.md §13 ``SharesCancelled``): a repurchase, a forfeiture or
another retirement of a holder's shares, for good.

- The shares leave the holder and never return to the authorized pool: ``issued_total``
  keeps counting them and ``cancelled_total`` counts them apart (SPEC.md §3: retired shares
  are never reissued).
- Preferred: the holder's oldest lots go first (§11, as a redemption or conversion takes
  them) and stop accruing on the event date (accrual runs to it, exclusive, §11 Accrual).
  What the cancelled shares were owed is extinguished: the accrual not yet due of the
  lots taken, rounded per due date (§2), and their pro rata part of the holder's arrears,
  each amount due split ``unpaid × cancelled ÷ held`` half-up to the cent (as a partial
  redemption carries arrears, §11 Payments). Dividends payable on shares converted
  earlier are owed on other shares and stay. With compounding (§12), the cancelled
  part (cancelled ÷ held) of what the holder's arrears accrued and has not fallen due
  is extinguished too, and the base falls with the arrears from that day (the replay
  recomputes it after every event). Declared dividends not yet due (§12, non-cumulative)
  stay with the holder of record, as on a redemption; once due they are arrears.
  Redemption notices shrink to the shares the holder still holds.
- Common: the holder's common falls, and with it common outstanding (the A of later
  anti-dilution adjustments, §6).
"""

from __future__ import annotations

from ledger import accrual
from ledger.dividends import settle_compound
from ledger.events import SharesCancelled
from ledger.state import Cancellation, IssuerState, SeriesState
from ledger.values import CONTEXT, ZERO, money


def cancel_preferred(st: IssuerState, s: SeriesState, ev: SharesCancelled) -> Cancellation:
    """Cancel ``ev.shares`` of ``ev.holder``'s Series ``s`` (the caller checked that they
    are held); returns the record kept on the state (``st.cancellations``)."""
    held = s.held(ev.holder)
    # SPEC.md §12 compounding: the cancelled part of what the holder's arrears accrued
    # and has not fallen due (each due date half-up), before the arrears fall
    accrued = settle_compound(s, ev.holder, ev.effective_date,
                              CONTEXT.divide(ev.shares, held))
    arrears = ZERO
    for d in s.dues.get(ev.holder, []):
        if d.kind == "arrears" and d.unpaid > 0:
            part = money(CONTEXT.divide(d.unpaid * ev.shares, held))
            d.amount -= part  # extinguished, not paid: the amount owed falls
            arrears += part
    parts = s.lots.take(ev.holder, ev.shares)  # oldest lots first; they stop accruing
    if s.rate is not None:
        accrued += accrual.settle(parts, ev.effective_date, s.rate, s.terms.stated_value,
                                  s.terms.day_count)
    s.cancelled_total += ev.shares
    notice = s.notices.get(ev.holder)
    if notice is not None:
        left = held - ev.shares
        if left <= 0:
            del s.notices[ev.holder]
        elif notice.shares > left:
            notice.shares = left
    rec = Cancellation(ev.effective_date, s.name, ev.holder, ev.shares, ev.reason,
                       ev.price_per_share, arrears, accrued, ev.id)
    st.cancellations.append(rec)
    return rec


def cancel_common(st: IssuerState, ev: SharesCancelled) -> Cancellation:
    """Cancel ``ev.shares`` of ``ev.holder``'s common (the caller checked that they are
    held): common outstanding falls by as much (SPEC.md §13)."""
    st.take_common(ev.holder, ev.shares)
    st.common_cancelled_total = CONTEXT.add(st.common_cancelled_total, ev.shares)
    rec = Cancellation(ev.effective_date, "common", ev.holder, ev.shares, ev.reason,
                       ev.price_per_share, event_id=ev.id)
    st.cancellations.append(rec)
    return rec
