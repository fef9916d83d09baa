"""Tables written without rich's layout engine (not a terminal, no colours) are the very
characters rich writes: compared with rich itself on many tables, and the fallback to
rich for every table the plain writer does not draw."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from ledger.cli.options import SafeConsole, Table

WORDS = ["", "G", "common", "Oak Fund 0001", "164585610", "—", "0.00", "Société", "x y",
         "1620.1302", "unattributed", "Ωmega", "a-b.c"]
ODD = ["漢字", "e\u0301", "tab\there", "trail ", " lead", "€5", "line\nbreak"]


def _rich(table: Table, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, markup=False, emoji=False).print(table)
    return buf.getvalue()


def _safe(table: Table, width: int) -> str:
    buf = io.StringIO()
    SafeConsole(file=buf, width=width, markup=False, emoji=False).print(table)
    return buf.getvalue()


def _table(rng: random.Random, odd: bool) -> Table:
    pool = WORDS + ODD if odd else WORDS
    t = Table(title=rng.choice(pool) if rng.random() < 0.8 else None)
    cols = rng.randint(1, 7)
    for _ in range(cols):
        t.add_column(rng.choice(pool) or "h", justify=rng.choice(["left", "right"]))
    for _ in range(rng.randint(0, 6)):
        t.add_row(*(rng.choice(pool) for _ in range(cols)))
    return t


@pytest.mark.parametrize("odd", [False, True])
def test_plain_tables_are_what_rich_writes(odd: bool) -> None:
    rng = random.Random(7 if odd else 3)
    drawn = 0
    for _ in range(600):
        t = _table(rng, odd)
        width = rng.randint(8, 160)
        expected = _rich(t, width)
        assert _safe(t, width) == expected  # plain or not, the console writes rich's bytes
        text = t.plain(width)
        if text is not None:
            drawn += 1
            assert text == expected
    assert drawn > (10 if odd else 100)  # plain ones are drawn (most, without odd cells)


def test_what_plain_does_not_draw_is_left_to_rich() -> None:
    wide = Table(title="t")
    wide.add_column("a")
    wide.add_row("x" * 200)  # wider than the console: rich wraps it
    assert wide.plain(160) is None
    lined = Table(title="t", show_lines=True)
    lined.add_column("a")
    lined.add_row("1")
    assert lined.plain(160) is None
    centred = Table()
    centred.add_column("a", justify="center")
    assert centred.plain(160) is None
    odd = Table()
    odd.add_column("a")
    odd.add_row("e\u0301")  # a combining accent: zero width
    assert odd.plain(160) is None
    for t in (wide, lined, centred, odd):
        assert _safe(t, 160) == _rich(t, 160)


def test_an_exact_fit_and_a_header_only_table() -> None:
    t = Table(title="as of 2005-12-31")
    t.add_column("holder")
    t.add_column("shares", justify="right")
    t.add_row("Oak", "12")
    width = len("│ holder │ shares │")
    assert t.plain(width) == _rich(t, width) == (
        " as of 2005-12-31  \n"  # 19 wide: 1 space left of 16, 2 right
        "┏━━━━━━━━┳━━━━━━━━┓\n"
        "┃ holder ┃ shares ┃\n"
        "┡━━━━━━━━╇━━━━━━━━┩\n"
        "│ Oak    │     12 │\n"
        "└────────┴────────┘\n")
    assert t.plain(width - 1) is None
    empty = Table()
    empty.add_column("holder")
    assert empty.plain(80) == _rich(empty, 80)


def test_rows_added_every_way_render_as_rich_adds_them() -> None:
    """``Table.add_row`` takes one string per column without rich's per-cell checks; a
    row of fewer cells, a ``None``, a section end or a style still go through rich."""
    from rich import table as rich_table

    def fill(t: rich_table.Table) -> None:
        t.add_column("holder")
        t.add_column("shares", justify="right")
        t.add_row("Oak", "12")
        t.add_section()  # ends the section of the row just added (rows are not shared)
        t.add_row("Elm")
        t.add_row(None, "3")
        t.add_row("Ash", "4", end_section=True)
        t.add_row("Fir", "5")

    ours, theirs = Table(title="t"), rich_table.Table(title="t")
    fill(ours)
    fill(theirs)
    assert [r.end_section for r in ours.rows] == [True, False, False, True, False]
    assert _safe(ours, 80) == _rich(ours, 80) == _rich(theirs, 80)  # type: ignore[arg-type]
