"""Plain data for checkpoints: a type-directed JSON codec of the replay's state.

A checkpoint (``ledger.store.checkpoints``) keeps the replayed ``IssuerState`` of an
issuer. It is stored as JSON, never as a pickled object graph: decoding a row can only
build the ledger's own state types, field by field, so a row written by anyone else
cannot run code, and a row that does not fit the types is refused (``CodecError``).

The codec is derived from the dataclass fields and their type hints (and from the
fields of pydantic models such as ``Terms``), so a field added to the state is kept
without touching this module, as long as its type is built from:

- ``str``, ``int``, ``bool``, ``Decimal`` (a JSON string, exactly as ``str`` writes it:
  the exponent is kept), ``datetime.date`` / ``datetime`` (ISO strings), ``None``;
- ``X | None``, ``X | Y | …`` (``[member index, value]``), ``Literal[...]``, enums;
- ``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``set[X]``, ``frozenset[X]``,
  ``dict[K, V]`` (an object when ``K`` is ``str``, else a list of ``[key, value]``);
- dataclasses and pydantic models (an object with exactly their fields), and events
  (``ledger.events.Event``: their interchange JSON, validated by ``parse_object``);
- ``object`` / ``Any``: a dataclass of a ledger module, tagged with its class name
  (looked up among the loaded ledger modules, never imported).

Containers the replay keeps its own indexes in are rebuilt on decoding: a field whose
annotation is such a class (``Lots``) or whose default factory is a subclass of the
annotated container (``dues``: ``DueMap``, whose ``DueBook`` recounts itself) is
constructed from the decoded plain container.

Decoding is strict: an object with a missing or unknown field, a value of the wrong
JSON type, a decimal that is not a plain finite number (at most ``MAX_DIGITS`` digits,
adjusted exponent within ``±MAX_EXPONENT``), an integer outside 64 bits, a date that is
not ``YYYY-MM-DD``, a float or ``NaN`` anywhere: ``CodecError``, naming the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import re
import sys
import types
import typing
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_DIGITS = 100
MAX_EXPONENT = 100
INT_LIMIT = 2**63
#: a data class decoded more often than this in one process gets generated code
#: (``Codec._dataclass_decoder``)
HOT_DECODES = 200

_DECIMAL = re.compile(r"-?[0-9]{1,100}(?:\.[0-9]{1,100})?(?:E[+-][0-9]{1,4})?\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")

Fn = Callable[[Any], Any]


class CodecError(ValueError):
    """A value that does not fit the type it is decoded (or encoded) as."""

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def at(self, step: str) -> CodecError:
        return CodecError(self.message, (step, *self.path))

    def __str__(self) -> str:
        where = "".join(p if p.startswith("[") else f".{p}" for p in self.path).lstrip(".")
        return f"{where}: {self.message}" if where else self.message


class UnsupportedType(TypeError):
    """A field type the codec cannot represent (raised when the codec is built)."""


def _strip(tp: Any) -> Any:
    """``Annotated[X, ...]`` -> ``X``."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _container_base(cls: type) -> Any | None:
    """For a class like ``Lots(list[Lot])``: its generic container base ``list[Lot]``."""
    for base in getattr(cls, "__orig_bases__", ()):
        origin = typing.get_origin(base)
        if origin in (list, dict, set, frozenset, tuple):
            return base
    return None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


@functools.cache
def _dataclass_fields(cls: type) -> tuple[tuple[str, Any, Any, bool], ...]:
    """``(name, type, default_factory, init)`` of every dataclass field of ``cls``
    (resolved once per class: ``get_type_hints`` evaluates every string annotation, the
    better part of building a codec; performance)."""
    hints = _type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        factory = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        out.append((f.name, hints[f.name], factory, f.init))
    return tuple(out)


