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
from ledger.values import plain


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
class Skipped:
    """An object of the package that is not imported, and why (never a silent loss).

    ``effects``: what the object would have done to the shares of each (stock class
    id, stakeholder id), as the package itself counts them; ``because``: the one
    problem or warning it follows from (a class, stakeholder or security that failed)
    when it is not its own."""

    file: str
    object_id: str
    object_type: str
    reason: str
    shares: Decimal | None = None
    class_id: str | None = None
    stakeholder_id: str | None = None
    because: str | None = None
    effects: list[tuple[str | None, str | None, Decimal]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "object_id": self.object_id,
                               "object_type": self.object_type,
                               "shares": None if self.shares is None else plain(self.shares),
                               "stock_class_id": self.class_id,
                               "stakeholder_id": self.stakeholder_id, "reason": self.reason}
        if self.because is not None:
            out["because"] = self.because
        return out

    def __str__(self) -> str:
        what = f"{plain(self.shares)} shares" if self.shares is not None else "no shares"
        why = f", because of {self.because}" if self.because else ""
        return f"{self.file} object {self.object_id} ({self.object_type}, {what}): " \
            f"{self.reason}{why}"


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
        #: event id -> the common a conversion's resulting securities hold (another
        #: tool's package), checked against what the ledger converts at the series rate
        self.expected_common: dict[str, tuple[Decimal, Origin]] = {}
        #: reported, not rejected (checksums, unknown fields, dangling references, ...)
        self.warnings: list[Problem] = []
        self.warned: set[Any] = set()
        #: the objects not imported, with their shares and reasons
        self.skipped: list[Skipped] = []
        self.skipped_ids: dict[str, Skipped] = {}
        #: a checksum that does not match rejects the package (``--strict-checksums``)
        self.strict_checksums = False
        #: a preferred class without terms is not imported (listed), not a problem
        self.skip_without_terms = False
        #: how the package's files are read (its declared OCF version)
        self.version: Any = None
        #: class id -> why it is not imported (its objects follow from that one reason)
        self.failed_classes: dict[str, str] = {}
        self.seen_stakeholders: list[Item] = []
        #: stakeholder id -> why it is not imported
        self.failed_stakeholders: dict[str, str] = {}

    def problem(self, file: str, oid: str, fld: str, message: str) -> None:
        self.problems.append(ocf_problem(file, oid, fld or "(object)", message))

    def warn(self, file: str, oid: str, fld: str, message: str, key: Any = None) -> None:
        """A warning (reported, not a rejection); with ``key`` reported once for it."""
        if key is not None:
            if key in self.warned:
                return
            self.warned.add(key)
        self.warnings.append(ocf_problem(file, oid, fld or "(object)", message))

    def checksum(self, file: str, oid: str, fld: str, message: str) -> None:
        """A checksum that does not match: a warning, a problem with strict checksums."""
        if self.strict_checksums:
            self.problem(file, oid, fld, message + " (rejected: --strict-checksums)")
        else:
            self.warn(file, oid, fld, message + "; read anyway (--strict-checksums "
                      "rejects it)")

    def skip(self, it: Item, reason: str, shares: Decimal | None = None,
             class_id: str | None = None, stakeholder_id: str | None = None,
             because: str | None = None,
             effects: list[tuple[str | None, str | None, Decimal]] | None = None) -> Skipped:
        """An object not imported; ``because``: the one problem it follows from."""
        ot = it.obj.get("object_type")
        s = Skipped(it.file, it.id, ot if isinstance(ot, str) else "(object)", reason,
                    shares, class_id, stakeholder_id, because, list(effects or []))
        self.skipped.append(s)
        self.skipped_ids[it.id] = s
        return s
