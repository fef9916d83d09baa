"""Projections that feed reporting, maintained incrementally from the
notification log with exactly-once tracking, and ``rebuild`` == incremental.

Expected figures are worked by hand from the events written in this file (``G_HISTORY``)
or cross-checked against the independent §9 position report (``replay`` as of a date).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.events import parse_object
from ledger.replay import replay
from ledger.state import Record
from projections.feed import export
from projections.feed.projector import Projector, tracked_position
from projections.position import position
from projections.tables import TABLES, at, project_issuer
from tests.conftest import HISTORY, StoreSpec, write_jsonl

D = Decimal
day = dt.date.fromisoformat

# -- a small history whose figures are worked by hand below ------------------------------
G_HISTORY: list[dict[str, Any]] = [
    {"id": "g1", "type": "SeriesDesignated", "effective_date": "2000-12-28", "series": "G",
     "terms_ref": "nstor/G"},
    {"id": "c0", "type": "CommonStockIssued", "effective_date": "2000-12-28",
     "shares": "30000000", "kind": "opening"},
    {"id": "g2", "type": "SharesIssued", "effective_date": "2000-12-28", "series": "G",
     "holder": "Alder", "shares": "600", "price_per_share": "1000"},
    {"id": "g3", "type": "SharesIssued", "effective_date": "2000-12-28", "series": "G",
     "holder": "Birch", "shares": "400", "price_per_share": "1000"},
    {"id": "g4", "type": "SharesIssued", "effective_date": "2001-02-15", "series": "G",
     "holder": "Cedar", "shares": "500", "price_per_share": "1000"},
    {"id": "g5", "type": "DividendPaid", "effective_date": "2001-04-10", "series": "G",
     "amount": "30000.00"},
    {"id": "h1", "type": "SeriesDesignated", "effective_date": "2001-04-12", "series": "H",
     "terms_ref": "nstor/H"},
    {"id": "h2", "type": "SharesIssued", "effective_date": "2001-04-20", "series": "H",
     "holder": "Dogwood", "shares": "2000", "price_per_share": "1000"},
    {"id": "g6", "type": "DividendPaid", "effective_date": "2001-07-10", "series": "G",
     "amount": "35000.00"},
    {"id": "g7", "type": "SharesTransferred", "effective_date": "2001-09-01", "series": "G",
     "from_holder": "Birch", "to_holder": "Cedar", "shares": "100"},
    {"id": "g8", "type": "SharesTransferred", "effective_date": "2002-03-01", "series": "G",
     "from_holder": "Alder", "to_holder": "Elm", "shares": "200"},
    {"id": "g9", "type": "DividendPaid", "effective_date": "2002-10-10", "series": "G",
     "amount": "150000.00"},
    {"id": "c1", "type": "CommonStockIssued", "effective_date": "2003-04-15",
     "shares": "1000000", "kind": "sale", "price_per_share": "0.50"},
    {"id": "h3", "type": "SharesConverted", "effective_date": "2004-03-15", "series": "H",
     "holder": "Dogwood", "shares": "300"},
]


def records_of(events: list[dict[str, Any]]) -> list[Record]:
    out = []
    for n, obj in enumerate(events, start=1):
        ev = parse_object(obj)
        assert not isinstance(ev, list), ev
        out.append(Record(ev, n, n, "2026-01-01T00:00:00+00:00", f"h{n}"))
    return out


def fixture_events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()]


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, ordered: what 'the same tables' means."""
    con = sqlite3.connect(path)
    try:
        out = {}
        for t in TABLES:
            n = len(con.execute(f'SELECT * FROM "{t}" LIMIT 0').description)
            order = ", ".join(str(k) for k in range(1, n + 1))
            out[t] = con.execute(f'SELECT * FROM "{t}" ORDER BY {order}').fetchall()
        return out
    finally:
        con.close()


# -- the pure projection, by hand -------------------------------------------------------

@pytest.fixture(scope="module")
def g_rows() -> dict[str, list[dict[str, Any]]]:
    return project_issuer("default", records_of(G_HISTORY), day("2004-12-31"))


