"""The audit trail — hash chain and ``verify`` (tampering on both stores, straight
through sqlite3 / psycopg), ``history``, ``EventReversed``, back-dated events and
``BalanceAsserted`` (SPEC.md §1, §3, §10, §11). Bitemporal answers: tests/test_bitemporal.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.problems import LedgerError
from tests.conftest import HISTORY, PG_URL, StoreSpec
from tests.ledgers import Refusal, book, by_stored, refusal, refuse

GENESIS = "0" * 64


def ev(type_: str, date: str, **kw: Any) -> dict[str, Any]:
    return {"type": type_, "effective_date": date, **kw}


def without_as_recorded(rep: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rep.items() if k != "as_recorded"}


def designate(series: str, date: str, **kw: Any) -> dict[str, Any]:
    return ev("SeriesDesignated", date, series=series, terms_ref=f"nstor/{series}", **kw)


def issue(series: str, holder: str, shares: str, date: str, **kw: Any) -> dict[str, Any]:
    return ev("SharesIssued", date, series=series, holder=holder, shares=shares, **kw)


def flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def lines(events: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(e) for e in events]


def sha256_link(issuer: str, position: int, recorded_at: str, payload: dict[str, Any],
                prev: str) -> str:
    """The documented chain formula, written out independently of ledger/chain.py:
    SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the five fields."""
    body = {"issuer": issuer, "position": position, "recorded_at": recorded_at,
            "event": payload, "prev": prev}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# -- direct access to the library's tables (the tamperer's view) ---------------------------

class Raw:
    """Rows of the eventsourcing tables, read and written around the ledger: sqlite3 on the
    SQLite file (``stored_events`` / ``stored_snapshots``), psycopg on the PostgreSQL schema
    (``prefledger_events`` / ``prefledger_snapshots``). ``state`` holds the event JSON."""

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        if spec.kind == "sqlite":
            self.events, self.snapshots = "stored_events", "stored_snapshots"
        else:
            schema = str(spec.url).split("schema=")[1]
            self.events = f'"{schema}".prefledger_events'
            self.snapshots = f'"{schema}".prefledger_snapshots'

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.spec.kind == "sqlite":
            with sqlite3.connect(str(self.spec.db)) as c:
                return c.execute(sql, params).fetchall()
        with psycopg.connect(PG_URL, autocommit=True) as c:
            cur = c.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def _oid(self, issuer: str) -> Any:
        from ledger.store.eventstore import issuer_id

        oid = issuer_id(issuer)
        return oid.hex if self.spec.kind == "sqlite" else oid

    def versions(self, issuer: str = "default") -> list[int]:
        return [r[0] for r in self._run(f"SELECT originator_version FROM {self.events} "
                                        "WHERE originator_id = ? ORDER BY 1",
                                        (self._oid(issuer),))]

    def state(self, version: int, issuer: str = "default") -> dict[str, Any]:
        row = self._run(f"SELECT state FROM {self.events} WHERE originator_id = ? AND "
                        "originator_version = ?", (self._oid(issuer), version))
        return json.loads(bytes(row[0][0]))

    def set_state(self, version: int, state: dict[str, Any] | bytes,
                  issuer: str = "default") -> None:
        data = state if isinstance(state, bytes) else json.dumps(
            state, separators=(",", ":")).encode()
        self._run(f"UPDATE {self.events} SET state = ? WHERE originator_id = ? AND "
                  "originator_version = ?", (data, self._oid(issuer), version))

    def edit_payload(self, version: int, issuer: str = "default", **changes: Any) -> None:
        s = self.state(version, issuer)
        s["payload"].update(changes)
        self.set_state(version, s, issuer)

    def set_topic(self, version: int, topic: str, issuer: str = "default") -> None:
        self._run(f"UPDATE {self.events} SET topic = ? WHERE originator_id = ? AND "
                  "originator_version = ?", (topic, self._oid(issuer), version))

    def delete(self, version: int, issuer: str = "default") -> None:
        self._run(f"DELETE FROM {self.events} WHERE originator_id = ? AND "
                  "originator_version = ?", (self._oid(issuer), version))

    def delete_snapshots(self, issuer: str = "default") -> None:
        self._run(f"DELETE FROM {self.snapshots} WHERE originator_id = ?", (self._oid(issuer),))

    def snapshot_state(self, issuer: str = "default") -> tuple[int, dict[str, Any]]:
        row = self._run(f"SELECT originator_version, state FROM {self.snapshots} WHERE "
                        "originator_id = ? ORDER BY 1 DESC", (self._oid(issuer),))[0]
        return row[0], json.loads(bytes(row[1]))

    def set_snapshot_state(self, version: int, state: dict[str, Any],
                           issuer: str = "default") -> None:
        self._run(f"UPDATE {self.snapshots} SET state = ? WHERE originator_id = ? AND "
                  "originator_version = ?",
                  (json.dumps(state, separators=(",", ":")).encode(), self._oid(issuer), version))


def position_of(id_: str) -> int:
    """Stream position of a fixture event (its line number in history.jsonl)."""
    for n, text in enumerate(HISTORY.read_text().splitlines(), start=1):
        if json.loads(text).get("id") == id_:
            return n
    raise KeyError(id_)


N_HISTORY = len(HISTORY.read_text().splitlines())


@pytest.fixture
def loaded(cli: Any) -> Any:
    """The fixture history, loaded on the store; returns the cli."""
    r = cli("load", str(HISTORY))
    assert r.exit_code == 0, r.output
    return cli


# -- hash chain and verify (SPEC.md §10) -------------------------------------------------------

def test_verify_intact_chain(loaded):
    r = loaded("verify")
    assert r.exit_code == 0, r.output
    assert f"ok: {N_HISTORY} events, hash chain intact" in r.stdout


def test_every_stored_event_carries_the_documented_hash(loaded):
    """hash = SHA-256(canonical {issuer, position, recorded_at, event, prev}), prev chained."""
    rows = loaded.json("history")["events"]
    assert len(rows) == N_HISTORY
    prev = GENESIS
    for n, row in enumerate(rows, start=1):
        assert row["position"] == n
        assert row["prev_hash"] == prev
        assert row["hash"] == sha256_link("default", n, row["recorded_at"], row["event"], prev)
        prev = row["hash"]


def test_verify_catches_an_edited_payload(loaded):
    """A stored issuance of 600 shares edited to 6000 in place (SQL UPDATE)."""
    raw = Raw(loaded.spec)
    pos = position_of("nstor-0003")
    assert raw.state(pos + 1)["payload"]["shares"] == "600"
    raw.edit_payload(pos + 1, shares="6000")
    # the ledger's read path now shows the forged figure ...
    assert loaded.json("history", "--holder", "Alder Capital LP")["events"][0]["event"][
        "shares"] == "6000"
    # ... and verify names exactly that event
    r = loaded("verify")
    assert r.exit_code == 1
    assert f"event {pos} (SharesIssued id=nstor-0003, 2000-12-28) field hash" in flat(r.stderr)
    assert "content does not match its hash" in flat(r.stderr)


def test_history_still_lists_a_row_tampered_into_an_invalid_event(loaded):
    raw = Raw(loaded.spec)
    pos = position_of("nstor-0005")
    raw.edit_payload(pos + 1, shares="5,000")
    rows = loaded.json("history", "--holder", "Cedar Partners LLC")["events"]
    assert (rows[0]["id"], rows[0]["valid"]) == ("nstor-0005", False)
    assert all(r["valid"] for r in rows[1:])
    r = loaded("history", "--holder", "Cedar Partners LLC")
    assert r.exit_code == 0 and "INVALID (does not parse; run verify)" in flat(r.stdout)
    r = loaded("verify")
    assert r.exit_code == 1 and f"event {pos} (SharesIssued id=nstor-0005" in flat(r.stderr)


def test_verify_catches_an_edited_recorded_time(loaded):
    raw = Raw(loaded.spec)
    s = raw.state(6)
    s["recorded_at"] = "2001-01-01T00:00:00+00:00"
    raw.set_state(6, s)
    r = loaded("verify")
    assert r.exit_code == 1 and "event 5 (" in flat(r.stderr) and "field hash" in flat(r.stderr)


def test_verify_catches_an_edited_hash(loaded):
    raw = Raw(loaded.spec)
    s = raw.state(4)
    s["hash"] = "f" * 64
    raw.set_state(4, s)
    r = loaded("verify")
    assert r.exit_code == 1 and "event 3 (" in flat(r.stderr) and "field hash" in flat(r.stderr)


def test_rehashing_an_edited_event_breaks_the_next_link(loaded):
    """A tamperer who recomputes the edited event's own hash still breaks the chain: the
    next event links to the old hash."""
    raw = Raw(loaded.spec)
    pos = position_of("nstor-0004")
    s = raw.state(pos + 1)
    s["payload"]["shares"] = "4000"
    s["hash"] = sha256_link("default", pos, s["recorded_at"], s["payload"], s["prev_hash"])
    raw.set_state(pos + 1, s)
    r = loaded("verify")
    assert r.exit_code == 1
    assert f"event {pos + 1} (" in flat(r.stderr) and "field prev_hash" in flat(r.stderr), r.stderr
    assert "link broken" in flat(r.stderr)


def test_verify_catches_a_deleted_row(loaded):
    raw = Raw(loaded.spec)
    raw.delete(11)  # stream position 10
    r = loaded("verify")
    assert r.exit_code == 1
    assert "jumps from event 9 to event 11: 1 event(s) are missing" in flat(r.stderr), r.stderr
    assert "event 11 (" in flat(r.stderr)


def test_verify_catches_the_deleted_last_event(loaded):
    """Deleting the newest row leaves no gap; the snapshot taken after the load (it
    records the event count) still says it existed."""
    raw = Raw(loaded.spec)
    assert raw.versions()[-1] == N_HISTORY + 1
    raw.delete(N_HISTORY + 1)
    r = loaded("verify")
    assert r.exit_code == 1
    e = flat(r.stderr)
    assert f"ends at event {N_HISTORY - 1} but a snapshot records {N_HISTORY} events" in e
    assert "the newest 1 event(s) are missing" in e


def test_verify_catches_a_forged_snapshot(loaded):
    raw = Raw(loaded.spec)
    version, snap = raw.snapshot_state()
    assert version == N_HISTORY + 1 and snap["state"]["count"] == N_HISTORY
    snap["state"]["count"] = N_HISTORY - 1
    raw.set_snapshot_state(version, snap)
    r = loaded("verify")
    assert r.exit_code == 1 and "field snapshot" in flat(r.stderr)


def test_verify_catches_a_deleted_opening_row(loaded):
    Raw(loaded.spec).delete(1)
    r = loaded("verify")
    assert r.exit_code == 1
    assert "starts at event 1: its first 1 row(s) are missing" in flat(r.stderr)


def test_verify_catches_swapped_rows(loaded):
    raw = Raw(loaded.spec)
    a, b = raw.state(5), raw.state(6)
    raw.set_state(5, b)
    raw.set_state(6, a)
    r = loaded("verify")
    assert r.exit_code == 1 and "event 4 (" in flat(r.stderr)


def test_verify_catches_a_changed_topic(loaded):
    Raw(loaded.spec).set_topic(8, "ledger.store:IssuerLedger.Opened")
    r = loaded("verify")
    assert r.exit_code == 1
    assert "event 7 field topic: unexpected event type in the stream" in flat(r.stderr)


def test_verify_catches_undecodable_rows(loaded):
    raw = Raw(loaded.spec)
    raw.set_state(3, b"{not json")
    r = loaded("verify")
    assert r.exit_code == 1
    assert "event 2 field state: the stored row cannot be decoded" in flat(r.stderr)


def test_verify_catches_a_renamed_issuer(loaded):
    """The opening row renamed to another issuer: the stream no longer belongs to it."""
    raw = Raw(loaded.spec)
    s = raw.state(1)
    s["issuer"] = "other"
    raw.set_state(1, s)
    r = loaded("verify")
    assert r.exit_code == 1 and "issuer 'other' event 0 field issuer" in flat(r.stderr)


def test_verify_names_the_broken_issuer_only(cli, jsonl):
    both = [designate("G", "2000-12-28"), issue("G", "Ann", "10", "2001-01-02"),
            designate("G", "2000-12-28", issuer="acme"),
            issue("G", "Bo", "5", "2001-01-02", issuer="acme")]
    assert cli("load", str(jsonl(both))).exit_code == 0
    Raw(cli.spec).edit_payload(3, issuer="acme", holder="Eve")
    r = cli("verify")
    assert r.exit_code == 1
    assert "issuer 'acme' event 2 (SharesIssued, 2001-01-02) field hash" in flat(r.stderr)
    assert "'default'" not in flat(r.stderr)


def test_tampering_after_a_clean_verify_and_more_loads(store, ledger):
    """verify over several loads (several snapshots); a break in an early load is found."""
    ledger.load_lines(lines([designate("G", "2000-12-28")]))
    ledger.load_lines(lines([issue("G", "Ann", "10", "2001-01-02")]))
    ledger.load_lines(lines([issue("G", "Bo", "20", "2001-01-03")]))
    assert ledger.verify() == []
    Raw(store).edit_payload(3, shares="11")
    [p] = ledger.verify()
    assert (p.event, p.field) == ("issuer 'default' event 2 (SharesIssued, 2001-01-02)", "hash")


# -- property: tampering is always caught ---------------------------------------------------

@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite ledger holding the fixture history and one more load, built once and
    copied per example."""
    db = tmp_path_factory.mktemp("template") / "t.db"
    with Ledger.open(str(db)) as lg:
        lg.load_file(HISTORY)
        lg.load_lines(lines([ev("CommonStockIssued", "2006-01-02", shares="10",
                                kind="other", price_per_share="1")]))
    return db


