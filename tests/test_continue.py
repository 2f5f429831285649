"""Continuing a fit (warm_start) and Ctrl-C during a fit."""

import joblib
import numpy as np
import pytest

from autometa import AutoMetaClassifier
from autometa.callbacks import Callback
from tests.conftest import mixed_frame

FAST = {"include": ["linear", "knn"], "meta_learning": "off", "time_budget": 60}


def test_warm_start_continues_the_search_and_rebuilds_the_ensemble(mixed):
    X, y = mixed
    clf = AutoMetaClassifier(max_evals=4, random_state=0, **FAST).fit(X, y)
    first = [t.config for t in clf.trials_]
    clf.set_params(warm_start=True, max_evals=3)
    clf.fit(X, y)
    assert len(clf.trials_) == 7 and [t.config for t in clf.trials_[:4]] == first
    assert [t.id for t in clf.trials_] == list(range(7))
    assert len(clf.leaderboard()) == 7
    assert clf.leaderboard()["ensemble_weight"].sum() == pytest.approx(1.0)
    cold = AutoMetaClassifier(max_evals=3, random_state=0, **FAST).fit(X, y)
    assert len(cold.trials_) == 3  # without warm_start, a fit starts anew


def test_warm_start_on_other_data_is_a_clear_error(mixed):
    X, y = mixed
    clf = AutoMetaClassifier(max_evals=2, random_state=0, warm_start=True, **FAST).fit(X, y)
    X2, y2 = mixed_frame(200, seed=5)
    X2 = X2.drop(columns=["flag"]).rename(columns={"a": "z"})
    before = {k: v for k, v in vars(clf).items() if k.endswith("_")}
    with pytest.raises(ValueError, match="other data"):
        clf.fit(X2, y2)
    after = {k: v for k, v in vars(clf).items() if k.endswith("_")}
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)
    assert clf.n_features_in_ == 6  # the failed fit changed nothing
    assert clf.predict(X).shape == (len(X),)


def test_warm_start_with_another_search_space_is_a_clear_error(mixed):
    X, y = mixed
    clf = AutoMetaClassifier(max_evals=2, random_state=0, warm_start=True, **FAST).fit(X, y)
    clf.set_params(include=["linear"], metric="accuracy", max_evals=1)
    with pytest.raises(ValueError, match=r"metric=None \(now 'accuracy'\), "
                       r"include=\('linear', 'knn'\) \(now \('linear',\)\)"):
        clf.fit(X, y)
    clf.set_params(include=["linear", "knn"], metric=None).fit(X, y)  # as before: continues
    assert len(clf.trials_) == 3


def test_a_pickled_model_forgets_the_live_search_but_predicts(mixed, tmp_path):
    X, y = mixed
    clf = AutoMetaClassifier(max_evals=2, random_state=0, warm_start=True, **FAST).fit(X, y)
    joblib.dump(clf, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    clf.set_params(max_evals=1).fit(X, y)  # saving did not drop the live search
    assert len(clf.trials_) == 3
    loaded.fit(X, y)  # nothing to continue: starts anew
    assert len(loaded.trials_) == 2


def test_ctrl_c_during_fit_leaves_a_usable_model_with_a_warning(mixed):
    X, y = mixed

    class InterruptAfterThree(Callback):
        seen = 0

        def on_trial(self, trial):
            self.seen += 1
            if self.seen == 3:
                raise KeyboardInterrupt

    clf = AutoMetaClassifier(random_state=0, callbacks=[InterruptAfterThree()], **FAST)
    with pytest.warns(UserWarning, match="interrupted after 3 trials"):
        clf.fit(X, y)
    assert clf.interrupted_ and len(clf.trials_) == 3
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert clf.fit_time_ < 30
