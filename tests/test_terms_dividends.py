"""General dividend terms (SPEC.md §12 Dividends): day counts, dividends paid in kind,
non-cumulative series with declared dividends, compounding. Every expected figure is hand
arithmetic written here ($1,000 stated, rounded half-up per holder per period)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from ledger.checks import check
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
    owed = 2_000_000  # cents, the series
    ann = 1_200_000  # cents, Ann's part
    for k, c in enumerate(amounts):
        e = paid("2024-04-01", f"{c / 100:.2f}", "Ann" if named[k] else None,
                 "shares" if in_kind[k] else None)
        if problems_of([*evs, e]):
            assert c > (ann if named[k] else owed) or in_kind[k]
            continue
        evs.append(e)
        st = state(evs, "2024-04-01")
        left = st.series["P"].unpaid()
        assert left >= 0 and st.series["P"].unpaid("Ann") >= 0
        applied = st.payments[-1].amount
        assert applied <= Decimal(c) / 100
        owed -= int(applied * 100)
        ann = int(st.series["P"].unpaid("Ann") * 100)
        assert int(left * 100) == owed


# -- cumulative: false and DividendDeclared ------------------------------------------------------

NONCUM = terms(cumulative=False, period_starts=None)


def declare(date: str, amount: str, record: str, payment: str, **kw: Any) -> dict[str, Any]:
    return ev("DividendDeclared", date, series="P", amount_per_share=amount,
              record_date=record, payment_date=payment, **kw)


def test_non_cumulative_owes_nothing_by_itself() -> None:
    # the same 8% series cumulative would owe 1,000 x 1,000 x 0.08 x 90/360 = $20,000.00
    # a quarter: eleven quarters to 2026-10-01 would be $220,000.00 of arrears
    evs = [designate(NONCUM), issue("Ann", "1000", "2024-01-01")]
    r = row(pos(evs, "2026-12-31"))
    assert r["arrears"] == "0.00" and r["accrued_unpaid"] == "0.00"
    assert r["declared_unpaid"] == "0.00" and r["missed_streak"] is None
    assert r["dividend_rate"] == "0.08"  # the stated rate, paid only when declared
    assert r["liquidation_preference"] == "1000000.00"  # 1,000 x $1,000, nothing owed
    assert check(state(evs, "2026-12-31"), dt.date(2026, 12, 31)) == []
    cum = [designate(), issue("Ann", "1000", "2024-01-01")]
    assert row(pos(cum, "2026-12-31"))["arrears"] == "220000.00"


def test_declared_dividend_docs_example() -> None:
    # docs/terms.md: $12.50 a share, record date 2024-03-15: a holder of record of 1,250
    # shares is owed 1,250 x 12.50 = $15,625.00 on the payment date
    evs = [designate(NONCUM), issue("Ann", "1250", "2024-01-01"),
           declare("2024-03-01", "12.50", "2024-03-15", "2024-04-01", id="d1")]
    before = row(pos(evs, "2024-03-14"))  # not of record yet
    assert before["accrued_unpaid"] == "0.00" and before["declared_unpaid"] == "0.00"
    owed = pos(evs, "2024-03-15")  # owed from the end of the record date, not yet due
    assert row(owed)["accrued_unpaid"] == "15625.00" and row(owed)["arrears"] == "0.00"
    assert row(owed)["declared_unpaid"] == "15625.00"
    assert holder(owed, "Ann")["declared_unpaid"] == "15625.00"
    # liquidation preference: 1,250 x 1,000 + 15,625.00
    assert row(owed)["liquidation_preference"] == "1265625.00"
    due = row(pos(evs, "2024-04-01"))  # due on the payment date: arrears until paid
    assert due["arrears"] == "15625.00" and due["accrued_unpaid"] == "15625.00"
    done = [*evs, paid("2024-04-01", "15625.00")]
    assert row(pos(done, "2024-04-01"))["arrears"] == "0.00"
    assert row(pos(done, "2024-04-01"))["declared_unpaid"] == "0.00"


def test_holders_of_record_at_the_end_of_the_record_date() -> None:
    # a transfer ON the record date counts: Ann 1,000 x 12.50 = 12,500.00, Bo 250 x 12.50
    # = 3,125.00; a transfer the day after does not: Ann 15,625.00
    def with_transfer(on: str) -> dict[str, Any]:
        evs = [designate(NONCUM), issue("Ann", "1250", "2024-01-01"),
               declare("2024-03-01", "12.50", "2024-03-15", "2024-04-01"),
               ev("SharesTransferred", on, series="P", from_holder="Ann", to_holder="Bo",
                  shares="250")]
        return dues(evs, "2024-04-01")
    assert with_transfer("2024-03-15") == {"Ann 2024-04-01": "12500.00",
                                           "Bo 2024-04-01": "3125.00"}
    assert with_transfer("2024-03-16") == {"Ann 2024-04-01": "15625.00"}


def test_declared_amounts_round_half_up_per_holder() -> None:
    # 333 x $0.125 = 41.625 -> 41.63; 1 x 0.125 = 0.125 -> 0.13
    evs = [designate(NONCUM), issue("Ann", "333", "2024-01-01"), issue("Bo", "1", "2024-01-01"),
           declare("2024-03-01", "0.125", "2024-03-15", "2024-04-01")]
    assert dues(evs, "2024-04-01") == {"Ann 2024-04-01": "41.63", "Bo 2024-04-01": "0.13"}


def test_record_date_equal_to_payment_date() -> None:
    # due at the end of that day (the holders of record are known only then)
    evs = [designate(NONCUM), issue("Ann", "100", "2024-01-01"),
           declare("2024-03-01", "2", "2024-03-15", "2024-03-15")]
    assert row(pos(evs, "2024-03-15"))["arrears"] == "200.00"  # 100 x 2
    assert problems_of([*evs, paid("2024-03-16", "200.00")]) == []


def test_declaration_rejections() -> None:
    base = [issue("Ann", "100", "2024-01-01")]
    refused([designate(), *base, declare("2024-03-01", "1", "2024-03-15", "2024-04-01")],
            "series", "cumulative", "only for a non-cumulative")
    refused([designate(NONCUM), *base, declare("2024-03-16", "1", "2024-03-15",
                                               "2024-04-01")], "record_date",
            "before the declaration")
    refused([designate(NONCUM), *base, declare("2024-03-01", "1", "2024-03-15",
                                               "2024-03-14")], "payment_date",
            "before the record date")
    refused([designate(NONCUM), *base, declare("2024-03-01", "0", "2024-03-15",
                                               "2024-04-01")], "amount_per_share",
            "greater than zero")
    # nothing is owed before the payment date: paying early is more than the arrears
    refused([designate(NONCUM), *base, declare("2024-03-01", "1", "2024-03-15",
                                               "2024-04-01"), paid("2024-03-20", "100.00")],
            "amount", "more than the Series P arrears of 0.00")
    # a non-cumulative series has no payment dates to miss
    refused([designate(NONCUM), *base, ev("DividendMissed", "2024-04-01", series="P",
                                          payment_date="2024-04-01")], "series",
            "non-cumulative")


def test_unpaid_declared_dividends_are_no_unrecorded_miss() -> None:
    evs = [designate(NONCUM), issue("Ann", "100", "2024-01-01"),
           declare("2024-03-01", "1", "2024-03-15", "2024-04-01")]
    st = state(evs, "2024-12-31")
    assert st.series["P"].unpaid() == 100  # 100 x $1, unpaid
    assert check(st, dt.date(2024, 12, 31)) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves=hs.lists(hs.tuples(hs.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
                                hs.sampled_from(["issue", "transfer"]),
                                hs.integers(1, 500)), max_size=6),
       as_of=hs.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)))
def test_non_cumulative_never_shows_arrears_without_declarations(
        moves: list[tuple[dt.date, str, int]], as_of: dt.date) -> None:
    evs: list[dict[str, Any]] = [designate(NONCUM), issue("Ann", "1000", "2024-01-01")]
    held = 1000
    for day, kind, n in sorted(moves):
        if kind == "issue":
            evs.append(issue("Bo", str(n), day.isoformat()))
        elif n <= held:
            evs.append(ev("SharesTransferred", day.isoformat(), series="P", from_holder="Ann",
                          to_holder="Cy", shares=str(n)))
            held -= n
    r = row(pos(evs, as_of.isoformat()))
    assert r["arrears"] == "0.00" and r["accrued_unpaid"] == "0.00"
    assert r["declared_unpaid"] == "0.00" and r["liquidation_preference"] == (
        f"{int(r['outstanding']) * 1000}.00")


# -- compounding: payment_date ---------------------------------------------------------------------

COMP = {"compounding": "payment_date"}


def test_compounding_docs_example() -> None:
    # docs/terms.md: 1,000 shares at 8%, calendar quarters. The quarter to 2024-04-01 owes
    # 1,000 x 1,000 x 8% x 90/360 = $20,000.00, unpaid. It joins the base from 04-02:
    # the next quarter owes $20,000.00 on the shares plus 20,000.00 x 8% x 89/360
    # (2024-04-02..07-01, days360 = 30 x 3 + (1 - 2) = 89) = $395.56: $20,395.56.
    evs = [designate(**COMP), issue("Ann", "1000", "2024-01-01")]
    assert dues(evs, "2024-07-01") == {"Ann 2024-04-01": "20000.00",
                                       "Ann 2024-07-01": "20395.56"}
    # the third quarter: [07-01, 07-02) at a base of 20,000.00 (1 day), then from 07-02
    # at 20,000.00 + 20,395.56 = 40,395.56 (days360(07-02, 10-01) = 89):
    # 0.08 x (20,000.00 x 1 + 40,395.56 x 89) / 360 = 0.08 x 3,615,204.84 / 360 = 803.38
    # -> 20,000.00 + 803.3789 = $20,803.38
    assert dues(evs, "2024-10-01")["Ann 2024-10-01"] == "20803.38"
    # without compounding the quarters stay $20,000.00
    plain = [designate(), issue("Ann", "1000", "2024-01-01")]
    assert dues(plain, "2024-07-01")["Ann 2024-07-01"] == "20000.00"


def test_compounding_cut_where_arrears_change() -> None:
    # $10,000.00 paid on 2024-05-16: the base is 20,000.00 for [04-02, 05-16) (days360 =
    # 30 + 14 = 44) and 10,000.00 for [05-16, 07-01) (45):
    # 0.08 x (20,000 x 44 + 10,000 x 45) / 360 = 0.08 x 1,330,000 / 360 = 295.56
    evs = [designate(**COMP), issue("Ann", "1000", "2024-01-01"),
           paid("2024-05-16", "10000.00")]
    assert dues(evs, "2024-07-01")["Ann 2024-07-01"] == "20295.56"
    # paid on its payment date: nothing is unpaid at its end, nothing compounds
    evs = [designate(**COMP), issue("Ann", "1000", "2024-01-01"),
           paid("2024-04-01", "20000.00")]
    assert dues(evs, "2024-07-01")["Ann 2024-07-01"] == "20000.00"


def test_compounding_in_accrued_unpaid() -> None:
    # as of 2024-05-15 (accrual to 05-16): arrears 20,000.00; the open quarter: shares
    # [04-01, 05-16) 45 days: 1,000,000 x 0.08 x 45/360 = 10,000.00; arrears [04-02,
    # 05-16) 44 days: 20,000 x 0.08 x 44/360 = 195.5556; rounded together 10,195.56
    evs = [designate(**COMP), issue("Ann", "1000", "2024-01-01")]
    r = row(pos(evs, "2024-05-15"))
    assert r["arrears"] == "20000.00" and r["accrued_unpaid"] == "30195.56"
    assert r["liquidation_preference"] == "1030195.56"


def test_compounding_with_act_365f() -> None:
    # ACT/365F: the first quarter, 91 actual days: 80,000 x 91/365 = 19,945.21; the
    # second: 80,000 x 91/365 = 19,945.2055 on the shares plus 19,945.21 x 0.08 x
    # 90/365 (04-02..07-01, 90 actual days) = 393.4397: 20,338.6452 -> $20,338.65
    evs = [designate(**COMP, day_count="ACT/365F"), issue("Ann", "1000", "2024-01-01")]
    assert dues(evs, "2024-07-01") == {"Ann 2024-04-01": "19945.21",
                                       "Ann 2024-07-01": "20338.65"}


def test_arrears_of_a_former_holder_keep_compounding() -> None:
    # Ann transfers all 1,000 to Bo on 2024-05-01: the quarter's accrual moves with the
    # shares (Bo: $20,000.00 on 07-01), Ann's $20,000.00 of arrears stay hers and keep
    # compounding: 20,000 x 0.08 x 89/360 = $395.56 due to Ann on 07-01
    evs = [designate(**COMP), issue("Ann", "1000", "2024-01-01"),
           ev("SharesTransferred", "2024-05-01", series="P", from_holder="Ann",
              to_holder="Bo", shares="1000")]
    got = dues(evs, "2024-07-01")
    assert got["Bo 2024-07-01"] == "20000.00" and got["Ann 2024-07-01"] == "395.56"
    assert holder(pos(evs, "2024-06-30"), "Ann")["shares"] == "0"


def test_compounding_amended_on_and_off() -> None:
    # compounding from 2024-05-16 only: 20,000 x 0.08 x 45/360 (05-16..07-01) = 200.00
    evs = [designate(), issue("Ann", "1000", "2024-01-01"),
           ev("TermsAmended", "2024-05-16", series="P",
              changes={"compounding": "payment_date"})]
    assert dues(evs, "2024-07-01")["Ann 2024-07-01"] == "20200.00"
    # and off again from 2024-06-01: [05-16, 06-01) = 15 days: 20,000 x 0.08 x 15/360 =
    # 66.67
    off = [*evs, ev("TermsAmended", "2024-06-01", series="P", changes={"compounding": "none"})]
    assert dues(off, "2024-07-01")["Ann 2024-07-01"] == "20066.67"


def test_redemption_settles_the_compounding_of_the_shares_redeemed() -> None:
    # redeemable on 30 days; Ann's $20,000.00 arrears of 2024-04-01 compound from 04-02.
    # Redeeming 500 of 1,000 on 2024-05-16: arrears carried 20,000 x 500/1,000 =
    # 10,000.00; the shares' accrual [04-01, 05-16) = 500 x 80 x 45/360 = 5,000.00; the
    # arrears' accrual [04-02, 05-16) = 20,000 x 0.08 x 44/360 = 195.5556, half of it
    # 97.78: accrued 5,000.00 + 97.78 = 5,097.78.
    # Price: 1,000 + (20,000.00 + 10,000.00 + 195.5556 -> 10,195.56) / 1,000 =
    # 1,000 + 30.19556 -> $1,030.20
    evs = [designate(**COMP, redeemable=True, redemption_notice_days=30),
           issue("Ann", "1000", "2024-01-01"),
           ev("RedemptionNoticed", "2024-04-16", series="P", redemption_date="2024-05-16",
              holders={"Ann": "500"}),
           ev("SharesRedeemed", "2024-05-16", series="P", holder="Ann", shares="500")]
    st = state(evs, "2024-07-01")
    [r] = st.redemptions
    assert f"{r.price_per_share:.2f}" == "1030.20" and f"{r.arrears:.2f}" == "10000.00"
    assert f"{r.accrued:.2f}" == "5097.78"
    # what stays: the other half of [04-02, 05-16) = 97.7778, then 10,000.00 of arrears
    # from 05-16 to 07-01 (45 days): 10,000 x 0.08 x 45/360 = 100.00; and the 500 shares'
    # quarter 500 x 80 x 90/360 = 10,000.00: 10,000 + 97.7778 + 100.00 = 10,197.78
    assert dues(evs, "2024-07-01")["Ann 2024-07-01"] == "10197.78"
