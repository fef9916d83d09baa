"""OCF stakeholders -> the holder names the ledger uses (SPEC.md §10 ``import-ocf``).

prefledger knows a holder by name only (SPEC.md §3), so each stakeholder needs a legal
name no other stakeholder has; its id is how the package's transactions refer to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.ocf.comments import machine_lines
from ledger.ocf.context import ImportContext, Item


def read_stakeholders(ctx: ImportContext, items: Iterable[Item]) -> None:
    for it in items:
        read_stakeholder(ctx, it)


def read_stakeholder(ctx: ImportContext, it: Item) -> None:
    name = it.obj.get("name")
    legal = name.get("legal_name") if isinstance(name, dict) else None
    if not isinstance(legal, str) or not legal.strip():
        ctx.problem(it.file, it.id, "name.legal_name", "missing: prefledger knows holders "
                    "by this name")
        return
    if it.id in ctx.stakeholders:
        ctx.problem(it.file, it.id, "id", "two stakeholders have this id")
        return
    if legal in ctx.stakeholders.values():
        ctx.problem(it.file, it.id, "name.legal_name", f"another stakeholder is also "
                    f"named {legal!r}; prefledger knows holders by name")
        return
    ctx.stakeholders[it.id] = legal
    machine_lines(ctx, it.file, it.id, it.obj.get("comments"))
