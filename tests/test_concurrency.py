"""Two OS processes loading into the same issuer at once, on both stores.

Optimistic concurrency (SPEC.md §3 loads are all-or-nothing): each process validates
against the stream version it read; the first to append wins; the other finds the
stream moved, re-reads, re-validates and appends (or, if its events no longer fit,
exits 2 with nothing stored). Every event lands exactly once and the hash chain holds.

To make the race certain rather than likely, each process runs the real CLI with
``Store.commit`` (the one write of a load) wrapped so that both wait for each other just
before their first append (after validating against the same version).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.store.eventstore import ConcurrencyError, Store
from tests.conftest import PG_URL, StoreSpec, write_jsonl

REPO = Path(__file__).resolve().parent.parent

RACER = r"""
import os, sys, time
from pathlib import Path
from ledger.store import eventstore as store
flags, me = Path(os.environ["RACE_DIR"]), os.environ["RACE_NAME"]
def meet(what):
    (flags / f"{what}-{me}").touch()
    t = time.monotonic()
    while len(list(flags.glob(f"{what}-*"))) < 2 and time.monotonic() - t < 60:
        time.sleep(0.005)
if os.environ.get("RACE_OPEN"):  # also open the (new) store at the same moment
    real_init = store.Store.__init__
    def init(self, *a, **k):
        meet("open")
        real_init(self, *a, **k)
    store.Store.__init__ = init
real = store.Store.commit
calls = [0]
def append(self, *a, **k):
    calls[0] += 1
    print(f"append attempt {calls[0]}", file=sys.stderr, flush=True)
    if calls[0] == 1:  # both processes validated: meet, then both append at once
        meet("ready")
    return real(self, *a, **k)
