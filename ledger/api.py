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
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger import forked
from ledger.bulk import bulk
from ledger.events import MAX_LINE_BYTES, Event, line_too_long, parse_line, parse_object
from ledger.problems import LedgerError, Problem, Rejected
from ledger.replay import TermsResolver, replay
from ledger.state import IssuerState, Record
from ledger.store import chain
from ledger.store.checkpoints import Capture, Checkpoints
from ledger.store.eventstore import ConcurrencyError, Store, StoredEvent, env_for, now_utc
from ledger.store.spill import Spill
from ledger.terms import load_terms_ref

if TYPE_CHECKING:
    from ledger.forked import Forked
    from projections.explain import Explanation

RETRIES = 5
#: a load of at least this many events of new issuers validates part of them in a
#: forked child (``Ledger._append``; a second core), about this share of the events
FORK_EVENTS = 20_000
FORK_SHARE = 0.65
#: problems a failed load keeps (the rest are counted: ``LedgerError.omitted``)
MAX_PROBLEMS_KEPT = 1000

#: ``progress(phase, done, total)`` of a load: ``"reading"`` (bytes read and parsed of
#: the file's size; lines when loading lines), ``"validating"`` (issuers replayed of
#: those the load touches), ``"writing"`` (0 of 1, then 1 of 1)
Progress = Callable[[str, int, "int | None"], None]


class NoLedger(LookupError):
    """A read of a ledger that is not there (a missing SQLite file, or a PostgreSQL
    schema without the ledger's tables): nothing is created. ``where`` names it."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no ledger at {where}")
        self.where = where


def redacted(url: str) -> str:
    """A database URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(url)
    if u.password is None:
        return url
    host = u.hostname or ""
    netloc = f"{u.username or ''}:***@{host}" + (f":{u.port}" if u.port else "")
    return urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


def store_location(db: str | None = None, database_url: str | None = None) -> str:
    """Where ``Ledger.open(db, database_url)`` opens: a SQLite path or a URL (redacted)."""
    env = env_for(db, database_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        return env["SQLITE_DBNAME"]
    return redacted(database_url or os.environ.get("PREFLEDGER_DATABASE_URL", ""))


def ledger_exists(db: str | None = None, database_url: str | None = None) -> bool:
    """Whether a ledger is stored there, found without creating anything: a SQLite file
    holding the event table, or a PostgreSQL schema (or database) holding it."""
    env = env_for(db, database_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        import sqlite3
        from urllib.parse import quote

        path = env["SQLITE_DBNAME"]
        if path == ":memory:" or path.startswith("file:"):
            return True  # not a file of its own: opened as given
        if not os.path.isfile(path):
            return False
        try:
            conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
        except sqlite3.Error:
            return True  # let opening it say what is wrong
        try:
            row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                               "name = 'stored_events'").fetchone()
        except sqlite3.DatabaseError:
            return True  # not a database: opening it says so
        finally:
            conn.close()
        return row is not None
    import psycopg

    table = f"{LEDGER_PREFIX}_events"
    schema = env.get("POSTGRES_SCHEMA")
    name = f'"{schema}".{table}' if schema else table
    try:
        pg = psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                             dbname=env["POSTGRES_DBNAME"], user=env["POSTGRES_USER"],
                             password=env.get("POSTGRES_PASSWORD", ""), autocommit=True,
                             connect_timeout=10)
    except psycopg.OperationalError as exc:
        if f'database "{env["POSTGRES_DBNAME"]}" does not exist' in str(exc):
            return False  # no database: no ledger (any other failure: opening says why)
        raise
    with pg:
        found = pg.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(found and found[0])


#: the event table's prefix on PostgreSQL (the eventsourcing application's name)
LEDGER_PREFIX = "prefledger"


@dataclass
class LoadResult:
    appended: int = 0
    already_present: int = 0
    issuers: list[str] = field(default_factory=list)


def parse_as_recorded(text: str | None) -> dt.datetime | None:
    """ISO 8601 in UTC; a naive time is read as UTC (SPEC.md §10). A time that is not
    ISO 8601, or whose offset takes it outside years 1 to 9999 in UTC
    (``9999-12-31T23:59:59-23:59``), raises ``ValueError``."""
    if text is None:
        return None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    try:
        return t.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"{text} is outside the years 1 to 9999 in UTC") from None


