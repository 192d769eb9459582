"""Training time, model size on disk and load time of the model.

Usage:  python benchmarks/bench_model.py [--labels labels.csv] [--repeat 3]

Training time is the whole `newstag train` as it runs when it replaces the shipped
model (validation, 5-fold CV, final fit, the before/after comparison with the model at
the output path on the evaluation set, save), measured in-process, each repeat over a
fresh copy of the shipped model; load time is `load_model` plus the first tagged article (jieba's
dictionary is loaded lazily on first use) in a fresh process each time.  Medians.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = (
    "import time; t=time.perf_counter(); from newstag.model import load_model; m=load_model({path!r}); "
    "t1=time.perf_counter(); m.tag_article('标题\\n换热站完成检修。'); t2=time.perf_counter(); print(t1-t, t2-t)"
)


def main(argv=None):
    import shutil

    from newstag.model.store import DEFAULT_MODEL_PATH
    from newstag.training.train import train

    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(ROOT / "labels.csv"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.joblib"
        times = []
        for _ in range(args.repeat):
            shutil.copy(DEFAULT_MODEL_PATH, out)
            t = time.perf_counter()
            report = train(args.labels, out, force=True)
            times.append(time.perf_counter() - t)
        size = out.stat().st_size
        loads, firsts = [], []
        for _ in range(max(5, args.repeat)):
            res = subprocess.run([sys.executable, "-c", LOAD.format(path=str(out))], capture_output=True, text=True, check=True)
            a, b = map(float, res.stdout.split())
            loads.append(a)
            firsts.append(b)
    n = report.meta["n_paragraphs"]
    print(f"paragraphs: {n}")
    print(f"training (validate + 5-fold CV + fit + compare + save), median of {args.repeat}: {statistics.median(times):.1f} s")
    print(f"model size on disk: {size / 1e6:.2f} MB")
    print(f"load (imports + joblib), median of {len(loads)}: {statistics.median(loads):.2f} s; "
          f"to first tagged article: {statistics.median(firsts):.2f} s")


if __name__ == "__main__":
    main()
