"""Labelling in the browser, the service side: GET /label and /label/api/..., through
Flask's test client (every response checked against the service's OpenAPI document),
and once through `newstag serve` itself (gunicorn, two workers)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import multiprocessing
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from newstag.service import create_app
from newstag.service.config import ConfigError
from newstag.training.labels import append_rows, read_labels
from service_support import ROOT, OpenAPIChecker, model_for_tests, serve_argv

TOKEN = "t0k3n-for-the-label-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEADER = ("text", "labels", "guess", "scores", "source", "article_title", "article", "reason", "before", "after")
TOPIC_NAMES = ("heating", "people_congress", "culture_tourism", "inspection")


def _labelled_text():
    with open(ROOT / "labels.csv", encoding="utf-8", newline="") as fh:
        return next(csv.DictReader(fh))["text"]


def suggestion(i, guess="", scores=None, text=None):
    scores = scores or {"heating": 0.42, "people_congress": 0.03, "culture_tourism": 0.01, "inspection": 0.2}
    return {
        "text": text or f"测试段落{i}：市里召开第{i}次工作会议，部署近期各项重点任务。",
        "labels": "", "guess": guess, "scores": ";".join(f"{k}={v}" for k, v in scores.items()),
        "source": f"page{i // 10}.txt:{i}-{i + 1}", "article_title": f"第{i}篇稿件的标题", "article": f"page{i // 10}.txt#{i}",
        "reason": "uncertain", "before": f"第{i}段之前的一段。", "after": f"第{i}段之后的一段。",
    }


def write_suggestions(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:  # as `newstag suggest` writes it
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def rows_of(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return model_for_tests(tmp_path_factory.mktemp("label-model"))


@pytest.fixture(scope="module", autouse=True)
def _model_read_once():
    """Every app of this module serves the same model object: read the file once."""
    from newstag.service import holder

    cache = {}
    real = holder.load_model

    def cached(path):
        key = str(path)
        if key not in cache:
            cache[key] = real(path)
        return cache[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(holder, "load_model", cached)
        yield


@pytest.fixture
def folder(tmp_path):
    """A copy of labels.csv and topics.csv, and a suggestions CSV of 100 paragraphs (the
    first one labelled already, the last a repeat of the second)."""
    shutil.copy(ROOT / "labels.csv", tmp_path / "labels.csv")
    shutil.copy(ROOT / "topics.csv", tmp_path / "topics.csv")
    rows = [suggestion(0, text=_labelled_text())] + [
        suggestion(i, guess="heating" if i % 3 == 0 else ("" if i % 3 == 1 else "people_congress;inspection"))
        for i in range(2, 102)
    ] + [suggestion(2)]
    write_suggestions(tmp_path / "suggestions.csv", rows)
    return tmp_path


@pytest.fixture
def small(folder):
    """``folder`` with a labels.csv of 40 rows: the concurrency tests time the locking,
    not the normalising of 1,500 rows that every append does."""
    rows = rows_of(folder / "labels.csv")[:40]
    with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def config(folder: Path, model_file, **extra) -> dict:
    out = {"NEWSTAG_MODEL": str(model_file), "NEWSTAG_RELOAD_INTERVAL": 0, "TESTING": True,
           "NEWSTAG_LABELLING": True, "NEWSTAG_LABELLING_TOKEN": TOKEN,
           "NEWSTAG_LABEL_QUEUE": str(folder / "suggestions.csv"), "NEWSTAG_LABELS": str(folder / "labels.csv")}
    out.update(extra)
    return out


@pytest.fixture
def app(folder, model_file):
    return create_app(config(folder, model_file))


class Client:
    """A test client that checks every response against the app's own OpenAPI document."""

    def __init__(self, app):
        self.client = app.test_client()
        self.checker = OpenAPIChecker(self.client.get("/openapi.json").get_json())

    def call(self, method, path, auth=True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers.update(AUTH)
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        self.checker.check_response(method, path.split("?")[0], response)
        if response.status_code >= 400:
            assert response.get_json()["error"]
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def next(self, name="王编辑", skip=()):
        body = {"name": name, "skip": list(skip)}
        self.checker.check_request("POST", "/label/api/next", body)
        got = self.post("/label/api/next", json=body)
        assert got.status_code == 200, got.get_json()
        return got.get_json()

    def answer(self, item_id, labels, name="王编辑"):
        body = {"id": item_id, "labels": labels, "name": name}
        self.checker.check_request("POST", "/label/api/answer", body)
        return self.post("/label/api/answer", json=body)


@pytest.fixture
def api(app):
    return Client(app)


# -- off unless asked for ---------------------------------------------------------------

def test_label_page_and_api_are_404_when_labelling_is_off(model_file, folder):
    app = create_app({"NEWSTAG_MODEL": str(model_file), "NEWSTAG_RELOAD_INTERVAL": 0,
                      "NEWSTAG_LABELLING_TOKEN": TOKEN, "NEWSTAG_LABELS": str(folder / "labels.csv")})
    client = app.test_client()
    before = (folder / "labels.csv").read_bytes()
    for method, path in [("GET", "/label"), ("GET", "/label/api/state"), ("POST", "/label/api/next"),
                         ("POST", "/label/api/answer"), ("POST", "/label/api/undo"), ("POST", "/label/api/skip")]:
        got = client.open(path, method=method, headers=AUTH, json={"id": 1, "labels": [], "name": "x"})
        assert got.status_code == 404, path
    assert not any(p == "/label" or p.startswith("/label/") for p in client.get("/openapi.json").get_json()["paths"])
    assert (folder / "labels.csv").read_bytes() == before


@pytest.mark.parametrize("extra,words", [
    ({"NEWSTAG_LABELLING_TOKEN": None}, "labelling needs a token: start with --labelling-token"),
    ({"NEWSTAG_LABELLING_TOKEN": "   "}, "labelling needs a token"),
    ({"NEWSTAG_LABELLING_TOKEN": "short"}, "too short: use at least 8 characters"),
    ({"NEWSTAG_LABEL_QUEUE": None}, "labelling needs a queue: --label-queue PATH"),
])
def test_labelling_refuses_to_start_without_what_it_needs(folder, model_file, extra, words):
    with pytest.raises(ConfigError, match=words) as exc:
        create_app(config(folder, model_file, **extra))
    assert "'short'" not in str(exc.value)  # the token itself is never shown


def test_queue_that_is_not_a_suggest_csv_is_named(folder, model_file):
    bad = folder / "other.csv"
    bad.write_text("text,labels\n一段。,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"label queue \S*other.csv: missing column\(s\) guess, scores"):
        create_app(config(folder, model_file, NEWSTAG_LABEL_QUEUE=str(bad)))
    with pytest.raises(ConfigError, match="nowhere: no such file or folder"):
        create_app(config(folder, model_file, NEWSTAG_LABEL_QUEUE=str(folder / "nowhere")))


def test_serve_refuses_labelling_without_a_token(model_file, folder, monkeypatch):
    from newstag import servecmd

    monkeypatch.delenv("NEWSTAG_LABELLING_TOKEN", raising=False)
    monkeypatch.setattr(servecmd, "make_gunicorn_app", lambda *a: pytest.fail("started without a token"))
    result = CliRunner().invoke(servecmd.serve, ["--model", str(model_file), "--labelling",
                                                 "--label-queue", str(folder / "suggestions.csv")])
    assert result.exit_code == 2
    assert "--labelling needs a token: give --labelling-token TOKEN or set NEWSTAG_LABELLING_TOKEN" in result.output


def test_serve_takes_labelling_options_and_the_token_from_the_environment(model_file, folder, monkeypatch):
    from newstag import servecmd

    seen = {}

    class Fake:
        def run(self):
            seen["ran"] = True

    monkeypatch.setattr(servecmd, "make_gunicorn_app", lambda app, options: seen.update(app=app, options=options) or Fake())
    monkeypatch.setenv("NEWSTAG_LABELLING_TOKEN", TOKEN)
    result = CliRunner().invoke(servecmd.serve, [
        "--model", str(model_file), "--reload-interval", "0", "--labelling",
        "--label-queue", str(folder / "suggestions.csv"), "--labels", str(folder / "labels.csv")])
    assert result.exit_code == 0, result.output
    app = seen["app"]
    assert app.config["NEWSTAG_LABELLING"] and app.config["NEWSTAG_LABELLING_TOKEN"] == TOKEN
    assert "labelling at http://127.0.0.1:8000/label: 100 paragraph(s)" in result.output
    assert TOKEN not in result.output
    assert "i)s" not in servecmd.ACCESS_LOG_FORMAT  # the access log holds no request header (Authorization)


# -- the token ---------------------------------------------------------------------------

CALLS = [
    ("GET", "/label/api/state", None),
    ("POST", "/label/api/next", {"name": "王编辑"}),
    ("POST", "/label/api/answer", {"id": 0, "labels": ["heating"], "name": "王编辑"}),
    ("POST", "/label/api/skip", {"id": 0, "name": "王编辑"}),
    ("POST", "/label/api/undo", {"id": 0, "name": "王编辑"}),
]


@pytest.mark.parametrize("method,path,body", CALLS, ids=[c[1].rsplit("/", 1)[1] for c in CALLS])
def test_api_without_the_token_is_401_with_a_wrong_one_403_and_nothing_changes(api, folder, method, path, body):
    before = (folder / "labels.csv").read_bytes()
    kwargs = {"json": body} if body is not None else {}
    for headers in ({}, {"Authorization": ""}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"},
                    {"X-Token": TOKEN}):
        got = api.call(method, path, auth=False, headers=headers, **kwargs)
        assert got.status_code == 401, headers
        assert got.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <token>" in got.get_json()["error"]
    got = api.call(method, path + f"?token={TOKEN}", auth=False, **kwargs)  # never in a URL
    assert got.status_code == 401
    for wrong in ("wrong-token-123", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "令牌令牌令牌令牌"):
        got = api.call(method, path, auth=False, headers={"Authorization": f"Bearer {wrong}"}, **kwargs)
        assert got.status_code == 403 and got.get_json()["error"] == "wrong labelling token"
    assert (folder / "labels.csv").read_bytes() == before
    assert api.next()["item"]["id"] == 0  # and nothing was held: the first item is still the first


def test_the_page_needs_no_token_and_loads_nothing_from_elsewhere(api):
    got = api.get("/label", auth=False)
    html = got.get_data(as_text=True)
    assert got.status_code == 200 and got.mimetype == "text/html"
    assert "default-src 'none'" in got.headers["Content-Security-Policy"]
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("://", "")
    assert TOKEN not in html
    for asset in ("/static/label.js", "/static/label.css", "/static/newstag.css"):
        assert asset in html
        served = api.client.get(asset)
        assert served.status_code == 200 and b"http" not in served.data
    for display in ("供热", "人大", "文旅", "巡察"):
        assert display in html


# -- answers -------------------------------------------------------------------------------

def test_state_lists_the_topics_with_their_keys_and_the_progress(api):
    got = api.get("/label/api/state").get_json()
    assert [(t["name"], t["digit"], t["letter"]) for t in got["topics"]] == [
        ("heating", "1", "h"), ("people_congress", "2", "p"), ("culture_tourism", "3", "c"), ("inspection", "4", "i")]
    # of 102 rows: one already in labels.csv, one a repeat
    assert got["progress"] == {"queue": 100, "labelled": 0, "remaining": 100, "held_by_others": 0}
    assert got["labels_file"] == "labels.csv" and got["origin"] == "suggestions.csv"


def test_next_gives_the_paragraph_with_its_context_guess_and_scores(api):
    item = api.next()["item"]
    assert item == {
        "id": 0, "text": "测试段落2：市里召开第2次工作会议，部署近期各项重点任务。", "guess": ["people_congress", "inspection"],
        "scores": {"heating": 0.42, "people_congress": 0.03, "culture_tourism": 0.01, "inspection": 0.2},
        "source": "page0.txt:2-3", "article": "page0.txt#2", "article_title": "第2篇稿件的标题",
        "before": "第2段之前的一段。", "after": "第2段之后的一段。", "reason": "uncertain",
    }


def test_an_answer_lands_in_labels_csv_with_its_provenance(api, folder):
    n_before = len(rows_of(folder / "labels.csv"))
    got = api.answer(0, ["inspection", "heating"])
    assert got.status_code == 200, got.get_json()
    rows = rows_of(folder / "labels.csv")
    assert len(rows) == n_before + 1
    assert rows[-1] == {"text": "测试段落2：市里召开第2次工作会议，部署近期各项重点任务。", "labels": "heating;inspection",
                        "source": "page0.txt:2-3", "article": "page0.txt#2", "labelled_by": "王编辑",
                        "labelled_on": dt.date.today().isoformat()}
    assert got.get_json()["row"]["labels"] == ["heating", "inspection"]
    assert got.get_json()["progress"]["labelled"] == 1
    read_labels(folder / "labels.csv")  # still a valid labels.csv
    # the same paragraph again: not written twice
    again = api.answer(0, [])
    assert again.status_code == 409 and "already" in again.get_json()["error"]
    assert len(rows_of(folder / "labels.csv")) == n_before + 1
    assert api.next()["item"]["id"] == 1


def test_a_none_answer_is_a_row_with_empty_labels(api, folder):
    assert api.answer(3, []).status_code == 200
    assert rows_of(folder / "labels.csv")[-1]["labels"] == ""


def test_undo_removes_the_row_again(api, folder):
    original = rows_of(folder / "labels.csv")
    assert api.answer(0, ["heating"]).status_code == 200
    assert api.answer(1, []).status_code == 200
    got = api.post("/label/api/undo", json={"id": 1, "name": "王编辑"})
    assert got.status_code == 200
    body = got.get_json()
    assert body["row"]["labelled_by"] == "王编辑" and body["item"]["id"] == 1
    rows = rows_of(folder / "labels.csv")
    assert [r["text"] for r in rows] == [r["text"] for r in original] + ["测试段落2：市里召开第2次工作会议，部署近期各项重点任务。"]
    assert api.post("/label/api/undo", json={"id": 0, "name": "王编辑"}).status_code == 200
    assert [(r["text"], r["labels"]) for r in rows_of(folder / "labels.csv")] == [(r["text"], r["labels"]) for r in original]
    read_labels(folder / "labels.csv")
    # nothing left to undo; and the item is offered again
    again = api.post("/label/api/undo", json={"id": 0, "name": "王编辑"})
    assert again.status_code == 409 and "nothing to undo" in again.get_json()["error"]
    assert api.next()["item"]["id"] == 0


def test_undo_takes_back_only_the_editors_own_row(api, folder):
    assert api.answer(0, ["heating"], name="李编辑").status_code == 200
    got = api.post("/label/api/undo", json={"id": 0, "name": "王编辑"})
    assert got.status_code == 409
    assert rows_of(folder / "labels.csv")[-1]["labelled_by"] == "李编辑"


def test_remove_row_leaves_rows_without_provenance_alone(folder):
    from newstag.service.labelstore import remove_row

    before = (folder / "labels.csv").read_bytes()
    for name in ("", "王编辑"):
        assert remove_row(folder / "labels.csv", _labelled_text(), name) is None
    assert (folder / "labels.csv").read_bytes() == before


def test_skip_writes_nothing_and_the_next_item_follows(api, folder):
    before = (folder / "labels.csv").read_bytes()
    first = api.next()
    assert first["item"]["id"] == 0
    got = api.post("/label/api/skip", json={"id": 0, "name": "王编辑"})
    assert got.status_code == 200 and got.get_json()["progress"]["remaining"] == 99
    assert (folder / "labels.csv").read_bytes() == before
    after = api.next(skip=[0])
    assert after["item"]["id"] == 1 and after["progress"]["remaining"] == 99
    assert api.next(skip=list(range(100)))["item"] is None


def test_a_paragraph_already_labelled_is_never_offered(api, folder):
    texts = [r["text"] for r in rows_of(folder / "labels.csv")]
    state = api.get("/label/api/state").get_json()
    assert state["progress"]["queue"] == 100  # the labelled one was dropped at start
    assert _labelled_text() in texts
    # another editor (or `newstag train --add`) labels item 0 meanwhile
    item = api.next(name="王编辑")["item"]
    assert item["id"] == 0
    append_rows(folder / "labels.csv", [{"text": item["text"], "labels": "", "source": "elsewhere"}])
    got = api.next(name="王编辑")
    assert got["item"]["id"] == 1 and got["progress"]["labelled"] == 1
    answer = api.answer(0, ["heating"])
    assert answer.status_code == 409
    assert rows_of(folder / "labels.csv")[-1]["source"] == "elsewhere"


def test_two_editors_get_different_paragraphs(api):
    a = api.next(name="甲")["item"]["id"]
    b = api.next(name="乙")["item"]["id"]
    assert a != b
    assert api.next(name="甲")["item"]["id"] == a  # asking again (a reload) keeps the same one
    assert api.next(name="乙")["progress"]["held_by_others"] == 1
    assert api.answer(a, [], name="甲").status_code == 200
    assert api.next(name="甲")["item"]["id"] not in (a, b)


BAD = [
    ("unknown-topic", "/label/api/answer", {"id": 0, "labels": ["heatingg"], "name": "x"}, 422, "unknown topic(s) 'heatingg'"),
    ("labels-string", "/label/api/answer", {"id": 0, "labels": "heating", "name": "x"}, 422, "labels must be a list"),
    ("labels-missing", "/label/api/answer", {"id": 0, "name": "x"}, 422, "labels is missing"),
    ("labels-twice", "/label/api/answer", {"id": 0, "labels": ["heating", "heating"], "name": "x"}, 422, "twice"),
    ("id-missing", "/label/api/answer", {"labels": [], "name": "x"}, 422, "id is missing"),
    ("id-string", "/label/api/answer", {"id": "0", "labels": [], "name": "x"}, 422, "id must be an integer"),
    ("id-bool", "/label/api/skip", {"id": True, "name": "x"}, 422, "id must be an integer"),
    ("id-unknown", "/label/api/answer", {"id": 100, "labels": [], "name": "x"}, 404, "no paragraph 100 in the queue"),
    ("id-negative", "/label/api/undo", {"id": -1, "name": "x"}, 404, "no paragraph -1"),
    ("name-missing", "/label/api/answer", {"id": 0, "labels": []}, 422, "name is missing"),
    ("name-blank", "/label/api/next", {"name": " "}, 422, "name is empty"),
    ("name-newline", "/label/api/next", {"name": "a\nb"}, 422, "one line"),
    ("name-long", "/label/api/next", {"name": "x" * 65}, 422, "longer than 64"),
    ("skip-strings", "/label/api/next", {"name": "x", "skip": ["1"]}, 422, "skip must be a list of item ids"),
    ("unknown-field", "/label/api/answer", {"id": 0, "labels": [], "name": "x", "text": "my own"}, 422,
     "unknown field(s) 'text'"),
]


@pytest.mark.parametrize("path,body,status,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_bodies_say_what_is_wrong_and_write_nothing(api, folder, path, body, status, words):
    before = (folder / "labels.csv").read_bytes()
    got = api.post(path, json=body)
    assert got.status_code == status and words in got.get_json()["error"], got.get_json()
    assert (folder / "labels.csv").read_bytes() == before


def test_a_body_that_is_not_json_is_refused(api):
    assert api.post("/label/api/answer", data=b"id=0", content_type="text/plain").status_code == 415
    assert api.post("/label/api/answer", data=b"{", content_type="application/json").status_code == 400
    assert api.call("GET", "/label/api/answer").status_code == 405


# -- many editors at once ---------------------------------------------------------------------

def _answer_slice(app, worker, ids, undo_every=5):
    """Answer ``ids`` as editor ``w<worker>`` through a client of its own; undo every
    ``undo_every``-th answer right after it."""
    client = app.test_client()
    for n, item_id in enumerate(ids):
        labels = [TOPIC_NAMES[(worker + n) % 4]] if n % 2 else []
        got = client.post("/label/api/answer", headers=AUTH, json={"id": item_id, "labels": labels, "name": f"w{worker}"})
        assert got.status_code == 200, got.get_json()
        if n % undo_every == undo_every - 1:
            got = client.post("/label/api/undo", headers=AUTH, json={"id": item_id, "name": f"w{worker}"})
            assert got.status_code == 200, got.get_json()


def _check_concurrent_result(folder, expected_ids, original):
    rows = rows_of(folder / "labels.csv")
    new = rows[len(original):]
    assert [r["text"] for r in rows[: len(original)]] == [r["text"] for r in original]
    by_text = {suggestion(i + 2)["text"]: i for i in expected_ids}  # item id i is the row of suggestion(i + 2)
    assert sorted(r["text"] for r in new) == sorted(by_text)
    for r in new:  # no row mixes two writers' fields
        i = by_text[r["text"]]
        assert r["source"] == f"page{(i + 2) // 10}.txt:{i + 2}-{i + 3}" and r["article"] == f"page{(i + 2) // 10}.txt#{i + 2}"
        assert r["labelled_by"].startswith("w") and r["labelled_on"] == dt.date.today().isoformat()
    read_labels(folder / "labels.csv")


def test_concurrent_answers_from_8_threads_all_land(small, model_file):
    folder, app = small, create_app(config(small, model_file))
    original = rows_of(folder / "labels.csv")
    slices = {w: list(range(w * 10, w * 10 + 10)) for w in range(8)}
    errors = []

    def run(w):
        try:
            _answer_slice(app, w, slices[w])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    kept = [i for w, ids in slices.items() for n, i in enumerate(ids) if n % 5 != 4]
    assert len(kept) == 64
    _check_concurrent_result(folder, kept, original)
    assert Client(app).next()["progress"]["labelled"] == 64


def test_concurrent_answers_from_2_processes_all_land(small, model_file):
    folder, app = small, create_app(config(small, model_file))
    original = rows_of(folder / "labels.csv")
    ctx = multiprocessing.get_context("fork")
    slices = {w: list(range(w * 30, w * 30 + 30)) for w in range(2)}
    procs = [ctx.Process(target=_answer_slice, args=(app, w, slices[w], 4)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    kept = [i for ids in slices.values() for n, i in enumerate(ids) if n % 4 != 3]
    _check_concurrent_result(folder, kept, original)


# -- the log ----------------------------------------------------------------------------------

def test_the_token_never_appears_in_the_logs(api, caplog):
    with caplog.at_level(logging.DEBUG):
        api.get("/label", auth=False)
        api.get("/label/api/state")
        api.call("GET", "/label/api/state", auth=False, headers={"Authorization": f"Bearer {TOKEN}x"})
        api.call("GET", "/label/api/state", auth=False, headers={"Authorization": f"Bearer {TOKEN[:4]}"})
        item = api.next()["item"]
        api.answer(item["id"], ["heating"])
        api.post("/label/api/undo", json={"id": item["id"], "name": "王编辑"})
        api.post("/label/api/answer", json={"id": 0, "labels": ["nope"], "name": "王编辑"})
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "wrong token" in text and "labelled item" in text  # the log did get lines
    assert TOKEN not in text and TOKEN[:4] not in text


# -- topics come from topics.csv -----------------------------------------------------------------

def test_a_fifth_topic_appears_with_its_keys_and_can_be_answered(folder, model_file):
    with open(folder / "topics.csv", "a", encoding="utf-8") as fh:
        fh.write("safety,安全生产\n")
    scores = {"heating": 0.1, "people_congress": 0.05, "culture_tourism": 0.01, "inspection": 0.2, "safety": 0.81}
    write_suggestions(folder / "suggestions.csv",
                      [suggestion(i, guess="safety", scores=scores) for i in range(3)])
    api = Client(create_app(config(folder, model_file)))
    html = api.get("/label", auth=False).get_data(as_text=True)
    assert 'data-topic="safety"' in html and "安全生产" in html and "<kbd>5</kbd>" in html and "<kbd>A</kbd>" in html
    topics = api.get("/label/api/state").get_json()["topics"]
    assert topics[-1] == {"name": "safety", "display": "安全生产", "digit": "5", "letter": "a"}  # S is "skip"
    item = api.next()["item"]
    assert item["guess"] == ["safety"] and item["scores"]["safety"] == 0.81
    assert api.answer(item["id"], ["safety", "inspection"]).status_code == 200
    assert rows_of(folder / "labels.csv")[-1]["labels"] == "inspection;safety"
    assert read_labels(folder / "labels.csv").topic_names[-1] == "safety"


def test_topic_keys_are_derived_from_the_names():
    from newstag.service.label import topic_keys

    keys = topic_keys(["heating", "people_congress", "culture_tourism", "inspection", "safety", "hpci", "su"])
    assert [k["letter"] for k in keys] == ["h", "p", "c", "i", "a", "b", "d"]
    assert [k["digit"] for k in keys] == ["1", "2", "3", "4", "5", "6", "7"]
    many = topic_keys([f"t{i}" for i in range(12)])
    assert [k["digit"] for k in many][8:] == ["9", "", "", ""] and len({k["letter"] for k in many}) == 12
    assert not {"s", "u"} & {k["letter"] for k in topic_keys([f"topic{i}" for i in range(24)])}


# -- the document --------------------------------------------------------------------------------

def test_openapi_documents_every_label_route_and_is_valid(app, api):
    from openapi_spec_validator import validate

    validate(api.checker.spec)
    routes = {(rule.rule, m) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(p, m.upper()) for p, ops in api.checker.spec["paths"].items() for m in ops}
    assert routes == documented
    assert {"/label", "/label/api/answer", "/label/api/undo"} <= set(api.checker.spec["paths"])


# -- a queue suggested from an archive -------------------------------------------------------------

def test_queue_from_an_archive_page_is_suggested_at_start(folder, model_file):
    page = ROOT / "examples" / "archive" / "001_df55c92e11fa0b87.txt"
    # labels.csv holds every paragraph of the sample pages: keep only the authored rows
    rows = [r for r in rows_of(folder / "labels.csv") if r["source"] == "authored"]
    with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    app = create_app(config(folder, model_file, NEWSTAG_LABEL_QUEUE=str(page), NEWSTAG_LABEL_QUEUE_SIZE=5))
    api = Client(app)
    state = api.get("/label/api/state").get_json()
    assert 0 < state["progress"]["queue"] <= 5 and state["origin"] == page.name
    item = api.next()["item"]
    assert item["text"] and item["article_title"] is not None
    assert item["source"].rsplit(":", 1)[0].endswith(page.name) and item["article"].rsplit("#", 1)[0].endswith(page.name)
    assert set(item["scores"]) == set(TOPIC_NAMES)
    assert api.answer(item["id"], item["guess"]).status_code == 200
    assert rows_of(folder / "labels.csv")[-1]["source"] == item["source"]


# -- the real thing: `newstag serve --labelling`, gunicorn, two workers ------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(base, method, path, body=None, token=TOKEN):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_with_two_workers_writes_every_answer_and_logs_no_token(small, model_file, tmp_path):
    folder = small
    port = _free_port()
    access = tmp_path / "access.log"
    env = dict(os.environ, NEWSTAG_LABELLING_TOKEN=TOKEN)
    argv = serve_argv() + ["--model", str(model_file), "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                           "--threads", "4", "--reload-interval", "0", "--access-log", str(access), "--labelling",
                           "--label-queue", str(folder / "suggestions.csv"), "--labels", str(folder / "labels.csv")]
    with open(tmp_path / "server.log", "wb") as log:  # the child has its own copy of the descriptor
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _http(base, "GET", "/label/api/state")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        original = rows_of(folder / "labels.csv")
        assert _http(base, "GET", "/label/api/state", token=None)[0] == 401
        assert _http(base, "POST", "/label/api/answer", {"id": 0, "labels": [], "name": "x"}, token="wrong-token-1")[0] == 403
        # two editors asking again and again, through whichever worker: each keeps one paragraph, not the same
        held = {"甲": set(), "乙": set()}
        for _ in range(8):
            for who, ids in held.items():
                ids.add(_http(base, "POST", "/label/api/next", {"name": who})[1]["item"]["id"])
        assert held == {"甲": {0}, "乙": {1}}

        def run(w):
            for item_id in range(w * 10, w * 10 + 10):
                status, body = _http(base, "POST", "/label/api/answer",
                                     {"id": item_id, "labels": ["heating"] if item_id % 2 else [], "name": f"w{w}"})
                assert status == 200, body

        threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _check_concurrent_result(folder, list(range(40)), original)
        seen = {_http(base, "GET", "/label/api/state")[1]["progress"]["labelled"] for _ in range(10)}
        assert seen == {40}  # whichever worker answers, it sees every answer
    finally:
        proc.terminate()
        proc.wait(30)
    logged = access.read_text() + (tmp_path / "server.log").read_text()
    assert "/label/api/answer" in logged and "labelling at" in logged
    assert TOKEN not in logged
