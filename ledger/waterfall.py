"""Liquidation waterfall (SPEC.md §8; §11 Waterfall): who receives what of the proceeds.

One pure computation serves the what-if report (``prefledger waterfall``) and the
``Liquidation`` event (``replay``), so the recorded distribution is the reported one.

- Claims (§8, §11): per holder and series, shares × stated value + accrued unpaid through
  the end of D (arrears and the open period, rounded per holder per period as positions
  are) + the holder's ``dividends_payable``; K: stated value only (K §3(a)). A former
  holder's arrears and ``dividends_payable`` are claims in the tier of their series.
- Tiers (§8) in the resolved seniority order (``ledger.seniority``); inside a tier, pro
  rata to claims; a tier paid short is split floored to the cent with largest remainder.
- The remainder goes to common: one line for common outstanding and one per converting
  holder, pro rata to common shares, floored to the cent with largest remainder (§11).
- Convertible series that may convert on D (H; M inside its window; not G, not K) take
  the better of claim or conversion: per series in seniority order, a series converts
  iff it receives strictly more converting, the others' choices fixed; repeat until no
  choice changes (§8, §11). A converting series keeps its accrued dividends as a claim in
  its tier (§5 On conversion: they become ``dividends_payable``); its shares join common
  as shares × rate, unrounded: §2 settles a fraction of a common share in cash at the
  market price, and the waterfall's price of a common share is its own ``per_share``, so a
  fraction participates exactly like a whole share. No other series' rate is adjusted
  (§11).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import Any

from ledger import conversion, seniority
from ledger.claims import holder_accrued
from ledger.problems import Rejected
from ledger.schedule import ONE_DAY
from ledger.seniority import COMMON, Order
from ledger.state import IssuerState, SeriesState
from ledger.values import CONTEXT, ZERO, allocate, floor_int, money, money_str, plain

#: "strictly more" ignores differences below this (the 40-digit arithmetic's own noise)
NOISE = Decimal("1e-18")


@dataclass(frozen=True)
class Line:
    """One holder's claim in one series on the liquidation date (SPEC.md §8, §11)."""

    holder: str
    series: str
    tier: int
    shares: Decimal
    stated_value: Decimal
    accrued: Decimal
    payable: Decimal
    includes_accrued: bool
    convertible: Decimal = ZERO
    as_converted: Decimal = ZERO

    @property
    def key(self) -> str:
        """Sorts like (holder, series): ties go to the holder name first (§11)."""
        return f"{self.holder}\x00{self.series}"

    @property
    def claim(self) -> Decimal:
        """Stated + accrued unpaid + payable; K stated (+ payable) only (SPEC.md §8)."""
        acc = self.accrued if self.includes_accrued else ZERO
        return self.shares * self.stated_value + acc + self.payable

    def tier_claim(self, converting: bool) -> Decimal:
        """The claim left in the tier: converted shares drop their stated value but keep
        their accrued dividends, which become payable (SPEC.md §5 On conversion, §8)."""
        if not converting or self.convertible <= 0:
            return self.claim
        acc = self.accrued  # on conversion accrual becomes dividends_payable (§5)
        return (self.shares - self.convertible) * self.stated_value + acc + self.payable


@dataclass(frozen=True)
class TierResult:
    tier: int
    series: tuple[str, ...]
    claim: Decimal
    paid: Decimal

    @property
    def short(self) -> bool:
        return self.paid < self.claim


@dataclass(frozen=True)
class SeriesResult:
    series: str
    tier: int
    outstanding: Decimal
    claim: Decimal
    tier_claim: Decimal
    convertible: bool
    converted: bool
    as_converted_shares: Decimal
    received: Decimal
    value_as_claim: Decimal | None
    value_converted: Decimal | None
    reason: str


@dataclass(frozen=True)
class HolderResult:
    holder: str
    series: str
    tier: int
    shares: Decimal
    claim: Decimal
    tier_claim: Decimal
    converted: bool
    as_converted_shares: Decimal
    from_tier: Decimal
    from_common: Decimal
    exact: Decimal

    @property
    def received(self) -> Decimal:
        return self.from_tier + self.from_common


