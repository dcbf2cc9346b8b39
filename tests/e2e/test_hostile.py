"""Every attack of bench/robustness.py against a real server: the precise 4xx, then a valid request works."""

from pathlib import Path

from bench.robustness import SERVER_ENV, attacks, run_attacks
from tests.e2e.server import running


def test_every_attack_gets_its_answer_and_the_service_keeps_serving(tmp_path: Path) -> None:
    with running(tmp_path, SERVER_ENV) as server:
        rows = run_attacks(server)
    failures = [(name, expected, got) for name, expected, got, ok, _, _ in rows if not ok]
    assert not failures, failures
    assert len(rows) == len(attacks())
    # A 50000x50000 bomb would need ~7 GB decoded; the worker's peak RSS stays far below that.
    assert max(rss for *_, rss in rows) < 1536
