"""Open Cap Format (OCF) 1.2.0: offline schema validation and value encodings.

The official schemas ship inside the package, unmodified, with their licence
(``ledger/ocf/schemas/``; another copy may be named by ``--ocf-schemas`` /
``PREFLEDGER_OCF_SCHEMAS``). Every schema's
absolute ``$id`` is mapped to its file with a ``referencing`` registry, so validation
never reaches the network (SPEC.md §10 ``export-ocf`` / ``import-ocf``).

Shared by ``ocf_export`` and ``ocf_import``: OCF ``Numeric`` strings (at most 10
decimals), ``Ratio`` objects, and the machine-readable ``prefledger:`` comment lines that
carry what OCF has no field for.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard

from ledger.ocf import safejson
from ledger.values import CONTEXT, plain

OCF_VERSION = "1.2.0"
BASE_URL = f"https://schema.opencaptablecoalition.com/v/{OCF_VERSION}/"
ENV_SCHEMAS = "PREFLEDGER_OCF_SCHEMAS"
CURRENCY = "USD"
#: prefix of the machine-readable comment lines (``prefledger:<kind> <json>``)
MACHINE = "prefledger:"
_NUMERIC_RE = re.compile(r"^[+-]?[0-9]+(\.[0-9]{1,10})?$")

FILE_NAMES = {
    "OCF_MANIFEST_FILE": "Manifest.ocf.json",
    "OCF_STAKEHOLDERS_FILE": "Stakeholders.ocf.json",
    "OCF_STOCK_CLASSES_FILE": "StockClasses.ocf.json",
    "OCF_TRANSACTIONS_FILE": "Transactions.ocf.json",
}
#: manifest list field -> the file_type its files must have
MANIFEST_LISTS = {
    "stakeholders_files": "OCF_STAKEHOLDERS_FILE",
    "stock_classes_files": "OCF_STOCK_CLASSES_FILE",
    "transactions_files": "OCF_TRANSACTIONS_FILE",
    "stock_plans_files": "OCF_STOCK_PLANS_FILE",
    "stock_legend_templates_files": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
    "vesting_terms_files": "OCF_VESTING_TERMS_FILE",
    "valuations_files": "OCF_VALUATIONS_FILE",
    "financings_files": "OCF_FINANCINGS_FILE",
    "documents_files": "OCF_DOCUMENTS_FILE",
}


#: the official OCF 1.2.0 schemas, shipped as package data (see ``schemas/NOTICE.md``)
SHIPPED_SCHEMAS = Path(__file__).resolve().parent / "schemas"


def default_schema_dir() -> Path:
    """``PREFLEDGER_OCF_SCHEMAS`` if set, else the schemas shipped with the package."""
    env = os.environ.get(ENV_SCHEMAS)
    if env:
        return Path(env)
    return SHIPPED_SCHEMAS


# -- numbers ---------------------------------------------------------------------------

def is_numeric(text: object) -> TypeGuard[str]:
    return isinstance(text, str) and bool(_NUMERIC_RE.match(text))


def numeric(value: Decimal) -> str:
    """An exact OCF ``Numeric`` (plain decimal, at most 10 decimals); ValueError if not."""
    text = plain(value)
    if not _NUMERIC_RE.match(text):
        raise ValueError(f"{text} has more than 10 decimals")
    return text


def numeric_round(value: Decimal, places: int = 10, down: bool = False) -> str:
    """``value`` rounded to ``places`` decimals (OCF ``Numeric`` allows at most 10)."""
    q = Decimal(1).scaleb(-places)
    return plain(value.quantize(q, rounding=ROUND_DOWN if down else ROUND_HALF_UP,
                                context=CONTEXT))


def monetary(value: Decimal, places: int = 10) -> dict[str, str]:
    try:
        amount = numeric(value)
    except ValueError:
        amount = numeric_round(value, places)
    return {"amount": amount, "currency": CURRENCY}


def ratio(value: Decimal, numerator: Decimal | None = None,
          denominator: Decimal | None = None) -> dict[str, str]:
    """An exact OCF ``Ratio`` for ``value``: the given pair, the plain decimal over 1, or
    the integer fraction of the decimal (every ``Numeric`` holds an integer)."""
    if numerator is not None and denominator is not None:
        try:
            return {"numerator": numeric(numerator), "denominator": numeric(denominator)}
        except ValueError:
            pass
    try:
        return {"numerator": numeric(value), "denominator": "1"}
    except ValueError:
        n, d = value.as_integer_ratio()
        return {"numerator": str(n), "denominator": str(d)}


def ratio_value(obj: Any) -> Decimal | None:
    """The Decimal an OCF ``Ratio`` stands for (None if malformed or zero denominator)."""
    if not isinstance(obj, dict):
        return None
    n, d = obj.get("numerator"), obj.get("denominator")
    if not (is_numeric(n) and is_numeric(d)):
        return None
    dn = Decimal(d)
    if dn == 0:
        return None
    return CONTEXT.divide(Decimal(n), dn)


# -- machine-readable comments ---------------------------------------------------------

def machine(kind: str, obj: Any) -> str:
    """One ``prefledger:<kind> {json}`` comment line (sorted keys, compact)."""
    return f"{MACHINE}{kind} " + json.dumps(obj, sort_keys=True, ensure_ascii=False,
                                            separators=(",", ":"))


def read_machine(comment: object) -> tuple[str, Any] | None:
    """``(kind, obj)`` of a ``prefledger:`` line; ``None`` for free text.

    Raises ValueError when the line starts with the prefix but its JSON is malformed.
    """
    if not isinstance(comment, str) or not comment.startswith(MACHINE):
        return None
    head, _, body = comment[len(MACHINE):].partition(" ")
    if not head:
        raise ValueError("a prefledger: line needs a kind")
    try:
        return head, safejson.loads(body)
    except ValueError as exc:
        raise ValueError(f"prefledger:{head} line is not valid JSON: {exc}") from None


# -- schema validation -----------------------------------------------------------------

@dataclass(frozen=True)
class SchemaError:
    """One schema violation: ``path`` is the JSON path inside the checked instance."""

    path: str
    message: str


def _path(parts: Iterator[Any] | Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class Schemas:
    """The official OCF schemas of one directory, for offline validation."""

    def __init__(self, directory: Path) -> None:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        self.directory = directory
        docs: dict[str, dict[str, Any]] = {}
        for p in sorted(directory.rglob("*.schema.json")):
            doc = json.loads(p.read_text(encoding="utf-8"))
            rid = doc.get("$id")
            rel = p.relative_to(directory).as_posix()
            if rid != BASE_URL + rel:
                raise ValueError(f"{p}: $id {rid!r} does not match its path {rel!r}")
            docs[rid] = doc
        if not docs:
            raise FileNotFoundError(f"no *.schema.json below {directory}")
        self.docs = docs
        self._validators: dict[str, Any] = {}
        self.registry: Any = Registry().with_resources(
            (rid, Resource.from_contents(doc, default_specification=DRAFT7))
            for rid, doc in docs.items())
        #: object_type -> the object schemas that accept it (``const`` or ``enum``)
        self.by_object_type: dict[str, list[str]] = {}
        self.by_file_type: dict[str, str] = {}
        for rid, doc in docs.items():
            spec = doc.get("properties", {}).get("object_type", {})
            names = [spec["const"]] if "const" in spec else list(spec.get("enum", []))
            if rid.startswith(BASE_URL + "objects/"):
                for name in names:
                    self.by_object_type.setdefault(name, []).append(rid)
            fconst = doc.get("properties", {}).get("file_type", {}).get("const")
            if rid.startswith(BASE_URL + "files/") and isinstance(fconst, str):
                self.by_file_type[fconst] = rid
        #: file_type -> the item schema ids its ``items`` may hold
        self.item_schemas: dict[str, set[str]] = {}
        for ft, rid in self.by_file_type.items():
            items = docs[rid].get("properties", {}).get("items", {}).get("items", {})
            refs = [items] + list(items.get("oneOf", []))
            self.item_schemas[ft] = {r["$ref"] for r in refs if "$ref" in r}

    def validator(self, schema_id: str) -> Any:
        from jsonschema import Draft7Validator

        v = self._validators.get(schema_id)
        if v is None:
            v = Draft7Validator({"$ref": schema_id}, registry=self.registry,
                                format_checker=Draft7Validator.FORMAT_CHECKER)
            self._validators[schema_id] = v
        return v

    def errors(self, instance: Any, schema_id: str) -> list[SchemaError]:
        """Every violation of ``schema_id`` (an absolute ``$id`` or a path below the
        schema directory) by ``instance``, sorted by path."""
        if not schema_id.startswith("https://"):
            schema_id = BASE_URL + schema_id
        out = []
        for e in self.validator(schema_id).iter_errors(instance):
            msg = e.message if len(e.message) <= 300 else e.message[:297] + "..."
            out.append(SchemaError(_path(e.absolute_path), msg))
        return sorted(out, key=lambda e: (e.path, e.message))

    def item_schema(self, file_type: str, object_type: object) -> str | None:
        """The schema of an item of ``object_type`` in a file of ``file_type``; None when
        the file schema does not allow that object type."""
        rids = self.by_object_type.get(object_type, []) if isinstance(object_type, str) else []
        allowed = [r for r in rids if r in self.item_schemas.get(file_type, set())]
        return allowed[0] if allowed else None

    def file_errors(self, doc: Any) -> list[SchemaError]:
        """A whole OCF file checked against the file schema of its ``file_type``."""
        ft = doc.get("file_type") if isinstance(doc, dict) else None
        rid = self.by_file_type.get(ft) if isinstance(ft, str) else None
        if rid is None:
            return [SchemaError("file_type", f"unknown OCF file_type {str(ft)[:60]!r}")]
        return self.errors(doc, rid)


@lru_cache(maxsize=4)
def _cached(directory: str) -> Schemas:
    return Schemas(Path(directory))


class SchemaDirError(ValueError):
    """The schema directory asked for holds no OCF 1.2.0 schemas."""


def load_schemas(directory: Path | None = None) -> Schemas:
    """The schemas of ``directory`` (default ``default_schema_dir()``); a directory
    without the OCF manifest schema is ``SchemaDirError`` (validation is never skipped)."""
    d = directory if directory is not None else default_schema_dir()
    if not (d / "files" / "OCFManifestFile.schema.json").is_file():
        raise SchemaDirError(f"{d} holds no OCF {OCF_VERSION} schemas "
                             "(files/OCFManifestFile.schema.json is missing)")
    return _cached(str(d.resolve()))
