"""Work done in a forked copy of this process, its result sent back through a pipe.

A big load validates each new issuer's timeline on its own (``Ledger._append``): with a
second core, a forked child replays part of the issuers while this process replays the
rest and stages the rows (performance only; the answers are the ones a single process
gives: the child runs the same code on a copy of the same data). The child touches no
database connection (it only computes), writes its result to the pipe, and leaves with
``os._exit``: no cleanup of the parent's resources runs in it.

The result travels pickled between two copies of this process (never stored, never
read from anyone else). Any failure of the child (an exception, a signal, a truncated
result) is ``ForkFailed``, and the caller does the work itself.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable
from typing import Any


class ForkFailed(Exception):
    """The child did not deliver its result (the caller then does the work itself)."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def available() -> bool:
    """Whether work can be forked off to another core here: a second core, and no other
    thread (a lock another thread holds at the fork stays held in the child)."""
    import threading

    return hasattr(os, "fork") and cores() > 1 and threading.active_count() == 1


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the child
    """Have the kernel end this child when its parent ends (Linux ``PR_SET_PDEATHSIG``):
    a killed load leaves no child computing for nobody."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent ended before that took effect
        os._exit(1)


class Forked:
    """``work()`` running in a forked child; ``result()`` waits for its return value."""

    def __init__(self, work: Callable[[], Any]) -> None:
        r, w = os.pipe()
        parent = os.getpid()
        gc.freeze()  # the child's collections leave the shared pages shared (memory)
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            os.close(r)
            os.close(w)
            raise ForkFailed("cannot fork") from None
        if pid == 0:  # pragma: no cover - the child (its coverage is not collected)
            os.close(r)
            _die_with(parent)
            code = 0
            try:
                try:
                    data = pickle.dumps(("ok", work()), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:  # noqa: BLE001 - reported to the parent
                    data = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"[:500]))
                with os.fdopen(w, "wb") as out:
                    out.write(data)
            except BaseException:  # noqa: BLE001 - the parent sees a failed child
                code = 1
            finally:
                os._exit(code)
        gc.unfreeze()
        os.close(w)
        self.pid: int | None = pid
        self.fd = r

    def result(self) -> Any:
        """The child's return value; ``ForkFailed`` if it failed in any way."""
        if self.pid is None:
            raise ForkFailed("already collected")
        try:
            with os.fdopen(self.fd, "rb") as fh:
                data = fh.read()
        finally:
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
        if status != 0 or not data:
            raise ForkFailed(f"the child ended with status {status}")
        try:
            kind, value = pickle.loads(data)  # noqa: S301 - our own child's bytes
        except Exception as exc:  # noqa: BLE001 - truncated
            raise ForkFailed(f"the child's result is unreadable ({exc})") from None
        if kind != "ok":
            raise ForkFailed(str(value))
        return value

    def close(self) -> None:
        """Stop the child if its result was not collected (the caller failed first)."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - it had just ended
            pass
        try:
            os.close(self.fd)
        except OSError:  # pragma: no cover
            pass
        os.waitpid(self.pid, 0)
        self.pid = None