#: each annotation text compiled once per process (``_type_hints``)
_COMPILED: dict[str, types.CodeType] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls, include_extras=True)``, each annotation text compiled
    once (the classes of a state repeat ``Decimal``, ``dt.date``, ``str | None``…; the
    library compiles every one anew). Anything it does not resolve to plain types (a
    quoted name inside a generic) goes to the library."""
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        ann = base.__dict__.get("__annotations__", {})
        if not ann:
            continue
        module = sys.modules.get(base.__module__)
        globalns = vars(module) if module is not None else {}
        localns = dict(vars(base))
        for name, value in ann.items():
            if isinstance(value, str):
                code = _COMPILED.get(value)
                if code is None:
                    code = _COMPILED[value] = compile(value, "<annotation>", "eval")
                try:
                    value = eval(code, globalns, localns)  # noqa: S307 - the class's own
                except Exception:  # noqa: BLE001 - as the library would say
                    return typing.get_type_hints(cls, include_extras=True)
            if value is None:
                value = type(None)
            if _unresolved(value):
                return typing.get_type_hints(cls, include_extras=True)
            hints[name] = value
    return hints


def _unresolved(tp: Any) -> bool:
    """Whether ``tp`` holds a name left to resolve (a string or ``ForwardRef``)."""
    if isinstance(tp, str | typing.ForwardRef):
        return True
    if typing.get_origin(tp) is typing.Literal:
        return False
    return any(_unresolved(a) for a in typing.get_args(tp) if not isinstance(a, type))


def _positional(cls: type, names: list[str]) -> bool:
    """Whether ``cls(a, b, …)`` means ``cls(name_a=a, …)`` for these field names (its
    ``__init__`` takes exactly them, in order, positionally): a positional call is the
    faster one (performance)."""
    import inspect

    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False
    return [p.name for p in params] == names and all(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)


def _runtime_class(tp: Any) -> type | None:
    """The class a value of ``tp`` is an instance of (``list`` for ``list[int]``);
    ``None`` for a ``Literal``."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return None
    if origin is not None:
        return origin if isinstance(origin, type) else None
    return tp if isinstance(tp, type) else None


def _model_fields(cls: type[BaseModel]) -> list[tuple[str, Any]]:
    return [(name, info.annotation) for name, info in cls.model_fields.items()]


def _event_class() -> type:
    from ledger.events import Event

    return Event


def _fail(message: str) -> CodecError:
    return CodecError(message)


