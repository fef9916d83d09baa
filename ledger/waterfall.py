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
  holder, pro rata to common shares, floored to the cent with largest remainder (§11);
  the common line is then split over the common holders (§13) the same way, the
  unattributed holder as one line. Two steps, so the common line and every converting
  holder's part are what they are without holders of common.
- Convertible series that may convert on D (H; M inside its window; not G, not K) take
  the better of claim or conversion: per series in seniority order, a series converts
  iff it receives strictly more converting, the others' choices fixed; repeat until no
  choice changes (§8, §11). A converting series keeps its accrued dividends as a claim in
  its tier (§5 On conversion: they become ``dividends_payable``); its shares join common
  as shares × rate, unrounded: §2 settles a fraction of a common share in cash at the
  market price, and the waterfall's price of a common share is its own ``per_share``, so a
  fraction participates exactly like a whole share. No other series' rate is adjusted
  (§11).
- General terms (§12 Liquidation): the preference per share is ``liquidation_multiple`` ×
  stated value (rounded per holder to the cent when the multiple is not 1) plus the
  dividends owed, which are not multiplied. A participating series (``full`` or
  ``capped``) keeps its preference and also shares the remainder with common, as if
  converted at its rate (one common per share without one). With ``capped``, a holder's
  preference without dividends plus participation stops at ``participation_cap`` ×
  stated value; what it would have received beyond goes to the other sharers pro rata,
  repeated until no cap binds. A fully participating series never converts; a capped
  one converts iff that pays strictly more (the same fixed point).
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
from ledger.values import (
    CENT,
    CONTEXT,
    ONE,
    ZERO,
    allocate,
    floor_cent,
    floor_int,
    money,
    money_str,
    plain,
)

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
    #: SPEC.md §12 Liquidation: the multiple, participation, and for a participating
    #: series the common per share it participates as (its rate, or 1) and its cap
    multiple: Decimal = ONE
    participation: str = "none"
    participation_rate: Decimal = ONE
    cap: Decimal | None = None

    @property
    def key(self) -> str:
        """Sorts like (holder, series): ties go to the holder name first (§11)."""
        return f"{self.holder}\x00{self.series}"

    def preference(self, shares: Decimal) -> Decimal:
        """multiple × stated value of ``shares``, to the cent when the multiple is not 1
        (SPEC.md §12 ``liquidation_multiple``; §8 with the default 1)."""
        if self.multiple == ONE:
            return shares * self.stated_value
        return money(CONTEXT.multiply(CONTEXT.multiply(shares, self.stated_value),
                                      self.multiple))

    @property
    def claim(self) -> Decimal:
        """Preference + accrued unpaid + payable; K stated (+ payable) only (SPEC.md §8);
        dividends are not multiplied (§12)."""
        acc = self.accrued if self.includes_accrued else ZERO
        return self.preference(self.shares) + acc + self.payable

    def tier_claim(self, converting: bool) -> Decimal:
        """The claim left in the tier: converted shares drop their preference but keep
        their accrued dividends, which become payable (SPEC.md §5 On conversion, §8)."""
        if not converting or self.convertible <= 0:
            return self.claim
        acc = self.accrued  # on conversion accrual becomes dividends_payable (§5)
        return self.preference(self.shares - self.convertible) + acc + self.payable

    def participating(self, converting: bool) -> Decimal:
        """Shares that keep their preference and share the remainder (SPEC.md §12)."""
        if self.participation == "none":
            return ZERO
        return self.shares - (self.convertible if converting else ZERO)

    def room(self, converting: bool) -> Decimal | None:
        """The most a capped holder's participation may be: cap × stated value per share
        less the preference without dividends (SPEC.md §12 ``participation_cap``)."""
        if self.cap is None:
            return None
        n = self.participating(converting)
        cap = CONTEXT.multiply(CONTEXT.multiply(n, self.stated_value), self.cap)
        return max(ZERO, cap - self.preference(n))


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
    #: SPEC.md §12: ``preference``, ``participated`` or ``converted``
    status: str = "preference"
    participation: str = "none"
    participating_shares: Decimal = ZERO
    participation_received: Decimal = ZERO
    #: for a ``capped`` series: whether its cap bound; None otherwise
    cap_bound: bool | None = None


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
    #: SPEC.md §12: the as-converted shares it participates with (not converted)
    participating_shares: Decimal = ZERO
    cap_bound: bool = False

    @property
    def received(self) -> Decimal:
        return self.from_tier + self.from_common


