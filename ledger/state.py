"""The state of one issuer's ledger as of a date: plain data, built by ``replay``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .accrual import Lot
from .events import Event
from .schedule import Schedule
from .terms import Terms
from .values import ZERO


@dataclass(frozen=True)
class Record:
    """An event at its place in the log: ``seq`` is its recorded order in the stream."""

    event: Event
    seq: int
    line: int = 0
    recorded_at: str | None = None
    hash: str | None = None

    def where(self) -> str:
        ev = self.event
        what = ev.describe()
        if self.line:
            return what
        return f"stored event {what} ({ev.effective_date.isoformat()})"


@dataclass
class Due:
    """An amount that fell due to a holder (``kind``: ``arrears`` or ``payable``)."""

    due_date: dt.date
    amount: Decimal
    kind: str = "arrears"
    paid: Decimal = ZERO

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid


@dataclass(frozen=True)
class RateChange:
    """One step of the dividend-rate history (SPEC.md §5 Step-up)."""

    effective: dt.date
    rate: Decimal
    cause: str


@dataclass(frozen=True)
class Adjustment:
    """A derived conversion-rate adjustment, explainable by its inputs (SPEC.md §6)."""

    effective: dt.date
    cause: str
    event_id: str | None
    factor: Decimal
    rate_before: Decimal
    rate_after: Decimal
    a: Decimal | None = None
    b: Decimal | None = None
    c: Decimal | None = None
    price: Decimal | None = None
    threshold: Decimal | None = None


@dataclass
class Notice:
    notice_date: dt.date
    redemption_date: dt.date
    shares: Decimal


@dataclass(frozen=True)
class Conversion:
    effective: dt.date
    series: str
    holder: str
    shares: Decimal
    common: Decimal
    fraction: Decimal
    cash_in_lieu: Decimal | None
    dividends_payable: Decimal
    automatic: bool


@dataclass(frozen=True)
class Redemption:
    effective: dt.date
    series: str
    holder: str
    shares: Decimal
    price_per_share: Decimal
    stated: Decimal
    accrued: Decimal
    arrears: Decimal

    @property
    def paid(self) -> Decimal:
        return self.stated + self.accrued + self.arrears


@dataclass(frozen=True)
class Payment:
    effective: dt.date
    series: str
    amount: Decimal
    holder: str | None
    event_id: str | None


@dataclass
class SeriesState:
    terms: Terms
    schedule: Schedule
    designated_seq: int
    lots: list[Lot] = field(default_factory=list)
    dues: dict[str, list[Due]] = field(default_factory=dict)
    issued_total: Decimal = ZERO
    converted_total: Decimal = ZERO
    redeemed_total: Decimal = ZERO
    rate: Decimal | None = None
    rate_history: list[RateChange] = field(default_factory=list)
    pending_rate: tuple[dt.date, Decimal, str] | None = None
    missed_streak: int = 0
    missed_dates: list[dt.date] = field(default_factory=list)
    recorded_misses: set[dt.date] = field(default_factory=set)
    next_boundary: dt.date | None = None
    next_payment: dt.date | None = None
    last_payment: dt.date | None = None
    conversion_rate: Decimal | None = None
    threshold: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    notices: dict[str, Notice] = field(default_factory=dict)
    closing_date: dt.date | None = None
    extinguished: bool = False

    @property
    def name(self) -> str:
        return self.terms.series

    def holdings(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for lot in self.lots:
            out[lot.holder] = out.get(lot.holder, ZERO) + lot.shares
        return out

    def held(self, holder: str) -> Decimal:
        return sum((lot.shares for lot in self.lots if lot.holder == holder), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((lot.shares for lot in self.lots), ZERO)

    def unpaid(self, holder: str | None = None, kind: str = "arrears") -> Decimal:
        holders = [holder] if holder is not None else list(self.dues)
        return sum(
            (d.unpaid for h in holders for d in self.dues.get(h, []) if d.kind == kind), ZERO
        )


@dataclass
class IssuerState:
    issuer: str
    day: dt.date | None = None
    series: dict[str, SeriesState] = field(default_factory=dict)
    common_outstanding: Decimal = ZERO
    holders: set[str] = field(default_factory=set)
    payments: list[Payment] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    redemptions: list[Redemption] = field(default_factory=list)
    approvals: list[tuple[dt.date, tuple[str, ...]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    liquidation: object | None = None
    liquidated_on: dt.date | None = None
    applied: list[Record] = field(default_factory=list)
