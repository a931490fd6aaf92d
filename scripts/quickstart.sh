#!/usr/bin/env bash
# Set up the environment and run the main job on the embedded default: the AME console (TUI) on
# examples/quickstart, with tasks running on this machine and a project-local MLflow store.
set -euo pipefail
cd "$(dirname "$0")/.."
export MLFLOW_DISABLE_TELEMETRY=true
source scripts/setup_venv.sh ""  # no extras (an explicit argument: not this script's own)
export PATH="$PWD/.venv/bin:$PATH"
cd examples/quickstart
ame lint
if [ -t 1 ] && ame tui --help >/dev/null 2>&1; then
  exec ame tui "$@"
fi
# No terminal (CI, a pipe): show what would run instead of opening the console.
ame show --resolved