@dataclass(frozen=True)
class Distribution:
    """The result of ``distribute``; ``to_json`` is the SPEC.md §9 ``waterfall`` object."""

    as_of: dt.date
    proceeds: Decimal
    order: Order
    order_source: str
    tiers: tuple[TierResult, ...]
    series: tuple[SeriesResult, ...]
    holders: tuple[HolderResult, ...]
    common_outstanding: Decimal
    common_as_converted: Decimal
    common_line: Decimal
    remainder: Decimal
    passes: int
    fixed_point: bool
    steps: tuple[str, ...] = field(default=())
    #: the common line's unrounded amount (``HolderResult.exact`` likewise per holder)
    common_line_exact: Decimal = ZERO

    @property
    def common_shares(self) -> Decimal:
        return self.common_outstanding + self.common_as_converted

    @property
    def common_received(self) -> Decimal:
        """The remainder: common outstanding plus the converting holders' part (§11)."""
        return self.common_line + sum((h.from_common for h in self.holders), ZERO)

    @property
    def per_share(self) -> Decimal | None:
        """Remainder per common share, as converted, unrounded (SPEC.md §11)."""
        if self.common_shares <= 0:
            return None
        return CONTEXT.divide(self.remainder, self.common_shares)

    def to_json(self) -> dict[str, Any]:
        per = self.per_share
        return {
            "as_of": self.as_of.isoformat(),
            "proceeds": money_str(self.proceeds),
            "order": seniority.order_text(self.order),
            "order_source": self.order_source,
            "tiers": [{"tier": t.tier, "series": list(t.series), "claim": money_str(t.claim),
                       "paid": money_str(t.paid), "short": t.short} for t in self.tiers],
            "series": [{
                "series": s.series, "tier": s.tier, "converted": s.converted,
                "received": money_str(s.received), "outstanding": plain(s.outstanding),
                "claim": money_str(s.claim), "tier_claim": money_str(s.tier_claim),
                "convertible": s.convertible,
                "as_converted_shares": plain(s.as_converted_shares),
                "value_as_claim": None if s.value_as_claim is None
                else money_str(s.value_as_claim),
                "value_converted": None if s.value_converted is None
                else money_str(s.value_converted),
                "reason": s.reason,
            } for s in self.series],
            "common": {
                "shares": plain(self.common_shares),
                "received": money_str(self.common_received),
                "per_share": None if per is None else plain(per),
                "outstanding_shares": plain(self.common_outstanding),
                "outstanding_received": money_str(self.common_line),
                "as_converted_shares": plain(self.common_as_converted),
            },
            "holders": [{
                "holder": h.holder, "series": h.series, "received": money_str(h.received),
                "tier": h.tier, "shares": plain(h.shares), "claim": money_str(h.claim),
                "converted": h.converted, "as_converted_shares": plain(h.as_converted_shares),
                "from_tier": money_str(h.from_tier), "from_common": money_str(h.from_common),
            } for h in self.holders],
            "remainder": money_str(self.remainder),
            "passes": self.passes,
            "fixed_point": self.fixed_point,
            "steps": list(self.steps),
        }


# -- claims ---------------------------------------------------------------------------

def _convertible_shares(s: SeriesState, holder: str, held: Decimal, on: dt.date) -> Decimal:
    """Shares of ``holder`` that may convert on ``on`` (SPEC.md §4, §7, §11).

    M's shares under a redemption notice may convert only on notice date + 0…10 days; a
    partial conversion is a multiple of the series' multiple (H, M: 100) unless it is
    every share the holder has.
    """
    shares = held
    notice = s.notices.get(holder)
    days = s.terms.notice_conversion_days
    if notice is not None and days is not None and (on - notice.notice_date).days > days:
        shares = max(ZERO, held - notice.shares)
    mult = s.terms.conversion_multiple
    if mult and shares != held:
        shares = floor_int(shares / mult) * mult
    return shares


def why_not(s: SeriesState, on: dt.date) -> str | None:
    """Why ``s`` cannot convert on ``on``, or ``None`` when it may (SPEC.md §8)."""
    t = s.terms
    if t.conversion == "none":
        return f"Series {s.name} is not convertible"
    if t.conversion == "automatic":
        return (f"Series {s.name} converts only automatically, on the shareholder approval "
                f"of {t.conversion_trigger!r}")
    if not conversion.may_convert(s, on):
        opens = conversion.window_opens(s)
        return (f"Series {s.name} may convert only from {opens}" if opens is not None
                else f"Series {s.name}'s conversion window has not opened (no closing yet)")
    return None


