"""The environment each served version runs in: built with uv from the requirements MLflow logged
with the version plus the runtime's packages, cached by their hash and the Python version in the
same cache as task environments (ame_core.runtime.envs: one lock, one completion marker, a
half-built one rebuilt). Never ame's own interpreter: a model trained elsewhere needs its own
libraries, and MLServer pins a FastAPI that ame's does not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ame_core.runtime import envs
from ame_core.runtime.backend import BackendError
from ame_core.serving.checks import python_of
from ame_core.serving.runtimes import Runtime
from ame_core.serving.versions import ModelFiles


@dataclass
class ServingEnv:
    dir: Path
    python_version: str
    reused: bool
    seconds: float


def serving_env(
    label: str, files: ModelFiles, runtime: Runtime, log_path: Path, env: dict[str, str]
) -> ServingEnv:
    """The version's environment for `runtime`, built if needed (its output in `log_path`)."""
    import time

    started = time.monotonic()
    python, full_version = python_of(files, label)
    try:
        env_dir, reused = envs.requirements_env(
            python, full_version, runtime.requirements(files), log_path, env
        )
    except envs.EnvBuildError as exc:
        raise BackendError(
            f"{label}: its serving environment cannot be built: {exc} (log: {log_path})"
        ) from exc
    return ServingEnv(env_dir, full_version, reused, time.monotonic() - started)
