"""Load benchmark of the service: concurrent clients on loopback against `newstag serve`.

What it does, in one run:

1. baseline: `newstag classify --jsonl` in one process over the same articles; its
   rate is measured from its first output line to its last (start-up left out);
2. starts `newstag serve --workers W` on a free loopback port and waits for /health;
3. C client threads (each with its own keep-alive connection) POST {"text": article}
   to /classify as fast as they get answers, bounded by --requests and --seconds
   (after --warmup requests that are not counted);
4. reports throughput, p50/p90/p99/max latency, errors, and the memory of each worker
   (RSS, and PSS: RSS with pages shared by k processes counted 1/k);
5. stops the server.

Articles: tests/data/eval_articles.jsonl (headline + paragraphs, 0.9-1.3 KB of UTF-8
each), cycled.  The goal (issue 5): with 16 clients and 2 workers, at least 60% of the
baseline's articles/s, p99 at most 50 ms, no error.  The client threads run on the same
2 cores as the server.

Usage:  python benchmarks/bench_service.py [--model PATH] [--clients 16] [--workers 2]
            [--requests 4000] [--seconds 60] [--repeat 3] [--json OUT]
Without --model it trains one from labels.csv into a temporary folder (about 40 s).
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
HOST = "127.0.0.1"


def read_articles(path=ARTICLES) -> list[str]:
    """Return the evaluation articles as texts: headline line, then paragraphs."""
    texts = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                a = json.loads(line)
                texts.append(a["title"] + "\n" + "\n".join(a["paragraphs"]))
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
    cmd = [sys.executable, "-m", "newstag.servecmd", "--host", HOST, "--port", str(port), "--workers", str(workers),
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

def run_load(port: int, texts: list[str], clients: int, requests: int, seconds: float, warmup: int) -> dict:
    """Have ``clients`` threads POST /classify until ``requests`` answers are counted or
    ``seconds`` pass; return throughput, latency percentiles (ms) and errors."""
    bodies = [json.dumps({"text": t}, ensure_ascii=False).encode("utf-8") for t in texts]
    lock = threading.Lock()
    counter = {"next": 0}
    latencies, errors = [], []
    start_gate = threading.Barrier(clients + 1)
    stop = threading.Event()
    headers = {"Content-Type": "application/json"}

    def take():
        with lock:
            i = counter["next"]
            if i >= warmup + requests:
                return None
            counter["next"] = i + 1
            return i

    def client(k):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        start_gate.wait()
        while not stop.is_set():
            i = take()
            if i is None:
                break
            body = bodies[i % len(bodies)]
            t0 = time.perf_counter()
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None, help="model file (default: train one from labels.csv)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="threads per worker (default: newstag serve's)")
    p.add_argument("--batch-max", type=int, default=None, help="--batch-max of newstag serve (default: its own)")
    p.add_argument("--requests", type=int, default=4000, help="counted requests per round (bound)")
    p.add_argument("--seconds", type=float, default=60.0, help="time per round (bound)")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--baseline-articles", type=int, default=900)
    p.add_argument("--repeat", type=int, default=3, help="rounds; the report gives each and their medians")
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = p.parse_args(argv)

    texts = read_articles()
    sizes = sorted(len(t.encode("utf-8")) for t in texts)
    with tempfile.TemporaryDirectory(prefix="newstag-bench-") as tmp:
        tmp = Path(tmp)
        model = args.model or train_model(tmp)
        env_note = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
        print(f"{len(texts)} articles, {sizes[0]}-{sizes[-1]} bytes (median {sizes[len(sizes) // 2]}); {env_note}")

        rounds = []
        for r in range(args.repeat):
            base = baseline_rate(model, texts, args.baseline_articles)
            port = free_port()
            log_path = tmp / f"server-{r}.log"
            extra = (["--threads", str(args.threads)] if args.threads else []) + (
                ["--batch-max", str(args.batch_max)] if args.batch_max else [])
            server = start_server(model, args.workers, port, log_path, extra)
            try:
                load = run_load(port, texts, args.clients, args.requests, args.seconds, args.warmup)
                workers = children(server.pid)
                memory = {"master": memory_mb(server.pid), "workers": [memory_mb(w) for w in workers]}
            finally:
                stop_server(server)
            load["ratio_to_baseline"] = round(load["articles_per_s"] / base["articles_per_s"], 2)
            rounds.append({"baseline": base, "load": load, "memory_mb": memory})
            print(f"round {r + 1}: baseline {base['articles_per_s']:.1f} art/s | service {load['articles_per_s']} art/s "
                  f"({load['ratio_to_baseline']:.0%}), p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, "
                  f"max {load['max_ms']} ms, errors {load['errors']}/{load['requests']} | worker RSS "
                  + ", ".join(f"{m.get('rss')} MiB (PSS {m.get('pss')})" for m in memory["workers"]))

    def med(get):
        return round(statistics.median(get(x) for x in rounds), 1)

    summary = {
        "clients": args.clients,
        "workers": args.workers,
        "baseline_articles_per_s": med(lambda x: x["baseline"]["articles_per_s"]),
        "service_articles_per_s": med(lambda x: x["load"]["articles_per_s"]),
        "ratio": round(med(lambda x: x["load"]["articles_per_s"]) / med(lambda x: x["baseline"]["articles_per_s"]), 2),
        "p50_ms": med(lambda x: x["load"]["p50_ms"]),
        "p99_ms": med(lambda x: x["load"]["p99_ms"]),
        "errors": sum(x["load"]["errors"] for x in rounds),
        "requests": sum(x["load"]["requests"] for x in rounds),
        "worker_rss_mb": med(lambda x: statistics.fmean(m.get("rss", 0) for m in x["memory_mb"]["workers"])),
        "worker_pss_mb": med(lambda x: statistics.fmean(m.get("pss", 0) for m in x["memory_mb"]["workers"])),
    }
    goal = summary["ratio"] >= 0.6 and summary["p99_ms"] <= 50 and summary["errors"] == 0
    print(
        f"\nmedian of {len(rounds)} round(s): {summary['service_articles_per_s']} art/s with {args.clients} clients "
        f"= {summary['ratio']:.0%} of `newstag classify --jsonl` ({summary['baseline_articles_per_s']} art/s); "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms; errors {summary['errors']}/{summary['requests']}; "
        f"per worker RSS {summary['worker_rss_mb']} MiB, PSS {summary['worker_pss_mb']} MiB. "
        f"Goal (>= 60%, p99 <= 50 ms, 0 errors): {'met' if goal else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2, ensure_ascii=False))
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
