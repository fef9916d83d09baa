"""Names and ids: no terminal or look-alike injection (README Guarantees), on both
stores. Characters that do not show (or show as others) are refused in every name and
id, named by code point and position, never printed raw; every message and report
escapes what came from input; two holder names that look alike are a ``check`` finding.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.checks import LOOKALIKE_HOLDERS
from ledger.names import json_safe, shown, text_problem
from tests.conftest import Cli, StoreSpec
from tests.ledgers import book
from tests.test_dividends import designate, issue

BASE = [designate("G"), designate("H"), issue("G", "Ann", 600, "2000-12-28")]

# (character, how the refusal names it)
REFUSED = [
    ("\x1b", "control character U+001B"),
    ("\x07", "control character U+0007"),
    ("\x9b", "control character U+009B"),
    ("\u200b", "zero-width character U+200B ZERO WIDTH SPACE"),
    ("\u200c", "zero-width character U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "zero-width character U+200D ZERO WIDTH JOINER"),
    ("\u2060", "zero-width character U+2060 WORD JOINER"),
    ("\ufeff", "byte order mark U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u00ad", "invisible format character U+00AD SOFT HYPHEN"),
    ("\u2062", "invisible format character U+2062 INVISIBLE TIMES"),
    ("\u2063", "invisible format character U+2063 INVISIBLE SEPARATOR"),
    ("\u2064", "invisible format character U+2064 INVISIBLE PLUS"),
    ("\U000e0041", "invisible format character U+E0041 TAG LATIN CAPITAL LETTER A"),
    ("\u202e", "bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u200f", "bidirectional control U+200F RIGHT-TO-LEFT MARK"),
    ("\ufe0f", "invisible character U+FE0F VARIATION SELECTOR-16"),
    ("\u3164", "invisible character U+3164 HANGUL FILLER"),
    ("\u2028", "line or paragraph separator U+2028 LINE SEPARATOR"),
    ("\ue000", "private-use character U+E000"),
    ("\U000f0000", "private-use character U+F0000"),
    ("\u0378", "unassigned code point U+0378"),
]

#: every name and id field, in an event where it is the only new name
FIELDS = {
    "holder": issue("G", "Ann", 1, "2001-02-01"),
    "series": designate("K"),
    "issuer": dict(designate("G"), issuer="acme"),
    "id": dict(issue("G", "Ann", 1, "2001-02-01"), id="ev-1"),
    "matters": {"type": "ShareholderApproval", "effective_date": "2001-06-07",
                "matters": ["other_matter"]},
    "holders": {"type": "RedemptionNoticed", "effective_date": "2001-07-01", "series": "G",
                "redemption_date": "2001-08-15", "holders": {"Ann": "10"}},
    "to_holder": {"type": "SharesTransferred", "effective_date": "2001-06-02",
                  "series": "G", "from_holder": "Ann", "to_holder": "Dee", "shares": "10"},
}


def with_char(field: str, ch: str, at: int) -> tuple[dict[str, Any], str]:
    """The event of ``field`` with ``ch`` put in its name at ``at``; the field named."""
    ev = json.loads(json.dumps(FIELDS[field]))
    if field == "matters":
        ev["matters"] = ["ot" + ch + "her_matter"] if at else [ch + "other_matter"]
        return ev, "matters.0"
    if field == "holders":
        name = ("An" + ch + "n") if at else (ch + "Ann")
        ev["holders"] = {name: "10"}
        return ev, "holders." + shown(name) + ".[key]"
    if field == "series":
        ev["series"] = ("K" + ch) if at else (ch + "K")
        return ev, "series"
    value = ev[field]
    ev[field] = (value[:at] + ch + value[at:]) if at else (ch + value)
    return ev, field


def test_every_name_refuses_every_invisible_character() -> None:
    """Each character of REFUSED, first and inside, in each name field: refused by
    ``parse_line`` (what ``load`` runs on every line), the field and the character
    named, the character never in the message."""
    from ledger.events import parse_line

    n = 0
    for field in FIELDS:
        for ch, words in REFUSED:
            for at in (0, 2):
                ev, named = with_char(field, ch, at)
                if field == "series" and at:
                    at = 1
                got = parse_line(json.dumps(ev), 1)
                assert isinstance(got, list), (field, ch)
                text = "\n".join(str(p) for p in got)
                assert f" field {named}: {words} at position {at}" in text, (field, ch, text)
                assert ch not in text, (field, repr(ch))  # never printed raw
                n += 1
    assert n == len(FIELDS) * len(REFUSED) * 2


def test_the_load_command_refuses_them_and_stores_nothing(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    before = cli.spec.content()
    cases = [("holder", ch, words) for ch, words in REFUSED] + [
        (field, "\x1b", "control character U+001B") for field in FIELDS]
    for field, ch, words in cases:
        ev, named = with_char(field, ch, 0)
        r = cli("load", str(jsonl([ev])))
        assert r.exit_code == 2, (field, ch, r.output)
        assert f" field {named}: {words} at position 0" in r.stderr, (field, ch, r.stderr)
        assert ch not in r.output, (field, repr(ch))
    assert cli.spec.content() == before


def test_a_trailing_bom_is_refused_too(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    r = cli("load", str(jsonl([issue("G", "Ann\ufeff", 1, "2001-02-01")])))
    assert r.exit_code == 2
    assert ("field holder: byte order mark U+FEFF ZERO WIDTH NO-BREAK SPACE at position 3"
            in r.stderr)


def test_free_text_keeps_tabs_and_newlines_only(cli: Cli, jsonl: Any) -> None:
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    ok = dict(issue("G", "Ann", 1, "2001-02-01"), memo="line one\n\tline two")
    assert cli("load", str(jsonl([ok]))).exit_code == 0
    for ch, words in [("\r", "control character U+000D"), ("\x1b", "control character "
                      "U+001B"), ("\u200b", "zero-width character U+200B"),
                      ("\u202e", "bidirectional control U+202E")]:
        for field in ("memo", "source"):
            ev = dict(issue("G", "Ann", 1, "2001-02-02"), **{field: "a" + ch + "b"})
            r = cli("load", str(jsonl([ev])))
            assert r.exit_code == 2 and f"field {field}: {words}" in r.stderr, r.stderr
            assert ch not in r.output


def test_valid_names_stay_valid() -> None:
    for name in ["Ünïcødé Fund 株式会社", "O'Brien & Sons, \"Ltd\"", "e\u0301", "x\u00a0y",
                 "名前 🙂 Ωμέγα", "[/evil]", "Ann Lee"]:
        assert text_problem(name) is None, name


def test_stored_history_reads_back_under_its_own_rules(store: StoreSpec) -> None:
    """A name stored before these rules (a zero-width joiner was allowed) still replays,
    and is shown escaped in every report; its JSON is the same name."""
    with store.open() as lg:
        lg.load_lines([json.dumps(e) for e in BASE])
        old = issue("G", "Ann\u200dLee", 5, "2001-02-01")
        lg.store.append({"default": [old]}, {"default": 3})
    with store.open() as lg:
        rep = lg.position(dt.date(2001, 3, 31))
        assert {h["holder"] for h in rep["holders"]} == {"Ann", "Ann\u200dLee"}
        assert [r["valid"] for r in lg.history()] == [True] * 4


def test_no_raw_escape_reaches_the_terminal(cli: Cli, store: StoreSpec, jsonl: Any) -> None:
    """An id with ESC[2J is refused, and the message holds no ESC byte; names stored
    before the rules are escaped in tables, and in JSON written as \\u escapes."""
    assert cli("load", str(jsonl(BASE))).exit_code == 0
    evil = dict(issue("G", "Ann", 1, "2001-02-01"), id="x\x1b[2Jy")
    r = cli("load", str(jsonl([evil])))
    assert r.exit_code == 2
    assert "\x1b" not in r.output
    assert "id=x\\x1b[2Jy" in r.stderr  # the event named, escaped
    assert "control character U+001B at position 1" in r.stderr
    unknown = {"type": "SharesIssued\x1b[31m", "effective_date": "2001-01-01"}
    r = cli("load", str(jsonl([unknown])))
    assert r.exit_code == 2 and "\x1b" not in r.output and "\\x1b[31m" in r.stderr
    field = dict(issue("G", "Ann", 1, "2001-02-01"), **{"x\x1b]0;pwned\x07": 1})
    r = cli("load", str(jsonl([field])))
    assert r.exit_code == 2 and "\x1b" not in r.output and "\x07" not in r.output
    assert "field x\\x1b]0;pwned\\x07: unknown field" in r.stderr
    # a name stored before the rules: escaped wherever it is shown
    with store.open() as lg:
        lg.store.append({"default": [dict(issue("G", "Eve\u200bLee", 5, "2001-02-01"),
                                          memo="m\u00adm")]}, {"default": 3})
    for args in (["position", "--as-of", "2001-03-31"], ["history"],
                 ["waterfall", "--as-of", "2001-03-31", "--proceeds", "10"],
                 ["history", "--csv"], ["position", "--as-of", "2001-03-31", "--csv"]):
        r = cli(*args)
        assert r.exit_code == 0, (args, r.output)
        assert "\u200b" not in r.output and "\u00ad" not in r.output, args
        assert "Eve\\u200bLee" in r.output, args
    r = cli("position", "--as-of", "2001-03-31", "--json")
    assert "\u200b" not in r.stdout and "Eve\\u200bLee" in r.stdout
    assert "Eve\u200bLee" in {h["holder"] for h in json.loads(r.stdout)["holders"]}


def test_shown_and_json_safe() -> None:
    assert shown("a\x1b[2Jb\u202ec\u200bd\U000e0041") == "a\\x1b[2Jb\\u202ec\\u200bd\\U000e0041"
    assert shown("two\nlines\tand tab", keep="\n") == "two\nlines\\tand tab"
    assert shown("Ünïcødé 株式 x\u00a0y") == "Ünïcødé 株式 x\u00a0y"
    text = json.dumps({"n": "a\u202eb\U000e0041\x85"}, ensure_ascii=False)
    safe = json_safe(text)
    assert safe == '{"n": "a\\u202eb\\udb40\\udc41\\u0085"}'
    assert json.loads(safe) == json.loads(text)


# -- 12. look-alike holder names -----------------------------------------------------------

def lookalikes(holders: list[tuple[str, str]]) -> list[str]:
    """The look-alike findings as of 2001-06-30 (pure core: ``tests/ledgers.py``; the
    command shows them on both stores: test_the_finding_shows_in_the_check_table)."""
    evs = BASE + [issue(series, h, 1, "2001-05-01") for series, h in holders]
    found = book(evs).check("2001-06-30")
    return [f.message for f in found if f.kind == LOOKALIKE_HOLDERS]


def test_a_cyrillic_a_in_a_holder_name_is_a_finding() -> None:
    # across series: Maple Fund holds G, "Mаple Fund" (Cyrillic а, U+0430) holds H
    found = lookalikes([("G", "Maple Fund"), ("H", "M\u0430ple Fund")])
    assert found == [
        "The holder names 'Maple Fund' and 'M\u0430ple Fund' look alike but are different "
        "names: they differ at character 2, U+0061 LATIN SMALL LETTER A against U+0430 "
        "CYRILLIC SMALL LETTER A. Check whether they are one holder."]


@pytest.mark.parametrize("a,b,at", [
    ("Iron Fund", "lron Fund", "character 1, U+0049 LATIN CAPITAL LETTER I against U+006C "
                               "LATIN SMALL LETTER L"),
    ("Oak 10", "Oak 1O", "character 6, U+0030 DIGIT ZERO against U+004F LATIN CAPITAL "
                         "LETTER O"),
    ("Rowan LLC", "rowan llc", "character 1, U+0052 LATIN CAPITAL LETTER R against U+0072 "
                               "LATIN SMALL LETTER R"),
    ("ﬁr Trust", "fir Trust", "character 1, U+FB01 LATIN SMALL LIGATURE FI against U+0066 "
                              "LATIN SMALL LETTER F"),
    ("Müller", "Mu\u0308ller", "character 2, U+00FC LATIN SMALL LETTER U WITH DIAERESIS "
                               "against U+0075 LATIN SMALL LETTER U"),
])
def test_look_alikes_by_case_confusable_or_compatibility(a: str, b: str, at: str) -> None:
    found = lookalikes([("G", a), ("G", b)])
    first, second = sorted([a, b])
    assert found == [f"The holder names {first!r} and {second!r} look alike but are "
                     f"different names: they differ at {at if first == a else flip(at)}. "
                     "Check whether they are one holder."]


def flip(at: str) -> str:
    head, rest = at.split(", ", 1)
    x, y = rest.split(" against ")
    return f"{head}, {y} against {x}"


def test_different_names_are_no_finding() -> None:
    assert lookalikes([("G", "Alder Capital LP"), ("G", "Alder Capital L.P."),
                                     ("H", "Anne"), ("H", "Birch Family Trust")]) == []


def test_the_fixture_history_has_no_look_alikes() -> None:
    from tests.conftest import HISTORY

    assert all(f.kind != LOOKALIKE_HOLDERS for f in book(HISTORY).check("2005-12-31"))


def test_the_finding_shows_in_the_check_table(cli: Cli, jsonl: Any, tmp_path: Path) -> None:
    evs = BASE + [issue("G", "Maple Fund", 1, "2001-05-01"),
                  issue("H", "M\u0430ple Fund", 1, "2001-05-01")]
    assert cli("load", str(jsonl(evs))).exit_code == 0
    r = cli("check", "--as-of", "2001-06-30", "--json")
    assert r.exit_code == 1
    kinds = [f["kind"] for f in json.loads(r.stdout)["findings"]]
    assert kinds.count(LOOKALIKE_HOLDERS) == 1
    assert "lookalike_holders" in cli("check", "--as-of", "2001-06-30").stdout
