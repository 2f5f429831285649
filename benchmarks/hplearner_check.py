"""How well the hp-learner ranks configurations on tasks it was not trained on.

Grouped 5-fold over the corpus's groups (the folds of ``search_curves.fold_of``): for each
fold, a learner is trained on the shipped transfer sources without the fold's groups and
ranks the held-out tasks' observed configurations (their normalised losses from the
meta-dataset). Reports, per task type, the mean and median over held-out tasks of the
Spearman correlation between predicted and observed losses:

- ``zero-shot``: from the task's meta-features alone;
- ``adapted``: after adapting on ``--adapt`` of the task's observations (scored on the
  others; ``zero-shot, same rows`` scores the unadapted learner on those same rows);
- ``mean quantile``: each configuration's mean normalised loss over the training tasks
  that observed it (0.5 when none did), the meta-feature-blind baseline.

    python benchmarks/hplearner_check.py [--adapt 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
from scipy.stats import spearmanr
from search_curves import FOLDS, fold_of

from autometa.hplearner import train
from autometa.metalearning.build import space_for
from autometa.records import config_key
from autometa.surrogate import encoded
from autometa.transfer import load


def mean_quantiles(sources) -> dict[str, float]:
    """Each configuration's mean normalised loss over the tasks of ``sources``."""
    seen = defaultdict(list)
    for task in sources.tasks:
        for j, q in zip(task.configs, task.quantiles, strict=True):
            seen[config_key(sources.configs[j])].append(q)
    return {k: float(np.mean(v)) for k, v in seen.items()}


def held_out_scores(sources, held, space, n_adapt: int, seed: int) -> dict[str, list[float]]:
    """Spearman correlations on the tasks of the ``held`` groups."""
    train_on = sources.without(held)
    learner = train(train_on, space, seed=seed)
    baseline = mean_quantiles(train_on)
    test = sources.only([t.name for t in sources.tasks if t.group in held])
    names, rows = encoded(test, space)
    out = defaultdict(list)
    rng = np.random.default_rng(seed)
    for name, (arrays, y) in zip(names, rows, strict=True):
        task = test.tasks[test.names.index(name)]
        mf = task.metafeatures
        predicted = learner.predict(mf, arrays)
        out["zero-shot"].append(spearmanr(predicted, y)[0])
        keys = [config_key(test.configs[j]) for j in task.configs]
        mean = [baseline.get(k, 0.5) for k in keys]
        out["mean quantile"].append(spearmanr(mean, task.quantiles)[0])
        order = rng.permutation(len(y))
        fit, rest = order[:n_adapt], order[n_adapt:]
        adapted = learner.adapted(mf, arrays[fit], y[fit], seed=seed)
        out["adapted"].append(spearmanr(adapted.predict(mf, arrays[rest]), y[rest])[0])
        out["zero-shot, same rows"].append(spearmanr(predicted[rest], y[rest])[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapt", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for task_type in ("classification", "regression"):
        sources, space = load(task_type), space_for(task_type)
        folds = fold_of([t.group for t in sources.tasks])
        scores, start = defaultdict(list), time.perf_counter()
        for fold in range(FOLDS):
            held = [g for g, f in folds.items() if f == fold]
            for key, values in held_out_scores(sources, held, space, args.adapt,
                                               args.seed).items():
                scores[key] += values
        n = len(scores["zero-shot"])
        print(f"{task_type}: {n} held-out tasks ({time.perf_counter() - start:.0f} s for "
              f"{FOLDS} folds, training included)")
        for key, values in scores.items():
            print(f"  {key:22s} Spearman mean {np.nanmean(values):.3f}, "
                  f"median {np.nanmedian(values):.3f}")


if __name__ == "__main__":
    main()
