"""`serving: kserve` and `serving: triton`: a KServe InferenceService (serving.kserve.io/v1beta1).

Pure functions (no I/O): the runtime table, the checks a version must pass before anything is
applied (flavor, signature, Python and MLflow against the runtime's image), the manifest, the
deployment-mode rules for a canary, and the Endpoint read back from the object's status.

Runtimes and the images ame pins (`deployment.image` overrides; an image not in IMAGES is used
as given, with a warning that its versions are not checked):

| serving | KServe runtime        | modelFormat      | default image                          | Python | MLflow |
|---------|-----------------------|------------------|----------------------------------------|--------|--------|
| kserve  | kserve-mlserver       | mlflow           | docker.io/seldonio/mlserver:1.7.1      | 3.10   | 2.22.1 |
| triton  | kserve-tritonserver   | onnx or triton   | nvcr.io/nvidia/tritonserver:24.08-py3  | -      | -      |

(MLServer's images are built on Python 3.10 whatever their tag; 1.5.0, what KServe's own
`kserve-mlserver` runtime ships up to v0.17, has MLflow 2.10.2.)
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from ame_core.runtime.backend import BackendError, Endpoint, EndpointStatus
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes.manifests import resource_requirements

GROUP, API_VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
KIND = "InferenceService"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
ANN_STORAGE_URI = "ame.dev/storage-uri"
CONFIG_NAMESPACE, CONFIG_NAME = "kserve", "inferenceservice-config"
# Set to `replace` to deploy a canary as a full replace (with a warning) where KServe's mode
# ignores canaryTrafficPercent, instead of refusing.
CANARY_FALLBACK_ENV = "AME_K8S_KSERVE_CANARY_FALLBACK"
MODELS_DIR = "/mnt/models"  # where KServe's storage initializer puts storageUri


@dataclass(frozen=True)
class ImageFacts:
    python: str | None = None  # major.minor the image serves with
    mlflow: str | None = None
    onnx: str | None = None  # newest `onnx` release whose opsets its ONNX Runtime reads


IMAGES: dict[str, ImageFacts] = {
    "docker.io/seldonio/mlserver:1.7.1": ImageFacts(python="3.10", mlflow="2.22.1"),
    "docker.io/seldonio/mlserver:1.7.1-mlflow": ImageFacts(python="3.10", mlflow="2.22.1"),
    "docker.io/seldonio/mlserver:1.5.0": ImageFacts(python="3.10", mlflow="2.10.2"),
    # Triton 24.08 ships ONNX Runtime 1.18.1: opsets up to 21 (onnx 1.16).
    "nvcr.io/nvidia/tritonserver:24.08-py3": ImageFacts(onnx="1.16"),
}


@dataclass(frozen=True)
class Runtime:
    serving: str
    runtime: str
    image: str


RUNTIMES = {
    "kserve": Runtime("kserve", "kserve-mlserver", "docker.io/seldonio/mlserver:1.7.1"),
    "triton": Runtime("triton", "kserve-tritonserver", "nvcr.io/nvidia/tritonserver:24.08-py3"),
}


def image_key(image: str) -> str:
    """`seldonio/mlserver:1.7.1` and `docker.io/seldonio/mlserver:1.7.1` are one image."""
    first = image.split("/", 1)[0]
    if "/" not in image or ("." not in first and ":" not in first and first != "localhost"):
        image = f"docker.io/{image}"
    return image.replace("docker.io/library/", "docker.io/")


def _version(text: str | None) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", text or "")
    return tuple(int(x) for x in numbers[:3])


# --- what a version must be ---------------------------------------------------------------


@dataclass
class Plan:
    """What the checks decided: the model format, the start-up, the warnings to show."""

    runtime: Runtime
    image: str
    model_format: str
    command: list[str] | None = None
    warnings: list[str] = field(default_factory=list)


def check_version(serving: str, facts: Any, image: str | None) -> Plan:
    """Refuse (BackendError, one line saying what to change) a version the runtime cannot
    serve; else the plan for its InferenceService."""
    runtime = RUNTIMES[serving]
    chosen = image or runtime.image
    known = IMAGES.get(image_key(chosen))
    flavors = sorted(facts.flavors)
    found = ", ".join(flavors) or "none"
    plan = Plan(runtime, chosen, "mlflow")
    if known is None:
        plan.warnings.append(
            f"image {chosen} is not in ame's table of runtime images: the version's Python "
            "and MLflow are not checked against it"
        )
    if serving == "triton":
        return _check_triton(facts, plan, known, found)
    if "python_function" not in facts.flavors:
        raise BackendError(
            f"{facts.what} has the flavor(s) {found}, but MLServer's MLflow runtime loads "
            "python_function: log the model with mlflow.<flavor>.log_model or "
            "mlflow.pyfunc.log_model"
        )
    if not facts.has_signature:
        raise BackendError(
            f"{facts.what} has no signature, which MLServer needs to decode V2 requests: log "
            "it with signature=infer_signature(X, y) or an input_example"
        )
    if known is not None:
        _check_python(facts, chosen, known)
        _check_mlflow(facts, chosen, known)
    plan.command = mlserver_command()
    return plan


def _check_python(facts: Any, image: str, known: ImageFacts) -> None:
    have, want = _version(facts.python_version)[:2], _version(known.python)[:2]
    if not have or not want or have <= want:
        return
    pins = [r for r in facts.requirements if "==" in r][:3]
    example = f" ({', '.join(pins)} may not exist for it)" if pins else ""
    raise BackendError(
        f"{facts.what} was logged with Python {facts.python_version}, but {image} serves with "
        f"Python {known.python} and installs the version's requirements there{example}: train "
        f'with pythonVersion: "{known.python}", or set deployment.image to an MLServer image '
        f"on Python {'.'.join(map(str, have))}"
    )


def _check_mlflow(facts: Any, image: str, known: ImageFacts) -> None:
    have, want = _version(facts.mlflow_version), _version(known.mlflow)
    if not have or not want or have[0] <= want[0]:
        return
    if any(re.match(r"^mlflow(\[.*\])?\s*(==|>=|~=|$)", r) for r in facts.requirements):
        return  # the start-up installs the version's own MLflow
    raise BackendError(
        f"{facts.what} was logged with MLflow {facts.mlflow_version}, which {image} "
        f"(MLflow {known.mlflow}) cannot load, and its requirements do not name mlflow: log it "
        f"with pip_requirements that include mlflow=={facts.mlflow_version}, or set "
        "deployment.image to an MLServer image with MLflow "
        f"{have[0]}"
    )


def _check_triton(facts: Any, plan: Plan, known: ImageFacts | None, found: str) -> Plan:
    name = n.k8s_name(facts.model, 63)
    if "onnx" in facts.flavors:
        data = str((facts.flavors["onnx"] or {}).get("data") or "model.onnx")
        plan.model_format = "onnx"
        plan.command = triton_command(name, f"{MODELS_DIR}/{data}", "1/model.onnx")
        onnx = (facts.flavors["onnx"] or {}).get("onnx_version")
        if known is not None and known.onnx and _version(onnx)[:2] > _version(known.onnx)[:2]:
            plan.warnings.append(
                f"{facts.what} was saved with onnx {onnx}; {plan.image} reads opsets up to "
                f"onnx {known.onnx}: export with a lower opset if Triton fails to load it"
            )
        return plan
    if "triton" in facts.flavors:
        data = str((facts.flavors["triton"] or {}).get("data") or "").strip("/")
        if not data:
            raise BackendError(
                f"{facts.what}: its triton flavor names no model directory (data:): log it "
                "with mlflow-triton-plugin's log_model"
            )
        plan.model_format = "triton"
        plan.command = triton_command(_last_part(data), f"{MODELS_DIR}/{data}", "")
        return plan
    raise BackendError(
        f"{facts.what} has the flavor(s) {found}, which Triton cannot serve: serving: triton "
        "needs the onnx flavor (mlflow.onnx.log_model) or a Triton model repository (flavor "
        "triton); use serving: kserve for other flavors"
    )


def _last_part(path: str) -> str:
    """A directory's name: Triton names the model after it."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def mlserver_command() -> list[str]:
    """The MLServer image's own start-up, after installing the version's requirements (as
    the version was logged) into a user site the image's non-root user can write. A failed
    install stops the pod with the cause as the log's last line, instead of serving with the
    image's packages."""
    script = (
        ". /opt/conda/etc/profile.d/conda.sh 2>/dev/null || true\n"
        "export PYTHONUSERBASE=/tmp/ame-site PATH=/tmp/ame-site/bin:$PATH\n"
        f"if [ -f {MODELS_DIR}/requirements.txt ]; then\n"
        "  python -m pip install --user --no-cache-dir --disable-pip-version-check -q "
        f"-r {MODELS_DIR}/requirements.txt || {{ echo 'ame: the requirements of the model "
        "version do not install on this image (see above)'; exit 1; }\n"
        "fi\n"
        f"exec mlserver start {MODELS_DIR}"
    )
    return ["/bin/bash", "-c", script]


