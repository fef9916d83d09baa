"""CLI commands for audit (registered on ``ledger.cli.app``): ``history`` (SPEC.md §10),
``issuers`` (each issuer stream with its event count and effective dates).

``verify`` recomputes the hash chain (``ledger.store.verify``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.cli.options import (
    AsRecordedOpt,
    Commands,
    CsvOpt,
    IssuerOpt,
    JsonOpt,
    Table,
    choose_issuer,
    emit_csv,
    emit_json,
    err,
    open_ledger,
    out,
    output_format,
    parse_day,
    parse_recorded,
    where,
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
    issuer: IssuerOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The audit trail: every event with effective date, recorded time, id, memo/source,
    hash, and reversals (docs/reports.md)."""
    fmt = output_format(as_json, as_csv)
    d1 = parse_day(date_from, "--from") if date_from is not None else None
    d2 = parse_day(date_to, "--to") if date_to is not None else None
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        rows = lg.history(issuer, series, holder, d1, d2, t)
    if fmt == "csv":
        # one row per event; the event itself is the last column, as canonical JSON
        emit_csv([{k: v for k, v in r.items() if k != "event"} | {"event": r["event"]}
                  for r in rows])
    elif fmt == "json":
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


@COMMANDS()
def issuers(
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Each issuer stream: its number of events, first and last effective date."""
    fmt = output_format(as_json, as_csv)
    with open_ledger() as lg:
        rows = issuer_rows(lg)
    if fmt == "json":
        emit_json({"issuers": rows})
    elif fmt == "csv":
        emit_csv(rows, columns=ISSUER_COLUMNS)
    else:
        t = Table(title=f"{len(rows)} issuer(s) in {where()}")
        for label in ("issuer", "events", "first effective", "last effective"):
            t.add_column(label, justify="right" if label == "events" else "left")
        for r in rows:
            t.add_row(r["issuer"], str(r["events"]), r["first_effective_date"] or "—",
                      r["last_effective_date"] or "—")
        out.print(t)


ISSUER_COLUMNS = ("issuer", "events", "first_effective_date", "last_effective_date")


def issuer_rows(lg: Any) -> list[dict[str, Any]]:
    """Per issuer (``default`` first, then by name): the events stored, the earliest and
    the latest effective date among them (reversed events and reversals included)."""
    rows = []
    for name in sorted(lg.issuers(), key=lambda n: (n != "default", n)):
        n = 0
        first: str | None = None
        last: str | None = None
        for s in lg.iter_history(name):
            n += 1
            day = s.payload.get("effective_date")
            if isinstance(day, str):
                first = day if first is None or day < first else first
                last = day if last is None or day > last else last
        rows.append({"issuer": name, "events": n, "first_effective_date": first,
                     "last_effective_date": last})
    return rows


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


