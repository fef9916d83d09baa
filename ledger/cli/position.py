"""``position`` (shares, dividends, conversion and votes as of a date) and ``demo``."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Annotated, Any

import typer

from ledger.cli.options import (
    CTX,
    AsRecordedOpt,
    Commands,
    CsvOpt,
    IssuerOpt,
    JsonOpt,
    Table,
    choose_issuer,
    emit_csv,
    emit_json,
    load_path,
    open_ledger,
    out,
    output_format,
    parse_day,
    parse_recorded,
    table_rows,
)

COMMANDS = Commands()


@COMMANDS()
def position(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, end of day")],
    issuer: IssuerOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Shares, dividends, conversion and votes per series and holder."""
    fmt = output_format(as_json, as_csv)
    day = parse_day(as_of, "--as-of")
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        rep = lg.position(day, choose_issuer(lg, issuer), t)
    if fmt == "json":
        emit_json(rep)
    elif fmt == "csv":
        emit_csv(position_rows(rep), first=("table", "series", "holder"))
    else:
        print_position(rep)


def position_rows(rep: dict[str, Any]) -> list[dict[str, Any]]:
    """The position as rows of one CSV: a ``table`` column (``series`` rows, one
    ``common`` row, then ``holder`` rows), the JSON report's fields as the other columns,
    its strings as values."""
    common = {"series": "common", "outstanding": rep["common_outstanding"],
              "votes": rep["common_votes"]}
    return table_rows(("series", rep["series"]), ("common", [common]),
                      ("holder", rep["holders"]))


def print_position(rep: dict[str, Any]) -> None:
    title = f"{rep['issuer']} as of {rep['as_of']}"
    if rep.get("as_recorded"):
        title += f" (as recorded {rep['as_recorded']})"
    t = Table(title=title)
    cols = [("series", "series"), ("outstanding", "outstanding"), ("issued", "issued_total"),
            ("authorized", "authorized"), ("rate", "dividend_rate"),
            ("accrued unpaid", "accrued_unpaid"), ("arrears", "arrears"),
            ("payable", "dividends_payable"), ("missed", "missed_streak"),
            ("conv. rate", "conversion_rate"), ("votes", "votes"),
            ("liq. preference", "liquidation_preference")]
    for label, _ in cols:
        t.add_column(label, justify="left" if label == "series" else "right")
    for s in rep["series"]:
        row = []
        for _, key in cols:
            v = s.get(key)
            if key == "conversion_rate" and v is not None:
                v = f"{Decimal(v):.4f}"
            row.append("—" if v is None else str(v))
        t.add_row(*row)
    t.add_row("common", rep["common_outstanding"], "", "", "", "", "", "", "", "",
              rep["common_votes"], "")
    out.print(t)
    h = Table(title="holders")
    for label in ("holder", "series", "shares", "accrued unpaid", "payable", "votes"):
        h.add_column(label, justify="left" if label in ("holder", "series") else "right")
    for r in rep["holders"]:
        h.add_row(r["holder"], r["series"], r["shares"], r["accrued_unpaid"] or "—",
                  r["dividends_payable"], r["votes"])
    out.print(h)


@COMMANDS()
def demo(
    as_of: Annotated[str | None, typer.Option("--as-of", help="default: 2005-12-31")] = None,
) -> None:
    """Load the nStor fixtures into a fresh ledger and print a position."""
    from importlib import resources

    if CTX.db is None and CTX.database_url is None:
        CTX.db = "prefledger-demo.db"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(CTX.db + suffix):
                os.remove(CTX.db + suffix)
    history = resources.files("fixtures").joinpath("nstor", "history.jsonl")
    day = parse_day(as_of or "2005-12-31", "--as-of")
    with open_ledger(create=True) as lg, resources.as_file(history) as path:
        out.print(f"ledger: {CTX.db or CTX.database_url}; loading {path.name} "
                  "(illustrative nStor history)", highlight=False)
        load_path(lg, path)
        print_position(lg.position(day))


