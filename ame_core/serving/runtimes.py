"""The command line of each local serving runtime, and what it needs in its environment.

`mlflow`: `mlflow models serve` on the version's downloaded folder, `--env-manager local`
inside the version's own environment (never ame's). `mlserver`: MLServer with its MLflow
runtime, configured by a settings.json and model-settings.json in a folder per server start.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ame_core.net import free_port
from ame_core.serving.versions import ModelFiles

HOST = "127.0.0.1"
MLSERVER_VERSION = "1.7.1"


def _names_mlflow(requirements: str) -> bool:
    for line in requirements.splitlines():
        name = re.split(r"[\s<>=!~\[;@]", line.strip(), maxsplit=1)[0].lower()
        if name in ("mlflow", "mlflow-skinny"):
            return True
    return False


@dataclass(frozen=True)
class Runtime:
    name: str
    health_path: str  # the readiness probe the deployer and the status use
    protocol: str  # "mlflow" (/invocations only) or "v2" (Open Inference Protocol, too)
    extra_packages: tuple[str, ...] = ()

    def packages(self, files: ModelFiles) -> list[str]:
        """What the server needs beside the model's own requirements. MLflow is in a logged
        model's requirements; only when it is not, the version that logged the model."""
        found = list(self.extra_packages)
        if not _names_mlflow(files.requirements):
            found.append(f"mlflow=={files.mlflow_version}" if files.mlflow_version else "mlflow")
        return found

    def requirements(self, files: ModelFiles) -> str:
        """The environment's requirements: the runtime's, then the model's, as logged."""
        own = [line.rstrip() for line in files.requirements.splitlines() if line.strip()]
        return "\n".join([*self.packages(files), *own]) + "\n"

    def argv(
        self,
        env_dir: Path,
        workdir: Path,
        model_dir: Path,
        model: str,
        version: str,
        port: int,
        workers: int,
    ) -> list[str]:
        bin_dir = env_dir / "bin"
        # `-X` names the version served in the command line (`ps`), and Python ignores it.
        python = [str(bin_dir / "python"), "-X", f"ame_model=models:/{model}/{version}"]
        if self.name == "mlflow":
            return [
                *python, "-m", "mlflow", "models", "serve",
                "-m", str(model_dir), "--env-manager", "local",
                "-h", HOST, "-p", str(port), "-w", str(workers),
            ]  # fmt: skip
        workdir.mkdir(parents=True, exist_ok=True)
        settings = {
            "host": HOST,
            "http_port": port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
            # 0: inference in the server process itself (no worker pool to start);
            # `replicas` > 1 become MLServer's parallel workers.
            "parallel_workers": workers if workers > 1 else 0,
            "debug": False,
        }
        model_settings = {
            "name": model,
            "implementation": "mlserver_mlflow.MLflowRuntime",
            "parameters": {"uri": str(model_dir)},
        }
        (workdir / "settings.json").write_text(json.dumps(settings, indent=2))
        (workdir / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
        return [*python, str(bin_dir / "mlserver"), "start", str(workdir)]


RUNTIMES: dict[str, Runtime] = {
    "mlflow": Runtime("mlflow", "/ping", "mlflow"),
    "mlserver": Runtime(
        "mlserver",
        "/v2/health/ready",
        "v2",
        (f"mlserver=={MLSERVER_VERSION}", f"mlserver-mlflow=={MLSERVER_VERSION}"),
    ),
}
SUPPORTED = tuple(RUNTIMES)
