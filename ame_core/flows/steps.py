"""The steps of each kind of flow, on top of `ame_core.lifecycle` (the same on every backend).

Each step function gets the engine and its step record, does its work idempotently, and returns
a one-line note (or raises StepFailed / StepSkipped / FlowCancelled). What a step finds that a
later step needs (the version a training registered, the verdict) goes into the flow's params
or the step's result, so a resumed driver has it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ame_core.flows.engine import FlowCancelled, StepFailed, StepSkipped
from ame_core.flows.records import StepRecord, StepStatus

if TYPE_CHECKING:
    from ame_core.flows.engine import FlowEngine

Step = Callable[["FlowEngine", StepRecord], "str | None"]


def user_error(exc: BaseException) -> str | None:
    """The message of an error that is the user's to act on (None: a bug, let it show)."""
    from ame_core.lifecycle import LifecycleError
    from ame_core.registry import RegistryError
    from ame_core.runtime.backend import BackendError

    known: tuple[type[BaseException], ...] = (LifecycleError, RegistryError, BackendError)
    try:
        from ame_core.tracking import TrackingError

        known += (TrackingError,)
    except ImportError:
        pass
    if isinstance(exc, known):
        text = str(exc).strip()
        return text or type(exc).__name__
    return None


# --- shared pieces ------------------------------------------------------------------------------


def _model(engine: FlowEngine) -> Any:
    return engine.lifecycle.project.model(engine.record.model)


def _version(engine: FlowEngine) -> str:
    version = engine.record.params.get("version")
    if not version:
        raise StepFailed("no model version is known for this flow")
    return str(version)


def resolve(engine: FlowEngine, step: StepRecord) -> str:
    """Pin the version (explicit, alias, or latest) once, so a resumed flow keeps it."""
    params = engine.record.params
    lifecycle = engine.lifecycle
    version = lifecycle.registry.resolve(
        engine.record.model, params.get("version"), params.get("alias")
    )
    params["version"] = str(version)
    step.result["version"] = str(version)
    return f"{engine.record.model} v{version}"


def _validate(engine: FlowEngine, step: StepRecord, *, reuse_verdict: bool) -> str:
    lifecycle = engine.lifecycle
    name, version = engine.record.model, _version(engine)
    model = _model(engine)
    if model.validation is None:
        if reuse_verdict:
            raise StepSkipped(f"model {name} has no validation task")
        raise StepFailed(f"model {name} has no validation task (`validation: {{task}}`)")
    if reuse_verdict and step.run_id is None:
        # A version that already has its verdict is not validated twice.
        verdict = lifecycle.registry.verdict(name, version)
        if verdict is not None:
            step.result.update({"verdict": verdict.status, "validation_run": verdict.run_id})
            return f"{name} v{version} already {verdict.status} validation"
    context = lifecycle.validation_context(name, version)
    _policy_ignored(engine, context)
    run = engine.run_and_wait(
        step,
        lambda env: lifecycle.submit_slot(model.validation, "validation", _with(context, env)),
    )
    verdict = lifecycle.record_verdict(name, version, run)
    if verdict is None:
        raise FlowCancelled
    step.result.update({"verdict": verdict.status, "validation_run": run.id})
    note = f"{name} v{version} {verdict.status} validation (run {run.id})"
    if not verdict.passed:
        why = f": {verdict.reason}" if verdict.reason else ""
        if reuse_verdict:
            return note + why
        raise StepFailed(note + why)
    return note


def _policy_ignored(engine: FlowEngine, context: Any) -> None:
    """A flow started with --ignore-policy says so on each run it starts (an MLflow tag)."""
    if engine.record.params.get("policy_ignored"):
        from ame_core.policy.gate import IGNORED_TAG

        context.tags[IGNORED_TAG] = "true"


def _with(context: Any, env: dict[str, str]) -> Any:
    context.env = {**context.env, **env}
    return context


def _deploy(engine: FlowEngine, step: StepRecord, *, force: bool) -> str:
    from ame_core.flows import canary
    from ame_core.lifecycle import deployment_of

    lifecycle = engine.lifecycle
    name, version = engine.record.model, _version(engine)
    # What was served when this step first ran: a driver that died after the switch leaves
    # the new version served, and the history must still say from what.
    if "served_before" not in step.result:
        step.result["served_before"] = lifecycle.deployed_version(name)
        engine.save()
    before = step.result["served_before"]
    # A roll-back is a deploy flow of an earlier version, named so in the history; it is
    # never a canary (it goes back to what was served).
    event = str(engine.record.params.get("event") or "deploy")
    deployment = deployment_of(_model(engine))
    if event == "deploy" and canary.wanted(deployment, before, version):
        return canary.run(engine, step, deployment, version, before)
    endpoint = lifecycle.deploy(
        name,
        version,
        force=force,
        event_kind=event,
        flow_id=engine.record.id,
        served_before=before,
    )
    step.result.update({"version": endpoint.version, "url": endpoint.url})
    return f"{name} v{endpoint.version} is served at {endpoint.url}"


