"""Projections that feed reporting: one issuer's records in, table rows out.

Pure over its input, like ``ledger.replay``: the same records give the same rows. The
records are replayed once by the engine's own ``replay`` (SPEC.md §1: effective date,
then recorded order; §11 Days and order: start of day, the day's events, end of day),
and the walk subscribes to it (``ledger.replay.ReplayHooks``): after the start of each
day, each event and the end of each day, one recorder per group of tables notes what
changed (positions; series balances and common stock; dividend periods and dues, with
``projections.dues`` following the amounts due; activity); the other tables (rates,
conversion rates, events, series, holders, issuers) are built from the final state.
The tables:

- ``positions``: shares per holder and series over effective-date intervals
  ``[valid_from, valid_to)`` (end-of-day figures; ``valid_to`` null = still held);
  common stock by holder too (SPEC.md §13), with ``series`` "common" and no
  ``series_key``, common without a holder under the holder "unattributed";
- ``series_balances``: per series, outstanding shares, carrying amount, dividend rate,
  arrears, dividends payable, missed streak and conversion rate over intervals;
- ``common_stock``: common outstanding, its number of holders and the common cancelled
  so far, over intervals;
- ``dividend_periods`` and ``dividend_dues``: every period with its payment date, rate,
  amount due, paid and status (SPEC.md §5), and the per-holder amounts behind it;
- ``rate_history`` (§5 Step-up) and ``conversion_rates`` (§6, each adjustment with its
  A, B, C);
- ``activity``: every movement of shares, carrying amount, arrears, payable and cash,
  by event (or payment date), which the roll-forward sums;
- ``events`` (the log itself, with reversal status), ``issuers``, ``series``, ``holders``.

``through`` is the last day projected (default: the issuer's last effective date).
Money is Decimal rounded half-up to the cent (§2); the carrying amount of a series is
what its shares were issued for (``price_per_share``, default the stated value), and
shares leaving the series (conversion, redemption, liquidation) take the series'
average carrying amount per share, rounded to the cent (the last share takes the rest).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from operator import countOf
from typing import Any

from ledger.events import (
    CommonStockIssued,
    CommonStockSplit,
    DividendPaid,
    Liquidation,
    PublicOffering,
    SharesIssued,
    SharesTransferred,
)
from ledger.replay import Replayer, ReplayHooks, TermsResolver, replay, reversed_targets
from ledger.state import UNATTRIBUTED_LABEL, Conversion, Due, IssuerState, Record, SeriesState
from ledger.terms import load_terms_ref
from ledger.values import CONTEXT, ZERO, money
from projections.dues import Change, DueWatch

Row = dict[str, Any]
Rows = dict[str, list[Row]]

#: every projection table, parents before children
TABLES: tuple[str, ...] = (
    "issuers", "series", "holders", "events", "positions", "series_balances",
    "common_stock", "dividend_periods", "dividend_dues", "rate_history",
    "conversion_rates", "activity",
)

#: the event types that move shares (positions are re-read after them)
_MOVES_SHARES = {"SharesIssued", "SharesTransferred", "SharesConverted", "SharesRedeemed",
                 "ShareholderApproval", "Liquidation", "PublicOffering", "SharesCancelled",
                 "DividendPaid"}  # SPEC.md §12: paid in kind issues shares
#: the event types that may move common between holders (SPEC.md §13): the day's common
#: holdings are diffed at its end after one of them
_MOVES_COMMON = {"CommonStockIssued", "CommonStockSplit", "SharesConverted",
                 "ShareholderApproval", "PublicOffering", "SharesTransferred",
                 "SharesCancelled", "Liquidation"}
#: the ``series`` of common stock rows
COMMON = "common"
#: of those, the ones that may move every holder's shares of a series (automatic
#: conversion, liquidation): their series are diffed whole at the end of the day
_MOVES_ALL = {"ShareholderApproval", "Liquidation", "PublicOffering"}
#: activity kinds that change a holder's shares
_SHARE_KINDS = {"issued", "transfer_out", "transfer_in", "converted", "redeemed",
                "liquidation", "cancelled"}

#: event types that never change amounts due (SPEC.md §11: on a transfer, amounts
#: already due stay with the transferor), so the dues are not looked at after them
_KEEPS_DUES = {"SeriesDesignated", "SharesIssued", "SharesTransferred", "DividendMissed",
               "CommonStockIssued", "CommonStockSplit", "RedemptionNoticed",
               "BalanceAsserted", "EventReversed"}

#: activity ``kind`` for each event type
KIND = {
    "SharesIssued": "issued",
    "SharesTransferred": "transfer",
    "DividendPaid": "dividend_paid",
    "SharesConverted": "converted",
    "ShareholderApproval": "converted",
    "PublicOffering": "converted",
    "SharesRedeemed": "redeemed",
    "Liquidation": "liquidation",
    "SharesCancelled": "cancelled",
}


def _enc(name: str) -> str:
    return name.replace("%", "%25").replace("/", "%2F")


#: keys made, by ``(issuer, name)`` (performance: every row of a holder repeats its
#: keys); a key depends on the two names only, so series and holders share the cache
_KEYS: dict[tuple[str, str], str] = {}
_KEYS_MAX = 100_000


def _key(issuer: str, name: str) -> str:
    got = _KEYS.get((issuer, name))
    if got is None:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        got = _KEYS[issuer, name] = f"{_enc(issuer)}/{_enc(name)}"
    return got


def series_key(issuer: str, series: str) -> str:
    """Single-column key of a series row: ``issuer/series`` (``/`` and ``%`` escaped)."""
    return _key(issuer, series)


def holder_key(issuer: str, holder: str) -> str:
    """Single-column key of a holder row: ``issuer/holder`` (``/`` and ``%`` escaped)."""
    return _key(issuer, holder)


def holder_label(holder: str | None) -> str:
    """A holder as the tables name it: common without a holder (SPEC.md §13) is the
    holder "unattributed" (a name no event may give a holder, ``ledger.events``)."""
    return UNATTRIBUTED_LABEL if holder is None else holder


def _series_key(issuer: str, series: str) -> str | None:
    """``series_key`` of a row: none for common stock (it has no ``series`` row)."""
    return None if series == COMMON else series_key(issuer, series)


def _rate_on(history: list[tuple[dt.date, Decimal]], day: dt.date) -> Decimal | None:
    out = None
    for eff, rate in history:
        if eff <= day:
            out = rate
        else:
            break
    return out


#: rows of a table held before they go to the sink (``project_issuer``)
SPILL = 20_000

Sink = Callable[[str, list["Row"]], None]


class _Out:
    """The rows made so far. Rows that are final go to the sink as they come, so memory
    stays bounded by the issuer's state, not its history (``project_issuer``)."""

    def __init__(self, sink: Sink | None) -> None:
        self.sink = sink
        self.rows: Rows = {t: [] for t in TABLES}
        self.lines = 0  # activity rows numbered (and sent to the sink) so far

    def end_of_day(self) -> None:
        """At the end of a day: the day's activity rows are final (numbered in order),
        and so are the positions already closed."""
        if self.sink is None:
            return
        act = self.rows["activity"]
        if len(act) >= SPILL:
            self.number_activity()
            self.sink("activity", act)
            self.rows["activity"] = []
        pos = self.rows["positions"]
        if len(pos) >= SPILL:
            closed = [r for r in pos if r["valid_to"] is not None]
            self.rows["positions"] = [r for r in pos if r["valid_to"] is None]
            self.sink("positions", closed)

    def spill(self, table: str) -> None:
        """For tables whose rows are final when made (built from the final state)."""
        rows = self.rows[table]
        if self.sink is not None and len(rows) >= SPILL:
            self.sink(table, rows)
            self.rows[table] = []

    def number_activity(self) -> None:
        for r in self.rows["activity"]:
            self.lines += 1
            r["line"] = self.lines


