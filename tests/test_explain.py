"""``explain``: how each figure was made, step by step.

Every expected figure here is hand arithmetic written in the test; the fixtures' and the
random histories' figures are compared with the position report, and every explanation
must recombine (sum, product or last) to its value exactly, with no ``unexplained``
step and every rounding step below half a cent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.values import CONTEXT
from projections.explain import (
    COMMON,
    ExplainError,
    Explanation,
    explain,
    explain_all,
    follow,
)
from projections.position import position
from tests import general_terms as gt
from tests.ledgers import book, ev
from tests.test_bitemporal import BASE, EVENT, _number, clock_from
from tests.test_common_holders import common_histories
from tests.test_dividends import g_history

D = Decimal
REPO = Path(__file__).resolve().parent.parent
HALF_CENT = D("0.005")


def designate(series: str, date: str) -> dict[str, Any]:
    return ev("SeriesDesignated", date, series=series, terms_ref=f"nstor/{series}")


def issue(series: str, holder: str, shares: str, date: str, id_: str) -> dict[str, Any]:
    return ev("SharesIssued", date, series=series, holder=holder, shares=shares, id=id_)


def ex(evs: list[dict[str, Any]], as_of: str, figure: str, series: str,
       holder: str | None = None) -> Explanation:
    got = explain("default", book(evs).records(), dt.date.fromisoformat(as_of), figure,
                  series, holder)
    sound(got)
    return got


def sound(e: Explanation) -> None:
    """The steps give the value exactly; nothing is left unexplained; a rounding step is
    at most half a cent."""
    assert e.recombined() == e.value, (e.figure, e.series, e.holder, e.as_of)
    for s in e.steps:
        assert s.kind != "unexplained", (e.figure, e.series, e.holder, e.as_of, s)
        if s.kind in ("due", "payable", "not_yet_due"):
            assert s.amount is not None and abs(s.amount) <= HALF_CENT, s


def kinds(e: Explanation) -> list[str]:
    return [s.kind for s in e.steps]


# -- hand arithmetic on small ledgers --------------------------------------------------------

G_ANN = [designate("G", "2000-12-28"), issue("G", "Ann", "400", "2001-01-02", "i1")]


def test_accrued_unpaid_pieces_fall_due_rounded_then_a_payment():
    """G (1,000 stated, 10%, 30/360, periods from Jan 1, Apr 1, …, paid 9 days later):
    Ann's 400 shares accrue [Jan 2, Apr 1) = 89 days: 400 × 1,000 × 10% × 89/360 =
    9,888.888…, due Apr 10 rounded to 9,888.89; 1,000.00 is paid on Apr 20; then
    [Apr 1, May 16) = 45 days: 400 × 1,000 × 10% × 45/360 = 5,000.00 not yet due."""
    evs = [*G_ANN, ev("DividendPaid", "2001-04-20", series="G", amount="1000.00", id="p1")]
    e = ex(evs, "2001-05-15", "accrued_unpaid", "G", "Ann")
    first = D(400) * 1000 * D("0.10") * 89 / 360
    assert e.value == D("9888.89") - D("1000.00") + D("5000.00")
    assert kinds(e) == ["accrual", "due", "payment", "accrual", "not_yet_due"]
    a1, due, pay, a2, open_ = e.steps
    assert (a1.get("from"), a1.get("to"), a1.get("days"), a1.get("rate")) == (
        dt.date(2001, 1, 2), dt.date(2001, 4, 1), 89, D("0.10"))
    assert a1.get("base") == D(400000) and abs(a1.amount - first) < D("1e-20")
    assert due.get("rounded") == D("9888.89") and due.date == dt.date(2001, 4, 10)
    assert pay.amount == D("-1000.00") and pay.event_ids == ("p1",)
    assert a2.get("days") == 45 and a2.amount == D("5000")
    assert open_.amount == 0 and a1.event_ids == ("i1",)
    # the series figures: arrears are what fell due less what was paid
    arrears = ex(evs, "2001-05-15", "arrears", "G")
    assert arrears.value == D("8888.89") and kinds(arrears) == ["accrual", "due", "payment"]
    assert ex(evs, "2001-05-15", "accrued_unpaid", "G").value == D("13888.89")


def test_dividend_rate_steps_up_after_two_misses():
    """Nothing paid on Apr 10 and Jul 10, 2001: two consecutive misses raise G's rate by
    1% from Jul 11 (Series G §2(b)); the value is the last step's rate."""
    evs = [*G_ANN, ev("DividendMissed", "2001-04-10", series="G", payment_date="2001-04-10",
                      id="m1")]
    e = ex(evs, "2001-08-01", "dividend_rate", "G")
    assert e.combine == "last" and e.value == D("0.11")
    assert [(s.kind, s.date, s.amount) for s in e.steps] == [
        ("designation", dt.date(2000, 12, 28), D("0.10")),
        ("step_up", dt.date(2001, 7, 11), D("0.11"))]
    assert e.steps[1].event_ids == ("m1",)


