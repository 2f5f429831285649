"""The library versions a model was fitted with, checked again when it is loaded."""

from __future__ import annotations

import warnings
from importlib import metadata

LIBRARIES = ("autometa", "scikit-learn", "xgboost", "lightgbm")


def library_versions() -> dict[str, str | None]:
    """Installed version of each library the fitted pipelines depend on (``None``: absent)."""
    from autometa import __version__  # the package is fully imported by the time this runs

    versions: dict[str, str | None] = {"autometa": __version__}
    for name in LIBRARIES[1:]:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def changed_versions(fitted: dict[str, str | None],
                     current: dict[str, str | None]) -> dict[str, tuple[str | None, str | None]]:
    """``{library: (fitted version, current version)}`` for the libraries that differ."""
    return {name: (fitted.get(name), current.get(name))
            for name in LIBRARIES if fitted.get(name) != current.get(name)}


def warn_if_changed(fitted: dict[str, str | None] | None, estimator_name: str) -> None:
    """Warn (``UserWarning``) when a model fitted with ``fitted`` versions is loaded here."""
    if fitted is None:
        return
    changed = changed_versions(fitted, library_versions())
    if not changed:
        return
    detail = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changed.items())
    warnings.warn(
        f"This {estimator_name} was fitted with other library versions than the ones "
        f"installed now ({detail}); its predictions may differ or fail. Install the versions "
        "it was fitted with, or fit it again.",
        UserWarning,
        stacklevel=3,
    )
