"""The liquidation waterfall (SPEC.md §8, §9, §11 Waterfall) and seniority.

Expected figures are hand arithmetic written in each test: claims from the share counts
and dividend arithmetic of the input (fixtures/nstor/history.jsonl, quoted by event id),
pro-rata splits by ``_floor_lr`` below (an independent ten-line reading of SPEC.md §11:
floor to the cent, leftover cents by largest remainder, ties to the name first).
The rules run on the pure core (``tests/ledgers.py``); the ``waterfall`` command, the
Python API and every refusal through ``prefledger load`` run on both stores.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import seniority
from ledger.problems import Rejected
from ledger.state import IssuerState
from ledger.waterfall import distribute
from tests.conftest import HISTORY
from tests.ledgers import book, by_stored, refusal, refuse

D = Decimal
CENT = D("0.01")


def _floor_lr(total: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """SPEC.md §11: floor each pro-rata part to the cent; leftover cents one each by
    largest remainder, ties to the name first in sort order."""
    wsum = sum(weights.values())
    exact = {k: total * w / wsum for k, w in weights.items()}
    parts = {k: v.quantize(CENT, rounding=ROUND_FLOOR) for k, v in exact.items()}
    left = int((total - sum(parts.values())) / CENT)
    for k in sorted(parts, key=lambda k: (-(exact[k] - parts[k]), k))[:left]:
        parts[k] += CENT
    return parts


def _m(x: Decimal) -> Decimal:
    return x.quantize(CENT)


def _state(events: list[dict[str, Any]], as_of: str) -> IssuerState:
    return book(events).state(as_of)


def _by_holder(rep: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    return {(h["holder"], h["series"]): D(h["received"]) for h in rep["holders"]}


def _series(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["series"]: s for s in rep["series"]}


def _pays_everything(rep: dict[str, Any]) -> None:
    """Every cent to a holder line (SPEC.md §11); the common holders' lines add up to
    the common line (§13), which has no holder line only when no common is held."""
    common = [D(h["received"]) for h in rep["holders"] if h["series"] == "common"]
    total = sum(_by_holder(rep).values())
    if common:
        assert sum(common) == D(rep["common"]["outstanding_received"])
    else:
        total += D(rep["common"]["outstanding_received"])
    assert total == D(rep["proceeds"])


DESIGNATE = [
    {"type": "SeriesDesignated", "effective_date": d, "series": s, "terms_ref": f"nstor/{s}"}
    for s, d in (("G", "2000-12-28"), ("H", "2001-04-12"), ("K", "2001-11-19"),
                 ("M", "2005-01-10"))]

# -- the nStor claims by hand ------------------------------------------------------------
# 2001-12-31 (events nstor-0001 .. nstor-0020):
# Series H (Series H §2, 10%, periods from Mar/Jun/Sep/Dec 10, 30/360):
#   due 2001-06-10: Dogwood 2000 from 04-20 (50 days) + Alder 1000 from 05-15 (25 days)
#   due 2001-09-10: 3000 shares x 90 days + Elm 800 from 08-01 (39 days)
#   due 2001-12-10: 3800 shares x 90 days (the 500 moved on 10-15 keep accruing)
#   open 2001-12-10 -> 2002-01-01: 21 days, per holder Alder 1000 / Dogwood 1500 / Elm 1300
#   paid 30,000 (nstor-0010) and 80,000 (nstor-0014)
H_DUE = (_m(D(2000 * 100 * 50) / 360) + _m(D(1000 * 100 * 25) / 360)
         + D(3000 * 100 * 90) / 360 + _m(D(800 * 100 * 39) / 360)
         + D(3800 * 100 * 90) / 360)
H_OPEN = _m(D(1000 * 100 * 21) / 360) + _m(D(1500 * 100 * 21) / 360) + _m(D(1300 * 100 * 21)
                                                                          / 360)
H_CLAIM_2001 = 3800 * 1000 + H_DUE - 30_000 - 80_000 + H_OPEN
# Series G (Series G §2, 10%, calendar quarters, paid the 10th day after):
#   due 2001-04-10: Alder 600 + Birch 400 from 2000-12-28 (93 days), Cedar 500 from 02-15
#   (46 days); due 07-10: 1500 x 90 days; two misses (04-10, 07-10) -> 11% from 07-11
#   (Series G §2(b)); due 10-10: 10 days at 10% + 80 days at 11% (per holder 600/300/600);
#   open 10-01 -> 2002-01-01: 90 days at 11%; paid 30,000 (nstor-0006), 35,000 (0011)
G_DUE = (_m(D(600 * 100 * 93) / 360) + _m(D(400 * 100 * 93) / 360)
         + _m(D(500 * 100 * 46) / 360) + D(1500 * 100 * 90) / 360
         + sum(_m(D(n * 1000) * (D("0.10") * 10 + D("0.11") * 80) / 360)
               for n in (600, 300, 600)))
G_OPEN = D(1500 * 1000) * D("0.11") * 90 / 360
G_CLAIM_2001 = 1500 * 1000 + G_DUE - 30_000 - 35_000 + G_OPEN
K_CLAIM_2001 = D(6000 * 1000)  # Fir Holdings (nstor-0017); K: stated value only (K §3(a))
# H as converted, 2001-12-31: 1,388.89 common per share (H §5(b)), no adjustment yet
H_COMMON_2001 = {"Alder Capital LP": 1000 * D("1388.89"), "Dogwood Fund": 1500 * D("1388.89"),
                 "Elm Street Ventures": 1300 * D("1388.89")}
COMMON_2001 = D(30_000_000)  # nstor-0002

# 2005-12-31 Series M (5%, calendar quarters, paid on the boundary, first issue 2005-02-01,
# nstor-0035/0036, nothing paid): due 04-01 (60 days), 07-01 and 10-01 (90 days each), open
# 10-01 -> 2006-01-01 (90 days)
M_ALDER_2005 = 3000 * 1000 + sum(_m(D(3000 * 50) * d / 360) for d in (60, 90, 90, 90))
M_HAWTHORN_2005 = 2000 * 1000 + sum(_m(D(2000 * 50) * d / 360) for d in (60, 90, 90, 90))


def test_hand_claims_match_the_position_report():
    """The hand claims above are the position's liquidation_preference (SPEC.md §11)."""
    fixture = book(HISTORY)
    pos = _series(fixture.position("2001-12-31"))
    assert H_CLAIM_2001 == D("3925555.55") == D(pos["H"]["liquidation_preference"])
    assert G_CLAIM_2001 == D("1586805.55") == D(pos["G"]["liquidation_preference"])
    assert M_ALDER_2005 + M_HAWTHORN_2005 == D("5229166.67")
    pos = _series(fixture.position("2005-12-31"))
    assert D(pos["M"]["liquidation_preference"]) == M_ALDER_2005 + M_HAWTHORN_2005


