"""CLI commands for conversions (registered by ``ledger.cli.program``).

``conversions --series S``: SPEC.md §10, the conversion-rate adjustments of a series
with their A, B, C (§6), plus its conversions and redemptions (§7).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from ledger.cli.options import (
    AsRecordedOpt,
    Commands,
    IssuerOpt,
    JsonOpt,
    LastDayOpt,
    Table,
    emit_json,
    out,
    series_report,
)


def _short(v: str | None, places: int = 6) -> str:
    """A long rate or factor, shortened for the table (the JSON keeps every digit)."""
    if v is None:
        return "—"
    d = Decimal(v)
    if d == d.to_integral_value() or len(v) <= places + 8:
        return v
    return f"{d:.{places}f}…"

_PRICE_BASED = ("full_ratchet", "narrow_weighted", "broad_weighted")


def _triggers(triggers: list[dict[str, Any]]) -> str:
    """The mandatory-conversion triggers in words, first one met converts."""
    words = []
    for tr in triggers:
        if "approval" in tr:
            words.append(f"on approval of {tr['approval']!r}")
        elif "date" in tr:
            words.append(f"on {tr['date']}")
        else:
            m = tr["public_offering"]
            cond = [f"price ≥ {m['min_price']}" if m.get("min_price") else "",
                    f"gross proceeds ≥ {m['min_gross_proceeds']}"
                    if m.get("min_gross_proceeds") else ""]
            words.append("on a public offering" + (f" ({', '.join(c for c in cond if c)})"
                                                   if any(cond) else ""))
    return " or ".join(words)


COMMANDS = Commands()


@COMMANDS()
def conversions(
    series: Annotated[str, typer.Option("--series", help="series name, e.g. H")],
    issuer: IssuerOpt = None,
    as_of: LastDayOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Conversion-rate adjustments with A, B, C; conversions and redemptions."""
    from ledger.api import Ledger

    rep = series_report(Ledger.conversions, series, issuer, as_of, as_recorded)
    if as_json:
        emit_json(rep)
    else:
        print_conversions(rep)


def print_conversions(rep: dict[str, Any]) -> None:
    head = (f"Series {rep['series']} ({rep['issuer']}) as of {rep['as_of']}: conversion "
            f"{rep['conversion']}, base rate {rep['base_rate'] or '—'}, rate now "
            f"{rep['conversion_rate'] or '—'}, threshold {rep['threshold'] or '—'}")
    if rep["antidilution"] != "threshold" and rep["antidilution"] != "none":
        head += (f", anti-dilution {rep['antidilution'].replace('_', ' ')}, conversion price "
                 f"now {_short(rep['conversion_price'])}")
    if rep["mandatory_conversion"]:
        head += f", mandatory conversion {_triggers(rep['mandatory_conversion'])}"
        if rep["converted_on"]:
            head += f" (converted on {rep['converted_on']})"
    if rep["window_opens"]:
        head += f", convertible from {rep['window_opens']}"
    out.print(head, highlight=False)
    priced = [a for a in rep["adjustments"] if a["method"] in _PRICE_BASED]
    if priced:
        p = Table(title="conversion-price adjustments: full ratchet CP' = P; weighted "
                  "CP' = CP × (A + B) / (A + C), B = consideration ÷ CP")
        for label in ("date", "cause", "method", "P", "CP before", "CP after", "A", "B", "C",
                      "rate after"):
            p.add_column(label, justify="left" if label in ("date", "cause", "method")
                         else "right")
        for a in priced:
            p.add_row(a["date"], a["cause"], a["method"].replace("_", " "),
                      _short(a["price_per_common"]), _short(a["conversion_price_before"]),
                      _short(a["conversion_price_after"]), _short(a["A"], 2),
                      _short(a["B"], 2), _short(a["C"], 2), _short(a["rate_after"]))
        out.print(p)
    rest = [a for a in rep["adjustments"] if a["method"] not in _PRICE_BASED]
    if rest:
        t = Table(title="conversion-rate adjustments: rate × (A + C) / (A + B), "
                  "B = consideration ÷ threshold")
        for label in ("date", "cause", "A", "B", "C", "factor", "rate before", "rate after"):
            t.add_column(label, justify="left" if label in ("date", "cause") else "right")
        for a in rest:
            t.add_row(a["date"], a["cause"], a["A"] or "—", _short(a["B"], 2), a["C"] or "—",
                      _short(a["factor"], 8), _short(a["rate_before"]),
                      _short(a["rate_after"]))
        out.print(t)
    if not rep["adjustments"]:
        out.print("no conversion-rate adjustments", highlight=False)
    if rep["conversions"]:
        c = Table(title="conversions")
        for label in ("date", "holder", "shares", "rate", "common", "fraction",
                      "cash in lieu", "dividends payable", "automatic"):
            c.add_column(label, justify="left" if label in ("date", "holder") else "right")
        for r in rep["conversions"]:
            c.add_row(r["date"], r["holder"], r["shares"], _short(r["rate"]), r["common"],
                      _short(r["fraction"]), r["cash_in_lieu"] or "—", r["dividends_payable"],
                      "yes" if r["automatic"] else "no")
        out.print(c)
    if rep["redemptions"]:
        r_t = Table(title="redemptions")
        for label in ("date", "holder", "requested", "shares", "price/share", "funds",
                      "stated", "accrued", "arrears", "paid"):
            r_t.add_column(label, justify="left" if label in ("date", "holder") else "right")
        for r in rep["redemptions"]:
            r_t.add_row(r["date"], r["holder"], r["requested"] or "—", r["shares"],
                        r["price_per_share"], r["funds_available"] or "—", r["stated"],
                        r["accrued"], r["arrears"], r["paid"])
        out.print(r_t)
    if rep["cancellations"]:
        x = Table(title="cancellations")
        for label in ("date", "holder", "shares", "reason", "paid", "arrears extinguished",
                      "accrual extinguished"):
            x.add_column(label, justify="left" if label in ("date", "holder", "reason")
                         else "right")
        for r in rep["cancellations"]:
            x.add_row(r["date"], r["holder"], r["shares"], r["reason"], r["paid"] or "—",
                      r["arrears_extinguished"], r["accrued_extinguished"])
        out.print(x)
    if rep["notices"]:
        n = Table(title="pending redemption notices")
        for label in ("holder", "notice date", "redemption date", "shares"):
            n.add_column(label, justify="left" if label != "shares" else "right")
        for r in rep["notices"]:
            n.add_row(r["holder"], r["notice_date"], r["redemption_date"], r["shares"])
        out.print(n)
