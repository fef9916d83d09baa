"""The peer tools' files (``benchmarks/peers.py``): every converted balance assertion holds
and equals the history's ``BalanceAsserted`` figure.

No peer tool is needed: a tiny parser here reads the hledger / ledger-cli journal and the
Beancount file, sums the postings per account and commodity up to each assertion (the
journal: at its place in the file, as ledger-cli and hledger check a date-sorted file;
Beancount: every posting dated before the ``balance`` directive's date) and compares.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest

from benchmarks import generate, peers

D = Decimal
HISTORY = Path(__file__).resolve().parent.parent / "fixtures" / "nstor" / "history.jsonl"
Key = tuple[str, str]  # (account, commodity)


# -- a tiny reader of the two formats -----------------------------------------------------

@dataclass
class Txn:
    date: dt.date
    postings: list[tuple[str, Decimal, str]] = field(default_factory=list)
    check: tuple[str, Decimal, str] | None = None


def _amount(text: str) -> tuple[Decimal, str]:
    num, com = text.strip().split(" ", 1)
    return D(num), com.strip().strip('"')


def read_journal(text: str) -> list[Txn]:
    out: list[Txn] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        if not line.startswith(" "):
            out.append(Txn(dt.date.fromisoformat(line[:10])))
            assert line[10:13] == " * ", line
            continue
        account, rest = line.strip().split("  ", 1)
        if " = " in rest:
            zero, asserted = rest.split(" = ")
            assert _amount(zero)[0] == 0
            fig, com = _amount(asserted)
            out[-1].check = (account, fig, com)
        else:
            num, com = _amount(rest)
            out[-1].postings.append((account, num, com))
    return out


def journal_checks(txns: list[Txn]) -> list[tuple[dt.date, str, Decimal, str, Decimal]]:
    """(date, account, asserted, commodity, sum of the postings before it in the file)."""
    dates = [t.date for t in txns]
    assert dates == sorted(dates)  # date order: hledger's order is the file's
    sums: dict[Key, Decimal] = defaultdict(Decimal)
    out = []
    for t in txns:
        per: dict[str, Decimal] = defaultdict(Decimal)
        for acct, num, com in t.postings:
            sums[acct, com] += num
            per[com] += num
        assert all(v == 0 for v in per.values()), t  # every transaction balances
        if t.check is not None:
            acct, fig, com = t.check
            out.append((t.date, acct, fig, com, sums[acct, com]))
    return out


def read_beancount(text: str) -> tuple[list[Txn], list[tuple[dt.date, str, Decimal, str]],
                                       dict[str, dt.date], int]:
    txns: list[Txn] = []
    balances: list[tuple[dt.date, str, Decimal, str]] = []
    opened: dict[str, dt.date] = {}
    in_day = 0
    for line in text.splitlines():
        if line.startswith("; in-day"):
            in_day += 1
        if not line.strip() or line.startswith((";", "option ")):
            continue
        if line.startswith("  "):
            account, rest = line.strip().split("  ", 1)
            txns[-1].postings.append((account, *_amount(rest)))
            continue
        day = dt.date.fromisoformat(line[:10])
        word = line[11:].split(" ", 1)
        if word[0] == "open":
            assert word[1] not in opened
            opened[word[1]] = day
        elif word[0] == "balance":
            account, rest = word[1].split("  ", 1)
            balances.append((day, account, *_amount(rest)))
        else:
            assert word[0] == "*" and word[1].startswith('"'), line
            txns.append(Txn(day))
    return txns, balances, opened, in_day


def beancount_checks(txns: list[Txn], balances: list[tuple[dt.date, str, Decimal, str]],
                     opened: dict[str, dt.date]) -> list[tuple[dt.date, str, Decimal, str,
                                                               Decimal]]:
    """A ``balance`` holds at the start of its date: every posting dated before it."""
    for t in txns:
        for acct, _, _ in t.postings:
            assert opened[acct] <= t.date, acct
    out = []
    for day, acct, fig, com in balances:
        assert opened[acct] <= day
        got = sum((n for t in txns if t.date < day for a, n, c in t.postings
                   if (a, c) == (acct, com)), D(0))
        out.append((day, acct, fig, com, got))
    return out


def converted(lines: list[str]) -> tuple[str, str, dict[str, peers.IssuerNames]]:
    names: dict[str, peers.IssuerNames] = {}
    items = peers.entries(lines, names)
    j, b = io.StringIO(), io.StringIO()
    peers.write_journal(items, j)
    peers.write_beancount(items, b)
    return j.getvalue(), b.getvalue(), names


def final_sums(txns: list[Txn]) -> dict[Key, Decimal]:
    sums: dict[Key, Decimal] = defaultdict(Decimal)
    for t in txns:
        for acct, num, com in t.postings:
            sums[acct, com] += num
    return dict(sums)


# -- the nStor history ------------------------------------------------------------------

# Every BalanceAsserted of fixtures/nstor/history.jsonl (no issuer field: "default"), as
# the journal must assert it: a holder's figure on the holder's account; a series (or
# common) total on Outstanding, as the credit balance -N.
NSTOR_ASSERTIONS = [
    ("2001-12-31", "Equity:Default:Outstanding", D(-1500), "G"),
    ("2001-12-31", "Equity:Default:Holders:Elm-Street-Ventures", D(1300), "H"),
    ("2001-12-31", "Equity:Default:Outstanding", D(-6000), "K"),
    ("2003-04-15", "Equity:Default:Outstanding", D(-31000000), "COMMON"),
    ("2003-06-30", "Equity:Default:Outstanding", D(0), "K"),
    ("2004-03-15", "Equity:Default:Holders:Dogwood-Fund", D(1200), "H"),
    ("2005-12-31", "Equity:Default:Outstanding", D(-3500), "H"),
    ("2005-12-31", "Equity:Default:Outstanding", D(-5000), "M"),
]


def test_nstor_assertions_hold_in_both_files() -> None:
    journal, bean, _ = converted(HISTORY.read_text().splitlines())
    txns = read_journal(journal)
    assert len(txns) == 76  # one transaction per event
    checks = journal_checks(txns)
    assert [(d.isoformat(), a, f, c) for d, a, f, c, _ in checks] == NSTOR_ASSERTIONS
    for _, acct, fig, com, got in checks:
        assert got == fig, (acct, com)
    btx, balances, opened, in_day = read_beancount(bean)
    assert len(btx) == 76 and in_day == 0
    # Beancount: the same figures, each dated the day after (its end of day) or, when
    # nothing earlier that day moves the balance, on the day itself
    assert [(a, f, c) for _, a, f, c in balances] == [x[1:] for x in NSTOR_ASSERTIONS]
    for (day, acct, fig, com, got), (when, *_) in zip(
            beancount_checks(btx, balances, opened), NSTOR_ASSERTIONS, strict=True):
        assert got == fig, (acct, com)
        assert day in (dt.date.fromisoformat(when), dt.date.fromisoformat(when) + dt.timedelta(1))


def test_nstor_automatic_k_conversion_uses_the_ledgers_effects() -> None:
    journal, _, _ = converted(HISTORY.read_text().splitlines())
    txns = read_journal(journal)
    approval = next(t for t in txns if t.date == dt.date(2003, 6, 30) and t.postings)
    got = [(a, n, c) for a, n, c in approval.postings if not a.endswith("Outstanding")]
    # Series K §5(a): on the approval every K share converts at $1,000 / $0.23:
    # Fir 6,000 × 1,000 / 0.23 = 26,086,956.52… -> 26,086,956 whole common shares;
    # Grove 4,000 × 1,000 / 0.23 = 17,391,304.34… -> 17,391,304
    fir = (D(6000) * 1000 / D("0.23")).to_integral_value(ROUND_FLOOR)
    grove = (D(4000) * 1000 / D("0.23")).to_integral_value(ROUND_FLOOR)
    assert (fir, grove) == (26_086_956, 17_391_304)
    assert got == [("Equity:Default:Holders:Fir-Holdings", D(-6000), "K"),
                   ("Equity:Default:Common", fir, "COMMON"),
                   ("Equity:Default:Holders:Grove-Opportunity-Fund", D(-4000), "K"),
                   ("Equity:Default:Common", grove, "COMMON")]
    sums: dict[Key, Decimal] = defaultdict(Decimal)
    for t in txns:
        if t.date > dt.date(2003, 6, 30):
            break
        for a, n, c in t.postings:
            sums[a, c] += n
    # common outstanding at the end of 2003-06-30: 30,000,000 opening + 1,000,000 sold on
    # 2003-04-15 + 26,086,956 + 17,391,304 from K = 74,478,260
    assert sums["Equity:Default:Common", "COMMON"] == 74_478_260
    assert sums["Equity:Default:Outstanding", "COMMON"] == -74_478_260
    assert sums["Equity:Default:Holders:Fir-Holdings", "K"] == 0


# -- a generated history ------------------------------------------------------------------

def _expected(row: dict[str, Any]) -> tuple[str, Decimal, str]:
    """The account, figure and commodity a row's assertion must have, by the naming rule
    written out by hand for the generator's plain names ("Alder Capital LP 0001" ->
    "Alder-Capital-LP-0001", "issuer-0000" -> "Issuer-0000", "common" -> "COMMON")."""
    root = "Equity:" + row["issuer"][0].upper() + row["issuer"][1:]
    com = "COMMON" if row["series"] == "common" else row["series"]
    if "holder" in row:
        return f"{root}:Holders:{row['holder'].replace(' ', '-')}", D(row["shares"]), com
    return f"{root}:Outstanding", -D(row["shares"]), com


def test_generated_history_assertions_hold(tmp_path: Path) -> None:
    path = generate.write(tmp_path / "h.jsonl", 3000, seed=5)
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    kinds = {r["type"] for r in rows}
    assert {"SharesConverted", "SharesRedeemed", "RedemptionNoticed"} <= kinds
    journal, bean, _ = converted(path.read_text().splitlines())
    txns = read_journal(journal)
    assert len(txns) == 3000
    # the history's tie-outs in the order prefledger applies them (date, then file order)
    tied = sorted((r for r in rows if r["type"] == "BalanceAsserted"),
                  key=lambda r: r["effective_date"])
    want = [(dt.date.fromisoformat(r["effective_date"]), *_expected(r)) for r in tied]
    checks = journal_checks(txns)
    assert len(checks) == len(tied) > 20
    assert [c[:4] for c in checks] == want
    for _, acct, fig, com, got in checks:
        assert got == fig, (acct, com)
    btx, balances, opened, in_day = read_beancount(bean)
    assert len(btx) == 3000
    assert len(balances) + in_day == len(tied)
    for _, acct, fig, com, got in beancount_checks(btx, balances, opened):
        assert got == fig, (acct, com)
    # conversions took shares out of the holders' accounts and put common in: Outstanding
    # mirrors every holder account and the common pool, commodity by commodity
    sums = final_sums(txns)
    for com in {c for _, c in sums}:
        for root in {a.rsplit(":Holders:", 1)[0] for a, c in sums if ":Holders:" in a}:
            held = sum((n for (a, c), n in sums.items() if c == com and (
                a.startswith(root + ":Holders:") or a == root + ":Common")), D(0))
            assert sums.get((root + ":Outstanding", com), D(0)) == -held


# -- splits, short funds, liquidation, names ----------------------------------------------

def _ev(type_: str, date: str, issuer: str, **fields: Any) -> str:
    return json.dumps({"type": type_, "effective_date": date, "issuer": issuer, **fields})


ACME, SECOND = "Acme & Co.", "Second"
SMALL = [
    _ev("SeriesDesignated", "2000-12-28", ACME, series="G", terms_ref="nstor/G"),
    _ev("CommonStockIssued", "2000-12-28", ACME, shares="1000000", kind="opening"),
    _ev("SharesIssued", "2000-12-28", ACME, series="G", holder="Oak Fund", shares="600"),
    _ev("SharesIssued", "2000-12-28", ACME, series="G", holder="Oak-Fund", shares="400"),
    _ev("SeriesDesignated", "2001-04-12", ACME, series="H", terms_ref="nstor/H"),
    _ev("SharesIssued", "2001-04-20", ACME, series="H", holder="Oak Fund", shares="1000"),
    _ev("SharesConverted", "2001-05-01", ACME, series="H", holder="Oak Fund", shares="300"),
    _ev("BalanceAsserted", "2001-05-01", ACME, series="H", holder="Oak Fund", shares="700"),
    _ev("BalanceAsserted", "2001-05-01", ACME, series="common", shares="1416667"),
    _ev("CommonStockSplit", "2001-06-01", ACME, ratio="2", id="split"),
    _ev("BalanceAsserted", "2001-06-01", ACME, series="common", shares="2833334"),
    _ev("Liquidation", "2001-07-02", ACME, proceeds="1000000.00"),
    _ev("SeriesDesignated", "2005-01-10", SECOND, series="M", terms_ref="nstor/M"),
    _ev("SharesIssued", "2005-02-01", SECOND, series="M", holder="Alder", shares="3000"),
    _ev("RedemptionNoticed", "2005-06-01", SECOND, series="M", redemption_date="2005-06-16",
        holders={"Alder": "3000"}),
    _ev("SharesRedeemed", "2005-06-16", SECOND, series="M", holder="Alder", shares="3000",
        funds_available="1000000.00", id="short"),
    _ev("BalanceAsserted", "2005-06-16", SECOND, series="M", holder="Alder", shares="2019"),
    _ev("BalanceAsserted", "2005-06-16", SECOND, series="M", shares="2019"),
]


def test_split_short_funds_and_liquidation_follow_the_ledger() -> None:
    journal, bean, names = converted(SMALL)
    txns = read_journal(journal)
    for _, acct, fig, com, got in journal_checks(txns):
        assert got == fig, (acct, com)
    btx, balances, opened, _ = read_beancount(bean)
    assert len(balances) == 5
    for _, acct, fig, com, got in beancount_checks(btx, balances, opened):
        assert got == fig, (acct, com)
    # names: "Acme & Co." -> Acme-Co; "Oak Fund" and "Oak-Fund" stay two accounts
    oak, oak2 = names[ACME].holder("Oak Fund"), names[ACME].holder("Oak-Fund")
    assert oak == "Equity:Acme-Co:Holders:Oak-Fund"
    assert oak2.startswith("Equity:Acme-Co:Holders:Oak-Fund-") and oak2 != oak
    split = next(t for t in txns if t.date == dt.date(2001, 6, 1) and t.postings)
    # H §5: 300 × 1,388.89 = 416,667.00 common; 1,000,000 + 416,667 = 1,416,667; the split
    # of 2 new shares per old doubles it: 2,833,334, so the split posts +1,416,667
    assert D(300) * D("1388.89") == 416_667
    assert split.postings == [("Equity:Acme-Co:Common", D(1_416_667), "COMMON"),
                              ("Equity:Acme-Co:Outstanding", D(-1_416_667), "COMMON")]
    # M §6(b): price 1,018.75 a share (test_redemption's arithmetic); floor(1,000,000 /
    # 1,018.75) = 981 redeemed of 3,000, paid 981 × 1,018.75 = 999,393.75
    red = next(t for t in txns if t.date == dt.date(2005, 6, 16) and t.postings)
    assert (D(1_000_000) / D("1018.75")).to_integral_value(ROUND_FLOOR) == 981
    assert red.postings == [("Equity:Second:Holders:Alder", D(-981), "M"),
                            ("Equity:Second:Outstanding", D(981), "M"),
                            ("Equity:Second:Redemptions", D("999393.75"), "USD"),
                            ("Assets:Second:Cash", D("-999393.75"), "USD")]
    # the liquidation extinguishes every share of Acme: 600 + 400 G, 700 H, the common
    sums = final_sums(txns)
    liq = next(t for t in txns if t.date == dt.date(2001, 7, 2))
    assert sorted((a, n, c) for a, n, c in liq.postings if not a.endswith("Outstanding")) == [
        ("Equity:Acme-Co:Common", D(-2_833_334), "COMMON"),
        (oak, D(-700), "H"), (oak, D(-600), "G"), (oak2, D(-400), "G")]
    assert all(n == 0 for (a, c), n in sums.items() if a.startswith("Equity:Acme-Co:"))


def test_a_history_prefledger_rejects_is_not_converted() -> None:
    bad = SMALL[:4] + [_ev("SharesTransferred", "2001-01-02", ACME, series="G",
                           from_holder="Oak-Fund", to_holder="Elm", shares="401", id="t1")]
    with pytest.raises(ValueError, match="SharesTransferred id=t1.*401"):
        peers.entries(bad)


def test_names_are_legal_for_every_tool() -> None:
    assert peers.account_part("issuer-0000") == "Issuer-0000"
    assert peers.account_part("Ötzi & Söhne, Inc.") == "Otzi-Sohne-Inc"
    assert peers.account_part("  ").startswith("X-")
    assert peers.account_part("3M Company") == "3M-Company"
    assert peers.commodity_name("common") == "COMMON"
    assert peers.commodity_name("g") == "G"
    assert peers.commodity_name("Series A-1") == "SERIES-A-1"
    assert peers.commodity_name("1") == "S1"
    long = peers.commodity_name("Convertible Participating Preferred")
    assert len(long) <= 24 and long[0].isalpha() and long[-1].isalnum()
    # a series that sanitises to a reserved commodity gets its own
    n = peers.IssuerNames("x", peers.Names())
    assert n.commodity("usd") != "USD" and n.commodity("Common") != "COMMON"
    assert n.commodity("usd") == n.commodity("usd")
