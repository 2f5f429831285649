"""The warm start: one configuration at a time, learning from the losses seen so far."""

import numpy as np
import pytest

from autometa import AutoMetaClassifier
from autometa.initial_design import LEARNED_ORIGIN, InitialDesign
from autometa.portfolio import Pick, Portfolio
from autometa.records import config_key
from autometa.regret import agreement, greedy_order

A = [0.1, 0.2, 0.3, 0.0, 0.5]  # ranks c0 < c1 < c2; c3 is its best, c4 its worst
B = [0.3, 0.2, 0.1, 0.5, 0.0]  # ranks c2 < c1 < c0; c4 is its best, c3 its worst
NEAR_A = {"f1": 2.0, "f2": 2.0}  # nearer the A tasks, not on top of them


def _two_clusters() -> Portfolio:
    """Three tasks around (0, 0) that rank the candidates as A does, three around (5, 5)
    that rank them as B does."""
    return Portfolio(
        task="regression", metafeature_names=("f1", "f2"),
        tasks=("a1", "a2", "a3", "b1", "b2", "b3"), groups=("a1", "a2", "a3", "b1", "b2", "b3"),
        metafeatures=np.array([[0, 0], [0.2, 0], [0, 0.2], [5, 5], [5.2, 5], [5, 5.2]], float),
        configs=tuple({"model": "linear", "id": i} for i in range(5)),
        sources=("default",) * 5, source_groups=("default",) * 5,
        losses=np.array([A] * 3 + [B] * 3), times=np.ones((6, 5)), fit_rows=np.full(6, 100.0),
    )


def _tried(losses):
    return [({"model": "linear", "id": i}, loss) for i, loss in enumerate(losses)]


def test_agreement_is_kendalls_tau_with_failures_ranked_last():
    regret = np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0], [0.2, 0.2, 0.2]])
    np.testing.assert_allclose(agreement(np.array([1.0, 2.0, 3.0]), regret), [1, -1, 0])
    np.testing.assert_allclose(agreement(np.array([2.0, 3.0, np.inf]), regret)[:2], [1, -1])
    assert agreement(np.array([1.0]), regret).tolist() == [0, 0, 0]


def test_greedy_order_goes_on_from_the_candidates_already_chosen():
    regret = _two_clusters().regret
    assert greedy_order(regret, start=[3], n=2) == [3, 4]  # c4 complements c3 best
    assert greedy_order(regret, n=1) == greedy_order(regret)[:1]


def test_the_tasks_that_rank_the_tried_configurations_alike_decide_the_next_one():
    p = _two_clusters()
    unknown = p.select(NEAR_A, 1, k=3, tried=_tried([None, None, None]))
    assert unknown[0].config["id"] == 3  # the meta-features point to the A tasks
    like_a = p.select(NEAR_A, 1, k=3, tried=_tried([0.1, 0.2, 0.3]))
    like_b = p.select(NEAR_A, 1, k=3, tried=_tried([0.3, 0.2, 0.1]))
    assert like_a[0].config["id"] == 3 and like_b[0].config["id"] == 4
    two_seen = p.select(NEAR_A, 1, k=3, tried=_tried([0.3, 0.2, None]))
    assert two_seen[0].config["id"] == 3  # too few losses to re-weight on


def test_select_never_repeats_a_tried_configuration():
    p = _two_clusters()
    for strategy in ("auto", "greedy"):
        picks = p.select(NEAR_A, 5, strategy, tried=_tried([0.3, np.inf]))
        assert sorted(q.config["id"] for q in picks) == [2, 3, 4]


def test_a_warm_start_hands_out_n_configurations_and_passes_on_their_losses(monkeypatch):
    p = _two_clusters()
    planned = InitialDesign(p, "auto", NEAR_A, n=4).planned()
    assert planned == p.select(NEAR_A, 4)  # with no loss known, the order of select
    seen = []

    def fake_select(self, *args, tried=(), **kwargs):
        seen.append(list(tried))
        return [q for q in planned if q.config not in [c for c, _ in tried]]

    monkeypatch.setattr(Portfolio, "select", fake_select)
    warm, tried = InitialDesign(p, "auto", NEAR_A, n=4), []
    while (config := warm(tried)) is not None:
        tried.append((config, float(config["id"])))
    assert warm.done and warm.picks == planned
    assert seen == [tried[:i] for i in range(4)]


def test_the_baselines_follow_the_first_pick_once():
    p = _two_clusters()
    bases = [{"model": "lightgbm"}, {"model": "hgb"}]
    reasons = [q.reason for q in InitialDesign(p, "greedy", None, 4, baselines=bases).planned()]
    assert reasons == ["greedy", "default", "default", "greedy"]
    first = p.configs[p.order[0]]
    again = InitialDesign(p, "greedy", None, 3, baselines=[first]).planned()
    assert [q.config for q in again] == [p.configs[i] for i in p.order[:3]]
    tried = [({"model": "hgb"}, 0.3)]
    design = InitialDesign(p, "greedy", None, 3, baselines=bases)
    design(tried)
    assert design(tried) == {"model": "lightgbm"} and design(tried) != {"model": "hgb"}
    assert InitialDesign(None, "greedy", None, 3, baselines=bases).planned() == []


