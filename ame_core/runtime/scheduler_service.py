"""The project's scheduler as a detached process: `ame schedule start|stop|status`.

`start` runs `ame schedule run` in its own session (no terminal), logging to
`.ame/scheduler.log`; its state (pid, start time, when) is in `.ame/scheduler.json`. The running
scheduler holds `.ame/scheduler.lock`, so there is one per project however it was started (in the
foreground or detached), and "is it running?" is the kernel's answer, not a pid's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ame_core.runtime import filelock, procs
from ame_core.runtime.records import atomic_write


class SchedulerError(Exception):
    """One line for the user."""


@dataclass
class SchedulerState:
    running: bool
    pid: int | None = None
    started_at: float | None = None
    log: str | None = None


def _ame_dir(project_dir: Path) -> Path:
    return Path(project_dir).resolve() / ".ame"


def _state_path(project_dir: Path) -> Path:
    return _ame_dir(project_dir) / "scheduler.json"


def log_path(project_dir: Path) -> Path:
    return _ame_dir(project_dir) / "scheduler.log"


def _lock_path(project_dir: Path) -> Path:
    return _ame_dir(project_dir) / "scheduler.lock"


@contextlib.contextmanager
def hold_lock(project_dir: Path) -> Iterator[bool]:
    """Held by a running scheduler; yields False when another one has it."""
    with filelock.try_exclusive(_lock_path(project_dir)) as mine:
        if mine:
            atomic_write(
                _state_path(project_dir),
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "start": procs.start_time(os.getpid()),
                        "started_at": time.time(),
                        "log": str(log_path(project_dir)),
                    }
                )
                + "\n",
            )
        yield mine


def status(project_dir: Path) -> SchedulerState:
    if not filelock.is_held(_lock_path(project_dir)):
        return SchedulerState(running=False, log=str(log_path(project_dir)))
    try:
        data = json.loads(_state_path(project_dir).read_text())
    except (OSError, ValueError):
        data = {}
    return SchedulerState(
        running=True,
        pid=data.get("pid"),
        started_at=data.get("started_at"),
        log=data.get("log") or str(log_path(project_dir)),
    )


def start(project_dir: Path, global_args: list[str], timeout: float = 30.0) -> SchedulerState:
    """Start `ame schedule run` detached; SchedulerError if one runs or it does not come up."""
    current = status(project_dir)
    if current.running:
        raise SchedulerError(f"the scheduler already runs (pid {current.pid})")
    log = log_path(project_dir)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = procs.detached_env()  # not tied to a run of the caller
    argv = [sys.executable, "-m", "ame_cli", *global_args, "schedule", "run"]
    with open(log, "ab") as out:
        child = subprocess.Popen(
            argv,
            cwd=Path(project_dir).resolve(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = status(project_dir)
        if found.running and found.pid == child.pid:
            return found
        if child.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise SchedulerError(f"the scheduler exited at once: {tail[0]} (log: {log})")
        time.sleep(0.1)
    raise SchedulerError(f"the scheduler did not start within {timeout:.0f} s (log: {log})")


def stop(project_dir: Path, timeout: float = 15.0) -> SchedulerState:
    """Stop the running scheduler (flows it started go on); its state before stopping."""
    current = status(project_dir)
    if not current.running or not current.pid:
        return current
    with contextlib.suppress(ProcessLookupError):
        os.kill(current.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and filelock.is_held(_lock_path(project_dir)):
        time.sleep(0.1)
    if filelock.is_held(_lock_path(project_dir)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(current.pid, signal.SIGKILL)
    return current
