"""The shortcuts of the write path (issue 20, performance) give what the long way gives:
the canonical JSON of the hash chain, names checked once per distinct name, and the
event named in a problem only when there is one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from ledger import api, events, forked
from ledger.events import parse_line
from ledger.problems import LedgerError
from ledger.store import chain
from tests.conftest import HISTORY


def test_canonical_json_is_the_bytes_of_json_dumps() -> None:
    """SPEC.md §10: the hash chain is taken over exactly these bytes."""
    samples = [json.loads(line) for line in HISTORY.read_text().splitlines()]
    samples.append({"z": 1, "a": {"é": "ü\u2028", "b": [1, "x", None, True]}, "m": "\x00"})
    for obj in samples:
        assert chain.canonical(obj) == json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _issued(holder: str) -> str:
    return json.dumps({"type": "SharesIssued", "effective_date": "2001-01-02",
                       "series": "G", "holder": holder, "shares": "1",
                       "price_per_share": "1"})


@pytest.mark.parametrize("bad,words", [
    ("Alder\u200b", "zero-width"), (" Alder", "whitespace"), ("Al\x07der", "control")])
def test_a_bad_name_is_refused_after_good_ones_were_remembered(bad: str, words: str) -> None:
    for _ in range(2):  # the second time from the memo of accepted names
        assert not isinstance(parse_line(_issued("Alder"), 1), list)
        got = parse_line(_issued(bad), 2)
        assert isinstance(got, list) and got[0].field == "holder"
        assert words in got[0].message


def test_the_memo_of_names_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "MAX_CLEAN_NAMES", 3)
    monkeypatch.setattr(events, "_CLEAN_NAMES", (set(), set()))
    for k in range(10):
        assert not isinstance(parse_line(_issued(f"Holder {k}"), 1), list)
        assert all(len(s) <= 3 for s in events._CLEAN_NAMES)


def test_a_problem_still_names_its_event() -> None:
    line = json.dumps({"type": "SharesIssued", "id": "ev-1", "effective_date": "2001-01-02",
                       "series": "G", "holder": "A", "shares": "-1", "price_per_share": "1"})
    got = parse_line(line, 7)
    assert isinstance(got, list)
    assert got[0].line == 7 and got[0].event == "SharesIssued id=ev-1"


# -- a big load of new issuers: part of them validated in a forked child -------------------

FIXED = "2026-01-02T03:04:05+00:00"


def _issuers_file(tmp_path: Any, bad: dict[str, str] | None = None) -> Any:
    """The nStor history three times over, as issuers a, b and c (``bad``: issuer ->
    the id of the transfer given far more shares than its holder has)."""
    out = []
    for issuer in ("a", "b", "c"):
        for line in HISTORY.read_text().splitlines():
            obj = json.loads(line)
            obj["issuer"] = issuer
            obj["id"] = f"{issuer}-{obj['id']}"
            if bad and bad.get(issuer) == obj["id"]:
                obj["shares"] = "999999999"
            out.append(json.dumps(obj))
    path = tmp_path / "abc.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path


def _load(spec: Any, path: Any, fork: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(api, "FORK_EVENTS", 0 if fork else 10**12)
    made: list[int] = []
    real = forked.Forked.__init__

    def spy(self: forked.Forked, work: Any) -> None:
        made.append(1)
        real(self, work)
    monkeypatch.setattr(forked.Forked, "__init__", spy)
    lg = spec.open()
    lg.clock = lambda: FIXED
    try:
        try:
            got: Any = lg.load_file(path)
        except LedgerError as exc:
            got = exc
        assert bool(made) == (fork and forked.available())
        hist = [(s.issuer, s.position, s.payload, s.recorded_at, s.hash)
                for i in sorted(lg.issuers()) for s in lg.iter_history(i)]
        days = [dt.date(2001, 6, 30), dt.date(2003, 12, 31), dt.date(2006, 1, 1)]
        positions = [lg.position(d, i) for i in ("a", "b", "c") for d in days] if hist else []
        return got, hist, positions, lg.verify()
    finally:
        lg.close()


def test_a_forked_load_stores_what_one_process_stores(store: Any, other: Any, tmp_path: Any,
                                                      monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    """Same events, hash chain, recorded times and answers (checkpoints included) as the
    same load validated in one process, on both stores."""
    path = _issuers_file(tmp_path)
    one = _load(store, path, False, monkeypatch)
    two = _load(other, path, True, monkeypatch)
    assert one[0].appended == two[0].appended == 3 * 76
    assert one[1:] == two[1:]
    assert one[3] == []  # verify: nothing broken


def test_a_forked_load_names_the_same_problems(store: Any, other: Any, tmp_path: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems of issuers validated in the child and here, in the same order; nothing
    stored."""
    path = _issuers_file(tmp_path, {"a": "a-nstor-0013", "c": "c-nstor-0015"})
    one = _load(store, path, False, monkeypatch)
    two = _load(other, path, True, monkeypatch)
    assert isinstance(one[0], LedgerError) and isinstance(two[0], LedgerError)
    assert one[0].problems == two[0].problems
    assert [p.event.split()[-1] for p in one[0].problems][:2] == ["id=a-nstor-0013",
                                                                 "id=c-nstor-0015"]
    assert one[1] == two[1] == []


def test_a_failed_child_leaves_the_work_to_the_parent(sqlite_store: Any, tmp_path: Any,
                                                      monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    def fail(self: forked.Forked) -> Any:
        raise forked.ForkFailed("as if killed")
    monkeypatch.setattr(forked.Forked, "result", fail)
    path = _issuers_file(tmp_path)
    got, hist, _, problems = _load(sqlite_store, path, True, monkeypatch)
    assert got.appended == 3 * 76 and len(hist) == 3 * 76 and problems == []


def test_a_child_returns_its_value_or_fails() -> None:
    if not forked.available():
        pytest.skip("one core or no fork here")
    assert forked.Forked(lambda: {"x": [1, 2]}).result() == {"x": [1, 2]}
    with pytest.raises(forked.ForkFailed, match="ZeroDivisionError"):
        forked.Forked(lambda: 1 // 0).result()
    slow = forked.Forked(lambda: __import__("time").sleep(30))
    slow.close()  # stopped, reaped
    assert slow.pid is None


def test_no_fork_while_another_thread_runs() -> None:
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not forked.available()
    finally:
        stop.set()
        t.join()
