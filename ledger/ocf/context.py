"""What one reading of an OCF package has found so far (SPEC.md §10 ``import-ocf``).

The reading goes package -> stakeholders -> stock classes -> transactions -> plan; each
step adds to one ``ImportContext``: the problems (every one names the file, the object id
and the field), the notes, the events planned with where they come from, and what later
steps look up (stakeholder names, stock classes and their terms, the figures the ledger
derives and must match).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.ocf.schema import Schemas
from ledger.problems import Problem
from ledger.terms import Terms


def ocf_problem(file: str, object_id: str, field: str, message: str) -> Problem:
    """A problem in an OCF package: which file, which object (its id, else its place or
    the file type for the file itself), which field."""
    return Problem(0, object_id, field, message, file=file)


@dataclass
class Origin:
    """Where an imported event comes from, and which OCF field holds each event field."""

    file: str
    object_id: str
    fields: dict[str, str] = field(default_factory=dict)
    default: str = ""

    def field_for(self, event_field: str) -> str:
        head = event_field.split(".")[0]
        if head in self.fields:
            return self.fields[head]
        if self.default:
            return f"{self.default}.event.{event_field}" if event_field else self.default
        return event_field or "(object)"


@dataclass
class Planned:
    """One event to import: its JSON, its place in load order, where it comes from."""

    event: dict[str, Any]
    key: tuple[Any, ...]
    origin: Origin


@dataclass
class ClassInfo:
    """An OCF stock class as the ledger knows it: common, or a series with its terms."""

    id: str
    common: bool
    terms: Terms | None = None

    @property
    def series(self) -> str:
        return "common" if self.common or self.terms is None else self.terms.series


@dataclass
class Item:
    """One object of an OCF file's ``items`` that passed its schema."""

    file: str
    index: int
    obj: dict[str, Any]

    @property
    def id(self) -> str:
        oid = self.obj.get("id")
        return oid if isinstance(oid, str) and oid else f"items[{self.index}]"


def object_id(obj: Any, index: int) -> str:
    """The id of an item, else its place in ``items``."""
    oid = obj.get("id") if isinstance(obj, dict) else None
    return oid if isinstance(oid, str) and oid else f"items[{index}]"


def lookup(value: Any) -> str:
    """A reference field as a lookup key (anything but a string finds nothing)."""
    return value if isinstance(value, str) else "\x00"


def event_id(partial: dict[str, Any] | None, oid: str) -> str:
    """The id an imported event keeps: its own (from a ``prefledger:ref`` line), else
    ``ocf:<object id>`` so that importing a package twice stores it once (SPEC.md §3)."""
    pid = (partial or {}).get("id")
    return pid if isinstance(pid, str) and pid else f"ocf:{oid}"[:200]


def day(text: Any) -> dt.date:
    """An OCF date; ``date.min`` when it is not one (reported where it matters)."""
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return dt.date.min


class ImportContext:
    """Everything found while reading one package; collects every problem."""

    def __init__(self, terms: Sequence[Terms] = (), schemas: Schemas | None = None,
                 issuer: str | None = None) -> None:
        self.given = list(terms)
        self.schemas = schemas
        self.issuer = issuer
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        #: objects read and not used, by kind (listed as notes)
        self.ignored: Counter[str] = Counter()
        self.files: list[tuple[str, dict[str, Any]]] = []
        #: file_type -> the items that passed their schema
        self.items: dict[str, list[Item]] = {}
        self.planned: list[Planned] = []
        #: stakeholder id -> legal name (prefledger knows holders by name)
        self.stakeholders: dict[str, str] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.common_id: str | None = None
        self.manifest_issuer: str | None = None
        #: derived by the ledger, checked after replay: ratio adjustments and automatic
        #: conversions (SPEC.md §6)
        self.expected_adjust: list[tuple[dt.date, str, Decimal, Origin]] = []
        self.expected_auto: dict[tuple[dt.date, str, str], tuple[Decimal, Origin]] = {}

    def problem(self, file: str, oid: str, fld: str, message: str) -> None:
        self.problems.append(ocf_problem(file, oid, fld or "(object)", message))
