"""Flow overhead: the quickstart's train → validate → deploy, minus the time spent inside the
two tasks and the model server's start. Target: <= 3 s.

Each round runs `ame model train logreg` (autoDeploy) as a user types it, on a copy of
examples/quickstart whose `!pip` environment and local MLflow server are warm, and splits its wall
time with the flow's record: the training and validation runs (supervisor start to end, as their
run records say) and the serving start (the new `mlflow models serve` process's spawn to ready).
What is left is what ame adds: the client, the driver, step bookkeeping, polling, registry calls.

    python benchmarks/bench_flows.py [--rounds 3] [--cache-dir DIR]
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


def _env(cache: Path, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        AME_CACHE_DIR=str(cache),
        AME_CONFIG_DIR=str(tmp / "config"),
    )
    for key in ("MLFLOW_TRACKING_URI", "AME_BACKEND", "MLFLOW_RUN_ID"):
        env.pop(key, None)
    return env


def _ame(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=env,
    )


def _newest_flow(project: Path) -> dict:
    paths = sorted((project / ".ame" / "flows").glob("flow-*.json"))
    return json.loads(paths[-1].read_text())


def _run(project: Path, run_id: str) -> dict:
    return json.loads((project / ".ame" / "runs" / f"{run_id}.json").read_text())


def _serving_start(project: Path, version: str) -> float:
    """Spawn → ready of the version's model server, from the serving state and its log name."""
    state = json.loads((project / ".ame" / "serving" / "logreg.json").read_text())
    server = state["server"]
    assert str(server["version"]) == version, state
    return float(state["deployed_at"]) - float(server["started_at"])


def one_round(project: Path, env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    done = _ame(project, env, "model", "train", "logreg", "--quiet")
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ame model train failed:\n{done.stderr}")
    flow = _newest_flow(project)
    steps = {s["name"]: s for s in flow["steps"]}
    runs = [_run(project, steps[name]["run_id"]) for name in ("train", "validate")]
    in_tasks = sum(r["ended_at"] - r["started_at"] for r in runs)
    serving = _serving_start(project, flow["params"]["version"])
    return {
        "wall": wall,
        "tasks": in_tasks,
        "serving": serving,
        "overhead": wall - in_tasks - serving,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache-dir", help="environment cache to reuse (default: a temp one)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-flows-"))
    cache = Path(args.cache_dir) if args.cache_dir else tmp / "cache"
    project = tmp / "quickstart"
    shutil.copytree(
        ROOT / "examples" / "quickstart", project, ignore=shutil.ignore_patterns(".ame")
    )
    env = _env(cache, tmp)
    try:
        print("warming up: the !pip environment, the local MLflow server, a first version …")
        warm = _ame(project, env, "model", "train", "logreg", "--quiet")
        if warm.returncode != 0:
            raise SystemExit(f"warm-up failed:\n{warm.stderr}")
        rounds = [one_round(project, env) for _ in range(args.rounds)]
    finally:
        _ame(project, env, "model", "undeploy", "logreg")
        _ame(project, env, "mlflow", "stop")
    print(f"\n{'round':<6} {'wall s':>8} {'in tasks s':>11} {'serving s':>10} {'overhead s':>11}")
    for i, r in enumerate(rounds, 1):
        print(
            f"{i:<6} {r['wall']:>8.2f} {r['tasks']:>11.2f} {r['serving']:>10.2f} "
            f"{r['overhead']:>11.2f}"
        )
    median = statistics.median(r["overhead"] for r in rounds)
    verdict = "meets" if median <= 3.0 else "MISSES"
    print(f"\nflow overhead (median of {len(rounds)}): {median:.2f} s — {verdict} the 3 s target")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
