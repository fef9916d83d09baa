"""The limits of the data (``ledger.limits``, docs/limits.md) and the horizon.

- A ledger built at (just under) every limit loads, and then every report runs at its
  horizon without error: on SQLite every command, on PostgreSQL a load, a position and
  a waterfall. One figure at the horizon is checked by hand arithmetic (a series
  accruing at the highest rate on the highest stated value for sixty years).
- Just over each limit, a load is refused with exit 2, the message naming the event,
  the field, the value and the limit, and every row of the store left as it was.
- Each absurd input of the adversarial pass is refused with its message.
- docs/limits.md and the table stay in step.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger import limits
from ledger.limits import LIMITS
from tests.conftest import REPO, Cli, StoreSpec
from tests.general_terms import designate, ev, problems_of, terms

# -- a ledger at (just under) every limit ------------------------------------------------

ANN_COMMON = "999999"  # × the cumulative split factor 10^9: just under 10^15 common


def common(date: str, holder: str, shares: str, **kw: Any) -> dict[str, Any]:
    return ev("CommonStockIssued", date, shares=shares, kind=kw.pop("kind", "other"),
              holder=holder, **kw)


def split(date: str, ratio: str) -> dict[str, Any]:
    return ev("CommonStockSplit", date, ratio=ratio)


def issue(series: str, holder: str, shares: str, date: str, **kw: Any) -> dict[str, Any]:
    return ev("SharesIssued", date, series=series, holder=holder, shares=shares, **kw)


def series(name: str, date: str = "2001-01-01", **kw: Any) -> dict[str, Any]:
    """Inline terms of ``name``: no dividends unless given."""
    t = {"series": name, "designated": date, "authorized_shares": "1000",
         "stated_value": "1000", "par_value": "0.01", **kw}
    return ev("SeriesDesignated", date, series=name, terms=t)


MONTHLY = [f"{m:02d}-01" for m in range(1, 13)]

EDGE: list[dict[str, Any]] = [
    # the earliest date; splits of the largest and the smallest ratio, to the largest
    # cumulative factor (10^4 × 10^4 × 10 = 10^9), then down to 10^5
    common("1900-01-01", "Ann", ANN_COMMON, kind="opening"),
    split("2000-02-01", "10000"),
    split("2000-03-01", "10000"),
    split("2000-04-01", "10"),
    common("2000-05-01", "Dust", "0.00000001", price_per_share="1000000000"),
    # 0.00000001 × 0.0001 = 0.000000000001: twelve decimal places, the most
    split("2000-06-01", "0.0001"),
    # L: the highest stated value, par value, rate, step-up, premium, notice
    series("L", authorized_shares="1000", stated_value="1000000000",
           par_value="1000000000", dividend_rate="1", period_starts=["01-01"],
           step_up={"increment": "1", "every_missed": 100, "cap": "1"},
           redeemable=True, redemption_notice_days=3650, redemption_premium="10"),
    issue("L", "Ann", "1000", "2001-01-01", price_per_share="1000000000"),
    # B: the most shares in one event and in one series
    series("B", authorized_shares="1000000000000", stated_value="1"),
    issue("B", "Bo", "1000000000000", "2001-01-01"),
    # C: the highest conversion rate; 999 shares convert into 999 × 10^12 common; the
    # fully diluted common is 99,999,900,000 + 999 × 10^12 + 1,000 (T) + 1,000 (V) +
    # 0.001 (P) + 0.000000000001 = 999,099,999,902,000.001000000001, under 10^15
    series("C", authorized_shares="999", conversion="elective",
           conversion_rate="1000000000000",
           conversion_after_closing_years=100, notice_conversion_days=3650,
           votes="as_converted"),
    issue("C", "Cy", "999", "2001-01-01"),
    # P: the highest conversion price and anti-dilution threshold
    series("P", conversion="elective", conversion_price="1000000000",
           antidilution="narrow_weighted"),
    issue("P", "Di", "10", "2001-01-01"),
    series("T", conversion="elective", conversion_rate="1",
           antidilution_threshold="1000000000"),
    issue("T", "Di", "10", "2001-01-01"),
    # V: the highest liquidation multiple, participation cap and votes per share
    series("V", liquidation_multiple="100", participation="capped",
           participation_cap="100", conversion="elective", conversion_rate="1",
           votes="per_share", votes_per_share="1000000"),
    issue("V", "Ed", "1000", "2001-01-01"),
    # K: compounding in kind, the longest payment lag, twelve periods a year; its claim
    # by the horizon just under 10^16: 6,600,000 × 1,000,000 × e^(0.12 × 61) = 9.97 × 10^15
    series("K", authorized_shares="6600000", stated_value="1000000", dividend_rate="0.12",
           period_starts=MONTHLY, payment_lag_days=31, day_count="ACT/365F",
           compounding="payment_date", dividend_form="cash_or_shares",
           pik_price="1000000000"),
    issue("K", "Fay", "6600000", "2001-01-01"),
    # N: non-cumulative, the highest declared amount per share
    series("N", authorized_shares="10", cumulative=False, dividend_rate="0.08"),
    issue("N", "Gus", "10", "2001-01-01"),
    ev("DividendDeclared", "2010-06-01", series="N", amount_per_share="1000000000",
       record_date="2010-06-15", payment_date="2010-07-01"),
    # the latest event: the horizon is 2061-01-03
    ev("BalanceAsserted", "2011-01-03", series="B", shares="1000000000000"),
]
HORIZON = dt.date(2061, 1, 3)


def test_the_horizon_is_the_latest_event_plus_fifty_years() -> None:
    assert limits.horizon(dt.date(2011, 1, 3)) == HORIZON
    assert limits.horizon(dt.date(2012, 2, 29)) == dt.date(2062, 2, 28)
    # never past the latest date a report may be asked for
    assert limits.horizon(dt.date(2980, 5, 1)) == dt.date(2999, 12, 31)


def test_a_ledger_at_every_limit_loads_and_every_report_runs_at_its_horizon(
        sqlite_store: StoreSpec, tmp_path: Path, jsonl: Any) -> None:
    from typer.testing import CliRunner

    cli = Cli(sqlite_store, CliRunner())
    r = cli("load", str(jsonl(EDGE)))
    assert r.exit_code == 0, r.output
    with sqlite_store.open() as lg:
        assert lg.horizon() == HORIZON
    h = HORIZON.isoformat()
    pos = cli.json("position", "--as-of", h)
    rows = {(x["series"], x["holder"]): x for x in pos["holders"]}
    # by hand: L accrues 1,000 × 1,000,000,000 × 100% a year; its periods start on
    # 1 January, so sixty amounts fell due (2002-01-01 to 2061-01-01), none paid:
    # 60 × 10^12 = 60,000,000,000,000.00 in arrears; then 1 to 3 January 2061, three
    # 30/360 days: 10^12 × 3 / 360 = 8,333,333,333.333… = 8,333,333,333.33 accrued
    ser = {x["series"]: x for x in pos["series"]}
    assert ser["L"]["arrears"] == "60000000000000.00", ser["L"]
    # the holder's accrued_unpaid is both: 60,000,000,000,000 + 8,333,333,333.33
    assert rows[("L", "Ann")]["accrued_unpaid"] == "60008333333333.33"
    # common: 999,999 × 10^9 × 10^-4 = 99,999,900,000 (Ann) and 0.000000000001 (Dust)
    assert rows[("common", "Ann")]["shares"] == "99999900000"
    assert rows[("common", "Dust")]["shares"] == "0.000000000001"
    reports = [
        ("waterfall", "--as-of", h, "--proceeds", "999999999999999999.99", "--json"),
        ("rollforward", "--from", "1900-01-01", "--to", h, "--json"),
        ("rates", "--series", "L", "--as-of", h, "--json"),
        ("rates", "--series", "K", "--as-of", h, "--json"),
        ("conversions", "--series", "C", "--as-of", h, "--json"),
        ("conversions", "--series", "P", "--as-of", h, "--json"),
        ("history", "--json"),
        ("history", "--series", "K", "--to", h, "--with-dues", "--json"),
        ("export", "--to", str(tmp_path / "feed.db"), "--through", h),
        ("export-ocf", "--as-of", h, "--to", str(tmp_path / "ocf")),
        ("chart", "--to", str(tmp_path / "chart.png")),
    ]
    for args in reports:
        r = cli(*args)
        assert r.exit_code == 0 and "Traceback" not in r.output, (args, r.output[-3000:])
    # the findings (every missed payment) are a report too: exit 1 with findings
    r = cli("check", "--as-of", h)
    assert r.exit_code in (0, 1) and "Traceback" not in r.output and r.stdout, r.output
    # the waterfall pays out exactly the proceeds, to the cent
    wf = json.loads(cli("waterfall", "--as-of", h, "--proceeds", "999999999999999999.99",
                        "--json").stdout)
    paid = sum(Decimal(t["paid"]) for t in wf["tiers"]) + Decimal(wf["remainder"])
    assert paid == Decimal("999999999999999999.99"), wf


@pytest.fixture
def pg_store() -> Any:
    from tests.conftest import PG_URL, _pg_schema

    gen = _pg_schema()
    schema = next(gen)
    yield StoreSpec("postgres", url=f"{PG_URL}?schema={schema}")
    next(gen, None)


def test_the_edge_ledger_on_postgresql(pg_store: StoreSpec, jsonl: Any) -> None:
    from typer.testing import CliRunner

    cli = Cli(pg_store, CliRunner())
    assert cli("load", str(jsonl(EDGE))).exit_code == 0
    pos = cli.json("position", "--as-of", HORIZON.isoformat())
    rows = {(x["series"], x["holder"]): x for x in pos["holders"]}
    assert rows[("L", "Ann")]["accrued_unpaid"] == "60008333333333.33"  # by hand, above
    wf = cli.json("waterfall", "--as-of", HORIZON.isoformat(), "--proceeds", "1000000")
    assert wf["tiers"]
    cli.refuses(jsonl([issue("B", "Bo", "1000000000001", "2011-02-01")]),
                "1000000000001 is more than the limit shares_per_event", field="shares")


# -- just over each limit: exit 2, event and field named, the store unchanged -------------

#: stored before each refusal: P (8% quarterly, 2024-01-01), 1,000 shares, 1,000 common
BASE = [designate(), ev("SharesIssued", "2024-01-01", series="P", holder="Ann",
                        shares="1000"),
        common("2024-01-01", "Ann", "1000", kind="opening")]


def q(**kw: Any) -> dict[str, Any]:
    """Series Q designated 2024-06-01 with the terms ``kw`` (no dividends unless given)."""
    t = terms(**{"series": "Q", "designated": "2024-06-01", "dividend_rate": None,
                 "period_starts": None, **kw})
    return designate(t)


OVER_1 = "1.000000000001"
BILLION_AND_A_BIT = "1000000000.000000000001"

#: (limit, events of the new file, the line refused, the field, words of the message)
OVER: list[tuple[str, list[dict[str, Any]], int, str, tuple[str, ...]]] = [
    ("dividend_rate", [q(dividend_rate=OVER_1, period_starts=["01-01"])], 1,
     "terms.dividend_rate", (OVER_1, "from 0 to 1")),
    ("step_up_increment", [designate(terms(series="Q", designated="2024-06-01", step_up={
        "increment": OVER_1, "cap": "1"}))], 1, "terms.step_up.increment", (OVER_1,)),
    ("step_up_cap", [designate(terms(series="Q", designated="2024-06-01", step_up={
        "increment": "0.01", "cap": OVER_1}))], 1, "terms.step_up.cap", (OVER_1,)),
    ("step_up_every_missed", [designate(terms(series="Q", designated="2024-06-01", step_up={
        "increment": "0.01", "cap": "0.15", "every_missed": 101}))], 1,
     "terms.step_up.every_missed", ("101", "from 1 to 100")),
    ("stated_value", [q(stated_value=BILLION_AND_A_BIT)], 1, "terms.stated_value",
     (BILLION_AND_A_BIT, "at most 1,000,000,000")),
    ("par_value", [q(par_value=BILLION_AND_A_BIT)], 1, "terms.par_value",
     (BILLION_AND_A_BIT,)),
    ("pik_price", [designate(terms(series="Q", designated="2024-06-01",
                                   dividend_form="cash_or_shares",
                                   pik_price=BILLION_AND_A_BIT))], 1, "terms.pik_price",
     (BILLION_AND_A_BIT,)),
    ("price", [q(conversion="elective", conversion_price=BILLION_AND_A_BIT)], 1,
     "terms.conversion_price", ("at most 1,000,000,000",)),
    ("price", [common("2024-06-01", "Bo", "1", kind="sale",
                      price_per_share=BILLION_AND_A_BIT)], 1, "price_per_share",
     (BILLION_AND_A_BIT, "outside the limit price of 0 .. 1,000,000,000 per common share")),
    ("amount_per_share", [q(cumulative=False, dividend_rate="0.08"),
                          issue("Q", "Bo", "10", "2024-06-01"),
                          ev("DividendDeclared", "2024-07-01", series="Q",
                             amount_per_share="1000000000.01", record_date="2024-07-15",
                             payment_date="2024-08-01")], 3, "amount_per_share",
     ("1000000000.01", "amount_per_share")),
    ("authorized_shares", [q(authorized_shares="1000000000001")], 1,
     "terms.authorized_shares", ("1000000000001",)),
    ("conversion_rate", [q(authorized_shares="1", conversion="elective",
                           conversion_rate="1000000000000.000000000001")], 1,
     "terms.conversion_rate", ("at most 1,000,000,000,000",)),
    ("period_starts", [q(dividend_rate="0.08", period_starts=[
        f"{m:02d}-01" for m in range(1, 13)] + ["12-15"])], 1, "terms.period_starts",
     ("13 period starts; at most 12",)),
    ("payment_lag_days", [q(dividend_rate="0.08", period_starts=["01-01"],
                            payment_lag_days=32)], 1, "terms.payment_lag_days",
     ("32", "from 0 to 31")),
    ("notice_days", [q(redeemable=True, redemption_notice_days=3651)], 1,
     "terms.redemption_notice_days", ("3651", "from 0 to 3,650")),
    ("notice_days", [q(conversion="elective", conversion_rate="1",
                       notice_conversion_days=3651)], 1, "terms.notice_conversion_days",
     ("3651",)),
    ("years", [q(conversion="elective", conversion_rate="1",
                 conversion_after_closing_years=101)], 1,
     "terms.conversion_after_closing_years", ("101", "from 0 to 100")),
    ("liquidation_multiple", [q(liquidation_multiple="100.000000000001")], 1,
     "terms.liquidation_multiple", ("at most 100",)),
    ("participation_cap", [q(participation="capped", participation_cap="100.000000000001",
                             conversion="elective", conversion_rate="1")], 1,
     "terms.participation_cap", ("from 1 to 100",)),
    ("conversion_multiple", [q(conversion="elective", conversion_rate="1",
                               conversion_multiple="100.000000000001")], 1,
     "terms.conversion_multiple", ("100.000000000001", "at most 100")),
    ("redemption_premium", [q(redeemable=True, redemption_notice_days=30,
                              redemption_premium="10.000000000001")], 1,
     "terms.redemption_premium", ("10.000000000001", "at most 10")),
    ("votes_per_share", [q(votes="per_share", votes_per_share="1000000.000000000001")], 1,
     "terms.votes_per_share", ("at most 1,000,000",)),
    ("shares_per_event", [q(authorized_shares="1000000000000"),
                          issue("Q", "Bo", "1000000000001", "2024-06-01")], 2, "shares",
     ("1000000000001 is more than the limit shares_per_event of 1,000,000,000,000 "
      "shares",)),
    ("split_ratio", [split("2024-06-01", "10000.000000000001")], 1, "ratio",
     ("10000.000000000001 is outside the limit split_ratio of 0.0001 .. 10,000",)),
    ("split_ratio", [split("2024-06-01", "0.000099999999")], 1, "ratio",
     ("0.000099999999 is outside the limit split_ratio",)),
    # 10^4 × 10^4 × 10 = 10^9, the most; × 1.01 is over
    ("split_factor", [split("2024-06-01", "10000"), split("2024-06-02", "10000"),
                      split("2024-06-03", "10"), split("2024-06-04", "1.01")], 4, "ratio",
     ("the cumulative split factor (1000000000 × 1.01) 1010000000 is outside the limit "
      "split_factor",)),
    # 0.000000001 × 0.0001: thirteen decimal places
    ("share_decimals", [common("2024-06-01", "Dust", "0.000000001", kind="opening"),
                        split("2024-06-02", "0.0001")], 2, "ratio",
     ("the split makes 'Dust''s common 0.0000000000001, a fraction of 13",
      "share_decimals of 12 decimal places")),
    # 1,000 + 999,999,999,000 = 10^12 common; × 1,000 = 10^15, the most; one more is over
    ("common_shares", [common("2024-06-01", "Bo", "999999999000", kind="opening"),
                       split("2024-06-02", "1000"),
                       common("2024-06-03", "Cy", "1", kind="opening")], 3, "shares",
     ("the fully diluted common (outstanding, and what the convertible series can still "
      "convert into) would be 1000000000000001 is more than the limit common_shares",)),
    # a convertible series of 1,000 × 10^12 with 1,000 common outstanding: over
    ("common_shares", [q(authorized_shares="1000", conversion="elective",
                         conversion_rate="1000000000000")], 1, "terms",
     ("would be 1000000000001000 is more than the limit common_shares",)),
    ("common_shares", [q(authorized_shares="1001", conversion="elective",
                         conversion_rate="1000000000000")], 1, "terms",
     ("authorized_shares × the conversion rate 1001000000000000 is more than the limit "
      "common_shares of 1,000,000,000,000,000 shares",)),
    ("common_shares", [q(authorized_shares="999", conversion="elective",
                         conversion_rate="1000000000000"),
                       split("2024-06-02", "1.01")], 2, "ratio",
     # (1,000 + 999 × 10^12) × 1.01
     ("would be 1008990000001010 is more than the limit common_shares",)),
    # full ratchet to a sale at 0.000000001: Q's rate becomes 1,000 ÷ 0.000000001 = 10^12
    # and its 1,000 shares would convert into 10^15, with 1,001 common: over
    ("common_shares", [q(authorized_shares="1000", conversion="elective",
                         conversion_price="1", antidilution="full_ratchet"),
                       common("2024-06-02", "Bo", "1", kind="sale",
                              price_per_share="0.000000001")], 2, "price_per_share",
     ("would be 1000000000001001 is more than the limit common_shares",)),
    # 10,000,001 × (10^9 + 0): a declaration on the whole authorized series over 10^16
    ("series_amount", [q(authorized_shares="10000001", cumulative=False,
                         dividend_rate="0.08"),
                       issue("Q", "Bo", "10", "2024-06-01"),
                       ev("DividendDeclared", "2024-07-01", series="Q",
                          amount_per_share="1000000000", record_date="2024-07-15",
                          payment_date="2024-08-01")], 3, "amount_per_share",
     ("declared and unpaid dividends could reach 10000001000000000 is more than the "
      "limit series_amount",)),
    ("series_amount", [q(authorized_shares="1000000000000", stated_value="1000000000")], 1,
     "terms", ("authorized_shares × stated_value × 1",
               "1000000000000000000000 is more than the limit series_amount")),
    # compounding 12% to the horizon 2074-06-01 (51 years): 22,000,000 × 10^6 × e^6.12
    # = 22 × 10^12 × 454.86 = 1.0007 × 10^16, just over (21,980,000 is just under)
    ("series_amount", [q(authorized_shares="22000000", stated_value="1000000",
                         dividend_rate="0.12", period_starts=MONTHLY,
                         compounding="payment_date")], 1, "terms",
     ("what Series Q can claim by the horizon 2074-06-01", "compounding at 0.12 a year "
      "for 51 years", "more than the limit series_amount of 10,000,000,000,000,000")),
    ("earliest_date", [common("1899-12-31", "Bo", "1", kind="opening")], 1,
     "effective_date", ("1899-12-31 is out of range: dates run from 1900-01-01",)),
    ("latest_date", [common("3000-01-01", "Bo", "1", kind="opening")], 1,
     "effective_date", ("3000-01-01 is out of range", "to 2999-12-31")),
]


def test_every_limit_of_the_table_has_a_case_over_it() -> None:
    tested = {c[0] for c in OVER} | {"series_per_issuer", "holder_periods",
                                     "horizon_years", "fields_per_object",
                                     "holders_per_notice", "nesting", "problems_per_line"}
    assert tested == set(LIMITS)


@pytest.mark.parametrize(("name", "events", "line", "field", "words"), OVER,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(OVER)])
def test_just_over_a_limit_is_refused(sqlite_store: StoreSpec, jsonl: Any, name: str,
                                      events: list[dict[str, Any]], line: int, field: str,
                                      words: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    cli = Cli(sqlite_store, CliRunner())
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    event = events[line - 1]["type"]
    err = cli.refuses(jsonl(events), f"line {line}: {event}", *words, field=field,
                      line=line)
    if name not in ("earliest_date", "latest_date", "period_starts"):
        assert name in err, err  # the limit is named
    # and just under it, with the same file the lines before it load
    if line > 1:
        assert problems_of([*BASE, *events[:line - 1]]) == []


def test_at_most_a_hundred_series_per_issuer() -> None:
    many = [series(f"S{i:03d}") for i in range(100)]
    assert problems_of(many) == []
    [p] = problems_of([*many, series("S100")])
    assert (p.line, p.event, p.field) == (101, "SeriesDesignated", "series"), p
    assert p.message.startswith("the series of issuer 'default' would number 101 is more "
                                "than the limit series_per_issuer of 100 series"), p


def monthly_holders(n: int) -> list[dict[str, Any]]:
    """Series R (monthly, 8%) designated 2000-01-01 and ``n`` holders of one share each:
    the horizon is 2050-01-01, so each holder is 12 × (2050 − 2000 + 1) = 612 periods."""
    r = terms(series="R", designated="2000-01-01", authorized_shares="100000",
              period_starts=MONTHLY)
    return [designate(r)] + [issue("R", f"H{i:04d}", "1", "2000-01-01") for i in range(n)]


def test_holder_periods(sqlite_store: StoreSpec, jsonl: Any) -> None:
    from typer.testing import CliRunner

    cli = Cli(sqlite_store, CliRunner())
    # 1,633 × 612 = 999,396, under 1,000,000; 1,634 × 612 = 1,000,008, over
    assert cli("load", str(jsonl(monthly_holders(1633)))).exit_code == 0
    cli.refuses(jsonl([issue("R", "H9999", "1", "2000-01-01")]),
                "line 1: SharesIssued", "the horizon 2050-01-01 gives issuer 'default' "
                "Series R: 1634 holders × 12 periods a year × 51 years: in all 1000008 is "
                "more than the limit holder_periods of 1,000,000 holder × dividend periods",
                field="holder")
    # a later event moves the horizon a year on: 1,633 × 12 × 52 = 1,018,992, over
    cli.refuses(jsonl([ev("BalanceAsserted", "2001-01-01", series="R", shares="1633")]),
                "in all 1018992 is more than the limit holder_periods",
                field="effective_date")


def test_a_later_event_may_not_take_a_stored_series_past_its_limit(cli: Cli,
                                                                   jsonl: Any) -> None:
    """The horizon moves with the latest event: a compounding series just under the
    limit series_amount at the horizon 2074-06-01 (21,980,000 × 10^6 × e^(0.12 × 51) =
    0.9998 × 10^16) is over it at 2075-06-01 (× e^(0.12 × 52) = 1.13 × 10^16); the load
    that moves it is refused, naming its event (both stores)."""
    k = q(authorized_shares="21980000", stated_value="1000000", dividend_rate="0.12",
          period_starts=MONTHLY, compounding="payment_date")
    assert cli("load", str(jsonl([*BASE, k]))).exit_code == 0
    cli.refuses(jsonl([ev("BalanceAsserted", "2025-06-01", series="P", shares="1000")]),
                "line 1: BalanceAsserted", "makes the later stored event SeriesDesignated",
                "what Series Q can claim by the horizon 2075-06-01",
                "for 52 years", "more than the limit series_amount", field="terms")


# -- the absurd inputs of the adversarial pass, each refused with its message -------------

ABSURD: list[tuple[str, list[dict[str, Any]], int, str, tuple[str, ...]]] = [
    ("negative par", [q(par_value="-0.01")], 1, "terms.par_value",
     ("-0.01 is out of range: must be greater than 0",)),
    ("negative notice days", [q(redeemable=True, redemption_notice_days=-1)], 1,
     "terms.redemption_notice_days", ("-1 is out of range: must be from 0 to 3,650",)),
    ("negative step-up", [designate(terms(series="Q", designated="2024-06-01", step_up={
        "increment": "-0.01", "cap": "0.15"}))], 1, "terms.step_up.increment",
     ("-0.01 is out of range: must be from 0 to 1",)),
    ("control characters in names", [issue("P", "Ann\u001b[2J", "1", "2024-06-01")], 1,
     "holder", ("control character U+001B at position 3",)),
    ("a rate of 1e6", [q(dividend_rate="1000000", period_starts=["01-01"])], 1,
     "terms.dividend_rate", ("1000000 is out of range: must be from 0 to 1",)),
    ("a split of 1e-12", [split("2024-06-01", "0.000000000001")], 1, "ratio",
     ("0.000000000001 is outside the limit split_ratio",)),
    ("huge stated value × rate × shares",
     [q(authorized_shares="1000000000000", stated_value="1000000000", dividend_rate="1",
        period_starts=["01-01"])], 1, "terms",
     ("1000000000000000000000 is more than the limit series_amount",)),
    ("conversion_after_closing_years 1e9",
     [q(conversion="elective", conversion_rate="1",
        conversion_after_closing_years=1000000000)], 1,
     "terms.conversion_after_closing_years",
     ("1000000000 is out of range: must be from 0 to 100",)),
]


@pytest.mark.parametrize(("what", "events", "line", "field", "words"), ABSURD,
                         ids=[c[0] for c in ABSURD])
def test_absurd_input_is_refused(sqlite_store: StoreSpec, jsonl: Any, what: str,
                                 events: list[dict[str, Any]], line: int, field: str,
                                 words: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    cli = Cli(sqlite_store, CliRunner())
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    cli.refuses(jsonl(events), *words, field=field, line=line)


def test_two_splits_of_the_largest_ratio_are_both_refused(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    big = "999999999999999999"
    err = cli.refuses(jsonl([split("2024-06-01", big), split("2024-07-01", big)]),
                      "rejected: 2 problem(s)", f"line 2: CommonStockSplit field ratio: {big}"
                      " is outside the limit split_ratio", field="ratio", line=1)
    assert "Traceback" not in err


def test_the_denial_of_service_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    """365 period starts (every day of the year), 100 holders, 1900 to 2200: refused on
    its first line, before any replay (no timing asserted: benchmarks measure speed).
    With twelve period starts the same file is within the limits (100 × 12 × 351 =
    421,200 holder-periods)."""
    days = [d.strftime("%m-%d") for d in (dt.date(2001, 1, 1) + dt.timedelta(n)
                                          for n in range(365))]
    t = terms(series="D", designated="1900-01-01", authorized_shares="100",
              period_starts=days)
    events = [designate(t)] + [issue("D", f"H{i:03d}", "1", "1900-01-01")
                               for i in range(100)]
    events.append(ev("BalanceAsserted", "2200-01-01", series="D", shares="100"))
    path = tmp_path / "dos.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert path.stat().st_size > 10_000
    # a list of more than 64 items is refused as it is read, before any term is checked
    cli.refuses(path, "the list has 365 items; at most 64 are allowed",
                field="terms.period_starts", line=1)


# -- docs/limits.md and the table stay in step --------------------------------------------

DOC = (REPO / "docs" / "limits.md").read_text()


def _rows() -> dict[str, str]:
    """The rows of the docs' tables, by the limit they name (its first cell)."""
    out = {}
    for line in DOC.splitlines():
        m = re.match(r"\| `([A-Za-z_.]+)` \|(.*)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_every_limit_is_documented_with_its_value_and_what_it_protects() -> None:
    rows = _rows()
    for lim in LIMITS.values():
        assert lim.name in rows, f"docs/limits.md has no row for {lim.name}"
        assert f" {lim.shown} |" in rows[lim.name], (lim.name, lim.shown, rows[lim.name])
        assert lim.protects in rows[lim.name], lim.name
    data_rows = {n for n in rows if "." not in n}
    assert data_rows == set(LIMITS), data_rows ^ set(LIMITS)


def test_the_input_and_storage_limits_are_documented_with_their_values() -> None:
    import importlib

    rows = _rows()
    io = [n for n in rows if "." in n]
    assert len(io) == 11
    for name in io:
        module, const = name.rsplit(".", 1)
        value = getattr(importlib.import_module(module), const)
        assert f"{value:,}" in rows[name], (name, value)


def test_the_docs_example_is_the_edge_ledger() -> None:
    # the worked figure of the docs is the one the edge ledger checks by hand above
    assert f"the horizon {HORIZON}" in DOC and "60,000,000,000,000.00" in DOC


# -- names in terms: the hygiene of holder names, in triggers too -----------------------

def test_a_trigger_matter_has_the_name_hygiene() -> None:
    from ledger.events import parse_object

    bad = designate(conversion="elective", conversion_rate="1",
                    mandatory_conversion=[{"approval": "ipo\u200b"}])
    [p] = problems_of([bad])
    assert p.field == "terms.mandatory_conversion", p
    assert "zero-width character U+200B ZERO WIDTH SPACE at position 3" in p.message
    # a designation stored before the rule still reads back as it was stored
    assert not isinstance(parse_object(bad), list)
