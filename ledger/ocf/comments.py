"""The ``prefledger:`` lines of OCF ``comments`` (SPEC.md §10 ``import-ocf``).

A package prefledger exported carries in comments what OCF has no field for:

- ``prefledger:event {"seq": n, "event": {...}}`` - an event OCF cannot carry at all
  (dividends paid and missed, notices, approvals, tie-outs), read back as it was;
- ``prefledger:ref {"seq": n, "event": {...}, "unset": [...]}`` - the rest of the event an
  OCF object stands for (its id, memo, ...), and which fields it left unset;
- ``prefledger:terms``, ``prefledger:manifest``, ... - read by the step that needs them.

Free-text comments are left alone; a malformed ``prefledger:`` line is a problem.
"""

from __future__ import annotations

from typing import Any

from ledger.events import parse_object
from ledger.ocf.context import ImportContext, Origin, Planned
from ledger.ocf.schema import read_machine

#: kind -> [(comment index, JSON)] of an object's machine lines
MachineLines = dict[str, list[tuple[int, Any]]]


def read_line(ctx: ImportContext, c: Any, file: str, oid: str, fld: str
              ) -> tuple[str, Any] | None:
    """``(kind, obj)`` of one comment; ``None`` for free text or a malformed line (then
    reported)."""
    try:
        return read_machine(c)
    except ValueError as exc:
        ctx.problem(file, oid, fld, str(exc))
        return None


def machine_lines(ctx: ImportContext, file: str, oid: str, comments: Any,
                  start: int = 0) -> MachineLines:
    """The machine lines of an object's comments by kind; ``prefledger:event`` lines are
    planned as events right away."""
    out: MachineLines = {}
    for i, c in enumerate(comments if isinstance(comments, list) else [], start):
        got = read_line(ctx, c, file, oid, f"comments[{i}]")
        if got is None:
            continue
        kind, obj = got
        if kind == "event":
            carried(ctx, file, oid, f"comments[{i}]", obj)
        else:
            out.setdefault(kind, []).append((i, obj))
    return out


def carried(ctx: ImportContext, file: str, oid: str, fld: str, obj: Any) -> None:
    """An event OCF cannot carry, read back from a ``prefledger:event`` line."""
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), dict) \
            or not isinstance(obj.get("seq"), int):
        ctx.problem(file, oid, fld, "a prefledger:event line holds {\"seq\": n, "
                    "\"event\": {...}}")
        return
    ev = {k: v for k, v in obj["event"].items() if k != "issuer"}
    ev.setdefault("id", f"ocf:event-{obj['seq']:04d}")  # re-imports stay idempotent
    got = parse_object(ev)
    if isinstance(got, list):
        for p in got:
            ctx.problem(file, oid, f"{fld}.event.{p.field}" if p.field else fld, p.message)
        return
    ctx.planned.append(Planned(ev, (got.effective_date, 1, obj["seq"]),
                               Origin(file, oid, default=fld)))


def ref(lines: MachineLines) -> tuple[int | None, dict[str, Any], list[str]]:
    """The ``prefledger:ref`` of an object: its sequence number (load order), the event
    fields the object does not carry, and the fields the event left unset."""
    for _, obj in lines.get("ref", []):
        if isinstance(obj, dict) and isinstance(obj.get("event"), dict):
            seq = obj.get("seq")
            unset = obj.get("unset", [])
            return (seq if isinstance(seq, int) else None, dict(obj["event"]),
                    [u for u in unset if isinstance(u, str)] if isinstance(unset, list)
                    else [])
    return None, {}, []


def ref_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The event part of an object's ``prefledger:ref`` line, without side effects."""
    comments = obj.get("comments")
    for c in comments if isinstance(comments, list) else []:
        try:
            got = read_machine(c)
        except ValueError:
            continue
        if got and got[0] == "ref" and isinstance(got[1], dict) \
                and isinstance(got[1].get("event"), dict):
            return dict(got[1]["event"])
    return {}


def manifest_comments(ctx: ImportContext, name: str, doc: dict[str, Any]) -> None:
    """The manifest's lines: the issuer stream it was exported from, and carried events."""
    comments = doc.get("comments", [])
    for i, c in enumerate(comments if isinstance(comments, list) else []):
        got = read_line(ctx, c, name, "OCF_MANIFEST_FILE", f"comments[{i}]")
        if got and got[0] == "manifest" and isinstance(got[1], dict):
            iss = got[1].get("issuer")
            ctx.manifest_issuer = iss if isinstance(iss, str) and iss else None
        elif got and got[0] == "event":
            carried(ctx, name, "OCF_MANIFEST_FILE", f"comments[{i}]", got[1])
