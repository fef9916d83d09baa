"""General conversion terms (SPEC.md §12 Anti-dilution, Conversion): the anti-dilution
methods and their conversion price, exempt kinds, what counts as an issuance, mandatory
conversion (approval, public offering, date) and the ``PublicOffering`` event; and their
validation.

Expected figures are hand arithmetic written in each test. Rates and conversion prices
are carried at 40 significant digits, as the ledger carries them (``P40``), so the exact
strings can be written from the formula; each is also checked against a rounded figure.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Context, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.events import parse_object
from ledger.replay import replay
from ledger.state import IssuerState, Record
from tests.conftest import HISTORY, REPO

D = Decimal
P40 = Context(prec=40)
QUARTERS = ["01-01", "04-01", "07-01", "10-01"]


def plain(d: Decimal) -> str:
    """How the ledger writes a rate: no exponent, no trailing zeros (SPEC.md §9)."""
    if d == d.to_integral_value():
        return f"{d.quantize(D(1), context=P40):f}"
    return f"{d.normalize(context=P40):f}"


def ev(type_: str, date: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "effective_date": date, **fields}


def designate(series: str, date: str = "2024-01-01", **kw: Any) -> dict[str, Any]:
    t: dict[str, Any] = {"series": series, "designated": date,
                         "authorized_shares": "100000000"}
    t.update(kw)
    return ev("SeriesDesignated", date, series=series, terms=t)


def issue(series: str, holder: str, shares: str, date: str = "2024-01-02",
          price: str | None = None) -> dict[str, Any]:
    e = ev("SharesIssued", date, series=series, holder=holder, shares=shares)
    if price is not None:
        e["price_per_share"] = price
    return e


def opening(shares: str, date: str = "2024-01-01") -> dict[str, Any]:
    return ev("CommonStockIssued", date, shares=shares, kind="opening")


def sale(shares: str, price: str, date: str = "2024-03-01", kind: str = "sale"
         ) -> dict[str, Any]:
    return ev("CommonStockIssued", date, shares=shares, kind=kind, price_per_share=price)


def state(events: list[dict[str, Any]], as_of: str) -> IssuerState:
    recs = [Record(parse_object(e), i + 1) for i, e in enumerate(events)]  # type: ignore[arg-type]
    s, problems = replay("default", recs, dt.date.fromisoformat(as_of))
    assert problems == [], problems
    return s


def failures(events: list[dict[str, Any]]) -> list[str]:
    recs = []
    for i, e in enumerate(events):
        got = parse_object(e)
        if isinstance(got, list):
            return [f"{p.field}: {p.message}" for p in got]
        recs.append(Record(got, i + 1, i + 1))
    _, problems = replay("default", recs, None)
    return [f"{p.field}: {p.message}" for p in problems]


def listing(events: list[dict[str, Any]], series: str, as_of: str = "2024-12-31"
            ) -> dict[str, Any]:
    from ledger.conversion import listing as report

    return json.loads(json.dumps(report(state(events, as_of), series)))


# -- the documented down round: CP $1.00, 4,000,000 common, 1,000,000 preferred ----------------

def _down_round(method: str, **kw: Any) -> list[dict[str, Any]]:
    """docs/terms.md ``antidilution``: 500,000 common sold at $0.50 ($250,000)."""
    return [designate("A", stated_value="1.00", conversion="elective", conversion_price="1.00",
                      antidilution=method, **kw),
            opening("4000000"), issue("A", "VC", "1000000"), sale("500000", "0.50")]


def test_full_ratchet_sets_the_price_to_the_issue_price():
    """CP' = P = $250,000 / 500,000 = $0.50; rate = $1.00 / $0.50 = 2."""
    rep = listing(_down_round("full_ratchet"), "A")
    (adj,) = rep["adjustments"]
    assert (adj["method"], adj["price_per_common"], adj["conversion_price_before"],
            adj["conversion_price_after"], adj["rate_after"]) == (
        "full_ratchet", "0.5", "1", "0.5", "2")
    assert (adj["A"], adj["C"]) == ("4000000", "500000")
    assert rep["conversion_price"] == "0.5" and rep["conversion_rate"] == "2"


def test_narrow_weighted_is_the_documented_example():
    """CP' = 1.00 × (4,000,000 + 250,000) / (4,000,000 + 500,000) = 0.944444…;
    B = $250,000 / $1.00 = 250,000; rate = 1.00 / CP' = 1.0588235…."""
    cp = P40.divide(P40.multiply(D(1), D(4_250_000)), D(4_500_000))
    rate = P40.divide(D(1), cp)
    assert round(cp, 6) == D("0.944444") and round(rate, 7) == D("1.0588235")
    rep = listing(_down_round("narrow_weighted"), "A")
    (adj,) = rep["adjustments"]
    assert (adj["method"], adj["A"], adj["B"], adj["C"]) == ("narrow_weighted", "4000000",
                                                             "250000", "500000")
    assert adj["conversion_price_after"] == plain(cp) and adj["rate_after"] == plain(rate)
    assert adj["factor"] == plain(P40.divide(rate, D(1)))


