"""The id index: which event ids each issuer's stream holds, beside the log.

A load is idempotent by event ``id``: an event whose id is already in the issuer's
stream with the same content is skipped, with other content refused. Answering that
from the stream itself means reading and decoding every stored event of the issuer at
each load, so small loads got slower as the history grew. The index answers it with
one indexed lookup instead. It lives in two tables of the store's own database
(SQLite or PostgreSQL):

- ``prefledger_ids`` (``stream``, ``key``, ``position``): one row per stored event that
  has an id: the stream (the issuer's aggregate id), the id (on a store encrypted with
  ``PREFLEDGER_CIPHER_KEY``: an HMAC-SHA256 of it under a key derived from that key, so
  the table shows no id in clear) and the event's position in the stream;
- ``prefledger_id_streams`` (``stream``, ``events``): how many events of the stream the
  index covers.

Both are written by the event recorder in the same database transaction as the events
themselves (``LedgerSQLiteRecorder``, ``pg_recorder``): the index and the log commit or
roll back together. The index is only trusted for a stream whose ``events`` equals the
stream's own length: a database written before the index existed, rows appended by
anything else than a load, or a crash cannot make it answer for events it has not seen;
such a stream's index is rebuilt from the stream, once (``Store.reindex``). A hit is
checked against the stored event at its position (same id) before it is used; ``verify``
compares the whole index with the log and names any disagreement (a damaged index is
rebuilt by the next load that needs it, or by ``rebuild``).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent as StoredRow
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

IDS = "prefledger_ids"
STREAMS = "prefledger_id_streams"


def id_key(event_id: str, key: bytes | None) -> str:
    """The index key of an event id: the id itself, or with ``key`` (an encrypted store)
    the HMAC-SHA256 of it."""
    if key is None:
        return event_id
    return hmac.new(key, event_id.encode(), hashlib.sha256).hexdigest()


def index_key(env: dict[str, str]) -> bytes | None:
    """The HMAC key of ``id_key`` for a store encrypted with ``PREFLEDGER_CIPHER_KEY``
    (derived from it, never stored); ``None`` for a plain store."""
    key = env.get("CIPHER_KEY")
    if not key:
        return None
    return hashlib.sha256(b"prefledger id index\0" + key.encode()).digest()


#: ``verify`` sums the digests of the index rows of a stream modulo this (any order)
MOD = 2**256


def row_digest(key: str, position: int) -> int:
    """The digest of one index row, summed by ``verify`` (``Store.index_digest``)."""
    return int.from_bytes(hashlib.sha256(f"{key}\0{position}".encode()).digest(), "big")


def stream_name(oid: uuid.UUID | str) -> str:
    return oid.hex if isinstance(oid, uuid.UUID) else str(oid)


class Pending:
    """What the next ``insert_events`` of the recorder writes to the index: the key and
    position of each stored row that carries an id ``{(stream, version): key}``, and the
    length of each stream before and after the save (``{stream: (before, after)}``: the
    index's count moves to ``after`` only from ``before``, so an index that was behind
    stays behind, and is rebuilt on use). Set by ``Store.append`` just before it saves,
    cleared after; rows saved without it leave the index behind the stream."""

    def __init__(self, keys: dict[tuple[str, int], str],
                 lengths: dict[str, tuple[int, int]]) -> None:
        self.keys = keys
        self.lengths = lengths


def index_rows(pending: Pending | None, rows: Sequence[StoredRow]
               ) -> tuple[list[tuple[str, str, int]], list[tuple[str, int, int]],
                          list[tuple[int, str, int]]]:
    """The ``prefledger_ids`` rows of a save, and the ``prefledger_id_streams`` changes:
    new streams ``(stream, after, 0)`` and longer ones ``(after, stream, before)``."""
    if pending is None:
        return [], [], []
    ids = []
    for s in rows:
        name = stream_name(s.originator_id)
        k = pending.keys.get((name, s.originator_version))
        if k is not None:
            ids.append((name, k, s.originator_version - 1))
    new = [(name, after, 0) for name, (before, after) in sorted(pending.lengths.items())
           if before == 0]
    longer = [(after, name, before) for name, (before, after)
              in sorted(pending.lengths.items()) if before > 0]
    return ids, new, longer


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, inserting a save's rows with one ``executemany``
    (not one statement per row) and the id index rows in the same transaction."""

    pending: Pending | None = None

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                f"CREATE TABLE IF NOT EXISTS {IDS} (stream TEXT NOT NULL, key TEXT NOT NULL, "
                "position INTEGER NOT NULL, PRIMARY KEY (stream, key)) WITHOUT ROWID",
                f"CREATE TABLE IF NOT EXISTS {STREAMS} (stream TEXT PRIMARY KEY, "
                "events INTEGER NOT NULL)"]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredRow],
                       **_: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.executemany(self.insert_events_statement, [
            (stream_name(s.originator_id), s.originator_version, s.topic, s.state)
            for s in stored_events])
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        last = int(c.fetchone()[0])
        ids, new, longer = index_rows(self.pending, stored_events)
        if ids:
            c.executemany(f"INSERT OR REPLACE INTO {IDS} (stream, key, position) "
                          "VALUES (?, ?, ?)", ids)
        if new:
            c.executemany(f"INSERT INTO {STREAMS} AS t (stream, events) VALUES (?, ?) "
                          "ON CONFLICT (stream) DO UPDATE SET events = excluded.events "
                          "WHERE t.events = ?", new)
        if longer:
            c.executemany(f"UPDATE {STREAMS} SET events = ? WHERE stream = ? AND events = ?",
                          longer)
        # rowids of one transaction's inserts are consecutive (nothing else writes now)
        return list(range(last - len(stored_events) + 1, last + 1))


