"""The installed ``autometa`` command, run in subprocesses on CSV and Parquet files.

Fits are tiny (a few trials of fast families) and commands that do not depend on each
other run a few at a time; each start of the command costs ~2 s of imports, so cases
beyond the essential ones call :func:`autometa.cli.main` in-process instead.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import autometa
from autometa.cli import main
from autometa.io import load_model

AUTOMETA = Path(sys.executable).parent / "autometa"
TINY_FIT = ["--time-budget", "8", "--max-evals", "2", "--include", "linear,knn", "--seed", "0"]

pytestmark = pytest.mark.skipif(not AUTOMETA.exists(),
                                reason="the autometa command is not installed (pip install -e .)")


def start(args: list, cwd: Path) -> subprocess.Popen:
    """Start ``autometa ARGS`` (with Ctrl-C deliverable even under a shell that ignores it)."""
    return subprocess.Popen([str(AUTOMETA), *map(str, args)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def finish(process: subprocess.Popen, timeout: float = 120) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    return finish(start(args, cwd))


def run_all(commands: dict[str, list], cwd: Path) -> dict[str, subprocess.CompletedProcess]:
    """Run independent commands, three at a time."""
    with ThreadPoolExecutor(3) as pool:
        results = pool.map(lambda args: run(args, cwd), commands.values())
        return dict(zip(commands, results, strict=True))


def table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Numbers with missing values, a category, strings with missing values, booleans,
    dates, a string class label and a numeric target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    color = rng.choice(["red", "green", "blue"], n)
    frame = pd.DataFrame({
        "x1": x[:, 0], "x2": x[:, 1],
        "color": pd.Categorical(color),
        "city": rng.choice(["oslo", "lima", "pune", None], n),
        "member": rng.random(n) > 0.5,
        "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
    })
    frame.loc[rng.random(n) < 0.1, "x1"] = np.nan
    signal_ = 2 * x[:, 0] - x[:, 1] + (color == "red")
    frame["label"] = np.where(np.nan_to_num(signal_) + rng.normal(0, 0.4, n) > 0, "good", "bad")
    frame["price"] = 3 * x[:, 0] + x[:, 1] ** 2 + rng.normal(0, 0.1, n) + 0.5
    return frame


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    frame = table()
    frame.drop(columns="price").to_csv(folder / "train.csv", index=False)
    frame.drop(columns=["price", "label"]).to_csv(folder / "new.csv", index=False)
    frame.drop(columns=["price", "color"]).to_csv(folder / "no_color.csv", index=False)
    frame.drop(columns="price").head(5).to_csv(folder / "five_rows.csv", index=False)
    weights = np.where(frame["label"] == "good", 5.0, 1.0) * (1 + np.arange(len(frame)) % 2)
    frame.drop(columns="price").assign(weight=weights).to_csv(folder / "weighted.csv",
                                                              index=False)
    frame.drop(columns="label").to_parquet(folder / "houses.parquet", index=False)
    frame.drop(columns=["label", "price"]).to_parquet(folder / "houses_new.parquet", index=False)
    (folder / "header_only.csv").write_text("x1,x2,label\n")
    (folder / "empty.tsv").write_text("")
    (folder / "notes.xlsx").write_text("not a spreadsheet")
    (folder / "broken.parquet").write_text("x1,label\n1,a\n")
    frame.assign(label="same").to_csv(folder / "one_class.csv", index=False)
    (folder / "a_folder").mkdir()
    (folder / "a_folder.csv").mkdir()
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (folder / "latin1.csv").write_bytes("nom,ville\nRené,Montréal\nAnaïs,Orléans\n"
                                        .encode("latin-1"))
    return folder


@pytest.fixture(scope="module")
def fits(work) -> dict[str, subprocess.CompletedProcess]:
    """The two fits every later test uses (run one after the other: they are timed)."""
    return {
        "csv": run(["fit", "train.csv", "--target", "label", *TINY_FIT, "-o", "clf.joblib",
                    "--report", "report"], work),
        "parquet": run(["fit", "houses.parquet", "--target", "price", *TINY_FIT, "--quiet",
                        "-o", "reg.joblib"], work),
    }


@pytest.mark.slow
def test_fit_on_csv_infers_classification_and_shows_progress(fits, work):
    result = fits["csv"]
    assert result.returncode == 0, result.stderr
    assert "task: classification (the target is non-numeric" in result.stdout
    assert "best validation roc_auc" in result.stdout
    assert "saved the model to clf.joblib" in result.stdout
    # stderr is a pipe, not a terminal: one plain line per trial instead of a live bar
    trial_lines = [line for line in result.stderr.splitlines() if "[autometa] trial" in line]
    assert 1 <= len(trial_lines) <= 2 and "best" in trial_lines[0]  # --max-evals 2
    data = json.loads((work / "report" / "report.json").read_text())
    assert data["n_trials"] == len(trial_lines) and data["task"] == "classification"
    assert (work / "report" / "score_over_time.png").stat().st_size > 0


@pytest.mark.slow
def test_fit_on_parquet_infers_regression_quietly(fits):
    result = fits["parquet"]
    assert result.returncode == 0, result.stderr
    assert "task: regression (the target is numeric with non-integer values)" in result.stdout
    assert "[autometa]" not in result.stderr  # --quiet: no progress


@pytest.fixture(scope="module")
def model_commands(fits, work) -> dict[str, subprocess.CompletedProcess]:
    assert all(r.returncode == 0 for r in fits.values())
    return run_all({
        "predict": ["predict", "clf.joblib", "new.csv", "-o", "predictions.csv"],
        "predict_with_target": ["predict", "clf.joblib", "train.csv", "--proba"],
        "predict_parquet": ["predict", "reg.joblib", "houses_new.parquet"],
        "leaderboard": ["leaderboard", "clf.joblib"],
        "info": ["info", "clf.joblib"],
        "version": ["--version"],
        "importance": ["importance", "clf.joblib", "train.csv", "--repeats", "2", "--seed", "0",
                       "-o", "importance.parquet", "--plot", "importance.png"],
    }, work)


@pytest.mark.slow
def test_predict_writes_one_label_per_row_in_order(model_commands, work):
    assert model_commands["predict"].returncode == 0, model_commands["predict"].stderr
    predictions = pd.read_csv(work / "predictions.csv")
    truth = pd.read_csv(work / "train.csv")["label"]
    assert list(predictions.columns) == ["label"] and len(predictions) == len(truth)
    assert (predictions["label"] == truth).mean() > 0.75  # same rows, same order


@pytest.mark.slow
def test_predict_drops_the_target_column_and_gives_probabilities(model_commands):
    result = model_commands["predict_with_target"]
    assert result.returncode == 0, result.stderr
    proba = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(proba.columns) == ["proba_bad", "proba_good"] and len(proba) == 160
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.slow
def test_predict_regression_from_parquet_to_stdout(model_commands, work):
    result = model_commands["predict_parquet"]
    assert result.returncode == 0, result.stderr
    predicted = pd.read_csv(pd.io.common.StringIO(result.stdout))["price"]
    truth = pd.read_parquet(work / "houses.parquet")["price"]
    assert len(predicted) == len(truth) and np.corrcoef(predicted, truth)[0, 1] > 0.8


@pytest.mark.slow
def test_leaderboard_and_info(model_commands):
    board = model_commands["leaderboard"].stdout
    assert board.split()[:3] == ["rank", "trial", "family"] and "linear" in board
    info = model_commands["info"].stdout
    for expected in ("task:      classification (2 classes: bad, good)",
                     "the target is non-numeric", "target:    label (fitted on train.csv)",
                     "portfolio: ", "from the portfolio)", "metafeatures:\n  ",
                     "metric:    roc_auc", "budget:    8 s", "failed", "ensemble:",
                     "versions:  autometa", "scikit-learn", "lightgbm", "smac"):
        assert expected in info
    assert re.search(r"^trials: +[12] \(\d failed", info, flags=re.MULTILINE)


@pytest.mark.slow
def test_info_json_in_process(fits, work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    assert main(["info", "reg.joblib", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["task"] == "regression" and data["target"] == "price"
    assert data["metric"] == "neg_root_mean_squared_error" and data["n_trials"] in (1, 2)
    assert abs(sum(m["weight"] for m in data["ensemble"]) - 1) < 1e-9
    assert "xgboost" in data["versions"] and "smac" in data["versions"]


@pytest.mark.slow
def test_importance_prints_writes_and_plots(model_commands, work):
    result = model_commands["importance"]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["feature", "importance_mean", "importance_std"]
    printed = [line.split()[0] for line in lines[1:]]
    assert sorted(printed) == ["city", "color", "joined", "member", "x1", "x2"]
    assert printed.index("x1") < printed.index("member")  # x1 carries the label, member not
    written = pd.read_parquet(work / "importance.parquet")
    assert list(written.columns) == ["feature", "importance_mean", "importance_std",
                                     "repeat_1", "repeat_2"]
    assert list(written["feature"]) == printed
    assert (work / "importance.png").read_bytes().startswith(b"\x89PNG")
    assert "shuffling each of 6 features 2 times on 160 rows (metric: roc_auc)" in result.stderr


@pytest.mark.slow
def test_version(model_commands):
    assert model_commands["version"].stdout.strip() == f"autometa {autometa.__version__}"


@pytest.mark.parametrize("args, message", [
    (["predict", "reg.joblib", "houses_new.parquet", "--proba"],
     "--proba needs a classification model"),
    (["predict", "clf.joblib", "no_color.csv"],
     "lacks 1 column(s) the model was fitted on: 'color'"),
    (["predict", "clf.joblib", "new.csv", "-o", "out.xlsx"], "unsupported file type (.xlsx)"),
    (["fit", "empty.tsv", "--target", "label"], "empty.tsv: the file is empty"),
    (["fit", "broken.parquet", "--target", "label"],
     "broken.parquet: could not be read as PARQUET"),
    (["fit", "header_only.csv", "--target", "label"], "has a header but no data rows"),
    (["metafeatures", "one_class.csv", "--target", "label"],
     "the target column 'label' has one value ('same')"),
    (["fit", "train.csv", "--target", "label", "-o", "no/such/dir/m.joblib"],
     "folder no/such/dir does not exist"),
    (["fit", "train.csv", "--target", "label", "-o", "a_folder"],
     "cannot save to a_folder: it is a folder"),
    (["fit", "train.csv", "--target", "label", "--report", "train.csv"],
     "cannot write the report into train.csv: it is a file, not a folder"),
    (["fit", "a_folder.csv", "--target", "label"], "a_folder.csv: is a directory"),
    (["fit", "binary.csv", "--target", "label"],
     "binary.csv: not a CSV file (it holds binary data, not text)"),
    (["fit", "latin1.csv", "--target", "ville"],
     "latin1.csv: not UTF-8 text (it has the byte 0xe9); save it as UTF-8"),
    (["info", "notes.xlsx"], "notes.xlsx: not an autometa model file (not a joblib file at all)"),
    (["importance", "clf.joblib", "no_color.csv"],
     "lacks 1 column(s) the model was fitted on: 'color'"),
    (["importance", "clf.joblib", "new.csv"], "unknown target column 'label'"),
    (["importance", "clf.joblib", "train.csv", "-o", "out.xlsx"], "unsupported file type"),
])
@pytest.mark.slow
def test_more_errors_in_process(fits, work, capsys, monkeypatch, args, message):
    """The same handlers as the subprocess cases, without paying for a start each."""
    monkeypatch.chdir(work)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("autometa: error: ") and len(err.splitlines()) == 1
    assert message in err


ERRORS = {
    "missing file": (["fit", "nothing.csv", "--target", "label"], "nothing.csv: no such file"),
    "unsupported extension": (["fit", "notes.xlsx", "--target", "label"],
                              "unsupported file type (.xlsx)"),
    "unknown target": (["fit", "train.csv", "--target", "lable"],
                       "unknown target column 'lable' (did you mean 'label'?)"),
    "not a model": (["predict", "train.csv", "new.csv"],
                    "train.csv: not an autometa model file (not a joblib file at all); it looks "
                    "like a data file (for `autometa predict`, MODEL comes before DATA)"),
    "library ValueError": (["fit", "five_rows.csv", "--target", "label"],
                           "autometa needs at least 10 rows"),
    "unknown weight column": (["fit", "weighted.csv", "--target", "label", "--weight-column",
                               "wieght"], "unknown weight column 'wieght' (did you mean "
                              "'weight'?)"),
}


@pytest.fixture(scope="module")
def error_runs(work) -> dict[str, subprocess.CompletedProcess]:
    commands = {name: args for name, (args, _) in ERRORS.items()}
    commands["debug"] = ["fit", "nothing.csv", "--target", "label", "--debug"]
    return run_all(commands, work)


def check_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autometa: error: "), result.stderr
    assert message in lines[0]


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_are_one_line_with_exit_code_2(error_runs, name):
    check_error(error_runs[name], ERRORS[name][1])


def test_debug_shows_the_traceback(error_runs):
    result = error_runs["debug"]
    assert result.returncode != 0 and "Traceback (most recent call last)" in result.stderr
    assert "DataFileError: nothing.csv: no such file" in result.stderr


@pytest.mark.slow
def test_ctrl_c_during_fit_saves_the_best_model_so_far(work):
    process = start(["fit", "train.csv", "--target", "label", "--time-budget", "60", "--seed", "0",
                     "--include", "linear,knn", "-o", "interrupted.joblib"], work)
    for line in process.stderr:  # wait until a trial has succeeded
        if line.startswith("[autometa] trial ") and "): ok, " in line:
            break
    process.send_signal(signal.SIGINT)
    result = finish(process, timeout=60)
    assert result.returncode == 130, result.stderr
    assert "fit interrupted after" in result.stderr
    assert "best model found so far: saved it to interrupted.joblib" in result.stderr
    assert "saved the model to interrupted.joblib" in result.stdout
    predicted = run(["predict", "interrupted.joblib", "new.csv"], work)
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == 1 + 160


def test_ctrl_c_before_any_trial_saves_nothing(work, monkeypatch, capsys):
    from autometa import AutoMetaClassifier

    def interrupted(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(AutoMetaClassifier, "fit", interrupted)
    monkeypatch.chdir(work)
    assert main(["fit", "train.csv", "--target", "label", "-o", "never.joblib"]) == 130
    assert "nothing was saved" in capsys.readouterr().err
    assert not (work / "never.joblib").exists()


def test_a_search_without_success_is_one_line_in_the_options_terms(work, monkeypatch, capsys):
    from autometa import AutoMetaClassifier
    from autometa.errors import NoSuccessfulTrial

    def no_success(self, X, y):
        raise NoSuccessfulTrial([], 2.0)

    monkeypatch.setattr(AutoMetaClassifier, "fit", no_success)
    monkeypatch.chdir(work)
    assert main(["fit", "train.csv", "--target", "label", "--time-budget", "2"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("autometa: error: No pipeline could be evaluated within --time-budget 2 s; "
                   "increase --time-budget.")


def test_the_command_starts_without_importing_scikit_learn():
    """`autometa --help`, `--version` and file errors come without the estimators' imports."""
    code = "import sys, autometa.cli; print('sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_metafeatures_in_process(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    assert main(["metafeatures", "train.csv", "--target", "label"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert values and all(isinstance(v, float) or v is None for v in values.values())


