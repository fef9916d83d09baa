"""A load into a stored history is validated from the nearest checkpoint before its
earliest date (``Checkpoints.resume_validation``), not by replaying the whole
history: every outcome is the same as validating the whole timeline (the same events
accepted, the same problems named, the same positions), on both stores."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

from benchmarks import generate
from ledger.api import Ledger, LoadResult
from ledger.problems import LedgerError
from ledger.store import checkpoints
from projections.position import position
from tests.conftest import StoreSpec

ISSUER = generate.PROBE


def _outcome(lg: Ledger, lines: list[str]) -> tuple[str, Any]:
    try:
        res: LoadResult = lg.load_lines(lines)
    except LedgerError as exc:
        return "rejected", [(p.line, p.event, p.field, p.message) for p in exc.problems]
    return "loaded", (res.appended, res.already_present)


def _payloads(lg: Ledger) -> list[dict[str, Any]]:
    return [s.payload for s in lg.stored(ISSUER)]


@pytest.fixture
def frequent_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    # many checkpoints in a small history, so most loads find one before their dates
    monkeypatch.setattr(checkpoints, "MIN_GAP", 3)
    monkeypatch.setattr(checkpoints, "MAX_GAP", 6)
    monkeypatch.setattr(checkpoints, "STATE_PER_EVENT", 10**9)


def test_resumed_loads_equal_whole_timeline_validation(
        store: StoreSpec, tmp_path: Path, frequent_checkpoints: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = generate.write(tmp_path / "h.jsonl", 500, seed=21)
    lines = path.read_text().splitlines()
    rows = [json.loads(x) for x in lines]
    first = dt.date.fromisoformat(rows[0]["effective_date"])
    rng = random.Random(7)

    resumed: list[int] = []
    real = checkpoints.Checkpoints.resume_validation

    def spy(*a: Any, **k: Any) -> Any:
        got = real(*a, **k)
        resumed.append(got is not None)
        return got

    monkeypatch.setattr(checkpoints.Checkpoints, "resume_validation", spy)
    fast = store.open()
    whole = Ledger.open(str(tmp_path / "whole.db"))
    whole.resume_loads = False
    try:
        def both(batch: list[str]) -> tuple[str, Any]:
            a, b = _outcome(fast, batch), _outcome(whole, batch)
            assert a == b, batch[:2]
            assert _payloads(fast) == _payloads(whole)
            return a

        # the history in order, in uneven parts (each part after the stored ones)
        cuts = sorted(rng.sample(range(20, len(lines)), 6)) + [len(lines)]
        at = 0
        for c in cuts:
            assert both(lines[at:c])[0] == "loaded"
            at = c
        assert both(lines[100:140]) == ("loaded", (0, 40))  # already present: nothing new

        # back-dated events: valid ones, ones rejected at their own line, and ones that
        # make a later stored event invalid (named on the new line, SPEC.md §1)
        made_later_invalid = 0
        outs = [r for r in rows if r["type"] == "SharesTransferred"][-40:]
        for k, r in enumerate(outs[::4]):
            day = dt.date.fromisoformat(r["effective_date"]) - dt.timedelta(days=20)
            held = {(h["series"], h["holder"]): h["shares"]
                    for h in position(whole.state(day, ISSUER), day)["holders"]}
            shares = held.get((r["series"], r["from_holder"]))
            if shares is None or shares == "0":
                continue
            ev = {"id": f"late-{k}", "type": "SharesTransferred", "issuer": ISSUER,
                  "effective_date": day.isoformat(), "series": r["series"],
                  "from_holder": r["from_holder"], "to_holder": "Back Dated Holder LLC",
                  "shares": shares}
            kind, what = both([json.dumps(ev)])
            if kind == "rejected":
                made_later_invalid += any("makes the later" in p[3] for p in what)
        assert made_later_invalid > 0
        # invalid at its date, valid at the end of the history: a transfer dated before
        # its holder's first shares (a shortcut that replayed it out of order would take it)
        tail = dt.date.fromisoformat(rows[-1]["effective_date"])
        end = {(h["series"], h["holder"]) for h in position(whole.state(tail, ISSUER), tail)[
            "holders"] if h["shares"] != "0"}
        got_first: dict[tuple[str, str], str] = {}
        for r in rows:
            if r["type"] in ("SharesIssued", "SharesTransferred"):
                key = (r["series"], r.get("holder", r.get("to_holder")))
                got_first.setdefault(key, r["effective_date"])
        (series, holder), since = max(((k, d) for k, d in got_first.items() if k in end),
                                      key=lambda kd: kd[1])
        early = {"id": "late-early", "type": "SharesTransferred", "issuer": ISSUER,
                 "effective_date": (dt.date.fromisoformat(since)
                                    - dt.timedelta(days=1)).isoformat(),
                 "series": series, "from_holder": holder, "to_holder": "Y", "shares": "1"}
        assert both([json.dumps(early)])[0] == "rejected"
        too_many = {"id": "late-x", "type": "SharesTransferred", "issuer": ISSUER,
                    "effective_date": (first + dt.timedelta(days=400)).isoformat(),
                    "series": "G", "from_holder": "Nobody Holds This", "to_holder": "X",
                    "shares": "5"}
        assert both([json.dumps(too_many)])[0] == "rejected"
        exercise = {"id": "late-ok", "type": "CommonStockIssued", "issuer": ISSUER,
                    "effective_date": (first + dt.timedelta(days=200)).isoformat(),
                    "shares": "1000", "kind": "option_exercise", "price_per_share": "0.10"}
        assert both([json.dumps(exercise)]) == ("loaded", (1, 0))
        # a reversal is validated over the whole timeline (by design), with the same result
        rev = {"type": "EventReversed", "issuer": ISSUER, "id": "rev-ok",
               "effective_date": rows[-1]["effective_date"], "target_id": "late-ok",
               "reason": "entered in error"}
        assert both([json.dumps(rev)]) == ("loaded", (1, 0))
        later = {"id": "after", "type": "CommonStockIssued", "issuer": ISSUER,
                 "effective_date": (tail + dt.timedelta(days=30)).isoformat(),
                 "shares": "10", "kind": "sale", "price_per_share": "2.00"}
        assert both([json.dumps(later)]) == ("loaded", (1, 0))

        # the checkpoint path was really taken, and every answer is still a full replay's
        assert sum(resumed) >= 5
        for day in [first + dt.timedelta(days=d) for d in (30, 300, 700)] + [tail]:
            want = position(whole.state(day, ISSUER), day)
            assert fast.position(day, ISSUER) == want
            assert position(fast.state(day, ISSUER), day) == want
        assert fast.verify() == []
    finally:
        fast.close()
        whole.close()


def test_no_checkpoint_before_the_load_no_shortcut(sqlite_store: StoreSpec,
                                                    tmp_path: Path) -> None:
    """A load dated on or before the first checkpoint, or holding a reversal, is
    validated over the whole timeline (``resume_validation`` declines)."""
    from ledger.events import parse_line
    from ledger.state import Record

    path = generate.write(tmp_path / "h.jsonl", 120, seed=3)
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])["effective_date"]
    last = json.loads(lines[-1])["effective_date"]
    with sqlite_store.open() as lg:
        lg.load_lines(lines)
        side = lg.checkpoints.side
        assert side is not None and side.count(ISSUER) > 0
        raw = list(lg.store.iter_read(ISSUER))

        def as_new(*evs: dict[str, Any]) -> list[Record]:
            out = []
            for n, e in enumerate(evs, start=1):
                ev = parse_line(json.dumps(e), n)
                assert ev is not None and not isinstance(ev, list)
                out.append(Record(ev, len(raw) + n, n))
            return out

        early = {"id": "early", "type": "CommonStockIssued", "issuer": ISSUER,
                 "effective_date": first, "shares": "10", "kind": "option_exercise",
                 "price_per_share": "0.10"}
        late = {**early, "id": "late", "effective_date": last}
        rev = {"type": "EventReversed", "issuer": ISSUER, "effective_date": last,
               "target_id": json.loads(lines[-1])["id"], "reason": "test"}
        resume = lg.checkpoints.resume_validation
        assert resume(ISSUER, raw, as_new(early)) is None
        assert resume(ISSUER, raw, as_new(late, rev)) is None
        assert resume(ISSUER, raw, as_new(late)) is not None
        assert lg.load_lines([json.dumps(early)]).appended == 1
