"""The heap as `faceseal serve` sets it up (app/api/memory.py): back-to-back verifies do not fault their buffers
in again."""

from pathlib import Path

import httpx

from devkit.load import pairs, verify_body
from devkit.proc import minor_faults
from devkit.server import running


def test_back_to_back_verifies_of_a_served_process_reuse_its_heap(tmp_path: Path) -> None:
    """Measured on the 12 full-size load pairs, one after another: 0.2-158 page faults per verify over five runs;
    3,575 when `serve` left glibc's defaults (its lanes' arenas are unmapped whenever they empty)."""
    images = pairs()
    with running(tmp_path) as server, httpx.Client(base_url=server.url, timeout=60) as client:

        def verify_all() -> None:
            for pair in images:
                body, content_type = verify_body(*pair)
                answer = client.post("/v1/verify", content=body, headers={"Content-Type": content_type})
                assert answer.status_code == 200

        verify_all()  # the first pass maps what the next ones reuse
        before = minor_faults(server.process.pid)
        verify_all()
        per_verify = (minor_faults(server.process.pid) - before) / len(images)
    assert per_verify < 1000
