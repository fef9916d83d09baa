"""Crash safety. A load is one transaction (SPEC.md §3: all-or-nothing), so
a ``prefledger load`` killed with SIGKILL at any moment leaves the ledger holding either
every event of the file or none of them, earlier events untouched, and the hash chain
intact (``verify``).

The file is large (20,000 events) so that the process spends real time in every phase:
start-up, parsing, validation (replay), the write and the commit. Half of the kills land
at a random moment of the whole run; the other half wait until SQLite's write-ahead log
starts to grow (the transaction is writing) and then strike within the next 150 ms, so
kills inside the write and the commit are certain, not a matter of luck.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.api import Ledger
from ledger.replay import replay
from projections.position import position
from tests.conftest import HISTORY
from tests.figures import show

N = 20_000          # events in the file
KILLS = 30          # SIGKILLs that must land while the load runs
ISSUER = "bulk"


def prefledger() -> str:
    exe = shutil.which("prefledger") or str(Path(sys.executable).parent / "prefledger")
    assert os.path.exists(exe), exe
    return exe


def big_file(path: Path, n: int) -> Path:
    """Series K designation, then issuances of 0.25 shares (20,000 x 0.25 = 5,000 of the
    14,000 authorized) and every 100th line a transfer of 0.01 shares; all with ids."""
    rnd = random.Random(10)
    holders = [f"Holder {i:03d}" for i in range(200)]
    held: dict[str, int] = {}
    lines = [{"id": "k", "issuer": ISSUER, "type": "SeriesDesignated",
              "effective_date": "2001-11-19", "series": "K", "terms_ref": "nstor/K"}]
    day = dt.date(2001, 11, 20)
    i = 0
    while len(lines) < n:
        i += 1
        if i % 100 == 0 and held:
            a, b = rnd.choice(sorted(held)), rnd.choice(holders)
            if a == b:
                continue
            held[a] -= 1
            held[b] = held.get(b, 0) + 1
            lines.append({"id": f"t{i}", "issuer": ISSUER, "type": "SharesTransferred",
                          "effective_date": day.isoformat(), "series": "K",
                          "from_holder": a, "to_holder": b, "shares": "0.01"})
        else:
            h = rnd.choice(holders)
            held[h] = held.get(h, 0) + 25
            lines.append({"id": f"i{i}", "issuer": ISSUER, "type": "SharesIssued",
                          "effective_date": day.isoformat(), "series": "K", "holder": h,
                          "shares": "0.25"})
        if i % 5000 == 0:
            day += dt.timedelta(days=1)
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path


def copy_db(src: str, dst: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)


def snapshot(db: str) -> tuple[list[Any], list[Any], list[Any]]:
    """(verify problems, the history issuer's rows, the bulk issuer's payloads)."""
    with Ledger.open(db) as lg:
        problems = lg.verify()
        hist = [(s.payload, s.hash) for s in lg.stored("default")]
        bulk = [s.payload for s in lg.stored(ISSUER)]
    return problems, hist, bulk


@pytest.mark.slow
def test_sigkill_during_load_leaves_all_or_nothing(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    exe = prefledger()
    src = big_file(tmp_path / "big.jsonl", N)
    expected = [json.loads(line) for line in src.read_text().splitlines()]
    template = str(tmp_path / "template.db")
    with Ledger.open(template) as lg:
        lg.load_file(HISTORY)
    _, hist0, bulk0 = snapshot(template)
    assert len(hist0) > 0 and bulk0 == []

    # one uninterrupted run: how long a load takes here, and what "all" looks like
    ref = str(tmp_path / "ref.db")
    copy_db(template, ref)
    t0 = time.monotonic()
    r = subprocess.run([exe, "--db", ref, "load", str(src)], capture_output=True, text=True,
                       timeout=300)
    full = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert f"{N} appended, 0 already present" in r.stdout
    problems, hist, bulk = snapshot(ref)
    assert problems == [] and hist == hist0 and bulk == expected

    rnd = random.Random(int(os.environ.get("PREFLEDGER_CRASH_SEED", "20011119")))
    kills = in_write = finished = attempts = reloads = checked = 0
    outcome = {"none": 0, "all": 0}
    while kills < KILLS:
        attempts += 1
        assert attempts <= KILLS * 2, "the load kept finishing before the kill"
        db = str(tmp_path / f"trial{attempts}.db")
        copy_db(template, db)
        wal = Path(db + "-wal")
        wal_start = wal.stat().st_size if wal.exists() else 0
        mode = "write" if attempts % 2 == 0 else "random"
        errors = tmp_path / f"trial{attempts}.stderr"
        with errors.open("wb") as fh:
            p = subprocess.Popen([exe, "--db", db, "load", str(src)],
                                 stdout=subprocess.DEVNULL, stderr=fh)
        saw_write = False
        if mode == "random":
            time.sleep(rnd.uniform(0.0, full))
        else:  # wait for the transaction to start writing, then strike within 150 ms
            deadline = time.monotonic() + 10 * full
            while p.poll() is None and time.monotonic() < deadline:
                if wal.exists() and wal.stat().st_size > wal_start + 64 * 1024:
                    saw_write = True
                    break
                time.sleep(0.001)
            time.sleep(rnd.uniform(0.0, 0.15))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        rc = p.wait(timeout=60)
        if rc == -signal.SIGKILL:
            kills += 1
            in_write += saw_write
        else:
            assert rc == 0, f"trial {attempts}: the load exited {rc}: {errors.read_text()}"
            finished += 1

        problems, hist, bulk = snapshot(db)
        assert problems == [], (attempts, problems)
        assert hist == hist0, f"trial {attempts}: the events stored before were changed"
        assert bulk in ([], expected), (
            f"trial {attempts}: {len(bulk)} of {N} events stored (half-written load)")
        outcome["all" if bulk else "none"] += 1
        if bulk and outcome["all"] <= 3:  # killed after the commit: checkpoints, if any
            with Ledger.open(db) as lg:   # were written, agree with a full replay
                day = dt.date(2002, 1, 1)
                whole, _ = replay(ISSUER, lg.records(ISSUER), day)
                assert lg.position(day, ISSUER) == position(whole, day)
                checked += 1

        if attempts % 10 == 0:  # recovery: after a kill the same load simply completes
            reloads += 1
            r = subprocess.run([exe, "--db", db, "load", str(src)], capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 0, r.stderr
            want = (f"0 appended, {N} already present" if bulk
                    else f"{N} appended, 0 already present")
            assert want in r.stdout, r.stdout
            assert snapshot(db) == ([], hist0, expected)
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)

    # the CLI's own verify on the last surviving ledger, as a person would run it
    r = subprocess.run([exe, "--db", ref, "verify"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "hash chain intact" in r.stdout, r.stdout + r.stderr
    show(capsys, f"crash safety: {N} events per load ({full:.2f} s uninterrupted); "
          f"{attempts} trials, {kills} SIGKILLs mid-load ({in_write} while the transaction "
          f"was writing), {finished} finished first; ledger after each: none "
          f"{outcome['none']}, all {outcome['all']}, partial 0; {reloads} reloads completed; "
          f"{checked} positions after a kill equal to a full replay")
    assert in_write >= KILLS // 4, "too few kills landed inside the write"
    assert outcome["none"] > 0
