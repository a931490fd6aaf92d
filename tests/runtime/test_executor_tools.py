"""`!poetry`, `!pipenv` and `!mlflow` executors end to end, with the real tools: each sets up
its environment in the run's log and runs the command in it, and the run succeeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
PRINT_PREFIX = "import sys; print('ran in', sys.prefix)"

PROJECTS = {
    "poetry": {
        "pyproject.toml": (
            '[tool.poetry]\nname = "demo"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n'
            'package-mode = false\n\n[tool.poetry.dependencies]\npython = ">=3.11,<3.12"\n\n'
            # poetry's default per-version JSON look-ups fail on these machines; the simple
            # index works (a fact of this workplace, documented in the README).
            '[[tool.poetry.source]]\nname = "pypi-simple"\n'
            'url = "https://pypi.org/simple/"\npriority = "primary"\n'
        ),
        "ame.yml": (
            "project: poetry_demo\ntasks:\n  - name: hello\n    executor: !poetry\n"
            f'      pythonVersion: "3.11"\n      command: python -c "{PRINT_PREFIX}"\n'
        ),
    },
    "pipenv": {
        "Pipfile": (
            '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\nname = "pypi"\n\n'
            '[packages]\n\n[requires]\npython_version = "3.11"\n'
        ),
        "ame.yml": (
            "project: pipenv_demo\ntasks:\n  - name: hello\n    executor: !pipenv\n"
            f'      pythonVersion: "3.11"\n      command: python -c "{PRINT_PREFIX}"\n'
        ),
    },
    "mlflow": {
        "MLproject": (
            "name: demo\nentry_points:\n  main:\n"
            f'    command: "python -c \\"{PRINT_PREFIX}; import os; '
            "print('mlflow-run', os.environ['MLFLOW_RUN_ID'])\\\"\"\n"
        ),
        "ame.yml": "project: mlflow_demo\ntasks:\n  - name: hello\n    executor: !mlflow\n",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("tool", sorted(PROJECTS))
def test_executor_sets_up_and_runs(tool: str, tmp_path: Path) -> None:
    if tool != "mlflow" and shutil.which(tool, path=str(VENV_BIN)) is None:
        pytest.skip(f"{tool} is not installed in the test environment")
    project = tmp_path / tool
    project.mkdir()
    for name, text in PROJECTS[tool].items():
        (project / name).write_text(text)
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "AME_CACHE_DIR": str(tmp_path / "cache"),
        "POETRY_VIRTUALENVS_PATH": str(tmp_path / "poetry-envs"),
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
        "PIPENV_VENV_IN_PROJECT": "1",
        "PIPENV_YES": "1",
    }
    for key in ("MLFLOW_RUN_ID", "AME_BACKEND"):
        env.pop(key, None)
    # The explicit-store path: no local server to start for each of these one-run projects.
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    if tool == "pipenv":
        subprocess.run(
            [str(VENV_BIN / "pipenv"), "lock"],
            cwd=project,
            env=env,
            capture_output=True,
            timeout=300,
        )
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", "--project", str(project), "task", "run", "hello"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ran_in = next(line for line in result.stdout.splitlines() if line.startswith("ran in"))
    if tool == "poetry":
        assert str(tmp_path / "poetry-envs") in ran_in  # poetry's own environment
    elif tool == "pipenv":
        assert str(project / ".venv") in ran_in  # pipenv's environment in the project
    else:
        # `mlflow run` ran the MLproject entry point inside the MLflow run ame created for it
        printed = next(line for line in result.stdout.splitlines() if line.startswith("mlflow-run"))
        runs = subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(project), "runs", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        (record,) = json.loads(runs.stdout)
        assert printed.split()[1] == record["mlflow_run_id"]
