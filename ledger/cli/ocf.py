"""CLI commands for Open Cap Format 1.2.0 (SPEC.md §10): ``export-ocf`` and ``import-ocf``.

Every package written or read is validated offline against the official OCF 1.2.0
schemas shipped with the package (or the copy named by ``--ocf-schemas`` /
``PREFLEDGER_OCF_SCHEMAS``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.options import (
    Commands,
    IssuerOpt,
    choose_issuer,
    creating_ledger,
    emit_json,
    err,
    fail,
    open_ledger,
    out,
    parse_day,
    write_error,
)
from ledger.ocf.schema import (
    ENV_SCHEMAS,
    SchemaDirError,
    Schemas,
    default_schema_dir,
    load_schemas,
)
from ledger.problems import LedgerError

SchemasOpt = Annotated[
    Path | None,
    typer.Option("--ocf-schemas", envvar=ENV_SCHEMAS,
                 help="directory of the OCF 1.2.0 schemas (default: those shipped)"),
]

COMMANDS = Commands()


@COMMANDS("export-ocf")
def export_ocf(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, end of day")],
    to: Annotated[Path, typer.Option("--to", help="directory to write the package into")],
    issuer: IssuerOpt = None,
    legal_name: Annotated[str | None, typer.Option(
        "--legal-name", help="issuer legal name (default: the issuer stream name)")] = None,
    formation_date: Annotated[str | None, typer.Option(
        "--formation-date", help="YYYY-MM-DD (default: the date of the first event)")] = None,
    country: Annotated[str, typer.Option("--country", help="country of formation")] = "US",
    subdivision: Annotated[str | None, typer.Option(
        "--subdivision", help="state of formation, e.g. DE")] = None,
    ocf_schemas: SchemasOpt = None,
    common_authorized: Annotated[str | None, typer.Option(
        "--common-authorized", help="authorized common shares, written in the common "
        "stock class (the ledger does not track them; default: NOT APPLICABLE)")] = None,
) -> None:
    """Write an OCF 1.2.0 package (manifest, stakeholders, stock classes, transactions)."""
    from ledger.ocf.export import build_package, validate_package, write_package

    day = parse_day(as_of, "--as-of")
    authorized = _authorized(common_authorized)
    formed = parse_day(formation_date, "--formation-date") if formation_date else None
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise fail(2, f"error: --country {country!r} is not an ISO 3166-1 alpha-2 code like US")
    _new_directory(to)
    with open_ledger() as lg:
        issuer = choose_issuer(lg, issuer)
        records = lg.records(issuer)
    if not records:
        raise fail(2, f"error: issuer {issuer!r} has no events")
    try:
        pkg = build_package(records, issuer, day, legal_name=legal_name,
                            formation_date=formed, country=country, subdivision=subdivision,
                            common_authorized=authorized)
    except ValueError as exc:
        raise fail(2, f"error: --common-authorized: {exc}") from None
    schemas = _schemas(ocf_schemas)
    errors = validate_package(pkg, schemas)
    if errors:
        for name, e in errors:
            err.print(f"invalid: {name} {e.path}: {e.message}", markup=False,
                      highlight=False)
        raise typer.Exit(1)
    try:
        write_package(pkg, to)
    except OSError as exc:
        raise write_error(exc.filename or to, exc) from None
    n = {name: len(doc.get("items", [])) for name, doc in pkg.files.items()}
    out.print(f"wrote {len(pkg.files)} files to {to} as of {day}: "
              f"{n['Stakeholders.ocf.json']} stakeholders, {n['StockClasses.ocf.json']} stock "
              f"classes, {n['Transactions.ocf.json']} transactions", markup=False,
              highlight=False)
    where = ocf_schemas or default_schema_dir()
    out.print(f"validated against the OCF 1.2.0 schemas in {where}", markup=False,
              highlight=False)


def _authorized(text: str | None) -> Decimal | None:
    """``--common-authorized``: a whole number of shares above zero."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 30 or int(text) == 0:
        raise fail(2, f"error: --common-authorized {text[:40]!r} is not a whole number of "
                   "shares above zero")
    return Decimal(text)