#: series -> the holders whose shares moved on the day (``None``: maybe every holder)
Touched = dict[str, set[str] | None]


class _Positions:
    """``positions`` (end-of-day shares per holder and series over intervals) and the
    running figures read by the balances and ``holders``: shares held (non-zero) and
    outstanding per series, and the day each holder first held shares."""

    def __init__(self, issuer: str, out: _Out) -> None:
        self.issuer = issuer
        self.out = out
        self.holdings: dict[str, dict[str, Decimal]] = {}
        self.outstanding: dict[str, Decimal] = {}
        self.open: dict[tuple[str, str], Row] = {}
        self.first_seen: dict[str, dt.date] = {}
        #: common by holder (as the tables name them), non-zero (SPEC.md §13)
        self.common: dict[str, Decimal] = {}
        #: ``st.common`` as it was at the last ``end_of_common`` that looked at it
        self.common_seen: dict[str | None, Decimal] = {}

    def designated(self, name: str) -> None:
        self.holdings[name] = {}
        self.outstanding[name] = ZERO

    def _move(self, name: str, h: str, v: Decimal | None, day: dt.date) -> None:
        """Close ``h``'s interval of ``name`` and open one of ``v`` shares (None: none)."""
        key = (name, h)
        old = self.open.pop(key, None)
        if old is not None:
            old["valid_to"] = day
        if v is None:
            return
        r = {"issuer": self.issuer, "series": name,
             "series_key": _series_key(self.issuer, name), "holder": h,
             "holder_key": holder_key(self.issuer, h), "valid_from": day,
             "valid_to": None, "shares": v}
        self.out.rows["positions"].append(r)
        self.open[key] = r
        self.first_seen.setdefault(h, day)

    def end_of_common(self, st: IssuerState, day: dt.date) -> None:
        """SPEC.md §13: the intervals of the common holders whose common moved."""
        common = st.common
        # the holders whose common differs from the last look: the entries of one that
        # are not in the other (a set difference in C, not a pass over every holder)
        moved = {holder_label(h) for h, _ in common.items() ^ self.common_seen.items()}
        if not moved:
            return
        self.common_seen = dict(common)
        for h in sorted(moved):
            v = common.get(None if h == UNATTRIBUTED_LABEL else h) or None  # none: no shares
            if v == self.common.get(h):
                continue
            if v is None:
                del self.common[h]
            else:
                self.common[h] = v
            self._move(COMMON, h, v, day)

    def end_of_day(self, st: IssuerState, day: dt.date, touched: Touched) -> None:
        """Close and open the intervals of the holders whose shares moved on ``day``."""
        for name in sorted(touched):
            s = st.series[name]
            held = self.holdings[name]  # holder -> shares (non-zero), updated in place
            who = touched[name]
            if who is None:  # every holder of the series may have moved
                now = {h: v for h, v in s.holdings().items() if v}
                changes = [(h, now.get(h)) for h in sorted(set(now) | set(held))]
            else:  # only these holders' shares moved (performance: not the whole series)
                changes = [(h, s.held(h) or None) for h in sorted(who)]
            for h, v in changes:
                if v == held.get(h):
                    continue
                self.outstanding[name] += (v or ZERO) - held.get(h, ZERO)
                if v is None:
                    del held[h]
                else:
                    held[h] = v
                self._move(name, h, v, day)

    def holders(self, holders: set[str]) -> None:
        """``holders``: one row per holder, with the preferred and the common shares held
        at the end (the unattributed holder of common among them once it held any)."""
        everyone = set(holders)
        if UNATTRIBUTED_LABEL in self.first_seen:
            everyone.add(UNATTRIBUTED_LABEL)
        for h in sorted(everyone):
            self.out.rows["holders"].append({
                "key": holder_key(self.issuer, h), "issuer": self.issuer, "holder": h,
                "first_held": self.first_seen.get(h),
                "shares": sum((held.get(h, ZERO) for held in self.holdings.values()), ZERO),
                "common_shares": self.common.get(h, ZERO),
            })


