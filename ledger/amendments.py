"""Amendments of a series' terms (SPEC.md §12 Amendments).

A ``TermsAmended`` gives the series new terms from its effective date: the terms in force
with ``changes`` applied, validated as the whole new terms (every rule of
``ledger.terms.Terms``). The timeline from that date on must still validate: replay
re-applies every later event under the new terms, and a load that breaks one is rejected
(SPEC.md §1). What the amendment does to the running figures:

- a dividend-rate change cuts every accrual piece at the effective date (§11 Accrual):
  the day itself accrues at the new rate. A Series G-style step-up already earned is
  kept on top of the new base rate (capped by the new ``step_up.cap``; dropped when the
  new terms have no step-up). A change to the same value cuts nothing (30/360 is not
  additive across a 31st, so a needless cut would move a figure);
- a series that accrued nothing (no rate, a rate of 0 at designation, or
  non-cumulative) starts accruing from the effective date when the new terms give it a
  cumulative rate above 0; only such a series (owing nothing) may change its payment
  schedule (``cumulative``, ``period_starts``, ``payment_lag_days``,
  ``first_payment_date``, ``day_count``) or its ``stated_value``, since those shape
  accrual already running. A rate of ``null`` on a series that accrues is refused (amend
  it to ``"0"`` to stop the dividends: amounts already accrued still fall due on their
  payment dates);
- a lower ``authorized_shares`` than the shares issued so far is refused;
- a new ``conversion_rate`` / ``conversion_price`` sets the rate in force (recorded as an
  adjustment, so ``conversions`` shows it) and the conversion price with it (stated ÷
  rate), and a new ``antidilution_threshold`` the threshold in force; later adjustments
  apply to them;
- ``series`` and ``designated`` are the series' identity and are never amended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ledger import dividends
from ledger.events import TermsAmended
from ledger.problems import Rejected
from ledger.schedule import Schedule
from ledger.state import Adjustment, Amendment, RateChange, SeriesState
from ledger.terms import Terms
from ledger.values import CONTEXT, ZERO, plain

#: the fields no amendment may change: the series' identity
IDENTITY = ("series", "designated")
#: the fields that shape the accrual already running: amendable only while nothing accrues
#: (the stated value prices the whole open period when it falls due)
SCHEDULE = ("cumulative", "period_starts", "payment_lag_days", "first_payment_date",
            "day_count", "stated_value")


def new_terms(s: SeriesState, ev: TermsAmended) -> Terms:
    """The terms in force with ``ev.changes`` applied, validated as a whole."""
    for name in IDENTITY:
        if name in ev.changes:
            raise Rejected(f"changes.{name}", f"the {name} of a series is never amended "
                           f"(Series {s.name}); designate a new series instead")
    merged: dict[str, Any] = {**s.terms.model_dump(mode="json"), **ev.changes}
    try:
        return Terms.model_validate(merged)
    except ValidationError as exc:
        errs = exc.errors(include_url=False)
        first = errs[0]
        loc = ".".join(str(p) for p in first["loc"])
        msgs = "; ".join(
            (".".join(str(p) for p in e["loc"]) + ": " if e["loc"] and e is not first else "")
            + e["msg"].removeprefix("Value error, ") for e in errs)
        raise Rejected(f"changes.{loc}" if loc else "changes",
                       f"the amended Series {s.name} terms are invalid: {msgs}") from None


def amend(s: SeriesState, ev: TermsAmended, check_claims: Callable[[Terms, str], None],
          owes: bool) -> None:
    """Apply ``ev`` to ``s`` from its effective date (see the module docstring).

    ``check_claims(terms, field)``: the replay's check of seniority-claim references;
    ``owes``: whether the series owes dividends now (arrears, payable, or declared and
    not yet due), which keeps its payment schedule fixed.
    """
    old = s.terms
    new = new_terms(s, ev)
    at = ev.effective_date
    changed = tuple(k for k in sorted(ev.changes) if getattr(new, k) != getattr(old, k))
    if "authorized_shares" in changed and new.authorized_shares < s.issued_total:
        raise Rejected("changes.authorized_shares", f"{plain(new.authorized_shares)} is fewer "
                       f"than the {plain(s.issued_total)} Series {s.name} shares already "
                       "issued (redeemed and converted shares count: they are never reissued)")
    accruing = s.rate is not None
    moved = [k for k in SCHEDULE if k in changed]
    if moved and (accruing or owes):
        raise Rejected(f"changes.{moved[0]}", f"Series {s.name} "
                       + ("accrues dividends" if accruing else "owes dividends")
                       + f"; its {', '.join(moved)} cannot change while it does")
    if "seniority_claims" in changed:
        check_claims(new, "changes.seniority_claims")
    cause = f"amendment{f' {ev.id}' if ev.id else ''} of {at}"
    if accruing:
        assert s.rate is not None and old.dividend_rate is not None
        if new.dividend_rate is None:
            raise Rejected("changes.dividend_rate", f"Series {s.name} accrues dividends: amend "
                           "its dividend_rate to \"0\" to stop them (null is for a series "
                           "that never pays dividends)")
        earned = max(s.rate - old.dividend_rate, ZERO)  # a step-up already earned (§5)
        target = new.dividend_rate
        if earned > 0 and new.step_up is not None:
            target = min(target + earned, new.step_up.cap)
        if target != s.rate:
            dividends.change_rate(s, at, target, cause)
    if s.designated_terms is None:
        s.designated_terms = old
    s.terms = new
    s.schedule = Schedule(new)
    if not accruing and new.accrues:
        _start_accrual(s, at, cause)
    if new.base_conversion_rate != old.base_conversion_rate:
        before = s.conversion_rate
        after = new.base_conversion_rate
        s.conversion_rate = after  # None: no longer convertible
        s.conversion_price = new.base_conversion_price  # the CP in force with it
        if before and after:
            s.adjustments.append(Adjustment(at, cause, ev.id, CONTEXT.divide(after, before),
                                            before, after))
    if "antidilution_threshold" in changed:
        s.threshold = new.antidilution_threshold
    if "closing_date" in changed and new.closing_date is not None:
        s.closing_date = new.closing_date
    s.amendments.append(Amendment(at, ev.id, tuple(sorted(ev.changes.items())), changed))


def _start_accrual(s: SeriesState, at: dt.date, cause: str) -> None:
    """A series that accrued nothing starts accruing from ``at`` (like a designation)."""
    t = s.terms
    assert t.dividend_rate is not None
    s.rate = t.dividend_rate
    s.rate_history.append(RateChange(at, s.rate, cause))
    s.next_boundary = s.schedule.next_boundary(at)
    s.next_payment = s.schedule.next_payment(at)
    due = s.schedule.due_date(at)
    for lot in s.lots:  # nothing accrued before: each lot's first piece starts here
        lot.piece_start = max(lot.piece_start, at)
        lot.open_due = due