def test_broad_weighted_counts_the_preferred_as_converted():
    """A = 4,000,000 common + 1,000,000 × 1 issuable = 5,000,000: CP' = 1.00 × 5,250,000 /
    5,500,000 = 0.954545…, rate 1.0476190…."""
    cp = P40.divide(D(5_250_000), D(5_500_000))
    rate = P40.divide(D(1), cp)
    assert round(cp, 6) == D("0.954545") and round(rate, 7) == D("1.0476190")
    (adj,) = listing(_down_round("broad_weighted"), "A")["adjustments"]
    assert (adj["A"], adj["B"], adj["C"]) == ("5000000", "250000", "500000")
    assert adj["conversion_price_after"] == plain(cp) and adj["rate_after"] == plain(rate)


def test_broad_weighted_counts_every_convertible_series():
    """With a second convertible series B (500,000 shares at 2 common each, no
    anti-dilution of its own), A = 4,000,000 + 1,000,000 + 1,000,000 = 6,000,000:
    CP' = 6,250,000 / 6,500,000 = 0.961538…."""
    evs = _down_round("broad_weighted")
    evs[3:3] = [designate("B", conversion="elective", conversion_rate="2"),
                issue("B", "Bo", "500000")]
    (adj,) = listing(evs, "A")["adjustments"]
    assert adj["A"] == "6000000"
    cp = P40.divide(D(6_250_000), D(6_500_000))
    assert adj["conversion_price_after"] == plain(cp) and round(cp, 6) == D("0.961538")


def test_no_adjustment_at_or_above_the_conversion_price():
    """Only an issuance strictly below the CP in force adjusts (a sale at $1.00 does not)."""
    evs = _down_round("full_ratchet")
    evs[-1] = sale("500000", "1.00")
    assert listing(evs, "A")["adjustments"] == []


def test_none_never_adjusts():
    evs = _down_round("none")
    rep = listing(evs, "A")
    assert rep["adjustments"] == [] and rep["conversion_rate"] == "1"


def test_conversion_price_from_a_rate():
    """Without ``conversion_price`` CP starts at stated ÷ rate: $1,000 / 2,000 = $0.50;
    a full ratchet to $0.40 gives rate $1,000 / $0.40 = 2,500."""
    evs = [designate("A", conversion="elective", conversion_rate="2000",
                     antidilution="full_ratchet"),
           opening("1000000"), issue("A", "VC", "10"), sale("100", "0.40")]
    rep = listing(evs, "A")
    (adj,) = rep["adjustments"]
    assert (adj["conversion_price_before"], adj["conversion_price_after"],
            adj["rate_after"]) == ("0.5", "0.4", "2500")


def test_split_divides_the_conversion_price():
    """After the ratchet (CP $0.50, rate 2) a 2-for-1 split: CP $0.25, rate 4; a later sale
    at $0.30 (above $0.25) no longer adjusts."""
    evs = _down_round("full_ratchet") + [
        ev("CommonStockSplit", "2024-04-01", ratio="2"), sale("100", "0.30", "2024-05-01")]
    rep = listing(evs, "A")
    assert [a["method"] for a in rep["adjustments"]] == ["full_ratchet", "split"]
    assert rep["adjustments"][1]["conversion_price_after"] == "0.25"
    assert (rep["conversion_price"], rep["conversion_rate"]) == ("0.25", "4")


def test_adjusted_rate_converts_and_votes():
    """Full ratchet to rate 2: 1,000 shares convert into 2,000 common; votes as converted."""
    evs = _down_round("full_ratchet")
    evs[0]["terms"]["votes"] = "as_converted"
    evs += [ev("SharesConverted", "2024-04-01", series="A", holder="VC", shares="1000")]
    from projections.position import position

    pos = position(state(evs, "2024-04-01"), dt.date(2024, 4, 1))
    a = pos["series"][0]
    # 4,000,000 + 500,000 + 1,000 × 2
    assert pos["common_outstanding"] == "4502000"
    assert (a["conversion_rate"], a["conversion_price"], a["votes"]) == ("2", "0.5",
                                                                        "1998000")


@settings(max_examples=60, deadline=None)
@given(common=st.integers(1, 10_000_000), pref=st.integers(1, 5_000_000),
       new=st.integers(1, 5_000_000), cents=st.integers(1, 99))
