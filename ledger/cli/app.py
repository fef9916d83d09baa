"""The ``prefledger`` command line: the app, its store options, and every command
module's commands registered in the order ``--help`` lists them.

Each command module holds the commands of one capability and imports only
``ledger.cli.options``; this module is the only one that knows them all.
"""

from __future__ import annotations

import functools
import sys
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


_MODULES = (loading, position, waterfall, dividends, conversions, audit, reporting, ocf,
            explain)
for _module in _MODULES:
    for _name, _fn in _module.COMMANDS:
        app.command(_name)(_store_errors(_fn))


#: the options of ``main`` that take a value (``--db FILE``)
_VALUED = ("--db", "--database-url")


def _command_named(argv: list[str]) -> str | None:
    """The command ``argv`` runs (``--db F position …`` -> ``"position"``), or ``None``
    when it runs none by name (``--help``, no command, a name that is no command)."""
    k = 0
    while k < len(argv):
        word = argv[k]
        if word in _VALUED:
            k += 2
        elif word.startswith(tuple(o + "=" for o in _VALUED)):
            k += 1
        elif word.startswith("-"):
            return None
        else:
            break
    else:
        return None
    names = {name or fn.__name__.replace("_", "-") for m in _MODULES for name, fn in m.COMMANDS}
    return argv[k] if argv[k] in names else None


@functools.cache
def one_command_app(name: str) -> typer.Typer:
    """The app with ``main`` and the one command ``name``: what ``prefledger NAME …``
    runs (the same options, messages and exit codes as ``app``), without building the
    other commands' options each time the program starts."""
    single = typer.Typer(add_completion=False, no_args_is_help=True, help=app.info.help)
    single.callback()(main)
    for m in _MODULES:
        for cmd, fn in m.COMMANDS:
            if (cmd or fn.__name__.replace("_", "-")) == name:
                single.command(cmd)(_store_errors(fn))
    return single


def app_for(argv: list[str]) -> typer.Typer:
    """The app that runs ``argv``: ``one_command_app`` of the command it names, else
    ``app`` (its help, its message for a name that is no command)."""
    name = _command_named(argv)
    return app if name is None else one_command_app(name)


def run() -> None:
    """The ``prefledger`` program (``app_for`` the command line)."""
    app_for(sys.argv[1:])()
