"""``position`` (shares, dividends, conversion and votes as of a date) and ``demo``."""

from __future__ import annotations

import json
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
    fail,
    load_path,
    open_ledger,
    out,
    output_format,
    parse_day,
    parse_recorded,
    table_rows,
)
from ledger.state import UNATTRIBUTED_LABEL

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
    # SPEC.md §12: shown only where a series has them (declared dividends, shares in kind)
    for label, key in (("declared", "declared_unpaid"), ("in kind", "pik_shares")):
        if any(s.get(key) is not None for s in rep["series"]):
            cols.insert(-2, (label, key))
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
    common = ["common", rep["common_outstanding"]] + [""] * (len(cols) - 2)
    common[-2] = rep["common_votes"]
    t.add_row(*common)
    out.print(t)
    h = Table(title="holders")
    for label in ("holder", "series", "shares", "accrued unpaid", "payable", "votes"):
        h.add_column(label, justify="left" if label in ("holder", "series") else "right")
    for r in rep["holders"]:
        # common without a named holder is the unattributed holder (JSON null)
        h.add_row(r["holder"] if r["holder"] is not None else UNATTRIBUTED_LABEL,
                  r["series"], r["shares"], r["accrued_unpaid"] or "—",
                  r["dividends_payable"] or "—", r["votes"])
    out.print(h)


#: the example ``demo`` loads unless told otherwise, and the day its position is printed for
DEFAULT_EXAMPLE = "nstor"
NSTOR_DAY = "2005-12-31"


def examples() -> list[str]:
    """The shipped examples: every ``fixtures/<name>/history.jsonl``."""
    from importlib import resources

    base = resources.files("fixtures")
    return sorted(d.name for d in base.iterdir()
                  if d.is_dir() and not d.name.startswith(("_", "."))
                  and d.joinpath("history.jsonl").is_file())


def _issuers_and_last_day(path: Any) -> tuple[list[str], str | None]:
    """The issuers a history names (``default`` when an event names none) and its last
    effective date."""
    issuers: set[str] = set()
    last: str | None = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            issuers.add(obj.get("issuer", "default"))
            day = obj.get("effective_date")
            if isinstance(day, str) and (last is None or day > last):
                last = day
    return sorted(issuers), last


@COMMANDS()
def demo(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="default: 2005-12-31 for nstor, else the example's last date")] = None,
    example: Annotated[str, typer.Option(
        "--example", help="a shipped example: nstor (default), mezzanine, …")] = DEFAULT_EXAMPLE,
) -> None:
    """Load a shipped example (the nStor fixtures by default) into a fresh ledger and
    print a position."""
    from importlib import resources

    known = examples()
    if example not in known:
        raise fail(2, f"error: --example {example!r}: no such example; one of "
                   + ", ".join(known))
    if CTX.db is None and CTX.database_url is None:
        CTX.db = "prefledger-demo.db"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(CTX.db + suffix):
                os.remove(CTX.db + suffix)
    history = resources.files("fixtures").joinpath(example, "history.jsonl")
    with open_ledger(create=True) as lg, resources.as_file(history) as path:
        issuers, last = _issuers_and_last_day(path)
        default_day = NSTOR_DAY if example == "nstor" else (last or NSTOR_DAY)
        day = parse_day(as_of or default_day, "--as-of")
        words = "nStor" if example == "nstor" else example
        out.print(f"ledger: {CTX.db or CTX.database_url}; loading {path.name} "
                  f"(illustrative {words} history)", highlight=False)
        load_path(lg, path)
        for issuer in issuers:
            print_position(lg.position(day, issuer))
