"""The project's own MLflow tracking server: the embedded default's one writer of `.ame/mlflow.db`.

With no `--mlflow-uri` and no `MLFLOW_TRACKING_URI`, every `ame` process, the console, the runs
and the served models use one `mlflow server` bound to 127.0.0.1 on the project's store
(`.ame/mlflow.db`, artifacts in `.ame/mlartifacts`). Two processes opening a fresh sqlite store
at once run MLflow's schema migrations together and break it; a server is the one process that
opens it, so that cannot happen.

- Its address is fixed on first look (`local_url`: a free port, recorded) and the server is
  started on first need (`ensure`): the first REST call that finds nothing answering, or a run
  about to start. Reading the address starts nothing (`ame lint`, `show`, `task list` and the
  language server never start it).
- The start is guarded by a file lock (`.ame/mlflow-server.lock`): N processes starting it at
  once get one server; the others wait and reuse it.
- Its state (pid, process start time, port, URL, MLflow version, start time) is in
  `.ame/mlflow-server.json`, written atomically; its output in `.ame/mlflow-server.log`.
- It is detached (its own session) and lives until `ame mlflow stop` (or a reboot). A server
  found dead is started again, on the same port when that is free.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ame_core.atomic_files import atomic_write
from ame_core.runtime import filelock, procs

HOST = "127.0.0.1"
READY_TIMEOUT = 120.0
# Variables the server must not inherit: a task's straggler-killer kills processes carrying the
# run's id, and the server must not point at another store.
_STRIP_ENV = ("AME_RUN_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME")
# URLs this process handed out for a project: a REST call that finds nothing there may start it.
_KNOWN: dict[str, Path] = {}


class ServerError(Exception):
    """The local server cannot be started or reached; one line that says why."""


def ame_dir(project_dir: Path) -> Path:
    return Path(project_dir).resolve() / ".ame"


def state_path(project_dir: Path) -> Path:
    return ame_dir(project_dir) / "mlflow-server.json"


def log_path(project_dir: Path) -> Path:
    return ame_dir(project_dir) / "mlflow-server.log"


def store_path(project_dir: Path) -> Path:
    return ame_dir(project_dir) / "mlflow.db"


def artifact_root(project_dir: Path) -> Path:
    return ame_dir(project_dir) / "mlartifacts"


def read_state(project_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(project_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("url") else None


def _write_state(project_dir: Path, state: dict[str, Any]) -> None:
    atomic_write(state_path(project_dir), json.dumps(state, indent=2) + "\n")


def _alive(state: dict[str, Any] | None) -> bool:
    return bool(state) and procs.alive(state.get("pid"), state.get("start_time"))  # type: ignore[union-attr]


@contextlib.contextmanager
def _locked(project_dir: Path) -> Iterator[None]:
    with filelock.exclusive(ame_dir(project_dir) / "mlflow-server.lock"):
        yield


def _url(port: int) -> str:
    return f"http://{HOST}:{port}"


def _remember(project_dir: Path, state: dict[str, Any]) -> str:
    root = Path(project_dir).resolve()
    for url in [state["url"], *state.get("urls", [])]:
        _KNOWN[url] = root
    return state["url"]


def local_url(project_dir: Path) -> str:
    """The address of the project's server, fixed on first look; starts nothing."""
    state = read_state(project_dir)
    if state is None:
        with _locked(project_dir):
            state = read_state(project_dir)
            if state is None:
                from ame_core.net import free_port

                port = free_port()
                state = {"port": port, "url": _url(port), "urls": [_url(port)]}
                _write_state(project_dir, state)
    return _remember(project_dir, state)


def project_for(uri: str, project_dir: Path | None = None) -> Path | None:
    """The project whose local server `uri` is (or was), or None for any other URI."""
    uri = uri.rstrip("/")
    if project_dir is not None:
        state = read_state(project_dir)
        if state and uri in [state["url"], *state.get("urls", [])]:
            _remember(project_dir, state)
            return Path(project_dir).resolve()
        return None
    return _KNOWN.get(uri)


def running(project_dir: Path) -> dict[str, Any] | None:
    """The state of the server if its process is alive (not asking it anything)."""
    state = read_state(project_dir)
    return state if _alive(state) else None


