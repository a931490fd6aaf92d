"""Process identity and process-group signalling (Linux `/proc`; portable fallbacks)."""

from __future__ import annotations

import contextlib
import os
import signal
import time


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The name is in parentheses and may itself hold spaces or ")": split after the last one.
    return stat[stat.rfind(")") + 2 :].split()


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, its identity."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def alive(pid: int | None, started: str | None = None) -> bool:
    """Is this very process (same pid and start time) still running (zombies are not)?"""
    if not pid:
        return False
    if os.path.isdir("/proc"):
        state = _state(pid)
        if state is None or state in ("Z", "X"):
            return False
        return started is None or start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields and len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(pid)
    return members


def group_alive(pgid: int | None) -> bool:
    if not pgid:
        return False
    if os.path.isdir("/proc"):
        return bool(group_members(pgid))
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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


def _pids() -> list[int]:
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def pgid_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields and len(fields) > 2 else None


def _parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields and len(fields) > 1 else None


def _self_and_ancestors() -> set[int]:
    """This process and the ones above it: never ours to stop (`ame cancel` run by the task)."""
    found = {os.getpid()}
    pid: int | None = os.getppid()
    while pid and pid not in found:
        found.add(pid)
        pid = _parent(pid)
    return found


def env_members(key: str, value: str) -> list[int]:
    """Live processes whose environment holds exactly `key=value` (those this user may read;
    another user's processes are not readable, and not ours to stop)."""
    needle = f"{key}={value}".encode()
    found = []
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                environ = fh.read()
        except OSError:
            continue
        if needle in environ.split(b"\0") and alive(pid):
            found.append(pid)
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
    if not os.path.isdir("/proc"):  # no /proc to search: the group is all we can reach
        stop_group(pgid, grace)
        return []
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
