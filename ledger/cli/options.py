"""What every command module of the command line shares: the store options (``CTX``),
the consoles, the option types, opening the ledger, parsing dates and times, and
reporting problems (exit codes: 0 ok, 1 findings or a broken chain, 2 bad input).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ledger.api import Ledger, parse_as_recorded
from ledger.problems import LedgerError
from ledger.values import check_date_range

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
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
AsRecordedOpt = Annotated[
    str | None, typer.Option("--as-recorded", help="ISO 8601 UTC time: what the ledger said then")
]
LastDayOpt = Annotated[
    str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: last effective date)")
]


Command = Callable[..., Any]


class Commands(list[tuple[str | None, Command]]):
    """The commands of one command module, in order: ``@COMMANDS()`` (the function's
    name) or ``@COMMANDS("export-ocf")``; ``ledger.cli.app`` registers them on the app."""

    def __call__(self, name: str | None = None) -> Callable[[Command], Command]:
        def register(fn: Command) -> Command:
            self.append((name, fn))
            return fn

        return register


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


