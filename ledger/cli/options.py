"""What every command module of the command line shares: the store options (``CTX``),
the consoles, the option types, opening the ledger, choosing the issuer, parsing dates
and times, writing JSON and CSV, and reporting problems (exit codes: 0 ok, 1 findings or
a broken chain, 2 bad input or an operational error, always one line, no traceback).

Everything printed that came from input goes through ``ledger.names.shown``: the
consoles escape control and format characters in every string they print and
``Table`` in every cell, ``emit_json`` and ``emit_csv`` in every value.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box as rich_box
from rich import table as rich_table
from rich.cells import cell_len
from rich.console import Console

from ledger.names import json_safe, shown
from ledger.problems import LedgerError
from ledger.values import check_date_range

if TYPE_CHECKING:
    from ledger.api import Ledger


class SafeConsole(Console):
    """A console that escapes control and format characters (ESC, bidi overrides, …)
    in every string it prints (README Guarantees: no input reaches the terminal raw);
    line breaks of a multi-line message stay.

    A ``Table`` printed where nothing is styled (not a terminal, no colours) is written
    by ``Table.plain`` when it can be, the same characters rich would write, in a
    fraction of the time (a position of thousands of holders)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if len(objects) == 1 and not kwargs and isinstance(objects[0], Table) \
                and self._plain_output():
            text = objects[0].plain(self.width)
            if text is not None:
                self.file.write(text)
                self.file.flush()
                return
        super().print(*(shown(o, keep="\n") if isinstance(o, str) else o for o in objects),
                      **kwargs)

    def _plain_output(self) -> bool:
        """Nothing this console writes is styled or substituted: no terminal, no colour
        system, a UTF encoding (box characters as they are), no recording, no buffer
        open (``with console:``)."""
        return (not self.is_terminal and self.color_system is None and not self.record
                and not self.legacy_windows and self._buffer_index == 0
                and self.encoding.lower().startswith("utf"))


#: the box rich draws a default table with (heavy head, light body)
_BOX = rich_box.HEAVY_HEAD


