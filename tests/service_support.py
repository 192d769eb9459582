"""Shared by the service tests: the model they serve (the shipped one, or one trained
once per test run), and a check of responses against the service's own OpenAPI document."""
from __future__ import annotations

import contextlib
import csv
import json
import shutil
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# An article and a page shared by the service and browser tests.
PAGE = ROOT / "examples" / "archive" / "000_abd0a3a3191919be.txt"
ARTICLE = (
    "首府供热管网改造进入收尾阶段\n"
    "本报讯(记者 张三)记者从市城管局获悉,今年我市共改造老旧供热管网120公里,新建换热站36座,"
    "10月15日前全部完工,确保按时开栓。\n"
    "市热力公司负责人介绍,今冬将对5万户热用户入户测温,室温不达标的小区由供热管家上门排查。"
)
DATA = Path(__file__).resolve().parent / "data"
N_ARTICLES = 150  # of labels.csv's ~700: enough for real vocabulary, trains in ~2 s

_trained: dict = {}


@contextlib.contextmanager
def serving(app):
    """Serve ``app`` on a free loopback port, in a thread of this process; yield its base URL."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(10)


def model_for_tests(folder: Path) -> Path:
    """Return the path of the model the service tests serve: the shipped model, or,
    in a checkout without one, a model trained in ``folder`` (see ``train_small_model``).
    Tests that replace the file work on a copy."""
    from newstag.model.store import DEFAULT_MODEL_PATH

    if DEFAULT_MODEL_PATH.is_file():
        return DEFAULT_MODEL_PATH
    return train_small_model(folder)


def train_small_model(folder: Path) -> Path:
    """Return the path of a model trained by ``newstag train``'s code on the first
    ``N_ARTICLES`` articles of labels.csv (every topic present); trained once per
    process, in ``folder`` the first time."""
    if "path" in _trained:
        return _trained["path"]
    from newstag.training.train import train

    folder.mkdir(parents=True, exist_ok=True)
    with open(ROOT / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    articles = []
    for row in rows:
        if row["article"] not in articles:
            articles.append(row["article"])
    # spread the pick over the file so that every topic has articles of its own
    step = max(1, len(articles) // N_ARTICLES)
    keep = set(articles[::step][:N_ARTICLES])
    with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["article"] in keep)
    shutil.copy(ROOT / "topics.csv", folder / "topics.csv")
    out = folder / "model.joblib"
    train(folder / "labels.csv", out)
    _trained["path"] = out
    return out


def serve_argv() -> list[str]:
    """Return the command line that runs `newstag serve` with this Python: the CLI's
    own subcommand once it is registered there, else the same click command run from
    its module."""
    import sys

    from newstag.cli import main

    if "serve" in main.commands:
        return [sys.executable, "-m", "newstag", "serve"]
    return [sys.executable, "-m", "newstag.servecmd"]


def eval_texts() -> list[str]:
    """Return the evaluation articles (tests/data) as texts: headline line, then paragraphs."""
    texts = []
    with open(DATA / "eval_articles.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                a = json.loads(line)
                texts.append(a["title"] + "\n" + "\n".join(a["paragraphs"]))
    return texts


class OpenAPIChecker:
    """Validates responses (and request bodies) against an OpenAPI 3.1 document."""

    BASE = "urn:newstag:openapi"

    def __init__(self, spec: dict):
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.spec = spec
        self._validator = Draft202012Validator
        self._registry = Registry().with_resource(self.BASE, Resource.from_contents(spec, default_specification=DRAFT202012))

    @staticmethod
    def _pointer(*parts) -> str:
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)

    def _resolve(self, node: dict, where: list) -> tuple[dict, list]:
        while "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            where = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
            node = self.spec
            for p in where:
                node = node[p]
        return node, where

    def validate(self, instance, where: list) -> None:
        """Validate ``instance`` against the schema at path ``where`` in the document."""
        schema = {"$ref": self.BASE + "#" + self._pointer(*where)}
        self._validator(schema, registry=self._registry).validate(instance)

    def check_response(self, method: str, path: str, response) -> None:
        """Assert that ``response`` (a Flask test response) is documented for
        ``method path`` with its status and content type, and matches its schema."""
        operation = self.spec["paths"].get(path, {}).get(method.lower())
        if operation is None:
            assert response.status_code in (404, 405), f"{method} {path} is not documented"
            where = ["components", "responses", f"E{response.status_code}"]
            node, where = self._resolve({"$ref": "#" + self._pointer(*where)}, where)
        else:
            where = ["paths", path, method.lower(), "responses", str(response.status_code)]
            assert str(response.status_code) in operation["responses"], (
                f"{method} {path} answered {response.status_code}, which its documentation does not list"
            )
            node, where = self._resolve(operation["responses"][str(response.status_code)], where)
        mimetype = response.mimetype
        assert mimetype in node["content"], f"{method} {path} {response.status_code}: {mimetype} is not documented"
        if mimetype == "application/json":
            self.validate(response.get_json(), where + ["content", mimetype, "schema"])

    def check_request(self, method: str, path: str, body, mimetype: str = "application/json") -> None:
        """Assert that a request body the tests send as valid is valid by the document."""
        where = ["paths", path, method.lower(), "requestBody", "content", mimetype, "schema"]
        self.validate(body, where)
