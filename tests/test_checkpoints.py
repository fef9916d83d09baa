"""Checkpoints (``ledger.store.checkpoints``) change the cost of ``position``, never its answer:
every report from a checkpoint equals the report of a full replay, including after
back-dated events and reversals are loaded."""

from __future__ import annotations

import datetime as dt
import json
import random
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from benchmarks import generate
from ledger.api import Ledger
from ledger.store import checkpoints
from projections.position import position
from tests.conftest import StoreSpec


def _full(lg: Ledger, day: dt.date, issuer: str) -> dict:
    return position(lg.state(day, issuer), day)


def _days(path: Path) -> tuple[dt.date, dt.date]:
    dates = [json.loads(x)["effective_date"] for x in path.read_text().splitlines()]
    return dt.date.fromisoformat(min(dates)), dt.date.fromisoformat(max(dates))


def test_positions_from_checkpoints_equal_full_replays(store: StoreSpec, tmp_path: Path) -> None:
    path = generate.write(tmp_path / "h.jsonl", 700, seed=11)
    first, last = _days(path)
    rng = random.Random(1)
    with store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None and side.count(generate.PROBE) > 2  # taken during the load
        days = [first, last, last + dt.timedelta(days=40)]
        days += [first + dt.timedelta(days=rng.randint(0, (last - first).days))
                 for _ in range(12)]
        for day in days:
            assert lg.position(day, generate.PROBE) == _full(lg, day, generate.PROBE), day
            # the checkpoint path was taken (a state exists on or before every later day)
        mid = first + (last - first) / 2
        assert lg.checkpoints.state_as_of(generate.PROBE, mid) is not None


def test_back_dated_events_and_reversals_keep_answers_right(store: StoreSpec,
                                                            tmp_path: Path) -> None:
    path = generate.write(tmp_path / "h.jsonl", 700, seed=12)
    first, last = _days(path)
    mid = first + (last - first) / 2
    with store.open() as lg:
        lg.load_file(path)
        before = lg.position(last, generate.PROBE)
        # a back-dated option exercise early in the history (exempt from anti-dilution,
        # so every later event still validates; the generator asserts no common balance)
        extra = {"id": "late-1", "type": "CommonStockIssued", "issuer": generate.PROBE,
                 "effective_date": (first + dt.timedelta(days=3)).isoformat(),
                 "shares": "12345", "kind": "option_exercise", "price_per_share": "0.10"}
        lg.load_lines([json.dumps(extra)])
        for day in (mid, last):
            got = lg.position(day, generate.PROBE)
            assert got == _full(lg, day, generate.PROBE)
        # more common outstanding (not exactly 12,345 more: later conversions and
        # anti-dilution factors see the larger A, SPEC.md §6)
        assert Decimal(got["common_outstanding"]) > Decimal(before["common_outstanding"])
        # reversing it restores the earlier answer, through the checkpoint path as well
        lg.load_lines([json.dumps({"type": "EventReversed", "issuer": generate.PROBE,
                                   "effective_date": last.isoformat(), "target_id": "late-1",
                                   "reason": "entered in error"})])
        after = lg.position(last, generate.PROBE)
        assert after == _full(lg, last, generate.PROBE)
        assert after == before


