"""CLI commands for reporting (registered by ``ledger.cli.program``): SPEC.md §10 ``rebuild``,
``export``, ``rollforward`` and ``chart``."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.options import (
    Commands,
    CsvOpt,
    IssuerOpt,
    JsonOpt,
    Table,
    choose_issuer,
    emit_csv,
    emit_json,
    fail,
    open_ledger,
    out,
    output_format,
    parse_day,
    table_rows,
    writable_file,
    write_error,
)

ReportOpt = Annotated[Path, typer.Option("--to", help="reporting database (SQLite file)")]
ThroughOpt = Annotated[
    str | None,
    typer.Option("--through", help="last day projected (default: each issuer's last "
                 "effective date)"),
]


def _through(text: str | None) -> dt.date | None:
    return parse_day(text, "--through") if text else None

COMMANDS = Commands()


@COMMANDS()
def rebuild(
    to: ReportOpt = Path("report.db"),
    through: ThroughOpt = None,
) -> None:
    """Recompute every projection table from the log."""
    from projections.feed.projector import Projector

    day = _through(through)
    writable_file(to, "--to")
    with open_ledger() as lg:
        try:
            s = Projector(lg, to, day).rebuild()
        except (OSError, sqlite3.Error) as exc:
            raise write_error(to, exc) from None
    out.print(f"{to}: rebuilt from {s.events} events of {len(s.issuers)} issuer(s); "
              f"tracked notification position {s.position}", highlight=False,
              soft_wrap=True)


@COMMANDS()
def export(
    to: ReportOpt,
    through: ThroughOpt = None,
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", help="Datasette metadata file to write "
                     "(default: <name>.metadata.json next to the database)"),
    ] = None,
) -> None:
    """Bring the reporting feed up to date (incremental; re-runnable)."""
    from projections.feed.export import default_metadata_path, write_metadata
    from projections.feed.projector import Projector

    day = _through(through)
    writable_file(to, "--to")
    if metadata is not None:
        writable_file(metadata, "--metadata")
    with open_ledger() as lg:
        try:
            s = Projector(lg, to, day).catch_up()
        except (OSError, sqlite3.Error) as exc:
            raise write_error(to, exc) from None
    meta = metadata or default_metadata_path(to)
    try:
        meta = write_metadata(to, meta)
    except OSError as exc:
        raise write_error(meta, exc) from None
    what = (f"{s.events} new event(s) projected, issuer(s) recomputed: "
            f"{', '.join(s.issuers)}" if s.issuers else "already up to date")
    if s.rebuilt and s.reason:
        what += f" ({s.reason})"
    out.print(f"{to}: {what}; tracked notification position {s.position}", highlight=False,
              soft_wrap=True)
    out.print(f"browse it: datasette {to} -m {meta}", highlight=False, soft_wrap=True)


@COMMANDS()
def rollforward(
    from_: Annotated[str, typer.Option("--from", help="first day of the period, YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="last day of the period, YYYY-MM-DD")],
    issuer: IssuerOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Equity roll-forward and dividends in arrears between two dates (exit 1 if it does
    not tie out)."""
    from projections.rollforward import rollforward as compute

    fmt = output_format(as_json, as_csv)
    d1 = parse_day(from_, "--from")
    d2 = parse_day(to, "--to")
    if d1 > d2:
        raise fail(2, f"error: --from {d1} is after --to {d2}")
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        rep = compute(issuer, lg.records(issuer), d1, d2, lg.resolve)
    if fmt == "json":
        emit_json(rep)
    elif fmt == "csv":
        emit_csv(rollforward_rows(rep), first=("table", "series", "holder"))
    else:
        _print_rollforward(rep)
    if not rep["ties_out"]:
        raise typer.Exit(1)


