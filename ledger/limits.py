"""The limits of the data, as data: one table of named limits (docs/limits.md).

Each ``Limit`` has its value, its unit, what it protects and the message a refusal
shows. A refusal is a ``Problem`` naming the line, the event and the field; its message
(``Limit.refuse``) names the value, the limit and what to do.

Why these values. Every figure a report shows must stay exact at the cent on every date
up to the ledger's *horizon* (``HORIZON_YEARS`` after its latest event, at most the
``latest_date``): that is what a load promises (README Guarantees). Decimal arithmetic
outside an explicit context runs at Python's default 28 significant digits; the ledger's
own context (``ledger.values.CONTEXT``) has 40. The limits keep every figure far inside
the smaller of the two:

- money: one series can claim at most ``series_amount`` (10^16) by the horizon and an
  issuer has at most ``series_per_issuer`` (100) series, so a waterfall, a roll-forward
  or an export never sums more than 10^18: 19 digits before the point, 2 for the cents,
  at least 7 more inside 28 digits before any rounding reaches the cent;
- a series' claim is bounded at its designation (and at every amendment) from its terms
  alone: ``authorized_shares`` × ``stated_value`` × the largest of 1, the liquidation
  multiple, the participation cap and the redemption premium, plus the dividends that
  can accrue to the horizon at the highest rate the terms allow (the step-up cap
  included), linearly (rate × years) or, with compounding, as e^(rate × years) − 1,
  an upper bound of every compounding schedule; PIK shares count against the
  authorized shares, so they are inside the same bound;
- shares: at most ``shares_per_event`` (10^12) in one event, ``authorized_shares`` in
  one series, ``common_shares`` (10^15) of fully diluted common (common outstanding plus,
  for every convertible series, its shares not yet converted, redeemed or cancelled ×
  its conversion rate in force): 16 digits before the point and 12 after it (the finest
  fraction the input can write) stay inside 28 digits;
- a split multiplies common and conversion rates by its ratio: each ratio lies within
  the range ``split_ratio`` and the product of all of them (the cumulative
  split factor) within ``split_factor``; a split
  that would leave a holding finer than ``share_decimals`` places is refused (it could
  not be written back exactly);
- dates: ``earliest_date`` .. ``latest_date``, so a horizon of 50 years stays far from
  the calendar's year 9999 and every year count (``years``, ``notice_days``) adds less
  than a century or a decade to a date;
- work: a report replays each accruing series' holders once per dividend period, so
  the issuer's ``holder_periods`` (holders a series carries × its periods from its
  designation to the horizon, summed over its accruing series) bounds the time and the
  memory of every report at the horizon; ``period_starts`` (12: monthly) bounds it per
  year.

The limits of the input's shape (line bytes, fields per object, nesting) are in
``ledger.events``; of the files an Open Cap Format import reads in ``ledger.ocf.source``
and ``ledger.ocf.safejson``; of the checkpoints kept beside the log in
``ledger.store.checkpoints`` and ``ledger.store.codec``. docs/limits.md lists them all.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

Value = Decimal | int | dt.date


@dataclass(frozen=True)
class Limit:
    """One named limit: ``value`` in ``unit``; ``protects`` what it keeps safe;
    ``advice`` what to do when a value is over it; ``low``: the lowest allowed value,
    ``low_ok`` whether ``low`` itself is allowed (for a range)."""

    name: str
    value: Value
    unit: str
    protects: str
    advice: str
    low: Value | None = None
    low_ok: bool = True

    def text(self, v: Value) -> str:
        """A value in this limit's unit, written as the docs write it."""
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, Decimal) and v == v.to_integral_value() and abs(v) >= 1000:
            return f"{int(v):,}"
        if isinstance(v, int) and abs(v) >= 1000:
            return f"{v:,}"
        return f"{v}" if not isinstance(v, Decimal) else _plain(v)

    @property
    def shown(self) -> str:
        """The limit as the docs show it: ``value unit`` (a range: ``low .. value``)."""
        value = self.text(self.value)
        if self.low is not None:
            lo = self.text(self.low)
            value = f"{lo} .. {value}" if self.low_ok else f"above {lo}, at most {value}"
        return f"{value} {self.unit}".strip()

    def refuse(self, value: Value | str, what: str = "") -> str:
        """The message for ``value`` over this limit: the value, the limit (its name,
        its value and what it protects) and what to do. ``what``: the figure, when it is
        not the field's value itself (e.g. "the cumulative split factor")."""
        if isinstance(value, str):
            v = value
        elif isinstance(value, Decimal):
            v = _plain(value)  # as the input writes it (no thousands separators)
        else:
            v = value.isoformat() if isinstance(value, dt.date) else str(value)
        subject = f"{what} {v}" if what else v
        if self.low is None:
            bound = f"more than the limit {self.name} of {self.shown}"
        else:
            bound = f"outside the limit {self.name} of {self.shown}"
        return f"{subject} is {bound} ({self.protects}); {self.advice}"

    def allows(self, v: Decimal | int) -> bool:
        """Whether ``v`` is within this limit (and above ``low``, if it has one)."""
        assert not isinstance(self.value, dt.date)
        if v > self.value:
            return False
        if self.low is not None:
            assert not isinstance(self.low, dt.date)
            return v > self.low or (self.low_ok and v == self.low)
        return True


