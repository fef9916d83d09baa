"""The checkpoint codec (``ledger.store.codec``): the replayed state as plain JSON and
back, derived from the dataclass fields, strict on the way in.

The round trips run over a state in which every field of every data class reachable
from ``IssuerState`` holds a value (made from the type hints themselves, so a field
added to the state is covered without editing this file), and over the states a real
replay of the nStor history builds; the special containers (``Lots``, ``DueMap`` and
its ``DueBook``) come back rebuilt, with their indexes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import itertools
import json
import types
import typing
import zlib
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from ledger.events import Event, parse_object
from ledger.replay import replay
from ledger.state import DueMap, IssuerState, Lots, Record
from ledger.store import checkpoints
from ledger.store import codec as codec_module
from ledger.store.checkpoints import CheckpointError, Frozen, codec, freeze, thaw
from ledger.store.codec import Codec, CodecError
from ledger.terms import Terms, load_terms_ref
from tests.conftest import HISTORY

_n = itertools.count(1)


def rich_terms() -> Terms:
    """The venture Series A terms (SPEC.md §12 general terms set) with one trigger of
    each kind."""
    raw = json.loads((HISTORY.parent.parent / "venture" / "A.json").read_text())
    raw["mandatory_conversion"] = [
        {"approval": "ipo_vote"}, {"date": "2030-01-01"},
        {"public_offering": {"min_price": "10.00", "min_gross_proceeds": "50000000"}}]
    raw.pop("citations", None)
    return Terms.model_validate(raw)


def sample(tp: Any, factory: Any = None) -> Any:
    """A value of type ``tp`` with every part filled in (no empty container, no None,
    no default), distinct from every other sample."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    k = next(_n)
    if origin in (typing.Union, types.UnionType):
        return sample(next(a for a in args if a is not type(None)))
    if tp is str:
        return f"text-{k}"
    if tp is bool:
        return True
    if tp is int:
        return k
    if tp is Decimal:
        return Decimal(f"{k}.2500")  # the exponent must survive too
    if tp is dt.datetime:
        return dt.datetime(2001, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=k)
    if tp is dt.date:
        return dt.date(2001, 1, 1) + dt.timedelta(days=k)
    if tp is object or tp is Any:  # ``liquidation``: a waterfall distribution
        from ledger.waterfall import Distribution

        return sample(Distribution)
    if origin is typing.Literal:
        return args[-1]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return list(tp)[-1]
    if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (...,)):
        items = [sample(args[0]), sample(args[0])]
        made = {list: list, set: set, frozenset: frozenset, tuple: tuple}[origin](items)
        return factory(made) if isinstance(factory, type) and factory is not origin else made
    if origin is tuple:
        return tuple(sample(a) for a in args)
    if origin is dict:
        made = {sample(args[0]): sample(args[1]) for _ in range(2)}
        return factory(made) if isinstance(factory, type) and factory is not dict else made
    if isinstance(tp, type) and issubclass(tp, Event):
        got = parse_object({"type": "SharesIssued", "effective_date": "2001-02-03",
                            "series": "G", "holder": f"Holder {k}", "shares": f"{k}",
                            "id": f"ev-{k}", "memo": "a memo"})
        assert isinstance(got, Event)
        return got
    if tp is Terms:
        return rich_terms()
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.model_validate({n: sample(f.annotation) for n, f in tp.model_fields.items()})
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        fields = dataclasses.fields(tp)
        obj = tp(**{f.name: sample(hints[f.name], _factory(f)) for f in fields if f.init})
        for f in fields:
            if not f.init:
                object.__setattr__(obj, f.name, sample(hints[f.name], _factory(f)))
        return obj
    if isinstance(tp, type) and issubclass(tp, list):  # Lots
        base = next(b for b in tp.__orig_bases__ if typing.get_origin(b) is list)  # type: ignore[attr-defined]
        return tp(sample(base))
    raise AssertionError(f"the test has no sample for {tp!r}")


def _factory(f: dataclasses.Field[Any]) -> Any:
    return f.default_factory if f.default_factory is not dataclasses.MISSING else None


