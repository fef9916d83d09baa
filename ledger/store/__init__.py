"""The event store and what lives beside it: one eventsourcing aggregate per issuer
(SQLite or PostgreSQL), the hash chain, ``verify`` and the as-of checkpoints.

``StoreError`` (a ``ValueError``) is raised for a store that cannot be opened or read as
a ledger; ``ledger.store.checkpoints.CheckpointWarning`` is warned when a checkpoint is
ignored."""

from ledger.store.eventstore import (
    ConcurrencyError,
    IssuerLedger,
    LedgerApplication,
    Store,
    StoredEvent,
    StoreError,
    issuer_id,
    now_utc,
)

__all__ = [
    "ConcurrencyError",
    "IssuerLedger",
    "LedgerApplication",
    "Store",
    "StoreError",
    "StoredEvent",
    "issuer_id",
    "now_utc",
]
