"""An OCF package's files: found, read within bounds, checked (SPEC.md §10
``import-ocf``).

``import-ocf PATH`` reads a package directory (the one ``.json`` manifest at its top), a
zip package (``.ocf.zip``: the manifest at its top or in its one top folder), a manifest
file, or one OCF file alone. The manifest's files are read only inside the package and
within the bounds of ``ledger.ocf.source`` (regular files, ``MAX_FILE_BYTES`` each,
``MAX_PACKAGE_BYTES`` in all) and ``ledger.ocf.safejson`` (a byte order mark allowed,
``MAX_JSON_DEPTH`` levels), each checked against its md5 in the manifest, and every file
against the official OCF schemas; the items that pass are kept by file type.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ledger.ocf import safejson, source, versions
from ledger.ocf.comments import manifest_comments
from ledger.ocf.context import ImportContext, Item, Skipped
from ledger.ocf.foreign import file_errors, item_errors
from ledger.ocf.schema import MANIFEST_LISTS
from ledger.ocf.source import Folder, Missing, Refused, ZipPackage, ZipRefused

#: OCF files prefledger has no use for (their objects are counted in a note)
IGNORED_FILES = ("OCF_STOCK_PLANS_FILE", "OCF_STOCK_LEGEND_TEMPLATES_FILE",
                 "OCF_VESTING_TERMS_FILE", "OCF_VALUATIONS_FILE", "OCF_FINANCINGS_FILE",
                 "OCF_DOCUMENTS_FILE")
MANIFEST = "OCF_MANIFEST_FILE"

Doc = dict[str, Any]


def collect(ctx: ImportContext, path: Path) -> None:
    """Read the package at ``path`` into ``ctx``: its files, their valid items, and the
    manifest's comment lines (each file checked as soon as it is read)."""
    renamed: Counter[str] = Counter()
    for name, doc in files(ctx, path):
        if doc.get("file_type") == MANIFEST and ctx.version is None:
            if not manifest_version(ctx, name, doc):
                return
        if ctx.version is None:  # a file read alone: every step (renames only)
            ctx.version = versions.read_version("(none)")
        renamed.update(versions.upgrade(doc, ctx.version))
        add_file(ctx, name, doc)
        if doc.get("file_type") == MANIFEST:
            manifest_comments(ctx, name, doc)
    for change, n in sorted(renamed.items()):
        ctx.notes.append(f"read in the OCF 1.2.0 shape: {change} ({n} object(s))")


def manifest_version(ctx: ImportContext, name: str, doc: Doc) -> bool:
    """The manifest's OCF version (how the files are read) and its date-time; False
    when the version is one prefledger does not read."""
    v = versions.read_version(doc.get("ocf_version"))
    if v.refused:
        ctx.problem(name, MANIFEST, "ocf_version", v.refused)
        return False
    ctx.version = v
    if v.note:
        ctx.notes.append(v.note)
    if "generated_at" in doc:
        why = versions.date_time_problem(doc.get("generated_at"))
        if why:
            ctx.problem(name, MANIFEST, "generated_at", why)
    return True


def decode(ctx: ImportContext, data: bytes, name: str, quiet: bool = False) -> Doc | None:
    """An OCF file's JSON object (``None`` if it is not one; reported unless quiet)."""
    try:
        doc = safejson.loads(data)
    except safejson.JsonTooDeep as exc:
        if not quiet:
            ctx.problem(name, "(file)", "(file)", f"not read: {exc}")
        return None
    except ValueError as exc:  # not UTF-8 or not JSON
        if not quiet:
            ctx.problem(name, "(file)", "(file)", f"not a JSON file: {exc}")
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("file_type"), str):
        if not quiet:
            ctx.problem(name, "(file)", "file_type", "an OCF file is a JSON object with "
                        "a file_type")
        return None
    return doc


