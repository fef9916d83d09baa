"""Every performance target in one run, printed as measured / target / met.

    python -m benchmarks.targets                                  # 10k and 100k events
    python -m benchmarks.targets --sizes 10000,100000,1000000     # and 1M (takes long)
    python -m benchmarks.targets --sizes 10000 --peer-tools none  # no peer tool

For each size it generates a history (``benchmarks.generate``, cached in ``--workdir``),
converts it for hledger and ledger-cli (``benchmarks.peers``, up to ``--peers-max``
events) and measures, with only the public API (``from ledger import Ledger``) or the
``prefledger`` command, each measurement in a fresh process:

- **load**: ``prefledger load`` of the whole history into a new SQLite file, whole
  process (median of ``--reps``; one run above ``--peers-max``) and its peak RSS, against
  ``hledger check`` (parse, balance every transaction, check every assertion) and
  ``ledger balance`` of the same history as a journal;
- **position --as-of**: ``prefledger position --as-of D --issuer P`` (the table, written
  to a pipe) as a whole process for ``--dates`` random dates of the probe issuer P,
  against ``hledger balance -e D+1`` of P's accounts for the same dates; and
  ``Ledger.position`` in process (``--queries`` random dates of P: the latency);
- **append 5**: ``Ledger.load_lines`` of five events, timed alone in a fresh process: an
  issuance and four transfers to the probe issuer (its whole history stored), against a
  designation, an issuance and three transfers to a new issuer, alternating;
- **rebuild**: ``prefledger rebuild``'s projector (every projection table of the
  reporting database) in process, and its peak RSS, against bare ``eventsourcing``
  reading and decoding the same log.

The ``prefledger`` commands run as installed: the package's bytecode compiled first
(``compileall``) and ``PYTHONDONTWRITEBYTECODE`` not passed on, so a command does not
compile its sources each time it starts. The machine may be shared: the ratios, each
measured in the same run, say more than the absolute times (the load average is printed).
Prints the targets table and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import generate, peers, peers_run, run

DEFAULT_SIZES = (10_000, 100_000)
ONE_DAY = dt.timedelta(days=1)


# -- the targets --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    key: str
    label: str
    #: the ledger size the target is read at (None: the largest measured)
    at: int | None
    limit: float
    #: "max": the measured figure must be at most ``limit``; "min": at least
    sense: str
    unit: str


TARGETS = (
    Target("load_vs_hledger_check", "load vs hledger check", 100_000, 1.0, "max", "×"),
    Target("load_vs_ledger_balance", "load vs ledger balance (stretch)", 100_000, 3.0, "max",
           "×"),
    Target("position_whole_process_s", "position --as-of, whole process, median", 100_000,
           0.25, "max", " s"),
    Target("position_vs_hledger_balance_e", "position --as-of vs hledger balance -e", 100_000,
           0.3, "max", "×"),
    Target("append5_vs_new_10k", "append 5 to an issuer of 10k events vs a new issuer",
           100_000, 1.1, "max", "×"),
    Target("append5_vs_new_1m", "append 5 at 1M events vs a new issuer", 1_000_000, 1.1,
           "max", "×"),
    Target("rebuild_vs_bare_read", "rebuild vs bare eventsourcing read-and-decode", None, 0.3,
           "min", "×"),
    Target("load_rss_mb", "peak RSS of a load", 1_000_000, 500, "max", " MB"),
    Target("rebuild_rss_mb", "peak RSS of a rebuild", 1_000_000, 500, "max", " MB"),
    Target("position_latency_growth", "position latency, largest size vs smallest",
           1_000_000, 2.0, "max", "×"),
)


# -- processes ----------------------------------------------------------------------------

def installed_env(compile_first: bool) -> dict[str, str]:
    """The environment ``prefledger`` runs in: bytecode written and used, as installed."""
    if compile_first:
        for pkg in ("ledger", "projections"):
            spec = importlib.util.find_spec(pkg)
            if spec is not None and spec.submodule_search_locations:
                for where in spec.submodule_search_locations:
                    compileall.compile_dir(where, quiet=1)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def child(kind: str, env: dict[str, str] | None = None, **args: Any) -> dict[str, Any]:
    """One measurement in a fresh process (its own heap, its own peak RSS)."""
    got = subprocess.run([sys.executable, "-m", "benchmarks.targets", "--child",
                          json.dumps({"kind": kind, **args})],
                         capture_output=True, text=True, env=env)
    if got.returncode != 0:
        raise RuntimeError(f"{kind} child exited {got.returncode}: {got.stderr[-2000:]}")
    return json.loads(got.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


# -- the measurements (each a child process) ----------------------------------------------

def append_child(db: str, lines: list[str]) -> dict[str, Any]:
    """``Ledger.load_lines`` of ``lines`` on the ledger ``db``, timed alone."""
    from ledger import Ledger
    from ledger.events import build_validators

    build_validators()  # built on first use: not part of either append (both would pay)
    with Ledger.open(db) as lg:
        t = time.perf_counter()
        res = lg.load_lines(lines)
        wall = time.perf_counter() - t
    return {"wall": wall, "appended": res.appended}


def latency_child(db: str, issuer: str, span: list[str], queries: int, seed: int
                  ) -> dict[str, Any]:
    """``Ledger.position`` for ``queries`` random dates of ``issuer``: median and p95 ms."""
    from ledger import Ledger

    rng = random.Random(seed)
    a, b = (dt.date.fromisoformat(x) for x in span)
    times: list[float] = []
    rows: list[int] = []
    with Ledger.open(db) as lg:
        for _ in range(queries):
            day = a + dt.timedelta(days=rng.randint(0, (b - a).days))
            t = time.perf_counter()
            got = lg.position(day, issuer)
            times.append((time.perf_counter() - t) * 1000)
            rows.append(len(got["holders"]))
    times.sort()
    return {"queries": len(times), "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
            "median_holder_rows": int(statistics.median(rows))}


def rebuild_child(db: str) -> dict[str, Any]:
    """``prefledger rebuild``'s projector into a fresh reporting database: wall, peak RSS."""
    from ledger import Ledger
    from projections.feed.projector import Projector

    report = Path(db + ".report.db")
    run._rm(report)
    with Ledger.open(db) as lg:
        t = time.perf_counter()
        n = Projector(lg, report).rebuild().events
        wall = time.perf_counter() - t
    run._rm(report)
    return {"events": n, "wall": wall, "rss_mb": run.peak_rss_mb()}


