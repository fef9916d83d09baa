"""The audit trail (SPEC.md §10 ``history``): every stored event of an issuer, in recorded
order, with its effective date, recorded time, ``id``, memo/source and hash, and whether
an ``EventReversed`` removed it (SPEC.md §3: the original stays in the log, marked).

Pure: stored events in, rows out (``Ledger.history`` reads the store).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from ledger.events import Event
from ledger.replay import reversed_targets
from ledger.state import Record


class Stored(Protocol):
    """A stored event as the store returns it (``ledger.store.StoredEvent``)."""

    @property
    def issuer(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def recorded_at(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...

#: fields on every event (SPEC.md §3), left out of the one-line summary
COMMON_FIELDS = ("type", "effective_date", "id", "issuer", "memo", "source")
#: event types that concern common stock as a whole (``--series common``)
COMMON_TYPES = ("CommonStockIssued", "CommonStockSplit")


def names_series(payload: dict[str, Any], series: str) -> bool:
    """The event names the series (``common``: also common issuances and splits)."""
    if payload.get("series") == series:
        return True
    return series == "common" and payload.get("type") in COMMON_TYPES


def names_holder(payload: dict[str, Any], holder: str) -> bool:
    """The event names the holder (``holder``, ``from_holder``, ``to_holder``, ``holders``)."""
    if holder in (payload.get("holder"), payload.get("from_holder"), payload.get("to_holder")):
        return True
    holders = payload.get("holders")
    return isinstance(holders, dict) and holder in holders


def summary(payload: dict[str, Any]) -> str:
    """The event's own fields on one line, e.g. ``series=G holder=Ann shares=600``."""
    parts = []
    for key, value in payload.items():
        if key in COMMON_FIELDS:
            continue
        if key == "terms":
            parts.append("terms=(inline)")
        elif isinstance(value, dict):
            parts.append(f"{key}={{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}")
        elif isinstance(value, list):
            parts.append(f"{key}=[" + ", ".join(str(v) for v in value) + "]")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _day(payload: dict[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(payload.get("effective_date")))
    except ValueError:
        return None


def trail(stored: Sequence[Stored], events: Sequence[Event | None], series: str | None = None,
          holder: str | None = None, date_from: dt.date | None = None,
          date_to: dt.date | None = None) -> list[dict[str, Any]]:
    """One row per stored event that passes the filters, in recorded order.

    ``series``/``holder`` keep the events that name them (an ``EventReversed`` is kept
    when its target is); ``date_from``/``date_to`` bound the effective date, inclusive.
    ``events`` are the parsed stored events; ``None`` for a stored row that no longer
    parses (tampered: ``verify`` says where), which is still listed, with ``valid`` false.
    """
    records = [Record(ev, s.position, 0, s.recorded_at, s.hash)
               for s, ev in zip(stored, events, strict=True) if ev is not None]
    targets, _ = reversed_targets(records)
    by_id = {s.payload["id"]: s for s in stored if s.payload.get("id")}
    rows = []
    for s, ev in zip(stored, events, strict=True):
        p = s.payload
        subject = p
        if p.get("type") == "EventReversed" and p.get("target_id") in by_id:
            subject = by_id[p["target_id"]].payload
        if series is not None and not names_series(subject, series):
            continue
        if holder is not None and not names_holder(subject, holder):
            continue
        day = _day(p)
        if date_from is not None and (day is None or day < date_from):
            continue
        if date_to is not None and (day is None or day > date_to):
            continue
        rev = targets.get(ev.id) if ev is not None and ev.id is not None else None
        rev_ev = rev.event if rev is not None else None
        rows.append({
            "position": s.position,
            "effective_date": p.get("effective_date"),
            "recorded_at": s.recorded_at,
            "type": p.get("type"),
            "id": p.get("id"),
            "issuer": p.get("issuer", s.issuer),
            "memo": p.get("memo"),
            "source": p.get("source"),
            "summary": summary(p),
            "hash": s.hash,
            "prev_hash": s.prev_hash,
            "valid": ev is not None,
            "reversed": rev is not None,
            "reversed_by": None if rev_ev is None else rev_ev.id,
            "reversed_by_position": None if rev is None else rev.seq,
            "reversed_at": None if rev is None else rev.recorded_at,
            "reversal_reason": None if rev_ev is None else getattr(rev_ev, "reason", None),
            "event": p,
        })
    return rows
