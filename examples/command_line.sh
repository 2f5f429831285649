#!/usr/bin/env bash
# The autometa command line, end to end: write a CSV, fit, predict, inspect.
#
# Usage: bash examples/command_line.sh [TIME_BUDGET_SECONDS] [WORK_DIR]
# Needs the `autometa` command on PATH (pip install autometa, or activate .venv).
set -euo pipefail

budget="${1:-30}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
echo "working in $work"

# A wine table with string labels and a few missing values, split into train and new rows.
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
PY

# Fit (the task is inferred from the target and printed); save the model and a report.
autometa fit wine_train.csv --target cultivar --time-budget "$budget" --seed 0 \
    -o wine.joblib --report wine_report

# Predict labels and class probabilities for rows without the target column.
# Without -o the CSV goes to stdout.
autometa predict wine.joblib wine_new.csv -o predictions.csv
autometa predict wine.joblib wine_new.csv --proba > probabilities.csv
head -n 4 predictions.csv probabilities.csv

# What was tried, and what the model is.
autometa leaderboard wine.joblib --top 5
autometa info wine.joblib
