"""How a figure of the position was made, step by step (``prefledger explain``).

Pure over its input, like ``ledger.replay``: one issuer's records in, plain immutable
data out. The records are replayed once by the engine's own ``replay``, and the
``Follower`` subscribes to it (``ledger.replay.ReplayHooks``): after the start of each
day, after each event and after the end of each day it looks at what changed in the
state the engine built and notes, with the event ids behind it,

- every accrual piece the engine closed on a lot (from, to, rate, days under the
  series' day count), each lot followed through transfers and partial takes, so the
  pieces that fell due on a payment date are known per holder (docs/rules.md, Accrual);
- every amount due that appeared or changed: fell due (the pieces, then the rounding
  to the cent per holder and payment date), declared and fallen due, payable on
  conversion, paid, carried away by a redemption, extinguished by a cancellation or
  settled by a liquidation;
- every movement of shares of a series and of common stock, per holder.

``explain`` then puts together the steps of one figure. The steps reproduce the value
exactly, as ``Explanation.combine`` says: ``sum`` (the amounts added without rounding),
``product`` (each amount multiplies the one before, in the ledger's 40 digits) or
``last`` (the value is the last step's amount). The value itself is the position's
figure, computed by the engine (``ledger.claims``, ``ledger.conversion``); a step of kind
``unexplained`` would carry any difference between the two, and the tests require none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

from ledger import accrual
from ledger.claims import declared_owed, preference_of, series_claims
from ledger.conversion import votes
from ledger.daycount import DENOMINATOR, units
from ledger.redemption import base_price
from ledger.replay import Replayer, ReplayHooks, TermsResolver, replay
from ledger.schedule import ONE_DAY
from ledger.state import (
    UNATTRIBUTED_LABEL,
    Declaration,
    Due,
    IssuerState,
    Record,
    SeriesState,
)
from ledger.terms import load_terms_ref
from ledger.values import CONTEXT, ONE, ZERO, money, money_str, plain
from projections.dues import DueWatch

#: every figure that can be explained, in the order the position lists them
FIGURES: tuple[str, ...] = (
    "shares", "accrued_unpaid", "arrears", "dividends_payable", "dividend_rate",
    "conversion_rate", "votes", "redemption_price_per_share", "liquidation_preference",
)
#: the figures a holder line of the position has
HOLDER_FIGURES = frozenset({"shares", "accrued_unpaid", "dividends_payable", "votes"})
#: the figures of common stock
COMMON_FIGURES = frozenset({"shares", "votes"})
#: figures in money (two decimals in reports)
MONEY_FIGURES = frozenset({"accrued_unpaid", "arrears", "dividends_payable",
                           "redemption_price_per_share", "liquidation_preference"})
#: the ``series`` naming common stock
COMMON = "common"

#: exact arithmetic for recombining steps (amounts carry up to 40 digits at any scale)
EXACT = Context(prec=2000)


class ExplainError(ValueError):
    """A figure, series or holder that cannot be explained; ``option`` names the
    command-line option at fault (``figure``, ``series`` or ``holder``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Step:
    """One step behind a figure: what happened on ``date`` (from the events
    ``event_ids``), its own fields (``fields``, in order) and its ``amount``."""

    kind: str
    date: dt.date | None
    event_ids: tuple[str, ...]
    amount: Decimal | None
    fields: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        for k, v in self.fields:
            if k == name:
                return v
        return default

    def to_json(self, money_amount: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind,
                               "date": self.date.isoformat() if self.date else None,
                               "event_ids": list(self.event_ids)}
        for k, v in self.fields:
            out[k] = json_value(v)
        out["amount"] = None if self.amount is None else _amount_str(self.amount, money_amount)
        return out


def json_value(v: Any) -> Any:
    """A field of a step as its JSON writes it (``Step.to_json``)."""
    t = type(v)
    if t is str or t is int or v is None:  # the common cases first (performance)
        return v
    if t is dt.date:
        return v.isoformat()
    if isinstance(v, Decimal):
        return plain(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, tuple):
        return [json_value(x) for x in v]
    return v


def _amount_str(v: Decimal, money_amount: bool) -> str:
    """Money at the cent as money (two decimals), anything finer in full."""
    if money_amount and v == money(v):
        return money_str(v)
    return plain(v)


@dataclass(frozen=True)
class Explanation:
    """How ``figure`` of ``series`` (and ``holder``) came to be ``value`` as of the end
    of ``as_of``: ``steps`` recombined as ``combine`` says give ``value`` exactly."""

    issuer: str
    figure: str
    series: str
    holder: str | None
    as_of: dt.date
    value: Decimal | None
    combine: str
    steps: tuple[Step, ...]

    def recombined(self) -> Decimal | None:
        """The value the steps give (``combine``), exactly."""
        amounts = [s.amount for s in self.steps if s.amount is not None]
        if self.combine == "none":
            return None
        if self.combine == "sum":
            total = ZERO
            for a in amounts:
                total = EXACT.add(total, a)
            return total
        if self.combine == "product":
            if not amounts:
                return None
            out = amounts[0]
            for a in amounts[1:]:
                out = CONTEXT.multiply(out, a)
            return out
        return amounts[-1] if amounts else None  # last

    def to_json(self) -> dict[str, Any]:
        money_fig = self.figure in MONEY_FIGURES
        value: str | None = None
        if self.value is not None:
            value = money_str(self.value) if money_fig else plain(self.value)
        return {"issuer": self.issuer, "figure": self.figure, "series": self.series,
                "holder": self.holder, "as_of": self.as_of.isoformat(), "value": value,
                "combine": self.combine,
                "steps": [s.to_json(money_fig) for s in self.steps]}


# -- following a replay -----------------------------------------------------------------

@dataclass(frozen=True)
class _Piece:
    """A constant-rate piece [start, end) of a lot: per share, rate × units."""

    start: dt.date
    end: dt.date
    rate: Decimal
    units: int
    ids: tuple[str, ...]
    #: under compounding, the arrears the piece accrued on (the lot is then one unit)
    base: Decimal | None = None

    @property
    def rate_days(self) -> Decimal:
        return self.rate * self.units if self.base is None else (self.rate * self.base) * \
            self.units


@dataclass
class _Lot:
    """A lot (or the compounding accrual of a holder's arrears) followed as it accrues."""

    ref: accrual.Lot
    holder: str
    shares: Decimal
    ps: dt.date
    due: dt.date | None
    ids: tuple[str, ...]
    pieces: dict[dt.date, list[_Piece]] = field(default_factory=dict)
    compound: bool = False


@dataclass
class _Ctx:
    """Where the replay is: the start or end of a day, or an event."""

    when: str  # "start", "event", "end"
    date: dt.date
    rec: Record | None = None
    accepted: bool = True

    @property
    def etype(self) -> str:
        return type(self.rec.event).__name__ if self.rec is not None else ""

    @property
    def ids(self) -> tuple[str, ...]:
        if self.rec is None or self.rec.event.id is None:
            return ()
        return (self.rec.event.id,)


#: the kind of a movement of shares, by the event that made it
_SHARE_KIND = {
    "SharesIssued": "issued", "SharesTransferred": "transferred",
    "SharesConverted": "converted", "ShareholderApproval": "converted",
    "PublicOffering": "converted", "SharesRedeemed": "redeemed",
    "SharesCancelled": "cancelled", "DividendPaid": "paid_in_kind",
    "Liquidation": "liquidation", "CommonStockIssued": "issued",
    "CommonStockSplit": "split",
}

class _Series:
    """What the follower keeps of one series."""

    def __init__(self, designation_ids: tuple[str, ...]) -> None:
        #: the lots followed, keyed by the engine's lot (its identity), in the order
        #: they were first followed
        self.lots: dict[int, _Lot] = {}
        #: key -> its place in that order: lots are always visited in it, never in the
        #: order of their keys (memory addresses: the steps would change run to run)
        self.num: dict[int, int] = {}
        self.count = 0
        #: holder -> keys of ``lots`` (the lots followed, by holder)
        self.by_holder: dict[str, set[int]] = {}
        self.compound_keys: set[int] = set()  # the compounding lots among them
        self.watch = DueWatch()
        self.seen: set[int] = set()  # the amounts due already seen (by identity)
        self.rate: Decimal | None = None
        self.base: dict[str, Decimal] = {}
        self.holdings: dict[str, Decimal] = {}
        self.decls: dict[int, tuple[Declaration, dict[str, Decimal] | None]] = {}
        self.owed: dict[str, list[tuple[str, Step]]] = {}  # holder -> (bucket, step)
        self.owed_order: list[tuple[str, str, Step]] = []  # every one, in order
        self.shares: dict[str, list[Step]] = {}  # holder -> steps
        self.share_order: list[tuple[str, Step]] = []  # every movement, in order
        self.designation_ids = designation_ids
        self.misses: dict[dt.date, list[str]] = {}
        self.paid_on: dict[dt.date, list[str]] = {}
        self.claims: dict[dt.date, Any] = {}  # as of -> ``SeriesClaims`` (final state)
        #: as of -> dividends payable by holder (final state)
        self.payable: dict[dt.date, dict[str, Decimal]] = {}

    def add_lot(self, k: int, tr: _Lot) -> None:
        self.lots[k] = tr
        self.num[k] = self.count
        self.count += 1
        self.by_holder.setdefault(tr.holder, set()).add(k)
        if tr.compound:
            self.compound_keys.add(k)

    def drop_lot(self, k: int) -> None:
        tr = self.lots.pop(k)
        del self.num[k]
        self.by_holder.get(tr.holder, set()).discard(k)
        self.compound_keys.discard(k)

    def lots_of(self, holder: str) -> list[int]:
        """The keys of ``holder``'s lots, in the order they were first followed."""
        return sorted(self.by_holder.get(holder, ()), key=self.num.__getitem__)

    def compounding(self) -> list[int]:
        """The keys of the compounding lots, in the order they were first followed."""
        return sorted(self.compound_keys, key=self.num.__getitem__)

    def rename(self, k: int, tr: _Lot, holder: str) -> None:
        self.by_holder.get(tr.holder, set()).discard(k)
        tr.holder = holder
        self.by_holder.setdefault(holder, set()).add(k)

    def note(self, holder: str, bucket: str, step: Step) -> None:
        self.owed.setdefault(holder, []).append((bucket, step))
        self.owed_order.append((holder, bucket, step))


#: events that change no lot, no amount due and no holding of the series they name
_QUIET = frozenset({"DividendMissed", "RedemptionNoticed", "BalanceAsserted",
                    "DividendDeclared", "SeriesDesignated", "EventReversed"})
#: events without a series that may change every series' lots and dues
_EVERY_SERIES = frozenset({"ShareholderApproval", "PublicOffering", "Liquidation"})
#: events that may move common between holders (SPEC.md §13)
_MOVES_COMMON = frozenset({"CommonStockIssued", "CommonStockSplit", "SharesConverted",
                           "ShareholderApproval", "PublicOffering", "SharesTransferred",
                           "SharesCancelled", "Liquidation"})


def _named(ev: Any) -> set[str] | None:
    """The holders whose lots an event of its series may change (None: every holder)."""
    kind = type(ev).__name__
    if kind in ("SharesIssued", "SharesConverted", "SharesRedeemed", "SharesCancelled"):
        return {ev.holder}
    if kind == "SharesTransferred":
        return {ev.from_holder, ev.to_holder}
    if kind == "DividendPaid" and (getattr(ev, "form", None) or "cash") == "cash":
        return set()  # a cash payment changes amounts due, never lots
    return None


def _compounds(s: SeriesState) -> bool:
    return bool(s.compound or s.compound_base) or s.terms.compounding != "none"


class Follower(ReplayHooks):
    """Subscribes to a replay and notes every step behind every figure (module doc).
    Each look costs what may have changed: the series an event names (the holders it
    names), the series whose day started with something (a period, a payment date, a
    rate change, a conversion), never the whole issuer at every step (performance)."""

    def __init__(self) -> None:
        self.series: dict[str, _Series] = {}
        self.common: dict[str | None, Decimal] = {}
        self.common_steps: list[tuple[str | None, Step]] = []
        self._conversions = 0

    def _f(self, name: str) -> _Series:
        f = self.series.get(name)
        if f is None:
            f = self.series[name] = _Series(())
        return f

    # -- hooks ------------------------------------------------------------------------
    def day_started(self, rp: Replayer, day: dt.date, boundaries: list[SeriesState],
                    payments: list[SeriesState]) -> None:
        st = rp.state
        ctx = _Ctx("start", day)
        touched = {id(s) for s in boundaries} | {id(s) for s in payments}
        converted = len(st.conversions) != self._conversions
        for name, s in st.series.items():
            f = self._f(name)
            if (id(s) in touched or s.rate != f.rate or _compounds(s)
                    or (converted and s.converted_on == day)):
                self._look(s, f, ctx, None)
        if converted:
            self._common(st, ctx, None)
            self._conversions = len(st.conversions)

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        if not accepted:
            return  # a rejected event changed nothing a report reads
        st = rp.state
        ev = rec.event
        kind = type(ev).__name__
        name = getattr(ev, "series", None)
        if kind == "SeriesDesignated" and isinstance(name, str) and name not in self.series:
            self.series[name] = _Series(() if ev.id is None else (ev.id,))
        f = self.series.get(name) if isinstance(name, str) else None
        if f is not None and ev.id is not None:
            if kind == "DividendMissed":
                f.misses.setdefault(ev.payment_date, []).append(ev.id)  # type: ignore[attr-defined]
            if kind == "DividendPaid":
                f.paid_on.setdefault(ev.effective_date, []).append(ev.id)
        ctx = _Ctx("event", ev.effective_date, rec, accepted)
        every = kind in _EVERY_SERIES
        for sname, s in st.series.items():
            if every:
                self._look(s, self._f(sname), ctx, None)
            elif sname == name and kind not in _QUIET:
                self._look(s, self._f(sname), ctx, _named(ev))
            elif _compounds(s):  # the arrears' accrual base is checked after every event
                self._look(s, self._f(sname), ctx, set())
        if kind in _MOVES_COMMON:
            self._common(st, ctx, _common_named(ev))
        self._conversions = len(st.conversions)

    def day_ended(self, rp: Replayer, day: dt.date) -> None:
        ctx = _Ctx("end", day)
        for name, s in rp.state.series.items():
            if s.declarations or _compounds(s) or self._f(name).decls:
                self._look(s, self._f(name), ctx, set())

    # -- looking at what changed ------------------------------------------------------
    def _look(self, s: SeriesState, f: _Series, ctx: _Ctx, holders: set[str] | None
              ) -> None:
        """Look at ``s`` (only the lots and holdings of ``holders``, if given)."""
        popped, taken = self._lots(s, f, ctx, holders)
        self._decls(s, f)
        self._dues(s, f, ctx, popped, taken)
        self._shares(s, f, ctx, holders)
        f.rate = s.rate
        f.base = dict(s.compound_base) if s.compound_base or f.base else f.base

    def _lots(self, s: SeriesState, f: _Series, ctx: _Ctx, holders: set[str] | None
              ) -> tuple[list[tuple[_Lot, dt.date, Decimal]], list[tuple[_Lot, Decimal]]]:
        """Follow the lots: pieces closed, amounts popped (fell due) and shares taken
        (converted, redeemed, cancelled). Returns the popped ``(lot, due, shares)`` and
        the taken ``(lot with the pieces of the part taken, shares)``."""
        basis = s.terms.day_count
        if holders is None:
            current: list[tuple[accrual.Lot, bool]] = [(lot, False) for lot in s.lots]
            current += [(lot, True) for lot in s.compound.values()]
            keys = list(f.lots)
        else:
            current = [(lot, False) for h in sorted(holders) for lot in s.lots.of(h)]
            current += [(s.compound[h], True) for h in sorted(holders) if h in s.compound]
            keys = [k for h in sorted(holders) for k in f.lots_of(h)]
            # a compounding lot is cut by every event (its base), whoever it names
            current += [(lot, True) for h, lot in s.compound.items() if h not in holders]
            keys += [k for k in f.compounding() if f.lots[k].holder not in holders]
        alive = {id(lot) for lot, _ in current}
        popped: list[tuple[_Lot, dt.date, Decimal]] = []
        taken: list[tuple[_Lot, Decimal]] = []
        by_key: dict[tuple[dt.date, int], list[_Lot]] = {}
        for k in keys:
            tr = f.lots[k]
            lot = tr.ref
            gone = ZERO if tr.compound or k not in alive else tr.shares - lot.shares
            before = _copy(tr) if gone > 0 else tr
            _close(f, tr, lot.piece_start, basis)  # the engine's own cut, if any
            if k in alive:
                if gone > 0:  # a part split off: cut where the engine cut it
                    _close(f, before, ctx.date if ctx.when == "event" else lot.piece_start,
                           basis)
                    before.shares = gone
                    taken.append((before, gone))
            else:
                f.drop_lot(k)
                if ctx.when == "event" or lot.open_due is None:
                    taken.append((tr, tr.shares))
            if ctx.when == "start":
                for d in list(tr.pieces):
                    if d not in lot.pending and d != lot.open_due:
                        popped.append((_copy(tr, d), d, tr.shares))
                        del tr.pieces[d]
            if k in alive:
                tr.ps, tr.due, tr.shares = lot.piece_start, lot.open_due, lot.shares
                if lot.holder != tr.holder:
                    f.rename(k, tr, lot.holder)
                if not tr.compound:
                    by_key.setdefault((lot.issued, lot.seq), []).append(tr)
        for lot, compound in current:
            if id(lot) in f.lots:
                continue
            parents = [] if compound else by_key.get((lot.issued, lot.seq), [])
            parent = next((p for p in parents if p.ps == lot.piece_start
                           and p.due == lot.open_due), None)
            if parent is not None:  # a part moved to another holder: not taken after all
                pieces = {d: list(ps) for d, ps in parent.pieces.items()}
                # the lot's issuance, and the event that moved this part to its holder
                ids = _merge_ids(parent.ids[:1], ctx.ids)
                taken[:] = [(p, n - lot.shares) if p.ref is parent.ref else (p, n)
                            for p, n in taken]
                taken[:] = [(p, n) for p, n in taken if n > 0]
            else:
                pieces, ids = {}, ctx.ids
            f.add_lot(id(lot), _Lot(lot, lot.holder, lot.shares, lot.piece_start,
                                    lot.open_due, ids, pieces, compound))
        return popped, taken

    def _decls(self, s: SeriesState, f: _Series) -> None:
        for d in s.declarations:
            key = id(d)
            seen = f.decls.get(key)
            if seen is None or (seen[1] is None and d.owed is not None):
                shares = dict(s.holdings()) if d.owed is not None else None
                f.decls[key] = (d, shares)

    def _dues(self, s: SeriesState, f: _Series, ctx: _Ctx,
              popped: list[tuple[_Lot, dt.date, Decimal]],
              taken: list[tuple[_Lot, Decimal]]) -> None:
        """The amounts due that appeared or changed since the last look
        (``projections.dues.DueWatch``), each with the steps that explain it."""
        fell: dict[str, list[tuple[_Lot, dt.date, Decimal]]] = {}
        for tr, due, n in popped:
            fell.setdefault(tr.holder, []).append((tr, due, n))
        for h, d, amount, paid in f.watch.look(s):
            if id(d) not in f.seen:
                f.seen.add(id(d))
                for st in self._origin(s, f, ctx, h, d, amount, fell, taken):
                    f.note(h, d.kind, st)
                if paid:
                    f.note(h, d.kind, self._paid(ctx, h, d, paid))
            elif paid > 0:  # paid, carried away, extinguished or settled
                f.note(h, d.kind, self._paid(ctx, h, d, paid))
            elif paid < 0:  # the amount grew (declared amounts of one payment date)
                for st in self._origin(s, f, ctx, h, d, -paid, fell, taken):
                    f.note(h, d.kind, st)
        live = {id(dc) for dc in s.declarations}
        for k in [k for k, (dc, _) in f.decls.items() if k not in live and dc.owed]:
            del f.decls[k]  # fallen due: its amounts are amounts due now

    def _paid(self, ctx: _Ctx, h: str, d: Due, paid: Decimal) -> Step:
        kind = {"DividendPaid": "payment", "SharesRedeemed": "redeemed",
                "SharesCancelled": "cancelled",
                "Liquidation": "liquidation"}.get(ctx.etype, "unexplained")
        fields: list[tuple[str, Any]] = [("holder", h), ("payment_date", d.due_date),
                                         ("paid", paid)]
        if kind == "payment" and ctx.rec is not None:
            form = getattr(ctx.rec.event, "form", None) or "cash"
            fields.append(("form", form))
        return Step(kind, ctx.date, ctx.ids, -paid, tuple(fields))

    def _origin(self, s: SeriesState, f: _Series, ctx: _Ctx, h: str, d: Due,
                amount: Decimal, fell: dict[str, list[tuple[_Lot, dt.date, Decimal]]],
                taken: list[tuple[_Lot, Decimal]]) -> list[Step]:
        """The steps that make a new (or grown) amount due of ``amount``."""
        steps: list[Step] = []
        if d.kind == "payable":
            parts = [(tr, n) for tr, n in taken if tr.holder == h and not tr.compound]
            groups: dict[dt.date, list[tuple[_Lot, Decimal]]] = {}
            for tr, n in parts:
                for due in tr.pieces:
                    groups.setdefault(due, []).append((tr, n))
            total = ZERO
            for due in sorted(groups):
                got, rounded = _period(s, h, due, [(tr, due, n) for tr, n in groups[due]],
                                       "payable", ctx.ids)
                steps += got
                total = EXACT.add(total, rounded)
            return steps + _residual(ctx, h, d, amount, total)
        mine = [x for x in fell.get(h, []) if x[1] == d.due_date]
        declared = [dc for dc, _ in f.decls.values()
                    if dc.payment_date == d.due_date and dc.owed and h in dc.owed
                    and all(dc is not x for x in s.declarations)]
        total = ZERO
        if mine:
            got, rounded = _period(s, h, d.due_date, mine, "due", ())
            steps += got
            total = EXACT.add(total, rounded)
        for dc in declared:
            assert dc.owed is not None
            shares = (f.decls[id(dc)][1] or {}).get(h)
            steps.append(Step("declared_due", d.due_date, (() if dc.event_id is None
                                                            else (dc.event_id,)),
                              dc.owed[h], (("holder", h), ("record_date", dc.record_date),
                                           ("payment_date", dc.payment_date),
                                           ("shares", shares),
                                           ("amount_per_share", dc.amount_per_share))))
            total = EXACT.add(total, dc.owed[h])
        return steps + _residual(ctx, h, d, amount, total)

    def _shares(self, s: SeriesState, f: _Series, ctx: _Ctx, holders: set[str] | None
                ) -> None:
        if holders is None:
            now = s.holdings()
            names = sorted(set(now) | set(f.holdings))
        else:
            now = {h: s.held(h) for h in holders}
            names = sorted(holders)
        for h in names:
            delta = EXACT.subtract(now.get(h, ZERO), f.holdings.get(h, ZERO))
            if delta:
                kind = (_SHARE_KIND.get(ctx.etype, "moved") if ctx.when == "event"
                        else "converted")
                step = Step(kind, ctx.date, ctx.ids, delta, (("holder", h),))
                f.shares.setdefault(h, []).append(step)
                f.share_order.append((h, step))
            if now.get(h):
                f.holdings[h] = now[h]
            else:
                f.holdings.pop(h, None)

    def _common(self, st: IssuerState, ctx: _Ctx, holders: set[str | None] | None) -> None:
        ratio = getattr(ctx.rec.event, "ratio", None) if ctx.rec is not None else None
        if holders is None:
            names = set(st.common) | set(self.common)
        else:
            names = holders
        for h in sorted(names, key=lambda x: (x is None, x or "")):
            now = st.common.get(h, ZERO)
            delta = EXACT.subtract(now, self.common.get(h, ZERO))
            if delta:
                kind = (_SHARE_KIND.get(ctx.etype, "moved") if ctx.when == "event"
                        else "converted")
                fields: list[tuple[str, Any]] = [("holder", h)]
                if kind == "split" and ratio is not None:
                    fields += [("shares_before", self.common.get(h, ZERO)),
                               ("ratio", ratio)]
                self.common_steps.append((h, Step(kind, ctx.date, ctx.ids, delta,
                                                  tuple(fields))))
            if now:
                self.common[h] = now
            else:
                self.common.pop(h, None)


def _common_named(ev: Any) -> set[str | None] | None:
    """The holders of common an event may change (None: every holder)."""
    kind = type(ev).__name__
    if kind == "CommonStockIssued":
        return {getattr(ev, "holder", None)}
    if kind == "SharesTransferred":
        return {ev.from_holder, ev.to_holder} if ev.series == COMMON else set()
    if kind == "SharesCancelled":
        return {ev.holder} if ev.series == COMMON else set()
    if kind == "SharesConverted":
        return {ev.holder}
    return None


def _copy(tr: _Lot, due: dt.date | None = None) -> _Lot:
    """A copy of a followed lot (only the pieces of ``due`` if given)."""
    pieces = ({d: list(ps) for d, ps in tr.pieces.items()} if due is None
              else {due: list(tr.pieces.get(due, []))})
    return _Lot(tr.ref, tr.holder, tr.shares, tr.ps, tr.due, tr.ids, pieces, tr.compound)


def _close(f: _Series, tr: _Lot, end: dt.date, basis: str) -> None:
    """Close the piece [tr.ps, end) at the rate in force when ``f`` last looked (the
    engine cuts a lot's open piece at a rate change, a period start or its end; the
    pieces are priced as the engine prices them, ``ledger.accrual``)."""
    if tr.due is None or end <= tr.ps or f.rate is None:
        return
    base = f.base.get(tr.holder, ZERO) if tr.compound else None
    if tr.compound and not base:
        tr.ps = end
        return  # nothing accrued on no arrears
    piece = _Piece(tr.ps, end, f.rate, units(basis, tr.ps, end), tr.ids, base)
    tr.pieces.setdefault(tr.due, []).append(piece)
    tr.ps = end


def _merge_ids(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


def _residual(ctx: _Ctx, h: str, d: Due, amount: Decimal, explained: Decimal) -> list[Step]:
    left = EXACT.subtract(amount, explained)
    if not left:
        return []
    return [Step("unexplained", ctx.date, ctx.ids, left,
                 (("holder", h), ("payment_date", d.due_date)))]


def _piece_step(s: SeriesState, holder: str, p: _Piece, shares: Decimal, due: dt.date,
                ) -> Step:
    """One accrual piece: shares × stated × rate × units / denominator (or, under
    compounding, arrears × rate × units / denominator)."""
    t = s.terms
    basis = t.day_count
    if p.base is None:
        amount = accrual.amount(shares, t.stated_value, p.rate_days, basis)
        fields: tuple[tuple[str, Any], ...] = (
            ("holder", holder), ("from", p.start), ("to", p.end), ("day_count", basis),
            ("days", p.units), ("denominator", DENOMINATOR[basis]), ("rate", p.rate),
            ("shares", shares), ("stated_value", t.stated_value),
            ("base", shares * t.stated_value), ("payment_date", due))
        return Step("accrual", p.start, p.ids, amount, fields)
    amount = accrual.amount(ONE, ONE, p.rate_days, basis)
    return Step("compounding", p.start, p.ids, amount, (
        ("holder", holder), ("from", p.start), ("to", p.end), ("day_count", basis),
        ("days", p.units), ("denominator", DENOMINATOR[basis]), ("rate", p.rate),
        ("base", p.base), ("payment_date", due)))


def _period(s: SeriesState, holder: str, due: dt.date,
            lots: Sequence[tuple[_Lot, dt.date, Decimal]], kind: str,
            ids: tuple[str, ...]) -> tuple[list[Step], Decimal]:
    """The pieces of ``holder``'s lots for payment date ``due`` and the rounding of
    their sum to the cent (rounded per holder and payment date): steps, rounded total."""
    steps: list[Step] = []
    raw = ZERO
    all_ids: dict[str, None] = dict.fromkeys(ids)
    for tr, d, n in lots:
        shares = ONE if tr.compound else n
        for p in tr.pieces.get(d, []):
            st = _piece_step(s, holder, p, shares, due)
            steps.append(st)
            assert st.amount is not None
            raw = EXACT.add(raw, st.amount)
            all_ids.update(dict.fromkeys(p.ids))
    rounded = money(raw)
    steps.append(Step(kind, due, tuple(all_ids), EXACT.subtract(rounded, raw),
                      (("holder", holder), ("payment_date", due), ("accrued", raw),
                       ("rounded", rounded))))
    return steps, rounded


# -- the figures ----------------------------------------------------------------------

def follow(issuer: str, records: Iterable[Record], as_of: dt.date,
           resolve: TermsResolver = load_terms_ref) -> tuple[IssuerState, Follower]:
    """Replay ``records`` to the end of ``as_of``, followed (one replay for any number
    of explanations)."""
    f = Follower()
    st, _ = replay(issuer, records, as_of, resolve, hooks=(f,))
    return st, f


def explain(issuer: str, records: Iterable[Record], as_of: dt.date, figure: str,
            series: str, holder: str | None = None,
            resolve: TermsResolver = load_terms_ref) -> Explanation:
    """How ``figure`` of ``series`` (and ``holder``) came to be, as of ``as_of``."""
    check_figure(figure)
    st, f = follow(issuer, records, as_of, resolve)
    return explain_state(st, f, as_of, figure, series, holder)


def check_figure(figure: str) -> None:
    if figure not in FIGURES:
        raise ExplainError("figure", f"unknown figure {figure!r}; figures: "
                           f"{', '.join(FIGURES)}")


def _holder_name(holder: str | None) -> str | None:
    return None if holder == UNATTRIBUTED_LABEL else holder


def explain_state(st: IssuerState, f: Follower, as_of: dt.date, figure: str, series: str,
                  holder: str | None = None) -> Explanation:
    """``explain`` on a state and follower left by ``follow``."""
    check_figure(figure)
    if series == COMMON:
        if figure not in COMMON_FIGURES:
            raise ExplainError("figure", f"{figure} does not apply to common stock; common "
                               f"figures: {', '.join(sorted(COMMON_FIGURES))}")
        return _common(st, f, as_of, figure, holder)
    s = st.series.get(series)
    if s is None:
        known = ", ".join(sorted(st.series) + [COMMON])
        raise ExplainError("series", f"no series {series!r} as of {as_of} for issuer "
                           f"{st.issuer!r}; series: {known}")
    if holder is not None:
        if figure not in HOLDER_FIGURES:
            raise ExplainError("holder", f"{figure} is a figure of the series, not of a "
                               f"holder; holder figures: {', '.join(sorted(HOLDER_FIGURES))}")
        if holder not in st.holders:
            raise ExplainError("holder", f"no holder {holder!r} in issuer {st.issuer!r} as "
                               f"of {as_of}")
    fs = f.series[series]
    mk = _Maker(st, s, fs, as_of, figure, holder)
    return mk.build()


def _common(st: IssuerState, f: Follower, as_of: dt.date, figure: str,
            holder: str | None) -> Explanation:
    who = _holder_name(holder)
    if holder is not None and who is not None and who not in st.holders:
        raise ExplainError("holder", f"no holder {holder!r} in issuer {st.issuer!r} as of "
                           f"{as_of}")
    if figure == "shares":
        steps = tuple(s for h, s in f.common_steps if holder is None or h == who)
        value = st.common_outstanding if holder is None else st.common_held(who)
    else:  # votes: one a share
        held = st.common if holder is None else {who: st.common_held(who)}
        steps = tuple(Step("votes", as_of, (), n, (("holder", h), ("shares", n),
                                                   ("votes_per_share", ONE)))
                      for h, n in held.items() if n > 0)
        value = st.common_outstanding if holder is None else st.common_held(who)
    return Explanation(st.issuer, figure, COMMON, holder, as_of, value, "sum", steps)


class _Maker:
    """Puts together the steps of one figure of one series."""

    def __init__(self, st: IssuerState, s: SeriesState, f: _Series, as_of: dt.date,
                 figure: str, holder: str | None) -> None:
        self.st, self.s, self.f, self.as_of = st, s, f, as_of
        self.figure, self.holder = figure, holder

    def _mine(self, h: str) -> bool:
        return self.holder is None or h == self.holder

    def done(self, value: Decimal | None, combine: str, steps: Iterable[Step]
             ) -> Explanation:
        steps = tuple(steps)
        if value is None:
            combine, steps = "none", ()
        return Explanation(self.st.issuer, self.figure, self.s.name, self.holder,
                           self.as_of, value, combine, steps)

    def build(self) -> Explanation:
        return getattr(self, "_" + self.figure)()  # type: ignore[no-any-return]

    # shares and votes
    def _shares(self) -> Explanation:
        steps = (list(self.f.shares.get(self.holder, [])) if self.holder is not None
                 else [st for _, st in self.f.share_order])
        if self.holder is None:  # a transfer moves nothing out of the series
            steps = _net(steps)
            value = self.s.outstanding
        else:
            value = self.s.held(self.holder)
        return self.done(value, "sum", steps)

    def _votes(self) -> Explanation:
        s = self.s
        holdings = (s.holdings() if self.holder is None
                    else {self.holder: s.held(self.holder)})
        steps = []
        value = ZERO
        for h, n in sorted(holdings.items()):
            v = votes(s, n)
            value += v
            if s.terms.votes == "per_share":
                per = ("votes_per_share", s.terms.votes_per_share)
            elif s.terms.votes == "none" or s.conversion_rate is None:
                per = ("votes_per_share", ZERO)
            else:
                per = ("conversion_rate", s.conversion_rate)
            steps.append(Step("votes", self.as_of, (), v, (("holder", h), ("shares", n), per,
                                                           ("votes_method", s.terms.votes))))
        return self.done(value, "sum", steps)

    # dividends
    def _pays(self) -> bool:
        return self.s.rate is not None or not self.s.terms.cumulative

    def _owed(self, bucket: str) -> list[Step]:
        if self.holder is not None:
            return [st for b, st in self.f.owed.get(self.holder, []) if b == bucket]
        return [st for _, b, st in self.f.owed_order if b == bucket]

    def _claims(self) -> Any:
        """The series' claims as of the day (``ledger.claims``), computed once."""
        got = self.f.claims.get(self.as_of)
        if got is None:
            got = self.f.claims[self.as_of] = series_claims(self.s, self.as_of)
        return got

    def _arrears(self) -> Explanation:
        value = self.s.unpaid() if self._pays() else None
        return self.done(value, "sum", self._owed("arrears"))

    def _dividends_payable(self) -> Explanation:
        payable = self.f.payable.get(self.as_of)
        if payable is None:  # computed once for every holder line (like ``_claims``)
            payable = self.f.payable[self.as_of] = self.s.unpaid_by_holder("payable")
        value = (sum(payable.values(), ZERO) if self.holder is None
                 else payable.get(self.holder, ZERO))
        return self.done(value, "sum", self._owed("payable"))

    def _accrued_unpaid(self) -> Explanation:
        s = self.s
        if not self._pays():
            return self.done(None, "none", ())
        claims = self._claims()
        value = (claims.accrued_total if self.holder is None
                 else claims.accrued.get(self.holder, ZERO))
        steps = self._owed("arrears")
        # declared amounts owed, not yet due (the holders of record are fixed)
        for dc in s.declarations:
            for h, amt in sorted((dc.owed or {}).items()):
                if self._mine(h):
                    shares = (self.f.decls.get(id(dc), (dc, None))[1] or {}).get(h)
                    steps.append(Step("declared", dc.record_date,
                                      () if dc.event_id is None else (dc.event_id,), amt,
                                      (("holder", h), ("record_date", dc.record_date),
                                       ("payment_date", dc.payment_date),
                                       ("shares", shares),
                                       ("amount_per_share", dc.amount_per_share))))
        # the accrual not yet due, to the end of the day
        through = self.as_of + ONE_DAY
        groups: dict[tuple[str, dt.date], list[tuple[_Lot, dt.date, Decimal]]] = {}
        if s.rate is not None:
            keys = (self.f.lots if self.holder is None
                    else self.f.lots_of(self.holder))
            for k in keys:
                tr = self.f.lots[k]
                part = _copy(tr)
                _close(self.f, part, through, s.terms.day_count)
                for d in part.pieces:
                    groups.setdefault((tr.holder, d), []).append((part, d, tr.shares))
        for (h, d) in sorted(groups):
            got, _ = _period(s, h, d, groups[(h, d)], "not_yet_due", ())
            steps += got
        total = ZERO
        for st in steps:
            assert st.amount is not None
            total = EXACT.add(total, st.amount)
        if total != value:
            steps.append(Step("unexplained", self.as_of, (), EXACT.subtract(value, total),
                              (("holder", self.holder),)))
        return self.done(value, "sum", steps)

    # rates
    def _dividend_rate(self) -> Explanation:
        s, t = self.s, self.s.terms
        rate = s.rate if s.rate is not None or t.cumulative else t.dividend_rate
        if rate is None:
            return self.done(None, "none", ())
        if s.rate is None:  # non-cumulative: the rate of the terms, as amended
            steps = [Step("terms", t.designated, self.f.designation_ids,
                          (s.designated_terms or t).dividend_rate,
                          (("cause", "designation"),))]
            for a in s.amendments:
                if "dividend_rate" in a.changed:
                    steps.append(Step("amendment", a.effective,
                                      () if a.event_id is None else (a.event_id,),
                                      Decimal(str(dict(a.changes)["dividend_rate"])),
                                      (("cause", "amendment"),)))
            return self.done(rate, "last", steps)
        steps = []
        for r in s.rate_history:
            kind, ids = _rate_cause(self.f, s, r.cause, r.effective)
            steps.append(Step(kind, r.effective, ids, r.rate, (("cause", r.cause),)))
        return self.done(rate, "last", steps)

    def _conversion_rate(self) -> Explanation:
        s = self.s
        if s.conversion_rate is None:
            return self.done(None, "none", ())
        base = (s.designated_terms or s.terms).base_conversion_rate
        steps = [Step("base", s.terms.designated, self.f.designation_ids, base,
                      (("cause", "the rate of the terms as designated"),))]
        exact = base is not None
        prod = base
        for a in s.adjustments:
            fields: list[tuple[str, Any]] = [("cause", a.cause), ("method", a.method)]
            for name, v in (("P", a.price), ("threshold", a.threshold), ("A", a.a),
                            ("B", a.b), ("C", a.c), ("consideration", a.consideration),
                            ("cp_before", a.cp_before), ("cp_after", a.cp_after)):
                if v is not None:
                    fields.append((name, v))
            fields += [("factor", a.factor), ("rate_before", a.rate_before),
                       ("rate_after", a.rate_after)]
            steps.append(Step("adjustment", a.effective,
                              () if a.event_id is None else (a.event_id,), a.factor,
                              tuple(fields)))
            if prod is not None:
                prod = CONTEXT.multiply(prod, a.factor)
                exact = exact and prod == a.rate_after
        if exact and prod == s.conversion_rate:
            return self.done(s.conversion_rate, "product", steps)
        # a price-based adjustment or an amendment sets the rate itself: the last one
        last = [Step(st.kind, st.date, st.event_ids,
                     st.get("rate_after", st.amount), st.fields) for st in steps]
        return self.done(s.conversion_rate, "last", last)

    # redemption and liquidation
    def _redemption_price_per_share(self) -> Explanation:
        s = self.s
        claims = self._claims()
        value = claims.redemption_price_per_share
        if value is None:
            return self.done(None, "none", ())
        t = s.terms
        price = base_price(s)
        declared = sum(declared_owed(s).values(), ZERO)
        owed = claims.accrued_total - declared
        outstanding = s.outstanding
        steps = [
            Step("stated", self.as_of, (), price,
                 (("stated_value", t.stated_value), ("redemption_premium",
                                                     t.redemption_premium))),
            Step("dividends", self.as_of, (), money(CONTEXT.divide(owed, outstanding)),
                 (("accrued_unpaid", claims.accrued_total), ("declared_not_due", declared),
                  ("owed", owed), ("outstanding", outstanding),
                  ("per_share", CONTEXT.divide(owed, outstanding)))),
        ]
        return self.done(value, "sum", steps)

    def _liquidation_preference(self) -> Explanation:
        s = self.s
        t = s.terms
        claims = self._claims()
        steps = [Step("preference", self.as_of, (), preference_of(s),
                      (("outstanding", s.outstanding), ("stated_value", t.stated_value),
                       ("liquidation_multiple", t.liquidation_multiple)))]
        if t.liquidation_includes_accrued:
            steps.append(Step("accrued_unpaid", self.as_of, (), claims.accrued_total, ()))
        steps.append(Step("dividends_payable", self.as_of, (), claims.payable_total, ()))
        return self.done(claims.liquidation_preference, "sum", steps)


def _net(steps: list[Step]) -> list[Step]:
    """The series' steps: one per event, its holders' movements added (a transfer nets
    to nothing and is left out)."""
    out: list[Step] = []
    key: tuple[Any, ...] | None = None
    for st in steps:
        k = (st.kind, st.date, st.event_ids)
        assert st.amount is not None
        if out and k == key:
            prev = out[-1]
            assert prev.amount is not None
            out[-1] = Step(prev.kind, prev.date, prev.event_ids,
                           EXACT.add(prev.amount, st.amount), ())
        else:
            out.append(Step(st.kind, st.date, st.event_ids, st.amount, ()))
            key = k
    return [st for st in out if st.amount]


def _rate_cause(f: _Series, s: SeriesState, cause: str, effective: dt.date
                ) -> tuple[str, tuple[str, ...]]:
    """The kind of a rate change and the events behind it."""
    if cause.startswith("step-up"):
        through = effective - ONE_DAY
        dates = [d for d in s.missed_dates if d <= through]
        n = int(cause.split(":")[1].split()[0]) if ":" in cause else len(dates)
        ids = tuple(i for d in dates[-n:] for i in f.misses.get(d, []))
        return "step_up", ids
    if cause.startswith("reset"):
        return "reset", tuple(f.paid_on.get(effective - ONE_DAY, []))
    if cause == "designation":
        return "designation", f.designation_ids
    if cause.startswith("amendment"):
        parts = cause.split()
        ids = (parts[1],) if len(parts) > 3 else ()
        return "amendment", ids
    return "change", ()


def explain_all(st: IssuerState, f: Follower, as_of: dt.date) -> list[Explanation]:
    """Every figure of every series and holder the position lists (the reporting feed):
    series figures, holder figures of each holder line, common shares and votes."""
    from projections.position import position

    rep = position(st, as_of)
    out: list[Explanation] = []
    for row in rep["series"]:
        for fig in FIGURES:
            out.append(explain_state(st, f, as_of, fig, row["series"]))
    for fig in sorted(COMMON_FIGURES):
        out.append(explain_state(st, f, as_of, fig, COMMON))
    for h in rep["holders"]:
        figs = COMMON_FIGURES if h["series"] == COMMON else HOLDER_FIGURES
        name = UNATTRIBUTED_LABEL if h["holder"] is None else h["holder"]
        for fig in sorted(figs):
            out.append(explain_state(st, f, as_of, fig, h["series"], name))
    return out


# -- the arithmetic in words ------------------------------------------------------------

#: ``_n`` by ``(value, places)`` (performance: the steps of a feed repeat the same
#: shares, prices and rates); the text depends only on the numeric value, except for
#: zero's sign (zero is never cached)
_N: dict[tuple[Any, int | None], str] = {}
_N_MAX = 50_000


def _n(v: Any, places: int | None = None) -> str:
    """A number for a person: thousands separated; ``places`` decimals if given (an
    inexact figure is shortened and marked …)."""
    if v is None:
        return "—"
    if v and (type(v) is Decimal or type(v) is int):
        key = (v, places)
        got = _N.get(key)
        if got is None:
            if len(_N) >= _N_MAX:
                _N.clear()
            got = _N[key] = _number(v, places)
        return got
    return _number(v, places)


def _number(v: Any, places: int | None) -> str:
    d = Decimal(v)
    if places is not None:
        q = d.quantize(Decimal(1).scaleb(-places), context=EXACT)
        return f"{q:,.{places}f}" + ("" if q == d else "…")
    text = plain(d)
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or '0'):,}"
    if len(frac) > 8:
        frac = frac[:8] + "…"
    return sign + whole + ("." + frac if frac else "")