def _plain(d: Decimal) -> str:
    if d == d.to_integral_value():
        return f"{d.quantize(Decimal(1)):f}"
    return f"{d.normalize():f}"


_D = Decimal
_FIX = "correct the value, or split the amount over several events"
_TERMS = "check the certificate: no real series has such a term"

#: every limit of the data, by name (docs/limits.md lists each with its reason)
LIMITS: dict[str, Limit] = {lim.name: lim for lim in (
    # -- dates and the horizon ----------------------------------------------------------
    Limit("earliest_date", dt.date(1900, 1, 1), "",
          "dates run from here: no replay walks more than eleven centuries",
          "write a date from 1900-01-01"),
    Limit("latest_date", dt.date(2999, 12, 31), "",
          "dates run to here: a horizon and every term's years stay in the calendar",
          "write a date up to 2999-12-31"),
    Limit("horizon_years", 50, "years",
          "every report works on every date up to the latest event plus this (at most "
          "the latest date)", "shorten the timeline"),
    # -- terms: per share, rates, counts of days and years --------------------------------
    Limit("dividend_rate", _D(1), "a year (1 = 100% of the stated value)",
          "dividends to the horizon stay in range", _TERMS, low=_D(0)),
    Limit("step_up_increment", _D(1), "a year", "the stepped-up rate stays in range",
          _TERMS, low=_D(0)),
    Limit("step_up_cap", _D(1), "a year", "the stepped-up rate stays in range", _TERMS,
          low=_D(0), low_ok=False),
    Limit("step_up_every_missed", 100, "missed payment dates",
          "a step-up that can happen", _TERMS, low=1),
    Limit("stated_value", _D(10) ** 9, "per share", "amounts per series stay in range",
          _TERMS, low=_D(0), low_ok=False),
    Limit("par_value", _D(10) ** 9, "per share", "amounts per series stay in range",
          _TERMS, low=_D(0), low_ok=False),
    Limit("pik_price", _D(10) ** 9, "per share", "shares paid in kind stay whole",
          _TERMS, low=_D(0), low_ok=False),
    Limit("price", _D(10) ** 9, "per common share",
          "conversion prices and anti-dilution figures stay in range",
          "correct the price (a price is per share, not a total)", low=_D(0)),
    Limit("amount_per_share", _D(10) ** 9, "per share",
          "declared dividends stay in range", "correct the amount (it is per share)",
          low=_D(0), low_ok=False),
    Limit("authorized_shares", _D(10) ** 12, "shares", "share counts stay exact",
          _TERMS, low=_D(0), low_ok=False),
    Limit("conversion_rate", _D(10) ** 12, "common per share",
          "common on conversion stays exact", _TERMS, low=_D(0), low_ok=False),
    Limit("period_starts", 12, "a year (monthly)",
          "the work of every report per year of the timeline",
          "give at most one period start a month"),
    Limit("payment_lag_days", 31, "days", "payment dates stay in their period", _TERMS,
          low=0),
    Limit("notice_days", 3650, "days (ten years)", "notice periods stay in the calendar",
          _TERMS, low=0),
    Limit("years", 100, "years", "conversion windows stay in the calendar", _TERMS,
          low=0),
    Limit("liquidation_multiple", _D(100), "× the stated value",
          "liquidation preferences stay in range", _TERMS, low=_D(0), low_ok=False),
    Limit("participation_cap", _D(100), "× the stated value",
          "liquidation payouts stay in range", _TERMS, low=_D(1)),
    Limit("conversion_multiple", _D(100), "× the price", "conversion figures stay in range",
          _TERMS, low=_D(0), low_ok=False),
    Limit("redemption_premium", _D(10), "× the stated value",
          "redemption prices stay in range", _TERMS, low=_D(0), low_ok=False),
    Limit("votes_per_share", _D(10) ** 6, "votes", "vote counts stay exact", _TERMS,
          low=_D(0), low_ok=False),
    # -- the shape of one line of input (``ledger.events``) --------------------------------
    Limit("fields_per_object", 64, "fields or items",
          "a line is checked in bounded time and memory (any object or list of an event)",
          "write one event per line, with only its own fields"),
    Limit("holders_per_notice", 10_000, "holders",
          "the holders map of one RedemptionNoticed is checked in bounded time and memory",
          "give the notice in several events"),
    Limit("nesting", 16, "levels", "a line is checked in bounded time and memory",
          "an event needs at most four levels (a seniority claim of its terms)"),
    Limit("problems_per_line", 10, "problems",
          "a line with many faults reports in bounded time (then one saying how many "
          "more)", "fix the problems listed, then load again"),
    # -- events ---------------------------------------------------------------------------
    Limit("shares_per_event", _D(10) ** 12, "shares", "share counts stay exact", _FIX),
    Limit("split_ratio", _D(10_000), "new shares per old share",
          "common and conversion rates stay exact", "check the ratio (a 2-for-1 split is "
          '"2", a 1-for-10 reverse split "0.1")', low=_D("0.0001")),
    # -- what the timeline makes (checked as it replays) -----------------------------------
    Limit("split_factor", _D(10) ** 9, "(all splits' ratios multiplied)",
          "common and conversion rates stay exact", "check the ratios of the splits",
          low=_D(10) ** -9),
    Limit("share_decimals", 12, "decimal places",
          "every holding can be written back exactly (the input's finest fraction)",
          "use a ratio that leaves whole or coarser fractions of shares"),
    Limit("common_shares", _D(10) ** 15, "shares",
          "the fully diluted common (outstanding, and what every convertible series can "
          "still convert into) stays exact",
          "check the share counts, the split ratios and the conversion terms"),
    Limit("series_amount", _D(10) ** 16, "in money",
          "what one series can claim by the horizon (shares × stated value × multiple, "
          "and dividends to the horizon) stays exact at the cent",
          "lower the authorized shares, the stated value, the rate or the multiples, "
          "or shorten the timeline"),
    Limit("series_per_issuer", 100, "series",
          "the sums over an issuer's series (a waterfall) stay exact at the cent",
          "use another issuer"),
    Limit("holder_periods", 1_000_000, "holder × dividend periods",
          "the time and memory of every report up to the horizon",
          "use fewer period starts, fewer holders per series, or a shorter timeline"),
)}