# -- seniority ----------------------------------------------------------------------------

def test_default_order_is_the_later_certificate_governs():
    """SPEC.md §8 Reading: M > H > K > G > common, derived from the claims as data."""
    st_ = _state(DESIGNATE, "2005-12-31")
    assert seniority.default_order(st_) == (("M",), ("H",), ("K",), ("G",))
    assert seniority.order_text(seniority.resolve(st_)) == "M > H > K > G > common"
    # before M exists: H > K > G (K §3(a): after H, ahead of G)
    st_ = _state(DESIGNATE[:3], "2002-01-01")
    assert seniority.default_order(st_) == (("H",), ("K",), ("G",))


def test_every_conflicting_pair_of_claims_with_certificate_sections():
    st_ = _state(DESIGNATE, "2005-12-31")
    found = seniority.conflicts(st_)
    pairs = sorted((c.pair, c.sections) for c in found)
    assert pairs == sorted([
        # G §3(a) senior to every later series vs each later certificate
        (("G", "H"), ("Series G §3(a)", "Series H §3(a), §3(e)(i)(b)")),
        (("G", "K"), ("Series G §3(a)", "Series K §3(a)")),
        (("G", "K"), ("Series G §3(a)", "Series K §3(b)")),
        (("G", "M"), ("Series G §3(a)", "Series M §3(a)")),
        # K §3(b) ratable with the other preferred when short vs K §3(a) and M §3(a)
        (("G", "K"), ("Series K §3(a)", "Series K §3(b)")),
        (("H", "K"), ("Series K §3(a)", "Series K §3(b)")),
        (("K", "M"), ("Series K §3(b)", "Series M §3(a)")),
    ])
    gh = next(c for c in found if c.pair == ("G", "H"))
    text = str(gh)
    assert "Series G §3(a)" in text and "Series H §3(a), §3(e)(i)(b)" in text
    assert "ranks H above G" in text and "M > H > K > G > common" in text
    assert gh.follows == ("Series H §3(a), §3(e)(i)(b)",)
    # K's "Notwithstanding ... Series H" (§3(a)) overrides its general claim over H: no
    # conflict between K §3(a) and itself
    assert all(c.sections[0] != c.sections[1] for c in found)
    # under an issuer order that follows G, the G/H finding says so
    gh2 = next(c for c in seniority.conflicts(st_, "M,G,H,K") if c.pair == ("G", "H"))
    assert gh2.follows == ("Series G §3(a)",) and "ranks G above H" in str(gh2)


def test_no_conflict_without_competing_claims():
    st_ = _state(DESIGNATE[:1], "2001-01-01")
    assert seniority.conflicts(st_) == []