@pytest.mark.slow
def test_report_and_csv_leaderboard_in_process(fits, work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    assert main(["report", "reg.joblib", "reg_report"]) == 0
    assert "wrote reg_report/report.json" in capsys.readouterr().out
    assert json.loads((work / "reg_report" / "report.json").read_text())["task"] == "regression"
    assert main(["leaderboard", "clf.joblib", "--format", "csv", "--top", "1"]) == 0
    board = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert len(board) == 1 and board.loc[0, "rank"] == 1
    assert json.loads(board.loc[0, "config"])["model"] == board.loc[0, "family"]


@pytest.mark.slow
def test_fit_with_a_weight_column(work, capsys, monkeypatch):
    result = run(["fit", "weighted.csv", "--target", "label", "--weight-column", "weight",
                  *TINY_FIT, "--quiet", "-o", "weighted.joblib"], work)
    assert result.returncode == 0, result.stderr
    bundle = load_model(work / "weighted.joblib")
    estimator = bundle["estimator"]
    assert bundle["weight_column"] == "weight"
    assert "weight" not in list(estimator.feature_names_in_)
    assert set(estimator.leaderboard()["family"]) == {"linear"}  # knn takes no weights
    monkeypatch.chdir(work)
    assert main(["predict", "weighted.joblib", "weighted.csv", "-o", "weighted_out.csv"]) == 0
    assert "ignoring" not in capsys.readouterr().err  # the weight column is known
    assert len(pd.read_csv(work / "weighted_out.csv")) == 160


@pytest.mark.parametrize("args, message", [
    (["--weight-column", "label"], "--weight-column 'label' is the target column"),
    (["--weight-column", "city"], "weight column 'city' must hold numbers"),
    (["--weight-column", "x1"], "weight column 'x1' has 13 missing value(s)"),
    (["--weight-column", "weight", "--include", "knn"], "(knn) cannot take sample_weight"),
])
def test_bad_weight_columns_in_process(work, capsys, monkeypatch, args, message):
    monkeypatch.chdir(work)
    assert main(["fit", "weighted.csv", "--target", "label", "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("autometa: error: ") and len(err.splitlines()) == 1
    assert message in err


def test_fit_options_reach_the_estimators_search_parameters():
    from autometa.cli import build_parser
    from autometa.cli_fit import _estimator

    args = build_parser().parse_args(["fit", "t.csv", "--target", "y", "--fidelity",
                                      "hyperband", "--proxy-subsets", "boundary",
                                      "--surrogate", "rgpe", "--target-transform", "auto"])
    estimator = _estimator("classification", args)
    assert (estimator.fidelity, estimator.proxy_subsets) == ("hyperband", "boundary")
    assert estimator.surrogate == "rgpe" and "target_transform" not in estimator.get_params()
    assert _estimator("regression", args).target_transform == "auto"
    defaults = _estimator("regression", build_parser().parse_args(["fit", "t.csv",
                                                                    "--target", "y"]))
    assert (defaults.fidelity, defaults.proxy_subsets) == ("auto", "random")
    assert (defaults.surrogate, defaults.target_transform) == ("auto", "none")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "t.csv", "--target", "y", "--fidelity", "bohb"])
