"""The ``--terms`` files of ``import-ocf``: series terms OCF has no field for (SPEC.md §4,
§10).

A file holds one Terms object, a list of them, or an object of them keyed by series. It
is read with the same bounds as a package file (a regular file, at most
``source.MAX_FILE_BYTES``, JSON at most ``safejson.MAX_JSON_DEPTH`` levels deep).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ledger.ocf import safejson
from ledger.ocf.context import ocf_problem
from ledger.ocf.source import Refused, read_file
from ledger.problems import LedgerError, Problem
from ledger.terms import Terms


def load_terms_files(paths: Iterable[Path]) -> list[Terms]:
    """Terms from ``--terms`` files: one Terms object, a list of them, or an object of
    them keyed by series (SPEC.md §4). Raises ``LedgerError`` naming file, series and field."""
    out: list[Terms] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            doc = safejson.loads(read_file(path, follow=True))
        except (Refused, ValueError) as exc:
            problems.append(ocf_problem(path.name, "(file)", "(file)",
                                        f"not a readable JSON file: {exc}"))
            continue
        if isinstance(doc, dict) and "series" in doc:
            objs: list[Any] = [doc]
        elif isinstance(doc, list):
            objs = doc
        elif isinstance(doc, dict):
            objs = list(doc.values())
        else:
            objs = [doc]
        for i, obj in enumerate(objs):
            sid = obj.get("series") if isinstance(obj, dict) else None
            where = str(sid) if isinstance(sid, str) else f"[{i}]"
            try:
                t = Terms.model_validate(obj)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    problems.append(ocf_problem(path.name, where, ".".join(
                        str(p) for p in err["loc"]) or "(terms)", err["msg"]))
                continue
            if any(x.series == t.series for x in out):
                problems.append(ocf_problem(path.name, where, "series",
                                            f"terms for Series {t.series} are given twice"))
                continue
            out.append(t)
    if problems:
        raise LedgerError(problems)
    return out
