"""Benchmark ``newstag tag`` against the scikit-learn tutorial recipe on a large archive.

What it does, in one run:

1. Builds an archive of at least ``--mb`` MB (default 50) in a temporary folder from the
   sample pages (examples/archive) and the evaluation articles
   (tests/data/eval_articles.jsonl): pages spread over year/month folders, each either
   a sample page or a page composed of 3-8 evaluation articles; in every complete
   sentence-ending line the sentences are shuffled and the figures redrawn (seeded), so
   paragraphs rarely repeat verbatim; 10% of the files are GB18030, 10% have CRLF ends.
2. Times whole processes, start-up included, ``--repeats`` times each, in turn:
   * ``recipe``: one Python process that trains ``TfidfVectorizer(tokenizer=jieba.lcut)``
     + one-vs-rest ``LinearSVC`` on labels.csv and predicts every blank-line block of
     every file (decoding UTF-8, else GB18030), writing one JSON line per block;
   * ``newstag tag`` with ``--workers 1`` and ``--workers N`` (N = cores), writing JSON lines;
   * with ``--preload FILE``: ``newstag tag --workers N`` in a process that first runs
     FILE (which may monkeypatch newstag, to time a proposed change before it is applied).
   Reported: median wall seconds, MB/s, articles/s (blocks/s for the recipe), the
   speed-up over the recipe, and peak memory: the largest process (``ru_maxrss`` from
   ``wait4``) and the whole process tree (RSS summed over the tree, sampled every 50 ms).
3. Measures segmentation alone (``--segmentation``, on by default) on the normalised
   paragraphs of the first ``--seg-mb`` MB of the archive: jieba with and without HMM,
   ``lcut`` and ``cut``, a paragraph cache (hit rate shown), jieba-rs (``rjieba``) with
   jieba's dictionary and userdict.txt, each alone and over 2 processes; and whether its
   tokens are identical to ``newstag.model.segment.tokenize``'s.

Usage::

    python benchmarks/bench_tag.py                       # 50 MB, 3 repeats
    python benchmarks/bench_tag.py --mb 5 --repeats 1    # quick look
    python benchmarks/bench_tag.py --preload /path/to/try_patch.py --json out.json

Needs a model (``--model``, default the shipped one).  Uses ``NEWSTAG_CACHE_DIR`` in the
temporary folder for the subprocesses.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "examples" / "archive"
EVAL = ROOT / "tests" / "data" / "eval_articles.jsonl"
LABELS = ROOT / "labels.csv"

# --------------------------------------------------------------------------------------
# The archive

_SENTENCE = re.compile(r"[^。!?！？]+[。!?！？]+[”’\"]?")
_DIGITS = re.compile(r"\d+")
# each page is set in one of these cities (the sample pages are from 呼和浩特)
CITIES = ["呼和浩特", "包头", "鄂尔多斯", "赤峰", "通辽", "乌兰察布", "巴彦淖尔", "乌海", "呼伦贝尔", "锡林郭勒"]


def _vary_line(line: str, rng: random.Random) -> str:
    """Return ``line`` with its sentences shuffled and its figures redrawn, when it is a
    complete paragraph line (ends a sentence); other lines (headlines, lines cut by a
    column break, table rows) are returned as they are."""
    stripped = line.strip()
    if len(stripped) < 20 or not stripped.endswith(("。", "！", "？", "。”")):
        return line
    sentences = _SENTENCE.findall(stripped)
    if "".join(sentences) != stripped:
        return line
    if len(sentences) > 1:
        rng.shuffle(sentences)
    text = "".join(sentences)
    text = _DIGITS.sub(lambda m: str(rng.randint(1, 10 ** len(m.group()) - 1)), text)
    indent = line[: len(line) - len(line.lstrip())]
    return indent + text


def _sample_pages() -> list[str]:
    from newstag.model.pages import decode_page

    return [decode_page(p.read_bytes()) for p in sorted(PAGES.glob("*.txt"))]


def _eval_articles() -> list[tuple[str, list[str]]]:
    out = []
    with open(EVAL, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                out.append((obj["title"], obj["paragraphs"]))
    return out


def compose_page(rng: random.Random, pages, articles) -> str:
    """Return one page of text: a varied sample page, or 3-8 varied evaluation
    articles; the page's city is one of ``CITIES``."""
    if rng.random() < 0.5:
        text = rng.choice(pages)
        text = "\n".join(_vary_line(line, rng) for line in text.split("\n"))
    else:
        blocks = []
        for title, paragraphs in rng.sample(articles, rng.randint(3, 8)):
            blocks.append(title)
            blocks.extend(_vary_line(p, rng) for p in paragraphs)
        text = "\n\n".join(blocks) + "\n"
    return text.replace("呼和浩特", rng.choice(CITIES))


