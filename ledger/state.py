"""The state of one issuer's ledger as of a date: plain data, built by ``replay``."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any, SupportsIndex

from ledger.accrual import Lot
from ledger.events import Event
from ledger.schedule import Schedule
from ledger.terms import Terms
from ledger.values import CONTEXT, ONE, ZERO, money


@dataclass(frozen=True)
class Record:
    """An event at its place in the log: ``seq`` is its recorded order in the stream."""

    event: Event
    seq: int
    line: int = 0
    recorded_at: str | None = None
    hash: str | None = None

    def where(self) -> str:
        ev = self.event
        what = ev.describe()
        if self.line:
            return what
        return f"stored event {what} ({ev.effective_date.isoformat()})"


@dataclass
class Due:
    """An amount that fell due to a holder (``kind``: ``arrears`` or ``payable``)."""

    due_date: dt.date
    amount: Decimal
    kind: str = "arrears"
    paid: Decimal = ZERO

    def __init__(self, due_date: dt.date, amount: Decimal, kind: str = "arrears",
                 paid: Decimal = ZERO) -> None:
        d = self.__dict__  # not through __setattr__: a new Due is in no book yet
        d["due_date"] = due_date
        d["amount"] = amount
        d["kind"] = kind
        d["paid"] = paid

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid

    def __reduce__(self) -> tuple[object, ...]:
        # copied or pickled, a due is in no book (the ``DueMap`` copy re-registers it)
        return (Due, (self.due_date, self.amount, self.kind, self.paid))

    def __setattr__(self, name: str, value: object) -> None:
        # keep the running totals of the series' ``DueBook`` in step (performance only)
        book = self.__dict__.get("_book")
        if book is None or name not in ("paid", "amount", "kind", "due_date"):
            object.__setattr__(self, name, value)
            return
        book.forget(self)
        object.__setattr__(self, name, value)
        book.remember(self)


class DueBook:
    """Running totals over a series' ``dues`` (a ``DueMap``): unpaid per kind and per
    holder, and the open arrears by due date. Performance only: the figures are the sums
    the dues give (SPEC.md §5 Arrears), kept so a day's end-of-day test and a payment do
    not walk every amount that ever fell due. Dues register lazily (``DueMap.sync``)."""

    def __init__(self) -> None:
        self.totals: dict[str, Decimal] = {}
        self.by_holder: dict[tuple[str, str], Decimal] = {}
        self.open: dict[dt.date, dict[str, Due]] = {}
        self.seen: dict[str, int] = {}
        self.touched: set[str] = set()
        self.dirty = False
        #: the logs of the readers following the book (``projections.dues.DueWatch``),
        #: one list each: every due registered or changed since that reader last took
        #: its log, in that order. One list per reader, so readers of one replay (the
        #: tables' walk and the explain follower) never take each other's changes
        self.logs: list[list[Due]] = []
        #: every due with something unpaid (any kind), by identity, with its holder
        self.live: dict[int, tuple[str, Due]] = {}
        self.n = 0  # registration counter: a due's place in its holder's list

    def remember(self, d: Due) -> None:
        h: str = d.__dict__["_holder"]
        u = d.amount - d.paid
        self.totals[d.kind] = self.totals.get(d.kind, ZERO) + u
        self.by_holder[h, d.kind] = self.by_holder.get((h, d.kind), ZERO) + u
        if u != 0:
            self.live[id(d)] = (h, d)
        for log in self.logs:
            log.append(d)
        if d.kind == "arrears" and u > 0:
            self.open.setdefault(d.due_date, {})[h] = d

    def unpaid_dues(self) -> dict[str, list[Due]]:
        """Per holder, the dues with something unpaid, in their order in ``dues``."""
        out: dict[str, list[Due]] = {}
        for h, d in sorted(self.live.values(), key=lambda hd: hd[1].__dict__["_n"]):
            out.setdefault(h, []).append(d)
        return out

    def forget(self, d: Due) -> None:
        h: str = d.__dict__["_holder"]
        u = d.amount - d.paid
        self.totals[d.kind] -= u
        self.by_holder[h, d.kind] -= u
        self.live.pop(id(d), None)
        day = self.open.get(d.due_date)
        if day is not None and day.get(h) is d:
            del day[h]
            if not day:
                del self.open[d.due_date]


class DueMap(dict[str, list[Due]]):
    """``SeriesState.dues``: holder -> amounts due, a plain dict to every reader, with a
    ``DueBook`` of running totals. Lists grow through ``setdefault(h, []).append``; any
    other change of the mapping makes the book recount once."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.book = DueBook()
        self.book.dirty = bool(self)

    def _book(self) -> DueBook | None:
        return self.__dict__.get("book")

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and deepcopy rebuild the book from the dues (it keys dues by identity)
        return (self.__class__, (dict(self),))

    def setdefault(self, key: str, default: list[Due] | None = None) -> list[Due]:
        book = self._book()
        if book is not None:
            book.touched.add(key)
        return super().setdefault(key, [] if default is None else default)

    def __setitem__(self, key: str, value: list[Due]) -> None:
        super().__setitem__(key, value)
        book = self._book()
        if book is not None:
            book.dirty = True

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.book.dirty = True

    def pop(self, *a: object) -> object:  # type: ignore[override]
        self.book.dirty = True
        return super().pop(*a)  # type: ignore[call-overload]

    def popitem(self) -> tuple[str, list[Due]]:
        self.book.dirty = True
        return super().popitem()

    def update(self, *a: object, **kw: object) -> None:  # type: ignore[override]
        super().update(*a, **kw)  # type: ignore[arg-type,call-overload]
        self.book.dirty = True

    def clear(self) -> None:
        super().clear()
        self.book = DueBook()

    def _register(self, book: DueBook, h: str, d: Due) -> None:
        object.__setattr__(d, "_holder", h)
        object.__setattr__(d, "_book", book)
        object.__setattr__(d, "_n", book.n)
        book.n += 1
        book.remember(d)

    def sync(self) -> DueBook:
        """Register dues appended since the last look (or recount after other changes)."""
        book = self.book
        if not book.dirty:
            for h in book.touched:
                ds = self.get(h, ())
                n = book.seen.get(h, 0)
                if len(ds) < n:
                    book.dirty = True
                    break
                for d in ds[n:]:
                    self._register(book, h, d)
                book.seen[h] = len(ds)
            else:
                book.touched.clear()
                return book
        book = self.book = DueBook()
        for h, ds in self.items():
            for d in ds:
                self._register(book, h, d)
            book.seen[h] = len(ds)
        return book


