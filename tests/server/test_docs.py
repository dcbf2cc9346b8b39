"""/docs in a real browser with no network: headless Chromium (Debian's package) renders Swagger UI from
the files the service serves, under a CSP it does not violate; operators can turn /docs off (issue 13 row 11);
it offers Authorize and locks each keyed operation."""

import shutil
import subprocess  # nosec B404
from pathlib import Path

import httpx
import pytest

from devkit.server import running

GLOBAL_CSP = "default-src 'none'; frame-ancestors 'none'"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # any other host, a CDN included, is unreachable
    "--enable-logging=stderr", "--v=0",  # console messages (CSP violations, script errors) go to stderr
    "--virtual-time-budget=15000",  # let Swagger UI fetch /openapi.json and render before the DOM is dumped
]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is missing (devkit/prerequisites.sh installs it: apt-get install chromium)")
    return path


def test_docs_render_offline_in_headless_chromium_without_a_csp_violation(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        page = httpx.get(server.url + "/docs", timeout=10)
        policy = page.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "http" not in policy and "script-src 'self' 'sha256-" in policy
        assert "https://" not in page.text and "/docs/static/swagger-ui-bundle.js" in page.text
        assert "/v1/verify" not in page.text  # so finding it below means the browser ran Swagger UI
        for path in ("/healthz", "/openapi.json", "/docs/static/swagger-ui-bundle.js"):
            assert httpx.get(server.url + path, timeout=10).headers["content-security-policy"] == GLOBAL_CSP
        browser = subprocess.run(  # nosec B603: fixed argv, our own server
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
             server.url + "/docs"],
            capture_output=True, text=True, timeout=120,
        )
    for operation in ("/v1/verify", "/v1/liveness", "/v1/compare", "/v1/models", "/healthz"):
        assert f'class="opblock-summary-path" data-path="{operation}"' in browser.stdout, operation
    console = [line for line in browser.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console


def test_operators_can_turn_docs_off(tmp_path: Path) -> None:
    with running(tmp_path, {"FACESEAL_DOCS": "false"}) as server:
        for path in ("/docs", "/docs/static/swagger-ui-bundle.js"):
            response = httpx.get(server.url + path, timeout=10)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert httpx.get(server.url + "/openapi.json", timeout=10).status_code == 200


def test_docs_offer_authorize_and_lock_each_keyed_operation(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        browser = subprocess.run(  # nosec B603: fixed argv, our own server
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
             server.url + "/docs"],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert '<button class="btn authorize unlocked">' in browser.stdout
    assert browser.stdout.count('class="authorization__btn"') == 4  # verify, liveness, compare, models