H_BOB = [designate("H", "2001-04-12"),
         ev("CommonStockIssued", "2001-04-12", shares="1000000", kind="opening"),
         issue("H", "Bob", "100", "2001-04-12", "h1")]


def test_dividends_payable_on_conversion():
    """H (10%, periods from Mar 10, Jun 10, …, paid on the period start): Bob's 100
    shares accrue [Apr 12, Jun 10) = 58 days (1,611.11 due Jun 10); converted on Jul 10,
    [Jun 10, Jul 10) = 30 days: 100 × 1,000 × 10% × 30/360 = 833.333… becomes payable,
    833.33; the arrears stay arrears."""
    evs = [*H_BOB, ev("SharesConverted", "2001-07-10", series="H", holder="Bob",
                      shares="100", id="c1")]
    e = ex(evs, "2001-07-31", "dividends_payable", "H", "Bob")
    assert e.value == D("833.33") and kinds(e) == ["accrual", "payable"]
    assert e.steps[0].get("days") == 30 and e.steps[0].get("shares") == D(100)
    assert ex(evs, "2001-07-31", "arrears", "H").value == D("1611.11")
    assert ex(evs, "2001-07-31", "dividends_payable", "H").value == D("833.33")


def test_shares_and_votes_move_with_each_event():
    """Bob holds 100 H, transfers 40 to Cy: Bob +100 −40 = 60; the series' 100 (a
    transfer moves nothing out of it); votes floor(60 × 1,388.89) = 83,333."""
    evs = [*H_BOB, ev("SharesTransferred", "2001-05-01", series="H", from_holder="Bob",
                      to_holder="Cy", shares="40", id="t1")]
    bob = ex(evs, "2001-05-31", "shares", "H", "Bob")
    assert [(s.kind, s.amount, s.event_ids) for s in bob.steps] == [
        ("issued", D(100), ("h1",)), ("transferred", D(-40), ("t1",))]
    assert bob.value == D(60)
    whole = ex(evs, "2001-05-31", "shares", "H")
    assert [(s.kind, s.amount) for s in whole.steps] == [("issued", D(100))]
    votes = ex(evs, "2001-05-31", "votes", "H", "Bob")
    assert votes.value == D(83333)  # 60 × 1,388.89 = 83,333.4
    assert ex(evs, "2001-05-31", "votes", "H").value == D(83333) + D(55555)  # 40 × 1,388.89


def test_conversion_rate_is_the_base_times_each_factor():
    """100,000 common sold at $0.36 (below H's $0.72): A = 1,000,000, B = 36,000 ÷ 0.72 =
    50,000, C = 100,000: the rate × 1,100,000 / 1,050,000."""
    evs = [*H_BOB, ev("CommonStockIssued", "2001-06-01", shares="100000", kind="sale",
                      price_per_share="0.36", consideration="36000", id="s1")]
    e = ex(evs, "2001-06-30", "conversion_rate", "H")
    factor = CONTEXT.divide(D(1100000), D(1050000))
    assert e.combine == "product"
    assert [s.amount for s in e.steps] == [D("1388.89"), factor]
    adj = e.steps[1]
    assert (adj.get("A"), adj.get("B"), adj.get("C")) == (D(1000000), D(50000), D(100000))
    assert e.value == CONTEXT.multiply(D("1388.89"), factor) and adj.event_ids == ("s1",)


