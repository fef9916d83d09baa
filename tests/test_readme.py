"""README.md runs as shown (in the spirit of sqlite-utils' documentation tests).

Every console block of README.md (a fence opened with ```console) is a terminal session:
a line starting with ``$ `` is a command (a trailing ``\\`` continues it on the next line,
`` # ...`` is a comment), the lines after it up to the next command are what it prints.
The tests check that

- every ``prefledger`` command shown exists and has ``--help`` listing each option used;
- the sessions run as shown: every command of every console block, in README order, in
  one temporary directory (holding ``fixtures/`` and ``.venv`` of this checkout), with the
  output compared with the real output.

How output is compared (the conventions README.md's examples follow):

- spaces at the start and end of a line (a table's title is centred on the terminal's
  width) and trailing blank lines are ignored;
- the shown lines must appear in the real output in the order shown, but a block may
  leave lines out: show only the first lines of a long output, or only some rows of a
  table;
- ``…`` in a shown line stands for any text (time stamps, hashes, elided parts);
  recorded times (``2026-11-23 12:17:28``, ``2026-11-23T12:17:28Z``) and hash prefixes
  (12 hex digits and ``…``, or 64 hex digits) may differ anywhere, and in a table row so
  may a recording date (2026 or later) and a time on its own (the recorded column wraps);
- a shown line wholly in parentheses is a note, not output, and a line (or table row) of
  only ``…`` marks lines left out;
- for a command with ``--json`` the shown text may be abridged JSON: every
  ``"key": value`` pair it shows must be in the real JSON, the pairs of each ``{...}``
  shown on the same object;
- a command with no output shown must succeed (exit code 0); ``echo $?`` shows the exit
  code of the command before. No command may print a traceback.

``prefledger`` runs in-process (typer's CliRunner), other commands in ``bash``
(``export`` / ``unset`` carry over to later commands); servers are not started
(``NOT_RUN``). A file is shown either by ``$ cat FILE`` (its output is the file: the test
writes it first) or by a ```json block right after prose naming ``FILE.jsonl``; files a
command reads that README.md does not show are in ``UNSHOWN_FILES``. Where README.md is
wrong, ``README_ERRATA`` and ``MISSING_STEPS`` say so (each entry must still be needed).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from tests.conftest import REPO

README = REPO / "README.md"
#: every document with console sessions: README.md and the pages under docs/, each run as
#: its own session (in its own temporary directory)
DOCS = [README, *sorted(p for p in (REPO / "docs").glob("*.md")
                        if "```console" in p.read_text(encoding="utf-8"))]

#: programs the sessions show but the test does not start, and why
NOT_RUN = {"datasette": "a web server: it serves until stopped"}

#: input files README.md's sessions load without showing them, written here as the prose
#: around each session describes them
UNSHOWN_FILES: dict[str, str] = {}

#: README.md today is wrong here (reported to its authors; the test does not edit it).
#: Each entry must still be needed: once README.md is fixed, the test fails until the
#: entry is deleted.
#: - shown lines that are not what the command prints (the line, and why), compared the
#:   other way round: they must still differ from the real output;
README_ERRATA: dict[str, str] = {}
#: - commands a session needs that README.md does not show (run before the command)
MISSING_STEPS: dict[str, list[str]] = {}


# -- reading README.md -------------------------------------------------------------------------

@dataclass
class Command:
    line: int             # README line of the ``$ `` prompt
    text: str             # the command, comment removed
    shown: list[str]      # the output README.md shows for it
    block: int            # README line of the block's fence


@dataclass
class Block:
    line: int
    lang: str
    body: list[str]
    before: str           # the prose paragraph just before the block


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    prose: list[str] = []
    lines = text.split("\n")
    ended = False  # a blank line ended the paragraph in ``prose``
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if m is None:
            if not lines[i].strip():
                ended = True
            else:
                prose = [lines[i]] if ended else [*prose, lines[i]]
                ended = False
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        out.append(Block(i + 1, m.group(1), lines[i + 1:j], " ".join(prose)))
        prose, ended = [], False
        i = j + 1
    return out


def strip_comment(cmd: str) -> str:
    """The command without a trailing `` # comment`` (outside quotes)."""
    quote = None
    for k, ch in enumerate(cmd):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or cmd[k - 1] in " \t"):
            return cmd[:k].rstrip()
    return cmd.rstrip()


