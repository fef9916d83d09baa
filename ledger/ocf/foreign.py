"""One object of a package written by another tool, checked against the OCF 1.2.0
schemas after its version step (``ledger.ocf.versions``).

What another tool writes is not always what the 1.2.0 schemas hold:

- a field the 1.2.0 schema of the object does not have (a later version's, or the
  tool's own) is not read: reported once per object type and field; when it carries
  shares or money (a number, an amount) it is reported for every object, with its value;
- an object type the file's 1.2.0 schema does not hold (a later version's, or one the
  1.2.0 release defines but leaves out of its file schema) is not imported and listed
  with its quantity, unless a step reads it without a schema
  (``versions.LATER_TYPES``);
- anything else the schema rejects is a problem, as for any package.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ledger.ocf.context import ImportContext, Item, object_id
from ledger.ocf.schema import is_numeric
from ledger.ocf.versions import LATER_TYPES, missing_fields

#: how an OCF object type is spelled (anything else is not one)
_OBJECT_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{1,80}$")


def carries_figures(value: Any, depth: int = 0) -> bool:
    """Does a field's value hold shares or money (an OCF Numeric or an amount)?"""
    if is_numeric(value) or isinstance(value, int | float) and not isinstance(value, bool):
        return True
    if depth > 8:
        return False
    if isinstance(value, dict):
        return any(carries_figures(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(carries_figures(v, depth + 1) for v in value)
    return False


def item_errors(ctx: ImportContext, name: str, ft: str, index: int, item: Any) -> bool:
    """Check one item of a file; True when it is kept (valid, perhaps with unknown
    fields taken out), False when it is not (a problem, or listed as not imported)."""
    assert ctx.schemas is not None
    ot = item.get("object_type") if isinstance(item, dict) else None
    oid = object_id(item, index)
    rid = ctx.schemas.item_schema(ft, ot)
    if rid is None:
        return _other_type(ctx, name, ft, index, item, ot, oid)
    errs = list(ctx.schemas.validator(rid).iter_errors(item))
    extra = [e for e in errs if e.validator == "additionalProperties"]
    if extra and len(extra) == len(errs):
        for e in extra:
            _strip(ctx, name, str(ot), oid, e)
        errs = list(ctx.schemas.validator(rid).iter_errors(item))
    for e in sorted(errs, key=lambda e: (_path(e.absolute_path), e.message)):
        msg = e.message if len(e.message) <= 300 else e.message[:297] + "..."
        ctx.problem(name, oid, _path(e.absolute_path) or "(object)", msg)
    return not errs


def file_errors(ctx: ImportContext, name: str, ft: str, doc: dict[str, Any]) -> None:
    """Check a file without its items (the manifest, a file's own fields): unknown
    fields taken out and reported as for an object, anything else a problem."""
    assert ctx.schemas is not None
    rid = ctx.schemas.by_file_type[ft]
    errs = list(ctx.schemas.validator(rid).iter_errors(doc))
    extra = [e for e in errs if e.validator == "additionalProperties"]
    if extra and len(extra) == len(errs):
        for e in extra:
            _strip(ctx, name, ft, ft, e)
        errs = list(ctx.schemas.validator(rid).iter_errors(doc))
    for e in sorted(errs, key=lambda e: (_path(e.absolute_path), e.message)):
        msg = e.message if len(e.message) <= 300 else e.message[:297] + "..."
        ctx.problem(name, ft, _path(e.absolute_path) or "(file)", msg)


def _other_type(ctx: ImportContext, name: str, ft: str, index: int, item: Any,
                ot: Any, oid: str) -> bool:
    if isinstance(ot, str) and ot in LATER_TYPES and isinstance(item, dict):
        miss = missing_fields(item)
        if miss:
            ctx.problem(name, oid, miss[0], f"missing: a {ot} has {', '.join(LATER_TYPES[ot])}")
            return False
        ctx.warn(name, oid, "object_type", f"{ot} is newer than OCF 1.2.0; read without "
                 "a 1.2.0 schema (its fields checked by prefledger)", key=("later", ot))
        return True
    if isinstance(ot, str) and _OBJECT_TYPE.match(ot) and isinstance(item, dict):
        q = item.get("quantity")
        shares = Decimal(q) if is_numeric(q) else None
        ctx.skip(Item(name, index, item), f"{ot} is not an object type a {ft} holds in "
                 "OCF 1.2.0; not read", shares=shares)
        ctx.warn(name, oid, "object_type", f"{ot} is not an object type a {ft} holds in "
                 f"OCF 1.2.0: every {ot} is listed as not imported", key=("type", ft, ot))
        return False
    ctx.problem(name, oid, "object_type", f"{str(ot)[:60]!r} is not an object type a {ft} "
                "may hold (OCF 1.2.0 file schema)")
    return False


def _strip(ctx: ImportContext, name: str, ot: str, oid: str, e: Any) -> None:
    """Take the fields an ``additionalProperties`` error names out of the object."""
    obj = e.instance
    if not isinstance(obj, dict):
        return
    schema = e.schema if isinstance(e.schema, dict) else {}
    known = set(schema.get("properties", {}))
    pats = [re.compile(p) for p in schema.get("patternProperties", {})]
    where = _path(e.absolute_path)
    for f in [k for k in obj if k not in known and not any(p.search(k) for p in pats)]:
        value = obj.pop(f)
        fld = f"{where}.{f}" if where else f
        ctx.warn(name, oid, fld, f"{ot} field {fld!r} is not in OCF 1.2.0: not read "
                 "(reported once for every object that has it)", key=("field", ot, fld))
        if carries_figures(value):
            shown = value if isinstance(value, str) else repr(value)[:120]
            ctx.warn(name, oid, fld, f"the field not read carries shares or money: "
                     f"{shown}", key=("figures", oid, fld))


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