def pg_recorder_class() -> type:
    """The PostgreSQL recorder with the id index (built on first use: importing the
    library's PostgreSQL module imports psycopg, which a SQLite store never needs)."""
    global _PG
    if _PG is not None:
        return _PG
    from eventsourcing.postgres import PostgresApplicationRecorder
    from psycopg.sql import SQL, Identifier

    class LedgerPostgresRecorder(PostgresApplicationRecorder):
        """The library's PostgreSQL recorder, writing the id index rows in the same
        transaction as the events (with the library's one-statement insert function)."""

        pending: Pending | None = None

        def __init__(self, datastore: Any, **kw: Any) -> None:
            super().__init__(datastore, **kw)
            schema = Identifier(self.datastore.schema)
            self.ids_table = SQL("{}.{}").format(schema, Identifier(IDS))
            self.streams_table = SQL("{}.{}").format(schema, Identifier(STREAMS))
            self.sql_create_statements.append(SQL(
                "CREATE TABLE IF NOT EXISTS {} (stream text NOT NULL, key text NOT NULL, "
                "position bigint NOT NULL, PRIMARY KEY (stream, key))").format(self.ids_table))
            self.sql_create_statements.append(SQL(
                "CREATE TABLE IF NOT EXISTS {} (stream text PRIMARY KEY, "
                "events bigint NOT NULL)").format(self.streams_table))

        def insert_events(self, stored_events: Sequence[StoredRow], **kwargs: Any
                          ) -> Sequence[int] | None:
            ids, new, longer = index_rows(self.pending, stored_events)
            if not self.datastore.enable_db_functions or not (ids or new or longer):
                out = super().insert_events(stored_events, **kwargs)
                if ids or new or longer:  # pragma: no cover - the store enables them
                    raise AssertionError("the id index needs POSTGRES_ENABLE_DB_FUNCTIONS")
                return out
            rows = [self.construct_pg_stored_event(
                originator_id=e.originator_id, originator_version=e.originator_version,
                topic=e.topic, state=e.state) for e in stored_events]
            with self.datastore.get_connection() as conn, conn.transaction(), \
                    conn.cursor() as curs:
                curs.execute(self.sql_invoke_pg_function_insert_events, (rows,),
                             prepare=True)
                got = [r[self.pg_function_name_insert_events] for r in curs.fetchall()]
                if ids:
                    curs.executemany(SQL(
                        "INSERT INTO {} (stream, key, position) VALUES (%s, %s, %s) "
                        "ON CONFLICT (stream, key) DO UPDATE SET position = EXCLUDED.position"
                    ).format(self.ids_table), ids)
                if new:
                    curs.executemany(SQL(
                        "INSERT INTO {} AS t (stream, events) VALUES (%s, %s) ON CONFLICT "
                        "(stream) DO UPDATE SET events = EXCLUDED.events WHERE t.events = %s"
                    ).format(self.streams_table), new)
                if longer:
                    curs.executemany(SQL(
                        "UPDATE {} SET events = %s WHERE stream = %s AND events = %s"
                    ).format(self.streams_table), longer)
            return got

    _PG = LedgerPostgresRecorder
    return _PG


_PG: type | None = None


def __getattr__(name: str) -> Any:
    """``LedgerPostgresRecorder``, by the topic the store's environment names it with."""
    if name == "LedgerPostgresRecorder":
        return pg_recorder_class()
    raise AttributeError(name)


#: the recorder topics ``LedgerApplication`` configures, by persistence module
RECORDER_TOPICS = {
    "eventsourcing.sqlite": f"{__name__}:LedgerSQLiteRecorder",
    "eventsourcing.postgres": f"{__name__}:LedgerPostgresRecorder",
}