def claim_lines(st: IssuerState, on: dt.date, order: Order) -> list[Line]:
    """Every holder with a claim, per series, as of the end of ``on`` (SPEC.md §8, §11)."""
    tier_of = {name: i for i, tier in enumerate(order) for name in tier}
    out: list[Line] = []
    for s in sorted(st.series.values(), key=lambda s: (tier_of[s.name], s.name)):
        accrued = holder_accrued(s, on + ONE_DAY)  # §11: claims accrue through end of D
        holdings = s.holdings()
        may = why_not(s, on) is None
        for h in sorted(set(holdings) | set(s.dues)):
            held = holdings.get(h, ZERO)
            line = Line(h, s.name, tier_of[s.name], held, s.terms.stated_value,
                        accrued.get(h, ZERO), s.unpaid(h, "payable"),
                        s.terms.liquidation_includes_accrued)
            if line.claim <= 0 and held <= 0:
                continue
            if may and held > 0:
                conv = _convertible_shares(s, h, held, on)
                assert s.conversion_rate is not None
                line = replace(line, convertible=conv,
                               as_converted=CONTEXT.multiply(conv, s.conversion_rate))
            out.append(line)
    return out


# -- the split ------------------------------------------------------------------------

@dataclass
class _Split:
    tier_claim: list[Decimal]
    tier_paid: list[Decimal]
    remainder: Decimal
    exact: list[Decimal]       # per line, unrounded total
    from_tier: list[Decimal]   # per line, to the cent
    from_common: list[Decimal]
    common_line: Decimal
    common_line_exact: Decimal


def _split(lines: list[Line], order: Order, common: Decimal, proceeds: Decimal,
           choices: Mapping[str, bool], rounded: bool = True) -> _Split:
    """Tiers in order, pro rata inside a tier, remainder to common (SPEC.md §8, §11)."""
    with localcontext(CONTEXT):
        conv = [choices.get(ln.series, False) and ln.convertible > 0 for ln in lines]
        tc = [ln.tier_claim(c) for ln, c in zip(lines, conv, strict=True)]
        exact = [ZERO] * len(lines)
        from_tier = [ZERO] * len(lines)
        from_common = [ZERO] * len(lines)
        t_claims: list[Decimal] = []
        t_paid: list[Decimal] = []
        avail = proceeds
        for i in range(len(order)):
            idx = [j for j, ln in enumerate(lines) if ln.tier == i]
            claim = sum((tc[j] for j in idx), ZERO)
            paid = min(avail, claim)
            avail -= paid
            t_claims.append(claim)
            t_paid.append(paid)
            if claim <= 0:
                continue
            for j in idx:
                exact[j] = paid * tc[j] / claim
            if rounded:
                if paid == claim:
                    parts = {lines[j].key: tc[j] for j in idx}
                else:  # §11: a tier paid short, floored with largest remainder
                    parts = allocate(paid, {lines[j].key: tc[j] for j in idx})
                for j in idx:
                    from_tier[j] = parts[lines[j].key]
        remainder = avail
        weights = {lines[j].key: lines[j].as_converted for j in range(len(lines)) if conv[j]}
        total = common + sum(weights.values(), ZERO)
        if total > 0:
            line_exact = remainder * common / total
            for j in range(len(lines)):
                if conv[j]:
                    exact[j] += remainder * lines[j].as_converted / total
        else:  # no common share at all: the remainder stays on the common line
            line_exact = remainder
        common_line = ZERO
        if rounded:
            if total > 0:
                parts = allocate(remainder, {COMMON: common, **weights})
                common_line = parts[COMMON]
                for j in range(len(lines)):
                    if conv[j]:
                        from_common[j] = parts[lines[j].key]
            else:
                common_line = remainder
    return _Split(t_claims, t_paid, remainder, exact, from_tier, from_common, common_line,
                  line_exact)


def _value(lines: list[Line], sp: _Split, series: str) -> Decimal:
    return sum((sp.exact[j] for j, ln in enumerate(lines) if ln.series == series), ZERO)


def _received(lines: list[Line], sp: _Split, series: str) -> Decimal:
    return sum((sp.from_tier[j] + sp.from_common[j] for j, ln in enumerate(lines)
                if ln.series == series), ZERO)