def bare_read_child(db: str) -> dict[str, Any]:
    """Bare ``eventsourcing`` reading and decoding every issuer's stream of ``db``."""
    from ledger import Ledger

    with Ledger.open(db) as lg:
        issuers = lg.issuers()
    wall, _, n = run.bare_read(Path(db), issuers)
    return {"events": n, "wall": wall}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "append": append_child, "latency": latency_child, "rebuild": rebuild_child,
    "bare_read": bare_read_child}


# -- one size -----------------------------------------------------------------------------

def measure_size(n: int, args: argparse.Namespace, workdir: Path, tools: peers_run.Tools,
                 env: dict[str, str]) -> dict[str, Any]:
    path = run.history(workdir, n, args.seed)
    rows = run.rows_of(path)
    spans = run.spans_of(rows)
    probe = generate.PROBE if generate.PROBE in spans else sorted(spans)[0]
    fig: dict[str, Any] = {"events": len(rows), "issuers": len(spans), "probe": probe,
                           "probe_events": sum(1 for r in rows
                                               if r.get("issuer", "default") == probe)}
    del rows
    peer_size = n <= args.peers_max and tools.paths
    reps = args.reps if n <= args.peers_max else 1
    pl = peers_run.prefledger_cmd()

    # load, whole process; the last one loaded is the ledger measured below
    db = workdir / f"targets-{n}.db"
    loads: list[peers_run.Ran] = []
    for _ in range(reps):
        run._rm(db)
        got = peers_run.run_cmd(pl + ["--db", str(db), "load", str(path)], env)
        if not got.out.startswith(f"{fig['events']} appended"):
            raise RuntimeError(f"load: {got.out[:200]!r}")
        loads.append(got)
    fig["load"] = {"median_s": _median([r.wall for r in loads]),
                   "runs_s": [round(r.wall, 3) for r in loads],
                   "cpu_median_s": _median([r.cpu for r in loads]),
                   "peak_rss_mb": max(r.rss_mb for r in loads),
                   "events_s": round(fig["events"] / statistics.median(r.wall for r in loads))}

    _partial(fig)
    dates = peers_run.probe_dates(spans[probe], args.dates, args.seed)
    pos = [peers_run.run_cmd(pl + ["--db", str(db), "position", "--as-of", d.isoformat(),
                                   "--issuer", probe], env) for d in dates]
    fig["position_whole_process"] = {
        "dates": [d.isoformat() for d in dates], "median_s": _median([r.wall for r in pos]),
        "runs_s": [round(r.wall, 3) for r in pos], "peak_rss_mb": max(r.rss_mb for r in pos),
        "cpu_median_s": _median([r.cpu for r in pos]),
        "output_lines": [r.out.count("\n") for r in pos]}
    fig["position_latency"] = child("latency", env, db=str(db), issuer=probe,
                                    span=spans[probe], queries=args.queries, seed=args.seed)

    if peer_size:
        fig["peers"] = measure_peers(path, workdir, tools, probe, dates, reps)

    _partial(fig)
    try:
        fig["append5"] = append5(db, probe, dt.date.fromisoformat(spans[probe][1]),
                                 fig["probe_events"], args.reps, env)
    except RuntimeError as exc:  # reported, and the other figures still measured
        fig["append5"] = {"error": str(exc)[-500:], "stored_events": fig["probe_events"],
                          "existing_vs_new": None}
    _partial(fig)

    rb = child("rebuild", env, db=str(db))
    bare = child("bare_read", env, db=str(db))
    fig["rebuild"] = {"wall_s": round(rb["wall"], 3), "events": rb["events"],
                      "peak_rss_mb": rb["rss_mb"], "bare_read_s": round(bare["wall"], 3),
                      "vs_bare_read": round(bare["wall"] / rb["wall"], 3)}
    if not args.keep:
        run._rm(db)
    return fig