def test_positions_are_effective_date_intervals(g_rows):
    pos = {(r["series"], r["holder"], r["valid_from"]): (r["shares"], r["valid_to"])
           for r in g_rows["positions"]}
    # Birch: 400 from issue until the 2001-09-01 transfer of 100 to Cedar, then 300
    assert pos[("G", "Birch", day("2000-12-28"))] == (D(400), day("2001-09-01"))
    assert pos[("G", "Birch", day("2001-09-01"))] == (D(300), None)
    # Cedar: 500 from 2001-02-15, 600 from the transfer on
    assert pos[("G", "Cedar", day("2001-02-15"))] == (D(500), day("2001-09-01"))
    assert pos[("G", "Cedar", day("2001-09-01"))] == (D(600), None)
    # Alder: 600 until 2002-03-01, then 400; Elm 200 from then
    assert pos[("G", "Alder", day("2000-12-28"))] == (D(600), day("2002-03-01"))
    assert pos[("G", "Alder", day("2002-03-01"))] == (D(400), None)
    assert pos[("G", "Elm", day("2002-03-01"))] == (D(200), None)
    # Dogwood: 2000 H until converting 300 on 2004-03-15
    assert pos[("H", "Dogwood", day("2001-04-20"))] == (D(2000), day("2004-03-15"))
    assert pos[("H", "Dogwood", day("2004-03-15"))] == (D(1700), None)
    # common by holder (SPEC.md §13): the unattributed opening 30,000,000, with the
    # 1,000,000 sold on 2003-04-15; Dogwood's common from its conversion,
    # floor(300 × 1,402.716054…) = 420,814 (H's rate after the sale's adjustment)
    assert pos[("common", "unattributed", day("2000-12-28"))] == (D(30_000_000),
                                                                 day("2003-04-15"))
    assert pos[("common", "unattributed", day("2003-04-15"))] == (D(31_000_000), None)
    assert pos[("common", "Dogwood", day("2004-03-15"))] == (D(420_814), None)
    assert len(pos) == 9 + 3
    # as of a date: valid_from <= D < valid_to
    assert {(r["holder"], r["shares"]) for r in at(g_rows["positions"], day("2001-08-31"),
                                                   series="G")} == {
        ("Alder", D(600)), ("Birch", D(400)), ("Cedar", D(500))}


def test_dividend_periods_by_hand(g_rows):
    per = {(r["series"], r["payment_date"]): r for r in g_rows["dividend_periods"]}
    first = per[("G", day("2001-04-10"))]
    # first period: designation 2000-12-28 to 2001-04-01 (first_payment_date 2001-04-10);
    # 30/360 days: 360*1 + 30*(4-12) + (1-28) = 93; Cedar from 2001-02-15: 60 + (1-15) = 46
    alder = D(600) * 1000 * D("0.10") * 93 / 360             # 15500.00
    birch = (D(400) * 1000 * D("0.10") * 93 / 360).quantize(D("0.01"))   # 10333.33
    cedar = (D(500) * 1000 * D("0.10") * 46 / 360).quantize(D("0.01"))   # 6388.89
    assert first["period_start"] == day("2000-12-28")
    assert first["period_end"] == day("2001-04-01")
    assert first["due"] == alder + birch + cedar == D("32222.22")
    assert first["rate"] == D("0.10")
    # 30000 paid on the day: missed; the 35000 of 2001-07-10 pays the 2222.22 left first
    assert first["missed"] is True
    assert first["status"] == "paid late"
    assert first["paid_in_full_on"] == day("2001-07-10")
    second = per[("G", day("2001-07-10"))]
    # 1500 shares x 1000 x 10% x 90/360 = 37500; 35000 - 2222.22 = 32777.78 paid on it then,
    # and the rest from the 150000 of 2002-10-10
    assert second["due"] == D(1500) * 1000 * D("0.10") * 90 / 360 == D("37500")
    assert second["paid_in_full_on"] == day("2002-10-10")
    third = per[("G", day("2001-10-10"))]
    # two misses in a row (2001-04-10, 2001-07-10): 11% from 2001-07-11 (Series G §2(b));
    # rate-days 0.10*10 + 0.11*80 = 9.8: 600 -> 16333.33, Birch 300 -> 8166.67, Cedar 600
    assert third["rate"] == D("0.10") and third["rate_end"] == D("0.11")
    assert third["due"] == (D("16333.33") + D("8166.67") + D("16333.33"))
    # 2002-10-10: 150000 pays 2002-07-10 in part only; later periods unpaid
    july02 = per[("G", day("2002-07-10"))]
    assert july02["status"] == "partly paid"
    assert per[("G", day("2004-10-10"))]["status"] == "unpaid"
    # the open period at 'through' (2004-12-31): accruing, no amount yet
    last = per[("G", day("2005-01-10"))]
    assert last["status"] == "accruing" and last["due"] is None
    dues = {(r["holder"], r["due_date"]): r for r in g_rows["dividend_dues"] if r["series"] == "G"}
    assert dues[("Birch", day("2001-04-10"))]["amount"] == birch
    assert dues[("Cedar", day("2001-04-10"))]["paid"] == cedar


