"""Checkpoints: replayed issuer states kept beside the log, so ``position --as-of`` costs
the same at any history length (performance only; SPEC.md §1 semantics unchanged).

A checkpoint is the state of one issuer at the end of the events of day D (D's
end-of-day tests not yet run, so later events of D and the days after can still
apply), taken at month ends (and every ``MAX_GAP`` events) during a replay that
already happens: the validation replay of every load, or ``rebuild``. It lives in a
side table of the same database (``prefledger_checkpoints``; SQLite or PostgreSQL) and
records:

- ``version`` V: the stream length it was built from;
- ``lo``: the smallest stream position (<= V) of an event dated after D, and ``hi``:
  the largest position (<= V) of an event dated on or before D. A query as of D' uses
  the latest checkpoint with D <= D' and reads only positions ``lo .. hi(next
  checkpoint)`` plus everything after V, never the whole stream;
- ``reversed``: the targets of every reversal in positions <= V.

Validity is checked on every use, so a stale checkpoint is never trusted: an event
recorded after V with an effective date before D (back-dated), or any reversal
recorded after V, makes the query fall back to a full replay (and the load that
stored such an event has already rebuilt the issuer's checkpoints from its own replay).
Bitemporal queries (``as_recorded``) always replay in full.

A checkpoint keeps only what the going-forward replay and the SPEC.md §9 position
need: the history lists (``applied``, ``payments``, ``conversions``, ``redemptions``,
``notes``; per series ``adjustments``, ``rate_history``, ``missed_dates``,
``missed_arrears``, ``recorded_misses``) are left out and amounts due that are paid in
full are dropped, so a
resumed state answers ``position``, not history reports (those use ``Ledger.state``).
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.bulk import bulk
from ledger.events import EventReversed, parse_object
from ledger.replay import Replayer, ReplayHooks, TermsResolver, replay, reversed_targets
from ledger.state import DueMap, IssuerState, Record
from ledger.store.eventstore import Store, StoredEvent, issuer_id

TABLE = "prefledger_checkpoints"
#: a checkpoint at a month end at least MIN_GAP events after the last one, or at the
#: first day change MAX_GAP events after it (a query replays at most about MAX_GAP events)
MIN_GAP = 64
MAX_GAP = 128


@dataclass
class Checkpoint:
    issuer: str
    day: dt.date
    version: int
    lo: int
    hi: int
    blob: bytes


def compact(st: IssuerState) -> IssuerState:
    """A copy of ``st`` without history lists and without dues paid in full."""
    out = copy.copy(st)
    out.applied = []
    out.payments = []
    out.conversions = []
    out.redemptions = []
    out.notes = []
    out.approvals = list(st.approvals)
    out.series = {}
    for name, s in st.series.items():
        s2 = copy.copy(s)
        # history only (reports of their own, never read by the replay or the position)
        s2.adjustments = []
        s2.rate_history = []
        s2.missed_dates = []
        s2.missed_arrears = {}
        s2.recorded_misses = set()
        if isinstance(s.dues, DueMap):  # the book knows the dues still unpaid
            owed = s.dues.sync().unpaid_dues()
        else:
            owed = {h: [d for d in ds if d.unpaid != 0] for h, ds in s.dues.items()}
        # the same Due objects: pickled, each is a plain (date, amount, kind, paid) tuple
        s2.dues = DueMap({h: ds for h, ds in owed.items() if ds})
        out.series[name] = s2
    return out


def freeze(st: IssuerState, designations: dict[str, dt.date], reversed_ids: frozenset[str]
           ) -> bytes:
    return zlib.compress(pickle.dumps((compact(st), designations, reversed_ids),
                                      protocol=pickle.HIGHEST_PROTOCOL), 1)


class _Unpickler(pickle.Unpickler):
    """Only the ledger's own state classes and plain values may come back from a
    checkpoint row: a row written by anyone else cannot make ``position`` run code."""

    _MODULES = ("ledger.", "datetime", "decimal", "builtins", "collections", "copyreg",
                "functools", "pydantic")
    _BUILTINS = {"set", "frozenset", "dict", "list", "tuple", "str", "int", "bool",
                 "bytes", "object"}

    def find_class(self, module: str, name: str) -> Any:
        allowed = module.startswith("ledger.") or (
            module in self._MODULES and (module != "builtins" or name in self._BUILTINS))
        if not allowed:
            raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}")
        return super().find_class(module, name)


def thaw(blob: bytes) -> tuple[IssuerState, dict[str, dt.date], frozenset[str]]:
    """Unpickle a checkpoint with an allow-list of classes (``_Unpickler``)."""
    import io

    st, designations, reversed_ids = _Unpickler(io.BytesIO(zlib.decompress(blob))).load()
    return st, designations, reversed_ids


class Capture(ReplayHooks):
    """A subscriber to a replay over the whole timeline (``records``; ``replay(...,
    hooks=[capture])``): keeps a checkpoint at each month end at least ``MIN_GAP``
    events after the last one (at the next day change after ``MAX_GAP`` events in a busy
    month). With ``new`` (the events a load appends), only for days on or after the
    earliest of them: the earlier checkpoints stay valid, unless ``new`` holds a
    reversal.

    A checkpoint is taken at ``day_ending`` of an event day D that another event
    follows: D's events applied, D's end-of-day tests not run yet."""

    def __init__(self, issuer: str, records: list[Record], new: list[Record] | None = None,
                 *, version: int | None = None, hi_base: int = 0,
                 reversed_ids: frozenset[str] | None = None) -> None:
        """Resuming (``resume_validation``): ``records`` are only the events after a
        checkpoint, ``version`` the stream's length with ``new``, ``hi_base`` the
        checkpoint's ``hi`` (the last position among the events before it) and
        ``reversed_ids`` its reversed targets."""
        self.issuer = issuer
        self.version = len(records) if version is None else version
        self.since: dt.date | None = None
        if new and not any(isinstance(r.event, EventReversed) for r in new):
            self.since = min(r.event.effective_date for r in new)
        if reversed_ids is None:
            targets, _ = reversed_targets(records)
            reversed_ids = frozenset(targets)
        self.reversed = reversed_ids
        self.hi_base = hi_base
        self.rows: list[Checkpoint] = []
        self._live: Sequence[Record] = ()
        self._lo: list[int] = []
        self._hi: list[int] = []
        self._seen = 0  # events of the timeline applied (or rejected) so far
        self._last = -MIN_GAP

    def replay_started(self, rp: Replayer, timeline: Sequence[Record]) -> None:
        self._live = timeline
        self._seen = 0
        self._lo, self._hi = [], []  # indexed on the first checkpoint (``_index``)

    def _index(self) -> None:
        live = self._live
        n = len(live)
        lo = [self.version + 1] * (n + 1)
        for i in range(n - 1, -1, -1):
            lo[i] = min(lo[i + 1], live[i].seq)
        hi = [self.hi_base] * (n + 1)
        for i in range(n):
            hi[i + 1] = max(hi[i], live[i].seq)
        self._lo, self._hi = lo, hi

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        self._seen += 1

    def day_ending(self, rp: Replayer, day: dt.date) -> None:
        i, live = self._seen, self._live
        if not 0 < i < len(live) or live[i - 1].event.effective_date != day:
            return  # not an event day of this replay that another event follows
        nxt = live[i].event.effective_date
        gap = i - self._last
        if gap < MAX_GAP and ((day.year, day.month) == (nxt.year, nxt.month)
                              or gap < MIN_GAP):
            return
        if self.since is not None and day < self.since:
            return
        if not self._lo:
            self._index()
        self._last = i
        self.rows.append(Checkpoint(self.issuer, day, self.version, self._lo[i],
                                    self._hi[i], freeze(rp.state, rp.designations,
                                                        self.reversed)))


# -- the side table ----------------------------------------------------------------------

class SideTable:
    """``prefledger_checkpoints`` in the store's own database."""

    def __init__(self, store: Store) -> None:
        env = store.env
        self.pg = env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
        self.env = env
        self.conn: Any = None
        #: encryption at rest (README Guarantees): with PREFLEDGER_CIPHER_KEY set, a
        #: checkpoint (holder names, amounts) is encrypted like the events themselves
        self.cipher = getattr(store.app.mapper, "cipher", None)
        if self.pg:
            schema = env.get("POSTGRES_SCHEMA")
            self.table = f'"{schema}".{TABLE}' if schema else TABLE
            self.mark = "%s"
        else:
            self.table = TABLE
            self.mark = "?"

    def _connect(self) -> Any:
        if self.conn is not None:
            return self.conn
        if self.pg:
            import psycopg

            e = self.env
            self.conn = psycopg.connect(
                dbname=e["POSTGRES_DBNAME"], host=e["POSTGRES_HOST"],
                port=e["POSTGRES_PORT"], user=e["POSTGRES_USER"],
                password=e.get("POSTGRES_PASSWORD") or None, autocommit=True)
            blob = "BYTEA"
        else:
            self.conn = sqlite3.connect(self.env["SQLITE_DBNAME"], timeout=30,
                                        isolation_level=None)
            blob = "BLOB"
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (issuer TEXT NOT NULL, day TEXT NOT NULL,"
            f" version INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,"
            f" state {blob} NOT NULL, PRIMARY KEY (issuer, day))")
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _tx(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        c = self._connect()
        if self.pg:
            with c.transaction():
                for sql, args in statements:
                    c.execute(sql, args)
        else:
            c.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    c.execute(sql, args)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def write(self, issuer: str, rows: list[Checkpoint], since: dt.date | None,
              version: int, first_new: int) -> None:
        """Replace ``issuer``'s checkpoints from ``since`` on (all if ``None``) with
        ``rows``; re-stamp the earlier ones to ``version`` (the events after them are
        all dated on or after ``since``; ``first_new`` is the first new position)."""
        m = self.mark
        stmts: list[tuple[str, tuple[Any, ...]]] = []
        if since is None:
            stmts.append((f"DELETE FROM {self.table} WHERE issuer = {m}", (issuer,)))
        else:
            stmts.append((f"DELETE FROM {self.table} WHERE issuer = {m} AND day >= {m}",
                          (issuer, since.isoformat())))
            stmts.append((f"UPDATE {self.table} SET lo = CASE WHEN lo > version THEN {m} "
                          f"ELSE lo END, version = {m} WHERE issuer = {m}",
                          (first_new, version, issuer)))
        for r in rows:
            stmts.append((f"INSERT INTO {self.table} (issuer, day, version, lo, hi, state) "
                          f"VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
                          (r.issuer, r.day.isoformat(), r.version, r.lo, r.hi,
                           self.cipher.encrypt(r.blob) if self.cipher else r.blob)))
        self._tx(stmts)

    def count(self, issuer: str) -> int:
        cur = self._connect().execute(
            f"SELECT COUNT(*) FROM {self.table} WHERE issuer = {self.mark}", (issuer,))
        return int(cur.fetchone()[0])

    def nearest(self, issuer: str, day: dt.date) -> tuple[Checkpoint, int | None] | None:
        """The latest checkpoint on or before ``day``, and the ``hi`` of the next one
        (when built from the same version)."""
        m = self.mark
        c = self._connect()
        row = c.execute(
            f"SELECT day, version, lo, hi, state FROM {self.table} WHERE issuer = {m} AND "
            f"day <= {m} ORDER BY day DESC LIMIT 1", (issuer, day.isoformat())).fetchone()
        if row is None:
            return None
        blob = bytes(row[4])
        cp = Checkpoint(issuer, dt.date.fromisoformat(row[0]), int(row[1]), int(row[2]),
                        int(row[3]), self.cipher.decrypt(blob) if self.cipher else blob)
        nxt = c.execute(
            f"SELECT version, hi FROM {self.table} WHERE issuer = {m} AND day > {m} "
            f"ORDER BY day LIMIT 1", (issuer, day.isoformat())).fetchone()
        hi2 = int(nxt[1]) if nxt is not None and int(nxt[0]) == cp.version else None
        return cp, hi2


def _persistent(store: Store) -> bool:
    """A store whose database outlives the process (not an in-memory SQLite)."""
    name = store.env.get("SQLITE_DBNAME", "")
    return store.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres" or not (
        not name or ":memory:" in name or "mode=memory" in name)


