"""prefledger: an event-sourced ledger of the preferred stock lifecycle.

What a user imports comes from here::

    from ledger import Ledger, LedgerError

    with Ledger.open("prefledger.db") as lg:
        lg.load_file("events.jsonl")

The names load on first use, so importing the pure core (``ledger.replay``,
``ledger.terms``, …) never imports the store, the command line or their libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it
_EXPORTS = {
    # the API (composes the store, the replay and the reports)
    "Ledger": "ledger.api",
    "LoadResult": "ledger.api",
    "parse_as_recorded": "ledger.api",
    # problems: one type for every rejection, and the error that carries them
    "Problem": "ledger.problems",
    "Rejected": "ledger.problems",
    "LedgerError": "ledger.problems",
    # the store: what cannot be opened or read (a ValueError), a checkpoint ignored
    "StoreError": "ledger.store.eventstore",
    "CheckpointWarning": "ledger.store.checkpoints",
    # the pure core: events and terms in, the state as of a date out
    "parse_line": "ledger.events",
    "parse_object": "ledger.events",
    "Terms": "ledger.terms",
    "Record": "ledger.state",
    "IssuerState": "ledger.state",
    "replay": "ledger.replay",
    "distribute": "ledger.waterfall",
    "check": "ledger.checks",
    # report builders (pure)
    "position": "projections.position",
    "rollforward": "projections.rollforward",
    "project_issuer": "projections.tables",
    "trail": "projections.history",
    "explain": "projections.explain",
    "Explanation": "projections.explain",
    "ExplainError": "projections.explain",
}

__all__ = [
    "CheckpointWarning",
    "ExplainError",
    "Explanation",
    "IssuerState",
    "Ledger",
    "LedgerError",
    "LoadResult",
    "Problem",
    "Record",
    "Rejected",
    "StoreError",
    "Terms",
    "check",
    "distribute",
    "explain",
    "parse_as_recorded",
    "parse_line",
    "parse_object",
    "position",
    "project_issuer",
    "replay",
    "rollforward",
    "trail",
]

if TYPE_CHECKING:
    from ledger.api import Ledger, LoadResult, parse_as_recorded
    from ledger.checks import check
    from ledger.events import parse_line, parse_object
    from ledger.problems import LedgerError, Problem, Rejected
    from ledger.replay import replay
    from ledger.state import IssuerState, Record
    from ledger.store.checkpoints import CheckpointWarning
    from ledger.store.eventstore import StoreError
    from ledger.terms import Terms
    from ledger.waterfall import distribute
    from projections.explain import ExplainError, Explanation, explain
    from projections.history import trail
    from projections.position import position
    from projections.rollforward import rollforward
    from projections.tables import project_issuer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