def rollforward_rows(rep: dict[str, Any]) -> list[dict[str, Any]]:
    """The roll-forward as rows of one CSV: a ``table`` column (per series its
    ``shares``, ``carrying_amount`` and ``dividends`` rows, each with ``ties_out``; then
    one ``holder`` row per holder and series), the JSON report's fields as columns."""
    shares, carrying, dividends = [], [], []
    for s in rep["series"]:
        ties = s["ties_out"]
        shares.append({"series": s["series"], **s["shares"], "ties_out": ties["shares"]})
        carrying.append({"series": s["series"], **s["carrying_amount"],
                         "ties_out": ties["carrying_amount"]})
        if s["dividends"] is not None:
            dividends.append({"series": s["series"], **s["dividends"],
                              "ties_out": ties["arrears"] and ties["dividends_payable"]})
    common = {"series": "common", **rep["common"]["shares"],
              "ties_out": rep["common"]["ties_out"]}
    return table_rows(("shares", shares), ("carrying_amount", carrying),
                      ("dividends", dividends), ("common", [common]),
                      ("holder", rep["holders"]))


def _print_rollforward(rep: dict[str, Any]) -> None:
    head = (f"{rep['issuer']}: {rep['from']} to {rep['to']} "
            f"(opening = end of {rep['opening_as_of']})")
    t = Table(title=f"Equity roll-forward, {head}")
    cols = ["opening", "issued", "transferred_in", "transferred_out", "converted", "redeemed",
            "cancelled", "liquidated", "closing"]
    t.add_column("series")
    t.add_column("")
    for c in cols:
        t.add_column(c.replace("_", " "), justify="right")
    t.add_column("ties out")
    for s in rep["series"]:
        t.add_row(s["series"], "shares", *[s["shares"][c] for c in cols],
                  "yes" if s["ties_out"]["shares"] else "NO")
        ca = s["carrying_amount"]
        t.add_row("", "carrying amount", ca["opening"], ca["issued"], "", "", ca["converted"],
                  ca["redeemed"], ca["cancelled"], ca["liquidated"], ca["closing"],
                  "yes" if s["ties_out"]["carrying_amount"] else "NO")
    out.print(t)
    # common outstanding: issued (and on conversion), split, cancelled, liquidated
    ct = Table(title="Common stock")
    ccols = ["opening", "issued", "issued_on_conversion", "split", "cancelled", "liquidated",
             "closing"]
    for col in ccols:
        ct.add_column(col.replace("_", " "), justify="right")
    ct.add_column("ties out")
    cs = rep["common"]["shares"]
    ct.add_row(*[cs[k] for k in ccols], "yes" if rep["common"]["ties_out"] else "NO")
    out.print(ct)
    d = Table(title="Cumulative dividends in arrears")
    dcols = [("arrears_opening", "in arrears, opening"), ("fell_due", "fell due"),
             ("paid", "paid"), ("settled_on_redemption", "on redemption"),
             ("extinguished_on_cancellation", "on cancellation"),
             ("arrears_closing", "in arrears, closing"),
             ("arrears_per_share_closing", "per share"),
             ("accrued_unpaid_opening", "accrued unpaid, opening"),
             ("accrued_in_period", "accrued in period"),
             ("accrued_unpaid_closing", "accrued unpaid, closing"),
             ("payable_closing", "payable on converted, closing")]
    d.add_column("series")
    for _, label in dcols:
        d.add_column(label, justify="right")
    d.add_column("ties out")
    for s in rep["series"]:
        dv = s["dividends"]
        if dv is None:
            continue
        ok = s["ties_out"]["arrears"] and s["ties_out"]["dividends_payable"]
        d.add_row(s["series"], *[dv.get(k) or "—" for k, _ in dcols], "yes" if ok else "NO")
    out.print(d)


@COMMANDS()
def chart(
    to: Annotated[Path, typer.Option("--to", help="PNG file to write")],
    issuer: IssuerOpt = None,
    through: ThroughOpt = None,
) -> None:
    """Shares outstanding, dividend rate, arrears and conversion rate over time (PNG)."""
    from projections.feed.chart import chart_data, render
    from projections.tables import project_issuer

    day = _through(through)
    writable_file(to, "--to")
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        tables = project_issuer(issuer, lg.records(issuer), day, lg.resolve)
    data = chart_data(tables)
    try:
        render(data, to, f"{issuer}: preferred stock through {data['end']}")
    except (OSError, ValueError) as exc:
        raise write_error(to, exc) from None
    out.print(f"wrote {to}", highlight=False, soft_wrap=True)
