"""Fixtures for the Kubernetes backend: kmock (a real HTTP server speaking the Kubernetes API)
in a thread of its own, a kubeconfig pointing at it, and an MLflow sqlite store.

kmock has no controllers: the tests play the Job controller and the kubelet themselves, through
the official client (create the pod, patch its status), the way the real ones would.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RESOURCES = (
    "v1/pods",
    "v1/configmaps",
    "v1/secrets",
    "v1/services",
    "v1/namespaces",
    "v1/nodes",
    "v1/serviceaccounts",
    "batch/v1/jobs",
    "batch/v1/cronjobs",
    "apps/v1/deployments",
    "networking.k8s.io/v1/ingresses",
    "serving.kserve.io/v1beta1/inferenceservices",
    "authorization.k8s.io/v1/selfsubjectaccessreviews",
    "authorization.k8s.io/v1/localsubjectaccessreviews",
)
NAMESPACE = "ame-test"
CLUSTER_MLFLOW = "http://mlflow.ame.svc:5000"


class KmockServer:
    """kmock's emulator served from a background event loop, for synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.handler: Any = None
        self.server: Any = None

    def start(self) -> None:
        import kmock

        self.thread.start()

        async def enter() -> None:
            self.handler = kmock.KubernetesEmulator()
            await self.handler.__aenter__()
            self.server = kmock.Server(self.handler)
            await self.server.__aenter__()
            for resource in RESOURCES:
                self.handler.resources[resource] = {}

        self.run(enter())

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server's loop (DSL changes must not race the handler)."""

        async def wrapper() -> Any:
            return fn()

        return self.run(wrapper())

    @property
    def url(self) -> str:
        return str(self.server.url).rstrip("/")

    def stop(self) -> None:
        async def leave() -> None:
            await self.server.__aexit__(None, None, None)
            await self.handler.__aexit__(None, None, None)

        try:
            self.run(leave(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


def write_kubeconfig(path: Path, url: str, namespace: str | None = NAMESPACE) -> Path:
    context: dict[str, Any] = {"cluster": "kmock", "user": "tester"}
    if namespace:
        context["namespace"] = namespace
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "kmock", "cluster": {"server": url}}],
                "users": [{"name": "tester", "user": {"token": "test-token"}}],
                "contexts": [{"name": "kmock", "context": context}],
                "current-context": "kmock",
            }
        )
    )
    return path


@pytest.fixture
def kmock_server() -> Iterator[KmockServer]:
    server = KmockServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubeconfig(kmock_server: KmockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_kubeconfig(tmp_path / "kubeconfig", kmock_server.url)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return path


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An migrated, empty MLflow sqlite store, copied per test (migrations take seconds)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    folder = tmp_path_factory.mktemp("mlflow-template")
    path = folder / "mlflow.db"
    from ame_core.tracking import client

    cwd = Path.cwd()
    os.chdir(folder)  # MLflow's default artifact root is ./mlruns: keep it out of the tree
    try:
        client(f"sqlite:///{path}").search_experiments()
    finally:
        os.chdir(cwd)
    return path


@pytest.fixture
def mlflow_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_template: Path) -> str:
    import shutil

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("AME_CLUSTER_MLFLOW_URI", CLUSTER_MLFLOW)
    monkeypatch.chdir(tmp_path)  # artifacts of new experiments land under ./mlruns here
    shutil.copy(mlflow_template, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str, tmp_path: Path) -> tuple[Path, Any]:
    """A copy of an example project and its analysis."""
    import shutil

    from ame_core.engine import analyze

    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project, ignore=shutil.ignore_patterns(".ame"))
    text = (project / "ame.yml").read_text()
    return project, analyze(text, str(project / "ame.yml"))


