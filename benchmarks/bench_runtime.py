"""Runtime speed, printed side by side with the peer it is measured against.

1. Overhead of `ame task run` (local backend, follows the log to the end, MLflow run created and
   ended in the project's sqlite store) over running the same command directly in the same warm
   environment. Target: <= 0.3 s.
2. Set-up time of a `!pip` task whose requirements did not change (environment reused): from
   the run's start to its command's start. Target: <= 0.5 s. Also the first (creating) run.
3. Creating the quickstart's environment (examples/quickstart/requirements.txt) with uv and
   with pip, each into a fresh folder: without caches (everything downloaded from PyPI) and
   with warm caches. Prints each and the ratios. Takes minutes; skip with --no-env-creation.

    python benchmarks/bench_runtime.py [--repeat 10] [--no-env-creation]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = """project: bench_rt
tasks:
  - name: quick
    executor: !pip
      pythonVersion: "{version}"
      command: python -c "print('hello')"
"""


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        AME_CACHE_DIR=str(tmp / "cache"),
        AME_CONFIG_DIR=str(tmp / "config"),
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _ame(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )


def _last_record(project: Path) -> dict:
    runs = sorted((project / ".ame" / "runs").glob("*.json"))
    return json.loads(runs[-1].read_text())


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def bench_overhead(tmp: Path, repeat: int) -> None:
    project = tmp / "project"
    project.mkdir()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (project / "ame.yml").write_text(PROJECT.format(version=version))
    (project / "requirements.txt").write_text("# nothing to install\n")
    env = _env(tmp)
    first_start = time.perf_counter()
    _ame(project, env, "task", "run", "quick")  # creates the environment and the MLflow store
    first_wall = time.perf_counter() - first_start
    first = _last_record(project)
    print(
        f"first run (creates env + MLflow store): {first_wall:.2f} s wall, set-up "
        f"{first['extra']['command_started_at'] - first['started_at']:.2f} s"
    )
    env_bin = (tmp / "cache" / "envs").glob("*/bin/python")
    python = str(next(env_bin))
    direct, through_ame, setups = [], [], []
    for _ in range(repeat):
        direct.append(_timed([python, "-c", "print('hello')"], env, project))
        through_ame.append(
            _timed(
                [
                    sys.executable,
                    "-m",
                    "ame_cli",
                    "--project",
                    str(project),
                    "task",
                    "run",
                    "quick",
                ],
                env,
                project,
            )
        )
        record = _last_record(project)
        setups.append(record["extra"]["command_started_at"] - record["started_at"])
    d, a = statistics.median(direct), statistics.median(through_ame)
    print(f"\n1. `ame task run` overhead, warm environment ({repeat} runs, medians)")
    print(f"   direct command      {d * 1000:8.0f} ms")
    print(f"   ame task run        {a * 1000:8.0f} ms")
    print(
        f"   overhead            {(a - d) * 1000:8.0f} ms   (target <= 300 ms)   ratio {a / d:.1f}x"
    )
    nocache = dict(env, AME_NO_TASK_CACHE="1")
    fresh = statistics.median(
        _timed(
            [sys.executable, "-m", "ame_cli", "--project", str(project), "task", "run", "quick"],
            nocache,
            project,
        )
        for _ in range(max(3, repeat // 3))
    )
    print(
        f"   ame task run, project file read and checked again (changed file) "
        f"{fresh * 1000:.0f} ms  (overhead {(fresh - d) * 1000:.0f} ms)"
    )
    print("\n2. second `!pip` run, requirements unchanged: set-up (env reused)")
    print(
        f"   median {statistics.median(setups) * 1000:.0f} ms, max {max(setups) * 1000:.0f} ms"
        "   (target <= 500 ms)"
    )


def bench_env_creation(tmp: Path) -> None:
    requirements = ROOT / "examples" / "quickstart" / "requirements.txt"
    python = shutil.which(f"python{sys.version_info[0]}.{sys.version_info[1]}") or sys.executable
    cases = [
        ("uv, no cache (downloads all)", "uv", {"UV_NO_CACHE": "1"}),
        ("pip, no cache (downloads all)", "pip", {"PIP_NO_CACHE_DIR": "1"}),
        ("uv, warm cache", "uv", {}),
        ("pip, filling its cache", "pip", {}),
        ("pip, warm cache", "pip", {}),
    ]
    results: dict[str, float] = {}
    for label, tool, extra in cases:
        env = {**_env(tmp), "AME_ENV_TOOL": tool, **extra}
        target = tmp / "env-bench"
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ame_core.runtime.envs",
                "--python",
                python,
                "--requirements",
                str(requirements),
                "--dir",
                str(target),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - start
        shutil.rmtree(target, ignore_errors=True)
        if proc.returncode != 0:
            print(f"   {label}: failed ({proc.stdout[-300:]}{proc.stderr[-300:]})")
            continue
        results[label] = took
    print(
        f"\n3. creating the quickstart environment ({requirements.name}: "
        f"{', '.join(requirements.read_text().split())})"
    )
    for label, took in results.items():
        print(f"   {label:32s} {took:7.1f} s")
    pairs = [
        ("no caches", "pip, no cache (downloads all)", "uv, no cache (downloads all)"),
        ("warm caches", "pip, warm cache", "uv, warm cache"),
    ]
    for what, pip_case, uv_case in pairs:
        if pip_case in results and uv_case in results:
            print(f"   pip / uv, {what}: {results[pip_case] / results[uv_case]:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-env-creation", action="store_true")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (figures are wall times)")
    with tempfile.TemporaryDirectory(prefix="ame-bench-") as raw:
        tmp = Path(raw)
        bench_overhead(tmp, args.repeat)
        if not args.no_env_creation:
            bench_env_creation(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