def _event_of(stored: StoredEvent) -> Event:
    ev = parse_object(stored.payload)
    if isinstance(ev, list):  # pragma: no cover - only validated events are stored
        raise ValueError(f"stored event {stored.position} of {stored.issuer} is invalid: {ev}")
    return ev


class Ledger:
    """A ledger over one store (a SQLite file or a PostgreSQL database)."""

    #: validate a load into a stored history from the nearest checkpoint before its
    #: earliest date (``Checkpoints.resume_validation``); off: always the whole timeline
    resume_loads = True
    #: validate part of a big load of new issuers in a forked child on a second core
    #: (``_fork_validation``); off: one process
    fork_loads = True

    def __init__(self, store: Store, resolve: TermsResolver = load_terms_ref,
                 clock: Callable[[], str] = now_utc) -> None:
        self.store = store
        self.resolve = resolve
        self.clock = clock
        #: the as-of checkpoints beside the log (``ledger.store.checkpoints``)
        self.checkpoints = Checkpoints(store, resolve)

    @classmethod
    def open(cls, db: str | None = None, database_url: str | None = None,
             clock: Callable[[], str] = now_utc, create: bool = True) -> Ledger:
        """Open the ledger in a SQLite file or a PostgreSQL database; ``create=False``
        (every read): raise ``NoLedger`` rather than create one where there is none."""
        if not create and not ledger_exists(db, database_url):
            raise NoLedger(store_location(db, database_url))
        return cls(Store(db, database_url), clock=clock)

    def close(self) -> None:
        self.checkpoints.close()
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
        """The issuer's events as recorded at ``as_recorded`` (SPEC.md §1; all by default):
        exactly the stored events whose ``recorded_at`` is at or before it."""
        out = []
        for s in self.store.iter_read(issuer):
            if as_recorded is not None and parse_as_recorded(s.recorded_at) > as_recorded:  # type: ignore[operator]
                continue
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

        with bulk():  # a state and a report of thousands of rows: few collector passes
            st = None
            if as_recorded is None:  # checkpoints: cost independent of history length
                st = self.checkpoints.state_as_of(issuer, as_of)
            if st is None:
                st = self.state(as_of, issuer, as_recorded)
            return position(st, as_of, as_recorded.isoformat() if as_recorded else None)

    def waterfall(self, as_of: dt.date, proceeds: Decimal, issuer: str = "default",
                  as_recorded: dt.datetime | None = None, order: str | None = None
                  ) -> dict[str, Any]:
        """SPEC.md §8 what-if waterfall of ``proceeds`` at the end of ``as_of`` (§9 JSON);
        records nothing. ``order``: the issuer's seniority order, e.g. ``"M,H,K,G"``
        (default ``ledger.seniority.default_order``). Bad input: ``LedgerError``."""
        from ledger.waterfall import distribute

        st = self.state(as_of, issuer, as_recorded)
        try:
            dist = distribute(st, as_of, proceeds, order)
        except Rejected as exc:
            raise LedgerError([exc.at(0, "waterfall")]) from None
        return {"issuer": issuer,
                "as_recorded": as_recorded.isoformat() if as_recorded else None,
                "recorded": False, **dist.to_json()}

    def conversions(self, series: str, issuer: str = "default", as_of: dt.date | None = None,
                    as_recorded: dt.datetime | None = None) -> dict[str, Any]:
        """SPEC.md §10 ``conversions --series S``: conversion-rate adjustments with their
        A, B, C (§6), and the series' conversions and redemptions (§7), as of ``as_of``
        (default: the issuer's last effective date). Unknown series: ``KeyError``."""
        from ledger.conversion import listing

        st, _ = replay(issuer, self.records(issuer, as_recorded), as_of, self.resolve)
        if series not in st.series:
            raise KeyError(series)
        return listing(st, series)

    # -- loading ---------------------------------------------------------------------
    def load_file(self, path: str | Path, progress: Progress | None = None) -> LoadResult:
        """``load_lines`` of a file, read a line at a time with a bounded ``readline``:
        a line longer than ``MAX_LINE_BYTES`` is refused once that much of it is read."""
        with open(path, "rb") as fh:  # bytes: a line that is not UTF-8 is named by number
            size = os.fstat(fh.fileno()).st_size
            if size < STREAM_BYTES:
                return self.load_lines(_bounded_lines(fh), progress, size)
            with bulk():  # a big file: read twice, one issuer's events held at a time
                return self._load_lines(_bounded_lines(fh), progress, size, reread=fh)

    def load_lines(self, lines: Iterable[str | bytes], progress: Progress | None = None,
                   size: int | None = None) -> LoadResult:
        """Validate and append atomically, idempotent by ``id`` (SPEC.md §3).

        Raises ``LedgerError`` with the problems found (the first ``MAX_PROBLEMS_KEPT``;
        the rest counted); then nothing is stored. ``progress``: see ``Progress``
        (``size``: the bytes ``lines`` hold, for the reading phase).
        """
        with bulk():
            return self._load_lines(lines, progress, size)

    def _load_lines(self, lines: Iterable[str | bytes], progress: Progress | None = None,
                    size: int | None = None, reread: Any = None) -> LoadResult:
        """``reread``: the binary file ``lines`` come from; then only where each issuer's
        lines are is kept (``_Spots``), and they are read again one issuer at a time."""
        parsed: list[tuple[int, Event]] = []
        spots = _Spots(reread) if reread is not None else None
        found = _Found()
        done = 0
        try:
            for n, raw in enumerate(lines, start=1):
                at = done
                done += len(raw) if size is not None else 1
                if progress is not None and n % 256 == 0:
                    progress("reading", done, size)
                if isinstance(raw, bytes):
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        found.add([Problem(n, "event", "", "not UTF-8 text (byte "
                                           f"{exc.start + 1} of the line: {exc.reason})")])
                        continue
                else:
                    text = raw
                got = parse_line(text, n)
                if isinstance(got, list):
                    found.add(got)
                elif got is not None:
                    if spots is not None:
                        spots.add(got.issuer, n, at, len(raw))
                    else:
                        parsed.append((n, got))
        except _LineTooLong as exc:
            found.add([line_too_long(exc.line)])
        except UnicodeDecodeError as exc:
            found.add([Problem(0, "file", "", f"not UTF-8 text: {exc}")])
        if progress is not None:
            progress("reading", done, size)
        found.raise_if_any()
        groups: dict[str, Callable[[], list[tuple[int, Event]]]]
        if spots is not None:
            groups = spots.groups()
        else:
            by_issuer: dict[str, list[tuple[int, Event]]] = {}
            for n, ev in parsed:
                by_issuer.setdefault(ev.issuer, []).append((n, ev))
            del parsed
            groups = {i: partial(list, items) for i, items in by_issuer.items()}
        for _ in range(RETRIES):
            try:
                return self._append(groups, progress, packed=spots is not None,
                                    order=spots.biggest_first() if spots else None)
            except ConcurrencyError:
                continue
        raise LedgerError([Problem(0, "load", "", "another writer kept appending to the same "
                                   f"issuer; gave up after {RETRIES} tries, nothing stored")])

    def _append(self, groups: dict[str, Callable[[], list[tuple[int, Event]]]],
                progress: Progress | None = None, packed: bool = False,
                order: list[str] | None = None) -> LoadResult:
        """Validate each issuer's events (``groups``: issuer -> its ``(line, event)`` in
        file order) and append them all in one transaction. Each issuer's rows are staged
        as soon as its events are parsed (``packed``: kept compressed), then it is
        validated, so only one issuer's parsed events are held at a time; a file read
        twice is validated biggest issuer first (``order``: ``_Spots.biggest_first``) and
        its checkpoints kept on disk until written (``ledger.store.spill``). In a big load
        of new issuers, part of them is validated in a forked child on another core
        (``_fork_validation``)."""
        # a big load keeps the checkpoints' states on disk until it writes them
        spill = Spill() if packed else None
        try:
            return self._append_all(groups, progress, packed, order, spill)
        finally:
            if spill is not None:
                spill.close()

    def _append_all(self, groups: dict[str, Callable[[], list[tuple[int, Event]]]],
                    progress: Progress | None, packed: bool, order: list[str] | None,
                    spill: Spill | None) -> LoadResult:
        """``_append``; ``order``: the order to validate the issuers in (default: the
        file's), ``spill``: where to keep the checkpoints taken until they are written."""
        result = LoadResult(issuers=sorted(groups))
        problems_of: dict[str, list[Problem]] = {}
        expected: dict[str, int] = {}
        captures: dict[str, Capture] = {}
        stamp = self.clock()
        # the streams' lengths (their snapshots) and recorded times first: every new row
        # is stamped with one time, never before the last one stored
        for issuer in groups:
            count = self.store.version(issuer)
            expected[issuer] = count
            if count:
                last = self.store.event_at(issuer, count)
                if last is not None and last.recorded_at is not None:
                    stamp = _latest(stamp, last.recorded_at)
        child, theirs = self._fork_validation(groups, expected, packed)
        staged_of: dict[str, Any] = {}
        try:
            for k, issuer in enumerate(order or groups):
                items_of = groups[issuer]
                if progress is not None:
                    progress("validating", k, len(groups))
                count = expected[issuer]
                new, payloads, found = self._prepare(issuer, items_of(), count, result)
                problems_of[issuer] = found
                if not new:
                    continue
                if not any(problems_of.values()):  # else nothing is stored: the rest is
                    # validated, not staged. Staged before it is validated, so that its
                    # payloads are not held through the replay (dropped with the rest if
                    # it or a later issuer has a problem)
                    staged_of[issuer] = self.store.stage(issuer, payloads, count, stamp,
                                                         pack=packed)
                del payloads
                if issuer not in theirs:
                    cap, blamed = self._validate(issuer, count, new)
                    found.extend(blamed)
                    if spill is not None:
                        cap.spill(spill)
                    captures[issuer] = cap
                del new  # the parsed events: only their payloads are stored
            if child is not None:
                done = self._collect(child, theirs, groups, expected)
                for issuer, (cap, blamed) in done.items():
                    problems_of[issuer].extend(blamed)
                    captures[issuer] = cap
        finally:
            if child is not None:
                child.close()
        if progress is not None:
            progress("validating", len(groups), len(groups))
        staged = [staged_of[i] for i in groups if i in staged_of]  # in the file's order
        del staged_of
        problems = [p for issuer in groups for p in problems_of.get(issuer, [])]
        if problems:
            capped = _Found()
            capped.add(problems)
            capped.raise_if_any()
        if progress is not None:
            progress("writing", 0, 1)
        result.appended = self.store.commit(staged)
        for issuer in groups:  # a cache for position --as-of (ledger.store.checkpoints)
            taken = captures.pop(issuer, None)  # its states read back one issuer at a time
            if taken is not None:
                self.checkpoints.save(taken, expected[issuer] + 1)
        if progress is not None:
            progress("writing", 1, 1)
        return result

    def _prepare(self, issuer: str, items: list[tuple[int, Event]], count: int,
                 result: LoadResult) -> tuple[list[Record], list[dict[str, Any]],
                                              list[Problem]]:
        """The new events of ``issuer`` (after ``count`` stored ones) as records, their
        payloads, and the problems of ids used for different content; events already
        stored (same id, same content) are counted in ``result`` and left out."""
        # id -> (its payload, its line; 0 when stored): digests only on a collision;
        # the stored ones from the id index (the stream is read only when the whole
        # timeline must be replayed)
        seen = self._stored_with_ids(issuer, [ev.id for _, ev in items
                                              if ev.id is not None], count)
        new: list[Record] = []
        payloads: list[dict[str, Any]] = []
        problems: list[Problem] = []
        for n, ev in items:
            payload = ev.to_json()
            if ev.id is not None:
                prior = seen.get(ev.id)
                if prior is not None:
                    if chain.digest(prior[0]) == chain.digest(payload):
                        result.already_present += 1
                        continue
                    where = f"line {prior[1]}" if prior[1] else "the ledger"
                    problems.append(Problem(n, ev.describe(), "id",
                                            f"id {ev.id!r} is already used in {where} "
                                            "for different content"))
                    continue
                seen[ev.id] = (payload, n)
            new.append(Record(ev, count + len(new) + 1, n))
            payloads.append(payload)
        return new, payloads, problems

    def _validate(self, issuer: str, count: int, new: list[Record]
                  ) -> tuple[Capture, list[Problem]]:
        """Validate ``new`` after the ``count`` stored events of ``issuer``: from a
        checkpoint when one fits (and all is well), else the whole timeline, naming every
        problem exactly. Returns the checkpoints taken (the timeline released) and the
        problems."""
        cap = None
        problems: list[Problem] = []
        if count and self.resume_loads:
            cap = self.checkpoints.resume_validation(issuer, count, new)
        if cap is None:  # the whole timeline: and every problem, named exactly
            stored = [Record(_event_of(s), s.position, 0, s.recorded_at, s.hash)
                      for s in self.store.iter_read(issuer, 0, count)] if count else []
            cap = Capture(issuer, stored + new, new)
            _, found = replay(issuer, stored + new, None, self.resolve, hooks=[cap])
            problems = _blame(found, new, self._checker(issuer), stored)
            del stored
        cap.release()
        return cap, problems

    def _fork_validation(self, groups: dict[str, Callable[[], list[tuple[int, Event]]]],
                         expected: dict[str, int], packed: bool
                         ) -> tuple[Forked | None, frozenset[str]]:
        """A child validating about ``FORK_SHARE`` of the events of the new issuers (no
        stored events: their validation reads nothing from the store), when the load has
        at least ``FORK_EVENTS`` of them over two or more issuers and a second core is
        there; ``(None, ∅)`` otherwise. Not for a file read twice (``packed``: the child
        would read the same open file)."""
        if packed or not self.fork_loads or not forked.available():
            return None, frozenset()
        sizes = {i: len(items_of()) for i, items_of in groups.items() if not expected[i]}
        total = sum(sizes.values())
        if len(sizes) < 2 or total < FORK_EVENTS:
            return None, frozenset()
        theirs: set[str] = set()
        share = 0
        for issuer in sorted(sizes, key=lambda i: (-sizes[i], i)):  # the biggest first
            if share + sizes[issuer] <= total * FORK_SHARE:
                theirs.add(issuer)
                share += sizes[issuer]
        if not theirs or len(theirs) == len(sizes):
            return None, frozenset()
        mine = frozenset(theirs)

        def work() -> dict[str, tuple[Capture, list[Problem]]]:
            out = {}
            for issuer in groups:
                if issuer in mine:
                    new, _, _ = self._prepare(issuer, groups[issuer](), 0, LoadResult())
                    if new:
                        out[issuer] = self._validate(issuer, 0, new)
            return out
        try:
            return forked.Forked(work), mine
        except forked.ForkFailed:
            return None, frozenset()

    def _collect(self, child: Forked, theirs: frozenset[str],
                 groups: dict[str, Callable[[], list[tuple[int, Event]]]],
                 expected: dict[str, int]) -> dict[str, tuple[Capture, list[Problem]]]:
        """The child's validations; if it failed, the same work done here."""
        try:
            got: dict[str, tuple[Capture, list[Problem]]] = child.result()
            return got
        except forked.ForkFailed:
            out = {}
            for issuer in groups:
                if issuer in theirs:
                    new, _, _ = self._prepare(issuer, groups[issuer](), expected[issuer],
                                              LoadResult())
                    if new:
                        out[issuer] = self._validate(issuer, expected[issuer], new)
            return out

    def _stored_with_ids(self, issuer: str, event_ids: list[str], count: int
                         ) -> dict[str, tuple[dict[str, Any], int]]:
        """``{id: (stored payload, 0)}`` for each of ``event_ids`` already in the issuer's
        stream (its first ``count`` events), found with the id index; each hit is
        checked against the stored event at its position (an index that names another
        event there is rebuilt from the stream, once)."""
        if not count or not event_ids:
            return {}
        for attempt in range(2):
            at = self.store.stored_ids(issuer, event_ids, count)
            if len(at) > 64:  # many hits (a file loaded again): one read of the stream
                by_pos = {s.position: s.payload for s in self.store.iter_read(issuer, 0, count)}
            else:
                by_pos = {}
                for pos in sorted(set(at.values())):
                    s = self.store.event_at(issuer, pos) if pos <= count else None
                    if s is not None:
                        by_pos[pos] = s.payload
            out = {}
            for eid, pos in at.items():
                payload = by_pos.get(pos)
                if payload is not None and payload.get("id") == eid:
                    out[eid] = (payload, 0)
            if len(out) == len(at) or attempt == 1:
                return out
            self.store.reindex(issuer)  # the index disagrees with the log: rebuilt
        return out  # pragma: no cover

    def _checker(self, issuer: str) -> Callable[[list[Record]], list[Problem]]:
        """The problems a timeline of ``issuer`` has (for ``_blame``)."""
        return lambda recs: replay(issuer, recs, None, self.resolve)[1]

    # -- audit -------------------------------------------------------------------------
    def verify(self) -> list[Problem]:
        """Recompute every issuer's hash chain; name the first broken event (SPEC.md §10)."""
        from ledger.store.verify import verify_store

        return verify_store(self.store)

    def iter_history(self, issuer: str) -> Iterator[StoredEvent]:
        return self.store.iter_read(issuer)

    def history(self, issuer: str = "default", series: str | None = None,
                holder: str | None = None, date_from: dt.date | None = None,
                date_to: dt.date | None = None,
                as_recorded: dt.datetime | None = None,
                event_id: str | None = None) -> list[dict[str, Any]]:
        """SPEC.md §10 ``history``: the audit trail of ``issuer`` in recorded order, each
        event with effective date, recorded time, id, memo/source, hash, and whether it
        was reversed (and why); as recorded at ``as_recorded`` if given (SPEC.md §1).
        For a holder, a series or one event (``event_id``), each event's ``effects`` and
        every event that changed the figures (``history_report``)."""
        return self.history_report(issuer, series, holder, date_from, date_to, as_recorded,
                                   event_id)["events"]

    def history_report(self, issuer: str = "default", series: str | None = None,
                       holder: str | None = None, date_from: dt.date | None = None,
                       date_to: dt.date | None = None,
                       as_recorded: dt.datetime | None = None, event_id: str | None = None,
                       with_dues: bool = False) -> dict[str, Any]:
        """``history`` with the calendar entries: ``{"events", "calendar"}``
        (``projections.history.report``). ``with_dues`` (for a holder or a series): the
        amounts that fell due on payment dates and the end-of-day tests no event
        records. An ``event_id`` that no event has: ``KeyError``."""
        from projections.history import report

        stored = [s for s in self.store.iter_read(issuer)
                  if as_recorded is None or parse_as_recorded(s.recorded_at) <= as_recorded]  # type: ignore[operator]
        events: list[Event | None] = []
        for s in stored:
            got = parse_object(s.payload)
            events.append(None if isinstance(got, list) else got)
        with bulk():  # one replay of the whole log: few collector passes
            return report(stored, events, self.resolve, series, holder, date_from, date_to,
                          event_id, with_dues)

    # -- dividends (SPEC.md §5) -----------------------------------------------------------
    def rates(self, series: str, issuer: str = "default", as_of: dt.date | None = None,
              as_recorded: dt.datetime | None = None) -> dict[str, Any]:
        """SPEC.md §10 ``rates --series S``: the dividend-rate history (§5 Step-up) as of
        ``as_of`` (default: the issuer's last effective date). Unknown series: ``KeyError``."""
        from ledger.dividends import rates_report

        st, _ = replay(issuer, self.records(issuer, as_recorded), as_of, self.resolve)
        if series not in st.series:
            raise KeyError(series)
        return rates_report(st, series)

    def horizon(self, issuer: str = "default") -> dt.date | None:
        """The issuer's horizon (``ledger.limits.horizon``): its latest event's date (of
        the events that count: reversed ones left out) plus ``horizon_years``, at most
        the ``latest_date``. A load is accepted only if every report works on every date
        up to it (docs/limits.md). ``None``: no events."""
        from ledger.limits import horizon
        from ledger.replay import order, reversed_targets

        recs = self.records(issuer)
        targets, _ = reversed_targets(recs)
        live = [r for r in order(recs) if r.event.id is None or r.event.id not in targets]
        return horizon(live[-1].event.effective_date) if live else None

    def check(self, as_of: dt.date, issuer: str = "default",
              as_recorded: dt.datetime | None = None) -> list[Any]:
        """SPEC.md §10 ``check --as-of D``: every ``ledger.checks.Finding`` as of ``as_of``."""
        from ledger.checks import check

        return check(self.state(as_of, issuer, as_recorded), as_of)

    def explain(self, figure: str, series: str, as_of: dt.date, holder: str | None = None,
                issuer: str = "default", as_recorded: dt.datetime | None = None
                ) -> Explanation:
        """How ``figure`` of ``series`` (and ``holder``) was made as of the end of
        ``as_of``, step by step (``projections.explain.Explanation``), as recorded at
        ``as_recorded`` if given. An unknown figure, series or holder:
        ``projections.explain.ExplainError`` (its ``option`` names which)."""
        from projections.explain import explain

        with bulk():
            return explain(issuer, self.records(issuer, as_recorded), as_of, figure, series,
                           holder, self.resolve)


