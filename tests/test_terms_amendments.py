"""Amendments of terms (SPEC.md §12 Amendments): ``TermsAmended`` gives the series new
terms from its effective date. Every expected figure is hand arithmetic written here
(30/360 US, $1,000 stated, rounded half-up per holder per period)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from typer.testing import CliRunner

from ledger.cli import app
from ledger.conversion import listing
from ledger.dividends import rates_report
from tests.conftest import Cli
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


def amend(date: str, id: str | None = None, **changes: Any) -> dict[str, Any]:
    e = ev("TermsAmended", date, series="P", changes=changes)
    if id:
        e["id"] = id
    return e


def dues(evs: list[dict[str, Any]], as_of: str) -> dict[str, str]:
    st = state(evs, as_of)
    return {x.due_date.isoformat(): f"{x.amount:.2f}" for xs in st.series["P"].dues.values()
            for x in xs}


BASE = [designate(), issue("Ann", "1000", "2024-01-01")]


def test_rate_change_cuts_the_piece_docs_example() -> None:
    # docs/rules.md: 8% amended to 10% on 2024-05-16. Quarter 2024-04-01..07-01:
    # [04-01, 05-16) days360 = 30 + 15 = 45 at 8%, [05-16, 07-01) = 30 x 2 + (1 - 16) = 45
    # at 10%: 1,000 x 1,000 x (0.08 x 45 + 0.10 x 45) / 360 = 1,000,000 x 8.1 / 360
    # = $22,500.00. The first quarter: 1,000,000 x 0.08 x 90 / 360 = $20,000.00.
    evs = [*BASE, amend("2024-05-16", id="a1", dividend_rate="0.10")]
    assert dues(evs, "2024-07-01") == {"2024-04-01": "20000.00", "2024-07-01": "22500.00"}
    p = pos(evs, "2024-07-01")
    assert row(p)["arrears"] == "42500.00"  # 20,000.00 + 22,500.00
    assert row(pos(evs, "2024-05-15"))["dividend_rate"] == "0.08"
    assert row(pos(evs, "2024-05-16"))["dividend_rate"] == "0.1"


def test_rates_lists_amendments() -> None:
    evs = [*BASE, amend("2024-05-16", id="a1", dividend_rate="0.10", name="Series P"),
           amend("2024-08-01", id="a2", dividend_rate="0.10")]
    rep = rates_report(state(evs, "2024-12-31"), "P")
    assert rep["amendments"] == [
        {"effective_date": "2024-05-16", "event_id": "a1",
         "changes": {"dividend_rate": "0.10", "name": "Series P"},
         "changed_fields": ["dividend_rate", "name"]},
        # a change to the value already in force is listed, and changes nothing
        {"effective_date": "2024-08-01", "event_id": "a2",
         "changes": {"dividend_rate": "0.10"}, "changed_fields": []},
    ]
    assert [(r["effective_date"], r["rate"]) for r in rep["rates"]] == [
        ("2024-01-01", "0.08"), ("2024-05-16", "0.1")]
    assert rep["rates"][1]["cause"] == "amendment a1 of 2024-05-16"


def test_amended_authorized_shares_apply_from_their_date() -> None:
    # 1,000 of 10,000 issued; authorized cut to 1,200 on 2024-03-01: 200 more fit on
    # 2024-04-01 (1,200), 201 would not (1,201 > 1,200)
    cut = amend("2024-03-01", authorized_shares="1200")
    assert problems_of([*BASE, cut, issue("Bo", "200", "2024-04-01")]) == []
    refused([*BASE, cut, issue("Bo", "201", "2024-04-01")], "shares",
            "1201 shares issued, more than the 1200 authorized")
    # before the amendment the old 10,000 still hold
    assert problems_of([*BASE, issue("Bo", "5000", "2024-02-01"),
                        amend("2024-03-01", authorized_shares="6000")]) == []
    assert row(pos([*BASE, cut], "2024-03-01"))["authorized"] == "1200"
    assert row(pos([*BASE, cut], "2024-02-29"))["authorized"] == "10000"


def test_step_up_earned_is_kept_on_a_new_base_rate() -> None:
    # +1% for every missed payment date, cap 15%; base 8%. 2024-04-01 missed (nothing
    # paid): 9% from 04-02. Amended to a 10% base on 05-16: 10% + the 1% earned = 11%.
    # Quarter 04-01..07-01: [04-01, 04-02) 1 day at 8%, [04-02, 05-16) = 30 + 14 = 44 at
    # 9%, [05-16, 07-01) = 45 at 11%: rate-days 0.08 + 3.96 + 4.95 = 8.99 ->
    # 1,000,000 x 8.99 / 360 = 24,972.222 -> $24,972.22.
    up = {"increment": "0.01", "every_missed": 1, "cap": "0.15"}
    evs = [designate(step_up=up), issue("Ann", "1000", "2024-01-01"),
           amend("2024-05-16", dividend_rate="0.10")]
    assert dues(evs, "2024-07-01")["2024-07-01"] == "24972.22"
    assert row(pos(evs, "2024-05-16"))["dividend_rate"] == "0.11"
    # 07-01 missed again: 12% from 07-02
    assert row(pos(evs, "2024-07-02"))["dividend_rate"] == "0.12"
    # without a step-up in the new terms the earned 1% goes: 10% from 05-16
    no_up = [designate(step_up=up), issue("Ann", "1000", "2024-01-01"),
             amend("2024-05-16", dividend_rate="0.10", step_up=None)]
    assert row(pos(no_up, "2024-05-16"))["dividend_rate"] == "0.1"


def test_a_series_without_dividends_starts_accruing() -> None:
    # no dividends until 2024-05-16, then 8% on calendar quarters: 2024-05-16..07-01 is
    # 45 days (30/360): 1,000 x 1,000 x 0.08 x 45 / 360 = $10,000.00 due 2024-07-01
    t = terms(dividend_rate=None, period_starts=None)
    evs = [designate(t), issue("Ann", "1000", "2024-01-01"),
           amend("2024-05-16", dividend_rate="0.08",
                 period_starts=["01-01", "04-01", "07-01", "10-01"])]
    assert row(pos(evs, "2024-05-15"))["accrued_unpaid"] is None
    assert dues(evs, "2024-07-01") == {"2024-07-01": "10000.00"}


def test_rate_to_zero_stops_accrual_but_what_accrued_falls_due() -> None:
    # 8% to 2024-02-01 (days360 = 30): 1,000,000 x 0.08 x 30 / 360 = $6,666.67, due
    # 2024-04-01; nothing after
    evs = [*BASE, amend("2024-02-01", dividend_rate="0")]
    assert dues(evs, "2024-07-01") == {"2024-04-01": "6666.67", "2024-07-01": "0.00"}


def test_conversion_rate_and_votes_follow_the_amendment() -> None:
    # convertible at 10 common a share, voting as converted: 1,000 x 10 = 10,000 votes;
    # from 2024-05-16 at 12: 12,000 votes; the listing shows the step (factor 12/10)
    t = terms(conversion="elective", conversion_rate="10", votes="as_converted")
    evs = [designate(t), issue("Ann", "1000", "2024-01-01"),
           amend("2024-05-16", id="a1", conversion_rate="12")]
    assert holder(pos(evs, "2024-05-15"), "Ann")["votes"] == "10000"
    assert holder(pos(evs, "2024-05-16"), "Ann")["votes"] == "12000"
    [adj] = listing(state(evs, "2024-05-16"), "P")["adjustments"]
    assert (adj["date"], adj["factor"], adj["rate_before"], adj["rate_after"]) == (
        "2024-05-16", "1.2", "10", "12")


def test_amended_votes_and_premium() -> None:
    # votes per share 2 from 2024-03-01: 1,000 x 2 = 2,000; premium 1.02 from then:
    # as of 2024-03-01 (accrual to 03-02, days360 = 61): 1,000,000 x 0.08 x 61/360 =
    # $13,555.56, $13.56 a share (13.55556) -> 1.02 x 1,000 + 13.56 = $1,033.56
    evs = [designate(redeemable=True, redemption_notice_days=30),
           issue("Ann", "1000", "2024-01-01"),
           amend("2024-03-01", votes="per_share", votes_per_share="2",
                 redemption_premium="1.02")]
    p = pos(evs, "2024-03-01")
    assert holder(p, "Ann")["votes"] == "2000"
    assert row(p)["redemption_price_per_share"] == "1033.56"
    assert row(pos(evs, "2024-02-29"))["redemption_price_per_share"] == "1013.33"
    # (as of 02-29, to 03-01: days360 = 60 -> $13,333.33, $13.33 a share)


def test_amendment_before_the_series_exists() -> None:
    refused([amend("2023-12-31", dividend_rate="0.1"), *BASE], "series",
            "designated on 2024-01-01, after this event")


# -- property: an amendment that changes nothing changes no figure ----------------------------

DAYS = hs.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31))
NOOPS = [{"dividend_rate": "0.080"}, {"stated_value": "1000.00"}, {"votes": "none"},
         {"name": ""}, {"period_starts": ["01-01", "04-01", "07-01", "10-01"]},
         {"redemption_premium": "1"}, {"dividend_rate": "0.08", "day_count": "30/360"}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issued=DAYS, at=DAYS, as_of=DAYS, change=hs.sampled_from(NOOPS),
       shares=hs.integers(1, 5000))
def test_a_no_op_amendment_changes_no_figure(issued: dt.date, at: dt.date, as_of: dt.date,
                                             change: dict[str, Any], shares: int) -> None:
    base = [designate(), issue("Ann", str(shares), issued.isoformat()),
            issue("Bo", "7", "2024-01-31"),
            ev("DividendPaid", "2024-04-01", series="P", amount="50.00")]  # Bo owes 93.33
    day = max(as_of, dt.date(2024, 4, 1)).isoformat()
    amended = [*base, amend(at.isoformat(), **change)]
    assert pos(amended, day) == pos(base, day)


def test_cli_rates_lists_amendments(cli: Cli, jsonl: Any) -> None:
    evs = [*BASE, amend("2024-05-16", id="a1", dividend_rate="0.10")]
    assert cli("load", str(jsonl(evs))).exit_code == 0
    rep = cli.json("rates", "--series", "P")
    assert rep["amendments"][0]["changed_fields"] == ["dividend_rate"]
    text = cli("rates", "--series", "P").stdout
    assert "term amendments" in text and "2024-05-16" in text and "a1" in text


def test_open_cap_format_round_trip_carries_amendments(tmp_path: Any, jsonl: Any) -> None:
    # the class is exported as designated (8%, 10,000 authorized) and the amendment as an
    # event, so the imported ledger owes the same: 20,000.00 + 22,500.00 by 2024-07-01
    run = CliRunner().invoke
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    evs = [*BASE, amend("2024-05-16", id="a1", dividend_rate="0.10",
                        authorized_shares="20000")]
    assert run(app, ["--db", a, "load", str(jsonl(evs))]).exit_code == 0
    r = run(app, ["--db", a, "export-ocf", "--as-of", "2024-07-01", "--to",
                  str(tmp_path / "pkg")])
    assert r.exit_code == 0, r.output
    r = run(app, ["--db", b, "import-ocf", str(tmp_path / "pkg")])
    assert r.exit_code == 0, r.output
    for db in (a, b):
        r = run(app, ["--db", db, "position", "--as-of", "2024-07-01", "--json"])
        [s] = json.loads(r.stdout)["series"]
        assert (s["arrears"], s["authorized"], s["dividend_rate"]) == ("42500.00", "20000",
                                                                       "0.1"), db


def test_amended_to_not_convertible() -> None:
    # convertible at 10, votes as converted: from 2024-05-16 not convertible, so no rate
    # and no votes (1,000 x 10 = 10,000 before)
    t = terms(conversion="elective", conversion_rate="10", votes="as_converted")
    evs = [designate(t), issue("Ann", "1000", "2024-01-01"),
           amend("2024-05-16", conversion="none", conversion_rate=None)]
    assert holder(pos(evs, "2024-05-15"), "Ann")["votes"] == "10000"
    after = pos(evs, "2024-05-16")
    assert row(after)["conversion_rate"] is None and holder(after, "Ann")["votes"] == "0"
    refused([*evs, ev("SharesConverted", "2024-06-01", series="P", holder="Ann",
                      shares="100")], "series", "not convertible")
