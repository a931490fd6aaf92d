"""`serving: kserve` and `serving: triton` on kmock: the InferenceService a deploy applies
(valid against KServe's own CRD schema), its status read back into the endpoint, the refusals
before anything is applied (storageUri, flavor, Python, canary in RawDeployment mode), and the
dry run with no cluster and no registry.

Model versions are real: logged with MLflow into a real `mlflow server` (artifacts proxied as
`mlflow-artifacts:`, the set-up of deploy/mlflow.yaml) or a sqlite store (file artifacts).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from k8s_harness import NAMESPACE, KmockServer, Kubelet

from ame_core.net import free_port
from ame_core.runtime.backend import BackendError, EndpointStatus, RunContext
from ame_core.runtime.kubernetes import inference_service as isvc
from ame_core.runtime.kubernetes.backend import KubernetesBackend
from ame_core.runtime.kubernetes.storage import ARTIFACTS_DESTINATION_ENV
from ame_core.spec.models import Deployment, Rollout

CRD_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "k8s"
CRD_SCHEMA = CRD_SCHEMA / "kserve-v1beta1-inferenceservice.schema.json"
BUCKET = "s3://ml-artifacts/mlflow"
CUSTOM_IMAGE = "registry.example.com/ml/mlserver-py311:1.7.1"


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown keys refused wherever it lists the keys (the API server
    prunes unknown fields silently, so a misspelt field would otherwise pass unnoticed)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def crd_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(CRD_SCHEMA.read_text())
    assert schema["properties"]["spec"]["properties"]["predictor"]  # the openAPIV3Schema itself
    return jsonschema.Draft7Validator(_strict(schema))


def validate(validator: jsonschema.Draft7Validator, obj: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


# --- a real MLflow server, artifacts proxied (mlflow-artifacts:) -------------------------------


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("kserve-mlflow")
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
         f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
         "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=root, env=env, stdout=(root / "log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"mlflow server did not start: {(root / 'log').read_text()[-2000:]}")
            time.sleep(0.3)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def _fluent(uri: str) -> Iterator[Any]:
    """MLflow's fluent API on `uri`, leaving no trace: set_tracking_uri and set_experiment
    write MLFLOW_* variables that later tests' subprocesses would inherit."""
    import mlflow

    saved = dict(os.environ)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("kserve-test")
    try:
        yield mlflow
    finally:
        os.environ.clear()
        os.environ.update(saved)
        mlflow.set_tracking_uri(None)
        import mlflow.tracking.fluent as fluent

        fluent._active_experiment_id = None


def _log_sklearn(uri: str, name: str, *, signature: bool = True) -> str:
    """A scikit-learn model logged and registered as MLflow 3 does it (`models:/m-…`)."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).random((20, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int))
    from importlib.metadata import version

    # Given, as inferring them takes seconds; the pins are what the inference would write.
    pins = [f"{p}=={version(p)}" for p in ("mlflow", "scikit-learn", "numpy", "skops")]
    with _fluent(uri), mlflow.start_run():
        mlflow.sklearn.log_model(
            model,
            pip_requirements=pins,
            name="model",
            registered_model_name=name,
            input_example=X[:2] if signature else None,
        )
    client = mlflow.MlflowClient(uri)
    return max(v.version for v in client.search_model_versions(f"name='{name}'"))


def _register(uri: str, name: str, run_id: str) -> str:
    """A new version of registered model `name` from the run's `model` artifact."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(uri)
    with contextlib.suppress(MlflowException):  # registered before
        client.create_registered_model(name)
    return client.create_model_version(name, f"runs:/{run_id}/model", run_id).version


def _log_onnx_like(uri: str, name: str, tmp: Path) -> str:
    """A version with the onnx flavor, registered from a run's artifacts (`runs:/…`): the
    MLmodel as mlflow.onnx writes it; the graph file itself is not read by ame."""
    import mlflow

    folder = tmp / "onnx-model"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"\x08\x07")
    (folder / "MLmodel").write_text(
        yaml.safe_dump(
            {
                "artifact_path": "model",
                "flavors": {
                    "onnx": {"data": "model.onnx", "onnx_version": "1.16.1"},
                    "python_function": {"loader_module": "mlflow.onnx", "data": "model.onnx"},
                },
                "mlflow_version": "3.17.2",
            }
        )
    )
    with _fluent(uri), mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), "model")
    return _register(uri, name, run.info.run_id)


