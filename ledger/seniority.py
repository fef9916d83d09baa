"""Liquidation seniority: each certificate's claims, their conflicts, the resolved order.

SPEC.md §8 Seniority: every certificate states claims about its rank in a liquidation,
and they conflict (G §3(a): senior to every series issued after it; H §3(a), §3(e)(i):
senior to the series outstanding on its date; K §3(a): senior to the stock outstanding on
its date but after Series H, §3(b): ratable with the other preferred when short; M §3(a):
first of all). The claims are terms data (``Terms.seniority_claims``); this module

- expands each claim into pairwise statements about the designated classes,
- lists every pair of statements that cannot both hold (``conflicts``, for ``check``),
- resolves an order of tiers (``resolve``): the issuer's setting when one is given
  (``"M,H,K,G"``; ``"+"`` puts two series in one tier), otherwise the SPEC.md §8
  **Reading** "where two certificates conflict the later one governs", which for the
  nStor series gives M > H > K > G > common.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.state import IssuerState, SeriesState

COMMON = "common"
#: one tier per entry, most senior first; common is always last and not listed
Order = tuple[tuple[str, ...], ...]


class OrderError(ValueError):
    """An issuer's seniority order that does not fit the designated series."""


@dataclass(frozen=True)
class Statement:
    """One pairwise statement drawn from one certificate claim (SPEC.md §8).

    ``relation`` reads "``series`` is <relation> ``other``": ``">"`` senior, ``"<"``
    junior, ``"="`` ratable. ``when_short``: the claim only speaks of a shortfall
    (K §3(b)). ``specific``: the claim names ``other`` itself rather than a class of
    stock ("all", "issued_after", "outstanding_on_designation").
    """

    series: str
    other: str
    relation: str
    when_short: bool
    section: str
    claim: str
    specific: bool

    def describe(self) -> str:
        words = {">": "senior to", "<": "junior to", "=": "ratable with"}[self.relation]
        short = " when assets are short" if self.when_short else ""
        return f"{self.section} puts {self.series} {words} {self.other}{short} ({self.claim})"


_CLAIM_WORDS = {
    "all": "every other class",
    "issued_after": "every series issued after it",
    "outstanding_on_designation": "the stock outstanding on its designation date",
    "common": "the common stock",
}
_SYMBOL = {"senior_to": ">", "junior_to": "<", "ratable_with": "="}
_FLIP = {">": "<", "<": ">", "=": "="}


def _key(s: SeriesState) -> tuple[Any, int]:
    return (s.terms.designated, s.designated_seq)


def _targets(st: IssuerState, s: SeriesState, relation: str, to: str) -> tuple[list[str], bool]:
    """The classes a claim speaks of, and whether it names them directly.

    ``ratable_with all`` means the other *preferred* (Series K §3(b): "all other outstanding
    shares of Preferred Stock"); ``senior_to all`` includes common (Series M §3(a)).
    """
    others = [o for o in st.series.values() if o is not s]
    if to == COMMON:
        return [COMMON], True
    if to == "all":
        names = [o.name for o in others]
        return (names if relation == "ratable_with" else names + [COMMON]), False
    if to == "issued_after":
        return [o.name for o in others if _key(o) > _key(s)], False
    if to == "outstanding_on_designation":
        return [o.name for o in others if _key(o) < _key(s)], False
    return ([to] if to in st.series and to != s.name else []), True


def statements(st: IssuerState) -> list[Statement]:
    """Every pairwise statement of every designated series' claims.

    Within one certificate a claim naming a class directly overrides a general claim on
    the same pair (Series K §3(a): "Notwithstanding the foregoing … until … Series H").
    """
    out: list[Statement] = []
    for s in sorted(st.series.values(), key=_key):
        mine: list[Statement] = []
        for c in s.terms.seniority_claims:
            names, specific = _targets(st, s, c.relation, c.to)
            pref = (c.relation, c.to) == ("ratable_with", "all")
            what = "every other series of preferred" if pref else _CLAIM_WORDS.get(c.to, c.to)
            claim = f"{s.name} {c.relation.replace('_', ' ')} {what}"
            mine += [Statement(s.name, n, _SYMBOL[c.relation], c.when_short,
                               c.section or f"Series {s.name}", claim, specific)
                     for n in names]
        for stmt in mine:
            overridden = not stmt.specific and any(
                o.specific and o.other == stmt.other and o.when_short == stmt.when_short
                for o in mine)
            if not overridden:
                out.append(stmt)
    return out


def _about(stmts: Sequence[Statement], a: str, b: str) -> str | None:
    """What the statements of ``a``'s certificate say of ``a`` versus ``b`` (no shortfall
    clauses), specific claims first."""
    found = [s for s in stmts if s.series == a and s.other == b and not s.when_short]
    found.sort(key=lambda s: not s.specific)
    return found[0].relation if found else None


