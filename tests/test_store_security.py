"""What a tamperer with write access to the database can and cannot do, on both stores
(rows edited straight through sqlite3 / psycopg, as in tests/test_audit.py).

- Checkpoints (the side table ``prefledger_checkpoints``) are plain data bound to the
  log: a pickled object graph, an edited figure, a row of another log or another
  stream version, malformed JSON or an oversized row runs no code, changes no answer,
  lets no load through that breaks a rule, and is named by a one-line warning.
- ``verify`` never crashes and names every kind of damage, one line each (exit 1),
  damaged checkpoints included, and decodes no row whose type is not the ledger's.
- Opening: a PostgreSQL URL without a database, the open lock of another schema, a
  lock held too long, a ``--db`` that is not a SQLite file: exit 2, one line.
- The reporting export reads the log, never its own ``events`` table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import pickle
import sqlite3
import struct
import sys
import threading
import time
import warnings
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from ledger.api import Ledger
from ledger.cli import app
from ledger.problems import LedgerError
from ledger.state import IssuerState, SeriesState
from ledger.store import checkpoints
from projections.position import position
from tests.conftest import HISTORY, PG_URL, StoreSpec
from tests.test_audit import Raw

DAY = dt.date(2005, 12, 31)  # after the fixture's last checkpoint (2005-06-10)
#: a G issuance after that checkpoint: the fixture issued 600 + 400 + 500 = 1,500 of
#: the 2,000 authorized (Series G §1), so 1,900 more would make 3,400
OVER = {"type": "SharesIssued", "effective_date": "2005-07-01", "series": "G",
        "holder": "Zed Fund", "shares": "1900"}


# -- the tamperer's view of the side table ------------------------------------------------

class Side:
    """The checkpoint rows, read and written around the ledger."""

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        if spec.kind == "sqlite":
            self.table = checkpoints.TABLE
        else:
            schema = str(spec.url).split("schema=")[1]
            self.table = f'"{schema}".{checkpoints.TABLE}'

    def _run(self, sql: str, params: Any = ()) -> tuple[list[str], list[Any]]:
        if self.spec.kind == "sqlite":
            c = sqlite3.connect(str(self.spec.db))
            try:
                cur = c.execute(sql, params)
                out = ([d[0] for d in cur.description] if cur.description else [],
                       cur.fetchall())
                c.commit()
                return out
            finally:
                c.close()
        with psycopg.connect(PG_URL, autocommit=True) as c:
            cur = c.execute(sql.replace("?", "%s"), params)
            if cur.description is None:
                return [], []
            return [d[0] for d in cur.description], cur.fetchall()

    def rows(self) -> list[dict[str, Any]]:
        names, rows = self._run(f"SELECT * FROM {self.table} ORDER BY day")
        return [dict(zip(names, (bytes(v) if isinstance(v, memoryview) else v for v in r),
                         strict=True)) for r in rows]

    def replace(self, rows: list[dict[str, Any]]) -> None:
        self._run(f"DELETE FROM {self.table}")
        for r in rows:
            cols = list(r)
            self._run(f"INSERT INTO {self.table} ({', '.join(cols)}) VALUES "
                      f"({', '.join('?' * len(cols))})", tuple(r[c] for c in cols))

    def set(self, day: str, **cols: Any) -> None:
        sets = ", ".join(f"{c} = ?" for c in cols)
        self._run(f"UPDATE {self.table} SET {sets} WHERE day = ?", (*cols.values(), day))


def digest(issuer: str, day: str, version: int, lo: int, hi: int, head: str,
           state: bytes) -> tuple[str, str]:
    """The documented binding, written out independently of ledger/store/checkpoints.py:
    body = SHA-256 of the state bytes; digest = SHA-256 of the canonical JSON (sorted
    keys, no spaces) of {issuer, day, version, lo, hi, head, state: body}."""
    body = hashlib.sha256(state).hexdigest()
    text = json.dumps({"issuer": issuer, "day": day, "version": version, "lo": lo, "hi": hi,
                       "head": head, "state": body}, sort_keys=True, separators=(",", ":"))
    return body, hashlib.sha256(text.encode()).hexdigest()


def _index(cls: type, name: str) -> int:
    return [f.name for f in dataclasses.fields(cls)].index(name)


def forge_issued_total(blob: bytes, series: str, value: str) -> bytes:
    """The checkpoint's ``issued_total`` of ``series`` set to ``value``, whatever the
    format: the JSON of today, or the pickled state of before (the tamperer edits
    whichever is there)."""
    raw = zlib.decompress(blob)
    try:
        doc = json.loads(raw)
    except ValueError:  # a pickled checkpoint
        st, des, rev = pickle.loads(raw)  # noqa: S301 - the tamperer's own tool
        st.series[series].issued_total = Decimal(value)
        return zlib.compress(pickle.dumps((st, des, rev)))
    state = doc["data"][0]  # Frozen(state, designations, reversed)
    state[_index(IssuerState, "series")][series][_index(SeriesState, "issued_total")] = value
    return zlib.compress(json.dumps(doc).encode())


def os_system_pickle(command: str) -> bytes:
    """A pickle that calls ``os.system(command)`` when loaded, naming it through a
    ledger module (``ledger.store.eventstore`` imports ``os``), as an allow-list of
    module names would let through."""
    def text(s: str) -> bytes:
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b
    return (b"\x80\x04" + text("ledger.store.eventstore") + text("os.system") + b"\x93"
            + text(command) + b"\x85R.")


def full(lg: Ledger, day: dt.date) -> dict[str, Any]:
    """The position by a full replay of the log (no checkpoint)."""
    return position(lg.state(day), day)


def series_of(rep: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in rep["series"] if s["series"] == name)


@pytest.fixture
def loaded(store: StoreSpec) -> StoreSpec:
    with store.open() as lg:
        lg.load_file(HISTORY)
        assert lg.checkpoints.side is not None
        assert lg.checkpoints.side.count("default") == 2  # 2000-12-28 and 2005-06-10
    return store


def _warnings_of(fn: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in got
                 if issubclass(w.category, checkpoints.CheckpointWarning)]


def refused(spec: StoreSpec, words: str) -> dict[str, Any]:
    """With a bad checkpoint in place: a load that breaks a rule (1,900 more G) is still
    rejected and stores nothing, a position equals a full replay, and each warns once,
    naming ``words``. Returns the position as of ``DAY``."""
    before = spec.content()
    with spec.open() as lg:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            with pytest.raises(LedgerError) as exc:
                lg.load_lines([json.dumps(OVER)])
        assert "would bring Series G to 3400 shares issued, more than the 2000 " \
               "authorized" in str(exc.value.problems[0])
        seen = [str(w.message) for w in got
                if issubclass(w.category, checkpoints.CheckpointWarning)]
        assert len(seen) == 1 and words in seen[0], seen
        assert "; validating the load against the whole log" in seen[0]
        rep, seen = _warnings_of(lambda: lg.position(DAY))
        assert rep == full(lg, DAY)
        assert len(seen) == 1 and words in seen[0], seen
        assert "; answered from the full log, and the issuer's checkpoints rebuilt" in seen[0]
    assert spec.content() == before
    return rep


# -- 1. checkpoints: no code, no changed answer, no broken rule -----------------------------

def test_a_pickled_checkpoint_runs_no_code(loaded: StoreSpec, tmp_path: Path) -> None:
    """Every checkpoint row replaced by a pickle that would create a marker file through
    ``os.system``: positions, a load and verify never run it."""
    marker = tmp_path / "pwned"
    side = Side(loaded)
    evil = zlib.compress(os_system_pickle(f"touch {marker}"))
    for r in side.rows():
        side.set(r["day"], state=evil)
    refused(loaded, "ignored the checkpoint of issuer 'default' at 2005-06-10: its digest "
                    "does not match its content")
    assert not marker.exists()
    # even with the binding recomputed (a tamperer who knows the formula), it is not
    # JSON: refused as malformed, never unpickled
    side = Side(loaded)
    for r in side.rows():
        body, dg = digest(r["issuer"], r["day"], r["version"], r["lo"], r["hi"], r["head"],
                          evil)
        side.set(r["day"], state=evil, body=body, digest=dg)
    with loaded.open() as lg:
        res, seen = _warnings_of(lambda: lg.load_lines([json.dumps(
            {**OVER, "shares": "100", "id": "ok-1"})]))  # 1,500 + 100 <= 2,000
        assert res.appended == 1 and not marker.exists()
        assert seen and "malformed (not JSON" in seen[0]
        assert "validating the load against the whole log" in seen[0]
        june = dt.date(2005, 6, 30)  # from the 2005-06-10 row, kept through the load
        rep, seen = _warnings_of(lambda: lg.position(june))
        assert rep == full(lg, june) and not marker.exists()
        assert seen and "malformed (not JSON" in seen[0]
        assert lg.verify() == [] and not marker.exists()  # healed; its binding held


def test_a_forged_figure_changes_no_answer_and_breaks_no_rule(loaded: StoreSpec) -> None:
    """G's ``issued_total`` set to 0 in every checkpoint: the position still says 1,500
    issued (600 + 400 + 500), and 1,900 more G are still refused (3,400 > 2,000)."""
    side = Side(loaded)
    for r in side.rows():
        side.set(r["day"], state=forge_issued_total(r["state"], "G", "0"))
    with loaded.open() as lg:
        rep, seen = _warnings_of(lambda: lg.position(DAY))
        assert series_of(rep, "G")["issued_total"] == "1500"
        assert rep == full(lg, DAY)
        assert len(seen) == 1 and "digest does not match its content" in seen[0]
        assert "answered from the full log" in seen[0]
    side = Side(loaded)
    for r in side.rows():  # forged again (the position above rebuilt them)
        side.set(r["day"], state=forge_issued_total(r["state"], "G", "0"))
    with loaded.open() as lg:
        before = loaded.content()
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            with pytest.raises(LedgerError) as exc:
                lg.load_lines([json.dumps(OVER)])
        assert "would bring Series G to 3400 shares issued, more than the 2000 " \
               "authorized" in str(exc.value.problems[0])
        assert any("validating the load against the whole log" in str(w.message)
                   for w in got)
    assert loaded.content() == before


def test_a_checkpoint_of_another_log_is_not_used(loaded: StoreSpec, tmp_path: Path) -> None:
    """Rows copied from another ledger of the same length whose opening common balance
    is 100 shares more (30,000,100, and its tie-out 31,000,100): their digests are sound,
    but event 76 of this stream has another hash, so they are refused and the answer is
    this log's, 100 common shares fewer than the other ledger's."""
    other = StoreSpec("sqlite", db=str(tmp_path / "other.db"))
    text = HISTORY.read_text()
    forged = text.replace('"shares": "30000000", "kind": "opening"',
                          '"shares": "30000100", "kind": "opening"').replace(
        '"series": "common", "shares": "31000000"', '"series": "common", "shares": "31000100"')
    assert forged.count("30000100") == 1 and forged.count("31000100") == 1
    with other.open() as lg:
        lg.load_lines(forged.splitlines())
        theirs = lg.position(DAY)["common_outstanding"]
    foreign = Side(other).rows()
    assert [r["version"] for r in foreign] == [76, 76]  # the same length as this log
    Side(loaded).replace(foreign)
    rep = refused(loaded, "not built from this log (event 76 of the stream has another "
                          "hash)")
    assert Decimal(theirs) - Decimal(rep["common_outstanding"]) == 100


def test_a_checkpoint_for_another_stream_version_is_not_used(loaded: StoreSpec) -> None:
    """A row re-labelled as built from 75 events (or from more events than the stream
    has, with its binding recomputed): refused, answers from the log."""
    side = Side(loaded)
    last = side.rows()[-1]
    side.set(last["day"], version=75)
    refused(loaded, "its digest does not match its content (edited or damaged)")
    side = Side(loaded)
    last = side.rows()[-1]
    body, dg = digest("default", last["day"], 90, last["lo"], last["hi"], last["head"],
                      last["state"])
    side.set(last["day"], version=90, body=body, digest=dg)
    refused(loaded, "it was built from a stream of 90 events, longer than this one")


@pytest.mark.parametrize("kind", ["not zlib", "not json", "wrong type", "unknown field",
                                  "out of range", "a float", "not a document"])
def test_a_malformed_checkpoint_is_ignored(loaded: StoreSpec, kind: str) -> None:
    """Malformed state bytes, even with the binding recomputed: refused by the strict
    decoder, with a warning naming what is wrong; the answer is the log's."""
    side = Side(loaded)
    last = side.rows()[-1]
    doc = json.loads(zlib.decompress(last["state"]))
    g = doc["data"][0][_index(IssuerState, "series")]["G"]
    at = _index(SeriesState, "issued_total")
    if kind == "not zlib":
        state = b"\x00garbage"
    elif kind == "not json":
        state = zlib.compress(b'{"format": 1, "schema": ')
    else:
        if kind == "wrong type":
            g[at] = 1500  # a JSON number, not a decimal string
        elif kind == "unknown field":
            g.append("extra")
        elif kind == "out of range":
            g[at] = "1E+999"
        elif kind == "a float":
            doc["format"] = 1.0
        else:
            doc = {"format": 1}
        state = zlib.compress(json.dumps(doc).encode())
    body, dg = digest("default", last["day"], last["version"], last["lo"], last["hi"],
                      last["head"], state)
    side.set(last["day"], state=state, body=body, digest=dg)
    n = len(dataclasses.fields(SeriesState))
    words = {"not zlib": "malformed (not zlib data", "not json": "malformed (not JSON",
             "wrong type": "issued_total: '1500' is not a decimal number written as a "
                           "string",
             "unknown field": f"SeriesState: {n + 1} fields, expected {n}",
             "out of range": "issued_total: '1E+999' is out of range",
             "a float": "malformed (not JSON: a float", "not a document":
             "malformed (not a checkpoint document)"}[kind]
    refused(loaded, words)


