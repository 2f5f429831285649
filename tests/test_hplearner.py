"""The hp-learner: encoding, gradients, meta-training that generalises, adaptation, files."""

import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    UniformFloatHyperparameter,
)
from scipy.stats import spearmanr

from autometa import hplearner
from autometa.hplearner import INACTIVE, Encoding, HPLearner, gradients, init_weights, propose
from autometa.records import config_key
from autometa.transfer import from_rows


def _space() -> ConfigurationSpace:
    """A root choice of two families, each with one numeric hyperparameter."""
    cs = ConfigurationSpace(seed=0)
    model = CategoricalHyperparameter("model", ["a", "b"])
    xa, xb = UniformFloatHyperparameter("a:x", 0, 1), UniformFloatHyperparameter("b:x", 0, 1)
    cs.add([model, xa, xb, EqualsCondition(xa, model, "a"), EqualsCondition(xb, model, "b")])
    return cs


def _loss(config: dict, shift: float) -> float:
    """Family "a" is best near x = shift, family "b" is flat and mediocre."""
    return (config["a:x"] - shift) ** 2 if config["model"] == "a" else 0.15


def _sources(shifts, n_obs: int = 40, seed: int = 0):
    """Tasks whose meta-feature ``m`` is where family "a" is best."""
    space = _space()
    space.seed(seed)
    rows = []
    for i, shift in enumerate(shifts):
        configs = [dict(c) for c in space.sample_configuration(n_obs)]
        rows.append((f"t{i}", f"g{i}", [shift], [(c, _loss(c, shift)) for c in configs]))
    return from_rows("regression", ["m"], rows)


def test_the_encoding_one_hots_choices_and_marks_inactive_numbers():
    space = _space()
    enc = Encoding.of(space)
    assert enc.names == ("model", "a:x", "b:x") and enc.widths == (2, 1, 1)
    row = enc(space.get_default_configuration().get_array()[None, :])[0]
    assert list(row[:2]) == [1.0, 0.0]  # family "a", one-hot
    assert row[2] == pytest.approx(0.5) and row[3] == INACTIVE  # b:x is off


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = init_weights([3, 5, 4, 1], rng)
    X, y = rng.normal(size=(7, 3)), rng.normal(size=7)
    _, grads = gradients(params, X, y)
    for p, g in zip(params, grads, strict=True):
        idx = tuple(rng.integers(s) for s in p.shape)
        old = p[idx]
        p[idx] = old + 1e-6
        up, _ = gradients(params, X, y)
        p[idx] = old - 1e-6
        down, _ = gradients(params, X, y)
        p[idx] = old
        assert g[idx] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8)


@pytest.fixture(scope="module")
def learned():
    space = _space()
    shifts = np.linspace(0.05, 0.95, 30)
    learner = hplearner.train(_sources(shifts), space, seed=0, iterations=1500)
    return space, learner


def test_the_learner_ranks_an_unseen_tasks_configurations_from_its_metafeatures(learned):
    space, learner = learned
    held = _sources([0.3, 0.7], seed=5)
    for task, other in zip(held.tasks, reversed(held.tasks), strict=True):
        configs = [held.configs[j] for j in task.configs]
        arrays = np.array([_array(space, c) for c in configs])
        right = spearmanr(learner.predict({"m": task.metafeatures[0]}, arrays),
                          task.quantiles)[0]
        wrong = spearmanr(learner.predict({"m": other.metafeatures[0]}, arrays),
                          task.quantiles)[0]
        assert right > 0.6 and right > wrong + 0.2


def test_adapting_on_a_few_losses_helps_on_the_rest(learned):
    space, learner = learned
    sources = _sources([0.5], n_obs=60, seed=9)
    task = sources.tasks[0]
    configs = [sources.configs[j] for j in task.configs]
    arrays = np.array([_array(space, c) for c in configs])
    losses = np.array([_loss(c, 0.5) for c in configs])
    wrong_mf = {"m": 0.0}  # told the wrong meta-features, it learns from the losses
    before = spearmanr(learner.predict(wrong_mf, arrays[10:]), losses[10:])[0]
    after = learner.adapted(wrong_mf, arrays[:10], losses[:10], steps=60)
    assert spearmanr(after.predict(wrong_mf, arrays[10:]), losses[10:])[0] > before + 0.1


