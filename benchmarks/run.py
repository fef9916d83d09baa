"""Measure load, as-of position, rebuild and memory, each against a baseline of the same run.

    python -m benchmarks.run --events 100000            # sizes 10k and 100k
    python -m benchmarks.run --events 1000000           # sizes 10k, 100k and 1M
    python -m benchmarks.run --events 100000 --peer-tools none   # no peer tool run

For each size (10k, 100k, 1M up to ``--events``; or just ``--events`` when smaller) it
generates a history (``benchmarks.generate``, cached in ``--workdir``) and measures:

- **load**: ``Ledger.load_file`` (the code of ``prefledger load``: parse, validate by
  replaying every issuer, hash-chain, append in one transaction) in a child process,
  against bare ``eventsourcing`` appending the same payloads without validation (one
  payload per event, 1,000 events per save; and all in one save like our load, up to
  ``ONE_SAVE_MAX``) and raw ``sqlite3`` inserting the same JSON rows in one transaction;
- **position --as-of**: median and p95 latency of ``Ledger.position`` over random
  issuers and dates, and over random dates of the probe issuer (1,000 holders), in a
  child process, with the median number of holder rows per report;
- **rebuild**: ``prefledger rebuild`` (``projections.feed.projector.Projector.rebuild``: read
  every issuer's stream, replay it, write every projection table of the reporting
  database with sqlite-utils, one issuer at a time) in a child process, against bare
  ``eventsourcing`` reading and decoding the same log and a raw ``sqlite3`` read of it;
  peak RSS of the child;
- **PostgreSQL load** (when a server answers ``--pg``): the smallest size, against bare
  ``eventsourcing`` appending to the same server;
- **prefledger as a command** (``benchmarks.peers_run``): ``prefledger position --as-of``
  as a whole process on the probe for a few random dates, and five events appended to the
  probe issuer against five appended to a new issuer (in process and as a command);
- **the peers** (up to ``--peers-max`` events, ``benchmarks.peers_run``): the same history
  converted for hledger, ledger-cli and Beancount (``benchmarks.peers``); ``prefledger
  load`` against ``hledger check``, ``hledger balance``, ``ledger balance`` and
  ``bean-check``, and the as-of position against ``hledger balance -e``, ``ledger
  balance -e`` and ``bean-query``, whole processes, the median of ``--peer-reps`` runs.

Prints a table and, last, one JSON line with every figure. The machine may be shared:
compare the ratios, each measured in the same run, more than the absolute rates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from benchmarks import generate, peers_run

SIZES = (10_000, 100_000, 1_000_000)
#: the all-in-one-save baseline is measured up to this size (it adds a minute at 1M)
ONE_SAVE_MAX = 100_000
TARGETS = {
    "load_vs_es": 0.8,
    "load_events_s": 40_000,
    "latency_growth": 2.0,
    "probe_median_ms": 20.0,
    "rebuild_vs_es": 0.3,
    "rebuild_rss_mb": 500,
    "pg_load_events_s": 5_000,
    # against the peers (at 100k events) and prefledger as a command
    "load_vs_hledger_check": 1.0,
    "load_vs_ledger_balance": 3.0,
    "position_whole_process_s": 0.25,
    "position_vs_hledger_balance_e": 0.3,
    "append5_existing_vs_new": 1.1,
    "load_rss_mb": 500,
}
#: the size the peer targets are read at
PEER_TARGET_SIZE = 100_000


class Stream(Aggregate):
    """The bare baseline: an aggregate that appends payloads, nothing else."""

    class Started(Aggregate.Created):
        name: str

    class Appended(Aggregate.Event):
        payload: dict[str, Any]

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def start(cls, name: str) -> Stream:
        return cls._create(cls.Started, id=uuid.uuid5(uuid.NAMESPACE_URL, name), name=name)

    def add(self, payload: dict[str, Any]) -> None:
        self.trigger_event(self.Appended, payload=payload)


class BareApp(Application[uuid.UUID]):
    name = "bare"


def _rm(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db) + suffix)
        if p.exists():
            p.unlink()


def _timed(fn: Any) -> tuple[float, float, Any]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def history(workdir: Path, n: int, seed: int) -> Path:
    path = workdir / f"history-{n}-seed{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        generate.write(tmp, n, seed)
        tmp.rename(path)
    return path


def rows_of(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- load and its baselines ---------------------------------------------------------------

def _child(kind: str, **args: Any) -> dict[str, Any]:
    """Run one measurement in a fresh process (as ``prefledger`` would run: its own heap,
    not this one's million decoded rows) and return the JSON it prints."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.run", "--child",
                          json.dumps({"kind": kind, **args})],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def peak_rss_mb() -> float:
    """This process's own peak RSS (``ru_maxrss`` may carry the parent's across exec)."""
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss_mb = int(line.split()[1]) / 1024
    except OSError:
        pass
    return round(rss_mb, 1)


