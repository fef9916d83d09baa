"""General dividend terms (SPEC.md §12 Dividends): day counts, dividends paid in kind,
non-cumulative series with declared dividends, compounding. Every expected figure is hand
arithmetic written here ($1,000 stated, rounded half-up per holder per period)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from tests.general_terms import (
    designate,
    ev,
    holder,
    issue,
    pos,
    problems_of,
    refused,
    row,
    state,
    terms,
)

SEMI = ["01-01", "07-01"]


def dues(evs: list[dict[str, Any]], as_of: str, series: str = "P") -> dict[str, str]:
    st = state(evs, as_of)
    out: dict[str, str] = {}
    for h, xs in sorted(st.series[series].dues.items()):
        for x in xs:
            out[f"{h} {x.due_date}"] = f"{x.amount:.2f}"
    return out


def paid(date: str, amount: str, who: str | None = None, form: str | None = None
         ) -> dict[str, Any]:
    e = ev("DividendPaid", date, series="P", amount=amount)
    if who:
        e["holder"] = who
    if form:
        e["form"] = form
    return e


# -- day_count ------------------------------------------------------------------------------

def _half_year(basis: str) -> str:
    evs = [designate(period_starts=SEMI, day_count=basis), issue("Ann", "1000", "2024-01-01")]
    return dues(evs, "2024-07-01")["Ann 2024-07-01"]


def test_day_counts_docs_example() -> None:
    # docs/terms.md: 1,000 shares x $1,000 x 8% from 2024-01-01 to 2024-07-01, 182 actual
    # days: 30/360 180/360 x 80,000 = $40,000.00; ACT/365F 182/365 x 80,000 = 39,890.41;
    # ACT/360 182/360 x 80,000 = 40,444.44; ACT/ACT (2024 has 366 days) 182/366 x 80,000
    # = 39,781.42
    assert _half_year("30/360") == "40000.00"
    assert _half_year("ACT/365F") == "39890.41"
    assert _half_year("ACT/360") == "40444.44"
    assert _half_year("ACT/ACT") == "39781.42"


def test_act_act_across_a_year_end_docs_example() -> None:
    # 2023-10-01..2024-04-01: 92 days of 2023 / 365 + 91 days of 2024 / 366
    # = 0.2520548 + 0.2486339 = 0.5006887 -> 80,000 x 0.5006887 = $40,055.09
    t = terms(designated="2023-10-01", period_starts=["04-01", "10-01"], day_count="ACT/ACT")
    evs = [designate(t), issue("Ann", "1000", "2023-10-01")]
    assert dues(evs, "2024-04-01") == {"Ann 2024-04-01": "40055.09"}
    # ACT/365F on the same period: 183/365 x 80,000 = 40,109.59
    t = terms(designated="2023-10-01", period_starts=["04-01", "10-01"], day_count="ACT/365F")
    evs = [designate(t), issue("Ann", "1000", "2023-10-01")]
    assert dues(evs, "2024-04-01") == {"Ann 2024-04-01": "40109.59"}


def test_a_rate_change_cuts_the_piece_under_every_basis() -> None:
    # 8% amended to 10% on 2024-01-31; quarter 2024-01-01..04-01:
    # 30/360: [01-01, 01-31) 30 days, [01-31, 04-01) 30 x 3 + (1 - 30) = 61 (d1 31 -> 30)
    #   -> 1,000,000 x (0.08 x 30 + 0.10 x 61) / 360 = 1,000,000 x 8.5 / 360 = 23,611.11
    # ACT/365F: 30 and 61 actual days -> 1,000,000 x 8.5 / 365 = 23,287.67
    # ACT/360: 1,000,000 x 8.5 / 360 = 23,611.11 (the same days here)
    # ACT/ACT: all in 2024 (366 days) -> 1,000,000 x 8.5 / 366 = 23,224.04
    for basis, want in (("30/360", "23611.11"), ("ACT/365F", "23287.67"),
                        ("ACT/360", "23611.11"), ("ACT/ACT", "23224.04")):
        evs = [designate(day_count=basis), issue("Ann", "1000", "2024-01-01"),
               ev("TermsAmended", "2024-01-31", series="P", changes={"dividend_rate": "0.10"})]
        assert dues(evs, "2024-04-01") == {"Ann 2024-04-01": want}, basis


# -- dividend_form and pik_price ----------------------------------------------------------------

PIK = {"dividend_form": "cash_or_shares"}


def test_pik_docs_examples() -> None:
    # docs/terms.md: $20,000.00 in kind at $1,000 buys 20 shares. Ann's 1,000 owe
    # 1,000 x 1,000 x 0.08 x 90/360 = $20,000.00 on 2024-04-01.
    evs = [designate(**PIK), issue("Ann", "1000", "2024-01-01"),
           paid("2024-04-01", "20000.00", "Ann", "shares")]
    p = pos(evs, "2024-04-01")
    assert row(p)["outstanding"] == "1020" and row(p)["issued_total"] == "1020"
    assert row(p)["pik_shares"] == "20" and row(p)["arrears"] == "0.00"
    # the PIK lot accrues from 2024-04-01: the next quarter owes 1,020 x 1,000 x 0.08 x
    # 90/360 = $20,400.00
    assert dues(evs, "2024-07-01")["Ann 2024-07-01"] == "20400.00"
    # $20,500.00 buys 20 shares and $500.00 stays owed: 1,025 shares owe 1,025 x 20 =
    # $20,500.00
    evs = [designate(**PIK), issue("Ann", "1025", "2024-01-01"),
           paid("2024-04-01", "20500.00", "Ann", "shares")]
    p = pos(evs, "2024-04-01")
    assert row(p)["pik_shares"] == "20" and row(p)["arrears"] == "500.00"
    # at a pik_price of $950, $20,000.00 buys floor(21.05) = 21 shares (21 x 950 =
    # $19,950.00) and $50.00 stays owed
    evs = [designate(**PIK, pik_price="950"), issue("Ann", "1000", "2024-01-01"),
           paid("2024-04-01", "20000.00", "Ann", "shares")]
    p = pos(evs, "2024-04-01")
    assert row(p)["pik_shares"] == "21" and row(p)["arrears"] == "50.00"
    assert holder(p, "Ann")["shares"] == "1021"


def test_series_wide_pik_is_split_like_cash_then_floored_per_holder() -> None:
    # Ann 600, Bo 400 owe 12,000.00 and 8,000.00 on 2024-04-01. $15,000.00 in kind,
    # split pro rata inside the due date: Ann 15,000 x 0.6 = 9,000.00, Bo 6,000.00.
    # At $950: Ann floor(9.47) = 9 shares ($8,550.00), Bo floor(6.31) = 6 ($5,700.00);
    # still owed: Ann 12,000 - 8,550 = 3,450.00, Bo 8,000 - 5,700 = 2,300.00: 5,750.00
    evs = [designate(**PIK, pik_price="950"), issue("Ann", "600", "2024-01-01"),
           issue("Bo", "400", "2024-01-01"), paid("2024-04-01", "15000.00", form="shares")]
    p = pos(evs, "2024-04-01")
    assert row(p)["pik_shares"] == "15" and row(p)["arrears"] == "5750.00"
    assert holder(p, "Ann")["shares"] == "609" and holder(p, "Bo")["shares"] == "406"
    st = state(evs, "2024-04-01")
    [payment] = st.payments
    assert payment.form == "shares" and str(payment.amount) == "14250"  # 8,550 + 5,700
    assert dict(payment.in_kind) == {"Ann": 9, "Bo": 6}


def test_pik_shares_count_against_authorized() -> None:
    # 1,000 of 1,010 issued: 20 PIK shares would make 1,020 > 1,010
    evs = [designate(**PIK, authorized_shares="1010"), issue("Ann", "1000", "2024-01-01"),
           paid("2024-04-01", "20000.00", "Ann", "shares")]
    refused(evs, "amount", "bringing the series to 1020 issued, more than the 1010 "
                           "authorized")
    # and shares paid in kind are never issued again: 10 PIK shares (1,010), then a sale
    # of 1 share is over
    evs = [designate(**PIK, authorized_shares="1010"), issue("Ann", "1000", "2024-01-01"),
           paid("2024-04-01", "10000.00", "Ann", "shares"), issue("Bo", "1", "2024-05-01")]
    refused(evs, "shares", "1011 shares issued, more than the 1010 authorized")


def test_dividend_form_decides_which_payments_are_allowed() -> None:
    base = [issue("Ann", "1000", "2024-01-01")]
    # cash (the default): no payment in kind
    refused([designate(), *base, paid("2024-04-01", "20000.00", "Ann", "shares")], "form",
            "paid in cash", "not in shares")
    # shares: no cash payment
    refused([designate(dividend_form="shares"), *base, paid("2024-04-01", "20000.00", "Ann")],
            "form", "paid in shares", "not in cash")
    # cash_or_shares: both
    assert problems_of([designate(**PIK), *base, paid("2024-04-01", "10000.00", "Ann"),
                        paid("2024-04-01", "10000.00", "Ann", "shares")]) == []


def test_pik_that_buys_no_share_is_refused() -> None:
    refused([designate(**PIK), issue("Ann", "1000", "2024-01-01"),
             paid("2024-04-01", "999.99", "Ann", "shares")], "amount", "buys no whole")


# -- properties ------------------------------------------------------------------------------

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(authorized=hs.integers(1, 3000), ann=hs.integers(1, 1500), bo=hs.integers(0, 1500),
       cents=hs.integers(1, 6_000_000), price=hs.sampled_from(["1000", "950", "10.5"]),
       named=hs.booleans())
def test_pik_never_exceeds_authorized(authorized: int, ann: int, bo: int, cents: int,
                                      price: str, named: bool) -> None:
    evs = [designate(**PIK, pik_price=price, authorized_shares=str(authorized)),
           issue("Ann", str(ann), "2024-01-01")]
    if bo:
        evs.append(issue("Bo", str(bo), "2024-02-01"))
    evs.append(paid("2024-04-01", f"{cents / 100:.2f}", "Ann" if named else None, "shares"))
    if problems_of(evs):
        return  # refused (over authorized, over what is owed, ...): nothing issued
    r = row(pos(evs, "2024-04-01"))
    assert int(r["issued_total"]) <= authorized
    assert int(r["issued_total"]) == ann + bo + int(r["pik_shares"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amounts=hs.lists(hs.integers(1, 3_000_000), min_size=1, max_size=4),
       named=hs.lists(hs.booleans(), min_size=4, max_size=4),
       in_kind=hs.lists(hs.booleans(), min_size=4, max_size=4))
def test_payments_never_exceed_what_is_owed(amounts: list[int], named: list[bool],
                                            in_kind: list[bool]) -> None:
    # owed on 2024-04-01: Ann 600 x 20 = 12,000.00, Bo 400 x 20 = 8,000.00 (30/360, 90
    # days at 8%); each accepted payment lowers the arrears by what it applied, never
    # below zero; a payment of more than is owed is refused
    evs: list[dict[str, Any]] = [designate(**PIK), issue("Ann", "600", "2024-01-01"),
                                 issue("Bo", "400", "2024-01-01")]
    owed = 2_000_000  # cents
    for k, c in enumerate(amounts):
        e = paid("2024-04-01", f"{c / 100:.2f}", "Ann" if named[k] else None,
                 "shares" if in_kind[k] else None)
        if problems_of([*evs, e]):
            assert c > owed or in_kind[k]
            continue
        evs.append(e)
        st = state(evs, "2024-04-01")
        left = st.series["P"].unpaid()
        assert left >= 0
        applied = st.payments[-1].amount
        assert applied <= Decimal(c) / 100
        owed -= int(applied * 100)
        assert int(left * 100) == owed