class Codec:
    """The encoder and decoder of one root type, each built on its first use, then
    reused (a process that only reads checkpoints never builds the encoder; performance:
    building both and the fingerprint took about 20 ms of every command that reads one).
    Building raises ``UnsupportedType`` for a field type the codec cannot represent."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self._enc: dict[Any, Fn] = {}
        self._dec: dict[Any, Fn] = {}
        self._decimals: dict[str, Decimal] = {}
        self._dates: dict[str, dt.date] = {}

    @functools.cached_property
    def encode(self) -> Fn:
        """The encoder of the root type (to plain JSON data)."""
        return self.encoder(self.root)

    @functools.cached_property
    def decode(self) -> Fn:
        """The strict decoder of the root type (``CodecError`` on a misfit)."""
        return self.decoder(self.root)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes whenever a type reachable from the root gains, loses or retypes a
        field."""
        return hashlib.sha256(_describe(self.root, set()).encode()).hexdigest()[:16]

    # -- encoders ----------------------------------------------------------------------
    def encoder(self, tp: Any, factory: Any = None) -> Fn:
        tp = _strip(tp)
        key = (tp, factory)
        got = self._enc.get(key)
        if got is not None:
            return got
        cell: list[Fn] = []
        self._enc[key] = lambda v: cell[0](v)  # recursive types: bound below
        fn = self._make_encoder(tp)
        cell.append(fn)
        self._enc[key] = fn
        return fn

    def _make_encoder(self, tp: Any) -> Fn:  # noqa: C901 - one case per type form
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is type(None):
            return _enc_none
        if tp is str:
            return _enc_str
        if tp is bool:
            return _enc_bool
        if tp is int:
            return _enc_int
        if tp is Decimal:
            return _enc_decimal
        if tp is dt.datetime:
            return _enc_datetime
        if tp is dt.date:
            return _enc_date
        if tp is object or tp is Any:
            return self._enc_tagged
        if _is_union(tp):
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1:
                inner = self.encoder(rest[0])
                return lambda v: None if v is None else inner(v)
            return self._union_encoder(rest, len(rest) < len(args))
        if origin is typing.Literal:
            allowed = set(args)

            def enc_literal(v: Any) -> Any:
                if v not in allowed:
                    raise _fail(f"{v!r} is not one of {sorted(map(repr, allowed))}")
                return v
            return enc_literal
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return lambda v: v.value
        if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (...,)):
            item = self.encoder(args[0]) if args else _enc_plain
            if origin in (set, frozenset):
                def enc_set(v: Any) -> Any:
                    out = [item(x) for x in v]
                    try:
                        out.sort()
                    except TypeError:
                        pass
                    return out
                return enc_set
            return lambda v: [item(x) for x in v]
        if origin is tuple:
            parts = [self.encoder(a) for a in args]
            n = len(parts)

            def enc_tuple(v: Any) -> Any:
                if len(v) != n:
                    raise _fail(f"expected {n} items, got {len(v)}")
                return [e(x) for e, x in zip(parts, v, strict=True)]
            return enc_tuple
        if origin is dict:
            kt, vt = args if args else (str, Any)
            ve = self.encoder(vt)
            if _strip(kt) is str:
                return lambda v: {_enc_str(k): ve(x) for k, x in v.items()}
            ke = self.encoder(kt)
            return lambda v: [[ke(k), ve(x)] for k, x in v.items()]
        if isinstance(tp, type) and issubclass(tp, _event_class()):
            return _enc_event
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._dataclass_encoder(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            pairs = [(n, self.encoder(t)) for n, t in _model_fields(tp)]
            return lambda v: {n: e(getattr(v, n)) for n, e in pairs}
        if isinstance(tp, type) and (base := _container_base(tp)) is not None:
            return self.encoder(base)
        raise UnsupportedType(f"no checkpoint encoding for {tp!r}")

    def _dataclass_encoder(self, cls: type) -> Fn:
        fields = _dataclass_fields(cls)
        encs = [self.encoder(t, f) for _, t, f, _ in fields]
        # generated once per class, from its field names (performance: thousands of lots
        # per checkpoint); the slow path below names the field that fails
        ns: dict[str, Any] = {"cls": cls, "E": encs, "CodecError": CodecError,
                              "slow": None, **_LEAF_NAMES}
        body = ", ".join(_inline_enc(t, f"v.{n}", f"a{i}", f"E[{i}]")
                         for i, (n, t, *_) in enumerate(fields))
        src = (f"def enc(v):\n"
               f"    if not isinstance(v, cls):\n"
               f"        return slow(v)\n"
               f"    try:\n"
               f"        return [{body}]\n"
               f"    except CodecError:\n"
               f"        return slow(v)\n")
        exec(compile(src, f"<checkpoint encoder of {cls.__name__}>", "exec"), ns)  # noqa: S102

        def slow(v: Any) -> Any:
            if not isinstance(v, cls):
                raise _fail(f"expected {cls.__name__}, got {type(v).__name__}")
            for (n, *_), e in zip(fields, encs, strict=True):
                try:
                    e(getattr(v, n))
                except CodecError as exc:
                    raise exc.at(n) from None
            raise _fail(f"{cls.__name__}: cannot be encoded")  # pragma: no cover
        ns["slow"] = slow
        fn: Fn = ns["enc"]
        return fn

    def _union_encoder(self, members: list[Any], optional: bool) -> Fn:
        """``A | B | …``: ``[i, value]``, ``i`` the first member the value is exactly an
        instance of (else the first it is an instance of; a ``Literal`` member: the first
        whose values hold it); ``None`` when the union admits it."""
        encs = [self.encoder(m) for m in members]
        classes = [_runtime_class(m) for m in members]

        def enc(v: Any) -> Any:
            if v is None and optional:
                return None
            for exact in (True, False):
                for i, c in enumerate(classes):
                    if c is not None and (type(v) is c if exact else isinstance(v, c)):
                        return [i, encs[i](v)]
            for i, c in enumerate(classes):
                if c is None:
                    try:
                        return [i, encs[i](v)]
                    except CodecError:
                        continue
            raise _fail(f"no member of the union takes a {type(v).__name__}")
        return enc

    def _union_decoder(self, members: list[Any], optional: bool) -> Fn:
        decs = [self.decoder(m) for m in members]
        n = len(decs)

        def dec(x: Any) -> Any:
            if x is None and optional:
                return None
            if type(x) is not list or len(x) != 2 or type(x[0]) is not int or not 0 <= x[0] < n:
                raise _fail(f"expected [member 0-{n - 1}, value] of a union")
            try:
                return decs[x[0]](x[1])
            except CodecError as exc:
                raise exc.at(f"[{x[0]}]") from None
        return dec

    def _enc_tagged(self, v: Any) -> Any:
        cls = type(v)
        if not (dataclasses.is_dataclass(cls) and cls.__module__.startswith("ledger.")):
            raise _fail(f"no checkpoint encoding for a value of type {cls.__name__}")
        return {"class": f"{cls.__module__}:{cls.__qualname__}",
                "value": self.encoder(cls)(v)}

    # -- decoders ----------------------------------------------------------------------
    def decoder(self, tp: Any, factory: Any = None) -> Fn:
        tp = _strip(tp)
        key = (tp, factory)
        got = self._dec.get(key)
        if got is not None:
            return got
        cell: list[Fn] = []
        self._dec[key] = lambda v: cell[0](v)
        fn = self._make_decoder(tp)
        if isinstance(factory, type) and not isinstance(tp, type):
            # ``dues: dict[...] = field(default_factory=DueMap)``: rebuild the container
            origin = typing.get_origin(tp)
            if origin is not None and issubclass(factory, origin) and factory is not origin:
                plain = fn

                def fn(x: Any) -> Any:
                    return factory(plain(x))
        cell.append(fn)
        self._dec[key] = fn
        return fn

    def _make_decoder(self, tp: Any) -> Fn:  # noqa: C901 - one case per type form
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is type(None):
            return _dec_none
        if tp is str:
            return _dec_str
        if tp is bool:
            return _dec_bool
        if tp is int:
            return _dec_int
        if tp is Decimal:
            return self._dec_decimal
        if tp is dt.datetime:
            return _dec_datetime
        if tp is dt.date:
            return self._dec_date
        if tp is object or tp is Any:
            return self._dec_tagged
        if _is_union(tp):
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1:
                inner = self.decoder(rest[0])
                return lambda x: None if x is None else inner(x)
            return self._union_decoder(rest, len(rest) < len(args))
        if origin is typing.Literal:
            allowed = set(args)

            def dec_literal(x: Any) -> Any:
                if type(x) not in (str, int, bool) or x not in allowed:
                    raise _fail(f"{str(x)[:40]!r} is not one of the allowed values")
                return x
            return dec_literal
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            cls = tp

            def dec_enum(x: Any) -> Any:
                try:
                    return cls(x)
                except (ValueError, TypeError):
                    raise _fail(f"{str(x)[:40]!r} is not a {cls.__name__}") from None
            return dec_enum
        if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (...,)):
            item = self.decoder(args[0]) if args else _dec_plain
            make: Callable[[list[Any]], Any] = {
                list: list, set: set, frozenset: frozenset, tuple: tuple}[origin]

            def dec_seq(x: Any) -> Any:
                if type(x) is not list:
                    raise _fail("expected a list")
                try:
                    out = [item(v) for v in x]
                except CodecError:
                    for i, v in enumerate(x):
                        try:
                            item(v)
                        except CodecError as exc:
                            raise exc.at(f"[{i}]") from None
                    raise  # pragma: no cover
                return out if make is list else make(out)
            return dec_seq
        if origin is tuple:
            parts = [self.decoder(a) for a in args]
            n = len(parts)

            def dec_tuple(x: Any) -> Any:
                if type(x) is not list or len(x) != n:
                    raise _fail(f"expected a list of {n} items")
                out = []
                for i, (d, v) in enumerate(zip(parts, x, strict=True)):
                    try:
                        out.append(d(v))
                    except CodecError as exc:
                        raise exc.at(f"[{i}]") from None
                return tuple(out)
            return dec_tuple
        if origin is dict:
            kt, vt = args if args else (str, Any)
            vd = self.decoder(vt)
            if _strip(kt) is str:
                def dec_obj(x: Any) -> Any:
                    if type(x) is not dict:
                        raise _fail("expected an object")
                    out = {}
                    for k, v in x.items():
                        try:
                            out[k] = vd(v)
                        except CodecError as exc:
                            raise exc.at(f"[{k[:40]!r}]") from None
                    return out
                return dec_obj
            kd = self.decoder(kt)

            def dec_pairs(x: Any) -> Any:
                if type(x) is not list:
                    raise _fail("expected a list of [key, value] pairs")
                if not x:
                    return {}
                out = {}
                for i, pair in enumerate(x):
                    if type(pair) is not list or len(pair) != 2:
                        raise _fail("expected a [key, value] pair").at(f"[{i}]")
                    try:
                        out[kd(pair[0])] = vd(pair[1])
                    except CodecError as exc:
                        raise exc.at(f"[{i}]") from None
                return out
            return dec_pairs
        if isinstance(tp, type) and issubclass(tp, _event_class()):
            return _event_decoder(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._dataclass_decoder(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self._model_decoder(tp)
        if isinstance(tp, type) and (base := _container_base(tp)) is not None:
            plain = self.decoder(base)
            cls = tp
            return lambda x: cls(plain(x))
        raise UnsupportedType(f"no checkpoint decoding for {tp!r}")

    def _dataclass_decoder(self, cls: type) -> Fn:
        fields = _dataclass_fields(cls)
        decs = [self.decoder(t, f) for _, t, f, _ in fields]
        later = [(i, n) for i, (n, _, _, init) in enumerate(fields) if not init]
        made = [(i, n) for i, (n, _, _, init) in enumerate(fields) if init]
        positional = _positional(cls, [n for _, n in made])
        n_fields = len(fields)
        put = object.__setattr__

        def slow(x: Any) -> Any:
            if type(x) is not list:
                raise _fail(f"expected a list of the {len(fields)} fields of {cls.__name__}")
            if len(x) != len(fields):
                raise _fail(f"{cls.__name__}: {len(x)} fields, expected {len(fields)} "
                            f"({', '.join(n for n, *_ in fields)})")
            for i, ((n, *_), d) in enumerate(zip(fields, decs, strict=True)):
                try:
                    d(x[i])
                except CodecError as exc:
                    raise exc.at(n) from None
                except RecursionError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure is a refusal
                    raise _fail(f"{type(exc).__name__}: {str(exc)[:80]}").at(n) from None
            try:
                cls(**{n: d(x[i]) for i, ((n, _, _, init), d)
                       in enumerate(zip(fields, decs, strict=True)) if init})
            except Exception as exc:  # noqa: BLE001 - e.g. a __post_init__ check
                raise _fail(f"{cls.__name__}: {str(exc)[:80]}") from None
            raise _fail(f"{cls.__name__}: cannot be decoded")  # pragma: no cover

        def plain(x: Any) -> Any:
            # field by field through each field's decoder: what the generated code does
            # with the leaves inline; every failure goes to the slow path
            if type(x) is not list or len(x) != n_fields:
                return slow(x)
            try:
                if positional:
                    o = cls(*[decs[i](x[i]) for i, _ in made])
                else:
                    o = cls(**{n: decs[i](x[i]) for i, n in made})
                for i, n in later:
                    put(o, n, decs[i](x[i]))
            except Exception:  # noqa: BLE001 - the slow path names the field at fault
                return slow(x)
            return o

        uses = 0
        fast: Fn | None = None

        def dec(x: Any) -> Any:
            # a class decoded many times (lots, amounts due) gets generated code; one
            # decoded a few times per state (the state, its series) is not worth its
            # compiling, which was most of the first decode (performance)
            nonlocal uses, fast
            if fast is not None:
                return fast(x)
            uses += 1
            if uses > HOT_DECODES:
                fast = self._generated_decoder(cls, fields, decs, later, positional, slow)
                return fast(x)
            return plain(x)
        return dec

    def _generated_decoder(self, cls: type, fields: tuple[tuple[str, Any, Any, bool], ...],
                           decs: list[Fn], later: list[tuple[int, str]], positional: bool,
                           slow: Fn) -> Fn:
        """``plain`` of ``_dataclass_decoder`` as code generated from the field names,
        the leaf types inline."""
        args = ", ".join(
            ("" if positional else f"{n}=") + _inline_dec(t, f, f"x[{i}]", f"a{i}", f"D[{i}]")
            for i, (n, t, f, init) in enumerate(fields) if init)
        sets = "".join(f"        setattr(o, {n!r}, D[{i}](x[{i}]))\n" for i, n in later)
        ns: dict[str, Any] = {"cls": cls, "D": decs, "N": len(fields), "slow": slow,
                              "setattr": object.__setattr__, **_LEAF_NAMES,
                              "DATES": self._dates, "DECIMALS": self._decimals}
        src = (f"def dec(x):\n"
               f"    if type(x) is not list or len(x) != N:\n"
               f"        return slow(x)\n"
               f"    try:\n"
               f"        o = cls({args})\n"
               f"{sets}"
               f"    except Exception:\n"
               f"        return slow(x)\n"
               f"    return o\n")
        exec(compile(src, f"<checkpoint decoder of {cls.__name__}>", "exec"), ns)  # noqa: S102
        fn: Fn = ns["dec"]
        return fn

    def _model_decoder(self, cls: type[BaseModel]) -> Fn:
        fields = _model_fields(cls)
        pairs = [(n, self.decoder(t)) for n, t in fields]
        names = frozenset(n for n, _ in fields)
        memo: dict[str, Any] = {}

        def dec(x: Any) -> Any:
            if type(x) is not dict or x.keys() != names:
                raise _fail(f"expected an object with the fields of {cls.__name__}")
            import json

            key = json.dumps(x, sort_keys=True)
            got = memo.get(key)
            if got is not None:
                return got
            kw = {}
            for n, d in pairs:
                try:
                    kw[n] = d(x[n])
                except CodecError as exc:
                    raise exc.at(n) from None
            try:
                obj = cls.model_validate(kw)
            except ValidationError as exc:
                raise _fail(f"{cls.__name__}: {exc.errors()[0]['msg']}") from None
            if len(memo) < 1000:
                memo[key] = obj  # frozen models (Terms): one object for equal data
            return obj
        return dec

    def _dec_tagged(self, x: Any) -> Any:
        if type(x) is not dict or x.keys() != {"class", "value"} or type(x["class"]) is not str:
            raise _fail("expected an object {class, value}")
        module, _, name = x["class"].partition(":")
        mod = sys.modules.get(module) if module.startswith("ledger.") else None
        cls = getattr(mod, name, None) if mod is not None and name.isidentifier() else None
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)
                and cls.__module__.startswith("ledger.")):
            raise _fail(f"{x['class'][:80]!r} is not a ledger data class")
        try:
            dec = self.decoder(cls)
        except UnsupportedType as exc:
            raise _fail(str(exc)) from None
        return dec(x["value"])

    def _dec_decimal(self, x: Any) -> Decimal:
        got = self._decimals.get(x) if type(x) is str else None
        if got is not None:
            return got
        if type(x) is not str or not _DECIMAL.match(x):
            raise _fail(f"{str(x)[:40]!r} is not a decimal number written as a string")
        try:
            d = Decimal(x)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise _fail(f"{x[:40]!r} is not a decimal number") from None
        # without an exponent, at most MAX_DIGITS characters hold at most that many
        # digits and an adjusted exponent within ±MAX_EXPONENT: checked only otherwise
        if (len(x) > MAX_DIGITS or "E" in x) and (
                len(d.as_tuple().digits) > MAX_DIGITS
                or (d and abs(d.adjusted()) > MAX_EXPONENT)):
            raise _fail(f"{x[:40]!r} is out of range")
        if len(self._decimals) > 200_000:
            self._decimals.clear()
        self._decimals[x] = d
        return d

    def _dec_date(self, x: Any) -> dt.date:
        got = self._dates.get(x) if type(x) is str else None
        if got is not None:
            return got
        if type(x) is not str or not _DATE.match(x):
            raise _fail(f"{str(x)[:40]!r} is not a date YYYY-MM-DD")
        try:
            d = dt.date.fromisoformat(x)
        except ValueError:
            raise _fail(f"{x!r} is not a calendar date") from None
        if len(self._dates) > 200_000:
            self._dates.clear()
        self._dates[x] = d
        return d


