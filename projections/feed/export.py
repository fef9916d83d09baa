"""The reporting feed: the projection tables in a SQLite file, written with sqlite-utils.

Every table has a primary key, typed columns (dates as ISO ``TEXT``, amounts, shares and
rates as ``REAL``, flags as ``INTEGER`` 0/1), foreign keys to ``issuers``, ``series`` and
``holders`` (single-column keys ``issuer/series`` and ``issuer/holder``), and indexes on
series, holder and date. ``projections/feed/datasette-metadata.json`` documents every table
and column for ``datasette report.db -m …`` (SPEC.md §10 ``export``).

The exact figures are the ledger's (Decimal); ``REAL`` keeps about 15 significant
digits, so the conversion-rate tables also carry the exact rate as text.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from decimal import Decimal
from importlib import resources
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import jsonify_if_needed

from ledger.state import IssuerState
from ledger.values import money, money_str, plain
from projections.explain import (
    MONEY_FIGURES,
    Follower,
    Step,
    arithmetic,
    explain_all,
    follow,
    json_value,
)
from projections.tables import TABLES, Row, Rows

D, S, N, DAY, B = Decimal, str, int, dt.date, bool

#: columns of every projection table, in order
COLUMNS: dict[str, dict[str, type]] = {
    "issuers": {"issuer": S, "events": N, "first_effective_date": DAY,
                "last_effective_date": DAY, "last_recorded_at": S, "head_hash": S,
                "through": DAY, "series_count": N, "common_outstanding": D,
                "liquidated_on": DAY},
    "series": {"key": S, "issuer": S, "series": S, "name": S, "designated": DAY,
               "authorized_shares": D, "stated_value": D, "par_value": D,
               "dividend_rate": D, "cumulative": B, "conversion": S,
               "base_conversion_rate": D, "antidilution_threshold": D, "votes": S,
               "issued_total": D, "converted_total": D, "redeemed_total": D,
               "cancelled_total": D, "outstanding": D, "carrying_amount": D,
               "extinguished": B, "terms": S},
    "holders": {"key": S, "issuer": S, "holder": S, "first_held": DAY, "shares": D,
                "common_shares": D},
    "events": {"issuer": S, "seq": N, "event_id": S, "type": S, "effective_date": DAY,
               "recorded_at": S, "hash": S, "series": S, "series_key": S, "holder": S,
               "holder_key": S, "to_holder": S, "shares": D, "amount": D, "status": S,
               "reversed_by": N, "target_seq": N, "memo": S, "source": S, "payload": S},
    "positions": {"issuer": S, "series": S, "series_key": S, "holder": S, "holder_key": S,
                  "valid_from": DAY, "valid_to": DAY, "shares": D},
    "series_balances": {"issuer": S, "series": S, "series_key": S, "valid_from": DAY,
                        "valid_to": DAY, "outstanding": D, "holders": N,
                        "carrying_amount": D, "dividend_rate": D, "arrears": D,
                        "dividends_payable": D, "missed_streak": N, "conversion_rate": D},
    "common_stock": {"issuer": S, "valid_from": DAY, "valid_to": DAY, "outstanding": D,
                     "holders": N, "cancelled_total": D},
    "dividend_periods": {"issuer": S, "series": S, "series_key": S, "period_start": DAY,
                         "period_end": DAY, "payment_date": DAY, "rate": D, "rate_end": D,
                         "due": D, "paid": D, "unpaid": D, "status": S, "missed": B,
                         "miss_recorded": B, "paid_in_full_on": DAY},
    "dividend_dues": {"issuer": S, "series": S, "series_key": S, "holder": S,
                      "holder_key": S, "due_date": DAY, "kind": S, "amount": D, "paid": D,
                      "unpaid": D},
    "rate_history": {"issuer": S, "series": S, "series_key": S, "step": N,
                     "valid_from": DAY, "valid_to": DAY, "rate": D, "cause": S},
    "conversion_rates": {"issuer": S, "series": S, "series_key": S, "step": N,
                         "effective_date": DAY, "valid_to": DAY, "rate": D,
                         "rate_exact": S, "rate_before": D, "factor": D, "cause": S,
                         "event_id": S, "a": D, "b": D, "c": D, "price": D,
                         "threshold": D},
    "activity": {"issuer": S, "line": N, "effective_date": DAY, "seq": N,
                 "event_type": S, "event_id": S, "series": S, "series_key": S,
                 "holder": S, "holder_key": S, "kind": S, "shares": D,
                 "carrying_amount": D, "arrears": D, "dividends_payable": D,
                 "dividends_paid": D, "cash_paid": D, "cash_received": D,
                 "common_issued": D, "dividends_extinguished": D},
}

PKS: dict[str, str | tuple[str, ...]] = {
    "issuers": "issuer",
    "series": "key",
    "holders": "key",
    "events": ("issuer", "seq"),
    "positions": ("issuer", "series", "holder", "valid_from"),
    "series_balances": ("issuer", "series", "valid_from"),
    "common_stock": ("issuer", "valid_from"),
    "dividend_periods": ("issuer", "series", "payment_date"),
    "dividend_dues": ("issuer", "series", "holder", "due_date", "kind"),
    "rate_history": ("issuer", "series", "step"),
    "conversion_rates": ("issuer", "series", "step"),
    "activity": ("issuer", "line"),
}

_TO_ISSUER = ("issuer", "issuers", "issuer")
_TO_SERIES = ("series_key", "series", "key")
_TO_HOLDER = ("holder_key", "holders", "key")
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "issuers": [],
    "series": [_TO_ISSUER],
    "holders": [_TO_ISSUER],
    "events": [_TO_ISSUER, _TO_SERIES, _TO_HOLDER],
    "positions": [_TO_ISSUER, _TO_SERIES, _TO_HOLDER],
    "series_balances": [_TO_ISSUER, _TO_SERIES],
    "common_stock": [_TO_ISSUER],
    "dividend_periods": [_TO_ISSUER, _TO_SERIES],
    "dividend_dues": [_TO_ISSUER, _TO_SERIES, _TO_HOLDER],
    "rate_history": [_TO_ISSUER, _TO_SERIES],
    "conversion_rates": [_TO_ISSUER, _TO_SERIES],
    "activity": [_TO_ISSUER, _TO_SERIES, _TO_HOLDER],
}

INDEXES: dict[str, list[tuple[str, ...]]] = {
    "issuers": [],
    "series": [("issuer", "series")],
    "holders": [("issuer", "holder")],
    "events": [("series_key",), ("holder_key",), ("effective_date",), ("type",),
               ("issuer", "event_id")],
    "positions": [("series_key",), ("holder_key",), ("valid_from",), ("valid_to",)],
    "series_balances": [("series_key",), ("valid_from",)],
    "common_stock": [("valid_from",)],
    "dividend_periods": [("series_key",), ("payment_date",), ("status",)],
    "dividend_dues": [("series_key",), ("holder_key",), ("due_date",)],
    "rate_history": [("series_key",), ("valid_from",)],
    "conversion_rates": [("series_key",), ("effective_date",)],
    "activity": [("series_key",), ("holder_key",), ("effective_date",), ("kind",),
                 ("issuer", "seq")],
}

# -- figure_steps: how each figure of the position was made (``projections.explain``) --------

#: the table of every step behind every figure of the position as of the feed's last day
STEPS = "figure_steps"
STEPS_COLUMNS: dict[str, type] = {
    "issuer": S, "line": N, "figure": S, "series": S, "holder": S, "as_of": DAY,
    "value": D, "value_exact": S, "combine": S, "step": N, "kind": S, "date": DAY,
    "event_ids": S, "step_holder": S, "arithmetic": S, "details": S, "amount": D,
    "amount_exact": S,
}
STEPS_PK = ("issuer", "line")
STEPS_INDEXES: list[tuple[str, ...]] = [("issuer", "figure", "series", "holder"),
                                        ("kind",), ("date",)]


#: a ``figure_steps`` row: its cells in the order of ``STEPS_COLUMNS``, as stored
#: (``_stored``: a Decimal as a float, a date as ISO text), each converted once per
#: figure or step rather than once per row
StepRow = tuple[Any, ...]


def figure_steps_rows(issuer: str, records: list[Any], through: dt.date | None,
                      resolve: Any) -> Iterator[StepRow]:
    """One row per step of every figure the position lists (every series' figures, each
    holder line's, common stock's) as of ``through`` (default: the issuer's last
    effective date): the step's arithmetic in words and its fields (``details``, JSON,
    every digit), its amount; the figure's value on every row of it."""
    as_of = steps_day(records, through)
    if as_of is None:
        return
    st, f = follow(issuer, records, as_of, resolve)
    yield from figure_steps_of(issuer, st, f, as_of)


