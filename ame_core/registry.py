"""The MLflow model registry as the lifecycle sees it.

Versions of a model with their training run's key metrics, the version a training run registered,
validation verdicts (model-version tags any MLflow client can read) and the deployed version (a
registry alias). On a tracking server (`http(s)://`, the embedded default's local server too)
everything goes through MLflow's REST API (`ame_core.mlflow_rest`), without importing `mlflow`
(seconds); on any other store through the MlflowClient, imported lazily.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from ame_core.errors import one_line

# Model-version tags that hold the validation verdict.
TAG_STATUS = "ame.validation.status"
TAG_RUN_ID = "ame.validation.run_id"
TAG_MLFLOW_RUN_ID = "ame.validation.mlflow_run_id"
TAG_TIME = "ame.validation.time"
TAG_REASON = "ame.validation.reason"
PASSED = "passed"
FAILED = "failed"
# The registry alias that points at the version being served.
DEPLOYED_ALIAS = "deployed"
# How many of the newest versions get their training run's metrics in a listing.
METRICS_FOR_NEWEST = 25
# Metrics shown first when a training run logged many.
KEY_METRICS = ("accuracy", "f1", "roc_auc", "auc", "precision", "recall", "rmse", "mae", "r2")


class RegistryError(Exception):
    """A registry problem the user can act on (unknown model or version, unreachable server)."""


_VERSION_RE = re.compile(r"^[vV]?([1-9][0-9]*)$")


def version_number(text: str) -> str:
    """A registry version as MLflow wants it ("3"), from "3" or "v3" (how ame prints them);
    a RegistryError in one line for anything else."""
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise RegistryError(f"{text!r} is not a version number (give N or vN, e.g. 3)")
    return match.group(1)


@dataclass
class Verdict:
    status: str  # "passed" | "failed"
    run_id: str | None = None
    mlflow_run_id: str | None = None
    time: str | None = None
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Verdict | None:
        status = tags.get(TAG_STATUS)
        if status not in (PASSED, FAILED):
            return None
        return cls(
            status=status,
            run_id=tags.get(TAG_RUN_ID) or None,
            mlflow_run_id=tags.get(TAG_MLFLOW_RUN_ID) or None,
            time=tags.get(TAG_TIME),
            reason=tags.get(TAG_REASON) or None,
        )


@dataclass
class VersionInfo:
    model: str
    version: str
    created_at: float  # seconds since the epoch
    run_id: str | None
    status: str
    aliases: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    @property
    def verdict(self) -> Verdict | None:
        return Verdict.from_tags(self.tags)

    @property
    def uri(self) -> str:
        return model_uri(self.model, self.version)

    def key_metrics(self, limit: int = 3) -> dict[str, float]:
        keys = [k for k in KEY_METRICS if k in self.metrics]
        keys += sorted(k for k in self.metrics if k not in keys)
        return {k: self.metrics[k] for k in keys[:limit]}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        verdict = self.verdict
        data["validation"] = asdict(verdict) if verdict else None
        return data


def model_uri(model: str, version: str) -> str:
    return f"models:/{model}/{version}"


def client(tracking_uri: str) -> Any:
    """An MlflowClient on `tracking_uri` (the registry lives in the same store), quiet."""
    from ame_core.tracking import client as tracking_client

    return tracking_client(tracking_uri)


def _not_found(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower()


def _registry_error(exc: BaseException) -> str | None:
    """The first line of an MLflow error as the MLflow client words it (`CODE: message`), or
    None for an exception that is not about the registry (a bug: let it through)."""
    from ame_core.mlflow_rest import RestError, Unreachable
    from ame_core.tracking_server import ServerError

    if isinstance(exc, Unreachable):
        return f"MLflow is unreachable: {exc.message}"
    if isinstance(exc, RestError):
        return f"{exc.error_code}: {exc.message}" if exc.error_code else str(exc)
    if isinstance(exc, ServerError | OSError):
        return one_line(exc)
    if type(exc).__name__ == "MlflowException" or any(
        cls.__name__ == "MlflowException" for cls in type(exc).__mro__
    ):
        return one_line(exc)
    return None


def _entity(data: dict[str, Any]) -> SimpleNamespace:
    """A REST model version as the attributes the MLflow client's ModelVersion has."""
    from ame_core.mlflow_rest import tags_of

    return SimpleNamespace(
        name=data.get("name", ""),
        version=str(data.get("version", "")),
        creation_timestamp=int(data.get("creation_timestamp") or 0),
        run_id=data.get("run_id") or "",
        status=data.get("status") or "",
        tags=tags_of(data),
        source=data.get("source"),
        aliases=list(data.get("aliases") or []),
    )


