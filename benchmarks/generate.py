"""A seeded generator of realistic preferred-stock histories in the interchange format.

    python -m benchmarks.generate --events 100000 --seed 1 --out /tmp/h100k.jsonl

Many issuers, each with G/H/K/M-like series (the nStor terms of ``fixtures/nstor``
inlined, with the designation date moved and the authorized shares scaled to the
holder count), tens to thousands of holders (fewer where an issuer could otherwise pass
the limit ``holder_periods`` by the file's horizon), initial and later issuances, transfers,
quarterly dividend payments (series-wide: the exact arrears, computed by a live
replay of the issuer; now and then a run of missed quarters, each with the board's
``DividendMissed`` and sometimes a part payment, then a catch-up; and, usually, the
dividends that fall payable on a conversion paid to the holder the same day), common sales below
and above the anti-dilution thresholds, option exercises, holder conversions (H any
time, M after its window), the automatic K conversion on shareholder approval,
redemption notices and redemptions, and balance tie-outs; and copies of the shipped
examples of the general terms (``EXAMPLES``), 28 years earlier. Every event is valid at
its place, so the whole file loads.

Issuer ``issuer-0000`` is the *probe*: 1,000 holders (fewer only in tiny files) and a
history that grows with the file (a tenth of it, at least 4,000 events), so latency
measured on it shows whether history length matters. The other issuers share the rest,
with sizes from a few hundred events to tens of thousands.

The file is in recorded order = effective-date order across issuers (a transfer agent's
feed); each issuer's own stream is in date order. Same ``--events`` and ``--seed``: the
same file, byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import itertools
import json
import math
import multiprocessing
import os
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from ledger import limits
from ledger.bulk import bulk
from ledger.daycount import add_years
from ledger.events import parse_object
from ledger.replay import Replayer
from ledger.schedule import Schedule
from ledger.state import Record
from ledger.terms import Terms

DAY = dt.timedelta(days=1)
PROBE = "issuer-0000"
_A = ("Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Grove", "Hawthorn", "Ivy",
      "Juniper", "Laurel", "Maple", "Oak", "Pine", "Quince", "Rowan", "Spruce", "Tamarack",
      "Willow", "Yew", "Aspen", "Beech", "Chestnut", "Hazel", "Linden", "Magnolia", "Poplar")
_B = ("Capital LP", "Family Trust", "Partners LLC", "Fund", "Street Ventures", "Holdings",
      "Opportunity Fund", "Investors", "Pension Plan", "Endowment", "Advisors", "Group")


#: the series of the nStor certificates the generated issuers designate (a subset each)
_NSTOR_SERIES = ("G", "H", "K", "M")


def _terms(series: str, designated: dt.date, authorized: int,
           designates: Sequence[str] | None = None) -> dict[str, Any]:
    """The nStor terms of ``series`` as an inline ``terms`` object, moved and scaled;
    a seniority claim against a series the issuer never designates (``designates``) is
    left out (inline terms may only rank against series of the issuer's own log)."""
    text = resources.files("fixtures").joinpath("nstor", f"{series}.json").read_text()
    t = json.loads(text)
    for k in ("citations", "first_payment_date", "closing_date"):
        t.pop(k, None)
    if designates is not None and "seniority_claims" in t:
        t["seniority_claims"] = [c for c in t["seniority_claims"]
                                 if c["to"] not in _NSTOR_SERIES or c["to"] in designates]
    t["designated"] = designated.isoformat()
    t["authorized_shares"] = str(authorized)
    return t


class Pool:
    """Holders with shares > 0 in one series, with O(1) random choice and removal."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, h: str) -> None:
        if h not in self.index:
            self.index[h] = len(self.items)
            self.items.append(h)

    def discard(self, h: str) -> None:
        i = self.index.pop(h, None)
        if i is None:
            return
        last = self.items.pop()
        if last != h:
            self.items[i] = last
            self.index[last] = i

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class Series:
    name: str
    terms: dict[str, Any]
    designated: dt.date
    authorized: int
    schedule: Schedule | None
    holdings: dict[str, int] = field(default_factory=dict)
    pool: Pool = field(default_factory=Pool)
    issued: int = 0
    locked: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    closing: dt.date | None = None
    converted: bool = False

    @property
    def outstanding(self) -> int:
        return sum(self.holdings.values())

    def add(self, h: str, n: int) -> None:
        self.holdings[h] = self.holdings.get(h, 0) + n
        self.pool.add(h)

    def remove(self, h: str, n: int) -> None:
        left = self.holdings[h] - n
        assert left >= 0
        if left:
            self.holdings[h] = left
        else:
            del self.holdings[h]
            self.pool.discard(h)


@dataclass
class IssuerSpec:
    name: str
    budget: int
    holders: int
    start: dt.date
    quarters: int
    series: tuple[str, ...]
    seed: int
    #: a shipped example of the general terms (``EXAMPLES``), its history as it is
    example: str | None = None


def _money_floor(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def issuer_events(spec: IssuerSpec) -> Iterator[dict[str, Any]]:
    """One issuer's stream, in effective-date order, without end (the caller cuts it).

    Each event is applied to a live ``Replayer`` as it is made: the payments pay the
    exact arrears the ledger computes, and an event the ledger would reject stops the
    generator (a bug here, never a silently invalid file)."""
    engine = Replayer(spec.name)
    made = _example_events(spec) if spec.example else _events(spec, engine)
    for n, e in enumerate(made, start=1):
        got = parse_object(e)
        assert not isinstance(got, list), got
        before = len(engine.problems)
        engine.apply(Record(got, n))
        if len(engine.problems) != before:
            raise AssertionError(f"generated an invalid event: {engine.problems[-1]}")
        yield e


def _events(spec: IssuerSpec, engine: Replayer) -> Iterator[dict[str, Any]]:
    rng = random.Random(spec.seed)
    names = [f"{rng.choice(_A)} {rng.choice(_B)} {i:04d}" for i in range(spec.holders)]
    known: set[str] = set()
    counter = itertools.count(1)
    seq = itertools.count()
    series: dict[str, Series] = {}
    common = rng.randrange(10_000_000, 50_000_000, 1000)
    heap: list[tuple[dt.date, int, int, str, Any]] = []

    def push(day: dt.date, prio: int, kind: str, data: Any = None) -> None:
        heapq.heappush(heap, (day, prio, next(seq), kind, data))

    def ev(type_: str, day: dt.date, **fields: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"id": f"{spec.name}-{next(counter):07d}", "type": type_,
                               "effective_date": day.isoformat(), "issuer": spec.name}
        out.update(fields)
        return out

    # designations: G at the start, H and K within the first years, M later
    offsets = {"G": 0, "H": rng.randint(30, 200), "K": rng.randint(200, 500),
               "M": rng.randint(3 * 365, 5 * 365)}
    per_holder = 400
    for sname in spec.series:
        day = spec.start + dt.timedelta(days=offsets[sname])
        push(day, 0, "designate", sname)
    # initial issuances to 60% of the holders in the year after each designation
    for h in names[: max(1, int(len(names) * 0.6))]:
        sname = rng.choice(spec.series)
        day = spec.start + dt.timedelta(days=offsets[sname] + rng.randint(0, 365))
        push(day, 2, "issue", (sname, h))
    if "K" in spec.series:
        push(spec.start + dt.timedelta(days=offsets["K"] + rng.randint(2 * 365, 4 * 365)), 2,
             "approve")
    actions_per_quarter = max(1, (spec.budget - len(names)) // max(1, spec.quarters)
                              - 2 * len(spec.series))
    push(spec.start, -1, "quarter")

    while heap:
        day, _, _, kind, data = heapq.heappop(heap)
        if kind == "quarter":
            for _ in range(rng.randint(actions_per_quarter // 2, actions_per_quarter * 3 // 2)):
                push(day + dt.timedelta(days=rng.randint(0, 90)), 3, "act")
            push(day + dt.timedelta(days=91), -1, "quarter")
        elif kind == "designate":
            name = data
            authorized = spec.holders * per_holder * 3
            terms = _terms(name, day, authorized, spec.series)
            model = Terms.model_validate(terms)
            sched = Schedule(model) if model.pays_dividends else None
            s = Series(name, terms, day, authorized, sched)
            series[name] = s
            yield ev("SeriesDesignated", day, series=name, terms=terms)
            if name == "G":
                yield ev("CommonStockIssued", day, shares=str(common), kind="opening",
                         memo="opening common balance")
            if sched is not None:
                push(sched.next_payment(day), 1, "payment", name)
        elif kind == "payment":
            s = series[data]
            assert s.schedule is not None
            engine.advance(day)  # amounts fall due at the start of the day (SPEC.md §11)
            arrears = engine.state.series[s.name].unpaid()
            if arrears > 0:
                if s.missing == 0 and rng.random() < 0.1:
                    s.missing = rng.randint(1, 6)  # a run of missed quarters, then catch-up
                if s.missing == 0:
                    yield ev("DividendPaid", day, series=s.name, amount=f"{arrears:.2f}")
                else:
                    s.missing -= 1
                    part = _money_floor(arrears * Decimal(rng.randint(0, 60)) / 100)
                    if part > 0:
                        yield ev("DividendPaid", day, series=s.name, amount=f"{part:.2f}")
                    yield ev("DividendMissed", day, series=s.name,
                             payment_date=day.isoformat())
            push(s.schedule.next_payment(day), 1, "payment", s.name)
        elif kind == "issue":
            name, h = data
            if name not in series or (name == "K" and series[name].converted):
                continue
            s = series[name]
            n = rng.randint(1, per_holder // 2)
            if s.issued + n > s.authorized:
                continue
            s.issued += n
            s.add(h, n)
            known.add(h)
            if s.closing is None and name == "M":
                s.closing = day
            yield ev("SharesIssued", day, series=name, holder=h, shares=str(n),
                     price_per_share="1000")
        elif kind == "approve":
            k = series.get("K")
            if k is None or k.converted:
                continue
            k.converted = True
            for h in list(k.holdings):
                k.remove(h, k.holdings[h])
            yield ev("ShareholderApproval", day, matters=["series_k_conversion"],
                     memo="approval of the Series K conversion shares")
        elif kind == "redeem":
            name, h, n = data
            s = series[name]
            del s.locked[h]
            s.remove(h, n)
            yield ev("SharesRedeemed", day, series=name, holder=h, shares=str(n))
        elif kind == "act":
            yield from _act(rng, day, spec, series, names, known, ev, push, engine)


def _act(rng: random.Random, day: dt.date, spec: IssuerSpec, series: dict[str, Series],
         names: list[str], known: set[str], ev: Any, push: Any, engine: Replayer
         ) -> Iterator[dict[str, Any]]:
    live = [s for s in series.values() if s.designated <= day]
    if not live:
        return
    roll = rng.random()
    held = [s for s in live if len(s.pool)]
    if roll < 0.70 and held:  # transfer
        s = rng.choice(held)
        h = s.pool.items[rng.randrange(len(s.pool))]
        if h in s.locked:
            return
        to = names[rng.randrange(len(names))]
        if to == h:
            return
        have = s.holdings[h]
        n = have if rng.random() < 0.25 else rng.randint(1, have)
        s.remove(h, n)
        s.add(to, n)
        known.add(to)
        yield ev("SharesTransferred", day, series=s.name, from_holder=h, to_holder=to,
                 shares=str(n))
    elif roll < 0.78:  # a later issuance
        s = rng.choice(live)
        if s.name == "K" and s.converted:
            return
        h = names[rng.randrange(len(names))]
        n = rng.randint(1, 200)
        if s.issued + n > s.authorized:
            return
        s.issued += n
        s.add(h, n)
        known.add(h)
        if s.closing is None and s.name == "M":
            s.closing = day
        yield ev("SharesIssued", day, series=s.name, holder=h, shares=str(n),
                 price_per_share="1000")
    elif roll < 0.82:  # common: sales (some below the thresholds) and option exercises
        shares = rng.randrange(10_000, 2_000_000, 100)
        if rng.random() < 0.6:
            price = Decimal(rng.randint(10, 200)) / 100
            yield ev("CommonStockIssued", day, shares=str(shares), kind="sale",
                     price_per_share=f"{price:.2f}")
        else:
            yield ev("CommonStockIssued", day, shares=str(shares), kind="option_exercise",
                     price_per_share="0.10")
    elif roll < 0.88:  # holder conversion: H any time, M from closing + 1 year
        conv = [s for s in held if s.name == "H"
                or (s.name == "M" and s.closing is not None and day >= add_years(s.closing, 1))]
        if not conv:
            return
        s = rng.choice(conv)
        h = s.pool.items[rng.randrange(len(s.pool))]
        if h in s.locked:
            return
        have = s.holdings[h]
        n = have if (have < 100 or rng.random() < 0.3) else 100 * rng.randint(1, have // 100)
        s.remove(h, n)
        yield ev("SharesConverted", day, series=s.name, holder=h, shares=str(n),
                 market_price="0.55")
        # the dividends that became payable on conversion (SPEC.md §5) are usually paid
        # to the holder at once, with any arrears (a named payment pays both, oldest first)
        es = engine.state.series[s.name]
        owed = es.unpaid(h) + es.unpaid(h, "payable")
        if owed > 0 and rng.random() < 0.9:
            yield ev("DividendPaid", day, series=s.name, holder=h, amount=f"{owed:.2f}")
    elif roll < 0.91:  # redemption notice; the redemption follows on its date
        red = [s for s in held if s.name in ("G", "H")
               or (s.name == "M" and s.closing is not None and day >= s.closing)]
        if not red:
            return
        s = rng.choice(red)
        picked: dict[str, int] = {}
        for _ in range(rng.randint(1, 3)):
            h = s.pool.items[rng.randrange(len(s.pool))]
            if h not in s.locked and h not in picked:
                picked[h] = rng.randint(1, s.holdings[h])
        if not picked:
            return
        rdate = day + dt.timedelta(days=int(s.terms["redemption_notice_days"])
                                   + rng.randint(0, 20))
        assert s.schedule is not None
        while s.schedule.next_payment(rdate - DAY) == rdate:  # keep payment days clean
            rdate += DAY
        for h, n in picked.items():
            s.locked[h] = n
            push(rdate, 2, "redeem", (s.name, h, n))
        yield ev("RedemptionNoticed", day, series=s.name, redemption_date=rdate.isoformat(),
                 holders={h: str(n) for h, n in picked.items()})
    else:  # tie-outs
        if not held:
            return
        s = rng.choice(held)
        if rng.random() < 0.5:
            h = s.pool.items[rng.randrange(len(s.pool))]
            yield ev("BalanceAsserted", day, series=s.name, holder=h,
                     shares=str(s.holdings[h]))
        else:
            yield ev("BalanceAsserted", day, series=s.name, shares=str(s.outstanding))


def _quarters(budget: int, holders: int) -> int:
    """How long an issuer's history runs: about three events per holder per year, from
    two years up to 32 (a bigger budget is a longer history, not a denser one)."""
    return max(8, min(130, budget * 4 // max(40, holders * 3)))


#: the shipped examples of the general terms (``fixtures/<name>/history.jsonl``: a venture
#: company's participating, capped, weighted-average and QPO-converting series; a
#: mezzanine series paying in kind, compounding and redeemed), copied into every file of
#: at least ``EXAMPLES_FROM`` events, once per ``EXAMPLE_EVERY`` events, each copy an
#: issuer of its own
EXAMPLES = ("venture", "mezzanine")
EXAMPLES_FROM = 400
EXAMPLE_EVERY = 10_000


def _example(name: str) -> list[dict[str, Any]]:
    text = resources.files("fixtures").joinpath(name, "history.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


#: the examples are moved this many years earlier, into the generated histories' years:
#: 28 years keep every weekday and leap day of the years 1901–2099 (the same days in
#: every period, the same figures)
EXAMPLE_YEARS_EARLIER = 28
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _earlier(value: Any) -> Any:
    """``value`` with every date in it (a ``YYYY-MM-DD`` string, at any depth) moved
    ``EXAMPLE_YEARS_EARLIER`` years earlier."""
    if isinstance(value, str) and _DATE.fullmatch(value):
        day = dt.date.fromisoformat(value)
        return day.replace(year=day.year - EXAMPLE_YEARS_EARLIER).isoformat()
    if isinstance(value, dict):
        return {k: _earlier(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_earlier(v) for v in value]
    return value


def _example_events(spec: IssuerSpec) -> Iterator[dict[str, Any]]:
    """A shipped example's events, as its issuer ``spec.name``, its dates (and those of
    its terms, inlined) ``EXAMPLE_YEARS_EARLIER`` years earlier, in effective-date order
    (the order a date-ordered file merges them in; same-day events as written)."""
    assert spec.example is not None
    rows = []
    for e in _example(spec.example):
        e = {**e, "issuer": spec.name}
        ref = e.pop("terms_ref", None)
        if ref is not None:
            e["terms"] = json.loads(resources.files("fixtures").joinpath(
                *ref.split("/")[:-1], ref.split("/")[-1] + ".json").read_text("utf-8"))
        rows.append(_earlier(e))
    yield from sorted(rows, key=lambda e: e["effective_date"])


def _example_specs(events: int, seed: int) -> list[IssuerSpec]:
    if events < EXAMPLES_FROM:
        return []
    out = []
    for k in range(max(1, events // EXAMPLE_EVERY)):
        for name in EXAMPLES:
            rows = _example(name)
            days = sorted(dt.date.fromisoformat(_earlier(e["effective_date"])) for e in rows)
            holders = {e.get(f) for e in rows for f in ("holder", "from_holder", "to_holder")}
            series = tuple(sorted({e["series"] for e in rows if "series" in e}))
            out.append(IssuerSpec(f"{name}-s{seed}-{k:04d}", len(rows), len(holders - {None}),
                                  days[0], -(-(days[-1] - days[0]).days // 91), series, seed,
                                  example=name))
    return out


def plan(events: int, seed: int = 1) -> list[IssuerSpec]:
    """Issuer sizes summing to ``events``: the probe, copies of the shipped examples of
    the general terms (``EXAMPLES``), then issuers of varied sizes."""
    rng = random.Random(seed)
    examples = _example_specs(events, seed)
    probe_budget = min(events - sum(s.budget for s in examples), max(4000, events // 10))
    probe_holders = max(10, min(1000, probe_budget // 4))
    specs = [IssuerSpec(PROBE, probe_budget, probe_holders, dt.date(1990, 1, 1),
                        _quarters(probe_budget, probe_holders), ("G", "H", "K", "M"),
                        rng.randrange(2**31)), *examples]
    left = events - probe_budget - sum(s.budget for s in examples)
    n = 1
    while left > 0:
        size = int(round(10 ** rng.uniform(2.5, 4.5)))
        size = min(left, size) if left - size >= 300 else left
        holders = max(10, min(3000, int(size / rng.uniform(4, 30))))
        kinds = ["G"] + [s for s, p in (("H", 0.8), ("K", 0.6), ("M", 0.6)) if rng.random() < p]
        start = dt.date(1985, 1, 1) + dt.timedelta(days=rng.randint(0, 15 * 365))
        quarters = _quarters(size, holders)
        specs.append(IssuerSpec(f"issuer-{n:04d}", size, holders, start, quarters,
                                tuple(kinds), rng.randrange(2**31)))
        left -= size
        n += 1
    return _within_holder_periods(specs)


#: the series whose terms accrue dividends, four periods a year (``fixtures/nstor``)
ACCRUING = frozenset("GHM")


def holder_periods_bound(spec: IssuerSpec, end: dt.date) -> int:
    """At most the holder-periods (``ledger.limits``: holders a series carries × its
    dividend periods from its designation to the horizon, over the accruing series) of
    ``spec`` in a file whose last event is on ``end``: as if every holder held every
    accruing series from the first day to the horizon."""
    years = math.ceil((end - spec.start).days / 365.25) + int(limits.value("horizon_years"))
    return spec.holders * sum(k in ACCRUING for k in spec.series) * (4 * years + 1)


def _end(spec: IssuerSpec) -> dt.date:
    return spec.start + dt.timedelta(days=spec.quarters * 92)


def _within_holder_periods(specs: list[IssuerSpec]) -> list[IssuerSpec]:
    """Fewer holders for an issuer that could pass the limit ``holder_periods`` by the
    file's horizon (the file would be refused): a longer history instead (``_quarters``),
    until every issuer is within it."""
    cap = int(limits.value("holder_periods"))
    for _ in range(100):
        end = max(_end(s) for s in specs)
        changed = False
        for k, s in enumerate(specs):
            bound = holder_periods_bound(s, end)
            if bound > cap and s.example is None:
                holders = max(1, s.holders * cap // bound)
                specs[k] = replace(s, holders=holders, quarters=_quarters(s.budget, holders))
                changed = True
        if not changed:
            return specs
    raise RuntimeError("could not keep the issuers within the holder-periods limit")


def generate(events: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Exactly ``events`` events, merged across issuers in effective-date order."""
    streams = [itertools.islice(issuer_events(s), s.budget) for s in plan(events, seed)]
    return heapq.merge(*streams, key=lambda e: e["effective_date"])


