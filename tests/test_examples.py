"""Every example runs to the end with a tiny time budget."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = Path(sys.executable).parent
# Seconds per fit: small, but enough for the worker start and a few trials on a busy machine.
BUDGETS = {"quickstart.py": "12", "regression.py": "12", "in_a_pipeline.py": "15",
           "command_line.sh": "15"}

pytestmark = pytest.mark.slow


def run_example(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("name, expected", [
    ("quickstart.py", "report: quickstart_report/report.json, "),
    ("regression.py", "test RMSE:"),
    ("in_a_pipeline.py", "mean ROC AUC:"),
])
def test_python_example(tmp_path, name, expected):
    result = run_example([sys.executable, str(EXAMPLES / name), BUDGETS[name]], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout


@pytest.mark.skipif(shutil.which("bash") is None or not (BIN / "autometa").exists(),
                    reason="needs bash and the installed autometa command")
def test_command_line_example(tmp_path):
    work = tmp_path / "work"
    result = run_example(["bash", str(EXAMPLES / "command_line.sh"), BUDGETS["command_line.sh"],
                          str(work)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "task: classification" in result.stdout
    for expected in ("rank", "ensemble:", "versions:"):  # leaderboard and info ran
        assert expected in result.stdout
    assert (work / "wine.joblib").exists() and (work / "wine_report" / "report.json").exists()
    assert len((work / "predictions.csv").read_text().splitlines()) == 1 + 38
    assert len((work / "probabilities.csv").read_text().splitlines()) == 1 + 38  # from Parquet
    assert "simple.n_rows" in json.loads((work / "wine_metafeatures.json").read_text())
    assert {"score_over_time.png", "ensemble_weights.png"} <= {
        p.name for p in (work / "wine_report").iterdir()}
