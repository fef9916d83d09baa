"""Bulk work (a load, a rebuild, a position): CPython's cyclic collector runs less often.

A load or a rebuild makes millions of small objects (parsed events, lots, amounts due,
projection rows) that live until it ends and form almost no reference cycles. At the
default thresholds the collector walks them again and again: about a fifth of a
100,000-event load, a sixth of a position of 2,000 holder rows (``benchmarks/``).
Reference counting still frees everything promptly; cycles are still collected, only
less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: allocations between two young-generation collections during bulk work (default 700)
THRESHOLD = 100_000


@contextmanager
def bulk() -> Iterator[None]:
    """Raise the collector's first threshold for the duration, then restore it."""
    old = gc.get_threshold()
    gc.set_threshold(max(THRESHOLD, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