store.Store.commit = append
from ledger.cli import app
app(sys.argv[1:], prog_name="prefledger")
"""

BASE = [
    {"id": "d", "type": "SeriesDesignated", "effective_date": "2000-12-28", "series": "G",
     "terms_ref": "nstor/G"},
    {"id": "o", "type": "CommonStockIssued", "effective_date": "2000-12-28",
     "shares": "1000000", "kind": "opening"},
]


def issues(holder: str, shares: list[str]) -> list[dict[str, Any]]:
    return [{"id": f"{holder}-{i}", "type": "SharesIssued",
             "effective_date": f"2001-02-{i + 1:02d}", "series": "G", "holder": holder,
             "shares": n} for i, n in enumerate(shares)]


def race(spec: StoreSpec, tmp: Path, a: list[dict[str, Any]], b: list[dict[str, Any]],
         at_open: bool = False) -> dict[str, subprocess.CompletedProcess[str]]:
    flags = tmp / "flags"
    flags.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "RACE_DIR": str(flags)}
    if at_open:
        env["RACE_OPEN"] = "1"
    procs = {}
    for name, events in (("a", a), ("b", b)):
        path = write_jsonl(tmp / f"{name}.jsonl", events)
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", RACER, *spec.args, "load", str(path)],
            env={**env, "RACE_NAME": name}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=tmp)
    out = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        out[name] = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
    return out


def stored_ids(spec: StoreSpec) -> list[str]:
    with spec.open() as lg:
        return [s.payload["id"] for s in lg.stored("default")]


def test_two_processes_load_the_same_issuer_at_once(store, tmp_path, cli):
    assert cli("load", str(write_jsonl(tmp_path / "base.jsonl", BASE))).exit_code == 0
    res = race(store, tmp_path, issues("ann", ["100", "100", "100"]),
               issues("bob", ["100", "100", "100"]))
    for r in res.values():
        assert r.returncode == 0, r.stderr
        assert "3 appended, 0 already present" in r.stdout
    attempts = sorted(r.stderr.count("append attempt") for r in res.values())
    assert attempts == [1, 2]  # the loser found the stream moved and retried once
    ids = stored_ids(store)
    # every event exactly once: no lost event, no duplicate
    assert sorted(ids) == sorted(["d", "o"] + [f"{h}-{i}" for h in ("ann", "bob")
                                               for i in range(3)])
    assert len(ids) == len(set(ids)) == 8
    v = cli("verify")
    assert v.exit_code == 0 and "ok: 8 events, hash chain intact" in v.stdout
    rep = cli.json("position", "--as-of", "2001-12-31")
    held = {h["holder"]: h["shares"] for h in rep["holders"] if h["series"] != "common"}
    assert held == {"ann": "300", "bob": "300"}  # 3 x 100 each


def test_the_loser_fails_cleanly_when_its_events_no_longer_fit(store, tmp_path, cli):
    assert cli("load", str(write_jsonl(tmp_path / "base.jsonl", BASE))).exit_code == 0
    # G authorizes 2000 shares: either load fits alone, not both (1500 + 1500)
    res = race(store, tmp_path, issues("ann", ["1500"]), issues("bob", ["1500"]))
    codes = sorted(r.returncode for r in res.values())
    assert codes == [0, 2]
    loser = next(r for r in res.values() if r.returncode == 2)
    winner = next(n for n, r in res.items() if r.returncode == 0)
    assert "append attempt 2" not in loser.stderr  # re-validated, rejected before appending
    assert "rejected: 1 problem(s); nothing was stored" in loser.stderr
    assert "more than the 2000 authorized" in loser.stderr
    assert "Traceback" not in loser.stderr
    ids = stored_ids(store)
    holder = "ann" if winner == "a" else "bob"
    assert ids == ["d", "o", f"{holder}-0"]
    assert cli("verify").exit_code == 0


def test_a_writer_that_never_gets_through_gives_up_cleanly(cli, jsonl, monkeypatch, store):
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    before = store.content()
    calls = []

    def always_moved(self: Store, *a: Any, **k: Any) -> int:
        calls.append(1)
        raise ConcurrencyError("default")

    monkeypatch.setattr(Store, "commit", always_moved)
    r = cli("load", str(jsonl(issues("ann", ["100"]))))
    assert r.exit_code == 2
    assert "another writer kept appending to the same issuer; gave up after 5 tries, " \
           "nothing stored" in r.output
    assert len(calls) == 5
    monkeypatch.undo()
    assert store.content() == before


def test_idempotent_reload_from_two_processes(store, tmp_path, cli):
    """The same file loaded twice at once: the second sees the first's events as
    already present (idempotent by id), never stores them twice."""
    assert cli("load", str(write_jsonl(tmp_path / "base.jsonl", BASE))).exit_code == 0
    same = issues("ann", ["100", "200"])
    res = race(store, tmp_path, same, same)
    outs = sorted(r.stdout.strip() for r in res.values())
    assert outs == ["0 appended, 2 already present", "2 appended, 0 already present"]
    assert all(r.returncode == 0 for r in res.values())
    assert stored_ids(store) == ["d", "o", "ann-0", "ann-1"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_processes_create_a_new_store_at_once(kind, tmp_path):
    """Both open a store that does not exist yet (a new SQLite file; a PostgreSQL schema
    not created yet) at the same moment: tables are created once, both loads land."""
    schema = "t_new_" + uuid.uuid4().hex[:10]
    spec = (StoreSpec("sqlite", db=str(tmp_path / "new.db")) if kind == "sqlite"
            else StoreSpec("postgres", url=f"{PG_URL}?schema={schema}"))
    try:
        res = race(spec, tmp_path, BASE + issues("ann", ["100"]), BASE + issues("bob", ["100"]),
                   at_open=True)
        for r in res.values():
            assert r.returncode == 0, r.stderr
        outs = sorted(r.stdout.strip() for r in res.values())
        # the loser retried: the designation and opening common were already there
        assert outs == ["1 appended, 2 already present", "3 appended, 0 already present"]
        assert sorted(stored_ids(spec)) == sorted(["d", "o", "ann-0", "bob-0"])
    finally:
        if kind == "postgres":
            with psycopg.connect(PG_URL, autocommit=True) as c:
                c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
