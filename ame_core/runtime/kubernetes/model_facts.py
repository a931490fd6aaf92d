"""What a registered model version is, as KServe and Triton need to know it before deploying:
where its files are, its flavors and signature, the Python and MLflow it was logged with, and
its requirements.

Read through MLflow's REST API on an http(s) tracking URI (no mlflow import), else through
the MLflow client on the store itself (a `sqlite:///` store). MLflow 3 registers a logged
model as `models:/m-<id>`: its files are the logged model's artifact location
(`GET /api/2.0/mlflow/logged-models/<id>`); `runs:/<run>/<path>` is the run's artifact URI
plus the path.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ame_core.runtime.backend import BackendError


@dataclass
class VersionFacts:
    model: str
    version: str
    source: str  # as registered
    location: str  # where the files are
    flavors: dict[str, Any] = field(default_factory=dict)
    has_signature: bool = False
    mlflow_version: str | None = None
    python_version: str | None = None
    requirements: list[str] = field(default_factory=list)

    @property
    def what(self) -> str:
        return f"{self.model} v{self.version}"


def read_version(tracking_uri: str, model: str, version: str) -> VersionFacts:
    from ame_core.tracking import is_http

    try:
        reader: _Reader = (
            _RestReader(tracking_uri) if is_http(tracking_uri) else _ClientReader(tracking_uri)
        )
        return _facts(reader, model, str(version))
    except BackendError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow's errors, in one line
        text = str(exc).strip().splitlines()
        raise BackendError(
            f"cannot read {model} v{version} from the registry: "
            f"{text[0] if text else type(exc).__name__}"
        ) from None


class _Reader:
    def version(self, model: str, version: str) -> dict[str, Any]:
        raise NotImplementedError

    def logged_model_location(self, model_id: str) -> str:
        raise NotImplementedError

    def run_artifact_uri(self, run_id: str) -> str:
        raise NotImplementedError

    def file(self, model: str, version: str, location: str, path: str) -> str | None:
        raise NotImplementedError


class _RestReader(_Reader):
    def __init__(self, uri: str) -> None:
        from ame_core.tracking import rest

        self.api = rest(uri)

    def version(self, model: str, version: str) -> dict[str, Any]:
        return self.api.get_model_version(model, version)

    def logged_model_location(self, model_id: str) -> str:
        found = self.api.get(f"logged-models/{model_id}")
        return str(((found.get("model") or {}).get("info") or {}).get("artifact_uri") or "")

    def run_artifact_uri(self, run_id: str) -> str:
        return str((self.api.get_run(run_id).get("info") or {}).get("artifact_uri") or "")

    def file(self, model: str, version: str, location: str, path: str) -> str | None:
        from ame_core.mlflow_rest import RestError

        try:
            if location.startswith("mlflow-artifacts:"):
                # Through the server's artifact proxy: its model-versions/get-artifact cannot
                # read proxied run artifacts (it resolves them against its own store URI).
                proxied = location.removeprefix("mlflow-artifacts:").lstrip("/")
                raw = self.api.request(
                    "GET", f"api/2.0/mlflow-artifacts/artifacts/{proxied}/{path}", raw=True
                )
                return raw.decode("utf-8")
            return self.api.model_version_artifact(model, version, path).decode("utf-8")
        except RestError as exc:
            if exc.not_found or exc.status in (400, 404):
                return None
            raise


class _ClientReader(_Reader):
    def __init__(self, uri: str) -> None:
        from ame_core.tracking import client

        self.client = client(uri)

    def version(self, model: str, version: str) -> dict[str, Any]:
        mv = self.client.get_model_version(model, version)
        return {"source": mv.source, "run_id": mv.run_id, "model_id": getattr(mv, "model_id", "")}

    def logged_model_location(self, model_id: str) -> str:
        return str(self.client.get_logged_model(model_id).artifact_location)

    def run_artifact_uri(self, run_id: str) -> str:
        return str(self.client.get_run(run_id).info.artifact_uri)

    def file(self, model: str, version: str, location: str, path: str) -> str | None:
        from mlflow.artifacts import download_artifacts

        with tempfile.TemporaryDirectory(prefix="ame-mlmodel-") as tmp:
            try:
                local = download_artifacts(artifact_uri=f"{location}/{path}", dst_path=tmp)
            except Exception:  # noqa: BLE001 - absent (python_env.yaml of old models): the caller decides
                return None
            return Path(local).read_text(encoding="utf-8", errors="replace")


def resolve_location(reader: _Reader, data: dict[str, Any]) -> str:
    source = str(data.get("source") or "")
    model_id = str(data.get("model_id") or "")
    if source.startswith("models:/m-") or (source.startswith("models:/") and model_id):
        return reader.logged_model_location(model_id or source.removeprefix("models:/"))
    if source.startswith("runs:/"):
        run_id, _, path = source.removeprefix("runs:/").partition("/")
        base = reader.run_artifact_uri(run_id).rstrip("/")
        return f"{base}/{path}" if path else base
    return source


def _facts(reader: _Reader, model: str, version: str) -> VersionFacts:
    import yaml

    data = reader.version(model, version)
    location = resolve_location(reader, data) or str(data.get("source") or "")
    facts = VersionFacts(model, version, str(data.get("source") or ""), location)
    text = reader.file(model, version, location, "MLmodel")
    if text is None:
        raise BackendError(
            f"{facts.what} has no MLmodel file at {location}: register a model logged with "
            "mlflow.<flavor>.log_model"
        )
    mlmodel = yaml.safe_load(text) or {}
    facts.flavors = dict(mlmodel.get("flavors") or {})
    facts.has_signature = bool((mlmodel.get("signature") or {}).get("inputs"))
    facts.mlflow_version = _str(mlmodel.get("mlflow_version"))
    env = reader.file(model, version, location, "python_env.yaml")
    if env is not None:
        facts.python_version = _str((yaml.safe_load(env) or {}).get("python"))
    else:
        conda = reader.file(model, version, location, "conda.yaml")
        facts.python_version = _conda_python(yaml.safe_load(conda) or {}) if conda else None
    requirements = reader.file(model, version, location, "requirements.txt") or ""
    facts.requirements = [
        line.strip()
        for line in requirements.splitlines()
        if line.strip() and not line.strip().startswith(("#", "-"))
    ]
    return facts


def _conda_python(conda: dict[str, Any]) -> str | None:
    for dep in conda.get("dependencies") or []:
        if isinstance(dep, str) and dep.replace(" ", "").startswith("python="):
            return dep.split("=", 1)[1].strip()
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
