"""Every "SPEC.md §N" the code cites can be followed in the repository: docs/sources.md
has its row, and every page and heading that row names exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "docs" / "sources.md"


def _anchor(heading: str) -> str:
    """The anchor GitHub makes of a heading: lower case, punctuation dropped, spaces
    as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _cited() -> set[int]:
    found: set[int] = set()
    for top in ("ledger", "projections", "tests", "benchmarks"):
        for p in (REPO / top).rglob("*.py"):
            found |= {int(n) for n in re.findall(r"SPEC\.md §(\d+)", p.read_text())}
    return found


def test_every_cited_section_has_its_row() -> None:
    rows = {int(n) for n in re.findall(r"^\| SPEC\.md §(\d+) \|", SOURCES.read_text(), re.M)}
    cited = _cited()
    assert len(cited) >= 10
    assert cited <= rows, sorted(cited - rows)


def test_every_link_names_a_page_and_a_heading_that_exist() -> None:
    links = re.findall(r"\]\(([\w.-]+\.md)(?:#([\w-]+))?\)", SOURCES.read_text())
    assert len(links) >= 14
    for page, anchor in links:
        path = REPO / "docs" / page
        assert path.is_file(), page
        if anchor:
            headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}
            assert anchor in headings, (page, anchor)