class _Dividends:
    """What falls due and is paid (SPEC.md §5, §11 Payments): arrears and dividends
    payable per series as they move, the periods cut (``dividend_periods``) and the
    per-holder amounts (``dividend_dues``)."""

    def __init__(self, issuer: str, out: _Out) -> None:
        self.issuer = issuer
        self.out = out
        self.arrears: dict[str, Decimal] = {}
        self.payable: dict[str, Decimal] = {}
        self.watch: dict[str, DueWatch] = {}
        self.segments: dict[str, list[tuple[dt.date, dt.date]]] = {}  # (start, payment date)
        self.period_unpaid: dict[tuple[str, dt.date], Decimal] = {}
        self.paid_in_full: dict[tuple[str, dt.date], dt.date] = {}

    def designated(self, s: SeriesState, day: dt.date) -> None:
        self.arrears[s.name] = ZERO
        self.payable[s.name] = ZERO
        self.watch[s.name] = DueWatch()
        self.segments[s.name] = [(day, s.schedule.due_date(day))] if s.rate is not None else []

    def day_started(self, day: dt.date, boundaries: list[SeriesState],
                    payments: list[SeriesState], activity: _Activity) -> None:
        """Periods cut on ``day``, and an activity row per holder for what fell due."""
        for s in boundaries:
            self.segments[s.name].append((day, s.schedule.due_date(day)))
        for s in payments:
            for h, d, new, paid in self.look(s):
                r = activity.new_row(day, None, s.name, h, "dividend_due")
                self.note(r, day, d, new, paid)

    def look(self, s: SeriesState) -> list[Change]:
        """The changes to ``s``'s dues since the last look, added to the running figures."""
        got = self.watch[s.name].look(s)
        for _h, d, new, paid in got:
            delta = new - paid
            if d.kind == "arrears":
                self.arrears[s.name] += delta
                key = (s.name, d.due_date)
                left = self.period_unpaid.get(key, ZERO) + delta
                self.period_unpaid[key] = left
            else:
                self.payable[s.name] += delta
        return got

    def note(self, r: Row, day: dt.date, d: Due, new: Decimal, paid: Decimal) -> None:
        """One change to a due, on activity row ``r`` (and the day a period is paid in full)."""
        series = r["series"]
        if d.kind == "arrears":
            r["arrears"] += new - paid
            key = (series, d.due_date)
            # (arrears a cancellation extinguishes are not paid, SPEC.md §13)
            if (paid and self.period_unpaid.get(key, ZERO) <= 0 and key not in self.paid_in_full
                    and r["kind"] != "cancelled"):
                self.paid_in_full[key] = day
        else:
            r["dividends_payable"] += new - paid
        kind = r["kind"]
        if kind == "dividend_paid":
            r["dividends_paid"] += paid
            r["cash_paid"] += paid
        elif kind == "redeemed":
            r["dividends_paid"] += paid  # arrears carried by redeemed shares (in the price)
        # a Liquidation settles the claims: its cash is the distribution (``_Activity``)

    def periods(self, s: SeriesState, end: dt.date | None) -> None:
        """SPEC.md §5 Periods: one row per payment date, from the period's first start."""
        if s.rate is None and not self.segments.get(s.name):
            return
        assert end is not None
        history = [(c.effective, c.rate) for c in s.rate_history]
        by_due: dict[dt.date, list[dt.date]] = {}
        for start, due in self.segments.get(s.name, []):
            by_due.setdefault(due, []).append(start)
        totals: dict[dt.date, list[Decimal]] = {}
        for ds in s.dues.values():
            for d in ds:
                if d.kind == "arrears":
                    t = totals.setdefault(d.due_date, [ZERO, ZERO])
                    t[0] += d.amount
                    t[1] += d.paid
        dues = sorted(by_due)
        for k, due in enumerate(dues):
            start = min(by_due[due])
            nxt = [min(by_due[x]) for x in dues[k + 1:]]
            stop = min(nxt) if nxt else None
            last_day = (stop - dt.timedelta(days=1)) if stop else end
            row: Row = {
                "issuer": self.issuer, "series": s.name,
                "series_key": series_key(self.issuer, s.name),
                "period_start": start, "period_end": stop, "payment_date": due,
                "rate": _rate_on(history, start), "rate_end": _rate_on(history, last_day),
                "due": None, "paid": None, "unpaid": None, "status": "accruing",
                "missed": None, "miss_recorded": None, "paid_in_full_on": None,
            }
            if due <= end:
                amount, paid = totals.get(due, [ZERO, ZERO])
                unpaid = amount - paid
                full = self.paid_in_full.get((s.name, due))
                if amount == 0:
                    status = "nothing due"
                elif unpaid == 0:
                    status = "paid" if full is None or full <= due else "paid late"
                elif paid > 0:
                    status = "partly paid"
                else:
                    status = "unpaid"
                row.update(due=amount, paid=paid, unpaid=unpaid, status=status,
                           missed=due in s.missed_dates, miss_recorded=due in s.recorded_misses,
                           paid_in_full_on=(full or due) if amount and unpaid == 0 else None)
            self.out.rows["dividend_periods"].append(row)

    def dues(self, s: SeriesState) -> None:
        """``dividend_dues``: per holder, payment date and kind, amount and paid."""
        agg: dict[tuple[str, dt.date, str], list[Decimal]] = {}
        for h, ds in s.dues.items():
            for d in ds:
                a = agg.setdefault((h, d.due_date, d.kind), [ZERO, ZERO])
                a[0] += d.amount
                a[1] += d.paid
        for (h, due, kind), (amount, paid) in sorted(agg.items()):
            self.out.rows["dividend_dues"].append({
                "issuer": self.issuer, "series": s.name,
                "series_key": series_key(self.issuer, s.name), "holder": h,
                "holder_key": holder_key(self.issuer, h), "due_date": due, "kind": kind,
                "amount": amount, "paid": paid, "unpaid": amount - paid,
            })
            self.out.spill("dividend_dues")


