"""CLI commands for audit (registered on ``ledger.cli.app``)."""

from __future__ import annotations

from .cli import app  # noqa: F401