#: a lot's place in ``Lots``: ``(issued, seq)`` (in C: the bisections call it per step)
_lot_key: Callable[[Lot], tuple[dt.date, int]] = attrgetter("issued", "seq")
#: a lot's shares (sums over lots run in C)
_shares: Callable[[Lot], Decimal] = attrgetter("shares")


class Lots(list[Lot]):
    """``SeriesState.lots``: every lot in (issued, seq) order, a plain list to every
    reader, plus each holder's lots in the same order (``by_holder``), so a transfer,
    conversion or redemption costs the holder's lots, not the series' (performance).

    ``append`` (a new lot sorts last), ``insort`` and ``detach`` keep the index in step;
    any other change of the list rebuilds it. A lot's ``holder`` may only change while
    the lot is outside the list (``_transfer`` detaches, renames, then inserts).
    """

    def __init__(self, items: Iterable[Lot] = ()) -> None:
        super().__init__(items)
        self._reindex()

    def _reindex(self) -> None:
        idx: dict[str, list[Lot]] = {}
        for lot in self:
            idx.setdefault(lot.holder, []).append(lot)
        self.by_holder = idx

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (list(self),))

    def of(self, holder: str) -> list[Lot]:
        """``holder``'s lots, oldest first (a copy)."""
        return list(self.by_holder.get(holder, ()))

    def held(self, holder: str) -> Decimal:
        return sum(map(_shares, self.by_holder.get(holder, ())), ZERO)

    def append(self, lot: Lot) -> None:
        super().append(lot)
        self.by_holder.setdefault(lot.holder, []).append(lot)

    def insort(self, lot: Lot) -> None:
        """Insert in (issued, seq) order, after equal keys (as a stable sort would)."""
        bisect.insort_right(self, lot, key=_lot_key)  # list.insert: the index below
        mine = self.by_holder.setdefault(lot.holder, [])
        mine.insert(bisect.bisect_right(mine, _lot_key(lot), key=_lot_key), lot)

    def insert(self, i: SupportsIndex, lot: Lot) -> None:
        super().insert(i, lot)  # the caller (``insort``) or a rebuild keeps the index

    def take(self, holder: str, shares: Decimal) -> list[Lot]:
        """Detach ``shares`` from ``holder``'s oldest lots first (SPEC.md §3, §11): whole
        lots leave the list, the last one taken is split; returns the detached lots."""
        taken: list[Lot] = []
        gone: list[Lot] = []
        left = shares
        for lot in self.by_holder.get(holder, ()):
            if left <= 0:
                break
            if lot.shares <= left:
                gone.append(lot)
                taken.append(lot)
                left -= lot.shares
            else:
                taken.append(lot.split(left))
                left = ZERO
        if gone:
            self.detach(gone)
        return taken

    def move(self, holder: str, shares: Decimal, to: str) -> None:
        """Transfer ``shares`` of ``holder`` to ``to``, oldest lots first; each part keeps
        its issue date and accrual state (SPEC.md §11: accrual not yet due moves)."""
        for part in self.take(holder, shares):
            part.holder = to
            self.insort(part)  # keep (issued, seq) order: insert, never re-sort the list

    def detach(self, gone: list[Lot]) -> None:
        """Remove exactly these lot objects (by identity, not equality)."""
        for lot in gone:
            mine = self.by_holder.get(lot.holder, [])
            for k, x in enumerate(mine):
                if x is lot:
                    del mine[k]
                    break
            key = _lot_key(lot)
            i = bisect.bisect_left(self, key, key=_lot_key)
            j = bisect.bisect_right(self, key, key=_lot_key)
            # the parts of a split lot share its key: look among them by identity
            at = next((k for k in range(i, j) if self[k] is lot), -1)
            if at >= 0:
                super().__delitem__(at)
            else:  # not in key order (same-day lots): find it the slow way
                super().__setitem__(slice(None), [x for x in self if x is not lot])

    # every other change rebuilds the index
    def extend(self, items: Iterable[Lot]) -> None:
        super().extend(items)
        self._reindex()

    def __iadd__(self, items: Iterable[Lot]) -> Lots:  # type: ignore[override,misc]
        super().extend(items)
        self._reindex()
        return self

    def __setitem__(self, i: Any, v: Any) -> None:
        super().__setitem__(i, v)
        self._reindex()

    def __delitem__(self, i: Any) -> None:
        super().__delitem__(i)
        self._reindex()

    def remove(self, lot: Lot) -> None:
        super().remove(lot)
        self._reindex()

    def pop(self, i: SupportsIndex = -1) -> Lot:
        out = super().pop(i)
        self._reindex()
        return out

    def clear(self) -> None:
        super().clear()
        self.by_holder = {}

    def sort(self, *a: Any, **kw: Any) -> None:
        super().sort(*a, **kw)
        self._reindex()

    def reverse(self) -> None:
        super().reverse()
        self._reindex()


