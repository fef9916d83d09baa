"""The command line (``prefledger``): a thin layer over ``ledger.api``.

``app`` is the whole typer app (``ledger.cli.program.whole_app``); ``run`` is the
program, which imports only the command it runs."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["app", "run"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'ledger.cli' has no attribute {name!r}")
    program = importlib.import_module("ledger.cli.program")
    return program.whole_app() if name == "app" else program.run
