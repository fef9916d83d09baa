"""OCF stakeholders -> the holder names the ledger uses (SPEC.md §10 ``import-ocf``).

A package's transactions name a stakeholder by its id; the ledger knows a holder by
name (SPEC.md §3). Each stakeholder becomes the holder named by its legal name; two
stakeholders with the same legal name stay two holders, each named by its legal name
and its id (``Jane Doe [id-2]``), and the package's note says so. A stakeholder that
cannot be a holder (no usable legal name, an id used twice) is one problem; the
objects that name it are listed as not imported because of it, not reported again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ledger.events import RESERVED_HOLDER
from ledger.names import text_problem
from ledger.ocf.comments import machine_lines
from ledger.ocf.context import ImportContext, Item

#: the longest holder name the ledger takes
MAX_NAME = 200


def read_stakeholders(ctx: ImportContext, items: Iterable[Item]) -> None:
    got: list[tuple[Item, str]] = []
    for it in items:
        legal = read_stakeholder(ctx, it)
        if legal is not None:
            got.append((it, legal))
    same = Counter(legal for _, legal in got)
    for it, legal in got:
        if same[legal] > 1:
            name = f"{legal} [{it.id}]"
            if len(name) > MAX_NAME or text_problem(name, strict=True) is not None:
                fail(ctx, it, "id", f"{same[legal]} stakeholders are named {legal!r} and "
                     "this id cannot tell them apart in a holder name")
                continue
            ctx.warn(it.file, it.id, "name.legal_name", f"{same[legal]} stakeholders are "
                     f"named {legal!r}: each is a holder named by its legal name and its id",
                     key=("same name", legal))
            ctx.stakeholders[it.id] = name
        else:
            ctx.stakeholders[it.id] = legal


def fail(ctx: ImportContext, it: Item, fld: str, message: str) -> None:
    ctx.problem(it.file, it.id, fld, message)
    ctx.failed_stakeholders.setdefault(it.id, f"stakeholder {it.id!r}: {message}")


def read_stakeholder(ctx: ImportContext, it: Item) -> str | None:
    """A stakeholder's legal name, as a holder name; None (reported) if it has none."""
    name = it.obj.get("name")
    legal = name.get("legal_name") if isinstance(name, dict) else None
    if not isinstance(legal, str) or not legal.strip():
        fail(ctx, it, "name.legal_name", "missing: prefledger knows holders by this name")
        return None
    if it.id in ctx.stakeholders or any(x.id == it.id for x in ctx.seen_stakeholders):
        fail(ctx, it, "id", "two stakeholders have this id")
        return None
    ctx.seen_stakeholders.append(it)
    legal = legal.strip()
    why = text_problem(legal, strict=True)
    if why is not None or len(legal) > MAX_NAME or legal == RESERVED_HOLDER:
        fail(ctx, it, "name.legal_name", f"{legal[:60]!r} cannot be a holder name: "
             + (why or (f"{RESERVED_HOLDER!r} is reserved" if legal == RESERVED_HOLDER
                        else f"more than {MAX_NAME} characters")))
        return None
    machine_lines(ctx, it.file, it.id, it.obj.get("comments"))
    return legal