def test_redemption_price_and_liquidation_preference_components():
    """As of May 1: Bob's 100 H accrued [Apr 12, May 2) = 20 days: 100 × 1,000 × 10% ×
    20/360 = 555.555… → 555.56; per share 5.5556 → 5.56; price 1,000 + 5.56; preference
    100 × 1,000 + 555.56."""
    price = ex(H_BOB, "2001-05-01", "redemption_price_per_share", "H")
    assert price.value == D("1005.56")
    assert [(s.kind, s.amount) for s in price.steps] == [("stated", D(1000)),
                                                         ("dividends", D("5.56"))]
    pref = ex(H_BOB, "2001-05-01", "liquidation_preference", "H")
    assert pref.value == D("100555.56")
    assert [(s.kind, s.amount) for s in pref.steps] == [
        ("preference", D(100000)), ("accrued_unpaid", D("555.56")),
        ("dividends_payable", D(0))]


def test_common_shares_by_holder_through_a_transfer_and_a_split():
    """Ann is issued 1,000 common, gives 300 to Bo, then a 2-for-1 split: Ann 1,000 − 300
    + 700 = 1,400; common outstanding 2,000; votes one a share."""
    evs = [designate("H", "2001-04-12"),
           ev("CommonStockIssued", "2001-05-01", shares="1000", kind="sale", holder="Ann",
              price_per_share="1", id="c1"),
           ev("SharesTransferred", "2001-05-02", series="common", from_holder="Ann",
              to_holder="Bo", shares="300", id="t1"),
           ev("CommonStockSplit", "2001-05-03", ratio="2", id="x1")]
    ann = ex(evs, "2001-05-31", "shares", COMMON, "Ann")
    assert [(s.kind, s.amount) for s in ann.steps] == [
        ("issued", D(1000)), ("transferred", D(-300)), ("split", D(700))]
    assert ann.value == D(1400)
    assert ex(evs, "2001-05-31", "shares", COMMON).value == D(2000)
    assert ex(evs, "2001-05-31", "votes", COMMON, "Bo").value == D(600)


def test_unknown_figure_series_or_holder_name_the_option():
    evs = G_ANN
    for args, option in ((("bogus", "G"), "figure"), (("shares", "Z"), "series"),
                         (("accrued_unpaid", COMMON), "figure"),
                         (("arrears", "G", "Ann"), "holder"),
                         (("shares", "G", "Nobody"), "holder")):
        with pytest.raises(ExplainError) as exc:
            explain("default", book(evs).records(), dt.date(2001, 5, 1), *args)
        assert exc.value.option == option, args


# -- every position figure of the fixtures, at 20 dates ---------------------------------------

def position_figure(rep: dict[str, Any], e: Explanation) -> str | None:
    if e.series == COMMON and e.holder is None:
        return rep["common_outstanding"] if e.figure == "shares" else rep["common_votes"]
    if e.holder is None:
        [row] = [s for s in rep["series"] if s["series"] == e.series]
        return row["outstanding" if e.figure == "shares" else e.figure]  # type: ignore[no-any-return]
    [row] = [h for h in rep["holders"] if h["series"] == e.series
             and (h["holder"] or "unattributed") == e.holder]
    return row[e.figure]  # type: ignore[no-any-return]


def every_figure_agrees(evs: Any, day: dt.date, issuer: str = "default") -> int:
    st_, f = follow(issuer, book(evs, issuer=issuer).records(), day)
    rep = position(st_, day)
    found = explain_all(st_, f, day)
    for e in found:
        want = position_figure(rep, e)
        assert (None if want is None else D(want)) == e.value, (e.figure, e.series,
                                                                 e.holder, day)
        sound(e)
    return len(found)


@pytest.mark.parametrize("name", ["nstor", "venture", "mezzanine"])
def test_every_position_figure_is_explained_at_20_dates(name):
    text = (REPO / "fixtures" / name / "history.jsonl").read_text()
    issuer = json.loads(text.splitlines()[0]).get("issuer", "default")
    days = sorted(dt.date.fromisoformat(json.loads(x)["effective_date"])
                  for x in text.splitlines() if x.strip())
    first, last = days[0], days[-1] + dt.timedelta(days=400)
    count = 0
    for k in range(20):
        count += every_figure_agrees(text, first + (last - first) * k / 19, issuer)
    assert count > 20 * 9  # every series' nine figures at least, and holders'


