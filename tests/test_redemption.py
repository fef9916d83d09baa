"""Redemption (SPEC.md §7, §11; Series G §5, H §6, M §6).

Expected figures are hand arithmetic from the events in each test: accrual is
shares × $1,000 × rate × days360 / 360, rounded half-up to the cent per due date.
The rules run on the pure core (``tests/ledgers.py``); every refusal also runs through
``prefledger load`` on both stores.
"""

from __future__ import annotations

import json
from decimal import ROUND_FLOOR, Decimal
from importlib import resources
from typing import Any

import pytest

from tests.ledgers import Book, Refusal, book, by_stored, ev, refusal, refuse
from tests.test_conversion import issue, position

D = Decimal

G = ev("SeriesDesignated", "2000-12-28", series="G", terms_ref="nstor/G", id="g")
H = ev("SeriesDesignated", "2001-04-12", series="H", terms_ref="nstor/H", id="h")
K = ev("SeriesDesignated", "2001-11-19", series="K", terms_ref="nstor/K", id="k")
M = ev("SeriesDesignated", "2005-01-10", series="M", terms_ref="nstor/M", id="m")


def redemptions(lg: Book, series: str) -> list[dict[str, Any]]:
    return lg.conversions(series)["redemptions"]


# -- G on 30 days notice ----------------------------------------------------------------

G_BASE = [G, issue("G", "2000-12-28", "Alder", "600", "g1"),
          issue("G", "2000-12-28", "Birch", "400", "g2")]
G_NOTICE = ev("RedemptionNoticed", "2001-03-01", series="G", redemption_date="2001-03-31",
              holders={"Alder": "200"}, id="n1")


def test_g_redemption_on_30_days_notice():
    # 2001-03-01 -> 2001-03-31 is 30 calendar days: enough (Series G §5)
    lg = book(G_BASE + [G_NOTICE, ev("SharesRedeemed", "2001-03-31", series="G",
                                     holder="Alder", shares="200", id="r1")])
    # accrual to the redemption date exclusive: 2000-12-28..2001-01-01 (days360 =
    # 360 - 330 - 27 = 3) + 2001-01-01..03-31 (30*2 + (31 - 1) = 90) = 93 days, both
    # pieces due on the first payment date 2001-04-10, so rounded once:
    #   200 redeemed shares: 200 * 1000 * 0.10 * 93 / 360 = 5,166.666… -> 5,166.67
    #   price per share: Alder's 600 shares accrued 600 * 100 * 93 / 360 = 15,500.00,
    #   / 600 = 25.8333… -> 25.83: 1,025.83; paid = 200 × 1,025.83 = 205,166.00 (the
    #   aggregate price is shares × the price per share; the 5,166.67 of accrual of the
    #   redeemed shares is what the redemption settles)
    assert D(600) * 100 * 93 / 360 == D("15500")
    [red] = redemptions(lg, "G")
    assert red == {"date": "2001-03-31", "holder": "Alder", "requested": "200",
                   "shares": "200", "price_per_share": "1025.83", "funds_available": None,
                   "stated": "200000.00", "accrued": "5166.67", "arrears": "0.00",
                   "paid": "205166.00", "event_id": "r1"}
    rep, series, holders = position(lg, "2001-03-31")
    g = series["G"]
    # issued_total counts every share ever issued (600 + 400), redeemed ones included
    assert (g["issued_total"], g["outstanding"], g["redeemed_total"]) == ("1000", "800", "200")
    assert holders[("Alder", "G")]["shares"] == "400"
    # the 800 left accrue through 2001-04-01 (as of D: to D + 1): 3 + 90 = 93 days
    # 400 * 100 * 93 / 360 = 10,333.33 each for Alder and Birch (rounded per holder)
    assert holders[("Alder", "G")]["accrued_unpaid"] == "10333.33"
    assert g["accrued_unpaid"] == "20666.66"
    # redemption_price_per_share = 1000 + 20,666.66 / 800 = 1000 + 25.833… -> 1,025.83
    assert g["redemption_price_per_share"] == "1025.83"
    assert g["votes"] == "0" and g["conversion_rate"] is None
    # the redeemed shares stopped accruing: due on 2001-04-10 is only the 800 shares'
    # 93 days (+ 0 for 04-01..04-10 of the next period) — 2 × 10,333.33
    assert position(lg, "2001-04-10")[1]["G"]["arrears"] == "20666.66"
    # the notice is used up
    assert lg.conversions("G")["notices"] == []


