"""A run's status from its Job and Pod, in words a user understands. Pure functions.

queued while the pod is Pending (with the scheduler's reason: "no node has a free
nvidia.com/gpu"), running, succeeded, failed with the reason (OOMKilled, exit code, image pull
error), cancelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ame_core.runtime.backend import RunStatus
from ame_core.runtime.kubernetes.manifests import CODE_CONTAINER, TASK_CONTAINER

# Waiting reasons after which the pod will not start by itself.
FATAL_WAITING = {
    "ImagePullBackOff": "image pull error",
    "InvalidImageName": "invalid image name",
    "ErrImageNeverPull": "image not present and pull policy is Never",
    "CreateContainerConfigError": "the container cannot be configured",
    "CreateContainerError": "the container cannot be created",
    "RunContainerError": "the container cannot be started",
}


@dataclass
class Observed:
    status: RunStatus
    reason: str | None = None
    exit_code: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    pod: str | None = None


def timestamp(text: Any) -> float | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def newest_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not pods:
        return None
    return max(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        c.get("type"): c
        for c in ((obj.get("status") or {}).get("conditions") or [])
        if isinstance(c, dict)
    }


def _container_status(pod: dict[str, Any], name: str, init: bool = False):
    key = "initContainerStatuses" if init else "containerStatuses"
    for status in (pod.get("status") or {}).get(key) or []:
        if status.get("name") == name:
            return status
    return None


_INSUFFICIENT = re.compile(r"Insufficient ([A-Za-z0-9./_-]+)")


def scheduler_reason(message: str) -> str:
    """The scheduler's message ("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    in words, with the original kept for detail."""
    text = message.strip()
    short = text.split(" preemption:")[0].rstrip(".")
    lacking = list(dict.fromkeys(x.rstrip(".") for x in _INSUFFICIENT.findall(text)))
    if lacking:
        words = " or ".join(f"a free {name}" for name in lacking)
        return f"no node has {words} ({short})"
    if "untolerated taint" in text:
        return f"every node has a taint the pod does not tolerate ({short})"
    if "node affinity" in text or "node selector" in text:
        return f"no node matches the pod's node selector or affinity ({short})"
    if "unbound immediate PersistentVolumeClaims" in text:
        return f"a volume claim is not bound yet ({short})"
    if "no nodes available" in text.lower() or text.startswith("0/0"):
        return f"the cluster has no nodes to schedule on ({short})"
    return f"waiting to be scheduled: {short}" if short else "waiting to be scheduled"


def terminated_reason(state: dict[str, Any], memory_limit: str | None = None) -> str:
    reason = state.get("reason") or ""
    code = state.get("exitCode")
    if reason == "OOMKilled":
        limit = f" ({memory_limit})" if memory_limit else ""
        return f"OOMKilled: the task used more memory than its limit{limit}"
    signal = state.get("signal") or (code - 128 if isinstance(code, int) and code > 128 else None)
    if signal and isinstance(code, int) and code > 128:
        return f"exit code {code} (killed by signal {signal})"
    message = (state.get("message") or "").strip()
    text = f"exit code {code}" if code is not None else (reason or "terminated")
    return f"{text}: {message[:300]}" if message else text


def _memory_limit(pod: dict[str, Any]) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") == TASK_CONTAINER:
            return ((container.get("resources") or {}).get("limits") or {}).get("memory")
    return None


def observe(job: dict[str, Any] | None, pods: list[dict[str, Any]]) -> Observed:
    """The status of a Job and its newest pod (`job` None: the Job is gone)."""
    pod = newest_pod(pods)
    pod_name = ((pod or {}).get("metadata") or {}).get("name")
    if job is None:
        return Observed(RunStatus.FAILED, "the Job is gone: it was deleted before it finished")
    jstatus = job.get("status") or {}
    conds = _conditions(job)
    started = timestamp(jstatus.get("startTime"))
    task_state = (_container_status(pod, TASK_CONTAINER) or {}) if pod else {}
    terminated = (task_state.get("state") or {}).get("terminated") or (
        (task_state.get("lastState") or {}).get("terminated")
    )
    ended = timestamp(jstatus.get("completionTime")) or timestamp(
        (terminated or {}).get("finishedAt")
    )
    exit_code = (terminated or {}).get("exitCode")
    if _true(conds, "Complete") or _true(conds, "SuccessCriteriaMet") or jstatus.get("succeeded"):
        return Observed(
            RunStatus.SUCCEEDED,
            None,
            exit_code if exit_code is not None else 0,
            started,
            ended,
            pod_name,
        )
    failed_cond = (
        conds.get("Failed")
        if _true(conds, "Failed")
        else (conds.get("FailureTarget") if _true(conds, "FailureTarget") else None)
    )
    if failed_cond is not None or jstatus.get("failed"):
        reason = _pod_failure(pod) if pod else None
        if not reason and failed_cond is not None:
            reason = _job_condition_reason(failed_cond)
        ended = ended or timestamp((failed_cond or {}).get("lastTransitionTime"))
        return Observed(
            RunStatus.FAILED, reason or "the Job failed", exit_code, started, ended, pod_name
        )
    if pod is None:
        return Observed(
            RunStatus.QUEUED, "waiting for the Job controller to create the pod", started_at=started
        )
    return _observe_pod(pod, started, pod_name)