def test_rate_and_conversion_rate_history(g_rows):
    g = [(r["valid_from"], r["rate"], r["valid_to"]) for r in g_rows["rate_history"]
         if r["series"] == "G"]
    # +1% per two consecutive misses, from the day after (2001-07-11, 2002-01-11, ...)
    assert g[0] == (day("2000-12-28"), D("0.10"), day("2001-07-11"))
    assert g[1] == (day("2001-07-11"), D("0.11"), day("2002-01-11"))
    assert g[2][:2] == (day("2002-01-11"), D("0.12"))
    h = [r for r in g_rows["conversion_rates"] if r["series"] == "H"]
    assert h[0]["rate"] == D("1388.89") and h[0]["cause"] == "designation"
    # sale of 1,000,000 common at $0.50 < $0.72: x (A + C) / (A + B),
    # A = 30,000,000, C = 1,000,000, B = 500,000 / 0.72
    with localcontext() as c:
        c.prec = 40
        factor = D(31_000_000) / (D(30_000_000) + D(500_000) / D("0.72"))
        expected = D("1388.89") * factor
    assert h[1]["effective_date"] == day("2003-04-15")
    assert h[1]["a"] == D(30_000_000) and h[1]["c"] == D(1_000_000)
    assert abs(h[1]["rate"] - expected) < D("1e-30")
    assert h[0]["valid_to"] == day("2003-04-15") and h[1]["valid_to"] is None


def test_activity_and_balances(g_rows):
    act = g_rows["activity"]
    conv = [r for r in act if r["kind"] == "converted"]
    assert len(conv) == 1
    c = conv[0]
    # 300 of 2000 shares carried at 1000 each leave the series: 300,000
    assert (c["shares"], c["carrying_amount"]) == (D(-300), D(-300000))
    # accrual not yet due of the 300 converted shares becomes payable (SPEC.md §5):
    # H periods start 03-10: 2004-03-10 .. 2004-03-15 = 5 days; 300 x 1000 x 10% x 5/360
    assert c["dividends_payable"] == (D(300) * 1000 * D("0.10") * 5 / 360).quantize(D("0.01"))
    rate = [r for r in g_rows["conversion_rates"] if r["series"] == "H"][-1]["rate"]
    assert c["common_issued"] == int(300 * rate)
    bal = at(g_rows["series_balances"], day("2004-03-15"), series="H")[0]
    assert bal["outstanding"] == 1700 and bal["carrying_amount"] == D(1_700_000)
    assert bal["dividends_payable"] == D("416.67")
    g_paid = [r for r in act if r["kind"] == "dividend_paid" and r["series"] == "G"]
    assert sum(r["dividends_paid"] for r in g_paid) == D("30000") + D("35000") + D("150000")
    common = [(r["valid_from"], r["outstanding"]) for r in g_rows["common_stock"]]
    assert common[:2] == [(day("2000-12-28"), D(30_000_000)), (day("2003-04-15"), D(31_000_000))]
    assert common[2] == (day("2004-03-15"), D(31_000_000) + c["common_issued"])