G_REDEEMED = G_BASE + [G_NOTICE, ev("SharesRedeemed", "2001-03-31", series="G",
                                    holder="Alder", shares="200")]
G_STORED = G_BASE + [K, issue("K", "2001-12-01", "Fir", "10", "k1")]
G_NOTICED = G_STORED + [G_NOTICE]
NOTICE = dict(type="RedemptionNoticed", effective_date="2001-03-02", series="G",
              redemption_date="2001-03-31")
REDEEM = dict(type="SharesRedeemed", effective_date="2001-03-31", series="G")

REFUSALS: list[Refusal] = [
    # G authorizes 2,000; 1,000 ever issued (200 redeemed): 1,001 more is too many
    refusal(G_REDEEMED, [issue("G", "2001-05-01", "Cedar", "1001", "g3")], "shares",
            "SharesIssued", "2001", "never reissued"),
    # 29 days of notice: not enough
    refusal(G_STORED, [{**NOTICE, "holders": {"Alder": "200"}}], "redemption_date",
            "RedemptionNoticed", "29 days", "at least 30"),
    refusal(G_STORED, [{**NOTICE, "holders": {"Nobody": "200"}}], "holders.Nobody",
            "unknown holder"),
    refusal(G_STORED, [{**NOTICE, "redemption_date": "2001-04-30",
                        "holders": {"Alder": "601"}}], "holders.Alder", "fewer than 601"),
    refusal(G_STORED, [{**NOTICE, "holders": {}}], "holders"),
    refusal(G_STORED, [{**NOTICE, "holders": {"Alder": 200}}], "holders.Alder",
            "JSON number"),
    # K has no redemption
    refusal(G_STORED, [{**NOTICE, "effective_date": "2001-12-02", "series": "K",
                        "redemption_date": "2002-02-01", "holders": {"Fir": "10"}}],
            "series", "not redeemable"),
    # no notice covers Birch
    refusal(G_STORED, [{**REDEEM, "holder": "Birch", "shares": "100"}], "holder",
            "SharesRedeemed", "no redemption notice"),
    # with Alder's notice of 200 stored: before the notice's redemption date
    refusal(G_NOTICED, [{**REDEEM, "effective_date": "2001-03-30", "holder": "Alder",
                         "shares": "200"}], "effective_date", "2001-03-31"),
    # more than noticed; more than held
    refusal(G_NOTICED, [{**REDEEM, "holder": "Alder", "shares": "300"}], "shares",
            "only 200"),
    refusal(G_NOTICED, [{**REDEEM, "holder": "Alder", "shares": "700"}], "shares",
            "fewer than 700"),
    refusal(G_NOTICED, [{**REDEEM, "holder": "Nobody", "shares": "1"}], "holder",
            "unknown holder"),
    # a second notice to Alder while the first is pending
    refusal(G_NOTICED, [{**NOTICE, "effective_date": "2001-03-15",
                         "redemption_date": "2001-04-30", "holders": {"Alder": "100"}}],
            "holders.Alder", "still under the notice of 2001-03-01"),
    # a back-dated transfer that leaves Alder with fewer shares than the stored notice
    # names is caught when the whole timeline is replayed: the stored notice's problem
    refusal(G_NOTICED, [ev("SharesTransferred", "2001-02-01", series="G",
                           from_holder="Alder", to_holder="Birch", shares="500")],
            "holders.Alder", "stored event RedemptionNoticed", line=0),
]


def test_redeemed_shares_never_return_to_the_authorized_pool():
    # 1,001 more is refused (REFUSALS); 1,000 brings G to its 2,000 authorized exactly
    lg = book(G_REDEEMED).load([issue("G", "2001-05-01", "Cedar", "1000", "g3")])
    assert lg.series("2001-05-01", "G")["issued_total"] == "2000"  # 1,000 + 1,000


H_DOGWOOD = [H, issue("H", "2001-04-20", "Dogwood Fund", "2000", "h1"),
             ev("CommonStockIssued", "2001-04-20", shares="1000000", kind="opening")]
H_NOTICED = H_DOGWOOD + [
    ev("RedemptionNoticed", "2001-07-01", series="H", redemption_date="2001-07-31",
       holders={"Dogwood Fund": "500"}),
    # the holder converts 300 before the redemption date: noticed first
    ev("SharesConverted", "2001-07-10", series="H", holder="Dogwood Fund", shares="300")]