# -- generated code: the leaves inline (the slow path checks every failure again) ------

def _inline_enc(tp: Any, value: str, tmp: str, fallback: str) -> str:
    """A Python expression encoding ``value`` of type ``tp`` (the plain leaf types
    inline, anything else through ``fallback``)."""
    tp = _strip(tp)
    if tp is str or tp is bool:
        return f"({tmp} if type({tmp} := {value}) is {tp.__name__} else {fallback}({tmp}))"
    if tp is int:
        return f"({tmp} if type({tmp} := {value}) is int else {fallback}({tmp}))"
    if tp is Decimal:
        return f"(str({tmp}) if type({tmp} := {value}) is Decimal else {fallback}({tmp}))"
    if tp is dt.date:
        return f"({tmp}.isoformat() if type({tmp} := {value}) is date else {fallback}({tmp}))"
    if _is_union(tp):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1 and rest[0] in (str, int, Decimal, dt.date):
            inner = _inline_enc(rest[0], tmp, tmp + "_", fallback)
            return f"(None if ({tmp} := {value}) is None else {inner})"
    origin = typing.get_origin(tp)
    args = [_strip(a) for a in typing.get_args(tp)]
    if origin is list and len(args) == 1 and args[0] in _LEAF_ENC:
        # a list of leaves (of exactly the built-in list type; else the field's encoder)
        item = _inline_enc(args[0], "x", f"{tmp}x", _LEAF_ENC[args[0]])
        return f"([{item} for x in {tmp}] if type({tmp} := {value}) is list else {fallback}({tmp}))"
    if (origin is dict and len(args) == 2 and args[0] is not str and args[0] in _LEAF_ENC
            and args[1] in _LEAF_ENC):
        # ``dict[date, Decimal]`` (a lot's ``pending``: thousands per checkpoint) as its
        # ``[key, value]`` pairs, the leaves inline; a leaf of another type goes to its
        # own encoder, which refuses it
        key = _inline_enc(args[0], "k", f"{tmp}k", _LEAF_ENC[args[0]])
        val = _inline_enc(args[1], "x", f"{tmp}x", _LEAF_ENC[args[1]])
        return (f"([[{key}, {val}] for k, x in {tmp}.items()] "
                f"if type({tmp} := {value}) is dict else {fallback}({tmp}))")
    return f"{fallback}({value})"


