"""The hp-learner: a meta-trained predictor of how well a configuration does on a task.

A small network maps (a task's meta-features, a configuration of the search space) to the
configuration's normalised loss on the task (its quantile among the task's trials, 0 the
best; see :mod:`autometa.transfer`). It is trained across the corpus's source tasks with
Reptile (Nichol, Achiam & Schulman, 2018; a first-order MAML): for one source task at a
time, a few Adam steps on its observations, then the shared weights move part of the way
towards the adapted ones, so that they predict well zero-shot *and* adapt fast. After
Meta-HPO (CIKM 2021), which trains such a learner on proxy subsets.

At fit time the learner is adapted with a few steps on the new task's first losses
(:meth:`HPLearner.adapted`) and ranks a random sample of the whole search space
(:func:`propose`): not only the portfolio's candidates. ``autometa portfolio build``
trains one per task type and ships it beside the portfolios (``hplearner_<task>.json.gz``).

Configurations are encoded from ConfigSpace's vectors (:class:`Encoding`): one-hot for
categorical hyperparameters (all zeros when inactive), the normalised value in [0, 1] for
numeric ones (``INACTIVE`` when inactive).
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, OrdinalHyperparameter

from autometa.records import config_key
from autometa.transfer import TransferSources, quantiles, write_json_gz

SCHEMA_VERSION = 1
INACTIVE = -1.0  # encoded value of an inactive numeric hyperparameter
HIDDEN = (64, 32)  # hidden layer widths
ITERATIONS = 2000  # Reptile's meta-iterations (one source task each)
INNER_STEPS = 8  # Adam steps on a source task per meta-iteration
BATCH = 32  # observations per inner step
INNER_LR = 3e-3  # Adam's step size, inside Reptile and when adapting
ADAPT_STEPS = 20  # full-batch Adam steps on the new task's losses
CLIP = 5.0  # scaled meta-features are clipped to +-CLIP


@dataclass(frozen=True)
class Encoding:
    """How configurations of one space become network inputs.

    ``names`` are the space's hyperparameters in order; ``widths`` the columns each
    takes (its number of choices when categorical, else 1).
    """

    names: tuple[str, ...]
    widths: tuple[int, ...]
    categorical: tuple[bool, ...]

    @classmethod
    def of(cls, space: ConfigurationSpace) -> Encoding:
        hps = list(space.values())
        kinds = [isinstance(h, CategoricalHyperparameter | OrdinalHyperparameter) for h in hps]
        widths = [len(_choices(h)) if k else 1 for h, k in zip(hps, kinds, strict=True)]
        return cls(tuple(h.name for h in hps), tuple(widths), tuple(kinds))

    @property
    def width(self) -> int:
        return int(sum(self.widths))

    def __call__(self, arrays: np.ndarray) -> np.ndarray:
        """Inputs for ``arrays`` of shape (n, len(names)) (``Configuration.get_array()``)."""
        arrays = np.atleast_2d(np.asarray(arrays, dtype=np.float64))
        out = np.zeros((len(arrays), self.width))
        col = 0
        for j, (width, categorical) in enumerate(zip(self.widths, self.categorical,
                                                     strict=True)):
            values = arrays[:, j]
            active = np.isfinite(values)
            if categorical:
                rows = np.flatnonzero(active)
                out[rows, col + values[rows].astype(int)] = 1.0
            else:
                out[:, col] = np.where(active, values, INACTIVE)
            col += width
        return out


def _choices(hp) -> tuple:
    return tuple(getattr(hp, "choices", None) or hp.sequence)


# -- the network -----------------------------------------------------------------------------


def init_weights(sizes: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """He-initialised weights and zero biases, ``[W1, b1, W2, b2, ...]``."""
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params += [rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)]
    return params


def forward(params: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
    """The network's outputs for the rows of ``X`` (ReLU hidden layers, linear output)."""
    h = X
    for k in range(0, len(params) - 2, 2):
        h = np.maximum(h @ params[k] + params[k + 1], 0.0)
    return (h @ params[-2] + params[-1])[:, 0]


