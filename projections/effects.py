"""Effects: what each step of a replay changed, figure by figure (the ``history`` audit
trail's account of how every figure came to be; SPEC.md §10, §11 Days and order).

An **effect** is one figure, measured just before and just after one step of the replay:
``(series, holder, figure, before, after)``, ``holder`` None for a figure of the series
as a whole, ``series`` ``"common"`` for common stock. The figures are those of the
position (SPEC.md §9), computed the same way (``ledger.claims``, ``ledger.conversion``):

- per (series, holder) (``HOLDER_FIGURES``): ``shares``, ``arrears``,
  ``dividends_payable``, ``accrued_unpaid`` (arrears plus accrual not yet due, through
  the end of the step's day, as the position as of that day computes it) and ``votes``;
- per series (``SERIES_FIGURES``): ``authorized``, ``issued_total``, ``outstanding``,
  ``converted_total``, ``redeemed_total``, ``dividend_rate``, ``missed_streak``,
  ``conversion_rate``, and the series' ``arrears`` and ``dividends_payable``;
- common stock (``COMMON_FIGURES``): ``outstanding``; per common holder
  (``COMMON_HOLDER_FIGURES``): ``shares`` and ``issued_on_conversion``.

A new figure is one more entry in one of these tables.

The steps are the replay's own (``ledger.replay.ReplayHooks``):

- an **event**: measured at ``event_applying``, compared at ``event_applied``;
- the **start of a day**: what changed from the end of the previous day to
  ``day_started`` without an event: amounts falling due on a payment date (SPEC.md §5
  Periods). Reported as a calendar entry. Accrual is not compared across days (time
  passing is not an effect: ``accrued_unpaid`` is left out of start-of-day steps);
- the **end of a day**: the missed-payment test, step-up and reset (§5 Missed, Step-up),
  measured at ``day_ending``, compared at ``day_ended``. Reported on the event that
  records that outcome for the series: the ``DividendMissed`` of that payment date
  applied that day, else that day's last ``DividendPaid`` of the series (a catch-up
  payment and the reset it brings); without one, as a calendar entry.

``dividend_rate`` is the rate in force counting a change already scheduled (a step-up or
reset decided at the end of day P takes effect from P + 1, §5): the end of day P shows
it, with ``effective`` P + 1, and the start of P + 1 shows nothing more.

Only what a scope asks for is measured (``Scope``): one holder's figures, one series'
figures, or everything, around one event. Subscribers only read the state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.claims import holder_accrued
from ledger.conversion import votes
from ledger.events import DividendMissed, DividendPaid
from ledger.replay import Replayer, ReplayHooks
from ledger.schedule import ONE_DAY
from ledger.state import IssuerState, Record, SeriesState
from ledger.values import ZERO, money_str, plain

COMMON = "common"

Value = Decimal | None
#: one measured figure: (series, holder or None, figure)
Key = tuple[str, str | None, str]
Snapshot = dict[Key, Value]


def _pays(s: SeriesState) -> bool:
    """Dividend figures apply (SPEC.md §11 Reports: ``null`` where they do not; §12: a
    non-cumulative series owes what is declared)."""
    return s.rate is not None or not s.terms.cumulative


# -- the figures ------------------------------------------------------------------------

@dataclass(frozen=True)
class HolderFigure:
    """A figure of one holder in one series: ``get(s, holders, through)`` gives it for
    each of ``holders`` at once (``through``: accrual runs to it, exclusive)."""

    name: str
    kind: str  # "money", "shares", "rate" or "count": how it is written
    get: Callable[[SeriesState, Sequence[str], dt.date], dict[str, Value]]
    #: depends on the day (accrual): not compared from one day to the next
    timed: bool = False


@dataclass(frozen=True)
class SeriesFigure:
    """A figure of a series as a whole; ``effective(s)``: when a value just set takes
    effect later than the step (the date and why), else None."""

    name: str
    kind: str
    get: Callable[[SeriesState], Value]
    effective: Callable[[SeriesState], tuple[dt.date, str] | None] | None = None


@dataclass(frozen=True)
class CommonFigure:
    name: str
    kind: str
    get: Callable[[IssuerState], Value]


@dataclass(frozen=True)
class CommonHolderFigure:
    name: str
    kind: str
    get: Callable[[IssuerState, Sequence[str]], dict[str, Value]]


def _accrued(s: SeriesState, holders: Sequence[str], through: dt.date) -> dict[str, Value]:
    """SPEC.md §5: arrears + accrual not yet due (the position's ``accrued_unpaid``)."""
    if not _pays(s):
        return dict.fromkeys(holders)
    return dict(holder_accrued(s, through, holders))


def _scheduled_rate(s: SeriesState) -> Value:
    """The dividend rate in force, counting a step-up or reset already scheduled (§5)."""
    return s.pending_rate[1] if s.pending_rate is not None else s.rate


def _rate_from(s: SeriesState) -> tuple[dt.date, str] | None:
    return (s.pending_rate[0], s.pending_rate[2]) if s.pending_rate is not None else None


HOLDER_FIGURES: tuple[HolderFigure, ...] = (
    HolderFigure("shares", "shares", lambda s, hs, t: {h: s.held(h) for h in hs}),
    HolderFigure("arrears", "money",
                 lambda s, hs, t: {h: s.unpaid(h) if _pays(s) else None for h in hs}),
    HolderFigure("dividends_payable", "money",
                 lambda s, hs, t: {h: s.unpaid(h, "payable") for h in hs}),
    HolderFigure("accrued_unpaid", "money", _accrued, timed=True),
    # SPEC.md §6, §11: floor(shares × rate) as converted; a non-voting series has 0
    HolderFigure("votes", "shares", lambda s, hs, t: {h: votes(s, s.held(h)) for h in hs}),
)

SERIES_FIGURES: tuple[SeriesFigure, ...] = (
    SeriesFigure("authorized", "shares", lambda s: s.terms.authorized_shares),
    SeriesFigure("issued_total", "shares", lambda s: s.issued_total),
    SeriesFigure("outstanding", "shares", lambda s: s.outstanding),
    SeriesFigure("converted_total", "shares", lambda s: s.converted_total),
    SeriesFigure("redeemed_total", "shares", lambda s: s.redeemed_total),
    SeriesFigure("dividend_rate", "rate", _scheduled_rate, _rate_from),
    SeriesFigure("missed_streak", "count",
                 lambda s: Decimal(s.missed_streak) if s.rate is not None else None),
    SeriesFigure("conversion_rate", "rate", lambda s: s.conversion_rate),
    SeriesFigure("arrears", "money", lambda s: s.unpaid() if _pays(s) else None),
    SeriesFigure("dividends_payable", "money", lambda s: s.unpaid(kind="payable")),
)

#: the figures of a series that are the holder's own terms while the holder holds shares
#: of it (a step-up raises the holder's rate, an adjustment the holder's conversion rate)
HOLDER_TERMS = ("dividend_rate", "missed_streak", "conversion_rate")

COMMON_FIGURES: tuple[CommonFigure, ...] = (
    CommonFigure("outstanding", "shares", lambda st: st.common_outstanding),
)

class _ConversionCommon:
    """Per holder, the common issued on conversion so far (``IssuerState.conversions``
    only grows): kept as a running sum for the last state looked at, so that a step
    costs the conversions since the last look, not all of them (performance)."""

    def __init__(self) -> None:
        self.of: list[Any] | None = None
        self.seen = 0
        self.sums: dict[str, Decimal] = {}

    def __call__(self, st: IssuerState) -> dict[str, Decimal]:
        convs = st.conversions
        if convs is not self.of or len(convs) < self.seen:
            self.of, self.seen, self.sums = convs, 0, {}
        for c in convs[self.seen:]:
            self.sums[c.holder] = self.sums.get(c.holder, ZERO) + c.common
        self.seen = len(convs)
        return self.sums


_conversion_common = _ConversionCommon()

#: per common holder (SPEC.md §13: the state keeps common by holder): the common each
#: holds, and the common issued to each on conversion (§6: a conversion issues its common
#: to the converting holder). ``common_holders`` names the holders measured.
COMMON_HOLDER_FIGURES: tuple[CommonHolderFigure, ...] = (
    # SPEC.md §13: the common each holder holds (a transfer moves it between two
    # holders, a cancellation takes it away, neither changes a series figure)
    CommonHolderFigure("shares", "shares",
                       lambda st, hs: {h: st.common_held(h) for h in hs}),
    CommonHolderFigure("issued_on_conversion", "shares",
                       lambda st, hs: {h: _conversion_common(st).get(h, ZERO) for h in hs}),
)


def common_holders(st: IssuerState) -> Iterable[str]:
    """Every holder with a common figure: those who hold common by name (SPEC.md §13)
    and those who received common on conversion."""
    return list(dict.fromkeys([*(h for h in st.common if h is not None),
                               *_conversion_common(st)]))


def _index() -> tuple[dict[tuple[bool, bool, str], str], dict[str, int]]:
    """(common, per holder, figure) -> kind; figure -> its place (the tables' order)."""
    kinds: dict[tuple[bool, bool, str], str] = {}
    order: dict[str, int] = {}
    tables: list[tuple[bool, bool, list[tuple[str, str]]]] = [
        (False, True, [(f.name, f.kind) for f in HOLDER_FIGURES]),
        (False, False, [(g.name, g.kind) for g in SERIES_FIGURES]),
        (True, False, [(c.name, c.kind) for c in COMMON_FIGURES]),
        (True, True, [(ch.name, ch.kind) for ch in COMMON_HOLDER_FIGURES]),
    ]
    for common, per_holder, figures in tables:
        for name, kind in figures:
            kinds[common, per_holder, name] = kind
            order.setdefault(name, len(order))
    return kinds, order


_KIND, _ORDER = _index()
_TIMED = {f.name for f in HOLDER_FIGURES if f.timed}


def kind_of(key: Key) -> str:
    series, holder, figure = key
    return _KIND[series == COMMON, holder is not None, figure]


def _is_timed(key: Key) -> bool:
    return key[1] is not None and key[0] != COMMON and key[2] in _TIMED


# -- effects and entries ------------------------------------------------------------------

#: how each kind is written in JSON (SPEC.md §9: money with two decimals, shares and
#: rates plain decimal strings; counts, such as ``missed_streak``, integers)
_WRITE: dict[str, Callable[[Decimal], str | int]] = {
    "money": money_str, "shares": plain, "rate": plain, "count": int}


@dataclass(frozen=True)
class Effect:
    """One figure before and after one step (see the module docstring)."""

    series: str
    holder: str | None
    figure: str
    kind: str
    before: Value
    after: Value
    #: the step: ``event``, ``start_of_day`` or ``end_of_day``
    at: str
    #: the day from which ``after`` holds (the step's day, or the day after for a
    #: scheduled rate change)
    effective: dt.date
    note: str | None = None

    @property
    def change(self) -> Value:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def to_json(self) -> dict[str, Any]:
        write = _WRITE[self.kind]
        ch = self.change
        return {"series": self.series, "holder": self.holder, "figure": self.figure,
                "before": None if self.before is None else write(self.before),
                "after": None if self.after is None else write(self.after),
                "change": None if ch is None else write(ch),
                "at": self.at, "effective": self.effective.isoformat(), "note": self.note}


@dataclass
class Entry:
    """One step with what it changed: an event (``seq``: its place in the log) or a
    calendar entry (``seq`` None) with its ``causes``."""

    date: dt.date
    phase: str  # "event", "start_of_day" or "end_of_day"
    seq: int | None
    effects: list[Effect] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "phase": self.phase, "causes": self.causes,
                "effects": [e.to_json() for e in self.effects]}


