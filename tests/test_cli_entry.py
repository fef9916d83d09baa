"""The ``prefledger`` program builds only the command it runs (``ledger.cli.program.run``):
every command's help, options, messages and exit codes are those of the whole app. The
rest of the suite runs its commands the same way (``tests.conftest.Cli``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from ledger.cli.program import (
    COMMAND_MODULES,
    _command_named,
    app_for,
    command_module,
    one_command_app,
    whole_app,
)

app = whole_app()

NAMES = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_the_map_of_command_modules_is_each_modules_commands_in_order() -> None:
    for module, names in COMMAND_MODULES.items():
        got = tuple(n or fn.__name__.replace("_", "-") for n, fn in command_module(module).COMMANDS)
        assert got == names, module
    listed = [n for names in COMMAND_MODULES.values() for n in names]
    assert listed == list(get_command(app).commands)  # type: ignore[attr-defined]
    import ledger.cli

    assert ledger.cli.app is app  # the package's ``app`` is the whole app


def test_one_command_imports_only_its_module() -> None:
    code = ("import sys; from ledger.cli.program import one_command_app; "
            "one_command_app('position'); "
            "print(sorted(m for m in sys.modules if m.startswith('ledger.cli.')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert eval(r.stdout) == ["ledger.cli.options", "ledger.cli.position", "ledger.cli.program"]


def test_every_command_is_found_behind_the_store_options() -> None:
    assert len(NAMES) >= 17 and "export-ocf" in NAMES  # a dashed name is found too
    for name in NAMES:
        for argv in ([name], ["--db", "x.db", name, "--json"], ["--db=x.db", name],
                     ["--database-url", "postgresql://h/d", name, "--help"]):
            assert _command_named(argv) == name, argv


@pytest.mark.parametrize("argv", [[], ["--help"], ["--db", "x.db"], ["--db", "x.db", "--help"],
                                  ["positon"], ["--db", "x.db", "nope", "--as-of", "x"],
                                  ["--bogus", "position"]])
def test_what_names_no_command_runs_the_whole_app(argv: list[str]) -> None:
    assert _command_named(argv) is None
    assert app_for(argv) is app


@pytest.mark.parametrize("name", NAMES)
def test_one_command_app_says_what_the_whole_app_says(name: str) -> None:
    runner = CliRunner()
    single = one_command_app(name)
    assert list(get_command(single).commands) == [name]  # type: ignore[attr-defined]
    for args in ([name, "--help"], [name, "--no-such-option"], ["--db", "/nonexistent/x.db", name]):
        ours, whole = runner.invoke(single, args), runner.invoke(app, args)
        assert (ours.exit_code, ours.stdout, ours.stderr) == \
            (whole.exit_code, whole.stdout, whole.stderr), args


def test_the_installed_program_runs_one_command(tmp_path: Path) -> None:
    exe = shutil.which("prefledger") or str(Path(sys.executable).parent / "prefledger")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFLEDGER_")}
    db = str(tmp_path / "l.db")
    r = subprocess.run([exe, "--db", db, "demo"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([exe, "--db", db, "issuers"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "│ default │     76 │" in r.stdout, r.stderr
    r = subprocess.run([exe, "--db", db, "positon"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "No such command 'positon'" in r.stderr, r.stderr