def gradients(params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray
              ) -> tuple[float, list[np.ndarray]]:
    """Mean squared error on (``X``, ``y``) and its gradient for each parameter."""
    acts = [X]
    for k in range(0, len(params) - 2, 2):
        acts.append(np.maximum(acts[-1] @ params[k] + params[k + 1], 0.0))
    error = acts[-1] @ params[-2] + params[-1] - y[:, None]
    delta = 2.0 * error / len(y)
    grads: list[np.ndarray] = [None] * len(params)  # type: ignore[list-item]
    for k in range(len(params) - 2, -1, -2):
        grads[k], grads[k + 1] = acts[k // 2].T @ delta, delta.sum(axis=0)
        if k:
            delta = (delta @ params[k].T) * (acts[k // 2] > 0)
    return float(np.mean(error ** 2)), grads


def adam(params: list[np.ndarray], X: np.ndarray, y: np.ndarray, steps: int, lr: float,
         rng: np.random.Generator, batch: int | None = None) -> list[np.ndarray]:
    """``params`` after ``steps`` Adam steps (fresh moments; beta1 = 0, as Reptile's inner
    loop uses it) on minibatches of ``batch`` rows (all rows when ``None``)."""
    params = [p.copy() for p in params]
    second = [np.zeros_like(p) for p in params]
    beta2, eps = 0.999, 1e-8
    for t in range(1, steps + 1):
        rows = slice(None) if batch is None or batch >= len(y) else \
            rng.choice(len(y), batch, replace=False)
        _, grads = gradients(params, X[rows], y[rows])
        for p, g, v in zip(params, grads, second, strict=True):
            v *= beta2
            v += (1 - beta2) * g * g
            p -= lr * g / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return params


# -- the learner -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HPLearner:
    """A trained hp-learner (see the module).

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    metafeature_names : tuple of str
    center, scale : ndarray
        Scaling of the (signed-log) meta-features.
    encoding : Encoding
        The search space's encoding it was trained on.
    params : list of ndarray
        The network's weights.
    """

    task: str
    metafeature_names: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    encoding: Encoding
    params: list

    def inputs(self, metafeatures: Mapping[str, float] | np.ndarray, arrays: np.ndarray
               ) -> np.ndarray:
        """Network inputs: the scaled meta-features beside each encoded configuration."""
        if isinstance(metafeatures, Mapping):
            metafeatures = [metafeatures.get(n, np.nan) for n in self.metafeature_names]
        task = _scaled(np.asarray(metafeatures, dtype=np.float64)[None, :], self.center,
                       self.scale)
        configs = self.encoding(arrays)
        return np.hstack([np.repeat(task, len(configs), axis=0), configs])

    def predict(self, metafeatures: Mapping[str, float] | np.ndarray, arrays: np.ndarray
                ) -> np.ndarray:
        """Predicted normalised losses (lower is better) of configurations given as
        ``Configuration.get_array()`` rows, on a task with ``metafeatures``."""
        return forward(self.params, self.inputs(metafeatures, arrays))

    def adapted(self, metafeatures: Mapping[str, float] | np.ndarray, arrays: np.ndarray,
                losses: Sequence[float], steps: int = ADAPT_STEPS, lr: float = INNER_LR,
                seed: int = 0) -> HPLearner:
        """This learner after ``steps`` Adam steps on the task's observed ``losses`` (raw:
        they are turned into the task's quantiles; ``inf`` or NaN for failures ranks
        last)."""
        losses = np.asarray(losses, dtype=np.float64)
        y = quantiles(np.where(np.isnan(losses), np.inf, losses))
        params = adam(self.params, self.inputs(metafeatures, arrays), y, steps, lr,
                      np.random.default_rng(seed))
        return replace(self, params=params)

    def matches(self, space: ConfigurationSpace) -> bool:
        """Whether ``space`` encodes as the space the learner was trained on."""
        return Encoding.of(space) == self.encoding

    def to_json(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "task": self.task,
                "metafeature_names": list(self.metafeature_names),
                "center": self.center.tolist(), "scale": self.scale.tolist(),
                "encoding": {"names": list(self.encoding.names),
                             "widths": list(self.encoding.widths),
                             "categorical": list(self.encoding.categorical)},
                "params": [p.tolist() for p in self.params]}

    @classmethod
    def from_json(cls, doc: Mapping) -> HPLearner:
        if doc.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"hp-learner schema {doc.get('schema_version')} is not "
                             f"{SCHEMA_VERSION}; rebuild it with `autometa portfolio build`.")
        enc = doc["encoding"]
        return cls(doc["task"], tuple(doc["metafeature_names"]), np.asarray(doc["center"]),
                   np.asarray(doc["scale"]),
                   Encoding(tuple(enc["names"]), tuple(enc["widths"]),
                            tuple(enc["categorical"])),
                   [np.asarray(p, dtype=np.float64) for p in doc["params"]])

    def save(self, path: str | Path) -> Path:
        """Write the learner as gzipped JSON (see :func:`autometa.transfer.write_json_gz`)."""
        return write_json_gz(self.to_json(), path)


def learner_path(task: str) -> Path:
    """The shipped learner's file: ``hplearner_<task>.json.gz`` beside the portfolios."""
    from autometa.portfolio import portfolio_dir

    return portfolio_dir() / f"hplearner_{task}.json.gz"


def load(task: str, path: str | Path | None = None) -> HPLearner | None:
    """The learner in ``path`` (default: the shipped one), ``None`` when there is none."""
    path = Path(path) if path is not None else learner_path(task)
    if not path.is_file():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return HPLearner.from_json(json.load(f))


def installed(task: str, space: ConfigurationSpace) -> HPLearner | None:
    """The shipped learner when it is there, readable and trained on ``space``'s
    encoding, else ``None``."""
    try:
        learner = load(task)
    except (OSError, ValueError, KeyError):
        return None
    return learner if learner is not None and learner.matches(space) else None


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _scaled(values: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    scaled = (_signed_log(values) - center) / scale
    return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=CLIP, neginf=-CLIP), -CLIP, CLIP)


# -- training --------------------------------------------------------------------------------


def training_tasks(sources: TransferSources, space: ConfigurationSpace
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per source task: its raw meta-features, its valid configurations' vectors and their
    normalised losses."""
    from autometa.surrogate import encoded

    names, rows = encoded(sources, space)
    features = {t.name: t.metafeatures for t in sources.tasks}
    return [(features[n], arrays, y) for n, (arrays, y) in zip(names, rows, strict=True)]


def train(sources: TransferSources, space: ConfigurationSpace, seed: int = 0,
          iterations: int = ITERATIONS, inner_steps: int = INNER_STEPS,
          hidden: Sequence[int] = HIDDEN) -> HPLearner:
    """An hp-learner trained by Reptile on ``sources``' observations of ``space``.

    Each meta-iteration draws a source task, takes ``inner_steps`` Adam steps on
    minibatches of its observations, and moves the shared weights by ``epsilon`` towards
    the result, ``epsilon`` falling linearly from 1 to 0 (Nichol et al., 2018).
    Deterministic for a ``seed``.
    """
    tasks = training_tasks(sources, space)
    if not tasks:
        raise ValueError("no source task has enough valid observations to learn from.")
    logged = _signed_log(np.vstack([mf for mf, _, _ in tasks]))
    center = np.nan_to_num(np.nanmedian(logged, axis=0))
    spread = np.nanpercentile(logged, 75, axis=0) - np.nanpercentile(logged, 25, axis=0)
    scale = np.where(np.isfinite(spread) & (spread > 1e-9), spread, 1.0)
    learner = HPLearner(sources.task, tuple(sources.metafeature_names), center, scale,
                        Encoding.of(space), [])
    data = [(learner.inputs(mf, arrays), y) for mf, arrays, y in tasks]
    rng = np.random.default_rng(seed)
    params = init_weights([data[0][0].shape[1], *hidden, 1], rng)
    for it in range(iterations):
        X, y = data[rng.integers(len(data))]
        adapted = adam(params, X, y, inner_steps, INNER_LR, rng, BATCH)
        epsilon = 1.0 - it / iterations
        params = [p + epsilon * (a - p) for p, a in zip(params, adapted, strict=True)]
    return replace(learner, params=params)


# -- proposals -------------------------------------------------------------------------------


def propose(learner: HPLearner, space: ConfigurationSpace, metafeatures: Mapping[str, float],
            n: int = 8, n_samples: int = 5000, seed: int = 0, exclude: Collection[str] = (),
            per_family: int = 2) -> list[dict]:
    """The ``n`` configurations of a random sample of ``space`` the learner ranks best, at
    most ``per_family`` of each model family, none whose key is in ``exclude``.

    Parameters
    ----------
    learner : HPLearner
        Trained on ``space`` (see :meth:`HPLearner.matches`).
    space : ConfigurationSpace
    metafeatures : mapping of str to float
        The task's meta-features.
    n, n_samples, seed : int
    exclude : collection of str
        :func:`autometa.records.config_key` of configurations not to propose.
    per_family : int

    Returns
    -------
    list of dict
        Plain configurations, best first.
    """
    from autometa.space import ROOT, to_dict

    space = _seeded_copy(space, seed)
    sample = space.sample_configuration(n_samples)
    scores = learner.predict(metafeatures, np.array([c.get_array() for c in sample]))
    chosen: list[dict] = []
    counts: dict[str, int] = {}
    taken: set[str] = set()  # a family with few distinct configurations is sampled twice
    for i in np.argsort(scores, kind="stable"):
        config = to_dict(sample[i])
        family, key = config[ROOT], config_key(config)
        if counts.get(family, 0) >= per_family or key in exclude or key in taken:
            continue
        taken.add(key)
        counts[family] = counts.get(family, 0) + 1
        chosen.append(config)
        if len(chosen) == n:
            break
    return chosen


def _seeded_copy(space: ConfigurationSpace, seed: int) -> ConfigurationSpace:
    """``space`` with its sampler seeded (a copy: the caller's random state is untouched)."""
    import copy

    space = copy.deepcopy(space)
    space.seed(seed)
    return space
