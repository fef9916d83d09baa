"""Import an Open Cap Format 1.2.0 package as ledger events (SPEC.md §10 ``import-ocf``).

Reads a package (a directory with its manifest, a manifest file, or one OCF file alone),
checks every file against the official schemas and the manifest's md5 checksums, and
turns the objects into SPEC.md §3 events:

- a PREFERRED stock class -> ``SeriesDesignated``; the series terms OCF lacks (stated
  value, dividends, redemption, anti-dilution) come from ``--terms`` or from the
  ``prefledger:terms`` line of a package prefledger exported, else they are reported
  missing; what OCF does carry (authorized shares, par, base conversion ratio) must agree;
- ``TX_STOCK_ISSUANCE`` -> ``SharesIssued`` / ``CommonStockIssued`` (issuances that are
  the resulting or balance security of another stock transaction are not new shares);
- ``TX_STOCK_TRANSFER`` -> ``SharesTransferred``; ``TX_STOCK_CONVERSION`` ->
  ``SharesConverted``; ``TX_STOCK_REPURCHASE`` -> ``SharesRedeemed``;
  ``TX_STOCK_CLASS_SPLIT`` of common -> ``CommonStockSplit``; ``TX_STOCK_RETRACTION`` ->
  ``EventReversed`` of the issuance; ``TX_STOCK_CANCELLATION`` of a prefledger
  liquidation -> ``Liquidation``;
- events carried in comments (``prefledger:event``: dividends paid and missed, notices,
  approvals, tie-outs) are read back as they were.

What the ledger derives is not applied twice (SPEC.md §6): conversion-ratio adjustments
and automatic conversions are derived again from the imported events and checked against
the OCF objects. Every problem names the file, the object id and the field; with any
problem nothing is stored (exit 2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ledger.events import parse_object
from ledger.ocf.schema import (
    MANIFEST_LISTS,
    Schemas,
    is_numeric,
    load_schemas,
    ratio_value,
    read_machine,
)
from ledger.problems import LedgerError, Problem
from ledger.replay import replay
from ledger.state import IssuerState, Record
from ledger.terms import Terms, load_terms_ref
from ledger.values import ZERO, plain

#: transactions about securities prefledger does not track until they result in stock
_NOT_TRACKED = ("TX_EQUITY_COMPENSATION_", "TX_WARRANT_", "TX_CONVERTIBLE_",
                "TX_PLAN_SECURITY_", "TX_VESTING_", "TX_STOCK_PLAN_",
                "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT")
#: transactions whose resulting securities are new stock (and the common issuance kind)
_NEW_STOCK = {"TX_EQUITY_COMPENSATION_EXERCISE": "option_exercise",
              "TX_EQUITY_COMPENSATION_RELEASE": "option_exercise",
              "TX_PLAN_SECURITY_EXERCISE": "option_exercise",
              "TX_PLAN_SECURITY_RELEASE": "option_exercise",
              "TX_WARRANT_EXERCISE": "other",
              "TX_CONVERTIBLE_CONVERSION": "other"}
#: stock transactions whose resulting and balance securities carry existing shares
_SAME_STOCK = ("TX_STOCK_TRANSFER", "TX_STOCK_CONVERSION", "TX_STOCK_REPURCHASE",
               "TX_STOCK_CANCELLATION", "TX_STOCK_REISSUANCE")
_IGNORED_FILES = ("OCF_STOCK_PLANS_FILE", "OCF_STOCK_LEGEND_TEMPLATES_FILE",
                  "OCF_VESTING_TERMS_FILE", "OCF_VALUATIONS_FILE", "OCF_FINANCINGS_FILE",
                  "OCF_DOCUMENTS_FILE")


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
    event: dict[str, Any]
    key: tuple[Any, ...]
    origin: Origin


@dataclass
class ClassInfo:
    id: str
    common: bool
    terms: Terms | None = None

    @property
    def series(self) -> str:
        return "common" if self.common or self.terms is None else self.terms.series


@dataclass
class ImportPlan:
    """The events an OCF package stands for, in load order, with their origins."""

    issuer: str
    events: list[dict[str, Any]]
    origins: list[Origin]
    notes: list[str]

    def lines(self) -> list[str]:
        return [json.dumps(e, ensure_ascii=False) + "\n" for e in self.events]


@dataclass
class _Item:
    file: str
    index: int
    obj: dict[str, Any]

    @property
    def id(self) -> str:
        oid = self.obj.get("id")
        return oid if isinstance(oid, str) and oid else f"items[{self.index}]"


_ISSUE_FIELDS = {"shares": "quantity", "holder": "stakeholder_id", "series": "stock_class_id",
                 "price_per_share": "share_price.amount", "effective_date": "date"}
_MOVE_FIELDS = {"effective_date": "date", "series": "security_id", "holder": "security_id",
                "from_holder": "security_id", "to_holder": "resulting_security_ids",
                "shares": "quantity"}


def _oid(obj: Any, index: int) -> str:
    oid = obj.get("id") if isinstance(obj, dict) else None
    return oid if isinstance(oid, str) and oid else f"items[{index}]"


def _key(value: Any) -> str:
    """A reference field as a lookup key (anything but a string finds nothing)."""
    return value if isinstance(value, str) else "\x00"


def _ref_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The event part of an object's ``prefledger:ref`` line, without side effects."""
    comments = obj.get("comments")
    for c in comments if isinstance(comments, list) else []:
        try:
            got = read_machine(c)
        except ValueError:
            continue
        if got and got[0] == "ref" and isinstance(got[1], dict) \
                and isinstance(got[1].get("event"), dict):
            return dict(got[1]["event"])
    return {}


