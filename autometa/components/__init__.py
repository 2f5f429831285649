"""The model families autometa searches over, in one explicit registry."""

from __future__ import annotations

from collections.abc import Iterable

from autometa.components.base import BuildContext, ModelSpec
from autometa.components.boosting import HIST_GB, LIGHTGBM, XGBOOST
from autometa.components.sklearn_models import EXTRA_TREES, KNN, LINEAR, MLP, RANDOM_FOREST

MODELS: tuple[ModelSpec, ...] = (
    LIGHTGBM,
    XGBOOST,
    HIST_GB,
    RANDOM_FOREST,
    EXTRA_TREES,
    LINEAR,
    KNN,
    MLP,
)


def registry(extra: Iterable[ModelSpec] = ()) -> dict[str, ModelSpec]:
    """Name -> spec for the built-in families plus ``extra``; duplicate names are an error."""
    out: dict[str, ModelSpec] = {}
    for spec in (*MODELS, *extra):
        if spec.name in out:
            raise ValueError(f"Two model families share the name {spec.name!r}.")
        out[spec.name] = spec
    return out


__all__ = ["MODELS", "BuildContext", "ModelSpec", "registry"]