def interactive() -> bool:
    """A CLI or console process, as opposed to a run's supervisor (or anything started with
    AME_MLFLOW_QUIET=1, such as a flow's driver): only these announce a start on stderr and
    start a server that was stopped on purpose; the others restart only a crashed one."""
    if os.environ.get("AME_MLFLOW_QUIET") == "1":
        return False
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", "") != "ame_core.runtime.supervisor"


def _crashed(state: dict[str, Any] | None) -> bool:
    """It was started and its process is gone without `ame mlflow stop` (which forgets the
    pid)."""
    return bool(state and state.get("pid")) and not _alive(state)


def ensure(project_dir: Path, *, announce: bool | None = None) -> str:
    """The URL of the project's running server, started if it is not (ServerError)."""
    state = read_state(project_dir)
    if _alive(state) and state.get("ready"):  # type: ignore[union-attr]
        return _remember(project_dir, state)  # type: ignore[arg-type]
    with _locked(project_dir):
        state = read_state(project_dir)
        if _alive(state):  # another process started it while we waited for the lock
            assert state is not None
            return _wait_started(project_dir, state)
        if not interactive() and not _crashed(state):
            raise ServerError(
                "the project's MLflow server is not running (stopped with `ame mlflow stop`); "
                "the next ame command starts it"
            )
        return _start(project_dir, state, interactive() if announce is None else announce)


def _wait_started(project_dir: Path, state: dict[str, Any]) -> str:
    """A server whose process is alive but that was never seen ready (its starter died while
    waiting, e.g. a `kill -9` of the command): wait for it (caller holds the lock)."""
    url = state["url"]
    if not state.get("ready"):
        deadline = time.monotonic() + READY_TIMEOUT
        while not _healthy(url, timeout=2.0):
            if not _alive(state) or time.monotonic() > deadline:
                raise ServerError(
                    f"the project's MLflow server on {url} did not become ready: "
                    f"{_last_line(log_path(project_dir))} (log: {log_path(project_dir)})"
                )
            time.sleep(0.2)
        state["ready"] = True
        _write_state(project_dir, state)
    return _remember(project_dir, state)


def recover(project_dir: Path, failed_url: str) -> str | None:
    """After nothing answered at `failed_url`: the URL to retry on, the server started again
    if its process is gone; None to give up: it is alive but not answering (no restart: it may
    be busy, and two servers on one store is what this module prevents), or it was stopped on
    purpose and this is not a CLI or console process."""
    with _locked(project_dir):
        state = read_state(project_dir)
        if _alive(state):
            assert state is not None
            if not state.get("ready"):
                return _wait_started(project_dir, state)
            url = _remember(project_dir, state)
            if url != failed_url.rstrip("/"):
                return url  # it moved (restarted elsewhere by another process)
            return url if _healthy(url, timeout=2.0) else None
        if not interactive() and not _crashed(state):
            return None
        return _start(project_dir, state, interactive())


def stop(project_dir: Path, timeout: float = 15.0) -> dict[str, Any] | None:
    """Stop the server (its whole process group); the state it had, or None if none ran. The
    port stays recorded, so the next start reuses the address."""
    with _locked(project_dir):
        state = read_state(project_dir)
        alive = _alive(state)
        if state and state.get("pid"):
            # Dead already? A `kill -9` of it leaves the uvicorn it started serving.
            procs.stop_group(state["pid"], grace=timeout if alive else 2)
            kept = ("port", "url", "urls", "mlflow_version")
            _write_state(project_dir, {k: state[k] for k in kept if k in state})
        return state if alive else None


def status(project_dir: Path) -> dict[str, Any]:
    """What `ame mlflow status` shows: running or not, address, pid, uptime, store."""
    state = read_state(project_dir) or {}
    alive = _alive(state)
    out: dict[str, Any] = {
        "running": alive,
        "url": state.get("url"),
        "pid": state.get("pid") if alive else None,
        "uptime_s": round(time.time() - state["started_at"], 1)
        if alive and state.get("started_at")
        else None,
        "store": f"sqlite:///{store_path(project_dir)}",
        "artifacts": artifact_root(project_dir).as_uri(),
        "mlflow_version": state.get("mlflow_version") if alive else None,
        "log": str(log_path(project_dir)),
    }
    if alive:
        out["answers"] = _healthy(state["url"], timeout=2.0)
    return out