MUTATIONS = ["payload_value", "payload_add", "payload_drop", "recorded_at", "hash", "prev_hash",
             "delete", "swap", "garbage", "topic", "renumber"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(MUTATIONS), pick=st.integers(min_value=0, max_value=10_000),
       other=st.integers(min_value=0, max_value=10_000))
def test_any_single_tampering_is_caught(template_db, kind, pick, other):
    """Property (sqlite3 straight on the file): any one edit, deletion, swap or renumbering
    of any stored row, including the first and the last, makes ``verify`` report a break."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "l.db"
        shutil.copy(template_db, db)
        raw = Raw(StoreSpec("sqlite", db=str(db)))
        versions = raw.versions()
        n = len(versions)  # Opened + ledger events
        v = versions[pick % n]
        ledger_v = versions[1:][pick % (n - 1)]
        if kind.startswith("payload") or kind in ("recorded_at", "hash", "prev_hash"):
            s = raw.state(ledger_v)
            p = s["payload"]
            if kind == "payload_value":
                key = sorted(k for k in p if k != "issuer")[other % (len(p) - 1)]
                p[key] = p[key] + "x" if isinstance(p[key], str) else "x"
            elif kind == "payload_add":
                p["memo" if "memo" not in p else "zz"] = "added"
            elif kind == "payload_drop":
                optional = [k for k in p if k not in ("type", "effective_date", "issuer")]
                p.pop(optional[other % len(optional)])
            else:
                s[kind] = ("0" if s[kind][0] != "0" else "1") + s[kind][1:]
            raw.set_state(ledger_v, s)
        elif kind == "delete":
            raw.delete(v)
        elif kind == "swap":
            w = versions[other % n]
            if w == v:
                w = versions[(versions.index(v) + 1) % n]
            a, b = raw.state(v), raw.state(w)
            raw.set_state(v, b)
            raw.set_state(w, a)
        elif kind == "garbage":
            raw.set_state(v, b"\x00garbage")
        elif kind == "topic":
            raw.set_topic(v, "ledger.store:IssuerLedger.Opened" if v > 1
                          else "ledger.store:IssuerLedger.Recorded")
        else:  # renumber: move a row to an unused version
            raw._run("UPDATE stored_events SET originator_version = ? WHERE "
                     "originator_version = ?", (n + 5, v))
        with Ledger.open(str(db)) as lg:
            assert lg.verify() != [], (kind, v)
            lg.issuers()  # listing issuers survives any tampering (verify's CLI needs it)


# -- history (SPEC.md §10) ---------------------------------------------------------------------

AUDIT = [
    designate("G", "2000-12-28", id="g", source="Series G certificate"),
    designate("H", "2001-04-12", id="h", source="Series H certificate"),
    issue("G", "Ann", "600", "2001-01-02", id="i1", memo="closing"),
    issue("G", "Bob", "400", "2001-01-02", id="i2"),
    issue("H", "Ann", "500", "2001-05-01", id="i3", source="subscription 17"),
    ev("SharesTransferred", "2001-06-01", series="G", from_holder="Ann", to_holder="Cy",
       shares="100", id="t1"),
    ev("EventReversed", "2001-07-01", target_id="i2", reason="Bob never paid", id="r1"),
    ev("CommonStockIssued", "2001-08-01", shares="1000", kind="opening", id="c0"),
]


def test_history_lists_every_event_with_times_ids_memo_and_hash(cli, jsonl):
    assert cli("load", str(jsonl(AUDIT))).exit_code == 0
    rep = cli.json("history")
    assert rep["issuer"] == "default" and rep["as_recorded"] is None
    rows = rep["events"]
    assert [r["id"] for r in rows] == ["g", "h", "i1", "i2", "i3", "t1", "r1", "c0"]
    assert [r["position"] for r in rows] == list(range(1, 9))
    assert rows[2]["effective_date"] == "2001-01-02" and rows[2]["memo"] == "closing"
    assert rows[4]["source"] == "subscription 17"
    assert all(r["recorded_at"].endswith("+00:00") for r in rows)
    # one load: one recorded time
    assert len({r["recorded_at"] for r in rows}) == 1
    stored = [h for _, evs in cli.spec.content() for _, h in evs]
    assert [r["hash"] for r in rows] == stored
    # the reversed issuance stays, marked, with the reason
    i2 = rows[3]
    assert i2["reversed"] is True and i2["reversed_by"] == "r1"
    assert i2["reversal_reason"] == "Bob never paid" and i2["reversed_by_position"] == 7
    assert not any(r["reversed"] for r in rows if r["id"] != "i2")
    assert rows[6]["event"] == {"type": "EventReversed", "effective_date": "2001-07-01",
                                "id": "r1", "issuer": "default", "target_id": "i2",
                                "reason": "Bob never paid"}


HISTORY_FILTERS = [
    (["--series", "G"], ["g", "i1", "i2", "t1", "r1"]),      # r1 reverses a G event
    (["--series", "H"], ["h", "i3"]),
    (["--series", "common"], ["c0"]),
    (["--holder", "Ann"], ["i1", "i3", "t1"]),
    (["--holder", "Cy"], ["t1"]),
    (["--holder", "Bob"], ["i2", "r1"]),
    (["--from", "2001-01-02", "--to", "2001-06-01"], ["h", "i1", "i2", "i3", "t1"]),
    (["--from", "2001-06-02"], ["r1", "c0"]),
    (["--to", "2000-12-28"], ["g"]),
    (["--series", "G", "--holder", "Ann", "--from", "2001-05-01"], ["t1"]),
    (["--holder", "Nobody"], []),
]


def test_history_filters(cli, jsonl):
    assert cli("load", str(jsonl(AUDIT))).exit_code == 0
    for args, ids in HISTORY_FILTERS:
        assert [r["id"] for r in cli.json("history", *args)["events"]] == ids, args


def test_history_in_the_terminal(cli, jsonl):
    assert cli("load", str(jsonl(AUDIT))).exit_code == 0
    r = cli("history", "--series", "G")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "history of default: 5 event(s)" in out
    assert "REVERSED by r1: Bob never paid" in out
    for word in ("2001-01-02", "SharesIssued", "i1", "closing", "Series G certificate"):
        assert word in out
    h = cli.json("history")["events"][0]["hash"]
    assert h[:12] in out


def test_history_bad_dates_and_unknown_issuer(cli, jsonl):
    assert cli("load", str(jsonl(AUDIT))).exit_code == 0
    r = cli("history", "--from", "2001-13-01")
    assert r.exit_code == 2 and "--from" in flat(r.stderr)
    r = cli("history", "--as-recorded", "yesterday")
    assert r.exit_code == 2 and "--as-recorded" in flat(r.stderr)
    r = cli("history", "--issuer", "nobody")
    assert r.exit_code == 2
    assert "error: no issuer 'nobody' in this ledger; issuers: default" in r.stderr


def test_history_api(ledger):
    ledger.load_lines(lines(AUDIT))
    rows = ledger.history("default", series="G", holder="Bob")
    assert [(r["id"], r["reversed"]) for r in rows] == [("i2", True), ("r1", False)]


# -- EventReversed (SPEC.md §3) ------------------------------------------------------------

def test_reversal_removes_its_target():
    now = book(AUDIT[:7]).position("2001-12-31")
    g = next(s for s in now["series"] if s["series"] == "G")
    # 600 (Ann) + 400 (Bob, reversed) -> 600; issued_total drops too (§11 Reports)
    assert (g["outstanding"], g["issued_total"]) == ("600", "600")
    assert {(h["holder"], h["shares"]) for h in now["holders"] if h["series"] == "G"} == {
        ("Ann", "500"), ("Cy", "100")}


def test_reversal_removes_its_target_from_views_recorded_after_it(store):
    times = iter(["2026-01-05T09:00:00Z", "2026-02-10T09:00:00Z"])
    with store.open(clock=lambda: next(times)) as lg:
        lg.load_lines(lines(AUDIT[:6]))
        lg.load_lines(lines(AUDIT[6:7]))
        import datetime as dt

        day = dt.date(2001, 12, 31)
        now = lg.position(day)
        # the figures of the reversal itself: test_reversal_removes_its_target
        assert without_as_recorded(now) == without_as_recorded(
            book(AUDIT[:7]).position(day))
        # the ledger as recorded before the reversal still shows Bob's 400
        t = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
        then = lg.position(day, as_recorded=t)
        g = next(s for s in then["series"] if s["series"] == "G")
        assert (g["outstanding"], g["issued_total"]) == ("1000", "1000")
        assert ("Bob", "400") in {(h["holder"], h["shares"]) for h in then["holders"]}
        # the original stays in the log; reversed only in views recorded after r1
        assert [r["id"] for r in lg.history()] == ["g", "h", "i1", "i2", "i3", "t1", "r1"]
        assert lg.history()[3]["reversed"] is True
        assert lg.history(as_recorded=t)[3]["reversed"] is False


REVERSED = AUDIT[:7]
REFUSALS: list[Refusal] = [
    refusal(REVERSED, [ev("EventReversed", "2001-07-01", target_id="nope", reason="x")],
            "target_id", "EventReversed", "no earlier event has id 'nope'"),
    refusal(REVERSED, [ev("EventReversed", "2001-07-01", target_id="r1", reason="undo")],
            "target_id", "a reversal cannot itself be reversed"),
    refusal(REVERSED, [ev("EventReversed", "2001-07-02", target_id="i2", reason="again")],
            "target_id", "'i2' is already reversed"),
    # Ann's 600 G fund the transfer t1 (2001-06-01) of 100 to Cy: removing them leaves her
    # 0 G (she stays a known holder through her H): the stored transfer's problem, which a
    # load blames on the reversal ("line 1: EventReversed id=r2 ... makes the later ...")
    refusal(REVERSED, [ev("EventReversed", "2001-07-03", target_id="i1", reason="void",
                          id="r2")], "shares",
            "stored event SharesTransferred id=t1 (2001-06-01)",
            "'Ann' holds 0 shares of Series G on this date, fewer than 100", line=0),
    # ids are looked up within the issuer: 'i1' exists only in 'default'
    refusal(REVERSED, [ev("EventReversed", "2001-07-01", target_id="i1", reason="x",
                          issuer="acme")], "target_id", "no earlier event has id 'i1'"),
    # the reversal must come after its target in the log
    refusal(REVERSED, [ev("EventReversed", "2001-07-01", target_id="late", reason="x"),
                       issue("G", "Dee", "1", "2001-07-01", id="late")], "target_id",
            "line 1", "no earlier event"),
]


# -- back-dated events (SPEC.md §1) -----------------------------------------------------------

CONVERTED = [
    designate("H", "2001-04-12", id="h"),
    ev("CommonStockIssued", "2001-04-12", shares="1000000", kind="opening", id="c0"),
    issue("H", "Ann", "500", "2001-05-01", id="i1"),
    ev("SharesConverted", "2002-01-15", series="H", holder="Ann", shares="500", id="c1"),
]
BAD_TRANSFER = ev("SharesTransferred", "2001-06-01", series="H", from_holder="Ann",
                  to_holder="Bob", shares="100", id="t1")


def test_back_dated_transfer_that_breaks_a_later_conversion_is_rejected(cli, jsonl):
    """Ann's 500 H are converted on 2002-01-15; a transfer of 100 dated 2001-06-01,
    recorded afterwards, would leave her 400 (500 - 100) to convert: rejected, both named."""
    assert cli("load", str(jsonl(CONVERTED))).exit_code == 0
    before = cli.spec.content()
    r = cli("load", str(jsonl([BAD_TRANSFER])))
    assert r.exit_code == 2
    assert ("line 1: SharesTransferred id=t1 field shares: makes the later stored event "
            "SharesConverted id=c1 (2002-01-15) invalid: 'Ann' holds 400 shares of Series H "
            "on this date, fewer than 500") in flat(r.stderr), r.stderr
    assert cli.spec.content() == before


def test_the_blame_goes_to_the_new_event_that_causes_it(cli, jsonl):
    """With a harmless earlier event in the same file, the message still names the
    transfer (line 2), not the first line of the file."""
    assert cli("load", str(jsonl(CONVERTED))).exit_code == 0
    before = cli.spec.content()
    harmless = issue("H", "Cy", "100", "2001-05-02", id="i2")
    r = cli("load", str(jsonl([harmless, BAD_TRANSFER])))
    assert r.exit_code == 2
    assert "line 2: SharesTransferred id=t1 field shares: makes the later stored event " \
           "SharesConverted id=c1" in flat(r.stderr), r.stderr
    assert "line 1" not in flat(r.stderr)
    assert cli.spec.content() == before


def test_back_dated_event_that_keeps_the_timeline_valid_is_accepted():
    # 100 more H to Ann on 2001-06-01: she still holds 500 to convert on 2002-01-15
    rep = book(CONVERTED).load([issue("H", "Ann", "100", "2001-06-01", id="i2")]).position(
        "2002-01-31")
    h = next(s for s in rep["series"] if s["series"] == "H")
    assert (h["issued_total"], h["outstanding"]) == ("600", "100")  # 500 + 100; 600 - 500
    # H converts at 1,388.89 common per share (Series H §5): 500 x 1388.89 = 694,445
    assert rep["common_outstanding"] == str(1000000 + 694445)


# -- BalanceAsserted (SPEC.md §3, §11) -----------------------------------------------------

ISSUED = [
    designate("G", "2000-12-28", id="g"),
    ev("CommonStockIssued", "2000-12-28", shares="1000000", kind="opening", id="c0"),
    issue("G", "Ann", "600", "2001-01-02", id="i1"),
    issue("G", "Bob", "400", "2001-01-02", id="i2"),
]


def test_balance_assertions_that_hold_are_stored(cli, jsonl):
    good = [ev("BalanceAsserted", "2001-03-31", series="G", shares="1000", id="a1"),
            ev("BalanceAsserted", "2001-03-31", series="G", holder="Ann", shares="600"),
            ev("BalanceAsserted", "2001-03-31", series="common", shares="1000000"),
            ev("BalanceAsserted", "2000-12-31", series="G", shares="0")]
    r = cli("load", str(jsonl(ISSUED + good)))
    assert r.exit_code == 0 and "8 appended" in r.stdout, r.output
    assert [e["type"] for e in cli.json("history", "--series", "G")["events"]][-3:] == [
        "BalanceAsserted", "BalanceAsserted", "BalanceAsserted"]


NOTHING: list[dict[str, Any]] = []


def asserting(assertion: dict[str, Any], field: str, *words: str) -> Refusal:
    """A file of ISSUED and a failing assertion (line 5): nothing stored, not even the good
    lines."""
    return refusal(NOTHING, ISSUED + [assertion], field, *words, line=5)


REFUSALS += [
    asserting(ev("BalanceAsserted", "2001-03-31", series="G", shares="1100", id="a1"),
              "shares", "line 5: BalanceAsserted id=a1 field shares", "expected 1100",
              "actual Series G outstanding 1000"),
    asserting(ev("BalanceAsserted", "2001-03-31", series="G", holder="Bob", shares="401"),
              "shares", "line 5: BalanceAsserted field shares", "expected 401",
              "actual Series G held by 'Bob' 400"),
    asserting(ev("BalanceAsserted", "2001-03-31", series="common", shares="999999"),
              "shares", "expected 999999", "actual common outstanding 1000000"),
    # before the issuance date the series is designated but nothing is outstanding
    asserting(ev("BalanceAsserted", "2001-01-01", series="G", shares="1000"),
              "shares", "failed on 2001-01-01", "expected 1000",
              "actual Series G outstanding 0"),
    # common by holder (SPEC.md §13): Ann holds G but no common (the opening has no holder)
    asserting(ev("BalanceAsserted", "2001-03-31", series="common", holder="Ann", shares="1"),
              "shares", "expected 1", "actual common held by 'Ann' 0"),
    asserting(ev("BalanceAsserted", "2001-03-31", series="common", holder="Zed", shares="0"),
              "holder", "unknown holder 'Zed'"),
    asserting(ev("BalanceAsserted", "2001-03-31", series="G", holder="Zed", shares="0"),
              "holder", "unknown holder 'Zed'"),
    asserting(ev("BalanceAsserted", "2001-03-31", series="Q", shares="0"),
              "series", "unknown series 'Q'"),
]

# SPEC.md §11: between two same-day issuances, the assertion sees only the first
SAME_DAY = ISSUED[:2] + [issue("G", "Ann", "600", "2001-02-01"),
                         ev("BalanceAsserted", "2001-02-01", series="G", shares="600"),
                         issue("G", "Bob", "100", "2001-02-01"),
                         ev("BalanceAsserted", "2001-02-01", series="G", shares="700")]
REFUSALS += [
    # a second file whose assertion sits before the day's second issuance
    refusal(SAME_DAY, [issue("G", "Cy", "50", "2001-02-02"),
                       ev("BalanceAsserted", "2001-02-02", series="G", shares="800"),
                       issue("G", "Dee", "50", "2001-02-02")], "shares",
            "expected 800, actual Series G outstanding 750", line=2),
]


def test_balance_assertion_is_checked_at_its_place_in_the_day():
    """The assertions of SAME_DAY hold (and the one of REFUSALS fails) at their places."""
    assert book(SAME_DAY).problems == []
    assert book(SAME_DAY).series("2001-02-01", "G")["outstanding"] == "700"  # 600 + 100


@pytest.mark.parametrize("case", REFUSALS, ids=[f"r{i}" for i in range(len(REFUSALS))])
def test_bad_reversals_and_failed_assertions_are_refused(case):
    refuse(case)


@pytest.mark.parametrize("cases", by_stored(REFUSALS), ids=lambda cs: f"{len(cs)}-cases")
def test_every_refusal_through_load_exits_2_and_stores_nothing(cli, jsonl, cases):
    cli.refuses_all(jsonl, cases)


def test_back_dated_event_breaking_a_stored_assertion_is_rejected(cli, jsonl):
    a = ev("BalanceAsserted", "2001-06-30", series="G", shares="1000", id="a1")
    assert cli("load", str(jsonl(ISSUED + [a]))).exit_code == 0
    before = cli.spec.content()
    r = cli("load", str(jsonl([issue("G", "Cy", "5", "2001-03-01", id="late")])))
    assert r.exit_code == 2
    assert ("line 1: SharesIssued id=late field shares: makes the later stored event "
            "BalanceAsserted id=a1 (2001-06-30) invalid: balance assertion failed on "
            "2001-06-30: expected 1000, actual Series G outstanding 1005") in flat(r.stderr)
    assert cli.spec.content() == before


def test_load_error_from_api_carries_every_problem(ledger):
    with pytest.raises(LedgerError) as exc:
        ledger.load_lines(lines(ISSUED + [
            ev("BalanceAsserted", "2001-03-31", series="G", shares="1", id="x1"),
            ev("BalanceAsserted", "2001-03-31", series="G", holder="Ann", shares="2", id="x2")]))
    assert [(p.line, p.field) for p in exc.value.problems] == [(5, "shares"), (6, "shares")]
    assert ledger.issuers() == []
