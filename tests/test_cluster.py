"""Tests for ``newstag tag --scheduler`` (newstag.cluster) and the Parquet output: the
records equal the local path's, failed files, Parquet rows, resuming after the client
is killed, a worker lost mid-run, and the errors when the cluster cannot be used.

One real ``distributed.LocalCluster`` (2 worker processes, 1 thread each) serves the
module; the lost-worker test kills one of its workers, so it runs last."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import newstag
from newstag import archive
from newstag.tagcmd import tag

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "examples" / "archive"


@pytest.fixture(scope="module")
def model_path():
    from newstag.model.store import DEFAULT_MODEL_PATH

    return DEFAULT_MODEL_PATH


@pytest.fixture(scope="module")
def cluster():
    """A local Dask cluster: 2 worker processes with 1 thread each, dashboard on a free
    port.  The workers are forked from this process with the libraries imported and the
    segmenter loaded, which saves seconds of start-up; each still loads the model it is
    sent (``ModelPlugin``)."""
    import logging

    import dask
    from distributed import LocalCluster

    from newstag.model.segment import get_tokenizer
    from newstag.model.store import load_model

    load_model()
    get_tokenizer()
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0", silence_logs=logging.ERROR) as lc:
            yield lc


@pytest.fixture(scope="module")
def address(cluster):
    return cluster.scheduler_address


def run_tag(model_path, *args, scheduler=None, env=None):
    """Invoke ``newstag tag`` in this process (with the cluster at ``scheduler``, else one
    local worker); return the click Result."""
    extra = ["--scheduler", scheduler] if scheduler else ["--workers", "1"]
    result = CliRunner().invoke(tag, [*map(str, args), "--model", str(model_path), *extra], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def records(data: bytes) -> list:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def parquet_rows(folder: Path) -> list:
    """Return the rows of the Parquet dataset ``folder`` as record dicts (pyarrow)."""
    return pq.read_table(folder).to_pylist()


@contextlib.contextmanager
def ctrl_c_after_parts(monkeypatch, n: int):
    """Within the block, ``ParquetOutput.append`` raises KeyboardInterrupt (as Ctrl-C
    would) instead of taking its (n+1)th file result."""
    real = archive.ParquetOutput.append
    calls = {"n": 0}

    def append(self, result):
        if calls["n"] == n:
            raise KeyboardInterrupt
        calls["n"] += 1
        real(self, result)

    with monkeypatch.context() as m:
        m.setattr(archive.ParquetOutput, "append", append)
        yield


@pytest.fixture(scope="module")
def many_pages(tmp_path_factory):
    """The five sample pages copied into 4 folders (20 files)."""
    root = tmp_path_factory.mktemp("many") / "archive"
    for k in range(4):
        (root / f"part{k}").mkdir(parents=True)
        for page in sorted(PAGES.glob("*.txt")):
            (root / f"part{k}" / page.name).write_bytes(page.read_bytes())
    return root


@pytest.fixture(scope="module")
def many_expected(model_path, many_pages):
    """The JSON lines of a local, uninterrupted run over ``many_pages``."""
    result = run_tag(model_path, many_pages)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


# --- records ----------------------------------------------------------------------------


def test_example_archive_gives_the_local_bytes(model_path, address, tmp_path):
    local = run_tag(model_path, PAGES)
    dask = run_tag(model_path, PAGES, scheduler=address)
    assert dask.exit_code == 0, dask.stderr
    assert dask.stdout_bytes == local.stdout_bytes and len(records(dask.stdout_bytes)) == 40
    assert f"cluster: {address}, 2 worker(s), 2 thread(s); dashboard: http://" in dask.stderr
    assert "40 article(s)" in dask.stderr and "articles per topic:" in dask.stderr
    for fmt, name in (("csv", "t.csv"), ("jsonl", "t.jsonl")):
        assert run_tag(model_path, PAGES, "-o", tmp_path / f"local-{name}", "--format", fmt).exit_code == 0
        result = run_tag(model_path, PAGES, "-o", tmp_path / name, "--format", fmt, scheduler=address)
        assert result.exit_code == 0, result.stderr
        assert (tmp_path / name).read_bytes() == (tmp_path / f"local-{name}").read_bytes()


def test_composed_pages_relative_paths_and_bad_files(model_path, address, tmp_path, monkeypatch):
    text = (PAGES / "003_799e9759ce517eb5.txt").read_text(encoding="utf-8")
    pages = tmp_path / "pages"
    (pages / "sub").mkdir(parents=True)
    (pages / "a_utf8.txt").write_bytes(text.encode("utf-8"))
    (pages / "b_gb18030.txt").write_bytes(text.encode("gb18030"))
    (pages / "c_binary.txt").write_bytes(b"\x81\x30\xff\xfe\xfd" * 20)
    (pages / "d_empty.txt").write_bytes(b"")
    (pages / "sub" / "e_bom_crlf.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    monkeypatch.setattr(archive, "GROUP_FILES", 2)  # 3 tasks
    monkeypatch.chdir(tmp_path)  # a relative PATH: the workers' working folder is another
    local = run_tag(model_path, "pages")
    dask = run_tag(model_path, "pages", scheduler=address)
    assert dask.exit_code == 1 and local.exit_code == 1
    assert dask.stdout_bytes == local.stdout_bytes
    got = records(dask.stdout_bytes)
    assert list(dict.fromkeys(r["file"] for r in got)) == ["pages/a_utf8.txt", "pages/b_gb18030.txt",
                                                           "pages/sub/e_bom_crlf.txt"]
    per_file = [[{k: v for k, v in r.items() if k != "file"} for r in got if r["file"] == f]
                for f in ("pages/a_utf8.txt", "pages/b_gb18030.txt")]
    assert per_file[0] == per_file[1] and len(per_file[0]) > 3  # the GB18030 copy tags the same
    assert "pages/c_binary.txt: undecodable" in dask.stderr and "pages/d_empty.txt: empty file" in dask.stderr
    assert "failed files (2):" in dask.stderr


# --- Parquet ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_runs(model_path, address, many_pages, tmp_path_factory):
    """Parquet datasets of ``many_pages`` written on the cluster and locally, 3 files a part."""
    folder = tmp_path_factory.mktemp("parquet")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(archive, "GROUP_FILES", 3)
        dask = run_tag(model_path, many_pages, "--format", "parquet", "-o", folder / "dask", scheduler=address)
        local = run_tag(model_path, many_pages, "--format", "parquet", "-o", folder / "local")
    assert dask.exit_code == 0, dask.stderr
    assert local.exit_code == 0, local.stderr
    return folder / "dask", folder / "local"


def test_parquet_has_the_json_lines_rows(parquet_runs, many_expected):
    expected = records(many_expected)
    for folder in parquet_runs:
        assert sorted(p.name for p in folder.iterdir()) == ["_newstag.json"] + [f"part-{i:05d}.parquet" for i in range(7)]
        assert parquet_rows(folder) == expected
        assert not Path(str(folder) + ".part").exists()


def test_parquet_opens_in_pandas(parquet_runs, many_expected):
    frame = pd.read_parquet(parquet_runs[0])
    assert list(frame.columns) == ["file", "index", "title", "lines", "labels", "scores", "chars"]
    rows = [dict(r, lines=list(r["lines"]), labels=list(r["labels"])) for r in frame.to_dict("records")]
    assert rows == records(many_expected)


def test_parquet_refuses_another_run_and_restarts(model_path, tmp_path, monkeypatch):
    out = tmp_path / "tags"
    monkeypatch.setattr(archive, "GROUP_FILES", 1)
    with ctrl_c_after_parts(monkeypatch, 2):
        stopped = run_tag(model_path, PAGES, "--format", "parquet", "-o", out)
    assert stopped.exit_code == 130 and not out.exists()
    assert sorted(p.name for p in Path(str(out) + ".part").glob("part-*")) == ["part-00000.parquet", "part-00001.parquet"]
    refused = run_tag(model_path, PAGES / "000_abd0a3a3191919be.txt", "--format", "parquet", "-o", out)
    assert refused.exit_code != 0 and "other PATH arguments" in refused.stderr and "--restart" in refused.stderr
    monkeypatch.setattr(archive, "GROUP_FILES", 2)
    refused = run_tag(model_path, PAGES, "--format", "parquet", "-o", out)
    assert refused.exit_code != 0 and "other files" in refused.stderr and "group size" in refused.stderr
    restarted = run_tag(model_path, PAGES, "--format", "parquet", "-o", out, "--restart")
    assert restarted.exit_code == 0, restarted.stderr
    assert parquet_rows(out) == records(run_tag(model_path, PAGES).stdout_bytes)
    again = run_tag(model_path, PAGES, "--format", "parquet", "-o", out)
    assert again.exit_code != 0 and "already exists" in again.stderr
    assert run_tag(model_path, PAGES, "--format", "parquet").exit_code == 2  # needs -o


def test_parquet_resume_reports_failures_in_written_parts(model_path, tmp_path, monkeypatch):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "0-binary.txt").write_bytes(b"\x81\x30\xff\xfe\xfd" * 20)
    for page in sorted(PAGES.glob("*.txt"))[:3]:
        (pages / page.name).write_bytes(page.read_bytes())
    out = tmp_path / "tags"
    monkeypatch.setattr(archive, "GROUP_FILES", 2)  # part 0: the bad file and one page
    with ctrl_c_after_parts(monkeypatch, 2):  # part 0 holds 2 files
        assert run_tag(model_path, pages, "--format", "parquet", "-o", out).exit_code == 130
    resumed = run_tag(model_path, pages, "--format", "parquet", "-o", out)
    assert resumed.exit_code == 1, resumed.stderr  # the failure counts, though not tagged again
    assert "resuming" in resumed.stderr and f"failed files (1):\n  {pages / '0-binary.txt'}: undecodable" in resumed.stderr
    assert "3 file(s) tagged (1 by the interrupted run, 2 now), 1 failed" in resumed.stderr
    assert parquet_rows(out) == records(run_tag(model_path, pages).stdout_bytes)


# --- resuming after the client is killed ------------------------------------------------


def _start_client(args, tmp_path, group_files=1):
    """Start ``newstag tag ARGS`` in a subprocess that commits after every file, pauses
    50 ms after each, and puts ``group_files`` files in a task/part; return the Popen."""
    code = (
        "import time, newstag.archive as a\n"
        f"a.COMMIT_SECONDS = 0; a.GROUP_FILES = {group_files}\n"
        "for cls in (a.ResumableOutput, a.ParquetOutput):\n"
        "    cls.append = (lambda real: lambda self, r: (real(self, r), time.sleep(0.05)))(cls.append)\n"
        "from newstag.cli import main\n"
        "main()\n"
    )
    env = dict(os.environ, NEWSTAG_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.Popen([sys.executable, "-c", code, "tag", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(proc, done, what, seconds=60):
    """Wait until ``done()`` holds while ``proc`` runs; fail naming ``what`` if it ends first."""
    deadline = time.monotonic() + seconds
    while not done() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before {what}: {proc.stderr.read().decode()[-2000:]}"
    assert done(), f"timed out waiting for {what}"


def _journaled(journal: Path) -> int:
    """Return how many files the journal lists (0 when missing)."""
    return max(len(journal.read_bytes().split(b"\n")) - 2, 0) if journal.exists() else 0


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_resume_after_the_client_is_killed(fmt, model_path, address, many_pages, many_expected, tmp_path,
                                           monkeypatch):
    out = tmp_path / ("tags.jsonl" if fmt == "jsonl" else "tags")
    part = Path(str(out) + ".part")
    args = [many_pages, "-o", out, "--format", fmt, "--model", model_path, "--scheduler", address]
    proc = _start_client(args, tmp_path)
    if fmt == "jsonl":
        _wait_for(proc, lambda: _journaled(Path(str(out) + ".progress")) >= 3, "3 files were journaled")
    else:
        _wait_for(proc, lambda: len(list(part.glob("part-*.parquet"))) >= 3, "3 parts were written")
    proc.kill()
    proc.wait()
    proc.stderr.close()
    assert not out.exists()
    if fmt == "jsonl":
        written = part.read_bytes()
        assert 0 < len(written) < len(many_expected)
    else:
        before = {p.name: p.stat().st_ino for p in part.glob("part-*.parquet")}
        assert 3 <= len(before) < 20

    monkeypatch.setattr(archive, "GROUP_FILES", 1)  # the parts of the killed run
    result = run_tag(model_path, many_pages, "-o", out, "--format", fmt, scheduler=address)
    assert result.exit_code == 0, result.stderr
    assert "resuming" in result.stderr and "20 file(s) tagged" in result.stderr
    if fmt == "jsonl":
        assert out.read_bytes() == many_expected
        assert out.read_bytes().startswith(written[: written.rfind(b"\n") + 1])
    else:
        assert parquet_rows(out) == records(many_expected)  # every article once, in order
        after = {p.name: p.stat().st_ino for p in out.glob("part-*.parquet")}
        assert len(after) == 20 and all(after[name] == ino for name, ino in before.items())  # not rewritten


# --- errors -----------------------------------------------------------------------------


def test_unreachable_scheduler_is_named_and_nothing_written(model_path, tmp_path, monkeypatch):
    from newstag import cluster

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        nowhere = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    out = tmp_path / "tags.jsonl"
    started = time.monotonic()
    result = CliRunner().invoke(tag, [str(PAGES), "-o", str(out), "--model", str(model_path)],
                                env={"NEWSTAG_SCHEDULER": nowhere})
    assert result.exit_code == 1
    assert f"cannot reach the Dask scheduler at {nowhere} within 1 s" in result.stderr
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []
    both = CliRunner().invoke(tag, [str(PAGES), "--scheduler", nowhere, "--workers", "2"])
    assert both.exit_code == 2 and "--workers does not apply with --scheduler" in both.stderr


def test_dask_not_installed_says_what_to_install(model_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    monkeypatch.delitem(sys.modules, "newstag.cluster", raising=False)
    monkeypatch.delattr(newstag, "cluster", raising=False)
    result = run_tag(model_path, PAGES, scheduler="tcp://127.0.0.1:8786")
    assert result.exit_code == 1
    assert "--scheduler needs dask.distributed" in result.stderr and "pip install 'newstag[cluster]'" in result.stderr


def test_dask_malloc_trimming_is_relaxed_on_workers(monkeypatch):
    from newstag import cluster

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert not cluster._relax_malloc_trim()  # not set: glibc's own, dynamic threshold stays
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", str(cluster.TRIM_THRESHOLD))
    assert not cluster._relax_malloc_trim()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what Dask's nanny sets
    assert cluster._relax_malloc_trim() == (os.uname().sysname == "Linux" and os.confstr("CS_GNU_LIBC_VERSION") is not None)


def test_the_client_neither_loads_the_model_nor_imports_scikit_learn(address, many_expected, many_pages,
                                                                       tmp_path):
    """The workers load the model; the client only asks one of them for its topics."""
    out = tmp_path / "tags.jsonl"
    code = ("import sys\nfrom newstag.tagcmd import tag\n"
            "try:\n    tag(sys.argv[1:], prog_name='newstag tag')\n"
            "except SystemExit as exc:\n    print('exit', exc.code, 'sklearn' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(many_pages), "-o", str(out), "--scheduler", address],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.stdout.split() == ["exit", "0", "False"], proc.stderr
    assert out.read_bytes() == many_expected


def test_a_file_that_is_not_a_model_is_named_and_nothing_written(address, tmp_path):
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"these bytes are no model")
    out = tmp_path / "tags.jsonl"
    result = CliRunner().invoke(tag, [str(PAGES), "-o", str(out), "--model", str(junk), "--scheduler", address])
    assert result.exit_code == 1
    assert f"Error: {junk}: not a newstag model file" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.joblib"]
    missing = CliRunner().invoke(tag, [str(PAGES), "--model", str(tmp_path / "none.joblib"), "--scheduler", address])
    assert missing.exit_code == 1 and "none.joblib: no such model file" in missing.stderr


def test_a_model_of_other_library_versions_warns_at_the_client(model_path, address, tmp_path):
    import joblib

    payload = joblib.load(model_path)
    payload["meta"]["versions"]["scikit-learn"] = "0.24.2"
    old = tmp_path / "old.joblib"
    joblib.dump(payload, old, compress=3)
    result = CliRunner().invoke(tag, [str(PAGES / "000_abd0a3a3191919be.txt"), "--model", str(old),
                                      "--scheduler", address])
    assert result.exit_code == 0, result.stderr
    assert "warning: " in result.stderr and "scikit-learn 0.24.2" in result.stderr
    assert result.stdout_bytes == run_tag(model_path, PAGES / "000_abd0a3a3191919be.txt").stdout_bytes


# --- a worker lost mid-run (last: it costs the cluster a worker restart) ----------------


def test_a_lost_worker_costs_no_record(model_path, cluster, address, many_pages, many_expected, tmp_path):
    from distributed import Client

    out = tmp_path / "tags.jsonl"
    with Client(address, set_as_default=False) as client:
        pids = client.run(os.getpid)
        proc = _start_client([many_pages, "-o", out, "--model", model_path, "--scheduler", address], tmp_path)
        _wait_for(proc, lambda: _journaled(Path(str(out) + ".progress")) >= 3, "3 files were journaled")
        victim, pid = sorted(pids.items())[0]
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=90) == 0, proc.stderr.read().decode()[-3000:]
        proc.stderr.close()
        removed = [e for _, e in client.get_events("all")
                   if e.get("action") == "remove-worker" and e.get("worker") == victim]
    assert removed, f"the scheduler did not see {victim} go"
    lost = list(removed[0]["processing-tasks"]) + list(removed[0]["lost-computed-tasks"])
    assert any(str(key).startswith("newstag-tag-") for key in lost), removed  # it held work when killed
    assert out.read_bytes() == many_expected


class _ClientWithoutDashboard:
    """What ``cluster.describe`` reads of a client whose scheduler runs with --no-dashboard."""

    class scheduler:
        address = "tcp://127.0.0.1:1"

    dashboard_link = "http://127.0.0.1:8787/status"

    def nthreads(self):
        return {"w1": 1}

    def scheduler_info(self):
        return {"services": {}}


def test_describe_does_not_print_a_dashboard_the_scheduler_does_not_serve():
    from newstag.cluster import describe

    line = describe(_ClientWithoutDashboard())
    assert line == "cluster: tcp://127.0.0.1:1, 1 worker(s), 1 thread(s); dashboard: none (the scheduler runs without one)"