class _Activity:
    """``activity``: every movement of shares, carrying amount, arrears, payable and
    cash by event (one row per series, holder and kind), and the carrying amount of
    each series (the module docstring: average per share leaving)."""

    def __init__(self, issuer: str, out: _Out, dividends: _Dividends) -> None:
        self.issuer = issuer
        self.out = out
        self.dividends = dividends
        self.carrying: dict[str, Decimal] = {}
        self.units: dict[str, Decimal] = {}
        #: before the event applies: how many conversions, redemptions and
        #: cancellations the state holds, (for a Liquidation) every series' holdings and
        #: (for a Liquidation or a split) the common by holder
        self._before: tuple[int, int, int, dict[str, dict[str, Decimal]],
                            dict[str | None, Decimal]] = (0, 0, 0, {}, {})

    def designated(self, name: str) -> None:
        self.carrying[name] = ZERO
        self.units[name] = ZERO

    def row(self, day: dt.date, rec: Record | None, series: str, holder: str,
            kind: str) -> Row:
        return {
            "issuer": self.issuer,
            "line": 0,
            "effective_date": day,
            "seq": rec.seq if rec else None,
            "event_type": rec.event.type if rec else None,
            "event_id": rec.event.id if rec else None,
            "series": series,
            "series_key": _series_key(self.issuer, series),
            "holder": holder,
            "holder_key": holder_key(self.issuer, holder),
            "kind": kind,
            "shares": ZERO,
            "carrying_amount": ZERO,
            "arrears": ZERO,
            "dividends_payable": ZERO,
            "dividends_paid": ZERO,
            "cash_paid": ZERO,
            "cash_received": ZERO,
            "common_issued": ZERO,
            "dividends_extinguished": ZERO,
        }

    def new_row(self, day: dt.date, rec: Record | None, series: str, holder: str,
                kind: str) -> Row:
        """A row of its own (what falls due on a payment date)."""
        r = self.row(day, rec, series, holder, kind)
        self.out.rows["activity"].append(r)
        return r

    def before(self, st: IssuerState, rec: Record) -> None:
        ev = rec.event
        self._before = (len(st.conversions), len(st.redemptions), len(st.cancellations),
                        {name: s.holdings() for name, s in st.series.items()}
                        if isinstance(ev, Liquidation) else {},
                        dict(st.common) if isinstance(ev, Liquidation | CommonStockSplit)
                        else {})

    def event(self, st: IssuerState, rec: Record) -> list[tuple[str, str, str]]:
        """The rows of an applied event; returns their ``(series, holder, kind)``."""
        ev = rec.event
        kind = KIND.get(ev.type)
        name = getattr(ev, "series", None)
        n_conv, n_red, n_can, before, common_before = self._before
        out: dict[tuple[str, str, str], Row] = {}

        def row(series: str, holder: str, k: str) -> Row:
            key = (series, holder, k)
            if key not in out:
                out[key] = self.row(ev.effective_date, rec, series, holder, k)
            return out[key]

        if isinstance(ev, SharesIssued):
            s = st.series[ev.series]
            price = ev.price_per_share if ev.price_per_share is not None else s.terms.stated_value
            amount = money(price * ev.shares)
            r = row(ev.series, ev.holder, "issued")
            r["shares"] += ev.shares
            r["carrying_amount"] += amount
            r["cash_received"] += amount
            self.carrying[ev.series] += amount
            self.units[ev.series] += ev.shares
        elif isinstance(ev, SharesTransferred):
            row(ev.series, ev.from_holder, "transfer_out")["shares"] -= ev.shares
            row(ev.series, ev.to_holder, "transfer_in")["shares"] += ev.shares
        elif isinstance(ev, DividendPaid) and ev.form == "shares" and st.payments:
            # SPEC.md §12 paid in kind: new shares, carried at what they paid (no cash)
            price = st.series[ev.series].terms.pik_price_in_force
            for h, n in st.payments[-1].in_kind:
                r = row(ev.series, h, "issued")
                r["shares"] += n
                r["carrying_amount"] += money(n * price)
                self.carrying[ev.series] += money(n * price)
                self.units[ev.series] += n
        elif isinstance(ev, CommonStockIssued | PublicOffering):
            # SPEC.md §13: the common issued, to its holder (else the unattributed one);
            # an offering's own conversions are below
            paid = (ev.gross_proceeds if isinstance(ev, PublicOffering) else ev.consideration
                    if ev.consideration is not None else ev.price_per_share * ev.shares
                    if ev.price_per_share is not None else ZERO)
            r = row(COMMON, holder_label(ev.holder), "issued")
            r["shares"] += ev.shares
            r["cash_received"] += money(paid)
        elif isinstance(ev, CommonStockSplit):
            for who in sorted(set(common_before) | set(st.common), key=holder_label):
                delta = st.common_held(who) - common_before.get(who, ZERO)
                if delta:
                    row(COMMON, holder_label(who), "split")["shares"] += delta
        for c in st.conversions[n_conv:]:
            r = row(c.series, c.holder, "converted")
            r["shares"] -= c.shares
            r["carrying_amount"] -= self._reduce(c.series, c.shares)
            r["common_issued"] += c.common
            if c.cash_in_lieu:
                r["cash_paid"] += c.cash_in_lieu
            if c.common:  # SPEC.md §13: the common goes to the converting holder
                row(COMMON, c.holder, "issued_on_conversion")["shares"] += c.common
        for can in st.cancellations[n_can:]:
            # SPEC.md §13: the shares leave for good; what they were owed is extinguished
            r = row(can.series, can.holder, "cancelled")
            r["shares"] -= can.shares
            if can.series != COMMON:
                r["carrying_amount"] -= self._reduce(can.series, can.shares)
            r["dividends_extinguished"] += can.extinguished
            r["cash_paid"] += can.paid or ZERO
        for red in st.redemptions[n_red:]:
            r = row(red.series, red.holder, "redeemed")
            r["shares"] -= red.shares
            r["carrying_amount"] -= self._reduce(red.series, red.shares)
            r["cash_paid"] += red.paid
            r["dividends_paid"] += red.accrued  # accrued not yet due, paid in the price
        for sname, held in before.items():
            for h, shares in held.items():
                if shares:
                    r = row(sname, h, "liquidation")
                    r["shares"] -= shares
                    r["carrying_amount"] -= self._reduce(sname, shares)
        if isinstance(ev, Liquidation):
            for ch, shares in sorted(common_before.items(),
                                     key=lambda hn: holder_label(hn[0])):
                if shares:  # SPEC.md §13: every holding of common is extinguished
                    row(COMMON, holder_label(ch), "liquidation")["shares"] -= shares
            # SPEC.md §8: what each holder received from the waterfall
            for hr in getattr(st.liquidation, "holders", ()):
                if hr.series in st.series and hr.received:
                    row(hr.series, hr.holder, "liquidation")["cash_paid"] += hr.received
            for cr in getattr(st.liquidation, "common_holders", ()):
                if cr.received:  # §13: each common holder's part of the remainder
                    row(COMMON, holder_label(cr.holder), "liquidation")["cash_paid"] += (
                        cr.received)
        # dividends: what this event did to the amounts due (§5, §11 Payments)
        watch = ([] if ev.type in _KEEPS_DUES or name == COMMON else
                 [st.series[name]] if name in st.series else list(st.series.values()))
        for s in watch:
            if s.name not in self.dividends.watch:
                continue
            for h, d, new, paid in self.dividends.look(s):
                k = kind if kind not in (None, "transfer") else ev.type
                self.dividends.note(row(s.name, h, k), ev.effective_date, d, new, paid)
        if isinstance(ev, DividendPaid) and ev.form == "shares":
            for (_s, _h, k), r in out.items():  # paid in shares, not in cash
                if k == "dividend_paid":
                    r["cash_paid"] = ZERO
        self.out.rows["activity"].extend(out.values())
        return list(out)

    def start_of_day(self, st: IssuerState, day: dt.date, convs: list[Conversion]) -> list[str]:
        """Rows for the conversions made at the start of ``day`` (SPEC.md §12 mandatory
        conversion on a date), with the dividends payable they create; returns their
        series (every holder of which moved)."""
        for c in convs:
            r = self.new_row(day, None, c.series, c.holder, "converted")
            r["shares"] -= c.shares
            r["carrying_amount"] -= self._reduce(c.series, c.shares)
            r["common_issued"] += c.common
            if c.common:  # SPEC.md §13: the common goes to the converting holder
                self.new_row(day, None, COMMON, c.holder,
                             "issued_on_conversion")["shares"] += c.common
        names = sorted({c.series for c in convs})
        for name in names:
            if name in self.dividends.watch:
                for h, d, new, paid in self.dividends.look(st.series[name]):
                    self.dividends.note(self.new_row(day, None, name, h, "converted"), day,
                                        d, new, paid)
        return names

    def _reduce(self, series: str, shares: Decimal) -> Decimal:
        """Carrying amount leaving with ``shares``: the average per share (the rest last)."""
        units = self.units[series]
        carrying = self.carrying[series]
        if shares >= units or units <= 0:
            part = carrying
        else:
            part = money(CONTEXT.divide(carrying * shares, units))
        self.carrying[series] = carrying - part
        self.units[series] = max(units - shares, ZERO)
        return part


