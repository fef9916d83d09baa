"""The event store and what lives beside it: one eventsourcing aggregate per issuer
(SQLite or PostgreSQL), the hash chain, ``verify`` and the as-of checkpoints."""

from ledger.store.eventstore import (
    ConcurrencyError,
    IssuerLedger,
    LedgerApplication,
    Store,
    StoredEvent,
    issuer_id,
    now_utc,
)

__all__ = [
    "ConcurrencyError",
    "IssuerLedger",
    "LedgerApplication",
    "Store",
    "StoredEvent",
    "issuer_id",
    "now_utc",
]
