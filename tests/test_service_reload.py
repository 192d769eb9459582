"""Switching to a new model while serving: in one process (the holder and the app), and
under gunicorn (`newstag serve` as a subprocess on a loopback port, requests firing all
the while, the model file replaced atomically, then SIGHUP)."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from newstag.model.store import read_payload, save_model
from newstag.service import create_app
from service_support import model_for_tests, serve_argv

ARTICLE = "首府供热管网改造进入收尾阶段\n今年我市共改造老旧供热管网120公里,新建换热站36座,确保按时开栓。"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    return model_for_tests(tmp_path_factory.mktemp("service-model"))


def write_version(source: Path, target: Path, version: str) -> None:
    """Write the model of ``source`` to ``target`` atomically, with meta version ``version``."""
    payload = read_payload(source)
    meta = {k: v for k, v in payload["meta"].items() if k != "versions"}
    save_model(payload["model"], dict(meta, version=version), target)


@pytest.fixture
def own_model(model_file, tmp_path):
    """A copy of the test model that a test may replace."""
    path = tmp_path / "serving.joblib"
    shutil.copy(model_file, path)
    return path


def wait_for(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# -- in one process ---------------------------------------------------------------------------

def test_request_in_flight_finishes_on_the_model_it_began_with(own_model):
    app = create_app({"NEWSTAG_MODEL": str(own_model), "NEWSTAG_RELOAD_INTERVAL": 0, "NEWSTAG_BATCH_MAX": 1})
    holder = app.extensions["newstag"]
    old = holder.model
    old_version = old.meta_["version"]
    entered, release = threading.Event(), threading.Event()
    real = old.tag_articles

    def slow(texts, *a, **kw):
        entered.set()
        release.wait(10)
        return real(texts, *a, **kw)

    old.tag_articles = slow
    answer = {}
    t = threading.Thread(
        target=lambda: answer.setdefault("r", app.test_client().post("/classify", json={"text": ARTICLE})))
    t.start()
    assert entered.wait(10)
    write_version(own_model, own_model, "v-new")
    assert holder.reload_now()
    assert app.test_client().get("/model").get_json()["version"] == "v-new"
    release.set()
    t.join(10)
    assert answer["r"].status_code == 200 and answer["r"].get_json()["model"] == old_version


def test_watcher_notices_a_new_file_and_switches(own_model):
    app = create_app({"NEWSTAG_MODEL": str(own_model), "NEWSTAG_RELOAD_INTERVAL": 0.05})
    client = app.test_client()
    try:
        assert client.get("/health").status_code == 200  # starts this process's watcher
        write_version(own_model, own_model, "v-watched")
        assert wait_for(lambda: client.get("/model").get_json()["version"] == "v-watched", 10)
    finally:
        app.extensions["newstag"].stop_watcher()


def test_a_broken_new_file_keeps_the_old_model_and_says_why(own_model, model_file):
    app = create_app({"NEWSTAG_MODEL": str(own_model), "NEWSTAG_RELOAD_INTERVAL": 0})
    holder, client = app.extensions["newstag"], app.test_client()
    before = holder.version
    own_model.write_bytes(b"half a file")
    assert holder.reload_if_changed() is False
    info = client.get("/model").get_json()
    assert info["version"] == before and "not a newstag model file" in info["reload_error"]
    assert client.post("/classify", json={"text": ARTICLE}).status_code == 200
    assert holder.reload_if_changed() is False  # the same broken file is not read again
    write_version(model_file, own_model, "v-fixed")
    assert holder.reload_if_changed() is True
    info = client.get("/model").get_json()
    assert info["version"] == "v-fixed" and info["reload_error"] is None


# -- under gunicorn ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=10):
    """One request on a new connection; returns (status, parsed JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def worker_pids(master: int) -> set:
    pids = set()
    for task in Path(f"/proc/{master}/task").iterdir():
        try:
            pids |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            pass
    return pids


@pytest.fixture
def served(own_model, tmp_path):
    """`newstag serve --workers 2` on a free loopback port; yields (port, process)."""
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    cmd = [*serve_argv(), "--port", str(port), "--workers", "2", "--threads", "4",
           "--model", str(own_model), "--reload-interval", "0.3", "--timeout", "20"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def up():
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                return request(port, "GET", "/health", timeout=2)[0] == 200
            except OSError:
                return False

        assert wait_for(up, 60, step=0.2), (tmp_path / "serve.log").read_text()
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_gunicorn_switches_models_without_failing_a_request(served, own_model):
    port, proc = served
    first = read_payload(own_model)["meta"]["version"]
    failures, versions, stop = [], [], threading.Event()
    deadline = time.monotonic() + 60  # the firing stops by itself whatever happens

    def fire():
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                status, body = request(port, "POST", "/classify", {"text": ARTICLE})
                if status != 200:
                    failures.append((status, body))
                else:
                    versions.append((time.monotonic(), body["model"]))
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))

    clients = [threading.Thread(target=fire) for _ in range(4)]
    for c in clients:
        c.start()
    try:
        # 1. the file is replaced: every worker notices it on its own
        write_version(own_model, own_model, "v2-file")
        changed = time.monotonic()
        assert wait_for(lambda: all(request(port, "GET", "/model")[1]["version"] == "v2-file" for _ in range(8)), 20)
        settled = time.monotonic()

        # 2. SIGHUP: the master loads the file and replaces its workers gracefully
        before = worker_pids(proc.pid)
        write_version(own_model, own_model, "v3-hup")
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: worker_pids(proc.pid).isdisjoint(before) and len(worker_pids(proc.pid)) == 2, 30)
        assert wait_for(lambda: all(request(port, "GET", "/model")[1]["version"] == "v3-hup" for _ in range(8)), 20)
        time.sleep(0.5)  # requests keep flowing on the new workers
    finally:
        stop.set()
        for c in clients:
            c.join(30)
    assert failures == []
    assert len(versions) > 20
    assert {v for t, v in versions if t < changed} <= {first}
    assert all(v in ("v2-file", "v3-hup") for t, v in versions if t > settled + 0.5)
    assert versions[-1][1] == "v3-hup"
