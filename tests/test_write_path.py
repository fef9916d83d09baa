"""The shortcuts of the write path (issue 20, performance) give what the long way gives:
the canonical JSON of the hash chain, names checked once per distinct name, and the
event named in a problem only when there is one."""

from __future__ import annotations

import json

import pytest

from ledger import events
from ledger.events import parse_line
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
