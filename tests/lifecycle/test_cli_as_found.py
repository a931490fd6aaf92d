"""The CLI as a new user finds it (issue 14), with real task runs and the project's own MLflow
server: a project from `ame init` lints clean, runs its training task and trains, validates
and registers a version as it is; a failed training says each failure once; batch inference
refuses a wrong --output or wrong columns in words the user can act on.

One `ame init` project, trained once (its `!pip` environment is the session's quickstart one:
the same requirements.txt), and one MLflow server that the other project here shares.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from lifecycle_support import ame_env, features, kill_processes_under, shared_cache

pytestmark = pytest.mark.slow

FAILING = """\
project: failing
tasks:
  - name: crash
    executor: !custom
      command: python -c "import sys; print('training…'); sys.exit(1)"
  - name: forgets
    executor: !custom
      command: python -c "print('trained, but registered nothing')"
models:
  - name: crashes
    training:
      task:
        taskRef: crash
  - name: unregistered
    training:
      task:
        taskRef: forgets
"""


@dataclass
class Found:
    root: Path
    project: Path
    env: dict[str, str]
    task_run: subprocess.CompletedProcess[str]
    train: subprocess.CompletedProcess[str]

    def ame(self, *args: str, project: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(project or self.project), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.root,
            timeout=900,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cli-as-found")
    env = ame_env(root, shared_cache(tmp_path_factory))
    made = subprocess.run(
        [sys.executable, "-m", "ame_cli", "init", "my-project"],
        capture_output=True, text=True, env=env, cwd=root, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = root / "my-project"
    state = Found(root, project, env, None, None)  # type: ignore[arg-type]
    try:
        state.task_run = state.ame("task", "run", "train_logreg")
        state.train = state.ame("model", "train", "logreg", "--no-deploy")
        yield state
    finally:
        state.ame("mlflow", "stop")
        leaked = kill_processes_under(root)
        assert not leaked, f"processes left running: {leaked}"


def test_an_initialised_project_lints_clean_and_trains_as_it_is(found: Found) -> None:
    linted = found.ame("lint")
    assert (linted.returncode, linted.stdout) == (0, "my-project/ame.yml: no problems\n")
    run = found.task_run
    assert run.returncode == 0, run.stderr
    assert "trained logreg v1: accuracy=" in run.stdout
    # the training log opens with the task's own output, not MLflow's schema hint
    assert "UserWarning" not in run.stdout + run.stderr
    assert "Inferred schema contains integer" not in run.stdout + run.stderr
    train = found.train
    assert train.returncode == 0, train.stderr
    assert "logreg v2 registered by run" in train.stdout
    assert "validation: passed" in train.stdout
    status = found.ame("model", "status", "logreg", "--json", "--no-health")
    versions = {v["version"]: v for v in json.loads(status.stdout)["versions"]}
    assert sorted(versions) == ["1", "2"]
    assert versions["2"]["validation"]["status"] == "passed"


def test_a_failed_training_says_each_failure_once(found: Found) -> None:
    other = found.root / "failing"
    other.mkdir()
    (other / "ame.yml").write_text(FAILING)
    url = json.loads(found.ame("mlflow", "status", "--json").stdout)["url"]
    crashed = found.ame("--mlflow-uri", url, "model", "train", "crashes", project=other)
    assert crashed.returncode == 1
    assert crashed.stderr.count("exited with code 1") == 1, crashed.stderr
    assert "training…" in crashed.stdout
    forgot = found.ame("--mlflow-uri", url, "model", "train", "unregistered", project=other)
    assert forgot.returncode == 1
    assert forgot.stderr.count("registered no version of unregistered") == 1, forgot.stderr


def test_batch_inference_refuses_a_wrong_output_or_wrong_columns(found: Found) -> None:
    good, wrong = found.root / "good.csv", found.root / "wrong.csv"
    features().head(4).to_csv(good, index=False)
    wrong.write_text("a,b\n1,2\n")
    nowhere = found.root / "no" / "such" / "dir" / "out.csv"
    refused = found.ame(
        "model", "predict", "logreg", "--input", str(good), "--output", str(nowhere)
    )
    assert refused.returncode == 2
    assert refused.stderr == (
        f"ame: --output {nowhere}: no folder {nowhere.parent} (create it first)\n"
    )
    assert not (found.root / "no").exists()
    columns = found.ame(
        "model", "predict", "logreg", "--input", str(wrong), "--output", str(found.root / "o.csv")
    )
    assert columns.returncode == 1 and columns.stderr.count("\n") == 1
    assert "it has the columns 'a', 'b'; the model expects 30: 'mean radius'" in columns.stderr
    assert "(missing: 'mean radius'" in columns.stderr
    scored = found.ame(
        "model", "predict", "logreg", "--input", str(good), "--output", str(found.root / "o.csv"),
        "--version", "v1",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert "4 rows scored with logreg v1" in scored.stdout


def test_completion_offers_the_project_runs_and_flows_and_model_listings_take_both_flags(
    found: Found,
) -> None:
    def complete(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in words)
        code = (
            f"source <(ame completion bash); COMP_WORDS=(ame {quoted}); "
            f'COMP_CWORD={len(words)}; _ame_complete; printf "%s\\n" "${{COMPREPLY[@]}}"'
        )
        result = subprocess.run(
            ["bash", "-c", code], capture_output=True, text=True, cwd=found.project,
            env=found.env, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    runs = json.loads(found.ame("runs", "--json").stdout)
    assert sorted(complete("logs", "")) == sorted(r["id"] for r in runs)
    flows = json.loads(found.ame("flow", "list", "--format", "json").stdout)
    assert sorted(complete("flow", "show", "")) == sorted(f["id"] for f in flows)
    for command in (("model", "list"), ("model", "status", "logreg", "--no-health")):
        short = found.ame(*command, "--json")
        assert short.stdout == found.ame(*command, "--format", "json").stdout
        assert json.loads(short.stdout)
