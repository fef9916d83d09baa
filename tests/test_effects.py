"""Effects (``projections.effects``) and the history built on them (``projections.history``
``report``; ``history --holder/--series/--id/--with-dues``): what each event, and each
start and end of day, changed, figure by figure. Every expected figure is worked out by
hand below from the terms (Series G: $1,000 stated, 10%, 30/360, periods from 01-01,
04-01, 07-01, 10-01 paid on the 10th of the next month, +1% every second consecutive
missed payment date (Series G §2(b)); Series H: 10%, periods from the 10th of 03, 06, 09,
12, 1,388.89 common per share, anti-dilution below $0.72 (Series H §5(e)); Series K:
1,000 / 0.23 common per share on the approval (Series K §5(a))).

The rules (SPEC.md §5 Periods, Missed, Step-up; §6; §11 Days and order, Payments) are the
ledger's; here they are only read back, step by step. The CLI tests run on both stores;
the rest on the pure core (replay and the report builder, no store).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import Any

import pytest

from ledger.events import Event, parse_object
from ledger.replay import replay
from ledger.terms import load_terms_ref
from projections.effects import EffectRecorder, Scope
from projections.history import effect_text, report
from projections.position import position
from tests.conftest import HISTORY
from tests.test_dividends import designate, issue, missed, paid, records, transfer

D = Decimal
d = dt.date.fromisoformat
P40 = Context(prec=40)

BIRCH, CEDAR, ALDER, DOGWOOD = ("Birch Family Trust", "Cedar Partners LLC",
                                "Alder Capital LP", "Dogwood Fund")


@dataclass(frozen=True)
class Row:
    """A stored event as ``projections.history`` reads it (``ledger.store.StoredEvent``)."""

    issuer: str
    position: int
    payload: dict[str, Any]
    recorded_at: str
    hash: str
    prev_hash: str


def stored(objs: list[dict[str, Any]]) -> tuple[list[Row], list[Event | None]]:
    rows: list[Row] = []
    events: list[Event | None] = []
    for n, obj in enumerate(objs, start=1):
        ev = parse_object(obj, n)
        assert not isinstance(ev, list), ev
        rows.append(Row("default", n, ev.to_json(), "2026-01-05T09:00:00+00:00",
                        f"{n:064x}", f"{n - 1:064x}"))
        events.append(ev)
    return rows, events


def hist(objs: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    rows, events = stored(objs)
    return report(rows, events, load_terms_ref, **kw)


def nstor() -> list[dict[str, Any]]:
    return [json.loads(line) for line in HISTORY.read_text().splitlines()]


def by_id(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in rep["events"]}


def fx(row: dict[str, Any], **match: Any) -> list[tuple[str, str | None, str, Any]]:
    """(series, holder, figure, change) of a row's effects, optionally filtered."""
    return [(e["series"], e["holder"], e["figure"], e["change"]) for e in row["effects"]
            if all(e[k] == v for k, v in match.items())]


def changes(rep: dict[str, Any], series: str, holder: str | None, figure: str,
            calendar: bool = True) -> Decimal:
    """The sum of one figure's changes over the events (and the calendar entries)."""
    rows = rep["events"] + ((rep["calendar"] or []) if calendar else [])
    return sum((D(e["change"]) for r in rows for e in (r["effects"] or [])
                if (e["series"], e["holder"], e["figure"]) == (series, holder, figure)), D(0))


def nstor_state(as_of: str) -> Any:
    st, problems = replay("default", records(nstor()), d(as_of))
    assert problems == []
    return st


# -- a holder's history on the nStor fixture -----------------------------------------------