def _every_field_filled(obj: Any, seen: set[int]) -> list[str]:
    """The names of the fields left empty or None anywhere in ``obj`` (for the test's
    own check that the sample covers everything)."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    out: list[str] = []
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or (hasattr(v, "__len__") and not isinstance(v, str) and not len(v)):
                out.append(f"{type(obj).__name__}.{f.name}")
            out += _every_field_filled(v, seen)
    elif isinstance(obj, dict):
        for v in obj.values():
            out += _every_field_filled(v, seen)
    elif isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            out += _every_field_filled(v, seen)
    return out


def _round_trip(value: Frozen) -> Frozen:
    c = codec()
    text = json.dumps(c.encode(value), allow_nan=False)  # plain JSON, nothing else
    back = c.decode(json.loads(text))
    assert isinstance(back, Frozen)
    return back


def _book(dues: DueMap) -> tuple[Any, Any, Any]:
    b = dues.sync()
    return (b.totals, b.by_holder, {d: dict(v) for d, v in b.open.items()})


def test_every_field_of_the_state_comes_back_equal() -> None:
    st = sample(IssuerState)
    assert _every_field_filled(st, set()) == []  # the sample leaves nothing out
    fr = Frozen(st, {"G": dt.date(2000, 12, 28)}, frozenset({"a", "b"}))
    back = _round_trip(fr)
    assert back == fr
    assert back.state.liquidation == st.liquidation
    for name, s in st.series.items():
        b = back.state.series[name]
        assert type(b.lots) is Lots and type(b.dues) is DueMap
        for lot in s.lots:  # the holder index is rebuilt
            assert b.lots.of(lot.holder) == s.lots.of(lot.holder)
        assert _book(b.dues) == _book(s.dues)  # the running totals are recounted
        assert b.issued_total.as_tuple() == s.issued_total.as_tuple()  # "N.2500" kept


VENTURE = HISTORY.parent.parent / "venture" / "history.jsonl"


@pytest.mark.parametrize("path,days", [
    (HISTORY, (dt.date(2001, 4, 10), dt.date(2003, 6, 30), dt.date(2005, 12, 31))),
    (VENTURE, (dt.date(2019, 6, 30), dt.date(2021, 12, 31), dt.date(2030, 12, 31))),
], ids=["nstor", "venture"])
def test_the_states_of_a_real_replay_come_back_equal(path: Any, days: Any) -> None:
    """The nStor and venture histories replayed to several dates (whole states, history
    lists included; and the compacted ones a checkpoint keeps, through freeze and
    thaw). The venture terms hold the SPEC.md §12 general terms (triggers, multiples,
    participation) the nStor ones leave at their defaults."""
    events = [parse_object(json.loads(x)) for x in path.read_text().splitlines()]
    issuer = events[0].issuer  # type: ignore[union-attr]
    records = [Record(ev, n, 0, None, None) for n, ev in enumerate(events, start=1)]  # type: ignore[arg-type]
    for day in days:
        st, problems = replay(issuer, records, day, load_terms_ref)
        assert problems == []
        assert st.applied and (any(s.lots for s in st.series.values()) or day == days[-1])
        back = _round_trip(Frozen(st, {"G": dt.date(2000, 12, 28)}, frozenset()))
        assert back.state == st
        for name, s in st.series.items():
            assert _book(back.state.series[name].dues) == _book(s.dues)  # type: ignore[arg-type]
        got, des, rev = thaw(freeze(st, {"G": dt.date(2000, 12, 28)}, frozenset({"x"})))
        assert got == checkpoints.compact(st)
        assert des == {"G": dt.date(2000, 12, 28)} and rev == frozenset({"x"})


def test_terms_with_every_kind_of_trigger_come_back_equal() -> None:
    """A union field (``mandatory_conversion``: approval, public offering or date
    triggers) keeps which member each value is."""
    terms = rich_terms()
    assert len(terms.mandatory_conversion) == 3
    c = Codec(Terms)
    back = c.decode(json.loads(json.dumps(c.encode(terms))))
    assert back == terms
    assert [type(t) for t in back.mandatory_conversion] == [
        type(t) for t in terms.mandatory_conversion]
    assert back.mandatory_conversion[2].public_offering.min_price.as_tuple() == \
        Decimal("10.00").as_tuple()  # "10.00", not "10"


def test_a_changed_state_type_changes_the_fingerprint() -> None:
    """Bytes written for other state types are told apart (another version of the code:
    rebuilt, not trusted)."""
    @dataclasses.dataclass
    class A:
        x: int

    @dataclasses.dataclass
    class B:
        x: int
        y: str = ""

    assert Codec(A).fingerprint != Codec(B).fingerprint
    assert Codec(A).fingerprint == Codec(A).fingerprint


def _doc() -> dict[str, Any]:
    """The document of a checkpoint of a whole sampled state (history lists kept)."""
    c = codec()
    return {"format": checkpoints.FORMAT, "schema": c.fingerprint,
            "data": json.loads(json.dumps(c.encode(Frozen(sample(IssuerState), {},
                                                          frozenset()))))}


def _state(doc: dict[str, Any]) -> list[Any]:
    return doc["data"][0]


def _field(name: str) -> int:
    return [f.name for f in dataclasses.fields(IssuerState)].index(name)


@pytest.mark.parametrize("edit,words", [
    (lambda d: _state(d).__setitem__(_field("issuer"), 7), "issuer: expected a string"),
    (lambda d: _state(d).__setitem__(_field("day"), "2001-13-01"),
     "day: '2001-13-01' is not a calendar date"),
    (lambda d: _state(d).__setitem__(_field("day"), "20010101"),
     "day: '20010101' is not a date YYYY-MM-DD"),
    (lambda d: _state(d).__setitem__(_field("common_outstanding"), "NaN"),
     "common_outstanding: 'NaN' is not a decimal number"),
    (lambda d: _state(d).__setitem__(_field("common_outstanding"), "-1E-101"),
     "common_outstanding: '-1E-101' is out of range"),
    (lambda d: _state(d).__setitem__(_field("common_outstanding"), "1" * 101),
     "is not a decimal number written as a string"),
    (lambda d: _state(d).__setitem__(_field("holders"), {"a": 1}), "holders: expected a list"),
    (lambda d: _state(d).append(None), "IssuerState: "),
    (lambda d: _state(d).pop(), "IssuerState: "),
    (lambda d: d["data"].__setitem__(2, [["x"]]), "reversed[0]: expected a string"),
    (lambda d: _state(d)[_field("applied")][0].__setitem__(1, 2**63),
     "applied[0].seq: '9223372036854775808' is not a 64-bit integer"),
    (lambda d: _state(d)[_field("applied")][0][0].__setitem__("shares", "-5"),
     "applied[0].event: not a valid event"),
    (lambda d: _state(d).__setitem__(_field("liquidation"), {"class": "os:system",
                                                              "value": []}),
     "liquidation: 'os:system' is not a ledger data class"),
    (lambda d: _state(d).__setitem__(_field("liquidation"), {
        "class": "ledger.store.eventstore:Store", "value": []}), "is not a ledger data class"),
])
@pytest.mark.parametrize("hot", [0, 10**9], ids=["generated", "plain"])
def test_decoding_is_strict(edit: Any, words: str, hot: int,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways a data class is decoded (generated code once it is hot, field by field
    before) refuse the same values with the same words."""
    doc = _doc()
    monkeypatch.setattr(codec_module, "HOT_DECODES", hot)
    monkeypatch.setattr(checkpoints, "_codec", Codec(Frozen))
    edit(doc)
    with pytest.raises(CheckpointError, match="malformed") as exc:
        thaw(zlib.compress(json.dumps(doc).encode()))
    assert words in str(exc.value), str(exc.value)


