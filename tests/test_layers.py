"""The layers are folders, and import-linter holds the contracts between them
(``[tool.importlinter]`` in ``pyproject.toml``); nothing reaches outside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


def _contract(cid: str) -> dict[str, object]:
    return next(c for c in CONFIG["contracts"] if c["id"] == cid)


def test_import_contracts_hold() -> None:
    r = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(CONFIG['contracts'])} kept, 0 broken" in r.stdout


def test_every_core_module_is_under_the_core_contract() -> None:
    """A module added to the top of ``ledger/`` is core, and checked as core (only the
    API, which composes the layers, and the package's own index are exempt)."""
    core = {f"ledger.{p.stem}" for p in (REPO / "ledger").glob("*.py")
            if p.stem not in ("__init__", "api")}
    assert set(_contract("core")["source_modules"]) == core  # type: ignore[arg-type]


def test_every_report_builder_is_under_the_builders_contract() -> None:
    builders = {f"projections.{p.stem}" for p in (REPO / "projections").glob("*.py")
                if p.stem != "__init__"}
    assert set(_contract("builders")["source_modules"]) == builders  # type: ignore[arg-type]


def test_every_command_module_is_independent_of_the_others() -> None:
    commands = {f"ledger.cli.{p.stem}" for p in (REPO / "ledger" / "cli").glob("*.py")
                if p.stem not in ("__init__", "program", "options")}
    assert set(_contract("commands")["modules"]) == commands  # type: ignore[arg-type]


#: ways code could reach a sibling folder of the repository
_OUTSIDE = re.compile(r"""(\.\./|\.\.\\|os\.pardir|\bREPO\.parent\b|"shared"|'shared'|"""
                      r"""parent\.parent\.parent)""")


def test_no_code_reaches_outside_the_repository() -> None:
    """A clone with nothing beside it must install, run and pass: no module, test,
    benchmark or fixture names a path above the repository."""
    found = []
    for top in ("ledger", "projections", "tests", "benchmarks", "fixtures"):
        for p in (REPO / top).rglob("*.py"):
            if p == Path(__file__).resolve():
                continue
            for n, line in enumerate(p.read_text().splitlines(), 1):
                if _OUTSIDE.search(line):
                    found.append(f"{p.relative_to(REPO)}:{n}: {line.strip()}")
    assert found == []


def test_help_texts_stand_alone() -> None:
    """No help text sends the reader to a document the repository does not have."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from ledger.cli import app

    names = list(get_command(app).commands)  # type: ignore[attr-defined]
    assert len(names) >= 15
    for args in [["--help"]] + [[name, "--help"] for name in names]:
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, (args, r.output)
        assert "SPEC" not in r.output and "../" not in r.output, (args, r.output)


def test_the_public_api_is_ledger_and_importing_the_core_loads_no_store() -> None:
    """``ledger`` exports what a user imports; the pure core alone imports no store,
    command line or their libraries (the names load on first use)."""
    import ledger

    assert ledger.__all__ == sorted(ledger._EXPORTS)
    for name in ledger.__all__:
        assert getattr(ledger, name) is not None
    code = ("import sys, ledger.replay, ledger.waterfall, projections.position; "
            "bad = [m for m in ('eventsourcing', 'typer', 'rich', 'sqlite_utils', 'psycopg',"
            " 'ledger.api', 'ledger.store') if m in sys.modules]; print(bad)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