@pytest.mark.parametrize("text,words", [
    ("M,H,K", "leaves out designated series G"),
    ("M,H,K,G,X", "unknown series 'X'"),
    ("M,H,K,H,G", "'H' appears twice"),
    ("common,M,H,K,G", "common ranks last"),
    ("M,,H,K,G", "empty tier"),
])
def test_bad_issuer_orders(text, words):
    st_ = _state(DESIGNATE, "2005-12-31")
    with pytest.raises(seniority.OrderError, match=words):
        seniority.resolve(st_, text)


def test_issuer_order_with_a_shared_tier():
    st_ = _state(DESIGNATE, "2005-12-31")
    assert seniority.resolve(st_, "M > H+K > G > common") == (("M",), ("H", "K"), ("G",))


# -- the waterfall on the nStor history ----------------------------------------------------

def test_proceeds_below_m_claim():
    """2005-12-31, 3,000,000 < M's 5,229,166.67: all to M pro rata (M §3(a), §3(b))."""
    fixture = book(HISTORY)
    rep = fixture.waterfall("2005-12-31", "3000000")
    assert rep["order"] == "M > H > K > G > common"
    # H's and G's claims are the position's liquidation_preference (SPEC.md §11 Reports)
    pref = {k: v["liquidation_preference"]
            for k, v in _series(fixture.position("2005-12-31")).items()}
    assert [(t["series"], t["claim"], t["paid"]) for t in rep["tiers"]] == [
        (["M"], "5229166.67", "3000000.00"), (["H"], pref["H"], "0.00"),
        (["K"], "0.00", "0.00"), (["G"], pref["G"], "0.00")]
    # 3,000,000 x 3,137,500 / 5,229,166.67 = 1,799,999.9988..; x 2,091,666.67 / .. =
    # 1,200,000.0011..: floors leave one cent, to Alder's larger remainder
    assert M_ALDER_2005 == D("3137500.00")
    parts = _floor_lr(D(3_000_000), {"Alder Capital LP": M_ALDER_2005,
                                     "Hawthorn Partners": M_HAWTHORN_2005})
    assert parts == {"Alder Capital LP": D("1800000.00"), "Hawthorn Partners": D("1200000.00")}
    got = _by_holder(rep)
    assert got[("Alder Capital LP", "M")] == parts["Alder Capital LP"]
    assert got[("Hawthorn Partners", "M")] == parts["Hawthorn Partners"]
    assert all(v == 0 for k, v in got.items() if k[1] != "M")
    assert rep["common"]["received"] == "0.00"
    # M may not convert before 2006-02-01 (closing 2005-02-01 + 1 year, M §5(a))
    assert "2006-02-01" in _series(rep)["M"]["reason"] and not _series(rep)["M"]["converted"]
    _pays_everything(rep)


def test_proceeds_pay_m_and_part_of_h():
    """2005-12-31, 8,000,000: M in full, H gets the rest pro rata to its holders' claims."""
    fixture = book(HISTORY)
    pos = fixture.position("2005-12-31")
    h_claims = {h["holder"]: 1000 * D(h["shares"]) + D(h["accrued_unpaid"])
                + D(h["dividends_payable"]) for h in pos["holders"] if h["series"] == "H"}
    assert sum(h_claims.values()) == D("5090722.22")
    rep = fixture.waterfall("2005-12-31", "8000000.00")
    left = D(8_000_000) - (M_ALDER_2005 + M_HAWTHORN_2005)
    assert left == D("2770833.33")
    got = _by_holder(rep)
    assert got[("Alder Capital LP", "M")] == M_ALDER_2005
    assert got[("Hawthorn Partners", "M")] == M_HAWTHORN_2005
    for holder, amount in _floor_lr(left, h_claims).items():
        assert got[(holder, "H")] == amount
    assert all(v == 0 for k, v in got.items() if k[1] == "G")
    # converting H would leave only its accrued 1,590,722.22 in tier 2 (1,590,305.55 +
    # Dogwood's 416.67 payable), and G (over 2 million) would absorb the rest: no conversion
    g_claim = D(_series(pos)["G"]["liquidation_preference"])
    assert 8_000_000 - (M_ALDER_2005 + M_HAWTHORN_2005) - D("1590722.22") < g_claim
    h = _series(rep)["H"]
    assert not h["converted"] and h["value_converted"] == "1590722.22"
    assert h["value_as_claim"] == "2770833.33" and "keeps its claim" in h["reason"]
    _pays_everything(rep)


@pytest.mark.parametrize("proceeds,h_paid,k_paid", [
    ("3000000", D(3_000_000), D(0)),            # H short: K waits (K §3(a))
    ("5000000", H_CLAIM_2001, 5_000_000 - H_CLAIM_2001),  # H in full, K gets the rest
])
def test_k_waits_until_h_is_paid_in_full(proceeds, h_paid, k_paid):
    fixture = book(HISTORY)
    rep = fixture.waterfall("2001-12-31", proceeds)
    assert rep["order"] == "H > K > G > common"
    paid = {t["series"][0]: D(t["paid"]) for t in rep["tiers"]}
    assert paid == {"H": h_paid, "K": k_paid, "G": 0}
    assert _by_holder(rep)[("Fir Holdings", "K")] == k_paid
    assert rep["common"]["received"] == "0.00"
    _pays_everything(rep)