# G dues of 2001-04-10 (the period to 04-01; 30/360 from the issue date):
#   Alder 600 from 2000-12-28: 93 days: 600 × 1000 × 10% × 93/360 = 15,500.00
#   Birch 400 from 2000-12-28: 400 × 1000 × 10% × 93/360 = 10,333.333… -> 10,333.33
#   Cedar 500 from 2001-02-15: 46 days: 500 × 1000 × 10% × 46/360 = 6,388.888… -> 6,388.89
#   total 32,222.22; the series-wide 30,000.00 of nstor-0006 is split pro rata (SPEC.md §11):
#   Alder 30,000 × 15,500.00 / 32,222.22 = 14,431.0354…, Birch × 10,333.33 / … = 9,620.6872…,
#   Cedar × 6,388.89 / … = 5,948.2773…; floors 14,431.03 + 9,620.68 + 5,948.27 = 29,999.98,
#   the 2 cents left go to the largest remainders, Cedar (.0073) and Birch (.0072):
BIRCH_0410_PAID = D("9620.68") + D("0.01")
# 2001-07-10: dues 600 / 400 / 500 × 1000 × 10% × 90/360 = 15,000.00 / 10,000.00 / 12,500.00;
# nstor-0011's 35,000.00 first pays what is left of 04-10 (2,222.22, Birch's part
# 10,333.33 − 9,620.69 = 712.64), then 32,777.78 pro rata over 37,500.00: Birch
# 32,777.78 × 10,000 / 37,500 = 8,740.7413… -> 8,740.74 (the one cent left goes to Cedar,
# remainder .0067 against Alder .0020 and Birch .0013)
BIRCH_0710_PAID = D("712.64") + D("8740.74")


def test_holder_history_shows_series_wide_payments_pro_rata_to_the_cent():
    rep = hist(nstor(), holder=BIRCH)
    rows = by_id(rep)
    assert fx(rows["nstor-0006"], figure="arrears") == [("G", BIRCH, "arrears",
                                                         str(-BIRCH_0410_PAID))]
    assert BIRCH_0410_PAID == D("9620.69")
    assert fx(rows["nstor-0011"], figure="arrears") == [("G", BIRCH, "arrears",
                                                         str(-BIRCH_0710_PAID))]
    assert BIRCH_0710_PAID == D("9453.38")
    # neither payment names Birch: the plain trail never listed them
    assert "holder" not in rows["nstor-0006"]["event"]
    # only Birch's figures are measured (and the terms of the series Birch holds)
    assert {e["holder"] for r in rep["events"] for e in r["effects"]} <= {BIRCH, None}
    # every G and H miss is recorded and nothing converts on a date: no calendar entry
    # without the amounts falling due (not asked for)
    assert rep["calendar"] == []


def test_holder_history_shows_the_missed_date_and_the_step_up_it_causes():
    rows = by_id(hist(nstor(), holder=BIRCH))
    # 2001-04-10: 32,222.22 due, 30,000.00 paid: missed (1). 2001-07-10: 37,500.00 due plus
    # 2,222.22 left, 35,000.00 paid: missed (2), the second consecutive miss: the rate
    # rises by 1% from the next day (Series G §2(b)), reported on the DividendMissed
    first = rows["nstor-missed-G-2001-04-10"]["effects"]
    assert [(e["figure"], e["before"], e["after"], e["at"]) for e in first] == [
        ("missed_streak", 0, 1, "end_of_day")]
    second = {e["figure"]: e for e in rows["nstor-missed-G-2001-07-10"]["effects"]}
    assert set(second) == {"dividend_rate", "missed_streak"}
    assert (second["missed_streak"]["before"], second["missed_streak"]["after"]) == (1, 2)
    rate = second["dividend_rate"]
    assert (D(rate["before"]), D(rate["after"]), rate["effective"]) == (
        D("0.10"), D("0.11"), "2001-07-11")
    assert rate["at"] == "end_of_day" and rate["note"].startswith("step-up: 2 consecutive")
    assert effect_text(rate, BIRCH) == "G dividend_rate 0.1 → 0.11 from 2001-07-11 (step-up)"
    # the catch-up payment of 2002-10-10 pays every G arrear: the rate returns to 10% from
    # 2002-10-11 and the count to 0, reported on that DividendPaid; Birch's part is what
    # Birch was owed: dues 10,333.33 + 10,000.00 + 8,166.67 (10-10: 300 sh, 10 days at
    # 10% + 80 at 11%: 300,000 × 9.8 / 360) + 8,250.00 (300 × 1000 × 11% × 90/360)
    # + 8,916.67 (90 days at 11% then 12% from 01-11: 300,000 × (0.11 × 10 + 0.12 × 80)
    # / 360 = 8,916.666…) + 9,000.00 (12%) + 9,666.67 (80 days at 12%, 10 at 13%:
    # 300,000 × 11.6 / 360), less the two payments above
    owed = (D("10333.33") + D("10000.00") + D("8166.67") + D("8250.00") + D("8916.67")
            + D("9000.00") + D("9666.67") - BIRCH_0410_PAID - BIRCH_0710_PAID)
    catch_up = {e["figure"]: e for e in rows["nstor-0026"]["effects"]}
    assert D(catch_up["arrears"]["change"]) == -owed == D("-45259.27")
    assert (D(catch_up["dividend_rate"]["after"]), catch_up["dividend_rate"]["effective"]) == (
        D("0.10"), "2002-10-11")
    assert catch_up["missed_streak"]["after"] == 0


