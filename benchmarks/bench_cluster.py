"""Benchmark ``newstag tag`` on a Dask cluster against the local worker pool.

What it does, in one run:

1. Builds the archive of ``benchmarks/bench_tag.py`` (``build_archive``: sample pages
   and evaluation articles, sentences shuffled, 10% GB18030, 10% CRLF), ``--mb`` MB.
2. Starts two clusters on the loopback interface, each a ``dask scheduler`` and a
   ``dask worker --nworkers N --nthreads 1`` (N = 1 and 2) as subprocesses, and runs
   ``newstag tag --scheduler`` once against each right after its workers started:
   the *first run*, in which the workers are sent and load the model.
3. Times whole processes (start-up included, as bench_tag.py does), ``--repeats``
   times each, variants in turn within a repeat:
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

CPU seconds are those of the whole work: the ``newstag tag`` process and its children,
plus, for a running cluster, what its scheduler and workers used meanwhile (from
``/proc``) -- a figure less sensitive than wall time to other load on the machine.

Usage::

    python benchmarks/bench_cluster.py                    # 50 MB, 3 repeats
    python benchmarks/bench_cluster.py --mb 5 --repeats 1 # quick look
"""
from __future__ import annotations

import argparse
import os
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

    def stop(self) -> None:
        """Stop the workers, then the scheduler (SIGTERM, then SIGKILL after 20 s)."""
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def tree_cpu(pid: int) -> float:
    """Return the CPU seconds (user + system) of process ``pid`` and its living descendants
    (children started by any of a process's threads)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
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
    clusters = {n: DaskCluster(n, tmp / f"cluster{n}", env) for n in (1, 2)}
    variants, outputs = {}, {}

    def add(name, cmd_for_out):
        out = tmp / f"out{len(variants)}.jsonl"
        variants[name] = cmd_for_out(out)
        outputs[name] = out

    add("local: newstag tag --workers 1", lambda o: tag + [str(archive), "-o", str(o), "--workers", "1"] + model)
    add("local: newstag tag --workers 2", lambda o: tag + [str(archive), "-o", str(o), "--workers", "2"] + model)
    on_cluster = {}
    for n, c in clusters.items():
        add(f"dask: running cluster, {n} worker process(es)",
            lambda o, c=c: tag + [str(archive), "-o", str(o), "--scheduler", c.address] + model)
        on_cluster[f"dask: running cluster, {n} worker process(es)"] = c
    for method in ("spawn", "fork"):
        add(f"dask: LocalCluster of 2 started in the process ({method})",
            lambda o, m=method: [sys.executable, str(shim), m, "2", str(archive), "-o", str(o)] + model)

    first = []
    try:
        for n, c in clusters.items():
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
            for name, cmd in variants.items():
                clean(outputs[name])
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
    articles = count_lines(outputs["local: newstag tag --workers 1"])
    rows = []
    for name, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        rows.append({"variant": name, "seconds": sec, "mb_per_s": size / 1e6 / sec, "articles_per_s": articles / sec,
                     "cpu_seconds": statistics.median(r["cpu_seconds"] for r in rs),
                     "load_before": statistics.median(r["load_before"] for r in rs),
                     "per_repeat": [r["seconds"] for r in rs]})
    return rows, first


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

    l1, l2 = speed("local: newstag tag --workers 1"), speed("local: newstag tag --workers 2")
    d1 = speed("dask: running cluster, 1 worker process(es)")
    d2 = speed("dask: running cluster, 2 worker process(es)")
    lines += ["", "Goals:", ""]
    for label, ratio, goal in (("local, 2 workers / 1 worker", l2 / l1, None),
                               ("dask, 2 workers / 1 worker", d2 / d1, 1.7)):
        verdict = "" if goal is None else (" -- holds" if ratio >= goal else " -- does NOT hold") + f" (goal >= {goal})"
        lines.append(f"- speed-up {label}: {ratio:.2f}x{verdict}")
    for n, d, l in ((1, d1, l1), (2, d2, l2)):
        slower = 1 - d / l
        verdict = "holds" if slower <= 0.15 else "does NOT hold"
        lines.append(f"- dask path vs local path, {n} worker process(es): {slower:+.1%} slower "
                     f"({d:.2f} vs {l:.2f} MB/s) -- {verdict} (goal: at most 15% slower)")
    for method in ("spawn", "fork"):
        lc = speed(f"dask: LocalCluster of 2 started in the process ({method})")
        lines.append(f"- LocalCluster ({method}) in place of the local pool, 2 workers: {1 - lc / l2:+.1%} slower "
                     f"than `--workers 2` ({lc:.2f} vs {l2:.2f} MB/s)")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=50.0, help="archive size in MB (default 50, as bench_tag.py)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the shipped model)")
    args = ap.parse_args(argv)
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
