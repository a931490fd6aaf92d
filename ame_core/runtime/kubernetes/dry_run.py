"""`--dry-run` for the kubernetes backend: every object a run or a deployment would apply, as
multi-document YAML. It touches nothing: no cluster (the namespace comes from the kubeconfig
file, or `default`), no MLflow (run ids are shown as placeholders), no model registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ame_core.runtime.backend import RunContext
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes import plans, render
from ame_core.runtime.kubernetes.settings import KubeSettings


def _namespace(namespace: str | None, kube_context: str | None) -> str:
    if namespace:
        return namespace
    from ame_core.runtime.kubernetes.client import kubeconfig_namespace

    _, ns = kubeconfig_namespace(kube_context)
    return ns or "default"


def dump_all(objects: list[dict[str, Any]], header: list[str] | None = None) -> str:
    import yaml

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    lines = [f"# {line}" for line in header or []]
    docs = [
        yaml.dump(obj, Dumper=_NoAliases, sort_keys=False, default_flow_style=False, width=100)
        for obj in objects
    ]
    return "\n".join(lines) + ("\n" if lines else "") + "---\n" + "---\n".join(docs)


def render_task_objects(
    resolved: Any,
    context: RunContext,
    allow_dirty: bool = False,
    *,
    namespace: str | None = None,
    kube_context: str | None = None,
    settings: KubeSettings | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(objects, header comments) of a task or pipeline run."""
    from ame_core.runtime.kubernetes import code as code_mod

    settings = settings or KubeSettings.from_env()
    ns = _namespace(namespace, kube_context)
    cluster_uri = render.cluster_tracking_uri(context, settings, strict=False)
    header = [f"ame dry run: {resolved.name} in namespace {ns}; nothing was applied."]
    if render.is_local_only(cluster_uri):
        header.append(
            f"warning: pods cannot reach the MLflow store {cluster_uri}; set "
            "AME_CLUSTER_MLFLOW_URI or --mlflow-uri to a server the cluster reaches."
        )
    if settings.code_source == "git":
        code = code_mod.git_source(Path(context.project_dir), allow_dirty)
        header.append(f"code: {code.describe()}")
    else:
        limit = settings.code_limit_bytes()
        archive = code_mod.pack_project(Path(context.project_dir), limit)
        code = m.CodeSource(kind="mlflow")
        files = len(code_mod.project_files(Path(context.project_dir)))
        header.append(
            f"code: {files} files of {context.project_dir} ({len(archive)} bytes packed) are "
            f"uploaded to the run's MLflow run as {m.CODE_ARTIFACT} at submit."
        )
    header.append(f"MLflow run ids are created at submit: shown as {m.PLACEHOLDER_RUN}.")
    if resolved.is_pipeline:
        plan = plans.plan_pipeline(
            resolved,
            context,
            settings,
            namespace=ns,
            code=code,
            cluster_uri=cluster_uri,
        )
        flow, driver = _pipeline_driver(plan, context, settings, ns, allow_dirty)
        plan.record["flow_id"] = flow["metadata"]["labels"][n.LABEL_FLOW]
        steps = {s.run_id: s.job for group in plan.groups for s in group}
        objects = [plans.record_object(ns, plan.record, steps)]
        header.append("steps start in order, one group after the other; a group in parallel.")
        pod = driver["spec"]["template"]["spec"]
        header.append(
            f"the flow's driver (the last Job) starts each later group, as ServiceAccount "
            f"{pod.get('serviceAccountName', 'default')} in {pod['containers'][0]['image']}; "
            "its flow id is new at submit."
        )
        for group in plan.groups:
            objects.extend(step.job for step in group)
        return [*objects, flow, driver], header
    plan = plans.plan_task(
        resolved, context, settings, namespace=ns, code=code, cluster_uri=cluster_uri
    )
    return [plan.job, plans.record_object(ns, plan.record)], header