# -- what is measured ---------------------------------------------------------------------

#: series -> (holders, series figure names); COMMON: (common holders, common figures)
Plan = dict[str, tuple[set[str], set[str]]]

_ALL_SERIES_FIGURES = {f.name for f in SERIES_FIGURES}
_ALL_COMMON_FIGURES = {f.name for f in COMMON_FIGURES}


@dataclass(frozen=True)
class Scope:
    """What to measure, so that the cost is what the report asks for.

    - ``holder``: that holder's figures in every series (and as a common holder), plus
      ``HOLDER_TERMS`` of each series the holder holds shares of;
    - else ``series`` alone: the figures of that series as a whole (``"common"``: common
      stock);
    - ``event_seq``: only that event (and its end of day), every figure of every holder
      and series (narrowed by ``holder`` and ``series`` when given);
    - ``calendar``: also the calendar entries, the changes no event made (a conversion
      on a date trigger at the start of a day, an end of day no event records);
    - ``dues``: with ``calendar``, also the amounts falling due on payment dates.
    """

    holder: str | None = None
    series: str | None = None
    event_seq: int | None = None
    calendar: bool = False
    dues: bool = False

    def wants(self, rec: Record) -> bool:
        return self.event_seq is None or rec.seq == self.event_seq

    def plan(self, st: IssuerState) -> Plan:
        out: Plan = {}
        every = self.event_seq is not None
        for name, s in st.series.items():
            if self.series is not None and name != self.series:
                continue
            if self.holder is not None:
                # the terms are measured for every series (three figures), reported only
                # while the holder holds shares of it (``EffectRecorder._mine``)
                out[name] = ({self.holder},
                             set(_ALL_SERIES_FIGURES) if every else set(HOLDER_TERMS))
            elif every:
                out[name] = ({lot.holder for lot in s.lots} | set(s.dues),
                             set(_ALL_SERIES_FIGURES))
            else:
                out[name] = (set(), set(_ALL_SERIES_FIGURES))
        if self.series is not None and self.series != COMMON and self.series not in out:
            out[self.series] = (set(), set(_ALL_SERIES_FIGURES) if self.holder is None
                                else set())  # not designated yet: its figures are None
        if self.series is None or self.series == COMMON:
            if self.holder is not None:
                out[COMMON] = ({self.holder} if COMMON_HOLDER_FIGURES else set(),
                               set(_ALL_COMMON_FIGURES) if every else set())
            elif every:
                out[COMMON] = (set(common_holders(st)), set(_ALL_COMMON_FIGURES))
            else:
                out[COMMON] = (set(), set(_ALL_COMMON_FIGURES))
        return out