class Table(rich_table.Table):
    """A rich table whose title, caption and cells are escaped (``shown``)."""

    def __init__(self, *headers: Any, **kwargs: Any) -> None:
        for key in ("title", "caption"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = shown(kwargs[key])
        super().__init__(*headers, **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        columns = self.columns
        if not kwargs and len(renderables) == len(columns) \
                and all(type(r) is str for r in renderables):
            # what rich's ``add_row`` does with one string per column, without its
            # per-cell checks (a position adds thousands of rows)
            for column, r in zip(columns, renderables, strict=True):
                column._cells.append(shown(r))
            self.rows.append(rich_table.Row(style=None, end_section=False))
            return
        super().add_row(*(shown(r) if isinstance(r, str) else r for r in renderables),
                        **kwargs)

    def plain(self, max_width: int) -> str | None:
        """The table as rich renders it without styles, when it is a plain one: default
        box, padding and options, a title at most, string cells on one line each,
        columns justified left or right, and no wider than ``max_width`` (so nothing is
        wrapped or shrunk). ``None`` for anything else: rich renders it."""
        if not self._plain_shape():
            return None
        columns = self.columns
        if not all(type(v) is str for c in columns for v in c._cells):
            return None
        cells: list[list[str]] = [[str(c.header), *c._cells] for c in columns]  # type: ignore[list-item]
        # ``_plain_cell`` of every cell: printable (a string is printable when each of its
        # characters is) and no trailing space (the one printable whitespace character),
        # then the characters of the cells that are not ASCII
        every = "".join(v for col in cells for v in col)
        if not every.isprintable() or any(v.endswith(" ") for col in cells for v in col):
            return None
        width: Callable[[str], int] = len
        if not every.isascii():
            if not all(_plain_cell(v) for col in cells for v in col if not v.isascii()):
                return None
            width = _cell_width
        widths = [max(width(v) for v in col) + 2 for col in cells]
        table_width = sum(widths) + len(columns) + 1
        if table_width > max_width:
            return None
        lines: list[str] = []
        title = self.title
        if title:
            if not isinstance(title, str) or not _plain_cell(title) \
                    or title != title.strip() or cell_len(title) > table_width:
                return None
            left = (table_width - cell_len(title)) // 2
            lines.append(" " * left + title + " " * (table_width - left - cell_len(title)))
        lines.append(_BOX.get_top(widths).rstrip("\n"))
        padded = []
        for col, w, c in zip(cells, widths, columns, strict=True):
            n = w - 2
            if width is len:
                padded.append([t.rjust(n) if c.justify == "right" else t.ljust(n) for t in col])
            elif c.justify == "right":
                padded.append([" " * (n - width(t)) + t for t in col])
            else:
                padded.append([t + " " * (n - width(t)) for t in col])
        rows = zip(*padded, strict=True)
        lines.append("┃ " + " ┃ ".join(next(rows)) + " ┃")
        lines.append(_BOX.get_row(widths, "head", edge=True).rstrip("\n"))
        lines.extend("│ " + " │ ".join(row) + " │" for row in rows)
        lines.append(_BOX.get_bottom(widths).rstrip("\n"))
        return "\n".join(lines) + "\n"

    def _plain_shape(self) -> bool:
        """Every option as a default ``Table(title=…)`` with ``add_column(label,
        justify="left" | "right")`` has it (what ``plain`` draws)."""
        return (bool(self.columns) and self.box is rich_box.HEAVY_HEAD and not self.caption
                and self.show_header and self.show_edge and not self.show_footer
                and not self.show_lines and not self.expand and self.width is None
                and self.min_width is None and self.padding == (0, 1, 0, 1)
                and self.pad_edge and not self.collapse_padding and not self.leading
                and not self.row_styles and self.title_justify == "center"
                and self.style == "none" and not self.border_style
                and self.header_style == "table.header" and not self.title_style
                and not self.highlight and self.safe_box is None
                and all(r.style is None and not r.end_section for r in self.rows)
                and all(_plain_column(c) for c in self.columns))


def _plain_column(c: rich_table.Column) -> bool:
    return (c.justify in ("left", "right") and c.width is None and c.min_width is None
            and c.max_width is None and c.ratio is None and not c.no_wrap
            and c.overflow == "ellipsis" and not c.style and not c.header_style
            and not c.footer and c.vertical == "top")


def _plain_cell(text: str) -> bool:
    """A cell rich lays out as written: printable, one line, no tab, no character of
    zero or ambiguous width, and no trailing space (a right-justified cell loses it)."""
    return (text.isprintable() and text == text.rstrip()
            and (text.isascii() or all(_simple_char(ch) for ch in text)))


def _cell_width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _simple_char(ch: str) -> bool:
    if ch.isascii() or ch == "—":
        return True
    return (not unicodedata.combining(ch) and unicodedata.east_asian_width(ch) in "NaH"
            and unicodedata.category(ch)[0] in "LNPS")


# markup and emoji off: names from the input are printed as written, never as rich
# markup (a holder named "[/x]" would otherwise crash every table)
out = SafeConsole(width=None if sys.stdout.isatty() else 160, markup=False, emoji=False)
# soft wrap: an error is one line, however long (never folded at the console width)
err = SafeConsole(stderr=True, width=None if sys.stderr.isatty() else 160, markup=False,
                  emoji=False, soft_wrap=True)


class Ctx:
    db: str | None = None
    database_url: str | None = None


CTX = Ctx()

IssuerOpt = Annotated[str | None, typer.Option(
    "--issuer", help="issuer stream (default: the ledger's only issuer, or 'default')")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="print CSV")]
AsRecordedOpt = Annotated[
    str | None, typer.Option("--as-recorded", help="ISO 8601 UTC time: what the ledger said then")
]
LastDayOpt = Annotated[
    str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: last effective date)")
]


Command = Callable[..., Any]


class Commands(list[tuple[str | None, Command]]):
    """The commands of one command module, in order: ``@COMMANDS()`` (the function's
    name) or ``@COMMANDS("export-ocf")``; ``ledger.cli.program`` registers them on the app."""

    def __call__(self, name: str | None = None) -> Callable[[Command], Command]:
        def register(fn: Command) -> Command:
            self.append((name, fn))
            return fn

        return register


def fail(code: int, message: str) -> typer.Exit:
    err.print(message, markup=False, highlight=False)
    return typer.Exit(code)


def where() -> str:
    """The store the options name, for messages (a URL without its password)."""
    from ledger.api import store_location

    try:
        return store_location(CTX.db, CTX.database_url)
    except ValueError:
        return CTX.database_url or CTX.db or "prefledger.db"