@dataclass(frozen=True)
class CommonHolderResult:
    """One common holder's part of the common line (SPEC.md §13): ``holder`` None is the
    unattributed holder."""

    holder: str | None
    shares: Decimal
    received: Decimal
    exact: Decimal


#: the ``allocate`` key of the unattributed holder: U+10FFFF is no valid name's character
#: (``ledger.names``: unassigned code points are refused), so it sorts after every name
#: and ties go to the named holders first (SPEC.md §11)
_UNATTRIBUTED_KEY = "\U0010ffff"


def common_parts(common: Mapping[str | None, Decimal], line: Decimal, line_exact: Decimal
                 ) -> tuple[CommonHolderResult, ...]:
    """The common line split over the common holders pro rata to their shares, floored
    to the cent with largest remainder, ties to the holder name first, the unattributed
    holder last (SPEC.md §11, §13). Named holders in name order, then the unattributed."""
    held = {h: n for h, n in common.items() if n > 0}
    total = sum(held.values(), ZERO)
    if total <= 0:
        return ()
    keys = {(_UNATTRIBUTED_KEY if h is None else h): h for h in held}
    parts = allocate(line, {k: held[h] for k, h in keys.items()})
    with localcontext(CONTEXT):
        return tuple(CommonHolderResult(h, held[h], parts[k], line_exact * held[h] / total)
                     for k, h in sorted(keys.items()))


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
    #: SPEC.md §12: as-converted shares of the participating series (not converted)
    common_participating: Decimal = ZERO
    #: with participation: the remainder per share of every sharer no cap holds back
    level: Decimal | None = None
    participation: bool = False
    #: SPEC.md §13: the common line per common holder (they add up to ``common_line``)
    common_holders: tuple[CommonHolderResult, ...] = ()

    @property
    def common_shares(self) -> Decimal:
        return self.common_outstanding + self.common_as_converted + self.common_participating

    @property
    def common_received(self) -> Decimal:
        """The remainder: common outstanding plus the converting holders' part (§11)."""
        return self.common_line + sum((h.from_common for h in self.holders), ZERO)

    @property
    def per_share(self) -> Decimal | None:
        """Remainder per common share, as converted, unrounded (SPEC.md §11); with
        participation, what each share no cap holds back receives (§12)."""
        if self.participation:
            return self.level
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
                "status": s.status,
                "participation": s.participation,
                "participating_shares": plain(s.participating_shares),
                "participation_received": money_str(s.participation_received),
                "cap_bound": s.cap_bound,
            } for s in self.series],
            "common": {
                "shares": plain(self.common_shares),
                "received": money_str(self.common_received),
                "per_share": None if per is None else plain(per),
                "outstanding_shares": plain(self.common_outstanding),
                "outstanding_received": money_str(self.common_line),
                "as_converted_shares": plain(self.common_as_converted),
                "participating_shares": plain(self.common_participating),
            },
            "holders": [{
                "holder": h.holder, "series": h.series, "received": money_str(h.received),
                "tier": h.tier, "shares": plain(h.shares), "claim": money_str(h.claim),
                "converted": h.converted, "as_converted_shares": plain(h.as_converted_shares),
                "from_tier": money_str(h.from_tier), "from_common": money_str(h.from_common),
                "participating_shares": plain(h.participating_shares),
                "cap_bound": h.cap_bound,
            } for h in self.holders] + [{
                # SPEC.md §13: each common holder's part of the remainder
                "holder": c.holder, "series": COMMON, "received": money_str(c.received),
                "tier": None, "shares": plain(c.shares), "claim": None, "converted": False,
                "as_converted_shares": "0", "from_tier": "0.00",
                "from_common": money_str(c.received), "participating_shares": "0",
                "cap_bound": False,
            } for c in self.common_holders],
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
        if t.conversion_trigger is None:  # SPEC.md §12: its mandatory triggers only
            return f"Series {s.name} converts only automatically, on its mandatory triggers"
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
            t = s.terms
            line = Line(h, s.name, tier_of[s.name], held, t.stated_value,
                        accrued.get(h, ZERO), s.unpaid(h, "payable"),
                        t.liquidation_includes_accrued, multiple=t.liquidation_multiple,
                        participation=t.participation,
                        participation_rate=s.conversion_rate if s.conversion_rate is not None
                        else ONE, cap=t.participation_cap)
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
    #: SPEC.md §12: per line, the as-converted shares it participates with; the lines
    #: whose cap bound; the remainder per share of the sharers no cap holds back
    participating: list[Decimal] = field(default_factory=list)
    bound: frozenset[int] = frozenset()
    level: Decimal | None = None
    part_exact: list[Decimal] = field(default_factory=list)