def test_h_converts_when_its_common_share_beats_its_claim():
    """2001-12-31, 40,000,000: converting, H keeps its accrued 125,555.55 in tier 1 and
    its 5,277,782 as-converted shares share the remainder with 30,000,000 common."""
    fixture = book(HISTORY)
    rep = fixture.waterfall("2001-12-31", "40000000")
    h_accrued = H_CLAIM_2001 - 3800 * 1000
    remainder = 40_000_000 - h_accrued - K_CLAIM_2001 - G_CLAIM_2001
    assert remainder == D("32287638.90")
    shares = COMMON_2001 + sum(H_COMMON_2001.values())
    assert shares == 35_277_782
    h_value = h_accrued + remainder * sum(H_COMMON_2001.values()) / shares
    assert _m(h_value) == D("4955993.00") and h_value > H_CLAIM_2001  # 4.96M > 3.93M
    h = _series(rep)["H"]
    assert h["converted"] and h["value_converted"] == "4955993.00"
    assert h["value_as_claim"] == "3925555.55" and h["reason"].startswith("converts")
    assert rep["common"]["shares"] == "35277782"
    assert rep["common"]["received"] == "32287638.90"
    assert abs(D(rep["common"]["per_share"]) - remainder / shares) < D("1e-20")  # unrounded
    split = _floor_lr(remainder, {"common": COMMON_2001, **H_COMMON_2001})
    assert rep["common"]["outstanding_received"] == str(split["common"])
    pos = fixture.position("2001-12-31")
    accrued = {h["holder"]: D(h["accrued_unpaid"]) for h in pos["holders"] if h["series"] == "H"}
    got = _by_holder(rep)
    for holder in H_COMMON_2001:
        assert got[(holder, "H")] == accrued[holder] + split[holder]
    assert got[("Fir Holdings", "K")] == K_CLAIM_2001
    assert sum(v for k, v in got.items() if k[1] == "G") == G_CLAIM_2001
    assert any("Series H converts" in s for s in rep["steps"])
    _pays_everything(rep)


def test_h_keeps_its_claim_below_the_conversion_point():
    """2001-12-31, 30,000,000: H's common share would be 22,287,638.90 x 5,277,782 /
    35,277,782 = 3,334,41x < its 3,800,000 stated value: H keeps its claim."""
    fixture = book(HISTORY)
    rep = fixture.waterfall("2001-12-31", "30000000")
    h_accrued = H_CLAIM_2001 - 3800 * 1000
    would = (30_000_000 - h_accrued - K_CLAIM_2001 - G_CLAIM_2001) * sum(
        H_COMMON_2001.values()) / (COMMON_2001 + sum(H_COMMON_2001.values()))
    assert would < 3_800_000
    assert not _series(rep)["H"]["converted"]
    assert D(rep["common"]["received"]) == 30_000_000 - H_CLAIM_2001 - K_CLAIM_2001 - G_CLAIM_2001
    assert rep["common"]["shares"] == "30000000"
    _pays_everything(rep)


def test_m_and_h_both_convert_inside_m_window():
    """2006-03-31 (M's window opened 2006-02-01), 100,000,000: both convert; M keeps its
    accrued 291,666.67, H its 1,678,222.22 (with Dogwood's 416.67 payable)."""
    fixture = book(HISTORY)
    pos = fixture.position("2006-03-31")
    ps = _series(pos)
    h_rate = D(ps["H"]["conversion_rate"])  # after the 2003 anti-dilution adjustments
    m_acc = D(ps["M"]["accrued_unpaid"])
    # M: the 2005 accrual above (through 2005-12-31) + 2006-01-01 -> 04-01 (90 days):
    # Alder 3,000 x 1,000 x 5% x 90 / 360 = 37,500; Hawthorn 25,000
    assert m_acc == M_ALDER_2005 + M_HAWTHORN_2005 - 5_000_000 + 37_500 + 25_000
    h_acc = D(ps["H"]["accrued_unpaid"]) + D(ps["H"]["dividends_payable"])
    g_claim = D(ps["G"]["liquidation_preference"])
    rep = fixture.waterfall("2006-03-31", "100000000")
    remainder = 100_000_000 - m_acc - h_acc - g_claim
    assert rep["common"]["received"] == str(remainder)
    m_common, h_common = 5000 * D(4000), 3500 * h_rate
    shares = D(pos["common_outstanding"]) + m_common + h_common
    assert D(rep["common"]["shares"]) == shares
    s = _series(rep)
    assert s["M"]["converted"] and s["H"]["converted"] and not s["G"]["converted"]
    m_value = m_acc + remainder * m_common / shares
    assert m_value > D(ps["M"]["liquidation_preference"])   # ~18.8M > 5.29M
    assert abs(D(s["M"]["received"]) - m_value) < D("0.02")
    h_value = h_acc + remainder * h_common / shares
    assert abs(D(s["H"]["received"]) - h_value) < D("0.05")
    assert s["K"]["reason"].startswith("Series K converts only automatically")
    assert s["G"]["reason"] == "Series G is not convertible"
    _pays_everything(rep)


