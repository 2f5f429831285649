"""Export to plain scikit-learn (``to_sklearn``) and persistence of fitted estimators."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor

from autometa import AutoMetaClassifier, AutoMetaRegressor
from autometa.components import registry
from autometa.data import as_frame
from autometa.ensemble import Ensemble, Member
from autometa.evaluation import FoldAverage, evaluate_with_models, fit_pipeline
from autometa.export import TemperatureScaled
from autometa.space import family_default
from autometa.versions import library_versions
from tests.conftest import mixed_frame, task_data

SMALL = dict(time_budget=15, max_evals=8, include=["linear", "random_forest", "lightgbm"],
             random_state=0)
# what an exported model may need from autometa when it is loaded
ALLOWED = {"autometa.data", "autometa.components.preprocessing", "autometa.components.target",
           "autometa.export", "autometa.serving"}


@pytest.fixture(scope="module")
def binary():
    X, y = mixed_frame(240)
    return AutoMetaClassifier(**SMALL).fit(X, y), X


@pytest.fixture(scope="module")
def multiclass():
    """Fitted on a numpy object array (numbers, strings, pd.NA, bools) with integer labels."""
    X, _ = mixed_frame(240, seed=1)
    y = np.select([X["b"] < -0.4, X["color"] == "red"], [10, 20], default=30)
    X = X.to_numpy()
    return AutoMetaClassifier(**SMALL).fit(X, y), X


@pytest.fixture(scope="module")
def regression():
    X, _ = mixed_frame(240, seed=2)
    y = 2 * X["b"] - X["c"] ** 2 + (X["color"] == "red") * 1.5 + X["flag"]
    return AutoMetaRegressor(**SMALL).fit(X, y.to_numpy()), X


def voting(exported):
    """The voting estimator of an export (inside the wrapper of a temperature)."""
    return exported.estimator_ if isinstance(exported, TemperatureScaled) else exported


def assert_same_predictions(model, exported, X) -> None:
    if isinstance(model, AutoMetaClassifier):
        np.testing.assert_allclose(exported.predict_proba(X), model.predict_proba(X),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(exported.predict(X), model.predict(X))
    else:
        np.testing.assert_allclose(exported.predict(X), model.predict(X), rtol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["binary", "multiclass", "regression"])
def test_to_sklearn_predicts_as_the_estimator(name, request):
    model, X = request.getfixturevalue(name)
    exported = model.to_sklearn()
    kind = VotingRegressor if name == "regression" else VotingClassifier
    scaled = getattr(model, "temperature_", None) not in (None, 1.0)
    assert isinstance(exported, TemperatureScaled) == scaled
    if name == "regression":
        assert not hasattr(model, "temperature_")
    else:
        assert model.temperature_ > 0
    vote = voting(exported)
    assert type(vote) is kind
    members = model.ensemble_.members
    assert len(vote.estimators_) == len(members)
    assert vote.weights == pytest.approx([m.weight for m in members])
    if name != "regression":
        assert vote.voting == "soft"
        np.testing.assert_array_equal(vote.classes_, model.classes_)
        np.testing.assert_array_equal(exported.classes_, model.classes_)
    assert vote.n_features_in_ == model.n_features_in_
    assert_same_predictions(model, exported, X)
    new = X[:7] if isinstance(X, np.ndarray) else X.head(7).reset_index(drop=True)
    assert_same_predictions(model, exported, new)


def test_exported_members_type_raw_input_and_check_columns(binary):
    model, X = binary
    exported = model.to_sklearn()
    first = exported.estimators_[0]
    assert [name for name, _ in first.steps] == ["types", "model"]
    with pytest.raises(ValueError, match="missing"):
        exported.predict(X.drop(columns=["b"]))
    odd = X.head(5).copy()
    odd["color"] = pd.Categorical(["purple"] * 5)  # unseen: missing, as in the estimator
    assert_same_predictions(model, exported, odd)


def test_exported_model_can_be_refitted_as_plain_sklearn(binary):
    model, X = binary
    y = model.predict(X)
    refitted = clone(model.to_sklearn()).fit(X, y)
    assert (refitted.predict(X) == y).mean() > 0.9


LOAD_AND_PREDICT = """
import json, pickle, sys
import numpy as np

seen = set()

