"""The ``prefledger`` command line: the app, its store options, and every command
module's commands registered in the order ``--help`` lists them.

Each command module holds the commands of one capability and imports only
``ledger.cli.options``; this module is the only one that knows them all.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ledger.cli import (
    audit,
    conversions,
    dividends,
    explain,
    loading,
    ocf,
    position,
    reporting,
    waterfall,
)
from ledger.cli.options import CTX, err, fail

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="prefledger: an event-sourced ledger of preferred stock.")


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
    _show_store_warnings()


def _show_store_warnings() -> None:
    """A ``CheckpointWarning`` (a checkpoint ignored, the answer from the full log) is
    one line on stderr, ``warning: …``; other warnings show as Python shows them."""
    from ledger.store.checkpoints import CheckpointWarning

    shown = warnings.showwarning
    if getattr(shown, "prefledger", False):
        return

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if issubclass(category, CheckpointWarning):
            err.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)
        else:
            shown(message, category, filename, lineno, file, line)

    show.prefledger = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def _store_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A command that meets a stored row it cannot read as the ledger's own (a forged or
    damaged store: ``StoreError``) exits 2 with that one line, never a traceback."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from ledger.store import StoreError

        try:
            return fn(*args, **kwargs)
        except StoreError as exc:
            raise fail(2, f"error: {exc}") from None
    return run


for _module in (loading, position, waterfall, dividends, conversions, audit, reporting, ocf,
                explain):
    for _name, _fn in _module.COMMANDS:
        app.command(_name)(_store_errors(_fn))