def _log_saved(uri: str, name: str, tmp: Path, python: str, requirements: list[str]) -> str:
    """A scikit-learn model saved by MLflow as a trainer on another Python would have it
    (python_env.yaml and requirements.txt as given), registered from its run (`runs:/`)."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(1).random((20, 3))
    folder = tmp / f"saved-{name}"
    mlflow.sklearn.save_model(
        LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int)),
        str(folder),
        input_example=X[:2],
        pip_requirements=requirements,
    )
    env = yaml.safe_load((folder / "python_env.yaml").read_text())
    (folder / "python_env.yaml").write_text(yaml.safe_dump({**env, "python": python}))
    (folder / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
    with _fluent(uri), mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), "model")
    return _register(uri, name, run.info.run_id)


# --- helpers -----------------------------------------------------------------------------------


def _context(tmp_path: Path, uri: str) -> RunContext:
    return RunContext(project_dir=tmp_path, project="quickstart", tracking_uri=uri)


def _custom(kubelet: Kubelet) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(kubelet.api)


def _isvcs(kubelet: Kubelet) -> list[dict[str, Any]]:
    data = (
        _custom(kubelet)
        .list_namespaced_custom_object(
            isvc.GROUP, isvc.API_VERSION, NAMESPACE, isvc.PLURAL, _preload_content=False
        )
        .data
    )
    return json.loads(data).get("items") or []


def _isvc_status(kubelet: Kubelet, name: str, status: dict[str, Any]) -> None:
    """What KServe's controller would write: kmock has no controller."""
    _custom(kubelet).patch_namespaced_custom_object_status(
        isvc.GROUP, isvc.API_VERSION, NAMESPACE, isvc.PLURAL, name, {"status": status},
        _preload_content=False,
    )  # fmt: skip


