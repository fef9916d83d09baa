"""Value types shared by every module: Decimal-only numbers, ISO dates, rounding.

SPEC.md §2 (Numbers): amounts, shares and rates are Decimal written as JSON strings;
money is rounded half-up to the cent; pro-rata splits floor to the cent and hand the
leftover cents out by largest remainder, ties to the name first in sort order (§11).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from ledger.limits import LIMITS

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
_DECIMAL_RE = re.compile(r"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: precision for every intermediate computation (rates, accruals, factors)
CONTEXT = Context(prec=40)


def parse_decimal(value: Any) -> Decimal:
    """Accept a JSON string like ``"1388.89"`` only (SPEC.md §2: JSON numbers rejected)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("must be a finite number")
        return value
    if isinstance(value, bool) or isinstance(value, int | float):
        raise ValueError(
            f"must be a decimal written as a JSON string (e.g. \"{value}\"), not a JSON number"
        )
    if not isinstance(value, str):
        raise ValueError("must be a decimal written as a JSON string")
    if not _DECIMAL_RE.match(value):
        raise ValueError(
            f"{value[:40]!r} is not a plain decimal number such as \"1000\" or \"0.10\""
        )
    return Decimal(value)


#: the dates a ledger accepts (README Guarantees, a reading: SPEC.md §1 gives no range);
#: far-off years would overflow the calendar (year 10000) or make replay walk millennia
#: (the limits ``earliest_date`` and ``latest_date`` of ``ledger.limits``)
MIN_DATE: dt.date = LIMITS["earliest_date"].value  # type: ignore[assignment]
MAX_DATE: dt.date = LIMITS["latest_date"].value  # type: ignore[assignment]


def check_date_range(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"{value.isoformat()} is out of range: dates run from "
                         f"{MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}")
    return value


def parse_date(value: Any) -> dt.date:
    """Accept ``YYYY-MM-DD`` strings only (SPEC.md §1), within MIN_DATE..MAX_DATE."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return check_date_range(value)
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError("must be a date written as \"YYYY-MM-DD\"")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid calendar date") from exc
    return check_date_range(day)


def _dec_str(d: Decimal) -> str:
    return plain(d)


Dec = Annotated[Decimal, BeforeValidator(parse_decimal), PlainSerializer(_dec_str, return_type=str)]
IsoDate = Annotated[
    dt.date, BeforeValidator(parse_date), PlainSerializer(lambda d: d.isoformat(), return_type=str)
]


def positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than zero")
    return value


def non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def money(value: Decimal) -> Decimal:
    """Round half-up to the cent (SPEC.md §2)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=CONTEXT)


def floor_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_FLOOR, context=CONTEXT)


def floor_int(value: Decimal) -> Decimal:
    """Whole shares, rounded down (SPEC.md §2: common issued on conversion)."""
    return value.quantize(ONE, rounding=ROUND_DOWN, context=CONTEXT)


#: formatted strings by value (performance: a position repeats the same few amounts);
#: both formats depend only on the numeric value, except for zero's sign (not cached)
_MONEY: dict[Decimal, str] = {}
_PLAIN: dict[Decimal, str] = {}
_CACHE_MAX = 50_000


def _keep(cache: dict[Decimal, str], value: Decimal, text: str) -> str:
    if value:  # zero's sign shows ("-0"), and -0 == 0: never cached
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[value] = text
    return text


def money_str(value: Decimal) -> str:
    """Money as a string with two decimals (SPEC.md §9)."""
    got = _MONEY.get(value)
    return got if got is not None else _keep(_MONEY, value, f"{money(value):.2f}")


def plain(value: Decimal) -> str:
    """Shares and rates as plain decimal strings, no exponent, no trailing zeros (§9)."""
    got = _PLAIN.get(value)
    if got is not None:
        return got
    # explicit context arguments, not ``localcontext``: same result, a fraction of the cost
    if value == value.to_integral_value(context=CONTEXT):
        return _keep(_PLAIN, value, f"{value.quantize(ONE, context=CONTEXT):f}")
    return _keep(_PLAIN, value, f"{value.normalize(context=CONTEXT):f}")


def allocate(total: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``total`` (whole cents) pro rata to ``weights``.

    SPEC.md §11 Payments: floor each share to the cent, then give the leftover cents
    one by one by largest remainder, ties to the name first in sort order.
    """
    names = sorted(weights)
    wsum = sum((weights[n] for n in names), ZERO)
    if not names or wsum <= 0 or total <= 0:
        return {n: ZERO for n in names}
    with localcontext(CONTEXT):
        exact = {n: total * weights[n] / wsum for n in names}
        parts = {n: floor_cent(exact[n]) for n in names}
        left = int(((total - sum(parts.values(), ZERO)) / CENT).to_integral_value())
        order = sorted(names, key=lambda n: (-(exact[n] - parts[n]), n))
        for n in order[:left]:
            parts[n] += CENT
    return parts
