"""Conversions, anti-dilution, splits, K's automatic conversion, votes
(SPEC.md §6, §11 Conversion; Series H §5, Series K §5, Series M §5).

Every expected figure is hand arithmetic written in the test from the events loaded in
it and the certificates' terms (fixtures/nstor/*.json); rates are carried at 40
significant digits like the ledger (values.CONTEXT), so the exact strings can be
recomputed, and each one is also checked against a rounded figure worked by hand.

The rules run on the pure core (``tests/ledgers.py``); every refusal also runs through
``prefledger load`` on both stores, and the ``conversions`` command once on both.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import HISTORY
from tests.ledgers import Book, Refusal, book, by_stored, ev, refusal, refuse

D = Decimal
P40 = Context(prec=40)


def position(b: Book, as_of: str) -> tuple[dict, dict, dict]:
    rep = b.position(as_of)
    series = {s["series"]: s for s in rep["series"]}
    holders = {(h["holder"], h["series"]): h for h in rep["holders"]}
    return rep, series, holders


def plain(d: Decimal) -> str:
    """How the ledger writes a rate: no exponent, no trailing zeros (SPEC.md §9)."""
    with localcontext(P40):
        return f"{d.quantize(D(1)):f}" if d == d.to_integral_value() else f"{d.normalize():f}"


H = ev("SeriesDesignated", "2001-04-12", series="H", terms_ref="nstor/H", id="h")
G = ev("SeriesDesignated", "2000-12-28", series="G", terms_ref="nstor/G", id="g")
K = ev("SeriesDesignated", "2001-11-19", series="K", terms_ref="nstor/K", id="k")
M = ev("SeriesDesignated", "2005-01-10", series="M", terms_ref="nstor/M", id="m")


def opening(date: str, shares: str) -> dict[str, Any]:
    return ev("CommonStockIssued", date, shares=shares, kind="opening", id=f"open-{date}")


def issue(series: str, date: str, holder: str, shares: str, id_: str) -> dict[str, Any]:
    return ev("SharesIssued", date, series=series, holder=holder, shares=shares,
              price_per_share="1000", id=id_)


# -- H: a holder conversion of 300 shares ---------------------------------------------

H_BASE = [H, opening("2001-04-12", "30000000"),
          issue("H", "2001-04-20", "Dogwood Fund", "2000", "h1"),
          issue("H", "2001-05-01", "Elm Street Ventures", "250", "h2")]


def test_h_conversion_of_300_shares():
    lg = book(H_BASE + [
        ev("SharesConverted", "2001-08-01", series="H", holder="Dogwood Fund", shares="300",
           id="c1")])
    rep, series, holders = position(lg, "2001-08-01")
    # common issued: 300 × 1,388.89 = 416,667 exactly (no fraction)
    assert rep["common_outstanding"] == "30416667"  # 30,000,000 + 416,667
    h = series["H"]
    assert (h["issued_total"], h["outstanding"], h["converted_total"]) == ("2250", "1950", "300")
    # the conversion of H itself never adjusts H (SPEC.md §6 exemption: its own series),
    # although 300,000 / 416,667 = 0.7199994 per common share is below $0.72
    assert h["conversion_rate"] == "1388.89"
    dog = holders[("Dogwood Fund", "H")]
    assert dog["shares"] == "1700"
    # dividends_payable: the accrual not yet due of the 300 converted shares, from the
    # 2001-06-10 period start to 2001-08-01 exclusive: days360 = 30*2 + (1 - 10) = 51
    assert D(300) * 1000 * D("0.10") * 51 / 360 == D("4250")
    assert dog["dividends_payable"] == "4250.00"
    assert h["dividends_payable"] == "4250.00"
    # arrears stay arrears: due 2001-06-10 on 2,000 shares for 2001-04-20..06-10
    # (days360 = 30*2 + (10 - 20) = 50): 2000 * 1000 * 0.10 * 50 / 360 = 27,777.78
    assert round(D(2000) * 1000 * D("0.10") * 50 / 360, 2) == D("27777.78")
    # accrued_unpaid = arrears + 1,700 shares from 06-10 to 08-02 (as of D runs to D + 1:
    # days360 = 30*2 + (2 - 10) = 52): 1700 * 100 * 52 / 360 = 24,555.56
    assert round(D(1700) * 100 * 52 / 360, 2) == D("24555.56")
    assert dog["accrued_unpaid"] == "52333.34"  # 27,777.78 + 24,555.56
    # votes as converted: floor(1700 × 1388.89) = 2,361,113; Elm floor(250 × 1388.89)
    # = floor(347,222.5) = 347,222
    assert dog["votes"] == "2361113"
    assert holders[("Elm Street Ventures", "H")]["votes"] == "347222"
    assert h["votes"] == str(2361113 + 347222)
    assert rep["total_votes"] == str(30416667 + 2361113 + 347222)
    # the conversions listing shows the conversion and no adjustment
    lst = lg.conversions("H")
    assert lst["adjustments"] == []
    assert lst["conversions"] == [{
        "date": "2001-08-01", "holder": "Dogwood Fund", "shares": "300", "rate": "1388.89",
        "common": "416667", "fraction": "0", "cash_in_lieu": None,
        "dividends_payable": "4250.00", "automatic": False, "trigger": None,
        "event_id": "c1"}]


def test_h_conversion_of_all_shares_pays_the_fraction_in_cash():
    # 250 is not a multiple of 100 but is all of Elm's shares (Series H §5(a))
    lg = book(H_BASE + [
        ev("SharesConverted", "2001-06-10", series="H", holder="Elm Street Ventures",
           shares="250", market_price="0.60", id="c2")])
    rep, series, holders = position(lg, "2001-06-10")
    # 250 × 1,388.89 = 347,222.5: 347,222 common, 0.5 share paid at $0.60 = $0.30
    assert rep["common_outstanding"] == "30347222"
    conv = lg.conversions("H")["conversions"][0]
    assert (conv["common"], conv["fraction"], conv["cash_in_lieu"]) == ("347222", "0.5", "0.30")
    # on the payment date the 2001-05-01..06-10 amount (days360 = 30 + 9 = 39) fell due
    # at the start of the day: 250 * 100 * 39 / 360 = 2,708.33 stays arrears; nothing of
    # the new period has accrued, so nothing becomes payable
    assert conv["dividends_payable"] == "0.00"
    elm = holders[("Elm Street Ventures", "H")]
    assert (elm["shares"], elm["accrued_unpaid"], elm["votes"]) == ("0", "2708.33", "0")


H_STORED = [G] + H_BASE + [K, issue("K", "2001-11-30", "Fir Holdings", "100", "k1"),
                           issue("G", "2001-01-05", "Alder", "100", "g1")]
CONV = dict(type="SharesConverted", effective_date="2001-12-03")
# H authorizes 5,100; 2,250 issued, then 2,000 converted
H_CONVERTED = H_BASE + [ev("SharesConverted", "2001-08-01", series="H",
                           holder="Dogwood Fund", shares="2000")]

REFUSALS: list[Refusal] = [
    # not a multiple of 100 and not all of the holder's 2,000 shares
    refusal(H_STORED, [{**CONV, "series": "H", "holder": "Dogwood Fund", "shares": "150"}],
            "shares", "SharesConverted", "multiple of 100"),
    # more than held
    refusal(H_STORED, [{**CONV, "series": "H", "holder": "Dogwood Fund", "shares": "2100"}],
            "shares", "fewer than 2100"),
    # a holder the ledger does not know
    refusal(H_STORED, [{**CONV, "series": "H", "holder": "Nobody", "shares": "100"}],
            "holder", "unknown holder"),
    # G is not convertible; K converts only automatically
    refusal(H_STORED, [{**CONV, "series": "G", "holder": "Alder", "shares": "100"}],
            "series", "not convertible"),
    refusal(H_STORED, [{**CONV, "series": "K", "holder": "Fir Holdings", "shares": "100"}],
            "series", "not convertible"),
    refusal(H_STORED, [{**CONV, "series": "Z", "holder": "Dogwood Fund", "shares": "100"}],
            "series", "unknown series"),
    # numbers only as JSON strings; no unknown fields (SPEC.md §2, §3)
    refusal(H_STORED, [{**CONV, "series": "H", "holder": "Dogwood Fund", "shares": 100}],
            "shares", "JSON number"),
    refusal(H_STORED, [{**CONV, "series": "H", "holder": "Dogwood Fund", "shares": "100",
                        "rate": "1400"}], "rate", "unknown field"),
    # back-dated before the holder's first issuance: the holder is not known yet
    refusal(H_STORED, [{**CONV, "effective_date": "2001-04-19", "series": "H",
                        "holder": "Dogwood Fund", "shares": "100"}], "holder",
            "unknown holder"),
    # converted shares never return to the authorized pool: 2,851 more would make 5,101
    # ever issued, although only 250 are outstanding (2,850 is accepted: see below)
    refusal(H_CONVERTED, [issue("H", "2001-09-01", "New", "2851", "h9")], "shares",
            "SharesIssued", "5101", "never reissued"),
]


def test_converted_shares_never_return_to_the_authorized_pool():
    # the refusal of 2,851 is in REFUSALS; 2,850 (5,100 ever issued) fits exactly
    after = book(H_CONVERTED).load([issue("H", "2001-09-01", "New", "2850", "h9")])
    assert after.series("2001-09-01", "H")["issued_total"] == "5100"  # 2,250 + 2,850


# -- anti-dilution on a common sale ---------------------------------------------------

SALE_BASE = [H, M, opening("2005-01-10", "40000000"),
             issue("H", "2005-01-11", "Dogwood Fund", "1000", "h1"),
             issue("M", "2005-02-01", "Alder", "100", "m1")]


def test_common_sale_below_072_adjusts_h_and_not_m():
    lg = book(SALE_BASE + [
        ev("CommonStockIssued", "2005-06-01", shares="1000000", kind="sale",
           price_per_share="0.50", id="sale")])
    # A = 40,000,000 common outstanding just before; C = 1,000,000 new common;
    # consideration = 1,000,000 × $0.50 = $500,000; B = 500,000 / 0.72 = 694,444.44…
    # factor = (A + C) / (A + B) = 41,000,000 / 40,694,444.44…
    #        = (41,000,000 × 0.72) / (40,000,000 × 0.72 + 500,000) = 29,520,000 / 29,300,000
    #        = 1476 / 1465 = 1.0075085…; new rate = 1,388.89 × 1476 / 1465 = 1,399.3185…
    with localcontext(P40):
        b = D(500000) / D("0.72")
        factor = D(41000000) / (D(40000000) + b)
        rate = D("1388.89") * factor
    assert round(rate, 4) == round(D("1388.89") * 1476 / 1465, 4) == D("1399.3185")
    lst = lg.conversions("H")
    assert lst["adjustments"] == [{
        "date": "2005-06-01", "cause": "common sale of 1000000 shares", "event_id": "sale",
        "A": "40000000", "B": plain(b), "C": "1000000", "consideration": "500000.00",
        "price_per_common": "0.5", "threshold": "0.72", "factor": plain(factor),
        "rate_before": "1388.89", "rate_after": plain(rate),
        # the conversion price in force, stated ÷ rate: $1,000 / 1,388.89 = $0.71999942…
        # before, $1,000 / 1,399.3185… = $0.71463357… after
        "method": "threshold",
        "conversion_price_before": plain(P40.divide(D(1000), D("1388.89"))),
        "conversion_price_after": plain(P40.divide(D(1000), rate))}]
    assert lst["conversion_rate"] == plain(rate)
    assert lst["base_rate"] == "1388.89"
    # M's threshold is $0.25: a sale at $0.50 is not below it
    assert lg.conversions("M")["adjustments"] == []
    rep, series, holders = position(lg, "2005-06-01")
    assert series["H"]["conversion_rate"] == plain(rate)
    assert series["M"]["conversion_rate"] == "4000"
    assert rep["common_outstanding"] == "41000000"
    # votes as converted at the current rate: floor(1000 × 1,399.3185…) = 1,399,318
    assert holders[("Dogwood Fund", "H")]["votes"] == "1399318"
    # the day before the sale the rate was still the base rate (as of any date, §6)
    assert position(lg, "2005-05-31")[1]["H"]["conversion_rate"] == "1388.89"


def test_exempt_and_at_threshold_issuances_do_not_adjust():
    lg = book(SALE_BASE + [
        # employee options and openings are exempt whatever the price (SPEC.md §6)
        ev("CommonStockIssued", "2005-03-01", shares="1000", kind="option_exercise",
           price_per_share="0.10"),
        ev("CommonStockIssued", "2005-03-02", shares="1000", kind="opening"),
        # not below the threshold: $0.72 exactly
        ev("CommonStockIssued", "2005-03-03", shares="1000", kind="sale",
           consideration="720.00"),
    ])
    assert lg.conversions("H")["adjustments"] == []
    assert position(lg, "2005-03-03")[0]["common_outstanding"] == "40003000"
    # an 'other' issuance for property worth $100 for 1,000 shares ($0.10 < $0.25 and
    # < $0.72) adjusts both: A = 40,003,000, C = 1,000, B = 100 / threshold
    lg = lg.load([ev("CommonStockIssued", "2005-03-04", shares="1000", kind="other",
                   consideration="100")])
    with localcontext(P40):
        h_rate = D("1388.89") * (D(40004000) / (D(40003000) + D(100) / D("0.72")))
        m_rate = D(4000) * (D(40004000) / (D(40003000) + D(100) / D("0.25")))
    series = position(lg, "2005-03-04")[1]
    assert series["H"]["conversion_rate"] == plain(h_rate)
    assert series["M"]["conversion_rate"] == plain(m_rate)
    # by hand: 4000 × 40,004,000 / 40,003,400 = 4,000.05999…
    assert round(m_rate, 4) == D("4000.0600")


COMMON = dict(type="CommonStockIssued", effective_date="2001-05-01", shares="1000")
ONLY_H = [H]
REFUSALS += [
    refusal(ONLY_H, [{**COMMON, "kind": "sale"}], "price_per_share", "CommonStockIssued",
            "needs price_per_share or consideration"),
    refusal(ONLY_H, [{**COMMON, "kind": "sale", "price_per_share": "0.50",
                      "consideration": "400"}], "consideration", "does not equal"),
    # no common outstanding (A = 0) and nothing received (B = 0): (A + C) / (A + B) undefined
    refusal(ONLY_H, [{**COMMON, "kind": "other", "consideration": "0"}],
            "consideration", "A + B = 0"),
    refusal(ONLY_H, [{**COMMON, "kind": "gift", "consideration": "1"}], "kind"),
    refusal(ONLY_H, [{**COMMON, "kind": "sale", "price_per_share": 0.5}],
            "price_per_share", "JSON number"),
    refusal(ONLY_H, [{"type": "CommonStockSplit", "effective_date": "2001-05-01",
                      "ratio": "0"}], "ratio", "CommonStockSplit", "greater than zero"),
    refusal(ONLY_H, [{"type": "CommonStockSplit", "effective_date": "2001-05-01",
                      "ratio": 0.1}], "ratio", "JSON number"),
]


# -- K: automatic conversion on the shareholder approval -------------------------------

K_BASE = [H, opening("2001-04-12", "31000000"), K,
          issue("H", "2001-05-01", "Dogwood Fund", "1000", "h1"),
          issue("K", "2001-11-30", "Fir Holdings", "6000", "k1"),
          issue("K", "2002-01-15", "Grove Opportunity Fund", "4000", "k2")]


def test_k_converts_on_approval_and_adjusts_h():
    lg = book(K_BASE + [
        # an approval of other matters converts nothing
        ev("ShareholderApproval", "2003-05-01", matters=["option_plan"]),
        ev("ShareholderApproval", "2003-06-30", matters=["option_plan", "series_k_conversion"],
           id="approve")])
    assert position(lg, "2003-06-29")[1]["K"]["outstanding"] == "10000"
    rep, series, holders = position(lg, "2003-06-30")
    # per holder, rounded down (SPEC.md §2, §11): 1000 / 0.23 = 4,347.826…
    #   Fir   6000 × 4,347.826… = 26,086,956.52 -> 26,086,956
    #   Grove 4000 × 4,347.826… = 17,391,304.35 -> 17,391,304
    c = 26086956 + 17391304
    assert c == 43478260
    assert rep["common_outstanding"] == str(31000000 + c)  # 74,478,260
    k = series["K"]
    assert (k["outstanding"], k["converted_total"], k["votes"]) == ("0", "10000", "0")
    assert k["redemption_price_per_share"] is None and k["dividend_rate"] is None
    # one issuance for H's anti-dilution (SPEC.md §11): A = 31,000,000, C = 43,478,260,
    # consideration = 10,000 × $1,000 stated = $10,000,000 (price 0.23 < 0.72),
    # B = 10,000,000 / 0.72 = 13,888,888.89; factor = 74,478,260 / 44,888,888.89
    #   = (74,478,260 × 0.72) / (31,000,000 × 0.72 + 10,000,000) = 53,624,347.2 / 32,320,000
    with localcontext(P40):
        b = D(10000000) / D("0.72")
        factor = D(74478260) / (D(31000000) + b)
        rate = D("1388.89") * factor
    assert round(factor, 6) == round(D("53624347.2") / 32320000, 6) == D("1.659169")
    assert round(rate, 2) == D("2304.40")
    assert series["H"]["conversion_rate"] == plain(rate)
    adj = lg.conversions("H")["adjustments"]
    assert [(a["A"], a["B"], a["C"], a["consideration"], a["factor"], a["rate_before"],
             a["rate_after"]) for a in adj] == [
        ("31000000", plain(b), "43478260", "10000000.00", plain(factor), "1388.89",
         plain(rate))]
    assert adj[0]["cause"] == "automatic conversion of 10000 Series K"
    assert holders[("Dogwood Fund", "H")]["votes"] == str(int(1000 * rate))  # 2,304,403
    lst = lg.conversions("K")
    assert [(x["holder"], x["shares"], x["common"], x["automatic"]) for x in
            lst["conversions"]] == [("Fir Holdings", "6000", "26086956", True),
                                    ("Grove Opportunity Fund", "4000", "17391304", True)]


K_AFTER = K_BASE + [
    ev("ShareholderApproval", "2003-06-30", matters=["series_k_conversion"]),
    issue("K", "2003-07-15", "Hazel", "100", "k3"),
    # K §5(a) has one Conversion Date: a later approval converts nothing
    ev("ShareholderApproval", "2003-08-01", matters=["series_k_conversion"])]
REFUSALS += [
    # 10,100 of 14,000 authorized ever issued: 3,901 more is one too many
    refusal(K_AFTER, [issue("K", "2003-09-01", "Hazel", "3901", "k4")], "shares",
            "SharesIssued", "14000 authorized"),
]


def test_k_shares_issued_after_the_approval_stay_k():
    rep, series, holders = position(book(K_AFTER), "2003-08-01")
    assert series["K"]["outstanding"] == "100"
    assert rep["common_outstanding"] == "74478260"
    # votes as converted: floor(100 × 1000 / 0.23) = floor(434,782.6…) = 434,782
    assert holders[("Hazel", "K")]["votes"] == "434782"


# -- a 1-for-10 reverse split -----------------------------------------------------------

def test_reverse_split_1_for_10():
    lg = book([H, opening("2001-04-12", "41000005"),
              issue("H", "2001-05-01", "Dogwood Fund", "2000", "h1"),
              ev("CommonStockSplit", "2002-01-02", ratio="0.1", id="split")])
    rep, series, holders = position(lg, "2002-01-02")
    # common × 0.1, exact (no rounding): 41,000,005 -> 4,100,000.5
    assert rep["common_outstanding"] == "4100000.5"
    # rate × 0.1: 1,388.89 -> 138.889; votes floor(2000 × 138.889) = 277,778
    assert series["H"]["conversion_rate"] == "138.889"
    assert holders[("Dogwood Fund", "H")]["votes"] == "277778"
    lst = lg.conversions("H")
    assert lst["threshold"] == "7.2"  # 0.72 / 0.1
    assert [(a["date"], a["A"], a["factor"], a["rate_before"], a["rate_after"])
            for a in lst["adjustments"]] == [("2002-01-02", None, "0.1", "1388.89", "138.889")]
    # a sale at $5.00 is below the adjusted threshold $7.20 (it would not have been below
    # $0.72 before the split): A = 4,100,000.5, C = 100,000, B = 500,000 / 7.2 = 69,444.44…
    # at $7.20 exactly: no adjustment
    lg = lg.load([ev("CommonStockIssued", "2002-02-01", shares="100000", kind="sale",
                   price_per_share="5.00"),
                ev("CommonStockIssued", "2002-02-02", shares="100", kind="sale",
                   price_per_share="7.20")])
    with localcontext(P40):
        b = D(500000) / D("7.2")
        rate = D("138.889") * (D("4200000.5") / (D("4100000.5") + b))
    assert round(rate, 4) == D("139.9068")
    lst = lg.conversions("H")
    assert len(lst["adjustments"]) == 2
    assert (lst["adjustments"][1]["A"], lst["adjustments"][1]["B"]) == ("4100000.5", plain(b))
    assert lst["conversion_rate"] == plain(rate)
    assert position(lg, "2002-02-02")[0]["common_outstanding"] == "4200100.5"
    # a conversion after the split: 100 × 139.9068… = 13,990.68… -> 13,990 common
    lg = lg.load([ev("SharesConverted", "2002-03-01", series="H", holder="Dogwood Fund",
                   shares="100")])
    assert position(lg, "2002-03-01")[0]["common_outstanding"] == str(
        D("4200100.5") + int(100 * rate))  # 4,214,090.5


# -- M: before and after its window; the notice window ----------------------------------

M_BASE = [H, M, opening("2005-01-10", "50000000"),
          issue("M", "2005-02-01", "Alder", "3000", "m1")]


M_CONV = dict(type="SharesConverted", series="M", holder="Alder", shares="100")
REFUSALS += [
    # closing = first M issuance 2005-02-01; window opens 2006-02-01
    refusal(M_BASE, [{**M_CONV, "effective_date": "2006-01-31"}], "effective_date",
            "SharesConverted", "2006-02-01"),
]


def test_m_converts_only_from_closing_plus_one_year():
    lg = book(M_BASE)
    # votes as converted even before the window (SPEC.md §11): 3000 × 4000
    rep, series, holders = position(lg, "2005-12-31")
    assert series["M"]["votes"] == "12000000"
    assert lg.conversions("M")["window_opens"] == "2006-02-01"
    # the day before the window opens is refused (REFUSALS); on the day it converts
    lg = lg.load([{**M_CONV, "effective_date": "2006-02-01", "id": "mc"}])
    rep, series, holders = position(lg, "2006-02-01")
    # 100 × 4,000 = 400,000 common
    assert rep["common_outstanding"] == "50400000"
    assert series["M"]["outstanding"] == "2900"
    # payable: 100 shares from 2006-01-01 to 02-01: days360 = 30:
    # 100 * 1000 * 0.05 * 30 / 360 = 416.666… -> 416.67
    assert holders[("Alder", "M")]["dividends_payable"] == "416.67"
    assert series["M"]["conversion_rate"] == "4000"  # its own conversion: exempt
    # M was designated after H: its conversion is an issuance for H at
    # 100,000 / 400,000 = $0.25 < $0.72: A = 50,000,000, C = 400,000, B = 100,000 / 0.72
    with localcontext(P40):
        rate = D("1388.89") * (D(50400000) / (D(50000000) + D(100000) / D("0.72")))
    assert round(rate, 3) == D("1396.123")
    assert series["H"]["conversion_rate"] == plain(rate)
    adj = lg.conversions("H")["adjustments"]
    assert [(a["A"], a["C"], a["price_per_common"]) for a in adj] == [
        ("50000000", "400000", "0.25")]


def test_conversion_of_an_earlier_designated_series_is_exempt():
    # K converts at $0.23 per common share, below both thresholds. K was designated
    # (2001-11-19) after H (2001-04-12): H is adjusted. K was designated before M
    # (2005-01-10): exempt for M (SPEC.md §6), even though the approval comes after M.
    lg = book([H, K, M, opening("2001-04-12", "1000000"),
              issue("K", "2001-12-01", "Fir Holdings", "100", "k1"),
              issue("M", "2005-02-01", "Alder", "100", "m1"),
              ev("ShareholderApproval", "2005-03-01", matters=["series_k_conversion"])])
    assert lg.conversions("M")["adjustments"] == []
    # but H (designated before K) is adjusted by K's conversion at $0.23
    assert len(lg.conversions("H")["adjustments"]) == 1


M_NOTICED = M_BASE + [
    ev("RedemptionNoticed", "2006-03-01", series="M", redemption_date="2006-03-16",
       holders={"Alder": "500"}, id="n1"),
    # notice date + 10 days: noticed shares convert first
    ev("SharesConverted", "2006-03-11", series="M", holder="Alder", shares="300")]
# an M notice may be given from the closing date on (SPEC.md §11) ...
M_EARLY_NOTICE = M_BASE + [
    ev("RedemptionNoticed", "2005-02-01", series="M", redemption_date="2005-02-16",
       holders={"Alder": "100"})]
REFUSALS += [
    # from day 11 the 200 noticed shares cannot convert: of the 2,700 held only 2,500 may
    refusal(M_NOTICED, [ev("SharesConverted", "2006-03-12", series="M", holder="Alder",
                           shares="2600")], "shares", "2006-03-11", "at most 2500"),
    # ... but the window (closing + 1 year) is still closed for the noticed shares
    refusal(M_EARLY_NOTICE, [ev("SharesConverted", "2005-02-05", series="M", holder="Alder",
                                shares="100")], "effective_date", "2006-02-01"),
]


def test_m_noticed_shares_convert_within_10_days_of_the_notice():
    lg = book(M_NOTICED)
    lst = lg.conversions("M")
    assert lst["notices"] == [{"holder": "Alder", "notice_date": "2006-03-01",
                               "redemption_date": "2006-03-16", "shares": "200"}]
    # 2,600 on day 11 is refused (REFUSALS); the 2,500 not under notice convert
    lg = lg.load([ev("SharesConverted", "2006-03-12", series="M", holder="Alder",
                   shares="2500")])
    # converting shares not under notice leaves the notice as it was
    lst = lg.conversions("M")
    assert lst["notices"][0]["shares"] == "200"
    assert position(lg, "2006-03-12")[2][("Alder", "M")]["shares"] == "200"
    lg = lg.load([ev("SharesRedeemed", "2006-03-16", series="M", holder="Alder",
                   shares="200")])
    assert position(lg, "2006-03-16")[1]["M"]["outstanding"] == "0"


@pytest.mark.parametrize("case", REFUSALS, ids=[f"r{i}" for i in range(len(REFUSALS))])
def test_refusal_names_the_event_and_field(case):
    refuse(case)


@pytest.mark.parametrize("cases", by_stored(REFUSALS), ids=lambda cs: f"{len(cs)}-cases")
def test_every_refusal_through_load_exits_2_and_stores_nothing(cli, jsonl, cases):
    cli.refuses_all(jsonl, cases)


# -- the conversions command ------------------------------------------------------------

def test_conversions_command_text_and_errors(cli, jsonl):
    r = cli("load", str(jsonl(SALE_BASE + [
        ev("CommonStockIssued", "2005-06-01", shares="1000000", kind="sale",
           price_per_share="0.50")])))
    assert r.exit_code == 0, r.output
    r = cli("conversions", "--series", "H")
    assert r.exit_code == 0, r.output
    for word in ("2005-06-01", "common sale of 1000000 shares", "40000000", "1000000",
                 "1388.89", "1.00750853"):
        assert word in r.stdout, r.stdout
    # as of a date before the sale: no adjustment yet
    assert cli.json("conversions", "--series", "H", "--as-of", "2005-05-31")[
        "adjustments"] == []
    r = cli("conversions", "--series", "Z")
    assert r.exit_code == 2 and "--series 'Z'" in r.stderr
    r = cli("conversions", "--series", "H", "--as-of", "2005-13-01")
    assert r.exit_code == 2 and "--as-of" in r.stderr
    # G is not convertible: no rate, no adjustments
    assert cli("load", str(jsonl([G]))).exit_code == 0
    g = cli.json("conversions", "--series", "G")
    assert (g["conversion"], g["conversion_rate"], g["adjustments"]) == ("none", None, [])


def test_fixture_history_conversions_listing():
    """fixtures/nstor/history.jsonl: the 2003-04-15 sale and the 2003-06-30 K conversion."""
    fixture = book(HISTORY)
    adj = fixture.conversions("H")["adjustments"]
    # sale: A = 30,000,000 opening, C = 1,000,000 at $0.50, B = 500,000 / 0.72
    # K: A = 31,000,000, C = 43,478,260 (as above), B = 10,000,000 / 0.72
    with localcontext(P40):
        f1 = D(31000000) / (D(30000000) + D(500000) / D("0.72"))
        f2 = D(74478260) / (D(31000000) + D(10000000) / D("0.72"))
        r1 = D("1388.89") * f1
        r2 = r1 * f2
    assert [(a["date"], a["A"], a["C"], a["factor"], a["rate_after"]) for a in adj] == [
        ("2003-04-15", "30000000", "1000000", plain(f1), plain(r1)),
        ("2003-06-30", "31000000", "43478260", plain(f2), plain(r2))]
    # Dogwood's 300 on 2004-03-15 at that rate: floor(300 × 2,327.34…) = 698,202
    conv = fixture.conversions("H")["conversions"]
    assert [(c["shares"], c["common"]) for c in conv] == [("300", str(int(300 * r2)))]
    assert int(300 * r2) == 698202
    rep = fixture.position("2005-12-31")
    assert rep["common_outstanding"] == str(31000000 + 43478260 + 698202)


# -- invariants over random histories (pure replay, no store) ---------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["sale", "convert", "split"]),
                          st.integers(1, 30), st.integers(1, 400)), max_size=8))
def test_rate_is_base_times_every_factor_and_common_adds_up(steps):
    """SPEC.md §6: rate as of D = base × product of every adjustment; common outstanding
    = opening + common sold + common issued on conversion, scaled by splits."""
    events = [H, opening("2001-04-12", "10000000"),
              issue("H", "2001-04-20", "Dogwood Fund", "5000", "h1")]
    day = 0
    for kind, a, b in steps:
        day += 1
        date = f"2002-{1 + day // 28:02d}-{1 + day % 28:02d}"
        if kind == "sale":  # a × 10,000 shares at b cents
            events.append(ev("CommonStockIssued", date, shares=str(a * 10000), kind="sale",
                             price_per_share=str(D(b) / 100)))
        elif kind == "convert":
            events.append(ev("SharesConverted", date, series="H", holder="Dogwood Fund",
                             shares=str(100 * (a % 3 + 1))))
        else:
            events.append(ev("CommonStockSplit", date, ratio=["2", "0.5", "0.1"][a % 3]))
    state = book(events).state()
    h = state.series["H"]
    with localcontext(P40):
        rate = D("1388.89")
        for adj in h.adjustments:
            assert adj.rate_before == rate
            if adj.a is not None:  # anti-dilution: factor = (A + C) / (A + B)
                assert adj.b == adj.consideration / adj.threshold
                assert adj.factor == (adj.a + adj.c) / (adj.a + adj.b)
                assert adj.price < adj.threshold
            rate = rate * adj.factor
            assert adj.rate_after == rate
        assert h.conversion_rate == rate
        common = D(10000000)
        for e in events[3:]:
            if e["type"] == "CommonStockIssued":
                common += D(e["shares"])
            elif e["type"] == "CommonStockSplit":
                common *= D(e["ratio"])
            else:
                conv = next(c for c in state.conversions
                            if c.effective.isoformat() == e["effective_date"])
                assert conv.common == int(D(e["shares"]) * conv.rate)
                common += conv.common
        assert state.common_outstanding == common
