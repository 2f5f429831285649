"""Fit AutoMetaClassifier on scikit-learn's breast-cancer data and report test scores.

Also writes a report of the search (report.json and PNG plots) into ./quickstart_report.

Usage: python examples/quickstart.py [TIME_BUDGET_SECONDS]
"""

import sys

from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from autometa import AutoMetaClassifier
from autometa.report import write_report

budget = float(sys.argv[1]) if len(sys.argv) > 1 else 30
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

clf = AutoMetaClassifier(time_budget=budget, random_state=0, verbose=1)  # progress on stderr
clf.fit(X_train, y_train)

print(clf.leaderboard().head(10).drop(columns=["config", "error"]).to_string(index=False))
print(f"\nfit took {clf.fit_time_:.1f} s for a budget of {budget:.0f} s")
print(f"test ROC AUC:  {roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1]):.4f}")
print(f"test accuracy: {accuracy_score(y_test, clf.predict(X_test)):.4f}")

report = write_report(clf, "quickstart_report")  # plots need matplotlib (autometa[plots])
print(f"report: {', '.join(str(p) for p in (report.json_path, *report.plots))}")