class _Balances:
    """``series_balances`` and ``common_stock``: a new interval whenever an end-of-day
    figure changes."""

    def __init__(self, issuer: str, out: _Out) -> None:
        self.issuer = issuer
        self.out = out
        self.last: dict[str, Row] = {}
        self.last_common: Row | None = None

    def end_of_day(self, st: IssuerState, day: dt.date, positions: _Positions,
                   activity: _Activity, dividends: _Dividends) -> None:
        for name, s in st.series.items():
            pays = s.rate is not None
            owes = pays or not s.terms.cumulative  # SPEC.md §12: declared dividends
            values = {
                "outstanding": positions.outstanding[name],
                "holders": len(positions.holdings[name]),
                "carrying_amount": activity.carrying[name],
                "dividend_rate": s.rate,
                "arrears": dividends.arrears[name] if owes else None,
                "dividends_payable": dividends.payable[name],
                "missed_streak": s.missed_streak if pays else None,
                "conversion_rate": s.conversion_rate,
            }
            last = self.last.get(name)
            if last is not None and all(last[k] == v for k, v in values.items()):
                continue
            if last is not None:
                last["valid_to"] = day
            r = {"issuer": self.issuer, "series": name,
                 "series_key": series_key(self.issuer, name),
                 "valid_from": day, "valid_to": None, **values}
            self.out.rows["series_balances"].append(r)
            self.last[name] = r
        common = {"outstanding": st.common_outstanding,
                  # SPEC.md §13: the holders with common (a zero is no holding), counted in C
                  "holders": len(st.common) - countOf(st.common.values(), ZERO),
                  "cancelled_total": st.common_cancelled_total}
        last_common = self.last_common
        if last_common is None or any(last_common[k] != v for k, v in common.items()):
            if last_common is not None:
                last_common["valid_to"] = day
            self.last_common = {"issuer": self.issuer, "valid_from": day, "valid_to": None,
                                **common}
            self.out.rows["common_stock"].append(self.last_common)