def _inline_dec(tp: Any, factory: Any, value: str, tmp: str, fallback: str) -> str:
    """A Python expression decoding JSON ``value`` as ``tp`` (as ``_inline_enc``)."""
    tp = _strip(tp)
    if factory is not None and not isinstance(tp, type):
        return f"{fallback}({value})"
    if tp is str:
        return f"({tmp} if type({tmp} := {value}) is str else {fallback}({tmp}))"
    if tp is bool:
        return f"({tmp} if type({tmp} := {value}) is bool else {fallback}({tmp}))"
    if tp is int:
        return (f"({tmp} if type({tmp} := {value}) is int and -LIMIT <= {tmp} < LIMIT "
                f"else {fallback}({tmp}))")
    if tp is Decimal:
        return (f"(DECIMALS[{tmp}] if type({tmp} := {value}) is str and {tmp} in DECIMALS "
                f"else {fallback}({tmp}))")
    if tp is dt.date:
        return (f"(DATES[{tmp}] if type({tmp} := {value}) is str and {tmp} in DATES "
                f"else {fallback}({tmp}))")
    if _is_union(tp):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1 and rest[0] in (str, int, Decimal, dt.date):
            inner = _inline_dec(rest[0], None, tmp, tmp + "_", fallback)
            return f"(None if ({tmp} := {value}) is None else {inner})"
    origin = typing.get_origin(tp)
    if origin is list or (origin is dict and _strip(typing.get_args(tp)[0]) is not str):
        # an empty list (or dict kept as [key, value] pairs): most lots have no pending
        empty = "[]" if origin is list else "{}"
        return f"({empty} if ({tmp} := {value}) == [] else {fallback}({tmp}))"
    return f"{fallback}({value})"


