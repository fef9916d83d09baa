"""The audit trail (SPEC.md §10 ``history``): every stored event of an issuer, in recorded
order, with its effective date, recorded time, ``id``, memo/source and hash, and whether
an ``EventReversed`` removed it (SPEC.md §3: the original stays in the log, marked).

A view of one holder, one series or one event also gives each event's **effects**, the
figures it changed (``projections.effects``), and lists every event that changed them,
not only those naming the holder or series: a series-wide payment split pro rata, the
missed payment date behind a step-up, an issuance that adjusts a conversion rate, an
automatic conversion, a liquidation. Asked for, the calendar entries (amounts falling
due on payment dates, end-of-day tests no event records) come beside the events.

Pure: stored events in, rows out (``Ledger.history`` reads the store).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from ledger.events import Event
from ledger.replay import TermsResolver, replay, reversed_targets
from ledger.state import Record
from projections.effects import EffectRecorder, Scope


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
          date_to: dt.date | None = None,
          effects: Mapping[int, list[dict[str, Any]]] | None = None,
          event_id: str | None = None) -> list[dict[str, Any]]:
    """One row per stored event that passes the filters, in recorded order.

    ``series``/``holder`` keep the events that name them (an ``EventReversed`` is kept
    when its target is), and, given ``effects`` (by stream position), every event with
    an effect; ``event_id`` keeps only that event and the reversal that removed it.
    ``date_from``/``date_to`` bound the effective date, inclusive. Each row carries its
    ``effects`` (None when none were computed). ``events`` are the parsed stored events;
    ``None`` for a stored row that no longer parses (tampered: ``verify`` says where),
    which is still listed, with ``valid`` false.
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
        mine = None if effects is None else effects.get(s.position, [])
        if event_id is not None:
            if subject.get("id") != event_id:
                continue
        elif not ((series is None or names_series(subject, series))
                  and (holder is None or names_holder(subject, holder)) or mine):
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
            "effects": mine,
            "event": p,
        })
    return rows


def report(stored: Sequence[Stored], events: Sequence[Event | None], resolve: TermsResolver,
           series: str | None = None, holder: str | None = None,
           date_from: dt.date | None = None, date_to: dt.date | None = None,
           event_id: str | None = None, with_dues: bool = False) -> dict[str, Any]:
    """``{"events": rows, "calendar": entries}``: the trail (``trail``) with effects.

    The events are replayed once (``ledger.replay``) with an ``EffectRecorder`` scoped to
    what is asked: ``event_id`` every figure that event changed (narrowed to ``holder``
    or ``series`` if given); else ``holder`` that holder's figures (in ``series`` only,
    if given), else ``series`` that series' figures, with the calendar entries (the
    changes no event made, in timeline order). With none of them, no effects (the plain
    trail, without a replay; ``calendar`` None). ``with_dues`` (with ``holder`` or
    ``series``): the calendar also gives the amounts that fell due on payment dates.
    The replay runs to ``date_to`` if given (past the last event, the calendar goes on
    to it), else to the last event's day. An unknown ``event_id``: ``KeyError``.
    """
    if with_dues and (event_id is not None or holder is None and series is None):
        raise ValueError("the amounts falling due are shown for a holder or a series")
    if event_id is None and holder is None and series is None:
        return {"events": trail(stored, events, date_from=date_from, date_to=date_to),
                "calendar": None}
    records = [Record(ev, s.position, 0, s.recorded_at, s.hash)
               for s, ev in zip(stored, events, strict=True) if ev is not None]
    seq = None
    if event_id is not None:
        seq = next((r.seq for r in records if r.event.id == event_id), None)
        if seq is None:
            if not any(s.payload.get("id") == event_id for s in stored):
                raise KeyError(event_id)
            # stored but no longer parses (tampered): listed, with no effects to tell
            return {"events": trail(stored, events, date_from=date_from, date_to=date_to,
                                    event_id=event_id), "calendar": None}
    scope = Scope(holder=holder, series=series, event_seq=seq, calendar=seq is None,
                  dues=with_dues)
    rec = EffectRecorder(scope)
    if records:  # to the last event's day, or to ``date_to`` (the calendar runs to it)
        replay(stored[0].issuer, records, date_to, resolve, hooks=[rec])
    found = {n: [e.to_json() for e in entry.effects] for n, entry in rec.events.items()}
    rows = trail(stored, events, series, holder, date_from, date_to, found, event_id)
    calendar = None
    if scope.calendar:
        calendar = [c.to_json() for c in rec.calendar
                    if (date_from is None or c.date >= date_from)
                    and (date_to is None or c.date <= date_to)]
    return {"events": rows, "calendar": calendar}


_PHASE = {"start_of_day": 0, "event": 1, "end_of_day": 2}


def timeline(rows: Sequence[dict[str, Any]], calendar: Sequence[dict[str, Any]] | None
             ) -> list[dict[str, Any]]:
    """Events and calendar entries together in timeline order (SPEC.md §11 Days and
    order: the start of a day, its events in recorded order, its end); a calendar entry
    is told apart by its ``phase``. Without calendar entries, ``rows`` as they are."""
    if not calendar:
        return list(rows)

    def key(r: dict[str, Any]) -> tuple[str, int, int]:
        if "phase" in r:
            return (r["date"], _PHASE[r["phase"]], 0)
        return (str(r["effective_date"]), 1, int(r["position"]))

    return sorted([*rows, *calendar], key=key)


def grouped(value: str | int) -> str:
    """``-1234.5`` -> ``−1,234.5`` (thousands grouped; a true minus sign; at most four
    decimals, as the position's table shows conversion rates)."""
    text = str(value)
    sign = "−" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-+").partition(".")
    if len(frac) > 4:
        return sign + f"{Decimal(text.lstrip('-+')):,.4f}"
    return sign + f"{int(whole):,}" + (f".{frac}" if frac else "")


def effect_text(e: dict[str, Any], holder: str | None = None) -> str:
    """One effect, readable: ``G arrears −1,234.56``, ``H votes +416,667``,
    ``G dividend_rate 0.10 → 0.11 from 2002-07-11``; the holder is named unless it is
    ``holder`` (the view's own)."""
    who = e["series"] + ("" if e["holder"] in (None, holder) else f" {e['holder']}")
    before, after, change = e["before"], e["after"], e["change"]
    if e["figure"] in ("dividend_rate", "conversion_rate", "missed_streak") or change is None:
        what = f"{'—' if before is None else grouped(before)} → " \
               f"{'—' if after is None else grouped(after)}"
    else:
        what = ("" if str(change).startswith("-") else "+") + grouped(change)
    text = f"{who} {e['figure']} {what}"
    if e["note"]:  # a change scheduled from a later day: its cause's first word
        text += f" from {e['effective']} ({e['note'].split(':')[0]})"
    elif e["at"] == "end_of_day":
        text += " (end of day)"
    return text