def test_property_ratchet_narrow_broad_order(common, pref, new, cents):
    """On the same down round (price below CP $1.00): full ratchet ≤ narrow weighted ≤
    broad weighted conversion price (SPEC.md §12)."""
    price = D(cents) / 100
    cps = {}
    for method in ("full_ratchet", "narrow_weighted", "broad_weighted"):
        evs = [designate("A", stated_value="1.00", conversion="elective",
                         conversion_price="1.00", antidilution=method),
               opening(str(common)), issue("A", "VC", str(pref)),
               sale(str(new), str(price))]
        cps[method] = D(listing(evs, "A")["conversion_price"])
    assert cps["full_ratchet"] == price
    assert cps["full_ratchet"] <= cps["narrow_weighted"] <= cps["broad_weighted"] < 1


# -- threshold (nStor) and exempt kinds ----------------------------------------------------

def _h_terms(**kw: Any) -> dict[str, Any]:
    t = json.loads((REPO / "fixtures" / "nstor" / "H.json").read_text())
    t.update(kw)
    return t


def _h_history(**kw: Any) -> list[dict[str, Any]]:
    """H with 30,000,000 common, the 2003-04-15 sale of 1,000,000 at $0.50 and an option
    exercise of 500,000 at $0.10 on 2003-05-01."""
    return [ev("SeriesDesignated", "2001-04-12", series="H", terms=_h_terms(**kw)),
            opening("30000000", "2001-04-12"), issue("H", "Dogwood Fund", "1000", "2001-04-20"),
            sale("1000000", "0.50", "2003-04-15"),
            sale("500000", "0.10", "2003-05-01", kind="option_exercise")]


# the nStor H adjustment of 2003-04-15: factor 31,000,000 / (30,000,000 + 500,000 / 0.72)
_B1 = P40.divide(D(500_000), D("0.72"))
_F1 = P40.divide(D(31_000_000), P40.add(D(30_000_000), _B1))
_H1 = P40.multiply(D("1388.89"), _F1)


def test_threshold_explicit_is_the_nstor_rule():
    """``antidilution: "threshold"`` is the default where a threshold is set: the same
    factor 1.0099548 and rate 1,402.716054… (docs/terms.md ``antidilution_threshold``)."""
    assert round(_F1, 7) == D("1.0099548") and round(_H1, 6) == D("1402.716054")
    for kw in ({}, {"antidilution": "threshold"}):
        rep = listing(_h_history(**kw), "H", "2003-12-31")
        assert rep["antidilution"] == "threshold"
        assert [a["rate_after"] for a in rep["adjustments"]] == [plain(_H1)]


def test_exempt_kinds_is_the_documented_example():
    """With ``["opening"]`` the option exercise adjusts: B = $50,000 / 0.72 = 69,444.44…,
    factor 31,500,000 / 31,069,444.44… = 1.0138578, rate 1,402.716054… → 1,422.154676…"""
    b = P40.divide(D(50_000), D("0.72"))
    f = P40.divide(D(31_500_000), P40.add(D(31_000_000), b))
    rate = P40.multiply(_H1, f)
    assert round(b, 2) == D("69444.44") and round(f, 7) == D("1.0138578")
    assert round(rate, 6) == D("1422.154676")
    rep = listing(_h_history(antidilution_exempt_kinds=["opening"]), "H", "2003-12-31")
    assert [a["rate_after"] for a in rep["adjustments"]] == [plain(_H1), plain(rate)]
    assert rep["adjustments"][1]["B"] == plain(b)


def test_exempt_sale_never_adjusts():
    rep = listing(_h_history(antidilution_exempt_kinds=["opening", "option_exercise", "sale"]),
                  "H", "2003-12-31")
    assert rep["adjustments"] == [] and rep["conversion_rate"] == "1388.89"


# -- what counts as an issuance -------------------------------------------------------------

def _two_series(counts: str) -> list[dict[str, Any]]:
    """docs/terms.md ``antidilution_counts``: A narrow weighted at CP $1.00 with 4,000,000
    common; 200,000 Series B (rate 1, stated $0.80) sold at $0.80."""
    return [designate("A", stated_value="1.00", conversion="elective", conversion_price="1.00",
                      antidilution="narrow_weighted", antidilution_counts=counts),
            opening("4000000"), issue("A", "VC", "1000000"),
            designate("B", "2024-02-01", stated_value="0.80", conversion="elective",
                      conversion_rate="1", antidilution="narrow_weighted",
                      antidilution_counts=counts),
            issue("B", "Growth", "200000", "2024-02-15", price="0.80"),
            ev("SharesConverted", "2024-06-01", series="B", holder="Growth", shares="200000")]


