"""prefledger against hledger, ledger-cli and Beancount, in the same run, on the same history.

Called by ``python -m benchmarks.run`` for each size up to ``PEERS_MAX`` events (the
peers' part), and at every size for the whole-process figures of prefledger alone
(``prefledger position`` as a command, appending five events):

- the history is converted (``benchmarks.peers``) to one hledger / ledger-cli journal and
  one Beancount file, every ``BalanceAsserted`` a balance assertion;
- **load / check**: ``prefledger load`` into a fresh SQLite file (parse, validate,
  hash-chain, store) against ``hledger check`` (parse, balance every transaction, check
  every assertion), ``hledger balance`` of the whole journal, ``ledger balance`` (which
  checks the assertions as it reads) and ``bean-check --no-cache`` (parse, book, check
  every ``balance``): whole processes, the median of ``reps`` runs;
- **as of a date**, on the probe issuer, for the same random dates: ``prefledger
  position --as-of D --json`` on the loaded ledger against ``hledger balance -e D+1``,
  ``ledger balance -e D+1`` (both end dates exclusive) and ``bean-query … WHERE date <
  D+1`` restricted to the probe's accounts (bean-query with Beancount's own pickle cache
  warm, as a user would have it; one cold run is reported too). prefledger's answer is
  compared with hledger's, holder by holder, for one of the dates;
- **append five events**, in process (``Ledger.load_file`` in a fresh child) and as a
  whole ``prefledger load``: one issuance and four transfers to the probe issuer, dated
  after its last event, against a designation, an issuance and three transfers to a new
  issuer, in the same ledger.

The tools are found on the PATH (hledger and ledger also from Debian packages, installed
with ``apt-get install -y hledger ledger`` when missing; Beancount and beanquery from
PyPI into ``WORKDIR/peers-venv``) unless ``--peer-tools`` says otherwise: ``install``
(the default), ``available`` (use what is there) or ``none`` (no peer tool is run: the
conversion and prefledger's own figures only).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks import generate, peers

#: the peers run up to this size (above it, prefledger alone)
PEERS_MAX = 100_000
ONE_DAY = dt.timedelta(days=1)


# -- processes ----------------------------------------------------------------------------

@dataclass
class Ran:
    wall: float
    rss_mb: float
    out: str
    #: user + system CPU seconds of the command (and the processes it waited for)
    cpu: float = 0.0


#: GNU time reports a command's own peak RSS; ``wait4`` alone would also count the
#: image of this process that the child is forked from (``ru_maxrss`` survives exec)
GNU_TIME = "/usr/bin/time"


def run_cmd(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> Ran:
    """Run ``cmd`` to its end: wall time, its own peak RSS, stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        timed = Path(GNU_TIME).exists()
        full = [GNU_TIME, "-f", "%M", "-o", peak.name, *cmd] if timed else cmd
        t = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])} … exited {p.returncode}: "
                               + err.read().decode("utf-8", "replace")[-2000:])
        kb = usage.ru_maxrss
        if timed:
            said = peak.read().split()
            kb = int(said[-1]) if said and said[-1].isdigit() else kb
    return Ran(wall, round(kb / 1024, 1), text, round(usage.ru_utime + usage.ru_stime, 3))


def prefledger_cmd() -> list[str]:
    """The ``prefledger`` command of this environment (its console script)."""
    script = Path(sys.executable).with_name("prefledger")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ledger.cli import run; run()"]


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