def triton_command(model: str, source: str, target: str) -> list[str]:
    """Triton reads a model repository (`<repo>/<model>/<version>/model.onnx`); the MLflow
    model directory is not one, so link it into one and serve that. KServe appends the
    runtime's args; they land in `$@` and are not used."""
    repo = "/tmp/ame-models"
    link = f"{repo}/{model}/{target}" if target else f"{repo}/{model}"
    parent = link.rsplit("/", 1)[0]
    script = (
        f"set -e\nmkdir -p {shlex.quote(parent)}\n"
        f"ln -sfn {shlex.quote(source)} {shlex.quote(link)}\n"
        f"exec tritonserver --model-repository={repo} --http-port=8080 --grpc-port=9000 "
        "--allow-http=true --allow-grpc=true"
    )
    return ["/bin/sh", "-c", script]


# --- canary and KServe's deployment mode ----------------------------------------------------

RAW_MODES = ("RawDeployment", "Standard")
KNATIVE_MODES = ("Serverless", "Knative")


def mode_of(obj: dict[str, Any] | None) -> str | None:
    """KServe's own order: the mode in the status, then the annotation."""
    if not obj:
        return None
    status = (obj.get("status") or {}).get("deploymentMode")
    ann = ((obj.get("metadata") or {}).get("annotations") or {}).get(MODE_ANNOTATION)
    return status or ann or None


