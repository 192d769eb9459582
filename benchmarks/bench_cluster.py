"""Benchmark ``newstag tag`` on a Dask cluster against the local worker pool.

What it does, in one run:

1. Builds the archive of ``benchmarks/bench_tag.py`` (``build_archive``: sample pages
   and evaluation articles, sentences shuffled, 10% GB18030, 10% CRLF), ``--mb`` MB.
2. Starts two clusters on the loopback interface, each a ``dask scheduler`` and a
   ``dask worker --nworkers N --nthreads 1`` (N = 1 and 2) as subprocesses, and runs
   ``newstag tag --scheduler`` once against each right after its workers started:
   the *first run*, in which the workers are sent and load the model.
3. Times whole processes (start-up included, as bench_tag.py does), ``--repeats``
   times each, variants in turn within a repeat (every other repeat in reverse order):
   * ``newstag tag --workers 1`` and ``--workers 2`` (the local process pool);
   * ``newstag tag --scheduler`` against the running 1-worker and 2-worker clusters
     (their workers already hold the model, as on a long-lived cluster);
   * a process that starts a ``distributed.LocalCluster`` of 2 worker processes and
     runs ``newstag tag --scheduler`` on it: Dask in place of the local pool
     (workers spawned, the default; and forked from a process that has already
     loaded the model and the segmenter, Dask's most favourable case).
   Reported: median wall seconds, MB/s, articles/s, and the ratios the issue sets
   goals for: 2 workers against 1 (goal >= 1.7) and the Dask path against the local
   path at the same number of worker processes (goal: at most 15% slower).  All
   variants must write byte-identical JSON lines (checked).

Only what is being timed runs: the cluster not in use (or both, for the local and the
LocalCluster variants) is paused with SIGSTOP, since an idle Dask cluster takes CPU too.

CPU seconds are those of the whole work: the ``newstag tag`` process and its children,
plus, for a running cluster, what its scheduler and workers used meanwhile (from
``/proc``) -- a figure less sensitive than wall time to other load on the machine.

Usage::

    python benchmarks/bench_cluster.py                    # 50 MB, 3 repeats
    python benchmarks/bench_cluster.py --mb 5 --repeats 1 # quick look
    python benchmarks/bench_cluster.py --variants dask1,dask2 --repeats 11  # the scaling pair only
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tag import build_archive, count_lines, newstag_command, run_timed  # noqa: E402

LOCAL_CLUSTER = r'''
import logging, sys
import dask
from distributed import LocalCluster

from newstag.tagcmd import tag

if __name__ == "__main__":
    method, n = sys.argv[1], int(sys.argv[2])
    if method == "fork":  # the workers inherit the libraries, the model and the segmenter
        from newstag.model.segment import get_tokenizer
        from newstag.model.store import load_model

        load_model()
        get_tokenizer()
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
            try:
                tag(sys.argv[3:] + ["--scheduler", cluster.scheduler_address], prog_name="newstag tag")
            except SystemExit as exc:
                code = exc.code
    sys.exit(code)
'''


VARIANTS = {  # --variants key -> the name reported
    "local1": "local: newstag tag --workers 1",
    "local2": "local: newstag tag --workers 2",
    "dask1": "dask: running cluster, 1 worker process(es)",
    "dask2": "dask: running cluster, 2 worker process(es)",
    "lc-spawn": "dask: LocalCluster of 2 started in the process (spawn)",
    "lc-fork": "dask: LocalCluster of 2 started in the process (fork)",
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskCluster:
    """A ``dask scheduler`` and ``dask worker --nworkers N --nthreads 1`` on 127.0.0.1,
    as subprocesses (logs in ``folder``)."""

    def __init__(self, workers: int, folder: Path, env: dict):
        self.workers = workers
        self.folder = folder
        self.env = env
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs: list = []

    def start(self) -> None:
        """Start the scheduler, then the workers; return when all workers have joined."""
        from distributed import Client

        self.folder.mkdir(parents=True, exist_ok=True)
        port = self.address.rsplit(":", 1)[1]
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port,
                                  "--dashboard-address", "127.0.0.1:0"])
        self._spawn("worker", ["worker", self.address, "--nworkers", str(self.workers), "--nthreads", "1",
                               "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(self.folder)])
        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=60)

    def _spawn(self, name: str, args: list) -> None:
        log = open(self.folder / f"{name}.log", "wb")
        self.procs.append(subprocess.Popen([sys.executable, "-m", "dask", *args], env=self.env,
                                           stdout=log, stderr=subprocess.STDOUT))
        log.close()

    def cpu_seconds(self) -> float:
        """Return the CPU seconds (user + system) used so far by the scheduler and the
        workers (all their processes)."""
        return sum(tree_cpu(proc.pid) for proc in self.procs)

    def pause(self) -> None:
        """Stop (SIGSTOP) every process of the cluster: an idle Dask cluster still uses
        CPU (heartbeats, memory monitors: about 13% of a core for a scheduler and two
        workers, measured with top), which would be taken from the variant being timed."""
        for proc in reversed(self.procs):
            for pid in tree_pids(proc.pid):
                _signal(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let the processes stopped by ``pause`` run again (SIGCONT)."""
        for proc in self.procs:
            for pid in tree_pids(proc.pid):
                _signal(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the workers, then the scheduler (SIGTERM, then SIGKILL after 20 s)."""
        self.resume()
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def tree_pids(pid: int) -> list:
    """Return ``pid`` and the pids of its living descendants (children started by any of
    a process's threads)."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return found


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def tree_cpu(pid: int) -> float:
    """Return the CPU seconds (user + system) of process ``pid`` and its living descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError):
            continue
    return total / ticks


def clean(out: Path) -> None:
    """Remove an output and its resume files."""
    for suffix in ("", ".part", ".progress"):
        Path(str(out) + suffix).unlink(missing_ok=True)


def bench(archive: Path, size: int, tmp: Path, args) -> tuple[list, list]:
    """Return ``(rows, first_runs)``: one row per timed variant with medians, and the
    first run against each cluster.  Raises ``RuntimeError`` when outputs differ."""
    env = dict(os.environ, NEWSTAG_CACHE_DIR=str(tmp / "cache"), PYTHONHASHSEED="0")
    (tmp / "cache").mkdir(exist_ok=True)
    tag = newstag_command()
    model = ["--model", str(args.model)] if args.model else []
    shim = tmp / "local_cluster.py"
    shim.write_text(LOCAL_CLUSTER, encoding="utf-8")
    # the clusters are paused while another variant is timed: none may drop the other's
    # workers for missing heartbeats (Dask's worker-ttl, 5 minutes) meanwhile
    cluster_env = dict(env, DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL="None")
    clusters = {n: DaskCluster(n, tmp / f"cluster{n}", cluster_env) for n in (1, 2)
                if f"dask{n}" in args.variants}
    variants, outputs = {}, {}

    def add(key, cmd_for_out):
        if key not in args.variants:
            return
        out = tmp / f"out{len(variants)}.jsonl"
        variants[VARIANTS[key]] = cmd_for_out(out)
        outputs[VARIANTS[key]] = out

    add("local1", lambda o: tag + [str(archive), "-o", str(o), "--workers", "1"] + model)
    add("local2", lambda o: tag + [str(archive), "-o", str(o), "--workers", "2"] + model)
    on_cluster = {}
    for n, c in clusters.items():
        add(f"dask{n}", lambda o, c=c: tag + [str(archive), "-o", str(o), "--scheduler", c.address] + model)
        on_cluster[VARIANTS[f"dask{n}"]] = c
    for method in ("spawn", "fork"):
        add(f"lc-{method}", lambda o, m=method: [sys.executable, str(shim), m, "2", str(archive), "-o", str(o)] + model)

    first = []
    try:
        for n, c in clusters.items():
            for other in clusters.values():
                other.pause()
            started = time.perf_counter()
            c.start()
            up = time.perf_counter() - started
            out = tmp / f"first{n}.jsonl"
            res = run_timed(tag + [str(archive), "-o", str(out), "--scheduler", c.address] + model, env)
            first.append({"variant": f"dask: first run, {n} worker process(es)", "seconds": res["seconds"],
                          "mb_per_s": size / 1e6 / res["seconds"], "cluster_start": up})
            outputs[first[-1]["variant"]] = out
            print(f"  cluster of {n} up in {up:.1f} s; first run {res['seconds']:.1f} s", file=sys.stderr)
        runs = {name: [] for name in variants}
        for r in range(args.repeats):
            order = list(variants.items())
            if r % 2:  # every other repeat in reverse, so that a drift of the machine's speed
                order.reverse()  # within a repeat does not always favour the same variant
            for name, cmd in order:
                clean(outputs[name])
                for c in clusters.values():  # only the cluster being timed runs
                    c.resume() if on_cluster.get(name) is c else c.pause()
                cluster_cpu = on_cluster[name].cpu_seconds() if name in on_cluster else 0.0
                load = os.getloadavg()[0]
                res = run_timed(cmd, env)
                res["load_before"] = load
                if name in on_cluster:
                    res["cpu_seconds"] += on_cluster[name].cpu_seconds() - cluster_cpu
                runs[name].append(res)
                print(f"  repeat {r + 1}: {name}: {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU "
                      f"(load average before: {load:.1f})", file=sys.stderr)
    finally:
        for c in clusters.values():
            c.stop()
    texts = {name: out.read_bytes() for name, out in outputs.items()}
    if len(set(texts.values())) != 1:
        raise RuntimeError("outputs differ: " + ", ".join(f"{n}: {len(t)} bytes" for n, t in texts.items()))
    articles = count_lines(next(iter(outputs.values())))
    rows = []
    for name, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        rows.append({"variant": name, "seconds": sec, "mb_per_s": size / 1e6 / sec, "articles_per_s": articles / sec,
                     "cpu_seconds": statistics.median(r["cpu_seconds"] for r in rs),
                     "load_before": statistics.median(r["load_before"] for r in rs),
                     "per_repeat": [r["seconds"] for r in rs]})
    return rows, first


def _slower(speed: float, than: float) -> str:
    """Return '12.3% slower' or '4.5% faster': ``speed`` against ``than`` (MB/s)."""
    change = 1 - speed / than
    return f"{change:.1%} slower" if change >= 0 else f"{-change:.1%} faster"


def report(meta: dict, rows: list, first: list) -> str:
    """Return the tables and the goals' verdicts as text."""
    by = {r["variant"]: r for r in rows}
    lines = [
        f"Archive: {meta['files']} files, {meta['bytes'] / 1e6:.1f} MB (benchmarks/bench_tag.py build_archive, "
        f"seed {meta['seed']}); machine: {meta['cores']} cores; medians of {meta['repeats']} run(s), whole "
        "process, start-up included; all outputs byte-identical",
        "",
        "| variant | wall s | MB/s | articles/s | CPU s (all processes) | per repeat s | load avg before |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['seconds']:.1f} | {r['mb_per_s']:.2f} | {r['articles_per_s']:.0f} | "
                     f"{r['cpu_seconds']:.1f} | {', '.join(f'{s:.1f}' for s in r['per_repeat'])} | "
                     f"{r['load_before']:.1f} |")
    lines += ["", "First run against a cluster whose workers just started (model sent and loaded):", ""]
    lines += [f"- {f['variant']}: {f['seconds']:.1f} s, {f['mb_per_s']:.2f} MB/s "
              f"(cluster start-up before it, not counted: {f['cluster_start']:.1f} s)" for f in first]

    def speed(name):
        return by[name]["mb_per_s"]

    def paired(fast, slow):
        """Per repeat, ``slow``'s seconds over ``fast``'s (runs of one repeat are
        neighbours in time, so they share the machine's state): the ratios and their median."""
        ratios = [s / f for f, s in zip(by[fast]["per_repeat"], by[slow]["per_repeat"])]
        return ", ".join(f"{r:.2f}" for r in ratios), statistics.median(ratios)

    def have(*keys):
        return all(VARIANTS[k] in by for k in keys)

    lines += ["", "Goals:", ""]
    for label, one, two, goal in (("local", "local1", "local2", None), ("dask", "dask1", "dask2", 1.7)):
        if not have(one, two):
            continue
        ratio = speed(VARIANTS[two]) / speed(VARIANTS[one])
        each, med = paired(VARIANTS[two], VARIANTS[one])
        verdict = "" if goal is None else (" -- holds" if ratio >= goal else " -- does NOT hold") + f" (goal >= {goal})"
        lines.append(f"- speed-up {label}, 2 workers / 1 worker: {ratio:.2f}x (medians){verdict}")
        verdict = "" if goal is None else (" -- holds" if med >= goal else " -- does NOT hold")
        lines.append(f"  - within each repeat: {each}; median {med:.2f}x{verdict}")
    for n in (1, 2):
        if have(f"dask{n}", f"local{n}"):
            d, l = speed(VARIANTS[f"dask{n}"]), speed(VARIANTS[f"local{n}"])
            verdict = "holds" if 1 - d / l <= 0.15 else "does NOT hold"
            lines.append(f"- dask path vs local path, {n} worker process(es): {_slower(d, l)} "
                         f"({d:.2f} vs {l:.2f} MB/s) -- {verdict} (goal: at most 15% slower)")
            each, med = paired(VARIANTS[f"local{n}"], VARIANTS[f"dask{n}"])  # dask seconds / local seconds
            lines.append(f"  - within each repeat, dask seconds / local seconds: {each}; median {med:.2f} "
                         f"(dask {_slower(1 / med, 1)})")
    for method in ("spawn", "fork"):
        if have(f"lc-{method}", "local2"):
            lc, l2 = speed(VARIANTS[f"lc-{method}"]), speed(VARIANTS["local2"])
            lines.append(f"- LocalCluster ({method}) in place of the local pool, 2 workers: {_slower(lc, l2)} "
                         f"than `--workers 2` ({lc:.2f} vs {l2:.2f} MB/s)")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=50.0, help="archive size in MB (default 50, as bench_tag.py)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the shipped model)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma-separated variants to time (default: all of {','.join(VARIANTS)})")
    args = ap.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        ap.error(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    with tempfile.TemporaryDirectory(prefix="bench_cluster.") as tmpdir:
        tmp = Path(tmpdir)
        started = time.perf_counter()
        n, size = build_archive(tmp / "archive", args.mb, args.seed)
        print(f"built {tmp / 'archive'}: {n} files, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        rows, first = bench(tmp / "archive", size, tmp, args)
    meta = {"files": n, "bytes": size, "cores": os.cpu_count(), "repeats": args.repeats, "seed": args.seed}
    print(report(meta, rows, first))


if __name__ == "__main__":
    main()
