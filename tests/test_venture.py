"""The illustrative venture company of ``fixtures/venture/`` (SPEC.md §12): Series Seed,
A and B with a liquidation multiple, capped participation, broad-based weighted-average
anti-dilution, a down round and conversion on a qualified IPO.

Every figure is hand arithmetic from the history (ids quoted), written in the test. The
rules run on the pure core (``tests/ledgers.py``); ``export-ocf`` runs on both stores.
"""

from __future__ import annotations

import json
from decimal import ROUND_FLOOR, Context, Decimal

from tests.conftest import REPO
from tests.ledgers import book

D = Decimal
P40 = Context(prec=40)
CENT = D("0.01")
VENTURE = REPO / "fixtures" / "venture" / "history.jsonl"


def plain(d: Decimal) -> str:
    if d == d.to_integral_value():
        return f"{d.quantize(D(1), context=P40):f}"
    return f"{d.normalize(context=P40):f}"


# lark-0002 8,000,000 founders' common + lark-0008 400,000 option exercises (exempt)
COMMON = D(8_400_000)
# just before lark-0010 (5,000,000 B at $0.80 = $4,000,000; C = 5,000,000 × 1):
# A = 8,400,000 common + Seed 2,000,000 × 1 + A 2,500,000 × 1 = 12,900,000 (broad based)
A_BROAD = D(12_900_000)
# Seed CP $1.00: B = 4,000,000 / 1.00; CP' = 1.00 × (12.9M + 4M) / (12.9M + 5M)
SEED_CP = P40.divide(P40.multiply(D(1), D(16_900_000)), D(17_900_000))
SEED_RATE = P40.divide(D(1), SEED_CP)
# A CP $2.00: B = 4,000,000 / 2.00 = 2,000,000; CP' = 2 × 14,900,000 / 17,900,000
A_CP = P40.divide(P40.multiply(D(2), D(14_900_000)), D(17_900_000))
A_RATE = P40.divide(D(2), A_CP)


def _floor_lr(total: Decimal, exact: dict[str, Decimal], held: set[str]) -> dict[str, Decimal]:
    """SPEC.md §11: floor each to the cent, leftover cents by largest remainder (ties to
    the name first); a holder held at its cap takes none (SPEC.md §12)."""
    parts = {k: v.quantize(CENT, rounding=ROUND_FLOOR) for k, v in exact.items()}
    left = int((total - sum(parts.values())) / CENT)
    for k in sorted((k for k in parts if k not in held),
                    key=lambda k: (-(exact[k] - parts[k]), k))[:left]:
        parts[k] += CENT
    return parts


def test_history_is_illustrative_and_cited():
    lines = [json.loads(x) for x in VENTURE.read_text().splitlines() if x.strip()]
    assert all("illustrative" in e["source"] for e in lines)
    for name in ("Seed", "A", "B"):
        t = json.loads((REPO / "fixtures" / "venture" / f"{name}.json").read_text())
        assert set(t["citations"]) == set(t) - {"citations"}
        assert all(c.startswith("illustrative") for c in t["citations"].values())
    assert "illustrative" in (REPO / "fixtures" / "venture" / "README.md").read_text()


def test_down_round_adjusts_seed_and_a():
    """lark-0010 at $0.80 is below Seed's $1.00 and A's $2.00: both adjust, broad based."""
    venture = book(VENTURE)
    assert round(SEED_CP, 6) == D("0.944134") and round(A_CP, 6) == D("1.664804")
    for series, b, cp in (("Seed", "4000000", SEED_CP), ("A", "2000000", A_CP)):
        rep = venture.conversions(series, "2022-12-31")
        (adj,) = rep["adjustments"]
        assert (adj["method"], adj["A"], adj["B"], adj["C"], adj["price_per_common"]) == (
            "broad_weighted", plain(A_BROAD), b, "5000000", "0.8")
        assert adj["conversion_price_after"] == plain(cp)
    # B's own issuance never adjusts B
    assert venture.conversions("B", "2022-12-31")["adjustments"] == []
    pos = venture.position("2022-12-31")
    rows = {s["series"]: s for s in pos["series"]}
    assert (rows["Seed"]["conversion_price"], rows["A"]["conversion_price"],
            rows["B"]["conversion_price"]) == (plain(SEED_CP), plain(A_CP), "0.8")
    # preferences: B 5,000,000 × $0.80; A 1.5 × 2,500,000 × $2.00; Seed 2,000,000 × $1.00
    assert (rows["B"]["liquidation_preference"], rows["A"]["liquidation_preference"],
            rows["Seed"]["liquidation_preference"]) == ("4000000.00", "7500000.00",
                                                        "2000000.00")