def limit(name: str) -> Limit:
    return LIMITS[name]


def value(name: str) -> Decimal:
    """A numeric limit's value as a Decimal."""
    v = LIMITS[name].value
    assert not isinstance(v, dt.date)
    return Decimal(v)


def horizon(latest: dt.date) -> dt.date:
    """The ledger's horizon for a timeline whose latest event is on ``latest``: the
    same day ``horizon_years`` later (28 February for 29 February), at most the
    ``latest_date``. Every report works on every date up to it."""
    years = int(LIMITS["horizon_years"].value)  # type: ignore[arg-type]
    last = LIMITS["latest_date"].value
    assert isinstance(last, dt.date)
    try:
        day = latest.replace(year=latest.year + years)
    except ValueError:
        day = latest.replace(year=latest.year + years, day=28)
    return min(day, last)


def growth(rate: Decimal, years: int, compounding: bool) -> Decimal:
    """An upper bound of the dividends a principal of 1 accrues in ``years`` at
    ``rate`` a year: ``rate × years``, or with compounding ``e^(rate × years) − 1``
    (every compounding schedule, paid m times a year, grows as (1 + rate/m)^(m·years)
    ≤ e^(rate × years)). A float is enough for a bound: its relative error (10^-15)
    is nothing against the digits the limit keeps to spare."""
    x = float(rate) * years
    if not compounding:
        return Decimal(repr(x))
    if x > 700:  # e^700 is past every limit; float would overflow
        return Decimal(10) ** 300
    return Decimal(repr(math.expm1(x)))


def claim_bound(authorized: Decimal, stated: Decimal, multiple: Decimal, rate: Decimal,
                years: int, compounding: bool) -> Decimal:
    """The most one series can claim by the horizon (see the module docstring):
    authorized × stated × (multiple + growth(rate, years))."""
    return authorized * stated * (multiple + growth(rate, years, compounding))