def test_issuer_order():
    """An order G,H,K,M puts G first (the issuer setting overrides the default)."""
    fixture = book(HISTORY)
    rep = fixture.waterfall("2005-12-31", "3000000", order="G,H,K,M")
    assert rep["order"] == "G > H > K > M > common"
    assert rep["order_source"] == "issuer setting"
    paid = {t["series"][0]: D(t["paid"]) for t in rep["tiers"]}
    g_claim = D(_series(fixture.position("2005-12-31"))["G"][
        "liquidation_preference"])
    assert g_claim < 3_000_000
    assert paid == {"G": g_claim, "H": 3_000_000 - g_claim, "K": 0, "M": 0}
    with pytest.raises(Rejected) as exc:
        fixture.waterfall("2005-12-31", "1", order="G,H")
    assert exc.value.field == "order" and "leaves out" in exc.value.message


def test_json_shape_of_spec_section_9():
    fixture = book(HISTORY)
    rep = fixture.waterfall("2005-12-31", "12345678.90")
    assert {"as_of", "proceeds", "tiers", "series", "common", "holders"} <= set(rep)
    assert rep["as_of"] == "2005-12-31" and rep["proceeds"] == "12345678.90"
    assert [t["series"] for t in rep["tiers"]] == [["M"], ["H"], ["K"], ["G"]]
    for t in rep["tiers"]:
        assert {"series", "claim", "paid"} <= set(t)
    for s in rep["series"]:
        assert {"series", "converted", "received"} <= set(s)
    assert {"shares", "received", "per_share"} <= set(rep["common"])
    for h in rep["holders"]:
        assert {"holder", "series", "received"} <= set(h)
        assert len(h["received"].split(".")[1]) == 2
    # every holder with a claim: K's holders converted in 2003 and are owed nothing
    assert ("Fir Holdings", "K") not in _by_holder(rep)
    assert len([h for h in rep["holders"] if h["series"] != "common"]) == 10
    # and each holder of common (SPEC.md §13): K's converters, Dogwood, the opening's
    assert [h["holder"] for h in rep["holders"] if h["series"] == "common"] == [
        "Dogwood Fund", "Fir Holdings", "Grove Opportunity Fund", None]
    _pays_everything(rep)


def test_waterfall_command(cli):
    """The command on both stores: the table, --json (what-if: recorded false), --order,
    bad input (exit 2), and nothing recorded."""
    assert cli("load", str(HISTORY)).exit_code == 0
    before = cli.spec.rows()
    r = cli("waterfall", "--as-of", "2001-12-31", "--proceeds", "40000000")
    assert r.exit_code == 0, r.output
    for word in ("H > K > G > common", "converts", "Fir Holdings", "common outstanding",
                 "40,000,000.00", "5,277,782"):
        assert word in r.stdout, word
    rep = cli.json("waterfall", "--as-of", "2005-12-31", "--proceeds", "3000000",
                   "--order", "G,H,K,M")
    assert (rep["issuer"], rep["as_recorded"], rep["recorded"]) == ("default", None, False)
    assert rep["order"] == "G > H > K > M > common"
    assert rep["order_source"] == "issuer setting"
    # G first: its whole claim (under 3,000,000; test_issuer_order), H the rest
    paid = {t["series"][0]: D(t["paid"]) for t in rep["tiers"]}
    assert paid["G"] + paid["H"] == 3_000_000 and paid["K"] == paid["M"] == 0
    r = cli("waterfall", "--as-of", "2005-12-31", "--proceeds", "1", "--order", "G,H")
    assert r.exit_code == 2 and "order" in r.stderr and "leaves out" in r.stderr
    for bad, words in (("1e6", "--proceeds"), ("100.001", "whole number of cents"),
                       ("-5", "must not be negative"), (" 5", "--proceeds")):
        r = cli("waterfall", "--as-of", "2001-12-31", "--proceeds", bad)
        assert r.exit_code == 2 and words in r.stderr, (bad, r.stderr)
    r = cli("waterfall", "--as-of", "2001-02-30", "--proceeds", "1")
    assert r.exit_code == 2 and "--as-of" in r.stderr
    # a what-if records nothing: every row of the store is as it was
    cli.json("waterfall", "--as-of", "2005-12-31", "--proceeds", "50000000")
    assert cli.spec.rows() == before


