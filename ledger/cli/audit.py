"""CLI commands for audit (registered by ``ledger.cli.program``): ``history`` (SPEC.md §10),
``issuers`` (each issuer stream with its event count and effective dates).

``verify`` recomputes the hash chain (``ledger.store.verify``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

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
    fail,
    open_ledger,
    out,
    output_format,
    parse_day,
    parse_recorded,
    where,
)
from ledger.names import shown

COMMANDS = Commands()


@COMMANDS()
def history(
    series: Annotated[str | None, typer.Option("--series", help="events naming this series "
                                               "or changing its figures (common: common "
                                               "stock), each with its effect")] = None,
    holder: Annotated[str | None, typer.Option("--holder", help="events naming this holder "
                                               "or changing its figures, each with its "
                                               "effect")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="effective on or after "
                                                  "YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="effective on or before "
                                                "YYYY-MM-DD")] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="one event, with every figure "
                                                 "it changed (before and after)")] = None,
    with_dues: Annotated[bool, typer.Option("--with-dues", help="with --holder or --series: "
                                            "also the amounts that fell due on payment "
                                            "dates")] = False,
    issuer: IssuerOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The audit trail: every event with effective date, recorded time, id, memo/source,
    hash, and reversals; for a holder, a series or one event, every event that changed
    their figures, with its effect (docs/reports.md)."""
    from projections.history import timeline

    fmt = output_format(as_json, as_csv)
    d1 = parse_day(date_from, "--from") if date_from is not None else None
    d2 = parse_day(date_to, "--to") if date_to is not None else None
    t = parse_recorded(as_recorded)
    if with_dues and (holder is None and series is None or event_id is not None):
        raise fail(2, "error: --with-dues needs --holder or --series (and no --id)")
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        try:
            rep = lg.history_report(issuer, series, holder, d1, d2, t, event_id, with_dues)
        except KeyError:
            raise fail(2, f"error: --id {event_id!r}: no event of issuer {issuer!r} has "
                       "this id" + (" (as recorded then)" if t else "")) from None
    rows = rep["events"]
    if fmt == "csv":
        # one row per event (and calendar entry); the event itself is the last column, as
        # canonical JSON
        emit_csv([r if "phase" in r else
                  {k: v for k, v in r.items() if k != "event"} | {"event": r["event"]}
                  for r in timeline(rows, rep["calendar"])])
    elif fmt == "json":
        emit_json({
            "issuer": issuer,
            "as_recorded": t.isoformat() if t else None,
            "filters": {"series": series, "holder": holder,
                        "from": d1.isoformat() if d1 else None,
                        "to": d2.isoformat() if d2 else None,
                        "id": event_id, "with_dues": with_dues},
            "events": rows,
            **({"calendar": rep["calendar"]} if rep["calendar"] is not None else {}),
        })
    elif event_id is not None:  # the event, then every figure it changed
        print_history(issuer, [{**r, "effects": None} for r in rows],
                      t.isoformat() if t else None)
        print_effects([e for r in rows for e in r["effects"] or []])
    else:
        print_history(issuer, timeline(rows, rep["calendar"]), t.isoformat() if t else None,
                      holder)


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


def print_history(issuer: str, rows: list[dict[str, Any]], as_recorded: str | None,
                  holder: str | None = None) -> None:
    events = [r for r in rows if "phase" not in r]
    title = f"history of {issuer}: {len(events)} event(s)"
    if len(events) < len(rows):
        title += f", {len(rows) - len(events)} calendar entr(ies)"
    if as_recorded:
        title += f" (as recorded {as_recorded})"
    t = Table(title=title, show_lines=False)
    for label in ("#", "effective", "recorded (UTC)", "type", "id", "details", "memo / source",
                  "hash"):
        # the recorded time folds under its date and a long id folds, so that details
        # (and the effect under them) keep room for a sentence on one line
        t.add_column(label, justify="right" if label == "#" else "left",
                     overflow="fold", max_width=_MAX_WIDTH.get(label))
    for r in rows:
        if "phase" in r:  # a calendar entry: the start or end of a day, no event
            t.add_row("", r["date"], "", r["phase"].replace("_", " "), "",
                      "; ".join(r["causes"]), "", "", style="italic")
            _effect_row(t, r["effects"], holder)
            continue
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
        if r.get("effects") is not None:
            _effect_row(t, r["effects"], holder, r["reversed"])
    out.print(t)


_MAX_WIDTH = {"recorded (UTC)": 10, "id": 20, "memo / source": 25}


def _effect_row(t: Table, effects: list[dict[str, Any]], holder: str | None,
                reversed_: bool = False) -> None:
    """The effect of the row above, one figure a line (each escaped, as every cell),
    under its details."""
    from projections.history import effect_text

    none = "none: reversed, never applied" if reversed_ else "no change"
    lines = [shown(effect_text(e, holder)) for e in effects] or [none]
    t.add_row("", "", "", "  ↳ effect", "", Text("\n".join(lines)), "", "", style="bold")


def print_effects(effects: list[dict[str, Any]]) -> None:
    """``history --id``: every figure the event changed, before → after."""
    from projections.history import grouped

    t = Table(title=f"effects: {len(effects)} figure(s) changed")
    for label in ("series", "holder", "figure", "before", "after", "change", "when"):
        t.add_column(label, justify="right" if label in ("before", "after", "change")
                     else "left")
    for e in effects:
        when = "end of day" if e["at"] == "end_of_day" else ""
        if e["note"]:
            when += f", from {e['effective']} ({e['note']})"
        change = e["change"]
        t.add_row(e["series"], e["holder"] or "(series)", e["figure"],
                  "—" if e["before"] is None else grouped(e["before"]),
                  "—" if e["after"] is None else grouped(e["after"]),
                  "—" if change is None else ("" if str(change).startswith("-") else "+")
                  + grouped(change), when)
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
            err.print(f"broken: {p}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"ok: {n} events, hash chain intact", highlight=False)