def measure(st: IssuerState, plan: Plan, through: dt.date, timed: bool = True) -> Snapshot:
    """Every figure the plan names, as of now (accrual to ``through``, exclusive)."""
    out: Snapshot = {}
    for name, (holders, figures) in plan.items():
        hs = sorted(holders)
        if name == COMMON:
            for c in COMMON_FIGURES:
                if c.name in figures:
                    out[COMMON, None, c.name] = c.get(st)
            if hs:
                for ch in COMMON_HOLDER_FIGURES:
                    for h, v in ch.get(st, hs).items():
                        out[COMMON, h, ch.name] = v
            continue
        s = st.series.get(name)
        for g in SERIES_FIGURES:
            if g.name in figures:
                out[name, None, g.name] = None if s is None else g.get(s)
        if not hs:
            continue
        for f in HOLDER_FIGURES:
            if f.timed and not timed:
                continue
            if s is None:
                for h in hs:
                    out[name, h, f.name] = None
            else:
                for h, v in f.get(s, hs, through).items():
                    out[name, h, f.name] = v
    return out


def _plan_of(keys: Iterable[Key]) -> Plan:
    plan: Plan = {}
    for series, holder, figure in keys:
        holders, figures = plan.setdefault(series, (set(), set()))
        if holder is None:
            figures.add(figure)
        else:
            holders.add(holder)
    return plan