def test_holder_history_shows_the_transfer_and_the_adjustments_of_its_conversion_rate():
    rows = by_id(hist(nstor(), holder=BIRCH))
    # nstor-0024: Birch receives 250 H on 2002-05-20; votes floor(250 × 1,388.89) = 347,222
    assert ("H", BIRCH, "shares", "250") in fx(rows["nstor-0024"])
    assert ("H", BIRCH, "votes", "347222") in fx(rows["nstor-0024"])
    # nstor-0027: 1,000,000 common at $0.50 < $0.72: H's rate × (A + C) / (A + B), A =
    # 30,000,000, C = 1,000,000, B = 500,000 / 0.72 (Series H §5(e)); neither event names
    # Birch, both change Birch's H conversion rate and votes
    with localcontext(P40):  # the factor first, then the rate × the factor (40 digits)
        r1 = D("1388.89") * (D(31000000) / (D(30000000) + D(500000) / D("0.72")))
        # K converts 10,000 shares: C = floor(6,000 × 1000 / 0.23) + floor(4,000 × 1000 / 0.23)
        # = 26,086,956 + 17,391,304; A = 31,000,000; B = 10,000,000 / 0.72
        c = D(26086956 + 17391304)
        r2 = r1 * ((D(31000000) + c) / (D(31000000) + D(10000000) / D("0.72")))
    sale = {e["figure"]: e for e in rows["nstor-0027"]["effects"]}
    assert (D(sale["conversion_rate"]["before"]), D(sale["conversion_rate"]["after"])) == (
        D("1388.89"), r1)
    assert D(sale["votes"]["change"]) == int(250 * r1) - 347222 == 3457
    approval = {e["figure"]: e for e in rows["nstor-0029"]["effects"]}
    assert D(approval["conversion_rate"]["after"]) == r2
    assert D(approval["votes"]["change"]) == int(250 * r2) - int(250 * r1)


