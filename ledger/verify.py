"""``verify``: recompute every issuer's hash chain from the stored rows (SPEC.md §10).

Reads the rows the library stored, decodes each one, and checks, in stream order, that
versions are contiguous, that each event's ``prev_hash`` is the hash of the event before
it, and that its ``hash`` is the hash of its own content. Reports the first break per
issuer (later events of a broken chain cannot be trusted either).
"""

from __future__ import annotations

from . import chain
from .problems import Problem
from .store import IssuerLedger, Store, issuer_id


def verify_store(store: Store) -> list[Problem]:
    problems: list[Problem] = []
    for issuer in store.issuers():
        p = verify_issuer(store, issuer)
        if p is not None:
            problems.append(p)
    return problems


def verify_issuer(store: Store, issuer: str) -> Problem | None:
    app = store.app
    rows = app.recorder.select_events(issuer_id(issuer))
    prev = chain.GENESIS
    expected_version = 1
    for row in rows:
        where = f"issuer {issuer!r} event {row.originator_version - 1}"
        if row.originator_version != expected_version:
            return Problem(0, where, "position",
                           f"stream jumps from version {expected_version - 1} to "
                           f"{row.originator_version}: an event is missing")
        expected_version += 1
        try:
            ev = app.mapper.to_domain_event(row)
        except Exception as exc:  # noqa: BLE001 - any decode failure is tampering
            return Problem(0, where, "state", f"stored row cannot be decoded ({exc})")
        if row.originator_version == 1:
            if not isinstance(ev, IssuerLedger.Opened) or ev.issuer != issuer:
                return Problem(0, where, "issuer", "the stream does not open this issuer")
            continue
        if not isinstance(ev, IssuerLedger.Recorded):
            return Problem(0, where, "topic", "unexpected event type in the stream")
        ident = ev.payload.get("id") if isinstance(ev.payload, dict) else None
        if ident:
            where += f" (id={ident})"
        if ev.prev_hash != prev:
            return Problem(0, where, "prev_hash",
                           f"link broken: expected {prev[:12]}…, stored {ev.prev_hash[:12]}…")
        h = chain.link(issuer, row.originator_version - 1, ev.recorded_at, ev.payload, prev)
        if h != ev.hash:
            return Problem(0, where, "hash",
                           f"content does not match its hash (stored {ev.hash[:12]}…, "
                           f"recomputed {h[:12]}…)")
        prev = ev.hash
    return None