def commands(block: Block) -> list[Command]:
    out: list[Command] = []
    k = 0
    body = block.body
    while k < len(body):
        if not body[k].startswith("$ "):
            if out:
                out[-1].shown.append(body[k])
            k += 1
            continue
        line, text = block.line + 1 + k, body[k][2:]
        while text.endswith("\\") and k + 1 < len(body):
            k += 1
            text = text[:-1] + " " + body[k].strip()
        out.append(Command(line, strip_comment(text), [], block.line))
        k += 1
    return out


def sessions(doc: Path = README) -> list[Block]:
    return blocks(doc.read_text(encoding="utf-8"))


def console_commands(doc: Path = README) -> list[Command]:
    return [c for b in sessions(doc) if b.lang == "console" for c in commands(b)]


def split_segments(cmd: str) -> list[str]:
    """``a; b`` -> ``["a", "b"]`` (``;`` outside quotes)."""
    out, cur, quote = [], "", None
    for ch in cmd:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ";":
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    return [s for s in [*out, cur.strip()] if s]


SHELL = re.compile(r"[|<>`&]|\$[({A-Za-z?]")


def prefledger_argv(segment: str) -> list[str] | None:
    """The arguments of a plain ``prefledger ...`` segment (None: not one, or it needs a
    shell: pipes, redirections, variables)."""
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", segment)
    if SHELL.search(unquoted):
        return None
    words = shlex.split(segment)
    return words[1:] if words and words[0] == "prefledger" else None


# -- the tests: every command exists and has --help ----------------------------------------------

GLOBAL = {"--db", "--database-url"}


def subcommand(argv: list[str]) -> tuple[str | None, list[str]]:
    """The command name and the options of ``argv`` (after the store options)."""
    k = 0
    while k < len(argv) and argv[k] in GLOBAL:
        k += 2
    name = argv[k] if k < len(argv) else None
    return name, [a.split("=")[0] for a in argv[k + 1:] if a.startswith("--")]


def prefledger_commands(doc: Path = README) -> list[tuple[Command, list[str]]]:
    out = []
    for c in console_commands(doc):
        for seg in split_segments(c.text):
            if seg.split()[0] == "prefledger":
                argv = prefledger_argv(seg)
                assert argv is not None, f"{doc.name} line {c.line}: {seg!r} needs a shell"
                out.append((c, argv))
    return out


def test_readme_has_prefledger_sessions():
    found = prefledger_commands()
    names = {subcommand(argv)[0] for _, argv in found}
    # the tour: load, position, verify at the least
    assert {"load", "position", "verify"} <= names, names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_shown_exists_and_has_help(doc):
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for opt in GLOBAL:
        assert opt in top.output
    seen: dict[str, set[str]] = {}
    for c, argv in prefledger_commands(doc):
        name, options = subcommand(argv)
        assert name is not None, f"{doc.name} line {c.line}: no command in {c.text!r}"
        seen.setdefault(name, set()).update(options)
    for name, options in seen.items():
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0, f"prefledger {name} --help: {r.output}"
        assert "Usage:" in r.output and name in r.output
        for opt in options:
            assert opt in r.output, f"prefledger {name} --help does not list {opt}"


# -- the tests: the sessions run as shown ----------------------------------------------------------

TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
HASH = re.compile(r"\b[0-9a-f]{12}…|\b[0-9a-f]{64}\b")


#: a line of only ``…`` (and table rules, spaces): lines left out
ELIDED = re.compile(r"[\s│┃|]*…[\s…│┃|]*")


#: in a table row, the recorded column wraps: its date (a recording date, 2026 or later:
#: no example history has an event dated after 2025) and its time on the next line
RECORDED_DATE = re.compile(r"\b20(?:2[6-9]|[3-9]\d)-\d{2}-\d{2}\b")
BARE_TIME = re.compile(r"\b\d{2}:\d{2}:\d{2}\b")


