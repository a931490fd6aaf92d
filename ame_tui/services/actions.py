"""What the TUI changes: run a task, train, validate, deploy, undeploy, cancel.

Model steps go through `ame_core.lifecycle.Lifecycle` (the same steps as `ame model …`) on the
Backend interface; nothing here knows which backend it has. The lifecycle waits for its runs;
`on_submit` is told of each run the moment it is submitted, so the UI can show it at once while
the rest (verdict, autoDeploy) completes in the worker. Blocking: call from a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ame_tui.services.project import ProjectInfo, resolve_task

if TYPE_CHECKING:
    from ame_core.runtime.backend import RunRecord
    from ame_tui.services.context import AppContext

OnSubmit = Callable[["RunRecord"], None]


class ActionError(Exception):
    """Shown to the user as one line."""


class NeedsForce(Exception):
    """The lifecycle refuses (e.g. a version that failed validation); the user may insist."""


class _Announcing:
    """The backend, telling `on_submit` about every run it starts."""

    def __init__(self, backend: Any, on_submit: OnSubmit | None) -> None:
        self._backend = backend
        self._on_submit = on_submit

    def submit(self, task: Any, context: Any) -> RunRecord:
        record = self._backend.submit(task, context)
        if self._on_submit is not None:
            self._on_submit(record)
        return record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def lifecycle(ctx: AppContext, info: ProjectInfo, on_submit: OnSubmit | None = None) -> Any:
    from ame_core.lifecycle import Lifecycle, LoadedProject

    if info.analysis is None or info.analysis.index is None or info.path is None:
        raise ActionError("the project file cannot be read; see :problems")
    project = LoadedProject(ctx.project_dir, info.path, info.analysis)
    return Lifecycle(project, _Announcing(ctx.backend(), on_submit), ctx.tracking_uri)


def run_task(ctx: AppContext, info: ProjectInfo, name: str) -> RunRecord:
    from ame_core.resolve import ResolveError

    try:
        resolved = resolve_task(info, name)
    except (ResolveError, KeyError, AttributeError) as exc:
        raise ActionError(f"cannot run {name}: {exc}") from exc
    return ctx.backend().submit(resolved, ctx.run_context(info.name))


def train(ctx: AppContext, info: ProjectInfo, model: str, on_submit: OnSubmit) -> str:
    """Train (and, as configured, validate and autoDeploy); a one-line outcome."""
    result = lifecycle(ctx, info, on_submit).train(model)
    run = result.run
    if run.status.value != "succeeded":
        return f"training of {model} {run.status.value}: {run.reason or 'see its log'}"
    if result.version is None:
        return f"training run {run.id} registered no version of {model}"
    text = f"{model} v{result.version} registered"
    if result.validation is not None:
        text += f"; validation {'passed' if result.validation.passed else 'failed'}"
    if result.endpoint is not None:
        text += f"; served at {result.endpoint.url}"
    if result.auto_deploy_note:
        text += f"; {result.auto_deploy_note}"
    return text


def validate(
    ctx: AppContext, info: ProjectInfo, model: str, version: str, on_submit: OnSubmit
) -> str:
    result = lifecycle(ctx, info, on_submit).validate(model, str(version))
    if result.verdict is None:
        return f"validation of {model} v{version} was cancelled: no verdict"
    reason = f" ({result.verdict.reason})" if result.verdict.reason else ""
    return f"{model} v{version} {result.verdict.status} validation{reason}"


def check_deployable(ctx: AppContext, info: ProjectInfo, model: str, version: str) -> None:
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
        raise NeedsForce(text) from exc


def deploy(ctx: AppContext, info: ProjectInfo, model: str, version: str, force: bool) -> Any:
    return lifecycle(ctx, info).deploy(model, str(version), force=force)


def undeploy(ctx: AppContext, info: ProjectInfo, model: str) -> bool:
    return lifecycle(ctx, info).undeploy(model)


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
