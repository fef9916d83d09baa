"""OCF packages written by other tools: does each import, and do its shares add up?

    python -m benchmarks.ocf_samples PATH [PATH ...] [--terms FILE]...
                                     [--skip-classes-without-terms]

Each PATH is a package directory, a manifest or an ``.ocf.zip``. For each one, the
package is imported into a fresh temporary SQLite ledger (``import_package``, as
``import-ocf`` does) and its own share totals are computed independently, straight from
its JSON (this module does not use the importer's reading of it):

- every ``TX_STOCK_ISSUANCE`` adds its quantity to (stock class id, stakeholder id),
  except the resulting and balance securities of stock transactions;
- a transfer, repurchase or cancellation takes its ``quantity`` from the source
  security's class and stakeholder, a conversion its ``quantity_converted``; a
  reissuance, retraction or consolidation the whole source security;
- the resulting securities of a transfer, conversion, reissuance or consolidation add
  their quantities to their own class and stakeholder (a balance security is the
  remainder the holder keeps, so it is not counted again).

The ledger's figures are the position far in the future (every holder's shares by
series, common by holder); with the report of what was not imported (each object's
effect on the shares) added, each (class, stakeholder) must equal the package's own
total. Printed per package: version, objects, imported events, not imported (by
reason), totals equal (yes/no) and the time the import took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

Key = tuple[str | None, str | None]

SOURCE_QTY = {"TX_STOCK_TRANSFER": "quantity", "TX_STOCK_REPURCHASE": "quantity",
              "TX_STOCK_CANCELLATION": "quantity", "TX_STOCK_CONVERSION": "quantity_converted",
              "TX_STOCK_REISSUANCE": None, "TX_STOCK_RETRACTION": None}
WITH_RESULTS = ("TX_STOCK_TRANSFER", "TX_STOCK_CONVERSION", "TX_STOCK_REISSUANCE",
                "TX_STOCK_CONSOLIDATION")
LISTS = ("stakeholders_files", "stock_classes_files", "transactions_files")


def _files(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The manifest and the package's stakeholder, class and transaction files."""
    members: dict[str, bytes] = {}
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                if n.endswith(".json") and not n.startswith("__MACOSX/"):
                    members[n.rsplit("/", 1)[-1]] = z.read(n)
    else:
        folder = path if path.is_dir() else path.parent
        for p in folder.glob("*.json"):
            members[p.name] = p.read_bytes()
    docs = {n: json.loads(io.TextIOWrapper(io.BytesIO(b), encoding="utf-8-sig").read())
            for n, b in members.items()}
    manifest = next(d for d in docs.values() if d.get("file_type") == "OCF_MANIFEST_FILE")
    out = []
    for key in LISTS:
        for e in manifest.get(key, []):
            name = e["filepath"].rsplit("/", 1)[-1]
            if name in docs:
                out.append(docs[name])
    return manifest, out


def package_totals(path: Path) -> tuple[str, int, dict[Key, Decimal]]:
    """(declared version, number of objects, shares by (class id, stakeholder id))."""
    manifest, docs = _files(path)
    items = [i for d in docs for i in d.get("items", [])]
    txs = [i for i in items if str(i.get("object_type", "")).startswith("TX_")]
    first: dict[str, dict[str, Any]] = {}
    for t in txs:
        if t["object_type"] == "TX_STOCK_ISSUANCE":
            first.setdefault(t["security_id"], t)
    derived: set[str] = set()
    for t in txs:
        if t["object_type"] in SOURCE_QTY or t["object_type"] == "TX_STOCK_CONSOLIDATION":
            derived.update(t.get("resulting_security_ids", []))
            derived.update(x for x in (t.get("balance_security_id"),
                                       t.get("resulting_security_id")) if x)
    totals: dict[Key, Decimal] = defaultdict(Decimal)

    def at(sid: str | None) -> tuple[Key, Decimal]:
        iss = first.get(sid) if sid else None
        if iss is None:
            return (None, None), Decimal(0)
        return (iss["stock_class_id"], iss["stakeholder_id"]), Decimal(iss["quantity"])

    for t in txs:
        ot = t["object_type"]
        if ot == "TX_STOCK_ISSUANCE":
            if t["security_id"] not in derived:
                totals[(t["stock_class_id"], t["stakeholder_id"])] += Decimal(t["quantity"])
            continue
        if ot in SOURCE_QTY:
            key, whole = at(t.get("security_id"))
            qf = SOURCE_QTY[ot]
            totals[key] -= Decimal(t[qf]) if qf and qf in t else whole
        if ot == "TX_STOCK_CONSOLIDATION":
            for sid in t.get("security_ids", []):
                key, whole = at(sid)
                totals[key] -= whole
        if ot in WITH_RESULTS:
            res = list(t.get("resulting_security_ids", []))
            if t.get("resulting_security_id"):
                res.append(t["resulting_security_id"])
            for r in res:
                key, q = at(r)
                totals[key] += q
    return str(manifest.get("ocf_version")), len(items), {
        k: v for k, v in totals.items() if v != 0}


