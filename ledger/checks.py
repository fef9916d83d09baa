"""``check``: findings about an issuer's ledger as of a date (SPEC.md §5, §8, §10).

Every check is a pure function ``(state, as_of) -> list[Finding]`` over the replayed
``IssuerState``; ``check`` runs every function in ``CHECKS``. A finding is a fact to
review, never a rejection: the events stay stored (SPEC.md §5 Priority). Exit code 1
when there is any (§10).

Add a check by appending to ``CHECKS`` (or decorating with ``@register``), e.g. the
§8 seniority conflicts from ``ledger.seniority``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.state import IssuerState, Payment, SeriesState
from ledger.values import money_str

#: finding kinds made here (others may register more)
UNRECORDED_MISS = "unrecorded_miss"
DIVIDEND_PRIORITY = "dividend_priority"


@dataclass(frozen=True)
class Finding:
    """One ``check`` finding: what, when, which series, and a message saying why."""

    kind: str
    message: str
    date: dt.date | None = None
    series: str | None = None
    #: the other series involved (the one whose claim is breached), if any
    related: str | None = None
    event_id: str | None = None
    amount: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "date": self.date.isoformat() if self.date else None,
            "series": self.series,
            "related": self.related,
            "event_id": self.event_id,
            "amount": None if self.amount is None else money_str(self.amount),
            "message": self.message,
        }


CheckFn = Callable[[IssuerState, dt.date], list[Finding]]


def unrecorded_misses(st: IssuerState, as_of: dt.date) -> list[Finding]:
    """SPEC.md §5 Missed: every payment date ``<= as_of`` with arrears at its end and no
    ``DividendMissed`` record applied as of ``as_of``."""
    out = []
    for s in st.series.values():
        for p in s.missed_dates:
            if p > as_of or p in s.recorded_misses:
                continue
            arrears = s.missed_arrears.get(p)
            owed = (f", leaving arrears of {money_str(arrears)} at the end of the day"
                    if arrears else "")
            out.append(Finding(
                UNRECORDED_MISS,
                f"The payment date {p} of Series {s.name} was missed{owed}, and no "
                "DividendMissed records it.",
                date=p, series=s.name, amount=arrears))
    return out


_PRIORITY_WORDS = {
    "all": "any other class of capital stock now or hereafter outstanding",
    "outstanding_on_designation": "any other class of capital stock outstanding on its "
                                  "designation date",
}


def claims_priority(claimant: SeriesState, other: SeriesState) -> bool:
    """Whether ``claimant``'s certificate puts its arrears before dividends on ``other``.

    SPEC.md §5 Priority, term ``dividend_priority``: ``all`` covers every other series
    (G §2(a), M §2 "now or hereafter outstanding"); ``outstanding_on_designation``
    covers the series designated before the claimant (H §2 "outstanding on the date
    hereof"); ``none`` covers nothing.
    """
    if claimant is other:
        return False
    claim = claimant.terms.dividend_priority
    if claim == "all":
        return True
    if claim == "outstanding_on_designation":
        return other.designated_seq < claimant.designated_seq
    return False


def _priority_message(p: Payment, claimant: SeriesState, arrears: Decimal) -> str:
    who = f" to {p.holder!r}" if p.holder else ""
    ev = f" (event {p.event_id})" if p.event_id else ""
    cite = claimant.terms.citations.get("dividend_priority", "")
    source = f" ({cite.split(':', 1)[0]})" if ":" in cite else ""
    words = _PRIORITY_WORDS.get(claimant.terms.dividend_priority, "other stock")
    return (f"Series {claimant.name}'s terms{source} put its dividend arrears ahead of any "
            f"dividend on {words}, yet {money_str(p.amount)} was paid on Series {p.series}"
            f"{who} on {p.effective}{ev} while Series {claimant.name} had arrears of "
            f"{money_str(arrears)}.")


def dividend_priority(st: IssuerState, as_of: dt.date) -> list[Finding]:
    """SPEC.md §5 Priority: every dividend paid to one series, dated ``<= as_of``, while
    another series whose certificate claims priority over it had arrears (at the payment's
    place in that day's order)."""
    out = []
    for p in st.payments:
        if p.effective > as_of:
            continue
        paid = st.series.get(p.series)
        if paid is None:  # pragma: no cover - payments name designated series
            continue
        for name, arrears in p.others_arrears:
            claimant = st.series.get(name)
            if claimant is None or not claims_priority(claimant, paid):
                continue
            out.append(Finding(DIVIDEND_PRIORITY, _priority_message(p, claimant, arrears),
                               date=p.effective, series=p.series, related=name,
                               event_id=p.event_id, amount=p.amount))
    return out


#: every check ``check`` runs, in order; extend with ``register`` (e.g. seniority, §8)
SENIORITY_CONFLICT = "seniority_conflict"
NOTE = "note"


def seniority_conflicts(st: IssuerState, as_of: dt.date) -> list[Finding]:
    """SPEC.md §8: every pair of conflicting liquidation claims of the series designated
    as of ``as_of``, with both certificate sections and the order that settles them."""
    from ledger.seniority import conflicts

    return [Finding(SENIORITY_CONFLICT, _conflict_message(c), None, c.pair[0], c.pair[1])
            for c in conflicts(st)]


def _conflict_message(c: Any) -> str:
    """A ``ledger.seniority.SeniorityConflict`` as a sentence: both claims with their
    sections, and the order that settles them."""
    from ledger.seniority import order_text

    a, b = c.pair

    def rank(name: str) -> int:
        return next((i for i, tier in enumerate(c.order) if name in tier), len(c.order))

    ranks = (f"ranks {a} and {b} in one tier" if rank(a) == rank(b) else
             f"ranks {a if rank(a) < rank(b) else b} above {b if rank(a) < rank(b) else a}")
    follows = (f"following {' and '.join(c.follows)}" if c.follows
               else "following neither claim")
    return (f"The liquidation claims of {a} and {b} conflict: {c.first.describe()}, but "
            f"{c.second.describe()}. The order {order_text(c.order)} {ranks}, {follows}.")


def ledger_notes(st: IssuerState, as_of: dt.date) -> list[Finding]:
    """SPEC.md §11 Conversion and §7: fractions of common dropped for want of a
    ``market_price``, and redemptions cut short by ``funds_available`` (DGCL §160),
    are reported."""
    return [Finding(NOTE, n) for n in st.notes]


LOOKALIKE_HOLDERS = "lookalike_holders"


def lookalike_holders(st: IssuerState, as_of: dt.date) -> list[Finding]:
    """README Guarantees (look-alike names): every pair of the issuer's holder names,
    across all its series, that differ as written but are equal after NFKC, case folding
    and the Unicode confusables skeleton (``ledger.names.lookalike_keys``), e.g.
    ``Maple Fund`` and ``Mаple Fund`` with a Cyrillic а: maybe one holder written two
    ways, maybe an impostor. The finding names both and the code points that differ."""
    from ledger.names import code_point, first_difference, lookalike_keys

    groups: dict[tuple[int, str], list[str]] = {}
    for name in sorted(st.holders):
        for k, key in enumerate(lookalike_keys(name)):
            groups.setdefault((k, key), []).append(name)
    pairs: dict[tuple[str, str], None] = {}
    for names in groups.values():  # each against the first of its group: n - 1, not n²
        for y in names[1:]:
            pairs.setdefault((names[0], y), None)
    out = []
    for x, y in pairs:
        at, cx, cy = first_difference(x, y)
        here = (f"{code_point(cx) if cx else 'nothing'} against "
                f"{code_point(cy) if cy else 'nothing'}")
        out.append(Finding(
            LOOKALIKE_HOLDERS,
            f"The holder names {x!r} and {y!r} look alike but are different "
            f"names: they differ at character {at}, {here}. Check whether they are one "
            "holder."))
    return out


CHECKS: list[CheckFn] = [unrecorded_misses, dividend_priority, seniority_conflicts,
                         ledger_notes, lookalike_holders]


def register(fn: CheckFn) -> CheckFn:
    """Add ``fn`` to ``CHECKS`` (once); usable as a decorator."""
    if fn not in CHECKS:
        CHECKS.append(fn)
    return fn


def check(st: IssuerState, as_of: dt.date,
          checks: list[CheckFn] | None = None) -> list[Finding]:
    """Every finding of every check as of the end of ``as_of`` (SPEC.md §10 ``check``),
    dated findings by date, then undated ones, each group in check order."""
    found: list[Finding] = []
    for fn in CHECKS if checks is None else checks:
        found.extend(fn(st, as_of))
    return sorted(found, key=lambda f: (f.date is None, f.date or dt.date.min))
