"""``check`` (SPEC.md §5 Missed and Priority, §10): unrecorded misses and
payments made while a series whose certificate claims dividend priority had arrears.
Figures are hand arithmetic (see tests/test_dividends.py for the conventions).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from ledger import checks
from ledger.checks import DIVIDEND_PRIORITY, UNRECORDED_MISS, Finding, check, claims_priority
from tests.conftest import HISTORY
from tests.ledgers import book
from tests.test_dividends import (
    ANN,
    designate,
    due,
    g_fixture_due,
    g_fixture_quarters,
    issue,
    missed,
    paid,
    state,
)

D = Decimal
d = dt.date.fromisoformat


def findings(events: list[dict[str, Any]], as_of: str) -> list[Finding]:
    """The dividend checks (SPEC.md §5); seniority conflicts are tested below and in
    tests/test_waterfall.py."""
    return check(state(events, as_of), d(as_of),
                 checks=[checks.unrecorded_misses, checks.dividend_priority])


# -- unrecorded misses -------------------------------------------------------------------

def test_every_missed_payment_date_without_a_record_is_a_finding():
    # Ann 100 G from 2000-12-28, never paid: 2001-04-10 and 07-10 missed by 2001-07-31
    found = findings(ANN, "2001-07-31")
    assert [(f.kind, f.date, f.series) for f in found] == [
        (UNRECORDED_MISS, d("2001-04-10"), "G"), (UNRECORDED_MISS, d("2001-07-10"), "G")]
    # arrears at the end of each: 2583.33 (93 days), then + 2500.00 (90 days)
    assert found[0].amount == due(100, "9.3") == D("2583.33")
    assert found[1].amount == D("2583.33") + due(100, "9.0")
    assert "2001-04-10" in found[0].message and "DividendMissed" in found[0].message
    assert "2583.33" in found[0].message


def test_a_dividend_missed_record_clears_the_finding():
    evs = ANN + [missed("G", "2001-04-10"), missed("G", "2001-07-10", date="2001-07-20")]
    assert findings(evs, "2001-07-31") == []
    # as of 2001-07-15 the 07-10 record (effective 07-20) does not exist yet
    assert [f.date for f in findings(evs, "2001-07-15")] == [d("2001-07-10")]


def test_a_date_paid_in_full_or_not_yet_reached_is_no_finding():
    evs = ANN + [paid("G", "2583.33", "2001-04-10")]  # exactly 100 * 1000 * 0.10 * 93 / 360
    assert findings(evs, "2001-07-09") == []          # 07-10 not reached yet
    assert [f.date for f in findings(evs, "2001-07-10")] == [d("2001-07-10")]


# -- dividend priority ---------------------------------------------------------------------

def test_claims_priority_by_term():
    st_ = state([designate(x) for x in "GHKM"], "2005-01-10")
    s = st_.series
    assert claims_priority(s["G"], s["H"]) and claims_priority(s["G"], s["M"])  # all
    assert claims_priority(s["M"], s["G"]) and claims_priority(s["M"], s["H"])  # all
    assert claims_priority(s["H"], s["G"])          # G was outstanding on H's date
    assert not claims_priority(s["H"], s["M"])      # M came after H
    assert not claims_priority(s["K"], s["G"])      # K: no dividends, no claim
    assert not claims_priority(s["G"], s["G"])      # never against itself


GH = [designate("G"), designate("H"), issue("G", "Ann", 100, "2000-12-28"),
      issue("H", "Bob", 300, "2001-04-20")]
# G arrears from 2001-04-10: 2583.33 (93 days); H due 2001-06-10: 300 x 50 days = 4166.67


def test_paying_h_while_g_has_arrears_is_a_finding():
    evs = GH + [paid("H", "4166.67", "2001-06-10"), missed("G", "2001-04-10")]
    found = findings(evs, "2001-06-30")
    assert [(f.kind, f.series, f.related, f.amount) for f in found] == [
        (DIVIDEND_PRIORITY, "H", "G", D("4166.67"))]
    assert "2583.33" in found[0].message and "Series G certificate §2(a)" in found[0].message


def priority(events: list[dict[str, Any]], as_of: str) -> list[Finding]:
    return [f for f in findings(events, as_of) if f.kind == DIVIDEND_PRIORITY]


def test_paying_g_while_h_has_arrears_is_a_finding_under_h_section_2():
    evs = GH + [paid("G", "2583.33", "2001-06-11"), missed("H", "2001-06-10")]
    found = priority(evs, "2001-06-30")
    assert [(f.series, f.related, f.date) for f in found] == [("G", "H", d("2001-06-11"))]
    assert "4166.67" in found[0].message and "Series H certificate §2" in found[0].message


HM = [designate("H"), designate("M"), issue("M", "Cy", 70, "2005-02-01"),
      issue("H", "Bob", 300, "2005-03-10")]
# on 2005-07-01: M owes 70 x 60 days + 70 x 90 days at 5% = 583.33 + 875.00 = 1458.33;
# H owes 300 x 90 days at 10% (due 2005-06-10) = 7500.00. M claims over H, not H over M.


def test_order_within_the_day_decides():
    assert due(70, D("0.05") * 60) + due(70, D("0.05") * 90) == D("1458.33")
    assert due(300, "9.0") == D("7500.00")
    ok = HM + [paid("M", "1458.33", "2005-07-01"), paid("H", "7500.00", "2005-07-01")]
    assert priority(ok, "2005-07-01") == []
    # H first: M still had its arrears at that moment
    bad = HM + [paid("H", "7500.00", "2005-07-01"), paid("M", "1458.33", "2005-07-01")]
    assert [(f.series, f.related) for f in priority(bad, "2005-07-01")] == [("H", "M")]
    # G and H claim over each other: on 2001-06-10 either payment breaches the other's claim
    gh = GH + [paid("G", "2583.33", "2001-06-10"), paid("H", "4166.67", "2001-06-10")]
    assert [(f.series, f.related) for f in priority(gh, "2001-06-10")] == [("G", "H")]


def test_h_claims_nothing_over_a_later_series_but_m_claims_over_all():
    evs = [designate("H"), designate("M"), issue("H", "Bob", 300, "2001-04-20"),
           issue("M", "Cy", 70, "2005-02-01"),
           # H has arrears since 2001-06-10; M paid in full on 2005-04-01: 70 x 60 days at 5%
           paid("M", due(70, D("0.05") * 60), "2005-04-01")]
    assert due(70, D("0.05") * 60) == D("583.33")
    kinds = [(f.kind, f.series) for f in findings(evs, "2005-04-01")]
    assert (DIVIDEND_PRIORITY, "M") not in kinds
    # M missed 2005-07-01 (875.00 due); then paying H is a finding under M §2
    evs += [missed("M", "2005-07-01"), paid("H", "100.00", "2005-07-02")]
    pri = [f for f in findings(evs, "2005-07-02") if f.kind == DIVIDEND_PRIORITY]
    assert [(f.series, f.related) for f in pri] == [("H", "M")]
    assert "875.00" in pri[0].message and "Series M certificate §2" in pri[0].message


def test_a_series_without_a_claim_makes_no_priority_finding():
    plain = {"series": "P", "designated": "2000-01-01", "authorized_shares": "100",
             "dividend_rate": "0.10", "period_starts": ["01-01", "04-01", "07-01", "10-01"]}
    other = dict(plain, series="Q")
    evs = [{"type": "SeriesDesignated", "effective_date": "2000-01-01", "series": "P",
            "terms": plain},
           {"type": "SeriesDesignated", "effective_date": "2000-01-01", "series": "Q",
            "terms": other},
           issue("P", "A", 10, "2000-01-01"), issue("Q", "B", 10, "2000-01-01"),
           # Q's 2000-04-01 amount: 10 x 1000 x 0.10 x 90 / 360 = 250.00
           paid("Q", "250.00", "2000-04-01"), missed("P", "2000-04-01")]
    assert findings(evs, "2000-04-01") == []


# -- the hook: more checks plug in ------------------------------------------------------------

def test_checks_are_a_list_other_checks_join(monkeypatch):
    def seniority(st_: Any, as_of: dt.date) -> list[Finding]:
        return [Finding("seniority_conflict", "G and H both claim to be senior")]

    assert checks.CHECKS[:4] == [checks.unrecorded_misses, checks.dividend_priority,
                                 checks.seniority_conflicts, checks.ledger_notes]
    monkeypatch.setattr(checks, "CHECKS", list(checks.CHECKS))
    checks.register(seniority)
    checks.register(seniority)  # once only
    found = check(state(ANN, "2001-04-10"), d("2001-04-10"))  # every check in CHECKS
    assert [f.kind for f in found] == [UNRECORDED_MISS, "seniority_conflict"]
    assert found[-1].to_json()["date"] is None
    assert check(state(ANN, "2001-04-10"), d("2001-04-10"), checks=[seniority]) == [
        found[-1]]


# -- the command, on both stores ---------------------------------------------------------------

def test_check_command_exit_codes_and_json(cli, jsonl):
    assert cli("load", str(jsonl(GH))).exit_code == 0
    # only G exists before 2001-04-12 and nothing is due before 2001-04-10
    clean = cli("check", "--as-of", "2001-04-09")
    assert clean.exit_code == 0 and "no findings" in clean.stdout
    r = cli("check", "--as-of", "2001-06-10", "--json")
    assert r.exit_code == 1
    rep = json.loads(r.stdout)
    assert rep["as_of"] == "2001-06-10" and rep["issuer"] == "default"
    dividend_findings = [f for f in rep["findings"] if f["kind"] != "seniority_conflict"]
    assert [(f["kind"], f["date"], f["series"], f["amount"]) for f in dividend_findings] == [
        (UNRECORDED_MISS, "2001-04-10", "G", "2583.33"),
        (UNRECORDED_MISS, "2001-06-10", "H", "4166.67")]
    table = cli("check", "--as-of", "2001-06-10")
    assert table.exit_code == 1 and "unrecorded_miss" in table.stdout
    assert cli("check", "--as-of", "2001-06-31").exit_code == 2
    other = cli("check", "--as-of", "2001-06-10", "--issuer", "nobody")
    assert other.exit_code == 2  # an unknown issuer is named, never an empty report
    assert "error: no issuer 'nobody' in this ledger; issuers: default" in other.stderr


def test_check_of_the_fixture_history():
    """history.jsonl records every miss, so only the five priority conflicts remain, with
    the seniority conflicts of the four certificates and the fractions K's conversion
    dropped."""
    fixture = book(HISTORY)
    every = [f.to_json() for f in fixture.check("2005-12-31")]
    kinds = [f["kind"] for f in every]
    assert set(kinds) == {DIVIDEND_PRIORITY, "seniority_conflict", "note"}
    conflicts = [f for f in every if f["kind"] == "seniority_conflict"]
    # G/H, G/K x3, G/M, H/K, K/M (tests/test_waterfall.py checks each pair's sections)
    assert len(conflicts) == 7
    assert all("§" in f["message"] for f in conflicts)
    notes = [f["message"] for f in every if f["kind"] == "note"]
    # K converts on 2003-06-30 without a market_price: Fir 6000 and Grove 4000 at
    # 1000/0.23 leave fractions 0.52.. and 0.34.. (26,086,956.52.. and 17,391,304.34..);
    # Dogwood's 300 H (nstor-0031) gives no market_price either
    assert len(notes) == 3 and all("dropped" in n for n in notes)
    assert [n[:10] for n in notes] == ["2003-06-30", "2003-06-30", "2004-03-15"]
    assert "fraction 0.5217" in notes[0] and "fraction 0.3478" in notes[1]
    found = [f for f in every if f["kind"] == DIVIDEND_PRIORITY]
    got = [(f["event_id"], f["series"], f["related"], f["amount"]) for f in found]
    assert got == [
        ("nstor-0010", "H", "G", "30000.00"),
        ("nstor-0011", "G", "H", "35000.00"),
        ("nstor-0014", "H", "G", "80000.00"),
        ("nstor-0026", "G", "H", "224722.21"),
        ("nstor-0032", "H", "G", "1000.00"),
    ]
    # the arrears each message quotes, by hand:
    # 0010 (2001-06-10): G 32222.22 due 04-10 - 30000.00 paid = 2222.22
    # 0011 (2001-07-10): H 06-10: Dogwood 2000 x 50 d + Alder 1000 x 25 d - 30000.00
    h_0610 = due(2000, "5.0") + due(1000, "2.5") - D("30000.00")
    # 0014 (2001-09-10): G after 07-10: 2222.22 + 37500.00 - 35000.00
    # 0026 (2002-10-10): H 4722.22, + 09-10 83666.67 - 80000.00, + 95000.00 a quarter x 4
    h_0910 = due(2000, "9.0") + due(1000, "9.0") + due(800, "3.9")  # Elm from 08-01: 39 d
    h_1010 = h_0610 + h_0910 - D("80000.00") + 4 * due(3800, "9.0")
    # 0032 (2004-03-15): G arrears since the 2002-10-10 catch-up, 2003-01-10..2004-01-10
    g_0315 = sum((g_fixture_due(p, rd) for p, rd in g_fixture_quarters()
                  if "2003-01-10" <= p <= "2004-01-10"), D(0))
    quoted = [D("2222.22"), h_0610, D("2222.22") + D("37500.00") - D("35000.00"), h_1010,
              g_0315]
    assert [f"{q:.2f}" for q in quoted] == ["2222.22", "4722.22", "4722.22", "388388.89",
                                            "202916.66"]
    for f, q in zip(found, quoted, strict=True):
        assert f"arrears of {q:.2f}" in f["message"]
    # before H existed nothing conflicts; as of 2001-07-09 only 0010
    assert fixture.check("2001-03-31") == []
    assert [f.event_id for f in fixture.check("2001-07-09")
            if f.kind == DIVIDEND_PRIORITY] == ["nstor-0010"]


def bad_priority(bad: str) -> dict[str, Any]:
    terms = {"series": "P", "designated": "2000-01-01", "authorized_shares": "100",
             "dividend_priority": bad}
    return {"type": "SeriesDesignated", "effective_date": "2000-01-01", "series": "P",
            "terms": terms}


@pytest.mark.parametrize("bad", ["some", "ALL"])
def test_dividend_priority_term_is_validated(bad):
    book().refused([bad_priority(bad)], "terms.dividend_priority", "SeriesDesignated")


def test_dividend_priority_term_is_validated_through_load(cli, jsonl):
    for bad in ("some", "ALL"):
        cli.refuses(jsonl([bad_priority(bad)]), "SeriesDesignated",
                    field="terms.dividend_priority", before=[])
