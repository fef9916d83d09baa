"""The ``prefledger`` command line (SPEC.md §10): a thin layer over ``ledger.api``.

Exit codes: 0 ok, 1 findings or a broken chain, 2 bad input (nothing stored).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .api import Ledger, parse_as_recorded
from .problems import LedgerError
from .values import check_date_range

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="prefledger: an event-sourced ledger of preferred stock.")
# markup and emoji off: names from the input are printed as written, never as rich
# markup (a holder named "[/x]" would otherwise crash every table)
out = Console(width=None if sys.stdout.isatty() else 160, markup=False, emoji=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, markup=False,
              emoji=False)


class Ctx:
    db: str | None = None
    database_url: str | None = None


CTX = Ctx()

IssuerOpt = Annotated[str, typer.Option("--issuer", help="issuer stream")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON (SPEC.md §9)")]
AsRecordedOpt = Annotated[
    str | None, typer.Option("--as-recorded", help="ISO 8601 UTC time: what the ledger said then")
]
LastDayOpt = Annotated[
    str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: last effective date)")
]


@app.callback()
def main(
    db: Annotated[str | None, typer.Option("--db", help="SQLite file")] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="postgresql://… (or PREFLEDGER_DATABASE_URL)"),
    ] = None,
) -> None:
    CTX.db = db
    CTX.database_url = database_url


def fail(code: int, message: str) -> typer.Exit:
    err.print(message, markup=False, highlight=False)
    return typer.Exit(code)


def open_ledger() -> Ledger:
    import psycopg
    from eventsourcing.persistence import PersistenceError

    try:
        return Ledger.open(CTX.db, CTX.database_url)
    except ValueError as exc:
        raise fail(2, f"error: {exc}") from None
    except (PersistenceError, OSError, psycopg.Error) as exc:
        where = CTX.database_url or CTX.db or "prefledger.db"
        raise fail(2, f"error: cannot open the ledger at {where}: {exc}") from None


def parse_day(text: str, option: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise fail(2, f"error: {option} {text!r} is not a date YYYY-MM-DD") from None
    try:
        return check_date_range(day)
    except ValueError as exc:
        raise fail(2, f"error: {option} {exc}") from None


def parse_recorded(text: str | None) -> dt.datetime | None:
    try:
        return parse_as_recorded(text)
    except ValueError:
        raise fail(2, f"error: --as-recorded {text!r} is not an ISO 8601 time") from None


def series_report(report: Callable[..., dict[str, Any]], series: str, issuer: str,
                  as_of: str | None, as_recorded: str | None) -> dict[str, Any]:
    """A per-series report (``rates``, ``conversions``): ``report(series, issuer, day,
    recorded)`` on the open ledger; an unknown series is exit 2."""
    day = parse_day(as_of, "--as-of") if as_of is not None else None
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        try:
            return report(lg, series, issuer, day, t)
        except KeyError:
            raise fail(2, f"error: --series {series!r}: no such series for issuer "
                       f"{issuer!r}") from None


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def report_problems(exc: LedgerError) -> typer.Exit:
    err.print(f"rejected: {len(exc.problems)} problem(s); nothing was stored",
              markup=False, highlight=False)
    for p in exc.problems:
        err.print(f"  {p}", markup=False, highlight=False)
    return typer.Exit(2)


def load_path(lg: Ledger, path: Path) -> None:
    if not path.exists():
        raise fail(2, f"error: no such file {str(path)!r}")
    try:
        total = sum(1 for _ in path.open("rb"))
        with Progress(TextColumn("loading"), BarColumn(), MofNCompleteColumn(), console=err,
                      transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("load", total=total)
            res = lg.load_file(path, progress=lambda n: bar.update(task, completed=n))
    except LedgerError as exc:
        raise report_problems(exc) from None
    except UnicodeDecodeError as exc:
        raise fail(2, f"error: {path} is not UTF-8 text ({exc})") from None
    except OSError as exc:  # a directory, no permission, …
        raise fail(2, f"error: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    out.print(f"{res.appended} appended, {res.already_present} already present",
              highlight=False)


@app.command()
def load(file: Annotated[Path, typer.Argument(help="events, one JSON object per line")]) -> None:
    """Validate and append atomically (SPEC.md §3)."""
    with open_ledger() as lg:
        load_path(lg, file)


@app.command()
def position(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, end of day")],
    issuer: IssuerOpt = "default",
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Shares, dividends, conversion and votes per series and holder (SPEC.md §9)."""
    day = parse_day(as_of, "--as-of")
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        rep = lg.position(day, issuer, t)
    if as_json:
        emit_json(rep)
    else:
        print_position(rep)


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


@app.command()
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
    with open_ledger() as lg, resources.as_file(history) as path:
        out.print(f"ledger: {CTX.db or CTX.database_url}; loading {path.name} "
                  "(illustrative nStor history)", highlight=False)
        load_path(lg, path)
        print_position(lg.position(day))


@app.command()
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


if __name__ == "__main__":  # pragma: no cover
    app()


# Commands of each capability live in their own module and register on ``app``.
from . import (  # noqa: E402,F401
    cli_audit,
    cli_conversions,
    cli_dividends,
    cli_ocf,
    cli_reporting,
    cli_waterfall,
)