def test_a_learner_round_trips_through_its_file(learned, tmp_path):
    space, learner = learned
    path = learner.save(tmp_path / "l.json.gz")
    again = hplearner.load("regression", path)
    arrays = np.array([c.get_array() for c in space.sample_configuration(20)])
    assert np.allclose(again.predict({"m": 0.4}, arrays), learner.predict({"m": 0.4}, arrays))
    assert again.matches(space) and not again.matches(ConfigurationSpace())
    assert hplearner.load("regression", tmp_path / "missing.json.gz") is None
    doc = learner.to_json() | {"schema_version": 99}
    with pytest.raises(ValueError, match="portfolio build"):
        HPLearner.from_json(doc)


def test_proposals_are_distinct_valid_and_spread_over_families(learned):
    space, learner = learned
    picks = propose(learner, space, {"m": 0.3}, n=4, n_samples=500, per_family=2)
    assert len(picks) == 4 and len({config_key(c) for c in picks}) == 4
    assert sorted(c["model"] for c in picks) == ["a", "a", "b", "b"]
    best = [c for c in picks if c["model"] == "a"]
    assert all(abs(c["a:x"] - 0.3) < 0.2 for c in best)
    again = propose(learner, space, {"m": 0.3}, n=4, n_samples=500, per_family=2,
                    exclude={config_key(picks[0])})
    assert config_key(picks[0]) not in {config_key(c) for c in again}
    for c in picks:
        _array(space, c)  # a valid configuration of the space


def test_the_shipped_learners_match_the_search_spaces():
    from autometa.metalearning.build import space_for

    for task in ("classification", "regression"):
        learner = hplearner.load(task)
        assert learner is not None and learner.matches(space_for(task))


def _array(space: ConfigurationSpace, config: dict) -> np.ndarray:
    from ConfigSpace import Configuration

    return Configuration(space, values=config).get_array()


def test_the_learner_joins_rgpe_as_a_source_model(learned):
    from autometa.rgpe import RGPE, impute_values
    from autometa.surrogate import LEARNED_NAME, LearnedMember

    space, learner = learned
    member = LearnedMember(learner, {"m": 0.3}, impute_values(space))
    model = RGPE(space, [], seed=0, extra=[(LEARNED_NAME, member)])
    space.seed(3)
    sample = space.sample_configuration(30)
    X = np.array([c.get_array() for c in sample])
    y = np.array([_loss(dict(c), 0.3) for c in sample])
    model.train(X, y[:, None])
    assert model.names == [LEARNED_NAME] and model.weights_[0] > 0.5
    mean, _ = model.predict(X)
    assert spearmanr(mean[:, 0], y)[0] > 0.6
    wrong = LearnedMember(learner, {"m": 0.9}, impute_values(space))  # a task unlike this
    misled = RGPE(space, [], seed=0, extra=[(LEARNED_NAME, wrong)]).train(X, y[:, None])
    assert misled.weights_[0] < model.weights_[0]


def test_a_failed_trial_without_a_loss_ranks_last_when_adapting(learned):
    space, learner = learned
    space.seed(4)
    arrays = np.array([c.get_array() for c in space.sample_configuration(6)])
    adapted = learner.adapted({"m": 0.5}, arrays, [0.1, 0.2, np.nan, 0.3, np.inf, 0.5])
    assert all(np.isfinite(p).all() for p in adapted.params)


def test_proposals_are_distinct_when_a_family_has_few_configurations():
    space = ConfigurationSpace(seed=0)
    model, k = CategoricalHyperparameter("model", ["a", "b"]), CategoricalHyperparameter(
        "a:k", ["x", "y"])
    xb = UniformFloatHyperparameter("b:x", 0, 1)
    space.add([model, k, xb, EqualsCondition(k, model, "a"), EqualsCondition(xb, model, "b")])
    space.seed(1)
    rows = [(f"t{i}", f"g{i}", [float(i)], [(dict(c), (i * 7 + j) % 5 / 5) for j, c in
                                            enumerate(space.sample_configuration(20))])
            for i in range(5)]
    learner = hplearner.train(from_rows("regression", ["m"], rows), space, iterations=50)
    picks = propose(learner, space, {"m": 1.0}, n=4, n_samples=200, per_family=2)
    assert len({config_key(c) for c in picks}) == len(picks) == 4
