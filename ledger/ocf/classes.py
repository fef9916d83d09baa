"""OCF stock classes -> the common stock and the series with their terms (SPEC.md §4,
§10 ``import-ocf``).

A ``COMMON`` class is the ledger's one common stock. A ``PREFERRED`` class becomes a
``SeriesDesignated`` event; the series terms OCF lacks (stated value, dividends,
redemption, anti-dilution) come from ``--terms`` or from the ``prefledger:terms`` line of
a package prefledger exported, else they are reported missing; what OCF does carry
(authorized shares, par, base conversion ratio) must agree with them.

The stock class fields OCF 1.2.0 has for the general terms (SPEC.md §12) are read onto
the terms (``class_fields``): ``liquidation_preference_multiple`` ->
``liquidation_multiple``; ``participation_cap_multiple`` -> ``participation: "capped"``
with that ``participation_cap``; ``votes_per_share`` -> ``votes`` (``0``: none; a
convertible class: as converted; else per share with that ``votes_per_share``); the
first conversion right's ratio mechanism -> ``conversion: "elective"`` with its
``conversion_price`` when stated value ÷ price is the ratio, else its ratio as
``conversion_rate`` (``rounding_type`` ``NORMAL``: ``fractional_common: "issue"``); and
``seniority`` (higher is paid first) -> ``seniority_claims`` against the other classes.
A field the terms leave unset takes the class's value; a field they set must agree (a
problem names both). OCF has no field for full participation, the accrued dividends in
the preference, or the anti-dilution method: those stay in the terms.

A preferred class with no terms at all (a package another platform wrote, no
``--terms``) gets terms built from its fields alone (``terms_from_class``): the series is
its id prefix, designated on its board approval date, with its authorized shares, par
value (else the default 0.01, which no figure uses) and original price as the stated
value (else its conversion price), the fields
above, and no dividends, redemption or anti-dilution, since OCF cannot state them. A
note lists each assumption; ``--terms`` overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from ledger.ocf.comments import machine_lines, ref
from ledger.ocf.context import ClassInfo, ImportContext, Item, Origin, Planned, day, event_id
from ledger.ocf.schema import is_numeric, numeric_round, ratio_value
from ledger.terms import Terms, load_terms_ref
from ledger.values import CONTEXT, plain


def read_classes(ctx: ImportContext, items: Iterable[Item]) -> None:
    pending: list[tuple[Item, Planned]] = []
    for it in items:
        got = read_class(ctx, it)
        if got is not None:
            pending.append((it, got))
    seniority(ctx, pending)


#: the OCF stock class field each term read from it comes from
OCF_FIELD_TERMS = {
    "liquidation_preference_multiple": ("liquidation_multiple",),
    "participation_cap_multiple": ("participation", "participation_cap"),
    "votes_per_share": ("votes", "votes_per_share"),
    "conversion_rights[0].conversion_mechanism": ("conversion", "conversion_rate",
                                                  "conversion_price", "fractional_common"),
}


def _num(value: Any) -> Decimal | None:
    return Decimal(value) if is_numeric(value) else None


def _amount(obj: Any) -> Decimal | None:
    return _num(obj.get("amount")) if isinstance(obj, dict) else None


def _series_name(o: dict[str, Any]) -> str:
    """The series of a class without terms: its id prefix (``PS-`` -> ``PS``), else its
    name in letters and digits."""
    prefix = o.get("default_id_prefix")
    text = prefix.rstrip("-_ .") if isinstance(prefix, str) else ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_]{0,39}", text):
        name = o.get("name") if isinstance(o.get("name"), str) else ""
        text = re.sub(r"[^A-Za-z0-9]+", "_", str(name)).strip("_")[:40]
    return text or "P"


def terms_from_class(ctx: ImportContext, it: Item) -> Terms | None:
    """Terms from the OCF fields of a preferred class alone (see the module docstring);
    ``None`` with a problem when a field the ledger needs is missing."""
    o = it.obj
    auth = _num(o.get("initial_shares_authorized"))
    approved = o.get("board_approval_date") or o.get("stockholder_approval_date")
    price, conv = _amount(o.get("price_per_share")), None
    rights = o.get("conversion_rights")
    if isinstance(rights, list) and rights and isinstance(rights[0], dict):
        mech = rights[0].get("conversion_mechanism")
        conv = _amount(mech.get("conversion_price")) if isinstance(mech, dict) else None
    stated = price if price else conv
    missing = [f for f, ok in (("initial_shares_authorized", auth is not None and auth > 0),
                               ("board_approval_date", isinstance(approved, str)),
                               ("price_per_share", bool(stated))) if not ok]
    if missing:
        ctx.problem(it.file, it.id, missing[0], f"no prefledger terms for preferred class "
                    f"{str(o.get('name'))[:80]!r} and no {' or '.join(missing)} to build "
                    "them from: OCF 1.2.0 has no field for the stated value, dividend, "
                    "redemption or anti-dilution terms; give them with --terms FILE (a "
                    "Terms JSON whose series or name matches the class)")
        return None
    assert auth is not None and stated is not None
    par = _amount(o.get("par_value"))
    base = {"series": _series_name(o), "name": str(o.get("name") or "")[:200],
            "designated": approved, "authorized_shares": plain(auth),
            "stated_value": plain(stated)}
    if par:
        base["par_value"] = plain(par)
    try:
        t = Terms.model_validate(base)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            ctx.problem(it.file, it.id, ".".join(str(p) for p in err["loc"]) or "(class)",
                        f"terms built from the class: {err['msg']}")
        return None
    built = class_fields(ctx, it, t)
    if built is None:
        return None
    t = built
    ctx.notes.append(
        f"stock class {it.id[:80]!r}: Series {t.series} with terms built from its OCF "
        f"fields: stated value {plain(t.stated_value)} (from "
        f"{'price_per_share' if price else 'the conversion price'}), par "
        f"{plain(t.par_value)}{'' if par else ' (none given: the default; no figure uses it)'}"
        f", authorized "
        f"{plain(t.authorized_shares)}, designated {t.designated}, liquidation multiple "
        f"{plain(t.liquidation_multiple)}, participation "
        + (f"capped at {plain(t.participation_cap)}" if t.participation_cap
           else t.participation)
        + f", votes {t.votes}, conversion {t.conversion}"
        + (f" at {plain(t.base_conversion_rate)} common per share"
           if t.base_conversion_rate is not None else "")
        + "; no dividends, redemption or anti-dilution (OCF has no field for them): give "
        "--terms FILE to state them")
    return t


def class_fields(ctx: ImportContext, it: Item, t: Terms) -> Terms | None:
    """The terms with the class's OCF fields read onto them (see the module docstring);
    ``t`` itself when a field disagrees (reported) or nothing changes; ``None`` when the
    terms with the fields do not hold (reported once: nothing else is said of the
    class)."""
    o, set_ = it.obj, t.model_fields_set
    changes: dict[str, Any] = {}

    def agree(fld: str, got: str, have: str) -> None:
        ctx.problem(it.file, it.id, fld, f"{got} but the Series {t.series} terms have "
                    f"{have}")

    mult = _num(o.get("liquidation_preference_multiple"))
    if mult is not None:
        if "liquidation_multiple" not in set_:
            changes["liquidation_multiple"] = plain(mult)
        elif mult != t.liquidation_multiple:
            agree("liquidation_preference_multiple", plain(mult),
                  f"liquidation_multiple {plain(t.liquidation_multiple)}")
    cap = _num(o.get("participation_cap_multiple"))
    if cap is not None:
        if not {"participation", "participation_cap"} & set_:
            changes.update(participation="capped", participation_cap=plain(cap))
        elif t.participation != "capped" or t.participation_cap != cap:
            agree("participation_cap_multiple", plain(cap),
                  f"participation {t.participation!r}"
                  + (f" capped at {plain(t.participation_cap)}" if t.participation_cap
                     else ""))
    rights = o.get("conversion_rights")
    right = rights[0] if isinstance(rights, list) and rights else None
    mech = right.get("conversion_mechanism") if isinstance(right, dict) else None
    r = ratio_value(mech.get("ratio")) if isinstance(mech, dict) else None
    convertible = t.conversion != "none" or r is not None
    conv_set = {"conversion", "conversion_rate", "conversion_price"} & set_
    if r is not None and r > 0 and not conv_set and isinstance(mech, dict):
        price = mech.get("conversion_price")
        amount = _num(price.get("amount")) if isinstance(price, dict) else None
        changes["conversion"] = "elective"
        if amount and CONTEXT.divide(t.stated_value, amount) == r:
            changes["conversion_price"] = plain(amount)
        else:
            changes["conversion_rate"] = plain(r)
        if mech.get("rounding_type") == "NORMAL" and "fractional_common" not in set_:
            changes["fractional_common"] = "issue"
    votes = _num(o.get("votes_per_share"))
    if votes is not None and votes < 0:
        ctx.problem(it.file, it.id, "votes_per_share", f"{plain(votes)}: a share cannot "
                    "carry fewer than no votes")
    elif votes is not None:
        if not {"votes", "votes_per_share"} & set_:
            if votes > 0 and convertible:
                changes["votes"] = "as_converted"
            elif votes > 0:
                changes.update(votes="per_share", votes_per_share=plain(votes))
        elif t.votes == "none" and votes != 0:
            agree("votes_per_share", plain(votes), 'votes "none"')
        elif t.votes == "per_share" and \
                Decimal(numeric_round(t.votes_per_share, down=True)) != votes:
            agree("votes_per_share", plain(votes), f"{plain(t.votes_per_share)} per share")
    if not changes:
        return t
    try:
        return Terms.model_validate({**t.model_dump(mode="json", exclude_unset=True),
                                     **changes})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            term = str(err["loc"][0]) if err["loc"] else ""
            fld = next((f for f, terms in OCF_FIELD_TERMS.items() if term in terms),
                       "(stock class fields)")
            ctx.problem(it.file, it.id, fld, f"the Series {t.series} terms with the "
                        f"class's OCF fields ({', '.join(sorted(changes))}) do not hold: "
                        f"{err['msg']}")
        return None


def seniority(ctx: ImportContext, pending: list[tuple[Item, Planned]]) -> None:
    """OCF ``seniority`` (higher is paid first) as seniority claims (SPEC.md §8), for the
    series whose terms state none: senior to each class with a lower number (common
    included), ratable with each series with the same number."""
    ranks: dict[str, Decimal] = {}
    common: Decimal | None = None
    for it in ctx.items.get("OCF_STOCK_CLASSES_FILE", []):
        n = _num(it.obj.get("seniority"))
        info = ctx.classes.get(it.id)
        if n is None or info is None:
            continue
        if info.common:
            common = n
        elif info.terms is not None:
            ranks[info.terms.series] = n
    for it, planned in pending:
        info = ctx.classes.get(it.id)
        t = info.terms if info is not None else None
        if t is None or t.series not in ranks or "seniority_claims" in t.model_fields_set:
            continue
        mine = ranks[t.series]
        section = f"OCF seniority {plain(mine)}"
        claims: list[dict[str, Any]] = []
        if common is not None and mine > common:
            claims.append({"relation": "senior_to", "to": "common", "section": section})
        for other, n in sorted(ranks.items()):
            if other != t.series and n != mine:
                if mine > n:
                    claims.append({"relation": "senior_to", "to": other, "section": section})
            elif other != t.series:
                claims.append({"relation": "ratable_with", "to": other, "section": section})
        if not claims:
            continue
        try:
            new = Terms.model_validate({**t.model_dump(mode="json", exclude_unset=True),
                                        "seniority_claims": claims})
        except ValidationError:  # pragma: no cover - claims of designated series hold
            continue
        assert info is not None
        info.terms = new
        planned.event.pop("terms_ref", None)
        planned.event["terms"] = new.model_dump(mode="json")


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


def read_class(ctx: ImportContext, it: Item) -> Planned | None:
    o, cid = it.obj, it.id
    if cid in ctx.classes:
        ctx.problem(it.file, cid, "id", "two stock classes have this id")
        return None
    lines = machine_lines(ctx, it.file, cid, o.get("comments"))
    if o.get("class_type") == "COMMON":
        if ctx.common_id is not None:
            ctx.problem(it.file, cid, "class_type", f"a second common class; prefledger "
                        f"keeps one common stock (the first is {ctx.common_id!r})")
            return None
        ctx.common_id = cid
        ctx.classes[cid] = ClassInfo(cid, True)
        return None
    embedded: Terms | None = None
    for i, obj in lines.get("terms", []):
        try:
            embedded = Terms.model_validate(obj)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"])
                ctx.problem(it.file, cid, f"comments[{i}].terms.{loc}", err["msg"])
            ctx.classes[cid] = ClassInfo(cid, False, None)
            return None
    given = match_terms(ctx, it, embedded.series if embedded else None)
    terms = given or embedded
    if terms is not None:
        terms = class_fields(ctx, it, terms)
    elif not lines:  # SPEC.md §12: a class another platform wrote
        terms = terms_from_class(ctx, it)
    if terms is None and (given or embedded or not lines):  # reported already
        ctx.classes[cid] = ClassInfo(cid, False, None)
        return None
    info = ClassInfo(cid, False, terms)
    ctx.classes[cid] = info
    if terms is None:
        ctx.problem(it.file, cid, "comments", f"no prefledger terms for preferred class "
                    f"{str(o.get('name'))[:80]!r}: OCF 1.2.0 has no field for the stated "
                    "value, dividend, redemption or anti-dilution terms; give them with "
                    "--terms FILE (a Terms JSON whose series or name matches the class)")
        return None
    if any(c.terms is not None and c is not info and c.terms.series == terms.series
           for c in ctx.classes.values()):
        ctx.problem(it.file, cid, "name", f"a second class for Series {terms.series}")
        info.terms = None
        return None
    check_class(ctx, it, terms)
    seq, partial, _ = ref(lines)
    return designation(ctx, it, terms, seq, partial)


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
                partial: dict[str, Any]) -> Planned:
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
    planned = Planned(ev, order, Origin(
        it.file, it.id, {"effective_date": "board_approval_date", "terms": "comments",
                         "terms_ref": "comments", "series": "name"}))
    ctx.planned.append(planned)
    return planned