def test_floats_and_deep_nesting_are_refused() -> None:
    doc = _doc()
    _state(doc)[_field("common_outstanding")] = 1.5
    with pytest.raises(CheckpointError, match="a float"):
        thaw(zlib.compress(json.dumps(doc).encode()))
    deep = b'{"format": 1, "schema": "x", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(CheckpointError, match="malformed"):
        thaw(zlib.compress(deep))


def test_the_codec_refuses_values_of_the_wrong_type_when_writing() -> None:
    st = IssuerState("x")
    st.common_outstanding = "12"  # type: ignore[assignment]
    with pytest.raises(CodecError, match="common_outstanding: expected a Decimal"):
        codec().encode(Frozen(st, {}, frozenset()))
    with pytest.warns(checkpoints.CheckpointWarning, match="checkpoints are not kept"):
        checkpoints._warned.clear()
        assert freeze(st, {}, frozenset()) == b""  # no checkpoint, never a failed load


def test_common_by_holder_and_cancellations_come_back_equal() -> None:
    """SPEC.md §13 state: common by holder, with the unattributed holder's key ``None``
    (a ``dict[str | None, Decimal]``: pairs, not an object), the cancelled totals and the
    cancellation records."""
    evs = [{"type": "SeriesDesignated", "effective_date": "2000-12-28", "series": "G",
            "terms_ref": "nstor/G"},
           {"type": "CommonStockIssued", "effective_date": "2000-12-28", "shares": "30000000",
            "kind": "opening"},
           {"type": "CommonStockIssued", "effective_date": "2000-12-28", "shares": "1000",
            "kind": "opening", "holder": "Ann"},
           {"type": "SharesIssued", "effective_date": "2000-12-28", "series": "G",
            "holder": "Ann", "shares": "600"},
           {"type": "SharesCancelled", "effective_date": "2001-05-01", "series": "G",
            "holder": "Ann", "shares": "100", "reason": "repurchase",
            "price_per_share": "1000"},
           {"type": "SharesCancelled", "effective_date": "2001-05-01", "series": "common",
            "holder": "Ann", "shares": "10.5", "reason": "forfeiture"}]
    records = [Record(parse_object(e), n, 0, None, None)  # type: ignore[arg-type]
               for n, e in enumerate(evs, start=1)]
    st, problems = replay("default", records, dt.date(2001, 5, 1), load_terms_ref)
    assert problems == []
    assert st.common == {None: Decimal(30_000_000), "Ann": Decimal("989.5")}
    assert len(st.cancellations) == 2
    back = _round_trip(Frozen(st, {}, frozenset()))
    assert back.state == st
    assert back.state.common == {None: Decimal(30_000_000), "Ann": Decimal("989.5")}
    assert back.state.common_cancelled_total == Decimal("10.5")
    assert back.state.series["G"].cancelled_total == 100
    assert back.state.cancellations == st.cancellations
    got, _, _ = thaw(freeze(st, {}, frozenset()))
    assert got.common == st.common and got.cancellations == []  # a history list


