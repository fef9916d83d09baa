"""Shared fixtures. The behavioural suite runs against both stores: every test that
takes ``store`` (or ``ledger`` / ``cli``) runs once on a SQLite file and once on the
real PostgreSQL server (database ``test``, a fresh schema per test, dropped after).
PostgreSQL tests never skip: if the server is unreachable they fail.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer.testing
from typer.testing import CliRunner

from ledger.api import Ledger
from ledger.cli.program import app_for

# typer's CliRunner builds the click command from the app again on every invoke (about
# 60 ms each, a good part of a short command's run); the app never changes during a run
typer.testing._get_command = functools.cache(typer.testing._get_command)

PG_URL = os.environ.get("PREFLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent
HISTORY = REPO / "fixtures" / "nstor" / "history.jsonl"


@dataclass
class StoreSpec:
    kind: str
    db: str | None = None
    url: str | None = None

    @property
    def args(self) -> list[str]:
        return ["--db", self.db] if self.db else ["--database-url", str(self.url)]

    def open(self, **kw: Any) -> Ledger:
        return Ledger.open(self.db, self.url, **kw)

    def content(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Everything the ledger holds, for 'unchanged' checks."""
        with self.open() as lg:
            return [(i, [(s.payload, s.hash) for s in lg.stored(i)]) for i in lg.issuers()]  # type: ignore[misc]

    def rows(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Every row of every table of the store (tables without rows left out), read
        around the ledger (sqlite3 on the file, psycopg on the schema): a byte-exact
        "unchanged" check, cheaper than opening the ledger."""
        if self.kind == "sqlite":
            if not os.path.exists(str(self.db)):
                return []
            with contextlib.closing(sqlite3.connect(str(self.db))) as c:
                names = [r[0] for r in c.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
                tables = [(n, c.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names]
        else:
            schema = str(self.url).split("schema=")[1]
            with psycopg.connect(PG_URL, autocommit=True) as pg:
                names = [r[0] for r in pg.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY 1", (schema,))]
                tables = [(n, pg.execute(f'SELECT * FROM "{schema}"."{n}"').fetchall())
                          for n in names]
        return [(n, sorted(rows, key=repr)) for n, rows in tables if rows]


def _pg_schema() -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL.replace("postgresql://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    if request.param == "sqlite":
        yield StoreSpec("sqlite", db=str(tmp_path / "ledger.db"))
    else:
        gen = _pg_schema()
        schema = next(gen)
        yield StoreSpec("postgres", url=f"{PG_URL}?schema={schema}")
        next(gen, None)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> StoreSpec:
    return StoreSpec("sqlite", db=str(tmp_path / "ledger.db"))


@pytest.fixture
def other(store: StoreSpec, tmp_path: Path) -> Iterator[StoreSpec]:
    """A second, empty ledger of the same kind as ``store`` (the 'new ledger' of an
    export and import)."""
    if store.kind == "sqlite":
        yield StoreSpec("sqlite", db=str(tmp_path / "other.db"))
    else:
        gen = _pg_schema()
        schema = next(gen)
        yield StoreSpec("postgres", url=f"{PG_URL}?schema={schema}")
        next(gen, None)


@pytest.fixture
def ledger(store: StoreSpec) -> Iterator[Ledger]:
    lg = store.open()
    yield lg
    lg.close()


@dataclass
class Cli:
    spec: StoreSpec
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None) -> Any:
        argv = [*self.spec.args, *args]
        # as the ``prefledger`` program runs it (``ledger.cli.program.run``)
        return self.runner.invoke(app_for(argv), argv, input=input)

    def json(self, *args: str) -> Any:
        r = self(*args, "--json")
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    def refuses(self, path: Path, *words: str, field: str | None = None,
                line: int | None = 1, before: Any = None) -> str:
        """``load path`` must exit 2 naming ``line`` (and ``field``), print each of
        ``words`` and "nothing was stored", no traceback, and leave every row of the store
        exactly as it was (``before``: ``spec.rows()``, when the caller already has it).
        Returns the error output with its line wrapping undone."""
        if before is None:
            before = self.spec.rows()
        r = self("load", str(path))
        assert r.exit_code == 2, r.output
        err = " ".join(r.stderr.split())
        assert "nothing was stored" in err and "Traceback" not in r.output, r.output
        if line is not None:
            assert f"line {line}:" in err, err
        if field is not None:
            assert f"field {field}:" in err, err
        for w in words:
            assert " ".join(w.split()) in err, (w, err)
        assert self.spec.rows() == before, f"{path} changed the ledger"
        return err

    def refuses_all(self, jsonl: Callable[[list[dict[str, Any]]], Path],
                    cases: list[Any]) -> None:
        """Load the ``stored`` events of ``cases`` (``tests.ledgers.Refusal``s that share
        them), then each case's ``new`` events: every one refused (``refuses``)."""
        r = self("load", str(jsonl(cases[0].stored)))
        assert r.exit_code == 0, r.output
        before = self.spec.rows()
        for c in cases:
            assert c.stored is cases[0].stored
            words = c.words
            if c.line == 0 and len(c.new) == 1:  # the load blames the one new event
                e = c.new[0]
                words += (f"line 1: {e['type']}" + (f" id={e['id']}" if "id" in e else ""),
                          "makes the later stored event")
            self.refuses(jsonl(c.new), *words, field=c.field, line=c.line or None,
                         before=before)


@pytest.fixture
def cli(store: StoreSpec) -> Cli:
    return Cli(store, CliRunner())


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.fixture
def jsonl(tmp_path: Path) -> Callable[[list[dict[str, Any]]], Path]:
    counter = iter(range(1_000_000))

    def make(events: list[dict[str, Any]]) -> Path:
        return write_jsonl(tmp_path / f"events{next(counter)}.jsonl", events)

    return make