def ledger_totals(plan: Any, position: dict[str, Any]) -> dict[Key, Decimal]:
    """The ledger's shares by (class id, stakeholder id), plus what was not imported."""
    class_of = {s: c for c, s in plan.series_of.items()}
    holder_of = {h: s for s, h in plan.holder_of.items()}
    got: dict[Key, Decimal] = defaultdict(Decimal)
    for h in position["holders"]:
        series = h["series"]
        key = (class_of.get(series, series), holder_of.get(h["holder"], h["holder"]))
        got[key] += Decimal(h["shares"])
    if not any(h["series"] == "common" for h in position["holders"]):
        common = Decimal(position.get("common_outstanding") or 0)
        if common:
            got[(class_of.get("common"), None)] += common
    for s in plan.skipped:
        for c, sh, q in s.effects:
            got[(c, sh)] += q
    return {k: v for k, v in got.items() if v != 0}


def run_one(path: Path, terms: list[Path] | None = None, skip: bool = False
            ) -> dict[str, Any]:
    from ledger.api import Ledger
    from ledger.ocf.importer import import_package, load_terms_files
    from ledger.problems import LedgerError

    given = load_terms_files(terms or [])
    version, objects, own = package_totals(path)
    with tempfile.TemporaryDirectory() as d:
        lg = Ledger.open(f"{d}/ledger.db", None, create=True)
        started = time.perf_counter()
        try:
            plan, res = import_package(lg, path, given, skip_without_terms=skip)
        except LedgerError as exc:
            secs = time.perf_counter() - started
            skipped = getattr(exc, "skipped", [])
            return {"package": str(path), "version": version, "objects": objects,
                    "imported": "rejected", "not_imported": _reasons(skipped),
                    "equal": "no", "seconds": secs,
                    "problems": [str(p) for p in exc.problems]}
        secs = time.perf_counter() - started
        pos = lg.position(dt.date(2999, 12, 31), plan.issuer)
    mine = ledger_totals(plan, pos)
    return {"package": str(path), "version": version, "objects": objects,
            "imported": res.appended, "not_imported": _reasons(plan.skipped),
            "equal": "yes" if mine == own else "no", "seconds": secs,
            "own": {f"{k}": str(v) for k, v in own.items()},
            "ledger": {f"{k}": str(v) for k, v in mine.items()}}


def _reasons(skipped: list[Any]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for s in skipped:
        why = s.because or s.reason
        out[why.split(":")[0][:70]] += 1
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--terms", action="append", type=Path, default=[],
                    help="series terms for preferred classes (as import-ocf --terms)")
    ap.add_argument("--skip-classes-without-terms", action="store_true",
                    help="as import-ocf: such a class is listed as not imported")
    args = ap.parse_args(argv)
    rows = [run_one(p, args.terms, args.skip_classes_without_terms) for p in args.paths]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| package | version | objects | imported | not imported (by reason) | "
          "totals equal | time |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        reasons = "; ".join(f"{n}× {w}" for w, n in sorted(r["not_imported"].items(),
                                                            key=lambda x: -x[1]))
        print(f"| {r['package']} | {r['version']} | {r['objects']} | {r['imported']} | "
              f"{sum(r['not_imported'].values())}: {reasons} | {r['equal']} | "
              f"{r['seconds']:.2f}s |")
        for p in r.get("problems", [])[:3]:
            print(f"|  | rejected: {p[:150]} | | | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
