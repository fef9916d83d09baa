"""The event store: one eventsourcing aggregate per issuer (SQLite or PostgreSQL).

Thin I/O over the ``eventsourcing`` library: ``append`` writes every new event of a
load, for every issuer it touches, in one transaction (``Application.save``), with
optimistic concurrency on each issuer's stream version; ``read`` returns the stream.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import (
    IntegrityError,
    InternalError,
    Mapper,
    OperationalError,
    ProgrammingError,
)
from eventsourcing.persistence import StoredEvent as StoredRow
from eventsourcing.utils import get_topic

from ledger.store import chain, ids

NAMESPACE = uuid.UUID("6f1c7f2e-7d0a-4b8e-9a57-2f3c0e5b9d11")
#: environment variable holding an AES key (eventsourcing's AESCipher), never stored
CIPHER_ENV = "PREFLEDGER_CIPHER_KEY"


class ConcurrencyError(Exception):
    """Another writer appended to the same issuer first (optimistic concurrency)."""


class StoreError(ValueError):
    """The store cannot be opened, or a stored row cannot be read as the ledger's own
    (not a SQLite file, a URL without a database, a lock not granted in time, a row of
    an unknown type). A ``ValueError``: exit 2 at the command line, with this message."""


def issuer_id(issuer: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, issuer)


class IssuerLedger(Aggregate):
    """One issuer's stream. State is tiny (head of the hash chain and a count), so
    snapshots are cheap and loading the aggregate costs the same at any history length.
    """

    class Opened(Aggregate.Created):
        issuer: str

    class Recorded(Aggregate.Event):
        payload: dict[str, Any]
        recorded_at: str
        hash: str
        prev_hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, IssuerLedger)
            aggregate.head = self.hash
            aggregate.count += 1

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.head = chain.GENESIS
        self.count = 0

    @classmethod
    def open(cls, issuer: str) -> IssuerLedger:
        return cls._create(cls.Opened, id=issuer_id(issuer), issuer=issuer)

    def record(self, payload: dict[str, Any], recorded_at: str) -> None:
        h = chain.link(self.issuer, self.count + 1, recorded_at, payload, self.head)
        self.trigger_event(self.Recorded, payload=payload, recorded_at=recorded_at, hash=h,
                           prev_hash=self.head)


# The stored topics name ``ledger.store`` (where the aggregate was first defined; the
# package re-exports it), so every database written before keeps decoding unchanged.
for _cls in (IssuerLedger, IssuerLedger.Opened, IssuerLedger.Recorded):
    _cls.__module__ = "ledger.store"


#: the only types a stored row may name: decoding never imports or builds anything else
OPENED_TOPIC = get_topic(IssuerLedger.Opened)
RECORDED_TOPIC = get_topic(IssuerLedger.Recorded)
SNAPSHOT_TOPIC = get_topic(Snapshot)
AGGREGATE_TOPIC = get_topic(IssuerLedger)
TOPICS = frozenset({OPENED_TOPIC, RECORDED_TOPIC, SNAPSHOT_TOPIC})


class LedgerMapper(Mapper[uuid.UUID]):
    """The library's mapper, refusing any row whose topic is not one of ``TOPICS`` (and
    any snapshot of another aggregate type) before the library resolves it: a topic is
    a module path, and resolving one imports that module, so a forged row could
    otherwise make any command import (run) code of the attacker's choosing."""

    def to_domain_event(self, stored_event: StoredRow) -> Any:
        topic = stored_event.topic
        if topic not in TOPICS:
            raise StoreError(f"the stored row names the type {str(topic)[:80]!r}, which is "
                             "not one of the ledger's (damaged or forged: run verify)")
        ev = super().to_domain_event(stored_event)
        if topic == SNAPSHOT_TOPIC and getattr(ev, "topic", None) != AGGREGATE_TOPIC:
            raise StoreError(f"the stored snapshot is of the type "
                             f"{str(getattr(ev, 'topic', None))[:80]!r}, not the ledger's "
                             "(damaged or forged: run verify)")
        return ev


class LedgerApplication(Application[uuid.UUID]):
    """Snapshots are taken by ``Store.append`` after every load (not at fixed intervals):
    each records the stream's event count and head hash, so ``verify`` can tell when the
    newest events of a stream were deleted (SPEC.md §10 ``verify``)."""

    name = "prefledger"
    is_snapshotting_enabled = True

    def __init__(self, env: dict[str, str] | None = None) -> None:
        # the recorder that also writes the id index (``ledger.store.ids``), in the same
        # transaction as the events
        env = dict(env or {})
        topic = ids.RECORDER_TOPICS.get(env.get("PERSISTENCE_MODULE", ""))
        if topic is not None:
            env.setdefault("APPLICATION_RECORDER_TOPIC", topic)
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(),
                                   mapper_class=LedgerMapper)