def _sort_key(key: Key) -> tuple[Any, ...]:
    series, holder, figure = key
    return (series == COMMON, series, holder is not None, holder or "", _ORDER[figure])


def compare(st: IssuerState, before: Snapshot, after: Snapshot, at: str, day: dt.date,
            through: dt.date, timed: bool = True) -> list[Effect]:
    """The figures that differ. A holder not measured before held nothing (a view of
    every holder measures those with lots or dues); a figure that was None (a series not
    designated yet) counts as changed when it is now set and not zero. A figure measured
    before and not now is measured now."""
    missing = [k for k in before if k not in after]
    if missing:
        got = measure(st, _plan_of(missing), through, timed)
        after = {**after, **{k: got.get(k) for k in missing}}
    out = []
    for key in sorted(set(before) | set(after), key=_sort_key):
        if not timed and _is_timed(key):
            continue
        a = after[key]
        if key in before:
            b = before[key]
        else:
            b = ZERO if key[1] is not None and a is not None else None
        if b is None and (a is None or a == 0):
            continue
        if a == b:
            continue
        series, holder, figure = key
        effective, note = day, None
        if holder is None and series != COMMON and a is not None:
            g = next(g for g in SERIES_FIGURES if g.name == figure)
            s = st.series.get(series)
            when = g.effective(s) if (g.effective is not None and s is not None) else None
            if when is not None and when[0] > day:
                effective, note = when
        out.append(Effect(series, holder, figure, kind_of(key), b, a, at, effective, note))
    return out