class _RestRegistryClient:
    """The few MlflowClient methods the Registry uses, on MLflow's REST API (no mlflow
    import); each returns what the MLflow client's method returns, as plain attributes."""

    def __init__(self, tracking_uri: str) -> None:
        from ame_core.tracking import rest

        self.api = rest(tracking_uri)

    def get_registered_model(self, name: str) -> SimpleNamespace:
        data = self.api.get_registered_model(name)
        aliases = {a["alias"]: str(a["version"]) for a in data.get("aliases") or []}
        return SimpleNamespace(name=data.get("name", name), aliases=aliases)

    def search_model_versions(self, filter_string: str) -> list[SimpleNamespace]:
        return [_entity(v) for v in self.api.search_model_versions(filter_string)]

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        return _entity(self.api.get_model_version(name, version))

    def get_model_version_by_alias(self, name: str, alias: str) -> SimpleNamespace:
        return _entity(self.api.get_by_alias(name, alias))

    def search_registered_models(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=m["name"]) for m in self.api.search_registered_models()]

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.api.set_model_version_tag(name, version, key, value)

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.api.set_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.api.delete_alias(name, alias)

    def get_run(self, run_id: str) -> SimpleNamespace:
        from ame_core.mlflow_rest import metrics_of

        run = self.api.get_run(run_id)
        return SimpleNamespace(data=SimpleNamespace(metrics=metrics_of(run)))


def _quote(value: str) -> str:
    return value.replace("'", "\\'")


