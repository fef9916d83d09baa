"""The benchmark scripts work end to end on a tiny history (no timing is asserted)."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path

import pytest

from benchmarks import generate, run
from ledger.api import Ledger


def test_generator_is_seeded_and_varied(tmp_path: Path) -> None:
    a = generate.write(tmp_path / "a.jsonl", 1200, seed=3)
    b = generate.write(tmp_path / "b.jsonl", 1200, seed=3)
    c = generate.write(tmp_path / "c.jsonl", 1200, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    rows = [json.loads(line) for line in a.read_text().splitlines()]
    assert len(rows) == 1200
    kinds = collections.Counter(r["type"] for r in rows)
    for kind in ("SeriesDesignated", "SharesIssued", "SharesTransferred", "DividendPaid",
                 "CommonStockIssued", "SharesConverted", "RedemptionNoticed",
                 "SharesRedeemed", "BalanceAsserted"):
        assert kinds[kind] > 0, kind
    # the feed is in effective-date order; every designation names a G/H/K/M-like series
    dates = [r["effective_date"] for r in rows]
    assert dates == sorted(dates)
    assert {r["series"] for r in rows if r["type"] == "SeriesDesignated"} <= set("GHKM")
    # the probe issuer has a tenth of the file, at least 4,000 events (here: all of it)
    assert all(r["issuer"] == generate.PROBE for r in rows)


def test_plan_sizes_add_up() -> None:
    specs = generate.plan(50_000, seed=2)
    assert sum(s.budget for s in specs) == 50_000
    assert specs[0].name == generate.PROBE and specs[0].budget == 5_000
    assert specs[0].holders == 1000
    assert len(specs) > 3


def test_generated_file_loads_and_answers(tmp_path: Path) -> None:
    path = generate.write(tmp_path / "h.jsonl", 1500, seed=5)
    with Ledger.open(str(tmp_path / "l.db")) as lg:
        res = lg.load_file(path)
        assert res.appended == 1500
        again = lg.load_file(path)
        assert (again.appended, again.already_present) == (0, 1500)
        last = max(json.loads(x)["effective_date"] for x in path.read_text().splitlines())
        pos = lg.position(dt.date.fromisoformat(last), generate.PROBE)
        assert pos["holders"] and pos["series"]
        assert lg.verify() == []


def test_run_prints_a_table_and_a_json_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run.main(["--events", "1200", "--workdir", str(tmp_path), "--queries", "5",
              "--latency-seconds", "5", "--pg", ""])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].split()[:2] == ["events", "load"]
    result = json.loads(out[-1])
    (size,) = result["sizes"]
    assert size["events"] == 1200
    for key in ("load", "bare_es_append_1000", "bare_es_append_one_save", "raw_sqlite_insert",
                "position", "rebuild", "bare_es_read_decode", "raw_sqlite_read"):
        assert key in size, key
    assert size["position"]["probe"]["queries"] == 5
    assert size["rebuild"]["peak_rss_mb"] > 0
    assert set(result["targets"]) >= {"load_vs_bare_es_1000", "probe_median_ms",
                                      "rebuild_vs_bare_es_read", "rebuild_rss_mb"}


def test_sizes_for() -> None:
    assert run.sizes_for(1_000_000) == [10_000, 100_000, 1_000_000]
    assert run.sizes_for(100_000) == [10_000, 100_000]
    assert run.sizes_for(1500) == [1500]
