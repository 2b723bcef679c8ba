#!/usr/bin/env bash
# Set up a local virtual environment in .venv with govtargets and its dev tools.
# Idempotent: a second run only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first and pinned: the constraints file keeps every later resolver step on this build.
.venv/bin/python -m pip install --quiet -c constraints.txt "torch==2.13.0"
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
echo "govtargets is installed in .venv (run .venv/bin/govtargets --help)"