def _partial(fig: dict[str, Any]) -> None:
    """What is measured so far, on stderr (a long run that fails later keeps it)."""
    print(f"so far at {fig['events']} events: " + json.dumps(fig), file=sys.stderr,
          flush=True)


def measure_peers(path: Path, workdir: Path, tools: peers_run.Tools, probe: str,
                  dates: list[dt.date], reps: int) -> dict[str, Any]:
    """hledger and ledger-cli on the same history, converted to one journal."""
    journal = workdir / (path.stem + ".journal")
    names: dict[str, peers.IssuerNames] = {}
    with path.open(encoding="utf-8") as fh:
        items = peers.entries(fh, names)
    with journal.open("w", encoding="utf-8") as fh:
        written = peers.write_journal(items, fh)
    del items
    fig: dict[str, Any] = {"journal": {"transactions": written.events,
                                       "assertions": written.assertions}}
    hl, lg = tools.paths.get("hledger"), tools.paths.get("ledger")
    pattern = f"^{names[probe].root}:"
    if hl:
        fig["hledger check"] = peers_run.timed_runs([hl, "-f", str(journal), "check"], reps)
        runs = [peers_run.run_cmd([hl, "-f", str(journal), "balance", "-e",
                                   (d + ONE_DAY).isoformat(), pattern]) for d in dates]
        fig["hledger balance -e"] = {"median_s": _median([r.wall for r in runs]),
                                     "runs_s": [round(r.wall, 3) for r in runs],
                                     "cpu_median_s": _median([r.cpu for r in runs])}
    if lg:
        fig["ledger balance"] = peers_run.timed_runs([lg, "-f", str(journal), "balance"], reps)
    return fig


def append5(db: Path, issuer: str, last: dt.date, stored: int, reps: int,
            env: dict[str, str]) -> dict[str, Any]:
    """Five events appended to ``issuer`` (``stored`` events, the last on ``last``)
    against five to a new issuer, ``reps`` times each, alternating, each in a fresh
    process that times ``Ledger.load_lines`` alone."""
    who = peers_run.pick_transfer(db, issuer, last, 4 * reps)
    got: dict[str, list[float]] = {"existing": [], "new": []}
    for rep in range(reps):
        cases = {"existing": peers_run.five_existing(issuer, who, last + ONE_DAY * (rep + 1),
                                                     f"targets-append-{rep}"),
                 "new": peers_run.five_new(f"targets-new-{rep}", f"targets-new-{rep}")}
        for case, lines in cases.items():
            res = child("append", env, db=str(db), lines=lines)
            if res["appended"] != 5:
                raise RuntimeError(f"append {case}: {res}")
            got[case].append(res["wall"])
    existing, new = _median(got["existing"]), _median(got["new"])
    return {"issuer": issuer, "stored_events": stored, "existing_s": existing, "new_s": new,
            "runs_existing_s": [round(x, 4) for x in got["existing"]],
            "runs_new_s": [round(x, 4) for x in got["new"]],
            "existing_vs_new": round(existing / new, 3) if new else None}