# -- former holders, ties, the Liquidation event --------------------------------------------

def test_former_holders_payable_is_a_claim_in_its_tier():
    """SPEC.md §11: a holder who converted every share keeps dividends_payable as a claim."""
    evs = DESIGNATE[:2] + [
        {"type": "CommonStockIssued", "effective_date": "2000-12-28", "kind": "opening",
         "shares": "1000000"},
        {"type": "SharesIssued", "effective_date": "2001-04-12", "series": "H",
         "holder": "Bob", "shares": "100"},
        {"type": "SharesConverted", "effective_date": "2001-05-01", "series": "H",
         "holder": "Bob", "shares": "100"},
    ]
    d = distribute(_state(evs, "2001-05-31"), dt.date(2001, 5, 31), D("1000.00"))
    # 04-12 -> 05-01: 30 + 1 - 12 = 19 days; 100 x 1,000 x 10% x 19 / 360 = 527.777..
    payable = _m(D(100 * 100 * 19) / 360)
    bob = next(h for h in d.holders if h.holder == "Bob")
    assert (bob.series, bob.shares, bob.claim, bob.received) == ("H", 0, payable, payable)
    # Bob's 138,889 common (floor(100 x 1,388.89)) are part of common outstanding now
    assert d.common_outstanding == 1_000_000 + 138_889
    assert d.common_line == D("1000.00") - payable


def test_short_tier_ties_go_to_the_name_first():
    """Three equal G claims, 100.00: 33.33 each and the leftover cent to 'Ann' (§11)."""
    evs = DESIGNATE[:1] + [
        {"type": "SharesIssued", "effective_date": "2001-01-01", "series": "G", "holder": h,
         "shares": "10"} for h in ("Cy", "Ann", "Bob")]
    d = distribute(_state(evs, "2001-01-01"), dt.date(2001, 1, 1), D("100.00"))
    assert {h.holder: h.received for h in d.holders} == {
        "Ann": D("33.34"), "Bob": D("33.33"), "Cy": D("33.33")}


LIQ_BASE = DESIGNATE[:2] + [
    {"type": "CommonStockIssued", "effective_date": "2000-12-28", "kind": "opening",
     "shares": "1000000"},
    {"type": "SharesIssued", "effective_date": "2001-01-01", "series": "G", "holder": "Ann",
     "shares": "100"},
    {"type": "SharesIssued", "effective_date": "2001-01-01", "series": "G", "holder": "Cy",
     "shares": "50"},
    {"type": "SharesIssued", "effective_date": "2001-04-12", "series": "H", "holder": "Bob",
     "shares": "100"},
]
# Claims at the end of 2001-05-31 (SPEC.md §11):
# G (10%): Q1 01-01 -> 04-01 90 days due 04-10, unpaid; open 04-01 -> 06-01 60 days
ANN_G = 100_000 + D(100 * 100 * 90) / 360 + _m(D(100 * 100 * 60) / 360)  # 104,166.67
CY_G = 50_000 + D(50 * 100 * 90) / 360 + _m(D(50 * 100 * 60) / 360)      # 52,083.33
# H (10%): 04-12 -> 06-01 = 30 x 2 + 1 - 12 = 49 days
BOB_H = 100_000 + _m(D(100 * 100 * 49) / 360)                             # 101,361.11


LIQ = {"type": "Liquidation", "effective_date": "2001-05-31", "proceeds": "150000.00",
       "id": "liq"}
LIQUIDATED = LIQ_BASE + [LIQ]


def test_liquidation_event_records_the_distribution_and_ends_the_ledger():
    what_if = book(LIQ_BASE).waterfall("2001-05-31", "150000.00")
    pos = book(LIQUIDATED).position("2001-06-30")
    assert pos["liquidated_on"] == "2001-05-31"
    rec = pos["liquidation"]
    # H (senior, H §3(a)) in full; G gets the rest pro rata; nothing to common
    assert BOB_H == D("101361.11") and ANN_G == D("104166.67") and CY_G == D("52083.33")
    g_left = D(150_000) - BOB_H
    parts = _floor_lr(g_left, {"Ann": ANN_G, "Cy": CY_G})
    assert _by_holder(rec) == {("Bob", "H"): BOB_H, ("Ann", "G"): parts["Ann"],
                               ("Cy", "G"): parts["Cy"], (None, "common"): 0}
    assert parts["Ann"] + parts["Cy"] == g_left
    assert rec["common"]["received"] == "0.00"
    # the recorded distribution is the what-if computed by the same code
    assert rec == what_if
    # every series and common extinguished, nothing owed any more
    assert pos["common_outstanding"] == "0" and pos["holders"] == []
    assert all(s["outstanding"] == "0" for s in pos["series"])
    # a later event, or one the same day recorded after, is refused (REFUSALS); a what-if
    # on or after the liquidation date is bad input
    with pytest.raises(Rejected) as exc:
        book(LIQUIDATED).waterfall("2001-06-30", "1")
    assert exc.value.field == "as_of" and "liquidated on 2001-05-31" in exc.value.message


