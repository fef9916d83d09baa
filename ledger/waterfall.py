"""Liquidation waterfall (SPEC.md §8) — placeholder replaced by the full implementation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .state import IssuerState


def distribute(st: IssuerState, on: dt.date, proceeds: Decimal) -> object:
    raise NotImplementedError
