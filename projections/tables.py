"""Projections that feed reporting: one issuer's records in, table rows out.

Pure over its input, like ``ledger.replay``: the same records give the same rows. The
records are walked once in timeline order (SPEC.md §1: effective date, then recorded
order; §11 Days and order: start of day, the day's events, end of day) with the
engine's own ``Replayer``, and after every day the walk records what changed:

- ``positions``: shares per holder and series over effective-date intervals
  ``[valid_from, valid_to)`` (end-of-day figures; ``valid_to`` null = still held);
- ``series_balances``: per series, outstanding shares, carrying amount, dividend rate,
  arrears, dividends payable, missed streak and conversion rate over intervals;
- ``common_stock``: common outstanding over intervals;
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
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ledger.events import EventReversed, Liquidation, SharesIssued, SharesTransferred
from ledger.replay import Replayer, TermsResolver, order, reversed_targets
from ledger.state import Due, DueBook, DueMap, IssuerState, Record, SeriesState
from ledger.terms import load_terms_ref
from ledger.values import CONTEXT, ZERO, money

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
                 "ShareholderApproval", "Liquidation"}
#: of those, the ones that may move every holder's shares of a series (automatic
#: conversion, liquidation): their series are diffed whole at the end of the day
_MOVES_ALL = {"ShareholderApproval", "Liquidation"}
#: activity kinds that change a holder's shares
_SHARE_KINDS = {"issued", "transfer_out", "transfer_in", "converted", "redeemed",
                "liquidation"}

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
    "SharesRedeemed": "redeemed",
    "Liquidation": "liquidation",
}


def _enc(name: str) -> str:
    return name.replace("%", "%25").replace("/", "%2F")


def series_key(issuer: str, series: str) -> str:
    """Single-column key of a series row: ``issuer/series`` (``/`` and ``%`` escaped)."""
    return f"{_enc(issuer)}/{_enc(series)}"


def holder_key(issuer: str, holder: str) -> str:
    """Single-column key of a holder row: ``issuer/holder`` (``/`` and ``%`` escaped)."""
    return f"{_enc(issuer)}/{_enc(holder)}"


def _rate_on(history: list[tuple[dt.date, Decimal]], day: dt.date) -> Decimal | None:
    out = None
    for eff, rate in history:
        if eff <= day:
            out = rate
        else:
            break
    return out


class _DueWatch:
    """Changes to one series' dues since the last look (new amounts, payments).

    Keeps the dues still unpaid, so a look costs the open dues plus the holders, never
    the whole history of paid quarters. With a ``DueMap`` it follows the map's book
    (``DueBook.log``: every due registered or changed since the last look), so a look
    costs only what changed (performance); any other change (a new holder, a recount,
    dues dropped) takes the full look. Both give the same changes in the same order:
    changed open dues in the order they were opened, then new dues by holder in the
    map's order.
    """

    def __init__(self) -> None:
        self.open: dict[int, tuple[str, Due, Decimal]] = {}
        self.num: dict[int, int] = {}  # open key -> when it was opened (the open order)
        self.count = 0
        self.lens: dict[str, int] = {}
        self.book: DueBook | None = None  # the book followed since the last full look
        self.mark = 0  # ``book.n`` at the last look: dues registered since are new
        self.rank: dict[str, int] = {}  # holder -> place in the map's order

    def _opened(self, key: int, entry: tuple[str, Due, Decimal]) -> None:
        self.open[key] = entry
        self.num[key] = self.count
        self.count += 1

    def _closed(self, key: int) -> None:
        del self.open[key]
        del self.num[key]

    def look(self, s: SeriesState) -> list[tuple[str, Due, Decimal, Decimal]]:
        """``(holder, due, new amount, newly paid)`` for every due that changed."""
        dues = s.dues
        if isinstance(dues, DueMap):
            book = dues.sync()
            if (book is self.book and book.log is not None and len(dues) == len(self.lens)):
                return self._look_log(book)
        out = self._look_all(s)
        if isinstance(dues, DueMap):  # follow this book from now on
            book = dues.sync()
            self.book, book.log, self.mark = book, [], book.n
            self.rank = {h: k for k, h in enumerate(self.lens)}
        return out

    def _look_log(self, book: DueBook) -> list[tuple[str, Due, Decimal, Decimal]]:
        assert book.log is not None
        log, book.log = book.log, []  # this watch is the book's only reader
        mark, self.mark = self.mark, book.n
        changed: dict[int, Due] = {}
        new: dict[int, Due] = {}
        for d in log:
            key = id(d)
            if d.__dict__["_n"] >= mark:
                new[key] = d
            elif key in self.open:
                changed[key] = d
        out: list[tuple[str, Due, Decimal, Decimal]] = []
        for key in sorted(changed, key=self.num.__getitem__):
            self._recheck(key, out)
        rank = self.rank
        for d in sorted(new.values(), key=lambda d: (rank[d.__dict__["_holder"]],
                                                     d.__dict__["_n"])):
            h = d.__dict__["_holder"]
            self._found(h, d, out)
            self.lens[h] += 1
        return out

    def _recheck(self, key: int, out: list[tuple[str, Due, Decimal, Decimal]]) -> None:
        """An open due: what was paid on it since the last look (closed once paid)."""
        h, d, unpaid = self.open[key]
        if d.unpaid != unpaid:
            out.append((h, d, ZERO, unpaid - d.unpaid))
            if d.unpaid > 0:
                self.open[key] = (h, d, d.unpaid)
            else:
                self._closed(key)

    def _found(self, h: str, d: Due, out: list[tuple[str, Due, Decimal, Decimal]]) -> None:
        """A due not seen before: its amount and what is paid already (open if unpaid)."""
        out.append((h, d, d.amount, d.paid))
        if d.unpaid > 0:
            self._opened(id(d), (h, d, d.unpaid))

    def _look_all(self, s: SeriesState) -> list[tuple[str, Due, Decimal, Decimal]]:
        out: list[tuple[str, Due, Decimal, Decimal]] = []
        if isinstance(s.dues, DueMap):
            # a DueMap's lists only grow; only ``clear`` (Liquidation) drops dues
            dropped = len(s.dues) < len(self.lens)
        else:
            dropped = any(len(s.dues.get(h, ())) < n for h, n in self.lens.items())
        if dropped:
            # dues were dropped (a Liquidation settles every claim): what was open is gone
            present = {id(d) for ds in s.dues.values() for d in ds}
            for key, (h, d, unpaid) in list(self.open.items()):
                if key not in present:
                    out.append((h, d, ZERO, unpaid))
                    self._closed(key)
            self.lens = {h: min(n, len(s.dues.get(h, ()))) for h, n in self.lens.items()}
        for key in list(self.open):
            self._recheck(key, out)
        for h, ds in s.dues.items():
            for d in ds[self.lens.get(h, 0):]:
                self._found(h, d, out)
            self.lens[h] = len(ds)
        return out


#: rows of a table held before they go to the sink (``project_issuer``)
SPILL = 20_000

Sink = Callable[[str, list["Row"]], None]


class _Walk:
    def __init__(self, issuer: str, records: Iterable[Record], through: dt.date | None,
                 resolve: TermsResolver, sink: Sink | None = None) -> None:
        self.issuer = issuer
        self.sink = sink
        self.lines = 0  # activity rows numbered (and sent to the sink) so far
        self.recs = sorted(records, key=lambda r: r.seq)
        self.targets, _ = reversed_targets(self.recs)
        self.live = [r for r in order(self.recs)
                     if r.event.id is None or r.event.id not in self.targets
                     or isinstance(r.event, EventReversed)]
        self.end = through if through is not None else (
            self.live[-1].event.effective_date if self.live else None)
        self.rp = Replayer(issuer, resolve)
        self.rows: Rows = {t: [] for t in TABLES}
        self.applied: set[int] = set()
        # running figures per series
        self.carrying: dict[str, Decimal] = {}
        self.units: dict[str, Decimal] = {}
        self.arrears: dict[str, Decimal] = {}
        self.payable: dict[str, Decimal] = {}
        self.watch: dict[str, _DueWatch] = {}
        self.holdings: dict[str, dict[str, Decimal]] = {}
        self.outstanding: dict[str, Decimal] = {}
        self.open_pos: dict[tuple[str, str], Row] = {}
        self.last_bal: dict[str, Row] = {}
        self.last_common: Row | None = None
        self.segments: dict[str, list[tuple[dt.date, dt.date]]] = {}
        self.period_unpaid: dict[tuple[str, dt.date], Decimal] = {}
        self.paid_in_full: dict[tuple[str, dt.date], dt.date] = {}
        self.first_seen: dict[str, dt.date] = {}

    @property
    def st(self) -> IssuerState:
        return self.rp.state

    # -- the walk --------------------------------------------------------------------
    def run(self) -> Rows:
        st = self.st
        i, n = 0, len(self.live)
        end = self.end
        while end is not None:
            ev_day = self.live[i].event.effective_date if i < n else None
            pts = [p for s in st.series.values() if not s.extinguished
                   and (p := self.rp._next_point(s)) is not None]
            cands = [d for d in (ev_day, min(pts) if pts else None, end)
                     if d is not None and d <= end and (st.day is None or d > st.day)]
            if not cands:
                break
            day = min(cands)
            self._start_of_day(day)
            touched: dict[str, set[str] | None] = {}  # series -> holders (None: all)
            while i < n and self.live[i].event.effective_date == day:
                self._apply(self.live[i], touched)
                i += 1
            self.rp.end_of_day(day)
            self._end_of_day(day, touched)
            self._spill_walk()
        self._finish()
        return self.rows

    # -- rows that are final go to the sink as they come (bounded memory) ----------------
    def _spill_walk(self) -> None:
        """At the end of a day: the day's activity rows are final (numbered in order),
        and so are the positions already closed."""
        if self.sink is None:
            return
        act = self.rows["activity"]
        if len(act) >= SPILL:
            self._number_activity()
            self.sink("activity", act)
            self.rows["activity"] = []
        pos = self.rows["positions"]
        if len(pos) >= SPILL:
            closed = [r for r in pos if r["valid_to"] is not None]
            self.rows["positions"] = [r for r in pos if r["valid_to"] is None]
            self.sink("positions", closed)

    def _spill(self, table: str) -> None:
        """For tables whose rows are final when made (built in ``_finish``)."""
        rows = self.rows[table]
        if self.sink is not None and len(rows) >= SPILL:
            self.sink(table, rows)
            self.rows[table] = []

    def _number_activity(self) -> None:
        for r in self.rows["activity"]:
            self.lines += 1
            r["line"] = self.lines

    def _start_of_day(self, day: dt.date) -> None:
        """SPEC.md §11: rate changes, period boundaries, amounts falling due."""
        st = self.st
        boundary = [s for s in st.series.values()
                    if not s.extinguished and s.rate is not None and s.next_boundary == day]
        paying = [s for s in st.series.values()
                  if not s.extinguished and s.rate is not None and s.next_payment == day]
        self.rp.start_of_day(day)
        st.day = day
        for s in boundary:
            self.segments[s.name].append((day, s.schedule.due_date(day)))
        for s in paying:
            for h, d, new, paid in self._look(s):
                self._dividend_row(day, None, s.name, h, "dividend_due", d, new, paid)

    def _apply(self, rec: Record, touched: dict[str, set[str] | None]) -> None:
        st = self.st
        ev = rec.event
        kind = KIND.get(ev.type)
        n_conv, n_red = len(st.conversions), len(st.redemptions)
        before: dict[str, dict[str, Decimal]] = {}
        if isinstance(ev, Liquidation):
            before = {name: s.holdings() for name, s in st.series.items()}
        self.rp.apply(rec)
        if not st.applied or st.applied[-1] is not rec:
            return  # rejected at its place (not expected for a stored, validated log)
        self.applied.add(rec.seq)
        name = getattr(ev, "series", None)
        if ev.type == "SeriesDesignated" and name in st.series:
            s = st.series[name]
            self.carrying[name] = ZERO
            self.units[name] = ZERO
            self.arrears[name] = ZERO
            self.payable[name] = ZERO
            self.watch[name] = _DueWatch()
            self.holdings[name] = {}
            self.outstanding[name] = ZERO
            self.segments[name] = ([(ev.effective_date, s.schedule.due_date(ev.effective_date))]
                                   if s.rate is not None else [])
            touched[name] = None
        if ev.type in _MOVES_SHARES and (ev.type in _MOVES_ALL or name not in st.series):
            for sname in ([name] if name in st.series else st.series):
                touched[sname] = None
        out: dict[tuple[str, str, str], Row] = {}

        def row(series: str, holder: str, k: str) -> Row:
            key = (series, holder, k)
            if key not in out:
                out[key] = self._activity(ev.effective_date, rec, series, holder, k)
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
        for c in st.conversions[n_conv:]:
            r = row(c.series, c.holder, "converted")
            r["shares"] -= c.shares
            r["carrying_amount"] -= self._reduce(c.series, c.shares)
            r["common_issued"] += c.common
            if c.cash_in_lieu:
                r["cash_paid"] += c.cash_in_lieu
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
            # SPEC.md §8: what each holder received from the waterfall
            for hr in getattr(st.liquidation, "holders", ()):
                if hr.series in st.series and hr.received:
                    row(hr.series, hr.holder, "liquidation")["cash_paid"] += hr.received
        # dividends: what this event did to the amounts due (§5, §11 Payments)
        watch = ([] if ev.type in _KEEPS_DUES else
                 [st.series[name]] if name in st.series else list(st.series.values()))
        for s in watch:
            if s.name not in self.watch:
                continue
            for h, d, new, paid in self._look(s):
                k = kind if kind not in (None, "transfer") else ev.type
                self._dividend_row(ev.effective_date, rec, s.name, h, k, d, new, paid, row)
        for r in out.values():
            self.rows["activity"].append(r)
        if ev.type in _MOVES_SHARES:
            # the holders whose shares this event moved: each has an activity row of a
            # share kind (conversions and redemptions as the replay recorded them)
            for (sname, h, k) in out:
                if k in _SHARE_KINDS:
                    who = touched.get(sname, set())
                    if who is not None:
                        who.add(h)
                        touched[sname] = who

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

    def _look(self, s: SeriesState) -> list[tuple[str, Due, Decimal, Decimal]]:
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

    def _dividend_row(self, day: dt.date, rec: Record | None, series: str, holder: str,
                      kind: str, d: Due, new: Decimal, paid: Decimal,
                      row: Any = None) -> None:
        if row is None:
            r = self._activity(day, rec, series, holder, kind)
            self.rows["activity"].append(r)
        else:
            r = row(series, holder, kind)
        if d.kind == "arrears":
            r["arrears"] += new - paid
            key = (series, d.due_date)
            if paid and self.period_unpaid.get(key, ZERO) <= 0 and key not in self.paid_in_full:
                self.paid_in_full[key] = day
        else:
            r["dividends_payable"] += new - paid
        if kind == "dividend_paid":
            r["dividends_paid"] += paid
            r["cash_paid"] += paid
        elif kind == "redeemed":
            r["dividends_paid"] += paid  # arrears carried by redeemed shares (in the price)
        # a Liquidation settles the claims: its cash is the distribution (see _apply)

    def _activity(self, day: dt.date, rec: Record | None, series: str, holder: str,
                  kind: str) -> Row:
        return {
            "issuer": self.issuer,
            "line": 0,
            "effective_date": day,
            "seq": rec.seq if rec else None,
            "event_type": rec.event.type if rec else None,
            "event_id": rec.event.id if rec else None,
            "series": series,
            "series_key": series_key(self.issuer, series),
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
        }

    def _end_of_day(self, day: dt.date, touched: dict[str, set[str] | None]) -> None:
        st = self.st
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
                key = (name, h)
                old = self.open_pos.pop(key, None)
                if old is not None:
                    old["valid_to"] = day
                if v is None:
                    del held[h]
                    continue
                held[h] = v
                r = {"issuer": self.issuer, "series": name,
                     "series_key": series_key(self.issuer, name), "holder": h,
                     "holder_key": holder_key(self.issuer, h), "valid_from": day,
                     "valid_to": None, "shares": v}
                self.rows["positions"].append(r)
                self.open_pos[key] = r
                self.first_seen.setdefault(h, day)
        for name, s in st.series.items():
            pays = s.rate is not None
            values = {
                "outstanding": self.outstanding[name],
                "holders": len(self.holdings[name]),
                "carrying_amount": self.carrying[name],
                "dividend_rate": s.rate,
                "arrears": self.arrears[name] if pays else None,
                "dividends_payable": self.payable[name],
                "missed_streak": s.missed_streak if pays else None,
                "conversion_rate": s.conversion_rate,
            }
            last = self.last_bal.get(name)
            if last is not None and all(last[k] == v for k, v in values.items()):
                continue
            if last is not None:
                last["valid_to"] = day
            r = {"issuer": self.issuer, "series": name,
                 "series_key": series_key(self.issuer, name),
                 "valid_from": day, "valid_to": None, **values}
            self.rows["series_balances"].append(r)
            self.last_bal[name] = r
        common = st.common_outstanding
        if self.last_common is None or self.last_common["outstanding"] != common:
            if self.last_common is not None:
                self.last_common["valid_to"] = day
            self.last_common = {"issuer": self.issuer, "valid_from": day, "valid_to": None,
                                "outstanding": common}
            self.rows["common_stock"].append(self.last_common)

    # -- the tables built from the final state ----------------------------------------
    def _finish(self) -> None:
        st = self.st
        end = self.end
        self._number_activity()
        for _name, s in sorted(st.series.items()):
            self._series(s)
            self._periods(s)
            self._dues(s)
            self._rates(s)
            self._conversion_rates(s)
        holders = set(st.holders) | {h for s in st.series.values() for h in s.dues}
        for h in sorted(holders):
            self.rows["holders"].append({
                "key": holder_key(self.issuer, h), "issuer": self.issuer, "holder": h,
                "first_held": self.first_seen.get(h),
                "shares": sum((held.get(h, ZERO) for held in self.holdings.values()), ZERO),
            })
        self._events(holders)
        last = self.recs[-1] if self.recs else None
        dates = [r.event.effective_date for r in self.recs]
        self.rows["issuers"].append({
            "issuer": self.issuer,
            "events": len(self.recs),
            "first_effective_date": min(dates) if dates else None,
            "last_effective_date": max(dates) if dates else None,
            "last_recorded_at": last.recorded_at if last else None,
            "head_hash": last.hash if last else None,
            "through": end,
            "series_count": len(st.series),
            "common_outstanding": st.common_outstanding,
            "liquidated_on": st.liquidated_on,
        })

    def _series(self, s: SeriesState) -> None:
        t = s.terms
        self.rows["series"].append({
            "key": series_key(self.issuer, s.name), "issuer": self.issuer, "series": s.name,
            "name": t.name or None, "designated": t.designated,
            "authorized_shares": t.authorized_shares, "stated_value": t.stated_value,
            "par_value": t.par_value, "dividend_rate": t.dividend_rate,
            "cumulative": t.cumulative if t.dividend_rate is not None else None,
            "conversion": t.conversion, "base_conversion_rate": t.base_conversion_rate,
            "antidilution_threshold": t.antidilution_threshold, "votes": t.votes,
            "issued_total": s.issued_total, "converted_total": s.converted_total,
            "redeemed_total": s.redeemed_total, "outstanding": s.outstanding,
            "carrying_amount": self.carrying.get(s.name, ZERO),
            "extinguished": s.extinguished,
            "terms": json.dumps(t.model_dump(mode="json"), sort_keys=True),
        })

    def _periods(self, s: SeriesState) -> None:
        """SPEC.md §5 Periods: one row per payment date, from the period's first start."""
        if s.rate is None and not self.segments.get(s.name):
            return
        end = self.end
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
            self.rows["dividend_periods"].append(row)

    def _dues(self, s: SeriesState) -> None:
        agg: dict[tuple[str, dt.date, str], list[Decimal]] = {}
        for h, ds in s.dues.items():
            for d in ds:
                a = agg.setdefault((h, d.due_date, d.kind), [ZERO, ZERO])
                a[0] += d.amount
                a[1] += d.paid
        for (h, due, kind), (amount, paid) in sorted(agg.items()):
            self.rows["dividend_dues"].append({
                "issuer": self.issuer, "series": s.name,
                "series_key": series_key(self.issuer, s.name), "holder": h,
                "holder_key": holder_key(self.issuer, h), "due_date": due, "kind": kind,
                "amount": amount, "paid": paid, "unpaid": amount - paid,
            })
            self._spill("dividend_dues")

    def _rates(self, s: SeriesState) -> None:
        hist = s.rate_history
        for k, c in enumerate(hist):
            self.rows["rate_history"].append({
                "issuer": self.issuer, "series": s.name,
                "series_key": series_key(self.issuer, s.name), "step": k,
                "valid_from": c.effective,
                "valid_to": hist[k + 1].effective if k + 1 < len(hist) else None,
                "rate": c.rate, "cause": c.cause,
            })

    def _conversion_rates(self, s: SeriesState) -> None:
        """SPEC.md §6: the base rate, then every adjustment with its A, B, C."""
        base = s.terms.base_conversion_rate
        if base is None:
            return
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
        for k, r in enumerate(steps):
            nxt = steps[k + 1]["effective_date"] if k + 1 < len(steps) else None
            self.rows["conversion_rates"].append({
                "issuer": self.issuer, "series": s.name,
                "series_key": series_key(self.issuer, s.name), "step": k,
                "valid_to": nxt, "rate_exact": str(r["rate"]), **r,
            })

    def _events(self, holders: set[str]) -> None:
        st = self.st
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
            self.rows["events"].append({
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
            self._spill("events")


def _dec(v: Any) -> Decimal | None:
    return Decimal(v) if isinstance(v, str) else None


def project_issuer(issuer: str, records: Iterable[Record], through: dt.date | None = None,
                   resolve: TermsResolver = load_terms_ref, sink: Sink | None = None) -> Rows:
    """Every projection table for one issuer (see the module docstring).

    ``sink(table, rows)``: rows that are final are handed to it in batches of about
    ``SPILL`` as the walk goes (the largest tables: activity, closed positions, events,
    dividend dues), so memory stays bounded by the issuer's state, not its history; the
    rows returned are the rest. Without a sink, every row is returned."""
    return _Walk(issuer, records, through, resolve, sink).run()


def at(rows: list[Row], day: dt.date, **match: Any) -> list[Row]:
    """The interval rows in force at the end of ``day`` (``valid_from <= day < valid_to``)."""
    return [r for r in rows
            if r["valid_from"] <= day and (r["valid_to"] is None or day < r["valid_to"])
            and all(r[k] == v for k, v in match.items())]


__all__ = ["TABLES", "KIND", "Row", "Rows", "project_issuer", "series_key", "holder_key", "at"]