def mode_from_config(configmap: dict[str, Any] | None) -> str | None:
    raw = ((configmap or {}).get("data") or {}).get("deploy")
    try:
        return str(json.loads(raw).get("defaultDeploymentMode") or "") or None if raw else None
    except (ValueError, AttributeError):
        return None


def canary_percent(deployment: Any) -> int | None:
    """`rollout.canary` as KServe's whole percent, or None for a replace."""
    from ame_core.durations import FormatValueError, parse_percent

    rollout = getattr(deployment, "rollout", None)
    if rollout is None or getattr(rollout, "strategy", "replace") != "canary":
        return None
    try:
        return max(1, min(99, round(parse_percent(rollout.canary, 1, 99))))
    except FormatValueError as exc:
        raise BackendError(f"deployment.rollout.canary: {exc}") from None


def canary_decision(
    percent: int | None, mode: str | None, first: bool, fallback: str | None
) -> tuple[int | None, list[str]]:
    """(canaryTrafficPercent to apply, warnings); refuses where the mode would ignore it."""
    if percent is None:
        return None, []
    if first:
        return None, [
            "canary rollout: nothing is served yet to split traffic with, so this version "
            "takes all requests"
        ]
    if mode in RAW_MODES or mode == "ModelMesh":
        why = (
            f"KServe runs this InferenceService in {mode} mode, which ignores "
            "canaryTrafficPercent (KServe #5335)"
        )
        if (fallback or "").lower() == "replace":
            return None, [f"{why}: deploying as a full replace ({CANARY_FALLBACK_ENV}=replace)"]
        raise BackendError(
            f"{why}: use rollout strategy replace, annotate the namespace's InferenceServices "
            f"for Serverless mode, or set {CANARY_FALLBACK_ENV}=replace to deploy without a canary"
        )
    if mode is None:
        return percent, [
            "cannot tell KServe's deployment mode (no access to kserve/inferenceservice-config): "
            "canaryTrafficPercent is honoured only in Serverless (Knative) mode"
        ]
    return percent, []


# --- the manifest ---------------------------------------------------------------------------


@dataclass
class IsvcSpec:
    project: str
    model: str
    version: str
    namespace: str
    plan: Plan
    storage_uri: str
    replicas: int = 1
    resources: dict[str, Any] = field(default_factory=dict)
    canary: int | None = None