# --- starting ------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: connections of the previous server in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _healthy(url: str, timeout: float) -> bool:
    from ame_core.mlflow_rest import MlflowRest

    return MlflowRest(url, timeout=timeout).health()


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - 8192))
            lines = [ln.strip() for ln in fh.read().decode(errors="replace").splitlines()]
    except OSError:
        return "(no log)"
    lines = [ln for ln in lines if ln]
    return lines[-1][:300] if lines else "(the log is empty)"


def _mlflow_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("mlflow")
    except metadata.PackageNotFoundError:
        return None


def _start(project_dir: Path, old: dict[str, Any] | None, announce: bool) -> str:
    """Start the server (caller holds the lock) and wait until `/health` answers."""
    root = Path(project_dir).resolve()
    if old and old.get("pid"):
        # The recorded process is gone (a `kill -9` of it leaves the uvicorn it started, in
        # its process group, holding the port): stop what is left of it.
        procs.stop_group(old["pid"], grace=2)
    version = _mlflow_version()
    if version is None:
        raise ServerError(
            "MLflow is not installed in this environment (pip install mlflow), or set "
            "MLFLOW_TRACKING_URI to an MLflow server"
        )
    port = old.get("port") if old else None
    if not port or not _port_free(int(port)):
        from ame_core.net import free_port

        port = free_port()
    url = _url(int(port))
    artifacts = artifact_root(root)
    artifacts.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _STRIP_ENV}
    env.update(
        {
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{store_path(root)}",
        # Artifacts stay files under .ame/mlartifacts, read and written directly by the
        # processes of this machine (as the experiments created with file:// locations before
        # the server existed are): no artifact proxy.
        "--default-artifact-root",
        artifacts.as_uri(),
        "--no-serve-artifacts",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    if announce:
        if not old or "mlflow_version" not in old:
            why = "first use, ~10 s"
        else:
            why = "it had exited, ~10 s" if old.get("pid") else "~10 s"
        print(f"ame: starting the project's MLflow server on {url} ({why}) …", file=sys.stderr)
    log = open(log_path(root), "ab")  # noqa: SIM115 - handed to the child
    try:
        log.write(f"--- ame: starting mlflow server on {url} at {time.ctime()}\n".encode())
        log.flush()
        child = subprocess.Popen(
            argv,
            cwd=ame_dir(root),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        raise ServerError(f"cannot start the project's MLflow server: {exc}") from None
    finally:
        log.close()
    urls = list(dict.fromkeys([url, *((old or {}).get("urls") or [])]))[:20]
    state = {
        "pid": child.pid,
        "start_time": procs.start_time(child.pid),
        "port": int(port),
        "url": url,
        "urls": urls,
        "mlflow_version": version,
        "started_at": time.time(),
        "store": f"sqlite:///{store_path(root)}",
    }
    _write_state(root, state)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if child.poll() is not None:
            raise ServerError(
                f"the project's MLflow server exited (code {child.returncode}) while starting: "
                f"{_last_line(log_path(root))} (log: {log_path(root)})"
            )
        if _healthy(url, timeout=2.0):
            state["ready"] = True
            _write_state(root, state)
            return _remember(root, state)
        if time.monotonic() > deadline:
            procs.stop_group(child.pid, grace=5)
            raise ServerError(
                f"the project's MLflow server did not answer on {url} within "
                f"{READY_TIMEOUT:g} s: {_last_line(log_path(root))} (log: {log_path(root)})"
            )
        time.sleep(0.2)


def stop_all_under(folder: Path, depth: int = 3) -> list[Path]:
    """Stop the servers of the projects at most `depth` folders below `folder` (test clean-up:
    not a recursive walk, which would crawl through environment caches); the projects."""
    stopped = []
    for level in range(depth + 1):
        pattern = "/".join(["*"] * level + [".ame", "mlflow-server.json"])
        for path in Path(folder).glob(pattern):
            with contextlib.suppress(Exception):
                if stop(path.parent.parent) is not None:
                    stopped.append(path.parent.parent)
    return stopped
