"""Team policies (issue 16), each figure beside the same work without them.

1. `ame lint` of the quickstart as a whole process, without a policy and with a 20-rule policy
   (`--policy`), alternating; with the policy both cold (an empty cache directory: jsonschema is
   imported, the policy compiled and evaluated) and warm (the results of the same project and
   policy read back from the cache). Target: ≤ 20 ms added.
2. The language server's per-edit diagnostics round on the generated 13,000-line file: the
   incremental re-check of one edited task (`ame_lsp.incremental.recheck`, what the server runs
   after each edit) with and without the policy; the full first check beside it. Target: ≤ 10 ms
   added per edit.

    python benchmarks/bench_policy.py [--repeat N]
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

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from generate import generate_project  # noqa: E402

# Twenty rules, each one entry of `allOf`, of the kinds platform teams write.
_TASK_RULES = [
    {"required": ["resources"]},
    {"properties": {"resources": {"properties": {"cpu": {"x-ame-maxQuantity": "16"}}}}},
    {"properties": {"resources": {"properties": {"memory": {"x-ame-maxQuantity": "64Gi"}}}}},
    {"properties": {"resources": {"properties": {"memory": {"x-ame-minQuantity": "128Mi"}}}}},
    {"properties": {"resources": {"properties": {"storage": {"x-ame-maxQuantity": "1Ti"}}}}},
    {"properties": {"resources": {"propertyNames": {"not": {"enum": ["nvidia.com/gpu"]}}}}},
    {"properties": {"name": {"pattern": "^[a-z][a-z0-9_]*$", "maxLength": 63}}},
    {
        "properties": {
            "executor": {
                "properties": {
                    "pip": {"properties": {"pythonVersion": {"enum": ["3.10", "3.11", "3.12"]}}},
                    "poetry": {"properties": {"pythonVersion": {"enum": ["3.10", "3.11", "3.12"]}}},
                }
            }
        }
    },
    {
        "properties": {
            "executor": {
                "properties": {
                    "docker": {"properties": {"image": {"pattern": "^registry\\.corp/"}}}
                }
            }
        }
    },
    {
        "properties": {
            "environment": {"items": {"properties": {"key": {"pattern": "^[A-Z][A-Z0-9_]*$"}}}}
        }
    },
    {"properties": {"environment": {"maxItems": 50}}},
]
_MODEL_RULES = [
    {
        "if": {
            "required": ["deployment"],
            "properties": {"deployment": {"properties": {"autoDeploy": {"const": True}}}},
        },
        "then": {"required": ["validation"]},
    },
    {"properties": {"deployment": {"properties": {"serving": {"enum": ["mlflow", "mlserver"]}}}}},
    {"properties": {"deployment": {"properties": {"replicas": {"minimum": 1, "maximum": 10}}}}},
    {
        "properties": {
            "deployment": {
                "properties": {
                    "resources": {"properties": {"memory": {"x-ame-maxQuantity": "32Gi"}}}
                }
            }
        }
    },
    {"properties": {"name": {"pattern": "^[a-z][a-z0-9_-]*$"}}},
]
_PROJECT_RULES = [
    {"properties": {"project": {"pattern": "^[a-z][a-z0-9_-]*$"}}},
    {"properties": {"tasks": {"maxItems": 5000}}},
    {
        "properties": {
            "dataSets": {"items": {"properties": {"size": {"x-ame-maxQuantity": "10Ti"}}}}
        }
    },
    {"properties": {"dataSets": {"items": {"required": ["path"]}}}},
]


def policy_20() -> dict:
    rules = [{"properties": {"tasks": {"items": r}}} for r in _TASK_RULES]
    rules += [{"properties": {"models": {"items": r}}} for r in _MODEL_RULES]
    rules += _PROJECT_RULES
    assert len(rules) == 20
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": rules}


def _lint_ms(project: Path, extra: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ame_cli", "lint", *extra, str(project / "ame.yml")],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert done.returncode == 0, done.stdout + done.stderr
    return elapsed


def bench_lint(repeat: int, work: Path) -> None:
    project = work / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", project)
    shutil.rmtree(project / ".ame-policy")  # the baseline has no policy at all
    (project / ".git").mkdir()
    policy = work / "policy20.yaml"
    policy.write_text(yaml.safe_dump(policy_20(), sort_keys=False))
    env = {**os.environ, "AME_CACHE_DIR": str(work / "cache")}
    env.pop("AME_POLICY", None)
    with_policy = ["--policy", str(policy)]
    for _ in range(2):  # warm the OS caches and the results cache
        _lint_ms(project, [], env)
        _lint_ms(project, with_policy, env)
    plain, warm, cold = [], [], []
    for i in range(repeat):
        plain.append(_lint_ms(project, [], env))
        warm.append(_lint_ms(project, with_policy, env))
        cold_env = {**env, "AME_CACHE_DIR": str(work / f"cold{i}")}
        cold.append(_lint_ms(project, with_policy, cold_env))
    p, w, c = (statistics.median(x) for x in (plain, warm, cold))
    print(f"ame lint quickstart, whole process, median of {repeat} (alternating):")
    print(f"  no policy                         {p:7.1f} ms")
    print(f"  20-rule policy, results cached    {w:7.1f} ms   (+{w - p:.1f} ms)")
    print(f"  20-rule policy, cold cache        {c:7.1f} ms   (+{c - p:.1f} ms)")
    # The same in one process, where a shared machine's noise is smaller than the difference.
    from ame_core import engine
    from ame_core.policy import check, loading
    from ame_core.policy.loading import PolicySource
    from ame_core.workspace import FileWorkspace

    os.environ["AME_CACHE_DIR"] = env["AME_CACHE_DIR"]
    text = (project / "ame.yml").read_text()

    def one(with_policy: bool) -> float:
        workspace = FileWorkspace([project])
        workspace.policies = (
            PolicySource(project, (policy,), use_environment=False, persist=True)
            if with_policy
            else None
        )
        check._RESULTS.clear()  # as a new process: only the cache directory is kept
        loading._READ.clear()
        started = time.perf_counter()
        engine.analyze(text, str(project / "ame.yml"), workspace)
        return (time.perf_counter() - started) * 1000

    base = statistics.median(one(False) for _ in range(repeat))
    hit = statistics.median(one(True) for _ in range(repeat))
    print(f"  in one process: check {base:.2f} ms, with the policy's cached results {hit:.2f} ms")


def bench_lsp_edit(repeat: int, work: Path) -> None:
    from ame_core.engine import analyze
    from ame_core.policy.loading import PolicySource
    from ame_core.resolve import Workspace
    from ame_lsp import incremental

    text = generate_project(1450)
    policy = work / "policy20.yaml"
    policy.write_text(yaml.safe_dump(policy_20(), sort_keys=False))
    lines = text.split("\n")
    targets = [i for i, line in enumerate(lines) if line.startswith("      cpu: ") and "m" in line]
    targets = targets[:: max(1, len(targets) // repeat)][:repeat]

    def workspace(with_policy: bool) -> Workspace:
        ws = Workspace()
        ws.policies = PolicySource(work, (policy,), use_environment=False) if with_policy else None
        return ws

    results = {}
    for label, with_policy in (("no policy", False), ("20-rule policy", True)):
        started = time.perf_counter()
        # No path: the checks of files next to the project (AME403/404) stay out of it.
        full = analyze(text, None, workspace(with_policy))
        full_ms = (time.perf_counter() - started) * 1000
        previous = incremental.previous_state(full)
        assert previous is not None, (label, [d.message for d in full.diagnostics][:5])
        times = []
        reasons = set()
        for n, line in enumerate(targets):
            edited = list(lines)
            edited[line] = f"      cpu: {300 + n}m"
            new_text = "\n".join(edited)
            started = time.perf_counter()
            quick = incremental.recheck(previous, new_text, None, workspace(with_policy))
            times.append((time.perf_counter() - started) * 1000)
            reasons.add(incremental.LAST_REASON[0])
            assert quick is not None, incremental.LAST_REASON[0]
        results[label] = (full_ms, statistics.median(times), reasons)
    print(f"language server per-edit round on {len(lines):,} lines ({len(targets)} edits):")
    base = results["no policy"][1]
    for label, (full_ms, edit_ms, reasons) in results.items():
        added = f"   (+{edit_ms - base:.1f} ms)" if label != "no policy" else ""
        print(
            f"  {label:16} edit {edit_ms:6.1f} ms{added}   full check {full_ms:7.1f} ms   "
            f"path: {', '.join(sorted(reasons))}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", choices=("lint", "lsp"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only != "lsp":
            bench_lint(args.repeat, work)
        if args.only != "lint":
            bench_lsp_edit(args.repeat, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