def _event_id(partial: dict[str, Any] | None, oid: str) -> str:
    pid = (partial or {}).get("id")
    return pid if isinstance(pid, str) and pid else f"ocf:{oid}"[:200]


class Reader:
    """Reads one OCF package into an ``ImportPlan``; collects every problem."""

    def __init__(self, terms: Sequence[Terms] = (), schemas: Schemas | None = None,
                 issuer: str | None = None) -> None:
        self.given = list(terms)
        self.schemas = schemas
        self.issuer = issuer
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.ignored: Counter[str] = Counter()
        self.files: list[tuple[str, dict[str, Any]]] = []
        self.items: dict[str, list[_Item]] = {}
        self.planned: list[Planned] = []
        self.stakeholders: dict[str, str] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.common_id: str | None = None
        self.manifest_issuer: str | None = None
        self.expected_adjust: list[tuple[dt.date, str, Decimal, Origin]] = []
        self.expected_auto: dict[tuple[dt.date, str, str], tuple[Decimal, Origin]] = {}

    def problem(self, file: str, oid: str, fld: str, message: str) -> None:
        self.problems.append(ocf_problem(file, oid, fld or "(object)", message))

    # -- files -----------------------------------------------------------------------
    def _parse(self, path: Path, name: str, quiet: bool = False) -> Any:
        try:
            data = path.read_bytes()
        except OSError as exc:
            if not quiet:
                self.problem(name, "(file)", "(file)", f"cannot read: {exc.strerror}")
            return None
        return self._decode(data, name, quiet)

    def _decode(self, data: bytes, name: str, quiet: bool = False) -> Any:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            if not quiet:
                self.problem(name, "(file)", "(file)", f"not a JSON file: {exc}")
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("file_type"), str):
            if not quiet:
                self.problem(name, "(file)", "file_type", "an OCF file is a JSON object with "
                             "a file_type")
            return None
        return doc

    def collect(self, path: Path) -> None:
        """The package's files: a directory's manifest listing, a manifest file's, or one
        OCF file alone."""
        if path.is_dir():
            manifests = []
            for p in sorted(path.iterdir()):
                if p.is_file() and p.name.endswith(".json"):
                    doc = self._parse(p, p.name, quiet=True)
                    if doc is not None and doc.get("file_type") == "OCF_MANIFEST_FILE":
                        manifests.append((p, doc))
            if len(manifests) != 1:
                what = ("no OCF manifest (a .json file with file_type OCF_MANIFEST_FILE)"
                        if not manifests else
                        f"{len(manifests)} manifests ({', '.join(p.name for p, _ in manifests)})"
                        "; import one of them by its path")
                self.problem(path.name or str(path), "(directory)", "file_type",
                             f"{what} in {path}")
                return
            self._manifest(*manifests[0])
            return
        if not path.is_file():
            self.problem(path.name or str(path), "(file)", "(file)", f"no such file or "
                         f"directory {str(path)!r}")
            return
        doc = self._parse(path, path.name)
        if doc is None:
            return
        if doc.get("file_type") == "OCF_MANIFEST_FILE":
            self._manifest(path, doc)
        else:
            self.notes.append(f"{path.name}: no manifest; this file is read alone")
            self._add(path.name, doc)

    def _manifest(self, path: Path, doc: dict[str, Any]) -> None:
        name = path.name
        self._add(name, doc)
        comments = doc.get("comments", [])
        for i, c in enumerate(comments if isinstance(comments, list) else []):
            got = self._read_machine(c, name, "OCF_MANIFEST_FILE", f"comments[{i}]")
            if got and got[0] == "manifest" and isinstance(got[1], dict):
                iss = got[1].get("issuer")
                self.manifest_issuer = iss if isinstance(iss, str) and iss else None
            elif got and got[0] == "event":
                self._carried(name, "OCF_MANIFEST_FILE", f"comments[{i}]", got[1])
        seen: set[Path] = set()
        for key, ftype in MANIFEST_LISTS.items():
            entries = doc.get(key, [])
            if not isinstance(entries, list):
                continue  # the schema check reports it
            for i, e in enumerate(entries):
                fld = f"{key}[{i}]"
                fp = e.get("filepath") if isinstance(e, dict) else None
                if not isinstance(fp, str) or not fp:
                    self.problem(name, "OCF_MANIFEST_FILE", f"{fld}.filepath", "missing")
                    continue
                target = (path.parent / fp).resolve()
                if target in seen:
                    self.problem(name, "OCF_MANIFEST_FILE", f"{fld}.filepath",
                                 f"{fp!r} is listed twice")
                    continue
                seen.add(target)
                try:
                    data = target.read_bytes()
                except OSError:
                    self.problem(name, "OCF_MANIFEST_FILE", f"{fld}.filepath",
                                 f"no such file {fp!r} beside the manifest")
                    continue
                given = e.get("md5") if isinstance(e, dict) else None
                actual = hashlib.md5(data).hexdigest()  # noqa: S324 - OCF's file checksum
                if not isinstance(given, str) or given.lower() != actual:
                    self.problem(name, "OCF_MANIFEST_FILE", f"{fld}.md5",
                                 f"md5 {given!r} does not match {fp!r} (its md5 is {actual})")
                fname = Path(fp).name
                sub = self._decode(data, fname)
                if sub is None:
                    continue
                if sub.get("file_type") != ftype:
                    self.problem(fname, str(sub.get("file_type"))[:60], "file_type",
                                 f"listed in the manifest's {key}, so it must be {ftype}")
                    continue
                self._add(fname, sub)

    def _add(self, name: str, doc: dict[str, Any]) -> None:
        """Check a file against the OCF schemas and keep its valid items."""
        ft = str(doc.get("file_type"))
        self.files.append((name, doc))
        bad: set[int] = set()
        items = doc.get("items")
        if self.schemas is not None:
            if ft not in self.schemas.by_file_type:
                self.problem(name, ft[:60], "file_type", f"unknown OCF file_type {ft[:60]!r}")
                return
            shell = {k: v for k, v in doc.items() if k != "items"}
            if isinstance(items, list):
                shell["items"] = []
            elif "items" in doc:
                shell["items"] = items
            for e in self.schemas.file_errors(shell):
                self.problem(name, ft, e.path, e.message)
            for i, item in enumerate(items if isinstance(items, list) else []):
                ot = item.get("object_type") if isinstance(item, dict) else None
                rid = self.schemas.item_schema(ft, ot)
                if rid is None:
                    self.problem(name, _oid(item, i), "object_type",
                                 f"{str(ot)[:60]!r} is not an object type a {ft} may hold "
                                 "(OCF 1.2.0 file schema)")
                    bad.add(i)
                    continue
                errs = self.schemas.errors(item, rid)
                for e in errs:
                    self.problem(name, _oid(item, i), e.path, e.message)
                if errs:
                    bad.add(i)
        elif ft == "OCF_MANIFEST_FILE" or ft in _IGNORED_FILES:
            pass
        elif not isinstance(items, list):
            self.problem(name, ft[:60], "items", "must be a list of objects")
            return
        if ft == "OCF_MANIFEST_FILE":
            return
        if ft in _IGNORED_FILES:
            n = len(items) if isinstance(items, list) else 0
            self.notes.append(f"{name}: {n} object(s) of {ft} not used by prefledger")
            return
        for i, item in enumerate(items if isinstance(items, list) else []):
            if i in bad:
                continue
            if not isinstance(item, dict):
                self.problem(name, f"items[{i}]", "(object)", "must be a JSON object")
                continue
            self.items.setdefault(ft, []).append(_Item(name, i, item))

    # -- comments ----------------------------------------------------------------------
    def _read_machine(self, c: Any, file: str, oid: str, fld: str) -> tuple[str, Any] | None:
        try:
            return read_machine(c)
        except ValueError as exc:
            self.problem(file, oid, fld, str(exc))
            return None

    def _machine_lines(self, file: str, oid: str, comments: Any, start: int = 0
                       ) -> dict[str, list[tuple[int, Any]]]:
        out: dict[str, list[tuple[int, Any]]] = {}
        for i, c in enumerate(comments if isinstance(comments, list) else [], start):
            got = self._read_machine(c, file, oid, f"comments[{i}]")
            if got is None:
                continue
            kind, obj = got
            if kind == "event":
                self._carried(file, oid, f"comments[{i}]", obj)
            else:
                out.setdefault(kind, []).append((i, obj))
        return out

    def _carried(self, file: str, oid: str, fld: str, obj: Any) -> None:
        """An event OCF cannot carry, read back from a ``prefledger:event`` line."""
        if not isinstance(obj, dict) or not isinstance(obj.get("event"), dict) \
                or not isinstance(obj.get("seq"), int):
            self.problem(file, oid, fld, "a prefledger:event line holds {\"seq\": n, "
                         "\"event\": {...}}")
            return
        ev = {k: v for k, v in obj["event"].items() if k != "issuer"}
        ev.setdefault("id", f"ocf:event-{obj['seq']:04d}")  # re-imports stay idempotent
        got = parse_object(ev)
        if isinstance(got, list):
            for p in got:
                self.problem(file, oid, f"{fld}.event.{p.field}" if p.field else fld,
                             p.message)
            return
        self.planned.append(Planned(ev, (got.effective_date, 1, obj["seq"]),
                                    Origin(file, oid, default=fld)))

    @staticmethod
    def _ref(lines: dict[str, list[tuple[int, Any]]]) -> tuple[int | None, dict[str, Any],
                                                                list[str]]:
        for _, obj in lines.get("ref", []):
            if isinstance(obj, dict) and isinstance(obj.get("event"), dict):
                seq = obj.get("seq")
                unset = obj.get("unset", [])
                return (seq if isinstance(seq, int) else None, dict(obj["event"]),
                        [u for u in unset if isinstance(u, str)] if isinstance(unset, list)
                        else [])
        return None, {}, []

    # -- objects -----------------------------------------------------------------------
    def build(self) -> None:
        for it in self.items.get("OCF_STAKEHOLDERS_FILE", []):
            self._stakeholder(it)
        for it in self.items.get("OCF_STOCK_CLASSES_FILE", []):
            self._class(it)
        txs = self.items.get("OCF_TRANSACTIONS_FILE", [])
        self._transactions(txs)

    def _stakeholder(self, it: _Item) -> None:
        name = it.obj.get("name")
        legal = name.get("legal_name") if isinstance(name, dict) else None
        if not isinstance(legal, str) or not legal.strip():
            self.problem(it.file, it.id, "name.legal_name", "missing: prefledger knows holders "
                         "by this name")
            return
        if it.id in self.stakeholders:
            self.problem(it.file, it.id, "id", "two stakeholders have this id")
            return
        if legal in self.stakeholders.values():
            self.problem(it.file, it.id, "name.legal_name", f"another stakeholder is also "
                         f"named {legal!r}; prefledger knows holders by name")
            return
        self.stakeholders[it.id] = legal
        self._machine_lines(it.file, it.id, it.obj.get("comments"))

    def _match_terms(self, it: _Item, hint: str | None) -> Terms | None:
        name = it.obj.get("name")
        prefix = it.obj.get("default_id_prefix")
        keys = {hint, it.id, prefix.rstrip("-_ ") if isinstance(prefix, str) else None}
        for t in self.given:
            if t.series in keys or (t.name and t.name == name):
                return t
        return None

    def _class(self, it: _Item) -> None:
        o, cid = it.obj, it.id
        if cid in self.classes:
            self.problem(it.file, cid, "id", "two stock classes have this id")
            return
        lines = self._machine_lines(it.file, cid, o.get("comments"))
        if o.get("class_type") == "COMMON":
            if self.common_id is not None:
                self.problem(it.file, cid, "class_type", f"a second common class; prefledger "
                             f"keeps one common stock (the first is {self.common_id!r})")
                return
            self.common_id = cid
            self.classes[cid] = ClassInfo(cid, True)
            return
        embedded: Terms | None = None
        for i, obj in lines.get("terms", []):
            try:
                embedded = Terms.model_validate(obj)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = ".".join(str(p) for p in err["loc"])
                    self.problem(it.file, cid, f"comments[{i}].terms.{loc}", err["msg"])
                self.classes[cid] = ClassInfo(cid, False, None)
                return
        given = self._match_terms(it, embedded.series if embedded else None)
        terms = given or embedded
        info = ClassInfo(cid, False, terms)
        self.classes[cid] = info
        if terms is None:
            self.problem(it.file, cid, "comments", f"no prefledger terms for preferred class "
                         f"{str(o.get('name'))[:80]!r}: OCF 1.2.0 has no field for the stated "
                         "value, dividend, redemption or anti-dilution terms; give them with "
                         "--terms FILE (a Terms JSON whose series or name matches the class)")
            return
        if any(c.terms is not None and c is not info and c.terms.series == terms.series
               for c in self.classes.values()):
            self.problem(it.file, cid, "name", f"a second class for Series {terms.series}")
            info.terms = None
            return
        self._check_class(it, terms)
        seq, partial, _ = self._ref(lines)
        self._designation(it, terms, seq, partial)

    def _check_class(self, it: _Item, t: Terms) -> None:
        """What OCF carries must agree with the terms (SPEC.md §4)."""
        o = it.obj
        auth = o.get("initial_shares_authorized")
        if is_numeric(auth) and Decimal(auth) != t.authorized_shares:
            self.problem(it.file, it.id, "initial_shares_authorized",
                         f"{auth} but the Series {t.series} terms authorize "
                         f"{plain(t.authorized_shares)}")
        par = o.get("par_value")
        amount = par.get("amount") if isinstance(par, dict) else None
        if is_numeric(amount) and Decimal(amount) != t.par_value:
            self.problem(it.file, it.id, "par_value.amount", f"{amount} but the Series "
                         f"{t.series} terms have par {plain(t.par_value)}")
        rights = o.get("conversion_rights")
        rights = rights if isinstance(rights, list) else []
        base = t.base_conversion_rate
        if t.conversion == "none" or base is None:
            if rights:
                self.problem(it.file, it.id, "conversion_rights", f"the Series {t.series} "
                             "terms are not convertible")
            return
        if not rights:
            self.problem(it.file, it.id, "conversion_rights", f"missing: the Series "
                         f"{t.series} terms convert at {plain(base)} common per share")
            return
        mech = rights[0].get("conversion_mechanism") if isinstance(rights[0], dict) else None
        value = ratio_value(mech.get("ratio")) if isinstance(mech, dict) else None
        if value is None or value != base:
            self.problem(it.file, it.id, "conversion_rights[0].conversion_mechanism.ratio",
                         f"ratio {plain(value) if value is not None else 'missing'} but the "
                         f"Series {t.series} terms convert at {plain(base)} common per share")

    def _designation(self, it: _Item, t: Terms, seq: int | None,
                     partial: dict[str, Any]) -> None:
        ev = dict(partial)
        ev.pop("issuer", None)
        ev["type"] = "SeriesDesignated"
        ev["series"] = t.series
        ev["id"] = _event_id(partial, it.id)
        approved = it.obj.get("board_approval_date")
        ev.setdefault("effective_date", approved if isinstance(approved, str)
                      else t.designated.isoformat())
        ref = ev.pop("terms_ref", None)
        ev.pop("terms", None)
        same = False
        if isinstance(ref, str):
            try:
                same = load_terms_ref(ref) == t
            except (KeyError, ValueError):
                same = False
        if same:
            ev["terms_ref"] = ref
        else:
            ev["terms"] = t.model_dump(mode="json")
        key = (self._day(ev["effective_date"]), 1, seq) if seq is not None else (
            self._day(ev["effective_date"]), 0, it.index)
        self.planned.append(Planned(ev, key, Origin(
            it.file, it.id, {"effective_date": "board_approval_date", "terms": "comments",
                             "terms_ref": "comments", "series": "name"})))

    @staticmethod
    def _day(text: Any) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except (TypeError, ValueError):
            return dt.date.min

    # -- transactions ------------------------------------------------------------------
    def _transactions(self, txs: list[_Item]) -> None:
        self.issuances: dict[str, _Item] = {}
        same: set[str] = set()
        new_stock: dict[str, str] = {}
        for it in txs:
            o = it.obj
            ot = o.get("object_type")
            if ot == "TX_STOCK_ISSUANCE":
                sid = o.get("security_id")
                if isinstance(sid, str):
                    if sid in self.issuances:
                        self.problem(it.file, it.id, "security_id", f"security {sid!r} is "
                                     f"issued twice (also by {self.issuances[sid].id!r})")
                    else:
                        self.issuances[sid] = it
            ids = [x for x in o.get("resulting_security_ids", []) if isinstance(x, str)] \
                if isinstance(o.get("resulting_security_ids"), list) else []
            bal = o.get("balance_security_id")
            if isinstance(bal, str):
                ids.append(bal)
            if ot in _SAME_STOCK:
                same.update(ids)
            elif isinstance(ot, str) and ot in _NEW_STOCK:
                new_stock.update({x: _NEW_STOCK[ot] for x in ids})
        self.same_stock = same
        self.new_stock = new_stock
        self.groups: dict[tuple[Any, ...], Planned] = {}
        for it in txs:
            self._transaction(it)
        self.planned.extend(self.groups.values())
        for n, c in sorted(self.ignored.items()):
            self.notes.append(f"{c} {n} object(s) not used: prefledger tracks stock only "
                              "(options, warrants, convertibles, plans and vesting are "
                              "read only when they result in stock)")

    def _sec(self, it: _Item, fld: str, sid: Any) -> tuple[ClassInfo, str] | None:
        """The class and holder of a security, from the issuance that created it."""
        if not isinstance(sid, str) or sid not in self.issuances:
            self.problem(it.file, it.id, fld, f"no TX_STOCK_ISSUANCE creates security "
                         f"{str(sid)[:80]!r}")
            return None
        iss = self.issuances[sid].obj
        info = self.classes.get(_key(iss.get("stock_class_id")))
        if info is None:
            return None  # reported on the issuance
        holder = self.stakeholders.get(_key(iss.get("stakeholder_id")), "")
        return info, holder

    def _qty(self, it: _Item, fld: str, value: Any) -> Decimal | None:
        if not is_numeric(value) or Decimal(value) <= 0:
            self.problem(it.file, it.id, fld, f"{str(value)[:40]!r} is not a positive number")
            return None
        return Decimal(value)

    def _transaction(self, it: _Item) -> None:
        o = it.obj
        ot = str(o.get("object_type"))
        lines = self._machine_lines(it.file, it.id, o.get("comments"))
        seq, partial, unset = self._ref(lines)
        date = o.get("date")
        if not isinstance(date, str) or self._day(date) == dt.date.min:
            self.problem(it.file, it.id, "date", f"{str(date)[:40]!r} is not a date YYYY-MM-DD")
            return
        day = self._day(date)
        key = (day, 1, seq) if seq is not None else (day, 2, it.index)
        handler = {
            "TX_STOCK_ISSUANCE": self._issuance,
            "TX_STOCK_TRANSFER": self._transfer,
            "TX_STOCK_CONVERSION": self._conversion,
            "TX_STOCK_REPURCHASE": self._repurchase,
            "TX_STOCK_CANCELLATION": self._cancellation,
            "TX_STOCK_CLASS_SPLIT": self._split,
            "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT": self._adjustment,
            "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT": self._authorized,
            "TX_STOCK_RETRACTION": self._retraction,
            "TX_STOCK_REISSUANCE": self._reissuance,
            "TX_STOCK_ACCEPTANCE": lambda *a: None,
        }.get(ot)
        if handler is not None:
            handler(it, date, key, partial, unset)
        elif ot.startswith(_NOT_TRACKED):
            self.ignored[ot] += 1
        else:
            self.problem(it.file, it.id, "object_type", f"{ot[:60]!r} is not an OCF 1.2.0 "
                         "transaction prefledger reads")

    def _class_of(self, it: _Item, fld: str, cid: Any) -> ClassInfo | None:
        info = self.classes.get(cid) if isinstance(cid, str) else None
        if info is None:
            self.problem(it.file, it.id, fld, f"no stock class has id {str(cid)[:80]!r}")
        return info

    def _check_type(self, it: _Item, partial: dict[str, Any], want: str) -> bool:
        got = partial.get("type", want)
        if got != want:
            self.problem(it.file, it.id, "comments", f"its prefledger:ref is for a {got} "
                         f"event, not {want}")
            return False
        return True

    def _issuance(self, it: _Item, date: str, key: tuple[Any, ...], partial: dict[str, Any],
                  unset: list[str]) -> None:
        o = it.obj
        info = self._class_of(it, "stock_class_id", o.get("stock_class_id"))
        holder = self.stakeholders.get(_key(o.get("stakeholder_id")))
        if info is not None and not info.common and holder is None:
            self.problem(it.file, it.id, "stakeholder_id", f"no stakeholder has id "
                         f"{str(o.get('stakeholder_id'))[:80]!r}")
            return
        sid = o.get("security_id")
        if info is None or _key(sid) in self.same_stock or (not info.common
                                                            and info.terms is None):
            return
        shares = self._qty(it, "quantity", o.get("quantity"))
        if shares is None:
            return
        price = o.get("share_price", {}).get("amount") if isinstance(o.get("share_price"),
                                                                     dict) else None
        want = "CommonStockIssued" if info.common else "SharesIssued"
        if not self._check_type(it, partial, want):
            return
        ev: dict[str, Any] = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type=want, effective_date=date, id=_event_id(partial, it.id))
        ev.setdefault("shares", plain(shares))
        if info.common:
            kind = self.new_stock.get(sid, "other") if isinstance(sid, str) else "other"
            ev.setdefault("kind", kind)
        else:
            ev.update(series=info.series, holder=holder)
        if is_numeric(price) and "price_per_share" not in unset:
            ev.setdefault("price_per_share", plain(Decimal(price)))
        self.planned.append(Planned(ev, key, Origin(it.file, it.id, dict(_ISSUE_FIELDS))))

    def _group(self, gkey: tuple[Any, ...], ev: dict[str, Any], key: tuple[Any, ...],
               origin: Origin, add: str | None) -> None:
        """One event per prefledger event: securities of one transfer, conversion or
        redemption are summed back into it."""
        prior = self.groups.get(gkey)
        if prior is None:
            self.groups[gkey] = Planned(ev, key, origin)
        elif add is not None:
            prior.event[add] = plain(Decimal(prior.event[add]) + Decimal(ev[add]))

    def _moves(self, it: _Item, date: str, key: tuple[Any, ...], partial: dict[str, Any],
               want: str, qty_field: str) -> tuple[ClassInfo, str, Decimal, dict[str, Any]
                                                    ] | None:
        o = it.obj
        src = self._sec(it, "security_id", o.get("security_id"))
        shares = self._qty(it, qty_field, o.get(qty_field))
        if src is None or shares is None:
            return None
        info, holder = src
        if info.common:
            return (info, holder, shares, {})
        if info.terms is None or not self._check_type(it, partial, want):
            return None
        ev: dict[str, Any] = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type=want, effective_date=date, series=info.series,
                  id=_event_id(partial, it.id))
        return info, holder, shares, ev

    def _transfer(self, it: _Item, date: str, key: tuple[Any, ...], partial: dict[str, Any],
                  unset: list[str]) -> None:
        got = self._moves(it, date, key, partial, "SharesTransferred", "quantity")
        if got is None:
            return
        info, holder, shares, ev = got
        if info.common:
            self.ignored["TX_STOCK_TRANSFER of common (prefledger keeps common as one "
                         "total)"] += 1
            return
        res = it.obj.get("resulting_security_ids")
        moved: dict[str, Decimal] = {}
        for i, rid in enumerate(res if isinstance(res, list) else []):
            r = self._sec(it, f"resulting_security_ids[{i}]", rid)
            if r is None:
                return
            if r[0] is not info:
                self.problem(it.file, it.id, f"resulting_security_ids[{i}]", "the resulting "
                             "security is of another stock class")
                return
            q = self._qty(self.issuances[rid], "quantity", self.issuances[rid].obj.get(
                "quantity"))
            if q is None:
                return
            if r[1] != holder:
                moved[r[1]] = moved.get(r[1], ZERO) + q
        if sum(moved.values(), ZERO) > shares:
            self.problem(it.file, it.id, "quantity", f"the resulting securities hold "
                         f"{plain(sum(moved.values(), ZERO))}, more than the {plain(shares)} "
                         "transferred")
            return
        for n, (to, q) in enumerate(sorted(moved.items())):
            e = dict(ev, from_holder=holder, to_holder=to, shares=plain(q))
            if len(moved) > 1 and "id" not in partial:
                e["id"] = f"{e['id']}#{n + 1}"
            gkey = ("ref", key[2], to) if key[1] == 1 else ("obj", it.id, to)
            self._group(gkey, e, key, Origin(it.file, it.id, dict(_MOVE_FIELDS)), "shares")

    def _conversion(self, it: _Item, date: str, key: tuple[Any, ...], partial: dict[str, Any],
                    unset: list[str]) -> None:
        o = it.obj
        src = self._sec(it, "security_id", o.get("security_id"))
        shares = self._qty(it, "quantity_converted", o.get("quantity_converted"))
        if src is None or shares is None:
            return
        info, holder = src
        if info.common:
            self.problem(it.file, it.id, "security_id", "prefledger's common stock does not "
                         "convert")
            return
        if info.terms is None:
            return
        origin = Origin(it.file, it.id, dict(_MOVE_FIELDS, shares="quantity_converted"))
        if info.terms.conversion == "automatic":
            k = (self._day(date), info.series, holder)
            prior = self.expected_auto.get(k)
            self.expected_auto[k] = ((prior[0] if prior else ZERO) + shares,
                                     prior[1] if prior else origin)
            return
        if not self._check_type(it, partial, "SharesConverted"):
            return
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type="SharesConverted", effective_date=date, series=info.series,
                  holder=holder, shares=plain(shares), id=_event_id(partial, it.id))
        gkey = ("ref", key[2]) if key[1] == 1 else ("obj", it.id)
        self._group(gkey, ev, key, origin, "shares")

    def _repurchase(self, it: _Item, date: str, key: tuple[Any, ...], partial: dict[str, Any],
                    unset: list[str]) -> None:
        got = self._moves(it, date, key, partial, "SharesRedeemed", "quantity")
        if got is None:
            return
        info, holder, shares, ev = got
        if info.common:
            self.problem(it.file, it.id, "security_id", "a repurchase of common: prefledger "
                         "has no event that lowers common outstanding")
            return
        requested = ev.pop("shares", None)
        ev.update(holder=holder, shares=plain(shares))
        gkey = ("ref", key[2]) if key[1] == 1 else ("obj", it.id)
        self._group(gkey, ev, key, Origin(it.file, it.id, dict(_MOVE_FIELDS)), "shares")
        if requested is not None:
            self.groups[gkey].event["_requested"] = requested

    def _cancellation(self, it: _Item, date: str, key: tuple[Any, ...],
                      partial: dict[str, Any], unset: list[str]) -> None:
        if partial.get("type") != "Liquidation" or key[1] != 1:
            self.problem(it.file, it.id, "security_id", "prefledger has no event that cancels "
                         "part of a class; only the cancellations of a prefledger Liquidation "
                         "are read")
            return
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(effective_date=date, id=_event_id(partial, it.id))
        self._group(("ref", key[2]), ev, key, Origin(it.file, it.id, {"effective_date": "date",
                                                                      "proceeds": "comments"}),
                    None)

    def _split(self, it: _Item, date: str, key: tuple[Any, ...], partial: dict[str, Any],
               unset: list[str]) -> None:
        o = it.obj
        info = self._class_of(it, "stock_class_id", o.get("stock_class_id"))
        if info is None:
            return
        if not info.common:
            self.problem(it.file, it.id, "stock_class_id", "a split of a preferred class: "
                         "prefledger splits only the common stock (SPEC.md §6)")
            return
        r = ratio_value(o.get("split_ratio"))
        text = plain(r) if r is not None and r > 0 else ""
        if not text or Decimal(text) != r or len(text.partition(".")[2]) > 12:
            self.problem(it.file, it.id, "split_ratio", "the ratio must be a positive decimal "
                         "with at most 12 decimals")
            return
        if not self._check_type(it, partial, "CommonStockSplit"):
            return
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type="CommonStockSplit", effective_date=date, ratio=text,
                  id=_event_id(partial, it.id))
        self.planned.append(Planned(ev, key, Origin(it.file, it.id, {
            "ratio": "split_ratio", "effective_date": "date"})))

    def _adjustment(self, it: _Item, date: str, key: tuple[Any, ...],
                    partial: dict[str, Any], unset: list[str]) -> None:
        """Derived by the ledger (SPEC.md §6): checked after replay, never applied."""
        o = it.obj
        info = self._class_of(it, "stock_class_id", o.get("stock_class_id"))
        if info is None:
            return
        if info.common:
            self.problem(it.file, it.id, "stock_class_id", "prefledger's common stock has no "
                         "conversion ratio")
            return
        if info.terms is None:
            return
        mech = o.get("new_ratio_conversion_mechanism")
        r = ratio_value(mech.get("ratio")) if isinstance(mech, dict) else None
        if r is None:
            self.problem(it.file, it.id, "new_ratio_conversion_mechanism.ratio", "not a ratio")
            return
        self.expected_adjust.append((self._day(date), info.series, r,
                                     Origin(it.file, it.id)))

    def _authorized(self, it: _Item, date: str, key: tuple[Any, ...],
                    partial: dict[str, Any], unset: list[str]) -> None:
        info = self._class_of(it, "stock_class_id", it.obj.get("stock_class_id"))
        if info is None:
            return
        if info.common:
            self.ignored["TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT of common (not "
                         "tracked)"] += 1
            return
        self.problem(it.file, it.id, "new_shares_authorized", "prefledger fixes a series' "
                     "authorized shares in its terms (SPEC.md §4); change the terms instead")

    def _retraction(self, it: _Item, date: str, key: tuple[Any, ...],
                    partial: dict[str, Any], unset: list[str]) -> None:
        """A retracted issuance never happened: ``EventReversed`` of it (SPEC.md §3)."""
        sid = it.obj.get("security_id")
        iss = self.issuances.get(sid) if isinstance(sid, str) else None
        if iss is None or sid in self.same_stock:
            self.problem(it.file, it.id, "security_id", f"security {str(sid)[:80]!r} is not "
                         "created by an issuance of new shares in this package")
            return
        target = _event_id(_ref_of(iss.obj), iss.id)
        reason = it.obj.get("reason_text")
        ev = {"type": "EventReversed", "effective_date": date, "target_id": target,
              "reason": reason if isinstance(reason, str) and reason else "OCF retraction",
              "id": _event_id(partial, it.id)}
        self.planned.append(Planned(ev, (self._day(date), 3, it.index), Origin(
            it.file, it.id, {"target_id": "security_id", "reason": "reason_text"})))

    def _reissuance(self, it: _Item, date: str, key: tuple[Any, ...],
                    partial: dict[str, Any], unset: list[str]) -> None:
        src = self._sec(it, "security_id", it.obj.get("security_id"))
        if src is None:
            return
        res = it.obj.get("resulting_security_ids")
        for i, rid in enumerate(res if isinstance(res, list) else []):
            r = self._sec(it, f"resulting_security_ids[{i}]", rid)
            if r is not None and not src[0].common and (r[0] is not src[0] or r[1] != src[1]):
                self.problem(it.file, it.id, f"resulting_security_ids[{i}]", "a reissuance to "
                             "another holder or class; give it as a transfer")

    # -- the plan ----------------------------------------------------------------------
    def plan(self) -> ImportPlan:
        issuer = self.issuer or self.manifest_issuer or "default"
        self._approvals()
        planned = sorted(self.planned, key=lambda p: p.key)
        events: list[dict[str, Any]] = []
        origins: list[Origin] = []
        seen: dict[str, Origin] = {}
        for p in planned:
            ev = {k: v for k, v in p.event.items() if not k.startswith("_")}
            requested = p.event.get("_requested")
            if requested is not None:
                ev["shares"] = requested
            ev["issuer"] = issuer
            eid = ev.get("id")
            if isinstance(eid, str):
                if eid in seen:
                    self.problem(p.origin.file, p.origin.object_id, "id", f"event id {eid!r} "
                                 f"is used twice (also by {seen[eid].object_id!r})")
                    continue
                seen[eid] = p.origin
            events.append(ev)
            origins.append(p.origin)
        return ImportPlan(issuer, events, origins, self.notes)

    def _approvals(self) -> None:
        """An automatic conversion (K, SPEC.md §6) is derived from the approval listing its
        trigger; a package without that approval gets one on the conversion date."""
        have = {(p.event.get("effective_date"), m) for p in self.planned
                if p.event.get("type") == "ShareholderApproval"
                for m in p.event.get("matters", [])}
        done: set[tuple[str, str]] = set()
        for (day, series, _), (_, origin) in sorted(self.expected_auto.items()):
            terms = next(c.terms for c in self.classes.values()
                         if c.terms is not None and c.terms.series == series)
            trigger = terms.conversion_trigger or ""
            k = (day.isoformat(), trigger)
            if k in have or k in done:
                continue
            done.add(k)
            self.planned.append(Planned(
                {"type": "ShareholderApproval", "effective_date": day.isoformat(),
                 "matters": [trigger], "id": f"ocf:approval:{series}:{day}",
                 "memo": f"from the OCF automatic conversion of Series {series}"},
                (day, 2, -1), Origin(origin.file, origin.object_id,
                                     {"effective_date": "date", "matters": "date"})))

    # -- after replay --------------------------------------------------------------------
    def check_derived(self, st: IssuerState) -> None:
        """The OCF objects the ledger derives must match what it derives (SPEC.md §6)."""
        for day, series, rate, origin in self.expected_adjust:
            s = st.series.get(series)
            adjs = [a for a in (s.adjustments if s else []) if a.effective == day]
            if not any(a.rate_after == rate or abs(a.rate_after - rate) < Decimal("1e-10")
                       for a in adjs):
                got = ", ".join(plain(a.rate_after) for a in adjs) or "none"
                self.problem(origin.file, origin.object_id,
                             "new_ratio_conversion_mechanism.ratio",
                             f"Series {series} to {plain(rate)} common per share on {day}, but "
                             f"the ledger derives {got} that day from the imported events "
                             "(anti-dilution and split adjustments are derived, not imported)")
        derived: dict[tuple[dt.date, str, str], Decimal] = {}
        for c in st.conversions:
            if c.automatic:
                k = (c.effective, c.series, c.holder)
                derived[k] = derived.get(k, ZERO) + c.shares
        for k, (shares, origin) in self.expected_auto.items():
            if derived.get(k, ZERO) != shares:
                self.problem(origin.file, origin.object_id, "quantity_converted",
                             f"{plain(shares)} Series {k[1]} of {k[2]} converted "
                             f"automatically on {k[0]}, but the ledger derives "
                             f"{plain(derived.get(k, ZERO))} from the imported events")


