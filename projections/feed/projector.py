"""Keeping the reporting database up to date from the ledger's notification log.

``catch_up`` is incremental: it reads the eventsourcing notification log from the last
tracked position (``recorder.select_notifications``; the library's subscription is not
available for SQLite, so it polls), and recomputes the projection rows of each issuer
those notifications belong to from the issuer's stream in the ledger itself (a
back-dated event or a reversal changes earlier intervals, so the issuer is recomputed
whole; other issuers are not touched). The reporting database is output only: nothing
is ever read back from its tables (its ``events`` table included), so an edit there
cannot spread into the report. The rows **and** the new tracked position are written
in one SQLite transaction: exactly once, and a crash leaves the previous consistent
state.

``rebuild`` recomputes every table from scratch, reading each issuer's stream through the
event store rather than the notification log; a test asserts both give the same rows.
Both are idempotent per issuer (rows are replaced, never added to), so replaying a
notification twice cannot double anything.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils
from eventsourcing.utils import get_topic

from ledger.bulk import bulk
from ledger.replay import TermsResolver
from ledger.state import Record
from ledger.store.eventstore import IssuerLedger, Store, issuer_id
from projections.explain import Follower
from projections.feed import export
from projections.tables import project

#: bump when the tables change shape: an old reporting database is then rebuilt
SCHEMA_VERSION = "1"
APPLICATION = "prefledger"
PAGE = 1000
#: notifications per transaction (bounded memory; a large log takes several)
MAX_BATCH = 50_000
_OPENED = get_topic(IssuerLedger.Opened)
_RECORDED = get_topic(IssuerLedger.Recorded)


class Ledger(Protocol):
    """What the projector reads: the store (its notification log) and each issuer's
    records (``ledger.api.Ledger`` is one)."""

    store: Store
    resolve: TermsResolver

    def issuers(self) -> list[str]: ...

    def records(self, issuer: str) -> list[Record]: ...


@dataclass
class Summary:
    """What a catch-up or rebuild did."""

    notifications: int = 0
    events: int = 0
    issuers: list[str] = field(default_factory=list)
    position: int = 0
    rebuilt: bool = False
    reason: str | None = None


def source_of(lg: Ledger) -> str:
    """Which ledger a reporting database was built from (never the password)."""
    env = lg.store.env
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        schema = env.get("POSTGRES_SCHEMA")
        return (f"postgresql://{env.get('POSTGRES_USER')}@{env.get('POSTGRES_HOST')}:"
                f"{env.get('POSTGRES_PORT')}/{env.get('POSTGRES_DBNAME')}"
                + (f"?schema={schema}" if schema else ""))
    return "sqlite:" + os.path.abspath(env.get("SQLITE_DBNAME", "prefledger.db"))


def open_report(path: str | Path) -> sqlite_utils.Database:
    db = sqlite_utils.Database(str(path))
    db.conn.execute("PRAGMA busy_timeout = 30000")
    return db


def _settings(lg: Ledger, through: dt.date | None) -> dict[str, str]:
    return {"schema_version": SCHEMA_VERSION, "source": source_of(lg),
            "through": through.isoformat() if through else ""}


@contextmanager
def _transaction(path: Path) -> Iterator[sqlite_utils.Database]:
    """The reporting database at ``path`` in one write transaction: committed when the
    block ends, rolled back if it raises (rows and tracked position move together)."""
    db = open_report(path)
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.conn.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
    finally:
        db.close()


class Projector:
    """The reporting database at ``path``, fed from ``ledger``."""

    def __init__(self, ledger: Ledger, path: str | Path, through: dt.date | None = None,
                 name: str = APPLICATION) -> None:
        self.ledger = ledger
        self.path = Path(path)
        self.through = through
        self.name = name

    # -- from scratch ------------------------------------------------------------------
    def rebuild(self) -> Summary:
        """Drop and recompute every table from each issuer's stream (SPEC.md §10 rebuild)."""
        with bulk():
            return self._rebuild()

    def _rebuild(self) -> Summary:
        with _transaction(self.path) as db:
            export.drop_all(db)
            export.ensure_schema(db, indexes=False)  # indexed once filled (below)
            recorder = self.ledger.store.app.recorder
            position = recorder.max_notification_id() or 0
            summary = Summary(position=position, rebuilt=True, reason="rebuild")
            for issuer in self.ledger.issuers():
                records = self.ledger.records(issuer)
                # the id index too is derived from the log: rebuilt from the same read
                self.ledger.store.reindex(issuer, ((r.event.id, r.seq) for r in records))
                self._write(db, issuer, records)
                summary.events += len(records)
                summary.issuers.append(issuer)
            export.ensure_indexes(db)
            export.set_meta(db, _settings(self.ledger, self.through))
            export.set_position(db, self.name, position)
        return summary

    def _write(self, db: sqlite_utils.Database, issuer: str, records: list[Record]) -> None:
        """Replace ``issuer``'s rows: the big tables stream in as the walk makes them."""
        export.delete_issuer(db, issuer)
        # one replay for the tables and for ``figure_steps`` (the explain follower, a
        # second subscriber: both only read the state, ``ReplayHooks``)
        follower = Follower()
        rows, st, end = project(issuer, records, self.through, self.ledger.resolve,
                                sink=lambda name, batch: export.insert_rows(db, name, batch),
                                hooks=(follower,))
        for name in export.TABLES:
            export.insert_rows(db, name, rows.get(name, []))
        del rows
        as_of = export.steps_day(records, self.through)
        if as_of is None:
            return
        if end == as_of:
            steps = export.figure_steps_of(issuer, st, follower, as_of)
        else:  # the timeline ends before the last effective date (a reversed event's):
            # the steps are as of that date, a replay of their own
            del st, follower
            steps = export.figure_steps_rows(issuer, records, self.through,
                                             self.ledger.resolve)
        export.insert_steps(db, steps)

    # -- incremental ---------------------------------------------------------------------
    def catch_up(self, max_batch: int = MAX_BATCH) -> Summary:
        """Project every notification after the tracked position; returns what changed."""
        total = Summary()
        fresh = not self.path.exists()
        while True:
            step = self._step(max_batch, fresh)
            fresh = False
            total.notifications += step.notifications
            total.events += step.events
            total.issuers = sorted(set(total.issuers) | set(step.issuers))
            total.position = step.position
            total.rebuilt = total.rebuilt or step.rebuilt
            total.reason = total.reason or step.reason
            if step.notifications < max_batch:
                return total

    def _step(self, max_batch: int, fresh: bool) -> Summary:
        with _transaction(self.path) as db:
            return self._project(db, max_batch, fresh)

    def _project(self, db: sqlite_utils.Database, max_batch: int, fresh: bool) -> Summary:
        summary = Summary()
        export.ensure_schema(db)
        want = _settings(self.ledger, self.through)
        have = export.get_meta(db)
        if have != want:
            # a new file, another ledger, another horizon or an older layout: start over
            if have:
                changed = [k for k in want if have.get(k) != want[k]]
                summary.reason = "settings changed: " + ", ".join(changed)
            else:
                summary.reason = "new reporting database" if fresh else "no settings"
            summary.rebuilt = True
            export.drop_all(db)
            export.ensure_schema(db)
            export.set_meta(db, want)
            export.set_position(db, self.name, 0)
        position = export.get_position(db, self.name)
        app = self.ledger.store.app
        notes: list[Any] = []
        while len(notes) < max_batch:
            page = app.recorder.select_notifications(
                start=position + 1, limit=min(PAGE, max_batch - len(notes)),
                topics=[_OPENED, _RECORDED])
            if not page:
                break
            notes.extend(page)
            position = page[-1].id
            if len(page) < PAGE:
                break
        summary.notifications = len(notes)
        summary.position = position
        if not notes:
            return summary
        # stream id -> issuer, from the log's own Opened events (never the report's tables)
        names = {issuer_id(i): i for i in self.ledger.issuers()}
        #: issuer -> (the last stream position notified, how many events were notified)
        last: dict[str, tuple[int, int]] = {}
        for n in notes:
            oid = uuid.UUID(str(n.originator_id))
            if n.topic == _OPENED:
                ev = app.mapper.to_domain_event(n)
                names[oid] = ev.issuer  # type: ignore[attr-defined]
                last.setdefault(ev.issuer, (0, 0))  # type: ignore[attr-defined]
                continue
            issuer = names.get(oid)
            if issuer is None:  # pragma: no cover - Opened always comes first
                raise ValueError(f"notification {n.id}: no issuer for stream {oid}")
            seq, k = last.get(issuer, (0, 0))
            last[issuer] = (max(seq, int(n.originator_version) - 1), k + 1)
        for issuer in sorted(last):
            # the issuer's events read from the log itself, never from the report's own
            # ``events`` table (output only: an edit there must not spread into the
            # report), up to the last one notified (the tracked position stays exact)
            upto, k = last[issuer]
            records = [r for r in self.ledger.records(issuer) if r.seq <= upto]
            self._write(db, issuer, records)
            summary.events += k
            summary.issuers.append(issuer)
        export.set_position(db, self.name, position)
        return summary


def tracked_position(path: str | Path, name: str = APPLICATION) -> int:
    db = open_report(path)
    try:
        if not db.table(export.TRACKING).exists():
            return 0
        return export.get_position(db, name)
    finally:
        db.close()


__all__ = ["Projector", "Summary", "SCHEMA_VERSION", "source_of", "tracked_position"]