# -- verdicts -----------------------------------------------------------------------------

def _at(sizes: list[dict[str, Any]], want: int | None,
        has: Callable[[dict[str, Any]], bool] = lambda f: True) -> dict[str, Any] | None:
    """The size a target is read at: ``want`` events if measured, else the largest
    measured size below it (else the largest measured); only sizes where ``has``."""
    ok = [f for f in sizes if has(f)]
    if not ok:
        return None
    if want is None:
        return ok[-1]
    exact = [f for f in ok if f["events"] == want]
    below = [f for f in ok if f["events"] < want]
    return exact[0] if exact else below[-1] if below else ok[0]


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def figures(sizes: list[dict[str, Any]]) -> dict[str, tuple[float | None, str]]:
    """Each target's measured figure and the event count it was read at."""
    out: dict[str, tuple[float | None, str]] = {}

    def peer(f: dict[str, Any], tool: str) -> float | None:
        v = (f.get("peers") or {}).get(tool)
        return v["median_s"] if v else None

    def put(key: str, f: dict[str, Any] | None, value: Callable[[dict[str, Any]], Any],
            at: str | None = None) -> None:
        if f is None:
            out[key] = (None, "not measured")
        else:
            out[key] = (value(f), at or f"{f['events']:,}")

    t = {x.key: x for x in TARGETS}
    for key, tool in (("load_vs_hledger_check", "hledger check"),
                      ("load_vs_ledger_balance", "ledger balance")):
        def has(f: dict[str, Any], tool: str = tool) -> bool:
            return peer(f, tool) is not None

        def load_ratio(f: dict[str, Any], tool: str = tool) -> float | None:
            return _ratio(f["load"]["median_s"], peer(f, tool))

        put(key, _at(sizes, t[key].at, has), load_ratio)
    put("position_whole_process_s", _at(sizes, t["position_whole_process_s"].at,
                                        lambda f: "position_whole_process" in f),
        lambda f: f["position_whole_process"]["median_s"])
    f = _at(sizes, t["position_vs_hledger_balance_e"].at,
            lambda f: peer(f, "hledger balance -e") is not None)
    put("position_vs_hledger_balance_e", f,
        lambda f: _ratio(f["position_whole_process"]["median_s"], peer(f, "hledger balance -e")))
    for key in ("append5_vs_new_10k", "append5_vs_new_1m"):
        f = _at(sizes, t[key].at,
                lambda f: (f.get("append5") or {}).get("existing_vs_new") is not None)
        put(key, f, lambda f: f["append5"]["existing_vs_new"],
            None if f is None else f"{f['events']:,} (issuer of "
            f"{f['append5']['stored_events']:,})")
    put("rebuild_vs_bare_read", _at(sizes, None, lambda f: "rebuild" in f),
        lambda f: f["rebuild"]["vs_bare_read"])
    put("load_rss_mb", _at(sizes, t["load_rss_mb"].at), lambda f: f["load"]["peak_rss_mb"])
    put("rebuild_rss_mb", _at(sizes, t["rebuild_rss_mb"].at, lambda f: "rebuild" in f),
        lambda f: f["rebuild"]["peak_rss_mb"])
    timed = [f for f in sizes if "position_latency" in f]
    small, big = (timed[0], timed[-1]) if timed else (sizes[0], sizes[0])
    if not timed:
        out["position_latency_growth"] = (None, "not measured")
    elif big is small:
        out["position_latency_growth"] = (None, f"{big['events']:,} only")
    else:
        out["position_latency_growth"] = (
            _ratio(big["position_latency"]["median_ms"], small["position_latency"]["median_ms"]),
            f"{big['events']:,} vs {small['events']:,}")
    return out


