"""Clients generated from a live server's /openapi.json and used against it, as docs/INTEGRATION.md does (issue 17):
openapi-python-client (pinned in requirements/dev.lock) and openapi-typescript + openapi-fetch (pinned in
clients/typescript/package-lock.json). Every request goes through generated code, and every error it provokes
parses into the typed `Problem`. The generated code lives in the test's temp dirs only."""

import importlib
import io
import json
import os
import shutil
import subprocess  # nosec B404
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from app.api.auth import create_key
from devkit.paths import REPO, VERIFY_IMAGES
from devkit.server import Server, running

CLIENTS = REPO / "clients"
SELFIE, REFERENCE, OTHER = VERIFY_IMAGES / "img1.jpg", VERIFY_IMAGES / "img2.jpg", VERIFY_IMAGES / "img17.jpg"
RATE_LIMIT = 20  # requests a minute per key: the `burst` key runs into it, the integrator's never does


@dataclass(frozen=True)
class Live:
    server: Server
    key: str
    burst_key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("clients")
    keys = folder / "keys.json"
    key, burst_key = create_key(keys, "integrator"), create_key(keys, "burst")
    env = {"FACESEAL_AUTH_DISABLED": "false", "FACESEAL_API_KEYS_FILE": str(keys),
           "FACESEAL_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT)}
    with running(folder, env) as server:
        yield Live(server, key, burst_key)


def run(command: list[str], cwd: Path, **kwargs: Any) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,  # nosec B603
                          check=False, **kwargs)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def generated(live: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """`faceseal_client`, generated as docs/INTEGRATION.md says: the served document without its JSON bodies
    (openapi-python-client #1451), then the generator, whose ruff post-hooks need the venv's bin on PATH."""
    folder = tmp_path_factory.mktemp("python-client")
    document = httpx.get(live.server.url + "/openapi.json", timeout=10).text
    multipart = run([sys.executable, str(CLIENTS / "python" / "multipart_only.py")], folder, input=document)
    (folder / "faceseal-multipart.json").write_text(multipart)
    tools = Path(sys.executable).parent
    run([str(tools / "openapi-python-client"), "generate", "--path", "faceseal-multipart.json",
         "--config", str(CLIENTS / "python" / "config.yaml"), "--meta", "none", "--output-path", "faceseal_client"],
        folder, env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"})
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("faceseal_client")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == "faceseal_client"]:
            del sys.modules[name]


def test_the_generated_python_client_approves_rejects_and_types_every_problem(live: Live,
                                                                               generated: ModuleType) -> None:
    # Generated at run time by the fixture: importable only now.
    from faceseal_client import AuthenticatedClient
    from faceseal_client.api.operations import models
    from faceseal_client.api.verification import compare, verify
    from faceseal_client.models import (
        CompareDecision,
        CompareForm,
        CompareResponse,
        Decision,
        DecisionResponse,
        ModelsResponse,
        Preset,
        Problem,
        ProblemCode,
        VerifyForm,
    )
    from faceseal_client.types import File

    def image(path: Path, data: bytes | None = None) -> File:
        return File(payload=io.BytesIO(data if data is not None else path.read_bytes()), file_name=path.name,
                    mime_type="image/jpeg")

    def form(selfie: list[File] | None = None, reference: Path = REFERENCE) -> VerifyForm:
        return VerifyForm(selfie=[image(SELFIE)] if selfie is None else selfie, reference=image(reference))

    url = live.server.url
    client = AuthenticatedClient(base_url=url, token=live.key, timeout=httpx.Timeout(60))
    approved = verify.sync(client=client, body=form())
    assert isinstance(approved, DecisionResponse) and approved.decision == Decision.APPROVE, approved
    assert approved.reasons == [] and approved.details is None and approved.match is not None
    rejected = verify.sync(client=client, body=form(reference=OTHER))
    assert isinstance(rejected, DecisionResponse)
    assert (rejected.decision, rejected.reasons) == (Decision.REJECT, ["face_mismatch"])
    matched = compare.sync(client=client, body=CompareForm(image1=image(SELFIE), image2=image(REFERENCE),
                                                           preset=Preset.FMR_1E_4))
    assert isinstance(matched, CompareResponse) and matched.decision == CompareDecision.MATCH
    assert matched.match is not None and matched.match.preset == "fmr_1e-4"
    by_header = models.sync(client=AuthenticatedClient(base_url=url, token=live.key, auth_header_name="X-API-Key",
                                                       prefix=""))
    assert isinstance(by_header, ModelsResponse) and by_header.sealed

    refusals = [
        (verify.sync_detailed(client=client, body=form(selfie=[])), 400, ProblemCode.MISSING_FIELD),
        (verify.sync_detailed(client=client, body=form(selfie=[image(SELFIE, b"GIF89a......")])),
         415, ProblemCode.UNSUPPORTED_FORMAT),
        (verify.sync_detailed(client=client, body=form(selfie=[image(SELFIE, b"\xff\xd8\xff\xe0garbage")])),
         422, ProblemCode.CORRUPT_IMAGE),
        (verify.sync_detailed(client=AuthenticatedClient(base_url=url, token=live.key, prefix="Basic"), body=form()),
         401, ProblemCode.UNAUTHENTICATED),
        (verify.sync_detailed(client=AuthenticatedClient(base_url=url, token="fs_not-a-key"), body=form()),
         403, ProblemCode.FORBIDDEN),
    ]
    burst = AuthenticatedClient(base_url=url, token=live.burst_key)
    limited = [models.sync_detailed(client=burst) for _ in range(RATE_LIMIT + 1)][-1]
    refusals.append((limited, 429, ProblemCode.RATE_LIMITED))
    for response, status, code in refusals:
        problem = response.parsed
        assert isinstance(problem, Problem), (status, response.content)
        assert (response.status_code, problem.status, problem.code) == (status, status, code)
        assert problem.type_ == f"urn:faceseal:problem:{code.value}" and problem.request_id
    assert refusals[3][0].headers["www-authenticate"] == "Bearer"
    assert int(limited.headers["retry-after"]) >= 1


def npm() -> str:
    path = shutil.which("npm")
    if path is None or shutil.which("node") is None:
        pytest.fail("node and npm are missing (devkit/prerequisites.sh installs Debian's nodejs and npm)")
    return path


@pytest.fixture(scope="module")
def typescript(live: Live, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clients/typescript copied to a temp dir, installed from its lock and its types generated from the served
    document, as docs/INTEGRATION.md does: nothing lands in the checkout."""
    folder = tmp_path_factory.mktemp("typescript-client")
    for name in ("package.json", "package-lock.json", "tsconfig.json", "generate.mjs", "verify.ts"):
        shutil.copy(CLIENTS / "typescript" / name, folder)
    run([npm(), "ci", "--no-audit", "--no-fund"], folder)
    run(["node", "generate.mjs", live.server.url + "/openapi.json", "faceseal.d.ts"], folder)
    return folder


def test_the_typescript_client_type_checks_and_verifies_under_node(live: Live, typescript: Path) -> None:
    types = (typescript / "faceseal.d.ts").read_text()
    assert "selfie: Blob[];" in types and "reference: Blob;" in types  # the binary -> Blob transform
    run(["npx", "tsc", "--noEmit"], typescript)
    run(["npx", "tsc"], typescript)
    env = {**os.environ, "FACESEAL_URL": live.server.url, "FACESEAL_KEY": live.key}
    answer = json.loads(run(["node", "build/verify.js", str(REFERENCE), str(SELFIE)], typescript, env=env))
    assert (answer["decision"], answer["reasons"]) == ("approve", [])
    refused = subprocess.run(["node", "build/verify.js", str(REFERENCE), str(SELFIE)], cwd=typescript,  # nosec B603
                             env={**env, "FACESEAL_KEY": "fs_not-a-key"}, capture_output=True, text=True, timeout=60,
                             check=False)
    assert refused.returncode == 1 and json.loads(refused.stdout)["code"] == "forbidden", refused.stderr


def test_a_typescript_problem_code_is_typed_not_unknown(typescript: Path) -> None:
    """The issue's `'v.error' is of type 'unknown'` the other way round: a misspelt code no longer compiles."""
    (typescript / "typo.ts").write_text('import type { components } from "./faceseal.js";\n'
                                        'export const code: components["schemas"]["Problem"]["code"] = "rate_limit";\n')
    command = ["npx", "tsc", "--noEmit", "--strict", "--module", "NodeNext", "--moduleResolution", "NodeNext",
               "typo.ts"]
    checked = subprocess.run(command, cwd=typescript, capture_output=True, text=True, timeout=120,  # nosec B603
                             check=False)
    refused = """typo.ts(2,14): error TS2820: Type '"rate_limit"' is not assignable"""
    assert checked.returncode != 0 and refused in checked.stdout, checked.stdout
