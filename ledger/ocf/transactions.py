"""OCF stock transactions -> ledger events (SPEC.md §3, §10 ``import-ocf``).

- ``TX_STOCK_ISSUANCE`` -> ``SharesIssued`` / ``CommonStockIssued`` (issuances that are
  the resulting or balance security of another stock transaction are not new shares);
- ``TX_STOCK_TRANSFER`` -> ``SharesTransferred``; ``TX_STOCK_CONVERSION`` ->
  ``SharesConverted``; ``TX_STOCK_REPURCHASE`` -> ``SharesRedeemed``;
  ``TX_STOCK_CLASS_SPLIT`` of common -> ``CommonStockSplit``; ``TX_STOCK_RETRACTION`` ->
  ``EventReversed`` of the issuance; ``TX_STOCK_CANCELLATION`` of a prefledger
  liquidation -> ``Liquidation``.

What the ledger derives is not applied twice (SPEC.md §6): conversion-ratio adjustments
and automatic conversions are noted here and checked after the replay (``plan``).
Options, warrants, convertibles, plans and vesting are counted and listed as notes.
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
              "TX_STOCK_CANCELLATION", "TX_STOCK_REISSUANCE")

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

    def problem(self, it: Item, fld: str, message: str) -> None:
        self.ctx.problem(it.file, it.id, fld, message)

    def read(self) -> None:
        self._securities()
        for it in self.txs:
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
                        self.problem(it, "security_id", f"security {sid!r} is issued twice "
                                     f"(also by {self.issuances[sid].id!r})")
                    else:
                        self.issuances[sid] = it
            ids = [x for x in o.get("resulting_security_ids", []) if isinstance(x, str)] \
                if isinstance(o.get("resulting_security_ids"), list) else []
            bal = o.get("balance_security_id")
            if isinstance(bal, str):
                ids.append(bal)
            if ot in SAME_STOCK:
                self.same_stock.update(ids)
            elif isinstance(ot, str) and ot in NEW_STOCK:
                self.new_stock.update({x: NEW_STOCK[ot] for x in ids})

    # -- lookups -----------------------------------------------------------------------
    def sec(self, it: Item, fld: str, sid: Any) -> tuple[ClassInfo, str] | None:
        """The class and holder of a security, from the issuance that created it."""
        if not isinstance(sid, str) or sid not in self.issuances:
            self.problem(it, fld, f"no TX_STOCK_ISSUANCE creates security {str(sid)[:80]!r}")
            return None
        iss = self.issuances[sid].obj
        info = self.ctx.classes.get(lookup(iss.get("stock_class_id")))
        if info is None:
            return None  # reported on the issuance
        holder = self.ctx.stakeholders.get(lookup(iss.get("stakeholder_id")), "")
        return info, holder

    def qty(self, it: Item, fld: str, value: Any) -> Decimal | None:
        if not is_numeric(value) or Decimal(value) <= 0:
            self.problem(it, fld, f"{str(value)[:40]!r} is not a positive number")
            return None
        return Decimal(value)

    def class_of(self, it: Item, fld: str, cid: Any) -> ClassInfo | None:
        info = self.ctx.classes.get(cid) if isinstance(cid, str) else None
        if info is None:
            self.problem(it, fld, f"no stock class has id {str(cid)[:80]!r}")
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
        }
        handler = handlers.get(ot)
        if handler is not None:
            handler(it, date, order, partial, unset)
        elif ot.startswith(NOT_TRACKED):
            self.ctx.ignored[ot] += 1
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
        info = self.class_of(it, "stock_class_id", o.get("stock_class_id"))
        holder = self.ctx.stakeholders.get(lookup(o.get("stakeholder_id")))
        if info is not None and not info.common and holder is None:
            self.problem(it, "stakeholder_id", f"no stakeholder has id "
                         f"{str(o.get('stakeholder_id'))[:80]!r}")
            return
        sid = o.get("security_id")
        if info is None or lookup(sid) in self.same_stock or (not info.common
                                                              and info.terms is None):
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
        if info.common and partial.get("type") not in ("SharesTransferred",
                                                       "SharesCancelled"):
            return (info, holder, shares, {})  # SPEC.md §13: a prefledger common move
        if (info.terms is None and not info.common) or not self.check_type(it, partial,
                                                                          want):
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
        if info.common and not ev:
            self.ctx.ignored["TX_STOCK_TRANSFER of common (prefledger keeps common as one "
                             "total)"] += 1
            return
        res = it.obj.get("resulting_security_ids")
        moved: dict[str, Decimal] = {}
        for i, rid in enumerate(res if isinstance(res, list) else []):
            r = self.sec(it, f"resulting_security_ids[{i}]", rid)
            if r is None:
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
        if info.common:
            self.problem(it, "security_id", "prefledger's common stock does not convert")
            return
        if info.terms is None:
            return
        origin = Origin(it.file, it.id, dict(MOVE_FIELDS, shares="quantity_converted"))
        comments = o.get("comments")
        derived = any(isinstance(c, str) and c.startswith("prefledger:derived ")
                      for c in (comments if isinstance(comments, list) else []))
        if derived and info.terms.conversion != "automatic":
            return  # SPEC.md §12 mandatory conversion: the replay derives it again
        if info.terms.conversion == "automatic":
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

    def repurchase(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                   unset: list[str]) -> None:
        cancelled = partial.get("type") == "SharesCancelled"
        got = self.moves(it, date, partial, "SharesCancelled" if cancelled else
                         "SharesRedeemed", "quantity")
        if got is None:
            return
        info, holder, shares, ev = got
        if cancelled:  # SPEC.md §13: one event for the securities of one cancellation
            ev.update(holder=holder, shares=plain(shares))
            gkey = ("ref", order[2]) if order[1] == 1 else ("obj", it.id)
            self.group(gkey, ev, order, Origin(it.file, it.id, dict(MOVE_FIELDS)), "shares")
            return
        if info.common:
            self.problem(it, "security_id", "a repurchase of common: prefledger has no event "
                         "that lowers common outstanding")
            return
        requested = ev.pop("shares", None)
        ev.update(holder=holder, shares=plain(shares))
        gkey = ("ref", order[2]) if order[1] == 1 else ("obj", it.id)
        self.group(gkey, ev, order, Origin(it.file, it.id, dict(MOVE_FIELDS)), "shares")
        if requested is not None:
            self.groups[gkey].event["_requested"] = requested

    def cancellation(self, it: Item, date: str, order: Order, partial: dict[str, Any],
                     unset: list[str]) -> None:
        if partial.get("type") == "SharesCancelled" and order[1] == 1:
            # SPEC.md §13: a prefledger forfeiture or other cancellation
            got = self.moves(it, date, partial, "SharesCancelled", "quantity")
            if got is not None:
                _, holder, shares, ev = got
                ev.update(holder=holder, shares=plain(shares))
                self.group(("ref", order[2]), ev, order,
                           Origin(it.file, it.id, dict(MOVE_FIELDS)), "shares")
            return
        if partial.get("type") != "Liquidation" or order[1] != 1:
            self.problem(it, "security_id", "prefledger has no event that cancels part of a "
                         "class; only the cancellations of a prefledger Liquidation are read")
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
        if info.common:
            self.problem(it, "stock_class_id", "prefledger's common stock has no conversion "
                         "ratio")
            return
        if info.terms is None:
            return
        mech = o.get("new_ratio_conversion_mechanism")
        r = ratio_value(mech.get("ratio")) if isinstance(mech, dict) else None
        if r is None:
            self.problem(it, "new_ratio_conversion_mechanism.ratio", "not a ratio")
            return
        self.ctx.expected_adjust.append((day(date), info.series, r, Origin(it.file, it.id)))

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
        if iss is None or sid in self.same_stock:
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