def open_ledger(create: bool = False) -> Ledger:
    """The ledger the options name. Only ``load``, ``import-ocf`` and ``demo`` create one
    (``create=True``); every other command on a missing ledger exits 2, creating
    nothing (a mistyped ``--db`` must not look like an empty ledger)."""
    from ledger.api import Ledger, NoLedger

    try:
        return Ledger.open(CTX.db, CTX.database_url, create=create)
    except NoLedger as exc:
        raise fail(2, f"error: {exc}") from None
    except ValueError as exc:
        raise fail(2, f"error: {exc}") from None
    except Exception as exc:
        if not _cannot_open(exc):
            raise
        one_line = " ".join(str(exc).split())
        raise fail(2, f"error: cannot open the ledger at {where()}: {one_line}") from None


def _cannot_open(exc: Exception) -> bool:
    """A store that cannot be reached or opened: the store library's error, an OS error,
    or a PostgreSQL driver error (psycopg is only looked at when something imported it:
    a SQLite ledger never loads the driver)."""
    from eventsourcing.persistence import PersistenceError

    if isinstance(exc, PersistenceError | OSError):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


@contextmanager
def creating_ledger() -> Iterator[Ledger]:
    """``open_ledger(create=True)``, for a command that writes a ledger it may create
    (``load``, ``import-ocf``): when the SQLite file did not exist before and the command
    fails, the file it created is removed, so a rejected first load leaves nothing
    behind (the ledger is exactly as it was: not there)."""
    url = CTX.database_url or os.environ.get("PREFLEDGER_DATABASE_URL")
    path = (CTX.db or "prefledger.db") if CTX.db is not None or not url else None
    fresh = path if path is not None and not os.path.exists(path) else None
    done = False
    try:
        with open_ledger(create=True) as lg:
            yield lg
        done = True
    finally:
        if fresh is not None and not done:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with suppress(FileNotFoundError):
                    os.remove(fresh + suffix)


def choose_issuer(lg: Ledger, issuer: str | None) -> str:
    """The issuer a report is about: the one named (it must be in the ledger), else the
    ledger's only issuer, else ``default`` if there is one (SPEC.md §10: ``--issuer``
    defaults to ``default``). Anything else exits 2 listing the issuers there are."""
    known = lg.issuers()
    listing = ", ".join(_issuer_order(known))
    if issuer is not None:
        if issuer in known:
            return issuer
        if not known:
            raise fail(2, f"error: no issuer {issuer!r} in this ledger; it holds no events")
        raise fail(2, f"error: no issuer {issuer!r} in this ledger; issuers: {listing}")
    if len(known) == 1:
        return known[0]
    if "default" in known:
        return "default"
    if not known:
        raise fail(2, f"error: the ledger at {where()} holds no events yet")
    raise fail(2, f"error: this ledger has {len(known)} issuers; choose one with --issuer: "
               f"{listing}")


def _issuer_order(names: list[str]) -> list[str]:
    """``default`` first (the issuer of events that name none), then by name."""
    return sorted(names, key=lambda n: (n != "default", n))


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
    from ledger.api import parse_as_recorded

    try:
        return parse_as_recorded(text)
    except (ValueError, OverflowError) as exc:
        why = ("outside the years 1 to 9999 in UTC" if "outside the years" in str(exc)
               else "not an ISO 8601 time")
        raise fail(2, f"error: --as-recorded {text!r}: {why}") from None


def series_report(report: Callable[..., dict[str, Any]], series: str, issuer: str | None,
                  as_of: str | None, as_recorded: str | None) -> dict[str, Any]:
    """A per-series report (``rates``, ``conversions``): ``report(series, issuer, day,
    recorded)`` on the open ledger; an unknown series is exit 2."""
    day = parse_day(as_of, "--as-of") if as_of is not None else None
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        try:
            return report(lg, series, issuer, day, t)
        except KeyError:
            raise fail(2, f"error: --series {series!r}: no such series for issuer "
                       f"{issuer!r}") from None


def emit_json(obj: Any) -> None:
    """``obj`` as JSON on stdout; control and format characters inside strings are
    written as ``\\uXXXX`` escapes (the same JSON, nothing a terminal acts on)."""
    sys.stdout.write(json_safe(json.dumps(obj, indent=2, ensure_ascii=False)) + "\n")


