"""The benchmark scripts work end to end on a tiny history (no timing is asserted)."""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
import sys
from pathlib import Path

import pytest

from benchmarks import generate, peers, peers_run, run, targets
from ledger import limits
from ledger.api import Ledger

REPO = Path(__file__).resolve().parent.parent


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
    examples = {f"{name}-s3-0000": name for name in generate.EXAMPLES}
    assert {r["series"] for r in rows if r["type"] == "SeriesDesignated"
            and r["issuer"] not in examples} <= set("GHKM")
    # the shipped examples of the general terms, each once (an issuer each), 28 years
    # earlier, their terms inlined
    for issuer, name in examples.items():
        fixture = (REPO / "fixtures" / name / "history.jsonl").read_text().splitlines()
        want = []
        for x in fixture:
            r = dict(json.loads(x), issuer=issuer)
            ref = r.pop("terms_ref", None)
            if ref is not None:
                r["terms"] = json.loads((REPO / "fixtures" / f"{ref}.json").read_text())
            text = re.sub(r'"(\d{4})(-\d\d-\d\d)"',
                          lambda m: f'"{int(m.group(1)) - 28}{m.group(2)}"', json.dumps(r))
            want.append(json.loads(text))
        want.sort(key=lambda r: r["effective_date"])
        assert [r for r in rows if r["issuer"] == issuer] == want
    # the probe issuer has a tenth of the file, at least 4,000 events (here: the rest)
    assert {r["issuer"] for r in rows} == {generate.PROBE, *examples}


def test_the_examples_give_their_own_figures_28_years_earlier(tmp_path: Path) -> None:
    """Moved 28 years (the same weekdays and leap days), an example's figures are the
    shipped history's: every position field but the dates."""
    path = generate.write(tmp_path / "h.jsonl", 500, seed=2)
    with Ledger.open(str(tmp_path / "g.db")) as g, Ledger.open(str(tmp_path / "f.db")) as f:
        g.load_file(path)
        for name, issuer in (("venture", "default"), ("mezzanine", "mezzanine")):
            f.load_file(REPO / "fixtures" / name / "history.jsonl")
            for day in ("2019-12-31", "2021-06-30", "2022-03-31", "2024-12-31", "2025-12-31"):
                d = dt.date.fromisoformat(day)
                ours = g.position(d.replace(year=d.year - 28), f"{name}-s2-0000")
                theirs = f.position(d, issuer)
                for rep in (ours, theirs):
                    rep.pop("as_of"), rep.pop("issuer")
                assert ours == theirs, (name, day)


def test_plan_sizes_add_up() -> None:
    specs = generate.plan(50_000, seed=2)
    assert sum(s.budget for s in specs) == 50_000
    assert specs[0].name == generate.PROBE and specs[0].budget == 5_000
    assert specs[0].holders == 1000
    assert len(specs) > 3


