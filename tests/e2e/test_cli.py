"""The evaluation commands as a user runs them on their own labelled folder: table, JSON and plot."""

import json
import subprocess
import sys
from pathlib import Path

import cv2

from tests.conftest import DATA, REPO


def faceseal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_eval_liveness_on_a_labelled_folder_writes_json_and_plot(tmp_path: Path) -> None:
    result = faceseal("eval", "liveness", "--data", str(DATA / "liveness-dev" / "silentface-samples"),
                      "--json", str(tmp_path / "report.json"), "--plot", str(tmp_path / "plot.png"))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["real"], report["spoof"], report["apcer_max"], report["bpcer"]) == (1, 2, 0.0, 0.0)
    assert cv2.imread(str(tmp_path / "plot.png")).shape[:2] == (420, 840)


def test_eval_verify_on_an_identity_folder(tmp_path: Path) -> None:
    result = faceseal("eval", "verify", "--data", str(DATA / "verify-dev" / "bbt"), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    bbt = report["sets"]["bbt"]
    assert (bbt["genuine"], bbt["impostor"], bbt["pairs_with_detection_failure"]) == (80, 700, 0)
    assert bbt["roc_auc"] > 0.99
