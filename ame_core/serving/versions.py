"""A model version's files on this machine: downloaded once per version through MLflow, read for
what serving needs (flavors, signature, Python version, requirements, input example).

The download runs `mlflow artifacts download` in a process of its own (any tracking URI MLflow
reads, `sqlite:///` included; the deployer never imports MLflow's stores) into
`<dest>/model`; a marker written last makes a half-done download count as none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ame_core.runtime import filelock
from ame_core.runtime.backend import BackendError
from ame_core.serving.causes import first_cause

MARKER = ".ame-downloaded"
DOWNLOAD_TIMEOUT = 600.0


@dataclass
class ModelFiles:
    """What a version's MLmodel and environment files say."""

    dir: Path
    mlmodel: dict[str, Any]
    requirements: str = ""
    python_version: str | None = None  # python_env.yaml's `python:` (e.g. 3.11.7)
    flavors: list[str] = field(default_factory=list)

    @property
    def signature_inputs(self) -> list[dict[str, Any]] | None:
        """The signature's input columns or tensors (MLmodel stores them as a JSON string)."""
        raw = (self.mlmodel.get("signature") or {}).get("inputs")
        if not raw:
            return None
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return None
        return value if isinstance(value, list) else None

    @property
    def mlflow_version(self) -> str | None:
        value = self.mlmodel.get("mlflow_version")
        return str(value) if value else None

    def serving_example(self) -> dict[str, Any] | None:
        """The logged serving input example (MLflow's /invocations body), if any."""
        info = self.mlmodel.get("saved_input_example_info") or {}
        name = info.get("serving_input_path") or "serving_input_example.json"
        try:
            value = json.loads((self.dir / name).read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None


def read_model_files(model_dir: Path) -> ModelFiles:
    import yaml

    try:
        mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BackendError(f"the version's MLmodel file is unreadable: {exc}") from exc
    files = ModelFiles(dir=model_dir, mlmodel=mlmodel, flavors=sorted(mlmodel.get("flavors") or {}))
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    env_file = ((pyfunc.get("env") or {}).get("virtualenv")) or "python_env.yaml"
    try:
        python_env = yaml.safe_load((model_dir / env_file).read_text()) or {}
    except (OSError, yaml.YAMLError):
        python_env = {}
    python = python_env.get("python") or pyfunc.get("python_version")
    files.python_version = str(python) if python else None
    try:
        files.requirements = (model_dir / "requirements.txt").read_text()
    except OSError:
        files.requirements = ""
    return files


def fetch(model: str, version: str, tracking_uri: str, dest: Path, env: dict[str, str]) -> Path:
    """`models:/model/version` downloaded into `dest/model` (once): the folder."""
    target = dest / "model"
    with filelock.exclusive(dest.parent / f".{dest.name}.lock"):
        if (dest / MARKER).is_file() and (target / "MLmodel").is_file():
            return target
        shutil.rmtree(target, ignore_errors=True)
        dest.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "mlflow", "artifacts", "download"]
        argv += ["-u", f"models:/{model}/{version}", "-d", str(target)]
        try:
            out = subprocess.run(
                argv,
                env={**env, "MLFLOW_TRACKING_URI": tracking_uri},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=DOWNLOAD_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendError(
                f"downloading {model} v{version} took over {DOWNLOAD_TIMEOUT:.0f} s"
            ) from exc
        if out.returncode != 0:
            why = first_cause(out.stderr + out.stdout)
            raise BackendError(
                f"cannot download {model} v{version} from MLflow: {why} "
                "(`mlflow artifacts download` exited before it was ready)"
            )
        if not (target / "MLmodel").is_file():
            # Some stores put the model's folder inside the destination.
            inner = next(iter(sorted(target.rglob("MLmodel"))), None)
            if inner is None:
                raise BackendError(
                    f"{model} v{version} has no MLmodel file: is it an MLflow model?"
                )
            for item in inner.parent.iterdir():
                shutil.move(str(item), target / item.name)
        (dest / MARKER).write_text(f"models:/{model}/{version}\n")
    return target