def steps_day(records: list[Any], through: dt.date | None) -> dt.date | None:
    """The day ``figure_steps`` explains: ``through``, else the issuer's last effective
    date (none without records)."""
    if not records:
        return None
    return through or max(r.event.effective_date for r in records)


#: the cells of a figure with no step (nothing happened, or null): step to amount_exact
_NO_STEP: tuple[None, ...] = (None,) * 9
#: ``json.dumps(details, ensure_ascii=False)`` with one encoder, not one made per call
_DETAILS_JSON = json.JSONEncoder(ensure_ascii=False).encode
#: the keys of ``Step.to_json`` that are columns of their own, not ``details``
_NOT_DETAILS = frozenset({"kind", "date", "event_ids", "amount"})


def figure_steps_of(issuer: str, st: IssuerState, f: Follower, as_of: dt.date
                    ) -> Iterator[StepRow]:
    """``figure_steps_rows`` from a replay to the end of ``as_of`` already followed by
    ``f`` (``projections.tables.project``: the tables' replay, shared)."""
    line = 0
    day = _stored(as_of)
    #: a step shared by a holder's figure and its series' (the same object): its cells
    #: made once
    done: dict[tuple[int, bool], tuple[Any, ...]] = {}
    for e in explain_all(st, f, as_of):
        money_fig = e.figure in MONEY_FIGURES
        value = e.value
        js_value = (None if value is None
                    else money_str(value) if money_fig else plain(value))
        figure, series, holder, combine = e.figure, e.series, e.holder, e.combine
        stored = _stored(value)
        if not e.steps:  # a figure with no step (nothing happened, or null) still shows
            line += 1
            yield (issuer, line, figure, series, holder, day, stored, js_value,
                   combine) + _NO_STEP
            continue
        for n, step in enumerate(e.steps, 1):
            key = (id(step), money_fig)
            cells = done.get(key)
            if cells is None:
                cells = done[key] = _step_cells(step, money_fig)
            line += 1
            yield (issuer, line, figure, series, holder, day, stored, js_value, combine,
                   n) + cells


