"""Many writers at once, on both stores. Several ``prefledger load``
processes append to different issuers while two append to the same issuer and two more
load one identical file: afterwards every event is present exactly once, nothing else
changed, and ``verify`` passes.

Each load validates against the stream version it read and appends with optimistic
concurrency (``ledger.store.eventstore``); a writer whose stream moved re-reads, re-validates and
retries (SPEC.md §3: all-or-nothing, idempotent by id). The forced races, where the
loser's retry is certain, is rejected (exit 2) or gives up, are in ``test_concurrency``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ledger.api import Ledger
from tests.conftest import HISTORY, StoreSpec
from tests.figures import show

PER_FILE = 1500  # issuances per file


def prefledger() -> str:
    return shutil.which("prefledger") or str(Path(sys.executable).parent / "prefledger")


def events(issuer: str, prefix: str) -> list[dict[str, Any]]:
    """Series K designated (same id and content in every file of one issuer: idempotent),
    then PER_FILE issuances of 1 share, ids ``prefix-i``."""
    out = [{"id": f"{issuer}-K", "issuer": issuer, "type": "SeriesDesignated",
            "effective_date": "2001-11-19", "series": "K", "terms_ref": "nstor/K"}]
    out += [{"id": f"{prefix}-{i}", "issuer": issuer, "type": "SharesIssued",
             "effective_date": "2002-01-02", "series": "K", "holder": f"{prefix} holder {i % 7}",
             "shares": "1"} for i in range(PER_FILE)]
    return out


def write(path: Path, evs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in evs))
    return path


def test_many_processes_load_at_once_every_event_exactly_once(
        store: StoreSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store.open() as lg:  # an existing ledger that must come through untouched
        lg.load_file(HISTORY)
    before = store.content()

    jobs: list[tuple[str, Path]] = []  # (label, file)
    expected: dict[str, set[str]] = {}
    for i in range(4):  # four writers, four issuers
        evs = events(f"fund{i}", f"f{i}")
        jobs.append((f"fund{i}", write(tmp_path / f"fund{i}.jsonl", evs)))
        expected[f"fund{i}"] = {e["id"] for e in evs}
    for name in ("a", "b"):  # two writers, one issuer, different events
        evs = events("joint", f"s{name}")
        jobs.append((f"joint-{name}", write(tmp_path / f"joint-{name}.jsonl", evs)))
        expected.setdefault("joint", set()).update(e["id"] for e in evs)
    twin = write(tmp_path / "twin.jsonl", events("twin", "tw"))  # two writers, one file
    jobs += [("twin-1", twin), ("twin-2", twin)]
    expected["twin"] = {e["id"] for e in events("twin", "tw")}

    exe = prefledger()
    t0 = time.monotonic()
    procs = [(label, subprocess.Popen([exe, *store.args, "load", str(path)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)) for label, path in jobs]
    results = {}
    for label, p in procs:
        out, err = p.communicate(timeout=300)
        results[label] = (p.returncode, out.strip(), err.strip())
    took = time.monotonic() - t0

    for label, (rc, out, err) in results.items():
        assert rc == 0, (label, err)
        assert "Traceback" not in out + err
    n = PER_FILE + 1
    for i in range(4):
        assert results[f"fund{i}"][1] == f"{n} appended, 0 already present"
    # one of the two shared-issuer writers stored the designation, the other found it
    assert sorted(results[f"joint-{x}"][1] for x in "ab") == [
        f"{n - 1} appended, 1 already present", f"{n} appended, 0 already present"]
    # the same file twice: one stored it all, the other found it all already present
    assert sorted(results[f"twin-{x}"][1] for x in "12") == [
        f"0 appended, {n} already present", f"{n} appended, 0 already present"]

    with store.open() as lg:
        assert lg.verify() == []
        issuers = lg.issuers()
        stored = {i: [s.payload.get("id") for s in lg.stored(i)] for i in issuers}
    assert sorted(issuers) == sorted(["default", *expected])
    for issuer, ids in expected.items():
        dup = [k for k, c in Counter(stored[issuer]).items() if c > 1]
        assert dup == [], f"{issuer}: stored twice: {dup[:5]}"
        assert set(stored[issuer]) == ids, f"{issuer}: events lost"
    after = [(i, rows) for i, rows in store.content() if i == "default"]
    assert after == before  # the ledger that was there is unchanged

    r = subprocess.run([exe, *store.args, "verify"], capture_output=True, text=True,
                       timeout=120)
    total = sum(len(v) for v in stored.values())
    assert r.returncode == 0 and f"ok: {total} events, hash chain intact" in r.stdout, r.stdout
    show(capsys, f"many writers ({store.kind}): {len(procs)} processes at once "
          f"({len(expected)} issuers: 4 alone, 2 writers on 'joint', 2 loading one "
          f"file into 'twin'), {sum(len(v) for v in expected.values())} distinct events, "
          f"each stored exactly once; {total} events verified; {took:.1f} s")


def test_many_readers_while_writing(store: StoreSpec, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Reports never see half a load: while a load runs, a position read in a loop shows
    the holder with none of the file's shares or with all of them."""
    with store.open() as lg:
        lg.load_file(HISTORY)
    evs = [{"id": f"r-{i}", "type": "SharesIssued", "effective_date": "2003-07-01",
            "series": "K", "holder": "Reader Test LP", "shares": "1"} for i in range(300)]
    path = write(tmp_path / "more.jsonl", evs)
    p = subprocess.Popen([prefledger(), *store.args, "load", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: Counter[str] = Counter()
    with Ledger.open(store.db, store.url) as lg:
        while p.poll() is None:
            rep = lg.position(dt.date(2003, 7, 1))
            shares = [h["shares"] for h in rep["holders"] if h["holder"] == "Reader Test LP"]
            seen[shares[0] if shares else "0"] += 1
    out, err = p.communicate()
    assert p.returncode == 0, err
    assert set(seen) <= {"0", "300"}, seen
    show(capsys, f"readers ({store.kind}): {sum(seen.values())} positions read during one load, "
          f"each showing 0 or 300 of its 300 shares: {dict(seen)}")
