from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import make_classification

from autometa import AutoMetaClassifier
from autometa.data import as_frame
from autometa.ensemble import ensemble_selection
from autometa.final import candidates, prior_prediction, select_weights
from autometa.metrics import resolve_metric
from autometa.records import Trial, config_key
from autometa.search import SearchState


def mse_loss(y):
    return lambda p: float(np.mean((y - p) ** 2))


def test_single_step_picks_the_best_candidate():
    y = np.zeros(10)
    preds = [np.full(10, 1.0), np.full(10, 0.1), np.full(10, 0.5)]
    weights = ensemble_selection(preds, mse_loss(y), size=1)
    assert weights.tolist() == [0.0, 1.0, 0.0]


def test_complementary_models_are_combined():
    y = np.zeros(20)
    preds = [np.full(20, 1.0), np.full(20, -1.0), np.full(20, 3.0)]
    weights = ensemble_selection(preds, mse_loss(y), size=20, n_init=1)
    assert weights[0] == pytest.approx(0.5) and weights[1] == pytest.approx(0.5)
    assert weights[2] == 0


def test_weights_sum_to_one_and_improve_on_best_single():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    preds = [y + rng.normal(scale=1.0, size=200) for _ in range(6)]
    weights = ensemble_selection(preds, mse_loss(y), size=30)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    blended = np.tensordot(weights, np.stack(preds), axes=1)
    assert mse_loss(y)(blended) < min(mse_loss(y)(p) for p in preds)
    assert (weights > 0).sum() > 1


def test_probabilities_stay_probabilities():
    rng = np.random.default_rng(1)
    preds = [rng.dirichlet(np.ones(3), size=50) for _ in range(4)]
    y = rng.integers(0, 3, size=50)

    def log_loss(p):
        return float(-np.mean(np.log(p[np.arange(50), y])))

    w = ensemble_selection(preds, log_loss, size=10)
    blended = np.tensordot(w, np.stack(preds), axes=1)
    np.testing.assert_allclose(blended.sum(axis=1), 1.0)


def test_rejects_empty_and_bad_size():
    with pytest.raises(ValueError):
        ensemble_selection([], lambda p: 0.0)
    with pytest.raises(ValueError):
        ensemble_selection([np.zeros(3)], lambda p: 0.0, size=0)


def test_ties_go_to_the_better_candidate():
    y = np.array([0, 1, 0, 1, 1, 0])

    def rank_loss(p):  # invariant to adding a constant, like ROC AUC
        return float(-np.corrcoef(p, y)[0, 1]) if np.ptp(p) > 0 else 0.0

    good = y + 0.1 * np.arange(6)
    constant = np.full(6, 0.5)
    weights = ensemble_selection([constant, good], rank_loss, size=10, n_init=1)
    assert weights[1] == 1.0


def test_the_best_nested_ensemble_is_kept():
    y = np.zeros(4)
    high, low = y + 1.0, y - 1.0  # together exact; any third step makes it worse
    weights = ensemble_selection([high, low], mse_loss(y), size=5, n_init=1)
    np.testing.assert_allclose(weights, [0.5, 0.5])
    last = ensemble_selection([high, low], mse_loss(y), size=5, n_init=1, best_nested=False)
    np.testing.assert_allclose(last, [0.6, 0.4])


def two_columns(p1: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p1, p1])