def test_holder_history_shows_the_conversion_with_its_common():
    rows = by_id(hist(nstor(), holder=DOGWOOD))
    conv = {(e["series"], e["figure"]): e for e in rows["nstor-0031"]["effects"]}
    with localcontext(P40):  # the two adjustments of H's rate (as in the test above)
        r1 = D("1388.89") * (D(31000000) / (D(30000000) + D(500000) / D("0.72")))
        r2 = r1 * (D(74478260) / (D(31000000) + D(10000000) / D("0.72")))
    # 300 H converted on 2004-03-15: floor(300 × 2,327.34…) = 698,202 common; the accrual not
    # yet due (from 03-10, 5 days: 300 × 1000 × 10% × 5/360 = 416.666… -> 416.67) becomes
    # dividends payable; accrued unpaid (through the end of 03-15, 6 days: 500.00) loses it
    assert D(conv["common", "issued_on_conversion"]["change"]) == int(300 * r2) == 698202
    assert conv["H", "shares"]["change"] == "-300"
    assert conv["H", "dividends_payable"]["change"] == "416.67"
    assert conv["H", "accrued_unpaid"]["change"] == "-500.00"
    # votes floor(1,500 × r2) -> floor(1,200 × r2)
    assert D(conv["H", "votes"]["change"]) == int(1200 * r2) - int(1500 * r2)
    # then nstor-0032 pays Dogwood 1,000.00, oldest due date first (SPEC.md §11): arrears
    assert fx(rows["nstor-0032"], figure="arrears") == [("H", DOGWOOD, "arrears", "-1000.00")]
    # the automatic conversion shows for a K holder: floor(6,000 × 1000 / 0.23) common
    fir = by_id(hist(nstor(), holder="Fir Holdings"))["nstor-0029"]
    assert fx(fir, figure="issued_on_conversion") == [
        ("common", "Fir Holdings", "issued_on_conversion", str(int(6000 * D(1000) / D("0.23"))))]
    assert ("K", "Fir Holdings", "shares", "-6000") in fx(fir)


def test_sum_of_share_effects_is_the_position_and_arrears_effects_plus_dues_the_arrears():
    rep = hist(nstor(), holder=BIRCH, with_dues=True)
    pos = position(nstor_state("2005-12-31"), d("2005-12-31"))
    held = {h["series"]: D(h["shares"]) for h in pos["holders"] if h["holder"] == BIRCH}
    # G: +400 (nstor-0004) − 100 (nstor-0013); H: +250 (nstor-0024)
    assert held == {"G": 300, "H": 250}
    for series, shares in held.items():
        assert changes(rep, series, BIRCH, "shares") == shares
    # arrears: every amount that fell due (calendar) plus every event's effect
    st = nstor_state("2005-12-31")
    for series in ("G", "H"):
        dues = sum((D(e["change"]) for c in rep["calendar"] for e in c["effects"]
                    if (e["series"], e["holder"], e["figure"]) == (series, BIRCH, "arrears")),
                   D(0))
        events = changes(rep, series, BIRCH, "arrears", calendar=False)
        assert dues + events == st.series[series].unpaid(BIRCH)
    # by hand to the end of 2001: G dues 10,333.33 + 10,000.00 + 8,166.67, paid 9,620.69 +
    # 9,453.38 (the two series-wide payments above): 9,425.93
    early = hist(nstor(), holder=BIRCH, with_dues=True, date_to=d("2001-12-31"))
    assert changes(early, "G", BIRCH, "arrears") == D("28500.00") - D("19074.07") == D("9425.93")
    due_days = [(c["date"], c["phase"], fx(c)) for c in early["calendar"]]
    assert due_days == [
        ("2001-04-10", "start_of_day", [("G", BIRCH, "arrears", "10333.33")]),
        ("2001-07-10", "start_of_day", [("G", BIRCH, "arrears", "10000.00")]),
        ("2001-10-10", "start_of_day", [("G", BIRCH, "arrears", "8166.67")])]
    assert early["calendar"][0]["causes"] == ["Series G payment date: amounts fall due"]


# -- common stock ---------------------------------------------------------------------------

def test_series_common_lists_every_event_that_changed_common_stock():
    rep = hist(nstor(), series="common")
    # opening 30,000,000; the sale of 1,000,000; the tie-out (names common, changes nothing);
    # K's automatic conversion, 26,086,956 + 17,391,304 = 43,478,260 (as above); Dogwood's
    # conversion, 698,202 (as above)
    assert [(r["id"], fx(r)) for r in rep["events"]] == [
        ("nstor-0002", [("common", None, "outstanding", "30000000")]),
        ("nstor-0027", [("common", None, "outstanding", "1000000")]),
        ("nstor-0028", []),
        ("nstor-0029", [("common", None, "outstanding", "43478260")]),
        ("nstor-0031", [("common", None, "outstanding", "698202")]),
    ]
    total = 30000000 + 1000000 + 43478260 + 698202
    assert changes(rep, "common", None, "outstanding") == total == 75176462
    assert position(nstor_state("2005-12-31"), d("2005-12-31"))["common_outstanding"] == str(
        total)


