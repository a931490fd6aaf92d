"""Python interpreters and cached virtual environments for the `!pip` executor.

An environment is keyed by the content of requirements.txt and the interpreter's version and
lives in `<cache>/envs/<key>` (`AME_CACHE_DIR`, else `$XDG_CACHE_HOME/ame`, else `~/.cache/ame`).
It is built in place under a file lock and counts as ready only once its completion marker
exists, so a half-built environment (a killed run) is rebuilt, never reused.

Run as `python -m ame_core.runtime.envs --python P --requirements R --dir D` by a run's
supervisor: the output goes into the run's log.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ame_core.runtime import filelock

MARKER = ".ame-complete"


class InterpreterError(Exception):
    """No interpreter matches a task's pythonVersion; the message names what is installed."""


def cache_dir() -> Path:
    if os.environ.get("AME_CACHE_DIR"):
        return Path(os.environ["AME_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ame"


def _probe(exe: str) -> str | None:
    try:
        out = subprocess.run(
            [exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", text) else None


def _is_binary(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


@functools.lru_cache(maxsize=64)
def interpreter_version(exe: str) -> str | None:
    """'3.11.7' for a working interpreter, None for anything else (e.g. a dangling shim).

    Remembered on disk per real path and modification time: starting an interpreter to ask
    costs tens of milliseconds on every run otherwise."""
    import json

    try:
        real = os.path.realpath(exe)
        stamp = f"{real}:{os.stat(real).st_mtime_ns}"
    except OSError:
        return None
    memo = cache_dir() / "interpreters.json"
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if stamp in known:
        return known[stamp]
    version = _probe(exe)
    if version and _is_binary(real):  # never a script (a pyenv shim can change its answer)
        known[stamp] = version
        try:
            from ame_core.atomic_files import atomic_write

            atomic_write(memo, json.dumps(known, indent=1, sort_keys=True))
        except OSError:
            pass
    return version


def _matches(version: str, wanted: str) -> bool:
    return version == wanted or version.startswith(wanted + ".")


def _uv_find(wanted: str) -> str | None:
    uv = shutil.which("uv")
    if not uv:
        return None
    try:
        out = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", wanted],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    path = out.stdout.strip()
    return path if out.returncode == 0 and path else None


def installed_pythons() -> list[tuple[str, str]]:
    """(version, path) of the Python interpreters on PATH, for error messages."""
    found: dict[str, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if re.fullmatch(r"python3(\.\d+)?", name):
                path = os.path.join(folder, name)
                version = interpreter_version(path)
                if version and version not in found:
                    found[version] = path
    return sorted(found.items(), key=lambda kv: [int(p) for p in kv[0].split(".")])


@functools.lru_cache(maxsize=16)
def find_python(wanted: str) -> tuple[str, str]:
    """(path, full version) of an interpreter for pythonVersion `wanted` ('3.11')."""
    wanted = str(wanted).strip()
    if not re.fullmatch(r"\d+(\.\d+){0,2}", wanted):
        raise InterpreterError(f"pythonVersion {wanted!r} is not a version like 3.11")
    current = ".".join(str(p) for p in sys.version_info[:3])
    parts = wanted.split(".")
    if _matches(current, wanted):
        # The interpreter running ame fits: no need to start one to ask (a pyenv shim alone
        # costs ~0.4 s). Its base, not a virtual environment's copy.
        base = getattr(sys, "_base_executable", None) or sys.executable
        return (base if os.path.exists(base) else sys.executable), current
    candidates = []
    if len(parts) >= 2:
        candidates.append(shutil.which(f"python{parts[0]}.{parts[1]}"))
    candidates.append(shutil.which(f"python{parts[0]}"))
    for exe in candidates:
        if exe:
            version = interpreter_version(exe)
            if version and _matches(version, wanted):
                return exe, version
    exe = _uv_find(wanted)
    if exe:
        version = interpreter_version(exe)
        if version and _matches(version, wanted):
            return exe, version
    have = ", ".join(f"{v} ({p})" for v, p in installed_pythons()) or "none found on PATH"
    raise InterpreterError(
        f"pythonVersion {wanted}: no Python {wanted} on this machine "
        f"(looked for python{'.'.join(parts[:2])} on PATH and `uv python find`); "
        f"installed: {have}"
    )


def env_key(requirements: bytes, python_version: str) -> str:
    digest = hashlib.sha256()
    digest.update(requirements)
    digest.update(b"\0cpython-" + python_version.encode())
    return digest.hexdigest()[:20]


def env_dir_for(requirements_file: Path, python_version: str) -> Path:
    try:
        content = requirements_file.read_bytes()
    except FileNotFoundError:
        content = b""
    return cache_dir() / "envs" / env_key(content, python_version)


def is_ready(env_dir: Path) -> bool:
    return (env_dir / MARKER).is_file() and (env_dir / "bin" / "python").exists()


def env_tool() -> str:
    forced = os.environ.get("AME_ENV_TOOL")
    if forced in ("uv", "pip"):
        return forced
    return "uv" if shutil.which("uv") else "pip"


def _has_requirements(path: Path) -> bool:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    return any(line.strip() and not line.strip().startswith("#") for line in lines)


def _run(cmd: list[str]) -> None:
    print("[ame] $ " + " ".join(cmd), flush=True)
    code = subprocess.call(cmd)
    if code != 0:
        raise SystemExit(f"[ame] environment set-up failed: {cmd[0]} exited with {code}")


def ensure_env(python: str, requirements: Path, env_dir: Path) -> None:
    with filelock.exclusive(Path(f"{env_dir}.lock")):
        if is_ready(env_dir):
            print(f"[ame] reusing environment {env_dir}", flush=True)
            return
        if env_dir.exists():
            print(f"[ame] removing the unfinished environment {env_dir}", flush=True)
            shutil.rmtree(env_dir)
        tool = env_tool()
        print(f"[ame] creating environment {env_dir} with {tool}", flush=True)
        env_python = str(env_dir / "bin" / "python")
        if tool == "uv":
            uv = shutil.which("uv") or "uv"
            # --seed: pip in the environment, as `python -m venv` gives (MLflow looks for it);
            # without it where pip cannot be had (offline, nothing cached).
            seeded = [uv, "venv", "--quiet", "--seed", "--python", python, str(env_dir)]
            print("[ame] $ " + " ".join(seeded), flush=True)
            if subprocess.call(seeded) != 0:
                shutil.rmtree(env_dir, ignore_errors=True)
                _run([uv, "venv", "--quiet", "--python", python, str(env_dir)])
            if _has_requirements(requirements):
                _run([uv, "pip", "install", "--python", env_python, "-r", str(requirements)])
        else:
            _run([python, "-m", "venv", str(env_dir)])
            if _has_requirements(requirements):
                _run(
                    [
                        env_python,
                        "-m",
                        "pip",
                        "install",
                        "--disable-pip-version-check",
                        "-r",
                        str(requirements),
                    ]
                )
        (env_dir / MARKER).write_text(requirements.read_text() if requirements.exists() else "")


class EnvBuildError(Exception):
    """An environment could not be built; the message is the cause (uv's or pip's own words)."""


def build_cause(log: str) -> str:
    """The line of an environment build's output that says why it failed: uv's `cause:`
    (or `╰─▶`) line, else its `error:` line, else pip's `ERROR:` line, else the last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for prefix in ("cause:", "╰─▶", "error:", "ERROR:"):
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return found[0].removeprefix(prefix).strip()
    return lines[-1] if lines else "the environment set-up failed with no output"


def requirements_env(
    python: str,
    python_version: str,
    requirements: str,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> tuple[Path, bool]:
    """The cached environment for `requirements` (their text) on `python`: (its dir, reused?).

    A ready one is found without starting a process (a second deploy takes milliseconds);
    otherwise `python -m ame_core.runtime.envs` builds it under the same lock and marker as
    task environments, its output appended to `log_path`. EnvBuildError carries the cause."""
    content = requirements.encode()
    env_dir = cache_dir() / "envs" / env_key(content, python_version)
    if is_ready(env_dir):
        return env_dir, True
    req_file = cache_dir() / "envs" / f"{env_dir.name}.requirements.txt"
    req_file.parent.mkdir(parents=True, exist_ok=True)
    from ame_core.atomic_files import atomic_write

    atomic_write(req_file, requirements)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = log_path.stat().st_size if log_path.exists() else 0
    argv = [sys.executable, "-m", "ame_core.runtime.envs", "--python", python]
    argv += ["--requirements", str(req_file), "--dir", str(env_dir)]
    with open(log_path, "ab") as log:
        code = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    if code != 0 or not is_ready(env_dir):
        with open(log_path, "rb") as log:
            log.seek(start)
            raise EnvBuildError(build_cause(log.read().decode(errors="replace")))
    return env_dir, False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ame_core.runtime.envs")
    parser.add_argument("--python", required=True)
    parser.add_argument("--requirements", required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    ensure_env(args.python, Path(args.requirements), Path(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