def _new_directory(to: Path) -> None:
    """``--to`` must be a new or empty directory: a package is never written over a
    file, nor mixed with files already there."""
    if to.exists() and not to.is_dir():
        raise fail(2, f"error: --to {str(to)!r} is a file; give a new or empty directory")
    if to.is_dir() and any(to.iterdir()):
        raise fail(2, f"error: --to {str(to)!r} is not empty; give a new or empty directory")


def _schemas(directory: Path | None) -> Schemas:
    try:
        return load_schemas(directory)
    except SchemaDirError as exc:
        raise fail(2, f"error: --ocf-schemas: {exc}") from None


@COMMANDS("import-ocf")
def import_ocf(
    path: Annotated[Path, typer.Argument(
        help="package directory, zip package (.ocf.zip), manifest or one OCF file")],
    terms: Annotated[list[Path] | None, typer.Option(
        "--terms", help="series terms OCF lacks (Terms JSON; repeatable)")] = None,
    issuer: Annotated[str | None, typer.Option(
        "--issuer", help="issuer stream (default: the one the package was exported from, "
        "else 'default')")] = None,
    strict_checksums: Annotated[bool, typer.Option(
        "--strict-checksums", help="reject a package whose manifest md5 does not match a "
        "file (default: a warning)")] = False,
    skip_without_terms: Annotated[bool, typer.Option(
        "--skip-classes-without-terms", help="list a preferred class that has no terms "
        "(and every object naming it) as not imported, instead of rejecting the "
        "package")] = False,
    ocf_schemas: SchemasOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Read an OCF 1.x package into events; any problem: exit 2, nothing stored.

    OCF 1.0.0 through 1.2.x is read in the 1.2.0 shape and checked against the 1.2.0 \
schemas. What is not imported (objects naming a class, stakeholder or security the \
package lacks, options and warrants, fields OCF 1.2.0 does not have) is listed with its \
shares and reason. Only regular files inside the package are read (no absolute path, \
no '..', no link out of it): at most 64 MiB each and 256 MiB in all, JSON at most 64 \
levels deep; a zip package has at most 1,000 members, each checked before anything is \
read.
    """
    from ledger.ocf.importer import import_package, load_terms_files

    started = dt.datetime.now(dt.UTC)
    try:
        given = load_terms_files(terms or [])
        schemas = _schemas(ocf_schemas)
        with creating_ledger() as lg:
            plan, res = import_package(lg, path, given, issuer, schemas=schemas,
                                       strict_checksums=strict_checksums,
                                       skip_without_terms=skip_without_terms)
    except LedgerError as exc:
        warnings = getattr(exc, "warnings", [])
        skipped = getattr(exc, "skipped", [])
        if as_json:
            emit_json({"stored": False, "problems": [p.to_json() for p in exc.problems],
                       "warnings": [p.to_json() for p in warnings],
                       "not_imported": [s.to_json() for s in skipped]})
        else:
            err.print(f"rejected: {len(exc.problems)} problem(s); nothing was stored",
                      markup=False, highlight=False)
            for p in exc.problems:  # one line each, however long
                err.print(f"  {p}", markup=False, highlight=False, soft_wrap=True)
            _print_report(warnings, skipped, err)
        raise typer.Exit(2) from None
    if as_json:
        emit_json({"stored": True, "issuer": plan.issuer, "appended": res.appended,
                   "already_present": res.already_present, "notes": plan.notes,
                   **plan.report()})
        return
    for note in plan.notes:
        out.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    _print_report(plan.warnings, plan.skipped, out)
    secs = (dt.datetime.now(dt.UTC) - started).total_seconds()
    skipped = f", {len(plan.skipped)} object(s) not imported" if plan.skipped else ""
    out.print(f"{res.appended} appended, {res.already_present} already present "
              f"(issuer {plan.issuer!r}, {len(plan.events)} events{skipped}, {secs:.1f}s)",
              markup=False, highlight=False)


def _print_report(warnings: list[Any], skipped: list[Any], console: Any) -> None:
    """The warnings, then every object not imported with its shares and reason."""
    for w in warnings:
        console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    if skipped:
        console.print(f"not imported: {len(skipped)} object(s)", markup=False,
                      highlight=False)
        for s in skipped:
            console.print(f"  {s}", markup=False, highlight=False, soft_wrap=True)
