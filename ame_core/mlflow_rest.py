"""MLflow's documented REST API (`/api/2.0/mlflow/...`) with urllib only: no `mlflow` import.

Importing the MLflow client costs seconds; every command and the console read and write runs,
metrics, model versions, tags and aliases through this instead, on an `http(s)://` tracking URI.
Errors become one `RestError` naming the endpoint, the HTTP code and MLflow's error_code and
message; a server that does not answer at all is a `Unreachable` (the local server is restarted
once on it). Credentials come from MLflow's own variables and are never put in a message.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from ame_core.uris import redact_uri

DEFAULT_TIMEOUT = 10.0
# Page size of the search endpoints (the server's maximum for model versions is 200,000; runs
# allow 50,000): one page is almost always all of it.
PAGE = 1000


class RestError(Exception):
    """An MLflow REST call failed; `str()` is one line: endpoint, HTTP code, MLflow's error."""

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.error_code = error_code
        self.message = message
        code = f"HTTP {status}" if status else "no answer"
        what = f"{error_code}: {message}" if error_code else message
        super().__init__(f"MLflow {endpoint}: {code}: {what}")

    @property
    def not_found(self) -> bool:
        return self.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or self.status == 404


class Unreachable(RestError):
    """Nothing answered (connection refused, reset, timed out, unknown host)."""