def load_child(path: str, db: str | None, url: str | None) -> dict[str, Any]:
    from ledger.api import Ledger

    if db is not None:
        _rm(Path(db))
    lg = Ledger.open(db, url)
    try:
        wall, cpu, _ = _timed(lambda: lg.load_file(path))
    finally:
        lg.close()
    return {"wall": wall, "cpu": cpu, "rss_mb": peak_rss_mb()}


def our_load(path: Path, db: Path | None = None, url: str | None = None
             ) -> tuple[float, float, float]:
    got = _child("load", path=str(path), db=str(db) if db else None, url=url)
    return got["wall"], got["cpu"], got["rss_mb"]


def bare_append(rows: list[dict[str, Any]], batch: int, env: dict[str, str]) -> tuple[float, float]:
    app = BareApp(env=env)

    def run() -> None:
        aggs: dict[str, Stream] = {}
        pending: dict[str, Stream] = {}
        for k, row in enumerate(rows, start=1):
            name = row.get("issuer", "default")
            agg = aggs.get(name)
            if agg is None:
                agg = aggs[name] = Stream.start(name)
            agg.add(row)
            pending[name] = agg
            if k % batch == 0:
                app.save(*pending.values())
                pending.clear()
        if pending:
            app.save(*pending.values())

    try:
        wall, cpu, _ = _timed(run)
    finally:
        app.close()
    return wall, cpu


def sqlite_env(db: Path) -> dict[str, str]:
    _rm(db)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}


def raw_insert(rows: list[dict[str, Any]], db: Path) -> tuple[float, float]:
    _rm(db)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, issuer TEXT, body TEXT)")

    def run() -> None:
        con.execute("BEGIN")
        con.executemany("INSERT INTO events (issuer, body) VALUES (?, ?)",
                        ((r.get("issuer", "default"), json.dumps(r)) for r in rows))
        con.execute("COMMIT")

    try:
        wall, cpu, _ = _timed(run)
    finally:
        con.close()
    return wall, cpu


# -- position latency ---------------------------------------------------------------------

def spans_of(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each issuer's first and last effective date."""
    spans: dict[str, list[str]] = {}
    for r in rows:
        d = r["effective_date"]
        s = spans.setdefault(r.get("issuer", "default"), [d, d])
        s[0], s[1] = min(s[0], d), max(s[1], d)
    return spans


def latency(db: Path, spans: dict[str, list[str]], queries: int, seed: int, budget_s: float
            ) -> dict[str, Any]:
    return _child("latency", db=str(db), spans=spans, queries=queries, seed=seed,
                  budget_s=budget_s)


def latency_child(db: str, spans: dict[str, list[str]], queries: int, seed: int,
                  budget_s: float) -> dict[str, Any]:
    from ledger.api import Ledger

    rng = random.Random(seed)

    def day(issuer: str) -> dt.date:
        a, b = (dt.date.fromisoformat(x) for x in spans[issuer])
        return a + dt.timedelta(days=rng.randint(0, (b - a).days))

    out: dict[str, Any] = {}
    with Ledger.open(str(db)) as lg:
        for label, pick in (("all", lambda: rng.choice(sorted(spans))),
                            ("probe", lambda: generate.PROBE)):
            times: list[float] = []
            sizes: list[int] = []
            start = time.perf_counter()
            while len(times) < queries and time.perf_counter() - start < budget_s:
                issuer = pick()
                d = day(issuer)
                t = time.perf_counter()
                got = lg.position(d, issuer)
                times.append((time.perf_counter() - t) * 1000)
                sizes.append(len(got["holders"]))
            times.sort()
            out[label] = {
                "queries": len(times),
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
                # the report's size: one row per holder and series held (the cost of a
                # query grows with it, not with the length of the history)
                "median_holder_rows": int(statistics.median(sizes)),
            }
        holders = len({h["holder"] for h in lg.position(
            dt.date.fromisoformat(spans[generate.PROBE][1]), generate.PROBE)["holders"]})
    out["probe_holders"] = holders
    return out


# -- rebuild and its baselines ------------------------------------------------------------

def rebuild_child(db: str) -> dict[str, Any]:
    """In a child process: rebuild every projection, print the figures as JSON."""
    from ledger.api import Ledger
    from projections.feed.projector import Projector

    report = Path(db + ".report.db")
    _rm(report)
    with Ledger.open(db) as lg:
        wall, cpu, n = _timed(lambda: Projector(lg, report).rebuild().events)
    _rm(report)
    return {"events": n, "wall": wall, "cpu": cpu, "rss_mb": peak_rss_mb()}


def rebuild(db: Path) -> dict[str, Any]:
    return _child("rebuild", db=str(db))


def bare_read(db: Path, issuers: list[str]) -> tuple[float, float, int]:
    from ledger.store.eventstore import LedgerApplication, issuer_id

    app = LedgerApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                 "SQLITE_DBNAME": str(db)})

    def run() -> int:
        n = 0
        for name in issuers:
            for ev in app.events.get(issuer_id(name), gt=1):
                n += 1 if ev.payload else 0  # type: ignore[attr-defined]
        return n

    try:
        wall, cpu, n = _timed(run)
    finally:
        app.close()
    return wall, cpu, n


