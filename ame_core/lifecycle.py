"""The model lifecycle: train → validate → deploy, monitoring, status. The same for every backend.

Everything here talks to a `Backend` (runs and serving) and the MLflow registry (versions,
verdicts, the deployed alias); nothing here knows where tasks run. The CLI and the TUI call it.

The verdict of a validation run is stored on the model version as tags (`ame.validation.*`), and
the served version as the registry alias `deployed`, so any MLflow client sees both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ame_core.errors import LifecycleError, one_line
from ame_core.history import DeploymentEvent
from ame_core.registry import DEPLOYED_ALIAS, Registry, RegistryError, Verdict, VersionInfo
from ame_core.runtime.backend import Backend, BackendError, Endpoint, RunContext, RunRecord
from ame_core.runtime.loading import LoadedProject
from ame_core.serving.health import Health
from ame_core.tracking import TrackingError

Say = Callable[[str], None]


# `Lifecycle.deploy(served_before=LOOK)`: ask the backend what is served before deploying.
LOOK = object()


# --- the project --------------------------------------------------------------------------------


def training_env(model: str) -> dict[str, str]:
    """What a training task gets beyond the contract's common part (FORMAT.md): its model, and
    the artifact folder where it may log the reference data for monitoring."""
    from ame_core.monitoring.reference import REFERENCE_ARTIFACT

    return {"AME_MODEL_NAME": model, "AME_REFERENCE_ARTIFACT": REFERENCE_ARTIFACT}


def load_project(project_dir: Path | str | None = None) -> LoadedProject:
    """Find, read and check the project file; LifecycleError if it has errors."""
    from ame_core.runtime.loading import LoadError
    from ame_core.runtime.loading import load_project as load

    try:
        loaded = load(project_dir)
    except LoadError as exc:
        raise LifecycleError(str(exc)) from None
    return loaded


# --- results --------------------------------------------------------------------------------------


@dataclass
class ValidateResult:
    model: str
    version: str
    run: RunRecord
    verdict: Verdict | None  # None when the run was cancelled: no verdict recorded

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.passed

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "run": self.run.to_json(),
            "verdict": asdict(self.verdict) if self.verdict else None,
        }


@dataclass
class TrainResult:
    model: str
    run: RunRecord
    version: str | None  # the version the training run registered, if any
    validation: ValidateResult | None = None
    endpoint: Endpoint | None = None
    # Why autoDeploy did not deploy (validation failed, deploy error), in words.
    auto_deploy_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run": self.run.to_json(),
            "version": self.version,
            "validation": self.validation.to_json() if self.validation else None,
            "endpoint": self.endpoint.to_json() if self.endpoint else None,
            "auto_deploy_note": self.auto_deploy_note,
        }


@dataclass
class ModelStatus:
    model: str
    has_validation: bool
    versions: list[VersionInfo] = field(default_factory=list)
    deployed: str | None = None  # the registry's `deployed` alias
    endpoint: Endpoint | None = None
    health: Health | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "has_validation": self.has_validation,
            "versions": [v.to_json() for v in self.versions],
            "deployed": self.deployed,
            "endpoint": self.endpoint.to_json() if self.endpoint else None,
            "health": asdict(self.health) if self.health else None,
        }


def deployment_of(model: Any) -> Any:
    """The model's deployment section (defaults when absent). Each backend refuses the serving
    runtimes it cannot run (`kserve` locally), in one line, before it starts anything."""
    from ame_core.spec.models import Deployment

    return model.deployment or Deployment()


# --- the lifecycle --------------------------------------------------------------------------------


def _quiet(_: str) -> None:
    pass


class Lifecycle:
    """Train, validate, deploy, monitor the models of one project on one backend."""

    def __init__(
        self,
        project: LoadedProject,
        backend: Backend,
        tracking_uri: str,
        *,
        say: Say | None = None,
        logs: Say | None = None,
        run_timeout: float | None = None,
    ) -> None:
        self.project = project
        self.backend = backend
        self.tracking_uri = tracking_uri
        self.registry = Registry(tracking_uri)
        self.say = say or _quiet  # progress lines ("validating logreg v3 …")
        self.logs = logs  # a task's log text as it comes, or None to just wait
        self.run_timeout = run_timeout

    @classmethod
    def open(
        cls,
        project_dir: Path | str | None = None,
        *,
        backend: str | None = None,
        tracking_uri: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        say: Say | None = None,
        logs: Say | None = None,
        run_timeout: float | None = None,
    ) -> Lifecycle:
        """The lifecycle of the project in (or above) `project_dir`, on the chosen backend."""
        import os

        from ame_core.runtime.select import get_backend
        from ame_core.tracking import tracking_uri_for

        project = load_project(project_dir)
        name = backend or os.environ.get("AME_BACKEND") or "local"
        chosen = get_backend(name, project.dir, context=context, namespace=namespace)
        uri = tracking_uri_for(project.dir, tracking_uri)
        return cls(project, chosen, uri, say=say, logs=logs, run_timeout=run_timeout)

    # --- helpers ---------------------------------------------------------------------------

    def context(
        self,
        kind: str = "task",
        model: str | None = None,
        version: str | None = None,
        env: dict[str, str] | None = None,
    ) -> RunContext:
        return RunContext(
            project_dir=self.project.dir,
            project=self.project.name,
            tracking_uri=self.tracking_uri,
            kind=kind,
            env=dict(env or {}),
            model_name=model,
            model_version=version,
        )

    def version_context(self, kind: str, model: str, version: str) -> RunContext:
        """The context of a validation or monitoring run: the version it must judge."""
        env = {
            "AME_MODEL_NAME": model,
            "AME_MODEL_VERSION": str(version),
            "AME_MODEL_URI": f"models:/{model}/{version}",
        }
        return self.context(kind, model, version, env=env)

    def submit_slot(self, slot: Any, what: str, context: RunContext) -> RunRecord:
        """Resolve the slot's task (training, validation, monitoring) and submit it."""
        from ame_core.resolve import ResolveError

        try:
            resolved = self.project.resolver.resolve_task(slot.task, self.project.index)
        except ResolveError as exc:
            raise LifecycleError(f"the {what} task of {context.model_name}: {exc}") from None
        record = self.backend.submit(resolved, context)
        self.say(f"{what} run {record.id} ({resolved.name}) {record.status.value}")
        return record

    def _run(self, slot: Any, what: str, context: RunContext) -> RunRecord:
        """Submit the slot's task, stream its logs (if asked) and wait for it."""
        record = self.submit_slot(slot, what, context)
        if self.logs is not None:
            for chunk in self.backend.follow_logs(record.id):
                self.logs(chunk.text)
        return self.backend.wait(record.id, timeout=self.run_timeout)

    # --- train ----------------------------------------------------------------------------------

    def train(self, model_name: str, auto_deploy: bool | None = None) -> TrainResult:
        """Run the training task; report the version it registered; autoDeploy if configured."""
        model = self.project.model(model_name)
        if model.training is None:
            raise LifecycleError(f"model {model_name} has no training task (`training: {{task}}`)")
        context = self.context("training", model_name, env=training_env(model_name))
        run = self._run(model.training, "training", context)
        version = self.registered_version(model_name, run)
        result = TrainResult(model_name, run, version)
        if run.status.value != "succeeded":
            self.say(f"training run {run.id} {run.status.value}: {run.reason or 'see its log'}")
            return result
        if version is None:
            self.say(f"training run {run.id} registered no version of {model_name}")
            return result
        self.say(f"training run {run.id} registered {model_name} v{version}")
        wanted = auto_deploy
        if wanted is None:
            wanted = bool(model.deployment and model.deployment.auto_deploy)
        if wanted:
            self._auto_deploy(model, result)
        return result

    def registered_version(self, model_name: str, run: RunRecord) -> str | None:
        """The version registered by the run's MLflow run (or by one of its pipeline steps)."""
        pending, seen, found = [run], set(), []
        while pending:
            record = pending.pop()
            if record.id in seen:
                continue
            seen.add(record.id)
            version = self.registry.version_for_run(model_name, record.mlflow_run_id)
            if version is not None:
                found.append(int(version))
            for step_id in record.step_ids:
                try:
                    pending.append(self.backend.get_run(step_id))
                except BackendError:
                    continue
        return str(max(found)) if found else None

    def _auto_deploy(self, model: Any, result: TrainResult) -> None:
        assert result.version is not None
        name, version = model.name, result.version
        if model.validation is not None:
            result.validation = self.validate(name, version)
            if not result.validation.passed:
                result.auto_deploy_note = f"{name} v{version} did not pass validation: not deployed"
                self.say(result.auto_deploy_note)
                return
        try:
            result.endpoint = self.deploy(name, version)
        except (LifecycleError, BackendError, RegistryError) as exc:
            result.auto_deploy_note = f"autoDeploy of {name} v{version} failed: {exc}"
            self.say(result.auto_deploy_note)

    # --- validate -----------------------------------------------------------------------------

    def validate(
        self, model_name: str, version: str | None = None, alias: str | None = None
    ) -> ValidateResult:
        """Run the validation task on one version (default: the latest) and record the verdict."""
        model = self.project.model(model_name)
        if model.validation is None:
            raise LifecycleError(
                f"model {model_name} has no validation task (`validation: {{task}}`)"
            )
        version = self.registry.resolve(model_name, version, alias)
        self.say(f"validating {model_name} v{version}")
        context = self.validation_context(model_name, version)
        run = self._run(model.validation, "validation", context)
        return ValidateResult(
            model_name, version, run, self.record_verdict(model_name, version, run)
        )

    def validation_context(self, model_name: str, version: str) -> RunContext:
        return self.version_context("validation", model_name, version)

    def record_verdict(self, model_name: str, version: str, run: RunRecord) -> Verdict | None:
        """The verdict of a finished validation run, recorded on the version (None: cancelled)."""
        if run.status.value == "cancelled":
            self.say(f"validation run {run.id} was cancelled: no verdict recorded")
            return None
        passed = run.status.value == "succeeded"
        reason = None if passed else (run.reason or f"exit code {run.exit_code}")
        verdict = self.registry.set_verdict(
            model_name, version, passed, run.id, run.mlflow_run_id, reason
        )
        self.say(f"{model_name} v{version} {verdict.status} validation (run {run.id})")
        return verdict

    # --- deploy ---------------------------------------------------------------------------------

    def check_deployable(self, model: Any, version: str) -> None:
        """Refuse a version that failed validation, or was never validated when it should be."""
        info = self.registry.version(model.name, version, with_metrics=False)
        verdict = info.verdict
        if verdict is not None and not verdict.passed:
            when = f" at {verdict.time}" if verdict.time else ""
            run = f" (run {verdict.run_id}{when})" if verdict.run_id else ""
            raise LifecycleError(
                f"{model.name} v{version} failed validation{run}: not deployed; "
                "use --force to deploy it anyway"
            )
        if verdict is None and model.validation is not None:
            raise LifecycleError(
                f"{model.name} v{version} has not been validated: run `ame model validate "
                f"{model.name} --version {version}` first, or use --force to deploy it anyway"
            )

    def deploy(
        self,
        model_name: str,
        version: str | None = None,
        alias: str | None = None,
        force: bool = False,
        event_kind: str = "deploy",
        flow_id: str | None = None,
        served_before: str | None | object = LOOK,
    ) -> Endpoint:
        """Serve a version (default: the latest); a running version is replaced without a gap.
        The history records it as `event_kind`, with the flow that did it, from the version
        `served_before` (LOOK: what the backend serves now; a resumed flow knows better)."""
        model = self.project.model(model_name)
        deployment = deployment_of(model)
        version = self.registry.resolve(model_name, version, alias)
        if not force:
            self.check_deployable(model, version)
        self.say(f"deploying {model_name} v{version} ({self.backend.name})")
        context = self.context("deployment", model_name, version)
        if served_before is LOOK:
            before = self.backend.endpoint(model_name, context)
            served_before = before.version if before is not None else None
        event = DeploymentEvent(
            model_name,
            event_kind,
            str(version),
            from_version=served_before if isinstance(served_before, str) else None,
            backend=self.backend.name,
            flow_id=flow_id,
        )
        # This is the replace path: a canary rollout is the deploy flow's (start_canary).
        replace = deployment.model_copy(update={"rollout": None})
        try:
            endpoint = self.backend.deploy(model_name, version, context, replace)
        except Exception as exc:
            event.outcome, event.reason = "failed", one_line(exc)
            self._record(event)
            raise
        self.registry.set_deployed(model_name, version)
        if event.from_version != event.to_version:  # redeploying what is served changes nothing
            self._record(event)
        self.say(f"{model_name} v{version} is served at {endpoint.url}")
        return endpoint

    def undeploy(self, model_name: str, flow_id: str | None = None) -> bool:
        """Stop serving; False when the model was not served."""
        self.project.model(model_name)
        context = self.context("deployment", model_name)
        before = self.backend.endpoint(model_name, context)
        self.backend.undeploy(model_name, context)
        self.registry.clear_deployed(model_name)
        if before is not None:
            self._record(
                DeploymentEvent(
                    model_name,
                    "undeploy",
                    None,
                    from_version=before.version,
                    backend=self.backend.name,
                    flow_id=flow_id,
                )
            )
        return before is not None

    # --- canary rollouts (the deploy flow's step drives them: ame_core.flows.canary) ---------

    def start_canary(self, model_name: str, version: str, deployment: Any, percent: float) -> Any:
        self.say(f"deploying {model_name} v{version} as a {percent:g}% canary")
        context = self.context("deployment", model_name, version)
        return self.backend.start_canary(model_name, version, context, deployment, percent)

    def canary_figures(self, model_name: str) -> dict[str, Any] | None:
        return self.backend.canary_figures(model_name, self.context("deployment", model_name))

    def end_canary(
        self,
        model_name: str,
        version: str,
        deployment: Any,
        *,
        promote: bool,
        reason: str,
        metrics: dict[str, float],
        served_before: str | None,
        flow_id: str | None,
        event_kind: str = "deploy",
    ) -> Endpoint | None:
        """Promote the canary (it takes all requests) or roll it back (the version served
        before takes them again); either way recorded in the history with its figures, as
        `event_kind` ("promote" or "rollback" when a user ended it early)."""
        context = self.context("deployment", model_name, version)
        event = DeploymentEvent(
            model_name,
            event_kind,
            str(version),
            from_version=served_before,
            strategy="canary",
            outcome="succeeded" if promote else "rolled back",
            reason=reason,
            backend=self.backend.name,
            flow_id=flow_id,
            metrics=metrics,
        )
        try:
            if promote:
                endpoint = self.backend.promote_canary(model_name, context, deployment)
                self.registry.set_deployed(model_name, version)
            else:
                previous = str(served_before or "")
                endpoint = self.backend.abort_canary(model_name, context, deployment, previous)
        except Exception as exc:
            event.outcome, event.reason = "failed", f"{reason}; then: {one_line(exc)}"
            self._record(event)
            raise
        self._record(event)
        return endpoint

    # --- deployment history -------------------------------------------------------------------

    def _record(self, event: DeploymentEvent) -> None:
        """Add the event to the model's history; a history MLflow cannot take is said, and
        never undoes what was done."""
        from ame_core import history

        try:
            history.record(self.tracking_uri, self.project.dir, self.project.name, event)
        except TrackingError as exc:
            self.say(f"warning: {event.summary} was not recorded in the history: {exc}")

    def history(self, model_name: str) -> list[DeploymentEvent]:
        """The model's deploys, roll-backs and undeploys, newest first (LifecycleError)."""
        from ame_core import history

        self.project.model(model_name)
        try:
            return history.events(
                self.tracking_uri, self.project.dir, self.project.name, model_name
            )
        except TrackingError as exc:
            raise LifecycleError(str(exc)) from None

    def rollback_target(self, model_name: str, to_version: str | None = None) -> str:
        """The version a roll-back serves: the one served before the current one, or
        `to_version` if it was served before (LifecycleError saying why not)."""
        from ame_core import history

        current = self.deployed_version(model_name)
        events = self.history(model_name)
        if to_version is None:
            target = history.previous_version(events, current)
            if target is None:
                raise LifecycleError(
                    f"{model_name}: no earlier served version to roll back to "
                    f"(`ame model history {model_name}` lists what was served)"
                )
            return target
        served = {e.to_version for e in events if e.outcome == "succeeded" and e.to_version}
        if str(to_version) not in served:
            listed = ", ".join(f"v{v}" for v in sorted(served, key=int)) or "none"
            raise LifecycleError(
                f"{model_name} v{to_version} was never served (served before: {listed}); "
                f"deploy it with `ame model deploy {model_name} --version {to_version}`"
            )
        if str(to_version) == current:
            raise LifecycleError(f"{model_name} v{to_version} is already served")
        return str(to_version)

    # --- status and monitoring --------------------------------------------------------------

    def deployed_version(self, model_name: str) -> str | None:
        """The version being served: the backend's endpoint, else the registry alias."""
        endpoint = self.backend.endpoint(model_name, self.context("deployment", model_name))
        if endpoint is not None and endpoint.version:
            return endpoint.version
        return self.registry.deployed(model_name)

    def status(self, model_name: str, health: bool = True) -> ModelStatus:
        model = self.project.model(model_name)
        result = ModelStatus(model_name, has_validation=model.validation is not None)
        result.versions = self.registry.versions(model_name)
        result.endpoint = self.backend.endpoint(model_name, self.context("deployment", model_name))
        result.deployed = self._deployed_alias(model_name, result.versions, result.endpoint)
        if health and result.endpoint is not None and result.endpoint.url:
            result.health = self.check_health(model_name, result.endpoint)
        return result

    def _deployed_alias(
        self, model_name: str, versions: list[VersionInfo], endpoint: Endpoint | None
    ) -> str | None:
        """The version the registry's `deployed` alias names, first moved to the version the
        backend serves when they differ: a deployer that died after the switch (the next
        look finished its start) never got to move the alias."""
        aliased = next((v.version for v in versions if DEPLOYED_ALIAS in v.aliases), None)
        served = endpoint.version if endpoint is not None else None
        if not served or served == aliased or served not in {v.version for v in versions}:
            return aliased
        try:
            self.registry.set_deployed(model_name, served)
        except RegistryError:
            return aliased  # said by the next write; a look never fails on it
        for info in versions:
            info.aliases = [a for a in info.aliases if a != DEPLOYED_ALIAS]
            if info.version == served:
                info.aliases.append(DEPLOYED_ALIAS)
        return served

    def check_health(self, model_name: str, endpoint: Endpoint) -> Health:
        from ame_core.serving.health import probe

        example = self.input_example(model_name, endpoint.version)
        return probe(endpoint.url or "", example)

    def input_example(self, model_name: str, version: str) -> bytes | None:
        """The version's serving input example (logged with the model), cached under .ame/."""
        cache = self.project.dir / ".ame" / "cache" / "examples" / f"{model_name}-v{version}.json"
        if cache.is_file():
            return cache.read_bytes()
        if self.tracking_uri.startswith(("http://", "https://")):
            # The server reads the version's artifacts wherever they are: no mlflow import.
            from ame_core.mlflow_rest import RestError
            from ame_core.tracking import rest
            from ame_core.tracking_server import ServerError

            try:
                data = rest(self.tracking_uri, self.project.dir).model_version_artifact(
                    model_name, str(version), "serving_input_example.json"
                )
            except (RestError, ServerError):  # no example logged, or no server: no smoke request
                return None
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(data)
            return data
        try:
            import mlflow
            import mlflow.artifacts

            # `models:/` URIs resolve through the process-wide registry URI.
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{model_name}/{version}/serving_input_example.json"
            )
            data = Path(path).read_bytes()
        except Exception:  # noqa: BLE001 - no example logged, or the store is unreachable: no smoke request
            return None
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(data)
        return data

    def models(self) -> list[dict[str, Any]]:
        """One line per model of the project: latest version, its verdict, what is served."""
        rows = []
        for name, model in self.project.index.models.items():
            versions = self.registry.versions(name, with_metrics=False)
            latest = versions[0] if versions else None
            endpoint = self.backend.endpoint(name, self.context("deployment", name))
            verdict = latest.verdict if latest else None
            rows.append(
                {
                    "model": name,
                    "versions": len(versions),
                    "latest": latest.version if latest else None,
                    "latest_validation": verdict.status if verdict else None,
                    "deployed": self._deployed_alias(name, versions, endpoint),
                    "endpoint": endpoint.to_json() if endpoint else None,
                    "auto_deploy": bool(model.deployment and model.deployment.auto_deploy),
                    "has_validation": model.validation is not None,
                    "has_monitoring": model.monitoring is not None,
                }
            )
        return rows