@dataclass(frozen=True)
class StoredEvent:
    issuer: str
    position: int
    payload: dict[str, Any]
    recorded_at: str
    hash: str
    prev_hash: str


def env_for(db: str | None = None, database_url: str | None = None) -> dict[str, str]:
    """eventsourcing environment for a SQLite file or a ``postgresql://`` URL (§10)."""
    env: dict[str, str]
    url = database_url or os.environ.get("PREFLEDGER_DATABASE_URL")
    if url and db is None:
        u = urlparse(url)
        if u.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"unsupported database URL scheme {u.scheme!r}")
        q = parse_qs(u.query)
        dbname = unquote((u.path or "/").lstrip("/"))
        if not dbname:
            # libpq would fall back to a database named like the user ("postgres"):
            # tables would silently appear there
            raise StoreError("the URL names no database; add /DBNAME (as in "
                             "postgresql://USER@HOST:5432/DBNAME)")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": u.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(u.port or 5432),
            "POSTGRES_USER": unquote(u.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(u.password or ""),
            # insert a save's events with the library's one-statement database function,
            # not a pipelined executemany: that one deadlocks (client and server both
            # waiting) once a save holds some megabytes, ~20,000 events (benchmarks/)
            "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        }
        if "schema" in q:
            env["POSTGRES_SCHEMA"] = q["schema"][0]
    else:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": db or "prefledger.db",
            # wait for another process's write transaction instead of failing at once
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    key = os.environ.get(CIPHER_ENV)
    if key:
        env["CIPHER_TOPIC"] = "eventsourcing.cipher:AESCipher"
        env["CIPHER_KEY"] = key
    return env


def _open_application(env: dict[str, str], tries: int = 8) -> LedgerApplication:
    """Open the application; two processes opening a new PostgreSQL store at once race
    on its ``CREATE … IF NOT EXISTS`` / ``CREATE OR REPLACE FUNCTION`` statements
    ("tuple concurrently updated", duplicate type): the loser waits and tries again."""
    created = False
    for attempt in range(tries):
        try:
            with _pg_open_lock(env):
                return LedgerApplication(env=env)
        except (InternalError, IntegrityError):
            if attempt == tries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
        except (OperationalError, sqlite3.OperationalError) as exc:
            # SQLite: switching a new file to WAL needs a moment when no other process
            # holds it ("database is locked" is not retried by the busy timeout there)
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
        except ProgrammingError as exc:
            # ``?schema=NAME`` of a schema not there yet: create it, once
            schema = env.get("POSTGRES_SCHEMA")
            if created or not schema or "does not exist" not in str(exc):
                raise
            _create_schema(env, schema)
            created = True
    raise AssertionError("unreachable")  # pragma: no cover


#: how long opening a PostgreSQL store waits for another process opening the same
#: database and schema (``_pg_open_lock``) before giving up with ``StoreError``
OPEN_LOCK_TIMEOUT = 30.0


def open_lock_key(env: dict[str, str]) -> int:
    """The advisory lock key of ``_pg_open_lock``: one per database and schema (a signed
    64-bit integer from SHA-256), so stores in different schemas never wait on each
    other."""
    text = f"prefledger open\0{env.get('POSTGRES_DBNAME', '')}\0{env.get('POSTGRES_SCHEMA', '')}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def describe_url(env: dict[str, str]) -> str:
    """The PostgreSQL store of ``env`` as a URL, without the password."""
    schema = env.get("POSTGRES_SCHEMA")
    return (f"postgresql://{env.get('POSTGRES_USER')}@{env.get('POSTGRES_HOST')}:"
            f"{env.get('POSTGRES_PORT')}/{env.get('POSTGRES_DBNAME')}"
            + (f"?schema={schema}" if schema else ""))


@contextmanager
def _pg_open_lock(env: dict[str, str]) -> Iterator[None]:
    """PostgreSQL: opening runs the library's ``CREATE … IF NOT EXISTS`` / ``CREATE OR
    REPLACE FUNCTION`` every time; many processes opening at once fail with "tuple
    concurrently updated" more often than retries absorb (8 writers at once).
    A session advisory lock (``open_lock_key``: per database and schema) makes the
    openers of one store take turns (ms each); waiting longer than
    ``OPEN_LOCK_TIMEOUT`` raises ``StoreError``."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    import psycopg

    with psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                         dbname=env["POSTGRES_DBNAME"], user=env["POSTGRES_USER"],
                         password=env.get("POSTGRES_PASSWORD", ""), autocommit=True,
                         connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT") or 30)
                         ) as conn:
        key = open_lock_key(env)
        conn.execute(f"SET lock_timeout = '{max(1, int(OPEN_LOCK_TIMEOUT * 1000))}ms'")
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        except psycopg.errors.LockNotAvailable:
            raise StoreError(f"timed out after {OPEN_LOCK_TIMEOUT:g} s waiting for another "
                             f"process that is opening the ledger at {describe_url(env)}; "
                             "try again") from None
        conn.execute("SET lock_timeout = 0")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def _create_schema(env: dict[str, str], schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                         dbname=env["POSTGRES_DBNAME"], user=env["POSTGRES_USER"],
                         password=env.get("POSTGRES_PASSWORD", ""), autocommit=True,
                         connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT") or 30)
                         ) as conn:
        try:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(schema)))
        except psycopg.IntegrityError:  # created by a concurrent opener just now
            pass


#: the first 16 bytes of every SQLite 3 database file
SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_file(path: str) -> None:
    """Refuse a ``--db`` that names an existing file which is not a SQLite database (a
    text file, a JSON Lines file given by mistake): ``StoreError``. An empty or missing
    file is a new store."""
    if path.startswith("file:") or ":memory:" in path:
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise StoreError(f"cannot open {path}: it is a directory, not a SQLite file") from None
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None
    if head and head != SQLITE_HEADER:
        raise StoreError(f"{path} is not a SQLite database (give --db a ledger file, or a "
                         "new file name)")


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _is_json(state: bytes) -> bool:
    """A plain row is JSON; an AES-GCM row is random bytes (which may even start with
    ``{``, so the first byte alone is not enough to tell)."""
    import json

    try:
        json.loads(bytes(state))
    except ValueError:
        return False
    return True


class Store:
    """Appends and reads issuer streams through an eventsourcing application."""

    def __init__(self, db: str | None = None, database_url: str | None = None) -> None:
        self.env = env_for(db, database_url)
        path = self.env.get("SQLITE_DBNAME")
        if path is not None:
            _check_sqlite_file(path)
        try:
            self.app = _open_application(self.env)
        except StoreError:
            raise
        except sqlite3.DatabaseError as exc:  # e.g. a file that is not SQLite after all
            raise StoreError(f"cannot open {path}: {exc}") from None
        except ValueError as exc:  # the AES key: not base64, or not 16/24/32 bytes
            if "CIPHER_KEY" not in self.env:
                raise
            raise ValueError(f"{CIPHER_ENV} is not a usable AES key ({exc}); make one with "
                             "AESCipher.create_key(32)") from None
        try:
            self._check_cipher()
        except ValueError:
            self.app.close()
            raise
        #: the HMAC key of the id index on an encrypted store (``ids.id_key``)
        self.ids_key = ids.index_key(self.env)

    def _check_cipher(self) -> None:
        """Refuse to open a store with the wrong key, or without the key it was written
        with (raises ``ValueError``, exit 2 at the CLI): never a traceback, and never a
        silently empty ledger. One readable row among the first few is enough: a row that
        alone cannot be read is tampering, for ``verify`` to name."""
        rows = self.app.recorder.select_notifications(start=1, limit=5)
        for n in rows:
            try:
                self.app.mapper.to_domain_event(n)
                return
            except Exception:  # noqa: BLE001, S112 - tried below
                continue
        if not rows:
            return
        plain = any(_is_json(n.state) for n in rows)
        keyed = "CIPHER_KEY" in self.env
        if keyed and plain:
            raise ValueError(f"this store is not encrypted, but {CIPHER_ENV} is set: unset "
                             "it to open this store")
        if keyed:
            raise ValueError(f"{CIPHER_ENV} does not decrypt this store (wrong key?)")
        if not plain:
            raise ValueError(f"this store is encrypted: set {CIPHER_ENV} to its key")

    def close(self) -> None:
        self.app.close()

    def _aggregate(self, issuer: str) -> IssuerLedger | None:
        """The issuer's aggregate, from its latest snapshot and the events after it; from
        its events alone when the snapshot does not fit them (tampered snapshots are
        for ``verify`` to name); ``StoreError`` when the events themselves do not."""
        from eventsourcing.application import AggregateNotFoundError

        oid = issuer_id(issuer)
        try:
            agg: object = self.app.repository.get(oid)
        except AggregateNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - try again without the snapshot
            try:
                agg = project_aggregate(None, self.app.events.get(oid))
            except Exception as exc:  # noqa: BLE001 - any failure: the stream is damaged
                raise StoreError(f"the stored stream of issuer {issuer!r} is damaged "
                                 f"({str(exc)[:120]}); run verify") from None
            if agg is None:
                return None
        if not isinstance(agg, IssuerLedger):
            raise StoreError(f"the stored stream of issuer {issuer!r} is damaged (not a "
                             "ledger stream); run verify")
        return agg

    def version(self, issuer: str) -> int:
        """Number of events stored for ``issuer`` (0 when none). On a damaged stream
        (``verify`` names the damage): the number of rows stored after its first."""
        try:
            agg = self._aggregate(issuer)
        except StoreError:
            rows = self.app.recorder.select_events(issuer_id(issuer))
            return max(0, len(rows) - 1)
        return 0 if agg is None else agg.count

    def issuers(self) -> list[str]:
        """Every issuer with a stream: the name in the first event (``Opened``) of each
        stream. The streams are found by seeking the log's primary key (originator id,
        version) from one stream to the next, a lookup per issuer, not a scan of the
        whole log; a tampered first row is left out (``verify`` reports it)."""
        topic = get_topic(IssuerLedger.Opened)
        table = self._table(self.app.recorder.events_table_name)  # type: ignore[attr-defined]
        first = self._sql(f"SELECT originator_id FROM {table} "
                          "ORDER BY originator_id LIMIT 1")
        after = self._sql(f"SELECT originator_id FROM {table} WHERE originator_id > ? "
                          "ORDER BY originator_id LIMIT 1")
        streams: list[Any] = []
        with self._tx(False) as c:
            c.execute(first)
            row = c.fetchone()
            while row is not None:
                streams.append(row["originator_id"])
                c.execute(after, (streams[-1],))
                row = c.fetchone()
        out = set()
        for oid in streams:
            for n in self.app.recorder.select_events(uuid.UUID(str(oid)), lte=1):
                if n.topic != topic:
                    continue
                try:  # a tampered row must not stop ``verify`` from reporting it
                    name = getattr(self.app.mapper.to_domain_event(n), "issuer", None)
                except Exception:  # noqa: BLE001
                    continue
                if isinstance(name, str):
                    out.add(name)
        return sorted(out)

    def read(self, issuer: str) -> list[StoredEvent]:
        return list(self.iter_read(issuer))

    def iter_read(self, issuer: str, after: int = 0, upto: int | None = None
                  ) -> Iterator[StoredEvent]:
        """The issuer's stream in recorded order (decoded by the library's mapper): the
        events at positions ``after < p <= upto`` (all by default)."""
        pos = after
        kw: dict[str, Any] = {"gt": after + 1}
        if upto is not None:
            kw["lte"] = upto + 1
        for ev in self.app.events.get(issuer_id(issuer), **kw):
            pos += 1
            yield StoredEvent(issuer, pos, ev.payload, ev.recorded_at,  # type: ignore[attr-defined]
                              ev.hash, ev.prev_hash)  # type: ignore[attr-defined]

    def event_at(self, issuer: str, position: int) -> StoredEvent | None:
        """The stored event at ``position`` (1 is the first), ``None`` if there is none."""
        if position < 1:
            return None
        return next(self.iter_read(issuer, position - 1, position), None)

    # -- the id index (``ledger.store.ids``) ----------------------------------------------
    def _table(self, name: str) -> str:
        if self.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            schema = self.app.recorder.datastore.schema  # type: ignore[attr-defined]
            return f'"{schema}".{name}'
        return name

    def _sql(self, text: str) -> str:
        if self.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            return text.replace("?", "%s")
        return text

    def _tx(self, commit: bool) -> Any:
        return self.app.recorder.datastore.transaction(  # type: ignore[attr-defined]
            commit=commit)

    def indexed(self, issuer: str, events: int) -> bool:
        """Whether the id index covers exactly the stream's ``events`` events."""
        with self._tx(False) as c:
            c.execute(self._sql(f"SELECT events FROM {self._table(ids.STREAMS)} "
                                "WHERE stream = ?"), (issuer_id(issuer).hex,))
            row = c.fetchone()
        return row is not None and int(row["events"]) == events

    def stored_ids(self, issuer: str, event_ids: Iterable[str], events: int
                   ) -> dict[str, int]:
        """``{id: position}`` for each of ``event_ids`` that the issuer's stream (of
        ``events`` events, ``version``) holds, from the id index; an index that does not
        cover the stream is rebuilt from it first (``reindex``)."""
        wanted = {ids.id_key(i, self.ids_key): i for i in event_ids}
        if events == 0 or not wanted:
            return {}
        if not self.indexed(issuer, events):
            self.reindex(issuer)
        stream = issuer_id(issuer).hex
        keys = list(wanted)
        out: dict[str, int] = {}
        with self._tx(False) as c:
            for k in range(0, len(keys), 500):
                part = keys[k:k + 500]
                c.execute(self._sql(f"SELECT key, position FROM {self._table(ids.IDS)} "
                                    f"WHERE stream = ? AND key IN ({', '.join('?' * len(part))})"),
                          (stream, *part))
                for row in c.fetchall():
                    out[wanted[row["key"]]] = int(row["position"])
        return out

    def reindex(self, issuer: str, stored: Iterable[tuple[str | None, int]] | None = None
                ) -> int:
        """Rebuild the issuer's id index from its stream (``stored``: ``(id, position)``
        of every event of the stream, when the caller has read it already); returns the
        number of events it covers."""
        stream = issuer_id(issuer).hex
        if stored is None:
            stored = ((s.payload.get("id") if isinstance(s.payload, dict) else None,
                       s.position) for s in self.iter_read(issuer))
        rows: dict[str, int] = {}
        n = 0
        for eid, pos in stored:
            n = max(n, pos)
            if isinstance(eid, str):
                rows.setdefault(ids.id_key(eid, self.ids_key), pos)
        with self._tx(True) as c:
            c.execute(self._sql(f"DELETE FROM {self._table(ids.IDS)} WHERE stream = ?"),
                      (stream,))
            if rows:
                c.executemany(self._sql(f"INSERT INTO {self._table(ids.IDS)} (stream, key, "
                                        "position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
                              [(stream, k, p) for k, p in rows.items()])
            c.execute(self._sql(f"DELETE FROM {self._table(ids.STREAMS)} WHERE stream = ?"),
                      (stream,))
            c.execute(self._sql(f"INSERT INTO {self._table(ids.STREAMS)} (stream, events) "
                                "VALUES (?, ?)"), (stream, n))
        return n

    def index_digest(self, issuer: str) -> tuple[int, int, int] | None:
        """(events covered, id rows, order-independent digest of the rows) of the issuer's
        id index, ``None`` when it has no count for the stream (``verify``)."""
        stream = issuer_id(issuer).hex
        with self._tx(False) as c:
            c.execute(self._sql(f"SELECT events FROM {self._table(ids.STREAMS)} "
                                "WHERE stream = ?"), (stream,))
            row = c.fetchone()
            if row is None:
                return None
            events = int(row["events"])
            c.execute(self._sql(f"SELECT key, position FROM {self._table(ids.IDS)} "
                                "WHERE stream = ?"), (stream,))
            count, acc = 0, 0
            for r in c.fetchall():
                count += 1
                acc = (acc + ids.row_digest(str(r["key"]), int(r["position"]))) % ids.MOD
        return events, count, acc

    def append(self, batches: dict[str, list[dict[str, Any]]], expected: dict[str, int],
               recorded_at: str | None = None) -> int:
        """Append every batch in one transaction; ``expected`` are the stream versions the
        caller validated against. Raises ``ConcurrencyError`` if any stream moved."""
        stamp = recorded_at or now_utc()
        return self.commit([self.stage(issuer, payloads, expected.get(issuer, 0), stamp)
                            for issuer, payloads in batches.items() if payloads])

    def stage(self, issuer: str, payloads: list[dict[str, Any]], expected: int,
              stamp: str, pack: bool = False) -> Staged:
        """The stored rows of ``payloads`` appended to ``issuer``'s stream of ``expected``
        events (hash-chained, encoded, encrypted as the store's rows are), for ``commit``;
        ``pack``: kept zlib-compressed until then (a big load holds every issuer's rows
        at once). Raises ``ConcurrencyError`` if the stream is no longer ``expected`` long."""
        agg = self._aggregate(issuer)
        if agg is None:
            if expected != 0:
                raise ConcurrencyError(issuer)
            agg = IssuerLedger.open(issuer)
        elif agg.count != expected:
            raise ConcurrencyError(issuer)
        stream = agg.id.hex
        before = agg.count
        mapper = self.app.mapper
        packs: list[bytes] = []
        rows: list[StoredRow] = []
        keys: dict[tuple[str, int], str] = {}
        step = PACK_ROWS if pack else len(payloads) or 1
        for k in range(0, len(payloads), step):
            for p in payloads[k:k + step]:
                agg.record(p, stamp)
                eid = p.get("id")
                if isinstance(eid, str):
                    keys[(stream, agg.version)] = ids.id_key(eid, self.ids_key)
            part = [mapper.to_stored_event(ev) for ev in agg.collect_events()]
            if pack:  # the id keys go with the rows, compressed (a dict of a million is big)
                packs.append(_pack(part, keys))
                keys = {}
            else:
                rows.extend(part)
        return Staged(issuer, agg, packs if pack else rows, keys, (before, agg.count),
                      len(payloads))

    def commit(self, staged: list[Staged]) -> int:
        """Insert every staged batch in one transaction (with their id index rows), then
        snapshot each stream. Raises ``ConcurrencyError`` if any stream moved."""
        if not staged:
            return 0

        def chunks() -> Iterator[tuple[list[StoredRow], ids.Pending]]:
            for st in staged:
                stream = st.agg.id.hex
                held, st.rows, keys, st.keys = st.rows, [], st.keys, {}  # held once
                if held and isinstance(held[0], bytes):  # packed: one part at a time
                    for k, blob in enumerate(held):
                        rows, part_keys = _unpack(blob, st.agg.id)  # type: ignore[arg-type]
                        held[k] = b""
                        yield rows, ids.Pending(part_keys, {stream: st.lengths}
                                                if k == len(held) - 1 else {})
                else:
                    yield held, ids.Pending(keys, {stream: st.lengths})  # type: ignore[misc]

        insert = getattr(self.app.recorder, "insert_chunks", None)
        try:
            if insert is not None:
                insert(chunks())
            else:  # a recorder without the index (another configuration): one insert
                self.app.recorder.insert_events([r for rows, _ in chunks() for r in rows])
        except IntegrityError as exc:
            raise ConcurrencyError(", ".join(st.issuer for st in staged)) from exc
        assert self.app.snapshots is not None
        for st in staged:
            try:
                self.app.snapshots.put([IssuerLedger.Snapshot.take(st.agg)])
            except Exception:  # noqa: BLE001 - the events are stored; a snapshot is an extra
                pass
        return sum(st.count for st in staged)


#: rows of a packed batch compressed together (``Store.stage``)
PACK_ROWS = 5000


@dataclass
class Staged:
    """One issuer's new rows, built by ``Store.stage`` and written by ``Store.commit``:
    the rows (or, packed, their states zlib-compressed), the id index keys, the stream
    length before and after."""

    issuer: str
    agg: IssuerLedger
    rows: list[StoredRow] | list[bytes]
    keys: dict[tuple[str, int], str]
    lengths: tuple[int, int]
    count: int


def _pack(rows: list[StoredRow], keys: dict[tuple[str, int], str]) -> bytes:
    """The states of one stream's consecutive rows, each with its kind (``Opened`` or
    ``Recorded``) and its id index key (empty: none), length-prefixed and compressed (the
    stream is known, and the versions follow from the first)."""
    import struct
    import zlib

    head = struct.pack(">QQ", rows[0].originator_version if rows else 0, len(rows))
    parts = []
    for r in rows:
        key = keys.get((ids.stream_name(r.originator_id), r.originator_version), "").encode()
        parts.append(struct.pack(">?II", r.topic == OPENED_TOPIC, len(r.state), len(key)))
        parts.append(r.state)
        parts.append(key)
    return head + zlib.compress(b"".join(parts), 1)


def _unpack(blob: bytes, oid: uuid.UUID
            ) -> tuple[list[StoredRow], dict[tuple[str, int], str]]:
    import struct
    import zlib

    first, n = struct.unpack(">QQ", blob[:16])
    body = zlib.decompress(blob[16:])
    rows, keys, at = [], {}, 0
    stream = ids.stream_name(oid)
    for k in range(n):
        opened, size, klen = struct.unpack_from(">?II", body, at)
        at += 9
        rows.append(StoredRow(originator_id=oid, originator_version=first + k,
                              topic=OPENED_TOPIC if opened else RECORDED_TOPIC,
                              state=body[at:at + size]))
        at += size
        if klen:
            keys[(stream, first + k)] = body[at:at + klen].decode()
            at += klen
    return rows, keys
