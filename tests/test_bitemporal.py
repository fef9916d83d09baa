"""Bitemporal answers. ``position --as-of D --as-recorded T`` says what the
ledger said at T about date D (SPEC.md §1): it equals the answer of a ledger holding only
the events recorded up to T. ``recorded_at`` comes from an injected clock.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from tests.ledgers import book
from tests.test_audit import designate, ev, issue, lines

T1, T2, T3 = "2026-01-05T09:00:00Z", "2026-02-10T09:00:00Z", "2026-03-15T09:00:00Z"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def clock_from(stamps: list[str]) -> Any:
    it = iter(stamps)
    return lambda: next(it)


HISTORY_LOAD = [designate("G", "2000-12-28", id="g"),
                issue("G", "Ann", "600", "2001-01-02", id="i1"),
                issue("G", "Bob", "400", "2001-01-02", id="i2")]
CORRECTION = [ev("EventReversed", "2001-03-01", target_id="i2",
                 reason="entered under the wrong holder", id="r1"),
              issue("G", "Cy", "300", "2001-01-02", id="i3")]
BACK_DATED = [issue("G", "Dee", "100", "2001-02-01", id="i4")]  # before r1 (2001-03-01)
LOADS = [(T1, HISTORY_LOAD), (T2, CORRECTION), (T3, BACK_DATED)]


def shares(rep: dict[str, Any]) -> dict[str, str]:
    return {h["holder"]: h["shares"] for h in rep["holders"]}


def series_g(rep: dict[str, Any]) -> dict[str, Any]:
    [g] = [s for s in rep["series"] if s["series"] == "G"]
    return g


def without_as_recorded(rep: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rep.items() if k != "as_recorded"}


def prefix(k: int) -> list[dict[str, Any]]:
    """The events of the first k loads of LOADS: what a ledger held once they were made."""
    return [e for _, events in LOADS[:k] for e in events]


def test_correction_and_back_dated_issuance_by_hand():
    """The answer after each load (pure core). G accrues 10% of $1,000 a year, 30/360; as
    of 2001-03-31 accrual runs to 04-01 and nothing is due yet (first payment date
    2001-04-10), so accrued_unpaid is the open period's accrual, rounded per holder:
      600 sh from 01-02: 600 x 1000 x 0.10 x 89/360 = 14833.33  (days360 = 90 + 1 - 2)
      400 sh from 01-02: 40000 x 89/360 = 9888.89
      300 sh from 01-02: 30000 x 89/360 = 7416.67
      100 sh from 02-01: 10000 x 60/360 = 1666.67               (days360 = 60)"""
    # after T1: the history as first entered
    a1 = book(prefix(1)).position("2001-03-31")
    assert shares(a1) == {"Ann": "600", "Bob": "400"}
    assert (series_g(a1)["outstanding"], series_g(a1)["issued_total"]) == ("1000", "1000")
    assert {h["holder"]: h["accrued_unpaid"] for h in a1["holders"]} == {
        "Ann": "14833.33", "Bob": "9888.89"}
    assert series_g(a1)["accrued_unpaid"] == "24722.22"  # 14833.33 + 9888.89
    # after T2: Bob's issuance reversed, Cy's recorded instead
    a2 = book(prefix(2)).position("2001-03-31")
    assert shares(a2) == {"Ann": "600", "Cy": "300"}
    assert (series_g(a2)["outstanding"], series_g(a2)["issued_total"]) == ("900", "900")
    assert series_g(a2)["accrued_unpaid"] == "22250.00"  # 14833.33 + 7416.67
    # after T3: Dee's back-dated 100 shares count from 2001-02-01
    a3 = book(prefix(3)).position("2001-03-31")
    assert shares(a3) == {"Ann": "600", "Cy": "300", "Dee": "100"}
    assert series_g(a3)["accrued_unpaid"] == "23916.67"  # 22250.00 + 1666.67
    # valid time still applies: as of 2001-01-31 Dee holds nothing yet
    assert shares(book(prefix(3)).position("2001-01-31")) == {"Ann": "600", "Cy": "300"}


def test_history_correction_and_back_dated_issuance(store):
    """As recorded at each T, the ledger says what a ledger of only the loads recorded up
    to T says (their figures: test_correction_and_back_dated_issuance_by_hand)."""
    day = dt.date(2001, 3, 31)
    with store.open(clock=clock_from([t for t, _ in LOADS])) as lg:
        answers: dict[str, dict[str, Any]] = {}
        for t, events in LOADS:
            before = lg.position(day, as_recorded=at(t) - dt.timedelta(seconds=1))
            lg.load_lines(lines(events))
            # recording more never changes what the ledger said before
            assert lg.position(day, as_recorded=at(t) - dt.timedelta(seconds=1)) == before
            answers[t] = lg.position(day, as_recorded=at(t))
            assert answers[t]["as_recorded"] == at(t).isoformat()
        # before anything was recorded: an empty ledger
        empty = lg.position(day, as_recorded=at("2026-01-01T00:00:00Z"))
        assert empty["series"] == [] and empty["holders"] == []
        # at each T: the answer of the loads up to T (T1: Ann 600 / Bob 400; T2: Bob
        # reversed, Cy 300; T3: Dee's back-dated 100 too)
        for k, (t, _) in enumerate(LOADS, start=1):
            assert without_as_recorded(answers[t]) == without_as_recorded(
                book(prefix(k)).position(day)), t
        assert shares(answers[T3]) == {"Ann": "600", "Cy": "300", "Dee": "100"}
        assert without_as_recorded(lg.position(day)) == without_as_recorded(answers[T3])
        # between recordings the answer is the earlier one
        mid = lg.position(day, as_recorded=at("2026-02-01T00:00:00Z"))
        assert without_as_recorded(mid) == without_as_recorded(answers[T1])
        # valid time still applies: as of 2001-01-31 Dee holds nothing yet
        assert shares(lg.position(dt.date(2001, 1, 31), as_recorded=at(T3))) == {
            "Ann": "600", "Cy": "300"}
        # the audit trail as recorded at each time
        assert [r["id"] for r in lg.history(as_recorded=at(T1))] == ["g", "i1", "i2"]
        assert [(r["id"], r["reversed"]) for r in lg.history(as_recorded=at(T2))] == [
            ("g", False), ("i1", False), ("i2", True), ("r1", False), ("i3", False)]
        assert [r["recorded_at"] for r in lg.history()] == [T1] * 3 + [T2] * 2 + [T3]


def test_cli_as_recorded_forms(cli, store):
    with store.open(clock=clock_from([t for t, _ in LOADS])) as lg:
        for _, events in LOADS:
            lg.load_lines(lines(events))
    for form in ("2026-02-10T09:00:00Z", "2026-02-10T09:00:00+00:00", "2026-02-10T09:00:00",
                 "2026-02-10T10:00:00+01:00"):
        rep = cli.json("position", "--as-of", "2001-03-31", "--as-recorded", form)
        assert rep["as_recorded"] == "2026-02-10T09:00:00+00:00"
        assert shares(rep) == {"Ann": "600", "Cy": "300"}
    r = cli("position", "--as-of", "2001-03-31", "--as-recorded", "2026-02-10T08:59:59Z")
    assert r.exit_code == 0 and "Bob" in r.stdout and "Cy" not in r.stdout
    assert "as recorded 2026-02-10T08:59:59+00:00" in " ".join(r.stdout.split())
    hist = cli.json("history", "--as-recorded", T1)
    assert [e["id"] for e in hist["events"]] == ["g", "i1", "i2"]
    assert hist["as_recorded"] == "2026-01-05T09:00:00+00:00"
    r = cli("position", "--as-of", "2001-03-31", "--as-recorded", "last week")
    assert r.exit_code == 2 and "--as-recorded" in r.stderr


def test_recorded_time_never_decreases_along_a_stream(ledger_clock_back):
    """If the clock steps back, a load is stamped with the stream's latest recorded time, so
    'recorded up to T' is always a prefix of the log (SPEC.md §1)."""
    lg = ledger_clock_back
    lg.load_lines(lines(HISTORY_LOAD))                  # clock: 10:00
    lg.load_lines(lines(BACK_DATED))                    # clock: 09:00 (stepped back)
    stamps = [r["recorded_at"] for r in lg.history()]
    assert stamps == ["2026-05-01T10:00:00Z"] * 4
    early = lg.position(dt.date(2001, 3, 31), as_recorded=at("2026-05-01T09:30:00Z"))
    assert early["holders"] == []  # nothing was in the ledger at 09:30
    # another issuer's stream has its own clock history
    lg.load_lines(lines([designate("G", "2000-12-28", issuer="acme")]))  # clock: 08:00
    assert [r["recorded_at"] for r in lg.history("acme")] == ["2026-05-01T08:00:00Z"]


@pytest.fixture
def ledger_clock_back(tmp_path: Path) -> Any:
    lg = Ledger.open(str(tmp_path / "c.db"), clock=clock_from(
        ["2026-05-01T10:00:00Z", "2026-05-01T09:00:00Z", "2026-05-01T08:00:00Z"]))
    yield lg
    lg.close()


# -- property: as recorded at T == a ledger of only the events recorded up to T ---------------

HOLDERS = ["A", "B", "C"]
DATES = st.dates(min_value=dt.date(2001, 5, 1), max_value=dt.date(2002, 12, 31))
BASE = [designate("G", "2000-12-28"), designate("H", "2001-04-12"),
        ev("CommonStockIssued", "2001-01-01", shares="1000000", kind="opening"),
        issue("G", "A", "500", "2001-01-02"), issue("H", "B", "1000", "2001-05-01")]


def _hundreds(lo: int, hi: int) -> Any:
    return st.integers(lo, hi).map(lambda n: str(100 * n))


_ISSUE = st.builds(lambda s, h, n, d: issue(s, h, n, d.isoformat()),
                   st.sampled_from(["G", "H"]), st.sampled_from(HOLDERS), _hundreds(1, 4),
                   DATES)
# the base holds A's 500 G and B's 1,000 H: transfers and conversions mostly start there
_FROM = st.sampled_from([("G", "A"), ("H", "B"), ("G", "A"), ("H", "B"), ("G", "C"), ("H", "A")])
EVENT = st.one_of(
    _ISSUE,
    _ISSUE,
    st.builds(lambda sf, k, n, d: ev("SharesTransferred", d.isoformat(), series=sf[0],
                                     from_holder=sf[1], shares=n,
                                     to_holder=[h for h in HOLDERS if h != sf[1]][k]),
              _FROM, st.integers(0, 1), _hundreds(1, 3), DATES),
    st.builds(lambda h, n, d: ev("SharesConverted", d.isoformat(), series="H", holder=h,
                                 shares=n),
              st.sampled_from(["B", "B", "A", "C"]), _hundreds(1, 3), DATES),
    st.builds(lambda k, d: ev("EventReversed", d.isoformat(), target_id=f"#{k}",
                              reason="correction"), st.integers(0, 40), DATES),
    st.builds(lambda s, n, d: ev("BalanceAsserted", d.isoformat(), series=s, shares=n),
              st.sampled_from(["G", "H"]), _hundreds(5, 15), DATES),
)


def _number(loads: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Give every event an id e<n>; a reversal targets an earlier id (``#k``: the k-th,
    modulo, of the base issuances b3, b4 and the events before it)."""
    out, ids = [], ["b3", "b4"]
    for load in loads:
        batch = []
        for e in load:
            e = dict(e, id=f"e{len(ids) - 2}")
            if e["type"] == "EventReversed":
                e["target_id"] = ids[int(e["target_id"][1:]) % len(ids)]
            batch.append(e)
            ids.append(e["id"])
        out.append(batch)
    return out


