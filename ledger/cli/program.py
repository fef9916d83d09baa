"""The ``prefledger`` program: its store options (``main``), every command module's
commands in the order ``--help`` lists them, and ``run``, which builds the whole app
(``whole_app``) or only the command the command line names (``one_command_app``).

Each command module holds the commands of one capability and imports only
``ledger.cli.options``; this module is the only one that knows them all, by name
(``COMMAND_MODULES``), so a command starts without importing the others.
"""

from __future__ import annotations

import functools
import importlib
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Any

import typer

from ledger.cli.options import CTX, err, fail

HELP = "prefledger: an event-sourced ledger of preferred stock."

#: the command modules in the order ``--help`` lists their commands, and the commands of
#: each (a test checks them against each module's ``COMMANDS``)
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "loading": ("load",),
    "position": ("position", "demo"),
    "waterfall": ("waterfall",),
    "dividends": ("rates", "check"),
    "conversions": ("conversions",),
    "audit": ("history", "issuers", "verify"),
    "reporting": ("rebuild", "export", "rollforward", "chart"),
    "ocf": ("export-ocf", "import-ocf"),
    "explain": ("explain",),
}


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


def command_module(module: str) -> ModuleType:
    """The command module ``ledger.cli.<module>`` (one of ``COMMAND_MODULES``)."""
    return importlib.import_module(f"ledger.cli.{module}")


def _new_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
    app.callback()(main)
    return app


@functools.cache
def whole_app() -> typer.Typer:
    """The app with every command (``ledger.cli.app``)."""
    app = _new_app()
    for module in COMMAND_MODULES:
        for name, fn in command_module(module).COMMANDS:
            app.command(name)(_store_errors(fn))
    return app


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
    return argv[k] if any(argv[k] in names for names in COMMAND_MODULES.values()) else None


@functools.cache
def one_command_app(name: str) -> typer.Typer:
    """The app with ``main`` and the one command ``name``: what ``prefledger NAME …``
    runs (the same options, messages and exit codes as ``whole_app``), without
    importing the other command modules or building their options."""
    app = _new_app()
    for module, names in COMMAND_MODULES.items():
        if name in names:
            for cmd, fn in command_module(module).COMMANDS:
                if (cmd or fn.__name__.replace("_", "-")) == name:
                    app.command(cmd)(_store_errors(fn))
    return app


def app_for(argv: list[str]) -> typer.Typer:
    """The app that runs ``argv``: ``one_command_app`` of the command it names, else
    ``whole_app`` (its help, its message for a name that is no command)."""
    name = _command_named(argv)
    return whole_app() if name is None else one_command_app(name)


def run() -> None:
    """The ``prefledger`` program (``app_for`` the command line)."""
    app_for(sys.argv[1:])()
