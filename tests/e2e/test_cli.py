"""The evaluation commands as a user runs them on their own labelled folder: table, JSON and plot."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from PIL import Image

from devkit.paths import DATA, REPO


def faceseal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_eval_liveness_on_a_labelled_folder_writes_json_and_plot(tmp_path: Path) -> None:
    result = faceseal("eval", "liveness", "--data", str(DATA / "liveness-dev" / "silentface-samples"),
                      "--json", str(tmp_path / "report.json"), "--plot", str(tmp_path / "plot.png"))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    own = report["sources"]["silentface-samples"]["in_sample"]
    assert (own["bona_fide"], own["attacks"], own["apcer_max"], own["bpcer"]) == (1, 2, 0.0, 0.0)
    # One source alone: nothing is left to fit on without it, so no held-out verdict is claimed.
    assert report["sources"]["silentface-samples"]["held_out_fusion"] is None
    assert "silentface-samples" in result.stdout.splitlines()[1]  # the per-source table
    assert cv2.imread(str(tmp_path / "plot.png")).shape[:2] == (420, 840)


def test_eval_liveness_reports_each_source_in_sample_and_held_out(tmp_path: Path) -> None:
    result = faceseal("eval", "liveness", "--data", str(DATA / "liveness-dev"), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr[-2000:]
    sources = json.loads((tmp_path / "r.json").read_text())["sources"]
    assert set(sources) == {"benchmark-298", "print-screen-6", "silentface-samples"}
    benchmark = sources["benchmark-298"]
    assert benchmark["held_out_fusion"] in ("equal", "logistic")
    for column in ("in_sample", "leave_one_source_out"):
        assert benchmark[column]["bona_fide"] == 279 and benchmark[column]["roc_auc"] > 0.95
    # Forehead-to-chin crops leave no context for the liveness crops: every one is sent back for a retake.
    assert sources["print-screen-6"]["in_sample"]["retake_bona_fide"] == 1.0
    assert sources["print-screen-6"]["in_sample"]["apcer_max"] == 0.0


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
    def refuse(token: str) -> None:  # json.loads accepts NaN
        pytest.fail(f"invalid JSON token {token}")
    report = json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    pairs = report["sets"]["pairs"]
    assert (pairs["pairs"], pairs["genuine"], pairs["impostor"], pairs["pairs_with_detection_failure"]) == (2, 0, 0, 2)
    assert [pairs[metric] for metric in ("roc_auc", "eer", "tar_at_fmr_1e-2", "tar_at_fmr_1e-3")] == [None] * 4
    assert all(preset[rate] is None for preset in pairs["presets"].values() for rate in ("fmr", "fnmr", "accuracy"))
    assert "set 'pairs' has no scorable genuine or impostor pair: 2 pairs listed, 2 with an image" in result.stderr
