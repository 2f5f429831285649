#!/usr/bin/env bash
# The autometa command line, end to end: write CSV and Parquet files, fit, predict, inspect.
#
# Usage: bash examples/command_line.sh [TIME_BUDGET_SECONDS] [WORK_DIR]
# Needs the `autometa` command on PATH (pip install autometa, or activate .venv).
set -euo pipefail

budget="${1:-30}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
echo "working in $work"

# A wine table with string labels and a few missing values, split into training rows (CSV)
# and new rows without the label (CSV and Parquet).
python - <<'PY'
import numpy as np
from sklearn.datasets import load_wine

data = load_wine(as_frame=True)
frame = data.frame.rename(columns={"target": "cultivar"})
frame["cultivar"] = frame["cultivar"].map(dict(enumerate(["barolo", "grignolino", "barbera"])))
rng = np.random.default_rng(0)
frame.loc[rng.random(len(frame)) < 0.05, "alcohol"] = np.nan
frame = frame.sample(frac=1.0, random_state=0)
frame.iloc[:140].to_csv("wine_train.csv", index=False)
frame.iloc[140:].drop(columns="cultivar").to_csv("wine_new.csv", index=False)
frame.iloc[140:].drop(columns="cultivar").to_parquet("wine_new.parquet", index=False)
PY

# The meta-features autometa describes this dataset with (JSON on stdout).
autometa metafeatures wine_train.csv --target cultivar > wine_metafeatures.json
head -n 4 wine_metafeatures.json

# Fit (the task is inferred from the target and printed; progress goes to stderr, --quiet
# turns it off); save the model, and a report: report.json and three PNG plots.
autometa fit wine_train.csv --target cultivar --time-budget "$budget" --seed 0 \
    -o wine.joblib --report wine_report

ls wine_report

# Predict labels and class probabilities for rows without the target column, one row per
# input row in input order. Without -o the CSV goes to stdout.
autometa predict wine.joblib wine_new.csv -o predictions.csv
autometa predict wine.joblib wine_new.parquet --proba > probabilities.csv
head -n 4 predictions.csv probabilities.csv

# What was tried, and what the model is (task, budget used, trials, ensemble members and
# weights, meta-features, library versions). Ctrl-C during `autometa fit` ends the search
# early and still saves the best model found so far.
autometa leaderboard wine.joblib --top 5
autometa info wine.joblib
