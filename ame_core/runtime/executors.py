"""From a task's executor to what runs: set-up steps, the command, extra environment.

One builder for every backend: locally (`for_container=False`) it finds the interpreter for
`pythonVersion` and a cached virtual environment for `!pip`; in a container
(`for_container=True`, the Kubernetes backend) the image provides Python and set-up runs in it.
A step or command that is a string runs through `/bin/sh -c`; a list runs as it is.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Command = list[str] | str


class ExecutorError(Exception):
    """The executor cannot run here (missing tool or interpreter); one line for the user."""


@dataclass
class ExecutionPlan:
    kind: str  # pip | poetry | pipenv | mlflow | custom
    setup: list[Command] = field(default_factory=list)
    command: Command = ""
    env: dict[str, str] = field(default_factory=dict)
    # Folders put in front of PATH (a virtual environment's bin/).
    path_prepend: list[str] = field(default_factory=list)
    python: str | None = None  # interpreter chosen for pythonVersion (local only)
    env_dir: str | None = None  # the cached environment (local !pip)

    def describe(self) -> str:
        return _show(self.command)


def _show(cmd: Command) -> str:
    return cmd if isinstance(cmd, str) else shlex.join(cmd)


def plain_task(task: Any) -> dict[str, Any]:
    """What a run needs of a task, as plain JSON (stored in the run record, so a supervisor
    builds its plan without loading the pydantic models)."""
    from dataclasses import asdict

    from ame_core.runtime.secrets import secret_refs

    spec = getattr(task, "task", task)
    executor = spec.executor
    variant = executor.variant if executor is not None else None
    return {
        "executor": None
        if executor is None
        else {
            "kind": executor.kind,
            "command": getattr(variant, "command", None),
            "python_version": getattr(variant, "python_version", None),
            "image": getattr(variant, "image", None),
        },
        "environment": [[e.key, e.val] for e in spec.environment or []],
        "secrets": [asdict(r) for r in secret_refs(spec)],
        "artifacts": {
            "paths": list(spec.artifacts.paths) if spec.artifacts else [],
            "save_changed_files": bool(spec.artifacts and spec.artifacts.save_changed_files),
        },
    }


def _task_of(task: Any) -> Any:
    """Accept a ResolvedTask, a spec Task, or a `plain_task` dict."""
    if isinstance(task, dict):
        from types import SimpleNamespace

        ex = task.get("executor")
        executor = None
        if ex:
            fields = {k: v for k, v in ex.items() if k != "kind"}
            executor = SimpleNamespace(kind=ex["kind"], variant=SimpleNamespace(**fields))
        return SimpleNamespace(executor=executor)
    return getattr(task, "task", task)


def _need_tool(tool: str, kind: str, hint: str) -> str:
    exe = shutil.which(tool)
    if not exe:
        raise ExecutorError(f"the !{kind} executor needs `{tool}` on PATH; {hint}")
    return exe


def _python_for(version: str | None) -> tuple[str | None, str | None]:
    if not version:
        return None, None
    from ame_core.runtime.envs import InterpreterError, find_python

    try:
        return find_python(str(version))
    except InterpreterError as exc:
        raise ExecutorError(str(exc)) from None


def _python_shim(python: str, version: str) -> str:
    """A folder whose `python`/`python3` is the chosen interpreter (for !custom)."""
    from ame_core.runtime.envs import cache_dir

    folder = cache_dir() / "pythons" / version / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = folder / name
        if not (link.is_symlink() and os.readlink(link) == python):
            tmp = folder / f".{name}.{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(python)
            tmp.replace(link)
    return str(folder)


# Executors whose set-up installs packages: they must never install into ame's own environment.
INSTALLING = ("pip", "poetry", "pipenv")
# What an activated environment (ame's, when ame runs from it) leaves for its child processes;
# poetry, pipenv and pip would take it as the environment to install into.
_ACTIVATION = (
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "CONDA_PROMPT_MODIFIER",
    "CONDA_SHLVL",
    "POETRY_ACTIVE",
    "PIPENV_ACTIVE",
    "PYTHONHOME",
    "PYTHONEXECUTABLE",
    "__PYVENV_LAUNCHER__",
)


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path) if path else ""
    return bool(real) and any(real == r or real.startswith(r + os.sep) for r in roots)


def task_environ(base: Mapping[str, str], plan: ExecutionPlan) -> dict[str, str]:
    """The environment a task's set-up and command start from: `base` (ame's own), with the
    plan's variables and PATH entries on top. For an installing executor, first without
    ame's activated environment: no VIRTUAL_ENV, CONDA_PREFIX, POETRY_ACTIVE, PIPENV_ACTIVE,
    PYTHONHOME; no PYTHONPATH entry or PIP_* value inside ame's environment; ame's
    environment's bin/ moved to the end of PATH (still a last resort for finding a tool)."""
    env = dict(base)
    env.pop("PYTHONHOME", None)
    if plan.kind in INSTALLING:
        # ame's environment: the interpreter's prefix, and an activated one named in base.
        roots = {os.path.realpath(sys.prefix)}
        for key in ("VIRTUAL_ENV", "CONDA_PREFIX"):
            if env.get(key):
                roots.add(os.path.realpath(env[key]))
        ours = sorted(roots)
        for key in _ACTIVATION:
            env.pop(key, None)
        for key in [k for k in env if k.startswith("PIP_")]:
            if any(r in env[key] for r in ours) or _inside(env[key], ours):
                env.pop(key)
        if env.get("PYTHONPATH"):
            kept = [p for p in env["PYTHONPATH"].split(os.pathsep) if p and not _inside(p, ours)]
            if kept:
                env["PYTHONPATH"] = os.pathsep.join(kept)
            else:
                env.pop("PYTHONPATH")
        bins = {os.path.realpath(os.path.join(r, "bin")) for r in ours}
        bins.add(os.path.realpath(os.path.dirname(sys.executable)))
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
        theirs = [p for p in path if os.path.realpath(p) not in bins]
        env["PATH"] = os.pathsep.join(theirs + [p for p in path if p not in theirs])
    env.update(plan.env)
    if plan.path_prepend:
        env["PATH"] = os.pathsep.join([*plan.path_prepend, env.get("PATH", "")])
    return env