def _issuer_lines(spec: IssuerSpec) -> list[tuple[str, str]]:
    """One issuer's events as ``(effective date, JSON line)`` (a worker's share)."""
    with bulk():
        return [(e["effective_date"], json.dumps(e, separators=(",", ":")))
                for e in itertools.islice(issuer_events(spec), spec.budget)]


def write(path: str | Path, events: int, seed: int = 1, workers: int | None = None) -> Path:
    """Write the history to ``path`` (JSON Lines); returns the path.

    Issuers are independent, so large files are made by one process per CPU, then merged
    in effective-date order exactly as ``generate`` merges them (same bytes)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    specs = plan(events, seed)
    if workers is None:
        workers = min(os.cpu_count() or 1, len(specs)) if events >= 50_000 else 1
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            # the biggest issuers first, so no worker is left with one at the end
            order = sorted(range(len(specs)), key=lambda k: -specs[k].budget)
            done = dict(zip(order, pool.map(_issuer_lines, [specs[k] for k in order],
                                            chunksize=1), strict=True))
        parts = [done[k] for k in range(len(specs))]
    else:
        parts = [_issuer_lines(spec) for spec in specs]
    with p.open("w", encoding="utf-8") as fh:
        for _, line in heapq.merge(*parts, key=lambda t: t[0]):
            fh.write(line + "\n")
    return p


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    write(a.out, a.events, a.seed)


if __name__ == "__main__":
    main()