def raw_read(db: Path) -> tuple[float, float, int]:
    con = sqlite3.connect(db)

    def run() -> int:
        n = 0
        for (state,) in con.execute("SELECT state FROM stored_events"):
            n += 1 if json.loads(state) else 0
        return n

    try:
        wall, cpu, n = _timed(run)
    finally:
        con.close()
    return wall, cpu, n


# -- PostgreSQL ---------------------------------------------------------------------------

def pg_figures(url: str, path: Path, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        import psycopg

        conn = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - no server: report, do not fail
        return {"skipped": f"no PostgreSQL at {url}: {exc.__class__.__name__}"}
    ours, bare = (f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2))
    try:
        for s in (ours, bare):
            conn.execute(f'CREATE SCHEMA "{s}"')
        wall, cpu, _ = our_load(path, url=f"{url}?schema={ours}")
        from ledger.store.eventstore import env_for

        env = env_for(None, f"{url}?schema={bare}")
        bwall, bcpu = bare_append(rows, 1000, env)
        n = len(rows)
        return {"events": n, "load_events_s": round(n / wall), "load_cpu_s": round(cpu, 2),
                "bare_es_1000_events_s": round(n / bwall),
                "load_vs_bare_es": round(bwall / wall, 3)}
    finally:
        for s in (ours, bare):
            conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
        conn.close()


# -- the run ------------------------------------------------------------------------------

def measure(n: int, args: argparse.Namespace, workdir: Path,
            tools: peers_run.Tools | None = None) -> dict[str, Any]:
    path = history(workdir, n, args.seed)
    rows = rows_of(path)
    n = len(rows)
    db = workdir / f"ledger-{n}.db"
    fig: dict[str, Any] = {"events": n, "issuers": len({r.get("issuer") for r in rows}),
                           "payload_bytes": round(path.stat().st_size / n)}
    probe_events = sum(1 for r in rows if r.get("issuer", "default") == generate.PROBE)
    wall, cpu, rss = our_load(path, db)
    fig["load"] = {"events_s": round(n / wall), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                   "peak_rss_mb": rss}
    bw, bc = bare_append(rows, 1000, sqlite_env(workdir / "bare.db"))
    rw, rc = raw_insert(rows, workdir / "raw.db")
    fig["bare_es_append_1000"] = {"events_s": round(n / bw), "cpu_s": round(bc, 2)}
    fig["load"]["vs_bare_es_1000"] = round(bw / wall, 3)
    if n <= ONE_SAVE_MAX:  # like our load, all in one save (skipped at 1M: run time)
        aw, ac = bare_append(rows, n, sqlite_env(workdir / "bare.db"))
        fig["bare_es_append_one_save"] = {"events_s": round(n / aw), "cpu_s": round(ac, 2)}
        fig["load"]["vs_bare_es_one_save"] = round(aw / wall, 3)
    fig["raw_sqlite_insert"] = {"events_s": round(n / rw), "cpu_s": round(rc, 2)}
    fig["load"]["vs_raw_sqlite"] = round(rw / wall, 4)
    spans = spans_of(rows)
    del rows  # the children measure; this process need not carry a million dicts
    fig["position"] = latency(db, spans, args.queries, args.seed, args.latency_seconds)
    rb = rebuild(db)
    ew, ec, en = bare_read(db, sorted(spans))
    qw, qc, qn = raw_read(db)
    fig["rebuild"] = {"events_s": round(rb["events"] / rb["wall"]), "wall_s": round(rb["wall"], 2),
                      "cpu_s": round(rb["cpu"], 2), "peak_rss_mb": rb["rss_mb"],
                      "vs_bare_es_read": round(ew / rb["wall"], 3)}
    fig["bare_es_read_decode"] = {"events_s": round(en / ew), "cpu_s": round(ec, 2)}
    fig["raw_sqlite_read"] = {"events_s": round(qn / qw), "cpu_s": round(qc, 2)}
    # prefledger as a command, then the peers on the same history and dates
    probe = generate.PROBE if generate.PROBE in spans else sorted(spans)[0]
    dates = peers_run.probe_dates(spans[probe], args.position_dates, args.seed)
    alone = peers_run.prefledger_alone(db, workdir, spans, probe_events, dates,
                                       args.peer_reps)
    if tools is not None and n <= args.peers_max:
        fig["peers"] = peers_run.measure_peers(path, db, workdir, tools, alone, args.peer_reps)
    del alone["answers"]
    fig["cli"] = alone
    for p in ("bare.db", "raw.db"):
        _rm(workdir / p)
    if not args.keep:
        _rm(db)
    return fig


