"""Older and newer OCF 1.x files brought to the 1.2.0 shape before they are checked.

prefledger checks every file against the official OCF 1.2.0 schemas it ships. A package
written by another tool may declare another 1.x version (its manifest's
``ocf_version``); its files are first brought to the 1.2.0 shape here, step by step, and
then checked like any 1.2.0 file. What each step changes (found by comparing the
schemas of the OCF releases):

- 1.0.0 pre-releases (``1.0.0-a3``, the betas) -> 1.0.0: a stock class's
  ``current_shares_authorized`` became ``initial_shares_authorized`` and a stock plan's
  ``current_shares_reserved`` became ``initial_shares_reserved``;
- 1.0.0 -> 1.1.0: the plan security transactions were renamed equity compensation
  transactions (``TX_PLAN_SECURITY_ISSUANCE`` -> ``TX_EQUITY_COMPENSATION_ISSUANCE``,
  and so for exercise, cancellation, transfer, release, retraction and acceptance);
  their fields did not change otherwise.
- 1.1.0 -> 1.2.0: nothing prefledger reads was renamed (new optional fields only).
- 1.2.1 and later 1.x (newer than the schemas shipped): a stakeholder's
  ``current_relationships`` list is read as the 1.2.0 ``current_relationship`` when it
  holds one relationship; object types 1.2.0 does not have are read by the steps that
  know them (``TX_STOCK_CONSOLIDATION``) or listed as not imported.

A pre-release of 1.0.0 gets its own step first; a manifest whose
``ocf_version`` is no version at all (the tutorials' ``~~~ SAMPLE ~~~``) is read through
every step and the choice reported. Versions 2 and later are refused.

Each step is a function on one file's JSON; the package step reports what it did.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.ocf.schema import OCF_VERSION

Doc = dict[str, Any]

#: the 1.0.0 plan security transactions and their 1.1.0 names
PLAN_SECURITY_RENAMES = {
    f"TX_PLAN_SECURITY_{kind}": f"TX_EQUITY_COMPENSATION_{kind}"
    for kind in ("ISSUANCE", "EXERCISE", "CANCELLATION", "TRANSFER", "RELEASE",
                 "RETRACTION", "ACCEPTANCE")}

#: object types of OCF versions after 1.2.0 that prefledger reads without a 1.2.0 schema
#: (each with the fields it must have)
LATER_TYPES: dict[str, tuple[str, ...]] = {
    "TX_STOCK_CONSOLIDATION": ("id", "date", "security_ids", "resulting_security_id"),
}

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")
#: RFC 3339 date-time, as OCF's ``generated_at`` (``format: date-time``)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?"
                        r"([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Version:
    """How a package's files are read: the version they declare, the steps they need."""

    declared: str
    steps: tuple[str, ...]
    #: what the user is told about the choice (None: a plain 1.2.0 package)
    note: str | None = None
    #: why the package is not read at all
    refused: str | None = None


def read_version(declared: Any) -> Version:
    """The steps a manifest's ``ocf_version`` calls for."""
    text = declared if isinstance(declared, str) else repr(declared)
    shown = text[:60]
    m = _VERSION.match(text) if isinstance(declared, str) else None
    if m is None:
        return Version(shown, ("pre-1.0.0", "1.0.0", "1.1.0", "later"),
                       f"ocf_version {shown!r} is not an OCF version; read as OCF 1.x "
                       f"(every step from 1.0.0 to the {OCF_VERSION} shape applied)")
    major, minor, patch = int(m[1]), int(m[2]), int(m[3] or 0)
    if major != 1:
        return Version(shown, (), refused=f"ocf_version {shown!r}: prefledger reads OCF "
                       f"1.0.0 through 1.2.x (checked against the {OCF_VERSION} schemas)")
    if (minor, patch) == (2, 0) and text == OCF_VERSION:
        return Version(shown, ())
    if minor == 0:
        steps: tuple[str, ...] = ("1.0.0", "1.1.0")
        if patch == 0 and text != "1.0.0":  # a pre-release of 1.0.0
            steps = ("pre-1.0.0", *steps)
    elif minor == 1:
        steps = ("1.1.0",)
    elif minor == 2 and patch == 0:
        steps = ()
    else:
        steps = ("later",)
    return Version(shown, steps, f"OCF {shown} package read in the {OCF_VERSION} shape"
                   + (f" ({', '.join(STEP_TEXT[s] for s in steps)})" if steps else ""))