@dataclass(frozen=True)
class RateChange:
    """One step of the dividend-rate history (SPEC.md §5 Step-up)."""

    effective: dt.date
    rate: Decimal
    cause: str


@dataclass(frozen=True)
class Adjustment:
    """A derived conversion-rate adjustment, explainable by its inputs (SPEC.md §6)."""

    effective: dt.date
    cause: str
    event_id: str | None
    factor: Decimal
    rate_before: Decimal
    rate_after: Decimal
    a: Decimal | None = None
    b: Decimal | None = None
    c: Decimal | None = None
    price: Decimal | None = None
    threshold: Decimal | None = None
    consideration: Decimal | None = None
    #: SPEC.md §12 Anti-dilution: the method, and the conversion price before and after
    method: str | None = None
    cp_before: Decimal | None = None
    cp_after: Decimal | None = None


@dataclass
class Notice:
    notice_date: dt.date
    redemption_date: dt.date
    shares: Decimal
    #: SPEC.md §12: ``company`` (a call) or ``holder`` (a put)
    by: str = "company"


@dataclass(frozen=True)
class Conversion:
    effective: dt.date
    series: str
    holder: str
    shares: Decimal
    common: Decimal
    fraction: Decimal
    cash_in_lieu: Decimal | None
    dividends_payable: Decimal
    automatic: bool
    rate: Decimal | None = None
    event_id: str | None = None
    #: what converted it when automatic: "approval M", "public offering", "date D"
    trigger: str | None = None


