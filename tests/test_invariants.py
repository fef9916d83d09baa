"""Invariants over random command sequences (a hypothesis
``RuleBasedStateMachine``). Random issuances, transfers, payments, common sales, splits,
conversions, approvals, notices, redemptions, reversals and back-dated events are loaded
into a real ledger (SQLite) through ``Ledger.load_lines``; some are rejected, which must
leave the log as it was. After every step, as of the machine's date:

- every series: shares issued = outstanding + converted + redeemed (SPEC.md §3, §11
  Reports: ``issued_total`` counts every share ever issued);
- outstanding <= issued <= authorized (§3: redeemed or converted shares never reissued);
- ``accrued_unpaid``, ``arrears`` and ``dividends_payable`` >= 0, per series and holder;
- the same log replayed twice, and replayed from a shuffled list, gives identical
  projections (§1: order is (effective date, recorded order), nothing else);
- rebuild == incremental: the position from checkpoints (``Ledger.position``) equals the
  one from a full replay, and at the end the reporting database kept up to date with
  ``catch_up`` equals one made by ``rebuild``;
- every waterfall pays out exactly the proceeds (§8: tiers, then the remainder to common).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import sqlite3
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger.api import Ledger
from ledger.problems import LedgerError
from ledger.replay import replay
from ledger.waterfall import distribute
from projections.feed.projector import Projector
from projections.position import position
from projections.tables import TABLES
from tests.figures import show

D = Decimal
SERIES = ["G", "H", "K", "M"]
HOLDERS = ["Ann", "Bob", "Cy", "Dee"]
START = dt.date(2002, 1, 2)
TYPES: Counter[str] = Counter()  # accepted commands by event type
RUNS = {"runs": 0, "steps": 0, "accepted": 0, "rejected": 0, "checks": 0, "waterfalls": 0}


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = sqlite3.connect(path)
    try:
        out = {}
        for t in TABLES:
            n = len(con.execute(f'SELECT * FROM "{t}" LIMIT 0').description)
            cols = ", ".join(str(k) for k in range(1, n + 1))
            out[t] = con.execute(f'SELECT * FROM "{t}" ORDER BY {cols}').fetchall()
        return out
    finally:
        con.close()


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="prefledger-sm-"))
        self.lg = Ledger.open(str(self.tmp / "ledger.db"))
        self.day = START
        self.n = 0
        self.ids: list[str] = []
        self.projected = False
        RUNS["runs"] += 1

    # -- loading --------------------------------------------------------------------------
    def load(self, ev: dict[str, Any], day: dt.date | None = None) -> bool:
        self.n += 1
        ev = {"id": f"e{self.n}", "effective_date": (day or self.day).isoformat(), **ev}
        before = len(self.lg.records("default"))
        RUNS["steps"] += 1
        try:
            self.lg.load_lines([json.dumps(ev)])
        except LedgerError as exc:
            assert exc.problems, "a rejection names its problems"
            assert len(self.lg.records("default")) == before, "a rejected load stored events"
            RUNS["rejected"] += 1
            return False
        assert len(self.lg.records("default")) == before + 1
        self.ids.append(ev["id"])
        RUNS["accepted"] += 1
        TYPES[ev["type"]] += 1
        return True

    @initialize()
    def designate(self) -> None:
        for s, d in (("G", "2000-12-28"), ("H", "2001-04-12"), ("K", "2001-11-19"),
                     ("M", "2005-01-10")):
            assert self.load({"type": "SeriesDesignated", "series": s,
                              "terms_ref": f"nstor/{s}"}, dt.date.fromisoformat(d))
        assert self.load({"type": "CommonStockIssued", "shares": "1000000",
                          "kind": "opening"}, dt.date(2000, 12, 28))
        for s, h, n, d in (("G", "Ann", "500", "2001-01-02"), ("G", "Bob", "300", "2001-02-15"),
                           ("H", "Cy", "1000", "2001-05-01"), ("H", "Dee", "1000", "2001-05-01"),
                           ("K", "Ann", "1000", "2001-12-01")):
            assert self.load({"type": "SharesIssued", "series": s, "holder": h, "shares": n},
                             dt.date.fromisoformat(d))
        self.ids.clear()  # the opening position is never reversed

    # -- rules ----------------------------------------------------------------------------
    @rule(days=st.integers(1, 400))
    def advance(self, days: int) -> None:
        self.day = min(self.day + dt.timedelta(days=days), dt.date(2007, 12, 31))

    @rule(series=st.sampled_from(SERIES), holder=st.sampled_from(HOLDERS),
          shares=st.sampled_from(["0.5", "1", "10", "100", "250"]))
    def issue(self, series: str, holder: str, shares: str) -> None:
        self.load({"type": "SharesIssued", "series": series, "holder": holder,
                   "shares": shares, "price_per_share": "1000"})

    @rule(series=st.sampled_from(SERIES), a=st.sampled_from(HOLDERS),
          b=st.sampled_from(HOLDERS), shares=st.sampled_from(["0.5", "1", "10", "100"]))
    def transfer(self, series: str, a: str, b: str, shares: str) -> None:
        self.load({"type": "SharesTransferred", "series": series, "from_holder": a,
                   "to_holder": b, "shares": shares})

    @rule(series=st.sampled_from(["G", "H", "M"]),
          holder=st.one_of(st.none(), st.sampled_from(HOLDERS)),
          amount=st.sampled_from(["0.01", "100.00", "2500.00", "30000.00"]))
    def pay(self, series: str, holder: str | None, amount: str) -> None:
        ev = {"type": "DividendPaid", "series": series, "amount": amount}
        if holder:
            ev["holder"] = holder
        self.load(ev)

    @rule(price=st.sampled_from(["0.10", "0.24", "0.50", "1.00"]),
          shares=st.sampled_from(["1000", "100000"]))
    def sell_common(self, price: str, shares: str) -> None:
        self.load({"type": "CommonStockIssued", "shares": shares, "kind": "sale",
                   "price_per_share": price})

    @rule(ratio=st.sampled_from(["2", "0.5", "3"]))
    def split(self, ratio: str) -> None:
        self.load({"type": "CommonStockSplit", "ratio": ratio})

    @rule(series=st.sampled_from(["H", "M"]), holder=st.sampled_from(HOLDERS),
          shares=st.sampled_from(["100", "200", "0.5"]))
    def convert(self, series: str, holder: str, shares: str) -> None:
        self.load({"type": "SharesConverted", "series": series, "holder": holder,
                   "shares": shares, "market_price": "0.40"})

    @rule()
    def approve_k(self) -> None:
        self.load({"type": "ShareholderApproval", "matters": ["series_k_conversion"]})

    @rule(series=st.sampled_from(["G", "H", "M"]), holder=st.sampled_from(HOLDERS),
          shares=st.sampled_from(["1", "10"]), notice=st.sampled_from([15, 30, 45]))
    def notice(self, series: str, holder: str, shares: str, notice: int) -> None:
        self.load({"type": "RedemptionNoticed", "series": series,
                   "redemption_date": (self.day + dt.timedelta(days=notice)).isoformat(),
                   "holders": {holder: shares}})

    @rule(series=st.sampled_from(["G", "H", "M"]), holder=st.sampled_from(HOLDERS),
          shares=st.sampled_from(["1", "10", "100"]), notice=st.sampled_from([15, 30, 31]),
          funds=st.one_of(st.none(), st.sampled_from(["500.00", "5000.00"])))
    def notice_then_redeem(self, series: str, holder: str, shares: str, notice: int,
                           funds: str | None) -> None:
        """A notice, then the redemption on its redemption date (SPEC.md §7)."""
        on = self.day + dt.timedelta(days=notice)
        if self.load({"type": "RedemptionNoticed", "series": series,
                      "redemption_date": on.isoformat(), "holders": {holder: shares}}):
            self.day = on
            self.redeem(series, holder, shares, funds)

    @rule(series=st.sampled_from(["G", "H", "M"]), holder=st.sampled_from(HOLDERS),
          shares=st.sampled_from(["1", "10"]),
          funds=st.one_of(st.none(), st.sampled_from(["500.00", "5000.00"])))
    def redeem(self, series: str, holder: str, shares: str, funds: str | None) -> None:
        ev = {"type": "SharesRedeemed", "series": series, "holder": holder, "shares": shares}
        if funds:
            ev["funds_available"] = funds
        self.load(ev)

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(self.ids))
        self.load({"type": "EventReversed", "target_id": target, "reason": "correction"})

    @rule(back=st.integers(1, 400), series=st.sampled_from(SERIES),
          holder=st.sampled_from(HOLDERS), shares=st.sampled_from(["1", "10"]))
    def backdated_issue(self, back: int, series: str, holder: str, shares: str) -> None:
        day = max(self.day - dt.timedelta(days=back), dt.date(2000, 12, 28))
        self.load({"type": "SharesIssued", "series": series, "holder": holder,
                   "shares": shares}, day)

    @rule()
    def project(self) -> None:
        """Keep the reporting database up to date (incremental), at random moments."""
        Projector(self.lg, self.tmp / "inc.db").catch_up()
        self.projected = True

    @rule(proceeds=st.one_of(st.sampled_from([D(0), D("0.01"), D("999.99"),
                                              D("123456789.12")]),
                             st.decimals(min_value=0, max_value=10**9, places=2)))
    def waterfall(self, proceeds: Decimal) -> None:
        self.check_waterfall(proceeds)

    # -- invariants -----------------------------------------------------------------------
    def states(self, as_of: dt.date) -> tuple[Any, list[Any]]:
        recs = self.lg.records("default")
        st1, _ = replay("default", recs, as_of)
        return st1, recs

    def check_waterfall(self, proceeds: Decimal) -> None:
        st1, _ = self.states(self.day)
        dist = distribute(st1, self.day, proceeds)
        paid = sum((h.received for h in dist.holders), D(0)) + dist.common_line
        tiers = sum((t.paid for t in dist.tiers), D(0))
        assert paid == proceeds, f"waterfall pays {paid}, not the proceeds {proceeds}"
        assert tiers + dist.remainder == proceeds
        assert dist.common_received == dist.remainder
        for t in dist.tiers:
            assert D(0) <= t.paid <= t.claim or t.claim == 0 and t.paid == 0
        assert all(h.received >= 0 for h in dist.holders)
        RUNS["waterfalls"] += 1

    @invariant()
    def shares_add_up(self) -> None:
        st1, _ = self.states(self.day)
        for s in st1.series.values():
            a = s.terms.authorized_shares
            assert s.issued_total == s.outstanding + s.converted_total + s.redeemed_total, (
                s.name, s.issued_total, s.outstanding, s.converted_total, s.redeemed_total)
            assert D(0) <= s.outstanding <= s.issued_total <= a, (s.name, s.issued_total, a)
            assert all(lot.shares > 0 for lot in s.lots)
        RUNS["checks"] += 1

    @invariant()
    def nothing_owed_is_negative(self) -> None:
        st1, _ = self.states(self.day)
        rep = position(st1, self.day)
        for row in rep["series"] + rep["holders"]:
            for k in ("accrued_unpaid", "arrears", "dividends_payable"):
                if row.get(k) is not None:
                    assert D(row[k]) >= 0, (k, row)
            assert D(row.get("shares", row.get("outstanding", "0"))) >= 0

    @invariant()
    def replay_is_deterministic(self) -> None:
        st1, recs = self.states(self.day)
        st2, _ = replay("default", recs, self.day)
        shuffled = list(recs)
        random.Random(len(recs)).shuffle(shuffled)
        st3, _ = replay("default", shuffled, self.day)
        p1 = position(st1, self.day)
        assert p1 == position(st2, self.day) == position(st3, self.day)
        d = [distribute(s, self.day, D("5000000.00")).to_json() for s in (st1, st2, st3)]
        assert d[0] == d[1] == d[2]

    @invariant()
    def checkpoints_equal_full_replay(self) -> None:
        for day in {self.day, START + (self.day - START) / 2}:
            st1, _ = self.states(day)
            assert self.lg.position(day) == position(st1, day), day

    @invariant()
    def waterfall_pays_exactly_the_proceeds(self) -> None:
        for proceeds in (D(0), D("1000000.00"), D("987654321.99")):
            self.check_waterfall(proceeds)

    def teardown(self) -> None:
        try:
            if self.projected:  # rebuild == incremental for the reporting database
                Projector(self.lg, self.tmp / "inc.db").catch_up()
                Projector(self.lg, self.tmp / "reb.db").rebuild()
                assert dump(self.tmp / "inc.db") == dump(self.tmp / "reb.db")
        finally:
            self.lg.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


LedgerMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class TestLedgerInvariants(LedgerMachine.TestCase):  # type: ignore[misc,valid-type]
    pass


def test_invariant_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the machine (file order): what it covered, printed."""
    show(capsys, f"invariants: {RUNS['runs']} random command sequences, {RUNS['steps']} "
         f"commands ({RUNS['accepted']} accepted, {RUNS['rejected']} rejected and nothing "
         f"stored), {RUNS['checks']} states checked, {RUNS['waterfalls']} waterfalls paying "
         f"exactly the proceeds; accepted: {dict(sorted(TYPES.items()))}")
    assert RUNS["runs"] > 0, "run the whole module: the machine runs first"
    assert RUNS["accepted"] > 0 and RUNS["rejected"] > 0
    # the sequences reach every kind of command, not only the easy ones
    for t in ("SharesIssued", "SharesTransferred", "DividendPaid", "SharesConverted",
              "SharesRedeemed", "RedemptionNoticed", "EventReversed",
              "CommonStockIssued", "CommonStockSplit", "ShareholderApproval"):
        assert TYPES[t] > 0, f"no {t} was ever accepted: the machine does not reach it"
