"""OCF stock transactions -> ledger events (SPEC.md §3, §13, §10 ``import-ocf``).

- ``TX_STOCK_ISSUANCE`` -> ``SharesIssued`` / ``CommonStockIssued`` held by its
  stakeholder (issuances that are the resulting or balance security of another stock
  transaction are not new shares);
- ``TX_STOCK_TRANSFER`` -> ``SharesTransferred`` of the series or of common;
  ``TX_STOCK_CONVERSION`` -> ``SharesConverted`` (preferred into common), or
  ``SharesCancelled`` and ``SharesIssued`` (into another class, or of common);
  ``TX_STOCK_CANCELLATION`` and ``TX_STOCK_REPURCHASE`` -> ``SharesCancelled`` of the
  quantity, the rest kept (``SharesRedeemed`` or ``Liquidation`` when the
  ``prefledger:ref`` says so); ``TX_STOCK_CLASS_SPLIT`` of common -> ``CommonStockSplit``;
  ``TX_STOCK_RETRACTION`` -> ``EventReversed`` of the issuance;
  ``TX_STOCK_CONSOLIDATION`` -> nothing moves (checked).

What the ledger derives is not applied twice (SPEC.md §6): conversion-ratio adjustments
of series that adjust (or on a split date) and automatic conversions are noted here and
checked after the replay (``plan``); another adjustment is recorded as given
(``TermsAmended``). An object that names a class, stakeholder or security the package
lacks or does not import is listed as not imported (``ImportContext.skip``) with its
effect on each class and stakeholder, the missing thing reported once; options,
warrants, convertibles and plan securities with a quantity are listed likewise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ledger.ocf.comments import machine_lines, ref, ref_of
from ledger.ocf.context import (
    ClassInfo,
    ImportContext,
    Item,
    Origin,
    Planned,
    day,
    event_id,
    lookup,
)
from ledger.ocf.schema import is_numeric, ratio_value
from ledger.values import ZERO, plain

#: transactions about securities prefledger does not track until they result in stock
NOT_TRACKED = ("TX_EQUITY_COMPENSATION_", "TX_WARRANT_", "TX_CONVERTIBLE_",
               "TX_PLAN_SECURITY_", "TX_VESTING_", "TX_STOCK_PLAN_",
               "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT")
#: transactions whose resulting securities are new stock (and the common issuance kind)
NEW_STOCK = {"TX_EQUITY_COMPENSATION_EXERCISE": "option_exercise",
             "TX_EQUITY_COMPENSATION_RELEASE": "option_exercise",
             "TX_PLAN_SECURITY_EXERCISE": "option_exercise",
             "TX_PLAN_SECURITY_RELEASE": "option_exercise",
             "TX_WARRANT_EXERCISE": "other",
             "TX_CONVERTIBLE_CONVERSION": "other"}
#: stock transactions whose resulting and balance securities carry existing shares
SAME_STOCK = ("TX_STOCK_TRANSFER", "TX_STOCK_CONVERSION", "TX_STOCK_REPURCHASE",
              "TX_STOCK_CANCELLATION", "TX_STOCK_REISSUANCE", "TX_STOCK_CONSOLIDATION")
#: the stakeholders prefledger's own exports name for common without a named holder
#: (earlier exports: "untracked"; later: "unattributed")
COMMON_PLACEHOLDERS = ("stakeholder-common-untracked", "stakeholder-unattributed-common")

#: event field -> the OCF field that holds it
ISSUE_FIELDS = {"shares": "quantity", "holder": "stakeholder_id", "series": "stock_class_id",
                "price_per_share": "share_price.amount", "effective_date": "date"}
MOVE_FIELDS = {"effective_date": "date", "series": "security_id", "holder": "security_id",
               "from_holder": "security_id", "to_holder": "resulting_security_ids",
               "shares": "quantity"}

Order = tuple[Any, ...]
Handler = Callable[[Item, str, Order, dict[str, Any], list[str]], None]


def read_transactions(ctx: ImportContext, txs: Sequence[Item]) -> None:
    Transactions(ctx, txs).read()


class Transactions:
    """The stock transactions of a package, read into planned events.

    ``order`` is an event's place in load order: ``(date, 1, seq)`` for an object with a
    ``prefledger:ref`` (the exported order), else ``(date, 2, index)``.
    """

    def __init__(self, ctx: ImportContext, txs: Sequence[Item]) -> None:
        self.ctx = ctx
        self.txs = txs
        #: security id -> the issuance that created it
        self.issuances: dict[str, Item] = {}
        #: securities that carry shares already issued (resulting / balance securities)
        self.same_stock: set[str] = set()
        #: securities issued as new stock by an exercise or conversion -> issuance kind
        self.new_stock: dict[str, str] = {}
        #: one event per prefledger event: the securities of one transfer, conversion or
        #: redemption are summed back into it
        self.groups: dict[tuple[Any, ...], Planned] = {}
        #: issuance id -> the issuance that created the same security first
        self.twice: dict[str, str] = {}
        #: the dates of stock class splits (a split adjusts every conversion rate)
        self.split_dates = {t.obj.get("date") for t in txs
                            if t.obj.get("object_type") == "TX_STOCK_CLASS_SPLIT"}

    def problem(self, it: Item, fld: str, message: str) -> None:
        self.ctx.problem(it.file, it.id, fld, message)

    def read(self) -> None:
        self._securities()
        # issuances first: whether a security is imported is known before any
        # transaction that names it is read (load order comes from the dates)
        for it in sorted(self.txs, key=lambda t: t.obj.get("object_type")
                         != "TX_STOCK_ISSUANCE"):
            self.transaction(it)
        self.ctx.planned.extend(self.groups.values())
        for n, c in sorted(self.ctx.ignored.items()):
            self.ctx.notes.append(f"{c} {n} object(s) not used: prefledger tracks stock only "
                                  "(options, warrants, convertibles, plans and vesting are "
                                  "read only when they result in stock)")

    def _securities(self) -> None:
        """Which issuance creates each security, and which securities are not new."""
        for it in self.txs:
            o = it.obj
            ot = o.get("object_type")
            if ot == "TX_STOCK_ISSUANCE":
                sid = o.get("security_id")
                if isinstance(sid, str):
                    if sid in self.issuances:
                        self.twice[it.id] = self.issuances[sid].id
                    else:
                        self.issuances[sid] = it
            ids = [x for x in o.get("resulting_security_ids", []) if isinstance(x, str)] \
                if isinstance(o.get("resulting_security_ids"), list) else []
            bal = o.get("balance_security_id")
            if isinstance(bal, str):
                ids.append(bal)
            one = o.get("resulting_security_id")
            if isinstance(one, str):
                ids.append(one)
            if ot in SAME_STOCK:
                self.same_stock.update(ids)
            elif isinstance(ot, str) and ot in NEW_STOCK:
                self.new_stock.update({x: NEW_STOCK[ot] for x in ids})

    # -- lookups -----------------------------------------------------------------------
    def sec(self, it: Item, fld: str, sid: Any) -> tuple[ClassInfo, str] | None:
        """The class and holder of a security, from the issuance that created it; None
        (and the object listed as not imported) when there is none."""
        if not isinstance(sid, str) or sid not in self.issuances:
            key = f"security {str(sid)[:80]!r}"
            self.dangling(it, "no TX_STOCK_ISSUANCE creates", key, fld)
            return None
        iss = self.issuances[sid]
        gone = self.ctx.skipped_ids.get(iss.id)
        if gone is not None:
            self.not_imported(it, f"its {fld} {sid[:80]!r} is not imported",
                              because=gone.because or f"{gone.object_id}: {gone.reason}")
            return None
        info = self.ctx.classes.get(lookup(iss.obj.get("stock_class_id")))
        if info is None:  # the issuance is not imported either
            self.not_imported(it, f"its {fld} {sid[:80]!r} is issued in a stock class "
                              "the package does not have")
            return None
        sh = iss.obj.get("stakeholder_id")
        if info.common and sh in COMMON_PLACEHOLDERS:
            return info, ""
        holder = self.ctx.stakeholders.get(lookup(sh))
        if holder is None:
            failed = self.ctx.failed_stakeholders.get(lookup(sh))
            if failed is not None:
                self.not_imported(it, f"the stakeholder of its {fld} is not imported",
                                  because=failed)
            else:
                self.dangling(it, "no stakeholder has id", repr(str(sh)[:80]), fld)
            return None
        return info, holder

    # -- not imported ------------------------------------------------------------------
    def effects(self, it: Item) -> list[tuple[str | None, str | None, Decimal]]:
        """What an object does to the shares of each (class id, stakeholder id), as the
        package counts them: issued shares in, a transaction's source security out and
        its resulting securities in (a balance security is the remainder, kept)."""
        o = it.obj
        ot = o.get("object_type")
        out: list[tuple[str | None, str | None, Decimal]] = []

        def at(sid: Any) -> tuple[str | None, str | None, Decimal]:
            iss = self.issuances.get(sid) if isinstance(sid, str) else None
            if iss is None:
                return None, None, ZERO
            q = iss.obj.get("quantity")
            return (_str(iss.obj.get("stock_class_id")), _str(iss.obj.get("stakeholder_id")),
                    Decimal(q) if is_numeric(q) else ZERO)

        if ot == "TX_STOCK_ISSUANCE":
            if lookup(o.get("security_id")) in self.same_stock or it.id in self.twice:
                return []
            q = o.get("quantity")
            return [(_str(o.get("stock_class_id")), _str(o.get("stakeholder_id")),
                     Decimal(q) if is_numeric(q) else ZERO)]
        if ot not in SAME_STOCK and ot != "TX_STOCK_RETRACTION":
            return []  # options, warrants, plans, adjustments: no shares of a class
        qfield = {"TX_STOCK_TRANSFER": "quantity", "TX_STOCK_REPURCHASE": "quantity",
                  "TX_STOCK_CANCELLATION": "quantity",
                  "TX_STOCK_CONVERSION": "quantity_converted"}.get(str(ot))
        sources = o.get("security_ids") if ot == "TX_STOCK_CONSOLIDATION" else \
            [o.get("security_id")]
        for sid in sources if isinstance(sources, list) else []:
            c, h, whole = at(sid)
            q = o.get(qfield) if qfield else None
            out.append((c, h, -(Decimal(q) if is_numeric(q) else whole)))
        res = o.get("resulting_security_ids")
        res = list(res) if isinstance(res, list) else []
        if isinstance(o.get("resulting_security_id"), str):
            res.append(o["resulting_security_id"])
        if ot in SAME_STOCK:
            out.extend(at(r) for r in res)
        return [e for e in out if e[2] != ZERO]

    def not_imported(self, it: Item, reason: str, because: str | None = None) -> None:
        """List the object as not imported (once), with its shares and effects."""
        if it.id in self.ctx.skipped_ids:
            return
        eff = self.effects(it)
        o = it.obj
        q = o.get("quantity", o.get("quantity_converted"))
        shares = Decimal(q) if is_numeric(q) else None
        self.ctx.skip(it, reason, shares=shares,
                      class_id=_str(o.get("stock_class_id")) or (eff[0][0] if eff else None),
                      stakeholder_id=_str(o.get("stakeholder_id")) or
                      (eff[0][1] if eff else None), because=because, effects=eff)

    def dangling(self, it: Item, what: str, key: str, fld: str) -> None:
        """An object naming something the package does not have: not imported; the
        missing thing reported once."""
        reason = f"{what} {key}"
        self.ctx.warn(it.file, it.id, fld, f"{reason}: every object naming it is listed "
                      "as not imported", key=("dangling", key))
        self.not_imported(it, f"{fld}: {reason}")

    def qty(self, it: Item, fld: str, value: Any) -> Decimal | None:
        if not is_numeric(value) or Decimal(value) <= 0:
            self.problem(it, fld, f"{str(value)[:40]!r} is not a positive number")
            return None
        return Decimal(value)

    def class_of(self, it: Item, fld: str, cid: Any) -> ClassInfo | None:
        """The stock class an object names; None (listed as not imported) when the
        package has no such class or the class is not imported."""
        info = self.ctx.classes.get(cid) if isinstance(cid, str) else None
        if info is None:
            self.dangling(it, "no stock class has id", repr(str(cid)[:80]), fld)
            return None
        if not info.common and info.terms is None:
            why = self.ctx.failed_classes.get(info.id, f"stock class {info.id!r} (its "
                                              "problem is reported on it)")
            self.not_imported(it, "its stock class is not imported", because=why)
            return None
        return info

    def check_type(self, it: Item, partial: dict[str, Any], want: str) -> bool:
        got = partial.get("type", want)
        if got != want:
            self.problem(it, "comments", f"its prefledger:ref is for a {got} event, not "
                         f"{want}")
            return False
        return True

    # -- one transaction ---------------------------------------------------------------
    def transaction(self, it: Item) -> None:
        o = it.obj
        ot = str(o.get("object_type"))
        lines = machine_lines(self.ctx, it.file, it.id, o.get("comments"))
        if ot == "TX_STOCK_ISSUANCE" and any(
                isinstance(obj, dict) and obj.get("cause") in ("DividendPaid", "PublicOffering")
                for _, obj in lines.get("derived", [])):
            # SPEC.md §12: shares paid in kind, and an offering's common, come again from
            # the carried payment or offering
            return
        seq, partial, unset = ref(lines)
        date = o.get("date")
        if not isinstance(date, str) or day(date) == dt.date.min:
            self.problem(it, "date", f"{str(date)[:40]!r} is not a date YYYY-MM-DD")
            return
        when = day(date)
        order = (when, 1, seq) if seq is not None else (when, 2, it.index)
        handlers: dict[str, Handler] = {
            "TX_STOCK_ISSUANCE": self.issuance,
            "TX_STOCK_TRANSFER": self.transfer,
            "TX_STOCK_CONVERSION": self.conversion,
            "TX_STOCK_REPURCHASE": self.repurchase,
            "TX_STOCK_CANCELLATION": self.cancellation,
            "TX_STOCK_CLASS_SPLIT": self.split,
            "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT": self.adjustment,
            "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT": self.authorized,
            "TX_STOCK_RETRACTION": self.retraction,
            "TX_STOCK_REISSUANCE": self.reissuance,
            "TX_STOCK_ACCEPTANCE": lambda *a: None,
            "TX_STOCK_CONSOLIDATION": self.consolidation,
        }
        handler = handlers.get(ot)
        if handler is not None:
            handler(it, date, order, partial, unset)
        elif ot.startswith(NOT_TRACKED):
            self.ctx.ignored[ot] += 1
            if is_numeric(o.get("quantity")) or is_numeric(o.get("quantity_converted")):
                self.not_imported(it, "options, warrants, convertibles and plan securities "
                                  "are not tracked until they result in stock")
        else:
            self.problem(it, "object_type", f"{ot[:60]!r} is not an OCF 1.2.0 transaction "
                         "prefledger reads")

    def group(self, gkey: tuple[Any, ...], ev: dict[str, Any], order: Order,
              origin: Origin, add: str | None) -> None:
        """One event per prefledger event: securities of one transfer, conversion or
        redemption are summed back into it."""
        prior = self.groups.get(gkey)
        if prior is None:
            self.groups[gkey] = Planned(ev, order, origin)
        elif add is not None:
            prior.event[add] = plain(Decimal(prior.event[add]) + Decimal(ev[add]))

    def issuance(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                 unset: list[str]) -> None:
        o = it.obj
        if it.id in self.twice:
            self.ctx.warn(it.file, it.id, "security_id", f"security "
                          f"{str(o.get('security_id'))[:80]!r} is issued twice (also by "
                          f"{self.twice[it.id]!r}): this issuance is not imported")
            q = o.get("quantity")
            self.ctx.skip(it, f"security {str(o.get('security_id'))[:80]!r} is issued "
                          f"again (first by {self.twice[it.id]!r})",
                          shares=Decimal(q) if is_numeric(q) else None,
                          class_id=_str(o.get("stock_class_id")),
                          stakeholder_id=_str(o.get("stakeholder_id")),
                          effects=[(_str(o.get("stock_class_id")),
                                    _str(o.get("stakeholder_id")),
                                    Decimal(q) if is_numeric(q) else ZERO)])
            return
        info = self.class_of(it, "stock_class_id", o.get("stock_class_id"))
        if info is None:
            return
        sh = o.get("stakeholder_id")
        holder = self.ctx.stakeholders.get(lookup(sh))
        placeholder = info.common and sh in COMMON_PLACEHOLDERS
        if holder is None and not placeholder:
            failed = self.ctx.failed_stakeholders.get(lookup(sh))
            if failed is not None:
                self.not_imported(it, f"its stakeholder {str(sh)[:80]!r} is not imported",
                                  because=failed)
            else:
                self.dangling(it, "no stakeholder has id", repr(str(sh)[:80]),
                              "stakeholder_id")
            return
        sid = o.get("security_id")
        if lookup(sid) in self.same_stock:
            return
        shares = self.qty(it, "quantity", o.get("quantity"))
        if shares is None:
            return
        price = o.get("share_price", {}).get("amount") if isinstance(o.get("share_price"),
                                                                     dict) else None
        want = "CommonStockIssued" if info.common else "SharesIssued"
        if not self.check_type(it, partial, want):
            return
        ev: dict[str, Any] = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type=want, effective_date=date, id=event_id(partial, it.id))
        ev.setdefault("shares", plain(shares))
        if info.common:
            kind = self.new_stock.get(sid, "other") if isinstance(sid, str) else "other"
            ev.setdefault("kind", kind)
            if not placeholder and holder:
                ev.setdefault("holder", holder)
        else:
            ev.update(series=info.series, holder=holder)
        if is_numeric(price) and "price_per_share" not in unset:
            ev.setdefault("price_per_share", plain(Decimal(price)))
        self.ctx.planned.append(Planned(ev, order, Origin(it.file, it.id, dict(ISSUE_FIELDS))))

    def moves(self, it: Item, date: str, partial: dict[str, Any], want: str,
              qty_field: str) -> tuple[ClassInfo, str, Decimal, dict[str, Any]] | None:
        """The source security of a transfer or repurchase, and the event's common part."""
        o = it.obj
        src = self.sec(it, "security_id", o.get("security_id"))
        shares = self.qty(it, qty_field, o.get(qty_field))
        if src is None or shares is None:
            return None
        info, holder = src
        if not info.common and info.terms is None:
            return None
        if not self.check_type(it, partial, want):
            return None
        ev: dict[str, Any] = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type=want, effective_date=date, series=info.series,
                  id=event_id(partial, it.id))
        return info, holder, shares, ev

    def transfer(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                 unset: list[str]) -> None:
        got = self.moves(it, date, partial, "SharesTransferred", "quantity")
        if got is None:
            return
        info, holder, shares, ev = got
        if info.common and not holder:
            self.not_imported(it, "a transfer of common the package does not attribute "
                              "to a holder (prefledger's untracked common)")
            return
        res = it.obj.get("resulting_security_ids")
        moved: dict[str, Decimal] = {}
        for i, rid in enumerate(res if isinstance(res, list) else []):
            r = self.sec(it, f"resulting_security_ids[{i}]", rid)
            if r is None:
                return
            if r[0] is info and not r[1]:
                self.not_imported(it, "the resulting security names no holder")
                return
            if r[0] is not info:
                self.problem(it, f"resulting_security_ids[{i}]", "the resulting security is "
                             "of another stock class")
                return
            q = self.qty(self.issuances[rid], "quantity", self.issuances[rid].obj.get(
                "quantity"))
            if q is None:
                return
            if r[1] != holder:
                moved[r[1]] = moved.get(r[1], ZERO) + q
        if sum(moved.values(), ZERO) > shares:
            self.problem(it, "quantity", f"the resulting securities hold "
                         f"{plain(sum(moved.values(), ZERO))}, more than the {plain(shares)} "
                         "transferred")
            return
        for n, (to, q) in enumerate(sorted(moved.items())):
            e = dict(ev, from_holder=holder, to_holder=to, shares=plain(q))
            if len(moved) > 1 and "id" not in partial:
                e["id"] = f"{e['id']}#{n + 1}"
            gkey = ("ref", order[2], to) if order[1] == 1 else ("obj", it.id, to)
            self.group(gkey, e, order, Origin(it.file, it.id, dict(MOVE_FIELDS)), "shares")

    def conversion(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        o = it.obj
        src = self.sec(it, "security_id", o.get("security_id"))
        shares = self.qty(it, "quantity_converted", o.get("quantity_converted"))
        if src is None or shares is None:
            return
        info, holder = src
        if not info.common and info.terms is None:
            return
        res = o.get("resulting_security_ids")
        targets: list[tuple[ClassInfo, str, Decimal]] = []
        for i, rid in enumerate(res if isinstance(res, list) else []):
            r = self.sec(it, f"resulting_security_ids[{i}]", rid)
            if r is None:
                return
            q = self.qty(self.issuances[rid], "quantity",
                         self.issuances[rid].obj.get("quantity"))
            if q is None:
                return
            targets.append((r[0], r[1], q))
        if info.common or any(not t[0].common for t in targets):
            self.into_class(it, date, order, info, holder, shares, targets)
            return
        origin = Origin(it.file, it.id, dict(MOVE_FIELDS, shares="quantity_converted"))
        comments = o.get("comments")
        derived = any(isinstance(c, str) and c.startswith("prefledger:derived ")
                      for c in (comments if isinstance(comments, list) else []))
        if derived and info.terms is not None and info.terms.conversion != "automatic":
            return  # SPEC.md §12 mandatory conversion: the replay derives it again
        if info.terms is not None and info.terms.conversion == "automatic":
            k = (day(date), info.series, holder)
            prior = self.ctx.expected_auto.get(k)
            self.ctx.expected_auto[k] = ((prior[0] if prior else ZERO) + shares,
                                         prior[1] if prior else origin)
            return
        if not self.check_type(it, partial, "SharesConverted"):
            return
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type="SharesConverted", effective_date=date, series=info.series,
                  holder=holder, shares=plain(shares), id=event_id(partial, it.id))
        gkey = ("ref", order[2]) if order[1] == 1 else ("obj", it.id)
        self.group(gkey, ev, order, origin, "shares")
        if order[1] != 1 and targets:  # another tool's: its common must be the ledger's
            self.ctx.expected_common[ev["id"]] = (
                sum((t[2] for t in targets), ZERO),
                Origin(it.file, it.id, {"shares": "resulting_security_ids"}))

    def into_class(self, it: Item, date: str, order: Order, info: ClassInfo, holder: str,
                   shares: Decimal, targets: list[tuple[ClassInfo, str, Decimal]]) -> None:
        """A conversion into another stock class (or of common): the converted shares
        are cancelled and the resulting securities issued in their class (the ledger's
        own conversion is preferred into common at the series rate)."""
        if not holder or not targets or any(not t[1] for t in targets):
            self.not_imported(it, "a conversion whose source or resulting securities "
                              "name no holder, or that results in no security")
            return
        if any(t[0].common for t in targets):
            self.not_imported(it, "a conversion into common and another class at once")
            return
        base = event_id({}, it.id)
        fields = {"effective_date": "date", "series": "security_id", "holder": "security_id",
                  "shares": "quantity_converted"}
        self.ctx.planned.append(Planned(
            {"type": "SharesCancelled", "effective_date": date, "series": info.series,
             "holder": holder, "shares": plain(shares), "reason": "other", "id": base,
             "memo": f"OCF conversion into {', '.join(sorted({t[0].series for t in targets}))}"},
            order, Origin(it.file, it.id, fields)))
        for n, (cls, to, q) in enumerate(targets, 1):
            self.ctx.planned.append(Planned(
                {"type": "SharesIssued", "effective_date": date, "series": cls.series,
                 "holder": to, "shares": plain(q), "id": f"{base}#{n}"[:200],
                 "memo": f"OCF conversion from {info.series}"},
                order + (n,), Origin(it.file, it.id, dict(
                    fields, series="resulting_security_ids", holder="resulting_security_ids",
                    shares="resulting_security_ids"))))

    def cancelled(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                  reason: str, price: Any = None) -> None:
        """A cancellation or repurchase of part of a security (SPEC.md §13): the shares
        leave the holder for good; the remainder (the balance security) stays."""
        got = self.moves(it, date, partial, "SharesCancelled", "quantity")
        if got is None:
            return
        info, holder, shares, ev = got
        if not holder:
            self.not_imported(it, "a cancellation of common the package does not "
                              "attribute to a holder (prefledger's untracked common)")
            return
        ev.update(holder=holder, shares=plain(shares))
        ev.setdefault("reason", reason)
        if order[1] != 1:  # another tool's: its text and price (a prefledger:ref has its own)
            text = it.obj.get("reason_text")
            if isinstance(text, str) and text.strip():
                ev["memo"] = text.strip()[:10_000]
            amount = price.get("amount") if isinstance(price, dict) else None
            if is_numeric(amount) and Decimal(amount) >= 0:
                ev["price_per_share"] = plain(Decimal(amount))
        # SPEC.md §13: one event for the securities of one cancellation
        gkey = ("ref", order[2]) if order[1] == 1 else ("obj", it.id)
        self.group(gkey, ev, order, Origin(it.file, it.id, dict(
            MOVE_FIELDS, reason="reason_text", price_per_share="price.amount")), "shares")

    def repurchase(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        if partial.get("type", "SharesCancelled") == "SharesCancelled":
            self.cancelled(it, date, order, partial, "repurchase", it.obj.get("price"))
            return
        got = self.moves(it, date, partial, "SharesRedeemed", "quantity")
        if got is None:
            return
        info, holder, shares, ev = got
        requested = ev.pop("shares", None)
        ev.update(holder=holder, shares=plain(shares))
        gkey = ("ref", order[2]) if order[1] == 1 else ("obj", it.id)
        self.group(gkey, ev, order, Origin(it.file, it.id, dict(MOVE_FIELDS)), "shares")
        if requested is not None:
            self.groups[gkey].event["_requested"] = requested

    def cancellation(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                     unset: list[str]) -> None:
        if partial.get("type", "SharesCancelled") == "SharesCancelled":
            text = it.obj.get("reason_text")
            why = "forfeiture" if isinstance(text, str) and "forfeit" in text.lower() \
                else "other"
            self.cancelled(it, date, order, partial, why)
            return
        if partial.get("type") != "Liquidation" or order[1] != 1:
            self.problem(it, "comments", f"its prefledger:ref is for a "
                         f"{str(partial.get('type'))[:60]} event, not a cancellation")
            return
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(effective_date=date, id=event_id(partial, it.id))
        self.group(("ref", order[2]), ev, order, Origin(it.file, it.id, {
            "effective_date": "date", "proceeds": "comments"}), None)

    def split(self, it: Item, date: str, order: Order, partial: dict[str, Any],
              unset: list[str]) -> None:
        o = it.obj
        info = self.class_of(it, "stock_class_id", o.get("stock_class_id"))
        if info is None:
            return
        if not info.common:
            # SPEC.md §6: only the common stock splits
            self.problem(it, "stock_class_id", "a split of a preferred class: prefledger "
                         "splits only the common stock")
            return
        r = ratio_value(o.get("split_ratio"))
        text = plain(r) if r is not None and r > 0 else ""
        if not text or Decimal(text) != r or len(text.partition(".")[2]) > 12:
            self.problem(it, "split_ratio", "the ratio must be a positive decimal with at "
                         "most 12 decimals")
            return
        if not self.check_type(it, partial, "CommonStockSplit"):
            return
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type="CommonStockSplit", effective_date=date, ratio=text,
                  id=event_id(partial, it.id))
        self.ctx.planned.append(Planned(ev, order, Origin(it.file, it.id, {
            "ratio": "split_ratio", "effective_date": "date"})))

    def adjustment(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        """Derived by the ledger (SPEC.md §6): checked after replay, never applied."""
        o = it.obj
        info = self.class_of(it, "stock_class_id", o.get("stock_class_id"))
        if info is None:
            return
        mech = o.get("new_ratio_conversion_mechanism")
        r = ratio_value(mech.get("ratio")) if isinstance(mech, dict) else None
        if r is None or r <= 0:
            self.problem(it, "new_ratio_conversion_mechanism.ratio", "not a positive ratio")
            return
        if info.common:
            self.not_imported(it, f"a conversion ratio adjustment of the common stock (to "
                              f"{plain(r)}): the ledger's common converts into nothing; kept "
                              "in this report only")
            self.ctx.warn(it.file, it.id, "stock_class_id", "a conversion ratio adjustment of "
                          "the common stock: not imported (listed in the report)")
            return
        assert info.terms is not None
        t = info.terms
        method = t.antidilution or ("threshold" if t.antidilution_threshold is not None
                                    else "none")
        if method != "none" or t.conversion == "none" or date in self.split_dates:
            # derived by the ledger (anti-dilution, or the split that day): checked after
            # replay, never applied twice
            self.ctx.expected_adjust.append((day(date), info.series, r,
                                             Origin(it.file, it.id)))
            return
        self.recorded_adjustment(it, date, order, partial, info, r)

    def recorded_adjustment(self, it: Item, date: str, order: Order,
                            partial: dict[str, Any], info: ClassInfo, rate: Decimal) -> None:
        """A ratio adjustment the ledger does not derive (the series has no anti-dilution
        method): kept as the series' new conversion rate from that day (a recorded
        ``TermsAmended``), and reported."""
        text = plain(rate)
        if len(text.partition(".")[2]) > 12:
            text = plain(rate.quantize(Decimal("1e-12")))
        changes: dict[str, Any] = {"conversion_rate": text}
        if info.terms is not None and info.terms.conversion_price is not None:
            changes["conversion_price"] = None
        ev = {k: v for k, v in partial.items() if k != "issuer"}
        ev.update(type="TermsAmended", effective_date=date, series=info.series,
                  changes=changes, id=event_id(partial, it.id))
        ev.setdefault("memo", "OCF conversion ratio adjustment, recorded as given (not "
                      "derived by the ledger)")
        self.ctx.planned.append(Planned(ev, order, Origin(it.file, it.id, {
            "changes": "new_ratio_conversion_mechanism.ratio", "effective_date": "date",
            "series": "stock_class_id"})))
        self.ctx.warn(it.file, it.id, "new_ratio_conversion_mechanism", f"Series "
                      f"{info.series} to {text} common per share from {date}: recorded as "
                      "given (the ledger derives no adjustment for this series)")

    def consolidation(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                      unset: list[str]) -> None:
        """Securities of one holder and class combined into one: no shares move."""
        o = it.obj
        srcs = o.get("security_ids")
        got = [self.sec(it, f"security_ids[{i}]", sid)
               for i, sid in enumerate(srcs if isinstance(srcs, list) else [])]
        res = self.sec(it, "resulting_security_id", o.get("resulting_security_id"))
        if res is None or not got or any(g is None for g in got):
            return
        if any(g != res for g in got):
            self.not_imported(it, "a consolidation of securities of different holders or "
                              "classes")
            return
        total = ZERO
        for sid in srcs if isinstance(srcs, list) else []:
            q = self.issuances[sid].obj.get("quantity")
            total += Decimal(q) if is_numeric(q) else ZERO
        rq = self.issuances[o["resulting_security_id"]].obj.get("quantity")
        if not is_numeric(rq) or Decimal(rq) != total:
            self.problem(it, "resulting_security_id", f"the consolidated security holds "
                         f"{str(rq)[:40]}, not the {plain(total)} of the securities combined")

    def authorized(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        info = self.class_of(it, "stock_class_id", it.obj.get("stock_class_id"))
        if info is None:
            return
        if info.common:
            self.ctx.ignored["TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT of common (not "
                             "tracked)"] += 1
            return
        # SPEC.md §4: authorized shares are part of the series terms
        self.problem(it, "new_shares_authorized", "prefledger fixes a series' authorized "
                     "shares in its terms; change the terms instead")

    def retraction(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        """A retracted issuance never happened: ``EventReversed`` of it (SPEC.md §3)."""
        sid = it.obj.get("security_id")
        iss = self.issuances.get(sid) if isinstance(sid, str) else None
        if iss is None or iss.id in self.ctx.skipped_ids:
            self.sec(it, "security_id", sid)  # listed as not imported, and why
            return
        if sid in self.same_stock:
            self.problem(it, "security_id", f"security {str(sid)[:80]!r} is not created by "
                         "an issuance of new shares in this package")
            return
        target = event_id(ref_of(iss.obj), iss.id)
        reason = it.obj.get("reason_text")
        ev = {"type": "EventReversed", "effective_date": date, "target_id": target,
              "reason": reason if isinstance(reason, str) and reason else "OCF retraction",
              "id": event_id(partial, it.id)}
        self.ctx.planned.append(Planned(ev, (day(date), 3, it.index), Origin(
            it.file, it.id, {"target_id": "security_id", "reason": "reason_text"})))

    def reissuance(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        src = self.sec(it, "security_id", it.obj.get("security_id"))
        if src is None:
            return
        res = it.obj.get("resulting_security_ids")
        for i, rid in enumerate(res if isinstance(res, list) else []):
            r = self.sec(it, f"resulting_security_ids[{i}]", rid)
            if r is not None and not src[0].common and (r[0] is not src[0] or r[1] != src[1]):
                self.problem(it, f"resulting_security_ids[{i}]", "a reissuance to another "
                             "holder or class; give it as a transfer")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
