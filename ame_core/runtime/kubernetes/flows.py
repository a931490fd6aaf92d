"""Flows on a cluster: records in ConfigMaps, each flow driven by a Job in the cluster.

A flow's record is the ConfigMap `ame-<flow id>` (labels: managed-by, project, `ame.dev/record:
flow`, `ame.dev/flow-id`), its JSON in `record.json`; a cancel request is the annotation
`ame.dev/cancel-requested`. Updates are optimistic (the read's resourceVersion goes with the
patch, a 409 reads again), so the driver and any client looking can write at once.

The driver is a Job `ame-<flow id>-<attempt>` (`backoffLimit: 0`, the ServiceAccount of
deploy/rbac.yaml) that runs `python -m ame_core.runtime.kubernetes.flow_driver`: in the image
AME_K8S_DRIVER_IMAGE, or in `python:<client's version>-slim` after installing the client's own
ame wheel, shipped as an MLflow artifact the way a run's code is. The driver is alive while its
Job's pod is Pending or Running; a Job or pod that is gone or ended leaves the flow to
`control.reconcile`, which launches attempt + 1.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.flows.records import FlowRecord, FlowStatus, StepStatus
from ame_core.flows.store import DECISIONS, FlowError, FlowStore
from ame_core.runtime.backend import BackendError, RunContext
from ame_core.runtime.kubernetes import cluster_mlflow
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes.client import Conflict, Forbidden, KubeError, NotFound
from ame_core.uris import redact_uri

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

# A driver Job without a pod is young for this long (the Job controller has not made its pod
# yet); after that a missing pod means it was deleted or evicted and never replaced.
POD_GRACE_SECONDS = 120.0
# A record without a driver yet: `control.start` is shipping the code and creating the Job.
LAUNCH_GRACE_SECONDS = 300.0
_UPDATE_TRIES = 20


def client_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


class KubernetesFlowStore(FlowStore):
    def __init__(
        self,
        backend: KubernetesBackend,
        project: str | None = None,
        *,
        namespace: str | None = None,
    ) -> None:
        self.backend = backend
        self.project = project
        self._namespace = namespace  # the dry run's: no connection to learn it
        self.pod_grace = POD_GRACE_SECONDS
        self.launch_grace = LAUNCH_GRACE_SECONDS

    @property
    def namespace(self) -> str:
        return self._namespace or self.backend.namespace

    # --- records --------------------------------------------------------------------------

    def record_object(self, record: FlowRecord) -> dict[str, Any]:
        """The ConfigMap that holds `record` (what `write` creates)."""
        data = record.to_json()
        # Records live in the cluster; credentials in a URI do not.
        origin = dict(data.get("origin") or {})
        if origin.get("tracking_uri"):
            origin["tracking_uri"] = redact_uri(origin["tracking_uri"])
        data["origin"] = origin
        return m.flow_record(record.id, self.namespace, record.project, record.kind, data)

    def _raw(self, flow_id: str) -> dict[str, Any] | None:
        return self.backend.objects.read("ConfigMap", n.flow_record_name(flow_id))

    @staticmethod
    def _parse(obj: dict[str, Any], flow_id: str) -> FlowRecord:
        raw = (obj.get("data") or {}).get("record.json")
        try:
            return FlowRecord.from_json(json.loads(raw or ""))
        except (ValueError, TypeError, KeyError) as exc:
            name = (obj.get("metadata") or {}).get("name", flow_id)
            raise FlowError(f"flow record ConfigMap {name} is unreadable: {exc}") from None

    def write(self, record: FlowRecord) -> None:
        self.backend.objects.upsert(self.record_object(record))

    def read(self, flow_id: str) -> FlowRecord:
        obj = self._raw(flow_id)
        if obj is None:
            raise FlowError(
                f"no flow '{flow_id}' in namespace '{self.namespace}' (see `ame flow list`)"
            )
        return self._parse(obj, flow_id)

    def update(self, flow_id: str, change: Callable[[FlowRecord], None]) -> FlowRecord:
        for _ in range(_UPDATE_TRIES):
            obj = self._raw(flow_id)
            if obj is None:
                raise FlowError(f"no flow '{flow_id}' in namespace '{self.namespace}'")
            record = self._parse(obj, flow_id)
            change(record)
            meta: dict[str, Any] = {}
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                # The API server refuses (409) a patch made from an older read.
                meta["resourceVersion"] = version
            body = {"metadata": meta, "data": self.record_object(record)["data"]}
            try:
                self.backend.objects.patch("ConfigMap", n.flow_record_name(flow_id), body)
                return record
            except Conflict:
                time.sleep(0.05)
        raise FlowError(f"flow {flow_id}: too many concurrent changes to its record; try again")

    def all(self) -> list[FlowRecord]:
        labels = {n.MANAGED_BY: n.MANAGED_BY_VALUE, n.LABEL_RECORD: n.FLOW_RECORD}
        if self.project:
            labels[n.LABEL_PROJECT] = n.label_value(self.project)
        out = []
        for obj in self.backend.objects.list("ConfigMap", labels):
            try:
                out.append(self._parse(obj, ""))
            except FlowError:  # a foreign or half-written object
                continue
        out.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return out

    def find(self, ref: str) -> str:
        if self._raw(ref) is not None:
            return ref
        ids = [r.id for r in self.all()]
        hits = [i for i in ids if i.startswith(ref) or i.endswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise FlowError(
                f"no flow '{ref}' in namespace '{self.namespace}' (see `ame flow list`)"
            )
        raise FlowError(
            f"'{ref}' matches {len(hits)} flows: {', '.join(hits[:5])}; be more precise"
        )

    # --- cancel ---------------------------------------------------------------------------

    def request_cancel(self, flow_id: str) -> None:
        self.backend.objects.patch(
            "ConfigMap",
            n.flow_record_name(flow_id),
            {"metadata": {"annotations": {n.ANN_CANCEL: "true"}}},
        )

    def cancel_requested(self, flow_id: str) -> bool:
        return self._annotation(flow_id, n.ANN_CANCEL) == "true"

    def _annotation(self, flow_id: str, key: str) -> str | None:
        obj = self._raw(flow_id) or {}
        return ((obj.get("metadata") or {}).get("annotations") or {}).get(key)

    def request_decision(self, flow_id: str, decision: str) -> None:
        assert decision in DECISIONS, decision
        self.backend.objects.patch(
            "ConfigMap",
            n.flow_record_name(flow_id),
            {"metadata": {"annotations": {n.ANN_DECISION: decision}}},
        )

    def decision(self, flow_id: str) -> str | None:
        value = self._annotation(flow_id, n.ANN_DECISION)
        return value if value in DECISIONS else None

    # --- drivers --------------------------------------------------------------------------

    def driver_spec(
        self, record: FlowRecord, ship: dict[str, Any], attempt: int | None = None
    ) -> m.DriverSpec:
        """The driver of the flow's next attempt, from what was shipped for it."""
        code = ship.get("code")
        return m.DriverSpec(
            flow_id=record.id,
            kind=record.kind,
            project=record.project,
            namespace=self.namespace,
            attempt=attempt if attempt is not None else record.resumes + 1,
            image=ship["image"],
            tracking_uri=ship["tracking_uri"],
            mlflow_image=ship["mlflow_image"],
            git_image=ship["git_image"],
            ame_version=ship["ame_version"],
            code=m.CodeSource(**code) if code else None,
            wheel_run_id=ship.get("wheel_run_id"),
            wheel=ship.get("wheel"),
            env=dict(ship.get("env") or {}),
            service_account=ship.get("service_account"),
            ttl_seconds=ship.get("ttl_seconds"),
        )

    def ship(self, record: FlowRecord, *, dry_run: bool = False) -> dict[str, Any]:
        """Send what the driver needs where the cluster reaches it (the project's code and,
        with no driver image, the ame wheel, as artifacts of an MLflow run); returns how to
        find them. `dry_run`: upload nothing, ids shown as placeholders."""
        from ame_core.runtime.kubernetes import render
        from ame_core.runtime.kubernetes import wheel as wheel_mod

        settings = self.backend.settings
        project_dir = Path(record.origin.get("project_dir") or self.backend.project_dir or ".")
        uri = self._client_tracking_uri(record, project_dir, dry_run)
        context = RunContext(project_dir=project_dir, project=record.project, tracking_uri=uri)
        cluster_uri = render.cluster_tracking_uri(context, settings, strict=not dry_run)
        image = settings.driver_image or settings.default_image.format(python=client_python())
        env = settings.to_env()
        env.pop("AME_CLUSTER_MLFLOW_URI", None)  # the driver's own, set from tracking_uri
        ship: dict[str, Any] = {
            "image": image,
            "tracking_uri": cluster_uri,
            "mlflow_image": settings.mlflow_image,
            "git_image": settings.git_image,
            "ame_version": wheel_mod.ame_version(),
            "env": env,
            "service_account": settings.driver_service_account,
            "ttl_seconds": settings.ttl_seconds,
        }
        wheel: tuple[str, bytes] | None = None
        if not settings.driver_image:
            wheel = wheel_mod.build()
            ship["wheel"] = wheel[0]
        # A pipeline's driver reads only the pipeline's record; other flows read ame.yml.
        needs_code = record.kind != "pipeline"
        run_id = record.params.get("code_mlflow_run") if not needs_code else None
        code: m.CodeSource | None = None
        archive: bytes | None = None
        if needs_code:
            code, archive = self.backend.code_source(
                project_dir, bool(record.params.get("allow_dirty"))
            )
        if dry_run:
            run_id = run_id or m.PLACEHOLDER_RUN
        elif archive is not None or (wheel is not None and run_id is None):
            # An MLflow run of the flow's own holds its code and ame (ended at once: it is
            # a container of artifacts, like a run's code).
            run_id, _ = cluster_mlflow.start_run(
                context, f"flow-{record.kind}", record.id, "flow", None, self.backend.namespace
            )
            cluster_mlflow.end_run(uri, run_id, _finished(), "")
        if code is not None and code.kind == "mlflow":
            code.mlflow_run_id = run_id
            if archive is not None and not dry_run:
                cluster_mlflow.upload_code(uri, run_id, archive)
        if wheel is not None:
            ship["wheel_run_id"] = run_id
            if not dry_run:
                self._upload(uri, run_id, wheel)
        if code is not None:
            ship["code"] = {
                "kind": code.kind,
                "mlflow_run_id": code.mlflow_run_id,
                "repo_url": code.repo_url,
                "commit": code.commit,
                "subdir": code.subdir,
            }
        return ship

    def _client_tracking_uri(self, record: FlowRecord, project_dir: Path, dry_run: bool) -> str:
        uri = record.origin.get("tracking_uri") or self.backend.tracking_uri
        if uri:
            return str(uri)
        if dry_run:
            return "<the project's MLflow>"
        from ame_core.tracking import tracking_uri_for

        return tracking_uri_for(project_dir)

    def _upload(self, uri: str, run_id: str, wheel: tuple[str, bytes]) -> None:
        import tempfile

        from ame_core.tracking import client

        with tempfile.TemporaryDirectory(prefix="ame-wheel-") as tmp:
            path = Path(tmp) / wheel[0]
            path.write_bytes(wheel[1])
            try:
                client(uri).log_artifact(run_id, str(path), m.DRIVER_ARTIFACT_DIR)
            except Exception as exc:  # noqa: BLE001 - MLflow's client raises any kind: one line
                raise BackendError(
                    f"uploading ame ({wheel[0]}) to MLflow ({uri}) for the flow's driver "
                    f"failed: {exc}"
                ) from None

    def launch(self, record: FlowRecord) -> None:
        """Create the driver Job of the flow's next attempt. What cannot be launched fails the
        flow with the reason (a look must never raise for a flow it cannot resume)."""
        attempt = record.resumes + 1
        # A resumed flow keeps what its first driver was given (image or wheel, code,
        # settings): the ame that started it, whoever resumes it.
        ship = (record.driver or {}).get("ship")
        try:
            if not ship:
                self._check_service_account()
                ship = self.ship(record)
            spec = self.driver_spec(record, ship, attempt)
            try:
                self.backend.objects.create(m.driver_job(spec))
            except Conflict:
                pass  # another process resumed the same attempt first: one driver
        except (BackendError, FlowError) as exc:
            self._fail(record, f"cannot start the flow's driver in the cluster: {exc}")
            return
        record.driver = {
            "job": spec.job_name,
            "attempt": attempt,
            "launched_at": time.time(),
            "ship": ship,
        }

    def _check_service_account(self) -> None:
        name = self.backend.settings.driver_service_account
        kube = self.backend.kube
        try:
            kube.call(
                "get",
                "serviceaccounts",
                kube.core.read_namespaced_service_account,
                name,
                self.namespace,
                name=name,
            )
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            raise FlowError(
                f"the ServiceAccount '{name}' of flow drivers does not exist in namespace "
                f"'{self.namespace}': kubectl -n {self.namespace} apply -f deploy/rbac.yaml "
                "(ame cluster check), or name another with AME_K8S_DRIVER_SERVICE_ACCOUNT"
            ) from None
        except Forbidden:
            pass  # cannot tell from here; `ame cluster check` says what is missing

    def _fail(self, record: FlowRecord, reason: str) -> None:
        def fail(stored: FlowRecord) -> None:
            if stored.status.finished:
                return
            stored.status = FlowStatus.FAILED
            stored.reason = reason
            stored.ended_at = time.time()
            for step in stored.steps:
                if not step.status.finished:
                    step.status = StepStatus.SKIPPED
            stored.event(f"flow failed: {reason}")

        fail(record)
        try:
            self.update(record.id, fail)
        except (BackendError, FlowError):
            pass  # the caller writes `record` too

    def driver_alive(self, record: FlowRecord) -> bool:
        driver = record.driver or {}
        job_name = driver.get("job")
        if not job_name:
            # Being launched: control.start writes the record, then ships and creates the Job.
            young = time.time() - (record.created_at or 0) < self.launch_grace
            return record.status is FlowStatus.PENDING and young
        try:
            job = self.backend.objects.read("Job", job_name)
            if job is None:
                return False
            conditions = ((job.get("status") or {}).get("conditions")) or []
            if any(
                c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                for c in conditions
            ):
                return False
            pods = self.backend.objects.list("Pod", {n.JOB_NAME_LABEL: job_name})
        except KubeError:
            return True  # the API cannot be asked now: do not start a second driver
        phases = [(p.get("status") or {}).get("phase") or "Pending" for p in pods]
        if any(phase in ("Pending", "Running") for phase in phases):
            return True
        if phases:
            return False  # its pod ended (evicted, OOMKilled, node lost) with the flow unfinished
        launched = float(driver.get("launched_at") or 0)
        return time.time() - launched < self.pod_grace

    def driver_job(self, record: FlowRecord, *, dry_run: bool = False) -> dict[str, Any]:
        """The Job the flow's next attempt would create (the dry run prints it)."""
        ship = (record.driver or {}).get("ship") or self.ship(record, dry_run=dry_run)
        return m.driver_job(self.driver_spec(record, ship))


def _finished() -> Any:
    from ame_core.runtime.backend import RunStatus

    return RunStatus.SUCCEEDED
