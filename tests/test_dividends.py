"""Dividends (SPEC.md §5, §11 Accrual and Payments; Series G §2, H §2, M §2).

Every expected figure is hand arithmetic written here: ``shares × 1000 × rate × days / 360``
with the 30/360 days counted in a comment, rounded half-up to the cent per holder per
period (``cents()`` below is that rounding, nothing else). The rules run on the pure
core (``tests/ledgers.py``); the commands and the load path run on both stores.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import accrual
from ledger.replay import Replayer
from ledger.state import IssuerState, Record
from projections.position import position
from tests.conftest import HISTORY
from tests.ledgers import book

D = Decimal
d = dt.date.fromisoformat
STATED = D(1000)


def cents(x: Decimal) -> Decimal:
    """Half-up to the cent (SPEC.md §2) — the only rounding the hand figures use."""
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def due(shares: int | Decimal, rate_days: Decimal | str) -> Decimal:
    """One holder's amount for one period: shares × 1000 × Σ(rate × days) / 360, rounded."""
    return cents(D(shares) * STATED * D(rate_days) / 360)


# -- event builders -------------------------------------------------------------------

def designate(series: str, date: str | None = None) -> dict[str, Any]:
    dates = {"G": "2000-12-28", "H": "2001-04-12", "K": "2001-11-19", "M": "2005-01-10"}
    return {"type": "SeriesDesignated", "effective_date": date or dates[series],
            "series": series, "terms_ref": f"nstor/{series}"}


def issue(series: str, holder: str, shares: int | str, date: str) -> dict[str, Any]:
    return {"type": "SharesIssued", "effective_date": date, "series": series,
            "holder": holder, "shares": str(shares)}


def paid(series: str, amount: str | Decimal, date: str, holder: str | None = None
         ) -> dict[str, Any]:
    ev = {"type": "DividendPaid", "effective_date": date, "series": series,
          "amount": str(amount)}
    if holder is not None:
        ev["holder"] = holder
    return ev


def missed(series: str, payment_date: str, date: str | None = None) -> dict[str, Any]:
    return {"type": "DividendMissed", "effective_date": date or payment_date,
            "series": series, "payment_date": payment_date}


def transfer(series: str, frm: str, to: str, shares: int, date: str) -> dict[str, Any]:
    return {"type": "SharesTransferred", "effective_date": date, "series": series,
            "from_holder": frm, "to_holder": to, "shares": str(shares)}


def records(events: list[dict[str, Any]]) -> list[Record]:
    """The events as records (seq and line 1, 2, ...), for tests that replay them."""
    return book(events).records()


def state(events: list[dict[str, Any]], as_of: str) -> IssuerState:
    return book(events).state(as_of)


def pos(events: list[dict[str, Any]], as_of: str) -> dict[str, Any]:
    return book(events).position(as_of)


def series(rep: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in rep["series"] if s["series"] == name)


def holder(rep: dict[str, Any], name: str, ser: str) -> dict[str, Any]:
    return next(h for h in rep["holders"] if h["holder"] == name and h["series"] == ser)


def dues_of(st_: IssuerState, ser: str) -> dict[tuple[str, dt.date], Decimal]:
    return {(h, x.due_date): x.amount for h, xs in st_.series[ser].dues.items() for x in xs
            if x.kind == "arrears"}


# -- accrual per series: first short period, a full quarter ------------------------------

def test_g_first_short_period_from_issue_date_and_full_quarter():
    evs = [designate("G"), issue("G", "Ann", 100, "2001-02-15")]
    # first period from the issue date: 30/360 days 2001-02-15 -> 2001-04-01 = 30*2 + (1-15)
    first = due(100, D("0.10") * 46)
    assert first == D("1277.78")  # 100 * 1000 * 0.10 * 46 / 360 = 1277.777…
    rep = pos(evs, "2001-04-10")
    g = series(rep, "G")
    assert g["arrears"] == "1277.78"
    # open period 2001-04-01 -> 04-11 (as of D accrues to D + 1): 10 days
    assert g["accrued_unpaid"] == str(first + due(100, D("0.10") * 10))  # + 277.78
    assert g["dividend_rate"] == "0.1" and g["missed_streak"] == 1
    # the day before: nothing due yet, accrual to 04-10 is two periods, rounded each:
    # [02-15, 04-01) 46 days -> due 04-10; [04-01, 04-10) 9 days -> due 07-10
    before = series(pos(evs, "2001-04-09"), "G")
    assert before["arrears"] == "0.00" and before["missed_streak"] == 0
    assert before["accrued_unpaid"] == str(first + due(100, D("0.10") * 9))  # 1277.78 + 250.00
    # a full quarter 2001-04-01 -> 07-01 = 90 days, due 2001-07-10
    st_ = state(evs, "2001-07-10")
    assert dues_of(st_, "G")[("Ann", d("2001-07-10"))] == due(100, D("0.10") * 90) == 2500