def _fill(remainder: Decimal, common: Decimal, weights: dict[int, Decimal],
          rooms: dict[int, Decimal]) -> tuple[dict[int, Decimal], Decimal, set[int],
                                              Decimal | None]:
    """Share ``remainder`` over common and the lines by ``weights`` (as-converted
    shares), no line above its room (SPEC.md §12 ``participation_cap``): a line whose
    pro-rata part would pass its room gets the room, and the rest is shared again by the
    others, until no cap binds. Returns each line's exact part, the common line's, the
    lines held at their cap, and the per-share amount of the others (None if none)."""
    out: dict[int, Decimal] = {}
    bound: set[int] = set()
    active = dict(weights)
    left = remainder
    while True:
        total = common + sum(active.values(), ZERO)
        if total <= 0:  # nobody left to share: it stays on the common line
            return out, left, bound, None
        level = left / total
        over = {j for j, w in active.items() if j in rooms and level * w > rooms[j]}
        if not over:
            for j, w in active.items():
                out[j] = level * w
            return out, level * common, bound, level
        for j in over:
            out[j] = rooms[j]
            left -= rooms[j]
            del active[j]
        bound |= over


def _floor_lr(total: Decimal, exact: dict[str, Decimal], held: set[str]
              ) -> dict[str, Decimal]:
    """SPEC.md §11: each exact part floored to the cent, the leftover cents one each by
    largest remainder, ties to the name first; a part held at its cap (``held``) takes no
    leftover cent above it (§12)."""
    parts = {k: floor_cent(v) for k, v in exact.items()}
    left = int(((total - sum(parts.values(), ZERO)) / CENT).to_integral_value())
    order = sorted((k for k in exact if k not in held),
                   key=lambda k: (-(exact[k] - parts[k]), k))
    for k in order[:left]:
        parts[k] += CENT
    return parts


def _split(lines: list[Line], order: Order, common: Decimal, proceeds: Decimal,
           choices: Mapping[str, bool], rounded: bool = True) -> _Split:
    """Tiers in order, pro rata inside a tier, remainder to common (SPEC.md §8, §11)
    and the participating series (§12)."""
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
        part = [ln.participating(c) * ln.participation_rate
                for ln, c in zip(lines, conv, strict=True)]
        if any(part):
            return _participate(lines, conv, part, common, remainder, t_claims, t_paid,
                                exact, from_tier, from_common, rounded)
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
                  line_exact, part)