def _step_cells(step: Step, money_fig: bool) -> tuple[Any, ...]:
    """The cells of a step, ``kind`` to ``amount_exact``: ``details`` as
    ``Step.to_json`` writes the step's fields (its own columns left out)."""
    holder, details = _details(step.fields)
    amount = step.amount
    return (step.kind, _stored(step.date), ",".join(step.event_ids), holder,
            arithmetic(step), details, _stored(amount),
            None if amount is None else _amount_text(amount, money_fig))


#: how ``json.dumps(..., ensure_ascii=False)`` writes a string
_JSON_STR = json.encoder.encode_basestring


def _details(fields: tuple[tuple[str, Any], ...]) -> tuple[Any, str]:
    """The step's ``details`` (its ``holder`` and the JSON text): the text
    ``json.dumps(details, ensure_ascii=False)`` gives, written directly for the fields
    of the usual types and names once each (performance); otherwise through the dict."""
    parts: list[str] = []
    names: set[str] = set()
    holder = None
    for k, v in fields:
        if k in _NOT_DETAILS:
            continue
        t = type(v)
        if k in names or type(k) is not str:
            return _details_dict(fields)
        names.add(k)
        if t is str:
            text = _JSON_STR(v)
        elif t is Decimal:
            text = '"' + plain(v) + '"'  # digits, sign and point: nothing to escape
        elif t is dt.date:
            text = '"' + v.isoformat() + '"'
        elif t is int:
            text = int.__repr__(v)
        elif v is None:
            text = "null"
        else:  # a tuple, a bool, ...: as the encoder writes it
            return _details_dict(fields)
        parts.append(_JSON_STR(k) + ": " + text)
        if k == "holder":
            holder = json_value(v)
    return holder, "{" + ", ".join(parts) + "}"


