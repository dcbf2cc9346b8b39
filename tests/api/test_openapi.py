"""The served OpenAPI document as a contract clients are generated from (issue 17): it validates, every error
of every operation is a typed `Problem`, operations are named, keyed and tagged, bodies are named with the
counts the server enforces, and the one list of problem codes matches the code and README."""

import ast
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from app.api.app import create_app
from app.api.openapi import EXAMPLE_IMAGE
from app.api.service import Service
from app.config import Settings
from app.inference.errors import ProblemCode
from app.integrity.gate import SealedSet
from devkit.asgi import asgi_request
from devkit.paths import MODELS, REPO

MAX_FRAMES = 3  # not the default, so the document's counts are seen to come from the settings
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
OPERATIONS = {"verify": "/v1/verify", "liveness": "/v1/liveness", "compare": "/v1/compare", "models": "/v1/models",
              "healthz": "/healthz", "readyz": "/readyz"}


@pytest.fixture(scope="module")
def app(sealed: SealedSet) -> FastAPI:
    settings = Settings(models_dir=MODELS, auth_disabled=True, reverify_interval_s=0, max_frames=MAX_FRAMES)
    return create_app(Service.start(settings, sealed))


def call(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return asgi_request(app, method, path, **kwargs)


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return call(app, "GET", "/openapi.json").json()


def operations(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """operationId -> (path, operation)."""
    return {op["operationId"]: (path, op) for path, item in document["paths"].items() for op in item.values()}


def test_the_served_document_validates(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_error_of_every_operation_is_a_typed_problem_with_its_headers(document: dict[str, Any]) -> None:
    for operation_id, (_, operation) in operations(document).items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == PROBLEM, (operation_id, status)
            else:
                assert set(response["content"]) == {"application/json"}, (operation_id, status)
            headers = set(response["headers"])
            expected = {"401": {"WWW-Authenticate"}, "429": {"Retry-After"}, "503": {"Retry-After"}}.get(status, set())
            assert headers == expected | {"X-Request-ID"}, (operation_id, status)
    verify = operations(document)["verify"][1]["responses"]
    assert sorted(verify) == ["200", "400", "401", "403", "408", "413", "415", "422", "429", "500", "503"]
    assert sorted(operations(document)["readyz"][1]["responses"]) == ["200", "503"]


def test_problem_codes_are_one_enum_made_from_the_one_list(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["properties"]["code"] == {"$ref": "#/components/schemas/ProblemCode"}
    assert schemas["ProblemCode"]["enum"] == [code.value for code in ProblemCode]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code", "request_id"}


def codes_in_app() -> tuple[set[str], list[str]]:
    """The problem codes app/ names (`ProblemCode.x`), and every code it spells as a string instead: outside the
    list itself, only a metric label value may coincide with a code (its label set is closed on its own)."""
    codes = {code.value for code in ProblemCode}
    named: set[str] = set()
    spelled: list[str] = []
    for source in (REPO / "app").rglob("*.py"):
        tree = ast.parse(source.read_text())
        labels = {id(argument) for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Attribute) and node.func.attr == "labels" for argument in node.args}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ProblemCode":
                named.add(node.attr)
            elif (isinstance(node, ast.Constant) and node.value in codes and id(node) not in labels
                  and source != REPO / "app" / "inference" / "errors.py"):
                spelled.append(f"{source.relative_to(REPO)}:{node.lineno} {node.value!r}")
    return named, spelled


def readme_codes() -> set[str]:
    """The codes of the README's "Problem codes" table: one row per code, the code first, in backticks."""
    section = (REPO / "README.md").read_text().split("### Problem codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))


def test_every_code_is_named_from_the_one_list_and_the_readme_table_lists_exactly_those() -> None:
    named, spelled = codes_in_app()
    assert spelled == []  # a code is always `ProblemCode.x`: a typo cannot become a code no client knows
    assert named == set(ProblemCode)  # nothing listed that is never raised
    assert readme_codes() == set(ProblemCode)


def test_operations_are_named_keyed_and_tagged(document: dict[str, Any]) -> None:
    named = operations(document)
    assert {operation_id: path for operation_id, (path, _) in named.items()} == OPERATIONS
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    for operation_id, (path, operation) in named.items():
        keyed = path.startswith("/v1/")
        assert operation.get("security") == ([{"bearer": []}, {"apiKey": []}] if keyed else None), operation_id
        assert ("401" in operation["responses"]) is keyed, operation_id
    declared = {tag["name"] for tag in document["tags"]}
    assert declared == {"verification", "operations"}
    assert all(set(operation["tags"]) <= declared for _, operation in named.values())
    assert document["servers"][0]["url"] == "/" and "INTEGRATION.md" in document["info"]["description"]
    bodies = [media["schema"] for _, operation in named.values()
              for part in (operation.get("requestBody", {}), *operation["responses"].values())
              for media in part.get("content", {}).values()]
    assert all(set(schema) == {"$ref"} for schema in bodies)  # named: no generator has to make up a name


def test_bodies_are_named_with_the_counts_and_presets_the_server_enforces(app: FastAPI,
                                                                          document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for operation_id in ("verify", "liveness", "compare"):
        content = operations(document)[operation_id][1]["requestBody"]["content"]
        name = operation_id.capitalize()
        assert content["multipart/form-data"]["schema"] == {"$ref": f"#/components/schemas/{name}Form"}
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{name}Json"}
    selfie = schemas["VerifyForm"]["properties"]["selfie"]
    assert (selfie["items"]["format"], selfie["minItems"], selfie["maxItems"]) == ("binary", 1, MAX_FRAMES)
    assert schemas["VerifyJson"]["properties"]["selfie"]["oneOf"][1]["maxItems"] == MAX_FRAMES
    assert schemas["VerifyForm"]["required"] == ["selfie", "reference"] and "preset" not in schemas["LivenessJson"]
    assert schemas["CompareJson"]["properties"]["preset"] == {"$ref": "#/components/schemas/Preset"}
    assert schemas["Preset"]["enum"] == sorted(app.state.service.pipeline.policy.match.presets)
    too_many = call(app, "POST", "/v1/liveness", json={"selfie": [EXAMPLE_IMAGE] * (MAX_FRAMES + 1)})
    assert (too_many.status_code, too_many.json()["code"]) == (400, "too_many_images")


def test_fields_always_sent_are_required_and_nullable(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for schema, fields in {"DecisionResponse": ["match", "liveness", "details"], "FacesOut": ["reference"],
                           "CompareResponse": ["match", "details"], "Problem": ["request_id"]}.items():
        for field in fields:
            assert field in schemas[schema]["required"], (schema, field)
            assert {"type": "null"} in schemas[schema]["properties"][field]["anyOf"], (schema, field)
    assert "liveness_checked" in schemas["CompareResponse"]["required"]


def test_the_documented_examples_are_real_images_answered_with_a_decision(app: FastAPI,
                                                                         document: dict[str, Any]) -> None:
    """"Try it out" and mock servers send the examples: a valid PNG without a face is a retake, not a 415."""
    for operation_id in ("verify", "liveness", "compare"):
        path, operation = operations(document)[operation_id]
        example = operation["requestBody"]["content"]["application/json"]["example"]
        response = call(app, "POST", path, json=example)
        assert response.status_code == 200, response.text
        assert (response.json()["decision"], response.json()["reasons"]) == ("retake", ["no_face"])
