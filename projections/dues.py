"""Following the amounts due of one series as a replay runs (``projections.tables``).

A watch answers, at each look, which amounts due changed since the last one: dues
that fell due (SPEC.md §5 Periods) and what was paid on them (§11 Payments). It reads
the state, never changes it, and costs what changed, not the history (performance).
"""

from __future__ import annotations

from decimal import Decimal

from ledger.state import Due, DueBook, DueMap, SeriesState
from ledger.values import ZERO

#: one change: ``(holder, due, new amount, newly paid)``
Change = tuple[str, Due, Decimal, Decimal]


class DueWatch:
    """Changes to one series' dues since the last look (new amounts, payments).

    Keeps the dues still unpaid, so a look costs the open dues plus the holders, never
    the whole history of paid quarters. With a ``DueMap`` it follows the map's book
    through a log of its own (one of ``DueBook.logs``: every due registered or changed
    since this watch's last look), so a look costs only what changed (performance); any
    other change (a new holder, a recount, dues dropped) takes the full look. Both give
    the same changes in the same order: changed open dues in the order they were
    opened, then new dues by holder in the map's order.

    A watch only reads: its log is its own, so any number of watches may follow one
    series in one replay (the tables' walk and the explain follower, one replay for
    both: ``projections.feed.projector``) and each sees every change.
    """

    def __init__(self) -> None:
        self.open: dict[int, tuple[str, Due, Decimal]] = {}
        self.num: dict[int, int] = {}  # open key -> when it was opened (the open order)
        self.count = 0
        self.lens: dict[str, int] = {}
        self.book: DueBook | None = None  # the book followed since the last full look
        self.log: list[Due] = []  # this watch's log in ``book.logs``
        self.mark = 0  # ``book.n`` at the last look: dues registered since are new
        self.rank: dict[str, int] = {}  # holder -> place in the map's order

    def _opened(self, key: int, entry: tuple[str, Due, Decimal]) -> None:
        self.open[key] = entry
        self.num[key] = self.count
        self.count += 1

    def _closed(self, key: int) -> None:
        del self.open[key]
        del self.num[key]

    def look(self, s: SeriesState) -> list[Change]:
        """``(holder, due, new amount, newly paid)`` for every due that changed."""
        dues = s.dues
        if isinstance(dues, DueMap):
            book = dues.sync()
            if book is self.book and len(dues) == len(self.lens):
                return self._look_log(book)
        out = self._look_all(s)
        if isinstance(dues, DueMap):  # follow this book from now on
            book = dues.sync()
            self._follow(book)
            self.mark = book.n
            self.rank = {h: k for k, h in enumerate(self.lens)}
        return out

    def _follow(self, book: DueBook) -> None:
        """Follow ``book`` with an empty log of this watch's own (and no other book)."""
        if book is self.book:
            self.log.clear()
            return
        old = self.book
        if old is not None:  # a recounted or cleared map's old book: no longer followed
            old.logs[:] = [g for g in old.logs if g is not self.log]
        self.book, self.log = book, []
        book.logs.append(self.log)

    def _look_log(self, book: DueBook) -> list[Change]:
        log = self.log
        mark, self.mark = self.mark, book.n
        changed: dict[int, Due] = {}
        new: dict[int, Due] = {}
        for d in log:
            key = id(d)
            if d.__dict__["_n"] >= mark:
                new[key] = d
            elif key in self.open:
                changed[key] = d
        log.clear()  # taken: only this watch reads it
        out: list[Change] = []
        for key in sorted(changed, key=self.num.__getitem__):
            self._recheck(key, out)
        rank = self.rank
        for d in sorted(new.values(), key=lambda d: (rank[d.__dict__["_holder"]],
                                                     d.__dict__["_n"])):
            h = d.__dict__["_holder"]
            self._found(h, d, out)
            self.lens[h] += 1
        return out

    def _recheck(self, key: int, out: list[Change]) -> None:
        """An open due: what was paid on it since the last look (closed once paid)."""
        h, d, unpaid = self.open[key]
        if d.unpaid != unpaid:
            out.append((h, d, ZERO, unpaid - d.unpaid))
            if d.unpaid > 0:
                self.open[key] = (h, d, d.unpaid)
            else:
                self._closed(key)

    def _found(self, h: str, d: Due, out: list[Change]) -> None:
        """A due not seen before: its amount and what is paid already (open if unpaid)."""
        out.append((h, d, d.amount, d.paid))
        if d.unpaid > 0:
            self._opened(id(d), (h, d, d.unpaid))

    def _look_all(self, s: SeriesState) -> list[Change]:
        out: list[Change] = []
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
