"""The illustrative mezzanine example (fixtures/mezzanine): its figures, counted by hand
(as in its README: ACT/365F, 12%, $1,000 stated, half-up per holder per period), and
``prefledger demo --example``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ledger.checks import check
from ledger.cli import app
from ledger.conversion import listing
from ledger.events import parse_line
from ledger.replay import replay
from ledger.state import IssuerState, Record
from projections.position import position

HISTORY = Path(__file__).resolve().parent.parent / "fixtures" / "mezzanine" / "history.jsonl"
HARBOR = "Harbor Mezzanine Fund II LP"
KEEL = "Keel Credit Partners"


def _state(as_of: str) -> IssuerState:
    recs = []
    for n, line in enumerate(HISTORY.read_text(encoding="utf-8").splitlines(), 1):
        ev = parse_line(line, n)
        assert ev is not None and not isinstance(ev, list), ev
        recs.append(Record(ev, n, n))
    st, problems = replay("mezzanine", recs, dt.date.fromisoformat(as_of))
    assert problems == [], problems
    return st


def _row(as_of: str) -> dict[str, Any]:
    rep = position(_state(as_of), dt.date.fromisoformat(as_of))
    [s] = rep["series"]
    return s


def _due(st: IssuerState, who: str, day: str) -> str:
    [d] = [x for x in st.series["S"].dues[who] if x.due_date.isoformat() == day]
    return f"{d.amount:.2f}"


def test_first_period_in_cash_then_in_kind() -> None:
    st = _state("2021-01-01")
    # 2020-01-31..07-01, 152 days: 30,000 x 1,000 x 12% x 152/365 = 1,499,178.08;
    # 20,000 x 1,000 x 12% x 152/365 = 999,452.05
    assert _due(st, HARBOR, "2020-07-01") == "1499178.08"
    assert _due(st, KEEL, "2020-07-01") == "999452.05"
    # 2020-07-01..2021-01-01, 184 days: 3,600,000 x 184/365 = 1,814,794.52 and
    # 2,400,000 x 184/365 = 1,209,863.01; in kind: 1,814 + 1,209 = 3,023 shares, and
    # 794.52 + 863.01 = 1,657.53 stays owed
    r = _row("2021-01-01")
    assert r["pik_shares"] == "3023" and r["outstanding"] == "53023"
    assert r["arrears"] == "1657.53"


def test_compounding_on_the_cents_left_by_the_payment_in_kind() -> None:
    # 2021-07-01, Harbor: 31,814 x 1,000 x 12% x 181/365 = 1,893,150.9041 plus
    # 794.52 x 12% x 180/365 (from 2021-01-02) = 47.0182: 1,893,197.9223 -> 1,893,197.92
    st = _state("2021-07-01")
    assert _due(st, HARBOR, "2021-07-01") == "1893197.92"
    # Keel: 21,209 x 1,000 x 12% x 181/365 = 1,262,080.7671 + 863.01 x 12% x 180/365 =
    # 51.0713: 1,262,131.8384 -> 1,262,131.84
    assert _due(st, KEEL, "2021-07-01") == "1262131.84"


def test_missed_payment_compounds() -> None:
    # 2024-07-01, Harbor: 33,707 x 1,000 x 12% x 182/365 = 2,016,879.1233 plus the unpaid
    # 2,039,042.63 of 2024-01-01 for 181 days: 121,337.0025 -> 2,138,216.13
    st = _state("2024-07-01")
    assert _due(st, HARBOR, "2024-07-01") == "2138216.13"


def test_holder_put_at_the_premium() -> None:
    # Keel's 22,471 shares, accrued 2025-01-01..03-05 (63 days): 22,471 x 1,000 x 12% x
    # 63/365 = 465,426.74 (20.71 a share); price 1.05 x 1,000 + 20.71 = 1,070.71; paid
    # 22,471 x 1,070.71 = 24,059,924.41; premium 22,471 x 50 = 1,123,550.00
    st = _state("2025-03-05")
    [r] = listing(st, "S")["redemptions"]
    assert (r["holder"], r["by"], r["shares"]) == (KEEL, "holder", "22471")
    assert r["price_per_share"] == "1070.71" and r["paid"] == "24059924.41"
    assert r["premium"] == "1123550.00" and r["accrued"] == "465426.74"


def test_end_position_and_no_findings() -> None:
    r = _row("2025-07-01")
    # 50,000 + 3,023 + 3,155 issued; Keel's 22,471 redeemed: 56,178 - 22,471 = 33,707
    assert (r["issued_total"], r["outstanding"], r["redeemed_total"]) == (
        "56178", "33707", "22471")
    assert r["pik_shares"] == "6178" and r["arrears"] == "0.00"
    # as of 2025-07-01 the accrual runs to 07-02: 33,707 x 1,000 x 12% x 1/365 = 11,081.75
    assert r["accrued_unpaid"] == "11081.75"
    # 105% x 1,000 + 11,081.75 / 33,707 (0.33) = 1,050.33
    assert r["redemption_price_per_share"] == "1050.33"
    assert check(_state("2025-12-31"), dt.date(2025, 12, 31)) == []


def test_demo_example(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "demo.db")
    r = runner.invoke(app, ["--db", db, "demo", "--example", "mezzanine"])
    assert r.exit_code == 0, r.output
    assert "illustrative mezzanine history" in r.stdout
    assert "mezzanine as of 2025-07-01" in r.stdout and "33707" in r.stdout
    r = runner.invoke(app, ["--db", str(tmp_path / "x.db"), "demo", "--example", "nope"])
    assert r.exit_code == 2 and "no such example" in r.stderr and "mezzanine" in r.stderr


def test_open_cap_format_round_trip_keeps_the_shares_paid_in_kind(tmp_path: Path) -> None:
    # the 6,178 shares paid in kind are exported as securities marked derived; import-ocf
    # replays the carried payments in kind and issues them once: 56,178 issued, 33,707
    # outstanding after Keel's 22,471 are redeemed
    runner = CliRunner()
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert runner.invoke(app, ["--db", a, "load", str(HISTORY)]).exit_code == 0
    r = runner.invoke(app, ["--db", a, "export-ocf", "--issuer", "mezzanine", "--as-of",
                            "2025-12-31", "--to", str(tmp_path / "pkg")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", b, "import-ocf", str(tmp_path / "pkg")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", b, "position", "--issuer", "mezzanine", "--as-of",
                            "2025-12-31", "--json"])
    [s] = json.loads(r.stdout)["series"]
    assert (s["issued_total"], s["outstanding"], s["pik_shares"]) == ("56178", "33707", "6178")