def sizes_for(events: int) -> list[int]:
    out = [s for s in SIZES if s < events]
    return out + [events]


def table(result: dict[str, Any]) -> str:
    lines = [f"{'events':>9} {'load ev/s':>10} {'bare ES ev/s':>13} {'load/ES':>8} "
             f"{'raw sqlite':>11} {'pos med ms':>10} {'pos p95':>8} {'probe med':>10} "
             f"{'probe p95':>10} {'probe rows':>10} {'rebuild ev/s':>13} {'ES read':>9} "
             f"{'rb/ES':>6} "
             f"{'raw read':>10} {'RSS MB':>7}"]
    for f in result["sizes"]:
        p = f["position"]
        lines.append(
            f"{f['events']:>9} {f['load']['events_s']:>10} "
            f"{f['bare_es_append_1000']['events_s']:>13} {f['load']['vs_bare_es_1000']:>8} "
            f"{f['raw_sqlite_insert']['events_s']:>11} {p['all']['median_ms']:>10} "
            f"{p['all']['p95_ms']:>8} {p['probe']['median_ms']:>10} {p['probe']['p95_ms']:>10} "
            f"{p['probe']['median_holder_rows']:>10} {f['rebuild']['events_s']:>13} "
            f"{f['bare_es_read_decode']['events_s']:>9} "
            f"{f['rebuild']['vs_bare_es_read']:>6} {f['raw_sqlite_read']['events_s']:>10} "
            f"{f['rebuild']['peak_rss_mb']:>7}")
    more = peers_run.table(result)
    if more:
        lines.append(more)
    pg = result.get("postgres")
    if pg:
        lines.append("postgres: " + json.dumps(pg))
    lines.append("targets: " + json.dumps(result["targets"]))
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> dict[str, Any]:
    """Each target of this benchmark with the figure measured for it (met or not)."""
    big = result["sizes"][-1]
    small = result["sizes"][0]
    growth = (big["position"]["probe"]["median_ms"] / small["position"]["probe"]["median_ms"]
              if small["position"]["probe"]["median_ms"] else None)
    out: dict[str, Any] = {
        "load_vs_bare_es_1000": [big["load"]["vs_bare_es_1000"], TARGETS["load_vs_es"]],
        "load_events_s": [big["load"]["events_s"], TARGETS["load_events_s"]],
        "probe_median_growth": [round(growth, 2) if growth else None, TARGETS["latency_growth"]],
        "probe_median_ms": [big["position"]["probe"]["median_ms"], TARGETS["probe_median_ms"]],
        "rebuild_vs_bare_es_read": [big["rebuild"]["vs_bare_es_read"], TARGETS["rebuild_vs_es"]],
        "rebuild_rss_mb": [big["rebuild"]["peak_rss_mb"], TARGETS["rebuild_rss_mb"]],
    }
    pg = result.get("postgres") or {}
    if "load_events_s" in pg:
        out["pg_load_events_s"] = [pg["load_events_s"], TARGETS["pg_load_events_s"]]
    out.update(cli_verdicts(result))
    for k, (got, want) in out.items():
        base = k.split("@")[0]  # the size a figure was read at, when not the largest
        lower_is_better = base in ("probe_median_growth", "probe_median_ms", "rebuild_rss_mb",
                                   "load_rss_mb", "load_vs_hledger_check",
                                   "load_vs_ledger_balance", "position_whole_process_s",
                                   "position_vs_hledger_balance_e", "append5_existing_vs_new",
                                   "position_whole_process_growth")
        met = got is not None and (got <= want if lower_is_better else got >= want)
        out[k] = {"measured": got, "target": want, "met": met}
    return out