class _Walk(ReplayHooks):
    """The subscriber to the replay (``ReplayHooks``): after the start of each day,
    each event and the end of each day, the recorders note what changed; the tables
    of the final state are built by ``finish``."""

    def __init__(self, issuer: str, recs: list[Record], through: dt.date | None,
                 sink: Sink | None) -> None:
        self.issuer = issuer
        self.recs = recs  # in recorded order
        self.targets, _ = reversed_targets(recs)
        self.through = through
        self.end: dt.date | None = through  # the last day projected (``replay_started``)
        self.out = _Out(sink)
        self.positions = _Positions(issuer, self.out)
        self.dividends = _Dividends(issuer, self.out)
        self.activity = _Activity(issuer, self.out, self.dividends)
        self.balances = _Balances(issuer, self.out)
        self.applied: set[int] = set()
        self.touched: Touched = {}  # whose shares moved today
        self.common_touched = False  # whether common may have moved today (SPEC.md §13)
        self.conversions = 0  # conversions in the state already recorded as activity

    # -- as the replay runs --------------------------------------------------------------
    def replay_started(self, rp: Replayer, timeline: Sequence[Record]) -> None:
        if self.through is None:
            self.end = timeline[-1].event.effective_date if timeline else None

    def day_started(self, rp: Replayer, day: dt.date, boundaries: list[SeriesState],
                    payments: list[SeriesState]) -> None:
        self.touched = {}
        self.common_touched = False
        self.dividends.day_started(day, boundaries, payments, self.activity)
        convs = rp.state.conversions[self.conversions:]
        if convs:  # made at the start of the day: a mandatory conversion on a date
            for name in self.activity.start_of_day(rp.state, day, convs):
                self.touched[name] = None
            self.conversions = len(rp.state.conversions)
            self.common_touched = True

    def event_applying(self, rp: Replayer, rec: Record) -> None:
        self.activity.before(rp.state, rec)

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        self.conversions = len(rp.state.conversions)  # the event's own are its rows
        if not accepted:
            return  # rejected at its place (not expected for a stored, validated log)
        st = rp.state
        ev = rec.event
        self.applied.add(rec.seq)
        name = getattr(ev, "series", None)
        touched = self.touched
        if ev.type == "SeriesDesignated" and name in st.series:
            self.activity.designated(name)
            self.dividends.designated(st.series[name], ev.effective_date)
            self.positions.designated(name)
            touched[name] = None
        if ev.type in _MOVES_COMMON:
            self.common_touched = True
        if ev.type in _MOVES_SHARES and name != COMMON and (ev.type in _MOVES_ALL
                                                           or name not in st.series):
            for sname in ([name] if name in st.series else st.series):
                touched[sname] = None
        moved = self.activity.event(st, rec)
        if ev.type in _MOVES_SHARES:
            # the holders whose shares this event moved: each has an activity row of a
            # share kind (conversions and redemptions as the replay recorded them)
            for (sname, h, k) in moved:
                if k in _SHARE_KINDS and sname != COMMON:
                    who = touched.get(sname, set())
                    if who is not None:
                        who.add(h)
                        touched[sname] = who

    def day_ended(self, rp: Replayer, day: dt.date) -> None:
        for s in rp.state.series.values():  # SPEC.md §12: declared amounts whose payment
            if not s.terms.cumulative and s.name in self.dividends.watch:  # date is the
                for h, d, new, paid in self.dividends.look(s):  # record date fall due now
                    r = self.activity.new_row(day, None, s.name, h, "dividend_due")
                    self.dividends.note(r, day, d, new, paid)
        self.positions.end_of_day(rp.state, day, self.touched)
        if self.common_touched:
            self.positions.end_of_common(rp.state, day)
        self.balances.end_of_day(rp.state, day, self.positions, self.activity,
                                 self.dividends)
        self.out.end_of_day()

    # -- the tables built from the final state ----------------------------------------
    def finish(self, st: IssuerState) -> Rows:
        out = self.out
        out.number_activity()
        for _name, s in sorted(st.series.items()):
            out.rows["series"].append(_series_row(self.issuer, s,
                                                  self.activity.carrying.get(s.name, ZERO)))
            self.dividends.periods(s, self.end)
            self.dividends.dues(s)
            out.rows["rate_history"].extend(_rate_rows(self.issuer, s))
            out.rows["conversion_rates"].extend(_conversion_rate_rows(self.issuer, s))
        holders = set(st.holders) | {h for s in st.series.values() for h in s.dues}
        self.positions.holders(holders)
        self._events(st, holders)
        last = self.recs[-1] if self.recs else None
        dates = [r.event.effective_date for r in self.recs]
        out.rows["issuers"].append({
            "issuer": self.issuer,
            "events": len(self.recs),
            "first_effective_date": min(dates) if dates else None,
            "last_effective_date": max(dates) if dates else None,
            "last_recorded_at": last.recorded_at if last else None,
            "head_hash": last.hash if last else None,
            "through": self.end,
            "series_count": len(st.series),
            "common_outstanding": st.common_outstanding,
            "liquidated_on": st.liquidated_on,
        })
        return out.rows

    def _events(self, st: IssuerState, holders: set[str]) -> None:
        """``events``: the log itself, each with its status (reversed, applied, ...)."""
        by_id = {r.event.id: r for r in self.recs if r.event.id is not None}
        for rec in self.recs:
            ev = rec.event
            p = ev.to_json()
            if ev.id is not None and ev.id in self.targets:
                status = "reversed"
            elif rec.seq in self.applied:
                status = "applied"
            elif self.end is None or ev.effective_date > self.end:
                status = "after through"
            else:
                status = "not applied"
            series = p.get("series")
            holder = p.get("holder", p.get("from_holder"))
            target = by_id.get(p["target_id"]) if "target_id" in p else None
            self.out.rows["events"].append({
                "issuer": self.issuer, "seq": rec.seq, "event_id": ev.id, "type": ev.type,
                "effective_date": ev.effective_date, "recorded_at": rec.recorded_at,
                "hash": rec.hash, "series": series,
                "series_key": series_key(self.issuer, series) if series in st.series else None,
                "holder": holder,
                "holder_key": holder_key(self.issuer, holder) if holder in holders else None,
                "to_holder": p.get("to_holder"),
                "shares": _dec(p.get("shares")),
                "amount": _dec(p.get("amount", p.get("proceeds", p.get("consideration")))),
                "status": status,
                "reversed_by": (self.targets[ev.id].seq
                                if ev.id is not None and ev.id in self.targets else None),
                "target_seq": target.seq if target is not None else None,
                "memo": ev.memo, "source": ev.source,
                "payload": json.dumps(p, sort_keys=True, ensure_ascii=False),
            })
            self.out.spill("events")


