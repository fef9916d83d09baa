"""The equity roll-forward and the cumulative-dividends-in-arrears disclosure.

``prefledger rollforward --from D1 --to D2``: per series, the shares and carrying amount
at the start of D1 (the end of D1 − 1 day), the activity dated D1…D2 (issued, converted,
redeemed, transferred in and out, extinguished on liquidation) and the figures at the
end of D2; and the dividends: in arrears at both dates, fallen due, paid, settled in a
redemption price, payable on converted shares, and accrued unpaid at both dates.

Computed from the projections (``projections.tables``): opening and closing shares from
``positions`` intervals, carrying amount, arrears and payable from ``series_balances``,
the activity from ``activity``; accrued unpaid from the §9 position report. Each block
says whether opening + activity = closing (``ties_out``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ledger.replay import TermsResolver, replay
from ledger.state import Record
from ledger.terms import load_terms_ref
from ledger.values import CONTEXT, ZERO, money, money_str, plain
from projections.position import position
from projections.tables import Row, Rows, at, project_issuer

ONE_DAY = dt.timedelta(days=1)


def _sum(rows: Iterable[Row], column: str) -> Decimal:
    return sum((r[column] for r in rows), ZERO)


def _balance(tables: Rows, series: str, day: dt.date, column: str) -> Decimal:
    got = at(tables["series_balances"], day, series=series)
    value = got[0][column] if got else None
    return value if value is not None else ZERO


def _accrued(issuer: str, records: list[Record], day: dt.date,
             resolve: TermsResolver) -> dict[str, Decimal | None]:
    st, _ = replay(issuer, records, day, resolve)
    rep = position(st, day)
    return {s["series"]: (Decimal(s["accrued_unpaid"]) if s["accrued_unpaid"] is not None
                          else None) for s in rep["series"]}


def _common_outstanding(tables: Rows, day: dt.date) -> Decimal:
    got = at(tables["common_stock"], day)
    return got[0]["outstanding"] if got else ZERO


def _common_block(tables: Rows, acts: list[Row], opening: dt.date, d2: dt.date
                  ) -> dict[str, Any]:
    """Common outstanding from the opening to the closing, by movement (SPEC.md §13):
    issued, issued on conversion, split, cancelled, liquidated; transfers between
    holders leave the total alone."""
    a = [r for r in acts if r["series"] == "common"]

    def k(kind: str) -> Decimal:
        return _sum([r for r in a if r["kind"] == kind], "shares")

    flows = {
        "opening": _common_outstanding(tables, opening),
        "issued": k("issued"),
        "issued_on_conversion": k("issued_on_conversion"),
        "split": k("split"),
        "cancelled": -k("cancelled"),
        "liquidated": -k("liquidation"),
        "closing": _common_outstanding(tables, d2),
    }
    calc = (flows["opening"] + flows["issued"] + flows["issued_on_conversion"] + flows["split"]
            - flows["cancelled"] - flows["liquidated"])
    return {"shares": {key: plain(v) for key, v in flows.items()},
            "ties_out": calc == flows["closing"]}


def rollforward_tables(tables: Rows, d1: dt.date, d2: dt.date,
                       accrued_open: dict[str, Decimal | None] | None = None,
                       accrued_close: dict[str, Decimal | None] | None = None
                       ) -> dict[str, Any]:
    """The roll-forward from projection rows (``tables`` projected through ``d2``)."""
    if d1 > d2:
        raise ValueError(f"--from {d1} is after --to {d2}")
    opening = d1 - ONE_DAY
    acts = [r for r in tables["activity"] if d1 <= r["effective_date"] <= d2]
    out_series = []
    all_tie = True
    for srow in sorted(tables["series"], key=lambda r: r["series"]):
        name = srow["series"]
        a = [r for r in acts if r["series"] == name]

        def k(kind: str, rows: list[Row] = a) -> list[Row]:
            return [r for r in rows if r["kind"] == kind]

        sh_open = _sum(at(tables["positions"], opening, series=name), "shares")
        sh_close = _sum(at(tables["positions"], d2, series=name), "shares")
        shares = {
            "opening": sh_open,
            "issued": _sum(k("issued"), "shares"),
            "transferred_in": _sum(k("transfer_in"), "shares"),
            "transferred_out": -_sum(k("transfer_out"), "shares"),
            "converted": -_sum(k("converted"), "shares"),
            "redeemed": -_sum(k("redeemed"), "shares"),
            "cancelled": -_sum(k("cancelled"), "shares"),
            "liquidated": -_sum(k("liquidation"), "shares"),
            "closing": sh_close,
        }
        sh_calc = (shares["opening"] + shares["issued"] + shares["transferred_in"]
                   - shares["transferred_out"] - shares["converted"] - shares["redeemed"]
                   - shares["cancelled"] - shares["liquidated"])
        ca = {
            "opening": _balance(tables, name, opening, "carrying_amount"),
            "issued": _sum(k("issued"), "carrying_amount"),
            "converted": -_sum(k("converted"), "carrying_amount"),
            "redeemed": -_sum(k("redeemed"), "carrying_amount"),
            "cancelled": -_sum(k("cancelled"), "carrying_amount"),
            "liquidated": -_sum(k("liquidation"), "carrying_amount"),
            "closing": _balance(tables, name, d2, "carrying_amount"),
        }
        ca_calc = (ca["opening"] + ca["issued"] - ca["converted"] - ca["redeemed"]
                   - ca["cancelled"] - ca["liquidated"])
        kinds = ("dividend_due", "dividend_paid", "redeemed", "liquidation", "cancelled")
        div = {
            "arrears_opening": _balance(tables, name, opening, "arrears"),
            "fell_due": _sum(k("dividend_due"), "arrears"),
            "paid": -_sum(k("dividend_paid"), "arrears"),
            "settled_on_redemption": -_sum(k("redeemed"), "arrears"),
            "settled_on_liquidation": -_sum(k("liquidation"), "arrears"),
            # SPEC.md §13: arrears of cancelled shares, extinguished (not paid)
            "extinguished_on_cancellation": -_sum(k("cancelled"), "arrears"),
            "other": _sum([r for r in a if r["kind"] not in kinds], "arrears"),
            "arrears_closing": _balance(tables, name, d2, "arrears"),
            "payable_opening": _balance(tables, name, opening, "dividends_payable"),
            "payable_created": _sum(k("converted"), "dividends_payable"),
            "payable_paid": -_sum(k("dividend_paid"), "dividends_payable"),
            "payable_settled_on_liquidation": -_sum(k("liquidation"), "dividends_payable"),
            "payable_other": _sum([r for r in a if r["kind"] not in
                                   ("converted", "dividend_paid", "liquidation")],
                                  "dividends_payable"),
            "payable_closing": _balance(tables, name, d2, "dividends_payable"),
            "cash_paid": _sum(a, "dividends_paid"),
        }
        ar_calc = (div["arrears_opening"] + div["fell_due"] - div["paid"]
                   - div["settled_on_redemption"] - div["settled_on_liquidation"]
                   - div["extinguished_on_cancellation"] + div["other"])
        pay_calc = (div["payable_opening"] + div["payable_created"] - div["payable_paid"]
                    - div["payable_settled_on_liquidation"] + div["payable_other"])
        pays = srow["dividend_rate"] is not None
        ties = {"shares": sh_calc == sh_close, "carrying_amount": ca_calc == ca["closing"],
                "arrears": ar_calc == div["arrears_closing"],
                "dividends_payable": pay_calc == div["payable_closing"]}
        all_tie = all_tie and all(ties.values())
        entry: dict[str, Any] = {
            "series": name,
            "shares": {key: plain(v) for key, v in shares.items()},
            "carrying_amount": {key: money_str(v) for key, v in ca.items()},
            "dividends": None,
            "ties_out": ties,
        }
        if pays:
            d: dict[str, str | None] = {key: money_str(v) for key, v in div.items()}
            ao = (accrued_open or {}).get(name)
            ac = (accrued_close or {}).get(name)
            d["accrued_unpaid_opening"] = money_str(ao) if ao is not None else None
            d["accrued_unpaid_closing"] = money_str(ac) if ac is not None else None
            if accrued_open is not None and accrued_close is not None:
                on_redemption = _sum(k("redeemed"), "dividends_paid") - div["settled_on_redemption"]
                # what cancelled shares were owed (arrears and accrual) left with them
                extinguished = _sum(k("cancelled"), "dividends_extinguished")
                earned = ((ac or ZERO) - (ao or ZERO) + div["paid"] + div["settled_on_redemption"]
                          + div["settled_on_liquidation"] + on_redemption
                          + div["payable_created"] - div["other"] + extinguished)
                d["accrued_in_period"] = money_str(earned)
            out = div["arrears_closing"]
            d["arrears_per_share_closing"] = (
                money_str(money(CONTEXT.divide(out, sh_close))) if sh_close else None)
            entry["dividends"] = d
        out_series.append(entry)
    holders = []
    # each holder line's activity and intervals, grouped once (not a scan per holder)
    acts_of: dict[tuple[Any, Any], list[Row]] = {}
    for r in acts:
        acts_of.setdefault((r["series"], r["holder"]), []).append(r)
    intervals_of: dict[tuple[Any, Any], list[Row]] = {}
    for r in tables["positions"]:
        intervals_of.setdefault((r["series"], r["holder"]), []).append(r)
    for name, h in sorted(intervals_of):
        a = acts_of.get((name, h), [])
        o = _sum(at(intervals_of[(name, h)], opening), "shares")
        c = _sum(at(intervals_of[(name, h)], d2), "shares")
        flows = {kind: _sum([r for r in a if r["kind"] == kind], "shares")
                 for kind in ("issued", "issued_on_conversion", "transfer_in", "transfer_out",
                              "converted", "redeemed", "cancelled", "split", "liquidation")}
        if not o and not c and not any(flows.values()):
            continue
        calc = o + sum(flows.values(), ZERO)
        all_tie = all_tie and calc == c
        holders.append({
            "series": name, "holder": h, "opening": plain(o),
            "issued": plain(flows["issued"]), "transferred_in": plain(flows["transfer_in"]),
            "transferred_out": plain(-flows["transfer_out"]),
            "converted": plain(-flows["converted"]), "redeemed": plain(-flows["redeemed"]),
            "liquidated": plain(-flows["liquidation"]),
            # SPEC.md §13 (common: what conversions issued and splits changed)
            "issued_on_conversion": plain(flows["issued_on_conversion"]),
            "cancelled": plain(-flows["cancelled"]), "split": plain(flows["split"]),
            "closing": plain(c),
            "ties_out": calc == c,
        })
    common = _common_block(tables, acts, opening, d2)
    all_tie = all_tie and common["ties_out"]
    issuer = tables["issuers"][0]["issuer"] if tables["issuers"] else None
    return {
        "issuer": issuer,
        "from": d1.isoformat(),
        "to": d2.isoformat(),
        "opening_as_of": opening.isoformat(),
        "closing_as_of": d2.isoformat(),
        "series": out_series,
        "common": common,
        "holders": holders,
        "ties_out": all_tie,
    }


def rollforward(issuer: str, records: Iterable[Record], d1: dt.date, d2: dt.date,
                resolve: TermsResolver = load_terms_ref) -> dict[str, Any]:
    """The roll-forward of ``issuer`` from the start of ``d1`` to the end of ``d2``."""
    recs = list(records)
    tables = project_issuer(issuer, recs, d2, resolve)
    if not tables["issuers"]:
        tables["issuers"] = [{"issuer": issuer}]
    return rollforward_tables(tables, d1, d2, _accrued(issuer, recs, d1 - ONE_DAY, resolve),
                              _accrued(issuer, recs, d2, resolve))