def distribute(st: IssuerState, on: dt.date, proceeds: Decimal,
               order: str | Order | None = None) -> Distribution:
    """The waterfall of ``proceeds`` on ``on`` over the state ``st`` (SPEC.md §8, §11).

    ``st`` is the state as of ``on`` (at the Liquidation's place in the day when replay
    calls it); ``order`` the issuer's seniority setting (default: ``seniority.resolve``).
    Raises ``Rejected`` for bad input.
    """
    if proceeds < 0:
        raise Rejected("proceeds", "must not be negative")
    if money(proceeds) != proceeds:
        raise Rejected("proceeds", f"{plain(proceeds)} is not a whole number of cents")
    if st.liquidated_on is not None:
        raise Rejected("as_of", f"issuer {st.issuer!r} was liquidated on "
                             f"{st.liquidated_on}; its distribution is recorded")
    try:
        resolved = seniority.resolve(st, order)
    except seniority.OrderError as exc:
        raise Rejected("order", str(exc)) from None
    source = ("issuer setting" if order is not None
              else "default: where certificates conflict, the later one governs")
    lines = claim_lines(st, on, resolved)
    common = st.common_outstanding
    names = [n for tier in resolved for n in tier]
    candidates = [n for n in names if any(ln.series == n and ln.convertible > 0
                                          for ln in lines)]
    choices = {n: False for n in candidates}
    steps: list[str] = []
    seen: set[tuple[bool, ...]] = {tuple(choices.values())}
    passes = 0
    fixed = True
    while candidates:
        passes += 1
        changed = False
        for n in candidates:  # §11: per series, in seniority order, others fixed
            no = _value(lines, _split(lines, resolved, common, proceeds,
                                      {**choices, n: False}, False), n)
            yes = _value(lines, _split(lines, resolved, common, proceeds,
                                       {**choices, n: True}, False), n)
            want = yes - no > NOISE
            if want != choices[n]:
                choices[n] = want
                changed = True
                steps.append(f"pass {passes}: Series {n} "
                             f"{'converts' if want else 'keeps its claim'} "
                             f"({money_str(yes)} converting vs {money_str(no)} on its claim)")
        if not changed:
            break
        state = tuple(choices.values())
        if state in seen:  # pragma: no cover - a cycle; kept, reported, never looped
            fixed = False
            steps.append(f"pass {passes}: choices repeat an earlier pass; stopped")
            break
        seen.add(state)
    shown: dict[str, tuple[Decimal, Decimal]] = {}  # each choice's actual cents, others fixed
    for n in candidates:
        no_sp = _split(lines, resolved, common, proceeds, {**choices, n: False})
        yes_sp = _split(lines, resolved, common, proceeds, {**choices, n: True})
        shown[n] = (_received(lines, no_sp, n), _received(lines, yes_sp, n))
    sp = _split(lines, resolved, common, proceeds, choices, True)
    conv = [choices.get(ln.series, False) and ln.convertible > 0 for ln in lines]
    holders = tuple(
        HolderResult(ln.holder, ln.series, ln.tier + 1, ln.shares, ln.claim,
                     ln.tier_claim(c), c, ln.as_converted if c else ZERO,
                     sp.from_tier[j], sp.from_common[j], sp.exact[j])
        for j, (ln, c) in enumerate(zip(lines, conv, strict=True)))
    series_out = []
    for s in sorted(st.series.values(), key=lambda s: (names.index(s.name), s.name)):
        mine = [h for h in holders if h.series == s.name]
        not_conv = why_not(s, on)
        converted = choices.get(s.name, False)
        vc = shown.get(s.name)
        if not_conv is not None:
            reason = not_conv
        elif s.name not in choices:
            reason = f"no Series {s.name} shares outstanding to convert"
        else:
            assert vc is not None
            no, yes = vc
            reason = (f"converts: {money_str(yes)} as converted (accrued dividends in its "
                      f"tier + common) > {money_str(no)} on its claim" if converted else
                      f"keeps its claim: {money_str(no)} on its claim >= {money_str(yes)} "
                      "as converted")
        series_out.append(SeriesResult(
            s.name, names.index(s.name) + 1, s.outstanding,
            sum((h.claim for h in mine), ZERO), sum((h.tier_claim for h in mine), ZERO),
            not_conv is None, converted, sum((h.as_converted_shares for h in mine), ZERO),
            sum((h.received for h in mine), ZERO),
            vc[0] if vc else None, vc[1] if vc else None, reason))
    tiers = tuple(TierResult(i + 1, tier, sp.tier_claim[i], sp.tier_paid[i])
                  for i, tier in enumerate(resolved))
    dist = Distribution(on, proceeds, resolved, source, tiers, tuple(series_out), holders,
                        common, sum((h.as_converted_shares for h in holders), ZERO),
                        sp.common_line, sp.remainder, passes, fixed, tuple(steps),
                        sp.common_line_exact)
    total = sum((h.received for h in holders), ZERO) + dist.common_line
    assert total == proceeds, (total, proceeds)  # §11: every cent, to the cent
    return dist

