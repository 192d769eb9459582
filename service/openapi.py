"""``GET /openapi.json``: the OpenAPI 3.1 description of every endpoint.

The schemas are JSON Schema 2020-12 (as OpenAPI 3.1 uses), strict about the fields of
each response object, so the tests can check real responses against this document and
catch drift between it and the code.  Limits (body size, texts per call) are the
running service's own; the labelling endpoints (``/label``, ``/label/api/...``) are in
it only when the service runs with labelling on, as they exist only then.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, current_app, jsonify

bp = Blueprint("openapi", __name__)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def build_spec(max_bytes: int, max_texts: int, labelling: bool = False) -> dict:
    """Return the OpenAPI document (a dict) for a service with these limits (and, when
    ``labelling``, the labelling page and its API)."""
    try:
        api_version = version("newstag")
    except PackageNotFoundError:
        api_version = "0"
    text_body = {
        "type": "string",
        "description": "UTF-8 text; the same as sending {\"text\": body}.",
    }
    scores = {
        "type": "object",
        "description": "Probability of every topic of the model, in the model's topic order.",
        "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
    }
    labels = {
        "type": "array",
        "description": "Topics whose score reaches their threshold, best first.",
        "items": {"type": "string"},
    }
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error", "request_id"],
            "additionalProperties": False,
            "properties": {
                "error": {"type": "string", "minLength": 1, "description": "What is wrong."},
                "request_id": {"type": "string", "description": "Also in the X-Request-ID header; logged with a 500."},
            },
        },
        "ClassifyRequest": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["text"],
                    "additionalProperties": False,
                    "properties": {"text": {"type": "string", "minLength": 1,
                                            "description": "One article: headline on the first line, then paragraphs."}},
                },
                {
                    "type": "object",
                    "required": ["texts"],
                    "additionalProperties": False,
                    "properties": {"texts": {"type": "array", "minItems": 1, "maxItems": max_texts,
                                             "items": {"type": "string", "minLength": 1}}},
                },
            ]
        },
        "Evidence": {
            "type": "object",
            "description": "For each label: the paragraphs (index among the article's paragraphs after the "
                           "headline, 0-based) that carried it and the terms that weighed most.",
            "additionalProperties": {
                "type": "object",
                "required": ["paragraphs", "terms"],
                "additionalProperties": False,
                "properties": {
                    "paragraphs": {"type": "array", "items": {
                        "type": "object", "required": ["index", "score", "text"], "additionalProperties": False,
                        "properties": {"index": {"type": "integer", "minimum": 0},
                                       "score": {"type": "number", "minimum": 0, "maximum": 1},
                                       "text": {"type": "string"}}}},
                    "terms": {"type": "array", "items": {
                        "type": "object", "required": ["term", "weight"], "additionalProperties": False,
                        "properties": {"term": {"type": "string"}, "weight": {"type": "number"}}}},
                },
            },
        },
        "ClassifyResult": {
            "type": "object",
            "required": ["labels", "scores", "evidence", "model"],
            "additionalProperties": False,
            "properties": {"labels": labels, "scores": scores, "evidence": _ref("Evidence"),
                           "model": {"type": ["string", "null"], "description": "Version of the model that answered."}},
        },
        "ClassifyBatch": {
            "type": "object",
            "required": ["results", "model"],
            "additionalProperties": False,
            "properties": {"results": {"type": "array", "items": _ref("ClassifyResult")},
                           "model": {"type": ["string", "null"]}},
        },
        "TagRequest": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {
                "text": {"type": "string", "minLength": 1, "description": "A page's text export."},
                "file": {"type": "string", "description": "Copied into each record's file field.", "default": ""},
                "evidence": {"type": "boolean", "default": False, "description": "Add each article's evidence."},
            },
        },
        "ArticleRecord": {
            "type": "object",
            "required": ["file", "index", "title", "lines", "labels", "scores", "chars"],
            "additionalProperties": False,
            "properties": {
                "file": {"type": "string"},
                "index": {"type": "integer", "minimum": 0, "description": "Place on the page, from 0."},
                "title": {"type": "string"},
                "lines": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2,
                          "description": "First and last line of the article in the page text, 1-based, inclusive."},
                "labels": labels,
                "scores": scores,
                "chars": {"type": "integer", "minimum": 0},
                "evidence": _ref("Evidence"),
            },
        },
        "TagResponse": {
            "type": "object",
            "required": ["articles", "model"],
            "additionalProperties": False,
            "properties": {"articles": {"type": "array", "items": _ref("ArticleRecord")},
                           "model": {"type": ["string", "null"]}},
        },
        "Health": {
            "type": "object",
            "required": ["status", "model"],
            "additionalProperties": False,
            "properties": {"status": {"const": "ok"}, "model": {"type": ["string", "null"]}},
        },
        "Labels": {
            "type": "object",
            "required": ["topics", "model"],
            "additionalProperties": False,
            "properties": {
                "topics": {"type": "array", "items": {
                    "type": "object", "required": ["name", "display"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "display": {"type": "string"}}}},
                "model": {"type": ["string", "null"]},
            },
        },
        "ModelInfo": {
            "type": "object",
            "required": ["version", "trained_at", "topics", "display_names", "thresholds", "cv",
                         "file", "loaded_at", "reload_error"],
            "additionalProperties": False,
            "properties": {
                "version": {"type": ["string", "null"]},
                "trained_at": {"type": ["string", "null"], "description": "ISO 8601, UTC."},
                "labels_sha256": {"type": ["string", "null"]},
                "topics": {"type": "array", "items": {"type": "string"}},
                "display_names": {"type": "object", "additionalProperties": {"type": "string"}},
                "thresholds": {"type": "object", "additionalProperties": {"type": "number"}},
                "paragraph_thresholds": {"type": ["object", "null"], "additionalProperties": {"type": "number"}},
                "params": {"type": ["object", "null"]},
                "n_paragraphs": {"type": ["integer", "null"]},
                "n_articles": {"type": ["integer", "null"]},
                "cv": {"type": ["object", "null"],
                       "description": "Cross-validated metrics: folds, paragraph and article level per topic "
                                      "(precision, recall, f1, support) and macro."},
                "versions": {"type": ["object", "null"], "description": "Library versions the model was saved with."},
                "file": {"type": "string", "description": "Name of the model file served."},
                "loaded_at": {"type": ["string", "null"], "description": "When this process loaded it (ISO 8601)."},
                "reload_error": {"type": ["string", "null"],
                                 "description": "Why the last attempt to switch to a new file failed; null when it did not."},
            },
        },
    }
    responses = {
        f"E{code}": _json(_ref("Error"), text)
        for code, text in {
            400: "The body is not valid JSON, not a JSON object, or not valid UTF-8.",
            404: "No such endpoint.",
            405: "The method is not allowed on this endpoint (the Allow header lists those that are).",
            413: f"The body is larger than {max_bytes} bytes.",
            415: "The content type is neither application/json nor text/plain; charset=utf-8.",
            422: "A field is missing, empty, not a string, unknown, or a list is not a list of strings or too long.",
            500: "An internal error; the request id is logged with it.",
            503: "The model does not answer.",
        }.items()
    }
    body_errors = {str(c): {"$ref": f"#/components/responses/E{c}"} for c in (400, 405, 413, 415, 422, 500)}
    get_errors = {str(c): {"$ref": f"#/components/responses/E{c}"} for c in (405, 500)}
    request_id = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}

    def ok(schema, text):
        out = _json(schema, text)
        out["headers"] = request_id
        return out

    paths = {
        "/classify": {"post": {
            "summary": "Tag one article, or several in one call",
            "description": f"{{\"text\"}} gives one result; {{\"texts\"}} (at most {max_texts}) gives "
                           "{\"results\"} in order. A text/plain body is the same as {\"text\": body}. "
                           "Labels and scores are those of `newstag classify` for the same text.",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("ClassifyRequest")},
                "text/plain": {"schema": text_body}}},
            "responses": {"200": ok({"oneOf": [_ref("ClassifyResult"), _ref("ClassifyBatch")]}, "Tags.")} | body_errors,
        }},
        "/tag": {"post": {
            "summary": "Split a page into articles and tag each",
            "description": "Records as `newstag tag` writes them. With a text/plain body, give file and "
                           "evidence as query parameters.",
            "parameters": [
                {"name": "file", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "evidence", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]}},
            ],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("TagRequest")},
                "text/plain": {"schema": text_body}}},
            "responses": {"200": ok(_ref("TagResponse"), "One record per article, in page order.")} | body_errors,
        }},
        "/health": {"get": {
            "summary": "The model is loaded and answers a probe text",
            "responses": {"200": ok(_ref("Health"), "Healthy."),
                          "503": {"$ref": "#/components/responses/E503"}} | get_errors,
        }},
        "/labels": {"get": {
            "summary": "The topics with their display names",
            "responses": {"200": ok(_ref("Labels"), "Topics in the model's order.")} | get_errors,
        }},
        "/model": {"get": {
            "summary": "The model answering now: version, training date, topics, thresholds, CV metrics",
            "responses": {"200": ok(_ref("ModelInfo"), "The current model.")} | get_errors,
        }},
        "/openapi.json": {"get": {
            "summary": "This document",
            "responses": {"200": ok({"type": "object"}, "OpenAPI 3.1 document.")} | get_errors,
        }},
        "/": {"get": {
            "summary": "A page to paste an article or a page into and see its topics",
            "responses": {"200": {"description": "HTML page.", "content": {"text/html": {"schema": {"type": "string"}}}}}
                         | get_errors,
        }},
    }
    components = {
        "schemas": schemas,
        "responses": responses,
        "headers": {"X-Request-ID": {
            "description": "The client's X-Request-ID when sane (1-64 of A-Z a-z 0-9 . _ -), else a new one.",
            "schema": {"type": "string"}}},
    }
    if labelling:
        add_labelling(paths, components, ok)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newstag",
            "version": api_version,
            "description": "Topic tagging of Chinese local news. Every error is "
                           "{\"error\": \"...\", \"request_id\": \"...\"}; 404 and 405 included. "
                           f"Bodies larger than {max_bytes} bytes get 413.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": components,
    }


def add_labelling(paths: dict, components: dict, ok) -> None:
    """Add the labelling page, its API, their schemas and the bearer token to a document."""
    string = {"type": "string"}
    ids = {"type": "array", "items": {"type": "integer", "minimum": 0},
           "description": "Ids of the items this editor skipped in this session: not offered again, not counted "
                          "as remaining."}
    name = {"type": "string", "minLength": 1, "maxLength": 64,
            "description": "Who answers: written to labels.csv as labelled_by; an item handed out is held for them."}
    item_id = {"type": "integer", "minimum": 0, "description": "The item's id, as next gave it."}
    components["schemas"].update({
        "LabelTopic": {
            "type": "object", "required": ["name", "display", "digit", "letter"], "additionalProperties": False,
            "properties": {"name": string, "display": string,
                           "digit": {"type": "string", "description": "Key 1-9 toggling it (\"\" after nine topics)."},
                           "letter": {"type": "string", "description": "Letter key toggling it: the first free "
                                                                       "letter of its name (S and U are taken)."}},
        },
        "LabelProgress": {
            "type": "object", "required": ["queue", "labelled", "remaining", "held_by_others"],
            "additionalProperties": False,
            "properties": {
                "queue": {"type": "integer", "minimum": 0, "description": "Items in the queue."},
                "labelled": {"type": "integer", "minimum": 0, "description": "Of them, in labels.csv now (anyone's)."},
                "remaining": {"type": "integer", "minimum": 0, "description": "Not labelled and not skipped."},
                "held_by_others": {"type": "integer", "minimum": 0,
                                   "description": "Of the remaining, handed out to other editors just now."},
            },
        },
        "LabelItem": {
            "type": "object",
            "required": ["id", "text", "guess", "scores", "source", "article", "article_title", "before", "after",
                         "reason"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 0}, "text": string,
                "guess": {"type": "array", "items": string, "description": "The model's topics (pre-ticked)."},
                "scores": {"type": "object", "additionalProperties": {"type": "number"}},
                "source": {"type": "string", "description": "FILE:FIRST-LAST"},
                "article": {"type": "string", "description": "FILE#INDEX"},
                "article_title": string, "before": string, "after": string, "reason": string,
            },
        },
        "LabelRow": {
            "type": "object", "required": ["text", "labels", "source", "article", "labelled_by", "labelled_on"],
            "additionalProperties": False,
            "properties": {"text": string, "labels": {"type": "array", "items": string}, "source": string,
                           "article": string, "labelled_by": string,
                           "labelled_on": {"type": "string", "description": "ISO date"}},
        },
        "LabelState": {
            "type": "object", "required": ["topics", "labels_file", "origin", "progress"],
            "additionalProperties": False,
            "properties": {"topics": {"type": "array", "items": _ref("LabelTopic")}, "labels_file": string,
                           "origin": string, "progress": _ref("LabelProgress")},
        },
        "LabelNextRequest": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": name, "skip": ids},
        },
        "LabelAnswerRequest": {
            "type": "object", "required": ["id", "labels", "name"], "additionalProperties": False,
            "properties": {"id": item_id, "name": name, "skip": ids,
                           "labels": {"type": "array", "items": string, "uniqueItems": True,
                                      "description": "Topic names; [] for none."}},
        },
        "LabelItemRequest": {
            "type": "object", "required": ["id", "name"], "additionalProperties": False,
            "properties": {"id": item_id, "name": name, "skip": ids},
        },
        "LabelNext": {
            "type": "object", "required": ["item", "progress"], "additionalProperties": False,
            "properties": {"item": {"oneOf": [_ref("LabelItem"), {"type": "null"}]}, "progress": _ref("LabelProgress")},
        },
        "LabelAnswered": {
            "type": "object", "required": ["row", "progress"], "additionalProperties": False,
            "properties": {"row": _ref("LabelRow"), "progress": _ref("LabelProgress")},
        },
        "LabelSkipped": {
            "type": "object", "required": ["id", "progress"], "additionalProperties": False,
            "properties": {"id": {"type": "integer", "minimum": 0}, "progress": _ref("LabelProgress")},
        },
        "LabelUndone": {
            "type": "object", "required": ["row", "item", "progress"], "additionalProperties": False,
            "properties": {"row": _ref("LabelRow"), "item": _ref("LabelItem"), "progress": _ref("LabelProgress")},
        },
    })
    error = _ref("Error")
    components["responses"].update({
        "E401": _json(error, "No labelling token: send Authorization: Bearer <token>. Nothing was read or written."),
        "E403": _json(error, "Wrong labelling token. Nothing was read or written."),
    })
    components["securitySchemes"] = {"labellingToken": {
        "type": "http", "scheme": "bearer",
        "description": "The token `newstag serve --labelling` was started with (--labelling-token or "
                       "NEWSTAG_LABELLING_TOKEN)."}}
    auth = {str(c): {"$ref": f"#/components/responses/E{c}"} for c in (401, 403, 405, 500)}
    body = auth | {str(c): {"$ref": f"#/components/responses/E{c}"} for c in (400, 413, 415, 422)}
    no_item = {"404": _json(error, "No item with this id in the queue.")}
    security = [{"labellingToken": []}]

    def post(summary, description, request, response, extra=None):
        return {"post": {
            "summary": summary, "description": description, "security": security,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": {"200": ok(_ref(response[0]), response[1])} | body | (extra or {}),
        }}

    paths.update({
        "/label": {"get": {
            "summary": "The labelling page: one suggested paragraph at a time, keys to answer",
            "responses": {"200": {"description": "HTML page.", "content": {"text/html": {"schema": string}}},
                          "405": {"$ref": "#/components/responses/E405"},
                          "500": {"$ref": "#/components/responses/E500"}},
        }},
        "/label/api/state": {"get": {
            "summary": "Topics with their keys, the labels file, progress",
            "security": security,
            "responses": {"200": ok(_ref("LabelState"), "State.")} | auth,
        }},
        "/label/api/next": post(
            "The next paragraph to label",
            "The first item in queue order that is not in labels.csv (looked at again now), not skipped by "
            "this editor and not held by another one; it is then held for this editor for a while.",
            "LabelNextRequest", ("LabelNext", "The item (null when none is left for this editor).")),
        "/label/api/answer": post(
            "Append the paragraph with these labels to labels.csv",
            "Written at once, with source, article, labelled_by (name) and labelled_on (today).",
            "LabelAnswerRequest", ("LabelAnswered", "The row written."),
            no_item | {"409": _json(error, "The paragraph is in labels.csv already; nothing was written.")}),
        "/label/api/skip": post(
            "Let the paragraph go without an answer", "Nothing is written.",
            "LabelItemRequest", ("LabelSkipped", "Skipped."), no_item),
        "/label/api/undo": post(
            "Take back this editor's answer to the paragraph",
            "Removes the row of this paragraph labelled by name from labels.csv; the item is handed back.",
            "LabelItemRequest", ("LabelUndone", "The row removed and the item to label again."),
            no_item | {"409": _json(error, "labels.csv has no row of this paragraph by this name.")}),
    })


@bp.get("/openapi.json")
def spec():
    """Return the OpenAPI document of this service as JSON."""
    config = current_app.config
    return jsonify(build_spec(config["MAX_CONTENT_LENGTH"], config["NEWSTAG_MAX_TEXTS"],
                              labelling=bool(config.get("NEWSTAG_LABELLING"))))