def test_declared_dividends_are_owed_only_once_declared():
    """Non-cumulative 8% (``cumulative: false``): nothing accrues; lark-0014 declares
    $0.064 on B (record 2022-06-30, payable 2022-07-15), lark-0016 $0.16 on A (record
    2022-11-30, payable 2022-12-15); both are paid on their payment dates."""
    venture = book(VENTURE)

    def row(day: str, series: str) -> dict[str, object]:
        return {s["series"]: s for s in venture.position(day)["series"]}[series]

    # before the record date nothing is owed, though B has been outstanding for a year
    assert (row("2022-06-29", "B")["accrued_unpaid"], row("2022-06-29", "B")["arrears"],
            row("2022-06-29", "B")["declared_unpaid"]) == ("0.00", "0.00", "0.00")
    # from the end of the record date: 5,000,000 × $0.064 = $320,000.00, not yet due
    b = row("2022-07-14", "B")
    assert (b["accrued_unpaid"], b["arrears"], b["declared_unpaid"]) == (
        "320000.00", "0.00", "320000.00")
    assert b["missed_streak"] is None and b["dividend_rate"] == "0.08"
    # A: Redwood 2,000,000 × $0.16 = $320,000.00, Quarry 500,000 × $0.16 = $80,000.00
    holders = venture.holders("2022-12-14")
    assert (holders["Redwood Ventures III LP", "A"]["accrued_unpaid"],
            holders["Quarry Seed Fund", "A"]["accrued_unpaid"]) == ("320000.00", "80000.00")
    # paid in full on the payment dates; Seed, never declared, owes nothing at any time
    for day in ("2022-07-15", "2022-12-31"):
        for series in ("A", "B", "Seed"):
            r = row(day, series)
            assert (r["accrued_unpaid"], r["arrears"]) == ("0.00", "0.00"), (day, series)


def test_waterfall_with_the_a_cap_binding():
    """$60,000,000 as of 2022-12-31, order B > A > Seed > common. B and Seed convert; A
    keeps its 1.5× preference ($7,500,000) and participates as 2,500,000 × its rate;
    uncapped it would take more than its room 3 × $5,000,000 − $7,500,000 = $7,500,000,
    so it stops there and the other $45,000,000 is shared by common 8,400,000, B
    5,000,000 and Seed 2,000,000 × its rate."""
    rep = book(VENTURE).waterfall("2022-12-31", "60000000")
    series = {s["series"]: s for s in rep["series"]}
    assert [series[n]["status"] for n in ("B", "A", "Seed")] == ["converted", "participated",
                                                                 "converted"]
    assert series["A"]["cap_bound"] is True
    seed_w = {"Juniper Angels LP": D(1_000_000), "Linden Family Trust": D(200_000),
              "Quarry Seed Fund": D(800_000)}
    # as converted per holder (SPEC.md §11), added up
    shares = COMMON + 5_000_000
    for n in seed_w.values():
        shares = P40.add(shares, P40.multiply(n, SEED_RATE))
    a_part = P40.add(P40.multiply(D(500_000), A_RATE), P40.multiply(D(2_000_000), A_RATE))
    # uncapped: 52,500,000 / (shares + A's) a share; A's part would be above 7,500,000
    assert P40.divide(D(52_500_000), shares + a_part) * a_part > 7_500_000
    level = P40.divide(D(45_000_000), shares)
    exact = {"common": level * COMMON, "B:Summit Growth Partners": level * 5_000_000,
             "A:Quarry Seed Fund": D(1_500_000), "A:Redwood Ventures III LP": D(6_000_000)}
    exact.update({f"Seed:{h}": level * n * SEED_RATE for h, n in seed_w.items()})
    parts = _floor_lr(D(52_500_000), exact, {"A:Quarry Seed Fund",
                                             "A:Redwood Ventures III LP"})
    got = {f"{h['series']}:{h['holder']}": D(h["from_common"]) for h in rep["holders"]
           if h["series"] != "common"}
    assert got == {k: v for k, v in parts.items() if k != "common"}
    assert D(rep["common"]["outstanding_received"]) == parts["common"]
    assert rep["common"]["per_share"] == plain(level)
    assert series["A"]["received"] == "15000000.00"  # 7,500,000 + 7,500,000 = 3 × 5,000,000
    # A converting instead: 60,000,000 × a_part / (shares + a_part) = 9,729,201.584…,
    # less than 15,000,000 (its two holders' parts, each floored or raised to the cent)
    converting = D(60_000_000) * a_part / (shares + a_part)
    assert round(converting, 3) == D("9729201.584")
    assert abs(D(series["A"]["value_converted"]) - converting) <= 2 * CENT