REFUSALS += [
    # H: 30 days too (Series H §6); 29 are rejected
    refusal(H_DOGWOOD, [ev("RedemptionNoticed", "2001-07-02", series="H",
                           redemption_date="2001-07-31", holders={"Dogwood Fund": "500"})],
            "redemption_date", "at least 30"),
    refusal(H_NOTICED, [ev("SharesRedeemed", "2001-07-31", series="H",
                           holder="Dogwood Fund", shares="500")], "shares", "only 200"),
]


def test_h_redemption_notice_and_conversion_of_noticed_shares():
    # 29 days of notice, and 500 when only 200 are still noticed, are refused (REFUSALS)
    lg = book(H_NOTICED).load([ev("SharesRedeemed", "2001-07-31", series="H",
                                  holder="Dogwood Fund", shares="200")])
    # 2001-06-10 amount fell due and is unpaid: 2000 * 100 * 50 / 360 = 27,777.78
    # (days360(04-20, 06-10) = 30*2 + (10 - 20) = 50). On 2001-07-31 Dogwood holds 1,700:
    # not yet due 06-10..07-31: 30 + 21 = 51 days: 1700 * 100 * 51 / 360 = 24,083.33
    # price = 1000 + (27,777.78 + 24,083.33) / 1700 = 1000 + 30.5065… -> 1,030.51
    # the 200 redeemed: 200 * 100 * 51 / 360 = 2,833.33 accrued, and
    # 27,777.78 * 200 / 1700 = 3,267.9741… -> 3,267.97 of the arrears
    [red] = redemptions(lg, "H")
    assert (red["price_per_share"], red["accrued"], red["arrears"], red["paid"]) == (
        "1030.51", "2833.33", "3267.97", "206102.00")  # paid 200 × 1,030.51
    rep, series, holders = position(lg, "2001-07-31")
    dog = holders[("Dogwood Fund", "H")]
    assert dog["shares"] == "1500"
    # arrears left 27,777.78 - 3,267.97 = 24,509.81; 1,500 shares' 06-10..08-01 = 51 + 0…:
    # days360(06-10, 08-01) = 51 -> 1500 * 100 * 51 / 360 = 21,250.00
    assert series["H"]["arrears"] == "24509.81"
    assert dog["accrued_unpaid"] == "45759.81"  # 24,509.81 + 21,250.00


# -- M: 15 days notice, DGCL §160 ----------------------------------------------------------

M_BASE = [M, issue("M", "2005-02-01", "Alder", "3000", "m1")]
M_NOTICE = ev("RedemptionNoticed", "2005-06-01", series="M", redemption_date="2005-06-16",
              holders={"Alder": "3000"}, id="mn")


M_PART = M_BASE + [M_NOTICE, ev(
    "SharesRedeemed", "2005-06-16", series="M", holder="Alder", shares="3000",
    funds_available="1000000.00", id="r1")]
M_ALL = M_PART + [ev("SharesRedeemed", "2005-06-20", series="M", holder="Alder",
                     shares="2019", funds_available="5000000")]
NOTHING: list[dict[str, Any]] = []
REFUSALS += [
    # a file whose third line gives M's holder 14 days of notice: 15 are needed
    refusal(NOTHING, M_BASE + [
        ev("RedemptionNoticed", "2005-06-02", series="M", redemption_date="2005-06-16",
           holders={"Alder": "3000"})], "redemption_date", "14 days", "at least 15", line=3),
    # after both redemptions below nothing is under notice any more
    refusal(M_ALL, [ev("SharesRedeemed", "2005-06-21", series="M", holder="Alder",
                       shares="1")], "shares"),
]