def labels(project: str, model: str) -> dict[str, str]:
    return {
        **n.base_labels(project),
        n.LABEL_MODEL: n.label_value(model),
        n.LABEL_COMPONENT: "serving",
    }


def inference_service(spec: IsvcSpec) -> dict[str, Any]:
    model: dict[str, Any] = {
        "modelFormat": {"name": spec.plan.model_format},
        "protocolVersion": "v2",
        "runtime": spec.plan.runtime.runtime,
        "storageUri": spec.storage_uri,
        "image": spec.plan.image,
    }
    if spec.plan.command:
        model["command"] = list(spec.plan.command)
    requirements = resource_requirements(spec.resources)
    if requirements:
        model["resources"] = requirements
    predictor: dict[str, Any] = {
        "minReplicas": int(spec.replicas),
        "maxReplicas": int(spec.replicas),
        "model": model,
    }
    if spec.canary is not None:
        predictor["canaryTrafficPercent"] = int(spec.canary)
    return {
        "apiVersion": f"{GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": {
            "name": n.model_name(spec.model),
            "namespace": spec.namespace,
            "labels": {
                **labels(spec.project, spec.model),
                n.LABEL_MODEL_VERSION: n.label_value(spec.version),
            },
            "annotations": {
                n.ANN_MODEL: spec.model,
                n.ANN_MODEL_VERSION: str(spec.version),
                n.ANN_PROJECT: spec.project,
                ANN_STORAGE_URI: spec.storage_uri,
            },
        },
        "spec": {"predictor": predictor},
    }


# --- status → Endpoint ----------------------------------------------------------------------

_FAILED_TRANSITIONS = ("BlockedByFailedLoad", "InvalidSpec")


def endpoint(obj: dict[str, Any], backend: str, namespace: str, context: str) -> Endpoint:
    meta = obj.get("metadata") or {}
    ann = meta.get("annotations") or {}
    spec = (obj.get("spec") or {}).get("predictor") or {}
    status = obj.get("status") or {}
    name = meta.get("name", "")
    wanted = int(spec.get("minReplicas") or 1)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready") or {}
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    current = generation is None or observed is None or observed >= generation
    model_status = status.get("modelStatus") or {}
    failure = model_status.get("lastFailureInfo") or {}
    version = ann.get(n.ANN_MODEL_VERSION, "")
    waiting = [
        f"{kind}: {c.get('reason') or 'not ready'}"
        + (f" ({c['message']})" if c.get("message") else "")
        for kind, c in conditions.items()
        if kind != "Ready" and c.get("status") == "False"
    ]
    if model_status.get("transitionStatus") in _FAILED_TRANSITIONS:
        state = EndpointStatus.FAILED
        detail = f"version {version}: {failure.get('reason') or model_status['transitionStatus']}"
        if failure.get("message"):
            detail += f": {failure['message']}"
    elif current and ready.get("status") == "True":
        state, detail = EndpointStatus.READY, "InferenceService ready"
    else:
        state = EndpointStatus.STARTING
        detail = f"version {version} starting" + (f"; {'; '.join(waiting)}" if waiting else "")
    address = ((status.get("address") or {}).get("url")) or (
        f"http://{name}.{namespace}.svc.cluster.local"
    )
    traffic = ((status.get("components") or {}).get("predictor") or {}).get("traffic") or []
    return Endpoint(
        model=ann.get(n.ANN_MODEL, name),
        version=version,
        backend=backend,
        status=state,
        url=status.get("url") or address,
        replicas=wanted,
        ready_replicas=wanted if state is EndpointStatus.READY else 0,
        detail=detail,
        extra={
            "namespace": namespace,
            "context": context,
            "kind": KIND,
            "inference_service": name,
            "runtime": ((spec.get("model") or {}).get("runtime")),
            "storage_uri": ann.get(ANN_STORAGE_URI),
            "deployment_mode": mode_of(obj),
            "canary_percent": spec.get("canaryTrafficPercent"),
            "traffic": traffic,
            "in_cluster_url": address,
            "port_forward": f"kubectl -n {namespace} port-forward svc/{name}-predictor 8080:80",
        },
    )
