"""Control-plane speed: how fast a look at the project answers, side by side with the peer.

On a copy of examples/quickstart trained once (`ame model train logreg`: a version, validated
and served), with the project's local MLflow server warm:

1. `ame model status logreg --no-health` and `ame model status logreg` (with the endpoint's
   health), whole processes, against a fresh `python -c` that asks the same of the same server
   with `mlflow.MlflowClient` (search_model_versions + get_registered_model + get_run of each
   version for its metrics). Target: <= 0.6 s median and >= 4x faster than the peer.
2. `ame runs` and `ame task list`, whole processes. Target: <= 0.3 s median.

    python benchmarks/bench_control.py [--runs 7] [--project DIR]

`--project DIR` reuses a quickstart copy trained before (kept with `--keep`); the server and
the served model are stopped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "logreg"

PEER = """
from mlflow import MlflowClient
c = MlflowClient(tracking_uri={uri!r}, registry_uri={uri!r})
versions = c.search_model_versions("name='{model}'")
c.get_registered_model({model!r})
for v in sorted(versions, key=lambda v: -int(v.version))[:25]:
    if v.run_id:
        c.get_run(v.run_id).data.metrics
print(len(versions))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for key in ("MLFLOW_TRACKING_URI", "AME_BACKEND", "MLFLOW_RUN_ID", "AME_RUN_ID"):
        env.pop(key, None)
    # As a user's shell has it: bytecode cached (some sandboxes set this; it adds ~0.1 s to
    # every process of ame and of the peer alike).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _ame(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if check and result.returncode != 0:
        raise SystemExit(f"ame {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return result


def _median(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, env=_env())
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:6])} … failed: {result.stderr.strip()[-500:]}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--project", type=Path, help="a quickstart copy trained before")
    parser.add_argument("--keep", action="store_true", help="keep the project, server, model")
    args = parser.parse_args()

    if args.project:
        project = args.project.resolve()
    else:
        project = Path(tempfile.mkdtemp(prefix="bench-control-")) / "quickstart"
        shutil.copytree(
            ROOT / "examples" / "quickstart",
            project,
            ignore=shutil.ignore_patterns(".ame", ".venv", "mlruns", "mlflow.db"),
        )
    try:
        if not (project / ".ame" / "mlflow.db").exists():
            print(f"training {MODEL} once in {project} (creates its environment) …", flush=True)
            start = time.perf_counter()
            _ame(project, "model", "train", MODEL)
            print(f"  trained, validated and deployed in {time.perf_counter() - start:.0f} s")
        from ame_core.tracking_server import ensure

        uri = ensure(project, announce=False)  # warm
        ame = [sys.executable, "-m", "ame_cli", "--project", str(project)]
        for argv in (
            [*ame, "model", "status", MODEL, "--no-health"],
            [*ame, "runs"],
            [*ame, "task", "list"],
        ):
            _median(argv, 1)  # page cache, .pyc files
        status = _median([*ame, "model", "status", MODEL, "--no-health"], args.runs)
        status_health = _median([*ame, "model", "status", MODEL], args.runs)
        peer = _median(
            [sys.executable, "-c", PEER.format(uri=uri, model=MODEL)],
            args.runs,
        )
        runs = _median([*ame, "runs"], args.runs)
        tasks = _median([*ame, "task", "list"], args.runs)
    finally:
        if not args.keep:
            _ame(project, "model", "undeploy", MODEL, check=False)
            _ame(project, "mlflow", "stop", check=False)

    print(f"\nmedians of {args.runs} whole processes, server warm ({uri})")
    print(f"{'measure':<44} {'median':>8}  target")
    rows = [
        ("ame model status logreg --no-health", status, "<= 0.6 s"),
        ("ame model status logreg (with health)", status_health, "<= 0.6 s"),
        ("peer: python -c MlflowClient, same query", peer, ""),
        ("ame runs", runs, "<= 0.3 s"),
        ("ame task list", tasks, "<= 0.3 s"),
    ]
    for name, value, target in rows:
        print(f"{name:<44} {value:>7.3f}s  {target}")
    print(
        f"\npeer / ame model status: {peer / status:.1f}x (--no-health), "
        f"{peer / status_health:.1f}x (with health); target >= 4x"
    )
    if args.keep:
        print(f"kept: {project} (rerun with --project {project})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