# -- the recorder -------------------------------------------------------------------------

class EffectRecorder(ReplayHooks):
    """Records, for each step a ``Scope`` asks for, its effects (a ``ReplayHooks``
    subscriber: pass it to ``replay(..., hooks=[...])``). ``events``: by ``Record.seq``;
    ``calendar``: the calendar entries in timeline order."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.events: dict[int, Entry] = {}
        self.calendar: list[Entry] = []
        self._before: Snapshot | None = None
        self._eod: Snapshot | None = None
        self._night: Snapshot | None = None  # end of the last day (for the next start)
        self._night_conversions = 0  # conversions recorded by then
        #: series -> seq of the event that reports the day's end-of-day outcome
        self._owner: dict[str, int] = {}
        self._owner_missed: set[str] = set()

    def _plan(self, st: IssuerState) -> Plan:
        return self.scope.plan(st)

    def _mine(self, effects: list[Effect], before: Snapshot, after: Snapshot
              ) -> list[Effect]:
        """A holder's view: a series' terms count while the holder holds shares of it,
        before or after the step (``HOLDER_TERMS``)."""
        h = self.scope.holder
        if h is None or self.scope.event_seq is not None:
            return effects
        return [e for e in effects if e.holder is not None or e.series == COMMON
                or (before.get((e.series, h, "shares")) or ZERO) > 0
                or (after.get((e.series, h, "shares")) or ZERO) > 0]

    # -- ReplayHooks ----------------------------------------------------------------
    def replay_started(self, rp: Replayer, timeline: Sequence[Record]) -> None:
        if self.scope.calendar:
            self._night = {}  # before the first day nothing is designated

    def day_started(self, rp: Replayer, day: dt.date, boundaries: list[SeriesState],
                    payments: list[SeriesState]) -> None:
        if self._night is None:
            return
        st = rp.state
        through = day + ONE_DAY
        after = measure(st, self._plan(st), through, timed=False)
        effects = self._mine(compare(st, self._night, after, "start_of_day", day, through,
                                     timed=False), self._night, after)
        if not self.scope.dues:  # amounts falling due only when asked for
            effects = [e for e in effects if e.figure != "arrears"]
        elif self.scope.holder is None and self.scope.event_seq is None:
            effects += _dues_per_holder(payments, day, self.scope.series)
        if not effects:
            return
        touched = {e.series for e in effects}
        causes = [f"Series {s.name} payment date: amounts fall due" for s in payments
                  if self.scope.dues and s.name in touched]
        # SPEC.md §12 {"date": D}: a mandatory conversion at the start of the day
        causes += sorted({f"Series {c.series}: mandatory conversion at the start of the day"
                          for c in st.conversions[self._night_conversions:]
                          if c.effective == day})
        self.calendar.append(Entry(day, "start_of_day", None, effects,
                                   causes or ["start of day"]))

    def event_applying(self, rp: Replayer, rec: Record) -> None:
        if self.scope.wants(rec):
            st = rp.state
            self._before = measure(st, self._plan(st), rec.event.effective_date + ONE_DAY)

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        before, self._before = self._before, None
        ev = rec.event
        day = ev.effective_date
        if accepted:
            series = getattr(ev, "series", None)
            if isinstance(ev, DividendMissed) and ev.payment_date == day:
                self._owner[ev.series] = rec.seq
                self._owner_missed.add(ev.series)
            elif isinstance(ev, DividendPaid) and series not in self._owner_missed:
                self._owner[ev.series] = rec.seq
        if before is None:
            return
        st = rp.state
        through = day + ONE_DAY
        after = measure(st, self._plan(st), through)
        effects = (self._mine(compare(st, before, after, "event", day, through), before, after)
                   if accepted else [])
        self.events[rec.seq] = Entry(day, "event", rec.seq, effects)

    def day_ending(self, rp: Replayer, day: dt.date) -> None:
        if self.scope.calendar or any(seq in self.events for seq in self._owner.values()):
            st = rp.state
            self._eod = measure(st, self._plan(st), day + ONE_DAY)

    def day_ended(self, rp: Replayer, day: dt.date) -> None:
        before, self._eod = self._eod, None
        owners, self._owner, self._owner_missed = self._owner, {}, set()
        if before is None:
            return
        st = rp.state
        through = day + ONE_DAY
        after = measure(st, self._plan(st), through)
        unowned: list[Effect] = []
        for e in self._mine(compare(st, before, after, "end_of_day", day, through), before,
                            after):
            seq = owners.get(e.series)
            if seq is None:
                unowned.append(e)
            elif seq in self.events:
                self.events[seq].effects.append(e)
        if self.scope.calendar:
            if unowned:
                self.calendar.append(Entry(day, "end_of_day", None, unowned,
                                           _end_of_day_causes(st, unowned, day)))
            self._night = {k: v for k, v in after.items() if not _is_timed(k)}
            self._night_conversions = len(st.conversions)


def _dues_per_holder(payments: list[SeriesState], day: dt.date, series: str | None
                     ) -> list[Effect]:
    """Series view: each holder's amount that fell due on ``day`` (SPEC.md §5 Periods),
    read off the dues themselves (a series view measures no holder before the day)."""
    out = []
    for s in payments:
        if series is not None and s.name != series:
            continue
        for h in sorted(s.dues):
            fell = ZERO
            for d in reversed(s.dues[h]):
                if d.due_date != day:
                    break
                if d.kind == "arrears":
                    fell += d.amount
            if fell:
                now = s.unpaid(h)
                out.append(Effect(s.name, h, "arrears", "money", now - fell, now,
                                  "start_of_day", day))
    return out


def _end_of_day_causes(st: IssuerState, effects: list[Effect], day: dt.date) -> list[str]:
    """Why the end of ``day`` changed what it did, per series (SPEC.md §5)."""
    causes = []
    for e in effects:
        if e.holder is not None or e.series == COMMON:
            continue
        s = st.series.get(e.series)
        if e.figure == "missed_streak" and e.before is not None and e.after is not None:
            if e.after > e.before:
                causes.append(f"Series {e.series} payment date {day} missed: arrears "
                              f"{money_str(s.unpaid()) if s else '?'} at the end of the day "
                              "(no DividendMissed records it)")
            elif e.after == 0:
                causes.append(f"Series {e.series}: missed count back to 0 (payment date "
                              "paid in full, or arrears paid)")
        elif e.figure == "dividend_rate" and e.note:
            causes.append(f"Series {e.series}: {e.note}")
    return causes or ["end of day"]
