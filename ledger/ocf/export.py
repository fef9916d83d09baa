"""Export an issuer's ledger as an Open Cap Format 1.2.0 package (SPEC.md §10 ``export-ocf``).

The package is built from the log: the live events (reversed ones left out, SPEC.md §3)
with ``effective_date <= as_of`` are replayed one by one with the ledger's own
``Replayer``; what each event changed (lots, conversions, redemptions, conversion-rate
adjustments) becomes OCF objects:

- ``SeriesDesignated`` -> a PREFERRED stock class (the common class is always there);
- ``SharesIssued`` / ``CommonStockIssued`` -> ``TX_STOCK_ISSUANCE`` (one security each),
  to the holder's stakeholder; common issued without a holder (SPEC.md §13) to one
  placeholder stakeholder, ``UNATTRIBUTED_ID``, whose issuances say so in their
  ``prefledger:ref`` (``"holder": null``);
- ``SharesTransferred`` (preferred or common) -> ``TX_STOCK_TRANSFER`` per source
  security, oldest first (SPEC.md §3), with the resulting and balance securities issued;
- ``SharesConverted``, K's automatic conversion (§6) and the mandatory conversions of
  §12 -> ``TX_STOCK_CONVERSION`` with the common issued to the converting holder as the
  resulting security;
- ``SharesRedeemed`` (§7) -> ``TX_STOCK_REPURCHASE``;
- ``SharesCancelled`` (§13) -> ``TX_STOCK_REPURCHASE`` (reason ``repurchase``) or
  ``TX_STOCK_CANCELLATION`` (``forfeiture``, ``other``) per source security, with a
  balance security for the rest of a partly cancelled one;
- ``Liquidation`` (§8) -> ``TX_STOCK_CANCELLATION`` of every outstanding security;
- ``CommonStockSplit`` (§6) -> ``TX_STOCK_CLASS_SPLIT`` of the common class, and a
  ``TX_STOCK_REISSUANCE`` of every outstanding common security at its new quantity
  (naming the split), so that every later transaction consumes a security whose
  issued quantity is the one it holds;
- every anti-dilution or split adjustment (§6) ->
  ``TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT``.

What OCF has no field for (dividend terms, rate and step-up, payment dates, arrears,
missed payments, notices, approvals, tie-outs) is never dropped: it is written in the
``comments`` of the stock class or transaction, in words and as ``prefledger:`` JSON lines
that ``ocf_import`` reads back, so a round trip reproduces every position.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.conversion import window_opens
from ledger.events import (
    BalanceAsserted,
    CommonStockIssued,
    CommonStockSplit,
    DividendMissed,
    DividendPaid,
    Event,
    EventReversed,
    Liquidation,
    PublicOffering,
    RedemptionNoticed,
    SeriesDesignated,
    ShareholderApproval,
    SharesCancelled,
    SharesConverted,
    SharesIssued,
    SharesRedeemed,
    SharesTransferred,
)
from ledger.ocf.schema import (
    FILE_NAMES,
    OCF_VERSION,
    SchemaError,
    Schemas,
    machine,
    monetary,
    numeric,
    numeric_round,
    ratio,
)
from ledger.replay import Replayer, TermsResolver, order, reversed_targets
from ledger.state import Adjustment, IssuerState, Record, SeriesState
from ledger.terms import Terms, load_terms_ref
from ledger.values import CONTEXT, ZERO, money_str, plain

COMMON = "common"
COMMON_CLASS_ID = "stock-class-common"
#: the placeholder stakeholder of common issued without a named holder (SPEC.md §13)
UNATTRIBUTED_ID = "stakeholder-unattributed-common"
UNATTRIBUTED_NAME = "Unattributed common stock"
#: the default liquidation order, most senior first (SPEC.md §8 Reading)
DEFAULT_ORDER: tuple[tuple[str, ...], ...] = (("M",), ("H",), ("K",), ("G",))

#: fields of each event type that OCF objects carry; the rest rides in a ``prefledger:ref``
OCF_FIELDS: dict[str, tuple[str, ...]] = {
    "SeriesDesignated": ("terms", "issuer"),
    "SharesIssued": ("series", "holder", "shares", "price_per_share", "effective_date",
                     "issuer"),
    "SharesTransferred": ("series", "from_holder", "to_holder", "shares", "effective_date",
                          "issuer"),
    "CommonStockIssued": ("shares", "price_per_share", "effective_date", "issuer"),
    "SharesCancelled": ("series", "holder", "shares", "effective_date", "issuer"),
    "CommonStockSplit": ("ratio", "effective_date", "issuer"),
    "SharesConverted": ("series", "holder", "shares", "effective_date", "issuer"),
    "SharesRedeemed": ("series", "holder", "shares", "effective_date", "issuer"),
    "Liquidation": ("effective_date", "issuer"),
}


def liquidation_order(st: IssuerState) -> tuple[tuple[str, ...], ...]:
    """The resolved liquidation order, tiers most senior first (SPEC.md §8 Seniority).

    The single place to swap the seniority source: ``ledger.seniority.resolve`` (the
    issuer's setting, else the §8 Reading); without that module, the default order
    M > H > K > G > common restricted to the designated series, unknown series last.
    """
    try:
        from ledger.seniority import resolve
    except ImportError:  # pragma: no cover - the module ships with the ledger
        named = [tuple(n for n in tier if n in st.series) for tier in DEFAULT_ORDER]
        rest = [(n,) for n in st.series if all(n not in t for t in DEFAULT_ORDER)]
        return tuple(t for t in named if t) + tuple(rest)
    return resolve(st)


def seniority_numbers(order: tuple[tuple[str, ...], ...]) -> dict[str, int]:
    """OCF ``seniority``: higher numbers are paid first; common is 1, one number a tier."""
    out = {COMMON: 1}
    for i, tier in enumerate(reversed(order)):
        for name in tier:
            out[name] = i + 2
    return out


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "x"


def class_id(series: str) -> str:
    return COMMON_CLASS_ID if series == COMMON else f"stock-class-{series}"


@dataclass
class Sec:
    """One OCF security: shares of one class held by one stakeholder."""

    id: str
    cls: str
    #: ``None``: common without a named holder (SPEC.md §13)
    holder: str | None
    shares: Decimal
    key: tuple[dt.date, int]
    price: dict[str, str]


def _pct(rate: Decimal) -> str:
    return f"{plain(rate * 100)}%"


def _qty(value: Decimal) -> str:
    try:
        return numeric(value)
    except ValueError:
        return numeric_round(value)


def _partial(ev: Event) -> tuple[dict[str, Any], list[str]]:
    """The event's JSON without the fields OCF objects carry, and which of those it
    leaves unset (so the import does not invent them)."""
    full = ev.to_json()
    carried = OCF_FIELDS.get(ev.type, ("issuer",))
    partial = {k: v for k, v in full.items() if k not in carried}
    unset = [k for k in carried if k not in full and k not in ("issuer",)]
    return partial, unset


def mechanism(t: Terms, rate: Decimal, base: bool = False) -> dict[str, Any]:
    """An OCF ``RatioConversionMechanism``: common per share as an exact ratio (K's base is
    stated value over the $0.23 conversion price), the conversion price, and rounding
    down (SPEC.md §2: common issued on conversion is rounded down)."""
    if base and t.conversion_price is not None and t.conversion_rate is None:
        r = ratio(rate, t.stated_value, t.conversion_price)
        price = monetary(t.conversion_price)
    else:
        r = ratio(rate)
        price = monetary(CONTEXT.divide(t.stated_value, rate))
    return {"type": "RATIO_CONVERSION", "conversion_price": price, "ratio": r,
            "rounding_type": "FLOOR" if t.fractional_common == "cash" else "NORMAL"}


def conversion_trigger(s: SeriesState, cid: str, right: dict[str, Any]) -> dict[str, Any]:
    """The OCF conversion trigger of a series (SPEC.md §4, §6): H elective at will, M
    elective from closing + 1 year (no end date in the certificate; OCF needs one, so
    9999-12-31), K automatic on the shareholder approval listing its trigger.

    OCF 1.2.0 stock classes have no trigger field, so this object rides in the class
    comments (``prefledger:conversion_trigger``); it validates against the OCF trigger
    schema of its ``type``.
    """
    t = s.terms
    base: dict[str, Any] = {"trigger_id": f"{cid}-conversion", "conversion_right": right,
                            "nickname": f"Series {s.name} conversion"}
    if t.conversion == "automatic":
        return {**base, "type": "AUTOMATIC_ON_CONDITION",
                "trigger_condition": f"a shareholder approval listing "
                f"{t.conversion_trigger!r} (prefledger ShareholderApproval event)",
                "trigger_description": "all holders of the series convert on the approval"}
    if t.conversion_after_closing_years is not None:
        opens = window_opens(s)
        text = (f"from the Closing Date (the first Series {s.name} issuance) + "
                f"{t.conversion_after_closing_years} year(s); no end date")
        if opens is None:
            return {**base, "type": "ELECTIVE_ON_CONDITION", "trigger_condition": text}
        return {**base, "type": "ELECTIVE_IN_RANGE", "start_date": opens.isoformat(),
                "end_date": "9999-12-31", "trigger_description": text}
    return {**base, "type": "ELECTIVE_AT_WILL",
            "trigger_description": "at the holder's option, any time"}


class Exporter:
    """Replays an issuer's log event by event and collects the OCF objects."""

    def __init__(self, issuer: str, as_of: dt.date, resolve: TermsResolver,
                 common_authorized: Decimal | None = None) -> None:
        self.issuer = issuer
        self.common_authorized = common_authorized
        #: the most common outstanding at any event (checked against the authorized)
        self.common_peak = ZERO
        #: conversions already written (the rest are derived from the terms: date triggers)
        self.n_conv = 0
        self.as_of = as_of
        self.rp = Replayer(issuer, resolve)
        self.secs: dict[str, list[Sec]] = {COMMON: []}
        self.counters: dict[str, int] = {}
        self.txs: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.stakeholders: dict[str, str] = {}
        self.notes: dict[str, list[str]] = {COMMON: []}
        self.designations: dict[str, tuple[int, Event]] = {}
        self.reversed = 0
        self.first_date: dt.date | None = None
        self.last_date: dt.date | None = None
        self.k = 0

    @property
    def st(self) -> IssuerState:
        return self.rp.state

    # -- ids ---------------------------------------------------------------------------
    def new_id(self, base: str) -> str:
        oid, n = base, 1
        while oid in self.ids:
            n += 1
            oid = f"{base}~{n}"
        self.ids.add(oid)
        return oid

    def base(self, ev: Event) -> str:
        return ev.id if ev.id is not None else f"event-{self.k:04d}"

    def holder_id(self, holder: str) -> str:
        if holder not in self.stakeholders:
            sid = f"stakeholder-{slug(holder)}"
            taken = set(self.stakeholders.values()) | {UNATTRIBUTED_ID}
            n = 1
            while sid in taken:
                n += 1
                sid = f"stakeholder-{slug(holder)}-{n}"
            self.stakeholders[holder] = sid
        return self.stakeholders[holder]

    def stakeholder_of(self, holder: str | None) -> str:
        return UNATTRIBUTED_ID if holder is None else self.holder_id(holder)

    # -- securities --------------------------------------------------------------------
    def new_sec(self, cls: str, holder: str | None, shares: Decimal, key: tuple[dt.date, int],
                price: dict[str, str], date: dt.date, oid: str, comments: list[str]) -> Sec:
        prefix = "CS-" if cls == COMMON else f"{cls}-"
        self.counters[cls] = self.counters.get(cls, 0) + 1
        sec = Sec(f"{prefix}{self.counters[cls]}", cls, holder, shares, key, price)
        self.secs.setdefault(cls, []).append(sec)
        self.secs[cls].sort(key=lambda x: x.key)
        self.txs.append({
            "object_type": "TX_STOCK_ISSUANCE",
            "id": self.new_id(oid),
            "date": date.isoformat(),
            "security_id": sec.id,
            "custom_id": sec.id,
            "stakeholder_id": self.stakeholder_of(holder),
            "stock_class_id": class_id(cls),
            "share_price": price,
            "quantity": _qty(shares),
            "security_law_exemptions": [],
            "stock_legend_ids": [],
            "comments": comments,
        })
        return sec

    def take(self, cls: str, holder: str, shares: Decimal, date: dt.date, base: str,
             why: str) -> list[tuple[Sec, Decimal, Sec | None]]:
        """Detach ``shares`` from ``holder``'s oldest securities first (SPEC.md §3, §11),
        issuing a balance security for the rest of a partly used one."""
        out: list[tuple[Sec, Decimal, Sec | None]] = []
        left = shares
        for sec in [x for x in self.secs.get(cls, []) if x.holder == holder]:
            if left <= 0:
                break
            n = min(sec.shares, left)
            self.secs[cls].remove(sec)
            bal = None
            if sec.shares > n:
                bal = self.new_sec(cls, holder, sec.shares - n, sec.key, sec.price, date,
                                   f"{base}/balance-{sec.id}",
                                   [f"Balance security of {sec.id} after {why}"])
            out.append((sec, n, bal))
            left -= n
        return out

    # -- comments ----------------------------------------------------------------------
    def carry(self, cls: str, text: str, ev: Event) -> None:
        """An event OCF cannot carry, kept in the class comments (words + JSON)."""
        full = ev.to_json()
        full.pop("issuer", None)
        memo = f" ({ev.memo})" if ev.memo else ""
        self.notes.setdefault(cls, []).append(text + memo)
        self.notes[cls].append(machine("event", {"seq": self.k, "event": full}))

    def ref(self, ev: Event, **extra: Any) -> str:
        partial, unset = _partial(ev)
        partial.update(extra)
        obj: dict[str, Any] = {"seq": self.k, "event": partial}
        if unset:
            obj["unset"] = unset
        return machine("ref", obj)

    # -- the walk ----------------------------------------------------------------------
    def run(self, records: Iterable[Record]) -> None:
        recs = list(records)
        targets, _ = reversed_targets(recs)
        live = [r for r in order(recs) if r.event.id is None or r.event.id not in targets
                or isinstance(r.event, EventReversed)]
        self.rp.designations = {r.event.series: r.event.effective_date for r in live
                                if isinstance(r.event, SeriesDesignated)}
        self.reversed = len(targets)
        for rec in live:
            ev = rec.event
            if ev.effective_date > self.as_of:
                break
            if self.st.liquidated_on is None:
                # the days up to the event first: a conversion on a date trigger
                # (SPEC.md §12) happens at the start of its day, before the day's events
                self.rp.advance(ev.effective_date)
                self._dated_conversions()
            before = self._snapshot()
            n_applied = len(self.st.applied)
            self.rp.apply(rec)
            if len(self.st.applied) == n_applied:  # pragma: no cover - stored events apply
                continue
            if isinstance(ev, EventReversed):
                continue
            self.k += 1
            self.first_date = self.first_date or ev.effective_date
            self.last_date = ev.effective_date
            self._export(ev, before)
            self.n_conv = len(self.st.conversions)
            self.common_peak = max(self.common_peak, self.st.common_outstanding)
        self.rp.finish(self.as_of)
        self._dated_conversions()

    def _dated_conversions(self) -> None:
        """Mandatory conversions on a date trigger (SPEC.md §12), derived from the terms:
        import-ocf derives them again."""
        for conv in self.st.conversions[self.n_conv:]:
            derived = machine("derived", {"seq": self.k, "cause": "terms",
                                          "trigger": conv.trigger})
            self._conversion(conv, f"{conv.trigger or 'date'}-{conv.series}".replace(" ", "-"),
                             None, ["Derived by prefledger from the Series "
                                    f"{conv.series} terms ({conv.trigger}); import-ocf "
                                    "derives it again and does not apply it twice", derived])
        self.n_conv = len(self.st.conversions)

    def _snapshot(self) -> tuple[int, int, dict[str, int]]:
        return (len(self.st.conversions), len(self.st.redemptions),
                {n: len(s.adjustments) for n, s in self.st.series.items()})

    def _export(self, ev: Event, before: tuple[int, int, dict[str, int]]) -> None:
        n_conv, n_red, n_adj = before
        d = ev.effective_date
        base = self.base(ev)
        if isinstance(ev, SeriesDesignated):
            self.designations[ev.series] = (self.k, ev)
            self.notes.setdefault(ev.series, [])
            self.secs.setdefault(ev.series, [])
        elif isinstance(ev, SharesIssued):
            s = self.st.series[ev.series]
            price = ev.price_per_share if ev.price_per_share is not None else s.terms.stated_value
            self.new_sec(ev.series, ev.holder, ev.shares, (d, self.k), monetary(price), d, base,
                         [f"Series {ev.series}: {plain(ev.shares)} shares issued to "
                          f"{ev.holder}", self.ref(ev)])
        elif isinstance(ev, SharesTransferred):
            self._transfer(ev, base)
        elif isinstance(ev, CommonStockIssued):
            self._common(ev, base)
        elif isinstance(ev, CommonStockSplit):
            self._split(ev, base)
        elif isinstance(ev, SharesConverted):
            for conv in self.st.conversions[n_conv:]:
                self._conversion(conv, base, ev, [self.ref(ev)])
        elif isinstance(ev, ShareholderApproval):
            self._approval(ev, base, n_conv)
        elif isinstance(ev, PublicOffering):
            self._offering(ev, base, n_conv)
        elif isinstance(ev, SharesCancelled):
            self._cancel(ev, base)
        elif isinstance(ev, SharesRedeemed):
            self._redemption(ev, base, n_red)
        elif isinstance(ev, Liquidation):
            self._liquidation(ev, base)
        elif isinstance(ev, DividendPaid):
            to = f"to {ev.holder}" if ev.holder else "to the holders pro rata, oldest first"
            kind = " in kind" if ev.form == "shares" else ""
            self.carry(ev.series, f"Dividend paid{kind} on {d}: {money_str(ev.amount)} {to}",
                       ev)
            if ev.form == "shares" and self.st.payments:
                self._in_kind(ev, base)
        elif isinstance(ev, DividendMissed):
            self.carry(ev.series, f"Dividend due on {ev.payment_date} recorded as missed on "
                       f"{d}", ev)
        elif isinstance(ev, RedemptionNoticed):
            who = ", ".join(f"{h} {plain(n)}" for h, n in ev.holders.items())
            self.carry(ev.series, f"Redemption notice on {d} for {ev.redemption_date}: {who}",
                       ev)
        elif isinstance(ev, BalanceAsserted):
            who = f"{ev.holder} holds" if ev.holder else "outstanding"
            self.carry(ev.series if ev.series in self.notes else COMMON,
                       f"Tie-out on {d}: {ev.series} {who} {plain(ev.shares)}", ev)
        else:  # pragma: no cover - every event type is handled above
            self.carry(COMMON, f"{ev.type} on {d}", ev)
        self._adjustments(n_adj, base)

    def _in_kind(self, ev: DividendPaid, base: str) -> None:
        """SPEC.md §12: the shares a payment in kind issued, one security per holder, marked
        as derived: import-ocf replays the carried DividendPaid, which issues them again."""
        price = self.st.series[ev.series].terms.pik_price_in_force
        derived = machine("derived", {"seq": self.k, "cause": "DividendPaid"})
        for holder, n in self.st.payments[-1].in_kind:
            self.new_sec(ev.series, holder, n, (ev.effective_date, self.k), monetary(price),
                         ev.effective_date, f"{base}/in-kind-{slug(holder)}",
                         [f"Series {ev.series}: {plain(n)} shares paid in kind to {holder} at "
                          f"{money_str(price)} a share", "Derived by prefledger from the "
                          "dividend paid in kind (carried in the class comments); import-ocf "
                          "derives it again and does not apply it twice", derived])

    def _transfer(self, ev: SharesTransferred, base: str) -> None:
        """SPEC.md §3: oldest lots first; one OCF transfer per source security."""
        why = f"transfer {base}"
        for i, (src, n, bal) in enumerate(self.take(ev.series, ev.from_holder, ev.shares,
                                                    ev.effective_date, base, why), 1):
            res = self.new_sec(ev.series, ev.to_holder, n, src.key, src.price,
                               ev.effective_date, f"{base}/to-{src.id}",
                               [f"Resulting security of {why} from {src.id}"])
            tx: dict[str, Any] = {
                "object_type": "TX_STOCK_TRANSFER", "id": self.new_id(f"{base}/transfer-{i}"),
                "date": ev.effective_date.isoformat(), "security_id": src.id,
                "quantity": _qty(n), "resulting_security_ids": [res.id],
                "comments": [f"{plain(n)} Series {ev.series} from {ev.from_holder} to "
                             f"{ev.to_holder}; accrual not yet due moves with the shares, "
                             "amounts already due stay with the transferor",
                             self.ref(ev)]}
            if bal is not None:
                tx["balance_security_id"] = bal.id
            self.txs.append(tx)

    def _common(self, ev: CommonStockIssued, base: str) -> None:
        """SPEC.md §13: to the named holder, else to the unattributed placeholder (the
        ``prefledger:ref`` then says ``"holder": null``)."""
        if ev.price_per_share is not None:
            price = ev.price_per_share
        elif ev.consideration is not None:
            price = CONTEXT.divide(ev.consideration, ev.shares)
        else:
            price = ZERO
        who = ev.holder if ev.holder is not None else "no named holder (unattributed)"
        ref = self.ref(ev) if ev.holder is not None else self.ref(ev, holder=None)
        self.new_sec(COMMON, ev.holder, ev.shares, (ev.effective_date, self.k),
                     monetary(price), ev.effective_date, base,
                     [f"Common stock issued ({ev.kind}): {plain(ev.shares)} shares to {who}",
                      ref])

    def _split(self, ev: CommonStockSplit, base: str) -> None:
        """SPEC.md §6: every common holding × ratio. OCF's split names the class only, so
        each outstanding common security is reissued at its new quantity, naming the
        split: later transactions then consume securities whose issued quantity is the
        one held (the OCF validator balances each security against its issuance)."""
        split_id = self.new_id(base)
        d = ev.effective_date
        self.txs.append({
            "object_type": "TX_STOCK_CLASS_SPLIT", "id": split_id,
            "date": d.isoformat(), "stock_class_id": COMMON_CLASS_ID,
            "split_ratio": ratio(ev.ratio),
            "comments": [f"Common split: {plain(ev.ratio)} new shares per old share; common "
                         "holdings and conversion rates are multiplied, anti-dilution "
                         "thresholds divided; every outstanding common security is reissued "
                         "at its new quantity", self.ref(ev)]})
        old, self.secs[COMMON] = self.secs[COMMON], []
        for sec in old:
            new = self.new_sec(COMMON, sec.holder, CONTEXT.multiply(sec.shares, ev.ratio),
                               sec.key, sec.price, d, f"{base}/reissued-{sec.id}",
                               [f"Reissued from {sec.id} on the split of {d}: "
                                f"{plain(sec.shares)} x {plain(ev.ratio)}"])
            self.txs.append({
                "object_type": "TX_STOCK_REISSUANCE", "id": self.new_id(f"{base}/reissue-{sec.id}"),
                "date": d.isoformat(), "security_id": sec.id,
                "resulting_security_ids": [new.id], "split_transaction_id": split_id,
                "reason_text": f"common split {plain(ev.ratio)} for 1",
                "comments": [f"{sec.id} ({plain(sec.shares)} shares) reissued as {new.id} "
                             f"({plain(new.shares)} shares) on the split"]})

    def _offering(self, ev: PublicOffering, base: str, n_conv: int) -> None:
        """SPEC.md §12: the mandatory conversions the offering triggers, then its common
        issued to its holder (else unattributed). The offering rides in the common class
        comments; what it caused is written marked as derived (import-ocf derives it
        again from the carried event)."""
        who = ev.holder if ev.holder is not None else "no named holder (unattributed)"
        self.carry(COMMON, f"Public offering on {ev.effective_date}: {plain(ev.shares)} "
                   f"common at {money_str(ev.price_per_share)} a share, gross proceeds "
                   f"{money_str(ev.gross_proceeds)}, to {who}", ev)
        derived = machine("derived", {"seq": self.k, "cause": "PublicOffering"})
        note = ("Derived by prefledger from the public offering (carried in the common "
                "class comments); import-ocf derives it again and does not apply it twice")
        for conv in self.st.conversions[n_conv:]:
            self._conversion(conv, base, ev, [note, derived])
        self.new_sec(COMMON, ev.holder, ev.shares, (ev.effective_date, self.k),
                     monetary(ev.price_per_share), ev.effective_date, f"{base}/offering",
                     [f"Common sold in the public offering of {ev.effective_date}: "
                      f"{plain(ev.shares)} shares to {who}", note, derived])

    def _cancel(self, ev: SharesCancelled, base: str) -> None:
        """SPEC.md §13: the holder's oldest securities first; a repurchase is an OCF
        repurchase at the price paid, a forfeiture or other cancellation an OCF
        cancellation; a partly used security leaves a balance security."""
        rec = self.st.cancellations[-1]
        kind = "common" if ev.series == COMMON else f"Series {ev.series}"
        paid = (f" at {money_str(ev.price_per_share)} a share" if ev.price_per_share
                is not None else "")
        words = (f"{plain(ev.shares)} {kind} of {ev.holder} cancelled ({ev.reason}){paid}; "
                 "never reissued")
        if ev.series != COMMON:
            words += (f"; extinguished: arrears {money_str(rec.arrears)}, accrual not yet "
                      f"due {money_str(rec.accrued)}")
        ref = self.ref(ev)
        d = ev.effective_date
        for i, (src, n, bal) in enumerate(self.take(ev.series, ev.holder, ev.shares, d, base,
                                                    f"cancellation {base}"), 1):
            tx: dict[str, Any]
            if ev.reason == "repurchase":
                price = ev.price_per_share if ev.price_per_share is not None else ZERO
                tx = {"object_type": "TX_STOCK_REPURCHASE",
                      "id": self.new_id(f"{base}/repurchase-{i}"), "date": d.isoformat(),
                      "security_id": src.id, "price": monetary(price), "quantity": _qty(n),
                      "consideration_text": f"repurchase of {plain(ev.shares)} shares"
                      + (f" at {money_str(price)} a share" if ev.price_per_share is not None
                         else " (price not recorded)"),
                      "comments": [words, ref]}
            else:
                tx = {"object_type": "TX_STOCK_CANCELLATION",
                      "id": self.new_id(f"{base}/cancel-{i}"), "date": d.isoformat(),
                      "security_id": src.id, "quantity": _qty(n),
                      "reason_text": f"{ev.reason}" + (f": {ev.memo}" if ev.memo else ""),
                      "comments": [words, ref]}
            if bal is not None:
                tx["balance_security_id"] = bal.id
            self.txs.append(tx)

    def _conversion(self, conv: Any, base: str, ev: Event | None, extra: list[str]) -> None:
        """SPEC.md §6: the converted shares leave the series, common is issued (rounded
        down, fraction in cash); their accrual not yet due becomes payable (§5, §11)."""
        why = f"conversion {base}"
        parts = self.take(conv.series, conv.holder, conv.shares, conv.effective, base, why)
        resulting: list[str] = []
        if conv.common > 0:
            sec = self.new_sec(COMMON, conv.holder, conv.common,
                               (conv.effective, self.k), monetary(ZERO), conv.effective,
                               f"{base}/common-{slug(conv.holder)}",
                               [f"Common issued on {why} of {plain(conv.shares)} Series "
                                f"{conv.series} held by {conv.holder}"])
            resulting = [sec.id]
        cash = money_str(conv.cash_in_lieu) if conv.cash_in_lieu is not None else "none"
        words = (f"{'Automatic' if conv.automatic else 'Holder'} conversion of "
                 f"{plain(conv.shares)} Series {conv.series} of {conv.holder} at "
                 f"{plain(conv.rate) if conv.rate is not None else '?'} common per share: "
                 f"{plain(conv.common)} common, fraction {plain(conv.fraction)} (cash in lieu "
                 f"{cash}); dividends payable on conversion "
                 f"{money_str(conv.dividends_payable)}")
        for i, (src, n, bal) in enumerate(parts, 1):
            tx: dict[str, Any] = {
                "object_type": "TX_STOCK_CONVERSION",
                "id": self.new_id(f"{base}/conversion-{slug(conv.holder)}-{i}"),
                "date": conv.effective.isoformat(), "security_id": src.id,
                "quantity_converted": _qty(n), "resulting_security_ids": resulting,
                "comments": [words, *extra]}
            if bal is not None:
                tx["balance_security_id"] = bal.id
            self.txs.append(tx)

    def _approval(self, ev: ShareholderApproval, base: str, n_conv: int) -> None:
        """K converts on the approval (SPEC.md §6): the approval rides in the K class
        comments; the conversions are exported, marked as derived from it."""
        convs = self.st.conversions[n_conv:]
        target = convs[0].series if convs else next(
            (n for n, s in self.st.series.items() if s.terms.conversion == "automatic"
             and s.terms.conversion_trigger in ev.matters), COMMON)
        self.carry(target, f"Shareholder approval on {ev.effective_date}: "
                   + ", ".join(ev.matters), ev)
        derived = machine("derived", {"seq": self.k, "cause": "ShareholderApproval"})
        for conv in convs:
            self._conversion(conv, base, ev, [
                "Derived by prefledger from the shareholder approval (carried in the class "
                "comments); import-ocf derives it again and does not apply it twice", derived])

    def _redemption(self, ev: SharesRedeemed, base: str, n_red: int) -> None:
        """SPEC.md §7: the company buys the shares back at stated + accrued unpaid."""
        reds = self.st.redemptions[n_red:]
        if not reds:
            self.carry(ev.series, f"Redemption on {ev.effective_date} of {ev.holder}: no "
                       "shares redeemed (funds available below the price)", ev)
            return
        red = reds[0]
        partial, unset = _partial(ev)
        if red.shares != ev.shares:
            partial["shares"] = plain(ev.shares)
        ref = machine("ref", {"seq": self.k, "event": partial, **({"unset": unset}
                                                                   if unset else {})})
        words = (f"Redemption of {plain(red.shares)} Series {red.series} of {red.holder} at "
                 f"{money_str(red.price_per_share)} per share: stated {money_str(red.stated)}, "
                 f"accrued {money_str(red.accrued)}, arrears {money_str(red.arrears)}, paid "
                 f"{money_str(red.paid)}")
        for i, (src, n, bal) in enumerate(self.take(red.series, red.holder, red.shares,
                                                    red.effective, base, f"redemption {base}"),
                                          1):
            tx: dict[str, Any] = {
                "object_type": "TX_STOCK_REPURCHASE", "id": self.new_id(f"{base}/repurchase-{i}"),
                "date": red.effective.isoformat(), "security_id": src.id,
                "price": monetary(red.price_per_share), "quantity": _qty(n),
                "consideration_text": f"stated value plus accrued unpaid dividends: "
                f"{money_str(red.paid)} for {plain(red.shares)} shares",
                "comments": [words, ref]}
            if bal is not None:
                tx["balance_security_id"] = bal.id
            self.txs.append(tx)

    def _liquidation(self, ev: Liquidation, base: str) -> None:
        """SPEC.md §3, §8: every series and common is extinguished after the waterfall."""
        secs = [sec for cls in self.secs for sec in self.secs[cls]]
        if not secs:
            self.carry(COMMON, f"Liquidation on {ev.effective_date}: proceeds "
                       f"{money_str(ev.proceeds)}", ev)
            return
        ref = self.ref(ev)
        for i, sec in enumerate(secs, 1):
            self.txs.append({
                "object_type": "TX_STOCK_CANCELLATION", "id": self.new_id(f"{base}/cancel-{i}"),
                "date": ev.effective_date.isoformat(), "security_id": sec.id,
                "quantity": _qty(sec.shares),
                "reason_text": f"Liquidation on {ev.effective_date}: proceeds "
                f"{money_str(ev.proceeds)} distributed by the liquidation waterfall "
                "(docs/rules.md)",
                "comments": [ref]})
        for cls in self.secs:
            self.secs[cls] = []

    def _adjustments(self, before: dict[str, int], base: str) -> None:
        """Every conversion-rate adjustment the event caused (SPEC.md §6), as derived."""
        for name, s in self.st.series.items():
            for adj in s.adjustments[before.get(name, 0):]:
                self.txs.append(self._adjustment(s, adj, base))

    def _adjustment(self, s: SeriesState, adj: Adjustment, base: str) -> dict[str, Any]:
        if adj.a is not None:
            why = (f"anti-dilution: {adj.cause}; A={plain(adj.a)}, "
                   f"B={plain(adj.b or ZERO)}, C={plain(adj.c or ZERO)}, price per common "
                   f"{plain(adj.price or ZERO)} below the threshold "
                   f"{plain(adj.threshold or ZERO)}")
        else:
            why = adj.cause
        return {
            "object_type": "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT",
            "id": self.new_id(f"{base}/ratio-{s.name}"),
            "date": adj.effective.isoformat(), "stock_class_id": class_id(s.name),
            "new_ratio_conversion_mechanism": mechanism(s.terms, adj.rate_after),
            "comments": [f"Series {s.name} conversion rate {plain(adj.rate_before)} x "
                         f"{plain(adj.factor)} = {plain(adj.rate_after)}: {why}",
                         "Derived by prefledger from the event it follows; import-ocf "
                         "derives it again and does not apply it twice",
                         machine("derived", {"seq": self.k, "series": s.name,
                                             "rate": plain(adj.rate_after)})]}

    # -- classes, stakeholders, manifest ------------------------------------------------
    def stock_classes(self) -> list[dict[str, Any]]:
        from ledger import conversion
        from projections.position import series_row

        order = liquidation_order(self.st)
        senior = seniority_numbers(order)
        order_words = " > ".join([" = ".join(t) for t in order] + [COMMON])
        held = "; ".join(f"{h} {plain(n)}" for h, n in sorted(
            self.st.common.items(), key=lambda kv: (kv[0] is None, kv[0] or "")) if h)
        unattributed = self.st.common_held(None)
        if self.common_authorized is not None:
            authorized = _qty(self.common_authorized)
            auth_words = (f"authorized common {plain(self.common_authorized)} (given to "
                          "export-ocf; prefledger does not track the authorized common)")
        else:
            authorized = "NOT APPLICABLE"
            auth_words = ("prefledger does not track the authorized common (export-ocf "
                          "--common-authorized N writes it)")
        common = {
            "object_type": "STOCK_CLASS", "id": COMMON_CLASS_ID, "name": "Common Stock",
            "class_type": "COMMON", "default_id_prefix": "CS-",
            "initial_shares_authorized": authorized, "votes_per_share": "1",
            "seniority": str(senior[COMMON]), "conversion_rights": [],
            "comments": [f"Common outstanding as of {self.as_of}: "
                         f"{plain(self.st.common_outstanding)}, by holder: {held or 'none'}; "
                         f"unattributed (no named holder, stakeholder {UNATTRIBUTED_ID}): "
                         f"{plain(unattributed)}; cancelled for good "
                         f"{plain(self.st.common_cancelled_total)}; {auth_words}",
                         f"Liquidation order, most senior first: {order_words}",
                         *self.notes[COMMON]],
        }
        out = [common]
        for name, s in self.st.series.items():
            # the class as designated; amendments ride as events (SPEC.md §12), figures
            # as of the date come from the position row
            t = s.designated_terms or s.terms
            row, _ = series_row(s, self.as_of)
            cid = class_id(name)
            obj: dict[str, Any] = {
                "object_type": "STOCK_CLASS", "id": cid, "name": t.name or f"Series {name}",
                "class_type": "PREFERRED", "default_id_prefix": f"{name}-",
                "initial_shares_authorized": _qty(t.authorized_shares),
                "board_approval_date": t.designated.isoformat(),
                "votes_per_share": "0",
                "par_value": monetary(t.par_value), "price_per_share": monetary(t.stated_value),
                "seniority": str(senior.get(name, 2)),
                # SPEC.md §12 ``liquidation_multiple`` (nStor: 1, the stated value once)
                "liquidation_preference_multiple": plain(t.liquidation_multiple),
                "conversion_rights": [],
            }
            if t.participation_cap is not None:  # SPEC.md §12 ``participation: "capped"``
                obj["participation_cap_multiple"] = plain(t.participation_cap)
            lines = [f"Series {name}: stated value {money_str(t.stated_value)} per share, "
                     f"par {plain(t.par_value)}; outstanding as of {self.as_of} "
                     f"{row['outstanding']} of {row['issued_total']} issued"]
            lines += self._dividend_words(s, row)
            if t.participation == "none":
                part = "non-participating, so no participation_cap_multiple"
            elif t.participation == "full":
                part = ("participating fully with the common as converted (OCF: no "
                        "participation_cap_multiple)")
            else:
                part = (f"participating with the common as converted up to "
                        f"{plain(t.participation_cap or ZERO)} × the stated value "
                        "(participation_cap_multiple)")
            lines.append(
                "Liquidation preference: stated value"
                + (" plus accrued unpaid dividends" if t.liquidation_includes_accrued else
                   " only") + f" (liquidation_preference_multiple {plain(t.liquidation_multiple)}"
                " is of the stated value; "
                f"OCF has no field for accrued dividends); {part}; as of {self.as_of}: "
                f"{row['liquidation_preference']}")
            claims = "; ".join(f"{c.relation.replace('_', ' ')} {c.to}"
                               + (" when short" if c.when_short else "")
                               + (f" ({c.section})" if c.section else "")
                               for c in t.seniority_claims)
            lines.append(f"Seniority {obj['seniority']} from the resolved order {order_words}"
                         f" (higher is paid first); certificate claims: {claims or 'none'}")
            at = ("stated value" if t.redemption_premium == 1 else
                  f"{plain(t.redemption_premium)} x stated value")
            if t.redeemable:
                lines.append(f"Redeemable at the company's option on "
                             f"{t.redemption_notice_days} days' notice"
                             + (" from the closing date" if t.redemption_from_closing else "")
                             + f" at {at} plus accrued unpaid dividends; "
                             f"redemption price per share as of {self.as_of}: "
                             f"{row['redemption_price_per_share']}")
            if t.holder_redemption_from is not None:  # SPEC.md §12: a holder put
                lines.append(f"Each holder may require redemption from "
                             f"{t.holder_redemption_from} on {t.redemption_notice_days} days' "
                             f"notice, at {at} plus accrued unpaid dividends (SPEC.md §12)")
            machines = [machine("terms", t.model_dump(mode="json"))]
            if t.conversion != "none" and t.base_conversion_rate is not None:
                right = {"type": "STOCK_CLASS_CONVERSION_RIGHT",
                         "conversion_mechanism": mechanism(t, t.base_conversion_rate, True),
                         "converts_to_stock_class_id": COMMON_CLASS_ID}
                obj["conversion_rights"] = [right]
                trig = conversion_trigger(s, cid, right)
                machines.append(machine("conversion_trigger", trig))
                rate = s.conversion_rate or t.base_conversion_rate
                if t.votes == "as_converted":
                    obj["votes_per_share"] = numeric_round(rate, down=True)
                lines.append(
                    f"Converts into common at {plain(t.base_conversion_rate)} per share "
                    f"(base), {plain(rate)} as of {self.as_of} after "
                    f"{len(s.adjustments)} adjustment(s); trigger {trig['type']}"
                    + (f" ({trig.get('trigger_condition') or trig.get('trigger_description')})")
                    + (f"; in multiples of {plain(t.conversion_multiple)} or all the holder's "
                       "shares" if t.conversion_multiple else "")
                    + (f"; anti-dilution below {plain(s.threshold)} per common share"
                       if s.threshold is not None else "")
                    + (f"; noticed shares may convert within {t.notice_conversion_days} days "
                       "of a redemption notice" if t.notice_conversion_days else "")
                    + ". OCF 1.2.0 stock classes have no trigger field: the trigger is the "
                    "prefledger:conversion_trigger line (an OCF conversion trigger object)")
                win = conversion.window_opens(s)
                if win is not None:
                    lines.append(f"Conversion window opens {win}")
            if t.votes == "as_converted":
                lines.append("Votes as converted: floor(shares x conversion rate) per holder; "
                             "votes_per_share is the rate as of "
                             f"{self.as_of}, to 10 decimals, rounded down")
            elif t.votes == "per_share":  # SPEC.md §12
                obj["votes_per_share"] = numeric_round(t.votes_per_share, down=True)
                lines.append(f"Votes: {plain(t.votes_per_share)} per share, floored per "
                             "holder")
            else:
                lines.append("No votes (votes_per_share 0)")
            seq, dev = self.designations[name]
            partial, _ = _partial(dev)
            machines.append(machine("ref", {"seq": seq, "event": partial}))
            obj["comments"] = lines + machines + self.notes.get(name, [])
            out.append(obj)
        return out

    def _dividend_words(self, s: SeriesState, row: dict[str, Any]) -> list[str]:
        """SPEC.md §4, §5 dividend terms and the state as of the date, which OCF cannot
        carry: rate, step-up, periods, payment dates, arrears, missed payments."""
        t = s.terms
        if not t.pays_dividends:
            return ["Dividends: none"]
        lag = (f"{t.payment_lag_days} days after the next period start" if t.payment_lag_days
               else "on the period boundary")
        out = [f"Dividends: {_pct(t.dividend_rate or ZERO)} a year of the stated value, "
               f"{'cumulative' if t.cumulative else 'non-cumulative'}, cash, day count "
               f"{t.day_count}; periods start {', '.join(t.period_starts)}; paid {lag}"
               + (f"; first payment date {t.first_payment_date}" if t.first_payment_date
                  else "")]
        if t.step_up is not None:
            out.append(f"Step-up: +{_pct(t.step_up.increment)} per "
                       f"{t.step_up.every_missed} consecutive missed payment dates, cap "
                       f"{_pct(t.step_up.cap)}; back to the base rate when arrears are paid")
        missed = ", ".join(d.isoformat() for d in s.missed_dates) or "none"
        out.append(f"As of {self.as_of}: dividend rate {_pct(s.rate or ZERO)}, arrears "
                   f"{row['arrears']}, accrued unpaid {row['accrued_unpaid']}, dividends "
                   f"payable {row['dividends_payable']}, missed streak {row['missed_streak']}, "
                   f"missed payment dates: {missed}")
        return out

    def stakeholder_items(self) -> list[dict[str, Any]]:
        out = []
        if any(tx.get("stakeholder_id") == UNATTRIBUTED_ID for tx in self.txs):
            out.append({"object_type": "STAKEHOLDER", "id": UNATTRIBUTED_ID,
                        "name": {"legal_name": UNATTRIBUTED_NAME},
                        "stakeholder_type": "INSTITUTION",
                        "comments": ["Placeholder, not a holder: the common stock issued "
                                     "without a named holder (prefledger's unattributed "
                                     "common) is held here; each of its issuances says so "
                                     "in its prefledger:ref line (\"holder\": null)"]})
        for holder, sid in sorted(self.stakeholders.items(), key=lambda kv: kv[1]):
            out.append({"object_type": "STAKEHOLDER", "id": sid,
                        "name": {"legal_name": holder}, "stakeholder_type": "INSTITUTION",
                        "current_relationship": "INVESTOR",
                        "comments": ["prefledger knows holders by name only; stakeholder_type "
                                     "INSTITUTION is a placeholder"]})
        return out


@dataclass
class OcfPackage:
    """An OCF package: file name -> JSON object (the manifest last)."""

    files: dict[str, dict[str, Any]]

    def texts(self) -> dict[str, str]:
        return {name: dump(obj) for name, obj in self.files.items()}


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - OCF's file checksum


def build_package(records: Iterable[Record], issuer: str, as_of: dt.date, *,
                  legal_name: str | None = None, formation_date: dt.date | None = None,
                  country: str = "US", subdivision: str | None = None,
                  generated_at: str | None = None,
                  resolve: TermsResolver = load_terms_ref,
                  common_authorized: Decimal | None = None) -> OcfPackage:
    """The OCF 1.2.0 package of ``issuer`` as of the end of ``as_of`` (SPEC.md §10).

    ``common_authorized``: the authorized common, which the ledger does not track; it
    must be at least the most common outstanding at any event up to ``as_of``
    (``ValueError`` otherwise)."""
    ex = Exporter(issuer, as_of, resolve, common_authorized)
    ex.run(records)
    if common_authorized is not None and common_authorized < ex.common_peak:
        raise ValueError(f"{plain(common_authorized)} authorized common is fewer than the "
                         f"{plain(ex.common_peak)} common outstanding at one time")
    body = {
        FILE_NAMES["OCF_STAKEHOLDERS_FILE"]: {"file_type": "OCF_STAKEHOLDERS_FILE",
                                              "items": ex.stakeholder_items()},
        FILE_NAMES["OCF_STOCK_CLASSES_FILE"]: {"file_type": "OCF_STOCK_CLASSES_FILE",
                                               "items": ex.stock_classes()},
        FILE_NAMES["OCF_TRANSACTIONS_FILE"]: {"file_type": "OCF_TRANSACTIONS_FILE",
                                              "items": ex.txs},
    }
    texts = {name: dump(obj) for name, obj in body.items()}
    listed = {"stakeholders_files": FILE_NAMES["OCF_STAKEHOLDERS_FILE"],
              "stock_classes_files": FILE_NAMES["OCF_STOCK_CLASSES_FILE"],
              "transactions_files": FILE_NAMES["OCF_TRANSACTIONS_FILE"]}
    formation = formation_date or ex.first_date or as_of
    issuer_obj: dict[str, Any] = {
        "object_type": "ISSUER", "id": f"issuer-{slug(issuer)}",
        "legal_name": legal_name or issuer,
        "formation_date": formation.isoformat(), "country_of_formation": country,
        "comments": [] if formation_date else [
            "formation_date is not tracked by prefledger: the date of the first event"],
    }
    if subdivision:
        issuer_obj["country_subdivision_of_formation"] = subdivision
    manifest: dict[str, Any] = {
        "ocf_version": OCF_VERSION, "file_type": "OCF_MANIFEST_FILE", "issuer": issuer_obj,
        "as_of": as_of.isoformat(),
        "generated_at": generated_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **{key: [] for key in ("stock_plans_files", "stock_legend_templates_files",
                               "vesting_terms_files", "valuations_files")},
        **{key: [{"filepath": f"./{name}", "md5": md5(texts[name])}]
           for key, name in listed.items()},
        "comments": [
            f"Exported by prefledger from issuer stream {issuer!r} as of {as_of} (end of day)"
            f"; as_of_date {as_of}, effective_date of the last event "
            f"{ex.last_date or 'none'}",
            "prefledger's own JSON Lines events are the lossless format. OCF 1.2.0 has no "
            "field for dividend terms, rates and step-ups, payment dates, arrears, missed "
            "payments, redemption notices, approvals or tie-outs: they are in the comments of "
            "the stock class or transaction, in words and as prefledger: JSON lines",
            f"{ex.reversed} reversed event(s) and their reversals are left out: the package "
            "is the view after corrections (EventReversed)",
            machine("manifest", {"issuer": issuer, "as_of_date": as_of.isoformat(),
                                 "effective_date": ex.last_date.isoformat()
                                 if ex.last_date else None, "events": ex.k}),
        ],
    }
    return OcfPackage({**body, FILE_NAMES["OCF_MANIFEST_FILE"]: manifest})


def write_package(pkg: OcfPackage, to: Path) -> list[Path]:
    """Write every file of ``pkg`` into directory ``to`` (created if needed)."""
    to.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in pkg.texts().items():
        path = to / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def validate_package(pkg: OcfPackage, schemas: Schemas) -> list[tuple[str, SchemaError]]:
    """Every file against its OCF file schema, and every embedded conversion trigger
    against the OCF trigger schema of its type."""
    from ledger.ocf.schema import read_machine

    trigger_schema = {
        "AUTOMATIC_ON_CONDITION": "AutomaticConversionOnConditionTrigger",
        "ELECTIVE_IN_RANGE": "ElectiveConversionInDateRangeTrigger",
        "ELECTIVE_ON_CONDITION": "ElectiveConversionOnConditionTrigger",
        "ELECTIVE_AT_WILL": "ElectiveConversionAtWillTrigger",
    }
    out: list[tuple[str, SchemaError]] = []
    for name, doc in pkg.files.items():
        out += [(name, e) for e in schemas.file_errors(doc)]
        for item in doc.get("items", []):
            for c in item.get("comments", []):
                got = read_machine(c)
                if got and got[0] == "conversion_trigger":
                    sid = trigger_schema.get(got[1].get("type"), "Unknown")
                    out += [(name, SchemaError(f"{item['id']}.comments.{e.path}", e.message))
                            for e in schemas.errors(
                                got[1], f"types/conversion_triggers/{sid}.schema.json")]
    return out


def export(records: Iterable[Record], issuer: str, as_of: dt.date, to: Path,
           **kw: Any) -> OcfPackage:
    pkg = build_package(records, issuer, as_of, **kw)
    write_package(pkg, to)
    return pkg