def _pipeline_driver(
    plan: plans.PipelinePlan,
    context: RunContext,
    settings: KubeSettings,
    namespace: str,
    allow_dirty: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The flow record and the driver Job a pipeline's submit creates (pipelines.Pipelines.start),
    built without a cluster or MLflow."""
    from ame_core.flows.control import new_flow_id
    from ame_core.flows.records import FlowRecord
    from ame_core.runtime.kubernetes.backend import KubernetesBackend
    from ame_core.runtime.kubernetes.flows import KubernetesFlowStore
    from ame_core.runtime.kubernetes.pipelines import flow_fields

    backend = KubernetesBackend(Path(context.project_dir), settings=settings)
    store = KubernetesFlowStore(backend, context.project, namespace=namespace)
    fields = flow_fields(plan, context, m.PLACEHOLDER_RUN, allow_dirty, namespace)
    record = FlowRecord.new(new_flow_id(), **fields)
    return store.record_object(record), store.driver_job(record, dry_run=True)


def render_task(
    resolved: Any,
    context: RunContext | str | None,
    allow_dirty: bool = False,
    *,
    namespace: str | None = None,
    kube_context: str | None = None,
    settings: KubeSettings | None = None,
    project_dir: Path | None = None,
    tracking_uri: str | None = None,
) -> str:
    """The manifests of `ame task run NAME --backend kubernetes --dry-run`. `context` is the
    RunContext a submission would get, or (older callers) the kubeconfig context's name, in
    which case the project is the one found from `project_dir` or the current directory."""
    if not isinstance(context, RunContext):
        if isinstance(context, str) and kube_context is None:
            kube_context = context
        context = _context_for(resolved, project_dir, tracking_uri)
    objects, header = render_task_objects(
        resolved,
        context,
        allow_dirty,
        namespace=namespace,
        kube_context=kube_context,
        settings=settings,
    )
    return dump_all(objects, header)


def render_deploy(
    project_dir: Path,
    model: str,
    version: str,
    deployment: Any,
    context: Any = None,
    *,
    namespace: str | None = None,
    kube_context: str | None = None,
    settings: KubeSettings | None = None,
    project: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """The manifests of `ame model deploy NAME --version N --backend kubernetes --dry-run`.
    `context` is a RunContext, or a kubeconfig context name. The registry is not asked:
    the version need not exist yet."""
    settings = settings or KubeSettings.from_env()
    if isinstance(context, RunContext):
        project = project or context.project
        tracking_uri = tracking_uri or context.tracking_uri
    elif isinstance(context, str) and kube_context is None:
        kube_context = context
    if project is None:
        project = _project_name(Path(project_dir))
    if tracking_uri is None:
        from ame_core.tracking import tracking_uri_for

        tracking_uri = tracking_uri_for(Path(project_dir))
    ns = _namespace(namespace, kube_context)
    run_context = RunContext(
        project_dir=Path(project_dir), project=project, tracking_uri=tracking_uri
    )
    serving = render.serving_kind(deployment)
    if serving in render.KSERVE_SERVING:
        return _render_isvc(project, model, str(version), deployment, ns, serving)
    cluster_uri = render.cluster_tracking_uri(run_context, settings, strict=False)
    spec = render.serving_spec(project, model, str(version), deployment, settings, ns, cluster_uri)
    header = [
        f"ame dry run: model {model} version {version} in namespace {ns}; nothing was applied.",
        "the version is not looked up in the registry.",
    ]
    if render.is_local_only(cluster_uri):
        header.append(
            f"warning: pods cannot reach the MLflow store {cluster_uri}; set "
            "AME_CLUSTER_MLFLOW_URI or --mlflow-uri to a server the cluster reaches."
        )
    return dump_all(m.serving_objects(spec), header)


def _render_isvc(
    project: str, model: str, version: str, deployment: Any, namespace: str, serving: str
) -> str:
    """The InferenceService without the registry: storageUri is a placeholder (the version's
    artifact location, found and checked at deploy), as are triton's format and start-up."""
    from ame_core.runtime.kubernetes import inference_service as isvc
    from ame_core.runtime.kubernetes.storage import PLACEHOLDER

    plan = render.dry_run_plan(serving, deployment)
    canary = isvc.canary_percent(deployment)
    spec = render.isvc_spec(
        project, model, version, deployment, namespace, plan, PLACEHOLDER, canary
    )
    header = [
        f"ame dry run: model {model} version {version} in namespace {namespace}; nothing was "
        "applied.",
        f"serving: {serving}: a KServe InferenceService (runtime {plan.runtime.runtime}, image "
        f"{plan.image}).",
        "the version is not looked up in the registry: its flavor, signature, Python and MLflow "
        "versions are checked at deploy.",
    ]
    if serving == "triton":
        header.append(
            "modelFormat and the start-up follow the version's flavor at deploy: onnx (shown), "
            "or triton for a Triton model repository."
        )
    if canary is not None:
        header.append(
            f"canary: canaryTrafficPercent {canary}; at deploy ame checks KServe's deployment "
            "mode (RawDeployment ignores it) and refuses where it would be ignored."
        )
    text = dump_all([isvc.inference_service(spec)], header)
    note = "  # resolved at deploy: the version's artifact location in object storage"
    return "\n".join(
        line + note if line.strip().startswith("storageUri:") else line for line in text.split("\n")
    )


def _context_for(resolved: Any, project_dir: Path | None, tracking_uri: str | None):
    from ame_core.project_files import ProjectFileError, find_project_file
    from ame_core.runtime.backend import BackendError
    from ame_core.tracking import tracking_uri_for

    try:
        folder = Path(project_dir) if project_dir else find_project_file(None).parent
    except ProjectFileError as exc:
        raise BackendError(str(exc)) from None
    return RunContext(
        project_dir=folder.resolve(),
        project=resolved.project,
        tracking_uri=tracking_uri or tracking_uri_for(folder),
    )


def _project_name(project_dir: Path) -> str:
    from ame_core.engine import analyze
    from ame_core.project_files import project_file_in

    path = project_file_in(project_dir)
    if path is not None:
        try:
            analysis = analyze(Path(path).read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError):
            analysis = None
        if analysis is not None and analysis.project is not None:
            return analysis.project.project
    return project_dir.resolve().name