def timed_runs(cmd: list[str], reps: int, before: Any = None,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    runs: list[Ran] = []
    for _ in range(reps):
        if before is not None:
            before()
        runs.append(run_cmd(cmd, env))
    return {"median_s": _median([r.wall for r in runs]),
            "runs_s": [round(r.wall, 3) for r in runs],
            "peak_rss_mb": max(r.rss_mb for r in runs),
            "cpu_median_s": _median([r.cpu for r in runs])}


# -- the tools ----------------------------------------------------------------------------

@dataclass
class Tools:
    paths: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.paths


def _which(name: str, venv: Path) -> str | None:
    local = venv / "bin" / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def find_tools(mode: str, workdir: Path) -> Tools:
    """The peer tools, installed first when missing and ``mode`` is ``install``."""
    tools = Tools()
    if mode == "none":
        tools.notes.append("peer tools not run (--peer-tools none)")
        return tools
    venv = workdir / "peers-venv"
    if mode == "install":
        if not (shutil.which("hledger") and shutil.which("ledger")):
            apt = ["apt-get", "install", "-y", "hledger", "ledger"]
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            if subprocess.run(apt, capture_output=True, env=env).returncode != 0:
                subprocess.run(["apt-get", "update"], capture_output=True, env=env)
                got = subprocess.run(apt, capture_output=True, text=True, env=env)
                if got.returncode != 0:
                    tools.notes.append("apt-get install hledger ledger failed: "
                                       + got.stderr[-300:])
        if _which("bean-check", venv) is None or _which("bean-query", venv) is None:
            if not (venv / "bin" / "pip").exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            got = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "beancount",
                                  "beanquery"], capture_output=True, text=True)
            if got.returncode != 0:
                tools.notes.append("pip install beancount beanquery failed: "
                                   + got.stderr[-300:])
    for name in ("hledger", "ledger", "bean-check", "bean-query"):
        path = _which(name, venv)
        if path is not None:
            tools.paths[name] = path
        else:
            tools.notes.append(f"{name} not found")
    if tools.has("hledger"):
        tools.versions["hledger"] = run_cmd([tools.paths["hledger"], "--version"]).out.strip()
    if tools.has("ledger"):
        tools.versions["ledger"] = run_cmd(
            [tools.paths["ledger"], "--version"]).out.splitlines()[0].strip()
    if tools.has("bean-check"):
        py = Path(tools.paths["bean-check"]).with_name("python")
        if py.exists():
            said = run_cmd([str(py), "-c", "import beancount, beanquery; "
                            "print(beancount.__version__, beanquery.__version__)"], check=False)
            if said.out.strip():
                bc, bq = said.out.split()
                tools.versions["beancount"] = bc
                tools.versions["beanquery"] = bq
    return tools


# -- dates and the five events ------------------------------------------------------------

def probe_dates(span: list[str], count: int, seed: int) -> list[dt.date]:
    """``count`` random dates in the probe's history (the same for every tool)."""
    rng = random.Random(seed)
    a, b = (dt.date.fromisoformat(x) for x in span)
    return [a + dt.timedelta(days=rng.randint(0, (b - a).days)) for _ in range(count)]


def _event(kind: str, day: dt.date, issuer: str, eid: str, **fields: Any) -> str:
    return json.dumps({"id": eid, "type": kind, "effective_date": day.isoformat(),
                       "issuer": issuer, **fields})


def pick_transfer(db: Path, issuer: str, last: dt.date, need: int) -> tuple[str, str, str]:
    """(series, giver, taker): ``issuer``'s most widely held preferred series on
    ``last``, its biggest holder (at least ``need`` shares) and its smallest one (common,
    and common without a named holder, are never picked: five preferred events)."""
    from ledger import Ledger

    with Ledger.open(str(db)) as lg:
        rows = lg.position(last, issuer)["holders"]
    held: dict[str, list[tuple[Decimal, str]]] = {}
    for r in rows:
        if Decimal(r["shares"]) > 0 and r["series"] != "common" and r["holder"] is not None:
            held.setdefault(r["series"], []).append((Decimal(r["shares"]), r["holder"]))
    series = max(held, key=lambda s: (len(held[s]), s))
    ranked = sorted(held[series], reverse=True)
    (most, giver), (_, taker) = ranked[0], ranked[-1]
    if most < need or giver == taker:
        raise RuntimeError(f"{issuer} has no holder to transfer from on {last}")
    return series, giver, taker


def five_existing(issuer: str, who: tuple[str, str, str], day: dt.date, tag: str
                  ) -> list[str]:
    """One issuance and four one-share transfers of ``issuer`` on ``day``."""
    series, giver, taker = who
    out = [_event("SharesIssued", day, issuer, f"{tag}-i", series=series, holder=taker,
                  shares="1", price_per_share="1000")]
    out += [_event("SharesTransferred", day, issuer, f"{tag}-t{k}", series=series,
                   from_holder=giver, to_holder=taker, shares="1") for k in range(4)]
    return out


