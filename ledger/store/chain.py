"""The hash chain of an issuer's stream (SPEC.md §10 ``verify``).

Each stored event carries ``hash = SHA-256(canonical JSON of {issuer, position,
recorded_at, event, prev})`` where ``prev`` is the hash of the event before it in the
same issuer's stream (64 zeros for the first). Changing or deleting any stored event
breaks the chain at that event.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


#: one encoder for every call (``json.dumps`` with options builds a new one each time;
#: performance: two canonical encodings per stored event)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8 (the bytes of ``json.dumps(obj,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)``)."""
    return _CANONICAL.encode(obj).encode()


def link(issuer: str, position: int, recorded_at: str, payload: dict[str, Any], prev: str
         ) -> str:
    """The hash of one stored event, chained to ``prev``."""
    body = {"issuer": issuer, "position": position, "recorded_at": recorded_at,
            "event": payload, "prev": prev}
    return hashlib.sha256(canonical(body)).hexdigest()


def digest(payload: dict[str, Any]) -> str:
    """Content digest of an event's payload, for idempotency by ``id`` (SPEC.md §3)."""
    return hashlib.sha256(canonical(payload)).hexdigest()