def test_g_issue_at_designation_first_period_runs_to_the_first_payment_date():
    # SPEC.md §4 first_payment_date: 2000-12-28 -> 2001-01-01 (3 days) would fall due
    # 2001-01-10, before 2001-04-10, so it falls due with Q1 (90 days), rounded once
    st_ = state([designate("G"), issue("G", "Ann", 100, "2000-12-28")], "2001-04-10")
    assert dues_of(st_, "G") == {("Ann", d("2001-04-10")): due(100, D("0.10") * 93)}
    assert due(100, D("0.10") * 93) == D("2583.33")
    # no amount ever fell due on 2001-01-10
    assert st_.series["G"].missed_dates == [d("2001-04-10")]


def test_h_first_short_period_and_full_quarter():
    evs = [designate("H"), issue("H", "Bob", 300, "2001-04-20")]
    st_ = state(evs, "2001-09-10")
    # 2001-04-20 -> 06-10: 30*2 + (10-20) = 50 days; 300 * 1000 * 0.10 * 50 / 360
    assert dues_of(st_, "H")[("Bob", d("2001-06-10"))] == due(300, D("0.10") * 50) == D(
        "4166.67")
    # 06-10 -> 09-10: 90 days
    assert dues_of(st_, "H")[("Bob", d("2001-09-10"))] == due(300, D("0.10") * 90) == 7500
    h = series(pos(evs, "2001-09-10"), "H")
    assert h["arrears"] == "11666.67"  # 4166.67 + 7500.00
    assert h["missed_streak"] == 2 and h["dividend_rate"] == "0.1"  # no step-up for H


def test_m_first_short_period_and_full_quarter_pay_on_quarter_start():
    evs = [designate("M"), issue("M", "Cy", 70, "2005-02-01")]
    st_ = state(evs, "2005-07-01")
    # 2005-02-01 -> 04-01: 60 days at 5%: 70 * 1000 * 0.05 * 60 / 360 = 583.333…
    assert dues_of(st_, "M") == {
        ("Cy", d("2005-04-01")): due(70, D("0.05") * 60),
        ("Cy", d("2005-07-01")): due(70, D("0.05") * 90),  # 875.00
    }
    assert due(70, D("0.05") * 60) == D("583.33")
    m = series(pos(evs, "2005-07-01"), "M")
    assert m["arrears"] == "1458.33" and m["dividend_rate"] == "0.05"
    # open period 07-01 -> 07-02: 1 day: 70 * 1000 * 0.05 / 360 = 9.72
    assert m["accrued_unpaid"] == str(D("1458.33") + due(70, D("0.05") * 1))


def test_k_has_no_dividend_fields():
    rep = pos([designate("K"), issue("K", "Fir", 10, "2001-12-01")], "2002-06-30")
    k = series(rep, "K")
    assert (k["dividend_rate"], k["accrued_unpaid"], k["arrears"], k["missed_streak"]) == (
        None, None, None, None)
    assert holder(rep, "Fir", "K")["accrued_unpaid"] is None


def test_rounding_is_per_holder_per_period():
    # three holders of 1 share from 2000-12-28: each 1000 * 0.10 * 93 / 360 = 25.8333…
    evs = [designate("G")] + [issue("G", h, 1, "2000-12-28") for h in ("A", "B", "C")]
    st_ = state(evs, "2001-04-10")
    assert set(dues_of(st_, "G").values()) == {D("25.83")}
    assert series(pos(evs, "2001-04-10"), "G")["arrears"] == "77.49"  # 3 * 25.83, not 77.50
    # one holder with two lots: summed before rounding (per holder, not per lot)
    two = [designate("G"), issue("G", "A", 1, "2000-12-28"), issue("G", "A", 2, "2000-12-28")]
    assert dues_of(state(two, "2001-04-10"), "G") == {("A", d("2001-04-10")): due(3, D(
        "0.10") * 93)}  # 77.50


def test_amounts_round_half_up_not_to_even():
    # 0.45 share (fractional shares are allowed) issued 2001-03-30: 30/360 days to
    # 04-01 = 30*1 + (1 - 30) = 1, due 2001-04-10: 0.45 * 1000 * 0.10 * 1 / 360 = 0.125
    # exactly -> 0.13 half-up (0.12 if it rounded half to even)
    st_ = state([designate("G"), issue("G", "Ann", "0.45", "2001-03-30")], "2001-04-10")
    assert D("0.45") * 1000 * D("0.10") * 1 / 360 == D("0.125")
    assert dues_of(st_, "G") == {("Ann", d("2001-04-10")): D("0.13")}


def test_accrual_runs_to_d_plus_one_across_a_31st():
    evs = [designate("G"), issue("G", "Ann", 360, "2001-01-01")]
    # as of 2001-01-30 -> accrual to 01-31: 30*0 + (31 - 1) = 30 days (d1 = 1 < 30)
    assert series(pos(evs, "2001-01-30"), "G")["accrued_unpaid"] == str(due(360, D("3.0")))
    # as of 01-31 -> to 02-01: 30 days as well (30/360 month)
    assert series(pos(evs, "2001-01-31"), "G")["accrued_unpaid"] == str(due(360, D("3.0")))
    assert due(360, D("3.0")) == 3000


# -- payments: oldest first, pro rata, holder-named ---------------------------------------

TWO = [designate("G"), issue("G", "Ann", 600, "2000-12-28"), issue("G", "Ben", 400, "2000-12-28")]
# due 2001-04-10 (93 days at 10%): Ann 600*1000*0.10*93/360 = 15500.00, Ben 10333.33
# due 2001-07-10 (90 days at 10%): Ann 15000.00, Ben 10000.00