def auth_headers() -> dict[str, str]:
    """MLflow's client variables: a bearer token, or a user name and password."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if user:
        pair = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {}


def clean_uri(uri: str) -> str:
    """The URI without credentials (it ends up in messages)."""
    return redact_uri(uri, keep_query=False)


def _params(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    clean = {k: v for k, v in params.items() if v is not None}
    return "?" + urllib.parse.urlencode(clean, doseq=True) if clean else ""


class MlflowRest:
    """The REST API of one tracking server.

    `on_unreachable` is asked once per call when nothing answers: it returns the base URI to
    retry on (the project's local server, started again) or None to give up."""

    def __init__(
        self,
        uri: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_unreachable: Callable[[], str | None] | None = None,
    ) -> None:
        self.uri = uri.rstrip("/")
        self.timeout = timeout
        self.on_unreachable = on_unreachable

    # --- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        *,
        raw: bool = False,
    ) -> Any:
        """`path` below the server root (`api/2.0/mlflow/runs/get`); JSON back, or bytes."""
        try:
            return self._once(method, path, body, params, raw)
        except Unreachable:
            retry = self.on_unreachable() if self.on_unreachable else None
            if not retry:
                raise
            self.uri = retry.rstrip("/")
            return self._once(method, path, body, params, raw)

    def _once(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, Any] | None,
        raw: bool,
    ) -> Any:
        endpoint = path.removeprefix("api/2.0/mlflow/")
        data = json.dumps(body).encode() if body is not None else None
        headers = {**auth_headers(), "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.uri}/{path}{_params(params)}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(endpoint, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, socket.timeout | TimeoutError):
                why = f"no answer within {self.timeout:g} s"
            else:
                why = str(reason) or type(reason).__name__
            raise Unreachable(endpoint, f"{why} ({clean_uri(self.uri)})") from None
        if raw:
            return payload
        try:
            return json.loads(payload or b"{}")
        except ValueError:
            raise RestError(
                endpoint, "the answer is not JSON (is this an MLflow server?)"
            ) from None

    def get(self, endpoint: str, **params: Any) -> Any:
        return self.request("GET", f"api/2.0/mlflow/{endpoint}", params=params)

    def post(self, endpoint: str, body: dict[str, Any]) -> Any:
        return self.request("POST", f"api/2.0/mlflow/{endpoint}", body)

    def health(self) -> bool:
        try:
            self.request("GET", "health", raw=True)
        except RestError:
            return False
        return True

    # --- experiments and runs ---------------------------------------------------------------

    def experiment_by_name(self, name: str) -> dict[str, Any] | None:
        try:
            return self.get("experiments/get-by-name", experiment_name=name)["experiment"]
        except RestError as exc:
            if exc.not_found:
                return None
            raise

    def create_experiment(self, name: str, artifact_location: str | None = None) -> str:
        body: dict[str, Any] = {"name": name}
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self.post("experiments/create", body)["experiment_id"])

    def restore_experiment(self, experiment_id: str) -> None:
        self.post("experiments/restore", {"experiment_id": experiment_id})

    def create_run(
        self, experiment_id: str, run_name: str, tags: dict[str, str], start_time_ms: int
    ) -> dict[str, Any]:
        body = {
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": start_time_ms,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        return self.post("runs/create", body)["run"]

    def update_run(self, run_id: str, status: str, end_time_ms: int | None = None) -> None:
        body: dict[str, Any] = {"run_id": run_id, "status": status}
        if end_time_ms is not None:
            body["end_time"] = end_time_ms
        self.post("runs/update", body)

    def get_run(self, run_id: str) -> dict[str, Any]:
        """`{"info": {...}, "data": {"metrics": [...], "params": [...], "tags": [...]}}`."""
        return self.get("runs/get", run_id=run_id)["run"]

    def search_runs(
        self,
        experiment_ids: list[str],
        filter: str = "",
        max_results: int = PAGE,
        order_by: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "experiment_ids": experiment_ids,
            "filter": filter,
            "max_results": max_results,
        }
        if order_by:
            body["order_by"] = order_by
        found = self.post("runs/search", body)
        return list(found.get("runs") or [])

    def metric_history(self, run_id: str, key: str) -> list[dict[str, Any]]:
        return [
            m
            for page in self._pages("metrics/get-history", "metrics", run_id=run_id, metric_key=key)
            for m in page
        ]

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[dict[str, Any]]:
        """`[{"path", "is_dir", "file_size"}]` (the server reads the run's artifact store)."""
        return list(self.get("artifacts/list", run_id=run_id, path=path).get("files") or [])

    def run_artifact(self, run_id: str, path: str) -> bytes:
        """One file of a run's artifacts, through the server."""
        return self.request(
            "GET", "get-artifact", params={"run_id": run_id, "path": path}, raw=True
        )

    def upload_artifact(self, artifact_uri: str, path: str, data: bytes) -> None:
        """Write `path` below a run's `mlflow-artifacts:/…` artifact URI (a server that
        serves artifacts)."""
        below = artifact_uri.removeprefix("mlflow-artifacts:").lstrip("/")
        request = urllib.request.Request(
            f"{self.uri}/api/2.0/mlflow-artifacts/artifacts/{below}/{path}",
            data=data,
            method="PUT",
            headers={**auth_headers(), "Content-Type": "application/octet-stream"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                pass
        except urllib.error.HTTPError as exc:
            raise _http_error("mlflow-artifacts", exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable("mlflow-artifacts", f"{exc} ({clean_uri(self.uri)})") from None

    def model_version_artifact(self, name: str, version: str, path: str) -> bytes:
        """One file of a model version's artifacts, through the server."""
        return self.request(
            "GET",
            "model-versions/get-artifact",
            params={"name": name, "version": version, "path": path},
            raw=True,
        )

    # --- the model registry -----------------------------------------------------------------

    def get_registered_model(self, name: str) -> dict[str, Any]:
        """`{"name", "aliases": [{"alias", "version"}], ...}`; RestError(not_found) if none."""
        return self.get("registered-models/get", name=name)["registered_model"]

    def search_registered_models(self, filter: str = "") -> list[dict[str, Any]]:
        return [
            m
            for page in self._pages(
                "registered-models/search", "registered_models", filter=filter or None
            )
            for m in page
        ]

    def search_model_versions(self, filter: str) -> list[dict[str, Any]]:
        return [
            v
            for page in self._pages("model-versions/search", "model_versions", filter=filter)
            for v in page
        ]

    def get_model_version(self, name: str, version: str) -> dict[str, Any]:
        return self.get("model-versions/get", name=name, version=version)["model_version"]

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        body = {"name": name, "version": version, "key": key, "value": value}
        self.post("model-versions/set-tag", body)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.post("registered-models/alias", {"name": name, "alias": alias, "version": version})

    def get_by_alias(self, name: str, alias: str) -> dict[str, Any]:
        return self.get("registered-models/alias", name=name, alias=alias)["model_version"]

    def delete_alias(self, name: str, alias: str) -> None:
        self.request(
            "DELETE", "api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias}
        )

    # --- helpers -----------------------------------------------------------------------------

    def _pages(self, endpoint: str, key: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        token = None
        while True:
            found = self.get(endpoint, max_results=PAGE, page_token=token, **params)
            yield list(found.get(key) or [])
            token = found.get("next_page_token")
            if not token:
                return


def _http_error(endpoint: str, exc: urllib.error.HTTPError) -> RestError:
    try:
        body = exc.read()
    except OSError:
        body = b""
    code: str | None = None
    message = ""
    try:
        data = json.loads(body or b"{}")
        if isinstance(data, dict):
            code = data.get("error_code")
            message = str(data.get("message") or "")
    except ValueError:
        message = body.decode(errors="replace").strip()
    first = message.strip().splitlines()[0] if message.strip() else (exc.reason or "")
    return RestError(endpoint, str(first)[:300], status=exc.code, error_code=code)


def now_ms() -> int:
    return int(time.time() * 1000)


def tags_of(entity: dict[str, Any]) -> dict[str, str]:
    """`[{"key", "value"}]` (runs, versions) as a dict."""
    items = entity.get("tags") or []
    if isinstance(items, dict):
        return dict(items)
    return {t["key"]: t.get("value", "") for t in items}


def metrics_of(run: dict[str, Any]) -> dict[str, float]:
    return {m["key"]: float(m["value"]) for m in (run.get("data") or {}).get("metrics") or []}


def params_of(run: dict[str, Any]) -> dict[str, str]:
    return {p["key"]: p.get("value", "") for p in (run.get("data") or {}).get("params") or []}