# -- random histories ------------------------------------------------------------------------

_PAY = st.builds(lambda s, a, d, h: ev("DividendPaid", d.isoformat(), series=s,
                                       amount=f"{a}.00", **({"holder": h} if h else {})),
                 st.sampled_from(["G", "H"]), st.integers(1, 40_000),
                 st.dates(dt.date(2001, 5, 1), dt.date(2002, 12, 31)),
                 st.sampled_from([None, None, "A", "B"]))
_CANCEL = st.builds(lambda s, h, n, d: ev("SharesCancelled", d.isoformat(), series=s,
                                          holder=h, shares=n, reason="repurchase"),
                    st.sampled_from(["G", "H"]), st.sampled_from(["A", "B", "C"]),
                    st.sampled_from(["100", "200"]),
                    st.dates(dt.date(2001, 5, 1), dt.date(2002, 12, 31)))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=st.lists(st.one_of(EVENT, _PAY, _PAY, _CANCEL), min_size=1, max_size=8),
       when=st.dates(dt.date(2001, 6, 1), dt.date(2003, 6, 30)))
def test_random_histories_recompute_every_figure(events, when):
    """Random issuances, transfers, conversions, payments (series-wide and to a holder,
    many refused), cancellations and reversals: each figure recombines from its steps and
    equals the position's."""
    [numbered] = _number([events])
    every_figure_agrees([*BASE, *numbered], when)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g_history(), st.integers(0, 900))
def test_random_payments_recompute_every_figure(evs, n):
    every_figure_agrees(evs, dt.date(2001, 1, 2) + dt.timedelta(days=n))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(common_histories())
def test_random_common_histories_recompute_every_figure(evs):
    every_figure_agrees(evs, dt.date(2003, 1, 1))


# -- the command line, on both stores --------------------------------------------------------

NSTOR = REPO / "fixtures" / "nstor" / "history.jsonl"


def exact_sum(amounts: Any) -> Decimal:
    """The amounts (strings) added without rounding."""
    with localcontext(prec=500):
        return sum((D(a) for a in amounts), D(0))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_json_and_table(cli):
    assert cli("load", str(NSTOR)).exit_code == 0
    rep = cli.json("explain", "--as-of", "2001-12-31", "--series", "G", "--holder",
                   "Birch Family Trust", "accrued_unpaid")
    pos = cli.json("position", "--as-of", "2001-12-31")
    [row] = [h for h in pos["holders"] if h["holder"] == "Birch Family Trust"]
    assert rep["value"] == row["accrued_unpaid"] and rep["combine"] == "sum"
    assert {"kind", "date", "event_ids", "amount"} <= set(rep["steps"][0])
    assert exact_sum(s["amount"] for s in rep["steps"]) == D(rep["value"])
    r = cli("explain", "--as-of", "2001-12-31", "--series", "G", "--holder",
            "Birch Family Trust", "accrued_unpaid")
    assert r.exit_code == 0, r.output
    text = flat(r.stdout)
    assert "sh × 1,000.00 × 10% ×" in text and f"= the sum of the amounts = {rep['value']}" \
        in text