def test_series_wide_partial_payment_pro_rata_inside_the_oldest_period():
    assert due(600, "9.3") == D("15500.00") and due(400, "9.3") == D("10333.33")
    st_ = state(TWO + [paid("G", "10000.00", "2001-04-10")], "2001-04-10")
    s = st_.series["G"]
    # 10000 pro rata to 15500.00 : 10333.33 (total 25833.33):
    # Ann 10000 * 15500 / 25833.33 = 6000.0007…, Ben 3999.9992… -> floors 6000.00 and
    # 3999.99; the leftover cent goes to the larger remainder (Ben's .0092 > Ann's .0007)
    assert s.unpaid("Ann") == D("15500.00") - D("6000.00")
    assert s.unpaid("Ben") == D("10333.33") - D("4000.00")
    assert s.unpaid() == D("25833.33") - 10000


def test_series_wide_payment_pays_the_oldest_period_first_then_pro_rata():
    st_ = state(TWO + [paid("G", "30000.00", "2001-07-20")], "2001-07-20")
    s = st_.series["G"]
    # 30000 - 25833.33 (the 04-10 amounts, in full) = 4166.67 over 07-10's 15000 : 10000:
    # Ann 2500.002 -> 2500.00, Ben 1666.668 -> 1666.66, leftover cent to Ben (.008 > .002)
    assert s.unpaid("Ann") == D("15000.00") - D("2500.00")
    assert s.unpaid("Ben") == D("10000.00") - D("1666.67")
    by_date = {(h, x.due_date): x.unpaid for h, xs in s.dues.items() for x in xs}
    assert by_date[("Ann", d("2001-04-10"))] == 0 and by_date[("Ben", d("2001-04-10"))] == 0
    # two misses (04-10, 07-10) -> 11% from 07-11; accrued as of 07-20 (to 07-21):
    # 10 days at 10% + 10 days at 11% = rate-days 1.0 + 1.1 = 2.1
    rep = position(st_, d("2001-07-20"))
    assert holder(rep, "Ann", "G")["accrued_unpaid"] == str(D("12500.00") + due(600, "2.1"))
    assert holder(rep, "Ben", "G")["accrued_unpaid"] == str(D("8333.33") + due(400, "2.1"))


def test_holder_payment_pays_only_that_holder_oldest_first():
    st_ = state(TWO + [paid("G", "20000.00", "2001-07-10", holder="Ann")], "2001-07-10")
    s = st_.series["G"]
    # Ann owes 15500.00 (04-10) + 15000.00 (07-10): 20000 pays 04-10 and 4500 of 07-10
    assert s.unpaid("Ann") == D("15500.00") + D("15000.00") - 20000
    assert s.unpaid("Ben") == D("10333.33") + D("10000.00")


def test_transfer_moves_accrual_not_yet_due_and_leaves_amounts_due():
    evs = [designate("G"), issue("G", "Ann", 100, "2000-12-28"),
           transfer("G", "Ann", "Ben", 40, "2001-05-01")]
    st_ = state(evs, "2001-07-10")
    assert dues_of(st_, "G") == {
        ("Ann", d("2001-04-10")): due(100, "9.3"),  # fell due before the transfer: stays
        ("Ann", d("2001-07-10")): due(60, "9.0"),   # 1500.00
        ("Ben", d("2001-07-10")): due(40, "9.0"),   # 1000.00, incl. 04-01 -> 05-01
    }


def test_conversion_moves_accrual_to_dividends_payable_and_arrears_stay():
    evs = [designate("H"), issue("H", "Bob", 300, "2001-04-20"),
           {"type": "SharesConverted", "effective_date": "2001-07-01", "series": "H",
            "holder": "Bob", "shares": "100"}]
    rep = pos(evs, "2001-07-01")
    h, bob = series(rep, "H"), holder(rep, "Bob", "H")
    # 100 converted shares: 2001-06-10 -> 07-01 = 21 days: 100 * 1000 * 0.10 * 21 / 360
    assert due(100, "2.1") == D("583.33")
    assert h["dividends_payable"] == bob["dividends_payable"] == "583.33"
    # the 06-10 amount of all 300 shares stays arrears: 4166.67 (see the H test above)
    assert h["arrears"] == "4166.67"
    # accrued_unpaid excludes payable: arrears + 200 shares 06-10 -> 07-02 (22 days)
    assert h["accrued_unpaid"] == str(D("4166.67") + due(200, "2.2"))
    # 09-10: the 200 remaining shares, 90 days; a payment naming Bob pays 06-10 arrears,
    # then the payable (dated 07-01), then 09-10, oldest first (SPEC.md §11 Payments)
    st_ = state(evs + [paid("H", "4750.00", "2001-09-11", holder="Bob")], "2001-09-11")
    s = st_.series["H"]
    assert s.unpaid("Bob", "payable") == 0  # 4750.00 = 4166.67 + 583.33
    assert s.unpaid("Bob") == due(200, "9.0") == 5000