def five_new(issuer: str, tag: str) -> list[str]:
    """A designation, an issuance and three transfers of a new issuer."""
    d, e = dt.date(2000, 12, 28), dt.date(2000, 12, 29)
    out = [_event("SeriesDesignated", d, issuer, f"{tag}-d", series="G", terms_ref="nstor/G"),
           _event("SharesIssued", d, issuer, f"{tag}-i", series="G", holder="Alder",
                  shares="100", price_per_share="1000")]
    out += [_event("SharesTransferred", e, issuer, f"{tag}-t{k}", series="G",
                   from_holder="Alder", to_holder="Birch", shares="1") for k in range(3)]
    return out


def append_child(db: str, path: str) -> dict[str, Any]:
    """In a fresh process: the time of ``Ledger.load_file`` alone."""
    from ledger import Ledger
    from ledger.events import build_validators

    build_validators()  # built on first use: not part of the time of the load
    with Ledger.open(db) as lg:
        t = time.perf_counter()
        res = lg.load_file(path)
        wall = time.perf_counter() - t
    return {"wall": wall, "appended": res.appended}


def _child(kind: str, **args: Any) -> dict[str, Any]:
    out = run_cmd([sys.executable, "-m", "benchmarks.peers_run", "--child",
                   json.dumps({"kind": kind, **args})])
    return json.loads(out.out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def append5(db: Path, workdir: Path, issuer: str, last: dt.date, stored: int, reps: int
            ) -> dict[str, Any]:
    """Five events appended to ``issuer`` (``stored`` events, the last on ``last``; the
    five dated after it) and to a new issuer, ``reps`` times each, in process and as a
    whole ``prefledger load``, alternating."""
    got: dict[str, dict[str, list[float]]] = {
        k: {"in_process_s": [], "whole_process_s": []} for k in ("existing", "new")}
    path = workdir / "five.jsonl"
    who = pick_transfer(db, issuer, last, 4 * 2 * reps)  # 4 shares a run
    for rep in range(2 * reps):
        whole = rep % 2 == 1  # in process, then as a command, for each case
        k = rep // 2
        for case in ("existing", "new"):
            tag = f"bench-append-{case}-{k}-{int(whole)}"
            lines = (five_existing(issuer, who, last + ONE_DAY * (rep + 1), tag)
                     if case == "existing" else five_new(f"bench-new-{k}-{int(whole)}", tag))
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            if whole:
                ran = run_cmd(prefledger_cmd() + ["--db", str(db), "load", str(path)])
                if not ran.out.startswith("5 appended"):
                    raise RuntimeError(f"append: {ran.out!r}")
                got[case]["whole_process_s"].append(ran.wall)
            else:
                child = _child("append", db=str(db), path=str(path))
                if child["appended"] != 5:
                    raise RuntimeError(f"append: {child}")
                got[case]["in_process_s"].append(child["wall"])
    path.unlink()
    fig: dict[str, Any] = {"issuer": issuer, "stored_events": stored}
    for case, d in got.items():
        fig[case] = {k: _median(v) for k, v in d.items()}
    for key in ("in_process_s", "whole_process_s"):
        new = fig["new"][key]
        fig[f"existing_vs_new_{key[:-2]}"] = (round(fig["existing"][key] / new, 3)
                                              if new else None)
    return fig


# -- prefledger alone: the whole-process figures at every size ----------------------------

def prefledger_alone(db: Path, workdir: Path, spans: dict[str, list[str]], stored: int,
                     dates: list[dt.date], reps: int) -> dict[str, Any]:
    """``prefledger position --as-of D --json`` for the probe as a whole command, for
    each date; then five events appended (``append5``)."""
    probe = generate.PROBE if generate.PROBE in spans else sorted(spans)[0]
    runs = [run_cmd(prefledger_cmd() + ["--db", str(db), "position", "--as-of",
                                        d.isoformat(), "--issuer", probe, "--json"])
            for d in dates]
    fig: dict[str, Any] = {
        "position_whole_process": {
            "issuer": probe, "dates": [d.isoformat() for d in dates],
            "median_s": _median([r.wall for r in runs]),
            "runs_s": [round(r.wall, 3) for r in runs],
            "peak_rss_mb": max(r.rss_mb for r in runs)},
        "answers": {d.isoformat(): r.out for d, r in zip(dates, runs, strict=True)},
    }
    last = dt.date.fromisoformat(spans[probe][1])
    fig["append5"] = append5(db, workdir, probe, last, stored, reps)
    return fig


# -- the peers ----------------------------------------------------------------------------

def _agreement(position: dict[str, Any], csv_text: str, names: peers.IssuerNames
               ) -> dict[str, Any]:
    """prefledger's holder rows and common outstanding against hledger's balances."""
    theirs: dict[tuple[str, str], Decimal] = {}
    for line in csv_text.splitlines()[1:]:
        acct, com, bal = (x.strip('"') for x in line.split('","'))
        if acct != "total" and Decimal(bal):
            theirs[acct, com] = Decimal(bal)
    ours: dict[tuple[str, str], Decimal] = {}
    for r in position["holders"]:
        if Decimal(r["shares"]):
            ours[names.holder(r["holder"]), names.commodity(r["series"])] = Decimal(r["shares"])
    if Decimal(position["common_outstanding"]):
        ours[names.common, peers.COMMON] = Decimal(position["common_outstanding"])
    differ = sorted(set(ours.items()) ^ set(theirs.items()))
    return {"balances": len(ours), "agree": not differ,
            "differences": [f"{a} {c} {v}" for (a, c), v in differ[:5]]}


def measure_peers(path: Path, db: Path, workdir: Path, tools: Tools, alone: dict[str, Any],
                  reps: int) -> dict[str, Any]:
    """Every peer figure for one history (``db``: the history already loaded)."""
    fig: dict[str, Any] = {}
    journal = workdir / (path.stem + ".journal")
    bean = workdir / (path.stem + ".beancount")
    names: dict[str, peers.IssuerNames] = {}
    t = time.perf_counter()
    with path.open(encoding="utf-8") as fh:
        items = peers.entries(fh, names)
    with journal.open("w", encoding="utf-8") as fh:
        wj = peers.write_journal(items, fh)
    with bean.open("w", encoding="utf-8") as fh:
        wb = peers.write_beancount(items, fh)
    del items
    fig["conversion"] = {
        "seconds": round(time.perf_counter() - t, 2), "events": wj.events,
        "postings": wj.postings, "journal_assertions": wj.assertions,
        "beancount_assertions": wb.assertions,
        "beancount_in_day_assertions": wb.beancount_in_day_assertions,
        "accounts": wb.accounts, "journal_bytes": journal.stat().st_size,
        "beancount_bytes": bean.stat().st_size}

    # load / check: whole processes
    fresh = workdir / "peers-load.db"

    def rm_fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(fresh) + suffix).unlink(missing_ok=True)

    load: dict[str, Any] = {"prefledger load": timed_runs(
        prefledger_cmd() + ["--db", str(fresh), "load", str(path)], reps, rm_fresh)}
    rm_fresh()
    hl, lg = tools.paths.get("hledger"), tools.paths.get("ledger")
    bc, bq = tools.paths.get("bean-check"), tools.paths.get("bean-query")
    if hl:
        load["hledger check"] = timed_runs([hl, "-f", str(journal), "check"], reps)
        load["hledger balance"] = timed_runs([hl, "-f", str(journal), "balance"], reps)
    if lg:
        load["ledger balance"] = timed_runs([lg, "-f", str(journal), "balance"], reps)
    if bc:
        load["bean-check"] = timed_runs([bc, "--no-cache", str(bean)], reps)
    ours = load["prefledger load"]["median_s"]
    for k, v in load.items():
        if k != "prefledger load":
            v["prefledger_over_peer"] = round(ours / v["median_s"], 3)
    fig["load"] = load

    # as of a date, the probe issuer, the dates prefledger alone was asked
    pos = alone["position_whole_process"]
    probe = pos["issuer"]
    root = names[probe].root
    dates = [dt.date.fromisoformat(d) for d in pos["dates"]]
    asof: dict[str, Any] = {"prefledger position --as-of": {
        k: pos[k] for k in ("median_s", "runs_s", "peak_rss_mb")}}
    pattern = f"^{root}:"

    def per_date(make: Any) -> dict[str, Any]:
        runs = [run_cmd(make(d + ONE_DAY)) for d in dates]
        return {"median_s": _median([r.wall for r in runs]),
                "runs_s": [round(r.wall, 3) for r in runs],
                "peak_rss_mb": max(r.rss_mb for r in runs)}

    if hl:
        asof["hledger balance -e"] = per_date(
            lambda e: [hl, "-f", str(journal), "balance", "-e", e.isoformat(), pattern])
        got = run_cmd([hl, "-f", str(journal), "balance", "-e", (dates[0] + ONE_DAY).isoformat(),
                       f"^{root}:(Holders:|Common$)", "-O", "csv", "--layout=bare"])
        fig["agreement"] = {"date": dates[0].isoformat(), **_agreement(
            json.loads(alone["answers"][dates[0].isoformat()]), got.out, names[probe])}
    if lg:
        asof["ledger balance -e"] = per_date(
            lambda e: [lg, "-f", str(journal), "balance", "-e", e.isoformat(), pattern])
    if bq:
        def query(e: dt.date) -> list[str]:
            return [bq, str(bean), "SELECT account, sum(position) WHERE date < "
                    f"{e.isoformat()} AND account ~ '{pattern}' GROUP BY account"]
        cache = bean.with_name(f".{bean.name}.picklecache")
        cache.unlink(missing_ok=True)
        cold = run_cmd(query(dates[0] + ONE_DAY))  # writes Beancount's pickle cache
        asof["bean-query (cache warm)"] = per_date(query)
        asof["bean-query (cache warm)"]["cold_s"] = round(cold.wall, 3)
        cache.unlink(missing_ok=True)
    ours = asof["prefledger position --as-of"]["median_s"]
    for k, v in asof.items():
        if k != "prefledger position --as-of":
            v["prefledger_over_peer"] = round(ours / v["median_s"], 3)
    fig["as_of"] = asof
    return fig