def build_archive(dest: Path, mb: float, seed: int = 0) -> tuple[int, int]:
    """Write an archive of at least ``mb`` MB of page files under ``dest``; return
    ``(files, bytes)``."""
    rng = random.Random(seed)
    pages, articles = _sample_pages(), _eval_articles()
    n = size = 0
    while size < mb * 1e6:
        text = compose_page(rng, pages, articles)
        roll = rng.random()
        if roll < 0.1:
            data = text.encode("gb18030")
        elif roll < 0.2:
            data = text.replace("\n", "\r\n").encode("utf-8")
        else:
            data = text.encode("utf-8")
        folder = dest / f"{2015 + n % 9}" / f"{1 + (n // 9) % 12:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"page_{n:05d}.txt").write_bytes(data)
        n += 1
        size += len(data)
    return n, size


# --------------------------------------------------------------------------------------
# The recipe, as a single-process script

RECIPE = r'''
import csv, json, os, re, sys, time
import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

archive, labels_csv, out_path, cache = sys.argv[1:5]
jieba.setLogLevel(60)
jieba.dt.tmp_dir = cache
with open(labels_csv, encoding="utf-8") as fh:
    rows = list(csv.DictReader(fh))
texts = [r["text"] for r in rows]
mlb = MultiLabelBinarizer()
Y = mlb.fit_transform([[l for l in r["labels"].split(";") if l] for r in rows])
vec = TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None)
clf = OneVsRestClassifier(LinearSVC()).fit(vec.fit_transform(texts), Y)
blocks_total = 0
with open(out_path, "w", encoding="utf-8") as out:
    for folder, dirs, files in os.walk(archive):
        dirs.sort()
        for name in sorted(f for f in files if f.endswith(".txt")):
            path = os.path.join(folder, name)
            data = open(path, "rb").read()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
            if not blocks:
                continue
            pred = clf.predict(vec.transform(blocks))
            for i, row in enumerate(pred):
                out.write(json.dumps({"file": path, "block": i,
                                      "labels": [t for t, v in zip(mlb.classes_, row) if v]},
                                     ensure_ascii=False) + "\n")
            blocks_total += len(blocks)
print(json.dumps({"blocks": blocks_total}), file=sys.stderr)
'''

SHIM = r'''
import runpy, sys
runpy.run_path(sys.argv.pop(1), run_name="preload")
from newstag.tagcmd import tag
tag(prog_name="newstag tag")
'''


def newstag_command() -> list[str]:
    """Return the command line that runs ``newstag tag``: ``python -m newstag tag`` once
    the command is registered, else the command object itself."""
    try:
        from newstag.cli import main

        if "tag" in main.commands:
            return [sys.executable, "-m", "newstag", "tag"]
    except Exception:
        pass
    return [sys.executable, "-c", "from newstag.tagcmd import tag; tag(prog_name='newstag tag')"]


# --------------------------------------------------------------------------------------
# Timing whole processes


