"""Flows on this machine: records in `<project>/.ame/flows/`, each driven by a detached process.

`<id>.json` is the record (written atomically, updated under the folder's lock), `<id>.log` the
driver's own output, `<id>.cancel` a cancel request, `<id>.decision` a canary's early end
(promote or rollback). The driver holds an exclusive lock on
`<id>.lock` while it lives, so "is a driver on it?" is answered by the kernel, not by a pid that
may have been reused; a second driver started by a race finds the lock taken and leaves.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ame_core.atomic_files import atomic_write
from ame_core.flows.records import FlowRecord
from ame_core.flows.store import DECISIONS, FlowError, FlowStore
from ame_core.runtime import filelock, procs


class LocalFlowStore(FlowStore):
    def __init__(self, project_dir: Path | str) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.dir = self.project_dir / ".ame" / "flows"

    # --- paths ----------------------------------------------------------------------------

    def path(self, flow_id: str) -> Path:
        return self.dir / f"{flow_id}.json"

    def log_path(self, flow_id: str) -> str:
        return str(self.dir / f"{flow_id}.log")

    def _cancel_marker(self, flow_id: str) -> Path:
        return self.dir / f"{flow_id}.cancel"

    def driver_lock_path(self, flow_id: str) -> Path:
        return self.dir / f"{flow_id}.lock"

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """The folder's lock: record updates and "start a driver?" decisions."""
        return filelock.exclusive(self.dir / ".lock")

    # --- records --------------------------------------------------------------------------

    def write(self, record: FlowRecord) -> None:
        atomic_write(self.path(record.id), record.dumps() + "\n")

    def read(self, flow_id: str) -> FlowRecord:
        try:
            data = json.loads(self.path(flow_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FlowError(f"no flow '{flow_id}' (see `ame flow list`)") from None
        except (OSError, ValueError) as exc:
            raise FlowError(f"flow record {self.path(flow_id)} is unreadable: {exc}") from None
        return FlowRecord.from_json(data)

    def update(self, flow_id: str, change: Callable[[FlowRecord], None]) -> FlowRecord:
        with self.lock():
            record = self.read(flow_id)
            change(record)
            self.write(record)
            return record

    def ids(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted((p.stem for p in self.dir.glob("*.json")), reverse=True)

    def all(self) -> list[FlowRecord]:
        out = []
        for flow_id in self.ids():
            with contextlib.suppress(FlowError):  # a half-written or foreign file
                out.append(self.read(flow_id))
        out.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return out

    def find(self, ref: str) -> str:
        if self.path(ref).exists():
            return ref
        hits = [i for i in self.ids() if i.startswith(ref) or i.endswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise FlowError(f"no flow '{ref}' (see `ame flow list`)")
        raise FlowError(
            f"'{ref}' matches {len(hits)} flows: {', '.join(hits[:5])}; be more precise"
        )

    # --- cancel ---------------------------------------------------------------------------

    def request_cancel(self, flow_id: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._cancel_marker(flow_id).touch()

    def cancel_requested(self, flow_id: str) -> bool:
        return self._cancel_marker(flow_id).exists()

    def _decision_file(self, flow_id: str) -> Path:
        return self.dir / f"{flow_id}.decision"

    def request_decision(self, flow_id: str, decision: str) -> None:
        assert decision in DECISIONS, decision
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self._decision_file(flow_id), decision)

    def decision(self, flow_id: str) -> str | None:
        try:
            text = self._decision_file(flow_id).read_text().strip()
        except OSError:
            return None
        return text if text in DECISIONS else None

    # --- drivers --------------------------------------------------------------------------

    def launch(self, record: FlowRecord) -> None:
        """Start `python -m ame_core.flows.driver` for the flow, in its own session."""
        self.dir.mkdir(parents=True, exist_ok=True)
        # Not tied to a run of the caller (whose end stops every process carrying its id).
        env = procs.detached_env()
        env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        # Not a terminal's process: it restarts a crashed local MLflow server, never one that
        # the user stopped, and announces nothing (ame_core.tracking_server.interactive).
        env["AME_MLFLOW_QUIET"] = "1"
        with open(self.log_path(record.id), "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-P", "-m", "ame_core.flows.driver", str(self.dir), record.id],
                cwd=self.project_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,  # no terminal: closing it, or Ctrl-C, does not reach it
                close_fds=True,
            )
        record.driver = {"pid": child.pid, "start": procs.start_time(child.pid)}

    def driver_alive(self, record: FlowRecord) -> bool:
        if filelock.is_held(self.driver_lock_path(record.id)):
            return True
        # Between its start and taking the lock, a driver is known by its pid.
        driver = record.driver or {}
        return procs.alive(driver.get("pid"), driver.get("start"))

    def hold_driver_lock(self, flow_id: str) -> contextlib.AbstractContextManager[bool]:
        """Held by a driver for its whole life; yields False when another driver has it."""
        return filelock.try_exclusive(self.driver_lock_path(flow_id))
