"""One record of library versions: an estimator's ``versions_``, model files, load warnings."""

from __future__ import annotations

import warnings
from importlib import metadata

import joblib
import pytest
from sklearn.dummy import DummyClassifier

from autometa import __version__, versions
from autometa.io import save_model
from autometa.versions import (
    CHECKED,
    LIBRARIES,
    changed_versions,
    library_versions,
    warn_if_changed,
)


def test_library_versions_records_autometa_and_its_libraries_none_when_absent(monkeypatch):
    found = library_versions()
    assert tuple(found) == LIBRARIES and found["autometa"] == __version__
    assert {"scikit-learn", "xgboost", "lightgbm", "smac", "ConfigSpace", "numpy",
            "pandas"} < set(found)
    real = metadata.version

    def without_xgboost(name: str) -> str:
        if name == "xgboost":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(versions.metadata, "version", without_xgboost)
    assert library_versions()["xgboost"] is None


def test_a_saved_model_file_stores_the_same_versions_as_a_fitted_model(tmp_path):
    path = tmp_path / "model.joblib"
    save_model(path, DummyClassifier(), target="y")
    bundle = joblib.load(path)
    assert bundle["versions"] == versions.library_versions()
    assert bundle["target"] == "y"


def test_only_the_libraries_loading_depends_on_are_compared():
    current = library_versions()
    assert set(CHECKED) <= set(LIBRARIES) and "smac" not in CHECKED
    fitted = {**current, "smac": "0.0.1", "ConfigSpace": "0.0.1", "numpy": "0.0.1"}
    assert changed_versions(fitted, current) == {"numpy": ("0.0.1", current["numpy"])}
    older = {k: current[k] for k in ("autometa", "scikit-learn", "xgboost", "lightgbm")}
    assert changed_versions(older, current) == {}  # what an older model did not record


def test_warn_if_changed_names_the_changed_libraries():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_changed(library_versions(), "AutoMetaClassifier")
        warn_if_changed(None, "AutoMetaClassifier")
    with pytest.warns(UserWarning, match=r"pandas 0\.1 -> "):
        warn_if_changed({**library_versions(), "pandas": "0.1"}, "AutoMetaClassifier")
