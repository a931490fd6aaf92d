"""A cluster run's log: read from its pod, streamed while it runs, or from MLflow after.

One job: the text of a run's log. A pod's task container (a crashed container's previous
log first; the code fetch's when the task never started), a pipeline's steps one after
another, the copy kept in MLflow once the pod is gone, and the followed stream, counted in
characters of the whole log so a reconnect neither repeats nor loses text.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ame_core.runtime.backend import Backend, LogChunk
from ame_core.runtime.kubernetes import cluster_mlflow
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes.client import KubeError, NotFound
from ame_core.runtime.kubernetes.status import newest_pod

if TYPE_CHECKING:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend


class RunLogs:
    """The logs of the backend's runs."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend

    def pod_log(self, pods: list[dict[str, Any]], container: str = m.TASK_CONTAINER) -> str:
        """The task container's log of the newest pod; a crashed container's previous log
        first; the code fetch's log when the task never started."""
        pod = newest_pod(pods)
        if pod is None:
            return ""
        name = pod["metadata"]["name"]
        statuses = {
            s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []
        }
        task_status = statuses.get(container) or {}
        parts: list[str] = []
        if (task_status.get("restartCount") or 0) > 0:
            parts.append(self.container_log(name, container, previous=True))
        state = task_status.get("state") or {}
        if not task_status or "waiting" in state and "lastState" not in task_status:
            # The task container never ran: show why the code fetch failed, if it did.
            init = {
                s.get("name"): s
                for s in (pod.get("status") or {}).get("initContainerStatuses") or []
            }.get(m.CODE_CONTAINER) or {}
            term = (init.get("state") or {}).get("terminated") or {}
            if term.get("exitCode") not in (None, 0):
                return self.container_log(name, m.CODE_CONTAINER)
            if not task_status:
                return "".join(parts)
        parts.append(self.container_log(name, container))
        return "".join(parts)

    def container_log(self, pod: str, container: str, previous: bool = False) -> str:
        """One container's log; "" while it has none to give."""
        kube = self.backend.kube
        kwargs: dict[str, Any] = {"container": container}
        if previous:
            kwargs["previous"] = True
        try:
            return kube.call(
                "get",
                "pods/log",
                kube.core.read_namespaced_pod_log,
                pod,
                self.backend.namespace,
                name=pod,
                raw=True,
                **kwargs,
            )
        except NotFound:
            return ""
        except KubeError as exc:
            if "waiting to start" in str(exc) or "ContainerCreating" in str(exc):
                return ""
            if getattr(exc, "status", None) is None and "(400)" in str(exc):
                return ""
            raise

    def text(self, run_id: str) -> str:
        """The whole log of a run (of a pipeline: its steps', each under a heading)."""
        records = self.backend.records
        data, steps = records.load(run_id)
        if data is not None and (data.get("kind") == "pipeline" or data.get("steps")):
            parts = []
            for group in data.get("steps") or []:
                for step in group:
                    task = (data.get("step_tasks") or {}).get(step, step)
                    text = self.text(step) if records.has_run(step) else ""
                    if text:
                        parts.append(f"== step {task} ({step}) ==\n{text}")
            return "".join(p if p.endswith("\n") else p + "\n" for p in parts)
        pods = self.backend.runs.pods(run_id)
        if pods:
            return self.pod_log(pods)
        if data is not None:
            return cluster_mlflow.read_log(
                self.backend.runs.tracking_uri(data), data.get("mlflow_run_id")
            )
        return ""

    def read(self, run_id: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        text = self.text(run_id)
        piece = text[offset:] if limit is None else text[offset : offset + limit]
        return LogChunk(piece, offset + len(piece))

    def follow(
        self,
        run_id: str,
        offset: int = 0,
        poll: float = 0.5,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[LogChunk]:
        """Follow the pod's log as a stream; reconnect on stream errors without repeating or
        losing text (the position is counted in characters of the whole log). `stop()` is
        asked between polls and after each chunk."""
        backend = self.backend
        record = backend.get_run(run_id)
        if record.kind == "pipeline" or record.step_ids:
            # A pipeline's log is its steps' one after another: polled, as any backend's.
            yield from Backend.follow_logs(backend, run_id, offset, poll, stop)
            return
        while stop is None or not stop():
            record = backend.get_run(run_id)
            pods = backend.runs.pods(run_id)
            if pods and task_state(pods) in ("running", "terminated"):
                try:
                    for chunk in self._stream(pods, offset):
                        offset = chunk.offset
                        yield chunk
                        if stop is not None and stop():
                            return
                except KubeError:
                    pass  # the stream broke: reconnect below
            if record.status.finished:
                final = self.read(run_id, offset)
                if final.text:
                    yield final
                return
            time.sleep(poll)

    def _stream(self, pods: list[dict[str, Any]], offset: int) -> Iterator[LogChunk]:
        from urllib3.exceptions import HTTPError

        kube = self.backend.kube
        pod = newest_pod(pods)
        assert pod is not None
        name = pod["metadata"]["name"]
        response = kube.stream(
            "get",
            "pods/log",
            kube.core.read_namespaced_pod_log,
            name,
            self.backend.namespace,
            name=name,
            container=m.TASK_CONTAINER,
            follow=True,
        )
        seen = 0
        try:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for raw in response.stream(4096):
                # Incremental: a character split across chunks is not mangled.
                text = decoder.decode(raw)
                if not text:
                    continue
                start = max(0, offset - seen)
                seen += len(text)
                if start < len(text):
                    piece = text[start:]
                    offset += len(piece)
                    yield LogChunk(piece, offset)
        except (HTTPError, OSError) as exc:
            raise KubeError(f"the log stream of pod {name} broke: {exc}") from None
        finally:
            try:
                response.release_conn()
            except (HTTPError, OSError):
                pass  # the connection is gone already


def task_state(pods: list[dict[str, Any]]) -> str | None:
    """ "running", "terminated" or "waiting": the task container's state in the newest pod."""
    pod = newest_pod(pods)
    if pod is None:
        return None
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == m.TASK_CONTAINER:
            state = status.get("state") or {}
            for key in ("running", "terminated", "waiting"):
                if key in state:
                    return key
    return None
