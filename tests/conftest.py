"""Shared fixtures. The behavioural suite runs against both stores: every test that
takes ``store`` (or ``ledger`` / ``cli``) runs once on a SQLite file and once on the
real PostgreSQL server (database ``test``, a fresh schema per test, dropped after).
PostgreSQL tests never skip: if the server is unreachable they fail.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from ledger.api import Ledger
from ledger.cli import app

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
def ledger(store: StoreSpec) -> Iterator[Ledger]:
    lg = store.open()
    yield lg
    lg.close()


@dataclass
class Cli:
    spec: StoreSpec
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return self.runner.invoke(app, [*self.spec.args, *args], input=input)

    def json(self, *args: str) -> Any:
        r = self(*args, "--json")
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)


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
