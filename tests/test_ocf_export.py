"""Open Cap Format export: common by holder, cancellations, splits, the stock class
fields, and round trips (export -> import -> the same positions).

Every export here passes two checks written in this file, independent of the code under
test: the official OCF 1.2.0 schemas (the validator of ``tests/test_ocf.py``) and the
per-security balancing rule of the Open Cap Table Coalition's own OCF validator
(``balance_problems``). Expected figures are hand counts on the events written here.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.cli import app

from .conftest import HISTORY, REPO, StoreSpec
from .test_ocf import FILE_SCHEMAS, OBJECT_SCHEMAS, machine, read_pkg, schema_errors

D = Decimal
VENTURE = REPO / "fixtures" / "venture" / "history.jsonl"
MEZZANINE = REPO / "fixtures" / "mezzanine" / "history.jsonl"

# -- the Coalition's per-security rule, re-implemented -----------------------------------

#: the Coalition validator's order of transaction types within one day (issuances first)
TYPE_ORDER = ["TX_STOCK_ISSUANCE", "TX_STOCK_RETRACTION", "TX_STOCK_ACCEPTANCE",
              "TX_STOCK_CANCELLATION", "TX_STOCK_CONVERSION", "TX_STOCK_REISSUANCE",
              "TX_STOCK_REPURCHASE", "TX_STOCK_TRANSFER",
              "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT",
              "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT", "TX_STOCK_CLASS_SPLIT"]
CONSUMING = ("TX_STOCK_TRANSFER", "TX_STOCK_CANCELLATION", "TX_STOCK_CONVERSION",
             "TX_STOCK_REPURCHASE", "TX_STOCK_REISSUANCE")


def balance_problems(files: dict[str, dict[str, Any]]) -> list[str]:
    """The Open Cap Table Coalition validator's stock rules (OCF-XState-Validation,
    ``ocf_validator``), with exact decimals instead of floats: transactions run in date
    order, issuances first within a day; each issuance names a known stakeholder and
    class; a transfer, cancellation, conversion, repurchase or reissuance consumes one
    security that exists and is not yet consumed, issued on or before its date; its
    quantity is above zero and at most the issued quantity; the quantity moved out plus
    the balance security equals the issued quantity (a transfer's resulting securities
    sum to its quantity; a reissuance's to the issued quantity unless it names a split);
    balance and resulting securities exist, are dated that day, and keep the class (a
    conversion's resulting securities change it) and, for conversions and reissuances,
    the stakeholder; a security is consumed by one transaction only."""
    stakeholders = {s["id"] for s in files["Stakeholders.ocf.json"]["items"]}
    classes = {c["id"] for c in files["StockClasses.ocf.json"]["items"]}
    txs = files["Transactions.ocf.json"]["items"]
    issued = {t["security_id"]: t for t in txs if t["object_type"] == "TX_STOCK_ISSUANCE"}
    splits = {t["id"]: t for t in txs if t["object_type"] == "TX_STOCK_CLASS_SPLIT"}
    out: list[str] = []
    consumers: dict[str, list[str]] = {}
    for t in txs:
        if t["object_type"] in CONSUMING:
            consumers.setdefault(t["security_id"], []).append(t["id"])
    out += [f"{sid}: consumed by {ids}" for sid, ids in consumers.items() if len(ids) > 1]
    active: dict[str, dict[str, Any]] = {}
    ordered = sorted(txs, key=lambda t: (t["date"], TYPE_ORDER.index(t["object_type"])))
    for t in ordered:
        kind, tid = t["object_type"], t["id"]
        if kind == "TX_STOCK_ISSUANCE":
            if t["stakeholder_id"] not in stakeholders:
                out.append(f"{tid}: unknown stakeholder {t['stakeholder_id']}")
            if t["stock_class_id"] not in classes:
                out.append(f"{tid}: unknown stock class {t['stock_class_id']}")
            if D(t["quantity"]) <= 0:
                out.append(f"{tid}: quantity {t['quantity']}")
            active[t["security_id"]] = t
            continue
        if kind not in CONSUMING:
            continue
        src = active.pop(t["security_id"], None)
        if src is None:
            out.append(f"{tid}: security {t['security_id']} is not outstanding")
            continue
        if src["date"] > t["date"]:
            out.append(f"{tid}: before the issuance of {src['security_id']}")
        qty = D(t.get("quantity_converted") or t.get("quantity") or "0")
        whole = D(src["quantity"])
        if kind != "TX_STOCK_REISSUANCE" and not 0 < qty <= whole:
            out.append(f"{tid}: quantity {qty} of a security of {whole}")
        res = [issued.get(r) for r in t.get("resulting_security_ids", [])]
        if None in res:
            out.append(f"{tid}: a resulting security is never issued")
            continue
        bal = None
        if "balance_security_id" in t:
            bal = issued.get(t["balance_security_id"])
            if bal is None or bal["security_id"] not in active:
                out.append(f"{tid}: balance security {t['balance_security_id']} missing")
                continue
            if bal["date"] != t["date"] or bal["stock_class_id"] != src["stock_class_id"] \
                    or D(bal["quantity"]) <= 0:
                out.append(f"{tid}: balance security of another date or class, or empty")
            if bal["stakeholder_id"] != src["stakeholder_id"]:
                out.append(f"{tid}: balance security of another stakeholder")
        rest = D(bal["quantity"]) if bal else D(0)
        moved = sum((D(r["quantity"]) for r in res if r), D(0))
        if kind == "TX_STOCK_REISSUANCE":
            split = splits.get(t.get("split_transaction_id", ""))
            if "split_transaction_id" in t and (split is None or split["date"] != t["date"]
                                                or split["stock_class_id"]
                                                != src["stock_class_id"]):
                out.append(f"{tid}: names no split of its class that day")
            if "split_transaction_id" not in t and moved != whole:
                out.append(f"{tid}: reissues {moved} of {whole}")
        elif qty + rest != whole:
            out.append(f"{tid}: {qty} out + {rest} balance != {whole} issued")
        if kind == "TX_STOCK_TRANSFER" and moved != qty:
            out.append(f"{tid}: resulting securities hold {moved}, not {qty}")
        for r in res:
            assert r is not None
            if r["date"] != t["date"]:
                out.append(f"{tid}: resulting security {r['security_id']} of another date")
            same_class = r["stock_class_id"] == src["stock_class_id"]
            if same_class == (kind == "TX_STOCK_CONVERSION"):
                out.append(f"{tid}: resulting security {r['security_id']} class")
            if kind in ("TX_STOCK_CONVERSION", "TX_STOCK_REISSUANCE") \
                    and r["stakeholder_id"] != src["stakeholder_id"]:
                out.append(f"{tid}: resulting security {r['security_id']} stakeholder")
    return out


def check(files: dict[str, dict[str, Any]]) -> None:
    """Both validators: the official schemas and the Coalition's balancing rule."""
    for doc in files.values():
        assert schema_errors(doc, FILE_SCHEMAS[doc["file_type"]]) == []
        for item in doc.get("items", []):
            if item["object_type"] in OBJECT_SCHEMAS:
                assert schema_errors(item, OBJECT_SCHEMAS[item["object_type"]]) == [], item
    assert balance_problems(files) == []


# -- ledgers -----------------------------------------------------------------------------

def ev(type_: str, date: str, eid: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "effective_date": date, "id": eid, **fields}


#: common by holder, a common transfer, a partial repurchase of preferred and a
#: forfeiture of common, a 2-for-1 split, cancellations and a transfer after it, and a
#: liquidation (SPEC.md §3, §6, §8, §13)
COMMON_LIFE = [
    ev("SeriesDesignated", "2000-12-28", "c-01", series="G", terms_ref="nstor/G"),
    ev("CommonStockIssued", "2000-12-28", "c-02", shares="1000000", kind="opening"),
    ev("CommonStockIssued", "2001-01-02", "c-03", shares="600000", kind="opening",
       holder="Fern"),
    ev("CommonStockIssued", "2001-01-02", "c-04", shares="400000", kind="option_exercise",
       price_per_share="0.10", holder="Gale"),
    ev("SharesIssued", "2001-01-02", "c-05", series="G", holder="Ash", shares="100"),
    ev("SharesIssued", "2001-02-01", "c-06", series="G", holder="Ash", shares="50"),
    ev("SharesIssued", "2001-02-01", "c-07", series="G", holder="Beech", shares="40"),
    ev("SharesTransferred", "2001-03-01", "c-08", series="common", from_holder="Fern",
       to_holder="Gale", shares="100000"),
    ev("SharesCancelled", "2001-06-01", "c-09", series="G", holder="Ash", shares="120",
       reason="repurchase", price_per_share="1000"),
    ev("SharesCancelled", "2001-07-01", "c-10", series="common", holder="Gale",
       shares="50000", reason="forfeiture"),
    ev("CommonStockSplit", "2002-01-15", "c-11", ratio="2"),
    ev("SharesCancelled", "2002-03-01", "c-12", series="common", holder="Fern",
       shares="100000", reason="repurchase", price_per_share="0.05"),
    ev("SharesTransferred", "2002-04-01", "c-13", series="common", from_holder="Gale",
       to_holder="Hazel", shares="200000"),
    ev("SharesCancelled", "2002-05-01", "c-14", series="G", holder="Beech", shares="10",
       reason="other"),
    ev("Liquidation", "2003-01-15", "c-15", proceeds="1000000"),
]


def run(spec: StoreSpec, *args: str) -> Any:
    return CliRunner().invoke(app, [*spec.args, *args])


def load(spec: StoreSpec, path: Path) -> None:
    r = run(spec, "load", str(path))
    assert r.exit_code == 0, r.output


def export(spec: StoreSpec, to: Path, as_of: str, *extra: str) -> dict[str, dict[str, Any]]:
    r = run(spec, "export-ocf", "--as-of", as_of, "--to", str(to), *extra)
    assert r.exit_code == 0, r.output
    return read_pkg(to)


def positions(spec: StoreSpec, days: list[dt.date], issuer: str | None = None
              ) -> list[dict[str, Any]]:
    with spec.open() as lg:
        return [lg.position(d, issuer) if issuer else lg.position(d) for d in days]


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path



def holdings(files: dict[str, dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    """(class, stakeholder legal name) -> the quantity of its outstanding securities."""
    names = {s["id"]: s["name"]["legal_name"] for s in files["Stakeholders.ocf.json"]["items"]}
    txs = files["Transactions.ocf.json"]["items"]
    consumed = {t["security_id"] for t in txs if t["object_type"] in CONSUMING}
    out: dict[tuple[str, str], Decimal] = {}
    for t in txs:
        if t["object_type"] == "TX_STOCK_ISSUANCE" and t["security_id"] not in consumed:
            k = (t["stock_class_id"], names[t["stakeholder_id"]])
            out[k] = out.get(k, D(0)) + D(t["quantity"])
    return out


# -- common by holder, cancellations, the split ------------------------------------------

def test_common_by_holder_and_cancellations(sqlite_store: StoreSpec, tmp_path: Path) -> None:
    load(sqlite_store, write(tmp_path / "life.jsonl", COMMON_LIFE))
    files = export(sqlite_store, tmp_path / "p", "2002-12-31")
    check(files)
    people = {s["name"]["legal_name"]: s for s in files["Stakeholders.ocf.json"]["items"]}
    # Ash, Beech (G), Fern, Gale, Hazel (common) and the one placeholder of the common
    # issued without a holder
    assert sorted(people) == ["Ash", "Beech", "Fern", "Gale", "Hazel",
                              "Unattributed common stock"]
    assert people["Unattributed common stock"]["id"] == "stakeholder-unattributed-common"
    # by hand, as of 2002-12-31 (after the 2-for-1 split of 2002-01-15):
    #   unattributed 1,000,000 x 2                                   = 2,000,000
    #   Fern (600,000 - 100,000) x 2 - 100,000 repurchased            =   900,000
    #   Gale (400,000 + 100,000 - 50,000 forfeited) x 2 - 200,000     =   700,000
    #   Hazel                                                         =   200,000
    #   G: Ash 100 + 50 - 120 = 30; Beech 40 - 10 = 30
    assert holdings(files) == {
        ("stock-class-common", "Unattributed common stock"): D(2000000),
        ("stock-class-common", "Fern"): D(900000),
        ("stock-class-common", "Gale"): D(700000),
        ("stock-class-common", "Hazel"): D(200000),
        ("stock-class-G", "Ash"): D(30), ("stock-class-G", "Beech"): D(30)}
    txs = files["Transactions.ocf.json"]["items"]
    issued = {t["security_id"]: t for t in txs if t["object_type"] == "TX_STOCK_ISSUANCE"}
    # the unattributed issuance says so; a named one names its holder
    (unatt,) = [t for t in txs if t.get("stakeholder_id") == "stakeholder-unattributed-common"
                and t["date"] == "2000-12-28"]
    assert machine(unatt, "ref")[0]["event"]["holder"] is None
    # Ash's 120 repurchased at $1,000: all of the 100-share security, then 20 of the 50
    # with a balance security of 30
    reps = [t for t in txs if t["object_type"] == "TX_STOCK_REPURCHASE"
            and issued[t["security_id"]]["stock_class_id"] == "stock-class-G"]
    assert [(t["quantity"], issued[t["security_id"]]["quantity"], t["price"]["amount"],
             t.get("balance_security_id") and issued[t["balance_security_id"]]["quantity"])
            for t in reps] == [("100", "100", "1000", None), ("20", "50", "1000", "30")]
    # the forfeiture and the "other" cancellation are OCF cancellations with their reason
    cancels = [t for t in txs if t["object_type"] == "TX_STOCK_CANCELLATION"]
    assert [(t["date"], t["quantity"], t["reason_text"]) for t in cancels] == [
        ("2001-07-01", "50000", "forfeiture"), ("2002-05-01", "10", "other")]
    # the split reissues each of the 4 common securities outstanding on 2002-01-15 at
    # twice its quantity, naming the split: the unattributed 1,000,000, Fern's 500,000
    # balance after the transfer, Gale's own 400,000, and the 50,000 left of the 100,000
    # Gale received (the forfeiture took the oldest first: the transferred security
    # keeps the date of Fern's issuance, ahead of Gale's own)
    (split,) = [t for t in txs if t["object_type"] == "TX_STOCK_CLASS_SPLIT"]
    reissued = [t for t in txs if t["object_type"] == "TX_STOCK_REISSUANCE"]
    assert {t["split_transaction_id"] for t in reissued} == {split["id"]}
    assert sorted(D(issued[t["security_id"]]["quantity"]) for t in reissued) == [
        D(50000), D(400000), D(500000), D(1000000)]
    for t in reissued:
        (new,) = t["resulting_security_ids"]
        assert D(issued[new]["quantity"]) == 2 * D(issued[t["security_id"]]["quantity"])
        assert issued[new]["stakeholder_id"] == issued[t["security_id"]]["stakeholder_id"]


def test_split_then_liquidation_cancels_the_reissued_securities(
        sqlite_store: StoreSpec, tmp_path: Path) -> None:
    """After a split, the liquidation cancels each common security's post-split quantity
    from a security issued at that quantity (before the fix it cancelled 2,000,000 from
    the 1,000,000-share security issued before the split, which the Coalition's
    validator rejects)."""
    events = [
        ev("SeriesDesignated", "2000-12-28", "s-1", series="G", terms_ref="nstor/G"),
        ev("CommonStockIssued", "2000-12-28", "s-2", shares="1000000", kind="opening"),
        ev("SharesIssued", "2001-01-02", "s-3", series="G", holder="Ash", shares="100"),
        ev("CommonStockSplit", "2002-01-15", "s-4", ratio="2"),
        ev("Liquidation", "2003-01-15", "s-5", proceeds="500000"),
    ]
    load(sqlite_store, write(tmp_path / "s.jsonl", events))
    files = export(sqlite_store, tmp_path / "p", "2003-12-31")
    assert balance_problems(files) == []
    check(files)
    txs = files["Transactions.ocf.json"]["items"]
    issued = {t["security_id"]: t for t in txs if t["object_type"] == "TX_STOCK_ISSUANCE"}
    cancelled = {issued[t["security_id"]]["stock_class_id"]: (t["quantity"],
                                                              issued[t["security_id"]])
                 for t in txs if t["object_type"] == "TX_STOCK_CANCELLATION"}
    qty, sec = cancelled["stock-class-common"]
    assert qty == "2000000" and sec["quantity"] == "2000000" and sec["date"] == "2002-01-15"
    assert cancelled["stock-class-G"][0] == "100"
    # nothing outstanding after the liquidation
    assert holdings(files) == {}


def test_the_rule_catches_a_security_that_does_not_balance() -> None:
    """The balancing helper is not vacuous: a cancellation of more than was issued, a
    security used twice, and a missing balance security are each found."""
    def pkg(txs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {"Stakeholders.ocf.json": {"items": [{"id": "s"}]},
                "StockClasses.ocf.json": {"items": [{"id": "c"}]},
                "Transactions.ocf.json": {"items": txs}}

    iss = {"object_type": "TX_STOCK_ISSUANCE", "id": "i", "date": "2001-01-01",
           "security_id": "A", "stakeholder_id": "s", "stock_class_id": "c",
           "quantity": "100"}
    over = {"object_type": "TX_STOCK_CANCELLATION", "id": "x", "date": "2002-01-01",
            "security_id": "A", "quantity": "200", "reason_text": "r"}
    assert balance_problems(pkg([iss, over])) == [
        "x: quantity 200 of a security of 100", "x: 200 out + 0 balance != 100 issued"]
    part = dict(over, quantity="40")
    assert balance_problems(pkg([iss, part])) == ["x: 40 out + 0 balance != 100 issued"]
    twice = dict(part, id="y", quantity="100")
    assert balance_problems(pkg([iss, dict(part, quantity="100"), twice])) == [
        "A: consumed by ['x', 'y']", "y: security A is not outstanding"]
    nobal = dict(part, balance_security_id="B")
    assert balance_problems(pkg([iss, nobal])) == ["x: balance security B missing"]


def test_authorized_common(sqlite_store: StoreSpec, tmp_path: Path) -> None:
    load(sqlite_store, HISTORY)
    files = export(sqlite_store, tmp_path / "a", "2005-12-31")
    common = {c["id"]: c for c in files["StockClasses.ocf.json"]["items"]}["stock-class-common"]
    assert common["initial_shares_authorized"] == "NOT APPLICABLE"
    files = export(sqlite_store, tmp_path / "b", "2005-12-31", "--common-authorized",
                   "200000000")
    common = {c["id"]: c for c in files["StockClasses.ocf.json"]["items"]}["stock-class-common"]
    assert common["initial_shares_authorized"] == "200000000"
    check(files)
    # fewer than were outstanding at one time: by 2003-06-30 nStor has 30,000,000 +
    # 1,000,000 + K's 26,086,956 + 17,391,304 = 74,478,260 common (and more later)
    r = run(sqlite_store, "export-ocf", "--as-of", "2005-12-31", "--to", str(tmp_path / "c"),
            "--common-authorized", "74478259")
    assert r.exit_code == 2 and "fewer than" in r.output
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())
    for bad in ("0", "-5", "1.5", "many", "1e400"):
        r = run(sqlite_store, "export-ocf", "--as-of", "2005-12-31", "--to",
                str(tmp_path / "d"), "--common-authorized", bad)
        assert r.exit_code == 2 and "--common-authorized" in r.output, bad


# -- round trips: export -> import gives the same positions ------------------------------

#: after the 2-for-1 split and each cancellation, and after the liquidation
LIFE_DAYS = [dt.date(2001, 1, 2), dt.date(2001, 3, 1), dt.date(2001, 6, 1),
             dt.date(2001, 7, 1), dt.date(2001, 12, 31), dt.date(2002, 1, 15),
             dt.date(2002, 3, 1), dt.date(2002, 4, 1), dt.date(2002, 5, 1),
             dt.date(2002, 12, 31), dt.date(2003, 1, 15), dt.date(2003, 12, 31)]


def round_trip(src: StoreSpec, dst: StoreSpec, to: Path, as_of: str, days: list[dt.date],
               issuer: str | None = None) -> dict[str, dict[str, Any]]:
    """Export ``src`` as of ``as_of``, check it, import it into the empty ``dst``; every
    figure of the positions on ``days`` must be the same."""
    files = export(src, to, as_of, *(["--issuer", issuer] if issuer else []))
    check(files)
    r = run(dst, "import-ocf", str(to), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["stored"] is True
    before, after = positions(src, days, issuer), positions(dst, days, issuer)
    assert all(p["series"] for p in before)  # the positions compared are not empty
    for day, a, b in zip(days, before, after, strict=True):
        assert a == b, day
    return files


def test_round_trip_of_common_by_holder_split_and_cancellations(
        store: StoreSpec, other: StoreSpec, tmp_path: Path) -> None:
    load(store, write(tmp_path / "life.jsonl", COMMON_LIFE))
    round_trip(store, other, tmp_path / "p", "2003-12-31", LIFE_DAYS)
    # the common holders are in the imported positions: Hazel's 200,000 (2002-04-01)
    (pos,) = positions(other, [dt.date(2002, 12, 31)])
    common = {h["holder"]: D(h["shares"]) for h in pos["holders"] if h["series"] == "common"}
    assert common == {None: D(2000000), "Fern": D(900000), "Gale": D(700000),
                      "Hazel": D(200000)}


def test_round_trip_of_nstor_with_common_holders_and_cancellations(
        sqlite_store: StoreSpec, tmp_path: Path) -> None:
    """The nStor history, then common issued to holders, a common transfer, a split,
    a partial repurchase of H and a forfeiture of common (SPEC.md §13)."""
    more = [
        ev("CommonStockIssued", "2006-01-05", "n-1", shares="500000", kind="sale",
           price_per_share="0.40", holder="Ivy Capital"),
        ev("SharesTransferred", "2006-02-01", "n-2", series="common",
           from_holder="Fir Holdings", to_holder="Ivy Capital", shares="1000000"),
        ev("CommonStockSplit", "2006-03-01", "n-3", ratio="3"),
        ev("SharesCancelled", "2006-04-03", "n-4", series="H", holder="Elm Street Ventures",
           shares="300", reason="repurchase", price_per_share="1000"),
        ev("SharesCancelled", "2006-05-01", "n-5", series="common", holder="Ivy Capital",
           shares="600000", reason="forfeiture"),
    ]
    path = tmp_path / "nstor-more.jsonl"
    path.write_text(HISTORY.read_text() + "".join(json.dumps(e) + "\n" for e in more))
    load(sqlite_store, path)
    days = [dt.date(2003, 6, 30), dt.date(2004, 3, 15), dt.date(2005, 12, 31),
            dt.date(2006, 2, 1), dt.date(2006, 3, 1), dt.date(2006, 4, 3),
            dt.date(2006, 5, 1), dt.date(2006, 12, 31)]
    files = round_trip(sqlite_store, StoreSpec("sqlite", db=str(tmp_path / "b.db")),
                       tmp_path / "p", "2006-12-31", days)
    # by hand: Fir's 26,086,956 common from K's conversion less 1,000,000 transferred,
    # x 3; Ivy (500,000 + 1,000,000) x 3 - 600,000 forfeited
    got = holdings(files)
    assert got[("stock-class-common", "Fir Holdings")] == (D(26086956) - D(1000000)) * 3
    assert got[("stock-class-common", "Ivy Capital")] == D(1500000) * 3 - D(600000)
    assert got[("stock-class-common", "Unattributed common stock")] == D(31000000) * 3


@pytest.mark.parametrize("example, issuer, as_of, days", [
    ("venture", None, "2023-12-31",
     [dt.date(2019, 6, 15), dt.date(2021, 3, 1), dt.date(2021, 9, 30), dt.date(2022, 7, 15),
      dt.date(2022, 12, 31), dt.date(2023, 5, 9), dt.date(2023, 5, 10),
      dt.date(2023, 12, 31)]),
    ("mezzanine", "mezzanine", "2025-12-31",
     [dt.date(2020, 6, 30), dt.date(2021, 12, 31), dt.date(2023, 7, 1),
      dt.date(2025, 1, 31), dt.date(2025, 7, 1), dt.date(2025, 12, 31)]),
])
def test_round_trip_of_the_examples(sqlite_store: StoreSpec, tmp_path: Path, example: str,
                                    issuer: str | None, as_of: str,
                                    days: list[dt.date]) -> None:
    load(sqlite_store, REPO / "fixtures" / example / "history.jsonl")
    round_trip(sqlite_store, StoreSpec("sqlite", db=str(tmp_path / "b.db")), tmp_path / "p",
               as_of, days, issuer)


# -- the stock class fields, both ways ---------------------------------------------------

def classes_of(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in files["StockClasses.ocf.json"]["items"]}


def test_class_fields_from_the_venture_terms(sqlite_store: StoreSpec, tmp_path: Path) -> None:
    """fixtures/venture/*.json: Seed 1x non-participating at $1.00; A 1.5x participating
    capped at 3x, at $2.00; B 1x at $0.80; B senior to all, A to the series before it
    (Seed), Seed to common: B > A > Seed > common. As of 2021-02-28 (before B's first
    issuance adjusts Seed and A) every rate is the base one: votes as converted 1."""
    load(sqlite_store, VENTURE)
    cls = classes_of(export(sqlite_store, tmp_path / "p", "2021-02-28"))
    seed, a, b = cls["stock-class-Seed"], cls["stock-class-A"], cls["stock-class-B"]
    assert [c["seniority"] for c in (b, a, seed, cls["stock-class-common"])] == [
        "4", "3", "2", "1"]
    assert [c["liquidation_preference_multiple"] for c in (seed, a, b)] == ["1", "1.5", "1"]
    assert a["participation_cap_multiple"] == "3"
    assert "participation_cap_multiple" not in seed and "participation_cap_multiple" not in b
    assert [c["votes_per_share"] for c in (seed, a, b)] == ["1", "1", "1"]
    for c, price in ((seed, "1"), (a, "2"), (b, "0.8")):
        (right,) = c["conversion_rights"]
        m = right["conversion_mechanism"]
        # stated value / conversion price, the price as given
        assert (m["type"], m["conversion_price"]["amount"], m["rounding_type"]) == (
            "RATIO_CONVERSION", price, "FLOOR")
        assert D(m["ratio"]["numerator"]) / D(m["ratio"]["denominator"]) == 1


def test_class_fields_of_a_mezzanine_and_a_per_share_voting_series(
        sqlite_store: StoreSpec, tmp_path: Path) -> None:
    load(sqlite_store, MEZZANINE)
    s = classes_of(export(sqlite_store, tmp_path / "m", "2025-12-31",
                          "--issuer", "mezzanine"))["stock-class-S"]
    # fixtures/mezzanine/S.json: not convertible, no votes, 1x, senior to all
    assert (s["liquidation_preference_multiple"], s["votes_per_share"], s["seniority"],
            s["conversion_rights"]) == ("1", "0", "2", [])
    seed = json.loads((REPO / "fixtures" / "venture" / "Seed.json").read_text())
    terms = {**seed, "series": "P", "votes": "per_share", "votes_per_share": "10",
             "participation": "full", "liquidation_multiple": "2"}
    other = StoreSpec("sqlite", db=str(tmp_path / "p.db"))
    load(other, write(tmp_path / "p.jsonl", [
        ev("SeriesDesignated", "2018-03-01", "p-1", series="P", terms=terms),
        ev("SharesIssued", "2018-03-15", "p-2", series="P", holder="Oak", shares="10")]))
    files = export(other, tmp_path / "pp", "2018-12-31")
    check(files)
    p = classes_of(files)["stock-class-P"]
    assert (p["votes_per_share"], p["liquidation_preference_multiple"]) == ("10", "2")
    assert "participation_cap_multiple" not in p  # OCF has no field for full participation
    assert any("participating fully" in c for c in p["comments"])


def test_class_fields_read_onto_terms_that_leave_them_unset(
        sqlite_store: StoreSpec, tmp_path: Path) -> None:
    """A terms file for Series A without the liquidation multiple, participation, votes
    or seniority: the class's OCF fields supply them, and the positions are the same."""
    load(sqlite_store, VENTURE)
    export(sqlite_store, tmp_path / "p", "2023-12-31")
    a = json.loads((REPO / "fixtures" / "venture" / "A.json").read_text())
    for k in ("liquidation_multiple", "participation", "participation_cap", "votes",
              "seniority_claims", "citations"):
        del a[k]
    (tmp_path / "A.json").write_text(json.dumps(a))
    dst = StoreSpec("sqlite", db=str(tmp_path / "b.db"))
    r = run(dst, "import-ocf", str(tmp_path / "p"), "--terms", str(tmp_path / "A.json"))
    assert r.exit_code == 0, r.output
    days = [dt.date(2021, 3, 1), dt.date(2022, 12, 31), dt.date(2023, 5, 10)]
    assert positions(sqlite_store, days) == positions(dst, days)
    with dst.open() as lg:
        (des,) = [rec.event for rec in lg.records("default")
                  if rec.event.type == "SeriesDesignated"
                  and getattr(rec.event, "series", "") == "A"]
    t = des.terms  # type: ignore[attr-defined]
    assert (t.liquidation_multiple, t.participation, t.participation_cap, t.votes) == (
        D("1.5"), "capped", D(3), "as_converted")
    # OCF seniority 3: senior to common (1) and to Seed (2), not to B (4)
    assert sorted((c.relation, c.to) for c in t.seniority_claims) == [
        ("senior_to", "Seed"), ("senior_to", "common")]


def test_class_fields_that_disagree_with_the_terms_are_reported(
        sqlite_store: StoreSpec, tmp_path: Path) -> None:
    load(sqlite_store, VENTURE)
    export(sqlite_store, tmp_path / "p", "2023-12-31")
    from .test_ocf import edit

    def change(doc: dict[str, Any]) -> None:
        for c in doc["items"]:
            if c["id"] == "stock-class-A":
                c["liquidation_preference_multiple"] = "2"
                c["participation_cap_multiple"] = "4"

    edit(tmp_path / "p", "StockClasses.ocf.json", change)
    dst = StoreSpec("sqlite", db=str(tmp_path / "b.db"))
    r = run(dst, "import-ocf", str(tmp_path / "p"))
    assert r.exit_code == 2
    assert "liquidation_preference_multiple" in r.output
    assert "2 but the Series A terms have liquidation_multiple 1.5" in r.output
    assert "4 but the Series A terms have participation 'capped' capped at 3" in r.output


def test_nstor_and_the_lifecycle_exports_balance(sqlite_store: StoreSpec,
                                                  tmp_path: Path) -> None:
    """The nStor export (9 stakeholders: the 8 preferred holders and the unattributed
    placeholder of the 31,000,000 common issued without a holder) and the redemption,
    split, conversion and liquidation history of tests/test_ocf.py both balance."""
    from .test_ocf import LIFECYCLE

    load(sqlite_store, HISTORY)
    files = export(sqlite_store, tmp_path / "n", "2005-12-31")
    check(files)
    assert len(files["Stakeholders.ocf.json"]["items"]) == 9
    assert holdings(files)[("stock-class-common", "Unattributed common stock")] == (
        D(30000000) + D(1000000))
    other = StoreSpec("sqlite", db=str(tmp_path / "l.db"))
    load(other, write(tmp_path / "l.jsonl", LIFECYCLE))
    for as_of in ("2001-12-31", "2002-01-15", "2002-12-31", "2003-12-31"):
        check(export(other, tmp_path / f"l-{as_of}", as_of))


SAMPLE_CLASSES = REPO / "tests" / "data" / "ocf" / "samples" / "StockClasses.ocf.json"


def test_terms_built_from_a_class_another_platform_wrote(sqlite_store: StoreSpec,
                                                         tmp_path: Path) -> None:
    """The official sample's Series Seed Preferred, with no terms given: prefix PS-,
    10,000,000 authorized, approved 2021-01-28, no price per share (the $1.00
    conversion price is the stated value), 2x preference, participation capped at 2x,
    1 vote a share converting 1:1 (as converted), fractions rounded NORMAL (issued)."""
    r = run(sqlite_store, "import-ocf", str(SAMPLE_CLASSES), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["appended"] == 1
    (note,) = [n for n in out["notes"] if "terms built from its OCF fields" in n]
    assert "no dividends, redemption or anti-dilution" in note and "--terms" in note
    with sqlite_store.open() as lg:
        (rec,) = lg.records("default")
    t = rec.event.terms  # type: ignore[attr-defined]
    assert (t.series, t.name, t.designated, t.authorized_shares, t.stated_value) == (
        "PS", "Series Seed Preferred", dt.date(2021, 1, 28), D(10000000), D(1))
    assert (t.liquidation_multiple, t.participation, t.participation_cap) == (
        D(2), "capped", D(2))
    assert (t.conversion, t.conversion_price, t.conversion_rate, t.fractional_common,
            t.votes) == ("elective", D(1), None, "issue", "as_converted")
    assert t.dividend_rate is None and t.redeemable is False
    # seniority 2 over the common's 1
    assert [(c.relation, c.to) for c in t.seniority_claims] == [("senior_to", "common")]
    # a position: 2x the $1.00 stated value per share once shares are issued; here none
    (pos,) = positions(sqlite_store, [dt.date(2022, 1, 1)])
    (row,) = pos["series"]
    assert (row["series"], row["authorized"], row["conversion_rate"]) == (
        "PS", "10000000", "1")


def test_a_class_without_what_terms_need_is_reported(sqlite_store: StoreSpec,
                                                     tmp_path: Path) -> None:
    doc = json.loads(SAMPLE_CLASSES.read_text())
    for c in doc["items"]:
        if c["class_type"] == "PREFERRED":
            del c["board_approval_date"]
            c["conversion_rights"] = []
    path = tmp_path / "StockClasses.ocf.json"
    path.write_text(json.dumps(doc))
    r = run(sqlite_store, "import-ocf", str(path), "--json")
    assert r.exit_code == 2
    (p,) = json.loads(r.stdout)["problems"]
    assert (p["object_id"], p["field"]) == ("cc775778-7d6e-4f8a-93cf-4df2242d7d6d",
                                            "board_approval_date")
    assert "board_approval_date or price_per_share" in p["message"]
    assert "--terms" in p["message"]
    assert sqlite_store.content() == []


@pytest.mark.parametrize("fields, field, words", [
    ({"liquidation_preference_multiple": "99999999999999999999"},
     "liquidation_preference_multiple", "is not a plain decimal number"),
    ({"votes_per_share": "-3"}, "votes_per_share", "fewer than no votes"),
    # a cap below the 2x preference cannot hold
    ({"participation_cap_multiple": "1"}, "(stock class fields)", "below the"),
    ({"initial_shares_authorized": "UNLIMITED"}, "initial_shares_authorized",
     "no initial_shares_authorized to build them from"),
], ids=["huge-multiple", "negative-votes", "cap-below-multiple", "unlimited"])
def test_class_fields_that_cannot_hold_are_one_problem(
        sqlite_store: StoreSpec, tmp_path: Path, fields: dict[str, str], field: str,
        words: str) -> None:
    """Each bad class field is one problem naming the field: nothing follows from it."""
    doc = json.loads(SAMPLE_CLASSES.read_text())
    for c in doc["items"]:
        if c["class_type"] == "PREFERRED":
            c.update(fields)
    path = tmp_path / "StockClasses.ocf.json"
    path.write_text(json.dumps(doc))
    r = run(sqlite_store, "import-ocf", str(path), "--json")
    assert r.exit_code == 2
    (p,) = json.loads(r.stdout)["problems"]
    assert p["field"] == field and words in p["message"], p
    assert sqlite_store.content() == []


def test_round_trip_of_mandatory_conversions_on_a_date_and_an_approval(
        sqlite_store: StoreSpec, tmp_path: Path) -> None:
    """Two elective series converting mandatorily (SPEC.md §12): D on 2020-01-01 (a date
    trigger: no event that day), E on the approval of 2020-06-01 listing "e_vote". The
    conversions are written marked as derived and derived again on import."""
    seed = json.loads((REPO / "fixtures" / "venture" / "Seed.json").read_text())
    seed.pop("citations")
    d_terms = {**seed, "series": "D", "mandatory_conversion": [{"date": "2020-01-01"}]}
    e_terms = {**seed, "series": "E", "mandatory_conversion": [{"approval": "e_vote"}]}
    events = [
        ev("SeriesDesignated", "2018-03-01", "m-1", series="D", terms=d_terms),
        ev("SeriesDesignated", "2018-03-01", "m-2", series="E", terms=e_terms),
        ev("CommonStockIssued", "2018-03-01", "m-3", shares="1000", kind="opening",
           holder="Founder"),
        ev("SharesIssued", "2018-03-15", "m-4", series="D", holder="Oak", shares="300"),
        ev("SharesIssued", "2018-03-15", "m-5", series="E", holder="Pine", shares="200"),
        ev("ShareholderApproval", "2020-06-01", "m-6", matters=["e_vote"]),
    ]
    load(sqlite_store, write(tmp_path / "m.jsonl", events))
    days = [dt.date(2019, 12, 31), dt.date(2020, 1, 1), dt.date(2020, 6, 1),
            dt.date(2020, 12, 31)]
    files = round_trip(sqlite_store, StoreSpec("sqlite", db=str(tmp_path / "b.db")),
                       tmp_path / "p", "2020-12-31", days)
    # by hand: each converts 1:1 (stated $1.00 / conversion price $1.00)
    assert holdings(files) == {("stock-class-common", "Founder"): D(1000),
                               ("stock-class-common", "Oak"): D(300),
                               ("stock-class-common", "Pine"): D(200)}
    convs = [t for t in files["Transactions.ocf.json"]["items"]
             if t["object_type"] == "TX_STOCK_CONVERSION"]
    assert [(t["date"], t["quantity_converted"]) for t in convs] == [
        ("2020-01-01", "300"), ("2020-06-01", "200")]
    assert all(machine(t, "derived") for t in convs)
    # a package exported before the date trigger: D still outstanding
    early = export(sqlite_store, tmp_path / "early", "2019-12-31")
    check(early)
    assert holdings(early)[("stock-class-D", "Oak")] == D(300)
    # as of the trigger day itself, with no event that day: converted at its start
    on_day = export(sqlite_store, tmp_path / "on", "2020-01-01")
    check(on_day)
    assert ("stock-class-D", "Oak") not in holdings(on_day)
    assert holdings(on_day)[("stock-class-common", "Oak")] == D(300)
