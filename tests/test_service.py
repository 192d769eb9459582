"""The Flask service, through Flask's test client: every endpoint, every bad input the
issue lists, and every response checked against GET /openapi.json."""
from __future__ import annotations

import json
import logging
import threading

import pytest
from click.testing import CliRunner

from newstag.model.store import ModelFileError
from newstag.model.tagging import tag_page
from newstag.service import create_app
from newstag.service.batching import Batcher
from newstag.service.config import DEFAULT_MAX_BYTES, ConfigError
from service_support import ARTICLE, PAGE, ROOT, OpenAPIChecker, eval_texts, model_for_tests



@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    return model_for_tests(tmp_path_factory.mktemp("service-model"))


@pytest.fixture(scope="session")
def app(model_file):
    return create_app({"NEWSTAG_MODEL": str(model_file), "NEWSTAG_RELOAD_INTERVAL": 0, "TESTING": True})


@pytest.fixture(scope="session")
def model(app):
    return app.extensions["newstag"].model


@pytest.fixture(scope="session")
def checker(app):
    return OpenAPIChecker(app.test_client().get("/openapi.json").get_json())


class Client:
    """The test client, checking every response against the OpenAPI document."""

    def __init__(self, app, checker):
        self.client = app.test_client()
        self.checker = checker

    def call(self, method, path, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        self.checker.check_response(method, path.split("?")[0], response)
        assert response.headers["X-Request-ID"]
        if response.status_code >= 400:
            body = response.get_json()
            assert body["error"] and body["request_id"] == response.headers["X-Request-ID"]
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)


@pytest.fixture
def api(app, checker):
    return Client(app, checker)


def expected(result, version):
    return dict(result, model=version)


# -- the document ----------------------------------------------------------------------

def test_openapi_document_is_valid_openapi(checker):
    from openapi_spec_validator import validate

    validate(checker.spec)


def test_openapi_documents_every_route(app, checker):
    routes = {(rule.rule, m) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(p, m.upper()) for p, ops in checker.spec["paths"].items() for m in ops}
    assert routes == documented


def test_openapi_states_the_running_limits(app, api):
    spec = api.get("/openapi.json").get_json()
    assert spec["components"]["schemas"]["ClassifyRequest"]["oneOf"][1]["properties"]["texts"]["maxItems"] == 64
    assert str(app.config["MAX_CONTENT_LENGTH"]) in spec["components"]["responses"]["E413"]["description"]


# -- POST /classify ----------------------------------------------------------------------

def test_classify_text_gives_the_models_labels_scores_and_evidence(api, model, checker):
    body = {"text": ARTICLE}
    checker.check_request("POST", "/classify", body)
    got = api.post("/classify", json=body)
    assert got.status_code == 200
    assert got.get_json() == expected(model.tag_article(ARTICLE), model.meta_["version"])
    assert got.get_json()["labels"] == ["heating"]


def test_classify_agrees_with_newstag_classify(api, model_file):
    from newstag.cli import main

    result = CliRunner().invoke(main, ["classify", "--model", str(model_file), "-"], input=ARTICLE)
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    got = api.post("/classify", json={"text": ARTICLE}).get_json()
    assert (got["labels"], got["scores"], got["model"]) == (cli["labels"], cli["scores"], cli["model"])


def test_classify_texts_gives_each_articles_result_in_order(api, model, checker):
    texts = eval_texts()[:40]
    checker.check_request("POST", "/classify", {"texts": texts})
    got = api.post("/classify", json={"texts": texts})
    assert got.status_code == 200
    version = model.meta_["version"]
    assert got.get_json() == {"results": [expected(model.tag_article(t), version) for t in texts], "model": version}


def test_classify_plain_text_body_is_the_same_as_json(api):
    plain = api.post("/classify", data=ARTICLE.encode("utf-8"), content_type="text/plain; charset=utf-8")
    assert plain.status_code == 200
    assert plain.get_json() == api.post("/classify", json={"text": ARTICLE}).get_json()


