"""The container's healthcheck probes where `serve` listens, read from the serving process's argv."""

import pytest

from app.healthcheck import listen_address


@pytest.mark.parametrize(("command", "address"), [
    (["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "9000"], ("127.0.0.1", 9000)),
    (["python", "-m", "app", "serve", "--port=9001", "--host=::"], ("::1", 9001)),
    (["/opt/venv/bin/faceseal", "serve", "--host", "10.1.2.3"], ("10.1.2.3", 8000)),
    (["faceseal", "serve", "--host", "localhost", "--port", "8080"], ("localhost", 8080)),
    (["/sbin/docker-init", "--", "python", "-m", "app", "serve", "--po", "9002", ""], ("127.0.0.1", 9002)),
    (["something", "else"], ("127.0.0.1", 8000)),
])
def test_the_healthcheck_probes_where_serve_listens(command: list[str], address: tuple[str, int]) -> None:
    assert listen_address(command) == address
