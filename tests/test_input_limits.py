"""Hostile input is refused fast, in bounded memory (README Guarantees): a longest line
read with a bounded ``readline``, at most so many fields per object, items per list and
levels of nesting, at most so many problems per line and per load, and at most 100
listed by the command line. The work is bounded by counting (problems made, bytes read),
with a generous time only as a sanity guard.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.api import MAX_PROBLEMS_KEPT
from ledger.events import (
    MAX_DEPTH,
    MAX_LINE_BYTES,
    MAX_LINE_PROBLEMS,
    MAX_MEMBERS,
    MAX_PERIOD_STARTS,
    parse_line,
)
from ledger.problems import LedgerError
from tests.conftest import Cli, StoreSpec
from tests.test_dividends import designate, issue

BASE = [designate("G"), issue("G", "Ann", 600, "2000-12-28")]
COMMON = {"type": "CommonStockIssued", "effective_date": "2001-06-01", "shares": "1",
          "kind": "opening"}


def padded(size: int) -> bytes:
    """A valid event line of exactly ``size`` bytes before its newline (JSON whitespace
    inside the object)."""
    body = json.dumps(COMMON)
    return (body[:-1] + " " * (size - len(body)) + "}").encode()


# -- 8. the longest line ----------------------------------------------------------------------

def test_a_line_of_the_limit_loads_one_byte_more_is_refused(cli: Cli, tmp_path: Path,
                                                            jsonl: Any) -> None:
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    ok = tmp_path / "ok.jsonl"
    ok.write_bytes(padded(MAX_LINE_BYTES) + b"\n")
    assert cli("load", str(ok)).stdout == "1 appended, 0 already present\n"
    long = tmp_path / "long.jsonl"
    long.write_bytes(json.dumps(COMMON).encode() + b"\n" + padded(MAX_LINE_BYTES + 1) + b"\n")
    before = cli.spec.content()
    r = cli("load", str(long))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr == (
        "rejected: 1 problem(s); nothing was stored\n"
        "  line 2: event: the line is longer than 1,048,576 bytes (the most one event may "
        "take); refused without reading the rest of the file\n")
    assert cli.spec.content() == before
    # the last line, without a line break, is measured the same way
    last = tmp_path / "last.jsonl"
    last.write_bytes(padded(MAX_LINE_BYTES + 1))
    assert "line 1: event: the line is longer" in cli("load", str(last)).stderr


def test_an_endless_line_is_refused_after_reading_about_the_limit(cli: Cli,
                                                                  tmp_path: Path) -> None:
    """A line that never ends (a writer on a named pipe sends bytes until the reader
    closes it): the load refuses it once it has read the limit, never holding it."""
    fifo = tmp_path / "endless.jsonl"
    os.mkfifo(fifo)
    sent = [0]
    chunk = b"x" * 65536

    def writer() -> None:
        try:
            with open(fifo, "wb") as fh:
                while sent[0] < 64 * MAX_LINE_BYTES:  # stops by itself, at 64 MiB
                    fh.write(chunk)
                    sent[0] += len(chunk)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    r = cli("load", str(fifo))
    t.join(timeout=60)
    assert not t.is_alive()
    assert r.exit_code == 2 and "line 1: event: the line is longer than" in r.stderr
    # read: the limit, plus what the pipe and the writer's buffer held when it closed
    assert sent[0] < MAX_LINE_BYTES + 8 * len(chunk), sent[0]


def test_str_lines_over_the_limit_are_refused() -> None:
    got = parse_line(padded(MAX_LINE_BYTES + 10).decode(), 7)
    assert isinstance(got, list) and "line 7: event: the line is longer" in str(got[0])


# -- 8. fields, items, nesting ------------------------------------------------------------

def problems_of(store: StoreSpec, lines: list[str]) -> LedgerError:
    with store.open() as lg:
        with pytest.raises(LedgerError) as exc:
            lg.load_lines(lines)
    return exc.value


def test_a_line_with_ninety_thousand_unknown_fields_is_one_problem(store: StoreSpec) -> None:
    # 90,000 fields of ~11 bytes each: under the 1 MiB line, far over 64 fields
    ev = dict(COMMON) | {f"k{i:05d}": 0 for i in range(90_000)}
    line = json.dumps(ev, separators=(",", ":"))
    assert len(line) < MAX_LINE_BYTES
    started = time.monotonic()
    err = problems_of(store, [line])
    assert time.monotonic() - started < 10  # sanity only: today this took 90 s
    assert [str(p) for p in err.problems] == [
        f"line 1: event: an object with 90004 fields; at most {MAX_MEMBERS} are "
        "allowed (10,000 in holders)"]
    assert err.omitted == 0


def test_fields_items_and_depth_limits_name_the_field(store: StoreSpec) -> None:
    many = dict(COMMON) | {f"extra{i}": 0 for i in range(MAX_MEMBERS - 3)}  # 4 + 61 = 65
    approval = {"type": "ShareholderApproval", "effective_date": "2001-06-07",
                "matters": [f"m{i}" for i in range(MAX_MEMBERS + 1)]}
    deep: Any = "x"
    for _ in range(MAX_DEPTH):
        deep = {"a": deep}
    nested = dict(COMMON, memo=deep)
    err = problems_of(store, [json.dumps(e) for e in (many, approval, nested)])
    assert [str(p) for p in err.problems] == [
        "line 1: CommonStockIssued: the event has 65 fields; at most 64 are allowed",
        "line 2: ShareholderApproval field matters: the list has 65 items; at most 64 are "
        "allowed",
        "line 3: CommonStockIssued field memo.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nested more "
        "than 16 levels deep"]


def test_a_redemption_notice_may_name_many_holders() -> None:
    """The holders map of a notice is one entry per holder: 200 holders are within
    the limits (each is checked as a holder of the series)."""
    notice = {"type": "RedemptionNoticed", "effective_date": "2001-07-01", "series": "G",
              "redemption_date": "2001-08-15", "holders": {f"H{i}": "1" for i in range(200)}}
    got = parse_line(json.dumps(notice), 1)
    assert not isinstance(got, list), got


def test_at_most_twelve_period_starts() -> None:
    def terms(starts: list[str]) -> dict[str, Any]:
        return {"type": "SeriesDesignated", "effective_date": "2001-01-01", "series": "X",
                "terms": {"series": "X", "designated": "2001-01-01",
                          "authorized_shares": "1000", "dividend_rate": "0.12",
                          "period_starts": starts, "first_payment_date": "2001-02-01"}}

    monthly = [f"{m:02d}-01" for m in range(1, 13)]
    assert not isinstance(parse_line(json.dumps(terms(monthly)), 1), list)
    thirteen = monthly + ["12-15"]
    thirteen.sort()
    got = parse_line(json.dumps(terms(thirteen)), 1)
    assert isinstance(got, list)
    assert [str(p) for p in got] == [
        "line 1: SeriesDesignated field terms.period_starts: 13 period starts; at most "
        f"{MAX_PERIOD_STARTS} (monthly dividends) are allowed"]


# -- 9. problems: per line, per load, listed --------------------------------------------------

def test_problems_per_line_are_capped() -> None:
    ev = dict(COMMON) | {f"extra{i}": 0 for i in range(30)}
    got = parse_line(json.dumps(ev), 4)
    assert isinstance(got, list)
    assert len(got) == MAX_LINE_PROBLEMS + 1
    assert all(p.message == "unknown field" for p in got[:-1])
    assert str(got[-1]) == "line 4: CommonStockIssued: … and 20 more problem(s) on this line"


def test_a_load_keeps_the_first_thousand_problems_and_counts_the_rest(store: StoreSpec
                                                                     ) -> None:
    lines = ["not json"] * (MAX_PROBLEMS_KEPT + 500)
    err = problems_of(store, lines)
    assert len(err.problems) == MAX_PROBLEMS_KEPT and err.omitted == 500
    assert err.total == 1500
    assert err.problems[-1].line == MAX_PROBLEMS_KEPT


def test_the_command_line_lists_a_hundred_problems(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n" * 250)
    r = cli("load", str(bad))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "rejected: 250 problem(s); nothing was stored"
    assert len(lines) == 1 + 100 + 1
    assert lines[1].startswith("  line 1: event: not valid JSON")
    assert lines[100].startswith("  line 100: event: not valid JSON")
    assert lines[-1] == "  … and 150 more problem(s)"
    many = tmp_path / "many.jsonl"
    many.write_text("[]\n" * 1500)
    r = cli("load", str(many))
    lines = r.stderr.splitlines()
    assert lines[0] == "rejected: 1500 problem(s); nothing was stored"
    assert lines[-1] == "  … and 1400 more problem(s)"