def _tree_rss(pid: int) -> int:
    """Return the resident memory (bytes) of ``pid`` and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_timed(cmd: list[str], env: dict) -> dict:
    """Run ``cmd`` to its end; return its wall ``seconds``, ``cpu_seconds`` (user + system,
    its waited-for children included), ``max_rss_mb`` (largest single process, from
    wait4), ``tree_rss_mb`` (peak of the summed tree, sampled), and its standard error.
    Raises ``RuntimeError`` when it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {proc.returncode}:\n{stderr[-2000:]}")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,  # with the children it waited for
        "max_rss_mb": usage.ru_maxrss / 1024,
        "tree_rss_mb": peak[0] / 2**20,
        "stderr": stderr,
    }


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def bench_processes(archive: Path, size: int, tmp: Path, args) -> list[dict]:
    """Time each variant ``args.repeats`` times (variants in turn within a repeat);
    return one row per variant with medians."""
    env = dict(os.environ, NEWSTAG_CACHE_DIR=str(tmp / "cache"), PYTHONHASHSEED="0")
    (tmp / "cache").mkdir(exist_ok=True)
    recipe = tmp / "recipe.py"
    recipe.write_text(RECIPE, encoding="utf-8")
    cores = os.cpu_count() or 1
    model = ["--model", str(args.model)] if args.model else []
    tag = newstag_command()
    variants = {
        "recipe (1 process)": [sys.executable, str(recipe), str(archive), str(LABELS), str(tmp / "recipe.jsonl"), str(tmp / "cache")],
        "newstag tag --workers 1": tag + [str(archive), "-o", str(tmp / "w1.jsonl"), "--workers", "1"] + model,
        f"newstag tag --workers {cores}": tag + [str(archive), "-o", str(tmp / "wn.jsonl"), "--workers", str(cores)] + model,
    }
    outputs = {"newstag tag --workers 1": tmp / "w1.jsonl", f"newstag tag --workers {cores}": tmp / "wn.jsonl"}
    if args.preload:
        shim = tmp / "shim.py"
        shim.write_text(SHIM, encoding="utf-8")
        name = f"newstag tag --workers {cores}, preload {args.preload.name}"
        variants[name] = [sys.executable, str(shim), str(args.preload), str(archive), "-o",
                          str(tmp / "wp.jsonl"), "--workers", str(cores)] + model
        outputs[name] = tmp / "wp.jsonl"
    if args.only:
        variants = {k: v for k, v in variants.items() if any(o in k for o in args.only)}
    runs = {name: [] for name in variants}
    items = {}
    for r in range(args.repeats):
        for name, cmd in variants.items():
            if name in outputs:
                for suffix in ("", ".part", ".progress"):
                    Path(str(outputs[name]) + suffix).unlink(missing_ok=True)
            load = os.getloadavg()[0]
            res = run_timed(cmd, env)
            res["load_before"] = load
            if name.startswith("recipe"):
                items[name] = json.loads(res["stderr"].strip().splitlines()[-1])["blocks"]
            else:
                items[name] = count_lines(outputs[name])
            runs[name].append(res)
            print(f"  repeat {r + 1}: {name}: {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU "
                  f"(load average before: {load:.1f})", file=sys.stderr)
    texts = {n: p.read_bytes() for n, p in outputs.items() if n in variants and p.exists()}
    if len(texts) > 1:
        same = len(set(texts.values())) == 1
        print(f"  newstag outputs identical across variants: {same}", file=sys.stderr)
    rows = []
    base = None
    for name, rs in runs.items():
        sec = statistics.median(r["seconds"] for r in rs)
        row = {
            "variant": name,
            "seconds": sec,
            "mb_per_s": size / 1e6 / sec,
            "items": items[name],
            "items_per_s": items[name] / sec,
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in rs),
            "load_before": statistics.median(r["load_before"] for r in rs),
            "max_rss_mb": statistics.median(r["max_rss_mb"] for r in rs),
            "tree_rss_mb": statistics.median(r["tree_rss_mb"] for r in rs),
            "repeats": len(rs),
        }
        if name.startswith("recipe"):
            base = sec
        rows.append(row)
    for row in rows:
        row["speedup"] = base / row["seconds"] if base else None
    return rows


# --------------------------------------------------------------------------------------
# Segmentation alone


def _paragraphs(archive: Path, mb: float) -> list[str]:
    """Return the normalised paragraphs (numbers folded as ``tokenize`` does) of the
    archive's first ``mb`` MB, split as ``newstag tag`` splits them."""
    from newstag.model.normalize import normalize
    from newstag.model.pages import decode_page, split_page
    from newstag.model.segment import _NUMBER

    out, size = [], 0
    for path in sorted(archive.rglob("*.txt")):
        data = path.read_bytes()
        size += len(data)
        for art in split_page(decode_page(data)):
            for p in [art.title] + art.paragraphs:
                out.extend(_NUMBER.sub("0", line) for line in normalize(p).split("\n") if line)
        if size >= mb * 1e6:
            break
    return out


_POOL_CUT = None


def _pool_init(kind):
    global _POOL_CUT
    _POOL_CUT = _make_cutter(kind)[0]


def _pool_run(chunk):
    return [_POOL_CUT(p) for p in chunk]