_LEAF_NAMES: dict[str, Any] = {"Decimal": Decimal, "date": dt.date, "LIMIT": INT_LIMIT}
#: the name, in generated code, of each leaf type's encoder (``_LEAF_NAMES``)
_LEAF_ENC: dict[Any, str] = {str: "enc_str", bool: "enc_bool", int: "enc_int",
                             Decimal: "enc_decimal", dt.date: "enc_date"}


# -- the leaves ----------------------------------------------------------------------------

def _enc_none(v: Any) -> None:
    if v is not None:
        raise _fail(f"expected None, got {type(v).__name__}")
    return None


def _enc_str(v: Any) -> str:
    if type(v) is not str:
        raise _fail(f"expected a string, got {type(v).__name__}")
    return v


def _enc_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _fail(f"expected a bool, got {type(v).__name__}")
    return v


def _enc_int(v: Any) -> int:
    if type(v) is not int or not -INT_LIMIT <= v < INT_LIMIT:
        raise _fail(f"expected a 64-bit integer, got {type(v).__name__}")
    return v


def _enc_decimal(v: Any) -> str:
    if type(v) is Decimal or (isinstance(v, Decimal | int) and not isinstance(v, bool)):
        return str(v)
    raise _fail(f"expected a Decimal, got {type(v).__name__}")