def test_convertible_issuances_is_the_documented_example():
    """C = 200,000 × 1 = 200,000, consideration $160,000, P = $0.80 < $1.00:
    CP' = 1.00 × (4,000,000 + 160,000) / (4,000,000 + 200,000) = 0.990476…; B's later
    conversion never counts, and B's own issuance never adjusts B."""
    cp = P40.divide(D(4_160_000), D(4_200_000))
    assert round(cp, 6) == D("0.990476")
    rep = listing(_two_series("convertible_issuances"), "A")
    (adj,) = rep["adjustments"]
    assert (adj["A"], adj["B"], adj["C"], adj["price_per_common"]) == ("4000000", "160000",
                                                                       "200000", "0.8")
    assert adj["conversion_price_after"] == plain(cp)
    assert adj["cause"] == "issuance of 200000 Series B at 0.8"
    assert listing(_two_series("convertible_issuances"), "B")["adjustments"] == []


def test_later_conversions_count_the_conversion_instead():
    """Default ``later_conversions``: B's issuance does not count; its conversion (200,000
    common for $160,000 of stated value surrendered, P = $0.80) does: A = 4,000,000,
    CP' = (4,000,000 + 160,000) / (4,000,000 + 200,000), the same price, on 2024-06-01."""
    (adj,) = listing(_two_series("later_conversions"), "A")["adjustments"]
    assert adj["date"] == "2024-06-01" and adj["C"] == "200000"
    assert adj["conversion_price_after"] == plain(P40.divide(D(4_160_000), D(4_200_000)))


def test_common_only_counts_neither():
    assert listing(_two_series("common_only"), "A")["adjustments"] == []


def test_common_only_is_the_documented_k_example():
    """docs/terms.md: with ``common_only`` K's 2003 conversion does not adjust H, which
    stays at 1,402.716054…; Dogwood's 300 H of 2004-03-15 then give floor(300 ×
    1,402.716054…) = floor(420,814.82) = 420,814 common instead of 698,202."""
    lines = [json.loads(x) for x in HISTORY.read_text().splitlines() if x.strip()]
    for e in lines:
        if e["type"] == "SeriesDesignated" and e["series"] == "H":
            del e["terms_ref"]
            e["terms"] = _h_terms(antidilution_counts="common_only")
    rep = listing(lines, "H", "2005-12-31")
    assert [a["rate_after"] for a in rep["adjustments"]] == [plain(_H1)]
    conv = next(c for c in rep["conversions"] if c["date"] == "2004-03-15")
    assert conv["common"] == str(int(300 * _H1)) == "420814"


# -- mandatory conversion ------------------------------------------------------------------

def _offering(price: str, shares: str, gross: str, date: str = "2024-06-01",
              **kw: Any) -> dict[str, Any]:
    return ev("PublicOffering", date, price_per_share=price, shares=shares,
              gross_proceeds=gross, **kw)


def _ipo_series(**kw: Any) -> list[dict[str, Any]]:
    """docs/terms.md ``mandatory_conversion``: min price $5.00, min gross $50,000,000."""
    trig = [{"public_offering": {"min_price": "5.00", "min_gross_proceeds": "50000000"}}]
    return [designate("A", stated_value="1.00", conversion="elective", conversion_rate="1.5",
                      mandatory_conversion=trig, **kw),
            opening("4000000"), issue("A", "VC", "1000001"), issue("A", "Ann", "3")]


def test_qualified_offering_converts_every_holder():
    """10,000,000 shares at $6.00 ($60,000,000) qualifies: VC's 1,000,001 × 1.5 =
    1,500,001.5 → 1,500,001 common + 0.5 × $6.00 = $3.00 cash; Ann's 3 × 1.5 = 4.5 → 4 +
    $3.00; then the 10,000,000 offered: common 4,000,000 + 1,500,001 + 4 + 10,000,000."""
    evs = _ipo_series() + [_offering("6.00", "10000000", "60000000.00", id="ipo")]
    rep = listing(evs, "A")
    got = {c["holder"]: (c["common"], c["cash_in_lieu"], c["trigger"], c["automatic"])
           for c in rep["conversions"]}
    assert got == {"VC": ("1500001", "3.00", "public offering", True),
                   "Ann": ("4", "3.00", "public offering", True)}
    assert rep["converted_on"] == "2024-06-01"
    st_ = state(evs, "2024-06-01")
    assert st_.common_outstanding == 4_000_000 + 1_500_001 + 4 + 10_000_000
    assert st_.series["A"].outstanding == 0


def test_offering_below_the_minimums_converts_nothing():
    """At $4.50 (10,000,000 shares, $45,000,000) neither minimum is met; at $5.00 with
    9,000,000 shares ($45,000,000) the price is met but not the proceeds."""
    for offer in (_offering("4.50", "10000000", "45000000.00"),
                  _offering("5.00", "9000000", "45000000.00")):
        st_ = state(_ipo_series() + [offer], "2024-06-01")
        assert st_.series["A"].outstanding == 1_000_004 and st_.conversions == []