def table(result: dict[str, Any]) -> str:
    """The peers' lines of the printed table: median seconds, prefledger / peer."""
    lines: list[str] = []
    for f in result["sizes"]:
        alone = f.get("cli") or {}
        p = f.get("peers")
        pos = alone.get("position_whole_process")
        ap = alone.get("append5")
        if pos and ap:
            lines.append(
                f"{f['events']:>9} prefledger alone: position --as-of (whole process) "
                f"{pos['median_s']} s; append 5 to {ap['issuer']} ({ap['stored_events']} "
                f"stored) {ap['existing']['in_process_s']} s vs new issuer "
                f"{ap['new']['in_process_s']} s in process "
                f"({ap['existing_vs_new_in_process']}×), "
                f"{ap['existing']['whole_process_s']} vs {ap['new']['whole_process_s']} s "
                f"as a command ({ap['existing_vs_new_whole_process']}×)")
        if not p:
            continue
        for group in ("load", "as_of"):
            parts = []
            for tool, v in p[group].items():
                ratio = v.get("prefledger_over_peer")
                parts.append(f"{tool} {v['median_s']} s"
                             + (f" (prefledger/peer {ratio})" if ratio is not None else ""))
            lines.append(f"{f['events']:>9} {group}: " + "; ".join(parts))
        c = p["conversion"]
        agree = p.get("agreement")
        lines.append(f"{f['events']:>9} converted: {c['postings']} postings, "
                     f"{c['journal_assertions']} assertions (Beancount "
                     f"{c['beancount_assertions']}, {c['beancount_in_day_assertions']} "
                     "in-day left as comments)"
                     + (f"; prefledger = hledger on {agree['balances']} balances of "
                        f"{agree['date']}: {agree['agree']}" if agree else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--child":
        job = json.loads(args[1])
        kind = job.pop("kind")
        fn: Any = {"append": append_child}[kind]
        print(json.dumps(fn(**job)))
        return
    raise SystemExit("run the peers with: python -m benchmarks.run --events N")


if __name__ == "__main__":
    main()
