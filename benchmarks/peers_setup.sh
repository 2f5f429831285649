#!/usr/bin/env bash
# Create the virtual environments of the peer AutoML systems that benchmarks/compare.py runs
# when present: .venv-flaml (FLAML) and .venv-autogluon (AutoGluon-Tabular). Each gets its own
# venv because their version pins (numpy, pandas, scikit-learn, LightGBM) differ from autometa's.
#
# Usage (from the repository root):
#   bash benchmarks/peers_setup.sh               # both
#   bash benchmarks/peers_setup.sh flaml         # only one of them
#   AUTOGLUON_LIGHT=1 bash benchmarks/peers_setup.sh autogluon   # without PyTorch (no NN models)
#
# AutoGluon's neural-network models need PyTorch; the CPU build is taken from PyTorch's own
# index (https://download.pytorch.org/whl/cpu) so that pip does not fetch the CUDA wheels; when
# that index is unreachable, AutoGluon is installed without PyTorch (as with AUTOGLUON_LIGHT=1).
# Versions are left to pip (newest compatible); compare.py records the versions it ran.
set -euo pipefail

PYTHON=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WANTED=${*:-flaml autogluon}

make_venv() {  # make_venv DIR: a fresh venv with an up-to-date pip, ignored by git
    "$PYTHON" -m venv "$1"
    echo "*" > "$1/.gitignore"
    "$1/bin/python" -m pip install -q --upgrade pip
}

reachable() {  # reachable URL: can this machine fetch from URL (10 s timeout)?
    "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)" \
        "$1" >/dev/null 2>&1
}

for peer in $WANTED; do
    case "$peer" in
    flaml)
        make_venv "$ROOT/.venv-flaml"
        "$ROOT/.venv-flaml/bin/python" -m pip install -q "flaml[automl]" pyarrow psutil
        "$ROOT/.venv-flaml/bin/python" -c "import flaml; print('flaml', flaml.__version__)"
        ;;
    autogluon)
        make_venv "$ROOT/.venv-autogluon"
        if [ -z "${AUTOGLUON_LIGHT:-}" ] && ! reachable https://download.pytorch.org/whl/cpu/; then
            echo "download.pytorch.org is not reachable: installing AutoGluon without PyTorch" \
                 "(no neural-network models; AUTOGLUON_LIGHT=1)" >&2
            AUTOGLUON_LIGHT=1
        fi
        if [ -n "${AUTOGLUON_LIGHT:-}" ]; then
            "$ROOT/.venv-autogluon/bin/python" -m pip install -q \
                "autogluon.tabular[lightgbm,catboost,xgboost]" pyarrow
        else
            "$ROOT/.venv-autogluon/bin/python" -m pip install -q \
                --extra-index-url https://download.pytorch.org/whl/cpu \
                "autogluon.tabular[all]" pyarrow
        fi
        "$ROOT/.venv-autogluon/bin/python" -c \
            "import autogluon.tabular as t; print('autogluon.tabular', t.__version__)"
        ;;
    *)
        echo "unknown peer: $peer (expected flaml or autogluon)" >&2
        exit 2
        ;;
    esac
done
