"""Validation of terms as a whole (SPEC.md §12): every rule refuses the designation (or
the amendment) with exit 2, naming the field; limits are the module constants of
``ledger.terms`` and each message states the allowed range.

Most cases run on the pure core (a load's problems); the last ones go through
``prefledger load`` on both stores and check that the ledger is left unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger import terms as T
from tests.conftest import Cli
from tests.general_terms import designate, ev, issue, problems_of, refused, terms

# -- numbers out of range: (field, value, words of the message) --------------------------

NUMBERS = [
    # non-positive
    ("par_value", "0", "greater than 0 and at most 1,000,000,000"),
    ("par_value", "-0.01", "greater than 0"),
    ("stated_value", "0", "greater than zero"),
    ("authorized_shares", "0", "greater than 0 and at most 1,000,000,000,000"),
    ("pik_price", "0", "greater than 0 and at most 1,000,000,000"),
    ("redemption_premium", "0", "greater than 0 and at most 10"),
    ("votes_per_share", "0", "greater than 0 and at most 1,000,000"),
    # negative
    ("redemption_notice_days", -1, "from 0 to 3,650"),
    ("notice_conversion_days", -1, "from 0 to 3,650"),
    ("payment_lag_days", -1, "from 0 to 31"),
    # above the upper limits
    ("dividend_rate", "1.01", "from 0 to 1"),
    ("stated_value", "1000000000.01", "at most 1,000,000,000"),
    ("par_value", "1000000001", "at most 1,000,000,000"),
    ("authorized_shares", "1000000000001", "at most 1,000,000,000,000"),
    ("pik_price", "1000000001", "at most 1,000,000,000"),
    ("redemption_premium", "10.5", "at most 10"),
    ("votes_per_share", "1000001", "at most 1,000,000"),
    ("payment_lag_days", 32, "from 0 to 31"),
    ("redemption_notice_days", 3651, "from 0 to 3,650"),
    ("conversion_after_closing_years", 101, "from 0 to 100"),
]


@pytest.mark.parametrize(("field", "value", "words"), NUMBERS)
def test_numbers_out_of_range_name_the_field_and_the_range(field: str, value: Any,
                                                           words: str) -> None:
    extra: dict[str, Any] = {}
    # give each term what it needs so that only its range is at fault
    if field == "pik_price":
        extra["dividend_form"] = "cash_or_shares"
    if field == "redemption_premium":
        extra.update(redeemable=True, redemption_notice_days=30)
    if field == "votes_per_share":
        extra["votes"] = "per_share"
    if field == "conversion_after_closing_years":
        extra.update(conversion="elective", conversion_rate="10")
    refused([designate(**{field: value}, **extra)], f"terms.{field}", words)


def test_limits_are_data() -> None:
    # the range table is the module's constants, one place to read and change them
    assert T.RANGES["dividend_rate"] == (0, True, T.MAX_RATE) and T.MAX_RATE == 1
    assert T.RANGES["stated_value"][2] == T.MAX_PER_SHARE == 10 ** 9
    assert T.RANGES["authorized_shares"][2] == T.MAX_SHARES == 10 ** 12
    assert T.MAX_PERIOD_STARTS == 12 and T.MAX_YEARS == 100


def test_at_most_twelve_period_starts() -> None:
    thirteen = [f"{m:02d}-01" for m in range(1, 13)] + ["12-15"]
    refused([designate(period_starts=thirteen)], "terms.period_starts",
            "13 period starts; at most 12 (monthly dividends) are allowed")
    # twelve (monthly) is fine
    assert problems_of([designate(period_starts=thirteen[:12])]) == []


@pytest.mark.parametrize(("field", "value", "words"), [
    ("increment", "-0.01", "from 0 to 1"),
    ("increment", "1.5", "from 0 to 1"),
    ("every_missed", 0, "from 1 to 100"),
    ("every_missed", 101, "from 1 to 100"),
    ("cap", "1.2", "greater than 0 and at most 1"),
])
def test_step_up_ranges(field: str, value: Any, words: str) -> None:
    up = {"increment": "0.01", "every_missed": 2, "cap": "0.15", field: value}
    refused([designate(step_up=up)], f"terms.step_up.{field}", words)


def test_step_up_cap_below_the_base_rate() -> None:
    # 8% base, cap 7%: the rate could never step up, and would have to step down
    refused([designate(step_up={"increment": "0.01", "every_missed": 2, "cap": "0.07"})],
            "terms", "step_up.cap 0.07 is below the dividend_rate 0.08")


# -- a term accepted must change a figure: terms with nothing to act on -------------------

@pytest.mark.parametrize(("extra", "words"), [
    ({"cumulative": False, "step_up": {"increment": "0.01", "cap": "0.15"}},
     "step_up needs cumulative dividends"),
    ({"cumulative": False}, "period_starts: a non-cumulative series"),
    ({"cumulative": False, "period_starts": None, "payment_lag_days": 9},
     "payment_lag_days: a non-cumulative series"),
    ({"cumulative": False, "period_starts": None, "first_payment_date": "2024-04-10"},
     "first_payment_date: a non-cumulative series"),
    ({"dividend_rate": None, "day_count": "ACT/365F"}, "day_count 'ACT/365F' needs"),
    ({"dividend_rate": None, "compounding": "payment_date"}, "compounding needs"),
    ({"dividend_rate": None, "dividend_form": "shares"}, "dividend_form 'shares' needs"),
    ({"pik_price": "950"}, "pik_price needs dividend_form"),
    ({"holder_redemption_from": "2029-01-01"}, "holder_redemption_from needs "
                                               "redemption_notice_days"),
    ({"holder_redemption_from": "2023-12-31", "redemption_notice_days": 30},
     "before the designation date"),
    ({"redemption_premium": "1.05"}, "redemption_premium needs a redeemable series"),
    ({"votes_per_share": "2"}, "votes_per_share needs votes 'per_share'"),
])
def test_terms_that_would_be_ignored_are_refused(extra: dict[str, Any], words: str) -> None:
    refused([designate(**extra)], "terms", words)


def test_non_cumulative_needs_no_period_starts() -> None:
    # a non-cumulative series has no schedule: its rate is stated, its dividends declared
    assert problems_of([designate(cumulative=False, period_starts=None)]) == []


# -- the designation event ----------------------------------------------------------------

def test_designated_must_be_the_event_date() -> None:
    refused([designate(date="2024-01-02")], "terms.designated",
            "designated on 2024-01-01", "dated 2024-01-02", "same day")


def test_designated_of_shipped_terms_must_be_the_event_date() -> None:
    e = ev("SeriesDesignated", "2000-12-29", series="G", terms_ref="nstor/G")
    refused([e], "terms_ref", "designated on 2000-12-28", "dated 2000-12-29")


def test_seniority_claim_naming_a_series_never_designated() -> None:
    claims = [{"relation": "senior_to", "to": "Q"}]
    refused([designate(seniority_claims=claims)], "terms.seniority_claims.0.to",
            "'Q' is neither one of", "nor a series designated")
    # the same claim is fine once Q is designated anywhere in the issuer's log, even
    # later than P (a claim about a series to come)
    q = designate(terms(series="Q", designated="2025-01-01"))
    assert problems_of([designate(seniority_claims=claims), q]) == []
    # ... and in another issuer's log it does not count
    other = {**q, "issuer": "acme"}
    assert len(problems_of([designate(seniority_claims=claims), other])) == 1


def test_seniority_claim_naming_itself() -> None:
    refused([designate(seniority_claims=[{"relation": "junior_to", "to": "P"}])],
            "terms.seniority_claims.0.to", "cannot rank against itself")


def test_shipped_terms_may_name_their_siblings() -> None:
    # nstor/K is junior to H (Series K §3(a)) and may be designated without H
    k = ev("SeriesDesignated", "2001-11-19", series="K", terms_ref="nstor/K")
    assert problems_of([k]) == []


# -- text hygiene -------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "where", "bad"), [
    ("series", "terms.series", "P\u200b"),
    ("name", "terms.name", "Series P\u0007 Preferred"),
    ("name", "terms.name", "Series \u202eP"),
    ("name", "terms.name", "Series P\u00ad Preferred"),
    ("name", "terms.name", " Series P"),
    ("conversion_trigger", "terms.conversion_trigger", "ipo\ufeff"),
])
def test_control_and_invisible_characters_in_names(field: str, where: str, bad: str) -> None:
    t = terms(**{field: bad})
    if field == "conversion_trigger":
        t.update(conversion="automatic", conversion_rate="1")
    e = ev("SeriesDesignated", "2024-01-01", series="P", terms=t)
    found = problems_of([e])
    assert found and found[0].field == where, found


def test_invisible_characters_in_citations_and_sections() -> None:
    refused([designate(citations={"dividend_rate": "Art. 4\u200d(a)"})], "terms.citations",
            "citation 'dividend_rate'", "zero-width character U+200D")
    claims = [{"relation": "senior_to", "to": "common", "section": "§3\x00"}]
    refused([designate(seniority_claims=claims)], "terms.seniority_claims.0.section",
            "control character U+0000")
    claims = [{"relation": "senior_to", "to": "comm\u2060on"}]
    refused([designate(seniority_claims=claims)], "terms.seniority_claims.0.to",
            "zero-width character U+2060")


# -- amendments are validated as the whole new terms ---------------------------------------

BASE = [designate(), issue("Ann", "1000", "2024-01-01")]


def amend(date: str, **changes: Any) -> dict[str, Any]:
    return ev("TermsAmended", date, series="P", changes=changes)


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"stated_value": "0"}, "changes.stated_value", "greater than zero"),
    ({"dividend_rate": "2"}, "changes.dividend_rate", "from 0 to 1"),
    ({"votes_per_share": "3"}, "changes", "votes_per_share needs votes 'per_share'"),
    ({"authorized_shares": "999"}, "changes.authorized_shares",
     "fewer than the 1000 Series P shares already issued"),
    ({"series": "Q"}, "changes.series", "never amended"),
    ({"designated": "2024-02-01"}, "changes.designated", "never amended"),
    ({"day_count": "ACT/365F"}, "changes.day_count", "accrues dividends"),
    ({"period_starts": ["01-01", "07-01"]}, "changes.period_starts", "accrues dividends"),
    ({"stated_value": "1500"}, "changes.stated_value", "accrues dividends"),
    ({"dividend_rate": None}, "changes.dividend_rate", "amend its dividend_rate to \"0\""),
    ({"seniority_claims": [{"relation": "senior_to", "to": "Z"}]},
     "changes.seniority_claims.0.to", "nor a series designated"),
    ({"dividend_rate": 0.1}, "changes.dividend_rate", "not a JSON number"),
])
def test_amendment_rejections(changes: dict[str, Any], field: str, words: str) -> None:
    refused([*BASE, amend("2024-05-16", **changes)], field, words)


def test_amendment_unknown_field() -> None:
    refused([*BASE, amend("2024-05-16", dividend_rat="0.1")], "changes.dividend_rat",
            "unknown term field")


def test_amendment_must_leave_a_valid_timeline() -> None:
    # 1,000 issued, then 500 more on 2024-06-01: authorized 1,200 from 2024-05-16 makes
    # the later issuance exceed it (1,000 + 500 = 1,500 > 1,200)
    later = issue("Bo", "500", "2024-06-01")
    refused([*BASE, amend("2024-05-16", authorized_shares="1200"), later], "shares",
            "1500 shares issued, more than the 1200 authorized")


# -- through the command line, on both stores: exit 2, field named, ledger unchanged ------

def test_cli_refuses_bad_terms_and_leaves_the_ledger_unchanged(cli: Cli, jsonl: Any,
                                                                store: Any) -> None:
    r = cli("load", str(jsonl(BASE)))
    assert r.exit_code == 0, r.output
    before = store.content()
    r = cli("load", str(jsonl([designate(terms(series="Q", par_value="0"))])))
    assert r.exit_code == 2
    assert "terms.par_value" in r.stderr and "greater than 0" in r.stderr
    r = cli("load", str(jsonl([amend("2024-05-16", authorized_shares="999")])))
    assert r.exit_code == 2
    assert "changes.authorized_shares" in r.stderr and "already issued" in r.stderr
    assert store.content() == before


def test_stored_history_reads_back_by_the_rules_it_was_stored_under() -> None:
    # a designation stored before these rules (line 0, parsed as stored): a stated value
    # above the limit, a date that differs from `designated`, a claim naming no series;
    # it still replays, while the same line as input is refused
    from ledger.events import parse_object
    from ledger.replay import replay
    from ledger.state import Record

    t = terms(stated_value="2000000000", seniority_claims=[{"relation": "senior_to",
                                                            "to": "Q"}])
    obj = ev("SeriesDesignated", "2024-01-02", series="P", terms=t)
    stored = parse_object(obj)
    assert not isinstance(stored, list)
    st, problems = replay("default", [Record(stored, 1, 0)], None)
    assert problems == [] and st.series["P"].terms.stated_value == 2_000_000_000
    assert {p.field for p in problems_of([obj])} == {"terms.stated_value"}