def test_events_table_marks_reversals():
    evs = G_HISTORY[:5] + [
        {"id": "x1", "type": "SharesTransferred", "effective_date": "2001-03-01",
         "series": "G", "from_holder": "Alder", "to_holder": "Birch", "shares": "50"},
        {"id": "x2", "type": "EventReversed", "effective_date": "2001-03-05",
         "target_id": "x1", "reason": "keyed twice"},
    ]
    rows = project_issuer("default", records_of(evs))
    status = {r["event_id"]: (r["status"], r["reversed_by"], r["target_seq"])
              for r in rows["events"]}
    assert status["x1"] == ("reversed", 7, None)
    assert status["x2"] == ("applied", None, 6)
    # the reversed transfer moves nothing
    assert {r["holder"]: r["shares"] for r in rows["positions"]} == {
        "Alder": D(600), "Birch": D(400), "Cedar": D(500), "unattributed": D(30_000_000)}


def _cross_check(issuer: str, recs: list[Record], rows: dict[str, list[dict[str, Any]]],
                 days: list[dt.date]) -> None:
    """Projection rows as of each day == the §9 position report replayed to that day."""
    for d in days:
        st_, _ = replay(issuer, recs, d)
        rep = position(st_, d)
        for s in rep["series"]:
            (b,) = at(rows["series_balances"], d, series=s["series"])
            assert b["outstanding"] == D(s["outstanding"]), (d, s)
            assert b["dividends_payable"] == D(s["dividends_payable"]), (d, s)
            if s["arrears"] is not None:
                assert b["arrears"] == D(s["arrears"]), (d, s)
                assert b["missed_streak"] == s["missed_streak"], (d, s)
            if s["dividend_rate"] is not None:
                assert b["dividend_rate"] == D(s["dividend_rate"]), (d, s)
            if s["conversion_rate"] is not None:
                assert b["conversion_rate"] == D(s["conversion_rate"]), (d, s)
        # common by holder too (SPEC.md §13): the tables name the null holder
        held = {(h["holder"] if h["holder"] is not None else "unattributed", h["series"]):
                D(h["shares"]) for h in rep["holders"] if D(h["shares"])}
        assert {(p["holder"], p["series"]): p["shares"] for p in at(rows["positions"], d)} == \
            held, d
        common = at(rows["common_stock"], d)
        assert (common[0]["outstanding"] if common else 0) == D(rep["common_outstanding"]), d


def test_projection_matches_the_position_report_on_the_fixture():
    recs = records_of(fixture_events())
    rows = project_issuer("default", recs)
    first = min(r.event.effective_date for r in recs)
    last = max(r.event.effective_date for r in recs)
    # every event date, every payment date and the day after, and every 11th day
    days = {r.event.effective_date for r in recs}
    days |= {p["payment_date"] for p in rows["dividend_periods"] if p["payment_date"] <= last}
    days |= {d + dt.timedelta(days=1) for d in days}
    days |= {first + dt.timedelta(days=k) for k in range(0, (last - first).days, 11)}
    _cross_check("default", recs, rows, sorted(d for d in days if d <= last))


# -- random histories ---------------------------------------------------------------------

HOLDERS = ["ann", "bob"]
BASE: list[dict[str, Any]] = [
    {"type": "SeriesDesignated", "effective_date": "2000-12-28", "series": "G",
     "terms_ref": "nstor/G"},
    {"type": "CommonStockIssued", "effective_date": "2000-12-28", "shares": "1000000",
     "kind": "opening"},
    {"type": "SeriesDesignated", "effective_date": "2001-04-12", "series": "H",
     "terms_ref": "nstor/H"},
    {"type": "SeriesDesignated", "effective_date": "2001-11-19", "series": "K",
     "terms_ref": "nstor/K"},
    {"type": "SharesIssued", "effective_date": "2001-01-02", "series": "G", "holder": "ann",
     "shares": "300"},
    {"type": "SharesIssued", "effective_date": "2001-05-01", "series": "H", "holder": "bob",
     "shares": "400"},
    {"type": "SharesIssued", "effective_date": "2001-05-01", "series": "H", "holder": "ann",
     "shares": "200"},
]
START = day("2001-01-02")
SPAN = (day("2004-12-31") - START).days