def build_plan(task: Any, project_dir: Path, *, for_container: bool = False) -> ExecutionPlan:
    spec = _task_of(task)
    executor = getattr(spec, "executor", None)
    if executor is None:
        raise ExecutorError("the task has no executor")
    kind = executor.kind
    variant = executor.variant
    project_dir = Path(project_dir)
    builder = {
        "pip": _pip,
        "poetry": _poetry,
        "pipenv": _pipenv,
        "mlflow": _mlflow,
        "custom": _custom,
    }[kind]
    return builder(variant, project_dir, for_container)


def _pip(v: Any, project_dir: Path, container: bool) -> ExecutionPlan:
    if container:
        setup: list[Command] = [
            "if [ -f requirements.txt ]; then python -m pip install --no-cache-dir "
            "--disable-pip-version-check -r requirements.txt; fi"
        ]
        return ExecutionPlan("pip", setup, v.command)
    from ame_core.runtime.envs import env_dir_for, is_ready

    python, version = _python_for(
        v.python_version or f"{sys.version_info[0]}.{sys.version_info[1]}"
    )
    assert python and version
    requirements = project_dir / "requirements.txt"
    env_dir = env_dir_for(requirements, version)
    setup = []
    if not is_ready(env_dir):
        setup.append(
            [
                sys.executable,
                "-P",
                "-m",
                "ame_core.runtime.envs",
                "--python",
                python,
                "--requirements",
                str(requirements),
                "--dir",
                str(env_dir),
            ]
        )
    return ExecutionPlan(
        "pip",
        setup,
        v.command,
        env={"VIRTUAL_ENV": str(env_dir)},
        path_prepend=[str(env_dir / "bin")],
        python=python,
        env_dir=str(env_dir),
    )


def _poetry(v: Any, project_dir: Path, container: bool) -> ExecutionPlan:
    if container:
        return ExecutionPlan(
            "poetry", ["poetry install --no-interaction"], f"poetry run {v.command}"
        )
    poetry = _need_tool("poetry", "poetry", "install it (pipx install poetry)")
    python, _ = _python_for(v.python_version)
    setup: list[Command] = []
    if python:
        setup.append([poetry, "env", "use", python])
    setup.append([poetry, "install", "--no-interaction"])
    return ExecutionPlan("poetry", setup, f"{shlex.quote(poetry)} run {v.command}", python=python)


def _pipenv(v: Any, project_dir: Path, container: bool) -> ExecutionPlan:
    if container:
        return ExecutionPlan("pipenv", ["pipenv sync"], f"pipenv run {v.command}")
    pipenv = _need_tool("pipenv", "pipenv", "install it (pipx install pipenv)")
    python, _ = _python_for(v.python_version)
    setup: list[Command] = []
    if python:
        setup.append([pipenv, "--python", python])
    setup.append([pipenv, "sync"])
    return ExecutionPlan("pipenv", setup, f"{shlex.quote(pipenv)} run {v.command}", python=python)


def _mlflow(v: Any, project_dir: Path, container: bool) -> ExecutionPlan:
    entry = v.command or "main"
    args = f'run . --env-manager local -e {shlex.quote(entry)} --run-id "$MLFLOW_RUN_ID"'
    if container:
        return ExecutionPlan("mlflow", [], f"mlflow {args}")
    if not any((project_dir / n).is_file() for n in ("MLproject", "MLProject")):
        raise ExecutorError(f"the !mlflow executor needs an MLproject file in {project_dir}")
    python, version = _python_for(v.python_version)
    mlflow = shutil.which("mlflow")
    prefix = shlex.quote(mlflow) if mlflow else f"{shlex.quote(sys.executable)} -m mlflow"
    plan = ExecutionPlan("mlflow", [], f"{prefix} {args}", python=python)
    if python and version:
        plan.path_prepend.append(_python_shim(python, version))
    return plan


def _custom(v: Any, project_dir: Path, container: bool) -> ExecutionPlan:
    plan = ExecutionPlan("custom", [], v.command)
    if not container and v.python_version:
        python, version = _python_for(v.python_version)
        assert python and version
        plan.python = python
        plan.path_prepend.append(_python_shim(python, version))
    return plan