def test_a_warm_start_ends_early_when_the_portfolio_runs_out():
    warm = InitialDesign(_two_clusters(), "greedy", None, n=8)
    assert len(warm.planned()) == 5 and not warm.done


def _learned(calls, repeat):
    """A stand-in for the hp-learner: proposes ``repeat`` and three new configurations,
    and records what it was shown."""
    def learned(tried, keys):
        calls.append((list(tried), set(keys)))
        return [Pick(dict(repeat), LEARNED_ORIGIN),
                Pick({"model": "mlp", "id": 0}, LEARNED_ORIGIN),
                Pick({"model": "mlp", "id": 1}, LEARNED_ORIGIN),
                Pick({"model": "mlp", "id": 2}, LEARNED_ORIGIN)]
    return learned


def test_the_learned_picks_follow_the_portfolio_once_with_the_losses_seen():
    calls, p = [], _two_clusters()
    first = p.configs[p.order[0]]  # the portfolio's first pick, proposed again
    design = InitialDesign(p, "greedy", None, 2, learned=_learned(calls, first), n_learned=2)
    tried = []
    while (config := design(tried)) is not None:
        tried.append((config, 0.1 * len(tried)))
    assert [p.reason for p in design.picks] == ["greedy", "greedy", LEARNED_ORIGIN,
                                                LEARNED_ORIGIN]
    assert tried[0][0] == first
    assert [c for c, _ in tried[2:]] == [{"model": "mlp", "id": 0}, {"model": "mlp", "id": 1}]
    assert len(calls) == 1 and [loss for _, loss in calls[0][0]] == [0.0, 0.1]
    assert config_key(first) in calls[0][1]
    assert design.done
    assert design.origin({"model": "mlp", "id": 0}) == LEARNED_ORIGIN
    assert design.origin(tried[1][0]) == "portfolio"


def test_learned_picks_come_first_without_a_portfolio_and_not_without_a_learner():
    calls = []
    repeat = {"model": "linear", "id": 3}
    design = InitialDesign(None, "auto", None, 16, learned=_learned(calls, repeat),
                           n_learned=3)
    assert [p.config for p in design.planned()] == [repeat, {"model": "mlp", "id": 0},
                                                    {"model": "mlp", "id": 1}]
    assert InitialDesign(None, "auto", None, 16, n_learned=3).planned() == []


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_fit_hands_the_losses_seen_to_the_initial_design(mixed, monkeypatch, n_jobs):
    seen = []
    select = Portfolio.select

    def spy(self, metafeatures, n, strategy="auto", k=20, tried=()):
        seen.append(list(tried))
        return select(self, metafeatures, n, strategy, k, tried)

    monkeypatch.setattr(Portfolio, "select", spy)
    X, y = mixed
    clf = AutoMetaClassifier(time_budget=90, max_evals=9, n_initial_configs=7, n_jobs=n_jobs,
                             random_state=0).fit(X, y)
    assert [len(t) for t in seen] == [0, 1, 2, 5, 6]  # the two defaults come fourth and fifth
    last = seen[-1]
    assert sum(loss is not None for _, loss in last) >= 6 - n_jobs  # finished trials
    first = {config_key(t.config) for t in clf.trials_ if t.origin == "portfolio"}
    assert first == {config_key(c["config"]) for c in clf.initial_configs_} and len(first) == 7
    assert [c["reason"] for c in clf.initial_configs_][3:5] == ["default", "default"]
    assert [t.origin for t in clf.trials_].count("smac") == 2


def test_a_fit_evaluates_the_hp_learners_picks_after_the_portfolios(mixed):
    X, y = mixed
    clf = AutoMetaClassifier(time_budget=60, max_evals=7, n_initial_configs=3,
                             n_learned_configs=2, random_state=0).fit(X, y)
    origins = [t.origin for t in clf.trials_]
    assert origins[:3] == ["portfolio"] * 3
    assert origins[3:5] == [LEARNED_ORIGIN] * 2 and origins[5:] == ["smac"] * 2
    learned = [c for c in clf.initial_configs_ if c["reason"] == LEARNED_ORIGIN]
    portfolio = {config_key(c["config"]) for c in clf.initial_configs_[:3]}
    assert len(learned) == 2 and not portfolio & {config_key(c["config"]) for c in learned}
    assert set(clf.leaderboard()["origin"]) == {"portfolio", LEARNED_ORIGIN, "smac"}


def test_without_a_matching_hp_learner_a_fit_warns_and_uses_the_portfolio(mixed, monkeypatch):
    from autometa import hplearner

    monkeypatch.setattr(hplearner, "load", lambda task, path=None: None)
    X, y = mixed
    with pytest.warns(UserWarning, match="No hp-learner"):
        clf = AutoMetaClassifier(time_budget=60, max_evals=3, n_initial_configs=2,
                                 n_learned_configs=2, random_state=0).fit(X, y)
    assert LEARNED_ORIGIN not in {t.origin for t in clf.trials_}
