"""The conditional CASH search space, and configurations turned into pipelines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ConfigSpace import Categorical, Configuration, ConfigurationSpace

from autometa.components import BuildContext, ModelSpec
from autometa.components.target import NONE, TRANSFORMS, with_target_transform
from autometa.task import REGRESSION

ROOT = "model"
SEP = ":"
TARGET_TRANSFORM = "target_transform"  # root-level, regression only (see build_space)


def select_families(
    task: str,
    specs: Mapping[str, ModelSpec],
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    weighted: bool = False,
) -> list[ModelSpec]:
    """The families searched for ``task`` after ``include``/``exclude``; for a ``weighted``
    fit, only those whose estimator takes ``sample_weight``."""
    known = [s for s in specs.values() if task in s.tasks]
    names = {s.name for s in known}
    for label, given in (("include", include), ("exclude", exclude)):
        unknown = sorted(set(given or ()) - names)
        if unknown:
            raise ValueError(
                f"Unknown model families in {label}: {unknown}. Known for {task}: {sorted(names)}."
            )
    chosen = [
        s for s in known
        if (include is None or s.name in include) and s.name not in (exclude or ())
    ]
    if not chosen:
        raise ValueError("include/exclude leave no model family to search.")
    if weighted:
        chosen = _weighted_families(chosen)
    return chosen


def _weighted_families(chosen: list[ModelSpec]) -> list[ModelSpec]:
    """The families of ``chosen`` that take ``sample_weight``; an error when none does."""
    kept = [s for s in chosen if s.sample_weight]
    if not kept:
        names = sorted(s.name for s in chosen)
        raise ValueError(
            f"The model families to search ({', '.join(names)}) cannot take sample_weight; "
            "include others (e.g. 'lightgbm' or 'linear') or fit without sample_weight."
        )
    return kept


def build_space(task: str, families: Sequence[ModelSpec], seed: int | None = None,
                target_transforms: Sequence[str] = TRANSFORMS):
    """A root ``model`` choice with each family's subspace active only under its value.

    Parameters
    ----------
    task : {"classification", "regression"}
    families : sequence of ModelSpec
        The families searched; the first is the root's default.
    seed : int, optional
        Seed of the space's sampling.
    target_transforms : sequence of str
        Values of a root-level :data:`TARGET_TRANSFORM` choice (default ``"none"``) added
        to a regression space when more than ``"none"`` is offered (see
        :mod:`autometa.components.target`); classification spaces never have it.

    Returns
    -------
    ConfigurationSpace
    """
    cs = ConfigurationSpace(seed=seed)
    root = Categorical(ROOT, [f.name for f in families], default=families[0].name)
    cs.add(root)
    if task == REGRESSION and set(target_transforms) - {NONE}:
        values = [NONE, *(t for t in target_transforms if t != NONE)]
        cs.add(Categorical(TARGET_TRANSFORM, values, default=NONE))
    for family in families:
        cs.add_configuration_space(
            prefix=family.name,
            configuration_space=family.space(task),
            delimiter=SEP,
            parent_hyperparameter={"parent": root, "value": family.name},
        )
    return cs


def to_dict(config: Configuration | Mapping[str, Any]) -> dict[str, Any]:
    """A configuration as a plain dict of Python values (JSON-ready)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in dict(config).items()}


def family_params(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split a configuration into its family name and the family's unprefixed parameters."""
    family = str(config[ROOT])
    prefix = family + SEP
    params = {k[len(prefix):]: v for k, v in to_dict(config).items() if k.startswith(prefix)}
    return family, params


def build_pipeline(config: Mapping[str, Any], ctx: BuildContext, specs: Mapping[str, ModelSpec]):
    """The scikit-learn pipeline a configuration describes (a regression model learning a
    transformed target is wrapped in a ``TransformedTargetRegressor``)."""
    family, params = family_params(config)
    pipeline = specs[family].build(params, ctx)
    if ctx.is_classification:
        return pipeline
    return with_target_transform(pipeline, target_transform(config))


def target_transform(config: Mapping[str, Any]) -> str:
    """The target transformation of a configuration (``"none"`` when it has none)."""
    return str(config.get(TARGET_TRANSFORM, NONE))


def family_default(spec: ModelSpec, task: str) -> dict[str, Any]:
    """The default configuration of one family, as a plain dict of the joint space."""
    defaults = to_dict(spec.space(task).get_default_configuration())
    return {ROOT: spec.name, **{f"{spec.name}{SEP}{k}": v for k, v in defaults.items()}}


def root_defaults(cs: ConfigurationSpace) -> dict[str, Any]:
    """Defaults of the unconditional hyperparameters besides the root ``model`` choice
    (e.g. ``target_transform``), which configurations stored without them mean."""
    return {
        name: to_dict({name: hp.default_value})[name]
        for name, hp in cs.items()
        if name != ROOT and not cs.parents_of[name]
    }


def complete(cs: ConfigurationSpace, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the root-level defaults of ``cs`` they lack (see :func:`root_defaults`)."""
    return {**root_defaults(cs), **values}


def configuration(cs: ConfigurationSpace, values: Mapping[str, Any]) -> Configuration:
    """A validated Configuration of ``cs`` from plain values (raises if invalid); values
    without a root-level hyperparameter of ``cs`` get its default (:func:`complete`)."""
    return Configuration(cs, values=complete(cs, values))