# -- one event, everything it changed -------------------------------------------------------

def test_id_of_a_transfer_shows_both_holders_shares_and_accrual():
    rep = hist(nstor(), event_id="nstor-0013")
    assert [r["id"] for r in rep["events"]] == ["nstor-0013"]
    effects = [(e["series"], e["holder"], e["figure"], e["before"], e["after"], e["change"])
               for e in rep["events"][0]["effects"]]
    # 100 G move on 2001-09-01 with their accrual not yet due (SPEC.md §11: amounts already
    # due stay): the open period from 07-01, 10 days at 10% and, from the step-up of 07-11,
    # 51 days at 11% to the end of 09-01 (30/360: 07-11 -> 09-02), rate-days 1.0 + 5.61:
    #   100 × 1000 × 6.61 / 360 = 1,836.11; Birch keeps her 04-10/07-10 arrears,
    #   10,333.33 + 10,000.00 − 9,620.69 − 9,453.38 = 1,259.26
    # Birch: 1,259.26 + 400,000 × 6.61/360 (7,344.44) -> 1,259.26 + 300,000 × 6.61/360 (5,508.33)
    # Cedar (500 from 02-15): her 04-10 rest (6,388.89 − 5,948.28 = 440.61) was paid first on
    #   07-10, so her arrears are 07-10's 12,500.00 − 10,925.93 = 1,574.07:
    #   1,574.07 + 500,000 × 6.61/360 (9,180.56) -> 1,574.07 + 600,000 × 6.61/360 (11,016.67)
    assert effects == [
        ("G", BIRCH, "shares", "400", "300", "-100"),
        ("G", BIRCH, "accrued_unpaid", "8603.70", "6767.59", "-1836.11"),
        ("G", CEDAR, "shares", "500", "600", "100"),
        ("G", CEDAR, "accrued_unpaid", "10754.63", "12590.74", "1836.11"),
    ]
    assert D("1259.26") + D("7344.44") == D("8603.70")
    assert D("1259.26") + D("5508.33") == D("6767.59")
    assert D("1574.07") + D("9180.56") == D("10754.63")
    assert D("1574.07") + D("11016.67") == D("12590.74")


def test_id_of_a_missed_date_carries_its_end_of_day_and_a_payment_before_it_does_not():
    rep = hist(nstor(), event_id="nstor-missed-G-2001-07-10")
    assert [(e["figure"], e["at"], e["effective"]) for e in rep["events"][0]["effects"]] == [
        ("dividend_rate", "end_of_day", "2001-07-11"), ("missed_streak", "end_of_day",
                                                         "2001-07-10")]
    # the same day's payment: arrears per holder and for the series, nothing of the end of day
    pay = hist(nstor(), event_id="nstor-0011")["events"][0]["effects"]
    assert {e["at"] for e in pay} == {"event"}
    assert ("G", None, "arrears", "-35000.00") in [(e["series"], e["holder"], e["figure"],
                                                    e["change"]) for e in pay]


def test_id_lists_the_reversal_and_an_unknown_id_is_a_key_error():
    evs = [designate("G"), {**issue("G", "Ann", 600, "2001-01-02"), "id": "i1"},
           {**issue("G", "Bob", 400, "2001-01-02"), "id": "i2"},
           {"type": "EventReversed", "effective_date": "2001-07-01", "target_id": "i2",
            "reason": "never paid", "id": "r1"}]
    rep = hist(evs, event_id="i2")
    # the reversed issuance and its reversal: the figures are rebuilt as if i2 had never
    # been, so neither has an effect
    assert [(r["id"], r["reversed"], r["effects"]) for r in rep["events"]] == [
        ("i2", True, []), ("r1", False, [])]
    assert fx(hist(evs, event_id="i1")["events"][0], holder="Ann", figure="shares") == [
        ("G", "Ann", "shares", "600")]
    with pytest.raises(KeyError):
        hist(evs, event_id="nope")


