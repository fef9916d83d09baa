"""Replay hooks (``ledger.replay.ReplayHooks``): what a subscriber is told, and when, as
the calendar runs (SPEC.md §11 Days and order: start of day, the day's events in
recorded order, end of day). The expected calendar is read off the Series G terms
by hand: designated 2000-12-28, periods start 01-01, 04-01, 07-01, 10-01, first
payment date 2001-04-10."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.replay import Replayer, ReplayHooks, replay
from ledger.state import Record, SeriesState
from tests.test_dividends import designate, issue, records, transfer

d = dt.date.fromisoformat


class Log(ReplayHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.figures: dict[str, Any] = {}

    def replay_started(self, rp: Replayer, timeline: Sequence[Record]) -> None:
        self.calls.append(("replay_started", [r.seq for r in timeline]))

    def day_started(self, rp: Replayer, day: dt.date, boundaries: list[SeriesState],
                    payments: list[SeriesState]) -> None:
        self.calls.append(("day_started", day, [s.name for s in boundaries],
                           [s.name for s in payments]))
        if payments:
            self.figures["due on payment date"] = payments[0].unpaid()

    def event_applying(self, rp: Replayer, rec: Record) -> None:
        self.calls.append(("event_applying", rec.seq))

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        self.calls.append(("event_applied", rec.seq, accepted))

    def day_ending(self, rp: Replayer, day: dt.date) -> None:
        self.calls.append(("day_ending", day))
        if day == d("2001-04-10"):
            self.figures["streak before the end of day"] = rp.state.series["G"].missed_streak

    def day_ended(self, rp: Replayer, day: dt.date) -> None:
        self.calls.append(("day_ended", day))
        if day == d("2001-04-10"):
            self.figures["streak after the end of day"] = rp.state.series["G"].missed_streak


HISTORY = [
    designate("G"),                                 # seq 1, 2000-12-28
    issue("G", "A", 1000, "2000-12-28"),            # seq 2
    transfer("G", "A", "B", 5000, "2001-02-15"),    # seq 3: A holds 1,000, rejected
    transfer("G", "A", "B", 100, "2001-02-15"),     # seq 4
    issue("G", "A", 10, "2001-06-01"),              # seq 5: after as_of
]


def test_hooks_follow_the_calendar_day_by_day() -> None:
    log = Log()
    _, problems = replay("default", records(HISTORY), d("2001-04-15"), hooks=[log])
    assert [p.field for p in problems] == ["shares"]  # the 5,000-share transfer

    def day(t: str, boundaries: list[str] = [], payments: list[str] = [],  # noqa: B006
            events: list[tuple[int, bool]] = []) -> list[tuple[Any, ...]]:  # noqa: B006
        out: list[tuple[Any, ...]] = [("day_started", d(t), boundaries, payments)]
        for seq, ok in events:
            out += [("event_applying", seq), ("event_applied", seq, ok)]
        return out + [("day_ending", d(t)), ("day_ended", d(t))]

    assert log.calls == [
        ("replay_started", [1, 2, 3, 4]),  # the 2001-06-01 issuance is after as_of
        *day("2000-12-28", events=[(1, True), (2, True)]),
        *day("2001-01-01", boundaries=["G"]),  # a period starts; no event
        *day("2001-02-15", events=[(3, False), (4, True)]),
        *day("2001-04-01", boundaries=["G"]),
        *day("2001-04-10", payments=["G"]),  # the first payment date falls due
        *day("2001-04-15"),  # as_of
    ]
    # due on 2001-04-10, 30/360: 2000-12-28 -> 2001-01-01 is 3 days, 01-01 -> 04-01 is
    # 90 days: 93 days; B took the 100 shares' accrual not yet due with them:
    # A 900 sh x $1,000 x 10% x 93/360 = 23,250.00; B 100 sh x ... = 2,583.33
    assert log.figures["due on payment date"] == Decimal("25833.33")
    # nothing paid: 2001-04-10 is missed at its end of day, not before
    assert log.figures["streak before the end of day"] == 0
    assert log.figures["streak after the end of day"] == 1


def test_a_resumed_replay_ends_the_start_day_without_starting_it() -> None:
    recs = records(HISTORY)
    rp = Replayer("default")  # a checkpoint's state: 2000-12-28's events, its end not run
    for rec in recs[:2]:
        rp.apply(rec)
    log = Log()
    replay("default", recs[3:4], d("2001-02-15"), start=rp.state, hooks=[log])
    assert log.calls == [
        ("replay_started", [4]),
        ("day_ending", d("2000-12-28")), ("day_ended", d("2000-12-28")),
        ("day_started", d("2001-01-01"), ["G"], []),
        ("day_ending", d("2001-01-01")), ("day_ended", d("2001-01-01")),
        ("day_started", d("2001-02-15"), [], []),
        ("event_applying", 4), ("event_applied", 4, True),
        ("day_ending", d("2001-02-15")), ("day_ended", d("2001-02-15")),
    ]


def test_every_event_after_a_liquidation_still_has_its_day() -> None:
    evs = HISTORY[:2] + [
        {"type": "Liquidation", "effective_date": "2001-02-01", "proceeds": "5"},  # seq 3
        issue("G", "A", 10, "2001-02-05"),  # seq 4: rejected, no event after a Liquidation
    ]
    log = Log()
    _, problems = replay("default", records(evs), None, hooks=[log])
    assert [(p.field, "liquidated" in p.message) for p in problems] == [("effective_date", True)]
    assert ("day_started", d("2001-02-05"), [], []) in log.calls
    assert log.calls[-4:] == [("event_applying", 4), ("event_applied", 4, False),
                              ("day_ending", d("2001-02-05")), ("day_ended", d("2001-02-05"))]