def files(ctx: ImportContext, path: Path) -> Iterator[tuple[str, Doc]]:
    """``(name, doc)`` of each file of the package, manifest first; problems go to
    ``ctx`` as they are found."""
    label = path.name or str(path)
    if path.is_dir():
        yield from _directory(ctx, path, label)
        return
    try:  # the zip limit here; a JSON file is held to the file limit below
        f = source.open_regular(path, follow=True, limit=source.MAX_PACKAGE_BYTES)
    except Missing:
        ctx.problem(label, "(file)", "(file)", f"no such file or directory {str(path)!r}")
        return
    except Refused as exc:
        ctx.problem(label, "(file)", "(file)", f"{str(path)!r} {exc}")
        return
    with f:
        head = f.read(4)
        f.seek(0)
        if source.is_zip(path, head):
            yield from _zip(ctx, f, label)
            return
        try:
            size = os.fstat(f.fileno()).st_size
            if size > source.MAX_FILE_BYTES:
                raise Refused(source.too_big(size, source.MAX_FILE_BYTES))
            data = source.read_open(f)
        except Refused as exc:
            ctx.problem(label, "(file)", "(file)", f"{str(path)!r} {exc}")
            return
    doc = decode(ctx, data, label)
    if doc is None:
        return
    if doc.get("file_type") == MANIFEST:  # its package: the folder it is in
        yield from _package(ctx, Folder(path.parent), label, data, doc)
    else:
        ctx.notes.append(f"{label}: no manifest; this file is read alone")
        yield label, doc


def _package(ctx: ImportContext, pkg: source.Package, name: str, data: bytes, doc: Doc
             ) -> Iterator[tuple[str, Doc]]:
    """The manifest, then the files it lists."""
    try:
        pkg.budget.take(len(data))
    except Refused as exc:  # only with a package limit below the file limit
        ctx.problem(name, "(file)", "(file)", f"{name!r} {exc}")
        return
    yield name, doc
    yield from _listed(ctx, pkg, name, doc)


def _find_manifest(ctx: ImportContext, pkg: source.Package, label: str, what: str,
                   where: str) -> tuple[str, bytes, Doc] | None:
    """The one manifest among the ``.json`` files at the top of the package; else a
    problem (and one for each candidate that could not be read, which may be it)."""
    found: list[tuple[str, bytes, Doc]] = []
    skipped: list[tuple[str, str]] = []
    for name, key in pkg.scan():
        try:
            if isinstance(key, Refused):
                raise key
            data = pkg.read(key, keep=False)
        except Refused as exc:
            skipped.append((name, str(exc)))
            continue
        doc = decode(ctx, data, name, quiet=True)
        if doc is not None and doc.get("file_type") == MANIFEST:
            found.append((name, data, doc))
    if len(found) == 1:
        return found[0]
    if not found:
        text = "no OCF manifest (a .json file with file_type OCF_MANIFEST_FILE)"
        for name, why in skipped:
            ctx.problem(name, "(file)", "(file)", f"{name!r} {why}")
    else:
        text = (f"{len(found)} manifests ({', '.join(n for n, _, _ in found)}); import "
                "one of them by its path")
    ctx.problem(label, what, "file_type", f"{text} in {where}")
    return None


def _directory(ctx: ImportContext, path: Path, label: str) -> Iterator[tuple[str, Doc]]:
    folder = Folder(path)
    got = _find_manifest(ctx, folder, label, "(directory)", str(path))
    if got is not None:
        yield from _package(ctx, folder, *got)


def _zip(ctx: ImportContext, f: BinaryIO, label: str) -> Iterator[tuple[str, Doc]]:
    try:
        pkg = ZipPackage(f, label)
    except ZipRefused as exc:
        for member, fld, message in exc.problems:
            ctx.problem(label, member, fld, message)
        return
    except Refused as exc:
        ctx.problem(label, "(zip)", "(file)", f"{label!r} {exc}")
        return
    try:
        where = f"{label} (in its top folder {pkg.root})" if pkg.root else \
            f"{label} (at its top)"
        got = _find_manifest(ctx, pkg, label, "(zip)", where)
        if got is not None:
            yield from _package(ctx, pkg, *got)
    finally:
        pkg.close()