# -- inline histories -----------------------------------------------------------------------

ANN = [designate("G"), issue("G", "Ann", 100, "2000-12-28")]
# Ann's G dues: 04-10: 100 × 1000 × 10% × 93/360 = 2,583.33; 07-10 (90 days): 2,500.00


def test_an_unrecorded_miss_is_a_calendar_entry_a_recorded_one_is_on_its_event():
    evs = ANN + [missed("G", "2001-07-10")]
    rep = hist(evs, holder="Ann", with_dues=True)
    cal = [(c["date"], c["phase"], fx(c)) for c in rep["calendar"]]
    # 04-10: nothing paid, no DividendMissed: the end of day counts the miss by itself
    assert cal == [
        ("2001-04-10", "start_of_day", [("G", "Ann", "arrears", "2583.33")]),
        ("2001-04-10", "end_of_day", [("G", None, "missed_streak", 1)]),
        ("2001-07-10", "start_of_day", [("G", "Ann", "arrears", "2500.00")]),
    ]
    assert rep["calendar"][1]["causes"][0].startswith(
        "Series G payment date 2001-04-10 missed: arrears 2583.33")
    # 07-10: the DividendMissed records the second miss and carries the step-up to 11%
    row = rep["events"][-1]
    assert [(e["figure"], e["before"], e["after"], e["effective"]) for e in row["effects"]] == [
        ("dividend_rate", "0.1", "0.11", "2001-07-11"), ("missed_streak", 1, 2,
                                                          "2001-07-10")]
    # without --with-dues: the unrecorded miss still (a change no event made), no dues
    plain = hist(evs, holder="Ann")
    assert [r["type"] for r in plain["events"]] == ["SharesIssued", "DividendMissed"]
    assert [(c["date"], c["phase"]) for c in plain["calendar"]] == [("2001-04-10",
                                                                      "end_of_day")]


def test_a_late_dividend_missed_does_not_take_the_end_of_day_of_its_payment_date():
    # recorded on 04-20 for 04-10: the end of 04-10 already ran without it
    evs = ANN + [{**missed("G", "2001-04-10", "2001-04-20"), "id": "late"}]
    rep = hist(evs, holder="Ann", with_dues=True)
    assert [r["type"] for r in rep["events"]] == ["SharesIssued"]  # it changed nothing of Ann's
    assert [(c["phase"], fx(c)) for c in rep["calendar"]] == [
        ("start_of_day", [("G", "Ann", "arrears", "2583.33")]),
        ("end_of_day", [("G", None, "missed_streak", 1)])]
    assert hist(evs, event_id="late")["events"][0]["effects"] == []


