#!/usr/bin/env bash
# Set up the environment and run the main job on the embedded default: the AME console (TUI) on
# examples/quickstart, with tasks running on this machine and a project-local MLflow store.
set -euo pipefail
cd "$(dirname "$0")/.."
export MLFLOW_DISABLE_TELEMETRY=true
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv || true
fi
if command -v uv >/dev/null 2>&1; then
  [ -x .venv/bin/python ] || uv venv --quiet --python 3.11 .venv
  uv pip install --quiet --compile-bytecode --python .venv/bin/python -e .
else
  [ -x .venv/bin/python ] || python3 -m venv .venv
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