def mask(line: str) -> str:
    line = HASH.sub("<hash>", TIME.sub("<time>", line.strip()))
    if line.startswith("│"):
        line = BARE_TIME.sub("<time>", RECORDED_DATE.sub("<date>", line))
    return line


def pattern(shown: str) -> re.Pattern[str]:
    """A shown line as a pattern: ``…`` stands for any text."""
    parts = [re.escape(p) for p in mask(shown).split("…")]
    return re.compile(".*?".join(parts) + r"\Z")


def lines_match(shown: list[str], real: str, errata: bool = True) -> str | None:
    """None if every shown line appears in ``real`` in order, else what is missing."""
    got = [mask(x) for x in real.split("\n")]
    k = 0
    for s in shown:
        if re.fullmatch(r"\s*\(.*\)\s*", s) or ELIDED.fullmatch(s):  # a note, an elision
            continue
        if errata and s in README_ERRATA:
            if lines_match([s], real, errata=False) is None:
                return f"README_ERRATA: {s!r} is right now: delete the entry"
            continue
        pat = pattern(s)
        while k < len(got) and not pat.match(got[k]):
            k += 1
        if k == len(got):
            return f"not in the output (in order): {s!r}"
        k += 1
    return None


PAIR = re.compile(r'"([^"\\]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')