def test_elective_series_keeps_its_option_until_the_trigger():
    """Elective and mandatory: VC converts 1 share by election, then the approval converts
    the rest; shares issued afterwards stay (the first trigger met converts once)."""
    evs = [designate("A", stated_value="1.00", conversion="elective", conversion_rate="2",
                     mandatory_conversion=[{"approval": "ipo_vote"}]),
           opening("100"), issue("A", "VC", "10"),
           ev("SharesConverted", "2024-02-01", series="A", holder="VC", shares="1"),
           ev("ShareholderApproval", "2024-03-01", matters=["other"]),
           ev("ShareholderApproval", "2024-04-01", matters=["ipo_vote"], id="vote"),
           issue("A", "Late", "5", "2024-05-01"),
           ev("ShareholderApproval", "2024-06-01", matters=["ipo_vote"])]
    st_ = state(evs, "2024-06-30")
    # 100 + 1 × 2 (election) + 9 × 2 (approval); Late's 5 stay A
    assert st_.common_outstanding == 100 + 2 + 18
    assert st_.series["A"].holdings() == {"Late": 5}
    assert [(c.automatic, c.trigger) for c in st_.conversions] == [
        (False, None), (True, "approval ipo_vote")]


def test_automatic_with_mandatory_conversion_only():
    """``conversion: "automatic"`` may list its approval in ``mandatory_conversion`` instead
    of ``conversion_trigger``; it has no elective conversion either way."""
    evs = [designate("A", conversion="automatic", conversion_rate="3",
                     mandatory_conversion=[{"approval": "go"}]),
           issue("A", "VC", "10")]
    bad = failures(evs + [ev("SharesConverted", "2024-02-01", series="A", holder="VC",
                             shares="1")])
    assert bad == ["series: Series A is not convertible at the holder's option"]
    from ledger.waterfall import distribute

    wf = distribute(state(evs, "2024-01-31"), dt.date(2024, 1, 31), D("100000"))
    assert wf.series[0].reason == ("Series A converts only automatically, on its mandatory "
                                   "triggers")
    st_ = state(evs + [ev("ShareholderApproval", "2024-02-01", matters=["go"])], "2024-02-01")
    assert st_.common_outstanding == 30  # 10 × 3


def test_date_trigger_converts_at_the_start_of_the_day():
    """``{"date": "2024-05-16"}``: 1,000 shares ($1,000 stated, 8%, rate 10) convert at the
    start of 2024-05-16. The quarter due 2024-04-01 (1,000 × 1,000 × 8% × 90/360 =
    $20,000.00) stays arrears; the accrual 04-01 → 05-16 (45 days: $10,000.00) becomes
    dividends payable; 10,000 common are issued; a transfer that day finds no shares."""
    evs = [designate("A", dividend_rate="0.08", period_starts=QUARTERS, conversion="elective",
                     conversion_rate="10", mandatory_conversion=[{"date": "2024-05-16"}]),
           opening("500"), issue("A", "VC", "1000", "2024-01-01")]
    from projections.position import position

    before = position(state(evs, "2024-05-15"), dt.date(2024, 5, 15))["series"][0]
    assert before["outstanding"] == "1000"
    pos = position(state(evs, "2024-05-16"), dt.date(2024, 5, 16))
    a = pos["series"][0]
    assert (a["outstanding"], a["arrears"], a["dividends_payable"]) == ("0", "20000.00",
                                                                       "10000.00")
    assert pos["common_outstanding"] == "10500"
    bad = failures(evs + [ev("SharesTransferred", "2024-05-16", series="A", from_holder="VC",
                             to_holder="X", shares="1")])
    assert bad and "holds 0 shares" in bad[0]
    # shares issued after the date stay
    st_ = state(evs + [issue("A", "Late", "7", "2024-06-01")], "2024-12-31")
    assert st_.series["A"].holdings() == {"Late": 7}


def test_first_trigger_met_wins():
    """Approval on 2024-03-01 converts; the 2024-09-01 date then converts nothing."""
    evs = [designate("A", conversion="elective", conversion_rate="1",
                     mandatory_conversion=[{"date": "2024-09-01"}, {"approval": "go"}]),
           issue("A", "VC", "10"),
           ev("ShareholderApproval", "2024-03-01", matters=["go"]),
           issue("A", "Late", "4", "2024-04-01")]
    st_ = state(evs, "2024-12-31")
    assert st_.series["A"].converted_on == dt.date(2024, 3, 1)
    assert st_.series["A"].holdings() == {"Late": 4}


