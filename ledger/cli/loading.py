"""``load``: validate a JSON Lines file and append it atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import (
    Commands,
    creating_ledger,
    load_path,
)

COMMANDS = Commands()


@COMMANDS()
def load(file: Annotated[Path, typer.Argument(help="events, one JSON object per line")]) -> None:
    """Validate a JSON Lines file of events and append it atomically (all or nothing)."""
    with creating_ledger() as lg:
        load_path(lg, file)


