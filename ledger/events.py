"""The event catalog of SPEC.md §3, validated at the edge with pydantic v2.

Every model forbids unknown fields, takes Decimals from JSON strings only, and dates
as ``YYYY-MM-DD``. ``parse_line`` turns one JSON Lines line into an event or a list of
``Problem`` naming the line, the event and the field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)

from ledger import limits
from ledger.names import shown, text_problem
from ledger.problems import Problem
from ledger.terms import MAX_PERIOD_STARTS, Terms
from ledger.values import Dec, IsoDate, non_negative, positive


def _strict(info: ValidationInfo) -> bool:
    """Input is checked by the rules of ``ledger.names``; events read back from the
    store (``parse_object(..., strict=False)``) by the rules they were stored under."""
    ctx = info.context
    return True if ctx is None else bool(ctx.get("strict", True))


#: names already accepted, per rule set (``_clean_name``): a history names the same
#: holders, series and issuers over and over (performance; bounded)
_CLEAN_NAMES: tuple[set[str], set[str]] = (set(), set())
MAX_CLEAN_NAMES = 100_000


def _clean_name(value: str, info: ValidationInfo) -> str:
    """README Guarantees (hostile input): no control, format, invisible, private-use or
    unassigned character in a name or id (``ledger.names``), no surrounding space."""
    strict = _strict(info)
    known = _CLEAN_NAMES[strict]
    if value in known:
        return value
    why = text_problem(value, strict=strict)
    if why is not None:
        raise ValueError(why)
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if len(known) >= MAX_CLEAN_NAMES:
        known.clear()
    known.add(value)
    return value


def _clean_free_text(value: str, info: ValidationInfo) -> str:
    """Free text (memo, source, reason): tabs and newlines allowed, no other control or
    format character (``ledger.names``)."""
    why = text_problem(value, free_text=True, strict=_strict(info))
    if why is not None:
        raise ValueError(why)
    return value


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean_name)]

#: the name tables show for common stock without a holder (SPEC.md §13; ``ledger.state``)
RESERVED_HOLDER = "unattributed"


def _holder_name(value: str, info: ValidationInfo) -> str:
    """SPEC.md §13: common without a holder is shown as "unattributed" in tables, so no
    holder may take that name (input only; stored history reads as it was stored)."""
    if value == RESERVED_HOLDER and _strict(info):
        raise ValueError(f"{RESERVED_HOLDER!r} is reserved for common stock without a named "
                         "holder; choose another holder name")
    return value


#: a holder's name: a ``Name`` other than the reserved "unattributed"
HolderName = Annotated[Name, AfterValidator(_holder_name)]
FreeText = AfterValidator(_clean_free_text)


def _within(name: str) -> AfterValidator:
    """A value within the named limit of ``ledger.limits`` (input only: stored history
    reads back by the rules it was stored under)."""
    lim = limits.LIMITS[name]

    def check(value: Decimal, info: ValidationInfo) -> Decimal:
        if _strict(info) and not lim.allows(value):
            raise ValueError(lim.refuse(value))
        return value

    return AfterValidator(check)


Shares = Annotated[Dec, AfterValidator(positive), _within("shares_per_event")]
Amount = Annotated[Dec, AfterValidator(non_negative)]
PositiveAmount = Annotated[Dec, AfterValidator(positive)]
#: a price per share (of preferred issued or cancelled, of common sold or at market)
Price = Annotated[Dec, AfterValidator(non_negative), _within("price")]


class Event(BaseModel):
    """Fields on every event (SPEC.md §3)."""

    # the validator of an event type is built when the first event of that type is read:
    # a command that reads a few types never builds the others (``parse_object``)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: str
    effective_date: IsoDate
    id: Name | None = None
    issuer: Name = "default"
    memo: Annotated[str, Field(max_length=10_000), FreeText] | None = None
    source: Annotated[str, Field(max_length=10_000), FreeText] | None = None

    def to_json(self) -> dict[str, Any]:
        """Canonical JSON object: Decimals as strings, unset optional fields left out."""
        return self.model_dump(mode="json", exclude_none=True)

    def describe(self) -> str:
        return f"{self.type}" + (f" id={self.id}" if self.id else "")


class SeriesDesignated(Event):
    type: Literal["SeriesDesignated"]
    series: Name
    terms: Terms | None = None
    terms_ref: Name | None = None


class SharesIssued(Event):
    type: Literal["SharesIssued"]
    series: Name
    holder: HolderName
    shares: Shares
    price_per_share: Price | None = None


class SharesTransferred(Event):
    """SPEC.md §3; §13: with ``series: "common"`` it moves common between named holders
    (common without a holder cannot be transferred: its holder is not known)."""

    type: Literal["SharesTransferred"]
    series: Name
    from_holder: HolderName
    to_holder: HolderName
    shares: Shares


class DividendPaid(Event):
    type: Literal["DividendPaid"]
    series: Name
    amount: PositiveAmount
    holder: HolderName | None = None
    #: SPEC.md §12: ``cash`` (default; left out of the payload) or ``shares`` (in kind)
    form: Literal["cash", "shares"] | None = None


class DividendMissed(Event):
    type: Literal["DividendMissed"]
    series: Name
    payment_date: IsoDate


class CommonStockIssued(Event):
    """SPEC.md §3; §13: held by ``holder``, or without one by the unattributed holder."""

    type: Literal["CommonStockIssued"]
    shares: Shares
    kind: Literal["opening", "sale", "option_exercise", "other"]
    price_per_share: Price | None = None
    consideration: Amount | None = None
    holder: HolderName | None = None


class CommonStockSplit(Event):
    type: Literal["CommonStockSplit"]
    #: new shares per old share, within the limit ``split_ratio``
    ratio: Annotated[PositiveAmount, _within("split_ratio")]


class SharesConverted(Event):
    type: Literal["SharesConverted"]
    series: Name
    holder: HolderName
    shares: Shares
    market_price: Price | None = None


class ShareholderApproval(Event):
    type: Literal["ShareholderApproval"]
    matters: list[Name] = Field(min_length=1)


class RedemptionNoticed(Event):
    type: Literal["RedemptionNoticed"]
    series: Name
    redemption_date: IsoDate
    holders: dict[HolderName, Shares] = Field(min_length=1)
    #: SPEC.md §12: ``company`` (default; left out of the payload) or ``holder`` (a put)
    by: Literal["company", "holder"] | None = None


class SharesRedeemed(Event):
    type: Literal["SharesRedeemed"]
    series: Name
    holder: HolderName
    shares: Shares
    funds_available: Amount | None = None


class Liquidation(Event):
    type: Literal["Liquidation"]
    proceeds: Amount
    #: the issuer's seniority order for this distribution (SPEC.md §8: the order is data),
    #: e.g. "M,H,K,G"; default: ledger.seniority.default_order
    order: Annotated[str, Field(min_length=1, max_length=500),
                     AfterValidator(_clean_name)] | None = None


# -- SPEC.md §12 Conversion: the offering that may trigger mandatory conversions ---------

class PublicOffering(Event):
    """A public offering of common (SPEC.md §12): the mandatory conversions it triggers
    happen first, then its ``shares`` are issued as a ``sale`` at ``price_per_share``.
    ``gross_proceeds`` must equal shares × price_per_share (to the cent)."""

    type: Literal["PublicOffering"]
    price_per_share: Annotated[PositiveAmount, _within("price")]
    shares: Shares
    gross_proceeds: PositiveAmount
    #: SPEC.md §13: who the offering's common is issued to (else unattributed)
    holder: HolderName | None = None


class BalanceAsserted(Event):
    type: Literal["BalanceAsserted"]
    series: Name
    holder: HolderName | None = None
    shares: Amount


# -- SPEC.md §12 General terms: dividends block --------------------------------------------

class DividendDeclared(Event):
    """SPEC.md §12: the board declares ``amount_per_share`` on a non-cumulative series; each
    holder of record at the end of ``record_date`` is owed shares × amount, due on
    ``payment_date`` (``effective_date <= record_date <= payment_date``)."""

    type: Literal["DividendDeclared"]
    series: Name
    amount_per_share: Annotated[PositiveAmount, _within("amount_per_share")]
    record_date: IsoDate
    payment_date: IsoDate


# -- SPEC.md §12 General terms: redemption and votes block (amendments) -------------------

class TermsAmended(Event):
    """SPEC.md §12 Amendments: from ``effective_date`` the series has its terms with
    ``changes`` (term field -> new value) applied, validated as the whole new terms."""

    type: Literal["TermsAmended"]
    series: Name
    changes: dict[Name, Any] = Field(min_length=1, max_length=100)


# -- end of the §12 dividends / redemption and votes blocks ---------------------------------

class SharesCancelled(Event):
    """SPEC.md §13: shares of ``holder`` cancelled for good (never reissued). For a
    preferred series the lots stop accruing that day and what the shares were owed is
    extinguished; with ``series: "common"`` common outstanding falls."""

    type: Literal["SharesCancelled"]
    series: Name
    holder: HolderName
    shares: Shares
    reason: Literal["repurchase", "forfeiture", "other"]
    #: what was paid per share (a repurchase); the cash paid is shares × price, to the cent
    price_per_share: Price | None = None


class EventReversed(Event):
    type: Literal["EventReversed"]
    target_id: Name
    reason: Annotated[str, Field(min_length=1, max_length=10_000), FreeText]


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        SeriesDesignated,
        SharesIssued,
        SharesTransferred,
        DividendPaid,
        DividendMissed,
        CommonStockIssued,
        CommonStockSplit,
        SharesConverted,
        ShareholderApproval,
        RedemptionNoticed,
        SharesRedeemed,
        Liquidation,
        BalanceAsserted,
        EventReversed,
        PublicOffering,
        DividendDeclared,
        TermsAmended,
        SharesCancelled,
    )
}



def build_validators() -> None:
    """Build the validator of every event type and of the terms now. They are built on
    first use otherwise (``parse_object``): a long-running process, or a measurement of
    one call, can pay that once, before."""
    Terms.model_rebuild(force=True)
    for cls in EVENT_TYPES.values():
        cls.model_rebuild(force=True)


#: Limits on one line of input (README Guarantees: hostile input is refused fast, in
#: bounded memory). A line of JSON Lines is read at most this many bytes at a time
#: (``ledger.api`` reads with a bounded ``readline``): a longer line is refused unread.
MAX_LINE_BYTES = 1 << 20
#: fields of one JSON object, items of one JSON array, at any level of an event; the
#: ``holders`` map of a ``RedemptionNoticed`` (one entry per holder) may have more
#: (the limits ``fields_per_object`` and ``holders_per_notice`` of ``ledger.limits``)
MAX_MEMBERS = int(limits.value("fields_per_object"))
MAX_HOLDERS = int(limits.value("holders_per_notice"))
#: levels of JSON nesting (an event is 1, its ``terms`` 2, a seniority claim 4)
MAX_DEPTH = int(limits.value("nesting"))
#: problems reported for one line (then one saying how many more there are)
MAX_LINE_PROBLEMS = int(limits.value("problems_per_line"))
#: ``MAX_PERIOD_STARTS``, the dividend period starts of one series, is kept with the other
#: limits of the terms (``ledger.terms``)


class _DuplicateKey(ValueError):
    pass


class _TooManyFields(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_HOLDERS:  # no event has such an object: stop at once
        raise _TooManyFields(len(pairs))
    out = dict(pairs)  # in C; a key given twice shows as fewer keys (performance)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k)  # the first key given twice, as before
            seen.add(k)
    return out


def _field_name(key: Any) -> str:
    """A field name from input, safe to print (escaped, at most 60 characters)."""
    text = shown(str(key))
    return text if len(text) <= 60 else text[:60] + "…"


def _shape_problem(obj: Any) -> tuple[str, str] | None:
    """The first object or array of ``obj`` beyond ``MAX_MEMBERS`` (``MAX_HOLDERS`` for
    the ``holders`` map) or deeper than ``MAX_DEPTH``: (field, message), or None."""
    stack: list[tuple[Any, int, str]] = [(obj, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return path, f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            limit = MAX_HOLDERS if path == "holders" else MAX_MEMBERS
            if len(value) > limit:
                what = "the event" if not path else "the object"
                return path, f"{what} has {len(value)} fields; at most {limit} are allowed"
            for k, v in value.items():
                if isinstance(v, dict | list):
                    key = _field_name(k)
                    stack.append((v, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            if len(value) > MAX_MEMBERS:
                return path, (f"the list has {len(value)} items; at most {MAX_MEMBERS} are "
                              "allowed")
            for n, v in enumerate(value):
                if isinstance(v, dict | list):
                    stack.append((v, depth + 1, f"{path}.{n}" if path else str(n)))
    return None


def _where(obj: Any) -> str:
    if isinstance(obj, dict):
        t = obj.get("type")
        i = obj.get("id")
        parts = [shown(t[:60]) if isinstance(t, str) else "event"]
        if isinstance(i, str):
            parts.append(f"id={shown(i[:80])}")
        return " ".join(parts)
    return "event"


def parse_object(obj: Any, line: int = 0, strict: bool = False) -> Event | list[Problem]:
    """Validate one decoded JSON object as an event of SPEC.md §3.

    ``strict``: input (``parse_line``), checked by every rule of ``ledger.names`` and the
    limits above; otherwise an event read back from the store, by the rules it was
    stored under (so that history stored before a rule was added still reads)."""
    # ``_where(obj)`` (the event named in a problem) only when there is a problem: most
    # lines have none (performance)
    if not isinstance(obj, dict):
        return [Problem(line, _where(obj), "", "each line must be one JSON object")]
    if "type" not in obj:
        return [Problem(line, _where(obj), "type", "missing; one of " + ", ".join(EVENT_TYPES))]
    if not isinstance(obj["type"], str) or obj["type"] not in EVENT_TYPES:
        return [
            Problem(
                line, _where(obj), "type",
                f"unknown event type {shown(str(obj['type'])[:60])!r}; one of "
                + ", ".join(EVENT_TYPES),
            )
        ]
    try:
        # the type's own model: what the union of every type (``AnyEvent``, whose
        # discriminator is ``type``) would choose, without building the others
        ev = EVENT_TYPES[obj["type"]].model_validate(obj, context={"strict": strict})
    except ValidationError as exc:
        where = _where(obj)
        problems: list[Problem] = []
        for err in exc.errors(include_url=False):
            if len(problems) == MAX_LINE_PROBLEMS:
                more = exc.error_count() - MAX_LINE_PROBLEMS
                problems.append(Problem(line, where, "", f"… and {more} more problem(s) on "
                                        "this line"))
                break
            loc = [str(p) for p in err["loc"]]
            if loc and loc[0] == obj["type"]:
                loc = loc[1:]
            field = ".".join(_field_name(p) for p in loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            problems.append(Problem(line, where, field, shown(msg)))
        return problems
    assert isinstance(ev, Event)
    if isinstance(ev, SeriesDesignated):
        if (ev.terms is None) == (ev.terms_ref is None):
            return [Problem(line, _where(obj), "terms", "give exactly one of terms or terms_ref")]
        if ev.terms is not None and ev.terms.series != ev.series:
            return [Problem(line, _where(obj), "terms.series", f"must equal series {ev.series!r}")]
        if (strict and ev.terms is not None
                and len(ev.terms.period_starts) > MAX_PERIOD_STARTS):
            return [Problem(line, _where(obj), "terms.period_starts",
                            f"{len(ev.terms.period_starts)} period starts; at most "
                            f"{MAX_PERIOD_STARTS} (monthly dividends) are allowed")]
    if isinstance(ev, DividendDeclared):  # SPEC.md §12: declared on or before the record date
        if ev.record_date < ev.effective_date:
            return [Problem(line, _where(obj), "record_date", f"{ev.record_date} is before the "
                            f"declaration ({ev.effective_date}); the record date may not be "
                            "earlier than the effective date")]
        if ev.payment_date < ev.record_date:
            return [Problem(line, _where(obj), "payment_date", f"{ev.payment_date} is before the "
                            f"record date {ev.record_date}")]
    if isinstance(ev, TermsAmended):
        unknown = sorted(k for k in ev.changes if k not in Terms.model_fields)
        if unknown:
            return [Problem(line, _where(obj), f"changes.{shown(k)}", "unknown term field")
                    for k in unknown]
    return ev


def _json_int(s: str) -> int | float:
    """A JSON integer; one too long for ``int()`` (4,300 digits) becomes an infinity, so
    the field it is in rejects it by name instead of the whole line failing to parse."""
    if len(s) <= 100:
        return int(s)
    return float("-inf") if s.startswith("-") else float("inf")


def line_too_long(line: int) -> Problem:
    """The problem of a line longer than ``MAX_LINE_BYTES`` (refused unread)."""
    return Problem(line, "event", "", f"the line is longer than {MAX_LINE_BYTES:,} bytes "
                   "(the most one event may take); refused without reading the rest of the "
                   "file")


def parse_line(text: str, line: int = 0) -> Event | list[Problem] | None:
    """Parse one JSON Lines line of input; blank lines give ``None``."""
    if len(text) > MAX_LINE_BYTES // 4 and len(
            text.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES + 2:
        return [line_too_long(line)]
    text = text.rstrip("\r\n")  # so a JSON error says "line 1 column N", not "line 2"
    if not text.strip(" \t\r\n"):  # JSON whitespace only: "\u3000" is not blank
        return None
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=lambda s: float(s),
            # NaN / Infinity become floats, and integers too long for int() infinity,
            # which every field rejects by name (SPEC.md §2: no JSON numbers)
            parse_constant=float,
            parse_int=_json_int,
        )
    except _DuplicateKey as exc:
        return [Problem(line, "event", _field_name(exc), "duplicate key in the JSON object")]
    except _TooManyFields as exc:
        return [Problem(line, "event", "", f"an object with {exc} fields; at most "
                        f"{MAX_MEMBERS} are allowed ({MAX_HOLDERS:,} in holders)")]
    except ValueError as exc:
        return [Problem(line, "event", "", f"not valid JSON: {shown(str(exc))}")]
    except RecursionError:
        return [Problem(line, "event", "", "not valid JSON: nested too deeply")]
    shape = _shape_problem(obj)
    if shape is not None:
        return [Problem(line, _where(obj), shape[0], shape[1])]
    return parse_object(obj, line, strict=True)