STEP_TEXT = {"pre-1.0.0": "1.0.0 pre-release fields renamed as in 1.0.0",
             "1.0.0": "1.0.0 plan security transactions renamed as in 1.1.0",
             "1.1.0": "1.1.0 fields kept, none renamed",
             "later": "fields of later 1.x versions mapped back"}


#: file type -> {pre-release field: 1.0.0 field}
PRE_1_0_RENAMES = {
    "OCF_STOCK_CLASSES_FILE": {"current_shares_authorized": "initial_shares_authorized"},
    "OCF_STOCK_PLANS_FILE": {"current_shares_reserved": "initial_shares_reserved"},
}


def _pre_1_0(doc: Doc, changes: list[str]) -> None:
    renames = PRE_1_0_RENAMES.get(str(doc.get("file_type")), {})
    for item in _items(doc):
        for old, new in renames.items():
            if old in item and new not in item:
                item[new] = item.pop(old)
                changes.append(f"{old} -> {new}")


def _from_1_0(doc: Doc, changes: list[str]) -> None:
    if doc.get("file_type") != "OCF_TRANSACTIONS_FILE":
        return
    for item in _items(doc):
        ot = item.get("object_type")
        if isinstance(ot, str) and ot in PLAN_SECURITY_RENAMES:
            item["object_type"] = PLAN_SECURITY_RENAMES[ot]
            changes.append(f"{ot} -> {PLAN_SECURITY_RENAMES[ot]}")


def _from_1_1(doc: Doc, changes: list[str]) -> None:
    """Nothing prefledger reads was renamed between 1.1.0 and 1.2.0."""


def _from_later(doc: Doc, changes: list[str]) -> None:
    if doc.get("file_type") != "OCF_STAKEHOLDERS_FILE":
        return
    for item in _items(doc):
        rels = item.get("current_relationships")
        if isinstance(rels, list) and len(rels) == 1 and isinstance(rels[0], str) \
                and "current_relationship" not in item:
            item["current_relationship"] = rels[0]
            del item["current_relationships"]
            changes.append("current_relationships -> current_relationship")


STEPS: dict[str, Callable[[Doc, list[str]], None]] = {
    "pre-1.0.0": _pre_1_0, "1.0.0": _from_1_0, "1.1.0": _from_1_1, "later": _from_later}


def upgrade(doc: Doc, version: Version) -> list[str]:
    """Bring one file (in place) to the 1.2.0 shape; the renames made (one entry each)."""
    changes: list[str] = []
    for step in version.steps:
        STEPS[step](doc, changes)
    if doc.get("file_type") == "OCF_MANIFEST_FILE" and "ocf_version" in doc \
            and doc.get("ocf_version") != OCF_VERSION:
        doc["ocf_version"] = OCF_VERSION
    return changes


def _items(doc: Doc) -> list[dict[str, Any]]:
    items = doc.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def date_time_problem(value: Any) -> str | None:
    """Why ``value`` is not an RFC 3339 date-time (``generated_at``), else None."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return f"{str(value)[:40]!r} is not a date-time like 2022-12-01T11:30:45-06:00"
    try:
        dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")
                                  .replace("t", "T"))
    except ValueError:
        return f"{value[:40]!r} is not a real date and time"
    return None


def missing_fields(obj: dict[str, Any]) -> list[str]:
    """The fields an object of a later type must have and lacks."""
    ot = obj.get("object_type")
    need = LATER_TYPES.get(ot, ()) if isinstance(ot, str) else ()
    return [f for f in need if f not in obj]
