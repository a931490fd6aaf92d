"""`ame cluster check`: can ame work in this cluster and namespace, and if not, what to do.

API reachable, namespace exists, each permission ame needs (a SelfSubjectAccessReview per verb
and resource), the flow drivers' ServiceAccount and what it may do (a LocalSubjectAccessReview
per verb and resource, as that account), GPUs the nodes offer (allocatable `nvidia.com/gpu`), and
the MLflow URI tasks in the cluster will use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes.client import Forbidden, KubeError, NotFound, Unreachable

OK, WARN, FAIL = "ok", "warn", "fail"

Permissions = tuple[tuple[str, str, tuple[str, ...]], ...]

# (API group, resource, verbs): exactly what ame creates and reads (the Role `ame` of
# deploy/rbac.yaml).
PERMISSIONS: Permissions = (
    ("batch", "jobs", ("create", "get", "list", "watch", "patch", "delete")),
    ("batch", "cronjobs", ("create", "get", "list", "patch", "delete")),
    ("", "pods", ("get", "list", "watch")),
    ("", "pods/log", ("get",)),
    ("", "pods/portforward", ("create",)),
    ("", "configmaps", ("create", "get", "list", "patch", "delete")),
    ("", "secrets", ("create", "list", "patch", "delete")),
    ("", "services", ("create", "get", "patch", "delete")),
    ("apps", "deployments", ("create", "get", "list", "patch", "delete")),
    ("networking.k8s.io", "ingresses", ("create", "get", "patch", "delete")),
    ("serving.kserve.io", "inferenceservices", ("create", "get", "list", "patch", "delete")),
    ("", "serviceaccounts", ("get",)),
    ("authorization.k8s.io", "localsubjectaccessreviews", ("create",)),
)

# What a flow driver does (the Role `ame-flow-driver`): the steps' Jobs, their pods and logs,
# the records, and a deploy step's objects. No Secrets, no CronJobs, no port-forward.
DRIVER_PERMISSIONS: Permissions = (
    ("batch", "jobs", ("create", "get", "list", "watch", "patch", "delete")),
    ("", "pods", ("get", "list", "watch")),
    ("", "pods/log", ("get",)),
    ("", "configmaps", ("create", "get", "list", "patch", "delete")),
    ("apps", "deployments", ("create", "get", "list", "patch", "delete")),
    ("", "services", ("create", "get", "patch", "delete")),
    ("networking.k8s.io", "ingresses", ("create", "get", "patch", "delete")),
    ("serving.kserve.io", "inferenceservices", ("create", "get", "list", "patch", "delete")),
)


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_checks(backend: Any, tracking_uri: str, cluster_mlflow_uri: str | None) -> list[Check]:
    checks: list[Check] = []
    try:
        kube = backend.kube
    except Exception as exc:  # noqa: BLE001 - the kubeconfig loader raises its own errors
        return [Check("kubeconfig", FAIL, str(exc), "point KUBECONFIG at your cluster's config")]
    ns = kube.namespace
    try:
        try:
            version = kube.call("get", "version", _version_api(kube).get_code)
        except NotFound:  # it answered; some API fronts do not serve /version/
            version = {"gitVersion": "(version not reported)"}
        checks.append(
            Check(
                "API server",
                OK,
                f"{kube.host} (context {kube.context}), Kubernetes "
                f"{version.get('gitVersion', '?')}",
            )
        )
    except Unreachable as exc:
        checks.append(
            Check(
                "API server",
                FAIL,
                str(exc),
                "start the cluster or choose the right context (--context)",
            )
        )
        return checks
    except KubeError as exc:
        checks.append(Check("API server", FAIL, str(exc), "check your credentials"))
        return checks
    checks.append(_namespace_check(backend, kube, ns))
    checks.extend(_permission_checks(kube, ns))
    checks.append(_driver_check(kube, ns, backend.settings.driver_service_account))
    checks.append(_gpu_check(kube))
    checks.append(_kserve_check(backend))
    checks.append(_mlflow_check(tracking_uri, cluster_mlflow_uri))
    return checks


def _version_api(kube: Any) -> Any:
    from kubernetes import client

    return client.VersionApi(kube.api_client)


def _namespace_check(backend: Any, kube: Any, ns: str) -> Check:
    try:
        kube.call("get", "namespaces", kube.core.read_namespace, ns, name=ns)
        return Check("namespace", OK, f"'{ns}' exists")
    except NotFound:
        return Check(
            "namespace",
            FAIL,
            f"'{ns}' does not exist",
            f"kubectl create namespace {ns} (or apply deploy/namespace.yaml), or --namespace",
        )
    except Forbidden:
        # Reading namespaces is often not allowed; listing inside it tells as much.
        try:
            backend.objects.list("ConfigMap", {"app.kubernetes.io/managed-by": "ame"})
            return Check("namespace", OK, f"'{ns}' exists (seen from inside)")
        except NotFound:
            return Check(
                "namespace", FAIL, f"'{ns}' does not exist", f"kubectl create namespace {ns}"
            )
        except KubeError as exc:
            return Check(
                "namespace",
                WARN,
                f"cannot tell whether '{ns}' exists: {exc}",
                "ask for the Role in deploy/rbac.yaml",
            )
    except KubeError as exc:
        return Check("namespace", FAIL, str(exc), "")


def _review_body(kind: str, ns: str, group: str, resource: str, verb: str) -> dict[str, Any]:
    plain, _, sub = resource.partition("/")
    attributes: dict[str, Any] = {"namespace": ns, "verb": verb, "group": group, "resource": plain}
    if sub:
        attributes["subresource"] = sub
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": kind,
        # The API server ignores a review's name and stores no review; API emulators (kmock)
        # store them and refuse a second one of the same name: one name per review.
        "metadata": {"name": f"ame-review-{n.new_token()}"},
        "spec": {"resourceAttributes": attributes},
    }


def _allowed(result: dict[str, Any]) -> tuple[bool, str]:
    status = result.get("status") or {}
    return bool(status.get("allowed")), status.get("reason") or ""


def access_review(kube: Any, ns: str, group: str, resource: str, verb: str) -> tuple[bool, str]:
    """May the caller do `verb` on `resource`?"""
    body = _review_body("SelfSubjectAccessReview", ns, group, resource, verb)
    result = kube.call(
        "create",
        "selfsubjectaccessreviews",
        kube.authorization.create_self_subject_access_review,
        body,
    )
    return _allowed(result)


def account_review(
    kube: Any, ns: str, account: str, group: str, resource: str, verb: str
) -> tuple[bool, str]:
    """May the ServiceAccount `account` of `ns` do `verb` on `resource` there?"""
    body = _review_body("LocalSubjectAccessReview", ns, group, resource, verb)
    # As the API server sees a pod running as that account: its user and its groups.
    body["spec"]["user"] = f"system:serviceaccount:{ns}:{account}"
    body["spec"]["groups"] = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
    result = kube.call(
        "create",
        "localsubjectaccessreviews",
        kube.authorization.create_namespaced_local_subject_access_review,
        ns,
        body,
    )
    return _allowed(result)


def _driver_check(kube: Any, ns: str, account: str) -> Check:
    name = f"flow driver {account}"
    apply = f"kubectl -n {ns} apply -f deploy/rbac.yaml"
    try:
        kube.call(
            "get",
            "serviceaccounts",
            kube.core.read_namespaced_service_account,
            account,
            ns,
            name=account,
        )
    except NotFound:
        return Check(
            name,
            FAIL,
            f"no ServiceAccount '{account}' in '{ns}': flows (train, validate, deploy, "
            "pipelines) cannot start",
            f"{apply}, or name another with AME_K8S_DRIVER_SERVICE_ACCOUNT",
        )
    except KubeError as exc:
        return Check(name, WARN, f"cannot read the ServiceAccount: {exc}", apply)
    missing: list[str] = []
    try:
        for group, resource, verbs in DRIVER_PERMISSIONS:
            qualified = f"{resource}.{group}" if group else resource
            missing += [
                f"{verb} {qualified}"
                for verb in verbs
                if not account_review(kube, ns, account, group, resource, verb)[0]
            ]
    except KubeError as exc:
        return Check(
            name,
            WARN,
            f"cannot ask what it may do: {exc}",
            "ame needs to create localsubjectaccessreviews to check (deploy/rbac.yaml)",
        )
    if missing:
        return Check(
            name,
            FAIL,
            f"may not: {', '.join(missing)}; its flows would fail at that step",
            f"bind the Role ame-flow-driver of deploy/rbac.yaml to it ({apply})",
        )
    granted = sum(len(verbs) for _g, _r, verbs in DRIVER_PERMISSIONS)
    return Check(name, OK, f"exists; may do all {granted} things a driver does")


def _permission_checks(kube: Any, ns: str) -> list[Check]:
    out = []
    for group, resource, verbs in PERMISSIONS:
        missing = []
        try:
            for verb in verbs:
                allowed, _reason = access_review(kube, ns, group, resource, verb)
                if not allowed:
                    missing.append(verb)
        except KubeError as exc:
            out.append(
                Check(
                    f"permission {resource}",
                    WARN,
                    f"cannot ask the API: {exc}",
                    "ame needs to create selfsubjectaccessreviews to check",
                )
            )
            continue
        qualified = f"{resource}.{group}" if group else resource
        if missing:
            out.append(
                Check(
                    f"permission {qualified}",
                    FAIL,
                    f"missing: {', '.join(missing)} (has: "
                    f"{', '.join(v for v in verbs if v not in missing) or 'none'})",
                    f"bind the Role in deploy/rbac.yaml in namespace {ns} "
                    f"(kubectl -n {ns} apply -f deploy/rbac.yaml)",
                )
            )
        else:
            out.append(Check(f"permission {qualified}", OK, ", ".join(verbs)))
    return out


def _gpu_check(kube: Any) -> Check:
    from ame_core.quantity import parse_quantity

    try:
        nodes = kube.call("list", "nodes", kube.core.list_node).get("items") or []
    except Forbidden:
        return Check(
            "GPUs",
            WARN,
            "cannot list nodes (a cluster-wide permission)",
            "optional: an admin can grant 'list nodes' to show GPU capacity",
        )
    except KubeError as exc:
        return Check("GPUs", WARN, str(exc), "")
    total = 0
    with_gpu = 0
    for node in nodes:
        value = ((node.get("status") or {}).get("allocatable") or {}).get("nvidia.com/gpu")
        if value:
            count = int(parse_quantity(value))
            total += count
            with_gpu += 1 if count else 0
    if total:
        return Check(
            "GPUs", OK, f"{total} nvidia.com/gpu allocatable on {with_gpu} of {len(nodes)} nodes"
        )
    return Check(
        "GPUs",
        WARN,
        f"no node offers nvidia.com/gpu ({len(nodes)} nodes)",
        "tasks asking for nvidia.com/gpu will stay queued; install the NVIDIA device "
        "plugin on GPU nodes",
    )


def _kserve_check(backend: Any) -> Check:
    """For `serving: kserve` and `triton`: is the InferenceService API there, and does the
    cluster's default deployment mode honour a canary (RawDeployment ignores it)?"""
    from ame_core.runtime.kubernetes import inference_service as isvc

    try:
        backend.kserve.call(
            "list", "list_namespaced_custom_object", backend.namespace, isvc.PLURAL, limit=1
        )
    except NotFound:
        return Check(
            "KServe",
            WARN,
            f"no InferenceService API ({isvc.GROUP}/{isvc.API_VERSION}): serving: kserve and "
            "triton cannot deploy here",
            "optional: install KServe (its CRDs and controller) to serve with kserve or triton",
        )
    except KubeError as exc:
        return Check("KServe", WARN, f"cannot list InferenceServices: {exc}", "")
    mode = backend.kserve.default_mode()
    if mode is None:
        detail = (
            "InferenceService API present; default deployment mode unknown (cannot read "
            f"{isvc.CONFIG_NAMESPACE}/{isvc.CONFIG_NAME}): a canary's mode is checked at deploy"
        )
        return Check("KServe", OK, detail)
    if mode in isvc.RAW_MODES or mode == "ModelMesh":
        return Check(
            "KServe",
            WARN,
            f"InferenceService API present; default mode {mode} ignores canaryTrafficPercent "
            "(KServe #5335): canary rollouts are refused",
            "use rollout strategy replace, or annotate InferenceServices for Serverless mode",
        )
    return Check(
        "KServe", OK, f"InferenceService API present; default mode {mode} honours canaries"
    )


def _mlflow_check(tracking_uri: str, cluster_mlflow_uri: str | None) -> Check:
    from ame_core.runtime.kubernetes.render import is_local_only

    uri = cluster_mlflow_uri or tracking_uri
    if is_local_only(uri):
        return Check(
            "MLflow for tasks",
            FAIL,
            f"{uri} is only reachable from this machine",
            "run an MLflow server in the cluster (kubectl apply -f deploy/mlflow.yaml) and pass "
            "--cluster-mlflow-uri http://mlflow.<namespace>.svc:5000 (AME_CLUSTER_MLFLOW_URI)",
        )
    detail = f"{uri}" + ("" if cluster_mlflow_uri else " (same as the local one)")
    return Check("MLflow for tasks", OK, detail + "; pods must reach it (not tested from here)")


def table(checks: list[Check]) -> str:
    rows = [("CHECK", "STATUS", "DETAIL", "WHAT TO DO")]
    rows += [(c.name, c.status.upper(), c.detail, c.fix or "-") for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for row in rows:
        lines.append("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3])
    return "\n".join(line.rstrip() for line in lines) + "\n"
