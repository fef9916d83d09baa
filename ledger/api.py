"""The Python API: open a ledger, load events, ask for a position as of a date.

    >>> from ledger.api import Ledger
    >>> with Ledger.open("prefledger.db") as lg:              # doctest: +SKIP
    ...     lg.load_file("fixtures/nstor/history.jsonl")
    ...     lg.position(dt.date(2001, 12, 31))

Everything here is thin: parsing is ``events``, validation is ``replay`` (the whole
timeline of every issuer a load touches is replayed before anything is stored), and
storage is ``store``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import chain
from .events import Event, parse_line, parse_object
from .problems import LedgerError, Problem
from .replay import TermsResolver, replay
from .state import IssuerState, Record
from .store import ConcurrencyError, Store, StoredEvent, now_utc
from .terms import load_terms_ref

RETRIES = 5


@dataclass
class LoadResult:
    appended: int = 0
    already_present: int = 0
    issuers: list[str] = field(default_factory=list)


def parse_as_recorded(text: str | None) -> dt.datetime | None:
    """ISO 8601 in UTC; a naive time is read as UTC (SPEC.md §10)."""
    if text is None:
        return None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC)


def _event_of(stored: StoredEvent) -> Event:
    ev = parse_object(stored.payload)
    if isinstance(ev, list):  # pragma: no cover - only validated events are stored
        raise ValueError(f"stored event {stored.position} of {stored.issuer} is invalid: {ev}")
    return ev


class Ledger:
    """A ledger over one store (a SQLite file or a PostgreSQL database)."""

    def __init__(self, store: Store, resolve: TermsResolver = load_terms_ref,
                 clock: Callable[[], str] = now_utc) -> None:
        self.store = store
        self.resolve = resolve
        self.clock = clock

    @classmethod
    def open(cls, db: str | None = None, database_url: str | None = None,
             clock: Callable[[], str] = now_utc) -> Ledger:
        return cls(Store(db, database_url), clock=clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------
    def issuers(self) -> list[str]:
        return self.store.issuers()

    def stored(self, issuer: str) -> list[StoredEvent]:
        return self.store.read(issuer)

    def records(self, issuer: str, as_recorded: dt.datetime | None = None) -> list[Record]:
        """The issuer's events as recorded at ``as_recorded`` (SPEC.md §1; all by default)."""
        out = []
        for s in self.store.iter_read(issuer):
            if as_recorded is not None and parse_as_recorded(s.recorded_at) > as_recorded:  # type: ignore[operator]
                break
            out.append(Record(_event_of(s), s.position, 0, s.recorded_at, s.hash))
        return out

    def state(self, as_of: dt.date, issuer: str = "default",
              as_recorded: dt.datetime | None = None) -> IssuerState:
        st, _ = replay(issuer, self.records(issuer, as_recorded), as_of, self.resolve)
        return st

    def position(self, as_of: dt.date, issuer: str = "default",
                 as_recorded: dt.datetime | None = None) -> dict[str, Any]:
        """SPEC.md §9 ``position`` as of the end of ``as_of``."""
        from projections.position import position

        st = self.state(as_of, issuer, as_recorded)
        return position(st, as_of, as_recorded.isoformat() if as_recorded else None)

    # -- loading ---------------------------------------------------------------------
    def load_file(self, path: str | Path,
                  progress: Callable[[int], None] | None = None) -> LoadResult:
        with open(path, encoding="utf-8", errors="strict") as fh:
            return self.load_lines(fh, progress)

    def load_lines(self, lines: Iterable[str],
                   progress: Callable[[int], None] | None = None) -> LoadResult:
        """Validate and append atomically, idempotent by ``id`` (SPEC.md §3).

        Raises ``LedgerError`` with every problem found; then nothing is stored.
        """
        parsed: list[tuple[int, Event]] = []
        problems: list[Problem] = []
        try:
            for n, text in enumerate(lines, start=1):
                got = parse_line(text, n)
                if isinstance(got, list):
                    problems.extend(got)
                elif got is not None:
                    parsed.append((n, got))
                if progress is not None:
                    progress(n)
        except UnicodeDecodeError as exc:
            problems.append(Problem(0, "file", "", f"not UTF-8 text: {exc}"))
        if problems:
            raise LedgerError(problems)
        for _ in range(RETRIES):
            try:
                return self._append(parsed)
            except ConcurrencyError:
                continue
        raise LedgerError([Problem(0, "load", "", "another writer kept appending to the same "
                                   f"issuer; gave up after {RETRIES} tries, nothing stored")])

    def _append(self, parsed: list[tuple[int, Event]]) -> LoadResult:
        by_issuer: dict[str, list[tuple[int, Event]]] = {}
        for n, ev in parsed:
            by_issuer.setdefault(ev.issuer, []).append((n, ev))
        result = LoadResult(issuers=sorted(by_issuer))
        problems: list[Problem] = []
        batches: dict[str, list[dict[str, Any]]] = {}
        expected: dict[str, int] = {}
        for issuer, items in by_issuer.items():
            stored = self.records(issuer)
            expected[issuer] = len(stored)
            seen: dict[str, tuple[str, int]] = {
                r.event.id: (chain.digest(r.event.to_json()), 0) for r in stored
                if r.event.id is not None
            }
            new: list[Record] = []
            for n, ev in items:
                payload = ev.to_json()
                if ev.id is not None:
                    d = chain.digest(payload)
                    prior = seen.get(ev.id)
                    if prior is not None:
                        if prior[0] == d:
                            result.already_present += 1
                            continue
                        where = f"line {prior[1]}" if prior[1] else "the ledger"
                        problems.append(Problem(n, ev.describe(), "id",
                                                f"id {ev.id!r} is already used in {where} "
                                                "for different content"))
                        continue
                    seen[ev.id] = (d, n)
                new.append(Record(ev, len(stored) + len(new) + 1, n))
            if not new:
                continue
            _, found = replay(issuer, stored + new, None, self.resolve)
            problems.extend(_blame(found, new))
            batches[issuer] = [r.event.to_json() for r in new]
        if problems:
            raise LedgerError(problems)
        result.appended = self.store.append(batches, expected, self.clock())
        return result

    # -- audit -------------------------------------------------------------------------
    def verify(self) -> list[Problem]:
        """Recompute every issuer's hash chain; name the first broken event (SPEC.md §10)."""
        from .verify import verify_store

        return verify_store(self.store)

    def iter_history(self, issuer: str) -> Iterator[StoredEvent]:
        return self.store.iter_read(issuer)


def _blame(found: list[Problem], new: list[Record]) -> list[Problem]:
    """Problems on stored events caused by this load say which new lines came first."""
    if not found:
        return []
    first = min(new, key=lambda r: (r.event.effective_date, r.seq))
    out = []
    for p in found:
        if p.line == 0:
            out.append(Problem(first.line, first.event.describe(), p.field,
                               f"makes the later {p.event} invalid: {p.message}"))
        else:
            out.append(p)
    return out