def cli_verdicts(result: dict[str, Any]) -> dict[str, list[Any]]:
    """The targets against the peers (read at ``PEER_TARGET_SIZE`` events, else at the
    largest size they ran at) and of prefledger as a command (append: every size)."""
    sizes = result["sizes"]
    out: dict[str, list[Any]] = {}
    with_peers = [f for f in sizes if f.get("peers")]
    if with_peers:
        f = next((f for f in with_peers if f["events"] == PEER_TARGET_SIZE), with_peers[-1])
        at = f["events"]
        load, asof = f["peers"]["load"], f["peers"]["as_of"]
        for key, tool, group in (("load_vs_hledger_check", "hledger check", load),
                                 ("load_vs_ledger_balance", "ledger balance", load),
                                 ("position_vs_hledger_balance_e", "hledger balance -e",
                                  asof)):
            if tool in group:
                out[f"{key}@{at}"] = [group[tool]["prefledger_over_peer"], TARGETS[key]]
    for f in sizes:
        at = f["events"]
        cli = f.get("cli")
        if cli is None:
            continue
        if at == PEER_TARGET_SIZE or f is sizes[-1]:
            out[f"position_whole_process_s@{at}"] = [
                cli["position_whole_process"]["median_s"], TARGETS["position_whole_process_s"]]
        out[f"append5_existing_vs_new@{at}"] = [
            cli["append5"]["existing_vs_new_in_process"], TARGETS["append5_existing_vs_new"]]
    big, small = sizes[-1], sizes[0]
    out[f"load_rss_mb@{big['events']}"] = [big["load"]["peak_rss_mb"], TARGETS["load_rss_mb"]]
    if big.get("cli") and small.get("cli") and big is not small:
        a = small["cli"]["position_whole_process"]["median_s"]
        b = big["cli"]["position_whole_process"]["median_s"]
        out["position_whole_process_growth"] = [round(b / a, 2) if a else None,
                                                TARGETS["latency_growth"]]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="prefledger benchmarks")
    ap.add_argument("--events", type=int, default=100_000, help="largest size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=".bench", help="generated files and databases")
    ap.add_argument("--queries", type=int, default=200, help="position queries per group")
    ap.add_argument("--latency-seconds", type=float, default=60.0,
                    help="time budget per group of position queries")
    ap.add_argument("--pg", default=os.environ.get(
        "PREFLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server for the PostgreSQL load ('' to skip)")
    ap.add_argument("--keep", action="store_true", help="keep the loaded databases")
    ap.add_argument("--peer-tools", choices=("install", "available", "none"),
                    default="install", help="hledger, ledger-cli, Beancount: install when "
                    "missing, use what is there, or run none (conversion and prefledger only)")
    ap.add_argument("--peers-max", type=int, default=peers_run.PEERS_MAX,
                    help="largest size the peers run at")
    ap.add_argument("--peer-reps", type=int, default=3,
                    help="runs of each whole-process command (the median is reported)")
    ap.add_argument("--position-dates", type=int, default=5,
                    help="random probe dates of the whole-process as-of queries")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        job = json.loads(args.child)
        kind = job.pop("kind")
        fn: Any = {"load": load_child, "latency": latency_child, "rebuild": rebuild_child}[kind]
        print(json.dumps(fn(**job)))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                          "loadavg": os.getloadavg()[0],
                                          "python": platform.python_version(),
                                          "platform": platform.platform(),
                                          "date": dt.datetime.now(dt.UTC).isoformat(
                                              timespec="seconds")},
                              "sizes": []}
    sizes = sizes_for(args.events)
    tools = None
    if any(n <= args.peers_max for n in sizes):
        tools = peers_run.find_tools(args.peer_tools, workdir)
        result["machine"]["tools"] = tools.versions
        if tools.notes:
            result["machine"]["tool_notes"] = tools.notes
    for n in sizes:
        result["sizes"].append(measure(n, args, workdir, tools))
        print(f"measured {n} events: " + json.dumps(result["sizes"][-1]), file=sys.stderr,
              flush=True)
    if args.pg:
        small = result["sizes"][0]["events"]
        path = history(workdir, small, args.seed)
        result["postgres"] = pg_figures(args.pg, path, rows_of(path))
    result["machine"]["loadavg_end"] = os.getloadavg()[0]
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["targets"] = verdicts(result)
    print(table(result))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
