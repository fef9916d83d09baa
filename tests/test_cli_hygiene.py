"""A command line that does not mislead (README Guarantees, SPEC.md §10), on both stores:
a read never creates a ledger; an unknown issuer is named with the ones there are; the
``issuers`` command; ``--csv``; the load phases; ``check`` in sentences; operational
errors in one line, exit 2, no traceback.
"""

from __future__ import annotations

import csv
import errno
import io
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.api import Ledger
from ledger.checks import DIVIDEND_PRIORITY, UNRECORDED_MISS, check
from tests.conftest import PG_URL, Cli, StoreSpec
from tests.test_dividends import designate, issue, paid

G_ANN = [designate("G"), issue("G", "Ann", 600, "2000-12-28"),
         issue("G", "Bob", 400, "2001-01-02")]


def one_line_error(r: Any) -> str:
    """Exit 2, exactly one line on stderr, nothing on stdout, no traceback."""
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""
    return r.stderr.rstrip("\n")


def pg_tables(spec: StoreSpec) -> list[str]:
    schema = str(spec.url).rsplit("schema=", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as c:
        return [r[0] for r in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,)).fetchall()]


# -- 1. a read of a ledger that is not there creates nothing ------------------------------

def reads(tmp: Path) -> list[list[str]]:
    return [
        ["position", "--as-of", "2001-12-31"],
        ["waterfall", "--as-of", "2001-12-31", "--proceeds", "1000"],
        ["rates", "--series", "G"],
        ["conversions", "--series", "H"],
        ["check", "--as-of", "2001-12-31"],
        ["history"],
        ["verify"],
        ["rollforward", "--from", "2001-01-01", "--to", "2001-12-31"],
        ["export", "--to", str(tmp / "report.db")],
        ["rebuild", "--to", str(tmp / "rebuilt.db")],
        ["chart", "--to", str(tmp / "chart.png")],
        ["export-ocf", "--as-of", "2001-12-31", "--to", str(tmp / "pkg")],
        ["issuers"],
    ]


def test_a_read_of_a_missing_ledger_is_exit_2_and_creates_nothing(cli: Cli, tmp_path: Path,
                                                                  jsonl: Any) -> None:
    where = cli.spec.db or cli.spec.url
    out = tmp_path / "out"
    out.mkdir()
    for args in reads(out):
        r = cli(*args)
        assert one_line_error(r) == f"error: no ledger at {where}", args
    if cli.spec.db:
        assert not Path(cli.spec.db).exists()
    else:
        assert pg_tables(cli.spec) == []  # no table was created by any read
    assert list(out.iterdir()) == []  # nor any report, chart or package
    # load creates the ledger; then the same reads work
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    assert cli("verify").stdout == "ok: 3 events, hash chain intact\n"
    assert cli("position", "--as-of", "2001-12-31").exit_code == 0


def test_a_mistyped_sqlite_path_and_an_empty_file_are_no_ledger(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ledger.cli import app

    runner = CliRunner()
    typo = tmp_path / "ledgr.db"
    r = runner.invoke(app, ["--db", str(typo), "verify"])
    assert one_line_error(r) == f"error: no ledger at {typo}"
    assert not typo.exists()  # today's trap: an empty ledger, "ok: 0 events"
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    r = runner.invoke(app, ["--db", str(empty), "position", "--as-of", "2001-12-31"])
    assert one_line_error(r) == f"error: no ledger at {empty}"
    assert empty.read_bytes() == b""
    # demo and import-ocf create; load creates (tested above)
    demo = tmp_path / "demo.db"
    assert runner.invoke(app, ["--db", str(demo), "demo"]).exit_code == 0
    assert demo.exists()


def test_a_rejected_first_load_leaves_no_ledger_behind(tmp_path: Path, jsonl: Any) -> None:
    """A load is all or nothing: rejected into a SQLite file that did not exist, it leaves
    no file (the ledger is as it was: not there), so a read still says "no ledger"; a
    rejected load into an existing ledger leaves that ledger's file and rows as they were."""
    from typer.testing import CliRunner

    from ledger.cli import app

    runner = CliRunner()
    db = tmp_path / "new.db"
    bad = jsonl([{"type": "SharesIssued", "effective_date": "2001-01-02", "series": "Q",
                  "holder": "Ann", "shares": "600"}])  # no such series
    r = runner.invoke(app, ["--db", str(db), "load", str(bad)])
    assert r.exit_code == 2 and "unknown series" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("new.db")) == []
    r = runner.invoke(app, ["--db", str(db), "verify"])
    assert one_line_error(r) == f"error: no ledger at {db}"
    good = jsonl([designate("G", "2000-12-28"), issue("G", "Ann", "600", "2001-01-02")])
    assert runner.invoke(app, ["--db", str(db), "load", str(good)]).exit_code == 0
    before = StoreSpec("sqlite", db=str(db)).rows()
    assert runner.invoke(app, ["--db", str(db), "load", str(bad)]).exit_code == 2
    assert db.exists() and StoreSpec("sqlite", db=str(db)).rows() == before