def test_offering_converts_first_then_its_sale_adjusts_others():
    """S (rate 10, 100,000 shares, qualified IPO at $5) and T (narrow weighted at CP $8.00,
    designated after S, so S's conversion is exempt for it). Offering of 1,000,000 at
    $6.00: S converts first (common 1,000,000 + 1,000,000), then the sale at $6.00 < $8.00
    adjusts T with A = 2,000,000: B = 6,000,000 / 8 = 750,000, CP' = 8 × 2,750,000 /
    3,000,000 = 7.333…; had the sale come first, A = 1,000,000 would give 7.00."""
    evs = [designate("S", stated_value="10", conversion="elective", conversion_rate="10",
                     mandatory_conversion=[{"public_offering": {"min_price": "5"}}]),
           designate("T", "2024-01-02", stated_value="8", conversion="elective",
                     conversion_price="8", antidilution="narrow_weighted"),
           opening("1000000"), issue("S", "Seed", "100000"), issue("T", "Tess", "10"),
           _offering("6.00", "1000000", "6000000", id="ipo")]
    (adj,) = listing(evs, "T")["adjustments"]
    cp = P40.divide(P40.multiply(D(8), D(2_750_000)), D(3_000_000))
    assert (adj["A"], adj["B"], adj["C"]) == ("2000000", "750000", "1000000")
    assert adj["conversion_price_after"] == plain(cp) and round(cp, 4) == D("7.3333")
    assert adj["cause"] == "public offering of 1000000 shares at 6"


def test_offering_without_triggers_is_a_sale():
    """Without any mandatory conversion the offering is a sale: H's threshold adjusts."""
    evs = _h_history()[:3] + [_offering("0.50", "1000000", "500000", "2003-04-15")]
    rep = listing(evs, "H", "2003-12-31")
    assert [a["rate_after"] for a in rep["adjustments"]] == [plain(_H1)]


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"gross_proceeds": "59999999.99"}, "gross_proceeds",
     "59999999.99 does not equal shares × price_per_share = 60000000.00"),
    ({"gross_proceeds": 60000000}, "gross_proceeds", "not a JSON number"),
    ({"price_per_share": "0"}, "price_per_share", "greater than zero"),
    ({"shares": "-1"}, "shares", "greater than zero"),
    ({"underwriter": "X"}, "underwriter", "unknown field"),
])
def test_bad_offering_rejected(fields, field, words):
    offer = {**_offering("6.00", "10000000", "60000000.00"), **fields}
    got = failures(_ipo_series() + [offer])
    assert any(g.startswith(f"{field}:") and words in g for g in got), got


# -- reports on both stores ------------------------------------------------------------------

def test_conversions_report_lists_price_adjustments(cli, jsonl):
    """``conversions --series A`` (JSON and table) and ``position``'s ``conversion_price``."""
    r = cli("load", str(jsonl(_down_round("narrow_weighted"))))
    assert r.exit_code == 0, r.output
    rep = cli.json("conversions", "--series", "A")
    (adj,) = rep["adjustments"]
    assert (adj["method"], adj["A"], adj["B"], adj["C"]) == ("narrow_weighted", "4000000",
                                                             "250000", "500000")
    assert rep["antidilution"] == "narrow_weighted"
    text = cli("conversions", "--series", "A").stdout
    assert "conversion-price adjustments" in text and "narrow weighted" in text
    assert "0.944444…" in text
    pos = cli.json("position", "--as-of", "2024-12-31")
    assert pos["series"][0]["conversion_price"] == plain(
        P40.divide(D(4_250_000), D(4_500_000)))


def test_public_offering_loads_and_reports(cli, jsonl):
    """The offering on both stores: the conversions show their trigger; history lists it."""
    r = cli("load", str(jsonl(_ipo_series() + [_offering("6.00", "10000000", "60000000.00",
                                                         id="ipo")])))
    assert r.exit_code == 0, r.output
    rep = cli.json("conversions", "--series", "A")
    assert {c["trigger"] for c in rep["conversions"]} == {"public offering"}
    text = cli("conversions", "--series", "A").stdout
    assert "mandatory conversion on a public offering" in text
    assert cli.json("position", "--as-of", "2024-06-01")["common_outstanding"] == "15500005"
    r = cli("load", str(jsonl([_offering("6.00", "1", "5.00", "2024-07-01")])))
    assert r.exit_code == 2 and "gross_proceeds" in r.stderr


