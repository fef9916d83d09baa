"""CLI commands for dividends (registered by ``ledger.cli.program``).

``rates --series S``: SPEC.md §10, the dividend-rate history of a series (§5 Step-up).
``check --as-of D``: SPEC.md §10, findings (§5 unrecorded misses and dividend priority;
more checks plug into ``ledger.checks.CHECKS``); exit code 1 when there are findings.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ledger.cli.options import (
    AsRecordedOpt,
    Commands,
    IssuerOpt,
    JsonOpt,
    LastDayOpt,
    Table,
    choose_issuer,
    emit_json,
    open_ledger,
    out,
    parse_day,
    parse_recorded,
    series_report,
)

COMMANDS = Commands()


@COMMANDS()
def rates(
    series: Annotated[str, typer.Option("--series", help="series name, e.g. G")],
    issuer: IssuerOpt = None,
    as_of: LastDayOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dividend-rate history: effective date, rate, cause (step-ups, resets)."""
    from ledger.api import Ledger

    rep = series_report(Ledger.rates, series, issuer, as_of, as_recorded)
    if as_json:
        emit_json(rep)
    else:
        print_rates(rep)


def print_rates(rep: dict[str, Any]) -> None:
    if rep["base_rate"] is None and rep["arrears"] is None:
        out.print(f"Series {rep['series']} ({rep['issuer']}) pays no dividends",
                  highlight=False)
        print_amendments(rep)
        return
    if rep["dividend_rate"] is None:  # non-cumulative: only declared dividends are owed
        out.print(f"Series {rep['series']} ({rep['issuer']}) as of {rep['as_of']}: "
                  f"non-cumulative, declared dividends in arrears {rep['arrears']}",
                  highlight=False)
        print_amendments(rep)
        return
    out.print(f"Series {rep['series']} ({rep['issuer']}) as of {rep['as_of']}: rate "
              f"{rep['dividend_rate']} (base {rep['base_rate']}), arrears {rep['arrears']}, "
              f"missed streak {rep['missed_streak']}", highlight=False)
    t = Table(title="dividend rate history")
    for label in ("effective", "rate", "cause"):
        t.add_column(label, justify="right" if label == "rate" else "left")
    for r in rep["rates"]:
        cause = r["cause"] + (" (scheduled)" if r["scheduled"] else "")
        t.add_row(r["effective_date"], r["rate"], cause)
    out.print(t)
    print_amendments(rep)


def print_amendments(rep: dict[str, Any]) -> None:
    """The series' term amendments: effective date, event, the fields changed."""
    if not rep.get("amendments"):
        return
    t = Table(title="term amendments")
    for label in ("effective", "event", "changed", "changes"):
        t.add_column(label)
    for a in rep["amendments"]:
        changes = ", ".join(f"{k}={json.dumps(v)}" for k, v in a["changes"].items())
        t.add_row(a["effective_date"], a["event_id"] or "—",
                  ", ".join(a["changed_fields"]) or "(none)", changes)
    out.print(t)


@COMMANDS()
def check(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, end of day")],
    issuer: IssuerOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Findings: unrecorded misses, dividend priority, seniority conflicts; exit 1 if any."""
    day = parse_day(as_of, "--as-of")
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        found = lg.check(day, issuer, t)
    if as_json:
        emit_json({"as_of": day.isoformat(), "as_recorded": t.isoformat() if t else None,
                   "issuer": issuer, "findings": [f.to_json() for f in found]})
    elif found:
        tbl = Table(title=f"{issuer} as of {day}: {len(found)} finding(s)")
        for label in ("date", "kind", "series", "finding"):
            tbl.add_column(label)
        for f in found:
            tbl.add_row(f.date.isoformat() if f.date else "—", f.kind, f.series or "—",
                        f.message)
        out.print(tbl)
    else:
        out.print(f"{issuer} as of {day}: no findings", highlight=False)
    if found:
        raise typer.Exit(1)