@dataclass(frozen=True)
class Redemption:
    effective: dt.date
    series: str
    holder: str
    shares: Decimal
    price_per_share: Decimal
    stated: Decimal
    accrued: Decimal
    arrears: Decimal
    requested: Decimal | None = None
    funds_available: Decimal | None = None
    event_id: str | None = None
    #: SPEC.md §12: (redemption_premium − 1) × stated value × shares, in the price
    premium: Decimal = ZERO
    by: str = "company"

    @property
    def paid(self) -> Decimal:
        """The aggregate price: shares × price per share (SPEC.md §7, §11)."""
        return self.shares * self.price_per_share


@dataclass(frozen=True)
class Cancellation:
    """Shares cancelled for good (SPEC.md §13 ``SharesCancelled``), with what they were
    owed and the cancellation extinguished: ``arrears`` (their pro rata part of the
    holder's amounts due, split per amount due half-up to the cent) and ``accrued`` (the
    accrual not yet due of the lots cancelled, oldest first, to the event date exclusive,
    rounded per due date, plus under compounding the cancelled part of what the arrears
    accrued, §12). ``series`` is ``"common"`` for common stock (nothing owed)."""

    effective: dt.date
    series: str
    holder: str
    shares: Decimal
    reason: str
    price_per_share: Decimal | None
    arrears: Decimal = ZERO
    accrued: Decimal = ZERO
    event_id: str | None = None

    @property
    def extinguished(self) -> Decimal:
        """What the cancelled shares were owed and no longer are: arrears + accrued."""
        return self.arrears + self.accrued

    @property
    def paid(self) -> Decimal | None:
        """The price paid for the shares (a repurchase), to the cent; None without one."""
        if self.price_per_share is None:
            return None
        return money(self.shares * self.price_per_share)


@dataclass(frozen=True)
class Payment:
    effective: dt.date
    series: str
    amount: Decimal
    holder: str | None
    event_id: str | None
    #: arrears of every other dividend series at the moment of payment, for the
    #: SPEC.md §5 Priority check: ``((series, arrears), ...)``, only those above zero
    others_arrears: tuple[tuple[str, Decimal], ...] = ()
    #: SPEC.md §12: ``shares`` when paid in kind; ``amount`` is then the value applied
    #: (whole shares × pik_price) and ``shares`` the shares issued, per holder
    form: str = "cash"
    in_kind: tuple[tuple[str, Decimal], ...] = ()


# -- SPEC.md §12 General terms: dividends, redemption and votes, amendments ------------------

@dataclass(frozen=True)
class Amendment:
    """One ``TermsAmended`` applied to a series (SPEC.md §12 Amendments)."""

    effective: dt.date
    event_id: str | None
    #: term field -> new value, as the event gave them (JSON values)
    changes: tuple[tuple[str, Any], ...]
    #: the fields whose value the amendment changed (a no-op change is not listed)
    changed: tuple[str, ...]