def test_m_redemption_with_too_little_funds():
    lg = book(M_PART)
    # due 2005-04-01 and unpaid: 2005-02-01..04-01 = 60 days: 3000 * 1000 * 0.05 * 60 / 360
    #   = 25,000.00 (arrears)
    # not yet due to 2005-06-16: 04-01..06-16 = 30*2 + 15 = 75 days:
    #   3000 * 50 * 75 / 360 = 31,250.00
    # price = 1000 + (25,000 + 31,250) / 3000 = 1000 + 18.75 = 1,018.75
    # 3000 * 1018.75 = 3,056,250 > 1,000,000: redeem floor(1,000,000 / 1018.75) = 981
    price = D("1018.75")
    n = (D("1000000") / price).to_integral_value(ROUND_FLOOR)
    assert n == 981 and n * price <= D("1000000") < (n + 1) * price
    # paid: 981 × 1,018.75 = 999,393.75; it settles 981 * 50 * 75 / 360 = 10,218.75 of
    #   accrual and 25,000 * 981 / 3000 = 8,175.00 of arrears (981,000 + 10,218.75 +
    #   8,175.00 = 999,393.75)
    assert D(981) * 50 * 75 / 360 == D("10218.75")
    [red] = redemptions(lg, "M")
    assert red == {"date": "2005-06-16", "holder": "Alder", "requested": "3000",
                   "shares": "981", "price_per_share": "1018.75",
                   "funds_available": "1000000.00", "stated": "981000.00",
                   "accrued": "10218.75", "arrears": "8175.00", "paid": "999393.75",
                   "event_id": "r1"}
    rep, series, holders = position(lg, "2005-06-16")
    m = series["M"]
    # the rest stays outstanding and noticed
    assert (m["outstanding"], m["redeemed_total"], m["issued_total"]) == ("2019", "981", "3000")
    assert lg.conversions("M")["notices"] == [{
        "holder": "Alder", "notice_date": "2005-06-01", "redemption_date": "2005-06-16",
        "shares": "2019"}]
    assert m["arrears"] == "16825.00"  # 25,000 - 8,175
    # votes as converted: 2019 × 4000
    assert m["votes"] == "8076000"
    # the rest is redeemed later, when funds allow (M §6(b)(iii)): 2005-06-20
    # not yet due 04-01..06-20 = 60 + 19 = 79 days: 2019 * 50 * 79 / 360 = 22,152.9166…
    #   -> 22,152.92; arrears 16,825.00 all carried; price 1000 + 38,977.92 / 2019
    #   = 1000 + 19.3056… -> 1,019.31; paid 2019 × 1,019.31 = 2,057,986.89
    lg = book(M_ALL)
    red = redemptions(lg, "M")[1]
    assert (red["shares"], red["price_per_share"], red["accrued"], red["arrears"],
            red["paid"]) == ("2019", "1019.31", "22152.92", "16825.00", "2057986.89")
    rep, series, holders = position(lg, "2005-06-20")
    assert (series["M"]["outstanding"], series["M"]["arrears"],
            series["M"]["accrued_unpaid"]) == ("0", "0.00", "0.00")
    assert ("Alder", "M") not in holders  # nothing held, nothing owed
    assert series["M"]["redemption_price_per_share"] is None
    # nothing is under notice any more: a further redemption is refused (REFUSALS)


def test_m_funds_for_no_whole_share_redeem_nothing():
    lg = book(M_BASE + [M_NOTICE, ev(
        "SharesRedeemed", "2005-06-16", series="M", holder="Alder", shares="100",
        funds_available="1018.74")])  # one cent short of one share at 1,018.75
    assert redemptions(lg, "M") == []
    assert position(lg, "2005-06-16")[1]["M"]["outstanding"] == "3000"
    # exactly one share's price redeems one share: 1000 + 50 * 75 / 360 = 10.4166… ->
    # 10.42 accrued + 25,000 / 3000 = 8.333… -> 8.33 arrears = 1,018.75
    lg = lg.load([ev("SharesRedeemed", "2005-06-17", series="M", holder="Alder",
                     shares="100", funds_available="1018.75")])
    # on 06-17 the accrual runs one day more: 76 days: 3000 * 50 * 76 / 360 = 31,666.67
    # price 1000 + (25,000 + 31,666.67) / 3000 = 1000 + 18.8889 -> 1,018.89 > 1,018.75
    assert redemptions(lg, "M") == []
    lg = lg.load([ev("SharesRedeemed", "2005-06-18", series="M", holder="Alder",
                     shares="100", funds_available="10000")])
    # 06-18: 77 days: 3000 * 50 * 77 / 360 = 32,083.33; price 1000 + 57,083.33 / 3000
    # = 1000 + 19.0278 -> 1,019.03; floor(10,000 / 1019.03) = 9 shares; paid 9 × 1,019.03
    # = 9,171.27; settling 9 * 50 * 77 / 360 = 96.25 accrued and 25,000 * 9 / 3000 = 75.00
    [red] = redemptions(lg, "M")
    assert (red["shares"], red["price_per_share"], red["accrued"], red["arrears"],
            red["paid"]) == ("9", "1019.03", "96.25", "75.00", "9171.27")


