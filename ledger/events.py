"""The event catalog of SPEC.md §3, validated at the edge with pydantic v2.

Every model forbids unknown fields, takes Decimals from JSON strings only, and dates
as ``YYYY-MM-DD``. ``parse_line`` turns one JSON Lines line into an event or a list of
``Problem`` naming the line, the event and the field.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ledger.problems import Problem
from ledger.terms import Terms
from ledger.values import Dec, IsoDate, non_negative, positive

#: bidirectional-text controls: they make a name display as another ("Trojan source")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


#: every character ``_clean_text`` may refuse: one C-level scan clears the common case
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: str, allow: str = "") -> str:
    """Hostile input (README Guarantees): no control characters (C0, DEL, C1), no lone
    surrogates, no bidi overrides; ``allow`` lists the whitespace free text may hold."""
    if _SUSPECT.search(value) is None:
        return value
    for i, ch in enumerate(value):
        o = ord(ch)
        if ch in allow:
            continue
        if o < 0x20 or 0x7F <= o < 0xA0:
            raise ValueError(f"control character U+{o:04X} at position {i}")
        if 0xD800 <= o < 0xE000:
            raise ValueError(f"lone surrogate U+{o:04X} at position {i}")
        if ch in _BIDI:
            raise ValueError(f"bidirectional control U+{o:04X} at position {i}")
    return value


def _clean_name(value: str) -> str:
    _clean_text(value)
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


def _clean_free_text(value: str) -> str:
    return _clean_text(value, allow="\t\n\r")


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean_name)]
FreeText = AfterValidator(_clean_free_text)
Shares = Annotated[Dec, AfterValidator(positive)]
Amount = Annotated[Dec, AfterValidator(non_negative)]
PositiveAmount = Annotated[Dec, AfterValidator(positive)]


class Event(BaseModel):
    """Fields on every event (SPEC.md §3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    holder: Name
    shares: Shares
    price_per_share: Amount | None = None


class SharesTransferred(Event):
    type: Literal["SharesTransferred"]
    series: Name
    from_holder: Name
    to_holder: Name
    shares: Shares


class DividendPaid(Event):
    type: Literal["DividendPaid"]
    series: Name
    amount: PositiveAmount
    holder: Name | None = None


class DividendMissed(Event):
    type: Literal["DividendMissed"]
    series: Name
    payment_date: IsoDate


class CommonStockIssued(Event):
    type: Literal["CommonStockIssued"]
    shares: Shares
    kind: Literal["opening", "sale", "option_exercise", "other"]
    price_per_share: Amount | None = None
    consideration: Amount | None = None


class CommonStockSplit(Event):
    type: Literal["CommonStockSplit"]
    ratio: PositiveAmount


class SharesConverted(Event):
    type: Literal["SharesConverted"]
    series: Name
    holder: Name
    shares: Shares
    market_price: Amount | None = None


class ShareholderApproval(Event):
    type: Literal["ShareholderApproval"]
    matters: list[Name] = Field(min_length=1)


class RedemptionNoticed(Event):
    type: Literal["RedemptionNoticed"]
    series: Name
    redemption_date: IsoDate
    holders: dict[Name, Shares] = Field(min_length=1)


class SharesRedeemed(Event):
    type: Literal["SharesRedeemed"]
    series: Name
    holder: Name
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
    price_per_share: PositiveAmount
    shares: Shares
    gross_proceeds: PositiveAmount
    holder: Name | None = None


class BalanceAsserted(Event):
    type: Literal["BalanceAsserted"]
    series: Name
    holder: Name | None = None
    shares: Amount


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
    )
}

AnyEvent = Annotated[
    SeriesDesignated
    | SharesIssued
    | SharesTransferred
    | DividendPaid
    | DividendMissed
    | CommonStockIssued
    | CommonStockSplit
    | SharesConverted
    | ShareholderApproval
    | RedemptionNoticed
    | SharesRedeemed
    | Liquidation
    | BalanceAsserted
    | EventReversed
    | PublicOffering,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyEvent)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _where(obj: Any) -> str:
    if isinstance(obj, dict):
        t = obj.get("type")
        i = obj.get("id")
        parts = [str(t)[:60] if isinstance(t, str) else "event"]
        if isinstance(i, str):
            parts.append(f"id={i[:80]}")
        return " ".join(parts)
    return "event"


def parse_object(obj: Any, line: int = 0) -> Event | list[Problem]:
    """Validate one decoded JSON object as an event of SPEC.md §3."""
    where = _where(obj)
    if not isinstance(obj, dict):
        return [Problem(line, where, "", "each line must be one JSON object")]
    if "type" not in obj:
        return [Problem(line, where, "type", "missing; one of " + ", ".join(EVENT_TYPES))]
    if not isinstance(obj["type"], str) or obj["type"] not in EVENT_TYPES:
        return [
            Problem(
                line, where, "type",
                f"unknown event type {str(obj['type'])[:60]!r}; one of " + ", ".join(EVENT_TYPES),
            )
        ]
    try:
        ev = _ADAPTER.validate_python(obj)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = [str(p) for p in err["loc"]]
            if loc and loc[0] == obj["type"]:
                loc = loc[1:]
            field = ".".join(loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            problems.append(Problem(line, where, field, msg))
        return problems
    assert isinstance(ev, Event)
    if isinstance(ev, SeriesDesignated):
        if (ev.terms is None) == (ev.terms_ref is None):
            return [Problem(line, where, "terms", "give exactly one of terms or terms_ref")]
        if ev.terms is not None and ev.terms.series != ev.series:
            return [Problem(line, where, "terms.series", f"must equal series {ev.series!r}")]
    return ev


def _json_int(s: str) -> int | float:
    """A JSON integer; one too long for ``int()`` (4,300 digits) becomes an infinity, so
    the field it is in rejects it by name instead of the whole line failing to parse."""
    if len(s) <= 100:
        return int(s)
    return float("-inf") if s.startswith("-") else float("inf")


def parse_line(text: str, line: int = 0) -> Event | list[Problem] | None:
    """Parse one JSON Lines line; blank lines give ``None``."""
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
        return [Problem(line, "event", str(exc), "duplicate key in the JSON object")]
    except ValueError as exc:
        return [Problem(line, "event", "", f"not valid JSON: {exc}")]
    except RecursionError:
        return [Problem(line, "event", "", "not valid JSON: nested too deeply")]
    return parse_object(obj, line)