def test_an_oversized_checkpoint_is_refused(loaded: StoreSpec,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A row that inflates beyond the limit (a zlib bomb) is refused before it is
    parsed, and so is a row stored larger than the limit."""
    monkeypatch.setattr(checkpoints, "MAX_STATE_BYTES", 2**20)
    monkeypatch.setattr(checkpoints, "MAX_ROW_BYTES", 2**20)
    side = Side(loaded)
    last = side.rows()[-1]
    bomb = zlib.compress(b" " * (2**20 + 10))
    assert len(bomb) < 5000
    body, dg = digest("default", last["day"], last["version"], last["lo"], last["hi"],
                      last["head"], bomb)
    side.set(last["day"], state=bomb, body=body, digest=dg)
    refused(loaded, "it is oversized (its state inflates beyond 1,048,576 bytes)")
    side = Side(loaded)
    last = side.rows()[-1]
    big = bytes(range(256)) * (2**20 // 256 + 8)
    side.set(last["day"], state=big)
    refused(loaded, "it is oversized (1,050,624 bytes; the limit is 1,048,576)")


def test_a_forged_checkpoint_warns_on_one_line_at_the_command_line(loaded: StoreSpec
                                                                  ) -> None:
    side = Side(loaded)
    for r in side.rows():
        side.set(r["day"], state=forge_issued_total(r["state"], "G", "0"))
    r = CliRunner().invoke(app, [*loaded.args, "position", "--as-of", "2005-12-31",
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert series_of(json.loads(r.stdout), "G")["issued_total"] == "1500"
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("warning: ignored the checkpoint of issuer 'default' at "
                               "2005-06-10: its digest does not match its content")
    # healed: the next question is answered from fresh checkpoints, without a warning
    r = CliRunner().invoke(app, [*loaded.args, "position", "--as-of", "2005-12-31"])
    assert r.exit_code == 0 and r.stderr == ""


# -- 2. verify: never a traceback, every kind of damage named, one line each ---------------

def _verify(spec: StoreSpec) -> Any:
    r = CliRunner().invoke(app, [*spec.args, "verify"])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    return r


def _evil_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A module that, if imported, creates a marker file."""
    marker = tmp_path / "imported"
    name = f"evil_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass X: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, marker


def _renumber_newest(raw: Raw) -> None:
    n = raw.versions()[-1]
    raw._run(f"UPDATE {raw.events} SET originator_version = ? WHERE originator_id = ? AND "
             "originator_version = ?", (n + 5, raw._oid("default"), n))


def _set_snapshot_topic(raw: Raw, topic: str) -> None:
    raw._run(f"UPDATE {raw.snapshots} SET topic = ? WHERE originator_id = ?",
             (topic, raw._oid("default")))


def _damage_checkpoint(spec: StoreSpec) -> None:
    side = Side(spec)
    last = side.rows()[-1]
    side.set(last["day"], state=forge_issued_total(last["state"], "G", "0"))


N = len(HISTORY.read_text().splitlines())  # 76 events: stream positions 1..76

DAMAGE = {
    # the newest row moved to version 82: events 1..75, then "event 81"
    "renumbered newest row": (_renumber_newest, ["event 81 (BalanceAsserted id=nstor-0038, "
                                                 "2005-12-31) field position: the stream "
                                                 "jumps from event 75 to event 81: 5 "
                                                 "event(s) are missing before it"]),
    "deleted row": (lambda raw: raw.delete(11), [  # version 11: stream position 10
        "event 11 (DividendPaid id=nstor-0010, 2001-06-10) field position: the stream jumps "
        "from event 9 to event 11: 1 event(s) are missing before it"]),
    "deleted newest row": (lambda raw: raw.delete(N + 1), [
        f"after event {N - 1} field position", f"the stream ends at event {N - 1} but a "
        f"snapshot records {N} events"]),
    "edited payload": (lambda raw: raw.edit_payload(4, shares="6000"), [
        "event 3 (SharesIssued id=nstor-0003, 2000-12-28) field hash: content does not "
        "match its hash"]),
    "edited hash": (lambda raw: raw.set_state(9, {**raw.state(9), "hash": "0" * 64}), [
        "event 8", "field hash"]),
    "forged event topic": (lambda raw: raw.set_topic(7, "ledger.store:IssuerLedger.Opened"), [
        "event 6", "field topic: unexpected event type in the stream"]),
    "forged snapshot topic": (lambda raw: _set_snapshot_topic(
        raw, "ledger.store:IssuerLedger.Recorded"), [
        f"event {N} (BalanceAsserted id=nstor-0038, 2005-12-31) field snapshot: the "
        "snapshot taken at this event names the type 'ledger.store:IssuerLedger.Recorded', "
        "not a snapshot of the ledger's"]),
    "damaged checkpoint": (lambda raw: _damage_checkpoint(raw.spec), [
        "checkpoint of issuer 'default' at 2005-06-10 field checkpoint: damaged cache: its "
        "digest does not match its content (edited or damaged); answers do not use it"]),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_verify_names_every_kind_of_damage_on_one_line(store: StoreSpec, kind: str) -> None:
    with store.open() as lg:
        lg.load_file(HISTORY)
    damage, words = DAMAGE[kind]
    raw = Raw(store)
    damage(raw)
    r = _verify(store)
    assert r.exit_code == 1, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("broken: ")
    for w in words:
        assert w in lines[0], (w, lines[0])
    with store.open() as lg:  # and the Python API says the same
        assert [f"broken: {p}" for p in lg.verify()] == lines


def test_verify_reports_each_problem_on_its_own_line(store: StoreSpec) -> None:
    """An edited payload in one issuer and a damaged checkpoint of another: two lines,
    exit 1. (The checkpoints of a broken stream are not checked: its first break is what
    verify names.)"""
    with store.open() as lg:
        lg.load_file(HISTORY)
        lg.load_lines([json.dumps({"type": "CommonStockIssued", "issuer": "acme",
                                   "effective_date": "2001-01-02", "shares": "10",
                                   "kind": "opening"})])
    raw = Raw(store)
    raw.edit_payload(2, "acme", shares="20")
    _damage_checkpoint(store)
    r = _verify(store)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 2, r.stderr
    assert "issuer 'acme' event 1 (CommonStockIssued, 2001-01-02) field hash" in lines[0]
    assert "checkpoint of issuer 'default' at 2005-06-10" in lines[1]
    assert "damaged cache" in lines[1]
    raw.edit_payload(4, shares="6000")  # now 'default' is broken too: its first break
    lines = _verify(store).stderr.splitlines()
    assert len(lines) == 2 and "issuer 'default' event 3" in "".join(lines)
    assert "damaged cache" not in "".join(lines)


def test_a_row_naming_another_type_is_never_decoded(store: StoreSpec, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An event row and a snapshot row whose topic names a module that would run code
    when imported: verify names both kinds, and the module is never imported (decoding a
    row resolves its topic, and resolving a topic imports the module)."""
    module, marker = _evil_module(tmp_path, monkeypatch)
    with store.open() as lg:
        lg.load_file(HISTORY)
    raw = Raw(store)
    raw.set_topic(7, f"{module}:X")
    r = _verify(store)
    assert r.exit_code == 1 and not marker.exists()
    assert f"event 6 field topic: the stored row names the type '{module}:X', not one of " \
           "the ledger's" in r.stderr
    raw.set_topic(7, "ledger.store:IssuerLedger.Recorded")
    _set_snapshot_topic(raw, f"{module}:X")
    r = _verify(store)
    assert r.exit_code == 1 and not marker.exists()
    assert f"the snapshot taken at this event names the type '{module}:X'" in r.stderr
    with store.open() as lg:  # reading the stream (the snapshot is passed over)
        assert lg.store.version("default") == N
        assert len(lg.stored("default")) == N
    assert not marker.exists()


def test_a_stream_with_a_damaged_snapshot_still_answers(store: StoreSpec) -> None:
    """The library reads an issuer's count from its latest snapshot: a forged one is
    passed over (the events alone say how many there are), so loads and verify work."""
    with store.open() as lg:
        lg.load_file(HISTORY)
    _set_snapshot_topic(Raw(store), "ledger.store:IssuerLedger.Recorded")
    with store.open() as lg:
        assert lg.store.version("default") == N
        res = lg.load_lines([json.dumps({**OVER, "shares": "100"})])
        assert res.appended == 1
        assert lg.store.version("default") == N + 1


# -- 3. opening PostgreSQL ---------------------------------------------------------------

@pytest.mark.parametrize("url", ["postgresql://", "postgresql://postgres@127.0.0.1:5432",
                                 "postgresql://postgres@127.0.0.1:5432/?schema=x"])
def test_a_url_without_a_database_is_refused(url: str, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    r = CliRunner().invoke(app, ["--database-url", url, "verify"])
    assert r.exit_code == 2, r.output
    assert r.stderr.splitlines() == ["error: the URL names no database; add /DBNAME (as in "
                                     "postgresql://USER@HOST:5432/DBNAME)"]
    monkeypatch.setenv("PREFLEDGER_DATABASE_URL", url)
    r = CliRunner().invoke(app, ["history"])
    assert r.exit_code == 2 and "the URL names no database; add /DBNAME" in r.stderr


def _open_key(db: str, schema: str) -> int:
    """The documented open-lock key, written out independently: the first 8 bytes of
    SHA-256("prefledger open\\0" + database + "\\0" + schema), a signed 64-bit integer."""
    digest = hashlib.sha256(f"prefledger open\0{db}\0{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@pytest.fixture
def two_schemas() -> Any:
    import uuid

    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with psycopg.connect(PG_URL, autocommit=True) as c:
        for n in names:
            c.execute(f'CREATE SCHEMA "{n}"')
    yield names
    with psycopg.connect(PG_URL, autocommit=True) as c:
        for n in names:
            c.execute(f'DROP SCHEMA "{n}" CASCADE')


def test_the_open_lock_is_per_schema_and_times_out(two_schemas: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.store import eventstore

    a, b = two_schemas
    holder = psycopg.connect(PG_URL, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (_open_key("test", a),))
        # another schema does not wait for it
        opened: list[Any] = []
        t = threading.Thread(target=lambda: opened.append(Ledger.open(
            None, f"{PG_URL}?schema={b}")), daemon=True)
        t.start()
        t.join(20)
        assert not t.is_alive() and opened, "opening schema b waited for schema a's lock"
        opened[0].close()
        # the same schema waits at most OPEN_LOCK_TIMEOUT, then says so on one line
        monkeypatch.setattr(eventstore, "OPEN_LOCK_TIMEOUT", 1.0)
        t0 = time.monotonic()
        r = CliRunner().invoke(app, ["--database-url", f"{PG_URL}?schema={a}", "load",
                                     str(HISTORY)])
        waited = time.monotonic() - t0
        assert r.exit_code == 2, r.output
        assert r.stderr.splitlines() == [
            "error: timed out after 1 s waiting for another process that is opening the "
            f"ledger at postgresql://postgres@127.0.0.1:5432/test?schema={a}; try again"]
        assert 0.9 <= waited < 15
    finally:
        holder.close()  # releases the lock
    with Ledger.open(None, f"{PG_URL}?schema={a}") as lg:  # and then it opens
        assert lg.issuers() == []


# -- 4. the reporting export reads the log -------------------------------------------------

def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    from projections.feed import export

    c = sqlite3.connect(str(path))
    try:
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = "
                                          "'table' ORDER BY name")]
        return {n: sorted(map(repr, c.execute(f'SELECT * FROM "{n}"')))  # type: ignore[misc]
                for n in names if n not in (export.META, export.TRACKING)}
    finally:
        c.close()


def test_an_edit_of_the_report_does_not_spread_into_it(store: StoreSpec, tmp_path: Path
                                                      ) -> None:
    lines = HISTORY.read_text().splitlines()
    report, fresh = tmp_path / "report.db", tmp_path / "fresh.db"
    cli = CliRunner()
    with store.open() as lg:
        lg.load_lines(lines[:60])
    assert cli.invoke(app, [*store.args, "export", "--to", str(report)]).exit_code == 0
    c = sqlite3.connect(str(report))
    with c:  # Alder's 600 G (event 3) made 6,000, and event 5 deleted, in the report only
        n = c.execute("UPDATE events SET payload = replace(payload, '\"600\"', '\"6000\"') "
                      "WHERE seq = 3").rowcount
        m = c.execute("DELETE FROM events WHERE seq = 5").rowcount
    c.close()
    assert (n, m) == (1, 1)
    with store.open() as lg:
        lg.load_lines(lines[60:])
    r = cli.invoke(app, [*store.args, "export", "--to", str(report)])
    assert r.exit_code == 0, r.output
    assert cli.invoke(app, [*store.args, "rebuild", "--to", str(fresh)]).exit_code == 0
    got, want = _tables(report), _tables(fresh)
    assert got.keys() == want.keys() and "events" in got
    for name in want:
        assert got[name] == want[name], name
    assert len(got["events"]) == N


# -- 5. a --db that is not a SQLite file -------------------------------------------------------

def test_a_db_that_is_not_sqlite_is_refused_by_every_command(tmp_path: Path) -> None:
    good = StoreSpec("sqlite", db=str(tmp_path / "good.db"))
    with good.open() as lg:
        lg.load_file(HISTORY)
    pkg = tmp_path / "pkg"
    r = CliRunner().invoke(app, [*good.args, "export-ocf", "--as-of", "2005-12-31",
                                 "--to", str(pkg)])
    assert r.exit_code == 0, r.output
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    commands = [
        ["load", str(HISTORY)], ["position", "--as-of", "2005-12-31"], ["demo"],
        ["waterfall", "--as-of", "2005-12-31", "--proceeds", "1000000"],
        ["rates", "--series", "G"], ["check", "--as-of", "2005-12-31"],
        ["conversions", "--series", "H"], ["history"], ["verify"], ["issuers"],
        ["rebuild", "--to", str(tmp_path / "r.db")], ["export", "--to", str(tmp_path / "e.db")],
        ["rollforward", "--from", "2001-01-01", "--to", "2001-12-31"],
        ["chart", "--to", str(tmp_path / "c.png")],
        ["export-ocf", "--as-of", "2005-12-31", "--to", str(tmp_path / "out")],
        ["import-ocf", str(pkg)],
        ["explain", "--as-of", "2005-12-31", "--series", "G", "arrears"],
    ]
    from ledger.cli.program import whole_app

    typer_app = whole_app()

    names = {c.name or c.callback.__name__ for c in typer_app.registered_commands}
    assert names == {c[0] for c in commands}  # every command is tried
    for args in commands:
        r = CliRunner().invoke(app, ["--db", str(text), *args])
        assert r.exit_code == 2, (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)
        assert r.stderr.splitlines() == [
            f"error: {text} is not a SQLite database (give --db a ledger file, or a new "
            "file name)"], (args, r.stderr)
    assert text.read_text() == "not a database\n"


def test_the_store_error_is_a_value_error(tmp_path: Path) -> None:
    """What ``Ledger.open`` raises for a store it cannot open (a ``ValueError``, exit 2)."""
    from ledger.store import StoreError

    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "x"}\n')
    with pytest.raises(StoreError, match="is not a SQLite database") as exc:
        Ledger.open(str(path))
    assert isinstance(exc.value, ValueError)
    assert sys.modules.get("ledger.store") is not None


def test_a_checkpoint_table_of_the_pickle_era_is_replaced_unread(loaded: StoreSpec,
                                                                tmp_path: Path) -> None:
    """A side table in the layout before plain data (pickled states, no digest), holding
    the ``os.system`` row: verify leaves it alone, the next query drops it unread and
    rebuilds the checkpoints from the log; nothing runs."""
    marker = tmp_path / "pwned"
    side = Side(loaded)
    blob = "BLOB" if loaded.kind == "sqlite" else "BYTEA"
    side._run(f"DROP TABLE {side.table}")
    side._run(f"CREATE TABLE {side.table} (issuer TEXT NOT NULL, day TEXT NOT NULL, "
              f"version INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, "
              f"state {blob} NOT NULL, PRIMARY KEY (issuer, day))")
    side._run(f"INSERT INTO {side.table} VALUES (?, ?, ?, ?, ?, ?)",
              ("default", "2005-06-10", N, 69, 68,
               zlib.compress(os_system_pickle(f"touch {marker}"))))
    assert _verify(loaded).exit_code == 0
    assert [r["day"] for r in Side(loaded).rows()] == ["2005-06-10"]  # untouched
    with loaded.open() as lg:
        assert lg.position(DAY) == full(lg, DAY)
    assert not marker.exists()
    rows = Side(loaded).rows()
    assert {"head", "body", "digest"} <= set(rows[0]) and len(rows) == 2


# -- 1b. an encrypted store: the digest is keyed ------------------------------------------

def test_an_encrypted_store_binds_its_checkpoints_with_its_key(
        store: StoreSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``PREFLEDGER_CIPHER_KEY`` set, each state is AES-GCM encrypted and the digest
    is keyed: moving the (undecryptable) 2000-12-28 state into the 2005-06-10 row, with
    its ``body`` and a plain SHA-256 digest recomputed as a writer without the key would,
    is refused; the answers are the log's."""
    from eventsourcing.cipher import AESCipher

    from ledger.store.eventstore import CIPHER_ENV

    monkeypatch.setenv(CIPHER_ENV, AESCipher.create_key(32))
    with store.open() as lg:
        lg.load_file(HISTORY)
    side = Side(store)
    first, last = side.rows()
    assert b"Alder" not in first["state"] and b"Alder" not in last["state"]
    def plain(row: dict[str, Any], body: str) -> str:  # the unkeyed formula of a plain store
        text = json.dumps({"issuer": "default", "day": row["day"], "version": row["version"],
                           "lo": row["lo"], "hi": row["hi"], "head": row["head"],
                           "state": body}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    assert plain(last, last["body"]) != last["digest"]  # keyed: not the plain formula
    side.set(last["day"], state=first["state"], body=first["body"],
             digest=plain(last, first["body"]))
    refused(store, "its digest does not match its content")
    with store.open() as lg:
        assert lg.verify() == []  # healed by the position above


def test_a_forged_row_stops_every_command_on_one_line(store: StoreSpec, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that has to read a row naming another type (here a module that would
    run code on import) exits 2 with one line, imports nothing and stores nothing. A
    load reads only the stream's last event and the events after its checkpoint (the
    id index answers for the rest): a forged row deep in the history stops it only
    when it is among those; ``verify`` names it either way."""
    module, marker = _evil_module(tmp_path, monkeypatch)
    with store.open() as lg:
        lg.load_file(HISTORY)
        last = lg.store.version("default")
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({**OVER, "shares": "100"}) + "\n")

    def refused(*commands: list[str]) -> None:
        before = Raw(store).versions()
        for args in commands:
            r = CliRunner().invoke(app, [*store.args, *args])
            assert r.exit_code == 2, (args, r.output)
            assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
            assert r.stderr.splitlines() == [
                f"error: the stored row names the type '{module}:X', which is not one of "
                "the ledger's (damaged or forged: run verify)"], (args, r.stderr)
        assert not marker.exists()
        assert Raw(store).versions() == before

    Raw(store).set_topic(7, f"{module}:X")
    refused(["history"], ["rates", "--series", "G"])
    from ledger.store.eventstore import RECORDED_TOPIC

    Raw(store).set_topic(7, RECORDED_TOPIC)
    Raw(store).set_topic(last + 1, f"{module}:X")  # the last event (version = position + 1)
    refused(["load", str(extra)], ["history"], ["rates", "--series", "G"])