def _series_row(issuer: str, s: SeriesState, carrying: Decimal) -> Row:
    """``series``: the terms and lifetime totals of a series at the end."""
    t = s.terms
    return {
        "key": series_key(issuer, s.name), "issuer": issuer, "series": s.name,
        "name": t.name or None, "designated": t.designated,
        "authorized_shares": t.authorized_shares, "stated_value": t.stated_value,
        "par_value": t.par_value, "dividend_rate": t.dividend_rate,
        "cumulative": t.cumulative if t.dividend_rate is not None else None,
        "conversion": t.conversion, "base_conversion_rate": t.base_conversion_rate,
        "antidilution_threshold": t.antidilution_threshold, "votes": t.votes,
        "issued_total": s.issued_total, "converted_total": s.converted_total,
        "redeemed_total": s.redeemed_total, "cancelled_total": s.cancelled_total,
        "outstanding": s.outstanding,
        "carrying_amount": carrying,
        "extinguished": s.extinguished,
        "terms": json.dumps(t.model_dump(mode="json"), sort_keys=True),
    }


def _rate_rows(issuer: str, s: SeriesState) -> list[Row]:
    """``rate_history``: every dividend rate in force, with its cause (SPEC.md §5 Step-up)."""
    hist = s.rate_history
    return [{
        "issuer": issuer, "series": s.name,
        "series_key": series_key(issuer, s.name), "step": k,
        "valid_from": c.effective,
        "valid_to": hist[k + 1].effective if k + 1 < len(hist) else None,
        "rate": c.rate, "cause": c.cause,
    } for k, c in enumerate(hist)]


