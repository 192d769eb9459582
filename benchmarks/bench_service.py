"""Load benchmark of the service: concurrent clients on loopback against `newstag serve`.

What it does, in one run:

1. baseline: `newstag classify --jsonl` in one process over the same articles; its
   rate is measured from its first output line to its last (start-up left out);
2. starts `newstag serve --workers W` on a free loopback port and waits for /health;
3. closed loop: C client threads (each with its own keep-alive connection) POST
   {"text": article} to /classify as fast as they get answers, bounded by --requests and
   --seconds (after --warmup requests that are not counted): the most the service does;
4. paced: the same C clients together offer --fraction (0.6) of the baseline's
   articles/s on a fixed schedule, latency counted from the scheduled send time: the
   latency at the goal's throughput;
5. reports throughput, p50/p90/p99/max latency, errors, and the memory of each worker
   (RSS, and PSS: RSS with pages shared by k processes counted 1/k); stops the server.

Why two phases: with C clients each waiting for its answer before asking again, C
requests are in the system at all times, so the mean latency is C / throughput (Little's
law) whatever the server does: 16 clients at 50 ms would need 320 answers per second.
The closed loop says how much the service can do; the paced phase says how fast it
answers when asked for the goal's throughput.

Articles: those of tests/data/eval_articles.jsonl (headline + paragraphs) that are
0.7-1.4 KB of UTF-8, cycled; the same for the baseline and the service.  The goal (issue 5): with 16 clients and 2 workers, at least 60% of the
baseline's articles/s, p99 at most 50 ms, no error.  The client threads run on the same
2 cores as the server.

Usage:  python benchmarks/bench_service.py [--model PATH] [--clients 16] [--workers 2]
            [--requests 4000] [--seconds 60] [--fraction 0.6] [--repeat 3] [--json OUT]
Without --model it uses the shipped model (model/newstag.joblib), or trains one from
labels.csv into a temporary folder when there is none.
Only 127.0.0.1 is ever contacted.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "tests" / "data" / "eval_articles.jsonl"
SHIPPED = ROOT / "model" / "newstag.joblib"
HOST = "127.0.0.1"


def read_articles(path=ARTICLES, min_bytes=700, max_bytes=1400) -> list[str]:
    """Return the evaluation articles of ``min_bytes``-``max_bytes`` of UTF-8 (about
    1 KB) as texts: headline line, then paragraphs."""
    texts = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                a = json.loads(line)
                text = a["title"] + "\n" + "\n".join(a["paragraphs"])
                if min_bytes <= len(text.encode("utf-8")) <= max_bytes:
                    texts.append(text)
    return texts


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile(sorted_values, q: float) -> float:
    """Return the q-th percentile (0-100, nearest rank) of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


# -- baseline -------------------------------------------------------------------------