def test_stale_checkpoints_are_not_trusted(sqlite_store: StoreSpec, tmp_path: Path) -> None:
    """A checkpoint older than an event recorded after it with an earlier date (as if
    the side table had not been updated) is ignored with a warning, the answer is still
    right, and the issuer's checkpoints are rebuilt (the next query does not warn)."""
    path = generate.write(tmp_path / "h.jsonl", 500, seed=13)
    first, last = _days(path)
    with sqlite_store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None
        saved = side._connect().execute(f"SELECT * FROM {checkpoints.TABLE}").fetchall()
        before = lg.position(last, generate.PROBE)
        g = {"id": "late-2", "type": "CommonStockIssued", "issuer": generate.PROBE,
             "effective_date": (first + dt.timedelta(days=5)).isoformat(), "shares": "300",
             "kind": "option_exercise", "price_per_share": "0.10"}
        lg.load_lines([json.dumps(g)])
        c = side._connect()
        c.execute(f"DELETE FROM {checkpoints.TABLE}")
        c.executemany(f"INSERT INTO {checkpoints.TABLE} VALUES "
                      f"({', '.join('?' * len(checkpoints.COLUMNS))})", saved)
        with pytest.warns(checkpoints.CheckpointWarning, match="it is stale"):
            got = lg.position(last, generate.PROBE)
        assert got == _full(lg, last, generate.PROBE)
        assert Decimal(got["common_outstanding"]) > Decimal(before["common_outstanding"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # rebuilt: no stale checkpoint left
            assert lg.checkpoints.state_as_of(generate.PROBE, last) is not None


def test_rebuild_replaces_checkpoints(sqlite_store: StoreSpec, tmp_path: Path) -> None:
    path = generate.write(tmp_path / "h.jsonl", 500, seed=14)
    _, last = _days(path)
    with sqlite_store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None
        side._connect().execute(f"DELETE FROM {checkpoints.TABLE}")
        assert lg.checkpoints.rebuild() == 500
        assert side.count(generate.PROBE) > 0
        assert lg.position(last, generate.PROBE) == _full(lg, last, generate.PROBE)


def test_a_checkpoint_is_plain_data():
    """A checkpoint is JSON (zlib-compressed), never a pickle: the bytes of a pickled
    object graph naming ``os.system`` are refused as malformed, and nothing runs."""
    import os
    import pickle
    import zlib

    from ledger.state import IssuerState
    from ledger.store.checkpoints import CheckpointError, freeze, thaw

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(CheckpointError, match="malformed"):
        thaw(zlib.compress(pickle.dumps((Evil(), {}, frozenset()))))
    blob = freeze(IssuerState("x"), {}, frozenset({"a"}))
    assert json.loads(zlib.decompress(blob))["data"][0][0] == "x"  # the issuer, as text
    st, des, rev = thaw(blob)
    assert st == IssuerState("x") and des == {} and rev == frozenset({"a"})


def _common_history() -> list[dict]:
    """Ten years of monthly events on common by holder and cancellations (SPEC.md §13):
    named issuances, transfers, cancellations of common and of preferred, so that the
    checkpoints taken during the load hold common holdings and cancelled totals."""
    evs: list[dict] = [
        {"type": "SeriesDesignated", "effective_date": "2010-01-01", "series": "P",
         "terms": {"series": "P", "designated": "2010-01-01", "authorized_shares": "100000",
                   "dividend_rate": "0.08", "period_starts": ["01-01", "04-01", "07-01",
                                                              "10-01"]}},
        {"type": "CommonStockIssued", "effective_date": "2010-01-01", "shares": "1000000",
         "kind": "opening"}]
    for k in range(120):
        d = dt.date(2010 + k // 12, k % 12 + 1, 15).isoformat()
        who = ["Ann", "Bob", "Cy"][k % 3]
        evs += [
            {"type": "CommonStockIssued", "effective_date": d, "shares": str(100 + k),
             "kind": "sale", "price_per_share": "1", "holder": who},
            {"type": "SharesIssued", "effective_date": d, "series": "P", "holder": who,
             "shares": "10"},
            {"type": "SharesTransferred", "effective_date": d, "series": "common",
             "from_holder": who, "to_holder": "Dee", "shares": "7"},
            {"type": "SharesCancelled", "effective_date": d, "series": "common",
             "holder": "Dee", "shares": "3", "reason": "forfeiture"},
            {"type": "SharesCancelled", "effective_date": d, "series": "P", "holder": who,
             "shares": "1", "reason": "repurchase"}]
    return evs


def test_checkpoints_keep_common_by_holder_and_cancellations(store: StoreSpec,
                                                              tmp_path: Path) -> None:
    """A state frozen into a checkpoint and thawed has the same common by holder,
    cancelled totals and position; a position read through the checkpoints equals a
    full replay."""
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in _common_history()))
    with store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None and side.count("default") > 2
        for day in (dt.date(2012, 6, 30), dt.date(2015, 3, 31), dt.date(2019, 12, 31)):
            full = lg.state(day, "default")
            st2, _, _ = checkpoints.thaw(checkpoints.freeze(full, {}, frozenset()))
            assert st2.common == full.common and st2.common
            assert st2.common_outstanding == full.common_outstanding
            assert st2.common_cancelled_total == full.common_cancelled_total > 0
            assert st2.series["P"].cancelled_total == full.series["P"].cancelled_total > 0
            assert st2.cancellations == []  # a history list, left out (see the module)
            assert position(st2, day) == position(full, day)
            assert lg.position(day, "default") == _full(lg, day, "default"), day
            assert lg.checkpoints.state_as_of("default", day) is not None



def test_the_general_terms_examples_from_checkpoints_equal_full_replays(
        store: StoreSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated histories carry the shipped examples of the general terms (paid in
    kind, compounding, participation, weighted-average anti-dilution, conversion on an
    offering, redemption): with a checkpoint every few events, every answer from a
    checkpoint is the full replay's, on every day an event of theirs falls and after."""
    monkeypatch.setattr(checkpoints, "MIN_GAP", 3)
    monkeypatch.setattr(checkpoints, "MAX_GAP", 6)
    monkeypatch.setattr(checkpoints, "STATE_PER_EVENT", 10**9)
    path = generate.write(tmp_path / "h.jsonl", 600, seed=15)
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    examples = sorted({r["issuer"] for r in rows} - {generate.PROBE})
    assert [x.split("-")[0] for x in examples] == ["mezzanine", "venture"]
    with store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None
        for issuer in examples:
            assert side.count(issuer) > 2
            days = sorted({dt.date.fromisoformat(r["effective_date"]) for r in rows
                           if r["issuer"] == issuer})
            for day in [*days, days[-1] + dt.timedelta(days=400)]:
                assert lg.position(day, issuer) == _full(lg, day, issuer), (issuer, day)


@pytest.fixture
def before_the_first(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each position before an issuer's first checkpoint was answered from it
    (``Checkpoints._before_the_first``; ``False``: the whole log)."""
    used: list[bool] = []
    real = checkpoints.Checkpoints._before_the_first

    def spy(self: Any, issuer: str, as_of: dt.date) -> Any:
        got = real(self, issuer, as_of)
        used.append(got is not None)
        return got

    monkeypatch.setattr(checkpoints.Checkpoints, "_before_the_first", spy)
    return used


def test_a_day_before_the_first_checkpoint_reads_only_what_it_can_need(
        store: StoreSpec, tmp_path: Path, before_the_first: list[bool]) -> None:
    """Before an issuer's first checkpoint, a position replays from the start only the
    events up to that checkpoint's ``hi`` and those recorded after it: the full replay's
    answer, on every day up to it, after a back-dated event recorded later (read), and
    after a later reversal (the whole log then)."""
    path = generate.write(tmp_path / "h.jsonl", 700, seed=16)
    first, last = _days(path)
    with store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None
        cp = side.first_after(generate.PROBE, first - dt.timedelta(days=1))
        assert cp is not None and cp.hi < lg.store.version(generate.PROBE)  # a bounded read
        days = [first + dt.timedelta(days=k) for k in range(0, (cp.day - first).days, 3)]
        for day in [first - dt.timedelta(days=1), *days]:
            assert lg.position(day, generate.PROBE) == _full(lg, day, generate.PROBE), day
        assert before_the_first and all(before_the_first)
        # a back-dated option exercise, recorded after the checkpoint: read, and counted
        extra = {"id": "early-1", "type": "CommonStockIssued", "issuer": generate.PROBE,
                 "effective_date": (first + dt.timedelta(days=2)).isoformat(),
                 "shares": "777", "kind": "option_exercise", "price_per_share": "0.10"}
        lg.load_lines([json.dumps(extra)])
        for day in days:
            assert lg.position(day, generate.PROBE) == _full(lg, day, generate.PROBE), day
        # a reversal recorded later: its targets are not in the checkpoint, the whole log
        lg.load_lines([json.dumps({"type": "EventReversed", "issuer": generate.PROBE,
                                   "effective_date": last.isoformat(),
                                   "target_id": "early-1", "reason": "entered in error"})])
        for day in days[-3:]:
            assert lg.position(day, generate.PROBE) == _full(lg, day, generate.PROBE), day


def test_before_the_first_checkpoint_with_events_recorded_after_it(
        sqlite_store: StoreSpec, tmp_path: Path, before_the_first: list[bool]) -> None:
    """A first checkpoint built from fewer events than the stream holds (its side table
    as it was before a load): the events recorded after it are read, so a back-dated one
    counts; a reversal recorded after it sends the query to the whole log."""
    path = generate.write(tmp_path / "h.jsonl", 700, seed=17)
    first, last = _days(path)
    with sqlite_store.open() as lg:
        lg.load_file(path)
        side = lg.checkpoints.side
        assert side is not None
        c = side._connect()
        saved = c.execute(f"SELECT * FROM {checkpoints.TABLE}").fetchall()
        cp = side.first_after(generate.PROBE, first - dt.timedelta(days=1))
        assert cp is not None
        day = first + (cp.day - first) / 2

        def restore() -> None:
            c.execute(f"DELETE FROM {checkpoints.TABLE}")
            c.executemany(f"INSERT INTO {checkpoints.TABLE} VALUES "
                          f"({', '.join('?' * len(checkpoints.COLUMNS))})", saved)

        before = lg.position(day, generate.PROBE)
        extra = {"id": "early-2", "type": "CommonStockIssued", "issuer": generate.PROBE,
                 "effective_date": first.isoformat(), "shares": "999",
                 "kind": "option_exercise", "price_per_share": "0.10"}
        lg.load_lines([json.dumps(extra)])
        restore()
        before_the_first.clear()
        got = lg.position(day, generate.PROBE)
        assert before_the_first == [True] and got == _full(lg, day, generate.PROBE)
        assert Decimal(got["common_outstanding"]) == \
            Decimal(before["common_outstanding"]) + 999
        lg.load_lines([json.dumps({"type": "EventReversed", "issuer": generate.PROBE,
                                   "effective_date": last.isoformat(),
                                   "target_id": "early-2", "reason": "entered in error"})])
        restore()
        before_the_first.clear()
        got = lg.position(day, generate.PROBE)
        assert before_the_first == [False] and got == _full(lg, day, generate.PROBE) == before
