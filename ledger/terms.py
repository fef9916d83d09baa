"""Terms of a preferred series, as data (SPEC.md §4).

Every reading the spec fixes is a field with the spec's default; every field of the
shipped nStor fixtures cites the certificate section it comes from (``citations``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.values import Dec, IsoDate

_PERIOD_RE = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepUp(Strict):
    """Series G §2(b): +1% of stated value per two consecutive missed quarters, cap 15%."""

    increment: Dec
    every_missed: int = Field(2, ge=1)
    cap: Dec


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
    payment_lag_days: int = Field(0, ge=0, le=31)
    first_payment_date: IsoDate | None = None
    step_up: StepUp | None = None
    day_count: Literal["30/360"] = "30/360"
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
    # redemption (SPEC.md §7)
    redeemable: bool = False
    redemption_notice_days: int | None = None
    redemption_from_closing: bool = False
    # liquidation and votes (SPEC.md §8, §6)
    liquidation_includes_accrued: bool = True
    seniority_claims: tuple[SeniorityClaim, ...] = ()
    votes: Literal["none", "as_converted"] = "none"
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
        if self.dividend_rate is not None and not self.period_starts:
            raise ValueError("a series with a dividend_rate needs period_starts")
        if self.conversion != "none" and self.base_conversion_rate is None:
            raise ValueError("a convertible series needs conversion_rate or conversion_price")
        if self.conversion == "automatic" and not self.conversion_trigger:
            raise ValueError("an automatic conversion needs conversion_trigger")
        return self

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
    try:
        text = resources.files("fixtures").joinpath(parts[0], f"{parts[1]}.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise KeyError(ref) from exc
    return Terms.model_validate(json.loads(text))


def known_terms_refs() -> list[str]:
    base = resources.files("fixtures")
    out = []
    for d in base.iterdir():
        if d.is_dir() and not d.name.startswith("_"):
            out += [f"{d.name}/{f.name[:-5]}" for f in d.iterdir() if f.name.endswith(".json")]
    return sorted(out)
