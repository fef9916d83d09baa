"""Checkpoints: replayed issuer states kept beside the log, so ``position --as-of`` costs
the same at any history length (performance only; SPEC.md §1 semantics unchanged).

A checkpoint is the state of one issuer at the end of the events of day D (D's
end-of-day tests not yet run, so later events of D and the days after can still
apply), taken at month ends (and every ``MAX_GAP`` events; further apart for a big state:
``STATE_PER_EVENT``) during a replay that
already happens: the validation replay of every load, or ``rebuild``. It lives in a
side table of the same database (``prefledger_checkpoints``; SQLite or PostgreSQL) and
records:

- ``version`` V: the stream length it was built from, and ``head``: the hash-chain
  hash of the stream's event at V;
- ``lo``: the smallest stream position (<= V) of an event dated after D, and ``hi``:
  the largest position (<= V) of an event dated on or before D. A query as of D' uses
  the latest checkpoint with D <= D' and reads only positions ``lo .. hi(next
  checkpoint)`` plus everything after V, never the whole stream;
- ``state``: the replayed state as plain data (``ledger.store.codec``: JSON, zlib
  compressed; encrypted like the events when ``PREFLEDGER_CIPHER_KEY`` is set), never
  a pickled object graph, so reading a row cannot run code;
- ``body``: the SHA-256 of the state bytes, and ``digest``: the SHA-256 (on an
  encrypted store: the HMAC-SHA256) of (issuer, D, V, lo, hi, head, body), binding the
  row to the log it summarises (``binding``).

Every use checks the row first (``Checkpoints.check``): its size, its digest
recomputed from its content, the hash of the stream's own event at V against
``head``, and the strict decoding of the state. A row that fails (edited, forged,
written for another log or another stream version, malformed, oversized), or that is
stale (an event recorded after V with an effective date before D, or any reversal
recorded after V) is ignored with a ``CheckpointWarning`` and the answer comes from a
full replay of the log; ``position`` then rebuilds the issuer's checkpoints, and
``verify`` names every row whose digest or head does not match. On a store encrypted
with ``PREFLEDGER_CIPHER_KEY`` the digest is an HMAC under a key derived from it
(``mac_key``), so nobody without the key can forge a row or move a state to another
row; on a plain store it is a SHA-256, like the hash chain: it catches damage, stale
rows and rows copied from another log, not a writer who recomputes it (who could
rewrite the chain as well). Bitemporal queries (``as_recorded``) always replay in full.

A checkpoint keeps only what the going-forward replay and the SPEC.md §9 position
need (common by holder included, §13): the history lists (``applied``, ``payments``,
``conversions``, ``redemptions``, ``cancellations``, ``notes``; per series
``adjustments``, ``rate_history``, ``missed_dates``, ``missed_arrears``,
``recorded_misses``) are left out and amounts due that are paid in full are dropped, so a
resumed state answers ``position``, not history reports (those use ``Ledger.state``).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import sqlite3
import time
import uuid
import warnings
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from ledger.bulk import bulk
from ledger.events import EventReversed, parse_object
from ledger.problems import Problem
from ledger.replay import Replayer, ReplayHooks, TermsResolver, replay, reversed_targets
from ledger.state import DueMap, IssuerState, Record
from ledger.store import chain
from ledger.store.codec import Codec, CodecError, UnsupportedType
from ledger.store.eventstore import Store, StoredEvent, issuer_id
from ledger.store.spill import Spill

TABLE = "prefledger_checkpoints"
COLUMNS = ("issuer", "day", "version", "lo", "hi", "head", "body", "digest", "state")
#: a checkpoint at a month end at least MIN_GAP events after the last one, or at the
#: first day change MAX_GAP events after it (a query replays at most about MAX_GAP events)
MIN_GAP = 64
MAX_GAP = 128
#: a big state costs more to write than the events between two checkpoints cost to
#: replay (the 1,000-holder issuer of ``benchmarks/``: 3,000 lots and amounts due take
#: about as long to write as 800 events to replay): the gaps grow with the state, at
#: least one event per ``STATE_PER_EVENT`` lots and holders with amounts due. A query
#: pays for wider gaps (it replays up to a gap's events after the checkpoint): at 8 the
#: probe's load wrote 40% fewer checkpoints but its median position took twice as long;
#: at 32 the gaps of that issuer stay near ``MIN_GAP``..``MAX_GAP`` and only bigger
#: states space out
STATE_PER_EVENT = 32
#: the layout of the state bytes (with the codec's fingerprint of the state's types)
FORMAT = 1
#: the largest row read (stored bytes) and the largest state it may inflate to: a
#: bigger row is refused before it is decompressed or parsed
MAX_ROW_BYTES = 32 * 2**20
MAX_STATE_BYTES = 256 * 2**20


class CheckpointWarning(UserWarning):
    """A checkpoint row was ignored (damaged, forged, stale, malformed or oversized);
    the answer came from a full replay of the log instead."""


class CheckpointError(Exception):
    """Why a checkpoint row cannot be used."""


class OtherFormat(CheckpointError):
    """Written by another version of the code (other state types): not damage; the
    issuer's checkpoints are rebuilt without a warning."""