def test_liquidation_through_the_command_line(cli, jsonl):
    """Recorded by ``load``, shown by ``position --json``; a what-if after it exits 2."""
    assert cli("load", str(jsonl(LIQUIDATED))).exit_code == 0
    pos = cli.json("position", "--as-of", "2001-06-30")
    assert pos["liquidated_on"] == "2001-05-31"
    assert _by_holder(pos["liquidation"])[("Bob", "H")] == BOB_H  # 101,361.11 in full
    r = cli("waterfall", "--as-of", "2001-06-30", "--proceeds", "1")
    assert r.exit_code == 2 and "liquidated on 2001-05-31" in r.stderr


def liquidation(**extra: Any) -> dict[str, Any]:
    return {"type": "Liquidation", "effective_date": "2001-05-31", "proceeds": "1000.00",
            **extra}


REFUSALS = [
    # after the Liquidation every later event is refused, and so is one the same day
    # recorded after it
    refusal(LIQUIDATED, [{"type": "SharesIssued", "effective_date": "2001-06-15",
                          "series": "G", "holder": "Dee", "shares": "10"}], "effective_date",
            "SharesIssued", "liquidated on 2001-05-31"),
    refusal(LIQUIDATED, [{"type": "CommonStockIssued", "effective_date": "2001-05-31",
                          "kind": "other", "shares": "10", "price_per_share": "1"}],
            "effective_date", "CommonStockIssued", "liquidated on 2001-05-31"),
    refusal(LIQ_BASE, [liquidation(proceeds="100.001")], "proceeds", "Liquidation",
            "whole number of cents"),
    refusal(LIQ_BASE, [liquidation(order="H")], "order", "Liquidation",
            "leaves out designated series G"),
    refusal(LIQ_BASE, [liquidation(proceeds=100)], "proceeds", "Liquidation", "JSON number"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[f"r{i}" for i in range(len(REFUSALS))])
def test_bad_liquidation_and_events_after_it_are_refused(case):
    refuse(case)


@pytest.mark.parametrize("cases", by_stored(REFUSALS), ids=lambda cs: f"{len(cs)}-cases")
def test_every_refusal_through_load_exits_2_and_stores_nothing(cli, jsonl, cases):
    cli.refuses_all(jsonl, cases)


def test_liquidation_with_an_issuer_order():
    ev = {"type": "Liquidation", "effective_date": "2001-05-31", "proceeds": "150000.00",
          "order": "G,H"}
    rec = book(LIQ_BASE + [ev]).position("2001-05-31")["liquidation"]
    assert rec["order"] == "G > H > common" and rec["order_source"] == "issuer setting"
    # G first: 156,250.00 > 150,000, so G is paid short and H gets nothing
    parts = _floor_lr(D(150_000), {"Ann": ANN_G, "Cy": CY_G})
    assert _by_holder(rec) == {("Ann", "G"): parts["Ann"], ("Cy", "G"): parts["Cy"],
                               ("Bob", "H"): 0, (None, "common"): 0}


# -- properties over random cap tables --------------------------------------------------------

HOLDERS = ["Ann", "Bob", "Cy", "Dee"]


@st.composite
def cap_tables(draw: st.DrawFn) -> tuple[IssuerState, dt.date]:
    """Random holders of G, H, K, M, random common, sometimes the K approval, a random date
    (before and inside M's conversion window)."""
    evs: list[dict[str, Any]] = [
        {"type": "CommonStockIssued", "effective_date": "2000-12-28", "kind": "opening",
         "shares": str(draw(st.one_of(st.integers(1, 1_000_000), st.integers(1, 50_000_000))))}]
    evs += DESIGNATE
    for d in DESIGNATE:
        start = dt.date.fromisoformat(d["effective_date"])
        for h in draw(st.lists(st.sampled_from(HOLDERS), max_size=3, unique=True)):
            evs.append({"type": "SharesIssued", "series": d["series"], "holder": h,
                        "shares": str(draw(st.integers(1, 6)) * 100),
                        "effective_date": (start + dt.timedelta(
                            days=draw(st.integers(0, 400)))).isoformat()})
    if draw(st.booleans()):
        evs.append({"type": "ShareholderApproval", "effective_date": "2003-06-30",
                    "matters": ["series_k_conversion"]})
    evs.sort(key=lambda e: e["effective_date"])
    as_of = dt.date(2005, 6, 1) + dt.timedelta(days=draw(st.integers(0, 900)))
    return _state(evs, as_of.isoformat()), as_of


#: proceeds in cents: small (short tiers) and large (conversions) amounts both drawn often
cents = st.one_of(st.integers(0, 10**9), st.integers(10**9, 2 * 10**10)).map(
    lambda c: D(c) / 100)


@settings(max_examples=80, deadline=None)
@given(cap_tables(), cents)
def test_property_payouts_add_up_to_the_proceeds(table, proceeds):
    state, as_of = table
    d = distribute(state, as_of, proceeds)
    assert sum(h.received for h in d.holders) + d.common_line == proceeds
    assert all(h.received >= 0 and h.received == _m(h.received) for h in d.holders)
    # tiers in order: a tier gets something only once every senior tier is paid in full
    for i, t in enumerate(d.tiers):
        assert 0 <= t.paid <= t.claim
        if t.paid > 0:
            assert all(s.paid == s.claim for s in d.tiers[:i])
    if d.common_received > 0:
        assert all(t.paid == t.claim for t in d.tiers)
    assert d.fixed_point


def _received(d: Any) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    out = {(h.holder, h.series): (h.received, h.exact) for h in d.holders}
    out[("common", "common")] = (d.common_line, d.common_line_exact)
    return out


@settings(max_examples=80, deadline=None)
@given(cap_tables(), cents, st.one_of(st.integers(1, 100), st.integers(1, 10**10)))
def test_property_more_proceeds_never_pay_anyone_less(table, proceeds, more_cents):
    state, as_of = table
    a = _received(distribute(state, as_of, proceeds))
    b = _received(distribute(state, as_of, proceeds + D(more_cents) / 100))
    for key, (cents_a, exact_a) in a.items():
        cents_b, exact_b = b[key]
        # the exact (unrounded) amount never falls
        assert exact_b >= exact_a - D("1e-15"), key
        # SPEC.md §11's floor-and-largest-remainder split can move one cent per split the
        # line takes part in (a tier and the common remainder): the Alabama paradox of
        # Hamilton's method, shown in test_largest_remainder_can_move_a_cent
        assert cents_b >= cents_a - D("0.02"), key


def test_largest_remainder_can_move_a_cent():
    """Why the monotonicity property allows a cent: SPEC.md §11's rule is Hamilton's
    method, which is not monotone in the total (the "Alabama paradox")."""
    from ledger.values import allocate

    w = {"Ann": D(1), "Bob": D(3), "Cy": D(3)}  # sevenths
    # 0.03: exact 0.0043 / 0.0129 / 0.0129 -> floors 0.00 / 0.01 / 0.01; the leftover cent
    # goes to the largest remainder, Ann's 0.0043 (Bob's and Cy's are 0.0029)
    assert allocate(D("0.03"), w) == {"Ann": D("0.01"), "Bob": D("0.01"), "Cy": D("0.01")}
    # 0.04: exact 0.0057 / 0.0171 / 0.0171 -> floors 0.00 / 0.01 / 0.01; two cents left, to
    # Bob's and Cy's 0.0071 ahead of Ann's 0.0057: one more cent in total, one less for Ann
    assert allocate(D("0.04"), w) == {"Ann": D("0.00"), "Bob": D("0.02"), "Cy": D("0.02")}
    assert _floor_lr(D("0.04"), w) == allocate(D("0.04"), w)


def test_distribution_json_round_trips():
    evs = DESIGNATE[:1] + [{"type": "SharesIssued", "effective_date": "2001-01-01",
                            "series": "G", "holder": "Ann", "shares": "1"}]
    d = distribute(_state(evs, "2001-01-01"), dt.date(2001, 1, 1), D("2000.00"))
    out = json.loads(json.dumps(d.to_json()))
    # G 1 share: 1,000 + accrual 01-01 -> 01-02 (1 day) = 0.277.. -> 0.28; no common shares
    assert out["holders"][0]["received"] == "1000.28"
    assert out["common"] == {"shares": "0", "received": "999.72", "per_share": None,
                             "outstanding_shares": "0", "outstanding_received": "999.72",
                             "as_converted_shares": "0", "participating_shares": "0"}


def test_python_api(ledger):
    """``Ledger.waterfall`` (SPEC.md §8) with an issuer order; bad input is LedgerError."""
    from ledger.problems import LedgerError

    ledger.load_file(HISTORY)
    rep = ledger.waterfall(dt.date(2001, 12, 31), D("5000000.00"), order="K,H,G")
    assert rep["order"] == "K > H > G > common" and rep["issuer"] == "default"
    # K first (6,000,000 claim) takes all 5,000,000; H and G get nothing
    assert {t["series"][0]: t["paid"] for t in rep["tiers"]} == {
        "K": "5000000.00", "H": "0.00", "G": "0.00"}
    with pytest.raises(LedgerError) as exc:
        ledger.waterfall(dt.date(2001, 12, 31), D("1"), order="K,H")
    assert exc.value.problems[0].field == "order"
