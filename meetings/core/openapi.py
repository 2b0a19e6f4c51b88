"""Builds the OpenAPI 3.1 document from the registered endpoints and their pydantic schemas."""
from __future__ import annotations

import re
import typing

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from meetings.core.api import EndpointSpec
from meetings.core.schemas import Problem

_RULE_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")
REF = "#/components/schemas/{model}"
ERROR_TEXT = {400: "Bad input", 401: "Not logged in", 403: "Not allowed", 404: "Unknown or not visible",
              409: "State conflict", 413: "Too large", 415: "Unsupported media type",
              422: "Semantically invalid", 429: "Rate limited"}


def _models_in(tp: typing.Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _models_in(arg)]


def build_openapi(app: Flask) -> dict:
    specs: list[tuple[str, list[tuple[str, str]], EndpointSpec]] = []
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if spec is not None:
            specs.append((rule.rule, _RULE_ARG.findall(rule.rule), spec))

    # Request bodies are described as validated, responses as serialized; a model used both ways gets both.
    inputs: set[type[BaseModel]] = set()
    outputs: set[type[BaseModel]] = {Problem}
    for _rule, _args, spec in specs:
        if spec.body is not None:
            inputs.add(spec.body)
        if spec.response is not None:
            outputs.update(_models_in(spec.response))
    by_name = lambda m: m.__name__  # noqa: E731
    key_map, defs = models_json_schema(
        [(m, "validation") for m in sorted(inputs, key=by_name)]
        + [(m, "serialization") for m in sorted(outputs, key=by_name)],
        ref_template=REF)

    def ref(model: type[BaseModel], mode: str) -> dict:
        return key_map[(model, mode)]

    def response_schema(tp: typing.Any) -> dict:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return ref(tp, "serialization")
        return TypeAdapter(tp).json_schema(mode="serialization", ref_template=REF)

    paths: dict[str, dict] = {}
    for rule, args, spec in sorted(specs, key=lambda s: s[0]):
        path = _RULE_ARG.sub(r"{\2}", rule)
        op: dict = {"summary": spec.summary, "tags": [spec.tag],
                    "operationId": f"{spec.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"}
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer"} if conv == "int" else {"type": "string"}} for conv, name in args]
        if spec.query is not None:
            for name, fld in spec.query.model_fields.items():
                schema = TypeAdapter(fld.annotation).json_schema()
                params.append({"name": name, "in": "query", "required": fld.is_required(), "schema": schema})
        if params:
            op["parameters"] = params
        if spec.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ref(spec.body, "validation")}}}
        elif spec.multipart:
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object",
                "properties": {k: ({"type": "string", "format": "binary", "description": v} if k == "file"
                                   else {"type": "string", "description": v}) for k, v in spec.multipart.items()},
                "required": ["file"] if "file" in spec.multipart else []}}}}
        responses: dict = {}
        if spec.raw_response:
            responses[str(spec.status)] = {"description": "OK", "content": {spec.raw_response: {}}}
        elif spec.response is None:
            responses["204" if spec.status == 200 else str(spec.status)] = {"description": "Done"}
        else:
            responses[str(spec.status)] = {"description": "OK" if spec.status == 200 else "Created",
                                           "content": {"application/json": {"schema": response_schema(spec.response)}}}
        codes = set(spec.errors) | ({400} if spec.body or spec.query or spec.multipart else set())
        if spec.auth:
            codes |= {401}
        if spec.body is not None:
            codes |= {415}
        for code in sorted(codes):
            responses[str(code)] = {"description": ERROR_TEXT.get(code, "Error"), "content": {
                "application/problem+json": {"schema": ref(Problem, "serialization")}}}
        op["responses"] = responses
        if spec.auth:
            op["security"] = [{"bearer": []}, {"cookie": []}]
        paths.setdefault(path, {})[spec.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": "Phòng Họp API", "version": "1",
                 "description": "REST API of the Phòng Họp paperless meeting server. Errors are "
                                "application/problem+json; times are ISO 8601 with offset (+07:00)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Token from POST /api/v1/auth/login"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "Browser session; writes need the X-CSRFToken header"},
            },
        },
    }