def test_series_wide_payment_pays_arrears_only_never_dividends_payable():
    evs = [designate("H"), issue("H", "Bob", 300, "2001-04-20"), issue("H", "Cy", 100,
                                                                       "2001-04-20"),
           {"type": "SharesConverted", "effective_date": "2001-07-01", "series": "H",
            "holder": "Bob", "shares": "100"}]
    # arrears: 06-10 (50 days) Bob 300 -> 4166.67, Cy 100 -> 1388.89; 09-10 (90 days)
    # Bob 200 -> 5000.00, Cy 100 -> 2500.00. Bob's payable, dated 07-01 (between the two):
    # 100 shares x 21 days = 583.33
    arrears = due(300, "5.0") + due(100, "5.0") + due(200, "9.0") + due(100, "9.0")
    assert arrears == D("13055.56")
    st_ = state(evs + [paid("H", arrears, "2001-09-11")], "2001-09-11")
    s = st_.series["H"]
    assert s.unpaid() == 0 and s.unpaid("Bob", "payable") == due(100, "2.1")
    # a cent more than the arrears is rejected although the payable would cover it
    problems = book(evs).problems_of(paid("H", arrears + D("0.01"), "2001-09-11"))
    assert [(p.field, "13055.56" in p.message) for p in problems] == [("amount", True)]


def test_settle_is_one_call_for_the_accrual_of_converted_shares():
    lot = accrual.Lot("Bob", D(100), d("2001-04-20"), 0, d("2001-06-10"), d("2001-09-10"))
    # 06-10 -> 07-01 = 21 days at 10%: 583.33
    assert accrual.settle([lot], d("2001-07-01"), D("0.10"), STATED) == due(100, "2.1")
    assert lot.open_due is None  # closed: it accrues no more
    assert accrual.settle([lot], d("2001-08-01"), D("0.10"), STATED) == due(100, "2.1")


# -- missed payments, the G step-up, the cap, the reset -----------------------------------

ANN = [designate("G"), issue("G", "Ann", 100, "2000-12-28")]


def rate_on(evs: list[dict[str, Any]], day: str) -> str:
    return series(pos(evs, day), "G")["dividend_rate"]


def test_two_consecutive_misses_step_up_from_the_next_day():
    assert rate_on(ANN, "2001-07-10") == "0.1"   # missed 04-10 and 07-10: count 2 ...
    assert rate_on(ANN, "2001-07-11") == "0.11"  # ... +1% from P + 1
    st_ = state(ANN, "2001-10-10")
    # Q3 2001: 07-01 -> 07-11 10 days at 10%, 07-11 -> 10-01 80 days at 11%
    assert dues_of(st_, "G")[("Ann", d("2001-10-10"))] == due(100, D("0.10") * 10 + D(
        "0.11") * 80) == D("2722.22")
    assert [(r.effective, r.rate) for r in st_.series["G"].rate_history] == [
        (d("2000-12-28"), D("0.10")), (d("2001-07-11"), D("0.11"))]


def test_one_miss_is_no_step_up_and_h_never_steps_up():
    assert rate_on(ANN, "2001-04-11") == "0.1"
    h = [designate("H"), issue("H", "Bob", 100, "2001-04-20")]
    assert series(pos(h, "2003-01-01"), "H")["dividend_rate"] == "0.1"


def test_four_consecutive_misses_two_steps():
    assert rate_on(ANN, "2002-01-10") == "0.11"
    assert rate_on(ANN, "2002-01-11") == "0.12"
    st_ = state(ANN, "2002-04-10")
    # Q1 2002: 10 days at 11% + 80 days at 12% = rate-days 1.1 + 9.6 = 10.7
    assert dues_of(st_, "G")[("Ann", d("2002-04-10"))] == due(100, "10.7") == D("2972.22")
    assert series(pos(ANN, "2002-04-10"), "G")["missed_streak"] == 5


def test_step_up_caps_at_15_percent():
    st_ = state(ANN, "2004-12-31")
    # a step every second miss: 2001-07-11 11%, 2002-01-11 12%, 2002-07-11 13%,
    # 2003-01-11 14%, 2003-07-11 15%; then the count goes on but the rate stays
    assert [(r.effective.isoformat(), str(r.rate)) for r in st_.series["G"].rate_history] == [
        ("2000-12-28", "0.10"), ("2001-07-11", "0.11"), ("2002-01-11", "0.12"),
        ("2002-07-11", "0.13"), ("2003-01-11", "0.14"), ("2003-07-11", "0.15")]
    g = series(position(st_, d("2004-12-31")), "G")
    assert g["dividend_rate"] == "0.15"
    # 2001: 04-10, 07-10, 10-10 (the first payment date is 2001-04-10); 2002-2004: 4 each
    assert g["missed_streak"] == 3 + 4 * 3
    # Q3 2004 at the cap: 90 days at 15%
    assert dues_of(st_, "G")[("Ann", d("2004-10-10"))] == due(100, D("0.15") * 90) == 3750


