"""Run records of the local backend: `<project>/.ame/runs/<id>.json` (+ `<id>.log`).

Records are written atomically (temporary file + rename), and read-modify-write updates hold a
project-wide file lock, so the CLI, the TUI and the supervisors can all update them safely.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from ame_core.atomic_files import atomic_write
from ame_core.runtime.backend import BackendError, RunRecord


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class RecordStore:
    def __init__(self, project_dir: Path) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.ame_dir = self.project_dir / ".ame"
        self.runs_dir = self.ame_dir / "runs"

    def path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    def log_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.log"

    def cancel_marker(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.cancel"

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """The project's run lock (admission, queue, record updates)."""
        from ame_core.runtime import filelock

        return filelock.exclusive(self.runs_dir / ".lock")

    def write(self, record: RunRecord) -> None:
        atomic_write(self.path(record.id), record.dumps() + "\n")

    def read(self, run_id: str) -> RunRecord:
        try:
            data = json.loads(self.path(run_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackendError(f"no run '{run_id}' in {self.runs_dir}") from None
        except (OSError, ValueError) as exc:
            raise BackendError(f"run record {self.path(run_id)} is unreadable: {exc}") from None
        return RunRecord.from_json(data)

    def update(self, run_id: str, change: Callable[[RunRecord], None]) -> RunRecord:
        with self.lock():
            record = self.read(run_id)
            change(record)
            self.write(record)
            return record

    def ids(self) -> list[str]:
        if not self.runs_dir.is_dir():
            return []
        return sorted((p.stem for p in self.runs_dir.glob("*.json")), reverse=True)

    def all(self) -> list[RunRecord]:
        out = []
        for run_id in self.ids():
            try:
                out.append(self.read(run_id))
            except BackendError:
                continue  # a half-deleted or foreign file: skip it, never crash a listing
        out.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return out

    def find(self, ref: str) -> str:
        """A run id from a full id or an unambiguous prefix or suffix."""
        if self.path(ref).exists():
            return ref
        ids = self.ids()
        hits = [i for i in ids if i.startswith(ref) or i.endswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise BackendError(f"no run '{ref}' (see `ame runs --all`)")
        raise BackendError(
            f"'{ref}' matches {len(hits)} runs: {', '.join(hits[:5])}; be more precise"
        )