def test_the_api_opens_for_reading_without_creating(store: StoreSpec) -> None:
    from ledger.api import NoLedger

    with pytest.raises(NoLedger, match="no ledger at"):
        Ledger.open(store.db, store.url, create=False)
    if store.db:
        assert not Path(store.db).exists()
    else:
        assert pg_tables(store) == []
    with Ledger.open(store.db, store.url) as lg:  # create=True, the default: a load
        assert lg.issuers() == []
    with Ledger.open(store.db, store.url, create=False) as lg:
        assert lg.issuers() == []


# -- 2. the issuer: named, or the only one, or default --------------------------------------

def two_issuers(jsonl: Any, second: str = "acme", first: str = "default") -> Path:
    evs = [dict(e, issuer=first) for e in G_ANN] + [
        dict(designate("G"), issuer=second), dict(issue("G", "Cy", 7, "2001-02-01"),
                                                  issuer=second)]
    return jsonl(evs)


def test_an_unknown_issuer_is_named_with_the_known_ones(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(two_issuers(jsonl))).exit_code == 0
    for args in (["position", "--as-of", "2001-12-31"], ["history"],
                 ["check", "--as-of", "2001-12-31"], ["rates", "--series", "G"],
                 ["waterfall", "--as-of", "2001-12-31", "--proceeds", "10"],
                 ["rollforward", "--from", "2001-01-01", "--to", "2001-12-31"]):
        r = cli(*args, "--issuer", "X")
        assert one_line_error(r) == ("error: no issuer 'X' in this ledger; issuers: "
                                     "default, acme"), args
    # no --issuer: "default" is there, so it is the one
    assert cli.json("position", "--as-of", "2001-12-31")["issuer"] == "default"
    acme = cli.json("position", "--as-of", "2001-12-31", "--issuer", "acme")
    assert [(h["holder"], h["shares"]) for h in acme["holders"]] == [("Cy", "7")]


def test_one_issuer_needs_no_issuer_option(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl([dict(e, issuer="acme") for e in G_ANN]))).exit_code == 0
    rep = cli.json("position", "--as-of", "2001-12-31")
    assert rep["issuer"] == "acme"
    # 600 + 400 shares of G, both holders of acme
    assert [s["outstanding"] for s in rep["series"]] == ["1000"]
    assert cli.json("history")["issuer"] == "acme"
    assert cli("check", "--as-of", "2000-12-31").stdout == "acme as of 2000-12-31: no findings\n"


def test_several_issuers_without_default_must_be_chosen(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(two_issuers(jsonl, "beta", "acme"))).exit_code == 0
    r = cli("position", "--as-of", "2001-12-31")
    assert one_line_error(r) == ("error: this ledger has 2 issuers; choose one with "
                                 "--issuer: acme, beta")
    assert cli.json("position", "--as-of", "2001-12-31", "--issuer", "beta")["issuer"] == "beta"


# -- 3. prefledger issuers --------------------------------------------------------------------

def test_issuers_lists_each_with_events_and_dates(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(two_issuers(jsonl))).exit_code == 0
    # default: 3 events, 2000-12-28 .. 2001-01-02; acme: designation 2000-12-28, issue
    # 2001-02-01
    expected = [
        {"issuer": "default", "events": 3, "first_effective_date": "2000-12-28",
         "last_effective_date": "2001-01-02"},
        {"issuer": "acme", "events": 2, "first_effective_date": "2000-12-28",
         "last_effective_date": "2001-02-01"}]
    assert cli.json("issuers") == {"issuers": expected}
    r = cli("issuers", "--csv")
    assert r.exit_code == 0
    assert r.stdout == ("issuer,events,first_effective_date,last_effective_date\n"
                        "default,3,2000-12-28,2001-01-02\n"
                        "acme,2,2000-12-28,2001-02-01\n")
    table = cli("issuers").stdout
    assert "2 issuer(s) in" in table
    lines = [x for x in table.splitlines() if "default" in x or "acme" in x]
    assert len(lines) == 2 and "2001-01-02" in lines[0] and "2001-02-01" in lines[1]
    assert one_line_error(cli("issuers", "--json", "--csv")) == (
        "error: choose one of --json and --csv")


