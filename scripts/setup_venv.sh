# Sourced by quickstart.sh and test.sh (from the repository root): `.venv` with ame installed,
# extras in $1 (e.g. "[test]"). uv: on PATH, else the one in .venv, else installed into .venv
# (never into the system Python); pip when uv cannot be had.
uv="$(command -v uv || true)"
[ -n "$uv" ] || [ ! -x .venv/bin/uv ] || uv="$PWD/.venv/bin/uv"
if [ ! -x .venv/bin/python ]; then
  if [ -n "$uv" ]; then "$uv" venv --quiet --python 3.11 .venv; else python3 -m venv .venv; fi
fi
if [ -z "$uv" ] && .venv/bin/python -m pip install --quiet --disable-pip-version-check uv; then
  uv="$PWD/.venv/bin/uv"
fi
if [ -n "$uv" ]; then
  "$uv" pip install --quiet --compile-bytecode --python .venv/bin/python -e ".${1:-}"
else
  .venv/bin/python -m pip install --quiet -e ".${1:-}"
fi
