"""The library versions a model was fitted with, checked again when it is loaded.

:func:`library_versions` is the one record of them: a fitted estimator keeps it as
``versions_`` and :func:`autometa.io.save_model` stores it in the model file.
"""

from __future__ import annotations

import warnings
from importlib import metadata

LIBRARIES = ("autometa", "scikit-learn", "xgboost", "lightgbm", "smac", "ConfigSpace", "numpy",
             "pandas")
# What unpickling a fitted pipeline depends on: the search libraries (smac, ConfigSpace)
# are recorded but play no part in loading a model or predicting with it.
CHECKED = ("autometa", "scikit-learn", "xgboost", "lightgbm", "numpy", "pandas")


def library_versions() -> dict[str, str | None]:
    """Installed versions of autometa and the libraries its fit and its models depend on.

    Returns
    -------
    dict
        Distribution name to version for each of :data:`LIBRARIES`, in that order
        (``None`` for a library that is not installed).
    """
    import autometa  # fully imported by the time this runs

    versions: dict[str, str | None] = {"autometa": autometa.__version__}
    for name in LIBRARIES[1:]:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def changed_versions(fitted: dict[str, str | None],
                     current: dict[str, str | None]) -> dict[str, tuple[str | None, str | None]]:
    """The libraries a loaded model depends on whose version differs from its fit.

    Only the libraries of :data:`CHECKED` count (autometa, scikit-learn, xgboost,
    lightgbm, numpy, pandas: what unpickling a fitted pipeline and predicting with it
    depend on; smac and ConfigSpace only run the search). A library that ``fitted`` does
    not record (a model from an autometa that recorded fewer) is not compared.

    Parameters
    ----------
    fitted : dict
        The versions recorded at fit time (e.g. an estimator's ``versions_``).
    current : dict
        The versions installed now (see :func:`library_versions`).

    Returns
    -------
    dict
        ``{library: (fitted version, current version)}`` for the libraries that differ.
    """
    return {name: (fitted.get(name), current.get(name))
            for name in CHECKED if name in fitted and fitted.get(name) != current.get(name)}


def warn_if_changed(fitted: dict[str, str | None] | None, estimator_name: str) -> None:
    """Warn (``UserWarning``) when a model fitted with ``fitted`` versions is loaded here.

    Parameters
    ----------
    fitted : dict or None
        The versions recorded at fit time; ``None`` (not recorded) warns about nothing.
    estimator_name : str
        The estimator's class name, for the message.

    See Also
    --------
    changed_versions : which libraries are compared.
    """
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
