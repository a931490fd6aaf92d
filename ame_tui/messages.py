"""Messages workers post to the app; only their handlers touch widgets and state."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ProjectLoaded(Message):
    def __init__(self, info: Any) -> None:
        super().__init__()
        self.info = info


class RunsFetched(Message):
    def __init__(self, runs: list[Any]) -> None:
        super().__init__()
        self.runs = runs


class BackendProblem(Message):
    """The backend failed to answer (empty detail: it answers again)."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail


class MlflowChecked(Message):
    """Result of a health check or of a failed MLflow call ('' = it answers)."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail


class Launched(Message):
    """A task run was submitted (`result`: its record)."""

    def __init__(self, what: str, result: Any, label: str) -> None:
        super().__init__()
        self.what = what
        self.result = result
        self.label = label


class FlowStarted(Message):
    """The console started a flow (its driver runs it); `record` is its first record."""

    def __init__(self, record: Any) -> None:
        super().__init__()
        self.record = record


class FlowsFetched(Message):
    """The project's flows, newest first (`error`: the backend could not list them)."""

    def __init__(self, flows: list[Any], error: str = "") -> None:
        super().__init__()
        self.flows = flows
        self.error = error


class ActionFailed(Message):
    def __init__(self, what: str, detail: str) -> None:
        super().__init__()
        self.what = what
        self.detail = detail


class Finished(Message):
    """A launched action completed; `text` says how, in one line. `flow_id`: the flow it
    ended (its end is then told here, not again when the flows are next read)."""

    def __init__(self, what: str, text: str, ok: bool = True, flow_id: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.text = text
        self.ok = ok
        self.flow_id = flow_id


class ForceAsk(Message):
    """The lifecycle refused a deploy; ask whether to deploy anyway."""

    def __init__(self, model: str, version: str, reason: str) -> None:
        super().__init__()
        self.model = model
        self.version = version
        self.reason = reason


class WorkerCrashed(Message):
    """A worker raised: a bug, shown to the user as one line; the app keeps running."""

    def __init__(self, what: str, detail: str, trace: str) -> None:
        super().__init__()
        self.what = what
        self.detail = detail
        self.trace = trace
