"""The command line (``prefledger``): a thin layer over ``ledger.api``."""

from ledger.cli.app import app, run

__all__ = ["app", "run"]
