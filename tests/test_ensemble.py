import numpy as np
import pytest

from autometa.ensemble import ensemble_selection


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
