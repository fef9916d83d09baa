"""CLI commands for the liquidation waterfall (registered by ``ledger.cli.program``).

``prefledger waterfall --as-of D --proceeds X [--order M,H,K,G] [--json]`` (SPEC.md §8,
§9, §10): a what-if distribution that records nothing.
"""

from __future__ import annotations

from decimal import Decimal
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
    fail,
    open_ledger,
    out,
    output_format,
    parse_day,
    parse_recorded,
    table_rows,
)
from ledger.problems import LedgerError
from ledger.state import UNATTRIBUTED_LABEL
from ledger.values import parse_decimal


def _money(v: str | None) -> str:
    return "—" if v is None else f"{Decimal(v):,.2f}"


def _shares(v: str) -> str:
    d = Decimal(v)
    return f"{d:,}" if d == d.to_integral_value() else f"{d:,.4f}"

COMMANDS = Commands()


@COMMANDS()
def waterfall(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, end of day")],
    proceeds: Annotated[str, typer.Option("--proceeds", help="amount to distribute, e.g. "
                                          "50000000 or 50000000.00")],
    issuer: IssuerOpt = None,
    as_recorded: AsRecordedOpt = None,
    order: Annotated[str | None, typer.Option(
        "--order", help="seniority order, most senior first, e.g. M,H,K,G ('+' puts series "
        "in one tier); default: the later certificate governs (M > H > K > G)")] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """What-if liquidation waterfall of PROCEEDS as of D; records nothing."""
    fmt = output_format(as_json, as_csv)
    day = parse_day(as_of, "--as-of")
    try:
        amount = parse_decimal(proceeds)
    except ValueError as exc:
        raise fail(2, f"error: --proceeds: {exc}") from None
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        try:
            rep = lg.waterfall(day, amount, choose_issuer(lg, issuer), t, order)
        except LedgerError as exc:
            raise fail(2, "\n".join(f"error: {p}" for p in exc.problems)) from None
    if fmt == "json":
        emit_json(rep)
    elif fmt == "csv":
        emit_csv(waterfall_rows(rep), first=("table", "tier", "series", "holder"))
    else:
        print_waterfall(rep)


def waterfall_rows(rep: dict[str, Any]) -> list[dict[str, Any]]:
    """The waterfall as rows of one CSV: a ``table`` column (``tier`` rows, ``series``
    rows, ``holder`` rows, then one ``common`` row), the JSON report's fields as the
    other columns (a tier's series joined by ``+``)."""
    common = {"series": "common", **rep["common"]}
    return table_rows(("tier", rep["tiers"]), ("series", rep["series"]),
                      ("holder", rep["holders"]), ("common", [common]))


def print_waterfall(rep: dict[str, Any]) -> None:
    """The readable form: tiers, series (with the convert-or-not reason), holders."""
    title = (f"{rep['issuer']}: waterfall of {_money(rep['proceeds'])} as of {rep['as_of']}"
             + (f" (as recorded {rep['as_recorded']})" if rep.get("as_recorded") else ""))
    t = Table(title=title, caption=f"order {rep['order']} ({rep['order_source']})")
    for label in ("tier", "series", "claim", "paid", ""):
        t.add_column(label, justify="left" if label in ("series", "") else "right")
    for tier in rep["tiers"]:
        t.add_row(str(tier["tier"]), ", ".join(tier["series"]), _money(tier["claim"]),
                  _money(tier["paid"]), "short" if tier["short"] else "")
    c = rep["common"]
    t.add_row("", "common", "", _money(c["received"]),
              f"{_shares(c['shares'])} shares as converted, "
              f"{Decimal(c['per_share']):.6f} per share"
              if c["per_share"] is not None else "no common shares")
    out.print(t)
    s = Table(title="series")
    for label in ("series", "claim", "status", "cap", "received", "why"):
        s.add_column(label, justify="right" if label in ("claim", "received") else "left")
    for row in rep["series"]:
        cap = {None: "—", True: "binds", False: "does not bind"}[row["cap_bound"]]
        s.add_row(row["series"], _money(row["claim"]), row["status"], cap,
                  _money(row["received"]), row["reason"])
    out.print(s)
    h = Table(title="holders")
    for label in ("holder", "series", "shares", "claim", "as converted", "from tier",
                  "from common", "received"):
        h.add_column(label, justify="left" if label in ("holder", "series") else "right")
    common_holders = False
    for r in rep["holders"]:
        common_holders = common_holders or r["series"] == "common"
        # common without a named holder is the unattributed holder (JSON null)
        h.add_row(r["holder"] if r["holder"] is not None else UNATTRIBUTED_LABEL,
                  r["series"], _shares(r["shares"]), _money(r["claim"]),
                  _shares(r["as_converted_shares"]) if r["converted"] else "—",
                  _money(r["from_tier"]), _money(r["from_common"]), _money(r["received"]))
    # the common line: the sum of the common holders' lines above, when there are any
    label = "common outstanding (all holders)" if common_holders else "common outstanding"
    h.add_row(label, "common", _shares(c["outstanding_shares"]), "", "", "",
              _money(c["outstanding_received"]), _money(c["outstanding_received"]))
    total = sum((Decimal(r["received"]) for r in rep["holders"]), Decimal(0))
    if not common_holders:
        total += Decimal(c["outstanding_received"])
    h.add_row("total", "", "", "", "", "", "", f"{total:,.2f}")
    out.print(h)
