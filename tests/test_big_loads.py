"""A big file is loaded in two passes (``ledger.api.STREAM_BYTES``): every line checked
first, then each issuer's lines read and parsed again, one issuer at a time. The outcome
is exactly the one-pass load's: the same events stored with the same hashes, the same
checkpoints, the same problems (and nothing stored), the same idempotent reload."""

from __future__ import annotations

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
