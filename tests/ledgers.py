"""Ledgers written inline in a test and answered by the pure core alone: no store, no
command line (in the spirit of Beancount's docstring ledgers).

A test writes its events as JSON Lines text, or as a list of dicts (or both), and asks
for the state, the problems or a report::

    G = '''
    {"type":"SeriesDesignated","effective_date":"2000-12-28","series":"G","terms_ref":"nstor/G"}
    {"type":"SharesIssued","effective_date":"2000-12-28","series":"G","holder":"Bo","shares":"1"}
    '''
    ANN = [ev("SharesIssued", "2001-02-15", series="G", holder="Ann", shares="100")]
    g = book(G, ANN).series("2001-04-10", "G")     # the G row of the §9 position report
    [p] = problems_of(ev("SharesIssued", ...), stored=G)   # a rejected "load"

How a book reads its input, like ``prefledger load`` reads a file:

- each line is parsed with ``ledger.events.parse_line`` and numbered like a file's lines
  (a dict is one line, its ``json.dumps``; a text's first newline, right after the
  opening quotes, is dropped so its first event is line 1; blank lines count);
- if any line does not parse, those problems are the book's problems and nothing is
  replayed, as a load reports them before validating the timeline;
- otherwise every issuer's records are replayed with ``ledger.replay.replay`` over the
  whole timeline, and its problems are the book's problems.

A book has a *stored* part (events already in the ledger: line 0, named as stored
events, the way a load names them) and a *new* part (the lines of the file being
loaded, numbered from 1). ``book(stored).load(new)`` is the ledger after a load that
must succeed (the new events become stored); ``book(stored).refused(new, field, ...)``
is a load that must be refused, naming the field; ``problems_of(new, stored=...)``
lists the problems. What only the load path does (ids already present, the blame a
back-dated event gets for a stored event it invalidates, exit code 2 and the ledger left
unchanged, on SQLite and PostgreSQL) is tested through ``prefledger load``
(``tests/conftest.py``'s ``cli.refuses``).

Queries take dates as ``YYYY-MM-DD`` strings (or dates) and return what the command
line would print as JSON: ``position`` (SPEC.md §9), ``waterfall``
(``Distribution.to_json()``), ``rates`` and ``conversions`` listings; ``check`` returns
the ``ledger.checks.Finding`` list. A query on a book with problems fails the test,
listing them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, Union

from ledger.checks import CheckFn, Finding, check
from ledger.conversion import listing
from ledger.dividends import rates_report
from ledger.events import Event, parse_line
from ledger.problems import Problem
from ledger.replay import replay
from ledger.state import IssuerState, Record
from ledger.waterfall import distribute
from projections.position import position

#: what a test may give as events: JSON Lines text, a file, one event as a dict, or a
#: list of dicts and lines (a line may be malformed on purpose)
Source = Union[str, Path, dict[str, Any], Iterable[str | dict[str, Any]], "Book"]
Day = str | dt.date


def day(d: Day) -> dt.date:
    return d if isinstance(d, dt.date) else dt.date.fromisoformat(d)


def lines_of(*sources: Source) -> list[str]:
    """The JSON Lines of ``sources``, in order, one string per line."""
    out: list[str] = []
    for src in sources:
        if isinstance(src, Book):
            out.extend(src.stored_lines + src.new_lines)
        elif isinstance(src, Path):
            out.extend(src.read_text(encoding="utf-8").split("\n"))
            if out and out[-1] == "":
                out.pop()
        elif isinstance(src, str):
            text = src[1:] if src.startswith("\n") else src
            out.extend(text.split("\n"))
            if out and not out[-1].strip():
                out.pop()  # the closing quotes' line
        elif isinstance(src, dict):
            out.append(json.dumps(src))
        else:
            out.extend(e if isinstance(e, str) else json.dumps(e) for e in src)
    return out


class Book:
    """An issuer's ledger held in memory: stored lines, then new lines (see the module
    docstring). Immutable: ``load`` returns a new book."""

    def __init__(self, *new: Source, stored: Source = (),
                 issuer: str = "default") -> None:
        self.stored_lines = lines_of(stored)
        self.new_lines = lines_of(*new)
        self.issuer = issuer

    # -- parsing and replay ----------------------------------------------------------------
    @cached_property
    def _parsed(self) -> tuple[list[Record], list[Problem]]:
        records: list[Record] = []
        problems: list[Problem] = []
        numbered = [(0, t) for t in self.stored_lines] + list(enumerate(self.new_lines, 1))
        for seq, (line, text) in enumerate(numbered, 1):
            got = parse_line(text, line)
            if isinstance(got, list):
                problems.extend(got)
            elif got is not None:
                records.append(Record(got, seq, line))
        return records, problems

    def records(self, issuer: str | None = None) -> list[Record]:
        """The records of ``issuer`` (default: the book's), in recorded order, for a test
        that replays them itself; every line must parse."""
        records, problems = self._parsed
        assert problems == [], problems
        who = self.issuer if issuer is None else issuer
        return [r for r in records if r.event.issuer == who]

    @property
    def events(self) -> list[Event]:
        return [r.event for r in self.records()]

    @cached_property
    def problems(self) -> list[Problem]:
        """Every problem, as a load of the new lines into the stored ones would find them:
        the lines that do not parse, else the whole timeline of every issuer replayed."""
        records, problems = self._parsed
        if problems:
            return problems
        found: list[Problem] = []
        for issuer in sorted({r.event.issuer for r in records}):
            found.extend(replay(issuer, [r for r in records if r.event.issuer == issuer],
                                None)[1])
        return found

    def state(self, as_of: Day | None = None, issuer: str | None = None) -> IssuerState:
        """The replayed state at the end of ``as_of`` (default: the last event's date)."""
        self.assert_valid()
        st, problems = replay(self.issuer if issuer is None else issuer,
                              self.records(issuer), None if as_of is None else day(as_of))
        assert problems == [], problems
        return st

    def assert_valid(self) -> None:
        if self.problems:
            raise AssertionError("the ledger has problems:\n"
                                 + "\n".join(str(p) for p in self.problems))

    # -- loads -------------------------------------------------------------------------------
    def load(self, *new: Source) -> Book:
        """The ledger after a load of ``new`` that must be accepted."""
        self.assert_valid()
        after = Book(*new, stored=self.stored_lines + self.new_lines, issuer=self.issuer)
        after.assert_valid()
        return Book(stored=after.stored_lines + after.new_lines, issuer=self.issuer)

    def problems_of(self, *new: Source) -> list[Problem]:
        """The problems of loading ``new`` into this ledger (which must have none)."""
        self.assert_valid()
        return Book(*new, stored=self.stored_lines + self.new_lines,
                    issuer=self.issuer).problems

    def refused(self, new: Source, field: str, *words: str, line: int = 1) -> Problem:
        """Loading ``new`` must be refused, the first problem naming ``line`` of the
        new lines (0: a stored event it invalidates), the event's type and ``field``, and
        saying each of ``words`` (in ``str(problem)``: "line N: Type id=x field F: ...")."""
        problems = self.problems_of(new)
        assert problems, f"accepted, expected a problem on {field}"
        p = problems[0]
        text = str(p)
        assert (p.line, p.field) == (line, field), text
        culprit = _culprit(lines_of(new), line) if line else None
        if culprit is not None:
            assert p.event.split()[0] == culprit, (culprit, text)
        for w in words:
            assert w in text, (w, text)
        return p

    # -- reports ---------------------------------------------------------------------------
    def position(self, as_of: Day, issuer: str | None = None) -> dict[str, Any]:
        """The §9 ``position`` report at the end of ``as_of`` (as ``position --json``)."""
        return position(self.state(as_of, issuer), day(as_of))

    def series(self, as_of: Day, name: str) -> dict[str, Any]:
        """One series' row of the position report."""
        return series_row(self.position(as_of), name)

    def holders(self, as_of: Day) -> dict[tuple[str, str], dict[str, Any]]:
        """The position's holder rows by (holder, series)."""
        return holder_rows(self.position(as_of))

    def waterfall(self, as_of: Day, proceeds: str | Decimal,
                  order: str | None = None) -> dict[str, Any]:
        """The what-if waterfall of ``proceeds`` at the end of ``as_of``; bad input raises
        ``ledger.problems.Rejected``."""
        return distribute(self.state(as_of), day(as_of), Decimal(proceeds), order).to_json()

    def rates(self, series: str, as_of: Day | None = None) -> dict[str, Any]:
        """The ``rates --series S`` report (default as of: the last effective date)."""
        return rates_report(self.state(as_of), series)

    def conversions(self, series: str, as_of: Day | None = None) -> dict[str, Any]:
        """The ``conversions --series S`` listing (default as of: the last effective date)."""
        return listing(self.state(as_of), series)

    def check(self, as_of: Day, checks: list[CheckFn] | None = None) -> list[Finding]:
        """The ``check --as-of D`` findings (every registered check unless ``checks``)."""
        return check(self.state(as_of), day(as_of), checks=checks)


class Refusal(NamedTuple):
    """A load the ledger must refuse: ``new`` loaded into a ledger holding ``stored``
    names ``line`` of ``new`` (0: a stored event), its event type and ``field``, and says
    each of ``words``. A module lists its refusals once; a test runs each on the core
    (``refuse``) and another runs them all through ``prefledger load`` on both stores
    (``cli.refuses_all``)."""

    stored: list[Any]
    new: list[Any]
    field: str
    words: tuple[str, ...] = ()
    line: int = 1


def refusal(stored: list[Any], new: list[Any], field: str, *words: str,
            line: int = 1) -> Refusal:
    return Refusal(stored, new, field, words, line)


def refuse(case: Refusal) -> Problem:
    """Run one refusal on the core."""
    return book(case.stored).refused(case.new, case.field, *case.words, line=case.line)


def by_stored(cases: list[Refusal]) -> list[list[Refusal]]:
    """The refusals grouped by the ledger they are loaded into (the same ``stored`` list),
    in order: one store per group for the load-path test."""
    groups: dict[int, list[Refusal]] = {}
    for c in cases:
        groups.setdefault(id(c.stored), []).append(c)
    return list(groups.values())


def _culprit(lines: list[str], line: int) -> str | None:
    """The event type written on ``line`` (1-based), if that line is a JSON object."""
    try:
        obj = json.loads(lines[line - 1])
    except (IndexError, ValueError):
        return None
    return obj.get("type") if isinstance(obj, dict) and isinstance(obj.get("type"), str) \
        else None


def book(*new: Source, stored: Source = (),
         issuer: str = "default") -> Book:
    """A ledger of ``new`` lines (numbered from 1) after ``stored`` ones (line 0)."""
    return Book(*new, stored=stored, issuer=issuer)


def problems_of(*new: Source, stored: Source = ()) -> list[Problem]:
    """The problems of loading ``new`` into a ledger holding ``stored``."""
    return Book(*new, stored=stored).problems


def state(*events: Source, as_of: Day | None = None) -> IssuerState:
    return Book(*events).state(as_of)


def series_row(rep: dict[str, Any], name: str) -> dict[str, Any]:
    [row] = [s for s in rep["series"] if s["series"] == name]
    return row


def holder_rows(rep: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(h["holder"], h["series"]): h for h in rep["holders"]}


def ev(type_: str, date: str, **fields: Any) -> dict[str, Any]:
    """One event as a dict: ``ev("SharesIssued", "2001-01-02", series="G", ...)``."""
    return {"type": type_, "effective_date": date, **fields}
