"""The foundation — values, day count, load (atomic, idempotent, rejections),
position as of a date, the CLI end to end. Expected figures are counted by hand from the
input written in each test (or from fixtures/nstor/history.jsonl, quoted in comments).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from ledger.daycount import days360
from ledger.events import parse_line
from ledger.schedule import Schedule
from ledger.terms import load_terms_ref
from ledger.values import allocate, money, parse_decimal
from tests.conftest import HISTORY
from tests.ledgers import book

D = Decimal


# -- values -------------------------------------------------------------------------

def test_decimals_only_from_strings():
    assert parse_decimal("1388.89") == D("1388.89")
    for bad in (100, 100.5, True, None, "1,000", "1e3", "NaN", "Infinity", "", " 1", "0x10"):
        with pytest.raises(ValueError):
            parse_decimal(bad)


def test_money_rounds_half_up_to_the_cent():
    assert money(D("0.005")) == D("0.01")
    assert money(D("2.345")) == D("2.35")
    assert money(D("-2.345")) == D("-2.35")
    assert money(D("27777.7777")) == D("27777.78")


def test_allocate_floors_and_gives_leftover_cents_by_largest_remainder():
    # 100.00 over three equal weights: 33.33 each (99.99), one cent left -> first name
    assert allocate(D("100.00"), {"b": D(1), "a": D(1), "c": D(1)}) == {
        "a": D("33.34"), "b": D("33.33"), "c": D("33.33")}
    # 10.00 over 1:2 -> 3.333.. / 6.666..: floors 3.33 / 6.66, leftover cent to the
    # larger remainder (6.666.. - 6.66 = 0.00666 > 0.00333)
    assert allocate(D("10.00"), {"x": D(1), "y": D(2)}) == {"x": D("3.33"), "y": D("6.67")}


# -- day count and schedules ----------------------------------------------------------

@pytest.mark.parametrize("start,end,days", [
    ("2001-01-15", "2001-04-01", 76),   # 30*3 + (1 - 15)
    ("2001-01-01", "2001-04-01", 90),   # a full quarter
    ("2001-01-31", "2001-04-01", 61),   # d1 31 -> 30: 30*3 + (1 - 30)
    ("2001-01-30", "2001-03-31", 60),   # d1 30 and d2 31 -> d2 30: 30*2 + 0
    ("2001-01-29", "2001-03-31", 62),   # d2 31 stays when d1 < 30: 60 + 2
    ("2001-02-28", "2001-03-01", 3),    # 30/360 treats February as 30 days: 30 + (1 - 28)
    ("2000-12-28", "2001-01-01", 3),    # 360*1 + 30*(-11) + (1 - 28)
])
def test_days360(start, end, days):
    assert days360(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == days


def test_payment_dates_of_each_series():
    g = Schedule(load_terms_ref("nstor/G"))
    h = Schedule(load_terms_ref("nstor/H"))
    m = Schedule(load_terms_ref("nstor/M"))
    d = dt.date
    # Series G §2(a): the 10th day after each calendar quarter, first April 10, 2001
    assert g.payment_dates(d(2000, 12, 28), d(2002, 1, 10)) == [
        d(2001, 4, 10), d(2001, 7, 10), d(2001, 10, 10), d(2002, 1, 10)]
    # H: Mar/Jun/Sep/Dec 10, first June 10, 2001
    assert h.payment_dates(d(2001, 4, 12), d(2002, 3, 10)) == [
        d(2001, 6, 10), d(2001, 9, 10), d(2001, 12, 10), d(2002, 3, 10)]
    # M: each quarter start (SPEC.md §4 Reading)
    assert m.payment_dates(d(2005, 1, 10), d(2006, 1, 1)) == [
        d(2005, 4, 1), d(2005, 7, 1), d(2005, 10, 1), d(2006, 1, 1)]
    # accrual of G issued before the first payment date falls due on it (SPEC.md §4)
    assert g.due_date(d(2000, 12, 29)) == d(2001, 4, 10)


def test_parse_line_names_line_event_and_field():
    probs = parse_line('{"type": "SharesIssued", "id": "x1", "effective_date": "2001-01-02", '
                       '"series": "G", "holder": "A", "shares": 100}', 7)
    assert isinstance(probs, list) and len(probs) == 1
    p = probs[0]
    assert (p.line, p.event, p.field) == (7, "SharesIssued id=x1", "shares")
    assert "JSON string" in p.message


# -- loading ---------------------------------------------------------------------------

G = {"type": "SeriesDesignated", "effective_date": "2000-12-28", "series": "G",
     "terms_ref": "nstor/G"}
H = {"type": "SeriesDesignated", "effective_date": "2001-04-12", "series": "H",
     "terms_ref": "nstor/H"}


def issue(series, holder, shares, date="2001-05-01", **kw):
    return {"type": "SharesIssued", "effective_date": date, "series": series,
            "holder": holder, "shares": shares, **kw}


BASE = [G, H, issue("G", "Ann", "1500"), issue("H", "Bob", "5000")]


def test_load_is_idempotent_by_id(cli, jsonl):
    evs = [dict(e, id=f"e{i}") for i, e in enumerate(BASE)]
    path = jsonl(evs)
    r1 = cli("load", str(path))
    assert r1.exit_code == 0 and "4 appended, 0 already present" in r1.stdout
    r2 = cli("load", str(path))
    assert r2.exit_code == 0 and "0 appended, 4 already present" in r2.stdout
    # the same id twice in one file with the same content counts once
    extra = issue("G", "Cy", "10", id="dup")
    r3 = cli("load", str(jsonl([extra, extra])))
    assert r3.exit_code == 0 and "1 appended, 1 already present" in r3.stdout
    rep = cli.json("position", "--as-of", "2001-12-31")
    g = next(s for s in rep["series"] if s["series"] == "G")
    assert g["outstanding"] == "1510"  # 1500 + 10, never 1520


REJECTIONS = [
    # (events loaded after BASE, line of the culprit, field named, words of the message)
    ([issue("Z", "Ann", "1")], 1, "series", ["SharesIssued", "unknown series"]),
    ([{"type": "SharesTransferred", "effective_date": "2001-06-01", "series": "G",
       "from_holder": "Nobody", "to_holder": "Ann", "shares": "1"}], 1, "from_holder",
     ["SharesTransferred", "unknown holder"]),
    # 1500 issued of 2,000 authorized (Series G §1): 501 more is one too many
    ([issue("G", "Ann", "501")], 1, "shares", ["SharesIssued", "2001", "2000 authorized"]),
    ([{"type": "SharesTransferred", "effective_date": "2001-06-01", "series": "G",
       "from_holder": "Ann", "to_holder": "Cy", "shares": "1500.5"}], 1, "shares",
     ["SharesTransferred", "holds 1500"]),
    ([issue("G", "Ann", "1,000")], 1, "shares", ["SharesIssued", "plain decimal"]),
    ([issue("G", "Ann", 10.5)], 1, "shares", ["SharesIssued", "JSON number"]),
    ([issue("G", "Ann", 10)], 1, "shares", ["SharesIssued", "JSON number"]),
    ([issue("G", "Ann", "NaN")], 1, "shares", ["SharesIssued"]),
    ([issue("G", "Ann", "-5")], 1, "shares", ["SharesIssued", "greater than zero"]),
    ([issue("G", "Ann", "5", colour="red")], 1, "colour", ["SharesIssued", "unknown field"]),
    ([{"type": "SharesBought", "effective_date": "2001-01-01"}], 1, "type",
     ["unknown event type"]),
    ([issue("G", "Ann", "5", date="2001-02-30")], 1, "effective_date",
     ["SharesIssued", "calendar date"]),
    ([{"type": "SharesIssued", "effective_date": "2001-06-01", "series": "G",
       "shares": "5"}], 1, "holder", ["SharesIssued", "Field required"]),
    # Series H is designated 2001-04-12: nothing can be issued before it exists
    ([issue("H", "Ann", "5", date="2001-04-01")], 1, "series",
     ["SharesIssued", "designated on 2001-04-12"]),
    ([dict(G, terms_ref="nstor/Q", series="Q")], 1, "terms_ref",
     ["SeriesDesignated", "nstor/Q"]),
    ([dict(G, effective_date="2001-01-05")], 1, "series", ["SeriesDesignated", "already"]),
    # a good line before the bad one: the whole file is rejected (atomic)
    ([issue("G", "Ann", "1"), issue("G", "Ann", "x")], 2, "shares", ["line 2"]),
    # converted shares never return to the authorized pool: 5,000 of 5,100 issued,
    # 100 converted, so 101 more would be 5,101 ever issued
    ([{"type": "SharesConverted", "effective_date": "2001-06-01", "series": "H",
       "holder": "Bob", "shares": "100"}, issue("H", "Cy", "101", date="2001-06-02")], 2,
     "shares", ["SharesIssued", "5101", "5100 authorized"]),
]


@pytest.mark.parametrize("events,line,field,words", REJECTIONS,
                         ids=[f"r{i}" for i in range(len(REJECTIONS))])
def test_rejection_names_line_event_and_field(events, line, field, words):
    book(BASE).refused(events, field, *words, line=line)


def test_every_rejection_through_load_exits_2_and_changes_nothing(cli, jsonl):
    """The cases above through ``prefledger load`` into a stored BASE, on both stores."""
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    before = cli.spec.rows()
    for events, line, field, words in REJECTIONS:
        cli.refuses(jsonl(events), *words, field=field, line=line, before=before)


def test_same_id_different_content_is_rejected(cli, jsonl):
    assert cli("load", str(jsonl([dict(e, id=f"e{i}") for i, e in enumerate(BASE)]))
               ).exit_code == 0
    cli.refuses(jsonl([issue("G", "Ann", "7", id="e2")]), "SharesIssued id=e2",
                "different content", field="id")


def test_load_of_missing_file_is_bad_input(cli, tmp_path):
    r = cli("load", str(tmp_path / "nope.jsonl"))
    assert r.exit_code == 2 and "no such file" in r.stderr


def test_invalid_json_line(cli, tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(G) + "\n{not json\n")
    cli.refuses(p, "not valid JSON", line=2)
    assert cli.spec.content() == []


# -- position (the pure core: tests/ledgers.py) -----------------------------------------

def test_position_of_the_fixture_history_counted_by_hand():
    rep = book(HISTORY).position("2001-12-31")
    shares = {(h["holder"], h["series"]): D(h["shares"]) for h in rep["holders"]}
    # history.jsonl through 2001-12-31:
    # G: Alder 600 (nstor-0003); Birch 400 - 100 to Cedar (0004, 0013); Cedar 500 + 100
    assert shares[("Alder Capital LP", "G")] == 600
    assert shares[("Birch Family Trust", "G")] == 400 - 100
    assert shares[("Cedar Partners LLC", "G")] == 500 + 100
    # H: Dogwood 2000 - 500 to Elm (0008, 0015); Alder 1000; Elm 800 + 500
    assert shares[("Dogwood Fund", "H")] == 2000 - 500
    assert shares[("Alder Capital LP", "H")] == 1000
    assert shares[("Elm Street Ventures", "H")] == 800 + 500
    assert shares[("Fir Holdings", "K")] == 6000
    # Grove's K (2002-01-15) and Elm's G (2002-03-01) come later: not yet there
    assert ("Grove Opportunity Fund", "K") not in shares
    assert ("Elm Street Ventures", "G") not in shares
    assert rep["common_outstanding"] == "30000000"
    series = {s["series"]: s for s in rep["series"]}
    assert [series[k]["outstanding"] for k in "GHK"] == ["1500", "3800", "6000"]
    assert [series[k]["authorized"] for k in "GHK"] == ["2000", "5100", "14000"]
    assert series["G"]["issued_total"] == "1500"
    # votes: G none; H and K as converted, floor per holder (SPEC.md §6, §11)
    assert series["G"]["votes"] == "0"
    h_votes = [int(D(n) * D("1388.89")) for n in (1500, 1000, 1300)]
    assert h_votes == [2083335, 1388890, 1805557]
    assert series["H"]["votes"] == str(sum(h_votes))
    assert series["K"]["votes"] == "26086956"  # floor(6000 * 1000 / 0.23 = 26,086,956.52)
    assert rep["total_votes"] == str(30_000_000 + sum(h_votes) + 26086956)


def test_as_of_is_end_of_day_and_later_events_do_not_count():
    b = book(BASE + [issue("G", "Cy", "5", date="2001-06-01")])
    assert b.series("2001-05-31", "G")["outstanding"] == "1500"
    assert b.series("2001-06-01", "G")["outstanding"] == "1505"


def test_demo_loads_fixtures_into_a_fresh_ledger(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ledger.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    n = sum(1 for line in HISTORY.read_text().splitlines() if line.strip())
    for _ in range(2):  # fresh each time: every line appended twice, never "already present"
        r = runner.invoke(app, ["demo"])
        assert r.exit_code == 0, r.output
        assert f"{n} appended, 0 already present" in r.stdout
        assert "Hawthorn Partners" in r.stdout
    assert (tmp_path / "prefledger-demo.db").exists()


def test_bad_as_of_date(cli):
    r = cli("position", "--as-of", "2001-13-01")
    assert r.exit_code == 2 and "--as-of" in r.stderr


def test_console_script_end_to_end(tmp_path):
    """The installed ``prefledger`` entry point, in a real process."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("prefledger") or str(Path(sys.executable).parent / "prefledger")
    db = str(tmp_path / "e2e.db")
    r = subprocess.run([exe, "--db", db, "load", str(HISTORY)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([exe, "--db", db, "position", "--as-of", "2001-12-31", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    rep = json.loads(r.stdout)
    assert {s["series"]: s["outstanding"] for s in rep["series"]} == {
        "G": "1500", "H": "3800", "K": "6000"}


@pytest.mark.parametrize("args", [
    ["--database-url", "postgresql://no_such_role@127.0.0.1:5432/test"],
    ["--database-url", "mysql://x@127.0.0.1/db"],
    ["--db", "/nonexistent-dir/ledger.db"],
])
def test_a_store_that_cannot_be_opened_is_bad_input(args):
    from typer.testing import CliRunner

    from ledger.cli import app

    r = CliRunner().invoke(app, [*args, "position", "--as-of", "2001-01-01"])
    assert r.exit_code == 2, r.output
    assert "error:" in r.stderr and "Traceback" not in r.output