def objects(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for v in tree.values():
            yield from objects(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from objects(v)


def json_match(shown: list[str], real: str) -> str | None:
    """None if every ``"key": value`` shown is in the real JSON (the pairs of one shown
    ``{...}`` on one object), else what is missing."""
    try:
        tree = json.loads(real)
    except ValueError:
        return f"not JSON: {real[:200]!r}"
    text = "\n".join(shown)
    everything = list(objects(tree))
    # innermost {...} groups first, then the pairs outside any group
    groups = re.findall(r"\{[^{}]*\}", text)
    rest = re.sub(r"\{[^{}]*\}", "", text)
    for group in [*groups, rest]:
        pairs = [(k, json.loads(v)) for k, v in PAIR.findall(group)]
        if pairs and not any(all(k in o and o[k] == v for k, v in pairs) for o in everything):
            return f"no object of the output has {dict(pairs)}"
    return None


@dataclass
class Session:
    """One shell-like session in ``cwd``: exported variables and the last exit code."""

    cwd: Path
    env: dict[str, str | None] = field(default_factory=dict)
    status: int = 0
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, cmd: str) -> str:
        out = ""
        for seg in split_segments(cmd):
            out += self.segment(seg)
        return out

    def segment(self, seg: str) -> str:
        argv = prefledger_argv(seg)
        if argv is not None:
            r = self.runner.invoke(app, argv, env=self.env)
            if r.exception is not None and not isinstance(r.exception, SystemExit):
                raise AssertionError(f"{seg}: {r.exception!r}") from r.exception
            self.status = r.exit_code
            return r.output
        m = re.fullmatch(r"export (\w+)=(.*)", seg)
        if m:  # the value as bash expands it; the variable then holds for later commands
            value = self.bash(f'printf %s {m.group(2)}')
            self.env[m.group(1)] = value
            return ""
        m = re.fullmatch(r"unset (\w+)", seg)
        if m:
            self.env[m.group(1)] = None
            self.status = 0
            return ""
        return self.bash(seg)

    def bash(self, seg: str) -> str:
        env = {k: v for k, v in {**os.environ, **self.env}.items() if v is not None}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        r = subprocess.run(["bash", "-c", f"(exit {self.status}); {seg}"], cwd=self.cwd,
                           env=env, capture_output=True, text=True, timeout=120)
        self.status = r.returncode
        return r.stdout + r.stderr


def workdir(tmp: Path) -> Path:
    """A directory like this checkout's root: ``fixtures/``, ``.venv``, UNSHOWN_FILES."""
    (tmp / "fixtures").symlink_to(REPO / "fixtures")
    (tmp / ".venv").symlink_to(Path(sys.executable).parent.parent)
    for name, text in UNSHOWN_FILES.items():
        (tmp / name).write_text(text, encoding="utf-8")
    return tmp


def test_docs_with_sessions_are_found():
    names = {p.name for p in DOCS}
    assert {"README.md", "cli.md", "walkthrough.md"} <= names, names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_sessions_run_as_shown(doc, tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("PREFLEDGER_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(workdir(tmp_path))
    session = Session(tmp_path)
    failures: list[str] = []
    ran = 0
    shown_lines = {x for d in DOCS for b in sessions(d) for x in b.body}
    texts = [c.text for d in DOCS for c in console_commands(d)]
    for line in README_ERRATA:
        assert line in shown_lines, f"README_ERRATA: {line!r} is not in README.md any more"
    for cmd in MISSING_STEPS:
        assert cmd in texts, f"MISSING_STEPS: {cmd!r} is not in README.md any more"
    for name in UNSHOWN_FILES:
        assert any(name in t for t in texts), f"UNSHOWN_FILES: no session reads {name}"
    missing = {k: list(v) for k, v in MISSING_STEPS.items()}
    for block in sessions(doc):
        named = re.findall(r"([\w.-]+\.jsonl)\b", block.before)
        if block.lang in ("json", "jsonl") and named:
            (tmp_path / named[-1]).write_text("\n".join(block.body) + "\n", encoding="utf-8")
            continue
        if block.lang != "console":
            continue
        for c in commands(block):
            program = c.text.split()[0]
            if program in NOT_RUN:
                continue
            for step in missing.pop(c.text, []):
                assert session.run(step) and session.status == 0, step
            shows = re.fullmatch(r"cat ([\w.-]+)", c.text)
            if shows and not (tmp_path / shows.group(1)).exists():  # the file, shown
                (tmp_path / shows.group(1)).write_text(
                    "".join(x + "\n" for x in c.shown), encoding="utf-8")
            real = session.run(c.text)
            ran += 1
            where = f"{doc.name} line {c.line}: $ {c.text}"
            shown = list(c.shown)
            while shown and not shown[-1].strip():
                shown.pop()
            if "Traceback" in real:
                failures.append(f"{where}\n  printed a traceback:\n{real}")
            elif not shown:
                if session.status != 0:
                    failures.append(f"{where}\n  exit code {session.status}:\n{real}")
            else:
                wrong = (json_match(shown, real) if "--json" in c.text.split()
                         else lines_match(shown, real))
                if wrong:
                    failures.append(f"{where}\n  {wrong}\n  real output:\n{real}")
    assert ran > 0
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("shown,real,ok", [
    (["a", "c"], "a\nb\nc\n", True),                  # lines left out
    (["c", "a"], "a\nb\nc\n", False),                 # out of order
    (["x 1…9 y"], "x 12345689 y", True),              # … stands for any text
    (["at 2026-11-23 12:17:28 h 8b5a09fe284d…"], "at 2027-01-01 00:00:00 h 0123456789ab…",
     True),                                           # recorded times and hashes differ
    (["(the rest follows)"], "a\n", True),            # a note
    (["│ a │", "│ … │   │", "│ c │"], "│ a │\n│ b │\n│ c │", True),   # rows left out
    (["a  "], "a", True),                             # trailing spaces
    (["1388.89"], "1388.90", False),
])
def test_lines_match(shown, real, ok):
    assert (lines_match(shown, real) is None) == ok


@pytest.mark.parametrize("shown,ok", [
    (['{"series": "G", "rate": "0.1"}'], True),
    (['{"series": "G", "rate": "0.2"}'], False),
    (['{"series": "G", "n": 3}'], False),             # G's n is 2: one object for a group
    (['"as_of": "2005-12-31", "list": [', '  {"series": "H", …},', "  …]}"], True),
])
def test_json_match(shown, ok):
    real = json.dumps({"as_of": "2005-12-31", "list": [
        {"series": "G", "rate": "0.1", "n": 2}, {"series": "H", "rate": "0.2", "n": 3}]})
    assert (json_match(shown, real) is None) == ok