def test_classify_plain_text_without_charset_or_with_bom_is_utf8(api):
    plain = api.post("/classify", data=b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"), content_type="text/plain")
    assert plain.status_code == 200
    assert plain.get_json() == api.post("/classify", json={"text": ARTICLE}).get_json()


def test_classify_accepts_json_with_utf8_charset(api):
    got = api.post("/classify", data=json.dumps({"text": ARTICLE}), content_type="application/json; charset=UTF-8")
    assert got.status_code == 200 and got.get_json()["labels"] == ["heating"]


def test_concurrent_requests_get_their_own_results(app, model):
    """Requests arriving together are tagged in one batch; each still gets its own."""
    texts = eval_texts()[:24]
    answers = {}

    def ask(i):
        answers[i] = app.test_client().post("/classify", json={"text": texts[i]}).get_json()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    version = model.meta_["version"]
    assert [answers[i] for i in range(len(texts))] == [expected(model.tag_article(t), version) for t in texts]


def test_batcher_failure_of_one_request_does_not_fail_the_others(model):
    class Picky:
        def tag_articles(self, texts):
            if "<BAD>" in texts:
                raise ValueError("bad text")
            return model.tag_articles(texts)

    picky, batcher, out = Picky(), Batcher(max_batch=32), {}
    texts = ["<BAD>"] + eval_texts()[:7]

    def ask(i):
        try:
            out[i] = batcher.tag(picky, [texts[i]])
        except ValueError as exc:
            out[i] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(out[0], ValueError)
    assert [out[i][0] for i in range(1, len(texts))] == [model.tag_article(t) for t in texts[1:]]


# -- POST /tag ---------------------------------------------------------------------------

def test_tag_splits_a_page_into_records_like_newstag_tag(api, model, checker):
    page = PAGE.read_text(encoding="utf-8")
    body = {"text": page, "file": PAGE.name}
    checker.check_request("POST", "/tag", body)
    got = api.post("/tag", json=body)
    assert got.status_code == 200
    data = got.get_json()
    assert data == {"articles": tag_page(model, page, file=PAGE.name), "model": model.meta_["version"]}
    assert len(data["articles"]) > 1 and "evidence" not in data["articles"][0]


def test_tag_with_evidence_adds_each_articles_evidence(api, model):
    page = PAGE.read_text(encoding="utf-8")
    got = api.post("/tag", json={"text": page, "evidence": True}).get_json()
    assert got["articles"] == tag_page(model, page, evidence=True)
    assert any(a["evidence"] for a in got["articles"])


def test_tag_plain_text_takes_file_and_evidence_from_the_query(api, model):
    page = PAGE.read_text(encoding="utf-8")
    got = api.post("/tag?file=p.txt&evidence=true", data=page.encode(), content_type="text/plain; charset=utf-8")
    assert got.status_code == 200
    assert got.get_json()["articles"] == tag_page(model, page, file="p.txt", evidence=True)


# -- GET endpoints -----------------------------------------------------------------------

def test_health_says_ok_with_the_model_version(api, model):
    got = api.get("/health")
    assert got.status_code == 200 and got.get_json() == {"status": "ok", "model": model.meta_["version"]}


def test_health_is_503_when_the_model_does_not_answer(api, model, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("scorer gone")

    monkeypatch.setattr(model, "tag_article", broken)
    got = api.get("/health")
    assert got.status_code == 503 and "scorer gone" in got.get_json()["error"]


def test_labels_lists_topics_with_display_names(api, model):
    got = api.get("/labels").get_json()
    assert got["topics"] == [
        {"name": "heating", "display": "供热"},
        {"name": "people_congress", "display": "人大"},
        {"name": "culture_tourism", "display": "文旅"},
        {"name": "inspection", "display": "巡察"},
    ]
    assert got["model"] == model.meta_["version"]


def test_model_shows_version_date_topics_thresholds_and_cv_metrics(api, model, model_file):
    got = api.get("/model").get_json()
    meta = model.meta_
    assert got["version"] == meta["version"] and got["trained_at"] == meta["trained_at"]
    assert got["topics"] == model.topics and got["thresholds"] == meta["thresholds"]
    assert got["cv"]["article"]["macro"]["f1"] == meta["cv"]["article"]["macro"]["f1"]
    assert got["file"] == model_file.name and got["reload_error"] is None


def test_index_page_is_html_that_loads_nothing_from_elsewhere(api):
    got = api.get("/")
    html = got.get_data(as_text=True)
    assert got.status_code == 200 and got.mimetype == "text/html"
    assert "default-src 'none'" in got.headers["Content-Security-Policy"]
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("://", "")
    for asset in ("/static/newstag.js", "/static/newstag.css"):
        assert asset in html
        served = api.client.get(asset)
        assert served.status_code == 200 and b"http" not in served.data


def test_request_id_from_the_client_is_kept_and_a_bad_one_replaced(api):
    assert api.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    replaced = api.get("/health", headers={"X-Request-ID": "no spaces <allowed>"}).headers["X-Request-ID"]
    assert replaced != "no spaces <allowed>" and len(replaced) == 32


# -- bad input -----------------------------------------------------------------------------

JSON = "application/json"
PLAIN = "text/plain; charset=utf-8"
BAD = [
    # (id, method, path, body bytes or None, content type, status, words in the error)
    ("not-json", "POST", "/classify", b'{"text": "abc"', JSON, 400, "not valid JSON"),
    ("empty-json-body", "POST", "/classify", b"", JSON, 400, "not valid JSON"),
    ("json-array", "POST", "/classify", b'["a"]', JSON, 400, "must be a JSON object, got array"),
    ("json-string", "POST", "/classify", b'"text"', JSON, 400, "must be a JSON object, got string"),
    ("json-null", "POST", "/classify", b"null", JSON, 400, "must be a JSON object, got null"),
    ("json-nested-deep", "POST", "/classify", b"[" * 100000 + b"]" * 100000, JSON, 400, "nested too deeply"),
    ("json-huge-number", "POST", "/classify", b'{"text": "a", "n": ' + b"1" * 5000 + b"}", JSON, 400,
     "not usable JSON"),
    ("json-bad-utf8", "POST", "/classify", b'{"text": "\xe4\xbe"}', JSON, 400, "not valid UTF-8"),
    ("plain-bad-utf8", "POST", "/classify", "供热".encode("gbk"), PLAIN, 400, "not valid UTF-8"),
    ("lone-surrogate", "POST", "/classify", b'{"text": "abc\\ud800"}', JSON, 400, "unpaired surrogate"),
    ("html", "POST", "/classify", b"<p>hi</p>", "text/html", 415, "unsupported content type 'text/html'"),
    ("form", "POST", "/classify", b"text=hi", "application/x-www-form-urlencoded", 415, "unsupported content type"),
    ("no-content-type", "POST", "/classify", b'{"text": "hi"}', None, 415, "unsupported content type"),
    ("gbk-charset", "POST", "/classify", "供热".encode("gbk"), "text/plain; charset=gbk", 415, "charset 'gbk'"),
    ("missing-text", "POST", "/classify", b"{}", JSON, 422, "text is missing"),
    ("empty-text", "POST", "/classify", b'{"text": ""}', JSON, 422, "text is empty"),
    ("blank-text", "POST", "/classify", b'{"text": " \\n\\t"}', JSON, 422, "text is empty"),
    ("null-text", "POST", "/classify", b'{"text": null}', JSON, 422, "text must be a string, got null"),
    ("number-text", "POST", "/classify", b'{"text": 12}', JSON, 422, "text must be a string, got number"),
    ("list-text", "POST", "/classify", b'{"text": ["a"]}', JSON, 422, "text must be a string, got array"),
    ("empty-plain", "POST", "/classify", b"", PLAIN, 422, "text (the request body) is empty"),
    ("texts-not-list", "POST", "/classify", b'{"texts": "abc"}', JSON, 422, "texts must be a list of strings, got string"),
    ("texts-empty", "POST", "/classify", b'{"texts": []}', JSON, 422, "texts is empty"),
    ("texts-number", "POST", "/classify", b'{"texts": ["a", 1]}', JSON, 422, "texts[1] must be a string, got number"),
    ("texts-blank", "POST", "/classify", b'{"texts": ["a", " "]}', JSON, 422, "texts[1] is empty"),
    ("texts-too-long", "POST", "/classify", json.dumps({"texts": ["供热"] * 65}).encode(), JSON, 422,
     "texts has 65 items; at most 64"),
    ("text-and-texts", "POST", "/classify", b'{"text": "a", "texts": ["b"]}', JSON, 422, "either text or texts"),
    ("unknown-field", "POST", "/classify", b'{"txt": "a"}', JSON, 422, "unknown field(s) 'txt'"),
    ("tag-missing-text", "POST", "/tag", b'{"file": "a.txt"}', JSON, 422, "text is missing"),
    ("tag-file-number", "POST", "/tag", b'{"text": "a", "file": 3}', JSON, 422, "file must be a string, got number"),
    ("tag-evidence-string", "POST", "/tag", b'{"text": "a", "evidence": "yes please"}', JSON, 422,
     "evidence must be true or false"),
    ("tag-not-json", "POST", "/tag", b"{", JSON, 400, "not valid JSON"),
    ("tag-html", "POST", "/tag", b"<p>", "text/html", 415, "unsupported content type"),
    ("tag-empty-plain", "POST", "/tag", b"\n\n", PLAIN, 422, "text (the request body) is empty"),
    ("unknown-path", "GET", "/nowhere", None, None, 404, "no such endpoint: GET /nowhere"),
    ("unknown-path-post", "POST", "/classify/", b"{}", JSON, 404, "no such endpoint"),
    ("get-classify", "GET", "/classify", None, None, 405, "method GET is not allowed on /classify; allowed: POST"),
    ("post-health", "POST", "/health", b"{}", JSON, 405, "method POST is not allowed on /health"),
    ("delete-model", "DELETE", "/model", None, None, 405, "allowed: GET"),
]


@pytest.mark.parametrize("method,path,body,content_type,status,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_gets_a_json_error_saying_what_is_wrong(api, method, path, body, content_type, status, words):
    kwargs = {"data": body} if body is not None else {}
    if content_type:
        kwargs["content_type"] = content_type
    got = api.call(method, path, **kwargs)
    assert got.status_code == status, got.get_data(as_text=True)
    assert words in got.get_json()["error"]
    if status == 405:
        assert got.headers["Allow"]


def test_tag_query_evidence_must_be_a_boolean(api):
    got = api.post("/tag?evidence=maybe", data="标题\n正文。".encode(), content_type=PLAIN)
    assert got.status_code == 422 and "evidence must be true or false" in got.get_json()["error"]


def test_body_over_the_default_limit_is_413(api):
    assert DEFAULT_MAX_BYTES == 1024 * 1024
    got = api.post("/classify", data=b"a" * (DEFAULT_MAX_BYTES + 1), content_type=PLAIN)
    assert got.status_code == 413 and f"limit of {DEFAULT_MAX_BYTES} bytes" in got.get_json()["error"]


def test_body_limit_is_configurable(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
    small = api.post("/classify", json={"text": "供热"})
    big = api.post("/classify", json={"text": "供热" * 60})
    assert small.status_code == 200
    assert big.status_code == 413 and "limit of 100 bytes" in big.get_json()["error"]


def test_chunked_body_over_the_limit_is_413(api, app, monkeypatch):
    """A body without Content-Length (chunked, as gunicorn hands it over) is cut at the limit."""
    import io

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
    got = api.post("/classify", input_stream=io.BytesIO(b"x" * 500), content_type=PLAIN,
                   headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert got.status_code == 413 and "limit of 100 bytes" in got.get_json()["error"]


def test_chunked_body_within_the_limit_is_read_whole(api, model):
    import io

    data = ARTICLE.encode("utf-8")
    got = api.post("/classify", input_stream=io.BytesIO(data), content_type=PLAIN,
                   headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert got.status_code == 200 and got.get_json()["scores"] == model.tag_article(ARTICLE)["scores"]


def test_random_bodies_never_get_a_500(api):
    """Seeded junk of every kind: bytes, JSON of every shape, text with odd characters."""
    import random

    rng = random.Random(5)
    atoms = [None, True, 0, -1.5, "", " ", "供热", "\ud800", "a" * 300, [], {}, ["供热"], {"text": "x"}]

    def junk_json(depth=0):
        kind = rng.random()
        if depth > 3 or kind < 0.4:
            return rng.choice(atoms)
        if kind < 0.7:
            return [junk_json(depth + 1) for _ in range(rng.randrange(4))]
        keys = ["text", "texts", "file", "evidence", "x"]
        return {rng.choice(keys): junk_json(depth + 1) for _ in range(rng.randrange(4))}

    types = [JSON, PLAIN, "text/plain; charset=latin-1", "application/octet-stream", None]
    for i in range(150):
        if i % 3 == 0:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
        else:
            body = json.dumps(junk_json()).encode()
        path = rng.choice(["/classify", "/tag"])
        got = api.post(path, data=body, **({"content_type": t} if (t := rng.choice(types)) else {}))
        assert got.status_code in (200, 400, 415, 422), (path, body, got.get_data(as_text=True))


def test_service_keeps_answering_after_bad_input(api):
    for body in (b"{", b"[]", b'{"text": 1}', b"\xff"):
        assert api.post("/classify", data=body, content_type=JSON).status_code in (400, 422)
    assert api.post("/classify", json={"text": ARTICLE}).status_code == 200


def test_internal_error_is_500_with_the_request_id_logged(api, model, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(model, "tag_articles", broken)
    with caplog.at_level(logging.ERROR):
        got = api.post("/classify", json={"text": ARTICLE}, headers={"X-Request-ID": "req-500-test"})
    assert got.status_code == 500
    assert got.get_json() == {"error": "internal error; quote request id req-500-test when reporting it",
                              "request_id": "req-500-test"}
    logged = [r for r in caplog.records if "req-500-test" in r.getMessage()]
    assert logged and logged[0].exc_info and "disk on fire" in str(logged[0].exc_info[1])


# -- configuration ---------------------------------------------------------------------------

def test_create_app_reads_the_environment_when_given_no_config(model_file, monkeypatch):
    monkeypatch.setenv("NEWSTAG_MODEL", str(model_file))
    monkeypatch.setenv("NEWSTAG_MAX_BYTES", "2048")
    monkeypatch.setenv("NEWSTAG_MAX_TEXTS", "3")
    monkeypatch.setenv("NEWSTAG_RELOAD_INTERVAL", "0")
    app = create_app()
    assert (app.config["MAX_CONTENT_LENGTH"], app.config["NEWSTAG_MAX_TEXTS"]) == (2048, 3)
    assert app.extensions["newstag"].path == model_file


def test_bad_environment_value_is_named(monkeypatch):
    monkeypatch.setenv("NEWSTAG_MAX_BYTES", "1MB")
    with pytest.raises(ConfigError, match="NEWSTAG_MAX_BYTES='1MB'"):
        create_app()


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="nothere.joblib"):
        create_app({"NEWSTAG_MODEL": str(tmp_path / "nothere.joblib")})


def test_serve_passes_options_and_environment_to_gunicorn(model_file, monkeypatch):
    from newstag import servecmd

    seen = {}

    class Fake:
        def run(self):
            seen["ran"] = True

    def fake_make(app, options):
        seen["app"], seen["options"] = app, options
        return Fake()

    monkeypatch.setattr(servecmd, "make_gunicorn_app", fake_make)
    monkeypatch.setenv("NEWSTAG_WORKERS", "3")
    monkeypatch.setenv("NEWSTAG_MAX_BYTES", "5000")
    result = CliRunner().invoke(servecmd.serve, ["--model", str(model_file), "--port", "8123", "--reload-interval", "0"])
    assert result.exit_code == 0, result.output
    options = seen["options"]
    assert options["bind"] == "127.0.0.1:8123" and options["workers"] == 3 and options["preload_app"] is True
    assert seen["app"].config["MAX_CONTENT_LENGTH"] == 5000 and seen["ran"]


def test_serve_debug_runs_flasks_own_server(model_file, monkeypatch):
    from flask import Flask

    from newstag import servecmd

    seen = {}
    monkeypatch.setattr(Flask, "run", lambda self, **kw: seen.update(kw, app=self))
    monkeypatch.setattr(servecmd, "make_gunicorn_app", lambda *a: pytest.fail("gunicorn used with --debug"))
    result = CliRunner().invoke(servecmd.serve, ["--model", str(model_file), "--debug", "--port", "8124"])
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"], seen["debug"]) == ("127.0.0.1", 8124, True)


def test_serve_with_a_missing_model_says_which_file(tmp_path):
    from newstag.servecmd import serve

    result = CliRunner().invoke(serve, ["--model", str(tmp_path / "gone.joblib")])
    assert result.exit_code != 0 and "gone.joblib: no such model file" in result.output