class Registry:
    """Registry operations on one tracking URI; every MLflow error becomes a RegistryError."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self._client: Any = None
        self._rest: Any = None

    @property
    def client(self) -> Any:
        """The MLflow client (on a tracking server: the REST client, with the same methods)."""
        if self._client is None:
            if self.tracking_uri.startswith(("http://", "https://")):
                self._client = _RestRegistryClient(self.tracking_uri)
            else:
                self._client = client(self.tracking_uri)
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            error = _registry_error(exc)
            if error is None:
                raise
            if isinstance(exc, OSError):  # an unreachable tracking server (MLflow client)
                raise RegistryError(f"{what}: {exc} (tracking URI {self.tracking_uri})") from exc
            raise RegistryError(f"{what}: {error}") from exc

    # --- models and versions ---------------------------------------------------------------

    def model_exists(self, model: str) -> bool:
        try:
            self.client.get_registered_model(model)
            return True
        except Exception as exc:
            if _registry_error(exc) is None:
                raise
            if _not_found(exc):
                return False
            raise RegistryError(f"reading model {model!r}: {_registry_error(exc)}") from exc

    def versions(self, model: str, with_metrics: bool = True) -> list[VersionInfo]:
        """Every version of `model`, newest first; [] when the model is not registered."""
        found = self._call(
            f"listing versions of {model!r}",
            self.client.search_model_versions,
            f"name='{_quote(model)}'",
        )
        aliases = self._aliases(model) if found else {}
        found = sorted(found, key=lambda mv: int(mv.version), reverse=True)
        # One run lookup per version: only the newest ones get their metrics.
        return [
            self._info(mv, aliases, with_metrics and i < METRICS_FOR_NEWEST)
            for i, mv in enumerate(found)
        ]

    def version(self, model: str, version: str, with_metrics: bool = True) -> VersionInfo:
        version = version_number(str(version))
        try:
            mv = self.client.get_model_version(model, version)
        except Exception as exc:
            if _registry_error(exc) is None:
                raise
            if _not_found(exc):
                raise RegistryError(self._unknown_version(model, str(version))) from exc
            raise RegistryError(f"reading {model} v{version}: {_registry_error(exc)}") from exc
        return self._info(mv, self._aliases(model), with_metrics)

    def latest(self, model: str) -> VersionInfo | None:
        versions = self.versions(model, with_metrics=False)
        return versions[0] if versions else None

    def resolve(self, model: str, version: str | None = None, alias: str | None = None) -> str:
        """A version number from an explicit version, an alias, or the latest version."""
        if version is not None and alias is not None:
            raise RegistryError("give a version or an alias, not both")
        if alias is not None:
            try:
                return str(self.client.get_model_version_by_alias(model, alias).version)
            except Exception as exc:
                if _registry_error(exc) is None:
                    raise
                if not self.model_exists(model):
                    raise RegistryError(self._no_model(model)) from exc
                known = [f"{a} → v{v}" for a, v in sorted(self._aliases(model).items())]
                hint = f" (aliases: {', '.join(known)})" if known else " (it has no aliases)"
                raise RegistryError(f"{model} has no alias {alias!r}{hint}") from exc
        if version is not None:
            return self.version(model, str(version), with_metrics=False).version
        latest = self.latest(model)
        if latest is None:
            raise RegistryError(self._no_model(model))
        return latest.version

    def version_for_run(self, model: str, mlflow_run_id: str | None) -> str | None:
        """The version of `model` that the MLflow run registered (the newest, if several)."""
        if not mlflow_run_id:
            return None
        found = self._call(
            f"looking up the version registered by run {mlflow_run_id}",
            self.client.search_model_versions,
            f"name='{_quote(model)}' and run_id='{_quote(mlflow_run_id)}'",
        )
        versions = sorted((int(mv.version) for mv in found), reverse=True)
        return str(versions[0]) if versions else None

    def registered_models(self) -> list[str]:
        found = self._call("listing registered models", self.client.search_registered_models)
        return sorted(rm.name for rm in found)

    # --- validation verdicts ----------------------------------------------------------------

    def set_verdict(
        self,
        model: str,
        version: str,
        passed: bool,
        run_id: str | None,
        mlflow_run_id: str | None = None,
        reason: str | None = None,
    ) -> Verdict:
        verdict = Verdict(
            status=PASSED if passed else FAILED,
            run_id=run_id,
            mlflow_run_id=mlflow_run_id,
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            reason=reason,
        )
        tags = {
            TAG_STATUS: verdict.status,
            TAG_RUN_ID: run_id or "",
            TAG_MLFLOW_RUN_ID: mlflow_run_id or "",
            TAG_TIME: verdict.time or "",
            TAG_REASON: reason or "",
        }
        for key, value in tags.items():
            self._call(
                f"recording the verdict on {model} v{version}",
                self.client.set_model_version_tag,
                model,
                str(version),
                key,
                value,
            )
        return verdict

    def verdict(self, model: str, version: str) -> Verdict | None:
        return self.version(model, version, with_metrics=False).verdict

    # --- the deployed version ---------------------------------------------------------------

    def set_deployed(self, model: str, version: str, alias: str = DEPLOYED_ALIAS) -> None:
        self._call(
            f"recording {model} v{version} as deployed",
            self.client.set_registered_model_alias,
            model,
            alias,
            str(version),
        )

    def clear_deployed(self, model: str, alias: str = DEPLOYED_ALIAS) -> None:
        try:
            self.client.delete_registered_model_alias(model, alias)
        except Exception as exc:
            if _registry_error(exc) is None:
                raise
            if not _not_found(exc):
                raise RegistryError(
                    f"clearing the deployed alias of {model}: {_registry_error(exc)}"
                ) from exc

    def deployed(self, model: str, alias: str = DEPLOYED_ALIAS) -> str | None:
        if not self.model_exists(model):
            return None
        return self._aliases(model).get(alias)

    # --- helpers ------------------------------------------------------------------------------

    def _aliases(self, model: str) -> dict[str, str]:
        """alias → version."""
        rm = self._call(f"reading model {model!r}", self.client.get_registered_model, model)
        return {alias: str(version) for alias, version in (rm.aliases or {}).items()}

    def _info(self, mv: Any, aliases: dict[str, str], with_metrics: bool) -> VersionInfo:
        metrics: dict[str, float] = {}
        if with_metrics and mv.run_id:
            try:
                metrics = dict(self.client.get_run(mv.run_id).data.metrics)
            except Exception:  # noqa: BLE001 - the run may be deleted; the version still stands
                metrics = {}
        version = str(mv.version)
        return VersionInfo(
            model=mv.name,
            version=version,
            created_at=(mv.creation_timestamp or 0) / 1000.0,
            run_id=mv.run_id or None,
            status=str(mv.status or ""),
            aliases=sorted(a for a, v in aliases.items() if v == version),
            metrics=metrics,
            tags=dict(mv.tags or {}),
            source=mv.source,
        )

    def _no_model(self, model: str) -> str:
        return f"model {model!r} has no registered versions yet (train it: ame model train {model})"

    def _unknown_version(self, model: str, version: str) -> str:
        try:
            known = [v.version for v in self.versions(model, with_metrics=False)]
        except RegistryError:
            known = []
        if not known:
            return self._no_model(model)
        return f"{model} has no version {version} (versions: {', '.join(reversed(known))})"
