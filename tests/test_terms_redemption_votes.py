"""Redemption premium, the holder put and votes per share (SPEC.md §12 Redemption and
votes). Every expected figure is hand arithmetic written here (30/360, $1,000 stated)."""

from __future__ import annotations

from typing import Any

from ledger.conversion import listing
from tests.general_terms import (
    designate,
    ev,
    holder,
    pos,
    problems_of,
    refused,
    row,
    state,
    terms,
)

CALL = {"redeemable": True, "redemption_notice_days": 30}


def notice(date: str, redemption_date: str, holders: dict[str, str], **kw: Any
           ) -> dict[str, Any]:
    return ev("RedemptionNoticed", date, series="P", redemption_date=redemption_date,
              holders=holders, **kw)


def redeem(date: str, who: str, shares: str) -> dict[str, Any]:
    return ev("SharesRedeemed", date, series="P", holder=who, shares=shares)


def issue(who: str, shares: str, date: str = "2024-01-01") -> dict[str, Any]:
    return ev("SharesIssued", date, series="P", holder=who, shares=shares)


# -- redemption_premium ----------------------------------------------------------------------

def test_premium_in_the_redemption_price_docs_example() -> None:
    # docs/terms.md: premium 1.05 with $12.50 owed per share -> 1.05 x 1,000 + 12.50.
    # 5% for the quarter 2024-01-01..04-01 (30/360: 90 days): 1,000 x 0.05 x 90/360 =
    # $12.50 a share; as of 2024-03-31 the accrual runs to 04-01.
    evs = [designate(dividend_rate="0.05", redemption_premium="1.05", **CALL),
           issue("Ann", "1000")]
    assert row(pos(evs, "2024-03-31"))["redemption_price_per_share"] == "1062.50"
    # the default premium of 1: $1,000 + $12.50
    evs1 = [designate(dividend_rate="0.05", **CALL), issue("Ann", "1000")]
    assert row(pos(evs1, "2024-03-31"))["redemption_price_per_share"] == "1012.50"


def test_redeemed_at_the_premium() -> None:
    # 8%; Ann's 1,000 shares accrue 2024-01-01..03-31 exclusive: days360 = 30 x 2 +
    # (31 - 1) = 90 -> 1,000 x 1,000 x 0.08 x 90/360 = $20,000.00, $20.00 a share.
    # Price = 1.05 x 1,000 + 20.00 = $1,070.00; 400 shares pay 400 x 1,070 = $428,000.00,
    # of which the premium is 400 x (1,050 - 1,000) = $20,000.00.
    evs = [designate(redemption_premium="1.05", **CALL), issue("Ann", "1000"),
           notice("2024-03-01", "2024-03-31", {"Ann": "400"}), redeem("2024-03-31", "Ann", "400")]
    st = state(evs, "2024-03-31")
    [r] = listing(st, "P")["redemptions"]
    assert r["price_per_share"] == "1070.00"
    assert r["paid"] == "428000.00"
    assert r["premium"] == "20000.00" and r["by"] == "company"
    assert r["accrued"] == "8000.00"  # 400 x 1,000 x 0.08 x 90/360


# -- holder_redemption_from ------------------------------------------------------------------

PUT = {"holder_redemption_from": "2029-06-30", "redemption_notice_days": 30}
HELD = [designate(**PUT), issue("Ann", "1000"), issue("Bo", "500")]


def put(date: str, redemption_date: str, holders: dict[str, str]) -> dict[str, Any]:
    return notice(date, redemption_date, holders, by="holder")


def test_holder_put_docs_example() -> None:
    # docs/terms.md: from 2029-06-30 on 30 days' notice, a notice of 2029-07-01 may set
    # 2029-07-31 (30 days) or later; 2029-07-30 is 29 days
    assert problems_of([*HELD, put("2029-07-01", "2029-07-31", {"Ann": "1000"})]) == []
    refused([*HELD, put("2029-07-01", "2029-07-30", {"Ann": "1000"})], "redemption_date",
            "29 days of notice", "at least 30")


def test_holder_put_not_before_its_date() -> None:
    refused([*HELD, put("2029-06-29", "2029-08-01", {"Ann": "1000"})], "effective_date",
            "from 2029-06-30")


def test_holder_put_lists_only_that_holder() -> None:
    refused([*HELD, put("2029-07-01", "2029-08-01", {"Ann": "1000", "Bo": "500"})],
            "holders", "lists only that holder")


