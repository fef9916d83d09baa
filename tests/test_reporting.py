"""The reporting feed (sqlite-utils tables, Datasette), the equity
roll-forward with the dividends-in-arrears disclosure, and the chart.

Figures are worked by hand from ``G_HISTORY`` (tests/test_projections.py), quoted in
comments; the roll-forward property test checks opening and closing figures against the
independent §9 position report.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils.db import ForeignKey

from ledger.replay import replay
from projections.feed import export
from projections.feed.chart import chart_data
from projections.position import position
from projections.rollforward import rollforward
from projections.tables import TABLES, project_issuer
from tests.test_projections import G_HISTORY, dump, histories, records_of

D = Decimal
day = dt.date.fromisoformat
REPO = Path(__file__).resolve().parent.parent


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"))  # half-even is never hit below: no exact half cents


# -- the reporting database ----------------------------------------------------------------

def test_export_writes_typed_indexed_related_tables(cli, jsonl, tmp_path):
    assert cli("load", str(jsonl(G_HISTORY))).exit_code == 0
    report = tmp_path / "report.db"
    r = cli("export", "--to", str(report))
    assert r.exit_code == 0, r.output
    assert "14 new event(s) projected, issuer(s) recomputed: default" in r.stdout
    assert f"datasette {report} -m {tmp_path / 'report.metadata.json'}" in r.stdout
    db = sqlite_utils.Database(report)
    assert set(TABLES) | {export.META, export.TRACKING} <= set(db.table_names())
    # primary keys
    assert db["positions"].pks == ["issuer", "series", "holder", "valid_from"]
    assert db["events"].pks == ["issuer", "seq"]
    assert db["dividend_periods"].pks == ["issuer", "series", "payment_date"]
    assert db["series"].pks == ["key"] and db["holders"].pks == ["key"]
    # foreign keys: every series_key / holder_key / issuer column points at its parent
    for t in TABLES:
        cols = db[t].columns_dict
        fks = set(db[t].foreign_keys)
        if "series_key" in cols:
            assert ForeignKey(t, "series_key", "series", "key") in fks, t
        if "holder_key" in cols:
            assert ForeignKey(t, "holder_key", "holders", "key") in fks, t
        if t != "issuers":
            assert ForeignKey(t, "issuer", "issuers", "issuer") in fks, t
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    # indexes on series, holder and date
    indexed = {tuple(i.columns) for i in db["positions"].indexes}
    assert {("series_key",), ("holder_key",), ("valid_from",)} <= indexed
    indexed = {tuple(i.columns) for i in db["dividend_periods"].indexes}
    assert {("series_key",), ("payment_date",)} <= indexed
    # column types
    types = db["positions"].columns_dict
    assert types["valid_from"] is str and types["shares"] is float
    assert db["events"].columns_dict["seq"] is int
    assert db["dividend_periods"].columns_dict["missed"] is int
    # the rows: Birch holds 300 G from the 2001-09-01 transfer on
    (birch,) = db["positions"].rows_where("holder = ? and valid_from = ?",
                                          ["Birch", "2001-09-01"])
    assert (birch["shares"], birch["valid_to"]) == (300.0, None)
    (p,) = db["dividend_periods"].rows_where("series = 'G' and payment_date = '2001-04-10'")
    assert (p["due"], p["status"], p["missed"]) == (32222.22, "paid late", 1)
    # re-runnable, then incremental
    r = cli("export", "--to", str(report))
    assert "already up to date" in r.stdout
    more = {"id": "g10", "type": "SharesTransferred", "effective_date": "2004-06-01",
            "series": "G", "from_holder": "Cedar", "to_holder": "Birch", "shares": "100"}
    assert cli("load", str(jsonl([more]))).exit_code == 0
    r = cli("export", "--to", str(report))
    assert "1 new event(s) projected, issuer(s) recomputed: default" in r.stdout
    # two new intervals (Cedar 500, Birch 400); three of them are common's (SPEC.md §13):
    # the unattributed 30,000,000 then 31,000,000, and Dogwood's common from 2004-03-15
    assert db["positions"].count == 14
    assert db["positions"].count_where("series = 'common'") == 3
    meta = json.loads((tmp_path / "report.metadata.json").read_text())
    assert set(meta["databases"]["report"]["tables"]) >= set(TABLES)


def test_rebuild_command_gives_the_exported_tables(cli, jsonl, tmp_path):
    assert cli("load", str(jsonl(G_HISTORY))).exit_code == 0
    assert cli("export", "--to", str(tmp_path / "a.db")).exit_code == 0
    r = cli("rebuild", "--to", str(tmp_path / "b.db"))
    assert r.exit_code == 0, r.output
    assert "rebuilt from 14 events of 1 issuer(s)" in r.stdout
    assert dump(tmp_path / "a.db") == dump(tmp_path / "b.db")
    assert cli("rebuild", "--to", str(tmp_path / "c.db"), "--through", "2001-13-01").exit_code == 2
    r = cli("export", "--to", str(tmp_path / "no" / "such" / "dir.db"))
    assert r.exit_code == 2 and "error: cannot write" in r.output and "Traceback" not in r.output


def test_metadata_documents_every_table_and_column():
    meta = json.loads((REPO / "projections" / "feed" / "datasette-metadata.json").read_text())
    tables = meta["databases"]["report"]["tables"]
    db = sqlite_utils.Database(memory=True)
    export.ensure_schema(db)
    for t in db.table_names():
        assert tables[t]["description"], t
        assert set(tables[t]["columns"]) == set(db[t].columns_dict), t
        assert all(tables[t]["columns"].values()), t
    assert meta["title"] and meta["description"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return resp.read().decode()


def test_datasette_serves_the_reporting_feed(cli, jsonl, tmp_path):
    assert cli("load", str(jsonl(G_HISTORY))).exit_code == 0
    report = tmp_path / "report.db"
    assert cli("export", "--to", str(report)).exit_code == 0
    port = _free_port()
    exe = Path(sys.executable).with_name("datasette")
    proc = subprocess.Popen([str(exe), "serve", str(report), "-m",
                             str(REPO / "projections" / "feed" / "datasette-metadata.json"),
                             "-p", str(port), "-h", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/-/versions.json")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "datasette did not answer in 60 s"
                time.sleep(0.2)
        rows = json.loads(_get(base + "/report/positions.json?_shape=array&holder=Birch"))
        assert [(r["valid_from"], r["valid_to"], r["shares"]) for r in rows] == [
            ("2000-12-28", "2001-09-01", 400.0), ("2001-09-01", None, 300.0)]
        periods = json.loads(_get(base + "/report/dividend_periods.json?_shape=array"
                                  "&series=G&payment_date=2001-04-10"))
        assert periods[0]["due"] == 32222.22
        for t in TABLES:
            json.loads(_get(base + f"/report/{t}.json?_shape=array&_size=1"))
        page = _get(base + "/report/positions")
        assert "effective-date intervals" in page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


# -- the roll-forward ------------------------------------------------------------------------

def test_rollforward_by_hand(cli, jsonl):
    assert cli("load", str(jsonl(G_HISTORY))).exit_code == 0
    rep = cli.json("rollforward", "--from", "2002-01-01", "--to", "2002-12-31")
    assert rep["opening_as_of"] == "2001-12-31" and rep["ties_out"] is True
    g = next(s for s in rep["series"] if s["series"] == "G")
    assert g["shares"] == {"opening": "1500", "issued": "0", "transferred_in": "200",
                           "transferred_out": "200", "converted": "0", "redeemed": "0",
                           "cancelled": "0", "liquidated": "0", "closing": "1500"}
    assert g["carrying_amount"]["opening"] == g["carrying_amount"]["closing"] == "1500000.00"
    # arrears at 2001-12-31: due 2001-04-10 32222.22, 2001-07-10 37500.00, 2001-10-10
    # 40833.33 (see test_projections), less 30000 + 35000 paid
    opening = D("32222.22") + D("37500.00") + D("40833.33") - 30000 - 35000
    # due in 2002, per holder rounded: 2002-01-10 at 11% x 90 days (1500 shares);
    # 2002-04-10: rate-days 0.11*10 + 0.12*80 = 10.7 (Alder 400 + Elm 200 after the
    # 2002-03-01 transfer, Birch 300, Cedar 600); 2002-07-10: 12% x 90;
    # 2002-10-10: 0.12*10 + 0.13*80 = 11.6
    jan = D(1500) * 1000 * D("0.11") * 90 / 360                       # 41250
    apr = sum(cents(D(n) * 1000 * D("10.7") / 360) for n in (400, 200, 300, 600))
    jul = D(1500) * 1000 * D("0.12") * 90 / 360                        # 45000
    octo = sum(cents(D(n) * 1000 * D("11.6") / 360) for n in (400, 200, 300, 600))
    fell = jan + apr + jul + octo
    dv = g["dividends"]
    assert D(dv["arrears_opening"]) == opening == D("45555.55")
    assert D(dv["fell_due"]) == fell == D("179166.66")
    assert D(dv["paid"]) == D("150000.00")
    assert D(dv["arrears_closing"]) == opening + fell - 150000 == D("74722.21")
    # per share at closing: 74722.21 / 1500 = 49.81
    assert dv["arrears_per_share_closing"] == "49.81"
    assert all(g["ties_out"].values())
    rep = cli.json("rollforward", "--from", "2004-01-01", "--to", "2004-12-31")
    h = next(s for s in rep["series"] if s["series"] == "H")
    assert (h["shares"]["opening"], h["shares"]["converted"], h["shares"]["closing"]) == (
        "2000", "300", "1700")
    # 300 of 2000 shares issued at 1000: 300,000 of carrying amount moves to common
    assert h["carrying_amount"] == {"opening": "2000000.00", "issued": "0.00",
                                    "converted": "300000.00", "redeemed": "0.00",
                                    "cancelled": "0.00", "liquidated": "0.00",
                                    "closing": "1700000.00"}
    # accrual not yet due of the 300 converted: 300 x 1000 x 10% x 5/360 = 416.67 payable
    assert h["dividends"]["payable_created"] == "416.67"
    assert h["dividends"]["payable_closing"] == "416.67"
    holders = {(x["series"], x["holder"]): x for x in rep["holders"]}
    assert holders[("H", "Dogwood")]["converted"] == "300"
    r = cli("rollforward", "--from", "2002-01-01", "--to", "2002-12-31")
    assert r.exit_code == 0 and "Equity roll-forward" in r.stdout
    assert "Cumulative dividends in arrears" in r.stdout


def test_rollforward_rejects_bad_input(cli, jsonl):
    assert cli("load", str(jsonl(G_HISTORY))).exit_code == 0
    r = cli("rollforward", "--from", "2003-01-01", "--to", "2002-12-31")
    assert r.exit_code == 2 and "--from 2003-01-01 is after --to 2002-12-31" in r.output
    r = cli("rollforward", "--from", "2003-02-30", "--to", "2003-12-31")
    assert r.exit_code == 2 and "--from '2003-02-30' is not a date" in r.output
    r = cli("rollforward", "--from", "2003-01-01", "--to", "2003-12-31", "--issuer", "nobody")
    assert r.exit_code == 2 and "no issuer 'nobody' in this ledger; issuers: default" in r.output


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.integers(0, 1500), st.integers(0, 1500))
def test_rollforward_ties_out_for_random_date_pairs(hist, a, b):
    _, recs = hist
    first = day("2000-12-28")
    d1, d2 = sorted((first + dt.timedelta(days=a), first + dt.timedelta(days=a + b)))
    rep = rollforward("default", recs, d1, d2)
    assert rep["ties_out"] is True
    # opening and closing agree with the position report replayed to those dates
    for when, key in ((d1 - dt.timedelta(days=1), "opening"), (d2, "closing")):
        st_, _ = replay("default", recs, when)
        pos = {s["series"]: s for s in position(st_, when)["series"]}
        for s in rep["series"]:
            p = pos.get(s["series"])
            assert D(s["shares"][key]) == (D(p["outstanding"]) if p else 0)
            if s["dividends"] is not None:
                arrears = D(p["arrears"]) if p and p["arrears"] is not None else D(0)
                assert D(s["dividends"][f"arrears_{key}"]) == arrears
                payable = D(p["dividends_payable"]) if p else D(0)
                assert D(s["dividends"][f"payable_{key}"]) == payable


# -- the chart ---------------------------------------------------------------------------

def test_chart_by_hand_and_png(cli, jsonl, tmp_path):
    rows = project_issuer("default", records_of(G_HISTORY), day("2004-12-31"))
    data = chart_data(rows)
    assert data["shares"]["G"] == [(day("2000-12-28"), D(1000)), (day("2001-02-15"), D(1500))]
    assert data["shares"]["H"][:2] == [(day("2001-04-12"), D(0)), (day("2001-04-20"), D(2000))]
    assert data["shares"]["H"][-1] == (day("2004-03-15"), D(1700))
    assert data["dividend_rate"]["G"][:3] == [
        (day("2000-12-28"), D("0.10")), (day("2001-07-11"), D("0.11")),
        (day("2002-01-11"), D("0.12"))]
    # arrears after the first G payment date: 32222.22 due, 30000 paid
    assert data["arrears"]["G"][1] == (day("2001-04-10"), D("2222.22"))
    assert [p[0] for p in data["conversion_rate"]["H"]] == [day("2001-04-12"), day("2003-04-15")]
    assert data["end"] == day("2004-12-31")
    assert cli("load", str(jsonl(G_HISTORY))).exit_code == 0
    png = tmp_path / "ledger.png"
    r = cli("chart", "--to", str(png))
    assert r.exit_code == 0, r.output
    raw = png.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[:2] == (1200, 1100)
    r = cli("chart", "--to", str(png), "--issuer", "nobody")
    assert r.exit_code == 2