def official_client(kmock_server: KmockServer) -> Any:
    """The official client on kmock: the test's own hands (Job controller, kubelet)."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = kmock_server.url
    return client.ApiClient(configuration)


@pytest.fixture
def cluster(kmock_server: KmockServer, kubeconfig: Path) -> Any:
    kubelet = Kubelet(kmock_server)
    kubelet.service_account(DRIVER_SERVICE_ACCOUNT)  # deploy/rbac.yaml, applied
    return kubelet


DRIVER_SERVICE_ACCOUNT = "ame-flow-driver"


class Kubelet:
    """Does what the Job controller and the kubelet would: pods for Jobs, status changes."""

    def __init__(self, server: KmockServer, namespace: str = NAMESPACE) -> None:
        from kubernetes import client

        self.server = server
        self.namespace = namespace
        self.api = official_client(server)
        self.core = client.CoreV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self._counter = 0
        self._logs: dict[tuple[str, bool], str] = {}

    def service_account(self, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        self.core.create_namespaced_service_account(self.namespace, body, _preload_content=False)

    def jobs(self) -> list[dict[str, Any]]:
        return self._items(self.batch.list_namespaced_job(self.namespace, _preload_content=False))

    def job(self, name: str) -> dict[str, Any]:
        import json

        return json.loads(
            self.batch.read_namespaced_job(name, self.namespace, _preload_content=False).data
        )

    @staticmethod
    def _items(response: Any) -> list[dict[str, Any]]:
        import json

        return json.loads(response.data).get("items") or []

    def pod_for(self, job_name: str, created: str = "2026-01-01T00:00:00Z") -> str:
        """Create the Job's pod from its template, Pending and unscheduled."""
        job = self.job(job_name)
        template = job["spec"]["template"]
        self._counter += 1
        name = f"{job_name}-{self._counter:05d}"
        labels = {
            **template["metadata"]["labels"],
            "batch.kubernetes.io/job-name": job_name,
            "job-name": job_name,
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": labels,
                "annotations": template["metadata"].get("annotations") or {},
                "creationTimestamp": created,
            },
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
        self.core.create_namespaced_pod(self.namespace, pod, _preload_content=False)
        return name

    def pod_status(self, pod: str, status: dict[str, Any]) -> None:
        self.core.patch_namespaced_pod_status(
            pod, self.namespace, {"status": status}, _preload_content=False
        )

    def job_status(self, job: str, status: dict[str, Any]) -> None:
        self.batch.patch_namespaced_job_status(
            job, self.namespace, {"status": status}, _preload_content=False
        )

    # The kubelet's steps --------------------------------------------------------------------

    def unschedulable(self, pod: str, message: str) -> None:
        self.pod_status(
            pod,
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": message,
                    }
                ],
            },
        )

    def running(self, pod: str, job: str | None = None) -> None:
        self.pod_status(
            pod,
            {
                "phase": "Running",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
                "initContainerStatuses": [
                    {
                        "name": "fetch-code",
                        "ready": True,
                        "restartCount": 0,
                        "image": "mlflow",
                        "imageID": "",
                        "state": {"terminated": {"exitCode": 0}},
                    }
                ],
                "containerStatuses": [
                    {
                        "name": "task",
                        "ready": True,
                        "restartCount": 0,
                        "image": "python",
                        "imageID": "",
                        "state": {"running": {"startedAt": "2026-01-01T00:00:05Z"}},
                    }
                ],
            },
        )
        if job:
            self.job_status(job, {"active": 1, "startTime": "2026-01-01T00:00:01Z"})

    def finished(self, pod: str, job: str, exit_code: int = 0, reason: str | None = None):
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "startedAt": "2026-01-01T00:00:05Z",
            "finishedAt": "2026-01-01T00:01:05Z",
            "reason": reason or ("Completed" if exit_code == 0 else "Error"),
        }
        self.pod_status(
            pod,
            {
                "phase": "Succeeded" if exit_code == 0 else "Failed",
                "containerStatuses": [
                    {
                        "name": "task",
                        "ready": False,
                        "restartCount": 0,
                        "image": "python",
                        "imageID": "",
                        "state": {"terminated": terminated},
                    }
                ],
            },
        )
        condition = "Complete" if exit_code == 0 else "Failed"
        status: dict[str, Any] = {
            "active": 0,
            "startTime": "2026-01-01T00:00:01Z",
            "conditions": [
                {"type": condition, "status": "True", "lastTransitionTime": "2026-01-01T00:01:06Z"}
            ],
        }
        if exit_code == 0:
            status["succeeded"] = 1
            status["completionTime"] = "2026-01-01T00:01:06Z"
        else:
            status["failed"] = 1
        self.job_status(job, status)

    def logs(self, pod: str, text: str, previous: bool = False) -> None:
        """kmock serves pod logs only when told: an explicit text response (the current text
        of the pod's log, changeable; `previous` is the crashed container's log)."""
        key = (pod, previous)
        first = key not in self._logs
        self._logs[key] = text
        if not first:
            return
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}/log"

        def install() -> None:
            if previous:
                view = self.server.handler[f"get {path}?previous=true"] ** 1
            else:
                view = self.server.handler[f"get {path}"]
            view << (lambda request: self._logs[key].encode())  # noqa: B015 - kmock DSL

        self.server.call(install)


@pytest.fixture(autouse=True)
def _no_host_kube_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AME_K8S_"):
            monkeypatch.delenv(name, raising=False)
