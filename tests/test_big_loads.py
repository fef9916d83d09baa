"""A big file is loaded in two passes (``ledger.api.STREAM_BYTES``): every line checked
first, then each issuer's lines read and parsed again, one issuer at a time. The outcome
is exactly the one-pass load's: the same events stored with the same hashes, the same
checkpoints, the same problems (and nothing stored), the same idempotent reload."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import generate
from ledger import api
from ledger.api import Ledger
from ledger.problems import LedgerError
from ledger.store import eventstore
from tests.conftest import StoreSpec

STAMP = "2026-01-02T03:04:05.000006+00:00"


def _content(lg: Ledger) -> list[tuple[str, list[tuple[Any, str, str]]]]:
    return [(i, [(s.payload, s.recorded_at, s.hash) for s in lg.stored(i)])
            for i in lg.issuers()]


def _checkpoints(lg: Ledger) -> list[tuple[Any, ...]]:
    side = lg.checkpoints.side
    assert side is not None
    return sorted((i, str(day), cp.version, cp.lo, cp.hi, cp.blob) for i, day, cp
                  in side.every() if not isinstance(cp, Exception))


def _outcome(lg: Ledger, path: Path) -> Any:
    try:
        got = lg.load_file(path)
    except LedgerError as exc:
        return ("refused", [str(p) for p in exc.problems])
    return ("loaded", got.appended, got.already_present, got.issuers)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Two issuers' histories interleaved by date (one generated, and a renamed copy of
    another), 900 events."""
    a = generate.write(tmp_path / "a.jsonl", 500, seed=4).read_text().splitlines()
    b = generate.write(tmp_path / "b.jsonl", 400, seed=5).read_text()
    b_lines = b.replace(generate.PROBE, "other-issuer").splitlines()
    merged = sorted(a + b_lines, key=lambda x: json.loads(x)["effective_date"])
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(merged) + "\n")
    return path