def _stamp(k: int) -> str:
    return (dt.datetime(2026, 6, 1, tzinfo=dt.UTC) + dt.timedelta(hours=k)).isoformat()


def _records(lg: Ledger, t: dt.datetime | None = None) -> list[tuple[Any, ...]]:
    return [(r.event.to_json(), r.seq, r.recorded_at, r.hash) for r in lg.records("default", t)]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(loads=st.lists(st.lists(EVENT, min_size=1, max_size=2), min_size=1, max_size=7),
       days=st.lists(DATES, min_size=1, max_size=2))
def test_as_recorded_equals_a_ledger_of_the_events_recorded_up_to_t(loads, days):
    """Record a random sequence of loads (some rejected, some back-dated, some reversing
    earlier events), one hour apart; then for every T (at each recording and half an hour
    after it, and before the first) the as-recorded answers (records, history with hashes,
    positions) equal those of a fresh ledger that only ever saw the loads recorded up to T."""
    batches = [[dict(e, id=f"b{i}") for i, e in enumerate(BASE)], *_number(loads)]
    checks = [dt.date(2001, 6, 30), dt.date(2002, 12, 31), *days]
    with tempfile.TemporaryDirectory() as tmp:
        now = [""]
        accepted: list[tuple[str, list[dict[str, Any]]]] = []
        with Ledger.open(str(Path(tmp) / "main.db"), clock=lambda: now[0]) as main:
            for k, batch in enumerate(batches):
                now[0] = _stamp(k)
                try:
                    main.load_lines(lines(batch))
                except Exception as exc:  # rejected loads store nothing
                    assert type(exc).__name__ == "LedgerError"
                    continue
                accepted.append((now[0], batch))
            event(f"loads accepted: {len(accepted) - 1} of {len(batches) - 1}")
            event(f"reversals accepted: "
                  f"{sum(e['type'] == 'EventReversed' for _, b in accepted for e in b) > 0}")
            stamps = [at(s) for s, _ in accepted]
            moments = [stamps[0] - dt.timedelta(minutes=1)] + [
                t + d for t in stamps for d in (dt.timedelta(0), dt.timedelta(minutes=30))]
            with Ledger.open(str(Path(tmp) / "fresh.db"), clock=lambda: now[0]) as fresh:
                fed = 0
                for t in moments:
                    while fed < len(accepted) and at(accepted[fed][0]) <= t:
                        now[0] = accepted[fed][0]
                        res = fresh.load_lines(lines(accepted[fed][1]))
                        assert res.appended == len(accepted[fed][1])
                        fed += 1
                    assert _records(main, t) == _records(fresh)
                    assert main.history(as_recorded=t) == fresh.history()
                    for d in checks:
                        assert without_as_recorded(main.position(d, as_recorded=t)) == \
                            without_as_recorded(fresh.position(d))
            # the base load always holds, so the last answer is today's answer
            assert accepted and accepted[0][1][0]["id"] == "b0"
            assert json.dumps(main.history()) == json.dumps(main.history(as_recorded=stamps[-1]))
