"""The id index beside the log (``ledger.store.ids``): a load checks its ids against it
instead of reading the issuer's whole stream, on both stores. Reloads stay idempotent by
id, a stored id with other content is refused, an index behind the log (or missing, as
in a store written before it) is rebuilt from the log by the next load, and an index that
claims to cover the log but disagrees with it is named by ``verify`` and derived again
by ``rebuild``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.problems import LedgerError
from ledger.store import ids
from ledger.store.eventstore import Store
from projections.feed.projector import Projector
from tests.conftest import HISTORY, StoreSpec
from tests.test_audit import Raw

EXTRA = {"id": "extra-1", "type": "SharesIssued", "effective_date": "2005-07-01",
         "series": "G", "holder": "Alder", "shares": "10", "price_per_share": "1000"}


class Index(Raw):
    """The id index tables of a store, read and edited around the ledger."""

    def __init__(self, spec: StoreSpec) -> None:
        super().__init__(spec)
        if spec.kind == "sqlite":
            self.ids, self.streams = ids.IDS, ids.STREAMS
        else:
            schema = str(spec.url).split("schema=")[1]
            self.ids, self.streams = f'"{schema}".{ids.IDS}', f'"{schema}".{ids.STREAMS}'

    def stream(self, issuer: str = "default") -> str:
        from ledger.store.eventstore import issuer_id

        return issuer_id(issuer).hex

    def rows(self, issuer: str = "default") -> dict[str, int]:
        return {k: p for k, p in self._run(f"SELECT key, position FROM {self.ids} WHERE "
                                           "stream = ?", (self.stream(issuer),))}

    def covered(self, issuer: str = "default") -> int | None:
        got = self._run(f"SELECT events FROM {self.streams} WHERE stream = ?",
                        (self.stream(issuer),))
        return got[0][0] if got else None


def _ids_in(path: Path) -> dict[str, int]:
    """Each event's id and its position in the (single-issuer) file, by hand."""
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            eid = json.loads(line).get("id")
            if eid is not None:
                out.setdefault(eid, n)
    return out


def test_each_stored_id_is_indexed_with_its_position(store: StoreSpec) -> None:
    with store.open() as lg:
        lg.load_file(HISTORY)
        n = lg.store.version("default")
    idx = Index(store)
    assert idx.rows() == _ids_in(HISTORY)
    assert idx.covered() == n == len(HISTORY.read_text().splitlines())


def test_a_reload_is_idempotent_by_id_without_reading_the_stream(
        store: StoreSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.open() as lg:
        lg.load_file(HISTORY)
    before = Raw(store).versions()
    reads: list[tuple[int, int | None]] = []
    real = Store.iter_read

    def spy(self: Store, issuer: str, after: int = 0, upto: int | None = None) -> Any:
        reads.append((after, upto))
        return real(self, issuer, after, upto)

    monkeypatch.setattr(Store, "iter_read", spy)
    with store.open() as lg:
        got = lg.load_lines([json.dumps(EXTRA)])
        n = lg.store.version("default")
        assert got.appended == 1
        # the last event (its recorded time) and the events from the checkpoint on:
        # never the stream from its start
        assert reads and all(after > 0 for after, _ in reads), reads
        again = lg.load_lines([json.dumps(EXTRA)])
    assert (again.appended, again.already_present) == (0, 1)
    assert Raw(store).versions() == before + [before[-1] + 1]
    assert Index(store).rows()["extra-1"] == n


def test_the_same_id_with_other_content_across_two_loads_is_refused(
        store: StoreSpec) -> None:
    with store.open() as lg:
        lg.load_file(HISTORY)
        lg.load_lines([json.dumps(EXTRA)])
    before = store.rows()
    with store.open() as lg, pytest.raises(LedgerError) as err:
        lg.load_lines([json.dumps({**EXTRA, "shares": "11"})])
    assert "id 'extra-1' is already used in the ledger for different content" in str(
        err.value)
    assert store.rows() == before


def test_an_index_behind_the_log_is_rebuilt_by_the_next_load(store: StoreSpec) -> None:
    """A store written before the index existed: no index rows, no count. The next load
    rebuilds the index from the log and still refuses a stored id with other content."""
    with store.open() as lg:
        lg.load_file(HISTORY)
        lg.load_lines([json.dumps(EXTRA)])
        n = lg.store.version("default")
    idx = Index(store)
    idx._run(f"DELETE FROM {idx.ids}")
    idx._run(f"DELETE FROM {idx.streams}")
    with store.open() as lg:
        assert lg.verify() == []  # behind the log: not damage, rebuilt on use
        with pytest.raises(LedgerError, match="already used in the ledger"):
            lg.load_lines([json.dumps({**EXTRA, "shares": "11"})])
    assert idx.covered() == n
    assert idx.rows() == {**_ids_in(HISTORY), "extra-1": n}


def test_an_index_that_disagrees_with_the_log_is_named_by_verify_and_rebuilt(
        store: StoreSpec, tmp_path: Path) -> None:
    """An index row deleted (the count still covering the stream) would let a stored id
    in again: ``verify`` names it, ``rebuild`` derives the index again from the log."""
    with store.open() as lg:
        lg.load_file(HISTORY)
        lg.load_lines([json.dumps(EXTRA)])
        assert lg.verify() == []
    idx = Index(store)
    idx._run(f"DELETE FROM {idx.ids} WHERE key = ?", ("extra-1",))
    with store.open() as lg:
        problems = lg.verify()
        assert [(p.event, p.field) for p in problems] == [
            ("id index of issuer 'default'", "id")]
        assert "the id index disagrees with the log" in problems[0].message
        Projector(lg, tmp_path / "report.db").rebuild()
        assert lg.verify() == []
        with pytest.raises(LedgerError, match="already used in the ledger"):
            lg.load_lines([json.dumps({**EXTRA, "shares": "11"})])


def test_an_index_row_pointing_at_another_event_is_rebuilt(store: StoreSpec) -> None:
    """A hit is checked against the stored event at its position: a row that points at
    an event with another id makes the load rebuild the index from the log."""
    with store.open() as lg:
        lg.load_file(HISTORY)
        lg.load_lines([json.dumps(EXTRA)])
        n = lg.store.version("default")
    idx = Index(store)
    idx._run(f"UPDATE {idx.ids} SET position = ? WHERE key = ?", (1, "extra-1"))
    with store.open() as lg:
        got = lg.load_lines([json.dumps(EXTRA)])
        assert (got.appended, got.already_present) == (0, 1)
    assert idx.rows()["extra-1"] == n


def test_an_encrypted_store_indexes_no_id_in_clear(store: StoreSpec,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from eventsourcing.cipher import AESCipher

    from ledger.store.eventstore import CIPHER_ENV

    monkeypatch.setenv(CIPHER_ENV, AESCipher.create_key(32))
    with store.open() as lg:
        lg.load_file(HISTORY)
        again = lg.load_file(HISTORY)
        assert again.appended == 0
        assert lg.verify() == []
    keys = set(Index(store).rows())
    assert len(keys) == len(_ids_in(HISTORY))
    assert not keys & set(_ids_in(HISTORY))  # HMACs, not the ids
