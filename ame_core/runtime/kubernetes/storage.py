"""Where KServe's storage initializer can fetch a model version from (`storageUri`).

MLflow knows a version's files by many names: `models:/m-…` (a logged model, MLflow 3),
`runs:/<run>/<path>`, `mlflow-artifacts:/…` (the tracking server's artifact proxy), `file:`
paths, or the object store itself. KServe reads only the last kind (s3, gs, Azure Blob, a PVC,
HDFS), so the registry's names are resolved first (model_facts) and what is left is mapped
here, or refused before anything is applied with the one thing to configure.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ame_core.runtime.backend import BackendError

# The object store the MLflow server's `--artifacts-destination` points at: with it,
# `mlflow-artifacts:/<path>` is `<destination>/<path>` (the server's own mapping).
ARTIFACTS_DESTINATION_ENV = "AME_K8S_MLFLOW_ARTIFACTS_DESTINATION"
# Schemes KServe's storage initializer downloads a whole directory from.
OBJECT_STORES = ("s3", "gs", "pvc", "hdfs", "webhdfs")
PLACEHOLDER = "<resolved-at-deploy>"

_OBJECT_STORE_FIX = (
    "run the MLflow server with --artifacts-destination s3://BUCKET/PATH (or gs://, Azure "
    f"Blob) so versions live in object storage, and set {ARTIFACTS_DESTINATION_ENV} to it"
)


def is_azure_blob(uri: str) -> bool:
    host = urlsplit(uri).hostname or ""
    return uri.startswith("https://") and host.endswith(".blob.core.windows.net")


def readable_by_kserve(uri: str) -> bool:
    scheme = urlsplit(uri).scheme
    return scheme in OBJECT_STORES or is_azure_blob(uri)


def storage_uri(location: str, what: str, destination: str | None = None) -> str:
    """The `storageUri` for a version whose files are at `location` (already resolved from
    `models:/` or `runs:/`); `what` names the version in messages ("logreg v3").
    Raises BackendError (one line) for a location KServe cannot read."""
    location = location.rstrip("/")
    if destination is None:
        destination = os.environ.get(ARTIFACTS_DESTINATION_ENV) or None
    scheme = urlsplit(location).scheme
    if readable_by_kserve(location):
        return location
    if scheme in ("wasbs", "wasb", "abfss"):
        return _azure_https(location)
    if scheme == "mlflow-artifacts":
        if not destination:
            raise BackendError(
                f"{what} is stored at {location}, behind the MLflow server's artifact proxy, "
                f"which KServe cannot read: set {ARTIFACTS_DESTINATION_ENV} to the object "
                "store the server's --artifacts-destination points at (e.g. s3://BUCKET/mlflow)"
            )
        base = storage_uri(destination, f"{ARTIFACTS_DESTINATION_ENV} ({destination})", "")
        path = urlsplit(location).path.lstrip("/")
        return f"{base.rstrip('/')}/{path}"
    if scheme in ("models", "runs"):
        raise BackendError(
            f"{what} is registered as {location}, which the registry could not resolve to "
            f"files: register the version from a run's artifacts, or {_OBJECT_STORE_FIX}"
        )
    where = "a file on the MLflow host" if scheme in ("", "file") else f"{scheme}:"
    raise BackendError(
        f"{what} is stored at {location} ({where}), which KServe cannot read: {_OBJECT_STORE_FIX}"
    )


def _azure_https(uri: str) -> str:
    """`wasbs://container@account.blob.core.windows.net/path` as KServe's https form."""
    parts = urlsplit(uri)
    container, _, host = parts.netloc.partition("@")
    if not host:
        raise BackendError(f"cannot read the Azure location {uri}: expected container@account")
    account = host.split(".")[0]
    return f"https://{account}.blob.core.windows.net/{container}{parts.path}".rstrip("/")