def _date(k: int) -> str:
    return (START + dt.timedelta(days=k)).isoformat()


@st.composite
def action(draw: Any) -> list[dict[str, Any]]:
    """One load's worth of events (all or nothing), valid or not: issuances early,
    everything else later, so most transfers, payments and conversions find shares."""
    kind = draw(st.sampled_from(["issue"] * 4 + ["transfer"] * 3 + ["pay"] * 3
                                + ["convert"] * 2 + ["redeem"] * 2
                                + ["common", "split", "approve", "reverse"]
                                + ["liquidate"] * (1 if draw(st.integers(0, 3)) == 0 else 0)))
    k = draw(st.integers(0, SPAN // 2) if kind == "issue" else st.integers(SPAN // 4, SPAN))
    h = draw(st.sampled_from(HOLDERS))
    series = draw(st.sampled_from(["G", "H", "H", "K"] if kind == "issue" else ["G", "H"]))
    if series == "K":
        k = max(k, 330)  # K is designated on 2001-11-19
    when = _date(k)
    if kind == "issue":
        return [{"type": "SharesIssued", "effective_date": when, "series": series, "holder": h,
                 "shares": draw(st.sampled_from(["100", "200", "250"])),
                 "price_per_share": draw(st.sampled_from(["1000", "950"]))}]
    if kind == "transfer":
        to = draw(st.sampled_from([x for x in HOLDERS if x != h]))
        return [{"type": "SharesTransferred", "effective_date": when, "series": series,
                 "from_holder": h, "to_holder": to,
                 "shares": draw(st.sampled_from(["25", "50", "100"]))}]
    if kind == "pay":
        e = {"type": "DividendPaid", "effective_date": when, "series": series,
             "amount": draw(st.sampled_from(["100.00", "500.00", "2500.00", "10000.00"]))}
        if draw(st.booleans()):
            e["holder"] = h
        return [e]
    if kind == "convert":
        return [{"type": "SharesConverted", "effective_date": when, "series": "H",
                 "holder": h, "shares": draw(st.sampled_from(["100", "200"]))}]
    if kind == "redeem":
        n = draw(st.sampled_from(["50", "100"]))
        later = k + draw(st.integers(30, 45))
        return [{"type": "RedemptionNoticed", "effective_date": when, "series": series,
                 "redemption_date": _date(k + 30), "holders": {h: n}},
                {"type": "SharesRedeemed", "effective_date": _date(later), "series": series,
                 "holder": h, "shares": n}]
    if kind == "common":
        return [{"type": "CommonStockIssued", "effective_date": when, "shares": "100000",
                 "kind": "sale", "price_per_share": draw(st.sampled_from(["0.50", "1.00"]))}]
    if kind == "split":
        return [{"type": "CommonStockSplit", "effective_date": when, "ratio": "2"}]
    if kind == "approve":
        return [{"type": "ShareholderApproval", "effective_date": when,
                 "matters": ["series_k_conversion"]}]
    if kind == "reverse":
        return [{"type": "EventReversed", "effective_date": when,
                 "target_id": f"e{draw(st.integers(4, 20))}", "reason": "correction"}]
    return [{"type": "Liquidation", "effective_date": _date(SPAN - draw(st.integers(0, 200))),
             "proceeds": draw(st.sampled_from(["300000.00", "5000000.00"]))}]


def build(actions: list[list[dict[str, Any]]]) -> tuple[list[list[dict[str, Any]]], list[Record]]:
    """Keep the loads the ledger would accept (whole timeline replayed, SPEC.md §1)."""
    groups: list[list[dict[str, Any]]] = []
    recs: list[Record] = []
    n = 0
    for evs in [[dict(e) for e in BASE], *actions]:
        objs = []
        for e in evs:
            objs.append({**e, "id": f"e{n}"})
            n += 1
        new = records_of(objs)
        new = [Record(r.event, len(recs) + i + 1, i + 1) for i, r in enumerate(new)]
        _, problems = replay("default", recs + new)
        if not problems:
            recs += new
            groups.append(objs)
    return groups, recs


histories = st.lists(action(), min_size=4, max_size=18).map(build)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_projection_matches_position_report_on_random_histories(hist):
    _, recs = hist
    rows = project_issuer("default", recs)
    end = rows["issuers"][0]["through"]
    days = sorted({r.event.effective_date for r in recs if r.event.effective_date <= end}
                  | {p["payment_date"] for p in rows["dividend_periods"]
                     if p["payment_date"] <= end}
                  | {end})
    _cross_check("default", recs, rows, days)
    # shares activity adds up to the positions at the end (per holder and series)
    for (s, h) in {(p["series"], p["holder"]) for p in rows["positions"]}:
        moved = sum((a["shares"] for a in rows["activity"]
                     if a["series"] == s and a["holder"] == h), D(0))
        now = sum((p["shares"] for p in at(rows["positions"], end, series=s, holder=h)), D(0))
        assert moved == now


# -- the incremental projector against the store -------------------------------------------

def _load(spec: StoreSpec, tmp: Path, events: list[dict[str, Any]], name: str) -> None:
    with spec.open() as lg:
        res = lg.load_file(write_jsonl(tmp / f"{name}.jsonl", events))
    assert res.appended == len(events)


def test_rebuild_equals_incremental_on_the_fixture(store, tmp_path):
    events = fixture_events()
    inc, reb = tmp_path / "inc.db", tmp_path / "reb.db"
    cuts = [0, 7, 20, 21, len(events)]
    with store.open() as lg:
        for a, b in zip(cuts, cuts[1:], strict=False):
            lg.load_file(write_jsonl(tmp_path / f"part{a}.jsonl", events[a:b]))
            s = Projector(lg, inc).catch_up()
            assert s.events == b - a
            assert s.issuers == ["default"]
        again = Projector(lg, inc).catch_up()
        assert (again.notifications, again.events, again.issuers) == (0, 0, [])
        Projector(lg, reb).rebuild()
        top = lg.store.app.recorder.max_notification_id()
    assert dump(inc) == dump(reb)
    assert tracked_position(inc) == tracked_position(reb) == top
    # the log as loaded: one row per event, recorded order
    assert len(dump(inc)["events"]) == len(events)


def test_incremental_recomputes_only_the_touched_issuer(store, tmp_path, monkeypatch):
    import projections.feed.projector as pj

    other = [{**e, "issuer": "acme", "id": f"acme-{e['id']}"} for e in G_HISTORY[:5]]
    _load(store, tmp_path, G_HISTORY + other, "both")
    report = tmp_path / "r.db"
    with store.open() as lg:
        first = Projector(lg, report).catch_up()
        assert first.issuers == ["acme", "default"]
        before = dump(report)
        seen: list[str] = []
        real = pj.project  # the tables' replay (the figure steps follow the same one)

        def spy(issuer, *a, **k):
            seen.append(issuer)
            return real(issuer, *a, **k)

        monkeypatch.setattr(pj, "project", spy)
        # a back-dated transfer for acme only: its earlier intervals change
        lg.load_lines([json.dumps({"id": "acme-t", "issuer": "acme", "type": "SharesTransferred",
                                   "effective_date": "2001-01-15", "series": "G",
                                   "from_holder": "Alder", "to_holder": "Birch",
                                   "shares": "100"})])
        step = Projector(lg, report).catch_up()
    assert seen == ["acme"] and step.issuers == ["acme"] and step.events == 1
    after = dump(report)
    mine = {t: [r for r in after[t] if "default" in r] for t in after}
    assert mine == {t: [r for r in before[t] if "default" in r] for t in before}
    pos = {(r[3], r[5]): (r[6], r[7]) for r in after["positions"] if r[0] == "acme"}
    # Alder 600 from 2000-12-28 now ends at the back-dated transfer: 500 from 2001-01-15
    assert pos[("Alder", "2000-12-28")] == ("2001-01-15", 600.0)
    assert pos[("Alder", "2001-01-15")] == (None, 500.0)
    assert pos[("Birch", "2001-01-15")] == (None, 500.0)


def test_a_crash_mid_transaction_leaves_the_previous_state(store, tmp_path, monkeypatch):
    _load(store, tmp_path, G_HISTORY[:6], "a")
    report = tmp_path / "r.db"
    with store.open() as lg:
        Projector(lg, report).catch_up()
        before, pos = dump(report), tracked_position(report)
        lg.load_lines([json.dumps(e) for e in G_HISTORY[6:]])

        def boom(*a, **k):
            raise RuntimeError("power cut after the rows, before the position")

        monkeypatch.setattr(export, "set_position", boom)
        with pytest.raises(RuntimeError):
            Projector(lg, report).catch_up()
        # rows and position are one transaction: neither moved
        assert dump(report) == before and tracked_position(report) == pos
        monkeypatch.undo()
        s = Projector(lg, report).catch_up()
        assert s.events == len(G_HISTORY) - 6
        Projector(lg, tmp_path / "reb.db").rebuild()
    assert dump(report) == dump(tmp_path / "reb.db")


def test_changed_settings_rebuild_the_reporting_database(sqlite_store, tmp_path):
    _load(sqlite_store, tmp_path, G_HISTORY, "g")
    report = tmp_path / "r.db"
    with sqlite_store.open() as lg:
        Projector(lg, report).catch_up()
        s = Projector(lg, report, through=day("2002-12-31")).catch_up()
        assert s.rebuilt and s.reason == "settings changed: through"
        assert s.events == len(G_HISTORY)
    rows = dump(report)
    # G's last period is the one open at 2002-12-31: payment date 2003-01-10
    assert max(r[5] for r in rows["dividend_periods"] if r[1] == "G") == "2003-01-10"
    assert rows["issuers"][0][6] == "2002-12-31"
    other = tmp_path / "other.db"
    _load(StoreSpec("sqlite", db=str(other)), tmp_path, G_HISTORY[:3], "o")
    with StoreSpec("sqlite", db=str(other)).open() as lg:
        s = Projector(lg, report, through=day("2002-12-31")).catch_up()
    assert s.rebuilt and "source" in (s.reason or "")
    assert len(dump(report)["events"]) == 3


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(histories, st.lists(st.integers(0, 20), min_size=1, max_size=4))
def test_rebuild_equals_incremental_on_random_histories(hist, cuts):
    groups, _ = hist
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        spec = StoreSpec("sqlite", db=str(tmpd / "ledger.db"))
        cut_at = {c % len(groups) for c in cuts}
        with spec.open() as lg:
            for i, g in enumerate(groups):
                lg.load_lines([json.dumps(e) for e in g])
                if i in cut_at:
                    Projector(lg, tmpd / "inc.db").catch_up()
            Projector(lg, tmpd / "inc.db").catch_up()
            Projector(lg, tmpd / "reb.db").rebuild()
        assert dump(tmpd / "inc.db") == dump(tmpd / "reb.db")


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(histories, st.integers(1, 6))
def test_streamed_rebuild_equals_rows_held_in_memory(hist, spill):
    """A rebuild hands the big tables to the database in batches of ``SPILL`` rows
    (bounded memory at a million events): with tiny batches the tables are the same as
    with every row held until the end (activity lines numbered the same, closed and open
    positions both written)."""
    import projections.tables as tables

    groups, _ = hist
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        with StoreSpec("sqlite", db=str(tmpd / "ledger.db")).open() as lg:
            for g in groups:
                lg.load_lines([json.dumps(e) for e in g])
            held = tables.SPILL
            try:
                tables.SPILL = spill
                Projector(lg, tmpd / "small.db").rebuild()
            finally:
                tables.SPILL = held
            Projector(lg, tmpd / "whole.db").rebuild()
            whole = {t: rows for t, rows in project_issuer(
                "default", lg.records("default"), None, lg.resolve).items()}
        small = dump(tmpd / "small.db")
        assert small == dump(tmpd / "whole.db")
        assert len(small["activity"]) == len(whole["activity"])
        lines = sorted(r[1] for r in small["activity"])
        assert lines == list(range(1, len(lines) + 1))