def test_holder_put_on_a_series_without_one() -> None:
    evs = [designate(**CALL), issue("Ann", "1000")]
    refused([*evs, put("2029-07-01", "2029-08-01", {"Ann": "1000"})], "by",
            "no right to require redemption")
    # and a company call on a series that only has a put
    refused([*HELD, notice("2029-07-01", "2029-08-01", {"Ann": "1000"})], "series",
            "not redeemable at the company's option")


def test_holder_put_redeems_at_the_premium_with_arrears() -> None:
    # 8% quarterly, nothing paid. Bo puts 500 on 2029-07-01 for 2029-07-31.
    # Bo's arrears: every quarter 2024-01-01..2029-07-01 (22 quarters) owes
    # 500 x 1,000 x 0.08 x 90/360 = $10,000.00 -> $220,000.00, $440.00 a share;
    # accrual 2029-07-01..07-31 exclusive: days360 = 30 -> 500 x 80 x 30/360 = $3,333.33,
    # $6.67 a share (3,333.33 / 500 = 6.66666 -> 6.67).
    # Price = 1.10 x 1,000 + (220,000.00 + 3,333.33) / 500 = 1,100 + 446.67 = $1,546.67.
    evs = [designate(**PUT, redemption_premium="1.10"), issue("Ann", "1000"),
           issue("Bo", "500"), put("2029-07-01", "2029-07-31", {"Bo": "500"}),
           redeem("2029-07-31", "Bo", "500")]
    st = state(evs, "2029-07-31")
    [r] = listing(st, "P")["redemptions"]
    assert r["by"] == "holder"
    assert r["arrears"] == "220000.00" and r["accrued"] == "3333.33"
    assert r["price_per_share"] == "1546.67"
    assert r["paid"] == "773335.00"  # 500 x 1,546.67
    assert r["premium"] == "50000.00"  # 500 x (1,100 - 1,000)
    p = pos(evs, "2029-07-31")
    assert row(p)["outstanding"] == "1000"
    # the redemption price of the rest: Ann's 1,000 owe 22 x $20,000.00 = $440,000.00 of
    # arrears plus 2029-07-01..08-01 (30 days) 1,000 x 80 x 30/360 = $6,666.67:
    # 1,100 + 446,666.67 / 1,000 = 1,100 + 446.67 = $1,546.67
    assert row(p)["redemption_price_per_share"] == "1546.67"


def test_put_notices_show_who_gave_them() -> None:
    st = state([*HELD, put("2029-07-01", "2029-07-31", {"Ann": "600"})], "2029-07-01")
    assert listing(st, "P")["notices"] == [
        {"holder": "Ann", "notice_date": "2029-07-01", "redemption_date": "2029-07-31",
         "shares": "600", "by": "holder"}]


# -- votes per_share -------------------------------------------------------------------------

def test_votes_per_share_docs_examples() -> None:
    # docs/terms.md: votes_per_share 10, 1,234.5 shares -> floor(12,345) = 12,345;
    # 0.5 a share, 1,235 shares -> floor(617.5) = 617
    ten = [designate(votes="per_share", votes_per_share="10"), issue("Ann", "1234.5")]
    p = pos(ten, "2024-01-01")
    assert holder(p, "Ann")["votes"] == "12345" and row(p)["votes"] == "12345"
    assert p["total_votes"] == "12345"  # no common outstanding
    half = [designate(votes="per_share", votes_per_share="0.5"), issue("Ann", "1235"),
            issue("Bo", "3")]
    p = pos(half, "2024-01-01")
    # floored per holder: Ann floor(617.5) = 617, Bo floor(1.5) = 1; the series 618
    assert holder(p, "Ann")["votes"] == "617" and holder(p, "Bo")["votes"] == "1"
    assert row(p)["votes"] == "618"


def test_votes_per_share_default_one() -> None:
    p = pos([designate(votes="per_share"), issue("Ann", "250.75")], "2024-01-01")
    assert holder(p, "Ann")["votes"] == "250"  # floor(250.75 x 1)


def test_per_share_votes_differ_from_none() -> None:
    # the default "none": the same holding casts nothing
    p = pos([designate(terms()), issue("Ann", "1000")], "2024-01-01")
    assert holder(p, "Ann")["votes"] == "0"
