"""The evaluation commands as a user runs them on their own labelled folder: table, JSON and plot."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from PIL import Image

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


def test_eval_verify_without_a_scorable_pair_reports_null_and_says_why(tmp_path: Path) -> None:
    """Real photos saved as GIF and BMP, formats faceseal refuses: no pair can be scored, so no metric either."""
    lfw = DATA / "verify-dev" / "lfw10"
    (tmp_path / "images").mkdir()
    photos = {"a.gif": "Ariel_Sharon/Ariel_Sharon_0001.jpg", "b.bmp": "Ariel_Sharon/Ariel_Sharon_0002.jpg",
              "c.bmp": "Tony_Blair/Tony_Blair_0001.jpg"}
    for name, photo in photos.items():
        Image.open(lfw / photo).save(tmp_path / "images" / name)
    (tmp_path / "pairs.csv").write_text("file_x,file_y,Decision\na.gif,b.bmp,Yes\na.gif,c.bmp,No\n")
    result = faceseal("eval", "verify", "--data", str(tmp_path), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr[-2000:]
    strict = {"parse_constant": lambda token: pytest.fail(f"invalid JSON token {token}")}  # json.loads accepts NaN
    report = json.loads((tmp_path / "r.json").read_text(), **strict)
    pairs = report["sets"]["pairs"]
    assert (pairs["pairs"], pairs["genuine"], pairs["impostor"], pairs["pairs_with_detection_failure"]) == (2, 0, 0, 2)
    assert [pairs[metric] for metric in ("roc_auc", "eer", "tar_at_fmr_1e-2", "tar_at_fmr_1e-3")] == [None] * 4
    assert all(preset[rate] is None for preset in pairs["presets"].values() for rate in ("fmr", "fnmr", "accuracy"))
    assert "set 'pairs' has no scorable genuine or impostor pair: 2 pairs listed, 2 with an image" in result.stderr