def _conversion_rate_rows(issuer: str, s: SeriesState) -> list[Row]:
    """SPEC.md §6: the base rate, then every adjustment with its A, B, C."""
    base = s.terms.base_conversion_rate
    if base is None:
        return []
    steps: list[Row] = [{
        "effective_date": s.terms.designated, "cause": "designation", "event_id": None,
        "factor": None, "rate_before": None, "rate": base, "a": None, "b": None,
        "c": None, "price": None, "threshold": s.terms.antidilution_threshold,
    }]
    for adj in s.adjustments:
        steps.append({
            "effective_date": adj.effective, "cause": adj.cause, "event_id": adj.event_id,
            "factor": adj.factor, "rate_before": adj.rate_before, "rate": adj.rate_after,
            "a": adj.a, "b": adj.b, "c": adj.c, "price": adj.price,
            "threshold": adj.threshold,
        })
    out = []
    for k, r in enumerate(steps):
        nxt = steps[k + 1]["effective_date"] if k + 1 < len(steps) else None
        out.append({
            "issuer": issuer, "series": s.name,
            "series_key": series_key(issuer, s.name), "step": k,
            "valid_to": nxt, "rate_exact": str(r["rate"]), **r,
        })
    return out


def _dec(v: Any) -> Decimal | None:
    return Decimal(v) if isinstance(v, str) else None


def project_issuer(issuer: str, records: Iterable[Record], through: dt.date | None = None,
                   resolve: TermsResolver = load_terms_ref, sink: Sink | None = None) -> Rows:
    """Every projection table for one issuer (see the module docstring).

    ``sink(table, rows)``: rows that are final are handed to it in batches of about
    ``SPILL`` as the walk goes (the largest tables: activity, closed positions, events,
    dividend dues), so memory stays bounded by the issuer's state, not its history; the
    rows returned are the rest. Without a sink, every row is returned."""
    return project(issuer, records, through, resolve, sink)[0]


def project(issuer: str, records: Iterable[Record], through: dt.date | None = None,
            resolve: TermsResolver = load_terms_ref, sink: Sink | None = None,
            hooks: Sequence[ReplayHooks] = ()) -> tuple[Rows, IssuerState, dt.date | None]:
    """``project_issuer``, with other subscribers to the same replay (``hooks``, told
    after the tables' walk; like it, each only reads the state: ``ReplayHooks``), so
    one replay feeds them all (the explain follower of ``figure_steps``,
    ``projections.feed.projector``). Returns the rows, the final state and the last day
    projected (``through``, else the last effective date of the timeline replayed)."""
    recs = sorted(records, key=lambda r: r.seq)
    walk = _Walk(issuer, recs, through, sink)
    st, _ = replay(issuer, recs, through, resolve, hooks=[walk, *hooks])
    return walk.finish(st), st, walk.end


def at(rows: list[Row], day: dt.date, **match: Any) -> list[Row]:
    """The interval rows in force at the end of ``day`` (``valid_from <= day < valid_to``)."""
    return [r for r in rows
            if r["valid_from"] <= day and (r["valid_to"] is None or day < r["valid_to"])
            and all(r[k] == v for k, v in match.items())]


__all__ = ["TABLES", "KIND", "Row", "Rows", "project", "project_issuer", "series_key",
           "holder_key", "at"]
