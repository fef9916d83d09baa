"""OCF stock classes -> the common stock and the series with their terms (SPEC.md §4,
§10 ``import-ocf``).

A ``COMMON`` class is the ledger's one common stock. A ``PREFERRED`` class becomes a
``SeriesDesignated`` event; the series terms OCF lacks (stated value, dividends,
redemption, anti-dilution) come from ``--terms`` or from the ``prefledger:terms`` line of
a package prefledger exported, else they are reported missing; what OCF does carry
(authorized shares, par, base conversion ratio) must agree with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from ledger.ocf.comments import machine_lines, ref
from ledger.ocf.context import ClassInfo, ImportContext, Item, Origin, Planned, day, event_id
from ledger.ocf.schema import is_numeric, ratio_value
from ledger.terms import Terms, load_terms_ref
from ledger.values import plain


def read_classes(ctx: ImportContext, items: Iterable[Item]) -> None:
    for it in items:
        read_class(ctx, it)


def match_terms(ctx: ImportContext, it: Item, hint: str | None) -> Terms | None:
    """The ``--terms`` for a class: by series (the embedded terms' series, the class id
    or its id prefix) or by name."""
    name = it.obj.get("name")
    prefix = it.obj.get("default_id_prefix")
    keys = {hint, it.id, prefix.rstrip("-_ ") if isinstance(prefix, str) else None}
    for t in ctx.given:
        if t.series in keys or (t.name and t.name == name):
            return t
    return None


def read_class(ctx: ImportContext, it: Item) -> None:
    o, cid = it.obj, it.id
    if cid in ctx.classes:
        ctx.problem(it.file, cid, "id", "two stock classes have this id")
        return
    lines = machine_lines(ctx, it.file, cid, o.get("comments"))
    if o.get("class_type") == "COMMON":
        if ctx.common_id is not None:
            ctx.problem(it.file, cid, "class_type", f"a second common class; prefledger "
                        f"keeps one common stock (the first is {ctx.common_id!r})")
            return
        ctx.common_id = cid
        ctx.classes[cid] = ClassInfo(cid, True)
        return
    embedded: Terms | None = None
    for i, obj in lines.get("terms", []):
        try:
            embedded = Terms.model_validate(obj)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"])
                ctx.problem(it.file, cid, f"comments[{i}].terms.{loc}", err["msg"])
            ctx.classes[cid] = ClassInfo(cid, False, None)
            return
    given = match_terms(ctx, it, embedded.series if embedded else None)
    terms = given or embedded
    info = ClassInfo(cid, False, terms)
    ctx.classes[cid] = info
    if terms is None:
        ctx.problem(it.file, cid, "comments", f"no prefledger terms for preferred class "
                    f"{str(o.get('name'))[:80]!r}: OCF 1.2.0 has no field for the stated "
                    "value, dividend, redemption or anti-dilution terms; give them with "
                    "--terms FILE (a Terms JSON whose series or name matches the class)")
        return
    if any(c.terms is not None and c is not info and c.terms.series == terms.series
           for c in ctx.classes.values()):
        ctx.problem(it.file, cid, "name", f"a second class for Series {terms.series}")
        info.terms = None
        return
    check_class(ctx, it, terms)
    seq, partial, _ = ref(lines)
    designation(ctx, it, terms, seq, partial)


def check_class(ctx: ImportContext, it: Item, t: Terms) -> None:
    """What OCF carries must agree with the terms (SPEC.md §4)."""
    o = it.obj
    auth = o.get("initial_shares_authorized")
    if is_numeric(auth) and Decimal(auth) != t.authorized_shares:
        ctx.problem(it.file, it.id, "initial_shares_authorized",
                    f"{auth} but the Series {t.series} terms authorize "
                    f"{plain(t.authorized_shares)}")
    par = o.get("par_value")
    amount = par.get("amount") if isinstance(par, dict) else None
    if is_numeric(amount) and Decimal(amount) != t.par_value:
        ctx.problem(it.file, it.id, "par_value.amount", f"{amount} but the Series "
                    f"{t.series} terms have par {plain(t.par_value)}")
    rights = o.get("conversion_rights")
    rights = rights if isinstance(rights, list) else []
    base = t.base_conversion_rate
    if t.conversion == "none" or base is None:
        if rights:
            ctx.problem(it.file, it.id, "conversion_rights", f"the Series {t.series} "
                        "terms are not convertible")
        return
    if not rights:
        ctx.problem(it.file, it.id, "conversion_rights", f"missing: the Series "
                    f"{t.series} terms convert at {plain(base)} common per share")
        return
    mech = rights[0].get("conversion_mechanism") if isinstance(rights[0], dict) else None
    value = ratio_value(mech.get("ratio")) if isinstance(mech, dict) else None
    if value is None or value != base:
        ctx.problem(it.file, it.id, "conversion_rights[0].conversion_mechanism.ratio",
                    f"ratio {plain(value) if value is not None else 'missing'} but the "
                    f"Series {t.series} terms convert at {plain(base)} common per share")


def designation(ctx: ImportContext, it: Item, t: Terms, seq: int | None,
                partial: dict[str, Any]) -> None:
    """The ``SeriesDesignated`` event of a preferred class: by ``terms_ref`` when the
    reference still names these very terms, else with the terms inline."""
    ev = dict(partial)
    ev.pop("issuer", None)
    ev["type"] = "SeriesDesignated"
    ev["series"] = t.series
    ev["id"] = event_id(partial, it.id)
    approved = it.obj.get("board_approval_date")
    ev.setdefault("effective_date", approved if isinstance(approved, str)
                  else t.designated.isoformat())
    terms_ref = ev.pop("terms_ref", None)
    ev.pop("terms", None)
    same = False
    if isinstance(terms_ref, str):
        try:
            same = load_terms_ref(terms_ref) == t
        except (KeyError, ValueError):
            same = False
    if same:
        ev["terms_ref"] = terms_ref
    else:
        ev["terms"] = t.model_dump(mode="json")
    when = day(ev["effective_date"])
    order = (when, 1, seq) if seq is not None else (when, 0, it.index)
    ctx.planned.append(Planned(ev, order, Origin(
        it.file, it.id, {"effective_date": "board_approval_date", "terms": "comments",
                         "terms_ref": "comments", "series": "name"})))