def test_paying_the_arrears_resets_rate_and_count_from_the_next_day():
    # arrears on 2001-08-15: 2583.33 (04-10) + 2500.00 (07-10)
    evs = ANN + [paid("G", D("2583.33") + D("2500.00"), "2001-08-15")]
    assert rate_on(evs, "2001-08-15") == "0.11"
    g = series(pos(evs, "2001-08-15"), "G")
    assert g["arrears"] == "0.00" and g["missed_streak"] == 0
    assert rate_on(evs, "2001-08-16") == "0.1"
    st_ = state(evs, "2001-10-10")
    # Q3: 07-01 -> 07-11 10 d at 10%; 07-11 -> 08-16 35 d (30 + 16 - 11) at 11%;
    # 08-16 -> 10-01 45 d (60 + 1 - 16) at 10%: 1.0 + 3.85 + 4.5 = 9.35
    assert dues_of(st_, "G")[("Ann", d("2001-10-10"))] == due(100, "9.35") == D("2597.22")
    assert [str(r.rate) for r in st_.series["G"].rate_history] == ["0.10", "0.11", "0.10"]
    assert st_.series["G"].rate_history[-1].effective == d("2001-08-16")
    # after the reset two more misses are needed for a step: 10-10 (1), 2002-01-10 (2)
    assert rate_on(evs, "2001-10-11") == "0.1"
    assert rate_on(evs, "2002-01-11") == "0.11"


def test_a_payment_date_paid_in_full_resets_the_count():
    # miss 04-10 (count 1); on 07-10 pay 2583.33 + 2500.00: not missed, count 0;
    # then 10-10 (1) and 2002-01-10 (2): the step comes from 2002-01-11, not 2001-10-11
    evs = ANN + [paid("G", "5083.33", "2001-07-10")]
    assert series(pos(evs, "2001-07-10"), "G")["missed_streak"] == 0
    assert rate_on(evs, "2001-10-11") == "0.1"
    assert rate_on(evs, "2002-01-11") == "0.11"


def test_paying_only_the_new_quarter_still_misses_oldest_first():
    # 04-10 missed (2583.33 unpaid); on 07-10 pay exactly the 07-10 amount, 2500.00: it
    # goes to the oldest arrears, so 07-10 is missed too and the rate steps up
    evs = ANN + [paid("G", "2500.00", "2001-07-10")]
    g = series(pos(evs, "2001-07-10"), "G")
    assert g["arrears"] == "2583.33" and g["missed_streak"] == 2
    assert rate_on(evs, "2001-07-11") == "0.11"


def test_replay_is_closed_form_per_period_not_day_by_day(monkeypatch):
    calls: list[dt.date] = []
    orig = Replayer.start_of_day

    def counting(self: Replayer, t: dt.date) -> None:
        calls.append(t)
        orig(self, t)

    monkeypatch.setattr(Replayer, "start_of_day", counting)
    st_ = state(ANN, "2020-12-31")
    # 20 years: 80 period starts, 79 payment dates, 5 rate steps, 3 event days, the end:
    # a day-by-day loop would visit ~7,300 days
    assert len(set(calls)) <= 80 + 80 + 6 + 4
    assert st_.series["G"].rate == D("0.15")


def test_replay_after_a_liquidation_terminates(monkeypatch):
    from ledger import waterfall

    monkeypatch.setattr(waterfall, "distribute", lambda *a: None)
    evs = ANN + [{"type": "Liquidation", "effective_date": "2001-02-01", "proceeds": "5"}]
    st_ = state(evs, "2010-12-31")  # used to loop forever on the extinguished series
    assert st_.series["G"].extinguished


# -- property tests ------------------------------------------------------------------------

DAYS = st.integers(min_value=0, max_value=3 * 365)
BASE_DAY = d("2000-12-28")


def day_str(n: int) -> str:
    return (BASE_DAY + dt.timedelta(days=n)).isoformat()


@st.composite
def g_history(draw: st.DrawFn) -> list[dict[str, Any]]:
    """G issuances to a few holders, and series-wide partial payments (each a fraction of
    the arrears on its date, so never an overpayment)."""
    evs = [designate("G")]
    n = draw(st.integers(min_value=1, max_value=3))
    for i in range(n):
        evs.append(issue("G", f"h{i}", draw(st.integers(1, 500)), day_str(draw(DAYS))))
    evs.sort(key=lambda e: e["effective_date"])
    pays = sorted(draw(st.lists(st.tuples(DAYS, st.integers(1, 100)), max_size=4)))
    for when, pct in pays:
        day = day_str(when)
        arrears = state(evs, day).series["G"].unpaid()
        amount = cents(arrears * pct / 100)
        if amount > 0:
            evs.append(paid("G", amount, day))
    return evs


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g_history(), DAYS)
def test_paying_exactly_the_arrears_leaves_none_and_the_base_rate_next_day(evs, when):
    day = day_str(when)
    if day < max(e["effective_date"] for e in evs):
        day = max(e["effective_date"] for e in evs)
    arrears = state(evs, day).series["G"].unpaid()
    if arrears > 0:
        evs = evs + [paid("G", arrears, day)]
    st_ = state(evs, day)
    s = st_.series["G"]
    assert s.unpaid() == 0 and s.missed_streak == 0
    nxt = (d(day) + dt.timedelta(days=1)).isoformat()
    assert state(evs, nxt).series["G"].rate == D("0.10")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g_history(), DAYS)
