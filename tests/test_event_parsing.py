"""``parse_object`` validates an event with its own type's model (``EVENT_TYPES``), so a
command builds the validators of the types it reads and no others. That is what the
union of every type, discriminated by ``type``, would do: the same event or the same
errors, for every event of the shipped histories and for thousands of broken ones."""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated, Any, Union

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from ledger.events import EVENT_TYPES, parse_object

UNION: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[tuple(EVENT_TYPES.values())], Field(discriminator="type")])  # noqa: UP007
BAD_VALUES: list[Any] = [12, -1, "x", "", None, [], {}, "-1", "1e400", "2001-02-30", True,
                         "0.000000000000001", "9" * 60, {"a": 1}, ["2001-01-01"]]


def _events() -> list[dict[str, Any]]:
    out = []
    for d in resources.files("fixtures").iterdir():
        h = d / "history.jsonl"
        if d.is_dir() and h.is_file():
            out += [json.loads(x) for x in h.read_text().splitlines() if x.strip()]
    return out


def _broken(ev: dict[str, Any]) -> list[dict[str, Any]]:
    out = [{**ev, "unknown_field": 1}]
    for k in ev:
        if k == "type":
            continue
        out.append({x: v for x, v in ev.items() if x != k})
        out += [{**ev, k: bad} for bad in BAD_VALUES]
        if isinstance(ev[k], dict):  # terms and holder maps: break a member
            for m in list(ev[k])[:6]:
                out += [{**ev, k: {**ev[k], m: bad}} for bad in BAD_VALUES[:6]]
    return out


def _outcome(validate: Any, obj: dict[str, Any], strict: bool) -> Any:
    try:
        return validate(obj, context={"strict": strict})
    except ValidationError as exc:
        errs = []
        for e in exc.errors(include_url=False):
            loc = list(e["loc"])
            if loc and loc[0] == obj["type"]:  # the union names the chosen type first
                loc = loc[1:]
            errs.append((tuple(loc), e["type"], e["msg"]))
        return errs


#: the types the shipped histories do not have, written here
MORE = [
    {"type": "CommonStockSplit", "effective_date": "2003-01-02", "ratio": "2", "id": "s1"},
    {"type": "Liquidation", "effective_date": "2004-01-02", "proceeds": "1000000.00",
     "order": "M,H,K,G"},
    {"type": "TermsAmended", "effective_date": "2003-01-02", "series": "G",
     "changes": {"dividend_rate": "0.12"}},
    {"type": "SharesCancelled", "effective_date": "2003-01-02", "series": "common",
     "holder": "Ann", "shares": "10", "reason": "repurchase", "price_per_share": "1.50"},
    {"type": "EventReversed", "effective_date": "2003-01-02", "target_id": "s1",
     "reason": "entered twice", "memo": "line\tbreak", "source": "minutes"},
]
EVENTS = _events() + MORE


def test_every_type_of_event_is_compared() -> None:
    assert {e["type"] for e in EVENTS} == set(EVENT_TYPES)
    assert all(not isinstance(parse_object(e), list) for e in MORE)


@pytest.mark.parametrize("strict", [True, False])
def test_own_type_model_is_what_the_union_chooses(strict: bool) -> None:
    checked = failed = 0
    for ev in EVENTS:
        for obj in [ev, *_broken(ev)]:
            ours = _outcome(EVENT_TYPES[obj["type"]].model_validate, obj, strict)
            theirs = _outcome(UNION.validate_python, obj, strict)
            assert ours == theirs, obj
            checked += 1
            failed += isinstance(ours, list)
    assert checked > 10_000 and failed > checked // 2  # most broken ones are refused


def test_parse_object_gives_the_event_or_the_problems_of_its_field() -> None:
    ok = parse_object({"type": "SharesIssued", "effective_date": "2001-01-02", "series": "G",
                       "holder": "Ann", "shares": "10"})
    assert type(ok).__name__ == "SharesIssued" and str(ok.shares) == "10"  # type: ignore[union-attr]
    bad = parse_object({"type": "SharesIssued", "effective_date": "2001-01-02", "series": "G",
                        "holder": "Ann", "shares": "x", "colour": "red"}, line=3, strict=True)
    assert isinstance(bad, list)
    assert sorted(p.field for p in bad) == ["colour", "shares"]
    assert all(p.line == 3 for p in bad)


def test_validators_are_built_on_first_use_or_all_at_once() -> None:
    """A fresh process builds no validator at import; parsing an event builds its type's
    (and no other); ``build_validators`` builds them all."""
    import subprocess
    import sys

    code = """
from ledger.events import EVENT_TYPES, build_validators, parse_object
from ledger.terms import Terms
built = lambda: sorted(n for n, c in EVENT_TYPES.items() if c.__pydantic_complete__)
print(built(), Terms.__pydantic_complete__)
parse_object({"type": "CommonStockSplit", "effective_date": "2003-01-02", "ratio": "2"})
print(built(), Terms.__pydantic_complete__)
build_validators()
print(len(built()), Terms.__pydantic_complete__)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[] False", "['CommonStockSplit'] False",
                                     f"{len(EVENT_TYPES)} True"]
