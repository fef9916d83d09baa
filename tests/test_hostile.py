"""Hostile input, through the command line (``prefledger load``), on both
stores. Hypothesis writes files of valid lines with one bad line among them: malformed
JSON, wrong types, floats, NaN / Infinity, huge and negative numbers, dates out of range,
empty and very long strings, control characters, SQL-looking names, duplicate keys, extra
fields, events in the wrong order, random JSON and random bytes. Every case must end the
same way (SPEC.md §3, §10): exit code 2, a message naming the bad line and its field, no
traceback, and the ledger exactly as it was. The number of cases run is printed.

Each bad value is chosen so that it is wrong *by construction* (the template it is put
into is loaded successfully on its own: ``test_every_template_is_valid_on_its_own``).
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ledger.cli import app
from ledger.names import text_problem
from tests.conftest import PG_URL, StoreSpec, _pg_schema
from tests.figures import show

BASE: list[dict[str, Any]] = [
    {"id": "b1", "type": "SeriesDesignated", "effective_date": "2000-12-28", "series": "G",
     "terms_ref": "nstor/G"},
    {"id": "b2", "type": "CommonStockIssued", "effective_date": "2000-12-28",
     "shares": "1000000", "kind": "opening"},
    {"id": "b3", "type": "SharesIssued", "effective_date": "2001-01-02", "series": "G",
     "holder": "Ann", "shares": "1000", "price_per_share": "1000"},
    {"id": "b4", "type": "SeriesDesignated", "effective_date": "2001-04-12", "series": "H",
     "terms_ref": "nstor/H"},
    {"id": "b5", "type": "SharesIssued", "effective_date": "2001-05-01", "series": "H",
     "holder": "Bob", "shares": "1000", "price_per_share": "1000"},
]

# Valid events on top of BASE (each loads on its own). Fields, by what a bad value means:
TEMPLATES: dict[str, dict[str, Any]] = {
    "issue": {"type": "SharesIssued", "effective_date": "2001-06-01", "series": "G",
              "holder": "Cy", "shares": "10", "price_per_share": "1000"},
    "transfer": {"type": "SharesTransferred", "effective_date": "2001-06-02", "series": "G",
                 "from_holder": "Ann", "to_holder": "Dee", "shares": "10"},
    "convert": {"type": "SharesConverted", "effective_date": "2001-06-03", "series": "H",
                "holder": "Bob", "shares": "100"},
    "common": {"type": "CommonStockIssued", "effective_date": "2001-06-04", "shares": "5000",
               "kind": "opening"},
    "paid": {"type": "DividendPaid", "effective_date": "2001-07-10", "series": "G",
             "holder": "Ann", "amount": "100.00"},
    "notice": {"type": "RedemptionNoticed", "effective_date": "2001-07-01", "series": "G",
               "redemption_date": "2001-08-15", "holders": {"Ann": "10"}},
    "missed": {"type": "DividendMissed", "effective_date": "2001-04-11", "series": "G",
               "payment_date": "2001-04-10"},
    "assert": {"type": "BalanceAsserted", "effective_date": "2001-06-05", "series": "G",
               "holder": "Ann", "shares": "1000"},
    "split": {"type": "CommonStockSplit", "effective_date": "2001-06-06", "ratio": "2"},
    "approval": {"type": "ShareholderApproval", "effective_date": "2001-06-07",
                 "matters": ["other_matter"]},
}
#: Decimal fields that must be > 0 / >= 0
POSITIVE = {("issue", "shares"), ("transfer", "shares"), ("convert", "shares"),
            ("common", "shares"), ("paid", "amount"), ("split", "ratio")}
NON_NEGATIVE = {("issue", "price_per_share"), ("assert", "shares")}
#: where an 18-digit number (well-formed) is still wrong: more than authorized, held, due
HUGE_WRONG = {("issue", "shares"), ("transfer", "shares"), ("convert", "shares"),
              ("paid", "amount"), ("assert", "shares")}
#: names that must refer to something that exists (any other name is rejected)
REFERENCES = {("issue", "series"), ("transfer", "series"), ("transfer", "from_holder"),
              ("convert", "series"), ("convert", "holder"), ("paid", "series"),
              ("paid", "holder"), ("notice", "series"), ("missed", "series"),
              ("assert", "series"), ("assert", "holder")}
#: free names: any clean name is valid, only malformed ones are rejected
FREE_NAMES = {("issue", "holder"), ("transfer", "to_holder")}
DATES = [(k, "effective_date") for k in TEMPLATES] + [("missed", "payment_date"),
                                                      ("notice", "redemption_date")]
DECIMALS = sorted(POSITIVE | NON_NEGATIVE)
REQUIRED_TEXT = sorted(REFERENCES | FREE_NAMES)

SQL = ["Robert'); DROP TABLE stored_events;--", "' OR '1'='1", "x\"; DELETE FROM events; --",
       "1; SELECT pg_sleep(10)", "Ann' --", "%s%s%s", "{0}{1}", "$1", "\\'; TRUNCATE t; --"]
BAD_DATES = ["0000-01-01", "0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31",
             "2001-02-29", "2001-13-01", "2001-00-10", "2001-04-31", "2001-1-1", "20010101",
             "2001-01-01T00:00:00", "2001-01-01 ", " 2001-01-01", "", "+2001-01-01",
             "２００１-01-01", "2001/01/01", "01-01-2001", "yesterday", "2001-W01-1"]
BAD_NUMBER_TEXT = ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-inf",
                   "1e5", "1E-3", "+1", "0x10", " 1", "1 ", "1,000", "1_000", "１２", "٣",
                   "", ".5", "5.", "1.2.3", "--1", "0.0000000000001", "1" + "0" * 18,
                   "9" * 40, "1e400", "€100", "100 USD"]
CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + [
    "\x7f", "\x85", "\x9b", "\u202e", "\u2066", "\ud800", "\udfff"]

COUNTS: Counter[str] = Counter()


# -- the case runner -------------------------------------------------------------------

@dataclass
class Base:
    spec: StoreSpec
    dir: Path
    before: Any = None
    runner: CliRunner = field(default_factory=CliRunner)
    n: int = 0

    def load(self, lines: list[str | bytes]) -> Any:
        self.n += 1
        path = self.dir / f"case{self.n}.jsonl"
        path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode("utf-8",
                                   "surrogatepass")) + b"\n" for x in lines))
        return self.runner.invoke(app, [*self.spec.args, "load", str(path)])

    def reject(self, category: str, lines: list[str | bytes], line: int,
               field: str | None, *words: str) -> None:
        """The file must be rejected: exit 2, ``line N:`` and ``field F:`` named, no
        traceback, nothing stored."""
        r = self.load(lines)
        shown = "\n".join(str(x)[:300] for x in lines)
        assert r.exit_code == 2, f"{category}: exit {r.exit_code}\n{r.output}\n{shown}"
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        assert "Traceback" not in r.stdout + r.stderr
        assert "rejected:" in r.stderr and "nothing was stored" in r.stderr
        assert f"line {line}:" in r.stderr, f"{category}: line {line} not named\n{r.stderr}"
        if field is not None:
            assert f" field {field}:" in r.stderr, (
                f"{category}: field {field} not named\n{r.stderr}\n{shown}")
        for w in words:
            assert w in r.stderr, (category, w, r.stderr)
        assert self.spec.content() == self.before, f"{category}: the ledger changed"
        COUNTS[f"{self.spec.kind}:{category}"] += 1


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Base]:
    d = tmp_path_factory.mktemp(f"hostile-{request.param}")
    gen = None
    if request.param == "sqlite":
        spec = StoreSpec("sqlite", db=str(d / "ledger.db"))
    else:
        gen = _pg_schema()
        spec = StoreSpec("postgres", url=f"{PG_URL}?schema={next(gen)}")
    b = Base(spec, d)
    r = b.load([json.dumps(e) for e in BASE])
    assert r.exit_code == 0, r.output
    b.before = spec.content()
    assert len(b.before[0][1]) == len(BASE)
    yield b
    if gen is not None:
        next(gen, None)


def examples(b: Base, sqlite: int, postgres: int) -> int:
    return sqlite if b.spec.kind == "sqlite" else postgres


def report(b: Base, what: str, start: int, capsys: pytest.CaptureFixture[str]) -> None:
    mine = {k.split(":", 1)[1]: v for k, v in COUNTS.items()
            if k.startswith(b.spec.kind + ":")}
    total = sum(mine.values())
    show(capsys, f"hostile input ({b.spec.kind}, {what}): {total - start} cases run, each exit 2, "
          "the line named (and the field, wherever the line is a JSON object), no "
          f"traceback, ledger unchanged; {total} on {b.spec.kind} so far: "
          f"{dict(sorted(mine.items()))}")


def counted(b: Base) -> int:
    return sum(v for k, v in COUNTS.items() if k.startswith(b.spec.kind + ":"))


FILLER = st.integers(min_value=0, max_value=3)


def filler(i: int, tag: str) -> str:
    """A valid line that does not interact with any template."""
    return json.dumps({"type": "CommonStockIssued", "effective_date": f"2001-06-{10 + i:02d}",
                       "shares": "1", "kind": "opening", "memo": f"filler {tag}"})


def around(bad: str | bytes | list[str | bytes], before: int, after: int
           ) -> tuple[list[str | bytes], int]:
    """Valid filler lines, then the bad line(s), then more filler; the bad line's number
    (the first of a list)."""
    mid = bad if isinstance(bad, list) else [bad]
    lines: list[str | bytes] = [filler(i, "a") for i in range(before)]
    lines += mid
    lines += [filler(i, "b") for i in range(after)]
    return lines, before + 1


def with_value(kind: str, key: str, value: Any) -> str:
    ev = dict(TEMPLATES[kind])
    ev[key] = value
    return json.dumps(ev, ensure_ascii=False)


# -- strategies ---------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4)
                           | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=12)
non_strings = st.one_of(st.booleans(), st.integers(), st.floats(),
                        st.lists(json_scalars, max_size=3),
                        st.dictionaries(st.text(max_size=5), json_scalars, max_size=3))
# valid name characters: no control, format (bidi, zero-width), private-use or
# unassigned ones, nor the default-ignorable ones of ledger.names (refused in names)
clean_text = st.text(st.characters(codec="utf-8", exclude_categories=[
    "Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp"]), min_size=1, max_size=30).map(
        str.strip).filter(lambda s: s != "" and text_problem(s) is None)


@st.composite
def field_case(draw: st.DrawFn) -> tuple[str, str, str | None, tuple[str, ...]]:
    """(category, bad line, field named, words) for one field of one template."""
    cat = draw(st.sampled_from(["wrong_type", "float", "number_text", "negative_zero",
                                "huge", "date", "empty_long", "control", "sql",
                                "duplicate_key", "extra_field", "type_field", "missing"]))
    if cat == "wrong_type":
        kind, key = draw(st.sampled_from(DECIMALS + REQUIRED_TEXT + DATES))
        v = draw(non_strings)
        return cat, with_value(kind, key, v), key, ()
    if cat == "float":
        kind, key = draw(st.sampled_from(DECIMALS))
        v = draw(st.floats(allow_nan=True, allow_infinity=True))
        return cat, with_value(kind, key, v), key, ()
    if cat == "number_text":
        kind, key = draw(st.sampled_from(DECIMALS))
        v = draw(st.sampled_from(BAD_NUMBER_TEXT))
        return cat, with_value(kind, key, v), key, ()
    if cat == "negative_zero":
        kind, key = draw(st.sampled_from(DECIMALS))
        v = draw(st.sampled_from(["-1", "-0.01", "-1000000", "-999999999999999999"]
                                 + (["0", "0.0", "-0", "0.000"] if (kind, key) in POSITIVE
                                    else [])))
        return cat, with_value(kind, key, v), key, ()
    if cat == "huge":
        kind, key = draw(st.sampled_from(sorted(HUGE_WRONG)))
        digits = draw(st.integers(min_value=6, max_value=18))
        v = "9" * digits + draw(st.sampled_from(["", ".5", ".999999999999"]))
        return cat, with_value(kind, key, v), key, ()
    if cat == "date":
        kind, key = draw(st.sampled_from(DATES))
        v = draw(st.sampled_from(BAD_DATES))
        return cat, with_value(kind, key, v), key, ()
    if cat == "empty_long":
        which = draw(st.sampled_from(["name", "memo", "id"]))
        kind = draw(st.sampled_from(sorted(TEMPLATES)))
        if which == "name":
            kind, key = draw(st.sampled_from(REQUIRED_TEXT))
            v = draw(st.sampled_from(["", " ", "x" * 201, "y" * 5000, " Ann", "Ann "]))
        elif which == "memo":
            key, v = "memo", "m" * draw(st.integers(min_value=10_001, max_value=50_000))
        else:
            key, v = "id", draw(st.sampled_from(["", "i" * 201]))
        return cat, with_value(kind, key, v), key, ()
    if cat == "control":
        kind, key = draw(st.sampled_from(REQUIRED_TEXT + [(k, "memo") for k in TEMPLATES]))
        ch = draw(st.sampled_from(CONTROL))
        text = draw(clean_text)
        at = draw(st.integers(min_value=0, max_value=len(text)))
        v = text[:at] + ch + text[at:]
        ev = dict(TEMPLATES[kind])
        ev[key] = v
        return cat, json.dumps(ev), key, ()  # ensure_ascii: lone surrogates as \\udXXX
    if cat == "sql":
        kind, key = draw(st.sampled_from(sorted(REFERENCES)))
        v = draw(st.sampled_from(SQL))
        return cat, with_value(kind, key, v), key, ("unknown",)
    if cat == "duplicate_key":
        kind = draw(st.sampled_from(sorted(TEMPLATES)))
        ev = TEMPLATES[kind]
        key = draw(st.sampled_from(sorted(ev)))
        body = json.dumps(ev)[:-1]
        again = draw(st.sampled_from([ev[key], "other"]))
        return cat, f"{body}, {json.dumps(key)}: {json.dumps(again)}}}", key, ("duplicate",)
    if cat == "extra_field":
        kind = draw(st.sampled_from(sorted(TEMPLATES)))
        known = {"type", "effective_date", "id", "issuer", "memo", "source", "terms",
                 "terms_ref", "series", "holder", "from_holder", "to_holder", "shares",
                 "price_per_share", "amount", "payment_date", "kind", "consideration",
                 "ratio", "market_price", "matters", "redemption_date", "holders",
                 "funds_available", "proceeds", "order", "target_id", "reason"}
        key = draw(st.text(string.ascii_letters + "_", min_size=1, max_size=12).filter(
            lambda k: k not in known))
        v = draw(json_scalars.filter(lambda x: not (isinstance(x, float) and x != x)))
        return cat, with_value(kind, key, v), key, ("unknown field",)
    if cat == "type_field":
        kind = draw(st.sampled_from(sorted(TEMPLATES)))
        v = draw(st.one_of(non_strings, st.sampled_from(
            ["", "sharesissued", "SharesIssued ", "Shares Issued", "Event", "__class__",
             "SharesIssued\u0000"])))
        return cat, with_value(kind, "type", v), "type", ()
    kind = draw(st.sampled_from(sorted(TEMPLATES)))  # missing: drop a required field
    ev = dict(TEMPLATES[kind])
    optional = {"type", "price_per_share"} | ({"holder"} if kind in ("paid", "assert") else set())
    key = draw(st.sampled_from(sorted(k for k in ev if k not in optional)))
    del ev[key]
    return cat, json.dumps(ev), key, ()


@st.composite
def raw_case(draw: st.DrawFn) -> tuple[str, str | bytes, str | None, tuple[str, ...]]:
    """Lines that are not a valid JSON object at all, or random ones."""
    cat = draw(st.sampled_from(["truncated", "garbage_text", "not_object", "random_object",
                                "bad_utf8", "deep_nesting", "bare_constant"]))
    if cat == "truncated":
        line = json.dumps(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
        cut = draw(st.integers(min_value=1, max_value=len(line) - 1))
        return cat, line[:cut], None, ("not valid JSON",)
    if cat == "garbage_text":
        text = draw(st.text(min_size=1, max_size=200).filter(
            lambda s: "\n" not in s and s.strip(" \t\r") != ""))
        try:
            obj = json.loads(text)
        except ValueError:
            return cat, text, None, ("not valid JSON",)
        return cat, text, "type" if isinstance(obj, dict) else None, ()
    if cat == "not_object":
        v = draw(json_values.filter(lambda x: not isinstance(x, dict)))
        return cat, json.dumps(v), None, ("each line must be one JSON object",)
    if cat == "random_object":
        kind = draw(st.sampled_from(sorted(TEMPLATES)))
        obj = draw(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
        obj["type"] = TEMPLATES[kind]["type"]
        return cat, json.dumps(obj), None, ()
    if cat == "bad_utf8":
        good = json.dumps(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))]).encode()
        at = draw(st.integers(min_value=0, max_value=len(good)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80",
                                     b"\xf8\x88\x80\x80\x80", b"\x80"]))
        return cat, good[:at] + junk + good[at:], None, ("not UTF-8",)
    if cat == "deep_nesting":
        depth = draw(st.integers(min_value=1000, max_value=50_000))
        return cat, "[" * depth + "]" * depth, None, ()
    v = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1" * 5000, "-" + "2" * 400,
                              "1e999", "-1e999", "0.1"]))
    kind, key = draw(st.sampled_from(DECIMALS))
    line = json.dumps(TEMPLATES[kind]).replace(json.dumps(TEMPLATES[kind][key]), v, 1)
    return "bare_constant", line, key, ("JSON number",)


@st.composite
def order_case(draw: st.DrawFn) -> tuple[str, list[str], int, str, tuple[str, ...]]:
    """Events whose dates (or lines) come in an impossible order: (category, lines in file
    order, index of the culprit, field, words)."""
    cat = draw(st.sampled_from(["transfer_before_issue", "issue_before_designation",
                                "convert_before_issue", "after_liquidation",
                                "reversal_before_target", "miss_before_due"]))
    holder = draw(st.sampled_from(["Eve", "Zed", "Mallory", "Ünïcødé Fund 株式会社"]))
    if cat == "transfer_before_issue":
        a = {"type": "SharesTransferred", "effective_date": "2001-06-01", "series": "G",
             "from_holder": holder, "to_holder": "Dee", "shares": "1"}
        b = {"type": "SharesIssued", "effective_date": "2001-06-10", "series": "G",
             "holder": holder, "shares": "5"}
        pair, culprit, fld, words = [a, b], 0, "from_holder", ("unknown holder",)
    elif cat == "issue_before_designation":
        a = {"type": "SharesIssued", "effective_date": draw(st.sampled_from(
            ["2001-01-05", "2001-04-11", "1950-06-30"])), "series": "H", "holder": holder,
             "shares": "5"}
        pair, culprit, fld, words = [a], 0, "series", ("designated on 2001-04-12",)
    elif cat == "convert_before_issue":
        a = {"type": "SharesConverted", "effective_date": "2001-06-01", "series": "H",
             "holder": holder, "shares": "100"}
        b = {"type": "SharesIssued", "effective_date": "2001-06-05", "series": "H",
             "holder": holder, "shares": "100"}
        pair, culprit, fld, words = [a, b], 0, "holder", ("unknown holder",)
    elif cat == "after_liquidation":
        a = {"type": "Liquidation", "effective_date": "2001-09-01", "proceeds": "10000000"}
        b = {"type": "CommonStockIssued", "effective_date": "2001-09-02", "shares": "1",
             "kind": "opening"}
        pair, culprit, fld, words = [a, b], 1, "effective_date", ("Liquidation",)
    elif cat == "reversal_before_target":
        a = {"type": "EventReversed", "effective_date": "2001-06-20", "target_id": "later",
             "reason": "typo"}
        b = {"id": "later", "type": "CommonStockIssued", "effective_date": "2001-06-01",
             "shares": "1", "kind": "opening"}
        pair, culprit, fld, words = [a, b], 0, "target_id", ("no earlier event",)
    else:
        a = {"type": "DividendMissed", "effective_date": "2001-07-01", "series": "G",
             "payment_date": "2001-07-10"}
        pair, culprit, fld, words = [a], 0, "payment_date", ()
    if len(pair) == 2 and cat != "reversal_before_target" and draw(st.booleans()):
        pair, culprit = pair[::-1], 1 - culprit  # file order does not matter: dates do
    return cat, [json.dumps(e, ensure_ascii=False) for e in pair], culprit, fld, words


# -- the tests -----------------------------------------------------------------------------

def test_every_template_is_valid_on_its_own(tmp_path: Path) -> None:
    """Guards the meaning of every case below: each template, unmutated, is accepted."""
    for kind, ev in TEMPLATES.items():
        b = Base(StoreSpec("sqlite", db=str(tmp_path / f"{kind}.db")), tmp_path)
        assert b.load([json.dumps(e) for e in BASE]).exit_code == 0
        r = b.load(around(json.dumps(ev), 2, 2)[0])
        assert r.exit_code == 0, (kind, r.output)
        assert "5 appended" in r.stdout, (kind, r.stdout)


def test_hostile_fields(base: Base, capsys: pytest.CaptureFixture[str]) -> None:
    start = counted(base)

    @settings(max_examples=examples(base, 300, 40), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=field_case(), before=FILLER, after=FILLER)
    def run(case: tuple[str, str, str | None, tuple[str, ...]], before: int,
            after: int) -> None:
        cat, bad, fld, words = case
        lines, n = around(bad, before, after)
        base.reject(cat, lines, n, fld, *words)

    run()
    report(base, "fields", start, capsys)


def test_hostile_lines(base: Base, capsys: pytest.CaptureFixture[str]) -> None:
    start = counted(base)

    @settings(max_examples=examples(base, 150, 25), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=raw_case(), before=FILLER, after=FILLER)
    def run(case: tuple[str, str | bytes, str | None, tuple[str, ...]], before: int,
            after: int) -> None:
        cat, bad, fld, words = case
        lines, n = around(bad, before, after)
        base.reject(cat, lines, n, fld, *words)

    run()
    report(base, "lines", start, capsys)


def test_hostile_order(base: Base, capsys: pytest.CaptureFixture[str]) -> None:
    start = counted(base)

    @settings(max_examples=examples(base, 60, 15), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=order_case(), before=FILLER, after=FILLER)
    def run(case: tuple[str, list[str], int, str, tuple[str, ...]], before: int,
            after: int) -> None:
        cat, pair, culprit, fld, words = case
        lines, first = around(list(pair), before, after)
        base.reject(cat, lines, first + culprit, fld, *words)

    run()
    report(base, "order", start, capsys)


def test_hostile_whole_files(base: Base, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """Files rather than lines: a directory, a missing file, an encrypted-looking binary,
    a UTF-16 file, a BOM: exit 2 with a message, no traceback, nothing stored."""
    start = counted(base)
    runner = CliRunner()
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_text(json.dumps(TEMPLATES["common"]) + "\n", encoding="utf-16")
    bom = tmp_path / "bom.jsonl"
    bom.write_text("\ufeff" + json.dumps(TEMPLATES["common"]) + "\n", encoding="utf-8")
    cases = [(str(tmp_path), "cannot read"), (str(tmp_path / "missing.jsonl"), "no such file"),
             (str(binary), "line 1:"), (str(utf16), "line 1:"), (str(bom), "line 1:")]
    for path, words in cases:
        r = runner.invoke(app, [*base.spec.args, "load", path])
        assert r.exit_code == 2, (path, r.output)
        assert "Traceback" not in r.stdout + r.stderr
        assert words in r.stderr, (path, r.stderr)
        COUNTS[f"{base.spec.kind}:whole_file"] += 1
    assert base.spec.content() == base.before
    report(base, "whole files", start, capsys)


# -- odd but valid names: accepted verbatim, not mangled, not executed ------------------------

ODD_NAMES = st.one_of(clean_text, st.sampled_from(SQL + [
    "[/evil]", "[bold]x[/bold]", ":smile:", "名前 🙂 Ωμέγα", "O'Brien & Sons, \"Ltd\"",
    "a\u00b7b", "e\u0301", "x\u00a0y"]))


def test_odd_valid_names_are_stored_verbatim(sqlite_store: StoreSpec, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """SQL-looking, markup-looking and unicode names are valid holder names: stored and
    shown exactly as written, never executed or interpreted; the ledger still verifies."""
    runner = CliRunner()
    args = sqlite_store.args
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in BASE))
    assert runner.invoke(app, [*args, "load", str(path)]).exit_code == 0
    n = [0]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=ODD_NAMES)
    def run(name: str) -> None:
        ev = {"type": "SharesIssued", "effective_date": "2001-06-01", "series": "G",
              "holder": name, "shares": "0.001"}
        path.write_text(json.dumps(ev, ensure_ascii=False) + "\n")
        r = runner.invoke(app, [*args, "load", str(path)])
        assert r.exit_code == 0, r.output
        for cmd in (["position", "--as-of", "2001-06-30", "--json"],
                    ["position", "--as-of", "2001-06-30"], ["history"], ["verify"]):
            r = runner.invoke(app, [*args, *cmd])
            assert r.exit_code == 0, (cmd, r.output)
            assert "Traceback" not in r.stdout + r.stderr
            if "--json" in cmd:
                assert name in {h["holder"] for h in json.loads(r.stdout)["holders"]}
        with sqlite_store.open() as lg:
            assert any(s.payload.get("holder") == name for s in lg.stored("default"))
        n[0] += 1

    run()
    show(capsys, f"odd but valid names: {n[0]} cases, each stored verbatim, shown by position "
          "and history, verify ok")