def test_a_conversion_on_a_date_trigger_is_a_calendar_entry_of_the_holder():
    """A series with ``mandatory_conversion: [{"date": "2024-05-16"}]`` ($1,000 stated, 8%,
    10 common per share, quarters from 01-01 paid on the period start): VC's 1,000 shares
    convert at the start of 2024-05-16, with no event (SPEC.md §12)."""
    terms = {"series": "A", "designated": "2024-01-01", "authorized_shares": "100000",
             "dividend_rate": "0.08", "period_starts": ["01-01", "04-01", "07-01", "10-01"],
             "conversion": "elective", "conversion_rate": "10",
             "mandatory_conversion": [{"date": "2024-05-16"}]}
    evs = [{"type": "SeriesDesignated", "effective_date": "2024-01-01", "series": "A",
            "terms": terms},
           {"type": "SharesIssued", "effective_date": "2024-01-01", "series": "A",
            "holder": "VC", "shares": "1000"}]
    # the last event is on 2024-01-01: --to runs the calendar on to 2024-06-30
    assert hist(evs, holder="VC")["calendar"] == []
    rep = hist(evs, holder="VC", date_to=d("2024-06-30"))
    conv = rep["calendar"][-1]
    assert (conv["date"], conv["phase"], conv["causes"]) == (
        "2024-05-16", "start_of_day", ["Series A: mandatory conversion at the start of the day"])
    # 1,000 × 10 = 10,000 common; the accrual 04-01 -> 05-16 (45 days: 1,000 × 1,000 × 8% ×
    # 45/360 = 10,000.00) becomes dividends payable (the terms give no votes: none change)
    assert fx(conv) == [
        ("A", "VC", "shares", "-1000"), ("A", "VC", "dividends_payable", "10000.00"),
        ("common", "VC", "shares", "10000"), ("common", "VC", "issued_on_conversion", "10000")]
    # before it, the 04-01 payment date went unpaid with no DividendMissed (a miss the end
    # of the day counts by itself); the quarter that fell due then (90 days: 1,000 × 1,000
    # × 8% × 90/360 = 20,000.00) shows only with --with-dues
    assert [(c["date"], c["phase"]) for c in rep["calendar"]] == [
        ("2024-04-01", "end_of_day"), ("2024-05-16", "start_of_day")]
    dues = hist(evs, holder="VC", with_dues=True, date_to=d("2024-06-30"))["calendar"]
    assert [(c["date"], c["phase"], fx(c, figure="arrears")) for c in dues] == [
        ("2024-04-01", "start_of_day", [("A", "VC", "arrears", "20000.00")]),
        ("2024-04-01", "end_of_day", []), ("2024-05-16", "start_of_day", [])]


def test_series_view_designation_and_dues_per_holder():
    evs = [designate("G"), issue("G", "Ann", 600, "2000-12-28"),
           issue("G", "Ben", 400, "2000-12-28"), paid("G", "10000.00", "2001-04-10")]
    rep = hist(evs, series="G", with_dues=True)
    # designation: the figures that start set and not zero (Series G: 2,000 authorized, 10%);
    # from nothing, so no change is given
    assert [(e["figure"], e["before"], e["after"]) for e in rep["events"][0]["effects"]] == [
        ("authorized", None, "2000"), ("dividend_rate", None, "0.1")]
    # issuances: series figures only in a series view
    assert fx(rep["events"][1]) == [("G", None, "issued_total", "600"),
                                    ("G", None, "outstanding", "600")]
    # 04-10 dues, 93 days: Ann 600 × 1000 × 10% × 93/360 = 15,500.00, Ben 10,333.33
    start = rep["calendar"][0]
    assert (start["date"], fx(start)) == ("2001-04-10", [
        ("G", None, "arrears", "25833.33"), ("G", "Ann", "arrears", "15500.00"),
        ("G", "Ben", "arrears", "10333.33")])
    # the series-wide 10,000.00: the series' arrears; then the end of day counts the miss
    # (no DividendMissed; the payment is that day's last of the series and carries it)
    pay = rep["events"][3]
    assert fx(pay) == [("G", None, "arrears", "-10000.00"), ("G", None, "missed_streak", 1)]
    assert pay["effects"][1]["at"] == "end_of_day"


def test_holder_view_liquidation_extinguishes_the_holders_figures():
    evs = ANN + [{"type": "Liquidation", "effective_date": "2001-05-01",
                  "proceeds": "1000000.00", "id": "liq"}]
    rep = hist(evs, holder="Ann")
    liq = by_id(rep)["liq"]
    # Ann's claim: 2,583.33 in arrears (04-10) and 100 × 1000 × 10% × 31/360 = 861.11
    # accrued from 04-01 to the end of 05-01 (30/360: 04-01 -> 05-02); all settled by the
    # distribution, her 100 shares extinguished
    assert fx(liq) == [("G", "Ann", "shares", "-100"), ("G", "Ann", "arrears", "-2583.33"),
                       ("G", "Ann", "accrued_unpaid", str(-(D("2583.33") + D("861.11"))))]