def default_order(st: IssuerState) -> Order:
    """SPEC.md §8 Reading: where two certificates conflict the later one governs.

    Series are placed in designation order. A new series' own claims about an earlier
    one win; where it says nothing, the earlier certificate's claim about it holds; where
    neither says anything it ranks after the earlier series. It goes just below the
    lowest tier holding a series it ranks after, joining that place's tier when ratable
    with all of it. Shortfall-only clauses (K §3(b)) do not move a series; ``conflicts``
    reports them. nStor: M > H > K > G > common.
    """
    stmts = statements(st)
    tiers: list[list[str]] = []
    for s in sorted(st.series.values(), key=_key):
        rel: dict[str, str] = {}
        for tier in tiers:
            for y in tier:
                r = _about(stmts, s.name, y)
                if r is None:
                    back = _about(stmts, y, s.name)
                    r = _FLIP[back] if back is not None else "<"
                rel[y] = r
        below = [i for i, tier in enumerate(tiers) if any(rel[y] == "<" for y in tier)]
        slot = max(below) + 1 if below else 0
        if slot < len(tiers) and all(rel[y] == "=" for y in tiers[slot]):
            tiers[slot].append(s.name)
        else:
            tiers.insert(slot, [s.name])
    return tuple(tuple(t) for t in tiers)


def parse_order(text: str, st: IssuerState) -> Order:
    """An issuer's order, e.g. ``"M,H,K,G"`` or ``"M > H+K > G > common"``.

    ``,`` or ``>`` separate tiers, most senior first; ``+`` or ``=`` put series in one
    tier; a trailing ``common`` is allowed. Every designated series must appear once.
    """
    parts = [p.strip() for p in re.split(r"[,>]", text)]
    if parts and parts[-1].lower() == COMMON:
        parts = parts[:-1]
    tiers: list[tuple[str, ...]] = []
    seen: list[str] = []
    for p in parts:
        names = tuple(n.strip() for n in re.split(r"[+=]", p))
        if not p or any(not n for n in names):
            raise OrderError(f"order {text!r}: an empty tier")
        for n in names:
            if n.lower() == COMMON:
                raise OrderError(f"order {text!r}: common ranks last and can only end it")
            if n not in st.series:
                known = ", ".join(sorted(st.series)) or "none"
                raise OrderError(f"order {text!r}: unknown series {n!r} (designated: {known})")
            if n in seen:
                raise OrderError(f"order {text!r}: series {n!r} appears twice")
            seen.append(n)
        tiers.append(names)
    missing = [n for n in sorted(st.series) if n not in seen]
    if missing:
        raise OrderError(f"order {text!r} leaves out designated series {', '.join(missing)}")
    return tuple(tiers)


def resolve(st: IssuerState, order: str | Order | None = None) -> Order:
    """The order in force: the issuer's setting if given, else ``default_order``."""
    if order is None:
        return default_order(st)
    if isinstance(order, str):
        return parse_order(order, st)
    return parse_order(",".join("+".join(t) for t in order), st)


def order_text(order: Order) -> str:
    return " > ".join([" = ".join(t) for t in order] + [COMMON])


def _rank(order: Order, name: str) -> int:
    if name == COMMON:
        return len(order)
    for i, tier in enumerate(order):
        if name in tier:
            return i
    return len(order)


def _holds(order: Order, stmt: Statement) -> bool:
    a, b = _rank(order, stmt.series), _rank(order, stmt.other)
    return {">": a < b, "<": a > b, "=": a == b}[stmt.relation]


def _clash(x: Statement, y: Statement) -> bool:
    """Whether two statements about the same pair cannot both hold."""
    rx = x.relation if x.series == y.series else _FLIP[x.relation]
    return rx != y.relation


@dataclass(frozen=True)
class SeniorityConflict:
    """Two certificate claims that cannot both hold (SPEC.md §8: ``check`` lists them)."""

    pair: tuple[str, str]
    first: Statement
    second: Statement
    order: Order
    follows: tuple[str, ...]

    kind = "seniority_conflict"

    @property
    def sections(self) -> tuple[str, str]:
        return (self.first.section, self.second.section)

    @property
    def series(self) -> tuple[str, ...]:
        return tuple(n for n in self.pair if n != COMMON)

    def __str__(self) -> str:
        a, b = self.pair
        ra, rb = _rank(self.order, a), _rank(self.order, b)
        ranks = (f"ranks {a} and {b} in one tier" if ra == rb else
                 f"ranks {a if ra < rb else b} above {b if ra < rb else a}")
        follows = (f"follows {' and '.join(self.follows)}" if self.follows
                   else "follows neither")
        return (f"seniority conflict {a}/{b}: {self.first.describe()}; but "
                f"{self.second.describe()}; the order {order_text(self.order)} {ranks} "
                f"({follows})")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "series": list(self.pair),
                "sections": list(self.sections),
                "claims": [self.first.describe(), self.second.describe()],
                "order": order_text(self.order), "follows": list(self.follows),
                "message": str(self)}


def conflicts(st: IssuerState, order: str | Order | None = None) -> list[SeniorityConflict]:
    """Every pair of conflicting claims with their certificate sections (SPEC.md §8, §10
    ``check``), each saying which one the resolved order follows."""
    resolved = resolve(st, order)
    stmts = statements(st)
    rank = {s.name: _key(s) for s in st.series.values()}
    by_pair: dict[tuple[str, str], list[Statement]] = {}
    for s in stmts:
        pair = tuple(sorted((s.series, s.other), key=lambda n: (n == COMMON, rank.get(n), n)))
        by_pair.setdefault(pair, []).append(s)  # type: ignore[arg-type]
    out: list[SeniorityConflict] = []
    for pair, group in by_pair.items():
        for i, x in enumerate(group):
            for y in group[i + 1:]:
                if _clash(x, y):
                    follows = tuple(s.section for s in (x, y) if _holds(resolved, s))
                    out.append(SeniorityConflict(pair, x, y, resolved, follows))
    return out