def _ready(url: str, mode: str = "Serverless") -> dict[str, Any]:
    return {
        "url": url,
        "deploymentMode": mode,
        "observedGeneration": 1,
        "conditions": [
            {"type": "PredictorReady", "status": "True"},
            {"type": "IngressReady", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
    }


# --- the tests ---------------------------------------------------------------------------------


def test_kserve_deploy_applies_a_valid_inference_service_and_reads_its_status(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch, capsys, crd_validator
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_sklearn(mlflow_server, "logreg")
    backend = KubernetesBackend(tmp_path)
    deployment = Deployment(
        serving="kserve", replicas=2, resources={"cpu": "1", "memory": "2Gi"}, image=CUSTOM_IMAGE
    )
    context = _context(tmp_path, mlflow_server)
    endpoint = backend.deploy("logreg", version, context, deployment)
    assert endpoint.status is EndpointStatus.STARTING and endpoint.version == version
    # The image is not in ame's table: said, not silently trusted.
    assert "not in ame's table" in capsys.readouterr().err
    [obj] = _isvcs(cluster)
    validate(crd_validator, obj)
    model = obj["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "mlflow"} and model["protocolVersion"] == "v2"
    assert model["runtime"] == "kserve-mlserver" and model["image"] == CUSTOM_IMAGE
    # models:/m-… → the logged model's mlflow-artifacts: location → the bucket behind it.
    assert model["storageUri"].startswith(f"{BUCKET}/") and "/models/m-" in model["storageUri"]
    assert model["storageUri"].endswith("/artifacts")
    assert model["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "1", "memory": "2Gi"},
    }
    assert (obj["spec"]["predictor"]["minReplicas"], obj["spec"]["predictor"]["maxReplicas"]) == (
        2,
        2,
    )
    meta = obj["metadata"]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "ame"
    assert meta["labels"]["ame.dev/project"] == "quickstart"
    assert meta["annotations"]["ame.dev/model-version"] == version
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"]

    # KServe's controller reports: a predictor that is not ready yet, then ready.
    name = meta["name"]
    _isvc_status(
        cluster,
        name,
        {
            "conditions": [
                {"type": "PredictorReady", "status": "False", "reason": "RevisionMissing",
                 "message": "Configuration is waiting for a Revision to become ready."},
                {"type": "Ready", "status": "False"},
            ]
        },
    )  # fmt: skip
    starting = backend.endpoint("logreg", context)
    assert starting is not None and starting.status is EndpointStatus.STARTING
    assert "PredictorReady: RevisionMissing" in (starting.detail or "")
    url = f"http://{name}.{NAMESPACE}.example.com"
    _isvc_status(cluster, name, _ready(url))
    ready = backend.endpoint("logreg", context)
    assert ready is not None and ready.status is EndpointStatus.READY
    assert ready.url == url and ready.ready_replicas == 2
    assert ready.extra["deployment_mode"] == "Serverless"
    assert [e.model for e in backend.list_endpoints(context)] == ["logreg"]

    # The model fails to load: failed, with KServe's reason.
    _isvc_status(
        cluster,
        name,
        {
            "modelStatus": {
                "transitionStatus": "BlockedByFailedLoad",
                "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "No module named x"},
            }
        },
    )
    failed = backend.endpoint("logreg", context)
    assert failed is not None and failed.status is EndpointStatus.FAILED
    assert "ModelLoadFailed: No module named x" in (failed.detail or "")

    backend.undeploy("logreg", context)
    assert _isvcs(cluster) == [] and backend.endpoint("logreg", context) is None


def test_canary_honoured_in_serverless_refused_in_raw_deployment(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch, capsys, crd_validator
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    first = _log_sklearn(mlflow_server, "canaried")
    second = _log_sklearn(mlflow_server, "canaried")
    backend = KubernetesBackend(tmp_path)
    context = _context(tmp_path, mlflow_server)
    canary = Deployment(
        serving="kserve", image=CUSTOM_IMAGE, rollout=Rollout(strategy="canary", canary="20%")
    )
    backend.deploy("canaried", first, context, canary)
    assert "nothing is served yet" in capsys.readouterr().err  # first version: all traffic
    name = "ame-model-canaried"
    _isvc_status(cluster, name, _ready("http://c", mode="Serverless"))
    backend.deploy("canaried", second, context, canary)
    [obj] = _isvcs(cluster)
    validate(crd_validator, obj)
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 20

    # The same in RawDeployment mode: refused before anything is applied, in one line.
    _isvc_status(cluster, name, _ready("http://c", mode="RawDeployment"))
    before = _isvcs(cluster)[0]["metadata"]["annotations"]["ame.dev/model-version"]
    third = _log_sklearn(mlflow_server, "canaried")
    with pytest.raises(BackendError) as info:
        backend.deploy("canaried", third, context, canary)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "KServe runs this InferenceService in RawDeployment mode, which ignores "
        "canaryTrafficPercent (KServe #5335)"
    )
    assert "AME_K8S_KSERVE_CANARY_FALLBACK=replace" in message
    assert _isvcs(cluster)[0]["metadata"]["annotations"]["ame.dev/model-version"] == before

    # Asked to fall back: a full replace, with a warning.
    monkeypatch.setenv(isvc.CANARY_FALLBACK_ENV, "replace")
    endpoint = backend.deploy("canaried", third, context, canary)
    assert "deploying as a full replace" in capsys.readouterr().err
    assert any("full replace" in w for w in endpoint.extra["warnings"])
    assert endpoint.version == third


def test_mlflow_artifacts_without_a_destination_is_refused_in_one_line(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path
) -> None:
    version = _log_sklearn(mlflow_server, "proxied")
    backend = KubernetesBackend(tmp_path)
    with pytest.raises(BackendError) as info:
        backend.deploy(
            "proxied",
            version,
            _context(tmp_path, mlflow_server),
            Deployment(serving="kserve", image=CUSTOM_IMAGE),
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"proxied v{version} is stored at mlflow-artifacts:/")
    assert f"set {ARTIFACTS_DESTINATION_ENV} to the object store" in message
    assert _isvcs(cluster) == []


def test_file_artifacts_are_refused_before_anything_is_applied(
    cluster: Kubelet, mlflow_uri: str, tmp_path: Path
) -> None:
    version = _log_sklearn(mlflow_uri, "local")
    backend = KubernetesBackend(tmp_path)
    with pytest.raises(BackendError) as info:
        backend.deploy(
            "local", version, _context(tmp_path, mlflow_uri), Deployment(serving="kserve")
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"local v{version} is stored at {tmp_path}/mlruns/")
    assert "(a file on the MLflow host), which KServe cannot read" in message
    assert "which KServe cannot read: run the MLflow server with --artifacts-destination" in (
        message
    )
    assert _isvcs(cluster) == []


def test_python_newer_than_the_runtime_image_is_refused(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_sklearn(mlflow_server, "newpy")
    backend = KubernetesBackend(tmp_path)
    with pytest.raises(BackendError) as info:
        backend.deploy(
            "newpy", version, _context(tmp_path, mlflow_server), Deployment(serving="kserve")
        )
    message = str(info.value)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert "\n" not in message
    assert message.startswith(f"newpy v{version} was logged with Python {python}.")
    assert "docker.io/seldonio/mlserver:1.7.1 serves with Python 3.10" in message
    assert 'train with pythonVersion: "3.10"' in message
    assert _isvcs(cluster) == []


def test_a_python_3_10_version_passes_on_the_default_image(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch, capsys, crd_validator
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_saved(
        mlflow_server, "py310", tmp_path, "3.10.12", ["mlflow==3.17.2", "scikit-learn==1.6.1"]
    )
    endpoint = KubernetesBackend(tmp_path).deploy(
        "py310", version, _context(tmp_path, mlflow_server), Deployment(serving="kserve")
    )
    assert endpoint.extra["warnings"] == []
    assert "ame: warning" not in capsys.readouterr().err
    [obj] = _isvcs(cluster)
    validate(crd_validator, obj)
    model = obj["spec"]["predictor"]["model"]
    assert model["image"] == "docker.io/seldonio/mlserver:1.7.1"
    assert model["storageUri"].startswith(f"{BUCKET}/") and model["storageUri"].endswith(
        "/artifacts/model"
    )
    # The image's start-up installs the version's own requirements, then starts MLServer.
    script = model["command"][-1]
    assert "pip install --user" in script and "-r /mnt/models/requirements.txt" in script
    assert script.endswith("exec mlserver start /mnt/models")


def test_mlflow_newer_than_the_image_without_it_in_the_requirements_is_refused(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_saved(mlflow_server, "nomlflow", tmp_path, "3.10.12", ["scikit-learn==1.6.1"])
    with pytest.raises(BackendError) as info:
        KubernetesBackend(tmp_path).deploy(
            "nomlflow", version, _context(tmp_path, mlflow_server), Deployment(serving="kserve")
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"nomlflow v{version} was logged with MLflow 3.")
    assert "docker.io/seldonio/mlserver:1.7.1 (MLflow 2.22.1) cannot load" in message
    assert _isvcs(cluster) == []


def test_a_version_without_signature_is_refused(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_sklearn(mlflow_server, "unsigned", signature=False)
    with pytest.raises(BackendError) as info:
        KubernetesBackend(tmp_path).deploy(
            "unsigned",
            version,
            _context(tmp_path, mlflow_server),
            Deployment(serving="kserve", image=CUSTOM_IMAGE),
        )
    assert str(info.value).startswith(f"unsigned v{version} has no signature, which MLServer")


def test_triton_refuses_a_flavor_it_cannot_serve_naming_it(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_sklearn(mlflow_server, "sk")
    with pytest.raises(BackendError) as info:
        KubernetesBackend(tmp_path).deploy(
            "sk", version, _context(tmp_path, mlflow_server), Deployment(serving="triton")
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        f"sk v{version} has the flavor(s) python_function, sklearn, which Triton cannot serve"
    )
    assert "mlflow.onnx.log_model" in message
    assert _isvcs(cluster) == []


def test_triton_serves_the_onnx_flavor_from_a_run_artifact(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch, crd_validator
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    version = _log_onnx_like(mlflow_server, "onnxy", tmp_path)
    backend = KubernetesBackend(tmp_path)
    endpoint = backend.deploy(
        "onnxy", version, _context(tmp_path, mlflow_server), Deployment(serving="triton")
    )
    assert endpoint.extra["runtime"] == "kserve-tritonserver"
    [obj] = _isvcs(cluster)
    validate(crd_validator, obj)
    model = obj["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "onnx"} and model["protocolVersion"] == "v2"
    assert model["image"] == "nvcr.io/nvidia/tritonserver:24.08-py3"
    # runs:/<run>/model → the run's artifact URI (mlflow-artifacts:) + model → the bucket.
    assert model["storageUri"].startswith(f"{BUCKET}/") and model["storageUri"].endswith(
        "/artifacts/model"
    )
    script = model["command"][-1]
    assert "ln -sfn /mnt/models/model.onnx /tmp/ame-models/onnxy/1/model.onnx" in script
    assert "exec tritonserver --model-repository=/tmp/ame-models" in script


def test_switching_serving_removes_the_other_kind(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    monkeypatch.setenv("AME_CLUSTER_MLFLOW_URI", "http://mlflow.ame.svc:5000")
    version = _log_sklearn(mlflow_server, "switch")
    backend = KubernetesBackend(tmp_path)
    context = _context(tmp_path, mlflow_server)
    backend.deploy("switch", version, context, Deployment())  # serving: mlflow
    assert cluster.apps.list_namespaced_deployment(NAMESPACE).items
    backend.deploy("switch", version, context, Deployment(serving="kserve", image=CUSTOM_IMAGE))
    assert not cluster.apps.list_namespaced_deployment(NAMESPACE).items
    assert len(_isvcs(cluster)) == 1
    backend.deploy("switch", version, context, Deployment())
    assert _isvcs(cluster) == []


def test_dry_run_prints_the_inference_service_with_no_cluster_and_no_registry(
    tmp_path: Path, monkeypatch, crd_validator
) -> None:
    from ame_core.runtime.kubernetes.dry_run import render_deploy

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    deployment = Deployment(
        serving="kserve",
        replicas=3,
        resources={"cpu": "500m", "nvidia.com/gpu": 1},
        rollout=Rollout(strategy="canary", canary=10),
    )
    out = render_deploy(
        tmp_path, "logreg", "42", deployment, namespace="ml", project="quickstart",
        tracking_uri="http://127.0.0.1:1",  # nothing answers there: it is not asked
    )  # fmt: skip
    [doc] = [d for d in yaml.safe_load_all(out) if d]
    validate(crd_validator, doc)
    assert doc["metadata"]["namespace"] == "ml"
    model = doc["spec"]["predictor"]["model"]
    assert model["storageUri"] == "<resolved-at-deploy>"
    assert "storageUri: <resolved-at-deploy>  # resolved at deploy" in out
    assert doc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert model["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "RawDeployment ignores it" in out

    triton = render_deploy(
        tmp_path, "logreg", "42", Deployment(serving="triton"), namespace="ml",
        project="quickstart", tracking_uri="http://127.0.0.1:1",
    )  # fmt: skip
    [doc] = [d for d in yaml.safe_load_all(triton) if d]
    validate(crd_validator, doc)
    assert doc["spec"]["predictor"]["model"]["runtime"] == "kserve-tritonserver"


def test_cluster_check_has_a_kserve_line(
    cluster: Kubelet, kmock_server: KmockServer, tmp_path: Path
) -> None:
    from ame_core.runtime.kubernetes.cluster_check import _kserve_check

    backend = KubernetesBackend(tmp_path)
    check = _kserve_check(backend)
    assert check.status == "ok" and "InferenceService API present" in check.detail
    assert "mode unknown" in check.detail
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
        "data": {"deploy": json.dumps({"defaultDeploymentMode": "RawDeployment"})},
    }
    cluster.core.create_namespaced_config_map("kserve", config, _preload_content=False)
    check = _kserve_check(backend)
    assert check.status == "warn" and "RawDeployment ignores canaryTrafficPercent" in check.detail

    # No KServe: the API is missing, said as such.
    kmock_server.call(
        lambda: kmock_server.handler.resources.pop("serving.kserve.io/v1beta1/inferenceservices")
    )
    check = _kserve_check(backend)
    assert check.status == "warn" and "no InferenceService API" in check.detail


def test_mlserver_is_refused_on_the_kubernetes_backend(tmp_path: Path) -> None:
    backend = KubernetesBackend(tmp_path)
    with pytest.raises(BackendError) as info:
        backend.render_deploy(
            "m", "1", _context(tmp_path, "http://x"), Deployment(serving="mlserver")
        )
    assert "does not run on the kubernetes backend" in str(info.value)


def test_storage_uri_rules() -> None:
    from ame_core.runtime.kubernetes.storage import storage_uri

    assert storage_uri("s3://b/m/", "m v1") == "s3://b/m"
    assert storage_uri("gs://b/m", "m v1") == "gs://b/m"
    azure = "https://acct.blob.core.windows.net/c/m"
    assert storage_uri(azure, "m v1") == azure
    assert storage_uri("wasbs://c@acct.blob.core.windows.net/m", "m v1") == azure
    assert storage_uri("mlflow-artifacts:/1/x", "m v1", "gs://b/root") == "gs://b/root/1/x"
    for bad in ("runs:/abc/model", "models:/m/1", "/srv/mlruns/1", "https://example.com/m"):
        with pytest.raises(BackendError) as info:
            storage_uri(bad, "m v1")
        assert "\n" not in str(info.value) and "m v1" in str(info.value)
    assert copy.deepcopy(isvc.RUNTIMES)["kserve"].runtime == "kserve-mlserver"


def test_triton_model_repository_flavor_and_canary_modes() -> None:
    from ame_core.runtime.kubernetes.model_facts import VersionFacts

    facts = VersionFacts(
        "ens", "2", "runs:/r/model", "s3://b/r/model", flavors={"triton": {"data": "ens"}}
    )
    plan = isvc.check_version("triton", facts, None)
    assert plan.model_format == "triton" and plan.runtime.runtime == "kserve-tritonserver"
    assert "ln -sfn /mnt/models/ens /tmp/ame-models/ens" in plan.command[-1]
    # The mode as KServe reads it: status first, then the annotation.
    annotated = {"metadata": {"annotations": {isvc.MODE_ANNOTATION: "Standard"}}}
    assert isvc.mode_of(annotated) == "Standard"
    assert isvc.mode_of({**annotated, "status": {"deploymentMode": "Knative"}}) == "Knative"
    with pytest.raises(BackendError, match="in Standard mode, which ignores"):
        isvc.canary_decision(10, "Standard", first=False, fallback=None)
    assert isvc.canary_decision(10, "Knative", first=False, fallback=None) == (10, [])
    percent, warnings = isvc.canary_decision(10, None, first=False, fallback=None)
    assert percent == 10 and "cannot tell KServe's deployment mode" in warnings[0]
    assert isvc.mode_from_config({"data": {"deploy": '{"defaultDeploymentMode": "Serverless"}'}})


def test_a_kserve_canary_is_promoted_or_rolled_back_by_applying_again(
    cluster: Kubelet, mlflow_server: str, tmp_path: Path, monkeypatch, crd_validator
) -> None:
    from dataclasses import replace

    monkeypatch.setenv(ARTIFACTS_DESTINATION_ENV, BUCKET)
    first, second, third = (_log_sklearn(mlflow_server, "flowed") for _ in range(3))
    backend = KubernetesBackend(tmp_path)
    context = _context(tmp_path, mlflow_server)
    canary = Deployment(
        serving="kserve", image=CUSTOM_IMAGE, rollout=Rollout(strategy="canary", canary="25%")
    )
    name = "ame-model-flowed"
    backend.deploy("flowed", first, context, canary.model_copy(update={"rollout": None}))
    _isvc_status(cluster, name, _ready("http://f", mode="Serverless"))

    def served() -> tuple[str, Any]:
        [obj] = _isvcs(cluster)
        validate(crd_validator, obj)
        version = obj["metadata"]["annotations"]["ame.dev/model-version"]
        return version, obj["spec"]["predictor"].get("canaryTrafficPercent")

    backend.start_canary("flowed", second, context, canary, 25)
    assert served() == (second, 25)
    backend.promote_canary("flowed", replace(context, model_version=second), canary)
    assert served() == (second, 100)  # the new revision takes all traffic

    backend.start_canary("flowed", third, context, canary, 25)
    assert served() == (third, 25)
    backend.abort_canary("flowed", replace(context, model_version=third), canary, second)
    assert served() == (second, 100)  # the version served before, all traffic

    # A canary with nothing served to split with: refused in one line, nothing applied.
    with pytest.raises(BackendError) as info:
        backend.start_canary("plain", first, context, Deployment(), 25)
    assert str(info.value) == (
        "plain: a canary needs a served version to split requests with; deploy one first "
        "(ame model deploy plain)"
    )