def _rust_tokenizer():
    """jieba-rs with jieba's dict.txt and userdict.txt, jieba's frequency total (the
    proposed model/segment.py does the same)."""
    import jieba
    import rjieba

    from newstag.model.segment import USER_DICT

    rj = rjieba.Jieba.empty()
    total, freqs = 0, {}
    with open(Path(jieba.__file__).with_name("dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.strip().split(" ")
            rj.add_word(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else None)
            freqs[parts[0]] = int(parts[1])
            total += int(parts[1])
    with open(USER_DICT, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                rj.add_word(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else None)
                freqs[parts[0]] = int(parts[1])
                total += int(parts[1])
    if total > sum(freqs.values()):
        rj.add_word("\u2042newstag-total\u2042", total - sum(freqs.values()), None)
    return rj


def _make_cutter(kind: str):
    """Return ``(cut, note)``: a function paragraph -> tokens for segmentation option
    ``kind``, and a note."""
    import jieba

    from newstag.model.segment import get_tokenizer

    if kind == "jieba default dict, HMM on (recipe)":
        jieba.setLogLevel(60)
        jieba.dt.tmp_dir = os.environ.get("NEWSTAG_CACHE_DIR")
        jieba.initialize()
        return (lambda p: jieba.lcut(p)), "jieba.lcut as the recipe calls it"
    tok = get_tokenizer()
    if kind == "jieba + userdict, HMM on":
        return (lambda p: tok.lcut(p, HMM=True)), ""
    if kind == "jieba + userdict, HMM off, lcut (current)":
        return (lambda p: tok.lcut(p, HMM=False)), "what tokenize() does now"
    if kind == "jieba + userdict, HMM off, cut":
        return (lambda p: list(tok.cut(p, HMM=False))), ""
    if kind == "jieba HMM off + paragraph cache":
        import functools

        cached = functools.lru_cache(maxsize=1 << 16)(lambda p: tuple(tok.lcut(p, HMM=False)))
        _make_cutter.cache = cached
        return (lambda p: list(cached(p))), "hit rate depends on repeats in the archive"
    if kind.startswith("jieba-rs"):
        from newstag.model import segment

        if hasattr(segment, "RustTokenizer"):  # the proposal, once applied
            rust = segment.RustTokenizer()
            return (lambda p: rust.lcut(p, HMM=False)), "newstag.model.segment.RustTokenizer"
        rj = _rust_tokenizer()
        return (lambda p: rj.cut(p, False)), "rjieba, jieba's dict.txt + userdict.txt"
    raise ValueError(kind)


def bench_segmentation(archive: Path, mb: float, processes: int, repeats: int = 3) -> list[dict]:
    """Return one row per segmentation option: MB/s of normalised paragraph text (median
    of ``repeats``) and the share of paragraphs whose tokens equal the current engine's
    (HMM off).  Over several processes the tokens travel back by pipe, which costs."""
    from multiprocessing import get_context

    paragraphs = _paragraphs(archive, mb)
    nbytes = sum(len(p.encode("utf-8")) for p in paragraphs)
    print(f"  segmentation on {len(paragraphs)} paragraphs, {nbytes / 1e6:.1f} MB", file=sys.stderr)
    reference = None
    rows = []
    kinds = [
        "jieba default dict, HMM on (recipe)",
        "jieba + userdict, HMM on",
        "jieba + userdict, HMM off, lcut (current)",
        "jieba + userdict, HMM off, cut",
        "jieba HMM off + paragraph cache",
        "jieba-rs + same dicts, HMM off",
    ]
    try:
        import rjieba  # noqa: F401
    except ImportError:
        kinds.pop()
        print("  (rjieba not installed: pip install rjieba to measure jieba-rs)", file=sys.stderr)
    for kind in kinds:
        cut, note = _make_cutter(kind)
        times = []
        for _ in range(repeats):  # the cache option is timed cold: its cache is made anew
            if kind.endswith("cache"):
                cut, note = _make_cutter(kind)
            started = time.perf_counter()
            tokens = [cut(p) for p in paragraphs]
            times.append(time.perf_counter() - started)
        sec = statistics.median(times)
        if kind.endswith("(current)"):
            reference = tokens
        row = {"option": kind, "processes": 1, "mb_per_s": nbytes / 1e6 / sec, "note": note, "tokens": tokens}
        if kind.endswith("cache"):
            info = _make_cutter.cache.cache_info()
            row["note"] = f"hit rate {info.hits / max(info.hits + info.misses, 1):.0%} on this archive"
        rows.append(row)
    for kind in ("jieba + userdict, HMM off, lcut (current)", "jieba-rs + same dicts, HMM off"):
        if kind not in kinds or processes < 2:
            continue
        chunks = [paragraphs[i:i + 500] for i in range(0, len(paragraphs), 500)]
        with get_context("fork").Pool(processes, initializer=_pool_init, initargs=(kind,)) as pool:
            pool.map(_pool_run, [["预热"]] * processes)  # start-up outside the timing
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                tokens = [t for part in pool.imap(_pool_run, chunks) for t in part]
                times.append(time.perf_counter() - started)
            sec = statistics.median(times)
        rows.append({"option": kind, "processes": processes, "mb_per_s": nbytes / 1e6 / sec, "note": "", "tokens": tokens})
    from newstag.model.segment import _SKIP

    def kept(toks):
        return [t for t in toks if not _SKIP.match(t)]

    for row in rows:
        toks = row.pop("tokens")
        if reference is not None:
            same = sum(kept(a) == kept(b) for a, b in zip(toks, reference))
            row["identical"] = same / len(reference)
    return rows


# --------------------------------------------------------------------------------------


def format_tables(meta, proc_rows, seg_rows) -> str:
    lines = [
        f"Archive: {meta['files']} files, {meta['bytes'] / 1e6:.1f} MB; machine: {meta['cores']} cores; "
        f"medians of {meta['repeats']} run(s), whole process, start-up included",
        "",
        "| variant | wall s | CPU s | MB/s | articles/s (blocks/s) | items | x recipe (wall) | peak RSS largest process MB | peak RSS tree MB | load avg before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in proc_rows:
        speedup = f"{r['speedup']:.2f}" if r["speedup"] else "-"
        lines.append(
            f"| {r['variant']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['mb_per_s']:.2f} | {r['items_per_s']:.0f} | "
            f"{r['items']} | {speedup} | {r['max_rss_mb']:.0f} | {r['tree_rss_mb']:.0f} | {r['load_before']:.1f} |"
        )
    if seg_rows:
        lines += [
            "",
            "Segmentation alone (normalised paragraph text):",
            "",
            "| option | processes | MB/s | tokens identical to current | note |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for r in seg_rows:
            ident = f"{r['identical']:.2%}" if "identical" in r else "-"
            lines.append(f"| {r['option']} | {r['processes']} | {r['mb_per_s']:.2f} | {ident} | {r['note']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=50.0, help="archive size in MB (default 50)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the shipped model)")
    ap.add_argument("--preload", type=Path, default=None,
                    help="a Python file to run in the newstag process first (try a patch); timed as an extra variant")
    ap.add_argument("--only", nargs="*", default=None, help="time only variants whose name contains one of these")
    ap.add_argument("--seg-mb", type=float, default=5.0, help="MB of the archive used for the segmentation table")
    ap.add_argument("--no-segmentation", dest="segmentation", action="store_false")
    ap.add_argument("--keep", type=Path, default=None, help="build the archive here and keep it (reused if present)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_tag.") as tmpdir:
        tmp = Path(tmpdir)
        os.environ.setdefault("NEWSTAG_CACHE_DIR", str(tmp / "cache"))
        archive = args.keep or tmp / "archive"
        if archive.exists() and any(archive.rglob("*.txt")):
            files = list(archive.rglob("*.txt"))
            n, size = len(files), sum(f.stat().st_size for f in files)
            print(f"reusing archive {archive}: {n} files, {size / 1e6:.1f} MB", file=sys.stderr)
        else:
            started = time.perf_counter()
            n, size = build_archive(archive, args.mb, args.seed)
            print(f"built {archive}: {n} files, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
        proc_rows = bench_processes(archive, size, tmp, args) if args.repeats > 0 else []
        seg_rows = (bench_segmentation(archive, args.seg_mb, os.cpu_count() or 1, max(args.repeats, 1))
                    if args.segmentation else [])
    meta = {"files": n, "bytes": size, "cores": os.cpu_count(), "repeats": args.repeats}
    print(format_tables(meta, proc_rows, seg_rows))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "processes": proc_rows, "segmentation": seg_rows},
                                        ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
