"""Import an Open Cap Format 1.2.0 package as ledger events (SPEC.md §10 ``import-ocf``).

The reading, step by step (each its own module):

1. ``package`` - find and read the package's files (a directory, a zip, a manifest or one
   OCF file) within the bounds of ``source`` and ``safejson``, check the manifest's md5
   checksums (a warning, or a problem with strict checksums), bring each file of another
   1.x version to the 1.2.0 shape (``versions``) and check it against the official
   schemas (``foreign``: unknown fields and object types reported, not rejected);
2. ``stakeholders`` - holders by name; ``classes`` - the common stock and each series
   with its terms (``--terms`` or the package's ``prefledger:terms`` lines);
   ``transactions`` - stock transactions as events; ``comments`` - the ``prefledger:``
   lines that carry what OCF has no field for;
3. ``plan`` - the events in load order, replayed in memory; what the ledger derives
   (conversion-ratio adjustments, automatic conversions) must match the package.

Every problem names the file, the object id and the field; with any problem nothing is
stored (exit 2). What is not imported (with its shares and reason) and the warnings are
in the plan's report, or in ``ImportRejected`` with the problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ledger.events import parse_object
from ledger.ocf.classes import read_classes
from ledger.ocf.context import ImportContext, Origin, Planned, ocf_problem
from ledger.ocf.package import collect
from ledger.ocf.plan import ImportPlan, ImportRejected, check_derived, make_plan, map_problems
from ledger.ocf.schema import Schemas, load_schemas
from ledger.ocf.stakeholders import read_stakeholders
from ledger.ocf.terms_files import load_terms_files
from ledger.ocf.transactions import read_transactions
from ledger.problems import LedgerError
from ledger.replay import replay
from ledger.state import Record
from ledger.terms import Terms

__all__ = ["ImportPlan", "ImportRejected", "Origin", "Planned", "import_package",
           "load_terms_files", "ocf_problem", "read_package"]


def read_package(path: Path, terms: Sequence[Terms] = (), issuer: str | None = None,
                 schemas: Schemas | None = None, schema_dir: Path | None = None,
                 strict_checksums: bool = False, skip_without_terms: bool = False
                 ) -> ImportPlan:
    """The events an OCF package stands for, validated by a pure replay.

    Raises ``ImportRejected`` (a ``LedgerError``) with every problem (file, object id,
    field) and what is not imported because of them. ``schemas``: the OCF schemas to
    check against (default: ``schema_dir`` or the shipped ones); ``strict_checksums``:
    an md5 that does not match is a problem, not a warning; ``skip_without_terms``: a
    preferred class without terms is listed as not imported (with its shares and every
    object naming it) instead of being a problem.
    """
    if schemas is None:
        schemas = load_schemas(schema_dir)
    ctx = ImportContext(terms, schemas, issuer)
    ctx.strict_checksums = strict_checksums
    ctx.skip_without_terms = skip_without_terms
    try:
        return _read(ctx, path)
    except LedgerError as exc:
        raise ImportRejected(exc.problems, ctx.warnings, ctx.skipped) from None


def _read(ctx: ImportContext, path: Path) -> ImportPlan:
    collect(ctx, path)
    read_stakeholders(ctx, ctx.items.get("OCF_STAKEHOLDERS_FILE", []))
    read_classes(ctx, ctx.items.get("OCF_STOCK_CLASSES_FILE", []))
    settle_classes(ctx)
    read_transactions(ctx, ctx.items.get("OCF_TRANSACTIONS_FILE", []))
    plan = make_plan(ctx)
    if ctx.problems:
        raise LedgerError(ctx.problems)
    records = []
    for n, ev in enumerate(plan.events, 1):
        got = parse_object(ev, n)
        if isinstance(got, list):
            ctx.problems.extend(map_problems(got, plan))
        else:
            records.append(Record(got, n, n))
    if ctx.problems:
        raise LedgerError(ctx.problems)
    st, found = replay(plan.issuer, records)
    ctx.problems.extend(map_problems(found, plan))
    check_derived(ctx, st)
    if ctx.problems:
        raise LedgerError(ctx.problems)
    return plan


def settle_classes(ctx: ImportContext) -> None:
    """A preferred class the ledger cannot take (no terms) is one problem; the objects
    naming it follow from it (listed as not imported because of it). With
    ``skip_without_terms`` the class itself is listed as not imported instead (its
    problem becomes a warning) and the rest of the package is read."""
    for it in ctx.items.get("OCF_STOCK_CLASSES_FILE", []):
        info = ctx.classes.get(it.id)
        if info is None or info.common or info.terms is not None:
            continue
        mine = [p for p in ctx.problems if p.file == it.file and p.event == it.id]
        text = "; ".join(p.message for p in mine) or "not imported"
        ctx.failed_classes[it.id] = f"stock class {it.id!r}: {text[:300]}"
        if not ctx.skip_without_terms:
            continue
        for p in mine:
            ctx.problems.remove(p)
            ctx.warnings.append(p)
        ctx.skip(it, f"a preferred class without terms ({text[:200]})", class_id=it.id)


def import_package(ledger: Any, path: Path, terms: Sequence[Terms] = (),
                   issuer: str | None = None, schema_dir: Path | None = None,
                   schemas: Schemas | None = None, strict_checksums: bool = False,
                   skip_without_terms: bool = False) -> tuple[ImportPlan, Any]:
    """Read the package and load its events atomically (SPEC.md §3: all or nothing)."""
    plan = read_package(path, terms, issuer, schemas=schemas, schema_dir=schema_dir,
                        strict_checksums=strict_checksums,
                        skip_without_terms=skip_without_terms)
    try:
        res = ledger.load_lines(plan.lines())
    except LedgerError as exc:
        raise ImportRejected(map_problems(exc.problems, plan), plan.warnings,
                             plan.skipped) from None
    return plan, res