def test_accrued_unpaid_is_never_negative(evs, when):
    rep = pos(evs, day_str(when))
    for s in rep["series"]:
        assert D(s["accrued_unpaid"]) >= 0 and D(s["arrears"]) >= 0
        assert D(s["accrued_unpaid"]) >= D(s["arrears"])
    for h in rep["holders"]:
        assert D(h["accrued_unpaid"]) >= 0


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["G", "H", "M"]), st.integers(2, 2000), st.data())
def test_splitting_a_lot_changes_the_total_due_by_rounding_only(ser, shares, data):
    first = {"G": "2000-12-28", "H": "2001-04-12", "M": "2005-01-10"}[ser]
    start = d(first) + dt.timedelta(days=data.draw(st.integers(0, 400)))
    part = data.draw(st.integers(1, shares - 1))
    same_holder = data.draw(st.booleans())
    as_of = (start + dt.timedelta(days=data.draw(st.integers(0, 800)))).isoformat()
    one = [designate(ser), issue(ser, "A", shares, start.isoformat())]
    two = [designate(ser), issue(ser, "A", part, start.isoformat()),
           issue(ser, "A" if same_holder else "B", shares - part, start.isoformat())]
    st1, st2 = state(one, as_of), state(two, as_of)
    per_date_1: dict[dt.date, Decimal] = {}
    per_date_2: dict[dt.date, Decimal] = {}
    for (_, day), amt in dues_of(st1, ser).items():
        per_date_1[day] = per_date_1.get(day, D(0)) + amt
    for (_, day), amt in dues_of(st2, ser).items():
        per_date_2[day] = per_date_2.get(day, D(0)) + amt
    assert per_date_1.keys() == per_date_2.keys()
    for day, amt in per_date_1.items():
        if same_holder:  # one holder: summed before rounding, so identical
            assert per_date_2[day] == amt
        else:  # two roundings instead of one: at most a cent apart per period
            assert abs(per_date_2[day] - amt) <= D("0.01")
    a1 = D(series(position(st1, d(as_of)), ser)["accrued_unpaid"])
    a2 = D(series(position(st2, d(as_of)), ser)["accrued_unpaid"])
    periods = len(per_date_1) + 2  # the due ones plus at most two not yet due
    assert abs(a1 - a2) <= D("0.01") * (0 if same_holder else periods)


# -- the fixture history, recomputed by hand ----------------------------------------------

def g_fixture_quarters() -> list[tuple[str, Decimal]]:
    """Series G in history.jsonl: (payment date, rate-days of the quarter it closes).

    Misses and step-ups: 2001-04-10 and 07-10 missed -> 11% from 2001-07-11; 10-10 and
    2002-01-10 -> 12% from 01-11; 04-10 and 07-10 -> 13% from 07-11; 2002-10-10 catch-up
    (nstor-0026) -> 10% from 10-11; then never paid: 2003-01-10, 04-10 -> 11% from
    04-11; -> 12% from 2003-10-11; 13% from 2004-04-11; 14% from 2004-10-11; 15% from
    2005-04-11. A step splits its quarter into 10 days at the old and 80 at the new rate.
    """
    r = D
    return [
        ("2001-07-10", r("0.10") * 90),
        ("2001-10-10", r("0.10") * 10 + r("0.11") * 80),
        ("2002-01-10", r("0.11") * 90),
        ("2002-04-10", r("0.11") * 10 + r("0.12") * 80),
        ("2002-07-10", r("0.12") * 90),
        ("2002-10-10", r("0.12") * 10 + r("0.13") * 80),
        ("2003-01-10", r("0.13") * 10 + r("0.10") * 80),
        ("2003-04-10", r("0.10") * 90),
        ("2003-07-10", r("0.10") * 10 + r("0.11") * 80),
        ("2003-10-10", r("0.11") * 90),
        ("2004-01-10", r("0.11") * 10 + r("0.12") * 80),
        ("2004-04-10", r("0.12") * 90),
        ("2004-07-10", r("0.12") * 10 + r("0.13") * 80),
        ("2004-10-10", r("0.13") * 90),
        ("2005-01-10", r("0.13") * 10 + r("0.14") * 80),
        ("2005-04-10", r("0.14") * 90),
        ("2005-07-10", r("0.14") * 10 + r("0.15") * 80),
        ("2005-10-10", r("0.15") * 90),
    ]


def g_holders_on(day: str) -> list[int]:
    """G shares per holder on a payment date (history.jsonl): Alder 600, Birch 400,
    Cedar 500 (from 2001-02-15); 2001-09-01 Birch -> Cedar 100; 2002-03-01 Alder -> Elm 200.
    Accrual not yet due moves with the shares, so a quarter is due to who holds at its end."""
    if day < "2001-09-01":
        return [600, 400, 500]
    if day < "2002-03-01":
        return [600, 300, 600]
    return [400, 200, 300, 600]


def g_fixture_due(day: str, rate_days: Decimal) -> Decimal:
    return sum((due(n, rate_days) for n in g_holders_on(day)), D(0))


