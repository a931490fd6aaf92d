"""Connecting to the cluster and turning API failures into messages a user can act on.

Kubeconfig (`--context`, `--namespace`, default: the context's namespace) or the in-cluster
service account. The official `kubernetes` client is imported here, lazily. Every call goes
through `Kube.call`, which names what was attempted (verb + resource), so a 403 says which
permission is missing and a dead API server says where ame tried to reach it — never a
traceback.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ame_core.runtime.backend import BackendError

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DEFAULT_TIMEOUT = (10, 60)  # connect, read (seconds)


class KubeError(BackendError):
    status: int | None = None


class Unauthorized(KubeError):
    status = 401


class Forbidden(KubeError):
    status = 403


class NotFound(KubeError):
    status = 404


class NamespaceNotFound(NotFound):
    pass


class Conflict(KubeError):
    status = 409


class Gone(KubeError):
    status = 410


class Unreachable(KubeError):
    pass


def _kubeconfig_file() -> str | None:
    env = os.environ.get("KUBECONFIG")
    if env:
        # The first existing file of a KUBECONFIG list (the client reads one file).
        for part in env.split(os.pathsep):
            if part and Path(part).expanduser().exists():
                return str(Path(part).expanduser())
        return env.split(os.pathsep)[0]
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.exists() else None


def kubeconfig_namespace(context: str | None = None) -> tuple[str | None, str | None]:
    """(context name, its namespace) read from the kubeconfig file alone: no network, no
    client import — what the dry run needs. (None, None) when there is no kubeconfig."""
    path = _kubeconfig_file()
    if not path or not Path(path).exists():
        return context, None
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return context, None
    name = context or data.get("current-context")
    for entry in data.get("contexts") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return name, ((entry.get("context") or {}).get("namespace") or None)
    return name, None


def connect(context: str | None = None, namespace: str | None = None) -> Kube:
    """A connection to the cluster of `context` (or the in-cluster one)."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError as exc:  # pragma: no cover - a dependency
        raise BackendError(f"the kubernetes client is not installed: {exc}") from None
    configuration = client.Configuration()
    path = _kubeconfig_file()
    have_file = bool(path) and Path(path).exists()
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not context and not have_file
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
            context_name = "in-cluster"
            default_ns = (
                IN_CLUSTER_NAMESPACE.read_text().strip() if IN_CLUSTER_NAMESPACE.exists() else None
            )
        else:
            if not have_file:
                raise BackendError(
                    "no kubeconfig found (KUBECONFIG or ~/.kube/config): point KUBECONFIG at "
                    "your cluster's config, or run ame inside the cluster"
                )
            config.load_kube_config(
                config_file=path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
            context_name, default_ns = kubeconfig_namespace(context)
    except ConfigException as exc:
        if in_cluster:
            raise BackendError(
                f"running in a pod, but its service account cannot be used: {exc}"
            ) from None
        where = f" context '{context}'" if context else ""
        raise BackendError(f"cannot use the kubeconfig{where}: {exc}") from None
    api_client = client.ApiClient(configuration)
    return Kube(
        api_client,
        namespace or default_ns or "default",
        context_name or "(default)",
        configuration.host,
    )


class Kube:
    """The typed APIs of the official client, with errors translated and JSON dicts out."""

    def __init__(self, api_client: Any, namespace: str, context: str, host: str) -> None:
        from kubernetes import client

        self.api_client = api_client
        self.namespace = namespace
        self.context = context
        self.host = host
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.networking = client.NetworkingV1Api(api_client)
        self.authorization = client.AuthorizationV1Api(api_client)
        self.timeout: tuple[int, int] = DEFAULT_TIMEOUT

    def close(self) -> None:
        try:
            self.api_client.close()
        except Exception:  # noqa: BLE001  # pragma: no cover - best effort on shutdown
            pass

    # --- calls --------------------------------------------------------------------------

    def call(
        self,
        verb: str,
        resource: str,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        raw: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Call one API function; JSON dict out (or text when `raw`). `verb` and `resource`
        (e.g. "create", "jobs") say what the call does, for messages."""
        kwargs.setdefault("_request_timeout", self.timeout)
        kwargs["_preload_content"] = False
        try:
            response = fn(*args, **kwargs)
            data = response.data
        except Exception as exc:  # noqa: BLE001 - translate says what any failure means
            raise self.translate(exc, verb, resource, name) from None
        if raw:
            return data.decode("utf-8", errors="replace")
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise KubeError(
                f"the Kubernetes API at {self.host} answered {verb} {resource} with something "
                "that is not JSON"
            ) from None

    def stream(
        self,
        verb: str,
        resource: str,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """An unread streaming response (logs with follow=True); the caller closes it."""
        kwargs.setdefault("_request_timeout", (self.timeout[0], 3600))
        kwargs["_preload_content"] = False
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - translate says what any failure means
            raise self.translate(exc, verb, resource, name) from None

    def watch(
        self, resource: str, fn: Callable[..., Any], timeout: int, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """Watch events (type, raw object) for at most `timeout` seconds. 410 Gone (the
        resource version expired) is raised as `Gone` for the caller to re-list."""
        from kubernetes import watch

        watcher = watch.Watch()
        kwargs.setdefault("_request_timeout", (self.timeout[0], timeout + 15))
        try:
            for event in watcher.stream(fn, timeout_seconds=timeout, **kwargs):
                if event.get("type") == "ERROR":
                    obj = event.get("raw_object") or {}
                    code = obj.get("code")
                    if code == 410:
                        raise Gone(f"the watch on {resource} expired (410 Gone)")
                    raise KubeError(
                        f"watching {resource} failed: {obj.get('message') or obj.get('reason')}"
                    )
                yield {"type": event.get("type"), "object": event.get("raw_object")}
        except KubeError:
            raise
        except Exception as exc:  # noqa: BLE001 - translate says what any failure means
            raise self.translate(exc, "watch", resource, None) from None
        finally:
            watcher.stop()

    # --- errors -------------------------------------------------------------------------

    def translate(self, exc: Exception, verb: str, resource: str, name: str | None) -> KubeError:
        from kubernetes.client.exceptions import ApiException

        what = f"{resource}/{name}" if name else resource
        where = f"namespace '{self.namespace}' (context {self.context})"
        if isinstance(exc, ApiException):
            status = exc.status or 0
            body = _status_body(exc)
            message = body.get("message") or exc.reason or ""
            if status == 401:
                return Unauthorized(
                    f"the Kubernetes API at {self.host} rejected the credentials of context "
                    f"{self.context} (401 Unauthorized): log in again or refresh the token "
                    "in your kubeconfig"
                )
            if status == 403:
                return Forbidden(
                    f"permission denied: ame needs '{verb}' on '{resource}' in {where}, and "
                    f"the cluster said: {message or 'forbidden'}. Ask an admin to bind the Role "
                    "in deploy/rbac.yaml to your user (ame cluster check lists every permission)"
                )
            if status == 404:
                missing_ns = _missing_namespace(body, message)
                if missing_ns:
                    return NamespaceNotFound(
                        f"namespace '{missing_ns}' does not exist (context {self.context}): "
                        f"create it (kubectl create namespace {missing_ns}, or apply "
                        "deploy/namespace.yaml) or choose another with --namespace"
                    )
                return NotFound(f"{what} not found in {where}")
            if status == 409:
                return Conflict(
                    f"{what} already exists in {where} (409 Conflict): another ame process "
                    "may have created it; try again or choose another name"
                )
            if status == 410:
                return Gone(f"{verb} {what}: the resource version expired (410 Gone)")
            if status == 0:
                return Unreachable(self._unreachable(str(exc.reason or exc)))
            detail = message or exc.reason or "error"
            return KubeError(f"{verb} {what} in {where} failed ({status}): {detail}")
        if isinstance(exc, KubeError):
            return exc
        return Unreachable(self._unreachable(_short(exc)))

    def _unreachable(self, reason: str) -> str:
        return (
            f"cannot reach the Kubernetes API at {self.host} (context {self.context}): {reason}. "
            "Is the cluster running, and is this the right context? (kubectl config "
            "get-contexts; ame cluster check)"
        )


def _status_body(exc: Any) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            data = json.loads(body)
            return data if isinstance(data, dict) else {}
        except ValueError:
            return {}
    return {}


_NS_MESSAGE = re.compile(r'namespaces "([^"]+)" not found')


def _missing_namespace(body: dict[str, Any], message: str) -> str | None:
    details = body.get("details") or {}
    if isinstance(details, dict) and details.get("kind") == "namespaces" and details.get("name"):
        return str(details["name"])
    match = _NS_MESSAGE.search(message or "")
    return match.group(1) if match else None


def _short(exc: Exception) -> str:
    """The innermost reason of a urllib3/socket error, in one line."""
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve"
    if "timed out" in text.lower():
        return "the connection timed out"
    return text.splitlines()[0][:200] if text else type(exc).__name__
