"""Where flow records live and how their drivers are started: the seams a backend fills.

`FlowStore` keeps records (a folder under `.ame/` locally, ConfigMaps on a cluster) and starts
drivers (a detached process locally, a Job on a cluster). Everything above it (the engine that
runs the steps, the CLI, the console) is the same for every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from ame_core.flows.records import FlowRecord


class FlowError(Exception):
    """A flow problem the user can act on; the message says what and what to do."""


DECISIONS = ("promote", "rollback")


class FlowStore(ABC):
    @abstractmethod
    def write(self, record: FlowRecord) -> None:
        """Create or replace a record (atomically)."""

    @abstractmethod
    def read(self, flow_id: str) -> FlowRecord:
        """One record; FlowError if unknown."""

    @abstractmethod
    def update(self, flow_id: str, change: Callable[[FlowRecord], None]) -> FlowRecord:
        """Read, change and write a record, safe against other writers."""

    @abstractmethod
    def all(self) -> list[FlowRecord]:
        """Every record, newest first."""

    @abstractmethod
    def find(self, ref: str) -> str:
        """A flow id from a full id or an unambiguous prefix or suffix; FlowError otherwise."""

    @abstractmethod
    def request_cancel(self, flow_id: str) -> None:
        """Ask the flow's driver to stop (it cancels its current run)."""

    @abstractmethod
    def cancel_requested(self, flow_id: str) -> bool: ...

    @abstractmethod
    def request_decision(self, flow_id: str, decision: str) -> None:
        """Ask the driver of a canary rollout to end it now: "promote" or "rollback"."""

    @abstractmethod
    def decision(self, flow_id: str) -> str | None:
        """The decision asked for (the newest), or None."""

    @abstractmethod
    def launch(self, record: FlowRecord) -> None:
        """Start a driver for the flow (a new one, or the replacement of a dead one)."""

    @abstractmethod
    def driver_alive(self, record: FlowRecord) -> bool:
        """Is a driver working on this flow right now?"""

    def log_path(self, flow_id: str) -> str | None:
        """Where the driver's own output goes, if it is a file here."""
        return None
