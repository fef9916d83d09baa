"""CLI commands for audit (registered on ``ledger.cli.app``): ``history`` (SPEC.md §10).

``verify`` recomputes the hash chain (``ledger.store.verify``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ledger.cli.options import (
    AsRecordedOpt,
    Commands,
    IssuerOpt,
    JsonOpt,
    emit_json,
    err,
    open_ledger,
    out,
    parse_day,
    parse_recorded,
)

COMMANDS = Commands()


@COMMANDS()
def history(
    series: Annotated[str | None, typer.Option("--series", help="events naming this series "
                                               "(common: also common issuances, splits)")
                      ] = None,
    holder: Annotated[str | None, typer.Option("--holder", help="events naming this holder")
                      ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="effective on or after "
                                                  "YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="effective on or before "
                                                "YYYY-MM-DD")] = None,
    issuer: IssuerOpt = "default",
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit trail: every event with effective date, recorded time, id, memo/source,
    hash, and reversals (docs/reports.md)."""
    d1 = parse_day(date_from, "--from") if date_from is not None else None
    d2 = parse_day(date_to, "--to") if date_to is not None else None
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        rows = lg.history(issuer, series, holder, d1, d2, t)
    if as_json:
        emit_json({
            "issuer": issuer,
            "as_recorded": t.isoformat() if t else None,
            "filters": {"series": series, "holder": holder,
                        "from": d1.isoformat() if d1 else None,
                        "to": d2.isoformat() if d2 else None},
            "events": rows,
        })
    else:
        print_history(issuer, rows, t.isoformat() if t else None)


def print_history(issuer: str, rows: list[dict[str, Any]], as_recorded: str | None) -> None:
    title = f"history of {issuer}: {len(rows)} event(s)"
    if as_recorded:
        title += f" (as recorded {as_recorded})"
    t = Table(title=title, show_lines=False)
    for label in ("#", "effective", "recorded (UTC)", "type", "id", "details", "memo / source",
                  "hash"):
        t.add_column(label, justify="right" if label == "#" else "left",
                     overflow="fold")
    for r in rows:
        details = r["summary"]
        if not r["valid"]:
            details = f"INVALID (does not parse; run verify): {details}"
        if r["reversed"]:
            by = r["reversed_by"] or f"#{r['reversed_by_position']}"
            details = f"REVERSED by {by}: {r['reversal_reason']}" + (
                f"; {details}" if details else "")
        note = " / ".join(x for x in (r["memo"], r["source"]) if x)
        t.add_row(str(r["position"]), str(r["effective_date"]), _short_time(r["recorded_at"]),
                  str(r["type"]), str(r["id"] or ""), details, note, r["hash"][:12] + "…",
                  style="dim" if r["reversed"] else None)
    out.print(t)


def _short_time(stamp: str) -> str:
    """``2026-11-23T10:15:30.123456+00:00`` -> ``2026-11-23 10:15:30``."""
    return stamp.replace("T", " ")[:19]


@COMMANDS()
def verify() -> None:
    """Recompute the hash chain; name the first broken event (exit 1)."""
    with open_ledger() as lg:
        problems = lg.verify()
        n = sum(lg.store.version(i) for i in lg.issuers())
    if problems:
        for p in problems:
            err.print(f"broken: {p}", markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(f"ok: {n} events, hash chain intact", highlight=False)