@dataclass
class Declaration:
    """A ``DividendDeclared`` on a non-cumulative series (SPEC.md §12 Dividends): each
    holder of record at the end of ``record_date`` is owed shares × ``amount_per_share``
    (half-up to the cent), due on ``payment_date``. ``owed`` is filled at the end of the
    record date and cleared when the amounts fall due (they become ``Due`` rows)."""

    declared: dt.date
    record_date: dt.date
    payment_date: dt.date
    amount_per_share: Decimal
    event_id: str | None = None
    owed: dict[str, Decimal] | None = None


# -- end of the §12 state block ---------------------------------------------------------------


@dataclass
class SeriesState:
    terms: Terms
    schedule: Schedule
    designated_seq: int
    lots: Lots = field(default_factory=Lots)
    dues: dict[str, list[Due]] = field(default_factory=DueMap)
    issued_total: Decimal = ZERO
    converted_total: Decimal = ZERO
    redeemed_total: Decimal = ZERO
    #: shares cancelled for good (SPEC.md §13); like redeemed shares, never reissued
    cancelled_total: Decimal = ZERO
    rate: Decimal | None = None
    rate_history: list[RateChange] = field(default_factory=list)
    pending_rate: tuple[dt.date, Decimal, str] | None = None
    missed_streak: int = 0
    missed_dates: list[dt.date] = field(default_factory=list)
    #: arrears at the end of each missed payment date (SPEC.md §5 Missed)
    missed_arrears: dict[dt.date, Decimal] = field(default_factory=dict)
    recorded_misses: set[dt.date] = field(default_factory=set)
    next_boundary: dt.date | None = None
    next_payment: dt.date | None = None
    last_payment: dt.date | None = None
    conversion_rate: Decimal | None = None
    threshold: Decimal | None = None
    #: conversion price in force, CP = stated ÷ rate (SPEC.md §12 Anti-dilution)
    conversion_price: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    notices: dict[str, Notice] = field(default_factory=dict)
    closing_date: dt.date | None = None
    #: the day a mandatory conversion (K's approval, SPEC.md §12 triggers) converted it
    converted_on: dt.date | None = None
    extinguished: bool = False
    # SPEC.md §12 General terms (dividends; redemption and votes; amendments)
    #: shares issued in kind (``DividendPaid`` form ``shares``), part of ``issued_total``
    pik_shares: Decimal = ZERO
    #: declarations not yet fallen due (non-cumulative series)
    declarations: list[Declaration] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)
    #: the terms as designated, once an amendment has replaced them (``terms`` are the
    #: terms in force)
    designated_terms: Terms | None = None
    #: ``compounding: payment_date``: per holder, the accrual on its arrears, as a lot of
    #: one unit whose rate-days are rate × base × days (``ledger.dividends.compound``)
    compound: dict[str, Lot] = field(default_factory=dict)
    #: per holder, the arrears accruing now (amounts due before today, unpaid)
    compound_base: dict[str, Decimal] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.terms.series

    def holdings(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for lot in self.lots:
            out[lot.holder] = out.get(lot.holder, ZERO) + lot.shares
        return out

    def held(self, holder: str) -> Decimal:
        return self.lots.held(holder)

    @property
    def outstanding(self) -> Decimal:
        return sum(map(_shares, self.lots), ZERO)

    def unpaid(self, holder: str | None = None, kind: str = "arrears") -> Decimal:
        if isinstance(self.dues, DueMap):
            book = self.dues.sync()
            if holder is None:
                return book.totals.get(kind, ZERO)
            return book.by_holder.get((holder, kind), ZERO)
        holders = [holder] if holder is not None else list(self.dues)
        return sum(
            (d.unpaid for h in holders for d in self.dues.get(h, []) if d.kind == kind), ZERO
        )

    def unpaid_by_holder(self, kind: str = "arrears") -> dict[str, Decimal]:
        """``unpaid(h, kind)`` for every holder in ``dues`` (one pass, for reports)."""
        if isinstance(self.dues, DueMap):
            totals = self.dues.sync().by_holder
            return {h: totals.get((h, kind), ZERO) for h in self.dues}
        return {h: self.unpaid(h, kind) for h in self.dues}

    def open_arrears(self) -> dict[dt.date, dict[str, Due]]:
        """Arrears with something unpaid, by due date then holder (SPEC.md §11 Payments:
        oldest due date first). The live index: copy a day's dict before paying it."""
        if isinstance(self.dues, DueMap):
            return self.dues.sync().open
        out: dict[dt.date, dict[str, Due]] = {}
        for h, ds in self.dues.items():
            for d in ds:
                if d.kind == "arrears" and d.unpaid > 0:
                    out.setdefault(d.due_date, {})[h] = d
        return out


#: the holder of common stock issued without a named holder (SPEC.md §13): ``null`` in
#: JSON, "unattributed" in tables (a name no holder may take, ``ledger.events``)
UNATTRIBUTED: None = None
#: how the unattributed holder is shown in tables (reporting tables, command-line tables)
UNATTRIBUTED_LABEL = "unattributed"


@dataclass
class IssuerState:
    issuer: str
    day: dt.date | None = None
    series: dict[str, SeriesState] = field(default_factory=dict)
    #: the sum of ``common`` at all times (SPEC.md §13); change both only through
    #: ``add_common``, ``take_common``, ``scale_common`` and ``clear_common``
    common_outstanding: Decimal = ZERO
    #: common stock by holder, only holdings above zero (SPEC.md §13); the key
    #: ``UNATTRIBUTED`` (None) holds common issued without a named holder
    common: dict[str | None, Decimal] = field(default_factory=dict)
    #: common shares cancelled for good (SPEC.md §13 ``SharesCancelled``)
    common_cancelled_total: Decimal = ZERO
    #: every split's ratio multiplied (the limit ``split_factor``, ``ledger.limits``)
    split_factor: Decimal = ONE
    holders: set[str] = field(default_factory=set)
    payments: list[Payment] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    redemptions: list[Redemption] = field(default_factory=list)
    cancellations: list[Cancellation] = field(default_factory=list)
    approvals: list[tuple[dt.date, tuple[str, ...]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    liquidation: object | None = None
    liquidated_on: dt.date | None = None
    applied: list[Record] = field(default_factory=list)

    # -- common stock by holder (SPEC.md §13) -------------------------------------------
    def common_held(self, holder: str | None) -> Decimal:
        """The common ``holder`` holds (``UNATTRIBUTED``: common without a holder)."""
        return self.common.get(holder, ZERO)

    def add_common(self, holder: str | None, shares: Decimal) -> None:
        """Issue ``shares`` common to ``holder`` (exact to the ledger's 40 digits)."""
        if shares == 0:
            return
        self.common[holder] = CONTEXT.add(self.common.get(holder, ZERO), shares)
        self.common_outstanding = CONTEXT.add(self.common_outstanding, shares)
        if holder is not None:
            self.holders.add(holder)

    def take_common(self, holder: str | None, shares: Decimal) -> None:
        """Remove ``shares`` of ``holder``'s common (a transfer out or a cancellation);
        the caller has checked that the holder holds them."""
        left = CONTEXT.subtract(self.common.get(holder, ZERO), shares)
        if left <= 0:
            self.common.pop(holder, None)
        else:
            self.common[holder] = left
        self.common_outstanding = CONTEXT.subtract(self.common_outstanding, shares)

    def scale_common(self, ratio: Decimal) -> None:
        """A split (SPEC.md §6, §11): every holding × ``ratio`` exactly; common
        outstanding becomes the sum of the new holdings."""
        self.common = {h: CONTEXT.multiply(n, ratio) for h, n in self.common.items()}
        total = ZERO
        for n in self.common.values():
            total = CONTEXT.add(total, n)
        self.common_outstanding = total

    def clear_common(self) -> None:
        """A Liquidation extinguishes every holding (SPEC.md §3)."""
        self.common = {}
        self.common_outstanding = ZERO
