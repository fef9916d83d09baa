"""Encryption at rest, on both stores. With ``PREFLEDGER_CIPHER_KEY`` set
(an AES key from ``eventsourcing.cipher.AESCipher.create_key(32)``), every stored event,
snapshot and checkpoint is AES-GCM encrypted by eventsourcing's cipher: no holder name
appears in the store in plain text (nor in a compressed blob), the key itself is never
written, and every command works exactly as on a plain store. A store opened without its
key, with another key, or with a key it was not written with is refused with exit 2.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.cipher import AESCipher
from typer.testing import CliRunner

from ledger.cli import app
from ledger.store.eventstore import CIPHER_ENV
from tests.conftest import HISTORY, PG_URL, StoreSpec
from tests.figures import show

HOLDERS = sorted({e.get(k) for e in map(json.loads, HISTORY.read_text().splitlines())
                  for k in ("holder", "from_holder", "to_holder") if e.get(k)})


def blobs_of(spec: StoreSpec) -> Iterator[bytes]:
    """Everything the store holds, as bytes: the SQLite files themselves, or every value
    of every table of the PostgreSQL schema; and each value that zlib can inflate,
    inflated (a compressed pickle is not encrypted)."""
    values: list[bytes] = []
    if spec.db:
        for suffix in ("", "-wal"):
            if os.path.exists(spec.db + suffix):
                yield Path(spec.db + suffix).read_bytes()
        con = sqlite3.connect(spec.db)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for t in tables:
                for row in con.execute(f'SELECT * FROM "{t}"'):
                    values += [v if isinstance(v, bytes) else str(v).encode() for v in row]
        finally:
            con.close()
    else:
        schema = str(spec.url).split("schema=")[1]
        with psycopg.connect(PG_URL) as c:
            tables = [r[0] for r in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,))]
            assert tables
            for t in tables:
                for row in c.execute(f'SELECT * FROM "{schema}"."{t}"'):
                    values += [bytes(v) if isinstance(v, bytes | memoryview)
                               else str(v).encode() for v in row]
    for v in values:
        yield v
        try:
            yield zlib.decompress(v)
        except zlib.error:
            pass


def plain_names(spec: StoreSpec) -> set[str]:
    found = set()
    for blob in blobs_of(spec):
        found |= {h for h in HOLDERS if h.encode() in blob}
    return found


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    k = AESCipher.create_key(32)
    monkeypatch.setenv(CIPHER_ENV, k)
    return k


def run(spec: StoreSpec, *args: str) -> Any:
    r = CliRunner().invoke(app, [*spec.args, *args])
    assert "Traceback" not in r.stdout + r.stderr
    return r


def test_encrypted_store_hides_names_and_everything_works(
        store: StoreSpec, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert len(HOLDERS) >= 5
    r = run(store, "load", str(HISTORY))
    assert r.exit_code == 0, r.output
    n = len(HISTORY.read_text().splitlines())
    assert f"{n} appended, 0 already present" in r.stdout
    assert f"0 appended, {n} already present" in run(store, "load", str(HISTORY)).stdout
    v = run(store, "verify")
    assert v.exit_code == 0 and f"ok: {n} events, hash chain intact" in v.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "SharesIssued", "effective_date": "2003-01-01", "series": "G", '
                   '"holder": "X", "shares": 1}\n')
    r = run(store, "load", str(bad))
    assert r.exit_code == 2 and "line 1" in r.stderr and "shares" in r.stderr

    reports = [("position", "--as-of", "2003-12-31", "--json"),
               ("waterfall", "--as-of", "2003-12-31", "--proceeds", "25000000", "--json"),
               ("history", "--json")]
    enc = []
    for cmd in reports:
        r = run(store, *cmd)
        assert r.exit_code == 0, (cmd, r.output)
        enc.append(json.loads(r.stdout))
    history_text = json.dumps(enc[2], ensure_ascii=False)
    assert all(h in history_text for h in HOLDERS)  # decrypted for the reader

    # at rest: no holder name, no key, in any byte the store holds
    assert plain_names(store) == set()
    raw_key = base64.b64decode(key)
    for blob in blobs_of(store):
        assert key.encode() not in blob and raw_key not in blob

    # the same history on a plain store gives the same reports, and there the names
    # are visible (so the check above is not vacuous)
    monkeypatch.delenv(CIPHER_ENV)
    plain = StoreSpec("sqlite", db=str(tmp_path / "plain.db"))
    assert run(plain, "load", str(HISTORY)).exit_code == 0
    for cmd, got in zip(reports[:2], enc[:2], strict=True):
        assert json.loads(run(plain, *cmd).stdout) == got, cmd
    assert plain_names(plain) == set(HOLDERS)
    show(capsys, f"encryption ({store.kind}): {n} events, {len(HOLDERS)} holder names, none in "
          f"the store's bytes (the plain store shows all {len(HOLDERS)}); reports identical")


def test_a_store_refuses_the_wrong_key_or_none(store: StoreSpec, key: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(store, "load", str(HISTORY)).exit_code == 0
    cases = [
        (None, "this store is encrypted: set PREFLEDGER_CIPHER_KEY"),
        (AESCipher.create_key(32), "does not decrypt this store"),
        (AESCipher.create_key(16), "does not decrypt this store"),
        ("not base64!", "not a usable AES key"),
        (base64.b64encode(b"short").decode(), "not a usable AES key"),
    ]
    for k, words in cases:
        if k is None:
            monkeypatch.delenv(CIPHER_ENV)
        else:
            monkeypatch.setenv(CIPHER_ENV, k)
        for cmd in (("verify",), ("position", "--as-of", "2003-12-31"),
                    ("load", str(HISTORY))):
            r = run(store, *cmd)
            assert r.exit_code == 2, (k, cmd, r.output)
            assert words in r.stderr, (k, cmd, r.stderr)
    monkeypatch.setenv(CIPHER_ENV, key)
    assert run(store, "verify").exit_code == 0


def test_a_plain_store_refuses_a_key(sqlite_store: StoreSpec,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CIPHER_ENV, raising=False)
    assert run(sqlite_store, "load", str(HISTORY)).exit_code == 0
    monkeypatch.setenv(CIPHER_ENV, AESCipher.create_key(32))
    r = run(sqlite_store, "position", "--as-of", "2003-12-31")
    assert r.exit_code == 2 and "this store is not encrypted" in r.stderr