def _observe_pod(pod: dict[str, Any], started: float | None, pod_name: str | None) -> Observed:
    pstatus = pod.get("status") or {}
    phase = pstatus.get("phase") or "Pending"
    task_state = _container_status(pod, TASK_CONTAINER) or {}
    running = (task_state.get("state") or {}).get("running")
    if phase == "Succeeded":
        return Observed(RunStatus.SUCCEEDED, None, 0, started, None, pod_name)
    if phase == "Failed":
        return Observed(
            RunStatus.FAILED,
            _pod_failure(pod) or "the pod failed",
            _exit_code(pod),
            started,
            None,
            pod_name,
        )
    if phase == "Running" or running:
        started = timestamp((running or {}).get("startedAt")) or started
        return Observed(RunStatus.RUNNING, None, None, started, None, pod_name)
    if phase == "Unknown":
        return Observed(
            RunStatus.RUNNING,
            "the node stopped reporting on the pod",
            None,
            started,
            None,
            pod_name,
        )
    # Pending: a fatal container problem, the code fetch failing, or waiting.
    fatal = _pod_failure(pod)
    if fatal:
        return Observed(RunStatus.FAILED, fatal, _exit_code(pod), started, None, pod_name)
    conds = _conditions(pod)
    scheduled = conds.get("PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        return Observed(
            RunStatus.QUEUED,
            scheduler_reason(scheduled.get("message") or scheduled.get("reason") or ""),
            pod=pod_name,
        )
    for init in (False, True):
        for status in pstatus.get("initContainerStatuses" if init else "containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "ErrImagePull":
                return Observed(
                    RunStatus.QUEUED,
                    "pulling the image failed, retrying: "
                    + (waiting.get("message") or status.get("image") or ""),
                    pod=pod_name,
                )
    init_running = any(
        (s.get("state") or {}).get("running") for s in pstatus.get("initContainerStatuses") or []
    )
    if init_running:
        return Observed(RunStatus.QUEUED, "fetching the project's code", pod=pod_name)
    return Observed(
        RunStatus.QUEUED, "starting: pulling the image and creating the container", pod=pod_name
    )


def _exit_code(pod: dict[str, Any]) -> int | None:
    state = _container_status(pod, TASK_CONTAINER) or {}
    terminated = (state.get("state") or {}).get("terminated") or {}
    return terminated.get("exitCode")


def _pod_failure(pod: dict[str, Any] | None) -> str | None:
    """Why a pod failed or cannot start, or None when nothing says so."""
    if not pod:
        return None
    pstatus = pod.get("status") or {}
    if pstatus.get("reason") == "Evicted":
        return f"evicted: {pstatus.get('message') or 'the node ran short of resources'}"
    init = _container_status(pod, CODE_CONTAINER, init=True) or {}
    init_term = (init.get("state") or {}).get("terminated") or {}
    if init_term and init_term.get("exitCode") not in (0, None):
        return (
            f"fetching the code failed (init container {CODE_CONTAINER}: "
            f"{terminated_reason(init_term)}); see `kubectl logs {pod['metadata']['name']} -c "
            f"{CODE_CONTAINER}`"
        )
    for key in ("initContainerStatuses", "containerStatuses"):
        for status in pstatus.get(key) or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            label = FATAL_WAITING.get(waiting.get("reason") or "")
            if label:
                detail = waiting.get("message") or status.get("image") or ""
                return f"{label} ({status.get('name')}): {detail}".rstrip(": ")
    task = _container_status(pod, TASK_CONTAINER) or {}
    term = (task.get("state") or {}).get("terminated")
    if term and term.get("exitCode") not in (0, None):
        return terminated_reason(term, _memory_limit(pod))
    if pstatus.get("phase") == "Failed" and pstatus.get("message"):
        return str(pstatus["message"])
    return None


def _true(conds: dict[str, dict[str, Any]], name: str) -> bool:
    return (conds.get(name) or {}).get("status") == "True"


def _job_condition_reason(cond: dict[str, Any]) -> str:
    reason = cond.get("reason") or ""
    message = cond.get("message") or ""
    if reason == "DeadlineExceeded":
        return f"the Job ran past its deadline: {message}".rstrip(": ")
    if reason == "BackoffLimitExceeded":
        return "the task's pod failed"
    return f"{reason}: {message}".strip(": ") or "the Job failed"
