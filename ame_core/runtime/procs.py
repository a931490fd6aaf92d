"""Process identity and process-group signalling, through psutil (Linux, macOS, BSDs).

A process is known by its pid and its start time: a pid that was reused carries another start
time, so a record never mistakes a stranger for its own process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil

_GONE = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def _linux_start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat: the start in clock ticks since boot. psutil's create_time
    adds the boot time as read off the wall clock, which moves when the clock is set; two
    processes could then disagree on one process's start. Ticks never move."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The name is in parentheses and may itself hold spaces or ")": split after the last one.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def start_time(pid: int) -> str | None:
    """The process's start time: with the pid, its identity (None: no such process)."""
    if os.path.isdir("/proc/self"):
        return _linux_start_ticks(pid)
    try:
        return f"{psutil.Process(pid).create_time():.3f}"
    except psutil.Error:
        return None


def alive(pid: int | None, started: str | None = None) -> bool:
    """Is this very process (same pid and start time) still running (zombies are not)?"""
    if not pid:
        return False
    try:
        if psutil.Process(pid).status() in _GONE:
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        pass  # another user's: it exists; its start time says whether it is ours
    return started is None or start_time(pid) == started


def pgid_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] not in _GONE and pgid_of(proc.pid) == pgid:
            members.append(proc.pid)
    return members


def group_alive(pgid: int | None) -> bool:
    return bool(pgid) and bool(group_members(pgid))


def signal_group(pgid: int | None, sig: int) -> None:
    if not pgid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_group(pgid: int | None, grace: float = 5.0) -> None:
    """SIGTERM the whole group, then SIGKILL whatever is left after `grace` seconds."""
    if not group_alive(pgid):
        return
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and group_alive(pgid):
        time.sleep(0.05)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# --- the processes of one run, wherever they went ------------------------------------------

# What ties a process to a run (or to a served model): a variable in its environment, which
# children inherit, survives `setsid` and double forks, and is readable in /proc/PID/environ.
RUN_ENV = "AME_RUN_ID"
# Variables that make a process belong to the run that started it: a detached process that
# must outlive that run (a model server, a proxy, another run's supervisor) starts without them.
# The flow variables too: a run submitted by a flow step carries them in its own context.
RUN_ENV_KEYS = ("AME_RUN_ID", "MLFLOW_RUN_ID", "AME_FLOW_ID", "AME_FLOW_STEP")


def detached_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without the variables that tie a process
    to the run that started it, so a run's end does not stop what must outlive it."""
    env = dict(os.environ if base is None else base)
    for key in RUN_ENV_KEYS:
        env.pop(key, None)
    return env


def _self_and_ancestors() -> set[int]:
    """This process and the ones above it: never ours to stop (`ame cancel` run by the task)."""
    found = {os.getpid()}
    with contextlib.suppress(psutil.Error):
        found.update(parent.pid for parent in psutil.Process().parents())
    return found


def env_members(key: str, value: str) -> list[int]:
    """Live processes whose environment holds exactly `key=value` (those this user may read;
    another user's processes are not readable, and not ours to stop)."""
    found = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] in _GONE:
            continue
        try:
            if proc.environ().get(key) == value:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def _targets(pgid: int | None, env: tuple[str, str] | None, spare: set[int]) -> dict[int, str]:
    """{pid: start time} of the group's members and the processes carrying `env`."""
    pids = set(group_members(pgid)) if pgid else set()
    if env:
        pids.update(env_members(*env))
    found = {}
    for pid in pids - spare:
        start = start_time(pid)
        if start is not None:
            found[pid] = start
    return found


def _signal_each(targets: dict[int, str], sig: int) -> None:
    for pid, start in targets.items():
        if alive(pid, start):  # the same process we found, not a reused pid
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def stop_tree(
    pgid: int | None, env: tuple[str, str] | None = None, grace: float = 5.0
) -> list[int]:
    """Stop a process group and every process whose environment holds `env` (KEY, VALUE),
    also those that left the group (`setsid`, double forks): SIGTERM, then SIGKILL whatever is
    left after `grace` seconds; processes started meanwhile are found by looking again. This
    process and its ancestors are spared. Returns the pids that survived (another user's)."""
    spare = _self_and_ancestors()
    seen = _targets(pgid, env, spare)
    if not seen:
        return []
    _signal_each(seen, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = _targets(pgid, env, spare)
        _signal_each({p: s for p, s in now.items() if seen.get(p) != s}, signal.SIGTERM)
        seen.update(now)
        if not now:
            return []
    # KILL until nothing is left: a process may still fork between our look and our signal.
    deadline = time.monotonic() + 5
    left = _targets(pgid, env, spare)
    while left and time.monotonic() < deadline:
        _signal_each(left, signal.SIGKILL)
        time.sleep(0.05)
        left = _targets(pgid, env, spare)
    return sorted(left)


def stop_run(run_id: str, pgid: int | None, grace: float = 5.0) -> list[int]:
    """Stop everything a run started: its task's process group and every process that carries
    the run's `AME_RUN_ID` (the runtime contract gives it to each task process). The survivors."""
    return stop_tree(pgid, (RUN_ENV, run_id), grace)
