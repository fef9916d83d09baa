"""Helpers for the general-terms tests (SPEC.md §12 dividends, redemption and votes,
amendments): inline terms and events, replayed by the pure core.

Nothing here computes an expected figure: the tests write their figures by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ledger.events import parse_line
from ledger.problems import Problem
from ledger.replay import replay
from ledger.state import IssuerState, Record
from projections.position import position

d = dt.date.fromisoformat

#: a plain 8% cumulative quarterly series "P" designated 2024-01-01 (30/360, cash)
BASE_TERMS: dict[str, Any] = {
    "series": "P", "designated": "2024-01-01", "authorized_shares": "10000",
    "stated_value": "1000", "par_value": "0.01", "dividend_rate": "0.08",
    "period_starts": ["01-01", "04-01", "07-01", "10-01"],
}


def terms(**kw: Any) -> dict[str, Any]:
    """``BASE_TERMS`` with ``kw`` applied; a value of ``None`` removes the field."""
    out = {**BASE_TERMS, **kw}
    return {k: v for k, v in out.items() if v is not None}


def ev(type_: str, date: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "effective_date": date, **fields}


def designate(t: dict[str, Any] | None = None, date: str | None = None, **kw: Any
              ) -> dict[str, Any]:
    t = terms(**kw) if t is None else t
    return ev("SeriesDesignated", date or t["designated"], series=t["series"], terms=t)


def issue(holder: str, shares: str, date: str, series: str = "P") -> dict[str, Any]:
    return ev("SharesIssued", date, series=series, holder=holder, shares=shares)


def records(events: list[dict[str, Any] | str]) -> tuple[list[Record], list[Problem]]:
    """Each event parsed as line n of a file (``parse_line``), like ``prefledger load``."""
    recs: list[Record] = []
    problems: list[Problem] = []
    for n, e in enumerate(events, start=1):
        got = parse_line(e if isinstance(e, str) else json.dumps(e), n)
        if isinstance(got, list):
            problems.extend(got)
        elif got is not None:
            recs.append(Record(got, n, n))
    return recs, problems


def problems_of(events: list[dict[str, Any] | str]) -> list[Problem]:
    """What a load of ``events`` would report (parse problems, else the replay's)."""
    recs, problems = records(events)
    if problems:
        return problems
    for issuer in sorted({r.event.issuer for r in recs}):  # one stream per issuer
        problems += replay(issuer, [r for r in recs if r.event.issuer == issuer], None)[1]
    return problems


def state(events: list[dict[str, Any] | str], as_of: str) -> IssuerState:
    recs, problems = records(events)
    assert problems == [], problems
    st, found = replay("default", [r for r in recs if r.event.issuer == "default"], d(as_of))
    assert found == [], found
    return st


def pos(events: list[dict[str, Any] | str], as_of: str) -> dict[str, Any]:
    return position(state(events, as_of), d(as_of))


def row(rep: dict[str, Any], series: str = "P") -> dict[str, Any]:
    return next(s for s in rep["series"] if s["series"] == series)


def holder(rep: dict[str, Any], name: str, series: str = "P") -> dict[str, Any]:
    return next(h for h in rep["holders"] if h["holder"] == name and h["series"] == series)


def refused(events: list[dict[str, Any] | str], field: str, *words: str) -> Problem:
    """The one problem a load of ``events`` reports: it names ``field`` and ``words``."""
    found = problems_of(events)
    assert len(found) == 1, found
    p = found[0]
    assert p.field == field, p
    for w in words:
        assert w in p.message, (w, p)
    return p