@dataclass
class Checkpoint:
    issuer: str
    day: dt.date
    version: int
    lo: int
    hi: int
    blob: bytes
    #: hash of the stream's event at ``version``, SHA-256 of ``blob``, and the binding
    #: digest (``binding``); filled in when the row is written or read
    head: str = ""
    body: str = ""
    digest: str = ""


def binding(issuer: str, day: dt.date, version: int, lo: int, hi: int, head: str,
            body: str, key: bytes | None = None) -> str:
    """The digest that binds a checkpoint row to the log it summarises: SHA-256 of the
    canonical JSON of (issuer, day, version, lo, hi, head, state: body); with ``key``
    (an encrypted store, ``mac_key``) HMAC-SHA256 of the same bytes under it."""
    text = chain.canonical({"issuer": issuer, "day": day.isoformat(), "version": version,
                            "lo": lo, "hi": hi, "head": head, "state": body})
    if key is not None:
        return hmac.new(key, text, hashlib.sha256).hexdigest()
    return hashlib.sha256(text).hexdigest()


def mac_key(env: dict[str, str]) -> bytes | None:
    """The key of ``binding`` for a store encrypted with ``PREFLEDGER_CIPHER_KEY`` (derived
    from it, never stored): without it nobody can forge a digest, or move an encrypted
    state to another row. ``None`` for a plain store (a plain SHA-256 digest)."""
    key = env.get("CIPHER_KEY")
    if not key:
        return None
    return hashlib.sha256(b"prefledger checkpoint binding\0" + key.encode()).digest()


def body_of(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def compact(st: IssuerState) -> IssuerState:
    """A copy of ``st`` without history lists and without dues paid in full."""
    out = copy.copy(st)
    out.applied = []
    out.payments = []
    out.conversions = []
    out.redemptions = []
    out.cancellations = []
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
        s2.dues = DueMap({h: ds for h, ds in owed.items() if ds})
        out.series[name] = s2
    return out


@dataclass
class Frozen:
    """What a checkpoint holds: the state, the designations seen and the reversed ids."""

    state: IssuerState
    designations: dict[str, dt.date]
    reversed: frozenset[str]


_codec: Codec | None = None
_codec_error: str | None = None
_warned: set[str] = set()


def codec() -> Codec:
    """The codec of ``Frozen`` (built on first use; ``UnsupportedType`` if a state field
    has a type the codec cannot represent)."""
    global _codec, _codec_error
    if _codec is None:
        if _codec_error is not None:
            raise UnsupportedType(_codec_error)
        try:
            _codec = Codec(Frozen)
        except UnsupportedType as exc:
            _codec_error = str(exc)
            raise
    return _codec


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        warnings.warn(text, CheckpointWarning, stacklevel=2)


def freeze(st: IssuerState, designations: dict[str, dt.date], reversed_ids: frozenset[str]
           ) -> bytes:
    """The state bytes of a checkpoint; ``b""`` (no checkpoint kept, warned once) when
    the state cannot be represented (never fails the replay that takes it)."""
    try:
        c = codec()
        data = c.encode(Frozen(compact(st), dict(designations), frozenset(reversed_ids)))
        # the same bytes as ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``
        # (the codec makes no floats), written by pydantic's serializer: faster
        raw = to_json({"format": FORMAT, "schema": c.fingerprint, "data": data})
    except (UnsupportedType, CodecError, TypeError, ValueError) as exc:
        _warn_once(f"checkpoints are not kept (queries replay the whole log): {exc}")
        return b""
    blob = zlib.compress(raw, 1)
    if len(raw) > MAX_STATE_BYTES or len(blob) > MAX_ROW_BYTES - 4096:
        _warn_once("checkpoints are not kept for a state larger than "
                   f"{MAX_STATE_BYTES // 2**20} MiB (queries replay the whole log)")
        return b""
    return blob


def _refuse(_: str) -> Any:
    raise ValueError("a float or a non-finite number")


def thaw(blob: bytes) -> tuple[IssuerState, dict[str, dt.date], frozenset[str]]:
    """Decode state bytes strictly; ``CheckpointError`` (``OtherFormat`` for bytes of
    another version of the code) when they do not decode to the state's types."""
    if len(blob) > MAX_ROW_BYTES:
        raise CheckpointError(f"it is oversized ({len(blob):,} bytes; the limit is "
                              f"{MAX_ROW_BYTES:,})")
    z = zlib.decompressobj()
    try:
        raw = z.decompress(blob, MAX_STATE_BYTES + 1)
    except zlib.error as exc:
        raise CheckpointError(f"its state is malformed (not zlib data: {exc})") from None
    if len(raw) > MAX_STATE_BYTES or z.unconsumed_tail:
        raise CheckpointError(f"it is oversized (its state inflates beyond "
                              f"{MAX_STATE_BYTES:,} bytes)")
    if not z.eof or z.unused_data:
        raise CheckpointError("its state is malformed (truncated or trailing zlib data)")
    try:
        doc = json.loads(raw, parse_float=_refuse, parse_constant=_refuse)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"its state is malformed (not JSON: {str(exc)[:80]})") from None
    if type(doc) is not dict or doc.keys() != {"format", "schema", "data"}:
        raise CheckpointError("its state is malformed (not a checkpoint document)")
    try:
        c = codec()
    except UnsupportedType as exc:
        raise OtherFormat(str(exc)) from None
    if doc["format"] != FORMAT or doc["schema"] != c.fingerprint:
        raise OtherFormat("written by another version of prefledger")
    try:
        fr = c.decode(doc["data"])
    except UnsupportedType as exc:  # the decoder is built on first use
        raise OtherFormat(str(exc)) from None
    except CodecError as exc:
        raise CheckpointError(f"its state is malformed ({str(exc)[:160]})") from None
    except RecursionError:
        raise CheckpointError("its state is malformed (nested too deeply)") from None
    return fr.state, fr.designations, frozenset(fr.reversed)