# -- 4. --csv ------------------------------------------------------------------------------

def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "+".join(v)
    return str(v)


def test_position_csv(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    r = cli("position", "--as-of", "2001-03-31", "--csv")
    assert r.exit_code == 0, r.output
    rows = read_csv(r.stdout)
    assert r.stdout.splitlines()[0].startswith("table,series,holder,")
    assert [(x["table"], x["series"], x["holder"]) for x in rows] == [
        ("series", "G", ""), ("common", "common", ""), ("holder", "G", "Ann"),
        ("holder", "G", "Bob")]
    # 600 + 400 = 1000 outstanding; Ann 600, Bob 400
    assert rows[0]["outstanding"] == "1000" and rows[0]["authorized"] == "2000"
    assert (rows[2]["shares"], rows[3]["shares"]) == ("600", "400")
    # every number exactly as the JSON report's string
    rep = cli.json("position", "--as-of", "2001-03-31")
    for row, src in zip(rows, [rep["series"][0], None, *rep["holders"]], strict=True):
        if src is None:
            assert row["outstanding"] == rep["common_outstanding"]
            continue
        for k, v in src.items():
            assert row[k] == as_cell(v), (k, row[k], v)
    # accrued unpaid of G as of 2001-03-31, 10% of 1,000 stated per year (30/360):
    # Ann 600 x 1000 x 0.10 x 93/360 = 15,500.00 (2000-12-28 .. 2001-03-31, 93 days)
    assert rows[2]["accrued_unpaid"] == "15500.00"


def test_waterfall_history_rollforward_csv(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    r = cli("waterfall", "--as-of", "2000-12-31", "--proceeds", "10000000", "--csv")
    assert r.exit_code == 0, r.output
    rows = read_csv(r.stdout)
    # as of 2000-12-31 only Ann holds G (Bob's shares are issued on 2001-01-02)
    assert [x["table"] for x in rows] == ["tier", "series", "holder", "common"]
    rep = cli.json("waterfall", "--as-of", "2000-12-31", "--proceeds", "10000000")
    for k, v in rep["tiers"][0].items():
        assert rows[0][k] == as_cell(v)
    # G's claim: stated 1,000 x 600 = 600,000 for Ann; accrual 2000-12-28..12-31 is
    # 600 x 1000 x 0.10 x 3/360 = 500.00 (30/360: the 28th to the 31st is 3 days)
    ann = next(x for x in rows if x["holder"] == "Ann")
    assert ann["claim"] == "600500.00" and ann["received"] == "600500.00"

    r = cli("history", "--csv")
    assert r.exit_code == 0
    rows = read_csv(r.stdout)
    assert [(x["position"], x["type"], x["effective_date"]) for x in rows] == [
        ("1", "SeriesDesignated", "2000-12-28"), ("2", "SharesIssued", "2000-12-28"),
        ("3", "SharesIssued", "2001-01-02")]
    assert json.loads(rows[2]["event"])["holder"] == "Bob"
    assert all(len(x["hash"]) == 64 for x in rows)

    r = cli("rollforward", "--from", "2001-01-01", "--to", "2001-12-31", "--csv")
    assert r.exit_code == 0, r.output
    rows = read_csv(r.stdout)
    shares = next(x for x in rows if x["table"] == "shares")
    # opening (end of 2000-12-31) 600 (Ann); Bob's 400 issued in the period; 1000 closing
    assert (shares["series"], shares["opening"], shares["issued"], shares["closing"],
            shares["ties_out"]) == ("G", "600", "400", "1000", "true")
    assert {x["table"] for x in rows} == {"shares", "carrying_amount", "dividends", "common",
                                          "holder"}
    assert one_line_error(cli("position", "--as-of", "2001-01-01", "--json", "--csv")) == (
        "error: choose one of --json and --csv")


def test_emit_csv_is_a_reusable_helper() -> None:
    from ledger.cli.options import emit_csv, table_rows

    buf = io.StringIO()
    emit_csv(table_rows(("a", [{"x": "1", "y": None}]), ("b", [{"z": ["M", "H"],
                                                                 "x": True}])), file=buf)
    assert buf.getvalue() == "table,x,y,z\na,1,,\nb,true,,M+H\n"


# -- 5. load phases ----------------------------------------------------------------------

def test_load_reports_reading_validating_writing(store: StoreSpec, jsonl: Any) -> None:
    seen: list[str] = []
    with store.open() as lg:
        lg.load_file(jsonl(G_ANN), progress=lambda phase, done, total: seen.append(phase))
    phases = [p for i, p in enumerate(seen) if i == 0 or seen[i - 1] != p]
    assert phases == ["reading", "validating", "writing"]


def test_the_progress_bar_is_on_stderr_and_only_on_a_terminal(
        cli: Cli, jsonl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.cli import options

    r = cli("load", str(jsonl(G_ANN)))
    assert r.exit_code == 0 and r.stderr == ""  # not a terminal: no bar at all
    screen = io.StringIO()
    monkeypatch.setattr(options, "err", options.SafeConsole(
        file=screen, force_terminal=True, width=100, markup=False))
    r = cli("load", str(jsonl([issue("G", "Cy", 1, "2001-02-01")])))
    assert r.exit_code == 0 and r.stdout == "1 appended, 0 already present\n"
    shown = screen.getvalue()
    at = [shown.find(w) for w in ("reading", "validating", "writing")]
    assert -1 not in at and at == sorted(at), shown


# -- 6. check in sentences ----------------------------------------------------------------

def test_check_messages_are_sentences(store: StoreSpec, jsonl: Any) -> None:
    import datetime as dt

    evs = [designate("G"), designate("H"), issue("G", "Ann", 100, "2000-12-28"),
           issue("H", "Bob", 300, "2001-04-20"), paid("H", "4166.67", "2001-06-10")]
    with store.open() as lg:
        lg.load_file(jsonl(evs))
        found = check(lg.state(dt.date(2001, 6, 30)), dt.date(2001, 6, 30))
    by_kind = {(f.kind, f.series): f.message for f in found}
    # G: 100 x 1000 x 10% x 93/360 = 2583.33 in arrears at the end of 2001-04-10
    assert by_kind[UNRECORDED_MISS, "G"] == (
        "The payment date 2001-04-10 of Series G was missed, leaving arrears of 2583.33 "
        "at the end of the day, and no DividendMissed records it.")
    assert by_kind[DIVIDEND_PRIORITY, "H"] == (
        "Series G's terms (Series G certificate §2(a)) put its dividend arrears ahead of "
        "any dividend on any other class of capital stock now or hereafter outstanding, "
        "yet 4166.67 was paid on Series H on 2001-06-10 while Series G had arrears of "
        "2583.33.")
    conflict = next(f.message for f in found if f.kind == "seniority_conflict")
    assert conflict.startswith("The liquidation claims of G and H conflict: Series G §3(a) "
                               "puts G senior to H")
    assert conflict.endswith("The order H > G > common ranks H above G, following Series H "
                             "§3(a), §3(e)(i)(b).")


# -- 7. operational errors: one line, exit 2 ---------------------------------------------------

def test_export_ocf_into_a_file_or_a_non_empty_directory(cli: Cli, jsonl: Any,
                                                         tmp_path: Path) -> None:
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    afile = tmp_path / "package.txt"
    afile.write_text("keep me")
    r = cli("export-ocf", "--as-of", "2001-12-31", "--to", str(afile))
    assert one_line_error(r) == (f"error: --to {str(afile)!r} is a file; give a new or "
                                 "empty directory")
    assert afile.read_text() == "keep me"
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.md").write_text("mine")
    r = cli("export-ocf", "--as-of", "2001-12-31", "--to", str(full))
    assert one_line_error(r) == (f"error: --to {str(full)!r} is not empty; give a new or "
                                 "empty directory")
    assert [p.name for p in full.iterdir()] == ["notes.md"]
    assert cli("export-ocf", "--as-of", "2001-12-31", "--to", str(tmp_path / "new")
               ).exit_code == 0


def test_export_and_chart_into_a_missing_or_unusable_place(cli: Cli, jsonl: Any,
                                                           tmp_path: Path) -> None:
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    missing = tmp_path / "no" / "such"
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    for cmd in ("export", "chart", "rebuild"):
        target = missing / "out.db"
        r = cli(cmd, "--to", str(target))
        assert one_line_error(r) == (f"error: cannot write --to {str(target)!r}: the "
                                     f"directory {str(missing)!r} does not exist"), cmd
        inside = afile / "out.db"
        r = cli(cmd, "--to", str(inside))
        assert one_line_error(r) == (f"error: cannot write --to {str(inside)!r}: "
                                     f"{str(afile)!r} is not a directory"), cmd
        r = cli(cmd, "--to", str(tmp_path))
        assert one_line_error(r) == (f"error: cannot write --to {str(tmp_path)!r}: it is "
                                     "a directory"), cmd
    assert not missing.exists()


def test_a_full_disk_is_one_line(cli: Cli, jsonl: Any, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The write itself fails with ENOSPC (simulated: a full filesystem cannot be had in
    a test): exit 2, "no space left on device", one line."""
    import matplotlib.figure

    from projections.feed import projector

    assert cli("load", str(jsonl(G_ANN))).exit_code == 0

    def full(*a: Any, **k: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Path, "write_text", full)  # every file of an OCF package
        r = cli("export-ocf", "--as-of", "2001-12-31", "--to", str(tmp_path / "pkg"))
        assert "no space left on device" in one_line_error(r)
    with monkeypatch.context() as m:
        m.setattr(matplotlib.figure.Figure, "savefig", full)
        r = cli("chart", "--to", str(tmp_path / "c.png"))
        assert one_line_error(r) == (f"error: cannot write {str(tmp_path / 'c.png')!r}: no "
                                     "space left on device")
    with monkeypatch.context() as m:
        m.setattr(projector.Projector, "catch_up", full)
        r = cli("export", "--to", str(tmp_path / "r.db"))
        assert "no space left on device" in one_line_error(r)
    import sqlite3

    def sqlite_full(*a: Any, **k: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as m:
        m.setattr(projector.Projector, "rebuild", sqlite_full)
        r = cli("rebuild", "--to", str(tmp_path / "r2.db"))
        assert "no space left on device" in one_line_error(r)


BAD_RECORDED = [
    ("9999-12-31T23:59:59-23:59", "outside the years 1 to 9999 in UTC"),
    ("0001-01-01T00:00:00+23:59", "outside the years 1 to 9999 in UTC"),
    ("10000-01-01T00:00:00", "not an ISO 8601 time"),
    ("2026-13-01T00:00:00", "not an ISO 8601 time"),
    ("yesterday", "not an ISO 8601 time"),
]


@pytest.mark.parametrize("text,why", BAD_RECORDED)
def test_a_bad_as_recorded_time_is_one_line(cli: Cli, jsonl: Any, text: str, why: str
                                            ) -> None:
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    for args in (["position", "--as-of", "2001-12-31"], ["history"],
                 ["check", "--as-of", "2001-12-31"], ["rates", "--series", "G"],
                 ["waterfall", "--as-of", "2001-12-31", "--proceeds", "10"]):
        r = cli(*args, "--as-recorded", text)
        assert one_line_error(r) == f"error: --as-recorded {text!r}: {why}", args


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31",
                                 "10000-01-01", "2001-02-29"])
def test_a_date_outside_the_range_is_one_line(cli: Cli, jsonl: Any, tmp_path: Path,
                                              day: str) -> None:
    assert cli("load", str(jsonl(G_ANN))).exit_code == 0
    for args in (["position", "--as-of", day], ["check", "--as-of", day],
                 ["waterfall", "--as-of", day, "--proceeds", "1"],
                 ["rates", "--series", "G", "--as-of", day],
                 ["conversions", "--series", "G", "--as-of", day],
                 ["rollforward", "--from", "2001-01-01", "--to", day],
                 ["history", "--from", day],
                 ["export", "--to", str(tmp_path / "r.db"), "--through", day],
                 ["export-ocf", "--as-of", day, "--to", str(tmp_path / "pkg")]):
        msg = one_line_error(cli(*args))
        assert msg.startswith("error: --") and (
            "out of range: dates run from 1900-01-01 to 2999-12-31" in msg
            or "is not a date YYYY-MM-DD" in msg), (args, msg)


def test_a_missing_postgresql_database_is_no_ledger() -> None:
    from typer.testing import CliRunner

    from ledger.cli import app

    url = PG_URL.rsplit("/", 1)[0] + "/no_such_database_for_prefledger"
    r = CliRunner().invoke(app, ["--database-url", url, "history"])
    assert one_line_error(r) == f"error: no ledger at {url}"
    secret = url.replace("postgres@", "postgres:hunter2@", 1)
    r = CliRunner().invoke(app, ["--database-url", secret, "history"])
    assert "hunter2" not in r.output and one_line_error(r) == (
        "error: no ledger at " + url.replace("postgres@", "postgres:***@", 1))