def stored_records(store: Store, issuer: str) -> list[Record]:
    out = []
    for s in store.iter_read(issuer):
        ev = parse_object(s.payload)
        if isinstance(ev, list):  # pragma: no cover - only validated events are stored
            raise ValueError(f"stored event {s.position} of {issuer} is invalid: {ev}")
        out.append(Record(ev, s.position, 0, s.recorded_at, s.hash))
    return out


def _read(store: Store, issuer: str, gt: int, lte: int | None) -> list[tuple[int, Any]]:
    """Stored events at positions ``gt < p <= lte`` (position p is version p + 1)."""
    kw: dict[str, Any] = {"gt": gt + 1}
    if lte is not None:
        kw["lte"] = lte + 1
    return [(ev.originator_version - 1, ev) for ev in store.app.events.get(issuer_id(issuer),
                                                                              **kw)]


class Checkpoints:
    """The checkpoints of one store: what a ``Ledger`` owns beside its log. ``side`` is
    the side table, ``None`` for an in-memory SQLite (then nothing is kept and every
    query replays in full). Every use is a cache: any failure falls back to the log."""

    def __init__(self, store: Store, resolve: TermsResolver) -> None:
        self.store = store
        self.resolve = resolve
        self.side: SideTable | None = SideTable(store) if _persistent(store) else None

    def close(self) -> None:
        if self.side is not None:
            self.side.close()

    # -- building --------------------------------------------------------------------
    def save(self, cap: Capture, first_new: int) -> None:
        """After a load: keep the checkpoints ``cap`` took (never fails the load)."""
        if self.side is None:
            return
        try:
            self.side.write(cap.issuer, cap.rows, cap.since, cap.version, first_new)
        except Exception:  # noqa: BLE001 - a cache: the events are stored, queries replay
            pass

    def rebuild_issuer(self, issuer: str) -> tuple[int, IssuerState]:
        """Replay ``issuer``'s whole log once, replacing its checkpoints; returns the
        number of events and the final state."""
        records = stored_records(self.store, issuer)
        cap = Capture(issuer, records)
        st, _ = replay(issuer, records, None, self.resolve, hooks=[cap])
        if self.side is not None:
            self.side.write(issuer, cap.rows, None, cap.version, cap.version + 1)
        return len(records), st

    def rebuild(self) -> int:
        """Recompute every issuer's checkpoints from the log, one issuer at a time (the
        log is streamed; one issuer's events are held at once). Returns the event count."""
        n = 0
        with bulk():
            for issuer in self.store.issuers():
                k, _ = self.rebuild_issuer(issuer)
                n += k
        return n

    # -- using -----------------------------------------------------------------------
    def resume_validation(self, issuer: str, stored: list[StoredEvent],
                          new: list[Record]) -> Capture | None:
        """Validate a load's ``new`` events from the nearest checkpoint before the
        earliest of them, instead of replaying the whole history (the cost of a load then
        follows the events on and after its dates, not the length of the log).

        Returns the ``Capture`` of the new checkpoints when the events after the
        checkpoint and ``new`` replay without a problem; ``None`` when there is no usable
        checkpoint (none before that date, a reversal in the load or after the
        checkpoint, an event recorded after it with an earlier date), or when a problem is
        found: the caller then validates in full, which names every problem exactly as a
        load without checkpoints would (SPEC.md §1 back-dated events). Events before the
        checkpoint cannot change: a replay puts each event after everything dated before
        it."""
        if not new or any(isinstance(r.event, EventReversed) for r in new):
            return None
        if self.side is None:
            return None
        since = min(r.event.effective_date for r in new)
        try:
            hit = self.side.nearest(issuer, since - dt.timedelta(days=1))
        except Exception:  # noqa: BLE001 - a cache: validate in full
            return None
        if hit is None:
            return None
        cp, _ = hit
        if cp.version > len(stored) or cp.lo < 1:
            return None  # written for a longer stream than this one: not this log's
        records: list[Record] = []
        for s in stored[cp.lo - 1:]:
            payload = s.payload
            day = dt.date.fromisoformat(payload["effective_date"])
            if s.position > cp.version and (day <= cp.day
                                            or payload.get("type") == "EventReversed"):
                return None  # recorded after the checkpoint, dated before it (or a reversal)
            if day <= cp.day and s.position <= cp.version:
                continue  # in the checkpoint
            got = parse_object(payload)
            if isinstance(got, list):  # pragma: no cover - only validated events are stored
                return None
            records.append(Record(got, s.position, 0, s.recorded_at, s.hash))
        try:  # written by another version of the code (a renamed class): validate in full
            st, designations, reversed_ids = thaw(cp.blob)
        except Exception:  # noqa: BLE001 - a cache
            return None
        cap = Capture(issuer, records, new, version=len(stored) + len(new), hi_base=cp.hi,
                      reversed_ids=reversed_ids)
        _, found = replay(issuer, records + new, None, self.resolve, start=st,
                          reversed_ids=reversed_ids, designations=designations,
                          hooks=[cap])
        return None if found else cap

    def state_as_of(self, issuer: str, as_of: dt.date) -> IssuerState | None:
        """The state as of the end of ``as_of`` from the nearest valid checkpoint, or
        ``None`` when there is none (the caller replays in full)."""
        store, side = self.store, self.side
        if side is None:
            return None
        try:
            hit = side.nearest(issuer, as_of)
            if hit is None and side.count(issuer) == 0 and store.version(issuer) > 0:
                self.rebuild_issuer(issuer)
                hit = side.nearest(issuer, as_of)
        except Exception:  # noqa: BLE001 - a cache: fall back to the full replay
            return None
        if hit is None:
            return None
        cp, hi2 = hit
        rows = _read(store, issuer, cp.lo - 1, hi2)
        if hi2 is not None:
            rows += _read(store, issuer, max(hi2, cp.version), None)
        records = []
        for pos, ev in rows:
            payload = ev.payload
            day = dt.date.fromisoformat(payload["effective_date"])
            if pos > cp.version and (day < cp.day or payload.get("type") == "EventReversed"):
                return None  # back-dated or a reversal after the checkpoint: replay in full
            if day <= cp.day and pos <= cp.version:
                continue  # already in the checkpoint
            if day > as_of:
                continue
            got = parse_object(payload)
            if isinstance(got, list):  # pragma: no cover - only validated events are stored
                return None
            records.append(Record(got, pos, 0, ev.recorded_at, ev.hash))
        try:  # written by another version of the code (a renamed class): replay in full
            st, designations, reversed_ids = thaw(cp.blob)
        except Exception:  # noqa: BLE001 - a cache: never fail a query because of it
            return None
        out, _ = replay(issuer, records, as_of, self.resolve, start=st,
                        reversed_ids=reversed_ids, designations=designations)
        return out