class Recorder(pickle.Unpickler):
    def find_class(self, module, name):
        seen.add(module)
        return super().find_class(module, name)

with open(sys.argv[1], "rb") as f:
    model = Recorder(f).load()
with open(sys.argv[2], "rb") as f:
    X = pickle.load(f)
out = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
np.save(sys.argv[3], out)
print(json.dumps({"type": type(model).__module__ + "." + type(model).__name__,
                  "modules": sorted(seen)}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["multiclass", "regression"])
def test_exported_model_loads_in_a_fresh_interpreter(name, request, tmp_path):
    model, X = request.getfixturevalue(name)
    exported = model.to_sklearn()
    paths = [tmp_path / "model.pkl", tmp_path / "X.pkl", tmp_path / "out.npy"]
    paths[0].write_bytes(pickle.dumps(exported))
    paths[1].write_bytes(pickle.dumps(X))
    done = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    scaled = getattr(model, "temperature_", None) not in (None, 1.0)
    if scaled:
        assert report["type"] == "autometa.export.TemperatureScaled"
    else:
        assert report["type"].startswith("sklearn.ensemble.")
    used = {m for m in report["modules"] if m.split(".")[0] == "autometa"}
    assert used <= ALLOWED
    expected = model.predict_proba(X) if name == "multiclass" else model.predict(X)
    np.testing.assert_allclose(np.load(paths[2]), expected, rtol=1e-9, atol=1e-12)


def fold_models(model, X, y) -> FoldAverage:
    """The fold models of a default linear pipeline, as kept by the fallback ensemble."""
    task = "classification" if hasattr(model, "classes_") else "regression"
    specs = registry()
    data = task_data(X, y, task)
    return evaluate_with_models(family_default(specs["linear"], task), data, seed=0)[1]


@pytest.mark.parametrize("name", ["multiclass", "regression"])
def test_fold_model_members_are_exported_as_a_vote_of_their_folds(name, request):
    model, X = request.getfixturevalue(name)
    fallback = copy.copy(model)
    folds = fold_models(model, X, model.predict(X))
    fallback.ensemble_ = Ensemble((Member(0, 1.0, folds),), folds.task,
                                  len(folds.autometa_classes_) or None)
    exported = fallback.to_sklearn()
    inner = voting(exported).estimators_[0].named_steps["model"]
    assert isinstance(inner, (VotingClassifier, VotingRegressor))
    assert len(inner.estimators_) == 3
    assert_same_predictions(fallback, exported, X)


def test_member_fitted_on_fewer_classes_is_refused(multiclass):
    model, X = multiclass
    y = np.searchsorted(model.classes_, model.predict(X))
    folds = fold_models(model, X, model.classes_[y])
    frame = model.schema_.transform(as_frame(X))
    keep = y < 2
    partial = fit_pipeline(clone(folds.pipelines[0]), frame[keep], y[keep], "classification")
    broken = copy.copy(model)
    odd = FoldAverage([*folds.pipelines, partial], "classification", 3)
    broken.ensemble_ = Ensemble((Member(0, 1.0, odd),), "classification", 3)
    with pytest.raises(ValueError, match="fitted on 2 of the 3 classes"):
        broken.to_sklearn()


# -- persistence -----------------------------------------------------------------------------


def version_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "library versions" in str(w.message)]


def test_joblib_round_trip_keeps_predictions(binary, tmp_path):
    model, X = binary
    assert model.versions_ == library_versions()  # as a model file records them
    joblib.dump(model, tmp_path / "model.joblib")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = joblib.load(tmp_path / "model.joblib")
    assert version_warnings(caught) == []
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    pd.testing.assert_frame_equal(loaded.leaderboard(), model.leaderboard())


def test_loading_under_other_library_versions_warns(regression, tmp_path):
    model, X = regression
    tampered = copy.copy(model)
    tampered.versions_ = {**model.versions_, "lightgbm": "0.0.1", "scikit-learn": "0.1"}
    joblib.dump(tampered, tmp_path / "model.joblib")
    with pytest.warns(UserWarning, match="library versions") as caught:
        loaded = joblib.load(tmp_path / "model.joblib")
    [message] = version_warnings(caught)
    assert "lightgbm 0.0.1 -> " in message and "scikit-learn 0.1 -> " in message
    assert "xgboost" not in message and "AutoMetaRegressor" in message
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
