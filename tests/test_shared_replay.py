"""One replay for the projection tables and ``figure_steps`` (``projections.tables.project``
with the explain ``Follower`` as a second subscriber; issue 20, performance).

The two subscribers only read the state (``ReplayHooks``): each amount-due watch keeps a
log of its own in the series' ``DueBook`` (``projections.dues.DueWatch``), so neither
takes the other's changes. The rows of one shared replay equal those of a replay each.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from benchmarks import generate
from ledger.events import parse_object
from ledger.replay import Replayer, ReplayHooks, replay
from ledger.state import Record
from ledger.terms import load_terms_ref
from projections.dues import Change, DueWatch
from projections.explain import Follower
from projections.feed import export
from projections.feed.projector import Projector, open_report
from projections.tables import project, project_issuer
from tests.conftest import HISTORY, StoreSpec
from tests.test_projections import histories, records_of


def _fixture() -> list[Record]:
    return records_of([json.loads(x) for x in HISTORY.read_text().splitlines() if x.strip()])


def _generated(events: int, seed: int) -> dict[str, list[Record]]:
    """The benchmark's history (general terms among its series), by issuer."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in itertools.islice(generate.generate(events, seed), events):
        e = dict(e)
        by[e.pop("issuer", "default")].append(e)
    out = {}
    for issuer, evs in by.items():
        recs = []
        for n, obj in enumerate(evs, start=1):
            ev = parse_object(obj)
            assert not isinstance(ev, list), ev
            recs.append(Record(ev, n, n, "2026-01-01T00:00:00+00:00", f"h{n}"))
        out[issuer] = recs
    return out


class _Watching(ReplayHooks):
    """A reader of every series' dues: what its own watch saw, at every look."""

    def __init__(self) -> None:
        self.watch: dict[str, DueWatch] = {}
        self.seen: list[tuple[str, str, list[Change]]] = []

    def _look(self, rp: Replayer, when: str) -> None:
        for name, s in rp.state.series.items():
            got = self.watch.setdefault(name, DueWatch()).look(s)
            if got:
                self.seen.append((when, name, got))

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        self._look(rp, f"event {rec.seq}")

    def day_ended(self, rp: Replayer, day: dt.date) -> None:
        self._look(rp, f"end {day}")


def _seen(recs: list[Record], n: int) -> list[list[tuple[str, str, list[Change]]]]:
    watchers = [_Watching() for _ in range(n)]
    replay("default", recs, hooks=watchers)
    return [w.seen for w in watchers]


def test_due_watches_of_one_series_each_see_every_change() -> None:
    """Two watches of the same series in one replay see what one alone sees (before,
    the book kept one log and the first watch to look took the other's changes)."""
    recs = _generated(3000, 7)
    for issuer_recs in [_fixture(), *recs.values()]:
        [alone] = _seen(issuer_recs, 1)
        assert alone, "the history has amounts due"
        first, second = _seen(issuer_recs, 2)
        assert first == alone
        assert second == alone


def _both_ways(issuer: str, recs: list[Record], through: dt.date | None) -> None:
    f = Follower()
    rows, st, end = project(issuer, recs, through, hooks=(f,))
    assert rows == project_issuer(issuer, recs, through)
    as_of = export.steps_day(recs, through)
    assert as_of is not None and end == as_of
    shared = list(export.figure_steps_of(issuer, st, f, as_of))
    own = list(export.figure_steps_rows(issuer, recs, through, load_terms_ref))
    assert shared == own
    kind = list(export.STEPS_COLUMNS).index("kind")
    assert shared and not [r for r in shared if r[kind] == "unexplained"]


def test_one_replay_gives_the_rows_of_a_replay_each() -> None:
    """The tables and every figure step, from one replay followed by both, equal those
    of the tables' own replay and the explain follower's own (fixture, general terms)."""
    _both_ways("default", _fixture(), None)
    _both_ways("default", _fixture(), dt.date(2003, 12, 31))
    for issuer, recs in _generated(3000, 3).items():
        _both_ways(issuer, recs, None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_one_replay_gives_the_rows_of_a_replay_each_on_random_histories(hist) -> None:
    _, recs = hist
    _both_ways("default", recs, None)


def _steps(path: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(f'SELECT * FROM "{export.STEPS}" ORDER BY issuer, line').fetchall()
    finally:
        con.close()


def test_a_reversed_last_event_still_gives_the_steps_of_its_day(tmp_path: Path) -> None:
    """When the last effective date is a reversed event's, the tables end at the
    timeline's last day and the steps at that date (``steps_day``): the projector then
    follows a replay of their own, and writes the same steps as ever."""
    lines = [
        {"id": "g", "type": "SeriesDesignated", "effective_date": "2000-12-28",
         "series": "G", "terms_ref": "nstor/G"},
        {"id": "i1", "type": "SharesIssued", "effective_date": "2001-01-02", "series": "G",
         "holder": "ann", "shares": "300"},
        {"id": "late", "type": "SharesIssued", "effective_date": "2002-06-01",
         "series": "G", "holder": "bob", "shares": "100"},
        {"id": "r", "type": "EventReversed", "effective_date": "2001-09-01",
         "target_id": "late", "reason": "entered in error"},
    ]
    spec = StoreSpec("sqlite", db=str(tmp_path / "ledger.db"))
    with spec.open() as lg:
        lg.load_lines([json.dumps(e) for e in lines])
        recs = lg.records("default")
        Projector(lg, tmp_path / "report.db").rebuild()
        own = open_report(tmp_path / "own.db")
        export.ensure_schema(own)
        export.insert_steps(own, export.figure_steps_rows("default", recs, None, lg.resolve))
        own.conn.commit()
        own.close()
    assert export.steps_day(recs, None) == dt.date(2002, 6, 1)
    got = _steps(tmp_path / "report.db")
    assert got and got == _steps(tmp_path / "own.db")


def test_step_details_are_the_json_of_the_steps_fields() -> None:
    """``figure_steps.details`` written directly is the text ``json.dumps`` gives of the
    step's JSON fields (``Step.to_json`` less its own columns), for every kind of field:
    strings to escape, Decimals, dates, ints, nulls, and (through the dict) tuples,
    booleans, a name given twice and the names of columns."""
    from decimal import Decimal

    from projections.explain import Step
    from projections.feed.export import _details

    cases = [
        (),
        (("holder", 'Ann "the" \\ Ünïcode\u2028'), ("shares", Decimal("1.50")),
         ("from", dt.date(2001, 1, 2)), ("days", 90), ("rate", Decimal("-0")),
         ("form", None)),
        (("holder", None), ("ratio", Decimal("1E+3"))),
        (("holders", ("a", "b")), ("paid", Decimal(2))),
        (("cumulative", True), ("holder", "x")),
        (("holder", "a"), ("holder", "b")),
        (("kind", "x"), ("amount", Decimal(1)), ("holder", "c")),
    ]
    for fields in cases:
        data = Step("k", dt.date(2001, 1, 1), ("e",), Decimal(1), fields).to_json()
        want = {k: v for k, v in data.items()
                if k not in ("kind", "date", "event_ids", "amount")}
        assert _details(fields) == (want.get("holder"),
                                    json.dumps(want, ensure_ascii=False)), fields