def test_generated_and_plain_decoding_build_equal_states(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """A class decoded more than ``HOT_DECODES`` times switches to generated code: the
    states built before and after the switch are equal, indexes included."""
    records = [Record(ev, n, 0, None, None)  # type: ignore[arg-type]
               for n, ev in enumerate(map(parse_object, map(json.loads, HISTORY.read_text()
                                                            .splitlines())), start=1)]
    st, _ = replay("nstor", records, dt.date(2005, 12, 31), load_terms_ref)
    blob = freeze(st, {"G": dt.date(2000, 12, 28)}, frozenset({"x"}))
    got = []
    for hot in (0, 3, 10**9):
        monkeypatch.setattr(codec_module, "HOT_DECODES", hot)
        monkeypatch.setattr(checkpoints, "_codec", Codec(Frozen))
        got.append(thaw(blob))
        got.append(thaw(blob))  # the second time past the switch
    for back in got:
        assert back == got[0]
        assert back[0] == checkpoints.compact(st)
        for name, s in back[0].series.items():
            assert _book(s.dues) == _book(got[0][0].series[name].dues)  # type: ignore[arg-type]
            assert s.lots.by_holder == got[0][0].series[name].lots.by_holder


def test_reading_a_checkpoint_builds_no_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoder, the decoder and the fingerprint are built on first use: a process
    that only reads checkpoints never builds the encoder."""
    blob = freeze(sample(IssuerState), {}, frozenset())
    fresh = Codec(Frozen)
    assert not {"encode", "decode", "fingerprint"} & fresh.__dict__.keys()
    monkeypatch.setattr(checkpoints, "_codec", fresh)
    thaw(blob)
    assert {"decode", "fingerprint"} <= fresh.__dict__.keys()
    assert "encode" not in fresh.__dict__


@pytest.mark.parametrize("pending,words", [
    ({"2001-01-01": Decimal(1)}, "pending: expected a date, got str"),
    ({dt.date(2001, 1, 1): 1.5}, "pending: expected a Decimal, got float"),
])
def test_a_lot_with_a_misfit_inline_leaf_is_refused_by_name(pending: Any, words: str
                                                            ) -> None:
    """A lot's ``pending`` (``dict[date, Decimal]``) is encoded inline in the generated
    code; a key or value of another type still fails with the field named."""
    from ledger.accrual import Lot

    st = sample(IssuerState)
    name, series = next(iter(st.series.items()))
    lot = Lot("h", Decimal(1), dt.date(2001, 1, 1), 1, dt.date(2001, 1, 1), None, pending)
    series.lots.append(lot)
    with pytest.raises(CodecError, match=words):
        codec().encode(Frozen(st, {}, frozenset()))
    lot.pending = {dt.date(2001, 1, 1): Decimal("1.50")}
    back = _round_trip(Frozen(st, {}, frozenset()))
    assert back.state.series[name].lots[-1].pending == lot.pending


def _reachable(tp: Any, seen: set[type]) -> set[type]:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    for a in typing.get_args(tp):
        if not isinstance(a, str | int | bool) and a is not ...:
            _reachable(a, seen)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in seen:
        seen.add(tp)
        for t in typing.get_type_hints(tp, include_extras=True).values():
            _reachable(t, seen)
    return seen


@dataclasses.dataclass
class _Quoted:
    inner: list["_Quoted"]  # noqa: UP037 - a quoted name inside a generic: the library's
    kind: typing.Literal["a", "b"] = "a"


def test_the_type_hints_are_the_librarys() -> None:
    """The codec's own resolution of the annotations (each text compiled once) gives
    what ``typing.get_type_hints`` gives, for every data class of a checkpoint and for
    the forms it leaves to the library."""
    classes = _reachable(Frozen, set())
    assert len(classes) > 10
    for cls in [*classes, _Quoted]:
        assert codec_module._type_hints(cls) == typing.get_type_hints(
            cls, include_extras=True), cls