# --- train --------------------------------------------------------------------------------------


def train_run(engine: FlowEngine, step: StepRecord) -> str:
    lifecycle = engine.lifecycle
    name = engine.record.model
    model = _model(engine)
    if model.training is None:
        raise StepFailed(f"model {name} has no training task (`training: {{task}}`)")
    from ame_core.lifecycle import training_env

    context = lifecycle.context("training", name, env=training_env(name))
    _policy_ignored(engine, context)
    run = engine.run_and_wait(
        step, lambda env: lifecycle.submit_slot(model.training, "training", _with(context, env))
    )
    step.result["mlflow_run_id"] = run.mlflow_run_id
    if run.status.value == "cancelled":
        raise FlowCancelled
    if run.status.value != "succeeded":
        why = f": {run.reason}" if run.reason else ""
        raise StepFailed(f"training run {run.id} {run.status.value}{why} (log: ame logs {run.id})")
    return f"training run {run.id} succeeded"


def train_register(engine: FlowEngine, step: StepRecord) -> str:
    lifecycle = engine.lifecycle
    name = engine.record.model
    run_id = engine.record.step("train").run_id
    run = lifecycle.backend.get_run(run_id)
    version = lifecycle.registered_version(name, run)
    if version is None:
        raise StepFailed(
            f"training run {run.id} succeeded but registered no version of {name} "
            f"(log the model with registered_model_name={name!r})"
        )
    engine.record.params["version"] = version
    step.result["version"] = version
    return f"training run {run.id} registered {name} v{version}"


def train_validate(engine: FlowEngine, step: StepRecord) -> str:
    if engine.record.params.get("validate") is False:
        raise StepSkipped("not validated (--no-validate)")
    return _validate(engine, step, reuse_verdict=True)


def train_deploy(engine: FlowEngine, step: StepRecord) -> str:
    name, version = engine.record.model, _version(engine)
    model = _model(engine)
    wanted = engine.record.params.get("deploy")
    if wanted is None:
        wanted = bool(model.deployment and model.deployment.auto_deploy)
    if not wanted:
        raise StepSkipped(
            "autoDeploy is off"
            if engine.record.params.get("deploy") is None
            else ("not deployed (--no-deploy)")
        )
    validated = engine.record.step("validate")
    if validated.status is StepStatus.DONE and validated.result.get("verdict") != "passed":
        raise StepFailed(f"{name} v{version} did not pass validation: not deployed")
    try:
        return _deploy(engine, step, force=False)
    except StepFailed:
        raise
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise
        raise StepFailed(f"autoDeploy of {name} v{version} failed: {message}") from None


# --- validate, deploy, undeploy, monitor, task -------------------------------------------------


def validate(engine: FlowEngine, step: StepRecord) -> str:
    return _validate(engine, step, reuse_verdict=False)


def check(engine: FlowEngine, step: StepRecord) -> str:
    from ame_core.lifecycle import deployment_of

    model = _model(engine)
    deployment_of(model)
    if engine.record.params.get("event") == "rollback":
        raise StepSkipped(f"v{_version(engine)} was served before: no validation check")
    if engine.record.params.get("force"):
        raise StepSkipped("--force: deploying without the validation check")
    engine.lifecycle.check_deployable(model, _version(engine))
    return f"{model.name} v{_version(engine)} may be deployed"


def deploy(engine: FlowEngine, step: StepRecord) -> str:
    return _deploy(engine, step, force=True)  # `check` decided


def undeploy(engine: FlowEngine, step: StepRecord) -> str:
    name = engine.record.model
    served = engine.lifecycle.undeploy(name, flow_id=engine.record.id)
    step.result["was_served"] = served
    return f"{name} is no longer served" if served else f"{name} was not served"


def monitor_resolve(engine: FlowEngine, step: StepRecord) -> str:
    from ame_core.lifecycle import LifecycleError

    name = engine.record.model
    version = engine.lifecycle.deployed_version(name)
    if version is None:
        raise LifecycleError(
            f"{name} is not deployed; monitoring runs against the deployed version "
            f"(deploy one: ame model deploy {name})"
        )
    engine.record.params["version"] = str(version)
    step.result["version"] = str(version)
    return f"monitoring {name} v{version}"


