"""``verify``: recompute every issuer's hash chain from the stored rows (SPEC.md §10).

Walks the library's whole notification log (every stored row, in insertion order),
decodes each row with the application's mapper, and checks, per stream:

- the stream opens with ``IssuerLedger.Opened`` at version 1, and the stream's id is the
  id of the issuer it names (so a renamed issuer or a re-pointed row is caught);
- versions are contiguous (a deleted or renumbered row is caught);
- each event's ``prev_hash`` is the hash of the event before it, and its ``hash`` is
  ``chain.link`` of its own content (an edited payload, ``recorded_at``, ``hash`` or
  ``prev_hash`` is caught);
- every snapshot of the stream (``Store.append`` stores one after each load, recording
  the event count and head hash) is a snapshot of the ledger's own type and agrees with
  the event at its version, and no snapshot is newer than the last stored event (so
  deleting the newest events is caught);
- a row naming any type but the ledger's own is reported without being decoded (its
  topic is never resolved, so no module it names is imported).

Reports the first break per stream (later events of a broken chain cannot be trusted),
then every checkpoint row (``ledger.store.checkpoints``) of an intact stream whose
digest, size or head hash does not match the log, as a damaged cache: the answers
never depend on it (a query ignores such a row and replays the log), but it is damage
all the same.
Nothing here raises on a tampered store: every row that cannot be read is a problem.
Not detectable from inside the store: deleting a whole stream (every row of an issuer)
together with its snapshots, or deleting the newest events together with the snapshots
taken after them, or rewriting a stream's tail with every hash recomputed (anyone with
write access can run ``chain.link``); an externally kept head hash (``history --json``
of the last event) closes those gaps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ledger.problems import Problem
from ledger.store import chain, ids
from ledger.store.eventstore import SNAPSHOT_TOPIC, TOPICS, IssuerLedger, Store, issuer_id

PAGE = 1000


@dataclass
class _Stream:
    """What the walk knows about one stream so far."""

    originator_id: uuid.UUID
    issuer: str | None = None
    version: int = 0  # last version seen
    prev: str = chain.GENESIS
    broken: Problem | None = None
    #: snapshot version -> (count, head) recorded in it, or why it cannot be read
    snapshots: dict[int, tuple[Any, Any] | str] = field(default_factory=dict)
    #: events with an id, and the sum of their id index rows' digests (``ids``)
    ids: int = 0
    ids_sum: int = 0

    def name(self) -> str:
        return repr(self.issuer) if self.issuer is not None else f"stream {self.originator_id}"


def _describe(payload: Any) -> str:
    """``Type id=…, YYYY-MM-DD`` of a stored payload, as far as it can be read."""
    if not isinstance(payload, dict):
        return "undecodable event"
    what = str(payload.get("type", "event"))
    if payload.get("id"):
        what += f" id={payload['id']}"
    if payload.get("effective_date"):
        what += f", {payload['effective_date']}"
    return what


def verify_store(store: Store) -> list[Problem]:
    """Every broken stream's first broken event, then every damaged checkpoint (empty
    when every chain is intact and every checkpoint fits the log)."""
    problems, _ = verify_counts(store)
    return problems


def verify_counts(store: Store) -> tuple[list[Problem], int]:
    """``verify_store`` plus the number of events checked (Opened rows excluded)."""
    from ledger.store.checkpoints import damaged_checkpoints

    app = store.app
    streams: dict[uuid.UUID, _Stream] = {}
    checked = 0
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=PAGE)
        for row in page:
            try:
                oid = uuid.UUID(str(row.originator_id))
            except ValueError:  # pragma: no cover - the library's column is a UUID
                continue
            st = streams.get(oid)
            if st is None:
                st = streams[oid] = _Stream(oid)
                _load_snapshots(store, st)
            if st.broken is None:
                checked += _check_row(store, st, row)
        if len(page) < PAGE:
            break
        start = page[-1].id + 1
    for st in streams.values():
        if st.broken is None:
            _check_tail(st)
    problems = [st.broken for st in streams.values() if st.broken is not None]
    broken = {oid for oid, st in streams.items() if st.broken is not None}
    problems += [p for st in streams.values() if st.broken is None
                 for p in _check_index(store, st)]
    return problems + damaged_checkpoints(store, skip=broken), checked


def _check_index(store: Store, st: _Stream) -> list[Problem]:
    """The id index of an intact stream against the ids of its events: a count that
    covers the whole stream with other rows is damage (a load would trust it); an index
    that is behind the stream (or none: a store written before it) is rebuilt by the
    next load that needs it, and is not a problem."""
    if st.issuer is None:
        return []
    try:
        got = store.index_digest(st.issuer)
    except Exception:  # noqa: BLE001 - no index table yet (a store not opened since)
        return []
    if got is None or got[0] != st.version - 1:
        return []
    if (got[1], got[2]) == (st.ids, st.ids_sum % ids.MOD):
        return []
    return [Problem(0, f"id index of issuer {st.name()}", "id",
                    f"the id index disagrees with the log ({got[1]} ids indexed, {st.ids} "
                    "events with an id stored): a load could take a stored id for a new "
                    "one; run rebuild to derive it again from the log")]


def _load_snapshots(store: Store, st: _Stream) -> None:
    snaps = store.app.snapshots
    if snaps is None:
        return
    for row in snaps.recorder.select_events(st.originator_id):
        v = row.originator_version
        if row.topic != SNAPSHOT_TOPIC:  # never resolved: it could name any module
            st.snapshots[v] = (f"names the type {str(row.topic)[:80]!r}, not a snapshot "
                               "of the ledger's")
            continue
        try:
            snap = snaps.mapper.to_domain_event(row)
            state = getattr(snap, "state", None)
            if not isinstance(state, dict):
                raise ValueError("no state")
            st.snapshots[v] = (state.get("count"), state.get("head"))
        except Exception as exc:  # noqa: BLE001 - a snapshot that cannot be read is tampering
            st.snapshots[v] = f"cannot be decoded ({str(exc)[:120]})"


def _check_row(store: Store, st: _Stream, row: Any) -> int:
    """Check one stored row against its stream; 1 if it was a checked ledger event."""
    version = row.originator_version
    pos = version - 1
    where = f"issuer {st.name()} event {pos}"
    if row.topic not in TOPICS and version == st.version + 1:
        st.broken = Problem(0, where, "topic", f"the stored row names the type "
                            f"{str(row.topic)[:80]!r}, not one of the ledger's (forged or "
                            "damaged; it was not decoded)")
        return 0
    try:
        ev = store.app.mapper.to_domain_event(row)
    except Exception as exc:  # noqa: BLE001 - any decode failure is tampering
        if version != st.version + 1:
            st.broken = _gap(st, version, where)
        else:
            st.broken = Problem(0, where, "state", f"the stored row cannot be decoded ({exc})")
        return 0
    payload = getattr(ev, "payload", None)
    if isinstance(ev, IssuerLedger.Recorded):
        where += f" ({_describe(payload)})"
    if version != st.version + 1:
        if st.issuer is None and isinstance(payload, dict):
            st.issuer = str(payload.get("issuer"))
            where = f"issuer {st.name()} event {pos} ({_describe(payload)})"
        st.broken = _gap(st, version, where)
        return 0
    st.version = version
    if version == 1:
        if not isinstance(ev, IssuerLedger.Opened) or not isinstance(
                getattr(ev, "issuer", None), str):
            st.broken = Problem(0, where, "topic", "the stream does not open with Opened")
        else:
            st.issuer = ev.issuer
            if issuer_id(ev.issuer) != st.originator_id:
                st.broken = Problem(0, f"issuer {st.name()} event 0", "issuer",
                                    "the stream's opening event names an issuer that is not "
                                    "the stream's own (renamed or moved)")
        return 0
    if not isinstance(ev, IssuerLedger.Recorded):
        st.broken = Problem(0, where, "topic", "unexpected event type in the stream")
        return 0
    if not (isinstance(payload, dict) and all(isinstance(getattr(ev, f, None), str)
                                              for f in ("recorded_at", "hash", "prev_hash"))):
        st.broken = Problem(0, where, "state", "the stored row is not a ledger event "
                            "(payload, recorded_at, hash, prev_hash)")
        return 1
    if ev.prev_hash != st.prev:
        st.broken = Problem(0, where, "prev_hash",
                            f"link broken: the event before it hashes to {st.prev[:12]}…, "
                            f"this event links to {str(ev.prev_hash)[:12]}…")
        return 1
    assert st.issuer is not None
    h = chain.link(st.issuer, pos, ev.recorded_at, ev.payload, st.prev)
    if h != ev.hash:
        st.broken = Problem(0, where, "hash",
                            f"content does not match its hash (stored {str(ev.hash)[:12]}…, "
                            f"recomputed {h[:12]}…)")
        return 1
    snap = st.snapshots.get(version)
    if isinstance(snap, str):
        st.broken = Problem(0, where, "snapshot", f"the snapshot taken at this event {snap}")
        return 1
    if snap is not None and snap != (pos, ev.hash):
        st.broken = Problem(0, where, "snapshot",
                            f"the snapshot taken at this event records {snap[0]} events and "
                            f"head {str(snap[1])[:12]}…; the stream has {pos} and "
                            f"{ev.hash[:12]}…")
        return 1
    st.prev = ev.hash
    eid = payload.get("id")
    if isinstance(eid, str):
        st.ids += 1
        st.ids_sum += ids.row_digest(ids.id_key(eid, store.ids_key), pos)
    return 1


def _gap(st: _Stream, version: int, where: str) -> Problem:
    if st.version == 0:
        return Problem(0, where, "position",
                       f"the stream starts at event {version - 1}: its first "
                       f"{version - 1} row(s) are missing")
    return Problem(0, where, "position",
                   f"the stream jumps from event {st.version - 1} to event {version - 1}: "
                   f"{version - st.version - 1} event(s) are missing before it")


def _check_tail(st: _Stream) -> None:
    """A snapshot newer than the last stored event: the newest events were deleted."""
    newer = [v for v in st.snapshots if v > st.version]
    if newer:
        v = max(newer)
        snap = st.snapshots[v]
        if isinstance(snap, str):
            st.broken = Problem(0, f"issuer {st.name()} after event {st.version - 1}",
                                "snapshot", f"the snapshot at event {v - 1} {snap}")
            return
        count = snap[0]
        st.broken = Problem(0, f"issuer {st.name()} after event {st.version - 1}", "position",
                            f"the stream ends at event {st.version - 1} but a snapshot "
                            f"records {count} events: the newest "
                            f"{v - st.version} event(s) are missing")
