"""The import plan: the events an OCF package stands for, in load order, and the check
after their replay (SPEC.md §6, §10 ``import-ocf``).

The planned events are sorted into load order, given the issuer stream, and checked for
ids used twice. After a pure replay, what the ledger derives (conversion-ratio
adjustments, automatic conversions) must match the OCF objects that show it. A problem
found on an event (by line) is mapped back to the file, object and field it came from.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.ocf.context import ImportContext, Origin, Planned, Skipped, ocf_problem
from ledger.problems import LedgerError, Problem
from ledger.state import IssuerState
from ledger.values import ZERO, plain


@dataclass
class ImportPlan:
    """The events an OCF package stands for, in load order, with their origins."""

    issuer: str
    events: list[dict[str, Any]]
    origins: list[Origin]
    notes: list[str]
    #: reported, not rejected: checksums, unknown fields, dangling references, ...
    warnings: list[Problem] = field(default_factory=list)
    #: every object not imported, with its shares and the reason
    skipped: list[Skipped] = field(default_factory=list)
    #: stock class id -> series ("common" for the common stock)
    series_of: dict[str, str] = field(default_factory=dict)
    #: stakeholder id -> holder name
    holder_of: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [json.dumps(e, ensure_ascii=False) + "\n" for e in self.events]

    def report(self) -> dict[str, Any]:
        """What was not imported and why, and the warnings (``--json``)."""
        return {"warnings": [p.to_json() for p in self.warnings],
                "not_imported": [s.to_json() for s in self.skipped]}


class ImportRejected(LedgerError):
    """A package refused: its problems, and what is not imported because of them."""

    def __init__(self, problems: list[Problem], warnings: list[Problem],
                 skipped: list[Skipped]) -> None:
        super().__init__(problems)
        self.warnings = warnings
        self.skipped = skipped


def make_plan(ctx: ImportContext) -> ImportPlan:
    """The planned events in load order, for the issuer stream asked for, else the one
    the package was exported from, else ``default``."""
    issuer = ctx.issuer or ctx.manifest_issuer or "default"
    approvals(ctx)
    planned = sorted(ctx.planned, key=lambda p: p.key)
    events: list[dict[str, Any]] = []
    origins: list[Origin] = []
    seen: dict[str, Origin] = {}
    for p in planned:
        ev = {k: v for k, v in p.event.items() if not k.startswith("_")}
        requested = p.event.get("_requested")
        if requested is not None:
            ev["shares"] = requested
        ev["issuer"] = issuer
        eid = ev.get("id")
        if isinstance(eid, str):
            if eid in seen:
                ctx.problem(p.origin.file, p.origin.object_id, "id", f"event id {eid!r} "
                            f"is used twice (also by {seen[eid].object_id!r})")
                continue
            seen[eid] = p.origin
        events.append(ev)
        origins.append(p.origin)
    return ImportPlan(issuer, events, origins, ctx.notes, ctx.warnings, ctx.skipped,
                      {cid: c.series for cid, c in ctx.classes.items()
                       if c.common or c.terms is not None}, dict(ctx.stakeholders))


def approvals(ctx: ImportContext) -> None:
    """An automatic conversion (K, SPEC.md §6) is derived from the approval listing its
    trigger; a package without that approval gets one on the conversion date."""
    have = {(p.event.get("effective_date"), m) for p in ctx.planned
            if p.event.get("type") == "ShareholderApproval"
            for m in p.event.get("matters", [])}
    done: set[tuple[str, str]] = set()
    for (when, series, _), (_, origin) in sorted(ctx.expected_auto.items()):
        terms = next(c.terms for c in ctx.classes.values()
                     if c.terms is not None and c.terms.series == series)
        trigger = terms.conversion_trigger or ""
        k = (when.isoformat(), trigger)
        if k in have or k in done:
            continue
        done.add(k)
        ctx.planned.append(Planned(
            {"type": "ShareholderApproval", "effective_date": when.isoformat(),
             "matters": [trigger], "id": f"ocf:approval:{series}:{when}",
             "memo": f"from the OCF automatic conversion of Series {series}"},
            (when, 2, -1), Origin(origin.file, origin.object_id,
                                  {"effective_date": "date", "matters": "date"})))


def check_derived(ctx: ImportContext, st: IssuerState) -> None:
    """The OCF objects the ledger derives must match what it derives (SPEC.md §6)."""
    for when, series, rate, origin in ctx.expected_adjust:
        s = st.series.get(series)
        adjs = [a for a in (s.adjustments if s else []) if a.effective == when]
        if not any(a.rate_after == rate or abs(a.rate_after - rate) < Decimal("1e-10")
                   for a in adjs):
            got = ", ".join(plain(a.rate_after) for a in adjs) or "none"
            ctx.problem(origin.file, origin.object_id, "new_ratio_conversion_mechanism.ratio",
                        f"Series {series} to {plain(rate)} common per share on {when}, but "
                        f"the ledger derives {got} that day from the imported events "
                        "(anti-dilution and split adjustments are derived, not imported)")
    by_event: dict[str, Decimal] = {}
    for c in st.conversions:
        if c.event_id is not None:
            by_event[c.event_id] = by_event.get(c.event_id, ZERO) + c.common
    for eid, (common, origin) in ctx.expected_common.items():
        if eid in by_event and by_event[eid] != common:
            ctx.problem(origin.file, origin.object_id, "resulting_security_ids",
                        f"the resulting common securities hold {plain(common)}, but the "
                        f"ledger converts these shares into {plain(by_event[eid])} common at the "
                        "series' conversion rate (check the terms given)")
    derived: dict[tuple[dt.date, str, str], Decimal] = {}
    for c in st.conversions:
        if c.automatic:
            k = (c.effective, c.series, c.holder)
            derived[k] = derived.get(k, ZERO) + c.shares
    for k, (shares, origin) in ctx.expected_auto.items():
        if derived.get(k, ZERO) != shares:
            ctx.problem(origin.file, origin.object_id, "quantity_converted",
                        f"{plain(shares)} Series {k[1]} of {k[2]} converted "
                        f"automatically on {k[0]}, but the ledger derives "
                        f"{plain(derived.get(k, ZERO))} from the imported events")


def map_problems(problems: Iterable[Problem], plan: ImportPlan) -> list[Problem]:
    """Problems found on the plan's events (by line) as problems of the OCF objects."""
    out = []
    for p in problems:
        if 1 <= p.line <= len(plan.origins):
            o = plan.origins[p.line - 1]
            ev = plan.events[p.line - 1]
            out.append(ocf_problem(o.file, o.object_id, o.field_for(p.field),
                                   f"{ev.get('type')}: {p.message}"))
        else:
            out.append(ocf_problem("(ledger)", p.event, p.field or "(event)", p.message))
    return out
