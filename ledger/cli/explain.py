"""``explain FIGURE``: how a figure of the position was made, step by step, each step
naming the events it comes from (registered by ``ledger.cli.program``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.cli.options import (
    AsRecordedOpt,
    Commands,
    CsvOpt,
    IssuerOpt,
    JsonOpt,
    Table,
    choose_issuer,
    emit_csv,
    emit_json,
    fail,
    open_ledger,
    out,
    output_format,
    parse_day,
    parse_recorded,
)

COMMANDS = Commands()

#: how each combine rule reads in words
_COMBINE = {"sum": "the sum of the amounts", "product": "the product of the amounts",
            "last": "the last step's amount", "none": "the figure does not apply"}


@COMMANDS()
def explain(
    figure: Annotated[str, typer.Argument(
        help="shares, accrued_unpaid, arrears, dividends_payable, dividend_rate, "
             "conversion_rate, votes, redemption_price_per_share or liquidation_preference",
        show_default=False)],
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, end of day")],
    series: Annotated[str, typer.Option("--series", help="series name, or common")],
    holder: Annotated[str | None, typer.Option("--holder", help="one holder's figure")] = None,
    issuer: IssuerOpt = None,
    as_recorded: AsRecordedOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """How a figure was made, step by step, each step naming its events."""
    from projections.explain import ExplainError, arithmetic

    fmt = output_format(as_json, as_csv)
    day = parse_day(as_of, "--as-of")
    t = parse_recorded(as_recorded)
    with open_ledger() as lg:
        who = choose_issuer(lg, issuer)
        try:
            ex = lg.explain(figure, series, day, holder, who, t)
        except ExplainError as exc:
            option = "FIGURE" if exc.option == "figure" else f"--{exc.option}"
            raise fail(2, f"error: {option}: {exc}") from None
    rep = ex.to_json()
    rep["as_recorded"] = t.isoformat() if t else None
    texts = [arithmetic(s) for s in ex.steps]
    if fmt == "json":
        emit_json(rep)
    elif fmt == "csv":
        emit_csv(_rows(rep, texts), first=("figure", "series", "holder", "as_of", "value",
                                           "step", "kind", "date", "event_ids"))
    else:
        _print(rep, texts)


def _rows(rep: dict[str, Any], texts: list[str]) -> list[dict[str, Any]]:
    """One CSV row per step: the figure's columns, the step's number and fields (the
    holder a step is about as ``step_holder``), its amount and its arithmetic in words."""
    head = {k: rep[k] for k in ("figure", "series", "holder", "as_of", "value", "combine")}
    rows = []
    for n, (step, text) in enumerate(zip(rep["steps"], texts, strict=True), 1):
        fields = {("step_holder" if k == "holder" else k): v for k, v in step.items()}
        rows.append({**head, "step": str(n), **fields, "arithmetic": text})
    return rows


def _short(amount: str | None) -> str:
    """An amount for the table: as the JSON writes it, an unrounded one shortened to six
    decimals and marked … (the JSON and CSV keep every digit)."""
    if amount is None:
        return "—"
    whole, _, frac = amount.partition(".")
    return amount if len(frac) <= 6 else f"{whole}.{frac[:6]}…"


def _print(rep: dict[str, Any], texts: list[str]) -> None:
    who = f", holder {rep['holder']}" if rep["holder"] is not None else ""
    what = "common" if rep["series"] == "common" else f"Series {rep['series']}"
    title = f"{rep['figure']} of {what}{who} ({rep['issuer']}) as of {rep['as_of']}"
    if rep.get("as_recorded"):
        title += f" (as recorded {rep['as_recorded']})"
    out.print(f"{title}: {rep['value'] if rep['value'] is not None else 'null'}",
              highlight=False)
    kinds: dict[str, list[int]] = {}
    for i, s in enumerate(rep["steps"]):
        kinds.setdefault(s["kind"], []).append(i)
    with_holder = rep["holder"] is None and any(s.get("holder") is not None
                                                for s in rep["steps"])
    for kind, idx in kinds.items():
        t = Table(title=f"{kind.replace('_', ' ')} ({len(idx)})")
        for label in ("#", "date", "events") + (("holder",) if with_holder else ()) + (
                "arithmetic", "amount"):
            t.add_column(label, justify="right" if label in ("#", "amount") else "left")
        for i in idx:
            s = rep["steps"][i]
            row = [str(i + 1), s["date"] or "—", ", ".join(s["event_ids"]) or "—"]
            if with_holder:
                row.append(s.get("holder") or "—")
            row += [texts[i], _short(s["amount"])]
            t.add_row(*row)
        out.print(t)
    if rep["combine"] == "none":
        out.print("the figure does not apply to this series (null)", highlight=False)
    else:
        out.print(f"{rep['figure']} = {_COMBINE[rep['combine']]} = {rep['value']}",
                  highlight=False)