def _enc_date(v: Any) -> str:
    if type(v) is not dt.date:
        raise _fail(f"expected a date, got {type(v).__name__}")
    return v.isoformat()


def _enc_datetime(v: Any) -> str:
    if type(v) is not dt.datetime:
        raise _fail(f"expected a datetime, got {type(v).__name__}")
    return v.isoformat()


def _enc_plain(v: Any) -> Any:
    if v is None or type(v) in (str, bool, int):
        return v
    raise _fail(f"no checkpoint encoding for a value of type {type(v).__name__}")


def _enc_event(v: Any) -> Any:
    return v.to_json()


def _dec_none(x: Any) -> None:
    if x is not None:
        raise _fail("expected null")
    return None


def _dec_str(x: Any) -> str:
    if type(x) is not str:
        raise _fail("expected a string")
    return x


def _dec_bool(x: Any) -> bool:
    if type(x) is not bool:
        raise _fail("expected true or false")
    return x


def _dec_int(x: Any) -> int:
    if type(x) is not int or not -INT_LIMIT <= x < INT_LIMIT:
        raise _fail(f"{str(x)[:40]!r} is not a 64-bit integer")
    return x


def _dec_datetime(x: Any) -> dt.datetime:
    if type(x) is not str or len(x) > 40:
        raise _fail("expected an ISO 8601 time")
    try:
        return dt.datetime.fromisoformat(x)
    except ValueError:
        raise _fail(f"{x!r} is not an ISO 8601 time") from None