def test_m_funds_exactly_n_times_the_price_redeem_n_shares():
    lg = book(M_BASE + [
        # the 2005-04-01 amount (25,000.00, as above) is paid: no arrears
        ev("DividendPaid", "2005-04-01", series="M", amount="25000.00"),
        ev("RedemptionNoticed", "2005-03-20", series="M", redemption_date="2005-04-06",
           holders={"Alder": "3000"}),
        ev("SharesRedeemed", "2005-04-06", series="M", holder="Alder", shares="3000",
           funds_available="1000690.00")])
    # 04-01..04-06: 5 days: 3000 * 50 * 5 / 360 = 2,083.33; / 3000 = 0.6944 -> 0.69:
    # price 1,000.69; floor(1,000,690 / 1,000.69) = 1,000 shares, paid exactly the funds
    [red] = redemptions(lg, "M")
    assert (red["shares"], red["price_per_share"], red["paid"]) == (
        "1000", "1000.69", "1000690.00")
    # the accrual the 1,000 shares settle: 1000 * 50 * 5 / 360 = 694.44
    assert red["accrued"] == "694.44" and red["arrears"] == "0.00"
    assert position(lg, "2005-04-06")[1]["M"]["outstanding"] == "2000"


M_TERMS = json.loads(resources.files("fixtures").joinpath("nstor", "M.json").read_text())
M_CLOSING = [ev("SeriesDesignated", "2005-01-10", series="M",
                # an explicit closing date after a first issuance
                terms={**M_TERMS, "closing_date": "2005-03-01"}),
             issue("M", "2005-02-01", "Alder", "100", "m1")]
REFUSALS += [
    refusal(M_CLOSING, [ev("RedemptionNoticed", "2005-02-20", series="M",
                           redemption_date="2005-03-20", holders={"Alder": "100"})],
            "effective_date", "closing date (2005-03-01)"),
]


def test_m_notice_only_from_the_closing_date():
    # before the closing date a notice is refused (REFUSALS); on the closing date itself it
    # may be given (SPEC.md §11)
    lg = book(M_CLOSING).load([ev("RedemptionNoticed", "2005-03-01", series="M",
                                  redemption_date="2005-03-16", holders={"Alder": "100"})])
    assert lg.conversions("M")["notices"] == [{
        "holder": "Alder", "notice_date": "2005-03-01", "redemption_date": "2005-03-16",
        "shares": "100"}]


@pytest.mark.parametrize("case", REFUSALS, ids=[f"r{i}" for i in range(len(REFUSALS))])
def test_refusal_names_the_event_and_field(case):
    refuse(case)


@pytest.mark.parametrize("cases", by_stored(REFUSALS), ids=lambda cs: f"{len(cs)}-cases")
def test_every_refusal_through_load_exits_2_and_stores_nothing(cli, jsonl, cases):
    cli.refuses_all(jsonl, cases)


def test_backdated_conversion_that_breaks_a_stored_redemption_is_rejected(cli, jsonl):
    """The load path names the new line that breaks a stored event (both stores)."""
    r = cli("load", str(jsonl([
        H, ev("CommonStockIssued", "2001-04-12", shares="1000", kind="opening"),
        issue("H", "2001-04-20", "Dogwood Fund", "2000", "h1"),
        ev("RedemptionNoticed", "2002-01-01", series="H", redemption_date="2002-02-01",
           holders={"Dogwood Fund": "2000"}),
        ev("SharesRedeemed", "2002-02-01", series="H", holder="Dogwood Fund",
           shares="2000")])))
    assert r.exit_code == 0, r.output
    # converting 300 on 2002-01-10, after the notice: noticed shares convert first, so
    # only 1,700 remain held and noticed for the stored 2002-02-01 redemption of 2,000
    err = cli.refuses(jsonl([ev("SharesConverted", "2002-01-10", series="H",
                                holder="Dogwood Fund", shares="300")]), field="shares")
    assert "makes the later stored event SharesRedeemed (2002-02-01) invalid" in err
    # converting before the notice makes the stored notice itself too large
    err = cli.refuses(jsonl([ev("SharesConverted", "2001-12-15", series="H",
                                holder="Dogwood Fund", shares="300")]),
                      field="holders.Dogwood Fund")
    assert "makes the later stored event RedemptionNoticed (2002-01-01) invalid" in err
