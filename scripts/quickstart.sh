#!/usr/bin/env bash
# Set up the environment and run the main job on the embedded default: the AME console (TUI) on
# examples/quickstart, with tasks running on this machine and a project-local MLflow store.
set -euo pipefail
cd "$(dirname "$0")/.."
export MLFLOW_DISABLE_TELEMETRY=true
# uv: on PATH, else the one in .venv, else installed into .venv (never into the system Python).
uv="$(command -v uv || true)"
[ -n "$uv" ] || [ ! -x .venv/bin/uv ] || uv="$PWD/.venv/bin/uv"
if [ ! -x .venv/bin/python ]; then
  if [ -n "$uv" ]; then "$uv" venv --quiet --python 3.11 .venv; else python3 -m venv .venv; fi
fi
if [ -z "$uv" ] && .venv/bin/python -m pip install --quiet --disable-pip-version-check uv; then
  uv="$PWD/.venv/bin/uv"
fi
if [ -n "$uv" ]; then
  "$uv" pip install --quiet --compile-bytecode --python .venv/bin/python -e .
else
  .venv/bin/python -m pip install --quiet -e .
fi
export PATH="$PWD/.venv/bin:$PATH"
cd examples/quickstart
ame lint
if [ -t 1 ] && ame tui --help >/dev/null 2>&1; then
  exec ame tui "$@"
fi
# No terminal (CI, a pipe): show what would run instead of opening the console.
ame show --resolved