def test_no_issuer_can_pass_the_holder_periods_limit() -> None:
    """A 1M file once had an issuer of 2,762 holders of three quarterly series: its
    holder-periods by the horizon passed ``holder_periods`` and the load was refused.
    The plan gives such an issuer fewer holders (and a longer history)."""
    cap = int(limits.value("holder_periods"))
    for n in (10_000, 100_000, 1_000_000):
        specs = generate.plan(n, seed=1)
        assert sum(s.budget for s in specs) == n
        end = max(s.start + dt.timedelta(days=s.quarters * 92) for s in specs)
        for s in specs:
            # holders × accruing series × (4 periods a year × years to the horizon + 1)
            years = -(-(end - s.start).days * 100 // 36525) + 50
            accruing = sum(k in "GHM" for k in s.series)
            assert s.holders * accruing * (4 * years + 1) <= cap, (n, s)
        assert next(s for s in specs if s.name == generate.PROBE).holders == 1000
    big = generate.plan(1_000_000, seed=1)
    assert max(s.holders for s in big) > 1000  # still issuers of thousands of holders


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
    # the peers' path without any peer tool: the conversion, prefledger as a command
    # (load, position --as-of, five events appended), the table and the JSON line
    run.main(["--events", "1200", "--workdir", str(tmp_path), "--queries", "5",
              "--latency-seconds", "5", "--pg", "", "--peer-tools", "none",
              "--peer-reps", "1", "--position-dates", "2"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].split()[:2] == ["events", "load"]
    result = json.loads(out[-1])
    (size,) = result["sizes"]
    assert size["events"] == 1200
    for key in ("load", "bare_es_append_1000", "bare_es_append_one_save", "raw_sqlite_insert",
                "position", "rebuild", "bare_es_read_decode", "raw_sqlite_read", "cli",
                "peers"):
        assert key in size, key
    assert size["position"]["probe"]["queries"] == 5
    assert size["rebuild"]["peak_rss_mb"] > 0 and size["load"]["peak_rss_mb"] > 0
    assert set(result["targets"]) >= {"load_vs_bare_es_1000", "probe_median_ms",
                                      "rebuild_vs_bare_es_read", "rebuild_rss_mb",
                                      "position_whole_process_s@1200",
                                      "append5_existing_vs_new@1200", "load_rss_mb@1200"}
    assert result["machine"]["tools"] == {}
    assert result["machine"]["tool_notes"] == ["peer tools not run (--peer-tools none)"]
    assert result["machine"]["python"] and result["machine"]["date"]
    # prefledger as a command: two as-of dates; five events appended five times over
    cli = size["cli"]
    assert len(cli["position_whole_process"]["runs_s"]) == 2
    ap = cli["append5"]
    # the probe: the whole file but the two examples of the general terms (17 and 22)
    assert ap["issuer"] == generate.PROBE and ap["stored_events"] == 1200 - 17 - 22
    assert ap["existing"]["in_process_s"] > 0 and ap["new"]["whole_process_s"] > 0
    # the peers' files: one transaction per event, every tie-out an assertion
    p = size["peers"]
    rows = [json.loads(x) for x in (tmp_path / "history-1200-seed1.jsonl").read_text()
            .splitlines()]
    tied = sum(1 for r in rows if r["type"] == "BalanceAsserted")
    conv = p["conversion"]
    assert conv["events"] == 1200 and conv["journal_assertions"] == tied > 0
    assert conv["beancount_assertions"] + conv["beancount_in_day_assertions"] == tied
    journal = (tmp_path / "history-1200-seed1.journal").read_text()
    assert len(re.findall(r"^\d{4}-\d\d-\d\d \* ", journal, re.M)) == 1200  # one per event
    assert journal.count(" = ") == tied
    assert set(p["load"]) == {"prefledger load"} and set(p["as_of"]) == {
        "prefledger position --as-of"}
    assert "agreement" not in p  # no hledger to agree with
    assert any(line.split()[1:2] == ["load:"] for line in out)


def test_sizes_for() -> None:
    assert run.sizes_for(1_000_000) == [10_000, 100_000, 1_000_000]
    assert run.sizes_for(100_000) == [10_000, 100_000]
    assert run.sizes_for(1500) == [1500]


def test_agreement_compares_holder_by_holder() -> None:
    names = peers.IssuerNames("issuer-0000", peers.Names())
    pos = {"common_outstanding": "500", "holders": [
        {"holder": "Oak Fund", "series": "G", "shares": "10"},
        {"holder": "Elm", "series": "H", "shares": "0"}]}  # owed dividends only: no row
    csv = ('"account","commodity","balance"\n'
           '"Equity:Issuer-0000:Common","COMMON","500"\n'
           '"Equity:Issuer-0000:Holders:Oak-Fund","G","10"\n'
           '"total","COMMON","500"\n')
    assert peers_run._agreement(pos, csv, names) == {"balances": 2, "agree": True,
                                                     "differences": []}
    off = csv.replace('Oak-Fund","G","10"', 'Oak-Fund","G","9"')
    got = peers_run._agreement(pos, off, names)
    assert not got["agree"] and got["differences"] == [
        "Equity:Issuer-0000:Holders:Oak-Fund G 9", "Equity:Issuer-0000:Holders:Oak-Fund G 10"]


def test_run_cmd_reports_the_childs_own_peak(tmp_path: Path) -> None:
    # a child that holds about 60 MB: its own peak, not this process's
    got = peers_run.run_cmd([sys.executable, "-c",
                             "b = bytearray(60 * 1024 * 1024); print(len(b))"])
    assert got.out.strip() == str(60 * 1024 * 1024)
    assert 60 <= got.rss_mb < 200 and got.wall > 0
    with pytest.raises(RuntimeError, match="exited 3"):
        peers_run.run_cmd([sys.executable, "-c", "raise SystemExit(3)"])
    assert peers_run.find_tools("none", tmp_path).paths == {}


def test_targets_report_prints_every_target(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # two tiny sizes, no peer tool: every target has its line (the peers' ones n/a)
    targets.main(["--sizes", "300,200", "--workdir", str(tmp_path), "--peer-tools", "none",
                  "--reps", "1", "--dates", "2", "--queries", "3", "--no-compile"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("machine: ") and " CPUs (" in out[0] and " RAM" in out[0]
    assert out[1] == ("sizes: 200 events, 1 issuers, probe issuer-0000 200 events; "
                      "300 events, 1 issuers, probe issuer-0000 300 events")
    head = out[2].split()
    assert head[0] == "target" and head[-3:] == ["measured", "target", "met"]
    lines = out[3:-1]
    assert [line[:53].rstrip() for line in lines] == [t.label for t in targets.TARGETS]
    by_key = {t.key: line for t, line in zip(targets.TARGETS, lines, strict=True)}
    for key in ("load_vs_hledger_check", "load_vs_ledger_balance",
                "position_vs_hledger_balance_e"):
        assert " not measured " in by_key[key] and by_key[key].endswith("n/a"), by_key[key]
    assert "300 vs 200" in by_key["position_latency_growth"]
    assert "(issuer of 300)" in by_key["append5_vs_new_10k"]
    result = json.loads(out[-1])
    rows = {r["key"]: r for r in result["targets"]}
    assert list(rows) == [t.key for t in targets.TARGETS]
    for key in ("position_whole_process_s", "append5_vs_new_10k", "rebuild_vs_bare_read",
                "load_rss_mb", "rebuild_rss_mb", "position_latency_growth"):
        assert rows[key]["measured"] is not None and rows[key]["met"] in (True, False), key
    for key in ("load_vs_hledger_check", "position_vs_hledger_balance_e"):
        assert rows[key]["measured"] is None and rows[key]["met"] is None
    small, big = result["sizes"]
    assert (small["events"], big["events"]) == (200, 300)
    assert big["append5"]["stored_events"] == 300 and big["rebuild"]["events"] >= 300
    assert len(big["position_whole_process"]["runs_s"]) == 2
    assert big["position_latency"]["queries"] == 3
    assert result["machine"]["nproc"] and result["machine"]["date"]
    # the README's table from the same JSON line
    (tmp_path / "run.json").write_text(out[-1] + "\n", encoding="utf-8")
    targets.main(["--markdown", str(tmp_path / "run.json")])
    md = capsys.readouterr().out.strip().splitlines()
    assert md[0] == "| target | events | measured | target | met |"
    assert [row.split(" | ")[0].lstrip("| ") for row in md[2:]] == [
        t.label for t in targets.TARGETS]
    assert md[2].endswith("| not measured | n/a | ≤ 1× | n/a |")


def test_targets_read_each_figure_at_its_size() -> None:
    # a target is read at its own size when measured, else the largest size below it
    sizes = [{"events": 10_000}, {"events": 100_000}, {"events": 1_000_000}]
    assert targets._at(sizes, 100_000) is sizes[1]
    assert targets._at(sizes, 1_000_000) is sizes[2]
    assert targets._at(sizes[:2], 1_000_000) is sizes[1]
    assert targets._at(sizes, None) is sizes[2]
    assert targets._at(sizes, 100_000, lambda f: f["events"] < 50_000) is sizes[0]
    assert targets._at(sizes, 5_000) is sizes[0]
    assert targets._at(sizes, 100_000, lambda f: False) is None
    assert targets.parse_sizes("100000,10000, 1_000_000") == [10_000, 100_000, 1_000_000]
