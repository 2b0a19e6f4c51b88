"""/api/openapi.json describes exactly the /api/v1 routes the app serves, as a self-contained OpenAPI 3.1 document."""
from __future__ import annotations

import re

import pytest

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def api_routes(app) -> set[tuple[str, str]]:
    """(OpenAPI-style path, METHOD) of every /api/v1 rule registered in the app."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method))
    return routes


@pytest.fixture
def doc(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.json


def resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), f"external reference {ref}"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def refs_in(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from refs_in(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs_in(value, f"{where}/{i}")


def test_document_is_openapi_3_1_shaped(doc):
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert isinstance(doc["paths"], dict) and doc["paths"]
    assert isinstance(doc["components"]["schemas"], dict) and "Problem" in doc["components"]["schemas"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        for method, op in item.items():
            assert method in HTTP_METHODS, (path, method)
            for requirement in op.get("security", []):
                assert set(requirement) <= set(schemes), (path, method)


def test_every_api_route_is_documented_and_nothing_else(app, doc):
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    served = api_routes(app)
    assert served, "no /api/v1 routes registered?"
    assert served - documented == set(), "routes missing from the document"
    assert documented - served == set(), "documented paths the app does not serve"


def test_every_operation_has_responses_parameters_and_a_unique_id(doc):
    ids = set()
    for path, item in doc["paths"].items():
        path_args = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert op["operationId"] not in ids, where
            ids.add(op["operationId"])
            responses = op.get("responses")
            assert responses, f"{where} has no responses"
            assert any(code.startswith("2") for code in responses), where
            for code, response in responses.items():
                assert re.fullmatch(r"[1-5]\d\d", code), (where, code)
                assert response.get("description"), (where, code)
                if code.startswith("4"):
                    assert "application/problem+json" in response["content"], (where, code)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == path_args, where
            assert all(p["required"] for p in op.get("parameters", []) if p["in"] == "path"), where
            if op.get("security"):
                assert "401" in responses, where
            if path_args:
                assert "404" in responses, f"{where}: an unknown id is 404, say so"
            if "requestBody" in op:
                assert op["requestBody"]["content"], where
                if "application/json" in op["requestBody"]["content"]:
                    assert "400" in responses and "415" in responses, where


def test_every_ref_resolves_inside_the_document(doc):
    refs = list(refs_in(doc))
    assert refs, "expected component references"
    for where, ref in refs:
        target = resolve(doc, ref)
        assert isinstance(target, dict), (where, ref)
    # Component schemas are objects or schema combinators, each with a type or a composition.
    for name, schema in doc["components"]["schemas"].items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name), name
        assert any(k in schema for k in ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")), name


def test_documented_request_bodies_match_the_validating_schemas(app, doc):
    """The body schema published for an endpoint is the one the pipeline validates with."""
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if spec is None or spec.body is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        body = doc["paths"][path][spec.method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        published = resolve(doc, body["$ref"])
        expected = spec.body.model_json_schema()
        assert set(published["properties"]) == set(expected["properties"]), path
        assert set(published.get("required", [])) == set(expected.get("required", [])), path
        assert published.get("additionalProperties") is False, f"{path}: unknown fields are refused, say so"


def test_document_is_public_and_cached(client):
    first = client.get("/api/openapi.json")
    second = client.get("/api/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.json == second.json