def g_fixture_arrears(as_of: str) -> Decimal:
    # 2001-04-10: Alder and Birch 93 days, Cedar 46 days (2001-02-15 -> 04-01) at 10%
    total = due(600, "9.3") + due(400, "9.3") + due(500, "4.6")
    assert total == D("32222.22")  # 15500.00 + 10333.33 + 6388.89
    paid_ = {"2001-04-10": D("30000.00"), "2001-07-10": D("35000.00"),
             "2002-10-10": D("224722.21")}  # nstor-0006, 0011, 0026
    arrears = total - paid_["2001-04-10"]
    for day, rd in g_fixture_quarters():
        if day > as_of:
            break
        arrears += g_fixture_due(day, rd) - paid_.get(day, D(0))
    return arrears


def test_fixture_g_catch_up_equals_the_hand_computed_arrears():
    # the arrears just before nstor-0026 pays, counted by hand: exactly its amount
    assert g_fixture_arrears("2002-10-10") == 0
    before = g_fixture_arrears("2002-07-10") + g_fixture_due("2002-10-10", D("0.12") * 10 + D(
        "0.13") * 80)
    assert before == D("224722.21")


G_FIXTURE_DATES = [
    # as of, rate, missed_streak, rate-days of the open period to D + 1
    ("2001-04-10", "0.1", 1, D("0.10") * 10),                     # 04-01 -> 04-11
    ("2001-07-11", "0.11", 2, D("0.10") * 10 + D("0.11") * 1),    # 07-01 -> 07-12
    ("2002-10-10", "0.13", 0, D("0.13") * 10),                    # 10-01 -> 10-11
    ("2002-10-11", "0.1", 0, D("0.13") * 10 + D("0.10") * 1),     # the reset
    ("2004-03-15", "0.12", 5, D("0.12") * 75),                    # 01-01 -> 03-16
    ("2005-12-31", "0.15", 12, D("0.15") * 90),                   # 10-01 -> 2006-01-01
]


def test_fixture_position_g_by_hand():
    fixture = book(HISTORY)
    for as_of, rate, streak, open_rate_days in G_FIXTURE_DATES:
        g = fixture.series(as_of, "G")
        arrears = g_fixture_arrears(as_of)
        # the open period's accrual is rounded per holder too (holders as on that date)
        accrued = arrears + sum((due(n, open_rate_days) for n in g_holders_on(as_of)), D(0))
        assert (g["dividend_rate"], g["missed_streak"]) == (rate, streak), as_of
        assert g["arrears"] == f"{arrears:.2f}", as_of
        assert g["accrued_unpaid"] == f"{accrued:.2f}", as_of


def test_fixture_position_h_and_m_by_hand():
    fixture = book(HISTORY)
    h = fixture.series("2001-12-31", "H")
    # 06-10: Dogwood 2000 x 50 days (04-20 ->), Alder 1000 x 25 days (05-15 ->)
    due_0610 = due(2000, "5.0") + due(1000, "2.5")            # 27777.78 + 6944.44
    # 09-10: Dogwood, Alder 90 days; Elm 800 x 39 days (08-01 -> 09-10 = 30 + 9)
    due_0910 = due(2000, "9.0") + due(1000, "9.0") + due(800, "3.9")
    # 12-10: 90 days to the holders after the 10-15 transfer (Dogwood 1500, Elm 1300)
    due_1210 = due(1500, "9.0") + due(1300, "9.0") + due(1000, "9.0")
    arrears = due_0610 + due_0910 + due_1210 - D("30000.00") - D("80000.00")
    assert h["arrears"] == f"{arrears:.2f}" == "103388.89"
    # open: 12-10 -> 2002-01-01 = 30 + (1 - 10) = 21 days
    open_ = due(1500, "2.1") + due(1300, "2.1") + due(1000, "2.1")
    assert h["accrued_unpaid"] == f"{arrears + open_:.2f}"
    m = fixture.series("2005-12-31", "M")
    # M 5%: Alder 3000 and Hawthorn 2000 from 2005-02-01: 60 days to 04-01, then full
    # quarters due 07-01 and 10-01; open 10-01 -> 2006-01-01 = 90 days
    first = due(3000, D("0.05") * 60) + due(2000, D("0.05") * 60)   # 25000.00 + 16666.67
    quarter = due(3000, D("0.05") * 90) + due(2000, D("0.05") * 90)  # 37500.00 + 25000.00
    assert m["arrears"] == f"{first + 2 * quarter:.2f}" == "166666.67"
    assert m["accrued_unpaid"] == f"{first + 3 * quarter:.2f}"
    assert (m["dividend_rate"], m["missed_streak"]) == ("0.05", 3)


# -- the rates report, and the command on both stores ------------------------------------

def test_rates_of_the_fixture_g_history():
    rep = book(HISTORY).rates("G")
    assert rep["as_of"] == "2005-12-31" and rep["dividend_rate"] == "0.15"
    assert [(r["effective_date"], r["rate"]) for r in rep["rates"]] == [
        ("2000-12-28", "0.1"), ("2001-07-11", "0.11"), ("2002-01-11", "0.12"),
        ("2002-07-11", "0.13"), ("2002-10-11", "0.1"), ("2003-04-11", "0.11"),
        ("2003-10-11", "0.12"), ("2004-04-11", "0.13"), ("2004-10-11", "0.14"),
        ("2005-04-11", "0.15")]
    assert "reset" in rep["rates"][4]["cause"] and "2002-10-10" in rep["rates"][4]["cause"]
    assert "step-up" in rep["rates"][1]["cause"]
    # as of a date: only what was in force by then, plus the change fixed for the next day
    early = book(HISTORY).rates("G", "2001-07-10")
    assert [(r["effective_date"], r["scheduled"]) for r in early["rates"]] == [
        ("2000-12-28", False), ("2001-07-11", True)]