def test_ipo_converts_every_series_then_sells():
    """lark-0013: 6,000,000 at $12.00 = $72,000,000 ≥ $50,000,000, $12.00 ≥ $10.00: Seed,
    A and B convert at their adjusted rates (fractions in cash at $12.00), then the
    6,000,000 offered are issued; $12.00 is above every CP, so nothing adjusts."""
    venture = book(VENTURE)
    held = {"Seed": {"Juniper Angels LP": 1_000_000, "Linden Family Trust": 200_000,
                     "Quarry Seed Fund": 800_000},
            "A": {"Quarry Seed Fund": 500_000, "Redwood Ventures III LP": 2_000_000},
            "B": {"Summit Growth Partners": 5_000_000}}
    rates = {"Seed": SEED_RATE, "A": A_RATE, "B": D(1)}
    issued = D(0)
    for series, holders in held.items():
        rep = venture.conversions(series)
        assert rep["converted_on"] == "2023-05-10"
        assert len(rep["adjustments"]) == (0 if series == "B" else 1)
        got = {c["holder"]: (c["common"], c["cash_in_lieu"]) for c in rep["conversions"]}
        want = {}
        for h, n in holders.items():
            exact = P40.multiply(D(n), rates[series])
            whole = exact.to_integral_value(rounding=ROUND_FLOOR)
            frac = exact - whole
            cash = (frac * 12).quantize(CENT) if frac else None
            want[h] = (str(whole), None if cash is None else f"{cash:.2f}")
            issued += whole
        assert got == want
    # Seed 1,059,171 + 211,834 + 847,337; A 600,671 + 2,402,684; B 5,000,000
    assert issued == 2_118_342 + 3_003_355 + 5_000_000
    pos = venture.position("2023-05-10")
    assert pos["common_outstanding"] == str(COMMON + issued + 6_000_000) == "24521697"
    assert all(s["outstanding"] == "0" for s in pos["series"])


def test_open_cap_format_carries_multiple_and_cap(cli, tmp_path):
    """``export-ocf``: A's 1.5× preference and 3× cap; Seed and B 1×, no cap."""
    assert cli("load", str(VENTURE)).exit_code == 0
    out = tmp_path / "ocf"
    assert cli("export-ocf", "--as-of", "2022-12-31", "--to", str(out)).exit_code == 0
    items = json.loads((out / "StockClasses.ocf.json").read_text())["items"]
    got = {o["id"]: (o.get("liquidation_preference_multiple"),
                     o.get("participation_cap_multiple")) for o in items}
    assert got == {"stock-class-common": (None, None), "stock-class-Seed": ("1", None),
                   "stock-class-A": ("1.5", "3"), "stock-class-B": ("1", None)}