def _participate(lines: list[Line], conv: list[bool], part: list[Decimal], common: Decimal,
                 remainder: Decimal, t_claims: list[Decimal], t_paid: list[Decimal],
                 exact: list[Decimal], from_tier: list[Decimal], from_common: list[Decimal],
                 rounded: bool) -> _Split:
    """The remainder shared by common, converting holders and participating holders
    together by as-converted shares, no capped holder above its cap (SPEC.md §12)."""
    weights: dict[int, Decimal] = {}
    rooms: dict[int, Decimal] = {}
    for j, ln in enumerate(lines):
        w = (ln.as_converted if conv[j] else ZERO) + part[j]
        if w > 0:
            weights[j] = w
        room = ln.room(conv[j])
        if room is not None and part[j] > 0:
            rooms[j] = room
    # a line that both converts (some shares) and participates (the others: shares a
    # notice keeps from converting) shares as two parts, so only the participating part
    # is capped: the converted part is common (key -1 - j)
    sharers = dict(weights)
    for j in rooms:
        if conv[j]:
            sharers[j] = part[j]
            sharers[-1 - j] = lines[j].as_converted
    got, line_exact, bound, level = _fill(remainder, common, sharers, rooms)
    pe = [ZERO] * len(lines)
    for j in range(len(lines)):
        pe[j] = got.get(j, ZERO) + got.get(-1 - j, ZERO)
        exact[j] += pe[j]
    common_line = ZERO
    if rounded:
        keyed = {COMMON: line_exact, **{lines[j].key: pe[j] for j in weights}}
        held = {lines[j].key for j in bound}
        parts = _floor_lr(remainder, keyed, held)
        common_line = parts[COMMON]
        for j in weights:
            from_common[j] = parts[lines[j].key]
    return _Split(t_claims, t_paid, remainder, exact, from_tier, from_common, common_line,
                  line_exact, part, frozenset(bound), level, pe)


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
    # §12: a fully participating series never converts (it already shares as converted)
    candidates = [n for n in names if any(ln.series == n and ln.convertible > 0
                                          and ln.participation != "full" for ln in lines)]
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
    part = sp.participating or [ZERO] * len(lines)
    holders = tuple(
        HolderResult(ln.holder, ln.series, ln.tier + 1, ln.shares, ln.claim,
                     ln.tier_claim(c), c, ln.as_converted if c else ZERO,
                     sp.from_tier[j], sp.from_common[j], sp.exact[j], part[j],
                     j in sp.bound)
        for j, (ln, c) in enumerate(zip(lines, conv, strict=True)))
    series_out = []
    for s in sorted(st.series.values(), key=lambda s: (names.index(s.name), s.name)):
        mine = [h for h in holders if h.series == s.name]
        t = s.terms
        not_conv = why_not(s, on)
        converted = choices.get(s.name, False)
        vc = shown.get(s.name)
        if not_conv is not None:
            reason = not_conv
        elif t.participation == "full":
            reason = (f"Series {s.name} participates fully, so it never converts (it "
                      "already shares the remainder as converted)")
        elif s.name not in choices:
            reason = f"no Series {s.name} shares outstanding to convert"
        else:
            assert vc is not None
            no, yes = vc
            on_claim = ("on its preference and capped participation"
                        if t.participation == "capped" else "on its claim")
            reason = (f"converts: {money_str(yes)} as converted (accrued dividends in its "
                      f"tier + common) > {money_str(no)} {on_claim}" if converted else
                      f"keeps its claim: {money_str(no)} {on_claim} >= {money_str(yes)} "
                      "as converted")
        participating = sum((h.participating_shares for h in mine), ZERO)
        participated = (not converted and participating > 0 and sp.remainder > 0)
        cap_bound = None
        if t.participation == "capped":
            cap_bound = participated and any(h.cap_bound for h in mine)
        if participated:
            got = sum((h.from_common for h in mine), ZERO)
            shares = (plain(participating) if participating == participating.to_integral_value()
                      else f"{participating:.4f}")
            how = (f"participates: its preference plus {money_str(got)} of the remainder "
                   f"as {shares} common")
            if t.participation == "capped":
                assert t.participation_cap is not None
                how += (f"; its cap of {plain(t.participation_cap)} × stated value "
                        + ("binds" if cap_bound else "does not bind"))
            reason = f"{how}; {reason}"
        status = "converted" if converted else "participated" if participated else "preference"
        series_out.append(SeriesResult(
            s.name, names.index(s.name) + 1, s.outstanding,
            sum((h.claim for h in mine), ZERO), sum((h.tier_claim for h in mine), ZERO),
            not_conv is None, converted, sum((h.as_converted_shares for h in mine), ZERO),
            sum((h.received for h in mine), ZERO),
            vc[0] if vc else None, vc[1] if vc else None, reason, status, t.participation,
            participating,
            sum((h.from_common for h in mine), ZERO) if participated else ZERO, cap_bound))
    tiers = tuple(TierResult(i + 1, tier, sp.tier_claim[i], sp.tier_paid[i])
                  for i, tier in enumerate(resolved))
    dist = Distribution(on, proceeds, resolved, source, tiers, tuple(series_out), holders,
                        common, sum((h.as_converted_shares for h in holders), ZERO),
                        sp.common_line, sp.remainder, passes, fixed, tuple(steps),
                        sp.common_line_exact, sum(part, ZERO), sp.level, any(part),
                        common_parts(st.common, sp.common_line, sp.common_line_exact))
    total = sum((h.received for h in holders), ZERO) + dist.common_line
    assert total == proceeds, (total, proceeds)  # §11: every cent, to the cent
    assert not dist.common_holders or sum(
        (c.received for c in dist.common_holders), ZERO) == dist.common_line
    return dist