def _pct(rate: Any) -> str:
    return _n(Decimal(rate) * 100) + "%"


def _m(v: Any) -> str:
    return _n(v, 2)


def _x(v: Any) -> str:
    """An amount: to the cent when it is whole cents, else six decimals and …"""
    if v is None:
        return "—"
    d = Decimal(v)
    return _n(d, 2) if d == money(d) else _n(d, 6)


def arithmetic(step: Step) -> str:
    """The step's arithmetic spelled out, e.g. ``1,000 sh × 100.00 × 6% × 92/360 =
    1,533.33…`` (the JSON keeps every digit)."""
    # ``step.get`` as one lookup: the first field of each name (hence reversed)
    g = dict(reversed(step.fields)).get
    k = step.kind
    a = step.amount
    if k == "accrual":
        return (f"{_n(g('shares'))} sh × {_m(g('stated_value'))} × {_pct(g('rate'))} × "
                f"{g('days')}/{g('denominator')} = {_x(a)}")
    if k == "compounding":
        return (f"arrears {_m(g('base'))} × {_pct(g('rate'))} × {g('days')}/"
                f"{g('denominator')} = {_x(a)}")
    if k in ("due", "payable", "not_yet_due"):
        what = {"due": "falls due", "payable": "becomes payable on conversion",
                "not_yet_due": "accrued, not yet due"}[k]
        return (f"{_x(g('accrued'))} {what} for {g('payment_date')}, rounded to "
                f"{_m(g('rounded'))} (rounding {_x(a)})")
    if k in ("payment", "redeemed", "cancelled", "liquidation"):
        verb = {"payment": "paid", "redeemed": "carried by the redeemed shares",
                "cancelled": "extinguished by the cancellation",
                "liquidation": "settled by the liquidation"}[k]
        return f"{verb}: {_m(-a if a is not None else None)} of the amount due " \
               f"{g('payment_date')}"
    if k in ("declared", "declared_due"):
        return (f"{_n(g('shares'))} sh of record {g('record_date')} × "
                f"{_n(g('amount_per_share'))} = {_m(a)}"
                + (" (falls due)" if k == "declared_due" else f", due {g('payment_date')}"))
    if k == "votes":
        per = g("conversion_rate")
        if per is not None:
            return f"floor({_n(g('shares'))} sh × {_n(per)}) = {_n(a)}"
        return f"floor({_n(g('shares'))} sh × {_n(g('votes_per_share'))}) = {_n(a)}"
    if k == "adjustment":
        if g("method") == "threshold":
            return (f"× (A + C) / (A + B) = ({_n(g('A'))} + {_n(g('C'))}) / ({_n(g('A'))} + "
                    f"{_n(g('B'))}) = {_n(g('factor'))}; rate {_n(g('rate_before'))} → "
                    f"{_n(g('rate_after'))}")
        if g("method") == "split":
            return f"× {_n(g('factor'))} (split); rate → {_n(g('rate_after'))}"
        if g("cp_before") is not None and g("cp_after") is not None:
            return (f"CP {_n(g('cp_before'))} → {_n(g('cp_after'))} (P {_n(g('P'))}); "
                    f"rate = stated ÷ CP = {_n(g('rate_after'))}")
        return f"rate {_n(g('rate_before'))} → {_n(g('rate_after'))}"
    if k == "base":
        return f"base rate {_n(a)}"
    if k in ("designation", "step_up", "reset", "amendment", "terms", "change"):
        return f"{g('cause')}: rate {_pct(a)}"
    if k == "stated":
        return f"{_n(g('redemption_premium'))} × {_m(g('stated_value'))} = {_m(a)}"
    if k == "dividends":
        return (f"{_m(g('owed'))} owed ÷ {_n(g('outstanding'))} sh = {_x(g('per_share'))}"
                f", to the cent {_m(a)}")
    if k == "preference":
        return (f"{_n(g('outstanding'))} sh × {_m(g('stated_value'))} × "
                f"{_n(g('liquidation_multiple'))} = {_m(a)}")
    if k in ("accrued_unpaid", "dividends_payable"):
        return f"{k.replace('_', ' ')} {_m(a)}"
    if k == "split":
        return (f"{_n(g('shares_before'))} × {_n(g('ratio'))} − {_n(g('shares_before'))} = "
                f"{'+' if a and a > 0 else ''}{_n(a)}")
    if a is not None and k in _SHARE_KIND.values() or k in ("moved",):
        return f"{'+' if a and a > 0 else ''}{_n(a)} sh"
    return _n(a)
