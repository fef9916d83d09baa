"""Bytes set aside on disk while a big load runs.

A load of a whole history keeps, until it has written, every issuer's rows (packed) and
the checkpoints its validation took (``ledger.store.checkpoints.Capture``): at a million
events, 160 MB of checkpoint states, more than anything else it holds. A load of a file
read twice (``ledger.api.STREAM_BYTES``) puts those states in a ``Spill``, an unnamed
temporary file, and reads each back when it writes that issuer's checkpoints. Each piece
is read back only if its SHA-256 is the one it was put with.
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO


class SpillDamaged(Exception):
    """A piece read back is not what was put (the temporary file changed or failed)."""


class Spill:
    """An append-only temporary file of byte strings, each read back by its place."""

    def __init__(self) -> None:
        self._fh: IO[bytes] = tempfile.TemporaryFile(prefix="prefledger-spill-")
        self._end = 0

    def put(self, data: bytes) -> tuple[int, int, bytes]:
        """Keep ``data``; returns its place (offset, length, SHA-256)."""
        self._fh.seek(self._end)
        self._fh.write(data)
        at = (self._end, len(data), hashlib.sha256(data).digest())
        self._end += len(data)
        return at

    def get(self, at: tuple[int, int, bytes]) -> bytes:
        """The bytes kept at ``at``; ``SpillDamaged`` if they are not those put there."""
        offset, length, digest = at
        self._fh.seek(offset)
        data = self._fh.read(length)
        if len(data) != length or hashlib.sha256(data).digest() != digest:
            raise SpillDamaged(f"{length} bytes at {offset}")
        return data

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
