"""The surrogate's cost per trial: RGPE with 20 source tasks against SMAC's random forest.

A realistic run is replayed without evaluating anything: a held-out corpus task's own
observations (from the shipped transfer sources, its group left out of the sources) are
told to the surrogate one at a time, and at each step the surrogate does what SMAC asks of
it per trial: retrain on all observations so far, predict each of them alone (SMAC's
search for the best predicted configuration) and predict a batch of random configurations
(the acquisition's random challengers). Median and p90 milliseconds per trial. Then
the same target's observations, learnt by a forest, answer a real SMAC search of ``--n``
trials with either surrogate, and each ``ask`` (retraining and maximising the acquisition:
all SMAC spends per trial) is timed. Warnings are best silenced (``python -W ignore``).

    nice -n 19 python benchmarks/rgpe_cost.py [--task NAME] [--n 100] [--batch 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from autometa.components import registry
from autometa.components.target import NONE
from autometa.portfolio import load as load_portfolio
from autometa.smac_setup import random_forest
from autometa.space import build_space, select_families
from autometa.surrogate import RGPEFactory, encoded, nearest_sources
from autometa.transfer import load as load_sources


def replay(model, X: np.ndarray, y: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """Milliseconds per step (train, predict the observations one by one, predict the
    batch), shape (n_steps, 3)."""
    costs = []
    for n in range(1, len(y) + 1):
        t0 = time.perf_counter()
        model.train(X[:n], y[:n, None])
        t1 = time.perf_counter()
        for row in X[:n]:
            model.predict_marginalized(row[None, :])
        t2 = time.perf_counter()
        model.predict_marginalized(batch)
        t3 = time.perf_counter()
        costs.append([t1 - t0, t2 - t1, t3 - t2])
    return 1000 * np.array(costs)


def smac_run(space, surrogate, oracle, n: int, seed: int) -> np.ndarray:
    """Milliseconds of each ``ask`` of a real SMAC search (retraining its model and
    maximising the acquisition) whose trials ``oracle`` answers at once."""
    import tempfile
    from pathlib import Path

    from smac.runhistory.dataclasses import TrialValue

    from autometa.search import SearchSettings
    from autometa.smac_setup import make_smac

    settings = SearchSettings(seed=seed, deadline=0.0, trial_time_limit=1.0,
                              n_random_initial=5, surrogate=surrogate)
    smac = make_smac(space, settings, Path(tempfile.mkdtemp(prefix="rgpe-cost-")))
    costs = []
    for _ in range(n):
        t0 = time.perf_counter()
        info = smac.ask()
        costs.append(time.perf_counter() - t0)
        smac.tell(info, TrialValue(cost=float(oracle(info.config.get_array()[None, :])[0])))
    return 1000 * np.array(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=None, help="target task (default: a seeded pick)")
    parser.add_argument("--n", type=int, default=100, help="observations replayed")
    parser.add_argument("--batch", type=int, default=2000, help="random configurations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kind = "classification"
    sources, portfolio = load_sources(kind), load_portfolio(kind)
    rng = np.random.default_rng(args.seed)
    target = sources.names.index(args.task) if args.task else int(rng.integers(len(sources.tasks)))
    task = sources.tasks[target]
    space = build_space(kind, select_families(kind, registry()), seed=args.seed,
                        target_transforms=(NONE,))
    _, [(X, y)] = encoded(sources.pick([target]), space)
    order = rng.permutation(len(y))[: args.n]
    X, y = X[order], y[order]
    batch = np.array([c.get_array() for c in space.sample_configuration(args.batch)])
    held_out = portfolio.without([task.group])
    mf = dict(zip(sources.metafeature_names, task.metafeatures, strict=True))
    chosen = nearest_sources(sources.only(held_out.tasks), held_out, mf)
    t0 = time.perf_counter()
    rgpe = RGPEFactory(chosen)(space, args.seed)
    setup = 1000 * (time.perf_counter() - t0)
    print(f"target {task.name} ({len(y)} observations), {len(rgpe.source_models)} sources; "
          f"RGPE set-up (encode + train the source forests) {setup:.0f} ms")
    for name, model in (("rf", random_forest(space, args.seed)), ("rgpe", rgpe)):
        costs = replay(model, X, y, batch)
        total = costs.sum(axis=1)
        parts = ", ".join(f"{label} {np.median(costs[:, i]):.1f}" for i, label in
                          enumerate(("train", "predict observed", f"predict {args.batch}")))
        print(f"{name:5s} per trial: median {np.median(total):.1f} ms, p90 "
              f"{np.percentile(total, 90):.1f} ms (medians: {parts})")
    from autometa.rgpe import Forest, impute, impute_values, normal_scores

    fill = impute_values(space)
    truth = Forest(30, args.seed).fit(impute(X, fill), normal_scores(y))
    oracle = lambda rows: truth.mean_var(impute(rows, fill))[0]  # noqa: E731
    for name, surrogate in (("rf", None), ("rgpe", RGPEFactory(chosen))):
        asks = smac_run(space, surrogate, oracle, args.n, args.seed)[5:]  # after the design
        print(f"{name:5s} SMAC ask (retrain + acquisition), trials 6-{args.n}: median "
              f"{np.median(asks):.1f} ms, p90 {np.percentile(asks, 90):.1f} ms, mean "
              f"{np.mean(asks):.1f} ms (SMAC retrains after every 8th proposal)")
    weights = rgpe.weights_
    print(f"final RGPE weights: target {weights[-1]:.2f}, largest source "
          f"{weights[:-1].max():.2f}, sources with weight > 0: {(weights[:-1] > 0).sum()}")


if __name__ == "__main__":
    main()