def test_cli_csv_one_row_per_step(cli):
    assert cli("load", str(NSTOR)).exit_code == 0
    r = cli("explain", "--as-of", "2001-12-31", "--series", "G", "arrears", "--csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    rep = cli.json("explain", "--as-of", "2001-12-31", "--series", "G", "arrears")
    assert len(rows) == len(rep["steps"]) and rows[0]["step"] == "1"
    assert {r["holder"] for r in rows} == {""}  # the series' figure: its holders' steps
    assert {r["step_holder"] for r in rows} >= {"Alder Capital LP", "Birch Family Trust"}
    assert exact_sum(x["amount"] for x in rows) == D(rows[0]["value"]) == D("45555.55")


def test_cli_as_recorded(cli, store):
    with store.open(clock=clock_from(["2026-03-01T09:00:00Z", "2026-03-02T09:00:00Z"])) as lg:
        lg.load_lines([json.dumps(e) for e in G_ANN])
        lg.load_lines([json.dumps(ev("DividendPaid", "2001-04-20", series="G",
                                     amount="1000.00", id="p1"))])
    args = ("explain", "--as-of", "2001-05-15", "--series", "G", "arrears")
    assert cli.json(*args)["value"] == "8888.89"
    old = cli.json(*args, "--as-recorded", "2026-03-01T12:00:00Z")
    assert old["value"] == "9888.89" and old["as_recorded"] == "2026-03-01T12:00:00+00:00"


def test_cli_bad_input_is_exit_2_naming_the_option(cli):
    assert cli("load", str(NSTOR)).exit_code == 0
    base = ("explain", "--as-of", "2001-12-31")
    for args, option in (((*base, "--series", "G", "bogus"), "FIGURE"),
                         ((*base, "--series", "Z", "shares"), "--series"),
                         ((*base, "--series", "G", "--holder", "Nobody", "shares"),
                          "--holder"),
                         ((*base, "--series", "G", "--holder", "Alder Capital LP",
                           "arrears"), "--holder"),
                         (("explain", "--as-of", "2001-13-01", "--series", "G", "shares"),
                          "--as-of"),
                         ((*base, "--series", "G", "shares", "--json", "--csv"), "--json")):
        r = cli(*args)
        assert r.exit_code == 2, (args, r.output)
        assert option in flat(r.stderr) and "Traceback" not in r.output, (args, r.stderr)


# -- general terms: compounding, other day counts, declared dividends -------------------------

COMP = {"compounding": "payment_date"}


def test_compounding_pieces_on_the_arrears():
    """1,000 P shares at 8% (calendar quarters): 20,000.00 falls due on 2024-04-01 unpaid
    and accrues from 04-02; as of 05-15 the open quarter is 1,000 × 1,000 × 8% × 45/360 =
    10,000.00 on the shares plus 20,000.00 × 8% × 44/360 = 195.555… on the arrears,
    rounded together: 10,195.56; with the arrears, 30,195.56."""
    evs = [gt.designate(**COMP), gt.issue("Ann", "1000", "2024-01-01")]
    e = ex(evs, "2024-05-15", "accrued_unpaid", "P", "Ann")
    assert e.value == D("20000.00") + D("10195.56")
    [comp] = [s for s in e.steps if s.kind == "compounding"]
    assert (comp.get("base"), comp.get("days"), comp.get("rate")) == (D("20000.00"), 44,
                                                                     D("0.08"))
    assert abs(comp.amount - D("20000") * D("0.08") * 44 / 360) < D("1e-20")
    assert e.steps[-1].kind == "not_yet_due" and e.steps[-1].get("rounded") == D("10195.56")


GENERAL = {
    "compounding, a payment and a transfer": [
        gt.designate(**COMP), gt.issue("Ann", "1000", "2024-01-01"),
        gt.ev("DividendPaid", "2024-05-16", series="P", amount="10000.00"),
        gt.ev("SharesTransferred", "2024-08-01", series="P", from_holder="Ann",
              to_holder="Bo", shares="400")],
    "ACT/365F, an issuance on Feb 29": [
        gt.designate(**COMP, day_count="ACT/365F"), gt.issue("Ann", "1000", "2024-01-01"),
        gt.issue("Bo", "333", "2024-02-29")],
    "amended rate and compounding on": [
        gt.designate(), gt.issue("Ann", "1000", "2024-01-01"),
        gt.ev("TermsAmended", "2024-05-16", series="P", changes={"compounding":
                                                                  "payment_date"}),
        gt.ev("TermsAmended", "2024-08-20", series="P", changes={"dividend_rate": "0.09"})],
}


@pytest.mark.parametrize("name", sorted(GENERAL))
def test_general_terms_every_figure_agrees(name):
    for day in ("2024-03-31", "2024-04-01", "2024-05-16", "2024-07-01", "2024-08-20",
                "2024-12-31", "2025-06-30"):
        every_figure_agrees(GENERAL[name], dt.date.fromisoformat(day))


# -- the reporting feed: figure_steps --------------------------------------------------------

def test_feed_figure_steps_recombine_to_the_position(cli, tmp_path):
    """The exported steps of every figure recombine (from their exact amounts) to the
    figure, which is the position's as of the feed's last day, and the arrears agree with
    the feed's own series balances."""
    import sqlite_utils

    assert cli("load", str(NSTOR)).exit_code == 0
    report = tmp_path / "report.db"
    assert cli("export", "--to", str(report), "--through", "2003-12-31").exit_code == 0
    db = sqlite_utils.Database(report)
    figures: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for r in db.query("SELECT * FROM figure_steps ORDER BY line"):
        figures.setdefault((r["figure"], r["series"], r["holder"]), []).append(r)
    pos = cli.json("position", "--as-of", "2003-12-31")
    assert len(figures) >= 9 * len(pos["series"]) + 2
    for (figure, series, holder), rows in figures.items():
        value = rows[0]["value_exact"]
        combine = rows[0]["combine"]
        if rows[0]["step"] is None:  # no step: nothing happened (0) or null
            assert len(rows) == 1 and (value is None or D(value) == 0)
            continue
        assert [r["step"] for r in rows] == list(range(1, len(rows) + 1))
        amounts = [D(r["amount_exact"]) for r in rows]
        if combine == "sum":
            assert exact_sum(amounts) == D(value), (figure, series, holder)
        elif combine == "last":
            assert amounts[-1] == D(value)
        else:
            prod = amounts[0]
            for a in amounts[1:]:
                prod = CONTEXT.multiply(prod, a)
            assert prod == D(value)
        if series == COMMON:
            continue
        if holder is None:
            [row] = [s for s in pos["series"] if s["series"] == series]
            want = row["outstanding" if figure == "shares" else figure]
        else:
            [row] = [h for h in pos["holders"] if h["holder"] == holder
                     and h["series"] == series]
            want = row[figure]
        assert want is not None and D(want) == D(value), (figure, series, holder)
    for b in db.query("SELECT series, arrears FROM series_balances WHERE valid_from <= "
                      "'2003-12-31' AND (valid_to IS NULL OR valid_to > '2003-12-31')"):
        [first] = figures[("arrears", b["series"], None)][:1]
        if b["arrears"] is None:
            assert first["value_exact"] is None
        else:
            assert abs(D(first["value_exact"]) - D(str(b["arrears"]))) < D("0.005")


# -- history effects: common moved between holders ------------------------------------------

def test_history_shows_each_holders_common_on_a_transfer_and_a_cancellation():
    """Ann is issued 1,000 common, transfers 300 to Bo (Ann −300, Bo +300, common
    outstanding unchanged), Bo's 120 are repurchased (Bo −120, outstanding −120): the
    event's own view and each holder's view show the holders' common shares."""
    from tests.test_effects import fx, hist

    evs = [designate("H", "2001-04-12"),
           ev("CommonStockIssued", "2001-05-01", shares="1000", kind="sale", holder="Ann",
              price_per_share="1", id="c1"),
           ev("SharesTransferred", "2001-05-02", series="common", from_holder="Ann",
              to_holder="Bo", shares="300", id="t1"),
           ev("SharesCancelled", "2001-05-03", series="common", holder="Bo", shares="120",
              reason="repurchase", id="x1")]
    [t1] = hist(evs, event_id="t1")["events"]
    assert fx(t1) == [("common", "Ann", "shares", "-300"), ("common", "Bo", "shares", "300")]
    [x1] = hist(evs, event_id="x1")["events"]
    assert fx(x1) == [("common", None, "outstanding", "-120"),
                      ("common", "Bo", "shares", "-120")]
    bo = {r["id"]: fx(r) for r in hist(evs, holder="Bo")["events"]}
    assert bo["t1"] == [("common", "Bo", "shares", "300")]
    assert bo["x1"] == [("common", "Bo", "shares", "-120")]  # 300 − 120 = 180 left
    ann = {r["id"]: fx(r) for r in hist(evs, holder="Ann")["events"]}
    assert ann["c1"] == [("common", "Ann", "shares", "1000")]
    assert ann["t1"] == [("common", "Ann", "shares", "-300")]
