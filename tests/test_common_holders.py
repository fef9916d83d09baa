"""Common stock by holder, and cancellations (SPEC.md §13).

Common is held by named holders; common issued without one belongs to the holder
``null`` (the unattributed holder). Conversions issue their common to the converting
holder, an offering to the holder it names; common moves with ``SharesTransferred``
(``series: "common"``); ``SharesCancelled`` retires preferred or common shares for good,
extinguishing what cancelled preferred was owed. The position, the waterfall and the
reporting tables carry common by holder.

Every expected figure is hand arithmetic written in the test. Rates and factors are
carried at 40 significant digits, as the ledger carries them (``P40``).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Context, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.conversion import listing
from ledger.events import parse_line, parse_object
from ledger.replay import replay
from ledger.state import IssuerState, Record
from ledger.waterfall import distribute
from projections.position import position
from projections.rollforward import rollforward
from projections.tables import at, project_issuer

D = Decimal
P40 = Context(prec=40)
QUARTERS = ["01-01", "04-01", "07-01", "10-01"]


def ev(type_: str, date: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "effective_date": date, **fields}


def records(events: list[dict[str, Any]]) -> list[Record]:
    out = []
    for i, e in enumerate(events, start=1):
        got = parse_object(e, strict=True)
        assert not isinstance(got, list), got
        out.append(Record(got, i, i, "2026-01-01T00:00:00+00:00", f"h{i}"))
    return out


def state(events: list[dict[str, Any]], as_of: str) -> IssuerState:
    s, problems = replay("default", records(events), dt.date.fromisoformat(as_of))
    assert problems == [], problems
    return s


def problems_of(events: list[dict[str, Any]]) -> list[str]:
    """Every problem of the events, as ``field: message`` (parse or replay)."""
    recs = []
    for i, e in enumerate(events, start=1):
        got = parse_object(e, strict=True)
        if isinstance(got, list):
            return [f"{p.field}: {p.message}" for p in got]
        recs.append(Record(got, i, i))
    _, problems = replay("default", recs, None)
    return [f"{p.field}: {p.message}" for p in problems]


def common_of(s: IssuerState) -> dict[str | None, Decimal]:
    return dict(s.common)


def pos_common(rep: dict[str, Any]) -> dict[str | None, str]:
    return {h["holder"]: h["shares"] for h in rep["holders"] if h["series"] == "common"}


H_DESIGNATION = ev("SeriesDesignated", "2001-04-12", series="H", terms_ref="nstor/H")
K_DESIGNATION = ev("SeriesDesignated", "2001-11-19", series="K", terms_ref="nstor/K")


def opening(shares: str, date: str = "2001-04-12", holder: str | None = None
            ) -> dict[str, Any]:
    e = ev("CommonStockIssued", date, shares=shares, kind="opening")
    if holder is not None:
        e["holder"] = holder
    return e


def h_history() -> list[dict[str, Any]]:
    """H with 30,000,000 unattributed common; Dogwood 2,000 H, Alder 1,000 H."""
    return [H_DESIGNATION, opening("30000000"),
            ev("SharesIssued", "2001-04-20", series="H", holder="Dogwood", shares="2000"),
            ev("SharesIssued", "2001-05-15", series="H", holder="Alder", shares="1000")]


def p_terms(**kw: Any) -> dict[str, Any]:
    """A plain 8% cumulative series paying on each quarter start (30/360)."""
    t: dict[str, Any] = {"series": "P", "designated": "2024-01-01", "authorized_shares": "300",
                         "dividend_rate": "0.08", "period_starts": QUARTERS}
    t.update(kw)
    return t


def p_history() -> list[dict[str, Any]]:
    """Ann 100 P on 2024-01-01 and 100 more on 2024-04-16; Bob 100 on 2024-01-01."""
    return [ev("SeriesDesignated", "2024-01-01", series="P", terms=p_terms()),
            ev("SharesIssued", "2024-01-01", series="P", holder="Ann", shares="100",
               price_per_share="1000"),
            ev("SharesIssued", "2024-01-01", series="P", holder="Bob", shares="100",
               price_per_share="1000"),
            ev("SharesIssued", "2024-04-16", series="P", holder="Ann", shares="100",
               price_per_share="1000")]


CANCEL_150 = ev("SharesCancelled", "2024-05-16", id="x1", series="P", holder="Ann",
                shares="150", reason="repurchase", price_per_share="900")


# -- common by holder -----------------------------------------------------------------------

def test_a_conversion_issues_its_common_to_the_converting_holder():
    """300 H × 1,388.89 = 416,667 common to Dogwood; the opening stays unattributed."""
    evs = h_history() + [ev("SharesConverted", "2004-03-15", series="H", holder="Dogwood",
                            shares="300")]
    s = state(evs, "2004-03-15")
    assert D(300) * D("1388.89") == D(416_667)
    assert common_of(s) == {None: D(30_000_000), "Dogwood": D(416_667)}
    assert s.common_outstanding == D(30_000_000) + D(416_667) == D(30_416_667)
    rep = position(s, dt.date(2004, 3, 15))
    assert rep["common_outstanding"] == "30416667"
    dogwood = [h for h in rep["holders"] if h["holder"] == "Dogwood"]
    # sorted by holder then series ("H" before "common"); common votes one per share
    assert [(h["series"], h["shares"], h["votes"]) for h in dogwood] == [
        ("H", "1700", str(int(D(1700) * D("1388.89")))), ("common", "416667", "416667")]
    assert dogwood[1]["accrued_unpaid"] is None and dogwood[1]["dividends_payable"] is None
    # the unattributed holder is the last holder line, with holder null
    assert rep["holders"][-1] == {"holder": None, "series": "common", "shares": "30000000",
                                  "accrued_unpaid": None, "dividends_payable": None,
                                  "votes": "30000000", "declared_unpaid": None}


def test_an_automatic_conversion_credits_each_holder():
    """K's approval: Fir 6,000 × 1,000/0.23 = 26,086,956.52 -> 26,086,956; Grove 4,000 ×
    4,347.826… = 17,391,304.35 -> 17,391,304 (rounded down per holder)."""
    evs = [K_DESIGNATION, opening("30000000", "2001-11-19"),
           ev("SharesIssued", "2001-11-30", series="K", holder="Fir", shares="6000"),
           ev("SharesIssued", "2002-01-15", series="K", holder="Grove", shares="4000"),
           ev("ShareholderApproval", "2003-06-30", matters=["series_k_conversion"])]
    rate = P40.divide(D(1000), D("0.23"))
    assert int(D(6000) * rate) == 26_086_956 and int(D(4000) * rate) == 17_391_304
    s = state(evs, "2003-06-30")
    assert common_of(s) == {None: D(30_000_000), "Fir": D(26_086_956),
                            "Grove": D(17_391_304)}
    assert s.common_outstanding == 30_000_000 + 26_086_956 + 17_391_304


def test_common_issued_and_offered_goes_to_the_holder_named_else_unattributed():
    """An issuance names its holder; an offering too (its mandatory conversions first, to
    the converting holders); without a holder, the unattributed holder."""
    a = {"series": "A", "designated": "2024-01-01", "authorized_shares": "1000",
         "stated_value": "10", "conversion": "elective", "conversion_rate": "1",
         "mandatory_conversion": [{"public_offering": {"min_price": "5"}}]}
    evs = [ev("SeriesDesignated", "2024-01-01", series="A", terms=a),
           ev("CommonStockIssued", "2024-01-01", shares="1000", kind="opening",
              holder="Founder"),
           ev("CommonStockIssued", "2024-01-02", shares="50", kind="option_exercise",
              price_per_share="1", holder="Emp"),
           ev("CommonStockIssued", "2024-01-03", shares="70", kind="other",
              consideration="70"),
           ev("SharesIssued", "2024-01-05", series="A", holder="VC", shares="200"),
           ev("PublicOffering", "2024-06-01", price_per_share="20", shares="300",
              gross_proceeds="6000", holder="Underwriter"),
           ev("PublicOffering", "2024-07-01", price_per_share="20", shares="40",
              gross_proceeds="800")]
    s = state(evs, "2024-07-01")
    # VC's 200 A × 1 = 200 common on the first offering, then 300 to the underwriter;
    # the second offering names no holder: 70 + 40 = 110 unattributed
    assert common_of(s) == {"Founder": D(1000), "Emp": D(50), None: D(110), "VC": D(200),
                            "Underwriter": D(300)}
    assert s.common_outstanding == 1000 + 50 + 70 + 200 + 300 + 40 == 1660
    rep = position(s, dt.date(2024, 7, 1))
    assert [h["holder"] for h in rep["holders"] if h["series"] == "common"] == [
        "Emp", "Founder", "Underwriter", "VC", None]


def test_a_liquidation_extinguishes_every_holding_of_common():
    evs = [*h_history(), ev("CommonStockIssued", "2001-06-01", shares="5", kind="sale",
                            price_per_share="1", holder="Ann"),
           ev("Liquidation", "2001-06-30", proceeds="100.00")]
    s = state(evs, "2001-06-30")
    assert s.common == {} and s.common_outstanding == 0
    assert pos_common(position(s, dt.date(2001, 6, 30))) == {}
    rejected = problems_of(evs + [ev("SharesCancelled", "2001-07-01", series="common",
                                     holder="Ann", shares="1", reason="other")])
    assert any("no event may follow a Liquidation" in p for p in rejected), rejected


def test_a_split_multiplies_every_holding_exactly():
    """Ann 3, Bob 5, unattributed 7: × 2.5 = 7.5, 12.5, 17.5; then 1-for-10 (× 0.1) =
    0.75, 1.25, 1.75: exact, common outstanding = their sum, 3.75 = 15 × 2.5 × 0.1."""
    evs = [opening("7", "2024-01-01"), opening("3", "2024-01-01", "Ann"),
           opening("5", "2024-01-01", "Bob"),
           ev("CommonStockSplit", "2024-02-01", ratio="2.5")]
    s = state(evs, "2024-02-01")
    assert common_of(s) == {None: D("17.5"), "Ann": D("7.5"), "Bob": D("12.5")}
    assert s.common_outstanding == D("37.5")
    s = state(evs + [ev("CommonStockSplit", "2024-03-01", ratio="0.1")], "2024-03-01")
    assert common_of(s) == {None: D("1.75"), "Ann": D("0.75"), "Bob": D("1.25")}
    assert s.common_outstanding == D("3.75")
    rep = position(s, dt.date(2024, 3, 1))
    assert pos_common(rep) == {"Ann": "0.75", "Bob": "1.25", None: "1.75"}
    assert rep["common_outstanding"] == rep["common_votes"] == "3.75"


# -- transfers of common ----------------------------------------------------------------------

def _common_base() -> list[dict[str, Any]]:
    return [opening("1000", "2024-01-01", "Ann"), opening("500", "2024-01-01")]


def test_common_transfers_between_named_holders():
    """Ann 1,000 -> 400 to Bob: Ann 600, Bob 400; the total 1,500 does not move."""
    evs = _common_base() + [ev("SharesTransferred", "2024-02-01", series="common",
                               from_holder="Ann", to_holder="Bob", shares="400")]
    s = state(evs, "2024-02-01")
    assert common_of(s) == {"Ann": D(600), None: D(500), "Bob": D(400)}
    assert s.common_outstanding == 1500
    # all of it: Ann leaves the common holders
    s = state(evs + [ev("SharesTransferred", "2024-03-01", series="common", from_holder="Ann",
                        to_holder="Bob", shares="600")], "2024-03-01")
    assert common_of(s) == {None: D(500), "Bob": D(1000)}


@pytest.mark.parametrize("fields,expected", [
    ({"from_holder": "Ann", "to_holder": "Bob", "shares": "1001"},
     "shares: 'Ann' holds 1000 common shares on this date, fewer than 1001"),
    ({"from_holder": "Zed", "to_holder": "Bob", "shares": "1"},
     "from_holder: unknown holder 'Zed'"),
    ({"from_holder": "Ann", "to_holder": "Ann", "shares": "1"},
     "to_holder: a transfer needs two different holders"),
    # unattributed common has no holder to transfer it: neither null nor the reserved name
    ({"from_holder": None, "to_holder": "Bob", "shares": "1"}, "from_holder: "),
    ({"from_holder": "unattributed", "to_holder": "Bob", "shares": "1"},
     "from_holder: 'unattributed' is reserved for common stock without a named holder"),
])
def test_bad_common_transfers_are_rejected(fields, expected):
    got = problems_of(_common_base() + [ev("SharesTransferred", "2024-02-01",
                                           series="common", **fields)])
    assert len(got) == 1 and got[0].startswith(expected), got


def test_no_holder_may_take_the_reserved_name():
    for e in (ev("SharesIssued", "2024-01-01", series="P", holder="unattributed",
                 shares="1"),
              ev("CommonStockIssued", "2024-01-01", shares="1", kind="opening",
                 holder="unattributed")):
        got = parse_line(json.dumps(e), 1)
        assert isinstance(got, list) and got[0].field == "holder", got
        assert "reserved" in got[0].message
    # a look-alike in case is another name
    assert not isinstance(parse_line(json.dumps(opening("1", holder="Unattributed")), 1),
                          list)


# -- balance assertions of a holder's common --------------------------------------------------

def test_a_balance_assertion_checks_a_holders_common():
    ok = _common_base() + [
        ev("BalanceAsserted", "2024-01-01", series="common", holder="Ann", shares="1000"),
        ev("BalanceAsserted", "2024-01-01", series="common", shares="1500")]
    assert problems_of(ok) == []
    bad = _common_base() + [ev("BalanceAsserted", "2024-01-01", series="common",
                               holder="Ann", shares="999")]
    assert problems_of(bad) == ["shares: balance assertion failed on 2024-01-01: expected 999, "
                                "actual common held by 'Ann' 1000"]


# -- cancellations of preferred ---------------------------------------------------------------

def test_a_partial_cancellation_extinguishes_what_the_shares_were_owed():
    """Ann holds 100 P (2024-01-01) and 100 P (2024-04-16); 150 cancelled 2024-05-16.

    - arrears: due 2024-04-01 for Ann's first lot, 100 × $1,000 × 8% × 90/360 = 2,000.00;
      the cancelled part is 2,000.00 × 150/200 = 1,500.00;
    - accrual not yet due, oldest lots first, to 2024-05-16 exclusive: the whole first lot
      04-01 -> 05-16 (45 days) 100 × 1,000 × 8% × 45/360 = 1,000.00, and 50 of the second
      04-16 -> 05-16 (30 days) 50 × 1,000 × 8% × 30/360 = 333.333…: both would fall due on
      2024-07-01, so rounded once: 1,333.33;
    - what is left: Ann's 50 shares of the second lot, 500.00 of arrears.
    """
    s = state(p_history() + [CANCEL_150], "2024-05-16")
    p = s.series["P"]
    (c,) = s.cancellations
    assert (c.series, c.holder, c.shares, c.reason) == ("P", "Ann", D(150), "repurchase")
    assert c.arrears == D("2000.00") * 150 / 200 == D("1500.00")
    assert c.accrued == (D(100) * 1000 * D("0.08") * 45 / 360
                         + D(50) * 1000 * D("0.08") * 30 / 360).quantize(D("0.01")) == \
        D("1333.33")
    assert c.extinguished == D("2833.33")
    assert c.paid == 150 * D(900) == D("135000.00")
    assert (p.issued_total, p.cancelled_total, p.outstanding) == (D(300), D(150), D(150))
    assert p.held("Ann") == 50 and p.unpaid("Ann") == D("500.00")
    assert p.unpaid("Bob") == D("2000.00")  # Bob's arrears are his own
    # Ann's 50 remaining shares accrue their own quarter: 04-16 -> 07-01 is
    # 30 × 3 + (1 − 16) = 75 days, 50 × 1,000 × 8% × 75/360 = 833.333… -> 833.33, due
    # on 2024-07-01
    rep = position(state(p_history() + [CANCEL_150], "2024-06-30"), dt.date(2024, 6, 30))
    ann = next(h for h in rep["holders"] if h["holder"] == "Ann")
    assert ann["shares"] == "50"
    assert D(ann["accrued_unpaid"]) == D("500.00") + D("833.33")
    after = state(p_history() + [CANCEL_150], "2024-07-01").series["P"]
    assert after.unpaid("Ann") == D("500.00") + D("833.33")
    (row,) = rep["series"]
    assert (row["issued_total"], row["cancelled_total"], row["outstanding"]) == (
        "300", "150", "150")
    # the conversions report lists the cancellation with what it extinguished
    (line,) = listing(state(p_history() + [CANCEL_150], "2024-05-16"), "P")["cancellations"]
    assert line == {"date": "2024-05-16", "holder": "Ann", "shares": "150",
                    "reason": "repurchase", "price_per_share": "900", "paid": "135000.00",
                    "arrears_extinguished": "1500.00", "accrued_extinguished": "1333.33",
                    "extinguished": "2833.33", "event_id": "x1"}


def test_cancelled_shares_never_return_to_the_authorized_pool():
    """300 authorized, 300 issued, 150 cancelled: one more share is still too many."""
    evs = p_history() + [CANCEL_150, ev("SharesIssued", "2024-06-01", series="P",
                                        holder="Cy", shares="1")]
    (msg,) = problems_of(evs)
    assert msg.startswith("shares: issuing 1 would bring Series P to 301 shares issued, "
                          "more than the 300 authorized")


def test_a_cancellation_splits_each_amount_due_half_up():
    """Ann's 100 shares owe 2,000.00 (2024-04-01); cancelling 33 extinguishes
    2,000.00 × 33/100 = 660.00, and the 33 shares' accrual 04-01 -> 04-11 (10 days)
    33 × 1,000 × 8% × 10/360 = 73.333… -> 73.33. With 3 of them: 2,000.00 × 3/100 =
    60.00 and 3 × 1,000 × 8% × 10/360 = 6.666… -> 6.67 (half-up)."""
    base = p_history()[:3]
    for n, arrears, accrued in (("33", "660.00", "73.33"), ("3", "60.00", "6.67")):
        s = state(base + [ev("SharesCancelled", "2024-04-11", series="P", holder="Ann",
                             shares=n, reason="forfeiture")], "2024-04-11")
        (c,) = s.cancellations
        assert (c.arrears, c.accrued, c.paid) == (D(arrears), D(accrued), None)
        assert s.series["P"].unpaid("Ann") == D("2000.00") - D(arrears)


def test_a_noticed_holding_keeps_its_notice_to_what_is_left():
    """G: Ann 600 under a notice for 500; 300 cancelled leaves 300, so 300 noticed."""
    evs = [ev("SeriesDesignated", "2000-12-28", series="G", terms_ref="nstor/G"),
           ev("SharesIssued", "2001-01-02", series="G", holder="Ann", shares="600"),
           ev("RedemptionNoticed", "2001-02-01", series="G", redemption_date="2001-03-05",
              holders={"Ann": "500"}),
           ev("SharesCancelled", "2001-02-15", series="G", holder="Ann", shares="300",
              reason="other")]
    s = state(evs, "2001-02-15")
    assert s.series["G"].notices["Ann"].shares == 300
    s = state(evs + [ev("SharesCancelled", "2001-02-20", series="G", holder="Ann",
                        shares="300", reason="other")], "2001-02-20")
    assert "Ann" not in s.series["G"].notices


def test_a_cancellation_extinguishes_the_compounding_of_the_cancelled_part():
    """Compounding on payment dates: Ann's 100 P owe 2,000.00 on 2024-04-01, unpaid, so
    they accrue from 04-02. 50 cancelled on 2024-05-16 extinguish:

    - half the compounding not yet due: 2,000.00 × 8% × 44/360 (04-02 -> 05-16, 30/360)
      = 19.555… × 1/2 = 9.777… -> 9.78;
    - 2,000.00 × 50/100 = 1,000.00 of the arrears;
    - the 50 shares' accrual 04-01 -> 05-16, 50 × 1,000 × 8% × 45/360 = 500.00.

    What stays falls due on 2024-07-01: the 50 shares' quarter, 50 × 1,000 × 8% × 90/360
    = 1,000.00, the other half of the compounding, 9.777…, and the 1,000.00 left accruing
    from 05-16, 1,000.00 × 8% × 45/360 = 10.00: 1,019.777… -> 1,019.78."""
    evs = [ev("SeriesDesignated", "2024-01-01", series="P",
              terms=p_terms(compounding="payment_date")),
           ev("SharesIssued", "2024-01-01", series="P", holder="Ann", shares="100"),
           ev("SharesCancelled", "2024-05-16", series="P", holder="Ann", shares="50",
              reason="repurchase")]
    (c,) = state(evs, "2024-05-16").cancellations
    half = (D(2000) * D("0.08") * 44 / 360 / 2).quantize(D("0.01"))
    assert half == D("9.78")
    assert (c.arrears, c.accrued) == (D("1000.00"), half + D("500.00"))
    p = state(evs, "2024-07-01").series["P"]
    kept = D(2000) * D("0.08") * 44 / 360 / 2
    due = (D(50) * 1000 * D("0.08") * 90 / 360 + kept + D(1000) * D("0.08") * 45 / 360)
    assert due.quantize(D("0.01")) == D("1019.78")
    assert p.unpaid("Ann") == D("1000.00") + D("1019.78")


@pytest.mark.parametrize("fields,expected", [
    ({"series": "P", "holder": "Ann", "shares": "201"},
     "shares: 'Ann' holds 200 shares of Series P on this date, fewer than 201"),
    ({"series": "P", "holder": "Zed", "shares": "1"}, "holder: unknown holder 'Zed'"),
    ({"series": "Q", "holder": "Ann", "shares": "1"}, "series: unknown series 'Q'"),
    ({"series": "common", "holder": "Ann", "shares": "1"},
     "shares: 'Ann' holds 0 common shares on this date, fewer than 1"),
    ({"series": "P", "holder": "Ann", "shares": "1", "reason": "gift"}, "reason: "),
    ({"series": "P", "holder": "Ann", "shares": "0"}, "shares: "),
    ({"series": "P", "shares": "1"}, "holder: "),
])
def test_bad_cancellations_are_rejected(fields, expected):
    e = {"reason": "repurchase", **fields}
    got = problems_of(p_history() + [ev("SharesCancelled", "2024-05-16", **e)])
    assert len(got) == 1 and got[0].startswith(expected), got


# -- cancellations of common ----------------------------------------------------------------

def test_cancelled_common_lowers_a_in_a_later_adjustment():
    """H (threshold $0.72). Founder 30,000,000; 10,000,000 repurchased and cancelled, so a
    sale of 1,000,000 at $0.50 sees A = 20,000,000: B = 500,000 / 0.72 = 694,444.44…,
    factor = (20,000,000 + 1,000,000) / (20,000,000 + 694,444.44…) = 1.01476510…;
    without the cancellation A = 30,000,000 and the factor is 1.00995475…."""
    base = [H_DESIGNATION, opening("30000000", holder="Founder")]
    sale = ev("CommonStockIssued", "2003-04-15", shares="1000000", kind="sale",
              price_per_share="0.50", holder="Buyer")
    cancel = ev("SharesCancelled", "2002-01-02", series="common", holder="Founder",
                shares="10000000", reason="repurchase", price_per_share="0.40")
    b = P40.divide(D(500_000), D("0.72"))
    factor = P40.divide(D(21_000_000), P40.add(D(20_000_000), b))
    assert round(factor, 8) == D("1.01476510")
    s = state(base + [cancel, sale], "2003-04-15")
    assert common_of(s) == {"Founder": D(20_000_000), "Buyer": D(1_000_000)}
    assert (s.common_outstanding, s.common_cancelled_total) == (D(21_000_000), D(10_000_000))
    (adj,) = listing(s, "H")["adjustments"]
    assert (adj["A"], adj["C"]) == ("20000000", "1000000")
    assert D(adj["factor"]) == factor
    assert D(adj["rate_after"]) == P40.multiply(D("1388.89"), factor)
    (adj0,) = listing(state(base + [sale], "2003-04-15"), "H")["adjustments"]
    assert adj0["A"] == "30000000"
    assert round(D(adj0["factor"]), 8) == round(D(31_000_000) / (D(30_000_000) + b), 8) == \
        D("1.00995475")
    rep = position(s, dt.date(2003, 4, 15))
    assert rep["common_cancelled_total"] == "10000000"
    (c,) = s.cancellations
    assert (c.series, c.paid, c.extinguished) == ("common", D("4000000.00"), 0)


# -- the waterfall --------------------------------------------------------------------------

def _waterfall_history(ann: str, bob: str, unattributed: str) -> list[dict[str, Any]]:
    pref = {"series": "P", "designated": "2024-01-01", "authorized_shares": "10",
            "stated_value": "1"}
    return [ev("SeriesDesignated", "2024-01-01", series="P", terms=pref),
            ev("SharesIssued", "2024-01-01", series="P", holder="Pat", shares="1"),
            opening(unattributed, "2024-01-01"), opening(ann, "2024-01-01", "Ann"),
            opening(bob, "2024-01-01", "Bob")]


def _common_lines(events: list[dict[str, Any]], proceeds: str) -> dict[str | None, str]:
    day = dt.date(2024, 1, 31)
    out = distribute(state(events, "2024-01-31"), day, D(proceeds)).to_json()
    lines = {h["holder"]: h["received"] for h in out["holders"] if h["series"] == "common"}
    total = sum(D(v) for v in lines.values())
    assert total == D(out["common"]["outstanding_received"])
    assert sum(D(h["received"]) for h in out["holders"]) == D(proceeds)
    return lines


def test_the_waterfall_splits_the_common_line_per_holder_floor_and_largest_remainder():
    """P's claim is $1.00; $101.00 leaves $100.00 for Ann 1, Bob 2 and 3 unattributed:
    100 × 1/6 = 16.666… -> 16.66 (remainder 0.00666…), 100 × 2/6 = 33.333… -> 33.33
    (0.00333…), 100 × 3/6 = 50.00 exactly; 99.99 floored, the last cent to the largest
    remainder, Ann: 16.67 + 33.33 + 50.00 = 100.00."""
    assert _common_lines(_waterfall_history("1", "2", "3"), "101.00") == {
        "Ann": "16.67", "Bob": "33.33", None: "50.00"}


def test_waterfall_ties_go_to_the_name_first_and_the_unattributed_holder_last():
    """$1.00 over Ann 1, Bob 1, unattributed 1: 0.333… each, 0.99 floored; one cent
    left, all remainders equal: to Ann (first name), not to the unattributed line."""
    assert _common_lines(_waterfall_history("1", "1", "1"), "2.00") == {
        "Ann": "0.34", "Bob": "0.33", None: "0.33"}


def test_a_converting_holders_part_is_split_before_the_common_holders():
    """H converts in the waterfall when the common is rich: first the remainder goes to
    the common line and to H's converting holder (SPEC.md §11), then the common line to
    the common holders (§13), so a converting holder's cents do not depend on who holds
    the common."""
    evs = [H_DESIGNATION, opening("1000", holder="Ann"), opening("2000"),
           ev("SharesIssued", "2001-04-20", series="H", holder="Dogwood", shares="1")]
    day = dt.date(2001, 4, 30)
    rep = distribute(state(evs, "2001-04-30"), day, D("3000000.00")).to_json()
    h = next(x for x in rep["holders"] if x["series"] == "H")
    assert h["converted"] is True
    # Dogwood's 1 H accrued 04-20 -> 05-01 (11 days, 30/360 10 + 1): 1,000 × 10% × 11/360
    # = 3.0555… -> 3.06 in H's tier; the rest 2,999,996.94 over 3,000 + 1,388.89 common
    accrued = (D(1000) * D("0.10") * 11 / 360).quantize(D("0.01"))
    assert accrued == D("3.06") and D(h["from_tier"]) == accrued
    rest = D("3000000.00") - accrued
    line = P40.divide(P40.multiply(rest, D(3000)), D("4388.89"))
    conv = P40.divide(P40.multiply(rest, D("1388.89")), D("4388.89"))
    # 2,999,996.94 × 3,000 / 4,388.89 = 2,050,630.3005… and × 1,388.89 / 4,388.89 =
    # 949,366.6394…: floored .30 and .63, one cent left, to the larger remainder (H's)
    assert round(line, 4) == D("2050630.3006") and round(conv, 4) == D("949366.6394")
    assert h["from_common"] == "949366.64"
    assert rep["common"]["outstanding_received"] == "2050630.30"
    lines = {x["holder"]: x["received"] for x in rep["holders"] if x["series"] == "common"}
    # then 2,050,630.30 × 1/3 = 683,543.4333… -> .43 and × 2/3 = 1,367,086.8666… -> .86;
    # the cent left goes to the larger remainder, the unattributed holder's
    assert lines == {"Ann": "683543.43", None: "1367086.87"}


# -- the reporting tables and the roll-forward ------------------------------------------------

def test_tables_carry_common_by_holder_and_cancellations():
    evs = p_history() + [CANCEL_150, opening("800", "2024-01-01"),
                         opening("200", "2024-01-01", "Ann"),
                         ev("SharesTransferred", "2024-03-01", series="common",
                            from_holder="Ann", to_holder="Cy", shares="50"),
                         ev("SharesCancelled", "2024-06-01", series="common", holder="Cy",
                            shares="20", reason="forfeiture")]
    rows = project_issuer("default", records(evs), dt.date(2024, 6, 30))
    common_pos = {(r["holder"], r["valid_from"]): (r["shares"], r["valid_to"])
                  for r in rows["positions"] if r["series"] == "common"}
    assert common_pos == {
        ("unattributed", dt.date(2024, 1, 1)): (D(800), None),
        ("Ann", dt.date(2024, 1, 1)): (D(200), dt.date(2024, 3, 1)),
        ("Ann", dt.date(2024, 3, 1)): (D(150), None),
        ("Cy", dt.date(2024, 3, 1)): (D(50), dt.date(2024, 6, 1)),
        ("Cy", dt.date(2024, 6, 1)): (D(30), None)}
    assert all(r["series_key"] is None for r in rows["positions"] if r["series"] == "common")
    holders = {r["holder"]: (r["shares"], r["common_shares"]) for r in rows["holders"]}
    assert holders == {"Ann": (D(50), D(150)), "Bob": (D(100), D(0)), "Cy": (D(0), D(30)),
                       "unattributed": (D(0), D(800))}
    common = [(r["valid_from"], r["outstanding"], r["holders"], r["cancelled_total"])
              for r in rows["common_stock"]]
    # 1,000 from the start (two holders), three holders after the transfer, 980 after
    # the forfeiture of 20
    assert common == [(dt.date(2024, 1, 1), D(1000), 2, D(0)),
                      (dt.date(2024, 3, 1), D(1000), 3, D(0)),
                      (dt.date(2024, 6, 1), D(980), 3, D(20))]
    act = {(r["series"], r["holder"], r["kind"]): r for r in rows["activity"]
           if r["kind"] in ("cancelled", "transfer_in", "transfer_out")}
    pc = act[("P", "Ann", "cancelled")]
    # the carrying amount leaves at the average, 300,000 / 300 × 150 = 150,000.00
    assert (pc["shares"], pc["carrying_amount"], pc["arrears"], pc["dividends_extinguished"],
            pc["cash_paid"]) == (D(-150), D(-150000), D("-1500.00"), D("2833.33"),
                                 D("135000.00"))
    assert act[("common", "Cy", "cancelled")]["shares"] == D(-20)
    assert act[("common", "Ann", "transfer_out")]["shares"] == D(-50)
    assert act[("common", "Cy", "transfer_in")]["shares"] == D(50)
    # the period due 2024-04-01 keeps its amount less what the cancellation extinguished
    (per,) = [r for r in rows["dividend_periods"] if r["payment_date"] == dt.date(2024, 4, 1)]
    assert (per["due"], per["paid"], per["status"]) == (D("2500.00"), D(0), "unpaid")


def test_the_rollforward_ties_out_with_cancellations():
    """2024-04-02 .. 2024-06-30: P opens with 200 shares (200,000.00), Ann's 100 are issued
    (100,000.00), 150 cancelled at the average carrying amount (150,000.00): 150 and
    150,000.00 at the close. Arrears 4,000.00 (Ann 2,000.00 + Bob 2,000.00) less the
    1,500.00 extinguished = 2,500.00. Common: 1,000 opening, 20 cancelled, 980."""
    evs = p_history() + [CANCEL_150, opening("1000", "2024-01-01", "Ann"),
                         ev("SharesCancelled", "2024-06-01", series="common", holder="Ann",
                            shares="20", reason="forfeiture")]
    rep = rollforward("default", records(evs), dt.date(2024, 4, 2), dt.date(2024, 6, 30))
    assert rep["ties_out"] is True
    (p,) = rep["series"]
    assert p["shares"] == {"opening": "200", "issued": "100", "transferred_in": "0",
                           "transferred_out": "0", "converted": "0", "redeemed": "0",
                           "cancelled": "150", "liquidated": "0", "closing": "150"}
    assert p["carrying_amount"] == {"opening": "200000.00", "issued": "100000.00",
                                    "converted": "0.00", "redeemed": "0.00",
                                    "cancelled": "150000.00", "liquidated": "0.00",
                                    "closing": "150000.00"}
    dv = p["dividends"]
    assert (dv["arrears_opening"], dv["extinguished_on_cancellation"],
            dv["arrears_closing"]) == ("4000.00", "1500.00", "2500.00")
    # accrued unpaid at the end of 2024-04-01: the arrears 4,000.00 + one day of the new
    # quarter for Ann's and Bob's 100 each, 100 × 1,000 × 8% × 1/360 = 22.22 apiece:
    # 4,044.44; at 2024-06-30: arrears 2,500.00 + the open quarter of Bob's 100 (90 days:
    # 2,000.00) + Ann's 50 from 04-16 (75 days: 833.333… -> 833.33) = 5,333.33. Earned =
    # closing − opening + the 2,833.33 extinguished = 5,333.33 − 4,044.44 + 2,833.33
    opening_acc = D("4000.00") + 2 * (D(100) * 1000 * D("0.08") / 360).quantize(D("0.01"))
    closing_acc = D("2500.00") + D("2000.00") + D("833.33")
    assert (D(dv["accrued_unpaid_opening"]), D(dv["accrued_unpaid_closing"])) == (
        opening_acc, closing_acc) == (D("4044.44"), D("5333.33"))
    assert D(dv["accrued_in_period"]) == closing_acc - opening_acc + D("2833.33") == \
        D("4122.22")
    assert rep["common"] == {"shares": {"opening": "1000", "issued": "0",
                                        "issued_on_conversion": "0", "split": "0",
                                        "cancelled": "20", "liquidated": "0",
                                        "closing": "980"}, "ties_out": True}
    ann = next(h for h in rep["holders"] if h["series"] == "common")
    assert (ann["holder"], ann["opening"], ann["cancelled"], ann["closing"],
            ann["ties_out"]) == ("Ann", "1000", "20", "980", True)


# -- the property -----------------------------------------------------------------------------

NAMES = ["Ann", "Bob", "Cy"]


@st.composite
def common_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """H and K with random holders; random issuances of common (named or not), transfers,
    cancellations, splits and conversions, each drawn so that it is valid."""
    evs: list[dict[str, Any]] = [H_DESIGNATION, K_DESIGNATION]
    held: dict[str | None, int] = {}
    h_held: dict[str, int] = {}
    day = dt.date(2002, 1, 1)
    for n in NAMES:
        k = draw(st.integers(0, 3)) * 100
        if k:
            evs.append(ev("SharesIssued", "2001-12-01", series="H", holder=n, shares=str(k)))
            h_held[n] = k
    for n in NAMES[:2]:
        evs.append(ev("SharesIssued", "2001-12-01", series="K", holder=n, shares="10"))
    for _ in range(draw(st.integers(1, 12))):
        day += dt.timedelta(days=draw(st.integers(0, 40)))
        d = day.isoformat()
        kind = draw(st.sampled_from(["issue", "transfer", "cancel", "split", "convert",
                                     "approve"]))
        named = [h for h, v in held.items() if h is not None and v > 0]
        if kind == "issue" or (kind in ("transfer", "cancel") and not named):
            who = draw(st.sampled_from([None, *NAMES]))
            n = draw(st.integers(1, 10_000))
            e = ev("CommonStockIssued", d, shares=str(n), kind="sale", price_per_share="1")
            if who is not None:
                e["holder"] = who
            evs.append(e)
            held[who] = held.get(who, 0) + n
        elif kind == "transfer":
            src = draw(st.sampled_from(named))
            dst = draw(st.sampled_from([x for x in NAMES if x != src]))
            n = draw(st.integers(1, held[src]))
            evs.append(ev("SharesTransferred", d, series="common", from_holder=src,
                          to_holder=dst, shares=str(n)))
            held[src] -= n
            held[dst] = held.get(dst, 0) + n
        elif kind == "cancel":
            src = draw(st.sampled_from(named))
            n = draw(st.integers(1, held[src]))
            evs.append(ev("SharesCancelled", d, series="common", holder=src, shares=str(n),
                          reason="repurchase"))
            held[src] -= n
        elif kind == "split":
            evs.append(ev("CommonStockSplit", d, ratio=draw(st.sampled_from(
                ["2", "3", "0.5", "0.1", "1.5"]))))
            break  # (holdings may no longer be whole: the history ends here)
        elif kind == "convert" and h_held:
            src = draw(st.sampled_from(sorted(h_held)))
            evs.append(ev("SharesConverted", d, series="H", holder=src,
                          shares=str(h_held.pop(src))))
        elif kind == "approve":
            evs.append(ev("ShareholderApproval", d, matters=["series_k_conversion"]))
    return evs


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(common_histories(), st.booleans())
def test_property_the_holdings_add_up_to_common_outstanding(evs, liquidate):
    """After any sequence, common outstanding is the sum of the holdings (each > 0); the
    position lists them, and the projected positions of common agree."""
    if liquidate:
        evs = [*evs, ev("Liquidation", "2010-01-01", proceeds="1000000.00")]
    recs = records(evs)
    s, problems = replay("default", recs, dt.date(2010, 1, 1))
    assert problems == []
    total = D(0)
    for v in s.common.values():
        assert v > 0
        total = P40.add(total, v)
    assert total == s.common_outstanding
    rep = position(s, dt.date(2010, 1, 1))
    assert P40.add(D(0), sum((D(h["shares"]) for h in rep["holders"]
                              if h["series"] == "common"), D(0))) == s.common_outstanding
    rows = project_issuer("default", recs, dt.date(2010, 1, 1))
    got = {r["holder"]: r["shares"] for r in at(rows["positions"], dt.date(2010, 1, 1),
                                                 series="common")}
    assert got == {("unattributed" if h is None else h): v for h, v in s.common.items()}
    assert not liquidate or s.common == {}


# -- the command line, on both stores ---------------------------------------------------------

def _flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_a_conversion_credits_the_holder_and_common_moves(cli, jsonl):
    """416,667 common to Dogwood (300 × 1,388.89); 16,667 of it to Elm; a transfer of
    more than is held, or of the unattributed common, is refused and stores nothing."""
    evs = h_history() + [ev("SharesConverted", "2004-03-15", series="H", holder="Dogwood",
                            shares="300")]
    assert cli("load", str(jsonl(evs))).exit_code == 0
    rep = cli.json("position", "--as-of", "2004-03-15")
    assert pos_common(rep) == {"Dogwood": "416667", None: "30000000"}
    assert rep["common_outstanding"] == "30416667"
    r = cli("load", str(jsonl([ev("SharesTransferred", "2004-04-01", series="common",
                                  from_holder="Dogwood", to_holder="Elm", shares="16667")])))
    assert r.exit_code == 0, r.output
    rep = cli.json("position", "--as-of", "2004-04-01")
    assert pos_common(rep) == {"Dogwood": "400000", "Elm": "16667", None: "30000000"}
    assert rep["common_outstanding"] == "30416667"  # 400,000 + 16,667 + 30,000,000
    table = cli("position", "--as-of", "2004-04-01").stdout
    assert "unattributed" in table and "16667" in table
    before = cli.spec.content()
    for bad, words in (
            ({"from_holder": "Dogwood", "to_holder": "Elm", "shares": "400001"},
             "field shares: 'Dogwood' holds 400000 common shares on this date, fewer than "
             "400001"),
            ({"from_holder": "unattributed", "to_holder": "Elm", "shares": "1"},
             "field from_holder: 'unattributed' is reserved")):
        r = cli("load", str(jsonl([ev("SharesTransferred", "2004-05-01", series="common",
                                      **bad)])))
        assert r.exit_code == 2 and words in _flat(r.stderr), r.stderr
        assert cli.spec.content() == before


def test_cli_a_partial_cancellation_of_preferred(cli, jsonl, tmp_path):
    """Ann's 150 of 200 P cancelled: 1,500.00 of arrears and 1,333.33 of accrual
    extinguished (see the core test); the roll-forward ties out and the reporting feed
    has the row."""
    assert cli("load", str(jsonl(p_history() + [CANCEL_150]))).exit_code == 0
    (line,) = cli.json("conversions", "--series", "P", "--as-of", "2024-05-16")[
        "cancellations"]
    assert (line["holder"], line["shares"], line["arrears_extinguished"],
            line["accrued_extinguished"], line["paid"]) == (
        "Ann", "150", "1500.00", "1333.33", "135000.00")
    assert "cancellations" in cli("conversions", "--series", "P").stdout
    rep = cli.json("position", "--as-of", "2024-05-16")
    (p,) = rep["series"]
    # arrears: Ann 2,000.00 − 1,500.00 + Bob 2,000.00 = 2,500.00
    assert (p["outstanding"], p["cancelled_total"], p["arrears"]) == ("150", "150", "2500.00")
    rf = cli.json("rollforward", "--from", "2024-04-02", "--to", "2024-06-30")
    assert rf["ties_out"] is True
    assert rf["series"][0]["shares"]["cancelled"] == "150"
    hist = cli.json("history", "--holder", "Ann")["events"]
    assert hist[-1]["type"] == "SharesCancelled" and hist[-1]["id"] == "x1"
    # the trail shows on the event what it took from Ann: 150 shares, 1,500.00 of arrears
    changes = {(e["holder"], e["figure"]): e["change"] for e in hist[-1]["effects"]}
    assert changes[("Ann", "shares")] == "-150" and changes[("Ann", "arrears")] == "-1500.00"
    report = tmp_path / "report.db"
    assert cli("export", "--to", str(report)).exit_code == 0
    import sqlite3

    with sqlite3.connect(report) as db:
        got = db.execute("select shares, dividends_extinguished, cash_paid from activity "
                         "where kind = 'cancelled'").fetchall()
    assert got == [(-150.0, 2833.33, 135000.0)]


def test_cli_cancelled_common_lowers_a_later_adjustment(cli, jsonl):
    """A = 30,000,000 − 10,000,000 cancelled = 20,000,000 when 1,000,000 are sold at $0.50;
    factor 21,000,000 / (20,000,000 + 500,000 / 0.72) (see the core test)."""
    evs = [H_DESIGNATION, opening("30000000", holder="Founder"),
           ev("SharesCancelled", "2002-01-02", series="common", holder="Founder",
              shares="10000000", reason="repurchase"),
           ev("CommonStockIssued", "2003-04-15", shares="1000000", kind="sale",
              price_per_share="0.50")]
    assert cli("load", str(jsonl(evs))).exit_code == 0
    (adj,) = cli.json("conversions", "--series", "H")["adjustments"]
    factor = P40.divide(D(21_000_000), P40.add(D(20_000_000), P40.divide(D(500_000),
                                                                       D("0.72"))))
    assert (adj["A"], adj["C"], D(adj["factor"])) == ("20000000", "1000000", factor)
    rep = cli.json("position", "--as-of", "2003-04-15")
    assert pos_common(rep) == {"Founder": "20000000", None: "1000000"}
    assert (rep["common_outstanding"], rep["common_cancelled_total"]) == (
        "21000000", "10000000")


def test_cli_a_balance_assertion_of_a_holders_common(cli, jsonl):
    base = _common_base()
    good = ev("BalanceAsserted", "2024-01-01", series="common", holder="Ann", shares="1000")
    assert cli("load", str(jsonl([*base, good]))).exit_code == 0
    before = cli.spec.content()
    bad = ev("BalanceAsserted", "2024-01-02", series="common", holder="Ann", shares="1001",
             id="t-9")
    r = cli("load", str(jsonl([bad])))
    assert r.exit_code == 2
    assert ("BalanceAsserted id=t-9 field shares: balance assertion failed on 2024-01-02: "
            "expected 1001, actual common held by 'Ann' 1000") in _flat(r.stderr), r.stderr
    assert cli.spec.content() == before


def test_cli_waterfall_lists_each_common_holder(cli, jsonl):
    """$101.00: P's $1.00, then $100.00 over Ann 1, Bob 2, unattributed 3: 16.67, 33.33,
    50.00 (floored, the cent to Ann's largest remainder; see the core test)."""
    assert cli("load", str(jsonl(_waterfall_history("1", "2", "3")))).exit_code == 0
    rep = cli.json("waterfall", "--as-of", "2024-01-31", "--proceeds", "101.00")
    lines = [(h["holder"], h["shares"], h["received"]) for h in rep["holders"]
             if h["series"] == "common"]
    assert lines == [("Ann", "1", "16.67"), ("Bob", "2", "33.33"), (None, "3", "50.00")]
    assert sum(D(h["received"]) for h in rep["holders"]) == D("101.00")
    table = _flat(cli("waterfall", "--as-of", "2024-01-31", "--proceeds", "101.00").stdout)
    assert "unattributed │ common │ 3" in table and "total │ │ │ │ │ │ │ 101.00" in table


def test_cli_a_split_multiplies_each_holders_common(cli, jsonl):
    """Ann 3, Bob 5, unattributed 7, split 2.5: 7.5, 12.5, 17.5."""
    evs = [opening("7", "2024-01-01"), opening("3", "2024-01-01", "Ann"),
           opening("5", "2024-01-01", "Bob"), ev("CommonStockSplit", "2024-02-01",
                                                 ratio="2.5")]
    assert cli("load", str(jsonl(evs))).exit_code == 0
    rep = cli.json("position", "--as-of", "2024-02-01")
    assert pos_common(rep) == {"Ann": "7.5", "Bob": "12.5", None: "17.5"}
    assert rep["common_outstanding"] == "37.5"