def test_reporting_database_records_mandatory_conversions(cli, jsonl, tmp_path):
    """``export``: the offering's and the date's conversions are activity rows."""
    evs = _ipo_series() + [_offering("6.00", "10000000", "60000000.00", id="ipo")]
    evs += [designate("B", "2024-07-01", conversion="elective", conversion_rate="2",
                      mandatory_conversion=[{"date": "2024-09-01"}]),
            issue("B", "Bea", "5", "2024-07-02"),
            ev("BalanceAsserted", "2024-09-30", series="B", shares="0")]
    assert cli("load", str(jsonl(evs))).exit_code == 0
    out = tmp_path / "report.db"
    assert cli("export", "--to", str(out)).exit_code == 0
    rows = sqlite3.connect(out).execute(
        "select series, holder, kind, shares, common_issued, event_type from activity "
        "where kind = 'converted' order by effective_date, holder").fetchall()
    assert [(s, h, k, float(n), float(c), t) for s, h, k, n, c, t in rows] == [
        ("A", "Ann", "converted", -3.0, 4.0, "PublicOffering"),
        ("A", "VC", "converted", -1000001.0, 1500001.0, "PublicOffering"),
        ("B", "Bea", "converted", -5.0, 10.0, None)]
    held = sqlite3.connect(out).execute(
        "select series, holder, valid_to from positions where series in ('A', 'B') "
        "order by series, holder").fetchall()
    assert held == [("A", "Ann", "2024-06-01"), ("A", "VC", "2024-06-01"),
                    ("B", "Bea", "2024-09-01")]


# -- validation ----------------------------------------------------------------------------

def _t(**kw: Any) -> dict[str, Any]:
    t: dict[str, Any] = {"series": "A", "designated": "2024-01-01",
                         "authorized_shares": "1000"}
    t.update(kw)
    return t


_CONV = {"conversion": "elective", "conversion_rate": "1"}


@pytest.mark.parametrize(("kw", "words"), [
    ({"conversion_rate": "2"}, 'conversion_rate is set on a series that does not convert'),
    ({"conversion_price": "2"}, "conversion_price is set on a series that does not convert"),
    ({"conversion_multiple": "100"}, "conversion_multiple is set on a series that does not"),
    ({"antidilution_threshold": "1"}, "antidilution_threshold is set on a series that does"),
    ({"antidilution": "full_ratchet"}, "antidilution is set on a series that does not"),
    ({"antidilution_exempt_kinds": ["opening"]}, "antidilution_exempt_kinds is set on a "
                                                 "series that does not convert"),
    ({"antidilution_counts": "common_only"}, "antidilution_counts is set on a series that"),
    ({"mandatory_conversion": [{"approval": "x"}]}, "mandatory_conversion is set on a series"),
    ({"conversion_trigger": "x"}, "conversion_trigger is set on a series that does not"),
    ({**_CONV, "conversion_trigger": "x"}, 'conversion_trigger applies only to conversion '
                                           '"automatic"'),
    ({**_CONV, "conversion_price": "1"}, "give one of conversion_rate or conversion_price"),
    ({**_CONV, "antidilution": "threshold"}, 'antidilution "threshold" needs an '
                                             'antidilution_threshold'),
    ({**_CONV, "antidilution": "broad_weighted", "antidilution_threshold": "1"},
     "antidilution_threshold applies only to antidilution \"threshold\""),
    ({**_CONV, "antidilution_exempt_kinds": ["opening"]},
     'antidilution_exempt_kinds is set on a series without anti-dilution'),
    ({**_CONV, "antidilution_counts": "common_only"},
     'antidilution_counts is set on a series without anti-dilution'),
    ({**_CONV, "antidilution": "full_ratchet", "antidilution_exempt_kinds": ["bonus"]},
     "terms.antidilution_exempt_kinds: unknown kind 'bonus'; kinds are opening, sale, "
     "option_exercise, other"),
    ({**_CONV, "antidilution": "full_ratchet", "antidilution_exempt_kinds": ["sale", "sale"]},
     "lists a kind twice"),
    ({**_CONV, "antidilution": "some"}, "terms.antidilution: Input should be"),
    ({**_CONV, "antidilution": "full_ratchet", "antidilution_counts": "all"},
     "terms.antidilution_counts: Input should be"),
    ({**_CONV, "mandatory_conversion": [{"date": "2024-02-30"}]},
     "terms.mandatory_conversion: trigger 0: date: '2024-02-30' is not a valid calendar date"),
    ({**_CONV, "mandatory_conversion": [{"date": "2024-01-01"}]},
     "mandatory_conversion trigger 0: date 2024-01-01 must be after the designation date"),
    ({**_CONV, "mandatory_conversion": [{"public_offering": {"min_price": "-1"}}]},
     "trigger 0: public_offering.min_price: must be from 0 to 1,000,000,000"),
    ({**_CONV, "mandatory_conversion": [{"public_offering": {"min_price": "1000000001"}}]},
     "must be from 0 to 1,000,000,000"),
    ({**_CONV, "mandatory_conversion": [{"public_offering": {"min_gross_proceeds": "-5"}}]},
     "trigger 0: public_offering.min_gross_proceeds: must not be negative"),
    ({**_CONV, "mandatory_conversion": [{"public_offering": {"min_price": 5}}]},
     "min_price: must be a decimal written as a JSON string"),
    ({**_CONV, "mandatory_conversion": [{"public_offering": {"price": "5"}}]},
     "trigger 0: public_offering.price: unknown field"),
    ({**_CONV, "mandatory_conversion": [{"approval": "x"}, {"ipo": True}]},
     'trigger 1 must be one of {"approval": "MATTER"}'),
    ({**_CONV, "mandatory_conversion": [{"approval": "x", "date": "2025-01-01"}]},
     "trigger 0 must be one of"),
    ({**_CONV, "mandatory_conversion": [{"approval": " x"}]}, "a matter is 1-200 characters"),
    ({**_CONV, "mandatory_conversion": {"approval": "x"}}, "must be a list of triggers"),
    ({"conversion": "automatic", "conversion_rate": "1"},
     "an automatic conversion needs conversion_trigger (or mandatory_conversion)"),
    ({"conversion": "elective", "conversion_rate": "1000000000001"},
     "terms.conversion_rate: must be at most 1,000,000,000,000 common per share"),
    ({"conversion": "elective", "conversion_price": "1000000001"},
     "terms.conversion_price: must be at most 1,000,000,000 per common share"),
    ({**_CONV, "antidilution_threshold": "1000000000.01"},
     "terms.antidilution_threshold: must be at most 1,000,000,000 per common share"),
])
def test_conversion_terms_rejected(kw, words):
    got = parse_object({"type": "SeriesDesignated", "effective_date": "2024-01-01",
                        "series": "A", "terms": _t(**kw)})
    assert isinstance(got, list), "accepted"
    msgs = [f"{p.field}: {p.message}" for p in got]
    assert any(words in m for m in msgs), msgs


