"""What the TUI changes: run a task, start a flow (train, validate, deploy, undeploy), cancel.

Model steps are flows (`ame_core.flows`): the console records one and launches its driver, then
only reads its record, exactly as `ame model …` does; the driver finishes it whatever happens
to the console. Nothing here knows which backend it has. Blocking: call from a worker.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ame_tui.services.project import ProjectInfo, resolve_task

if TYPE_CHECKING:
    from ame_core.flows.records import FlowRecord
    from ame_core.runtime.backend import RunRecord
    from ame_tui.services.context import AppContext


class ActionError(Exception):
    """Shown to the user as one line."""


class NeedsForce(Exception):
    """The lifecycle refuses (e.g. a version that failed validation); the user may insist."""


def lifecycle(ctx: AppContext, info: ProjectInfo) -> Any:
    from ame_core.lifecycle import Lifecycle
    from ame_core.runtime.loading import LoadedProject

    if info.analysis is None or info.analysis.index is None or info.path is None:
        raise ActionError("the project file cannot be read; see :problems")
    project = LoadedProject(info.path, ctx.project_dir, info.analysis)
    return Lifecycle(project, ctx.backend(), ctx.tracking_uri)


def run_task(ctx: AppContext, info: ProjectInfo, name: str) -> RunRecord:
    from ame_core.resolve import ResolveError

    try:
        resolved = resolve_task(info, name)
    except (ResolveError, KeyError, AttributeError) as exc:
        raise ActionError(f"cannot run {name}: {exc}") from exc
    return ctx.backend().submit(resolved, ctx.run_context(info.name))


def flow_params(kind: str, version: str | None = None, force: bool = False) -> dict[str, Any]:
    """What `ame model <kind>` asks for, with the same defaults (see ame_cli.model_cmds)."""
    if kind == "train":
        return {"deploy": None}  # None: autoDeploy as ame.yml says
    if kind == "validate":
        return {"version": version, "alias": None}
    if kind == "deploy":
        return {"version": version, "alias": None, "force": force}
    return {}


def start_flow(
    ctx: AppContext,
    info: ProjectInfo,
    kind: str,
    model: str,
    version: str | None = None,
    force: bool = False,
) -> FlowRecord:
    """Record the flow and launch its driver; returns at once with its record."""
    from ame_core.flows import control

    lc = lifecycle(ctx, info)
    # refused here, not in the driver
    control.check_startable(kind, lc.project.model(model), lc.backend)
    backend = ctx.backend()
    return control.start(
        backend.flow_store(),
        kind,
        info.name,
        backend.name,
        model=model,
        params=flow_params(kind, version, force),
        origin=ctx.flow_origin(),
    )


def end_canary(ctx: AppContext, model: str, decision: str) -> FlowRecord | None:
    """`ame model promote|rollback MODEL` while a canary runs: ask its flow; its record, or
    None when no canary is running."""
    from ame_core.flows import control

    backend = ctx.backend()
    store = backend.flow_store()
    record = control.running_canary(store, model, backend)
    if record is not None:
        store.request_decision(record.id, decision)
    return record


def start_rollback(ctx: AppContext, info: ProjectInfo, model: str) -> FlowRecord:
    """`ame model rollback MODEL` with no canary running: a deploy flow of the version served
    before the current one (LifecycleError, at once, when there is none)."""
    from ame_core.flows import control

    lc = lifecycle(ctx, info)
    control.check_startable("deploy", lc.project.model(model), lc.backend)
    target = lc.rollback_target(model)
    backend = ctx.backend()
    return control.start(
        backend.flow_store(),
        "deploy",
        info.name,
        backend.name,
        model=model,
        params={**flow_params("deploy", target, True), "event": "rollback"},
        origin=ctx.flow_origin(),
    )


def check_deployable(ctx: AppContext, info: ProjectInfo, model: str, version: str) -> None:
    """Ask before starting a deploy flow that its `check` step would refuse."""
    from ame_core.lifecycle import LifecycleError

    lc = lifecycle(ctx, info)
    try:
        lc.check_deployable(lc.project.model(model), str(version))
    except LifecycleError as exc:
        text = (
            str(exc)
            .replace("; use --force to deploy it anyway", "")
            .replace(", or use --force to deploy it anyway", "")
        )
        # the CLI's hint, said as the console does it: a key, not a shell command
        text = re.sub(r"run `ame model validate [^`]*` first", "press v in Models first", text)
        raise NeedsForce(text) from exc


def list_flows(ctx: AppContext) -> list[FlowRecord]:
    """Every flow of the project, newest first; a flow whose driver died is resumed here (the
    same look `ame flow list` takes)."""
    from ame_core.flows import control

    backend = ctx.backend()
    return control.listing(backend.flow_store(), backend)


def cancel_flow(ctx: AppContext, flow_id: str) -> FlowRecord:
    """Cancel a flow (its driver cancels its current run); waits until it has stopped."""
    from ame_core.flows import control

    backend = ctx.backend()
    return control.cancel(backend.flow_store(), flow_id, backend)


def cancel(ctx: AppContext, run_id: str) -> RunRecord:
    return ctx.backend().cancel(run_id)


def input_example(ctx: AppContext, info: ProjectInfo, model: str, version: str) -> Any:
    """The version's serving input example as a JSON body, or None."""
    import json

    data = lifecycle(ctx, info).input_example(model, str(version))
    if data is None:
        from ame_tui.services import mlflow_data

        return mlflow_data.input_example(ctx.tracking_uri, model, str(version))
    return json.loads(data)