def baseline_rate(model: Path, texts: list[str], n: int) -> dict:
    """Run `newstag classify --jsonl` on ``n`` articles (cycled); return its articles/s
    between the first and the last output line, and its whole-run time."""
    lines = "".join(json.dumps({"id": i, "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n" for i in range(n))
    cmd = [sys.executable, "-m", "newstag", "classify", "--jsonl", "--model", str(model)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8")
    writer = threading.Thread(target=lambda: (proc.stdin.write(lines), proc.stdin.close()), daemon=True)
    writer.start()
    first = last = None
    count = 0
    for _ in proc.stdout:
        now = time.perf_counter()
        first = first or now
        last = now
        count += 1
    proc.wait()
    if proc.returncode != 0 or count != n:
        raise SystemExit(f"baseline failed ({proc.returncode}, {count}/{n} lines): {proc.stderr.read()[-2000:]}")
    return {"articles": n, "articles_per_s": (n - 1) / (last - first), "seconds_total": last - started}


# -- server ---------------------------------------------------------------------------

def start_server(model: Path, workers: int, port: int, log_path: Path, extra=()) -> subprocess.Popen:
    """Start `newstag serve` on 127.0.0.1:port and return its process once /health answers."""
    from newstag.cli import main as cli

    serve = ["newstag", "serve"] if "serve" in cli.commands else ["newstag.servecmd"]  # same click command
    cmd = [sys.executable, "-m", *serve, "--host", HOST, "--port", str(port), "--workers", str(workers),
           "--model", str(model), "--reload-interval", "0", *extra]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                c.close()
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("server did not answer /health within 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server started by ``start_server`` (its master, which stops its workers)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def children(pid: int) -> list[int]:
    """Return the pids of the child processes of ``pid``."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def memory_mb(pid: int) -> dict:
    """Return ``{"rss", "pss"}`` of process ``pid`` in MiB (from /proc)."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("Rss", "Pss"):
                values[name.lower()] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        pass
    return values


# -- load -------------------------------------------------------------------------------

def run_load(port: int, texts: list[str], clients: int, requests: int, seconds: float, warmup: int,
             rate: float | None = None) -> dict:
    """Have ``clients`` threads POST /classify, each on its own keep-alive connection,
    until ``requests`` answers are counted (after ``warmup`` uncounted ones) or
    ``seconds`` pass.

    ``rate=None``: closed loop, each client sends its next request when the last is
    answered (the server is saturated; by Little's law latency ~ clients / throughput).
    ``rate=R``: open loop, the clients together send R requests per second on a fixed
    schedule, and latency counts from the scheduled time (a late send is not hidden).
    Returns throughput, latency percentiles (ms) and errors."""
    bodies = [json.dumps({"text": t}, ensure_ascii=False).encode("utf-8") for t in texts]
    lock = threading.Lock()
    counter = {"next": 0}
    latencies, errors = [], []
    start_gate = threading.Barrier(clients + 1)
    stop = threading.Event()
    headers = {"Content-Type": "application/json"}
    per_client = -(-(warmup + requests) // clients)
    interval = clients / rate if rate else 0.0
    begin = {}

    def take(k, j):
        if rate:
            return k + j * clients if j < per_client else None
        with lock:
            i = counter["next"]
            if i >= warmup + requests:
                return None
            counter["next"] = i + 1
            return i

    def client(k):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        start_gate.wait()
        j = 0
        while not stop.is_set():
            i = take(k, j)
            if i is None:
                break
            body = bodies[i % len(bodies)]
            if rate:
                t0 = begin["t"] + (j + k / clients) * interval
                delay = t0 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                t0 = time.perf_counter()
            j += 1
            try:
                conn.request("POST", "/classify", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                ok = resp.status == 200 and data.startswith(b'{"labels"')
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                ok, data = False, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            t1 = time.perf_counter()
            if i >= warmup:
                with lock:
                    latencies.append((t0, t1))
                    if not ok:
                        errors.append(data[:200].decode("utf-8", "replace"))
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    begin["t"] = time.perf_counter() + 0.05
    start_gate.wait()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    for t in threads:
        t.join()
    timer.cancel()
    if not latencies:
        return {"requests": 0, "errors": len(errors)}
    first = min(t0 for t0, _ in latencies)
    last = max(t1 for _, t1 in latencies)
    ms = sorted((t1 - t0) * 1000 for t0, t1 in latencies)
    return {
        "mode": f"open loop at {rate:.0f}/s" if rate else "closed loop",
        "requests": len(ms),
        "seconds": round(last - first, 2),
        "articles_per_s": round(len(ms) / (last - first), 1),
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(ms[-1], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "errors": len(errors),
        "error_samples": errors[:3],
    }


def train_model(folder: Path) -> Path:
    """Train a model from labels.csv into ``folder``; return its path."""
    sys.path.insert(0, str(ROOT))
    from newstag.training.train import train

    out = folder / "bench.joblib"
    print(f"training a model from labels.csv into {out} ...", file=sys.stderr)
    train(ROOT / "labels.csv", out)
    return out


def _line(name: str, load: dict) -> str:
    return (f"{name}: {load['articles_per_s']} art/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, "
            f"max {load['max_ms']} ms, errors {load['errors']}/{load['requests']}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None,
                   help="model file (default: the shipped model/newstag.joblib, else one trained from labels.csv)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="threads per worker (default: newstag serve's)")
    p.add_argument("--batch-max", type=int, default=None, help="--batch-max of newstag serve (default: its own)")
    p.add_argument("--requests", type=int, default=4000, help="counted requests per phase and round (bound)")
    p.add_argument("--seconds", type=float, default=60.0, help="time per phase and round (bound)")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--fraction", type=float, default=0.6,
                   help="the paced phase offers this fraction of the baseline's articles/s (the goal's 60%%)")
    p.add_argument("--baseline-articles", type=int, default=900)
    p.add_argument("--repeat", type=int, default=3, help="rounds; the report gives each and their medians")
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = p.parse_args(argv)

    texts = read_articles()
    sizes = sorted(len(t.encode("utf-8")) for t in texts)
    with tempfile.TemporaryDirectory(prefix="newstag-bench-") as tmp:
        tmp = Path(tmp)
        model = args.model or (SHIPPED if SHIPPED.is_file() else train_model(tmp))
        print(f"{len(texts)} articles, {sizes[0]}-{sizes[-1]} bytes (median {sizes[len(sizes) // 2]}); "
              f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; load average at start "
              f"{Path('/proc/loadavg').read_text().split()[0]}")

        rounds = []
        for r in range(args.repeat):
            base = baseline_rate(model, texts, args.baseline_articles)
            port = free_port()
            extra = (["--threads", str(args.threads)] if args.threads else []) + (
                ["--batch-max", str(args.batch_max)] if args.batch_max else [])
            server = start_server(model, args.workers, port, tmp / f"server-{r}.log", extra)
            try:
                saturated = run_load(port, texts, args.clients, args.requests, args.seconds, args.warmup)
                paced = run_load(port, texts, args.clients, args.requests, args.seconds, args.warmup,
                                 rate=args.fraction * base["articles_per_s"])
                memory = {"master": memory_mb(server.pid), "workers": [memory_mb(w) for w in children(server.pid)]}
            finally:
                stop_server(server)
            rounds.append({"baseline": base, "saturated": saturated, "paced": paced, "memory_mb": memory})
            print(f"round {r + 1}: baseline {base['articles_per_s']:.1f} art/s | "
                  + _line("closed loop", saturated) + " | " + _line(paced["mode"], paced) + " | worker RSS "
                  + ", ".join(f"{m.get('rss')} MiB (PSS {m.get('pss')})" for m in memory["workers"]))

    def med(get):
        return round(statistics.median(get(x) for x in rounds), 1)

    base_rate = med(lambda x: x["baseline"]["articles_per_s"])
    summary = {
        "clients": args.clients,
        "workers": args.workers,
        "baseline_articles_per_s": base_rate,
        "closed_loop": {k: med(lambda x, k=k: x["saturated"][k]) for k in ("articles_per_s", "p50_ms", "p99_ms")},
        "paced": {k: med(lambda x, k=k: x["paced"][k]) for k in ("articles_per_s", "p50_ms", "p99_ms")},
        "errors": sum(x["saturated"]["errors"] + x["paced"]["errors"] for x in rounds),
        "requests": sum(x["saturated"]["requests"] + x["paced"]["requests"] for x in rounds),
        "worker_rss_mb": med(lambda x: statistics.fmean(m.get("rss", 0) for m in x["memory_mb"]["workers"])),
        "worker_pss_mb": med(lambda x: statistics.fmean(m.get("pss", 0) for m in x["memory_mb"]["workers"])),
    }
    closed, paced = summary["closed_loop"], summary["paced"]
    summary["closed_loop"]["ratio"] = round(closed["articles_per_s"] / base_rate, 2)
    summary["paced"]["ratio"] = round(paced["articles_per_s"] / base_rate, 2)
    goal = paced["ratio"] >= args.fraction * 0.98 and paced["p99_ms"] <= 50 and summary["errors"] == 0
    print(
        f"\nmedians of {len(rounds)} round(s), {args.clients} clients, {args.workers} workers; "
        f"`newstag classify --jsonl` in one process: {base_rate} art/s\n"
        f"  closed loop (as fast as answered): {closed['articles_per_s']} art/s = {closed['ratio']:.0%}, "
        f"p50 {closed['p50_ms']} ms, p99 {closed['p99_ms']} ms\n"
        f"  paced at {args.fraction:.0%} of it:  {paced['articles_per_s']} art/s = {paced['ratio']:.0%}, "
        f"p50 {paced['p50_ms']} ms, p99 {paced['p99_ms']} ms\n"
        f"  errors {summary['errors']}/{summary['requests']}; per worker RSS {summary['worker_rss_mb']} MiB, "
        f"PSS {summary['worker_pss_mb']} MiB\n"
        f"Goal (>= 60% of one process at p99 <= 50 ms, no error): {'met' if goal else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2, ensure_ascii=False))
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
