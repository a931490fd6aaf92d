"""Serving model versions on this machine with `mlflow models serve` or MLServer.

Each deployed model has a front proxy on a stable 127.0.0.1 port (its URL) and one server
process for the version being served (ame_core.serving.runtimes), both detached (their own
sessions), so they outlive the `ame` process that started them. The server runs on the
version's files, downloaded once, in the version's own environment (built from the
requirements MLflow logged with it: ame_core.serving.environments), never in ame's. The
model's state lives in `<project>/.ame/serving/<model>.json`, written atomically, so any later
`ame` process (CLI or TUI) sees what is served and whether it is still alive.

A new version is started beside the old one, health-checked (`/ping`, or MLServer's
`/v2/health/ready`), then the state file is switched (the proxy follows it) and only then is
the old server stopped: no gap.

A deployer that dies mid-start (`kill -9`, a closed terminal) leaves nothing unaccounted for:
the state file names the starting server (pid, start time, port, log) and the deployer as soon
as the server is spawned, before the wait. The next `endpoint()`, `list()`, `deploy()` or
`undeploy()` that finds a start whose deployer is gone settles it under the model's lock: a
server that answers `/ping` becomes the served version (the old one is stopped), any other is
stopped and the old version keeps serving. Every process started for a model carries
`AME_SERVED_MODEL` in its environment, so `deploy` and `undeploy` also stop strays that no
state file names. A second deploy while one is under way waits for the model's lock, then
finds that version served (nothing to do) or starts its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ame_core.atomic_files import atomic_write
from ame_core.net import free_port
from ame_core.runtime import filelock, procs
from ame_core.runtime.backend import BackendError, Endpoint, EndpointStatus
from ame_core.serving import admission, checks, versions
from ame_core.serving.causes import first_cause
from ame_core.serving.environments import serving_env
from ame_core.serving.runtimes import RUNTIMES, Runtime

BACKEND = "local"
HOST = "127.0.0.1"
# Starting a server imports MLflow and downloads the model: seconds, or minutes on a busy machine.
READY_TIMEOUT = 300.0
STOP_TIMEOUT = 15.0
SUPPORTED_SERVING = tuple(RUNTIMES)
# In the environment of every process started to serve a model: `<project dir>#<model>`.
SERVED_ENV = "AME_SERVED_MODEL"


def http_get(url: str, timeout: float = 2.0) -> tuple[int | None, str]:
    """(status, body) of a GET, or (None, why) when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)


# --- processes --------------------------------------------------------------------------------


def _reap(pid: int) -> None:
    """Collect the exit status of a child of this process, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def process_alive(info: dict[str, Any] | None) -> bool:
    """Is the process recorded in `info` ({pid, start}) still running (not a reused pid)?"""
    if not info or not info.get("pid"):
        return False
    pid = int(info["pid"])
    _reap(pid)
    start = info.get("start")
    return procs.alive(pid, None if start is None else str(start))


def stop_process(info: dict[str, Any] | None, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a detached process and everything in its process group: TERM, then KILL."""
    if not info or not info.get("pid"):
        return
    pid = int(info["pid"])
    if not process_alive(info) and not procs.group_alive(pid):
        return
    procs.stop_group(pid, grace=timeout)
    _reap(pid)


def _spawn(
    argv: list[str], log_path: Path, env: dict[str, str], cwd: Path, pass_fds: tuple[int, ...] = ()
) -> dict[str, Any]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own process group: stopped as one, outlives us
            close_fds=True,  # never the model's lock: it must die with the deployer
            pass_fds=pass_fds,
        )
    return {"pid": process.pid, "start": procs.start_time(process.pid), "log": str(log_path)}


def _last_error(path: str | None) -> str:
    """What a failed server's log says the cause was (the exception, not its last line)."""
    return first_cause(_log_tail(path, 400))


def _health(info: dict[str, Any]) -> str:
    """The readiness path of a recorded server (state files before MLServer: `/ping`)."""
    return str(info.get("health") or "/ping")


def _log_tail(path: str | None, lines: int = 15) -> str:
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


# --- state ------------------------------------------------------------------------------------