class Capture(ReplayHooks):
    """A subscriber to a replay over the whole timeline (``records``; ``replay(...,
    hooks=[capture])``): keeps a checkpoint at each month end at least ``MIN_GAP``
    events after the last one (at the next day change after ``MAX_GAP`` events in a busy
    month). With ``new`` (the events a load appends), only for days on or after the
    earliest of them: the earlier checkpoints stay valid, unless ``new`` holds a
    reversal.

    A checkpoint is taken at ``day_ending`` of an event day D: D's events applied, D's
    end-of-day tests not run yet; on the timeline's last day when at least ``MIN_GAP``
    events came after the last checkpoint (a load appending after it then replays only
    its own events)."""

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
        self._spill: Spill | None = None
        self._spilled: list[tuple[int, int, bytes]] = []

    def release(self) -> None:
        """Drop the timeline once the replay is over (a load keeps every issuer's
        ``Capture`` until it has written: only the checkpoint rows are needed then)."""
        self._live, self._lo, self._hi = (), [], []

    def spill(self, spill: Spill) -> None:
        """Keep the checkpoints' states in ``spill`` until ``unspill`` (a big load holds
        every issuer's ``Capture`` until it has written: ``ledger.store.spill``)."""
        self._spill = spill
        self._spilled = [spill.put(row.blob) for row in self.rows]
        for row in self.rows:
            row.blob = b""

    def unspill(self) -> None:
        """The states back from the spill (``SpillDamaged`` if one is not as it was put)."""
        if self._spill is not None:
            for row, at in zip(self.rows, self._spilled, strict=True):
                row.blob = self._spill.get(at)
            self._spill, self._spilled = None, []

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
        if not 0 < i <= len(live) or live[i - 1].event.effective_date != day:
            return  # not an event day of this replay
        if i == len(live):
            # the last day: kept when at least ``MIN_GAP`` events follow the last
            # checkpoint (or the start of the replay), so the next load, dated after it,
            # resumes from here and replays only its own events
            if i - max(self._last, 0) < MIN_GAP:
                return
        else:
            nxt = live[i].event.effective_date
            gap = i - self._last
            if gap < MIN_GAP:
                return
            least = max(MIN_GAP, _size(rp.state) // STATE_PER_EVENT)
            if gap < max(MAX_GAP, 2 * least) and (
                    (day.year, day.month) == (nxt.year, nxt.month) or gap < least):
                return
        if self.since is not None and day < self.since:
            return
        if not self._lo:
            self._index()
        self._last = i
        self.rows.append(Checkpoint(self.issuer, day, self.version, self._lo[i],
                                    self._hi[i], freeze(rp.state, rp.designations,
                                                        self.reversed)))


def _size(st: IssuerState) -> int:
    """About how many objects a checkpoint of ``st`` writes (its lots and amounts due)."""
    return sum(len(s.lots) + len(s.dues) for s in st.series.values())


# -- the side table ----------------------------------------------------------------------

class SideTable:
    """``prefledger_checkpoints`` in the store's own database."""

    def __init__(self, store: Store, migrate: bool = True) -> None:
        #: create the table (or replace one of an older layout); ``False`` (verify, which
        #: writes nothing): a missing or older table reads as no checkpoints at all
        self.migrate = migrate
        env = store.env
        self.pg = env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
        self.env = env
        self.conn: Any = None
        #: encryption at rest (README Guarantees): with PREFLEDGER_CIPHER_KEY set, a
        #: checkpoint (holder names, amounts) is encrypted like the events themselves
        self.cipher = getattr(store.app.mapper, "cipher", None)
        self.key = mac_key(env)
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
        conn: Any
        if self.pg:
            import psycopg

            e = self.env
            conn = psycopg.connect(
                dbname=e["POSTGRES_DBNAME"], host=e["POSTGRES_HOST"],
                port=e["POSTGRES_PORT"], user=e["POSTGRES_USER"],
                password=e.get("POSTGRES_PASSWORD") or None, autocommit=True,
                connect_timeout=int(e.get("POSTGRES_CONNECT_TIMEOUT") or 30))
            # a cache never waits long for a lock: a failed write is skipped, a failed
            # read answers from the log
            conn.execute("SET lock_timeout = '30s'")
            blob = "BYTEA"
        else:
            conn = sqlite3.connect(self.env["SQLITE_DBNAME"], timeout=30,
                                   isolation_level=None)
            blob = "BLOB"
        try:
            self._ensure(conn, blob)
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        return conn

    def _ensure(self, conn: Any, blob: str) -> None:
        """Create the table; one of an older layout (pickled states, no digest) is a
        cache that can no longer be read: it is dropped and rebuilt on use."""
        for attempt in range(3):
            try:
                try:
                    cur = conn.execute(f"SELECT * FROM {self.table} WHERE 1 = 0")
                    names = tuple(d[0] for d in cur.description)
                except Exception:  # noqa: BLE001 - no table yet
                    if not self.migrate:
                        raise NoTable from None
                    names = COLUMNS
                if names != COLUMNS and not self.migrate:
                    raise NoTable
                if names != COLUMNS:
                    conn.execute(f"DROP TABLE IF EXISTS {self.table}")
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (issuer TEXT NOT NULL, "
                    f"day TEXT NOT NULL, version INTEGER NOT NULL, lo INTEGER NOT NULL, "
                    f"hi INTEGER NOT NULL, head TEXT NOT NULL, body TEXT NOT NULL, "
                    f"digest TEXT NOT NULL, state {blob} NOT NULL, PRIMARY KEY (issuer, day))")
                return
            except NoTable:
                raise
            except Exception:  # noqa: BLE001 - a concurrent opener created it just now
                if attempt == 2:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _tx(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(connection)`` in one write transaction."""
        c = self._connect()
        if self.pg:
            with c.transaction():
                return work(c)
        c.execute("BEGIN IMMEDIATE")
        try:
            out = work(c)
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")
        return out

    def write(self, issuer: str, rows: list[Checkpoint], since: dt.date | None,
              version: int, first_new: int, head: str,
              hash_at: Callable[[int], str | None], stream_version: Callable[[], int]
              ) -> bool:
        """Replace ``issuer``'s checkpoints from ``since`` on (all if ``None``) with
        ``rows``, built from the stream's first ``version`` events (``head``: the hash
        of event ``version``); re-stamp the earlier ones, built from the stream as it
        was before this load (``first_new - 1`` events, their head checked with
        ``hash_at``) to ``version``: the events after them are all dated on or after
        ``since``. Nothing is written when the stream has moved on since (another
        writer's rows are newer): returns whether the rows were written."""
        m = self.mark
        old_version = first_new - 1

        def work(c: Any) -> bool:
            if stream_version() != version:
                return False
            if since is None:
                c.execute(f"DELETE FROM {self.table} WHERE issuer = {m}", (issuer,))
            else:
                c.execute(f"DELETE FROM {self.table} WHERE issuer = {m} AND day >= {m}",
                          (issuer, since.isoformat()))
                old = c.execute(
                    f"SELECT day, lo, hi, head, body, digest FROM {self.table} "
                    f"WHERE issuer = {m} AND version = {m}", (issuer, old_version)).fetchall()
                prev = hash_at(old_version) if old else None
                stamps = []
                for day_text, lo, hi, h0, body, digest in old:
                    try:
                        day = dt.date.fromisoformat(day_text)
                        ok = (h0 == prev and digest == binding(
                            issuer, day, old_version, int(lo), int(hi), h0, body, self.key))
                    except (TypeError, ValueError):
                        ok = False
                    if not ok:  # damaged: left as it is, for verify to name
                        continue
                    lo2 = first_new if int(lo) > old_version else int(lo)
                    stamps.append((version, lo2, head,
                                   binding(issuer, day, version, lo2, int(hi), head, body,
                                           self.key),
                                   issuer, day_text))
                if stamps:
                    c.cursor().executemany(f"UPDATE {self.table} SET version = {m}, lo = {m}, "
                                  f"head = {m}, digest = {m} WHERE issuer = {m} AND day = {m}",
                                  stamps)
            ins = []
            for r in rows:
                if not r.blob:
                    continue  # the state could not be represented (``freeze``)
                body = body_of(r.blob)
                ins.append((r.issuer, r.day.isoformat(), r.version, r.lo, r.hi, head, body,
                            binding(r.issuer, r.day, r.version, r.lo, r.hi, head, body,
                                    self.key),
                            self.cipher.encrypt(r.blob) if self.cipher else r.blob))
            if ins:
                c.cursor().executemany(f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES "
                              f"({', '.join([m] * len(COLUMNS))})", ins)
            return True

        return bool(self._tx(work))

    def count(self, issuer: str) -> int:
        cur = self._connect().execute(
            f"SELECT COUNT(*) FROM {self.table} WHERE issuer = {self.mark}", (issuer,))
        return int(cur.fetchone()[0])

    def _checkpoint(self, issuer: str, row: Any) -> Checkpoint:
        """A row as a ``Checkpoint`` (``CheckpointError`` if its columns are malformed
        or its state cannot be decrypted)."""
        day, version, lo, hi, head, body, digest, state = row
        try:
            cp = Checkpoint(issuer, dt.date.fromisoformat(day), _int(version), _int(lo),
                            _int(hi), bytes(state), str(head), str(body), str(digest))
        except (TypeError, ValueError):
            raise CheckpointError("its columns are malformed") from None
        if len(cp.blob) > MAX_ROW_BYTES + 1024:
            raise CheckpointError(f"it is oversized ({len(cp.blob):,} bytes; the limit is "
                                  f"{MAX_ROW_BYTES:,})")
        if self.cipher:
            try:
                cp.blob = self.cipher.decrypt(cp.blob)
            except Exception:  # noqa: BLE001 - AES-GCM: edited, or another key's row
                raise CheckpointError("its state cannot be decrypted (edited, or "
                                      "written with another key)") from None
        return cp

    def nearest(self, issuer: str, day: dt.date) -> tuple[Checkpoint, int | None] | None:
        """The latest checkpoint on or before ``day``, and the ``hi`` of the next one
        (when built from the same version)."""
        m = self.mark
        c = self._connect()
        row = c.execute(
            f"SELECT day, version, lo, hi, head, body, digest, state FROM {self.table} "
            f"WHERE issuer = {m} AND day <= {m} ORDER BY day DESC LIMIT 1",
            (issuer, day.isoformat())).fetchone()
        if row is None:
            return None
        try:
            cp = self._checkpoint(issuer, row)
        except CheckpointError as exc:
            raise Unusable(issuer, str(row[0])[:20], exc) from None
        nxt = c.execute(
            f"SELECT version, hi FROM {self.table} WHERE issuer = {m} AND day > {m} "
            f"ORDER BY day LIMIT 1", (issuer, day.isoformat())).fetchone()
        try:
            hi2 = int(nxt[1]) if nxt is not None and _int(nxt[0]) == cp.version else None
        except (TypeError, ValueError):
            hi2 = None
        return cp, hi2

    def first_after(self, issuer: str, day: dt.date) -> Checkpoint | None:
        """The earliest checkpoint after ``day`` (``CheckpointError`` if it is damaged)."""
        m = self.mark
        row = self._connect().execute(
            f"SELECT day, version, lo, hi, head, body, digest, state FROM {self.table} "
            f"WHERE issuer = {m} AND day > {m} ORDER BY day LIMIT 1",
            (issuer, day.isoformat())).fetchone()
        return None if row is None else self._checkpoint(issuer, row)

    def every(self, page: int = 64
              ) -> Iterator[tuple[str, Any, Checkpoint | CheckpointError]]:
        """Every row of the table: ``(issuer, day as stored, checkpoint or why not)``,
        read ``page`` rows at a time (a client-side cursor would hold every state)."""
        c, m = self._connect(), self.mark
        cols = "issuer, day, version, lo, hi, head, body, digest, state"
        rows = c.execute(f"SELECT {cols} FROM {self.table} ORDER BY issuer, day LIMIT {m}",
                         (page,)).fetchall()
        while rows:
            for row in rows:
                issuer = str(row[0])
                try:
                    yield issuer, row[1], self._checkpoint(issuer, row[1:])
                except CheckpointError as exc:
                    yield issuer, row[1], exc
            last = rows[-1]
            rows = c.execute(f"SELECT {cols} FROM {self.table} WHERE issuer > {m} OR "
                             f"(issuer = {m} AND day > {m}) ORDER BY issuer, day LIMIT {m}",
                             (last[0], last[0], last[1], page)).fetchall()


class NoTable(Exception):
    """No checkpoint table of this layout (``SideTable(migrate=False)``)."""


class Unusable(Exception):
    """A checkpoint row that failed its checks (``reason``)."""

    def __init__(self, issuer: str, day: str, reason: CheckpointError) -> None:
        super().__init__(str(reason))
        self.issuer = issuer
        self.day = day
        self.reason = reason


def _int(value: Any) -> int:
    """An integer column (SQLite keeps whatever was written: refuse anything else)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


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


def check(cp: Checkpoint, head: str | None, key: bytes | None = None) -> None:
    """Raise ``CheckpointError`` unless ``cp`` is a sound checkpoint of a stream whose
    event at ``cp.version`` has hash ``head`` (``None``: the stream is shorter); ``key``:
    the store's ``mac_key``."""
    body = body_of(cp.blob)
    if body != cp.body or cp.digest != binding(cp.issuer, cp.day, cp.version, cp.lo, cp.hi,
                                               cp.head, body, key):
        raise CheckpointError("its digest does not match its content (edited or damaged)")
    if head is None:
        raise CheckpointError(f"it was built from a stream of {cp.version} events, longer "
                              "than this one")
    if head != cp.head:
        raise CheckpointError(f"it was not built from this log (event {cp.version} of the "
                              "stream has another hash)")
    if not (1 <= cp.lo <= cp.version + 1 and 0 <= cp.hi <= cp.version):
        raise CheckpointError("its positions are out of range")


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

    def hash_at(self, issuer: str, version: int) -> str | None:
        """The hash of the stream's event at position ``version`` (``None``: no such)."""
        return _hash_at(self.store, issuer, version)

    @staticmethod
    def warn(issuer: str, day: object, why: object, then: str) -> None:
        """One line on what was ignored and what was done instead."""
        warnings.warn(f"ignored the checkpoint of issuer {issuer!r} at {day}: {why}; {then}",
                      CheckpointWarning, stacklevel=3)

    # -- building --------------------------------------------------------------------
    def _write(self, issuer: str, rows: list[Checkpoint], since: dt.date | None,
               version: int, first_new: int, head: str | None = None) -> bool:
        assert self.side is not None
        head = head if head is not None else self.hash_at(issuer, version)
        if head is None:
            return False
        return self.side.write(issuer, rows, since, version, first_new, head,
                               lambda v: self.hash_at(issuer, v),
                               lambda: self.store.version(issuer))

    def save(self, cap: Capture, first_new: int) -> None:
        """After a load: keep the checkpoints ``cap`` took (never fails the load)."""
        if self.side is None:
            return
        try:
            cap.unspill()
            self._write(cap.issuer, cap.rows, cap.since, cap.version, first_new)
        except Exception:  # noqa: BLE001 - a cache: the events are stored, queries replay
            pass

    def rebuild_issuer(self, issuer: str) -> tuple[int, IssuerState]:
        """Replay ``issuer``'s whole log once, replacing its checkpoints; returns the
        number of events and the final state."""
        records = stored_records(self.store, issuer)
        cap = Capture(issuer, records)
        st, _ = replay(issuer, records, None, self.resolve, hooks=[cap])
        if self.side is not None and records:
            self._write(issuer, cap.rows, None, cap.version, cap.version + 1,
                        records[-1].hash)
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
    def resume_validation(self, issuer: str, stored: Sequence[StoredEvent] | int,
                          new: list[Record]) -> Capture | None:
        """Validate a load's ``new`` events from the nearest checkpoint before the
        earliest of them, instead of replaying the whole history (the cost of a load then
        follows the events on and after its dates, not the length of the log).
        ``stored``: the stream's length (the events from the checkpoint on are read
        here), or the stream itself when the caller has read it.

        Returns the ``Capture`` of the new checkpoints when the events after the
        checkpoint and ``new`` replay without a problem; ``None`` when there is no usable
        checkpoint (none before that date, a reversal in the load, or a checkpoint that
        fails its checks or is stale: then with a ``CheckpointWarning``), or when a
        problem is found: the caller then validates in full, which names every problem
        exactly as a load without checkpoints would (SPEC.md §1 back-dated events).
        Events before the checkpoint cannot change: a replay puts each event after
        everything dated before it."""
        if not new or any(isinstance(r.event, EventReversed) for r in new):
            return None
        if self.side is None:
            return None
        count = stored if isinstance(stored, int) else len(stored)
        since = min(r.event.effective_date for r in new)
        then = "validating the load against the whole log"
        try:
            hit = self.side.nearest(issuer, since - dt.timedelta(days=1))
        except Unusable as exc:
            self.warn(issuer, exc.day, exc.reason, then)
            return None
        except Exception:  # noqa: BLE001 - a cache: validate in full
            return None
        if hit is None:
            return None
        cp, _ = hit
        if cp.version > count and self.store.version(issuer) > count:
            return None  # another writer appended since this load read the stream
        try:
            if isinstance(stored, int):
                tail = list(self.store.iter_read(issuer, min(cp.lo, cp.version + 1) - 1,
                                                 count))
                first = tail[0].position if tail else count + 1
                at = (tail[cp.version - first].hash if first <= cp.version <= count
                      else self.hash_at(issuer, cp.version) if cp.version <= count else None)
            else:
                tail = list(stored[cp.lo - 1:])
                at = (stored[cp.version - 1].hash if 1 <= cp.version <= len(stored)
                      else None)
            check(cp, at, self.side.key)
            records: list[Record] = []
            for s in tail:
                if s.position < cp.lo:
                    continue
                payload = s.payload
                day = dt.date.fromisoformat(payload["effective_date"])
                if s.position > cp.version and (day <= cp.day
                                                or payload.get("type") == "EventReversed"):
                    raise CheckpointError(_stale(s.position, payload, day))
                if day <= cp.day and s.position <= cp.version:
                    continue  # in the checkpoint
                got = parse_object(payload)
                if isinstance(got, list):  # pragma: no cover - only validated events stored
                    return None
                records.append(Record(got, s.position, 0, s.recorded_at, s.hash))
            st, designations, reversed_ids = thaw(cp.blob)
        except OtherFormat:
            return None
        except CheckpointError as exc:
            self.warn(issuer, cp.day, exc, then)
            return None
        cap = Capture(issuer, records, new, version=count + len(new), hi_base=cp.hi,
                      reversed_ids=reversed_ids)
        _, found = replay(issuer, records + new, None, self.resolve, start=st,
                          reversed_ids=reversed_ids, designations=designations,
                          hooks=[cap])
        return None if found else cap

    def state_as_of(self, issuer: str, as_of: dt.date, heal: bool = True
                    ) -> IssuerState | None:
        """The state as of the end of ``as_of`` from the nearest valid checkpoint, or
        ``None`` when there is none (the caller replays in full). A checkpoint that
        fails its checks or is stale is ignored with a ``CheckpointWarning``, and the
        issuer's checkpoints are rebuilt from the log (``heal``)."""
        store, side = self.store, self.side
        if side is None:
            return None
        then = "answered from the full log, and the issuer's checkpoints rebuilt"
        try:
            hit = side.nearest(issuer, as_of)
            if hit is None and side.count(issuer) == 0 and store.version(issuer) > 0:
                self.rebuild_issuer(issuer)
                hit = side.nearest(issuer, as_of)
        except Unusable as exc:
            self.warn(issuer, exc.day, exc.reason, then)
            return self._heal(issuer, as_of, heal)
        except Exception:  # noqa: BLE001 - a cache: fall back to the full replay
            return None
        if hit is None:
            return self._before_the_first(issuer, as_of)
        cp, hi2 = hit
        try:
            check(cp, self.hash_at(issuer, cp.version), side.key)
            rows = _read(store, issuer, cp.lo - 1, hi2)
            if hi2 is not None:
                rows += _read(store, issuer, max(hi2, cp.version), None)
            records = []
            for pos, ev in rows:
                payload = ev.payload
                day = dt.date.fromisoformat(payload["effective_date"])
                if pos > cp.version and (day < cp.day
                                         or payload.get("type") == "EventReversed"):
                    raise CheckpointError(_stale(pos, payload, day))
                if day <= cp.day and pos <= cp.version:
                    continue  # already in the checkpoint
                if day > as_of:
                    continue
                got = parse_object(payload)
                if isinstance(got, list):  # pragma: no cover - only validated events stored
                    return None
                records.append(Record(got, pos, 0, ev.recorded_at, ev.hash))
            st, designations, reversed_ids = thaw(cp.blob)
        except OtherFormat:
            return self._heal(issuer, as_of, heal)
        except CheckpointError as exc:
            self.warn(issuer, cp.day, exc, then)
            return self._heal(issuer, as_of, heal)
        except Exception:  # noqa: BLE001 - a cache: never fail a query because of it
            return None
        out, _ = replay(issuer, records, as_of, self.resolve, start=st,
                        reversed_ids=reversed_ids, designations=designations)
        return out

    def _before_the_first(self, issuer: str, as_of: dt.date) -> IssuerState | None:
        """The state as of ``as_of``, a day before the issuer's first checkpoint, from a
        replay from the start of only the events that can be dated by then: of the first
        ``version`` events the checkpoint was built from, those dated on or before its
        day are at positions up to its ``hi``; the events recorded after them are all
        read. ``None`` (the caller replays the whole log) if there is no checkpoint after
        ``as_of``, it fails its checks, or a reversal was recorded after it (its targets
        are known only up to its ``version``)."""
        assert self.side is not None
        try:
            cp = self.side.first_after(issuer, as_of)
            if cp is None:
                return None
            check(cp, self.hash_at(issuer, cp.version), self.side.key)
            rows = _read(self.store, issuer, 0, cp.hi)
            rows += _read(self.store, issuer, max(cp.hi, cp.version), None)
            records = []
            for pos, ev in rows:
                payload = ev.payload
                if pos > cp.version and payload.get("type") == "EventReversed":
                    return None
                if dt.date.fromisoformat(payload["effective_date"]) > as_of:
                    continue
                got = parse_object(payload)
                if isinstance(got, list):  # pragma: no cover - only validated events stored
                    return None
                records.append(Record(got, pos, 0, ev.recorded_at, ev.hash))
            _, designations, reversed_ids = thaw(cp.blob)
        except Exception:  # noqa: BLE001 - a cache: never fail a query because of it
            return None
        out, _ = replay(issuer, records, as_of, self.resolve, reversed_ids=reversed_ids,
                        designations=designations)
        return out

    def _heal(self, issuer: str, as_of: dt.date, heal: bool) -> IssuerState | None:
        """Rebuild ``issuer``'s checkpoints from the log (a full replay, which the answer
        needs anyway), then answer from them."""
        if not heal:
            return None
        try:
            self.rebuild_issuer(issuer)
        except Exception:  # noqa: BLE001 - a cache: the caller replays in full
            return None
        return self.state_as_of(issuer, as_of, heal=False)

def damaged_checkpoints(store: Store, skip: Collection[uuid.UUID] = ()) -> list[Problem]:
    """Every checkpoint row whose size, digest or head does not hold against the log,
    as a problem (``verify``: a damaged cache), except those of the streams in ``skip``
    (broken streams: their first break is the problem to name). Never raises: a table
    that cannot be read is one problem."""
    if not _persistent(store):
        return []
    side = SideTable(store, migrate=False)
    known: dict[tuple[str, int], str | None] = {}

    def head(issuer: str, version: int) -> str | None:
        key = (issuer, version)
        if key not in known:
            try:
                known[key] = _hash_at(store, issuer, version)
            except Exception:  # noqa: BLE001 - the stream is damaged there: no hash
                known[key] = None
        return known[key]

    out = []
    try:
        for issuer, day, got in side.every():
            if issuer_id(issuer) in skip:
                continue
            if not isinstance(got, CheckpointError):
                try:
                    check(got, head(issuer, got.version), side.key)
                    continue
                except CheckpointError as exc:
                    got = exc
            out.append(Problem(0, f"checkpoint of issuer {issuer[:80]!r} at {str(day)[:20]}",
                               "checkpoint", f"damaged cache: {got}; answers do not use it "
                               "(a query replays the log instead)"))
    except NoTable:  # none kept yet, or of an older layout (replaced on the next use)
        return []
    except Exception as exc:  # noqa: BLE001 - a table that cannot be read is damage
        out.append(Problem(0, "checkpoints", "checkpoint", "damaged cache: the checkpoint "
                           f"table cannot be read ({str(exc)[:120]})"))
    finally:
        side.close()
    return out


def _hash_at(store: Store, issuer: str, version: int) -> str | None:
    """The hash of the stream's event at position ``version`` (``None``: no such)."""
    if version < 1:
        return None
    for _, ev in _read(store, issuer, version - 1, version):
        h = getattr(ev, "hash", None)
        return h if isinstance(h, str) else None
    return None


def _stale(pos: int, payload: dict[str, Any], day: dt.date) -> str:
    if payload.get("type") == "EventReversed":
        return f"it is stale (event {pos}, recorded after it, is a reversal)"
    return f"it is stale (event {pos}, recorded after it, is dated {day}, before it)"