def test_recorder_measures_only_the_scope():
    """A holder's scope measures that holder in every series, never another holder."""
    rec = EffectRecorder(Scope(holder="Ann"))
    evs = ANN + [issue("G", "Ben", 50, "2001-01-05"), transfer("G", "Ann", "Ben", 30,
                                                               "2001-02-01")]
    replay("default", records(evs), None, load_terms_ref, hooks=[rec])
    touched = {(e.series, e.holder) for entry in rec.events.values() for e in entry.effects}
    assert touched == {("G", "Ann")}
    assert [len(rec.events[n].effects) for n in (1, 2, 3, 4)] == [0, 2, 0, 2]
    assert rec.calendar == []  # not asked for


# -- the command line (both stores) ------------------------------------------------------

@pytest.fixture
def loaded(cli: Any) -> Any:
    r = cli("load", str(HISTORY))
    assert r.exit_code == 0, r.output
    return cli


def test_cli_holder_lists_series_wide_events_with_their_effect(loaded):
    rep = loaded.json("history", "--holder", BIRCH)
    rows = {r["id"]: r for r in rep["events"]}
    assert "nstor-0006" in rows and "nstor-missed-G-2001-07-10" in rows
    assert {k: rows["nstor-0006"]["effects"][0][k] for k in (
        "series", "holder", "figure", "before", "after", "change")} == {
        "series": "G", "holder": BIRCH, "figure": "arrears", "before": "10333.33",
        "after": str(D("10333.33") - BIRCH_0410_PAID), "change": str(-BIRCH_0410_PAID)}
    r = loaded("history", "--holder", BIRCH, "--to", "2001-04-10")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "↳ effect" in text and "G arrears −9,620.69" in text
    assert "G missed_streak 0 → 1 (end of day)" in text


def test_cli_with_dues(loaded):
    rep = loaded.json("history", "--holder", BIRCH, "--with-dues", "--to", "2001-04-10")
    assert rep["filters"]["with_dues"] is True
    assert [(c["date"], c["phase"], [(e["figure"], e["change"]) for e in c["effects"]])
            for c in rep["calendar"]] == [("2001-04-10", "start_of_day",
                                           [("arrears", "10333.33")])]
    r = loaded("history", "--holder", BIRCH, "--with-dues", "--to", "2001-04-10")
    text = " ".join(r.stdout.split())
    assert "1 calendar entr(ies)" in text and "G arrears +10,333.33" in text
    # only for a holder or a series
    before = loaded.spec.content()
    r = loaded("history", "--with-dues")
    assert r.exit_code == 2 and "--with-dues needs --holder or --series" in r.stderr
    assert loaded.spec.content() == before


def test_cli_series_common(loaded):
    rows = loaded.json("history", "--series", "common")["events"]
    assert [(r["id"], [e["change"] for e in r["effects"]]) for r in rows] == [
        ("nstor-0002", ["30000000"]), ("nstor-0027", ["1000000"]), ("nstor-0028", []),
        ("nstor-0029", ["43478260"]), ("nstor-0031", ["698202"])]


def test_cli_id(loaded):
    rep = loaded.json("history", "--id", "nstor-0013")
    assert rep["filters"]["id"] == "nstor-0013"
    assert [(e["holder"], e["figure"], e["change"]) for e in rep["events"][0]["effects"]] == [
        (BIRCH, "shares", "-100"), (BIRCH, "accrued_unpaid", "-1836.11"),
        (CEDAR, "shares", "100"), (CEDAR, "accrued_unpaid", "1836.11")]
    r = loaded("history", "--id", "nstor-0013")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "effects: 4 figure(s) changed" in text
    assert "│ G │ Birch Family Trust │ accrued_unpaid │ 8,603.70 │ 6,767.59 │ −1,836.11 │" in text
    r = loaded("history", "--id", "nope")
    assert r.exit_code == 2 and "--id 'nope'" in r.stderr