def _details_dict(fields: tuple[tuple[str, Any], ...]) -> tuple[Any, str]:
    details = {k: json_value(v) for k, v in fields if k not in _NOT_DETAILS}
    return details.get("holder"), _DETAILS_JSON(details)


def _amount_text(v: Decimal, money_fig: bool) -> str:
    """As the explain JSON writes a step's amount (``Step.to_json``)."""
    return money_str(v) if money_fig and v == money(v) else plain(v)


def _ensure_steps(db: sqlite_utils.Database, indexes: bool = True) -> None:
    t = db.table(STEPS)
    if not t.exists():
        t.create(STEPS_COLUMNS, pk=STEPS_PK, foreign_keys=[_TO_ISSUER],
                 not_null=list(STEPS_PK))
    if indexes:
        for cols in STEPS_INDEXES:
            t.create_index(list(cols), if_not_exists=True)


def insert_steps(db: sqlite_utils.Database, rows: Iterable[StepRow]) -> None:
    """Append ``figure_steps`` rows (``StepRow``), as they come: a generator of rows is
    written without holding them all."""
    cols = list(STEPS_COLUMNS)
    sql = (f'INSERT INTO "{STEPS}" ({", ".join(f"[{c}]" for c in cols)}) '
           f'VALUES ({", ".join("?" for _ in cols)})')
    db.conn.executemany(sql, rows)


#: bookkeeping tables of the projector (not projections): settings and the tracked
#: position in the ledger's notification log, written in the same transaction as the rows
META = "projection_meta"
TRACKING = "projection_tracking"


def ensure_schema(db: sqlite_utils.Database, indexes: bool = True) -> None:
    """Create every missing table and index (idempotent). ``indexes=False``: the tables
    only, for a rebuild that fills them first and indexes them after (``ensure_indexes``:
    one sort per index instead of an index update per row)."""
    for name in TABLES:
        t = db.table(name)
        if not t.exists():
            t.create(COLUMNS[name], pk=PKS[name], foreign_keys=FOREIGN_KEYS[name],
                     not_null=_not_null(name))
    _ensure_steps(db, indexes)
    if indexes:
        ensure_indexes(db)
    if not db.table(META).exists():
        db.table(META).create({"key": str, "value": str}, pk="key")
    if not db.table(TRACKING).exists():
        db.table(TRACKING).create({"application_name": str, "notification_id": int},
                                  pk="application_name")


def ensure_indexes(db: sqlite_utils.Database) -> None:
    for name in TABLES:
        for cols in INDEXES[name]:
            db.table(name).create_index(list(cols), if_not_exists=True)
    _ensure_steps(db)


def _not_null(name: str) -> list[str]:
    pk = PKS[name]
    return [pk] if isinstance(pk, str) else list(pk)


def drop_all(db: sqlite_utils.Database) -> None:
    for name in (STEPS, *reversed(TABLES), META, TRACKING):
        if db.table(name).exists():
            db.table(name).drop()