def output_format(as_json: bool, as_csv: bool) -> str:
    """``"json"``, ``"csv"`` or ``"table"``; both flags at once is exit 2."""
    if as_json and as_csv:
        raise fail(2, "error: choose one of --json and --csv")
    return "json" if as_json else "csv" if as_csv else "table"


def _cell(value: Any) -> str:
    """A CSV cell: numbers exactly as the JSON report writes them (strings), empty for
    null, ``true``/``false``, lists joined by ``+``, anything else as JSON; escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return shown("+".join(value), keep="\t\n")
    if isinstance(value, dict | list | tuple):
        return json_safe(json.dumps(value, ensure_ascii=False))
    return shown(str(value), keep="\t\n")


def emit_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None,
             first: Sequence[str] = (), file: Any = None) -> None:
    """Rows as CSV (the ``csv`` module, a header line first) on stdout or ``file``.
    ``columns``: the header; default ``first``, then every other key of the rows in
    order of appearance (a key a row lacks is an empty cell). Every ``--csv`` report
    uses it; several tables in one CSV: ``table_rows``."""
    rows = list(rows)
    if columns is None:
        seen: dict[str, None] = dict.fromkeys(first)
        for r in rows:
            for k in r:
                seen.setdefault(k, None)
        columns = list(seen)
    import csv  # here: only ``--csv`` writes it

    w = csv.writer(file or sys.stdout, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in columns])


def table_rows(*sections: tuple[str, Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Several tables as one CSV: each row gets a first column ``table`` naming its
    table (``("series", rows), ("holder", rows)``)."""
    return [{"table": name, **r} for name, rows in sections for r in rows]


#: problems a rejected load lists (then "… and N more problem(s)")
MAX_PROBLEMS_SHOWN = 100


def report_problems(exc: LedgerError) -> typer.Exit:
    err.print(f"rejected: {exc.total} problem(s); nothing was stored",
              markup=False, highlight=False)
    for p in exc.problems[:MAX_PROBLEMS_SHOWN]:
        err.print(f"  {p}", markup=False, highlight=False)
    more = exc.total - min(len(exc.problems), MAX_PROBLEMS_SHOWN)
    if more:
        err.print(f"  … and {more} more problem(s)", markup=False, highlight=False)
    return typer.Exit(2)


def write_error(path: Path | str, exc: BaseException) -> typer.Exit:
    """One line for a failed write: what, where, why (``no space left on device``)."""
    why = getattr(exc, "strerror", None) or str(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in str(exc):
        why = "no space left on device"  # SQLite says "database or disk is full"
    return fail(2, f"error: cannot write {str(path)!r}: {' '.join(str(why).split())}")


def writable_file(path: Path, what: str) -> None:
    """Exit 2 before any work when ``path`` cannot be a file to write: a directory, or
    in a directory that does not exist."""
    if path.is_dir():
        raise fail(2, f"error: cannot write {what} {str(path)!r}: it is a directory")
    parent = path.parent
    if not parent.exists():
        raise fail(2, f"error: cannot write {what} {str(path)!r}: the directory "
                   f"{str(parent)!r} does not exist")
    if not parent.is_dir():
        raise fail(2, f"error: cannot write {what} {str(path)!r}: {str(parent)!r} is not a "
                   "directory")


#: the load phases as the bar names them (``ledger.api.Progress``)
_PHASES = {"reading": "reading", "validating": "validating", "writing": "writing"}


def load_path(lg: Ledger, path: Path) -> None:
    """``load`` a file, with a progress bar on a terminal (stderr): reading and parsing,
    then validating, then writing."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    if not path.exists():
        raise fail(2, f"error: no such file {str(path)!r}")
    try:
        with Progress(TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("reading", total=None)

            def progress(phase: str, done: int, total: int | None) -> None:
                name = _PHASES.get(phase, phase)
                changed = bar.tasks[0].description != name
                bar.update(task, description=name, completed=done, total=total)
                if changed:  # each phase shows, however fast the one before it was
                    bar.refresh()

            res = lg.load_file(path, progress=progress)
    except LedgerError as exc:
        raise report_problems(exc) from None
    except UnicodeDecodeError as exc:
        raise fail(2, f"error: {path} is not UTF-8 text ({exc})") from None
    except OSError as exc:  # a directory, no permission, …
        raise fail(2, f"error: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    out.print(f"{res.appended} appended, {res.already_present} already present",
              highlight=False)
