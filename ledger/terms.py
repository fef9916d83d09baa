"""Terms of a preferred series, as data (SPEC.md §4).

Every reading the spec fixes is a field with the spec's default; every field of the
shipped nStor fixtures cites the certificate section it comes from (``citations``).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from ledger import limits
from ledger.names import text_problem
from ledger.values import Dec, IsoDate

_PERIOD_RE = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

# -- SPEC.md §12 Validation of terms as a whole: limits as data -------------------------
# The values are the named limits of ``ledger.limits`` (one table, docs/limits.md); the
# names below are kept for the modules and tests that read them.
#: the highest dividend rate or step-up (a fraction of the stated value a year: 100%)
MAX_RATE = limits.value("dividend_rate")
#: the highest stated value, par value or in-kind price per share
MAX_PER_SHARE = limits.value("stated_value")
#: the most shares a series may authorize
MAX_SHARES = limits.value("authorized_shares")
#: the most dividend periods a year (monthly)
MAX_PERIOD_STARTS = int(limits.value("period_starts"))
#: the longest run of years a term may count (conversion window after closing)
MAX_YEARS = int(limits.value("years"))
#: the longest notice period, in calendar days (ten years)
MAX_NOTICE_DAYS = int(limits.value("notice_days"))
#: the longest payment lag after a period's end, in days
MAX_PAYMENT_LAG_DAYS = int(limits.value("payment_lag_days"))
#: the most consecutive missed payment dates one step-up may wait for
MAX_EVERY_MISSED = int(limits.value("step_up_every_missed"))
#: the highest redemption premium (a multiple of the stated value)
MAX_REDEMPTION_PREMIUM = limits.value("redemption_premium")
#: the most votes one preferred share may carry
MAX_VOTES_PER_SHARE = limits.value("votes_per_share")

#: field -> the named limit it is checked against (``ledger.limits.LIMITS``)
RANGE_LIMITS: dict[str, str] = {
    "authorized_shares": "authorized_shares", "stated_value": "stated_value",
    "par_value": "par_value", "dividend_rate": "dividend_rate",
    "payment_lag_days": "payment_lag_days", "conversion_after_closing_years": "years",
    "notice_conversion_days": "notice_days", "redemption_notice_days": "notice_days",
    "pik_price": "pik_price", "redemption_premium": "redemption_premium",
    "votes_per_share": "votes_per_share", "conversion_multiple": "conversion_multiple",
}
#: the same for the fields of ``step_up``
STEP_UP_LIMITS: dict[str, str] = {"increment": "step_up_increment",
                                  "every_missed": "step_up_every_missed",
                                  "cap": "step_up_cap"}


def _bounds(name: str) -> tuple[Decimal, bool, Decimal]:
    lim = limits.LIMITS[name]
    assert lim.low is not None and not isinstance(lim.low, dt.date)
    return Decimal(lim.low), lim.low_ok, limits.value(name)


#: field -> (lowest, whether the lowest itself is allowed, highest): every numeric term
#: of a series checked against its range, with a message that states the range
RANGES: dict[str, tuple[Decimal, bool, Decimal]] = {
    field: _bounds(name) for field, name in RANGE_LIMITS.items()}
STEP_UP_RANGES: dict[str, tuple[Decimal, bool, Decimal]] = {
    field: _bounds(name) for field, name in STEP_UP_LIMITS.items()}


def _in_range(value: Decimal | int | None, bounds: tuple[Decimal, bool, Decimal],
              name: str = "") -> Decimal | int | None:
    """``value`` if within ``bounds``, else a message that names the allowed range (and
    the named limit ``name`` of ``ledger.limits``: what it protects, what to do)."""
    if value is None or isinstance(value, bool):
        return value
    lo, lo_ok, hi = bounds
    if value < lo or (value == lo and not lo_ok) or value > hi:
        why = ""
        if name:
            lim = limits.LIMITS[name]
            why = f" (the limit {name}: {lim.protects}); {lim.advice}"
        if lo_ok:
            raise ValueError(f"{value} is out of range: must be from {lo:,} to {hi:,}{why}")
        raise ValueError(f"{value} is out of range: must be greater than {lo:,} and at most "
                         f"{hi:,}{why}")
    return value


def _strict(info: ValidationInfo) -> bool:
    """Input is checked by every rule below; terms read back from the store
    (``parse_object(..., strict=False)``) by the rules they were stored under, so stored
    history always reads back (``ledger.names``)."""
    ctx = info.context
    return True if ctx is None else bool(ctx.get("strict", True))


def _term_name(value: str, strict: bool = True) -> str:
    """Names in terms: the event name hygiene of ``ledger.names`` (no control, format,
    invisible, private-use or unassigned character; SPEC.md §12 Validation) and no
    surrounding whitespace."""
    why = text_problem(value, strict=strict)
    if why is not None:
        raise ValueError(why)
    if strict and value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


def _term_text(value: str, strict: bool = True) -> str:
    """Free text in terms (citations, sections): one line, nothing that does not show."""
    why = text_problem(value, strict=strict)
    if why is not None:
        raise ValueError(why)
    return value


#: SPEC.md §8: the words a seniority claim's ``to`` may use instead of a series name
SENIORITY_KEYWORDS = frozenset({"common", "all", "issued_after", "outstanding_on_designation"})
# -- end of the §12 limits -----------------------------------------------------------------


class Strict(BaseModel):
    # built when first used (``ledger.events``: a command reading no terms never builds them)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StepUp(Strict):
    """Series G §2(b): +1% of stated value per two consecutive missed quarters, cap 15%."""

    increment: Dec
    every_missed: int = 2
    cap: Dec

    @field_validator(*STEP_UP_RANGES)
    @classmethod
    def _range(cls, v: Decimal | int, info: ValidationInfo) -> Decimal | int | None:
        """SPEC.md §12 Validation: a negative increment, a cap above 100%, …"""
        assert info.field_name is not None
        name = STEP_UP_LIMITS[info.field_name]
        if info.field_name == "every_missed" and not _strict(info):
            return v if v >= 1 else _in_range(v, STEP_UP_RANGES["every_missed"], name)
        return _in_range(v, STEP_UP_RANGES[info.field_name], name) if _strict(info) else v


class SeniorityClaim(Strict):
    """One claim a certificate makes about liquidation rank (SPEC.md §8).

    relation: ``senior_to`` / ``junior_to`` / ``ratable_with``; ``to`` names a series,
    ``"common"``, ``"all"`` (every other class), ``"issued_after"`` (every series
    designated after this one) or ``"outstanding_on_designation"`` (every series
    designated before this one).
    """

    relation: Literal["senior_to", "junior_to", "ratable_with"]
    to: str
    when_short: bool = False
    section: str = ""

    @field_validator("to")
    @classmethod
    def _to_name(cls, v: str, info: ValidationInfo) -> str:
        return _term_name(v, _strict(info))

    @field_validator("section")
    @classmethod
    def _section_text(cls, v: str, info: ValidationInfo) -> str:
        return _term_text(v, _strict(info))


def general(default: Any) -> Any:
    """A SPEC.md §12 general term: a field whose default is the nStor behaviour. Left out
    of the terms' JSON while it has its default, so terms written before the field
    existed dump (and hash, and round-trip) exactly as before."""
    return Field(default, json_schema_extra={"general_term": True})


# -- liquidation terms (SPEC.md §12 Liquidation) ------------------------------------------

#: allowed ranges, as data (SPEC.md §12): the largest liquidation multiple and
#: participation cap (× stated value) a designation may set
MAX_LIQUIDATION_MULTIPLE = limits.value("liquidation_multiple")
MAX_PARTICIPATION_CAP = limits.value("participation_cap")

Participation = Literal["none", "full", "capped"]


# -- conversion and anti-dilution terms (SPEC.md §12 Anti-dilution, Conversion) -------------

#: allowed ranges, as data: the largest conversion rate (common per preferred share) and
#: the largest price per common share (conversion price, threshold, offering minimum)
MAX_CONVERSION_RATE = limits.value("conversion_rate")
MAX_PRICE = limits.value("price")

AntidilutionMethod = Literal["threshold", "narrow_weighted", "broad_weighted",
                             "full_ratchet", "none"]
#: the methods that keep a conversion price CP = stated ÷ rate (SPEC.md §12)
PRICE_BASED: frozenset[str] = frozenset({"narrow_weighted", "broad_weighted", "full_ratchet"})
#: ``CommonStockIssued`` kinds (SPEC.md §3) an anti-dilution exemption may name
COMMON_KINDS = ("opening", "sale", "option_exercise", "other")
DEFAULT_EXEMPT_KINDS = ("opening", "option_exercise")
AntidilutionCounts = Literal["later_conversions", "convertible_issuances", "common_only"]


def _matter(v: str, strict: bool = True) -> str:
    """A matter a trigger names: the name hygiene of ``ledger.names`` (the matters of a
    ``ShareholderApproval`` have it), 1-200 characters, no surrounding whitespace."""
    why = text_problem(v, strict=strict)
    if not v or v != v.strip() or len(v) > 200 or why is not None:
        raise ValueError("a matter is 1-200 characters, no control or invisible characters, "
                         "no leading or trailing whitespace" + (f" ({why})" if why else ""))
    return v


class ApprovalTrigger(Strict):
    """Converts on a ``ShareholderApproval`` listing ``approval`` (SPEC.md §12)."""

    approval: str

    @field_validator("approval")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        return _matter(v, _strict(info))


class OfferingMinimums(Strict):
    """What makes a ``PublicOffering`` qualified: its price per share and its gross
    proceeds at least these (SPEC.md §12); a minimum left out is no condition."""

    min_price: Dec | None = None
    min_gross_proceeds: Dec | None = None

    @field_validator("min_price")
    @classmethod
    def _price(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not 0 <= v <= MAX_PRICE:
            raise ValueError(f"must be from 0 to {MAX_PRICE:,} (a price per common share)")
        return v

    @field_validator("min_gross_proceeds")
    @classmethod
    def _gross(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and v < 0:
            raise ValueError("must not be negative")
        return v


class OfferingTrigger(Strict):
    """Converts on a qualified ``PublicOffering`` (SPEC.md §12)."""

    public_offering: OfferingMinimums


class DateTrigger(Strict):
    """Converts at the start of ``date`` (SPEC.md §12)."""

    date: IsoDate


Trigger = ApprovalTrigger | OfferingTrigger | DateTrigger
_TRIGGERS: dict[str, type[Strict]] = {"approval": ApprovalTrigger,
                                       "public_offering": OfferingTrigger,
                                       "date": DateTrigger}
_TRIGGER_SHAPES = ('{"approval": "MATTER"}, {"public_offering": {"min_price": "P", '
                   '"min_gross_proceeds": "X"}} or {"date": "YYYY-MM-DD"}')


class Terms(Strict):
    """The terms of one series (SPEC.md §4 table; defaults are the spec's readings)."""

    series: str = Field(min_length=1, max_length=40)
    name: str = ""
    designated: IsoDate
    authorized_shares: Dec
    stated_value: Dec = Decimal("1000")
    par_value: Dec = Decimal("0.01")
    # dividends (SPEC.md §5)
    dividend_rate: Dec | None = None
    cumulative: bool = True
    period_starts: tuple[str, ...] = ()
    payment_lag_days: int = 0
    first_payment_date: IsoDate | None = None
    step_up: StepUp | None = None
    #: SPEC.md §12 Dividends: year fraction of an accrual piece (30/360 is §5)
    day_count: Literal["30/360", "ACT/365F", "ACT/360", "ACT/ACT"] = "30/360"
    #: SPEC.md §5 Priority: whose dividends this series' arrears must precede. ``all``:
    #: every other class now or hereafter outstanding (G §2(a), M §2);
    #: ``outstanding_on_designation``: classes designated before this series (H §2);
    #: ``none``: no claim (K pays no dividends). A breach is a ``check`` finding.
    dividend_priority: Literal["none", "all", "outstanding_on_designation"] = "none"
    # conversion (SPEC.md §6)
    conversion: Literal["none", "elective", "automatic"] = "none"
    conversion_rate: Dec | None = None
    conversion_price: Dec | None = None
    conversion_multiple: Dec | None = None
    conversion_trigger: str | None = None
    conversion_after_closing_years: int | None = None
    notice_conversion_days: int | None = None
    antidilution_threshold: Dec | None = None
    fractional_common: Literal["cash", "issue"] = "cash"
    closing_date: IsoDate | None = None
    # -- conversion and anti-dilution (SPEC.md §12 Anti-dilution, Conversion) ---------
    #: the method; None: ``threshold`` when ``antidilution_threshold`` is set, else ``none``
    antidilution: AntidilutionMethod | None = general(None)
    #: ``CommonStockIssued`` kinds that never adjust
    antidilution_exempt_kinds: tuple[str, ...] = general(DEFAULT_EXEMPT_KINDS)
    #: what besides ``CommonStockIssued`` counts as issuing common
    antidilution_counts: AntidilutionCounts = general("later_conversions")
    #: triggers converting every holder at once, the first one met
    mandatory_conversion: tuple[Trigger, ...] = general(())
    # redemption (SPEC.md §7)
    redeemable: bool = False
    redemption_notice_days: int | None = None
    redemption_from_closing: bool = False
    # liquidation and votes (SPEC.md §8, §6)
    liquidation_includes_accrued: bool = True
    seniority_claims: tuple[SeniorityClaim, ...] = ()
    # -- liquidation (SPEC.md §12 Liquidation) -------------------------------------------
    #: preference per share = multiple × stated value (+ dividends owed, not multiplied)
    liquidation_multiple: Dec = general(Decimal(1))
    #: after every tier, share the remainder with common as if converted
    participation: Participation = general("none")
    #: with ``capped``: preference (without dividends) + participation ≤ cap × stated
    participation_cap: Dec | None = general(None)
    votes: Literal["none", "as_converted", "per_share"] = "none"
    # -- SPEC.md §12 General terms: dividends block (defaults: the nStor behaviour) ----
    #: ``payment_date``: an amount still unpaid at the end of its payment date joins the
    #: holder's accrual base from the next day
    compounding: Literal["none", "payment_date"] = general("none")
    #: which ``form`` a ``DividendPaid`` may have (``shares``: paid in kind)
    dividend_form: Literal["cash", "cash_or_shares", "shares"] = general("cash")
    #: price of one share paid in kind; ``None``: the stated value
    pik_price: Dec | None = general(None)
    # -- SPEC.md §12 General terms: redemption and votes block ---------------------------
    #: redemption price per share = premium × stated value + dividends owed
    redemption_premium: Dec = general(Decimal("1"))
    #: from this date a holder may require redemption (``RedemptionNoticed`` by holder)
    holder_redemption_from: IsoDate | None = general(None)
    #: with ``votes: "per_share"``: votes per preferred share, floored per holder
    votes_per_share: Dec = general(Decimal("1"))
    # -- end of the §12 dividends / redemption and votes blocks ---------------------------
    citations: dict[str, str] = Field(default_factory=dict)

    @field_validator("period_starts")
    @classmethod
    def _periods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import datetime as dt
        import re

        for p in v:
            if not re.match(_PERIOD_RE, p):
                raise ValueError(f"period start {p!r} is not MM-DD")
            try:  # a day every year has (02-29 and 04-31 are not)
                dt.date(2001, int(p[:2]), int(p[3:]))
            except ValueError:
                raise ValueError(f"period start {p!r} is not a day of every year") from None
        if list(v) != sorted(set(v)):
            raise ValueError("period starts must be distinct and in calendar order")
        return v

    @field_validator("stated_value", "conversion_rate", "conversion_price",
                     "conversion_multiple", "antidilution_threshold")
    @classmethod
    def _positive(cls, v: Decimal | None) -> Decimal | None:
        """Divisors and multipliers of SPEC.md §4/§6: zero or negative makes no sense."""
        if v is not None and v <= 0:
            raise ValueError("must be greater than zero")
        return v

    @field_validator("dividend_rate")
    @classmethod
    def _rate(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and v < 0:
            raise ValueError("must not be negative")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Terms:
        if self.authorized_shares <= 0:
            raise ValueError("authorized_shares must be greater than zero")
        if self.dividend_rate is not None and self.cumulative and not self.period_starts:
            raise ValueError("a series with a dividend_rate needs period_starts")
        if self.conversion != "none" and self.base_conversion_rate is None:
            raise ValueError("a convertible series needs conversion_rate or conversion_price")
        if (self.conversion == "automatic" and not self.conversion_trigger
                and not self.mandatory_conversion):
            raise ValueError("an automatic conversion needs conversion_trigger (or "
                             "mandatory_conversion)")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """General terms at their defaults are left out (see ``general``)."""
        data: dict[str, Any] = handler(self)
        for name, f in type(self).model_fields.items():
            extra = f.json_schema_extra
            if (isinstance(extra, dict) and extra.get("general_term") and name in data
                    and getattr(self, name) == f.default):
                del data[name]
        return data

    # -- liquidation (SPEC.md §12 Liquidation) -------------------------------------------
    @field_validator("liquidation_multiple")
    @classmethod
    def _multiple(cls, v: Decimal) -> Decimal:
        if not 0 < v <= MAX_LIQUIDATION_MULTIPLE:
            raise ValueError(f"must be greater than 0 and at most {MAX_LIQUIDATION_MULTIPLE} "
                             "(times the stated value)")
        return v

    @field_validator("participation_cap")
    @classmethod
    def _cap(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not 1 <= v <= MAX_PARTICIPATION_CAP:
            raise ValueError(f"must be from 1 to {MAX_PARTICIPATION_CAP} (times the stated "
                             "value)")
        return v

    @model_validator(mode="after")
    def _liquidation_terms(self) -> Terms:
        """SPEC.md §12 Liquidation: a cap goes with ``capped`` and ``capped`` with a cap; a
        cap below the multiple would cap the preference itself."""
        if self.participation_cap is not None and self.participation != "capped":
            raise ValueError('participation_cap applies only with participation "capped" '
                             f"(participation is {self.participation!r})")
        if self.participation == "capped":
            if self.participation_cap is None:
                raise ValueError('participation "capped" needs a participation_cap')
            if self.participation_cap < self.liquidation_multiple:
                raise ValueError(f"participation_cap {self.participation_cap} is below the "
                                 f"liquidation_multiple {self.liquidation_multiple}: the "
                                 "cap includes the preference")
        return self

    # -- conversion and anti-dilution (SPEC.md §12) -------------------------------------
    @field_validator("conversion_rate")
    @classmethod
    def _rate_range(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and v > MAX_CONVERSION_RATE:
            raise ValueError(f"must be at most {MAX_CONVERSION_RATE:,} common per share")
        return v

    @field_validator("conversion_price", "antidilution_threshold")
    @classmethod
    def _price_range(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and v > MAX_PRICE:
            raise ValueError(f"must be at most {MAX_PRICE:,} per common share")
        return v

    @field_validator("antidilution_exempt_kinds", mode="before")
    @classmethod
    def _exempt(cls, v: Any) -> Any:
        if not isinstance(v, list | tuple):
            raise ValueError("must be a list of CommonStockIssued kinds")
        for k in v:
            if k not in COMMON_KINDS:
                raise ValueError(f"unknown kind {str(k)[:40]!r}; kinds are "
                                 + ", ".join(COMMON_KINDS))
        if len(set(v)) != len(v):
            raise ValueError("lists a kind twice")
        return tuple(v)

    @field_validator("mandatory_conversion", mode="before")
    @classmethod
    def _triggers(cls, v: Any, info: ValidationInfo) -> Any:
        """Each trigger is one of three shapes (SPEC.md §12), named by its one key."""
        if not isinstance(v, list | tuple):
            raise ValueError(f"must be a list of triggers, each {_TRIGGER_SHAPES}")
        out: list[Any] = []
        for i, item in enumerate(v):
            if isinstance(item, ApprovalTrigger | OfferingTrigger | DateTrigger):
                out.append(item)
                continue
            if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in _TRIGGERS:
                raise ValueError(f"trigger {i} must be one of {_TRIGGER_SHAPES}")
            key = next(iter(item))
            try:
                out.append(_TRIGGERS[key].model_validate(item, context=info.context))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                loc = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                raise ValueError(f"trigger {i}: {loc}: {msg}") from None
        return tuple(out)

    @model_validator(mode="after")
    def _conversion_terms(self) -> Terms:
        """SPEC.md §12: every conversion and anti-dilution setting must change a figure,
        so none is accepted where it could not (a term accepted is never ignored)."""
        if self.conversion == "none":
            for name in ("conversion_rate", "conversion_price", "conversion_multiple",
                         "conversion_trigger", "conversion_after_closing_years",
                         "notice_conversion_days", "antidilution_threshold",
                         "antidilution"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} is set on a series that does not convert "
                                     '(conversion "none")')
            for name in ("antidilution_exempt_kinds", "antidilution_counts",
                         "mandatory_conversion"):
                if not self._default(name):
                    raise ValueError(f"{name} is set on a series that does not convert "
                                     '(conversion "none")')
            return self
        if self.conversion_rate is not None and self.conversion_price is not None:
            raise ValueError("give one of conversion_rate or conversion_price, not both")
        if self.conversion_trigger is not None and self.conversion != "automatic":
            raise ValueError("conversion_trigger applies only to conversion \"automatic\"; "
                             'use mandatory_conversion [{"approval": ...}] for an elective '
                             "series")
        method = self.antidilution_method
        if self.antidilution == "threshold" and self.antidilution_threshold is None:
            raise ValueError('antidilution "threshold" needs an antidilution_threshold')
        if self.antidilution_threshold is not None and method != "threshold":
            raise ValueError(f"antidilution_threshold applies only to antidilution "
                             f'"threshold" (antidilution is {method!r})')
        if method == "none":
            for name in ("antidilution_exempt_kinds", "antidilution_counts"):
                if not self._default(name):
                    raise ValueError(f'{name} is set on a series without anti-dilution '
                                     '(antidilution "none")')
        for i, trig in enumerate(self.mandatory_conversion):
            if isinstance(trig, DateTrigger) and trig.date <= self.designated:
                raise ValueError(f"mandatory_conversion trigger {i}: date {trig.date} must "
                                 f"be after the designation date {self.designated}")
        return self

    def _default(self, name: str) -> bool:
        """Whether ``name`` has its default value (a list of kinds in any order)."""
        v, d = getattr(self, name), type(self).model_fields[name].default
        if name == "antidilution_exempt_kinds":
            return set(v) == set(d)
        return bool(v == d)

    @property
    def antidilution_method(self) -> str:
        """SPEC.md §12: ``threshold`` by default when a threshold is set, else ``none``."""
        if self.antidilution is not None:
            return self.antidilution
        return "threshold" if self.antidilution_threshold is not None else "none"

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        """Every mandatory-conversion trigger (SPEC.md §12): ``conversion: "automatic"``
        with ``conversion_trigger`` M is ``[{"approval": M}]``, then the listed ones."""
        out: tuple[Trigger, ...] = ()
        if self.conversion == "automatic" and self.conversion_trigger:
            out = (ApprovalTrigger(approval=self.conversion_trigger),)
        return out + self.mandatory_conversion

    # -- SPEC.md §12 Validation of terms as a whole (dividends, redemption, votes) ---------
    @field_validator(*RANGES)
    @classmethod
    def _range(cls, v: Decimal | int | None, info: ValidationInfo) -> Decimal | int | None:
        """Every numeric term within its range (``RANGES``: limits as data); terms read
        back from the store only as they were stored (``_strict``)."""
        assert info.field_name is not None
        name = RANGE_LIMITS[info.field_name]
        return _in_range(v, RANGES[info.field_name], name) if _strict(info) else v

    @field_validator("period_starts")
    @classmethod
    def _period_count(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if _strict(info) and len(v) > MAX_PERIOD_STARTS:
            raise ValueError(f"{len(v)} period starts; at most {MAX_PERIOD_STARTS} (monthly "
                             "dividends) are allowed")
        return v

    @field_validator("series", "name", "conversion_trigger")
    @classmethod
    def _names(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else _term_name(v, _strict(info))

    @field_validator("citations")
    @classmethod
    def _citations(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for key, text in v.items():
            try:
                _term_name(key, _strict(info))
                _term_text(text, _strict(info))
            except ValueError as exc:
                raise ValueError(f"citation {key[:40]!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _general(self, info: ValidationInfo) -> Terms:
        """SPEC.md §12: a general term that the ledger accepts must change the figures, so
        one that could not (its series has nothing for it to act on) is refused (input
        only: stored terms read back as they were stored)."""
        if not _strict(info):
            return self
        # a rate of 0 still accrues (an amendment may set it, §12 Amendments)
        accrues = self.dividend_rate is not None and self.cumulative
        if self.step_up is not None:
            if not accrues:
                raise ValueError("step_up needs cumulative dividends at a dividend_rate")
            assert self.dividend_rate is not None
            if self.step_up.cap < self.dividend_rate:
                raise ValueError(f"step_up.cap {self.step_up.cap} is below the dividend_rate "
                                 f"{self.dividend_rate}: the cap must be at least the base "
                                 "rate")
        if not self.cumulative:
            for name, given in (("period_starts", bool(self.period_starts)),
                                ("payment_lag_days", self.payment_lag_days != 0),
                                ("first_payment_date", self.first_payment_date is not None)):
                if given:
                    raise ValueError(f"{name}: a non-cumulative series (cumulative false) has "
                                     "no payment schedule; its dividends fall due only on the "
                                     "payment dates of DividendDeclared events")
        if self.day_count != "30/360" and not accrues:
            raise ValueError(f"day_count {self.day_count!r} needs cumulative dividends at a "
                             "dividend_rate (nothing else accrues)")
        if self.compounding != "none" and not accrues:
            raise ValueError("compounding needs cumulative dividends at a dividend_rate")
        if self.dividend_form != "cash" and not (self.pays_dividends or not self.cumulative):
            raise ValueError(f"dividend_form {self.dividend_form!r} needs a series that pays "
                             "dividends (a dividend_rate above 0, or cumulative false)")
        if self.pik_price is not None and self.dividend_form == "cash":
            raise ValueError("pik_price needs dividend_form 'cash_or_shares' or 'shares'")
        if self.holder_redemption_from is not None:
            if self.redemption_notice_days is None:
                raise ValueError("holder_redemption_from needs redemption_notice_days (the "
                                 "notice a holder's redemption request must give)")
            if self.holder_redemption_from < self.designated:
                raise ValueError(f"holder_redemption_from {self.holder_redemption_from} is "
                                 f"before the designation date {self.designated}")
        if self.redemption_premium != 1 and not (self.redeemable
                                                 or self.holder_redemption_from is not None):
            raise ValueError("redemption_premium needs a redeemable series (redeemable true "
                             "or holder_redemption_from)")
        if self.votes_per_share != 1 and self.votes != "per_share":
            raise ValueError("votes_per_share needs votes 'per_share'")
        self._within_limits()
        return self

    def _within_limits(self) -> None:
        """What the terms alone make, within the limits of ``ledger.limits``: the claim
        of the whole authorized series (before dividends; the dividends to the horizon
        are checked as the timeline replays) and the common it converts into."""
        claim = self.authorized_shares * self.stated_value * self.claim_multiple
        lim = limits.LIMITS["series_amount"]
        if claim > lim.value:  # type: ignore[operator]
            raise ValueError(lim.refuse(
                Decimal(round(claim)), "authorized_shares × stated_value × "
                f"{limits.LIMITS['series_amount'].text(self.claim_multiple)} (the largest "
                "multiple of the terms)"))
        rate = self.base_conversion_rate
        lim = limits.LIMITS["common_shares"]
        if rate is not None and self.authorized_shares * rate > lim.value:  # type: ignore[operator]
            raise ValueError(lim.refuse(Decimal(round(self.authorized_shares * rate)),
                                        "authorized_shares × the conversion rate"))

    @property
    def claim_multiple(self) -> Decimal:
        """The largest multiple of the stated value one share can claim: 1, the
        liquidation multiple, the participation cap, the redemption premium."""
        return max(Decimal(1), self.liquidation_multiple, self.participation_cap or Decimal(0),
                   self.redemption_premium)

    @property
    def highest_rate(self) -> Decimal:
        """The highest dividend rate these terms can reach (the step-up cap)."""
        rate = self.dividend_rate or Decimal(0)
        return max(rate, self.step_up.cap) if self.step_up is not None else rate

    @property
    def accrues(self) -> bool:
        """Dividends accrue day by day and fall due on the schedule (SPEC.md §5); a
        non-cumulative series owes only what is declared (§12)."""
        return self.pays_dividends and self.cumulative

    @property
    def pik_price_in_force(self) -> Decimal:
        """SPEC.md §12: the price of one share paid in kind (default the stated value)."""
        return self.pik_price if self.pik_price is not None else self.stated_value

    # -- end of the §12 validation block ---------------------------------------------------

    @property
    def base_conversion_price(self) -> Decimal | None:
        """CP before adjustments: ``conversion_price``, or stated ÷ ``conversion_rate``."""
        from ledger.values import CONTEXT

        if self.conversion_price is not None:
            return self.conversion_price
        if self.conversion_rate is not None:
            return CONTEXT.divide(self.stated_value, self.conversion_rate)
        return None

    @property
    def base_conversion_rate(self) -> Decimal | None:
        """Common per share before adjustments (H 1,388.89; K stated / $0.23; M 4,000)."""
        from ledger.values import CONTEXT

        if self.conversion_rate is not None:
            return self.conversion_rate
        if self.conversion_price is not None:
            return CONTEXT.divide(self.stated_value, self.conversion_price)
        return None

    @property
    def pays_dividends(self) -> bool:
        return self.dividend_rate is not None and self.dividend_rate > 0


def load_terms_ref(ref: str) -> Terms:
    """Terms of a shipped fixture, e.g. ``"nstor/G"`` -> ``fixtures/nstor/G.json``."""
    parts = ref.split("/")
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        raise KeyError(ref)
    from importlib import resources  # here: a command that names no terms never needs it

    try:
        text = resources.files("fixtures").joinpath(parts[0], f"{parts[1]}.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise KeyError(ref) from exc
    return Terms.model_validate(json.loads(text))


def known_terms_refs() -> list[str]:
    from importlib import resources

    base = resources.files("fixtures")
    out = []
    for d in base.iterdir():
        if d.is_dir() and not d.name.startswith("_"):
            out += [f"{d.name}/{f.name[:-5]}" for f in d.iterdir() if f.name.endswith(".json")]
    return sorted(out)