def _named(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The processes a model's state names: its server, a starting server, a canary's server
    (the proxy splits requests with it), its proxy."""
    state = state or {}
    found = [state.get("server"), (state.get("pending") or {}).get("server"), state.get("proxy")]
    found.append((state.get("canary") or {}).get("server"))
    return [info for info in found if info and info.get("pid")]


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True))


class LocalServing:
    """The models served from one project directory."""

    def __init__(self, project_dir: Path | str) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.dir = self.project_dir / ".ame" / "serving"

    # --- paths and state --------------------------------------------------------------------

    def state_path(self, model: str) -> Path:
        return self.dir / f"{model}.json"

    def read_state(self, model: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_path(model).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise BackendError(f"serving state of {model} is unreadable: {exc}") from exc

    @contextlib.contextmanager
    def _lock(self, model: str, wait: bool = True) -> Iterator[bool]:
        """One deploy/undeploy of a model at a time, across processes (a flock: the kernel
        drops it when its holder dies). With `wait=False`, yields False when it is taken."""
        path = self.dir / f".{model}.lock"
        if wait:
            with filelock.exclusive(path):
                yield True
        else:
            with filelock.try_exclusive(path) as held:
                yield held

    def _served_tag(self, model: str) -> str:
        return f"{self.project_dir}#{model}"

    def _detached_env(self, model: str) -> dict[str, str]:
        """The environment of a server or proxy: tagged with the model; without the variables
        of a run (deployed from inside a task, it must outlive that run)."""
        env = procs.detached_env()
        env[SERVED_ENV] = self._served_tag(model)
        env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        return env

    def _env(self, model: str, tracking_uri: str, env_dir: Path) -> dict[str, str]:
        env = self._detached_env(model)
        # `mlflow models serve` execs `uvicorn`: the version environment's bin/ comes first.
        env["PATH"] = os.pathsep.join([str(env_dir / "bin"), env.get("PATH", "")])
        env["VIRTUAL_ENV"] = str(env_dir)
        env.pop("PYTHONPATH", None)  # nothing of ame's interpreter leaks into the server
        env["MLFLOW_TRACKING_URI"] = tracking_uri
        return env

    # --- after a fault ------------------------------------------------------------------------

    def _settle(self, model: str, state: dict[str, Any] | None) -> dict[str, Any] | None:
        """Under the model's lock: finish or roll back a start whose deployer is gone (holding
        the lock, no deploy is under way). The state as it is now; None when nothing is served."""
        pending = (state or {}).get("pending")
        if state is None or not pending:
            return state
        server = pending.get("server")
        old = state.get("server")
        state.pop("pending")
        ready = (
            server
            and process_alive(server)
            and http_get(f"http://{HOST}:{server['port']}{_health(server)}")[0] == 200
        )
        if ready and pending.get("canary") is not None:
            # A canary's start: it takes its share beside the served version, as its
            # deployer would have done; the deploy flow's resumed driver watches its gate.
            state["canary"] = {"server": server, "percent": pending["canary"], "since": time.time()}
            _write_atomic(self.state_path(model), state)
        elif ready:
            # Ready: do what the deployer would have done next.
            state.update({"server": server, "version": server["version"]})
            state["deployed_at"] = time.time()
            _write_atomic(self.state_path(model), state)
            if old and old.get("pid") != server.get("pid"):
                stop_process(old)
        else:
            stop_process(server)
            if not old:
                self._remove(model, state)
                return None
            _write_atomic(self.state_path(model), state)
        self._stop_strays(model, state)
        return state

    def _settled(self, model: str, state: dict[str, Any] | None) -> dict[str, Any] | None:
        """The state, with a start whose deployer died settled (a read: never waits for a
        deploy under way, whose lock is then taken)."""
        pending = (state or {}).get("pending")
        if not pending or process_alive(pending.get("deployer")):
            return state
        with self._lock(model, wait=False) as locked:
            if not locked:
                return state
            return self._settle(model, self.read_state(model))

    def _stop_strays(self, model: str, state: dict[str, Any] | None) -> None:
        """Stop processes started for this model that the state does not name (left by a
        deployer that died before recording them)."""
        keep = {procs.pgid_of(int(i["pid"])) for i in _named(state) if process_alive(i)}
        strays = {procs.pgid_of(p) for p in procs.env_members(SERVED_ENV, self._served_tag(model))}
        for pgid in strays - keep - {None}:
            stop_process({"pid": pgid})

    # --- deploy -----------------------------------------------------------------------------

    def deploy(
        self,
        model: str,
        version: str,
        tracking_uri: str,
        deployment: Any = None,
        timeout: float = READY_TIMEOUT,
    ) -> Endpoint:
        """Serve `models:/model/version`; a running version keeps serving until this one is up."""
        serving = getattr(deployment, "serving", None) or "mlflow"
        if serving not in SUPPORTED_SERVING:
            raise BackendError(
                f"serving {serving!r} runs on a cluster only: deploy with --backend kubernetes, "
                f"or serve locally with serving: {' or '.join(SUPPORTED_SERVING)}"
            )
        runtime = RUNTIMES[serving]
        workers = max(1, int(getattr(deployment, "replicas", 1) or 1))
        version = str(version)
        with self._lock(model):
            state = self._settle(model, self.read_state(model)) or {}
            current = state.get("server")
            proxy = state.get("proxy")
            if (
                current
                and current.get("version") == version
                and current.get("serving", "mlflow") == serving
                and process_alive(current)
                and process_alive(proxy)
                and http_get(f"{state['url']}{_health(current)}")[0] == 200
            ):
                return self._endpoint(model, state)
            prepared = self._admit(model, version, tracking_uri, deployment, runtime, workers)
            if not process_alive(proxy):
                stop_process(proxy)
                proxy = self._start_proxy(model)
                state = {"model": model, "url": proxy["url"], "proxy": proxy, "server": None}
                if current and process_alive(current):
                    state["server"] = current  # keep the old version reachable via the new URL
                else:
                    stop_process(current)
                    current = None
            server = self._start_version(
                model, version, tracking_uri, workers, timeout, prepared, state
            )
            state.pop("pending", None)
            # A canary being watched ends with a replace: this version takes every request.
            canary = (state.pop("canary", None) or {}).get("server")
            state.update({"server": server, "version": version, "deployed_at": time.time()})
            _write_atomic(self.state_path(model), state)
            # The proxy reads the state file on every request: from here on, new requests go to
            # the new server; the old one finishes what it has (SIGTERM is a graceful shutdown).
            if current and current.get("pid") != server.get("pid"):
                time.sleep(0.2)
                stop_process(current)
            if canary and canary.get("pid") != server.get("pid"):
                stop_process(canary)
            self._stop_strays(model, state)
            status, body = http_get(f"{state['url']}{_health(server)}", timeout=10.0)
            if status != 200:
                raise BackendError(
                    f"{model} v{version} is healthy on port {server['port']} but its URL "
                    f"{state['url']} does not answer {_health(server)} ({status or body})"
                )
            return self._endpoint(model, state)

    def _admit(
        self,
        model: str,
        version: str,
        tracking_uri: str,
        deployment: Any,
        runtime: Any,
        workers: int,
    ) -> dict[str, Any]:
        """Resources, files, checks and environment before anything starts: a refusal changes
        nothing, and the cheapest refusals come first."""
        gpus = admission.admit(
            f"{model} v{version}",
            getattr(deployment, "resources", None),
            workers,
            self.project_dir,
            self._gpus_in_use(model),
        )
        prepared = self._prepare(model, version, tracking_uri, runtime)
        prepared["gpus"] = gpus
        return prepared

    def _start_version(
        self,
        model: str,
        version: str,
        tracking_uri: str,
        workers: int,
        timeout: float,
        prepared: dict[str, Any],
        state: dict[str, Any],
        canary: float | None = None,
    ) -> dict[str, Any]:
        """Start a server for `version` beside whatever serves, recorded as pending (with the
        canary share it is for, if any) before the wait, so a look after this process died
        finishes or rolls back the start. The server's info once it is ready."""
        me = os.getpid()
        pending: dict[str, Any] = {
            "version": version,
            "since": time.time(),
            "deployer": {"pid": me, "start": procs.start_time(me)},
        }
        if canary is not None:
            pending["canary"] = canary
        state.update({"pending": pending, "tracking_uri": tracking_uri})
        _write_atomic(self.state_path(model), state)

        def spawned(info: dict[str, Any]) -> None:
            # Recorded before the wait: if this process dies now, the next look finds it.
            pending["server"] = info
            _write_atomic(self.state_path(model), state)

        try:
            return self._start_server(
                model, version, tracking_uri, workers, timeout, prepared, spawned
            )
        except BaseException:
            state.pop("pending", None)
            if state.get("server") is None:
                self._remove(model, state)
            else:
                _write_atomic(self.state_path(model), state)
            raise

    # --- canary rollouts (the proxy splits requests by the state's `canary`) ---------------

    def start_canary(
        self,
        model: str,
        version: str,
        tracking_uri: str,
        deployment: Any,
        percent: float,
        timeout: float = READY_TIMEOUT,
    ) -> Endpoint:
        """Serve `version` beside the served one for `percent` of the requests."""
        serving = getattr(deployment, "serving", None) or "mlflow"
        if serving not in SUPPORTED_SERVING:
            raise BackendError(f"serving {serving!r} runs on a cluster only")
        runtime = RUNTIMES[serving]
        workers = max(1, int(getattr(deployment, "replicas", 1) or 1))
        version = str(version)
        with self._lock(model):
            state = self._settle(model, self.read_state(model)) or {}
            current, proxy = state.get("server"), state.get("proxy")
            if not (current and process_alive(current) and process_alive(proxy)):
                raise BackendError(
                    f"{model}: a canary needs a served version to split requests with; "
                    f"deploy one first (ame model deploy {model})"
                )
            existing = (state.get("canary") or {}).get("server")
            if existing and existing.get("version") == version and process_alive(existing):
                return self._endpoint(model, state)  # started before (a resumed flow)
            prepared = self._admit(model, version, tracking_uri, deployment, runtime, workers)
            if existing:
                state.pop("canary", None)
                _write_atomic(self.state_path(model), state)
                stop_process(existing)
            server = self._start_version(
                model, version, tracking_uri, workers, timeout, prepared, state, canary=percent
            )
            state.pop("pending", None)
            state["canary"] = {"server": server, "percent": percent, "since": time.time()}
            _write_atomic(self.state_path(model), state)
            return self._endpoint(model, state)

    def canary_figures(self, model: str) -> dict[str, Any]:
        """What the canary's server answered through the proxy since it started."""
        from ame_core.serving.proxy import read_traffic

        state = self.read_state(model) or {}
        server = (state.get("canary") or {}).get("server")
        if not server:
            raise BackendError(f"{model} has no canary running")
        return read_traffic(self.state_path(model)).get(str(server.get("pid"))) or {}

    def promote_canary(self, model: str) -> Endpoint:
        """The canary takes all requests; the version it was split with stops."""
        with self._lock(model):
            state = self.read_state(model) or {}
            canary = state.pop("canary", None)
            if not canary:
                raise BackendError(f"{model} has no canary to promote")
            old, server = state.get("server"), canary["server"]
            state.update({"server": server, "version": server["version"]})
            state["deployed_at"] = time.time()
            _write_atomic(self.state_path(model), state)
            if old and old.get("pid") != server.get("pid"):
                time.sleep(0.2)  # requests already sent to it finish (SIGTERM is graceful)
                stop_process(old)
            return self._endpoint(model, state)

    def abort_canary(self, model: str) -> Endpoint | None:
        """The canary stops; the served version takes all requests again."""
        with self._lock(model):
            state = self.read_state(model)
            if state is None:
                return None
            canary = state.pop("canary", None)
            _write_atomic(self.state_path(model), state)
            if canary:
                time.sleep(0.2)
                stop_process(canary.get("server"))
            return self._endpoint(model, state)

    def _start_proxy(self, model: str) -> dict[str, Any]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, 0))
            sock.listen(128)
            port = int(sock.getsockname()[1])
            info = _spawn(
                [
                    sys.executable,
                    "-m",
                    "ame_core.serving.proxy",
                    "--fd",
                    str(sock.fileno()),
                    "--state",
                    str(self.state_path(model)),
                ],
                self.dir / "logs" / f"{model}-proxy.log",
                self._detached_env(model),
                self.project_dir,
                pass_fds=(sock.fileno(),),
            )
        finally:
            sock.close()  # the proxy holds its own copy of the socket
        info.update({"port": port, "url": f"http://{HOST}:{port}"})
        return info

    def _gpus_in_use(self, model: str) -> set[str]:
        """GPUs held by the other models served from this project. The model's own old
        server is left out: it stops right after the switch (a moment on the same device)."""
        found: set[str] = set()
        for path in self.dir.glob("*.json") if self.dir.is_dir() else []:
            if path.stem != model:
                with contextlib.suppress(BackendError):
                    found |= admission.gpus_of(self.read_state(path.stem))
        return found

    def version_dir(self, model: str, version: str) -> Path:
        """Where a version's files and its servers' settings live."""
        return self.dir / "models" / model / f"v{version}"

    def _prepare(
        self, model: str, version: str, tracking_uri: str, runtime: Runtime
    ) -> dict[str, Any]:
        """The version's files (downloaded once), checked for the runtime, and its environment."""
        label = f"{model} v{version}"
        env = self._detached_env(model)
        env["MLFLOW_TRACKING_URI"] = tracking_uri
        model_dir = versions.fetch(
            model, version, tracking_uri, self.version_dir(model, version), env
        )
        files = versions.read_model_files(model_dir)
        checks.check(model, version, files, runtime)
        log_path = self.dir / "logs" / f"{model}-v{version}-{runtime.name}-env.log"
        built = serving_env(label, files, runtime, log_path, env)
        return {
            "runtime": runtime,
            "model_dir": model_dir,
            "env_dir": built.dir,
            "env_reused": built.reused,
            "env_seconds": round(built.seconds, 3),
            "python": built.python_version,
        }

    def _start_server(
        self,
        model: str,
        version: str,
        tracking_uri: str,
        workers: int,
        timeout: float,
        prepared: dict[str, Any],
        spawned: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        runtime: Runtime = prepared["runtime"]
        env_dir: Path = prepared["env_dir"]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(3):
            port = free_port()
            name = f"{model}-v{version}-{stamp}-{attempt}"
            log_path = self.dir / "logs" / f"{name}.log"
            workdir = self.version_dir(model, version) / f"{runtime.name}-{stamp}-{attempt}"
            argv = runtime.argv(
                env_dir, workdir, prepared["model_dir"], model, version, port, workers
            )
            env = self._env(model, tracking_uri, env_dir)
            gpus = list(prepared.get("gpus") or [])
            if gpus:
                env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
            info = _spawn(argv, log_path, env, self.project_dir)
            info.update(
                {
                    "port": port,
                    "version": version,
                    "workers": workers,
                    "started_at": time.time(),
                    "serving": runtime.name,
                    "health": runtime.health_path,
                    "protocol": runtime.protocol,
                    "env": str(env_dir),
                    "env_reused": prepared["env_reused"],
                    "env_seconds": prepared["env_seconds"],
                    "gpus": gpus,
                }
            )
            try:
                if spawned is not None:
                    spawned(info)
                self._wait_ready(model, version, info, timeout)
            except BackendError:
                stop_process(info)
                if "address already in use" in _log_tail(str(log_path), 400).lower():
                    continue  # another process took the port between our probe and its bind
                raise
            except BaseException:
                stop_process(info)
                raise
            return info
        raise BackendError(f"could not find a free port to serve {model} v{version}")

    def _wait_ready(self, model: str, version: str, info: dict[str, Any], timeout: float) -> None:
        path = _health(info)
        url = f"http://{HOST}:{info['port']}{path}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if http_get(url, timeout=2.0)[0] == 200:
                info["ready_seconds"] = round(time.time() - float(info["started_at"]), 2)
                return
            if not process_alive(info):
                # The cause first: it is the line a user reads.
                cause = _last_error(info["log"]) or "it exited before it was ready"
                raise BackendError(
                    f"{model} v{version} failed to start: {cause} (the "
                    f"{info.get('serving', 'mlflow')} server exited before it was ready; "
                    f"log: {info['log']})"
                )
            time.sleep(0.25)
        raise BackendError(
            f"{model} v{version} did not answer {path} within {timeout:.0f} s: "
            f"{_last_error(info['log']) or 'no output'} (log: {info['log']})"
        )

    # --- undeploy, status --------------------------------------------------------------------

    def undeploy(self, model: str) -> bool:
        """Stop serving `model` (and any start a dead deployer left); False when it was not
        served."""
        with self._lock(model):
            state = self.read_state(model)
            if state is None:
                self._stop_strays(model, None)
                return False
            self._remove(model, state)
            return True

    def _remove(self, model: str, state: dict[str, Any]) -> None:
        for info in _named(state):
            stop_process(info)
        with contextlib.suppress(FileNotFoundError):
            self.state_path(model).unlink()
        self._stop_strays(model, None)

    def endpoint(self, model: str) -> Endpoint | None:
        state = self._settled(model, self.read_state(model))
        return None if state is None else self._endpoint(model, state)

    def list(self) -> list[Endpoint]:
        if not self.dir.is_dir():
            return []
        found = []
        for path in sorted(self.dir.glob("*.json")):
            with contextlib.suppress(BackendError):
                endpoint = self.endpoint(path.stem)
                if endpoint is not None:
                    found.append(endpoint)
        return found

    def _endpoint(self, model: str, state: dict[str, Any]) -> Endpoint:
        server = state.get("server") or {}
        proxy = state.get("proxy") or {}
        pending = state.get("pending")
        version = str(server.get("version") or (pending or {}).get("version") or "")
        extra = {
            "pid": server.get("pid"),
            "port": server.get("port"),
            "upstream": f"http://{HOST}:{server['port']}" if server.get("port") else None,
            "log": server.get("log"),
            "proxy_pid": proxy.get("pid"),
            "deployed_at": state.get("deployed_at"),
            "tracking_uri": state.get("tracking_uri"),
            "pending_version": (pending or {}).get("version"),
            "serving": server.get("serving", "mlflow"),
            "protocol": server.get("protocol", "mlflow"),
            "health_path": _health(server),
            "v2_model": model if server.get("protocol") == "v2" else None,
            "env": server.get("env"),
            "env_reused": server.get("env_reused"),
            "ready_seconds": server.get("ready_seconds"),
        }
        url = state.get("url")
        status, detail = EndpointStatus.READY, None
        if not server:
            status = EndpointStatus.STARTING
            detail = f"starting v{version}"
        elif not process_alive(server):
            status = EndpointStatus.FAILED
            detail = (
                f"the model server (pid {server.get('pid')}) has exited; log: {server.get('log')}"
            )
        elif not process_alive(proxy):
            status = EndpointStatus.FAILED
            detail = f"the front proxy (pid {proxy.get('pid')}) of {url} has exited"
        else:
            path = _health(server)
            code, body = http_get(f"{url}{path}", timeout=5.0)
            if code != 200:
                status = EndpointStatus.FAILED
                detail = f"{path} answered {code}" if code else f"{path}: {body}"
            elif pending:
                detail = f"starting v{pending.get('version')} beside v{version}"
        canary = state.get("canary") or {}
        if canary.get("server") and status == EndpointStatus.READY:
            served = canary["server"]
            extra["canary"] = {
                "version": served.get("version"),
                "percent": canary.get("percent"),
                "pid": served.get("pid"),
            }
            detail = f"canary v{served.get('version')} takes {canary.get('percent'):g}%"
            if not process_alive(served):
                detail += " (its server has exited: its requests fail)"
        # Locally a model is one server process; `replicas` become its worker processes.
        workers = int(server.get("workers") or 1)
        ready = workers if status == EndpointStatus.READY else 0
        return Endpoint(
            model=model,
            version=version,
            backend=BACKEND,
            status=status,
            url=url,
            replicas=workers,
            ready_replicas=ready,
            detail=detail,
            extra=extra,
        )