def monitor_report(engine: FlowEngine, step: StepRecord) -> str:
    """The built-in report (ame_core.monitoring): written, recorded in MLflow."""
    from ame_core.monitoring.service import monitor as report_on
    from ame_core.monitoring.text import verdict_line

    name = engine.record.model
    report = report_on(engine.lifecycle, name, window=engine.record.params.get("window"))
    step.result.update(
        report=report["path"],
        verdict=report["drift"]["verdict"],
        mlflow_run_id=report.get("mlflow_run_id"),
    )
    return f"report on {name} v{report['version']}: {verdict_line(report['drift'])}"


def monitor(engine: FlowEngine, step: StepRecord) -> str:
    lifecycle = engine.lifecycle
    name, version = engine.record.model, _version(engine)
    model = _model(engine)
    if model.monitoring is None or model.monitoring.task is None:
        raise StepSkipped("no monitoring task (`monitoring: {task}`)")
    context = lifecycle.version_context("monitoring", name, version)
    report = engine.record.step("report").result
    # FORMAT.md runtime contract: the built-in report the task runs after.
    if report.get("report"):
        context.env["AME_MONITORING_REPORT"] = str(report["report"])
    if report.get("mlflow_run_id"):
        context.env["AME_MONITORING_RUN_ID"] = str(report["mlflow_run_id"])
    run = engine.run_and_wait(
        step, lambda env: lifecycle.submit_slot(model.monitoring, "monitoring", _with(context, env))
    )
    if run.status.value != "succeeded":
        raise StepFailed(
            f"monitoring run {run.id} {run.status.value}: {run.reason or 'see its log'}"
        )
    return f"monitoring run {run.id} succeeded"


def task_run(engine: FlowEngine, step: StepRecord) -> str:
    from ame_core.resolve import ResolveError
    from ame_core.runtime.backend import RunContext

    lifecycle = engine.lifecycle
    project = lifecycle.project
    name = engine.record.task
    try:
        resolved = project.resolver.resolve_by_name(name)
    except ResolveError as exc:
        raise StepFailed(str(exc)) from None
    context = RunContext(project.dir, project.name, lifecycle.tracking_uri)
    run = engine.run_and_wait(
        step, lambda env: lifecycle.backend.submit(resolved, _with(context, env))
    )
    if run.status.value != "succeeded":
        raise StepFailed(
            f"run {run.id} of {name} {run.status.value}: {run.reason or 'see its log'}"
        )
    return f"run {run.id} of {name} succeeded"


def pipeline_advance(engine: FlowEngine, step: StepRecord) -> str:
    """Carry a pipeline on until it ends (params["run_id"]): the flow's driver is the one
    process that starts its next groups, so it goes on with no client reading it."""
    import time

    from ame_core.flows import engine as engine_mod

    backend = engine.lifecycle.backend
    run_id = engine.record.params.get("run_id")
    advance = getattr(backend, "advance_pipeline", None)
    if not run_id or advance is None:
        raise StepFailed(f"the {backend.name} backend does not drive pipelines in a flow")
    if step.run_id != run_id:
        step.run_id = run_id  # so following the flow shows the pipeline's log
        engine.save()
    while True:
        if engine.store.cancel_requested(engine.record.id):
            backend.cancel(run_id)
            raise FlowCancelled
        run = advance(run_id)
        if run.status.finished:
            break
        time.sleep(engine_mod.POLL_SECONDS)
    if run.status.value == "cancelled":
        raise FlowCancelled
    if run.status.value != "succeeded":
        raise StepFailed(f"pipeline {run_id} failed: {run.reason or 'see its log'}")
    return f"pipeline {run_id} ({run.task}) succeeded"


ACTIONS: dict[tuple[str, str], Step] = {
    ("train", "train"): train_run,
    ("train", "register"): train_register,
    ("train", "validate"): train_validate,
    ("train", "deploy"): train_deploy,
    ("validate", "resolve"): resolve,
    ("validate", "validate"): validate,
    ("deploy", "resolve"): resolve,
    ("deploy", "check"): check,
    ("deploy", "deploy"): deploy,
    ("undeploy", "undeploy"): undeploy,
    ("monitor", "resolve"): monitor_resolve,
    ("monitor", "report"): monitor_report,
    ("monitor", "monitor"): monitor,
    ("task", "run"): task_run,
    ("pipeline", "advance"): pipeline_advance,
}


def action(kind: str, step: str) -> Step:
    try:
        return ACTIONS[(kind, step)]
    except KeyError:
        raise StepFailed(f"this ame does not know step {step!r} of a {kind} flow") from None
