"""What a user can configure about the cluster side, with the environment variable of each.

| setting | variable | default |
|---|---|---|
| image per executor | `AME_K8S_IMAGE` or `AME_K8S_IMAGE_<KIND>` | `python:{python}-slim` |
| Python when the executor names none | `AME_K8S_PYTHON` | `3.11` |
| MLflow image (code fetch, serving) | `AME_K8S_MLFLOW_IMAGE` | `ghcr.io/mlflow/mlflow:v<installed>` |
| git image (git source) | `AME_K8S_GIT_IMAGE` | `alpine/git:v2.47.2` |
| finished Jobs kept for | `AME_K8S_TTL` | `86400` seconds |
| how code reaches the pod | `AME_K8S_CODE` | `mlflow` (or `git`) |
| upload size limit | `AME_K8S_CODE_LIMIT` | `50Mi` |
| MLflow URI seen from the cluster | `AME_CLUSTER_MLFLOW_URI` | the local tracking URI |
| task pods' service account | `AME_K8S_SERVICE_ACCOUNT` | the namespace's default |
| flow driver image (ame installed) | `AME_K8S_DRIVER_IMAGE` | none: `python:<client's>-slim` + the shipped wheel |
| flow driver's service account | `AME_K8S_DRIVER_SERVICE_ACCOUNT` | `ame-flow-driver` (deploy/rbac.yaml) |
| object store behind MLflow's artifact proxy (KServe storageUri) | `AME_K8S_MLFLOW_ARTIFACTS_DESTINATION` | none: `mlflow-artifacts:` versions are refused |
| a KServe canary where the mode ignores it | `AME_K8S_KSERVE_CANARY_FALLBACK` | refused; `replace` deploys without one |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal

DEFAULT_IMAGE = "python:{python}-slim"
DEFAULT_PYTHON = "3.11"
DEFAULT_GIT_IMAGE = "alpine/git:v2.47.2"
DEFAULT_TTL = 86400
DEFAULT_CODE_LIMIT = "50Mi"
CODE_SOURCES = ("mlflow", "git")
DEFAULT_DRIVER_SERVICE_ACCOUNT = "ame-flow-driver"


def _mlflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:  # pragma: no cover - mlflow is a dependency
        return "3.17.2"


@dataclass
class KubeSettings:
    images: dict[str, str] = field(default_factory=dict)  # executor kind → image template
    default_image: str = DEFAULT_IMAGE
    default_python: str = DEFAULT_PYTHON
    mlflow_image: str = ""
    git_image: str = DEFAULT_GIT_IMAGE
    ttl_seconds: int = DEFAULT_TTL
    code_source: str = "mlflow"
    code_limit: str = DEFAULT_CODE_LIMIT
    cluster_mlflow_uri: str | None = None
    service_account: str | None = None
    driver_image: str | None = None
    driver_service_account: str = DEFAULT_DRIVER_SERVICE_ACCOUNT

    def __post_init__(self) -> None:
        if not self.mlflow_image:
            self.mlflow_image = f"ghcr.io/mlflow/mlflow:v{_mlflow_version()}"
        if self.code_source not in CODE_SOURCES:
            from ame_core.runtime.backend import BackendError

            raise BackendError(
                f"unknown code source '{self.code_source}' (AME_K8S_CODE): use "
                + " or ".join(CODE_SOURCES)
            )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> KubeSettings:
        env = dict(os.environ if env is None else env)
        images = {
            key[len("AME_K8S_IMAGE_") :].lower(): value
            for key, value in env.items()
            if key.startswith("AME_K8S_IMAGE_") and value
        }
        values: dict[str, object] = {
            "images": images,
            "default_image": env.get("AME_K8S_IMAGE") or DEFAULT_IMAGE,
            "default_python": env.get("AME_K8S_PYTHON") or DEFAULT_PYTHON,
            "mlflow_image": env.get("AME_K8S_MLFLOW_IMAGE") or "",
            "git_image": env.get("AME_K8S_GIT_IMAGE") or DEFAULT_GIT_IMAGE,
            "ttl_seconds": _int(env.get("AME_K8S_TTL"), DEFAULT_TTL, "AME_K8S_TTL"),
            "code_source": (env.get("AME_K8S_CODE") or "mlflow").lower(),
            "code_limit": env.get("AME_K8S_CODE_LIMIT") or DEFAULT_CODE_LIMIT,
            "cluster_mlflow_uri": env.get("AME_CLUSTER_MLFLOW_URI") or None,
            "service_account": env.get("AME_K8S_SERVICE_ACCOUNT") or None,
            "driver_image": env.get("AME_K8S_DRIVER_IMAGE") or None,
            "driver_service_account": env.get("AME_K8S_DRIVER_SERVICE_ACCOUNT")
            or DEFAULT_DRIVER_SERVICE_ACCOUNT,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """These settings as the variables `from_env` reads (for a driver pod)."""
        out = {
            "AME_K8S_IMAGE": self.default_image,
            "AME_K8S_PYTHON": self.default_python,
            "AME_K8S_MLFLOW_IMAGE": self.mlflow_image,
            "AME_K8S_GIT_IMAGE": self.git_image,
            "AME_K8S_TTL": str(self.ttl_seconds),
            "AME_K8S_CODE": self.code_source,
            "AME_K8S_CODE_LIMIT": self.code_limit,
            "AME_K8S_DRIVER_SERVICE_ACCOUNT": self.driver_service_account,
        }
        out.update({f"AME_K8S_IMAGE_{kind.upper()}": image for kind, image in self.images.items()})
        if self.service_account:
            out["AME_K8S_SERVICE_ACCOUNT"] = self.service_account
        if self.driver_image:
            out["AME_K8S_DRIVER_IMAGE"] = self.driver_image
        if self.cluster_mlflow_uri:
            out["AME_CLUSTER_MLFLOW_URI"] = self.cluster_mlflow_uri
        return out

    def image_for(self, kind: str, python: str | None) -> str:
        template = self.images.get(kind, self.default_image)
        return template.format(python=python or self.default_python)

    def code_limit_bytes(self) -> int:
        from ame_core.quantity import parse_quantity

        return int(Decimal(parse_quantity(self.code_limit)))


def _int(text: str | None, default: int, name: str) -> int:
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        from ame_core.runtime.backend import BackendError

        raise BackendError(f"{name} must be a whole number of seconds, not '{text}'") from None
