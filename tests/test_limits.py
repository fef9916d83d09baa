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
    # C: the highest conversion rate; its authorized shares convert into 10^15 common
    series("C", conversion="elective", conversion_rate="1000000000000",
           conversion_after_closing_years=100, notice_conversion_days=3650,
           votes="as_converted"),
    issue("C", "Cy", "1000", "2001-01-01"),
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