def test_exempt_kinds_in_another_order_are_the_default():
    """``["option_exercise", "opening"]`` is the default set: fine on a series without
    anti-dilution (no setting is made)."""
    got = parse_object({"type": "SeriesDesignated", "effective_date": "2024-01-01",
                        "series": "A", "terms": _t(antidilution_exempt_kinds=[
                            "option_exercise", "opening"])})
    assert not isinstance(got, list), got


def test_bad_conversion_terms_rejected_on_load(cli, jsonl):
    """Exit 2 naming the field; nothing stored (both stores)."""
    before = cli.spec.content()
    bad = designate("A", conversion="elective", conversion_rate="1",
                    mandatory_conversion=[{"date": "2023-12-31"}])
    r = cli("load", str(jsonl([bad])))
    assert r.exit_code == 2 and "mandatory_conversion" in r.stderr
    assert "after the designation date" in r.stderr
    assert cli.spec.content() == before


def test_zero_priced_issuance_cannot_ratchet_to_zero():
    """A full ratchet on common issued for nothing would set CP to 0: rejected."""
    evs = _down_round("full_ratchet")
    evs[-1] = sale("10", "0")
    got = failures(evs)
    assert got == ["consideration: an issuance for no consideration would set Series A's "
                   "conversion price to 0 (full ratchet anti-dilution)"]


def test_date_conversion_is_part_of_the_start_of_day_hooks_see():
    """The calendar stops on a trigger date even with no event that day, and the
    ``day_started`` subscribers see the series already converted (SPEC.md §12)."""
    from ledger.replay import Replayer, ReplayHooks
    from ledger.state import SeriesState

    seen: dict[dt.date, Decimal] = {}

    class Watch(ReplayHooks):
        def day_started(self, rp: Replayer, day: dt.date, boundaries: list[SeriesState],
                        payments: list[SeriesState]) -> None:
            seen[day] = rp.state.series["A"].outstanding if "A" in rp.state.series else D(-1)

    evs = [designate("A", conversion="elective", conversion_rate="2",
                     mandatory_conversion=[{"date": "2024-08-01"}]),
           issue("A", "VC", "10"), ev("BalanceAsserted", "2024-12-31", series="common",
                                      shares="20")]
    recs = [Record(parse_object(e), i + 1) for i, e in enumerate(evs)]  # type: ignore[arg-type]
    _, problems = replay("default", recs, None, hooks=[Watch()])
    assert problems == []
    # days started: designation, issuance, the trigger date (no event), the tie-out; on
    # the trigger date A is already converted (20 common tie out on 2024-12-31)
    assert sorted(seen) == [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 8, 1),
                            dt.date(2024, 12, 31)]
    assert seen[dt.date(2024, 8, 1)] == 0