@pytest.mark.parametrize("seed", range(5))
def test_a_near_constant_model_does_not_flatten_a_roc_auc_blend(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    signal = 2.0 * (y - 0.5)
    preds = [two_columns(1 / (1 + np.exp(-(signal + rng.normal(scale=s, size=200)))))
             for s in (1.0, 1.2, 1.5)]
    # a heavily regularised booster: three values around the prior; its jitter breaks
    # the blend's ties, so ROC AUC selection alone would give it most of the weight
    preds.append(two_columns(0.545 + 0.0025 * rng.integers(-1, 2, 200)))
    data = SimpleNamespace(y=y, val_index=np.arange(200), val_weight=None, n_classes=2,
                           metric=resolve_metric("roc_auc", "classification", 2))
    state = SearchState()
    for i, p in enumerate(preds):
        state.trials.append(Trial(i, "x", {}, "smac", "ok", data.metric.loss(y, p), 1.0, 0.1, 1.0))
        state.predictions[i] = p
    weights = select_weights(state, data, size=50, nbest=50)
    assert 3 not in weights and sum(weights.values()) == pytest.approx(1.0)
    blend = sum(w * preds[i] for i, w in weights.items())
    assert (blend.argmax(axis=1) == y).mean() >= (preds[2].argmax(axis=1) == y).mean()


def test_weak_members_may_help_a_log_loss_blend():
    y = np.array([0, 1] * 50)
    data = SimpleNamespace(y=y, val_index=np.arange(100), val_weight=None, n_classes=2,
                           metric=resolve_metric("neg_log_loss", "classification", 2))
    state = SearchState()
    for i, p1 in enumerate([0.95 * y + 0.02, 0.55 + 0.1 * y, np.full(100, 0.5)]):
        pred = two_columns(p1)
        state.trials.append(Trial(i, "x", {}, "smac", "ok", data.metric.loss(y, pred), 1.0, 0.1,
                                  1.0))
        state.predictions[i] = pred
    # the weak but informative model stays a candidate; the constant one does not
    assert [t.id for t in candidates(state, data)] == [0, 1]


def test_prior_prediction():
    y = np.array([0, 2, 2, 2])
    np.testing.assert_allclose(prior_prediction(y, 3), [[0.25, 0.0, 0.75]] * 4)
    np.testing.assert_allclose(prior_prediction(np.array([1.0, 3.0]), None), [2.0, 2.0])


# -- the ensemble of a fit -------------------------------------------------------------------


@pytest.fixture(scope="module")
def classification_600():
    return make_classification(n_samples=600, n_features=12, n_informative=6, n_redundant=2,
                               flip_y=0.05, random_state=0)


def small_fit(X, y, **kwargs) -> AutoMetaClassifier:
    return AutoMetaClassifier(time_budget=20, max_evals=8, random_state=0,
                              include=["linear", "random_forest", "lightgbm"], **kwargs).fit(X, y)


def member_weights(clf) -> dict[int, float]:
    board = clf.leaderboard()
    chosen = board[board["ensemble_weight"] > 0]
    return dict(zip(chosen["trial"], chosen["ensemble_weight"], strict=True))


@pytest.mark.slow
def test_fit_ensembles_several_distinct_pipelines(classification_600):
    clf = small_fit(*classification_600)
    members = clf.ensemble_.members
    assert len(members) > 1 and all(m.weight > 0 for m in members)
    configs = clf.leaderboard().set_index("trial")["config"]
    assert len({config_key(configs[m.trial]) for m in members}) == len(members)
    weights = member_weights(clf)
    assert sum(weights.values()) == pytest.approx(1.0)
    total = sum(m.weight for m in members)
    assert weights == pytest.approx({m.trial: m.weight / total for m in members})


@pytest.mark.slow
def test_ensemble_size_one_keeps_only_the_best_pipeline(classification_600):
    clf = small_fit(*classification_600, ensemble_size=1)
    [member] = clf.ensemble_.members
    board = clf.leaderboard()
    assert member.weight == 1.0 and member.trial == board["trial"].iloc[0]
    assert member_weights(clf) == {member.trial: 1.0}
    X = classification_600[0]
    typed = clf.schema_.transform(as_frame(X))
    np.testing.assert_allclose(clf.predict_proba(X), member.pipeline.predict_proba(typed))


def test_a_tolerance_keeps_fewer_members_within_it():
    rng = np.random.default_rng(3)
    y = rng.normal(size=300)
    preds = [y + rng.normal(scale=1.0, size=300) for _ in range(10)]
    loss = mse_loss(y)
    full = ensemble_selection(preds, loss, size=40, n_init=1)
    lean = ensemble_selection(preds, loss, size=40, n_init=1, tolerance=0.2)
    assert (lean > 0).sum() < (full > 0).sum()
    blend = lambda w: np.tensordot(w, np.stack(preds), axes=1)  # noqa: E731
    assert loss(blend(full)) <= loss(blend(lean)) <= 1.2 * loss(blend(full))


def test_a_regression_members_predictions_stay_within_the_training_targets_range():
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from autometa.ensemble import Ensemble, Member
    from autometa.export import to_voting

    X = pd.DataFrame({"x": np.linspace(0.0, 1.0, 50)})
    y = 2.0 * X["x"].to_numpy()
    linear = LinearRegression().fit(X, y)  # extrapolates: 20 at x = 10
    ensemble = Ensemble((Member(0, 1.0, linear),), "regression", value_range=(0.0, 2.0))
    new = pd.DataFrame({"x": [-5.0, 0.5, 10.0]})
    np.testing.assert_allclose(ensemble.predict(new), [0.0, 1.0, 2.0])
    unclipped = Ensemble((Member(0, 1.0, linear),), "regression")
    np.testing.assert_allclose(unclipped.predict(new), [-10.0, 1.0, 20.0])

    class Untyped:  # stands in for the schema transformer: the frame passes through
        def transform(self, X):
            return X

        def fit(self, X, y=None):
            return self

    exported = to_voting(ensemble, Untyped())
    np.testing.assert_allclose(exported.predict(new), [0.0, 1.0, 2.0])


def test_the_clipped_export_refits_its_clone_and_clips():
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from autometa.export import Clipped

    X = pd.DataFrame({"x": np.linspace(0.0, 1.0, 50)})
    refit = Clipped(LinearRegression(), 0.0, 2.0).fit(X, 2.0 * X["x"])
    assert refit.n_features_in_ == 1
    np.testing.assert_allclose(refit.predict(pd.DataFrame({"x": [-5.0, 0.5, 10.0]})),
                               [0.0, 1.0, 2.0])


def test_the_clipping_range_is_the_training_targets_widened_by_a_quarter_of_its_span():
    from types import SimpleNamespace

    from autometa.final import target_range

    y = np.array([10.0, 30.0, 14.0])
    assert target_range(SimpleNamespace(task="regression", y=y)) == (5.0, 35.0)
    assert target_range(SimpleNamespace(task="classification", y=np.array([0, 1]))) is None