def _map_problems(problems: Iterable[Problem], plan: ImportPlan) -> list[Problem]:
    out = []
    for p in problems:
        if 1 <= p.line <= len(plan.origins):
            o = plan.origins[p.line - 1]
            ev = plan.events[p.line - 1]
            out.append(ocf_problem(o.file, o.object_id, o.field_for(p.field),
                                  f"{ev.get('type')}: {p.message}"))
        else:
            out.append(ocf_problem("(ledger)", p.event, p.field or "(event)", p.message))
    return out


def read_package(path: Path, terms: Sequence[Terms] = (), issuer: str | None = None,
                 schemas: Schemas | None = None, schema_dir: Path | None = None
                 ) -> ImportPlan:
    """The events an OCF package stands for, validated by a pure replay.

    Raises ``LedgerError`` with every problem (file, object id, field). ``schemas``: the
    OCF schemas to check against (default: ``schema_dir`` or the shipped ones).
    """
    if schemas is None:
        schemas = load_schemas(schema_dir)
    r = Reader(terms, schemas, issuer)
    r.collect(path)
    r.build()
    plan = r.plan()
    if r.problems:
        raise LedgerError(r.problems)
    records = []
    for n, ev in enumerate(plan.events, 1):
        got = parse_object(ev, n)
        if isinstance(got, list):
            r.problems.extend(_map_problems(got, plan))
        else:
            records.append(Record(got, n, n))
    if r.problems:
        raise LedgerError(r.problems)
    st, found = replay(plan.issuer, records)
    r.problems.extend(_map_problems(found, plan))
    r.check_derived(st)
    if r.problems:
        raise LedgerError(r.problems)
    return plan


def import_package(ledger: Any, path: Path, terms: Sequence[Terms] = (),
                   issuer: str | None = None, schema_dir: Path | None = None,
                   schemas: Schemas | None = None) -> tuple[ImportPlan, Any]:
    """Read the package and load its events atomically (SPEC.md §3: all or nothing)."""
    plan = read_package(path, terms, issuer, schemas=schemas, schema_dir=schema_dir)
    try:
        res = ledger.load_lines(plan.lines())
    except LedgerError as exc:
        raise LedgerError(_map_problems(exc.problems, plan)) from None
    return plan, res


def load_terms_files(paths: Iterable[Path]) -> list[Terms]:
    """Terms from ``--terms`` files: one Terms object, a list of them, or an object of
    them keyed by series (SPEC.md §4). Raises ``LedgerError`` naming file, series and field."""
    out: list[Terms] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
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
