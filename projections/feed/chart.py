"""``prefledger chart --to FILE.png``: the ledger over time, from the projections.

Four panels sharing the date axis, one step line per series: shares outstanding
(``series_balances``), dividend rate (``rate_history``, SPEC.md §5 Step-up), dividends
in arrears (``series_balances``) and conversion rate (``conversion_rates``, §6).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from projections.tables import Rows

Points = list[tuple[dt.date, Decimal]]

PANELS = (
    ("shares", "Preferred shares outstanding"),
    ("dividend_rate", "Dividend rate"),
    ("arrears", "Dividends in arrears ($)"),
    ("conversion_rate", "Conversion rate (common per preferred share)"),
)


def _steps(rows: list[dict[str, Any]], start: str, column: str) -> dict[str, Points]:
    out: dict[str, Points] = {}
    for r in sorted(rows, key=lambda r: (r["series"], r[start])):
        v = r[column]
        if v is None:
            continue
        pts = out.setdefault(r["series"], [])
        if pts and pts[-1][0] == r[start]:
            pts[-1] = (r[start], v)
        elif not pts or pts[-1][1] != v:
            pts.append((r[start], v))
    return out


def chart_data(tables: Rows) -> dict[str, Any]:
    """The step points of every panel: ``{panel: {series: [(date, value), ...]}}``."""
    ends = [r["through"] for r in tables["issuers"] if r.get("through")]
    return {
        "shares": _steps(tables["series_balances"], "valid_from", "outstanding"),
        "dividend_rate": _steps(tables["rate_history"], "valid_from", "rate"),
        "arrears": _steps(tables["series_balances"], "valid_from", "arrears"),
        "conversion_rate": _steps(tables["conversion_rates"], "effective_date", "rate"),
        "end": max(ends) if ends else None,
    }


def render(data: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Draw the panels into a PNG at ``path`` (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(PANELS), 1, figsize=(11, 12), sharex=True)
    end = data.get("end")
    names = sorted({s for key, _ in PANELS for s in data[key]})
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    colors = {s: cycle[i % len(cycle)] for i, s in enumerate(names)}
    for ax, (key, label) in zip(axes, PANELS, strict=True):
        for series, pts in sorted(data[key].items()):
            xs = [p[0] for p in pts]
            ys = [float(p[1]) for p in pts]
            if end is not None and xs and xs[-1] < end:
                xs.append(end)
                ys.append(ys[-1])
            ax.step(xs, ys, where="post", label=f"Series {series}", color=colors[series])
        ax.set_ylabel(label, fontsize=9)
        ax.grid(True, alpha=0.3)
        if data[key]:
            ax.legend(loc="upper left", fontsize=8)
        else:
            ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