def _listed(ctx: ImportContext, pkg: source.Package, name: str, doc: Doc
            ) -> Iterator[tuple[str, Doc]]:
    """The files the manifest lists, each inside the package, read within bounds and
    checked against its md5 and its list's file type."""
    seen: set[str] = set()
    for list_key, ftype in MANIFEST_LISTS.items():
        entries = doc.get(list_key, [])
        if not isinstance(entries, list):
            continue  # the schema check reports it
        for i, e in enumerate(entries):
            fld = f"{list_key}[{i}]"
            fp = e.get("filepath") if isinstance(e, dict) else None
            if not isinstance(fp, str) or not fp:
                ctx.problem(name, MANIFEST, f"{fld}.filepath", "missing")
                continue
            try:
                key = pkg.locate(fp)
                if key in seen:
                    ctx.problem(name, MANIFEST, f"{fld}.filepath", f"{fp!r} is listed twice")
                    continue
                seen.add(key)
                data = pkg.read(key)
            except Missing:
                ctx.warn(name, MANIFEST, f"{fld}.filepath",
                         f"no such file {fp[:200]!r} beside the manifest: not read")
                ctx.skipped.append(Skipped(name, f"{fld}.filepath", ftype,
                                           f"the listed file {fp[:200]!r} is missing"))
                continue
            except Refused as exc:
                ctx.problem(name, MANIFEST, f"{fld}.filepath", f"{fp[:200]!r} {exc}")
                continue
            given = e.get("md5") if isinstance(e, dict) else None
            actual = hashlib.md5(data).hexdigest()  # noqa: S324 - OCF's file checksum
            if not isinstance(given, str) or given.lower() != actual:
                ctx.checksum(name, MANIFEST, f"{fld}.md5",
                             f"md5 {given!r} does not match {fp!r} (its md5 is {actual})")
            fname = Path(fp).name
            sub = decode(ctx, data, fname)
            if sub is None:
                continue
            if sub.get("file_type") != ftype:
                ctx.problem(fname, str(sub.get("file_type"))[:60], "file_type",
                            f"listed in the manifest's {list_key}, so it must be {ftype}")
                continue
            yield fname, sub


def add_file(ctx: ImportContext, name: str, doc: Doc) -> None:
    """Check a file against the OCF schemas and keep its valid items."""
    ft = str(doc.get("file_type"))
    ctx.files.append((name, doc))
    bad: set[int] = set()
    items = doc.get("items")
    if ctx.schemas is not None:
        if ft not in ctx.schemas.by_file_type:
            ctx.problem(name, ft[:60], "file_type", f"unknown OCF file_type {ft[:60]!r}")
            return
        shell = {k: v for k, v in doc.items() if k != "items"}
        if isinstance(items, list):
            shell["items"] = []
        elif "items" in doc:
            shell["items"] = items
        file_errors(ctx, name, ft, shell)
        for k, v in shell.items():  # fields taken out of the shell leave the file too
            if k != "items":
                doc[k] = v
        for k in [k for k in doc if k not in shell and k != "items"]:
            del doc[k]
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not item_errors(ctx, name, ft, i, item):
                bad.add(i)
    elif ft == MANIFEST or ft in IGNORED_FILES:
        pass
    elif not isinstance(items, list):
        ctx.problem(name, ft[:60], "items", "must be a list of objects")
        return
    if ft == MANIFEST:
        return
    if ft in IGNORED_FILES:
        n = len(items) if isinstance(items, list) else 0
        ctx.notes.append(f"{name}: {n} object(s) of {ft} not used by prefledger")
        return
    for i, item in enumerate(items if isinstance(items, list) else []):
        if i in bad:
            continue
        if not isinstance(item, dict):
            ctx.problem(name, f"items[{i}]", "(object)", "must be a JSON object")
            continue
        ctx.items.setdefault(ft, []).append(Item(name, i, item))