#: a file at least this big is read twice: once to check every line and note where each
#: issuer's lines are, then one issuer at a time (its lines parsed again), so a load
#: holds one issuer's events at a time, not the whole file's (peak memory)
STREAM_BYTES = 64 * 2**20


class _Spots:
    """Where each issuer's lines are in a file read twice (``STREAM_BYTES``): line
    numbers, offsets and lengths, 24 bytes a line."""

    def __init__(self, fh: Any) -> None:
        from array import array

        self.fh = fh
        self.array = array
        self.by_issuer: dict[str, tuple[Any, Any, Any]] = {}

    def add(self, issuer: str, line: int, offset: int, length: int) -> None:
        got = self.by_issuer.get(issuer)
        if got is None:
            got = self.by_issuer[issuer] = (self.array("q"), self.array("q"),
                                            self.array("q"))
        got[0].append(line)
        got[1].append(offset)
        got[2].append(length)

    def groups(self) -> dict[str, Callable[[], list[tuple[int, Event]]]]:
        return {issuer: partial(self.read, issuer) for issuer in self.by_issuer}

    def biggest_first(self) -> list[str]:
        """The issuers by their number of lines, most first (a big load validates the
        biggest while it holds nothing else: its peak memory is that one's, not that one's
        on top of every other issuer's staged rows)."""
        return sorted(self.by_issuer, key=lambda i: (-len(self.by_issuer[i][0]), i))

    def read(self, issuer: str) -> list[tuple[int, Event]]:
        """The issuer's events, parsed again from the file (each line as it was read)."""
        out = []
        lines, offsets, lengths = self.by_issuer[issuer]
        for n, at, size in zip(lines, offsets, lengths, strict=True):
            self.fh.seek(at)
            raw = self.fh.read(size)
            got = parse_line(raw.decode("utf-8"), n) if len(raw) == size else None
            if got is None or isinstance(got, list) or got.issuer != issuer:
                raise LedgerError([Problem(n, "file", "", "the file changed while it was "
                                           "being loaded; nothing stored")])
            out.append((n, got))
        return out


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _bounded_lines(fh: Any, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary file, each read with ``readline(limit + 2)`` (room for the
    line break): a longer line raises ``_LineTooLong`` without being read whole."""
    n = 0
    while True:
        raw = fh.readline(limit + 2)
        if not raw:
            return
        n += 1
        if len(raw) > limit and (len(raw.rstrip(b"\r\n")) > limit
                                 or not raw.endswith(b"\n")):
            raise _LineTooLong(n)  # longer than ``limit``, or more of it is unread
        yield raw


class _Found:
    """The problems of a load: the first ``MAX_PROBLEMS_KEPT`` kept, the rest counted."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.omitted = 0

    def add(self, problems: list[Problem]) -> None:
        room = MAX_PROBLEMS_KEPT - len(self.kept)
        self.kept.extend(problems[:max(room, 0)])
        self.omitted += max(len(problems) - max(room, 0), 0)

    def raise_if_any(self) -> None:
        if self.kept or self.omitted:
            raise LedgerError(self.kept, self.omitted)


def _latest(a: str, b: str) -> str:
    """The later of two recorded times: ``recorded_at`` never decreases along a stream, so
    "recorded up to T" is always a prefix of the log (SPEC.md §1), even if the clock
    steps back."""
    return b if parse_as_recorded(b) > parse_as_recorded(a) else a  # type: ignore[operator]


def _blame(found: list[Problem], new: list[Record],
           check: Callable[[list[Record]], list[Problem]] | None = None,
           stored: list[Record] | None = None) -> list[Problem]:
    """Problems on stored events caused by this load name the new event that causes them
    (SPEC.md §1 back-dated events): the first new event, in timeline order, whose
    addition makes a stored event invalid (found by bisection with ``check``)."""
    if not found:
        return []
    timeline = sorted(new, key=lambda r: (r.event.effective_date, r.seq))
    first = timeline[0]
    if check is not None and stored is not None and len(timeline) > 1 and any(
            p.line == 0 for p in found):
        lo, hi = 1, len(timeline)  # the prefix of length hi breaks a stored event
        while lo < hi:
            mid = (lo + hi) // 2
            if any(p.line == 0 for p in check(stored + timeline[:mid])):
                hi = mid
            else:
                lo = mid + 1
        first = timeline[hi - 1]
    out = []
    for p in found:
        if p.line == 0:
            out.append(Problem(first.line, first.event.describe(), p.field,
                               f"makes the later {p.event} invalid: {p.message}"))
        else:
            out.append(p)
    return out