def verdicts(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    figs = figures(sizes)
    rows = []
    for t in TARGETS:
        got, at = figs[t.key]
        met = None if got is None else (got <= t.limit if t.sense == "max" else got >= t.limit)
        rows.append({"key": t.key, "target": t.label, "events": at, "measured": got,
                     "limit": t.limit, "sense": t.sense, "unit": t.unit, "met": met,
                     "read_at_target_size": t.at is None or at.startswith(f"{t.at:,}")})
    return rows


def _cells(r: dict[str, Any], yes: str) -> tuple[str, str, str, str]:
    """A verdict's measured figure, its limit (with ≤ or ≥) and whether it is met (``yes``
    as the table writes it), each as shown."""
    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:g}{r['unit']}"

    sign = "≤" if r["sense"] == "max" else "≥"
    met = "n/a" if r["met"] is None else yes if r["met"] else "no"
    if r["met"] is not None and not r["read_at_target_size"]:
        met += " (not at the target's size)"
    return fmt(r["measured"]), f"{sign} {fmt(r['limit'])}", met, r["events"]


def table(rows: list[dict[str, Any]]) -> str:
    """The targets as ``target | events | measured | target | met``."""
    lines = [f"{'target':<53} {'events':<28} {'measured':>10} {'target':>10}  met"]
    for r in rows:
        measured, limit, met, events = _cells(r, "yes")
        lines.append(f"{r['target']:<53} {events:<28} {measured:>10} {limit:>10}  {met}")
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    """The targets as a Markdown table (the README's), from a run's JSON line."""
    lines = ["| target | events | measured | target | met |", "|---|---|---|---|---|"]
    for r in result["targets"]:
        measured, limit, met, events = _cells(r, "**yes**")
        lines.append(f"| {r['target']} | {events} | {measured} | {limit} | {met} |")
    return "\n".join(lines)


# -- the run ------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = ram = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent).stdout.strip() or None
    except OSError:
        commit = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram": ram, "commit": commit,
            "python": platform.python_version(), "platform": platform.platform(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "loadavg_start": round(os.getloadavg()[0], 2)}


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(x.replace("_", "")) for x in text.split(",") if x.strip()})
    if not sizes or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("--sizes: positive event counts, e.g. 10000,100000")
    return sizes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="prefledger performance targets")
    ap.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                    help="history sizes in events, comma separated (1000000 takes long)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=".bench", help="generated files and databases")
    ap.add_argument("--peer-tools", choices=("install", "available", "none"),
                    default="install", help="hledger and ledger-cli: install when missing, "
                    "use what is there, or run none")
    ap.add_argument("--peers-max", type=int, default=peers_run.PEERS_MAX,
                    help="largest size the peers run at")
    ap.add_argument("--reps", type=int, default=3, help="runs of each timed command")
    ap.add_argument("--dates", type=int, default=5, help="as-of dates, whole process")
    ap.add_argument("--queries", type=int, default=200, help="as-of queries in process")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not compile the package's bytecode first")
    ap.add_argument("--keep", action="store_true", help="keep the loaded databases")
    ap.add_argument("--markdown", metavar="FILE",
                    help="measure nothing: print the targets of a run's JSON line (the "
                    "last line it printed, saved to FILE) as a Markdown table")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(CHILDREN[job.pop("kind")](**job)))
        return
    if args.markdown:
        text = Path(args.markdown).read_text(encoding="utf-8").strip().splitlines()[-1]
        print(markdown(json.loads(text)))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "sizes": []}
    tools = peers_run.find_tools(args.peer_tools, workdir)
    result["machine"]["tools"] = {k: v for k, v in tools.versions.items()
                                  if k in ("hledger", "ledger")}
    if tools.notes:
        result["machine"]["tool_notes"] = tools.notes
    env = installed_env(not args.no_compile)
    for n in args.sizes:
        result["sizes"].append(measure_size(n, args, workdir, tools, env))
        print(f"measured {n} events: " + json.dumps(result["sizes"][-1]), file=sys.stderr,
              flush=True)
    result["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["targets"] = verdicts(result["sizes"])
    m = result["machine"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, Python {m['python']}; "
          f"{m['date']}; load average {m['loadavg_start']} at the start, "
          f"{m['loadavg_end']} at the end; commit {m['commit']}")
    print("sizes: " + "; ".join(
        f"{f['events']:,} events, {f['issuers']} issuers, probe {f['probe']} "
        f"{f['probe_events']:,} events" for f in result["sizes"]))
    print(table(result["targets"]))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