def _dec_plain(x: Any) -> Any:
    if x is None or type(x) in (str, bool, int):
        return x
    raise _fail("expected a string, number, true, false or null")


def _event_decoder(cls: type) -> Fn:
    from ledger.events import parse_object

    def dec(x: Any) -> Any:
        if type(x) is not dict:
            raise _fail("expected an event object")
        got = parse_object(x)
        if isinstance(got, list):
            raise _fail(f"not a valid event: {got[0]}" if got else "not a valid event")
        if not isinstance(got, cls):
            raise _fail(f"expected {cls.__name__}, got {type(got).__name__}")
        return got
    return dec


def _describe(tp: Any, seen: set[Any]) -> str:
    """A canonical text of the shape of ``tp`` (for ``Codec.fingerprint``)."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin is not None:
        inner = ",".join(_describe(a, seen) if not isinstance(a, str | int | bool)
                         else repr(a) for a in typing.get_args(tp) if a is not ...)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if not isinstance(tp, type):
        return repr(tp)
    name = f"{tp.__module__}.{tp.__qualname__}"
    if tp in seen:
        return name
    seen.add(tp)
    try:
        if issubclass(tp, _event_class()):
            return name
        if dataclasses.is_dataclass(tp):
            fields = ",".join(f"{n}:{_describe(t, seen)}" + (f"={f.__name__}" if f else "")
                              for n, t, f, _ in _dataclass_fields(tp))
            return f"{name}{{{fields}}}"
        if issubclass(tp, BaseModel):
            fields = ",".join(f"{n}:{_describe(t, seen)}" for n, t in _model_fields(tp))
            return f"{name}{{{fields}}}"
        base = _container_base(tp)
        if base is not None:
            return f"{name}<{_describe(base, seen)}>"
    finally:
        seen.discard(tp)
    return name


_LEAF_NAMES.update({"enc_str": _enc_str, "enc_bool": _enc_bool, "enc_int": _enc_int,
                    "enc_decimal": _enc_decimal, "enc_date": _enc_date})