def _cell(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


#: values stored as they are (the common case: no conversion at all)
_AS_IS = frozenset({str, int, float, type(None)})


#: the exact types a projection row mostly holds, converted as ``_cell`` would
_FAST: dict[type, Any] = {Decimal: float, dt.date: dt.date.isoformat, bool: int}


def _stored(v: Any) -> Any:
    """A cell as sqlite-utils' ``insert_all`` would store it (``_cell``, then its
    ``jsonify_if_needed``), with the common types passed through untouched."""
    t = type(v)
    if t in _AS_IS:
        return v
    fast = _FAST.get(t)
    if fast is not None:
        return fast(v)
    return jsonify_if_needed(_cell(v))


def write_issuer(db: sqlite_utils.Database, issuer: str, rows: Rows) -> None:
    """Replace every row of ``issuer`` by ``rows`` (the caller holds the transaction).

    The tables, keys and indexes are sqlite-utils' (``ensure_schema``); the rows go in
    with one prepared ``INSERT`` per table on its connection: the same cells as
    ``insert_all`` writes (``_stored``), in about half the time (``insert_all`` rebuilds
    its SQL and converts every cell in Python per chunk; benchmarks/)."""
    delete_issuer(db, issuer)
    for name in TABLES:
        insert_rows(db, name, rows.get(name, []))


def insert_rows(db: sqlite_utils.Database, name: str, rows: list[Row]) -> None:
    """Append ``rows`` to table ``name`` (see ``write_issuer``; also the sink of
    ``project_issuer``, which hands over the big tables in batches)."""
    if not rows:
        return
    cols = list(COLUMNS[name])
    sql = (f'INSERT INTO "{name}" ({", ".join(f"[{c}]" for c in cols)}) '
           f'VALUES ({", ".join("?" for _ in cols)})')
    if {*map(type, chain.from_iterable(map(dict.values, rows)))} <= _NATIVE:
        # every cell is a type sqlite3 binds itself (Decimal and date through the
        # adapters registered below): no Python call per cell (the types gathered and
        # the cells taken in C: a batch is at most about ``SPILL`` rows)
        try:
            cells: list[Any] = list(map(itemgetter(*cols), rows))
        except KeyError:  # a row without some column: null there
            cells = [list(map(r.get, cols)) for r in rows]
        db.conn.executemany(sql, cells)
    else:
        db.conn.executemany(sql, ([_stored(r.get(k)) for k in cols] for r in rows))


#: cell types bound without a Python conversion per cell: ``_stored`` gives the same
#: values (a Decimal as a float, a date as ISO text, a bool as an integer)
_NATIVE = frozenset({str, int, float, type(None), bool, Decimal, dt.date})
sqlite3.register_adapter(Decimal, float)
sqlite3.register_adapter(dt.date, dt.date.isoformat)


def delete_issuer(db: sqlite_utils.Database, issuer: str) -> None:
    if db.table(STEPS).exists():
        db.execute(f'DELETE FROM "{STEPS}" WHERE issuer = ?', [issuer])
    for name in reversed(TABLES):
        db.execute(f'DELETE FROM "{name}" WHERE issuer = ?', [issuer])


def get_meta(db: sqlite_utils.Database) -> dict[str, str]:
    return {r["key"]: r["value"] for r in db.query(f'SELECT key, value FROM "{META}"')}


def set_meta(db: sqlite_utils.Database, values: dict[str, str]) -> None:
    db.table(META).upsert_all([{"key": k, "value": v} for k, v in values.items()], pk="key")


def get_position(db: sqlite_utils.Database, name: str) -> int:
    rows = list(db.query(f'SELECT notification_id FROM "{TRACKING}" WHERE application_name = ?',
                         [name]))
    return int(rows[0]["notification_id"]) if rows else 0


def set_position(db: sqlite_utils.Database, name: str, position: int) -> None:
    db.table(TRACKING).upsert({"application_name": name, "notification_id": position},
                              pk="application_name")


# -- Datasette ---------------------------------------------------------------------------

METADATA_FILE = "datasette-metadata.json"


def metadata_template() -> dict[str, Any]:
    """The shipped Datasette metadata (database key ``report``)."""
    text = resources.files("projections.feed").joinpath(METADATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def metadata_for(db_path: str | Path) -> dict[str, Any]:
    """The shipped metadata with its database key renamed to the file's stem."""
    meta = metadata_template()
    name = Path(db_path).stem
    dbs = meta.get("databases", {})
    if "report" in dbs and name != "report":
        dbs[name] = dbs.pop("report")
    return meta


def write_metadata(db_path: str | Path, to: str | Path) -> Path:
    out = Path(to)
    out.write_text(json.dumps(metadata_for(db_path), indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    return out


def default_metadata_path(db_path: str | Path) -> Path:
    p = Path(db_path)
    return p.with_name(p.stem + ".metadata.json")