def test_rates_command(cli):
    assert cli("load", str(HISTORY)).exit_code == 0
    rep = cli.json("rates", "--series", "G")
    assert rep["as_of"] == "2005-12-31" and rep["dividend_rate"] == "0.15"
    assert len(rep["rates"]) == 10 and rep["rates"][4]["effective_date"] == "2002-10-11"
    early = cli.json("rates", "--series", "G", "--as-of", "2001-07-10")
    assert [(r["effective_date"], r["scheduled"]) for r in early["rates"]] == [
        ("2000-12-28", False), ("2001-07-11", True)]
    table = cli("rates", "--series", "G")
    assert table.exit_code == 0
    assert "2002-10-11" in table.stdout and "reset" in table.stdout
    r = cli("rates", "--series", "Z")
    assert r.exit_code == 2 and "'Z'" in r.stderr and "no such series" in r.stderr
    k = cli("rates", "--series", "K")
    assert k.exit_code == 0 and "pays no dividends" in k.stdout
    assert cli("rates", "--series", "G", "--as-of", "2001-02-30").exit_code == 2


# -- rejections: exit 2, line / event / field named, nothing stored -------------------------

BASE = [designate("G"), designate("H"), designate("K"), designate("M"),
        issue("G", "Ann", 100, "2000-12-28"), issue("K", "Kay", 5, "2001-12-01")]

DIVIDEND_REJECTIONS = [
    # (events loaded after BASE, field named, words of the message)
    # arrears on 2001-04-10: 100 * 1000 * 0.10 * 93 / 360 = 2583.33; a cent more is too much
    ([paid("G", "2583.34", "2001-04-10")], "amount", ["DividendPaid", "2583.33"]),
    ([paid("G", "2583.34", "2001-04-10", holder="Ann")], "amount", ["DividendPaid", "Ann"]),
    ([paid("G", "1.00", "2001-04-10", holder="Nobody")], "holder",
     ["DividendPaid", "unknown holder"]),
    ([paid("K", "1.00", "2002-01-01")], "series", ["DividendPaid", "pays no dividends"]),
    ([paid("G", "10.005", "2001-04-10")], "amount", ["DividendPaid", "cents"]),
    ([paid("G", "0", "2001-04-10")], "amount", ["DividendPaid", "greater than zero"]),
    ([paid("Z", "1.00", "2001-04-10")], "series", ["DividendPaid", "unknown series"]),
    ([missed("G", "2001-07-01")], "payment_date",
     ["DividendMissed", "not a Series G payment date"]),
    ([missed("G", "2001-04-10", date="2001-04-09")], "payment_date", ["DividendMissed"]),
    ([missed("G", "2001-01-10", date="2001-02-01")], "payment_date",
     ["DividendMissed", "first Series G payment date"]),
    ([missed("M", "2005-01-01", date="2005-02-01")], "payment_date",
     ["DividendMissed", "2005-04-01"]),
    ([missed("K", "2002-03-10")], "series", ["DividendMissed", "pays no dividends"]),
]


@pytest.mark.parametrize("events,field,words", DIVIDEND_REJECTIONS,
                         ids=[f"r{i}" for i in range(len(DIVIDEND_REJECTIONS))])
def test_dividend_rejections(events, field, words):
    book(BASE).refused(events, field, *words)


def test_dividend_rejections_through_load(cli, jsonl):
    """Every case above through ``prefledger load``: exit 2, named, nothing stored."""
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    before = cli.spec.rows()
    for events, field, words in DIVIDEND_REJECTIONS:
        cli.refuses(jsonl(events), *words, field=field, before=before)


def test_back_dated_payment_that_makes_a_stored_one_too_large_is_rejected(cli, jsonl):
    # stored: 2583.33 paid on 2001-05-01, exactly the arrears then (2583.33, due 04-10)
    assert cli("load", str(jsonl(BASE + [paid("G", "2583.33", "2001-05-01")]))).exit_code == 0
    before = cli.spec.content()
    # back-dated 100.00 on 2001-04-20 applies first; the stored 2583.33 then exceeds the
    # remaining 2483.33: the new line is rejected, naming the stored event
    r = cli("load", str(jsonl([paid("G", "100.00", "2001-04-20")])))
    assert r.exit_code == 2, r.output
    assert "line 1" in r.stderr and "stored event DividendPaid" in r.stderr
    assert "amount" in r.stderr and "2483.33" in r.stderr
    # a second payment on the same day, recorded after it, finds no arrears left
    r = cli("load", str(jsonl([paid("G", "0.01", "2001-05-01")])))
    assert r.exit_code == 2 and "0.00" in r.stderr
    assert cli.spec.content() == before
    assert series(cli.json("position", "--as-of", "2001-05-01"), "G")["arrears"] == "0.00"