def test_two_passes_store_what_one_pass_stores(store: StoreSpec, tmp_path: Path,
                                                history: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    one = Ledger.open(str(tmp_path / "one.db"), clock=lambda: STAMP)
    try:
        first = _outcome(one, history)
        again = _outcome(one, history)
        want, want_cps = _content(one), _checkpoints(one)
    finally:
        one.close()
    monkeypatch.setattr(api, "STREAM_BYTES", 0)
    monkeypatch.setattr(eventstore, "PACK_ROWS", 7)  # each issuer's rows in many parts
    with store.open(clock=lambda: STAMP) as lg:
        assert _outcome(lg, history) == first
        assert first[0] == "loaded" and first[1] == 900 and len(first[3]) > 1
        assert _outcome(lg, history) == again == ("loaded", 0, 900, first[3])
        assert _content(lg) == want
        assert _checkpoints(lg) == want_cps
        assert lg.verify() == []


def test_two_passes_name_the_same_problems_and_store_nothing(
        store: StoreSpec, tmp_path: Path, history: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [json.loads(x) for x in history.read_text().splitlines()]
    bad = tmp_path / "bad.jsonl"
    lines = [json.dumps(r) for r in rows]
    # an id used twice with other content, and an issuance to an unknown series
    dup = dict(rows[-1], memo="other content")
    unknown = dict(rows[-1], id="no-such-series", type="SharesIssued", series="Z",
                   holder="Alder", shares="1", price_per_share="1")
    for k in ("from_holder", "to_holder", "amount", "redemption_date"):
        unknown.pop(k, None)
    bad.write_text("\n".join([*lines, json.dumps(dup), json.dumps(unknown)]) + "\n")
    one = Ledger.open(str(tmp_path / "one.db"))
    try:
        want = _outcome(one, bad)
    finally:
        one.close()
    assert want[0] == "refused" and len(want[1]) == 2
    monkeypatch.setattr(api, "STREAM_BYTES", 0)
    before = store.rows()
    with store.open() as lg:
        assert _outcome(lg, bad) == want
    assert store.rows() == before


def test_a_file_that_changes_between_the_passes_stores_nothing(
        sqlite_store: StoreSpec, history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "STREAM_BYTES", 0)
    real = api._Spots.groups

    def edit_then_group(self: Any) -> Any:
        text = history.read_text()
        history.write_text(text.replace('"SharesIssued"', '"SharesIssuedX"', 1))
        return real(self)

    monkeypatch.setattr(api._Spots, "groups", edit_then_group)
    with sqlite_store.open() as lg, pytest.raises(LedgerError,
                                                 match="the file changed while it was"):
        lg.load_file(history)
    with sqlite_store.open() as lg:
        assert lg.issuers() == []


def _log_order(lg: Ledger) -> list[Any]:
    """The stream of each row of the whole log, in the log's order."""
    rec = lg.store.app.recorder
    return [n.originator_id for n in rec.select_notifications(start=1, limit=10**6)]


def test_validated_biggest_first_and_written_in_the_files_order(
        store: StoreSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file read twice is validated biggest issuer first (its peak memory is that
    issuer's alone) and its checkpoints kept on disk until written; the log, its order
    and the checkpoints are the one-pass load's."""
    # (both below ``generate.EXAMPLES_FROM``: one issuer each)
    small = generate.write(tmp_path / "s.jsonl", 150, seed=6).read_text()
    big = generate.write(tmp_path / "b.jsonl", 390, seed=7).read_text()
    lines = small.replace(generate.PROBE, "a-small").splitlines()[:1]  # the small one first
    rest = (small.replace(generate.PROBE, "a-small").splitlines()[1:]
            + big.replace(generate.PROBE, "z-big").splitlines())
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(lines + sorted(rest, key=lambda x: json.loads(x)["effective_date"]))
                    + "\n")
    one = Ledger.open(str(tmp_path / "one.db"), clock=lambda: STAMP)
    try:
        assert _outcome(one, path)[0] == "loaded"
        want = (_content(one), _checkpoints(one), _log_order(one))
    finally:
        one.close()
    orders: list[list[str]] = []
    spills: list[int] = []
    real_order, real_spill = api._Spots.biggest_first, api.Spill.put

    def spy_order(self: Any) -> list[str]:
        orders.append([*self.by_issuer])
        got = real_order(self)
        orders.append(got)
        return got

    def spy_put(self: Any, data: bytes) -> Any:
        spills.append(len(data))
        return real_spill(self, data)

    monkeypatch.setattr(api._Spots, "biggest_first", spy_order)
    monkeypatch.setattr(api.Spill, "put", spy_put)
    monkeypatch.setattr(api, "STREAM_BYTES", 0)
    with store.open(clock=lambda: STAMP) as lg:
        assert _outcome(lg, path) == ("loaded", 540, 0, ["a-small", "z-big"])
        assert orders == [["a-small", "z-big"], ["z-big", "a-small"]]
        assert len(spills) == len(want[1]) and all(spills)  # every state went to disk
        assert (_content(lg), _checkpoints(lg), _log_order(lg)) == want
        assert lg.verify() == []


def test_a_spill_gives_back_what_was_put_or_refuses() -> None:
    from ledger.store.spill import Spill, SpillDamaged

    with Spill() as sp:
        places = [sp.put(bytes([k]) * (k * 1000)) for k in range(1, 6)]
        assert [sp.get(at) for at in reversed(places)] == \
            [bytes([k]) * (k * 1000) for k in range(5, 0, -1)]
        sp._fh.seek(places[2][0])
        sp._fh.write(b"x")  # the file changed under the load
        with pytest.raises(SpillDamaged):
            sp.get(places[2])
        assert sp.get(places[3]) == bytes([4]) * 4000


def test_a_damaged_spill_costs_the_checkpoints_not_the_load(
        sqlite_store: StoreSpec, history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.store.spill import Spill, SpillDamaged

    def broken(self: Any, at: Any) -> bytes:
        raise SpillDamaged("test")

    monkeypatch.setattr(api, "STREAM_BYTES", 0)
    monkeypatch.setattr(Spill, "get", broken)
    with sqlite_store.open() as lg:
        assert _outcome(lg, history)[:2] == ("loaded", 900)
        assert _checkpoints(lg) == []  # a cache: positions replay the log instead
        assert lg.verify() == []
        assert lg.position(dt.date(1991, 6, 30), generate.PROBE)["holders"]
