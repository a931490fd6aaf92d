"""Helpers for the lifecycle tests: a copy of examples/quickstart with a monitoring task and a
batchInference section, a real `mlflow server`, an HTTP poller, and a leak check that finds every
process a test left running under its temp dir."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from ame_core.net import free_port

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"
VENV_BIN = str(Path(sys.executable).parent)

MONITOR_PY = '''"""Monitoring: reports the version it was handed and logs a metric to its MLflow run."""
import json
import os

import mlflow

seen = {k: os.environ.get(k) for k in ("AME_MODEL_NAME", "AME_MODEL_VERSION", "AME_MODEL_URI")}
print("MONITOR " + json.dumps(seen), flush=True)
report = json.load(open(os.environ["AME_MONITORING_REPORT"]))  # the built-in report, first
print("REPORT " + report["drift"]["verdict"], flush=True)
with mlflow.start_run():
    mlflow.log_metric("monitored_version", float(seen["AME_MODEL_VERSION"]))
'''

MONITOR_TASK = """
  - name: monitor_logreg
    fromTemplate: small_cpu
    executor: !pip
      pythonVersion: "3.11"
      command: python monitor.py
"""

MODEL_EXTRA = """    monitoring:
      window: 1h
      task:
        taskRef: monitor_logreg
      schedule: "0 * * * *"
    batchInference:
      input: data/score.csv
      output: out/scored.jsonl
      alias: deployed
  - name: logreg_plain
    training:
      task:
        taskRef: train_logreg
    deployment:
      autoDeploy: true
"""


def copy_quickstart(dest: Path) -> Path:
    """examples/quickstart in `dest`, plus a monitoring task, a batchInference section, and a
    model `logreg_plain` without validation (autoDeploy serves its versions at once). The team
    policy is left out: logreg_plain breaks its "autoDeploy needs validation" rule on purpose."""
    shutil.copytree(
        QUICKSTART,
        dest,
        ignore=shutil.ignore_patterns(".ame", ".ame-policy", ".venv", "mlruns", "mlflow.db"),
    )
    text = (dest / "ame.yml").read_text()
    quickstart_monitoring = (
        "    monitoring:\n      window: 1h\n      drift:\n        threshold: 0.1\n"
    )
    assert text.endswith(quickstart_monitoring), "quickstart changed shape"
    text = text.removesuffix(quickstart_monitoring)  # MODEL_EXTRA has one with a task
    assert "\nmodels:" in text and text.endswith("autoDeploy: true\n"), "quickstart changed shape"
    text = text.replace("\nmodels:", MONITOR_TASK + "\nmodels:", 1) + MODEL_EXTRA
    (dest / "ame.yml").write_text(text)
    (dest / "monitor.py").write_text(MONITOR_PY)
    (dest / "data").mkdir()
    features().head(10).to_csv(dest / "data" / "score.csv", index=False)
    return dest


def set_min_accuracy(project: Path, value: str) -> None:
    """Edit the validation threshold in the project file (the task's environment wins over
    anything the test process sets)."""
    path = project / "ame.yml"
    text = path.read_text()
    start = text.index("key: MIN_ACCURACY")
    line_end = text.index("\n", text.index("val:", start))
    value_start = text.index("val:", start)
    path.write_text(text[:value_start] + f'val: "{value}"' + text[line_end:])


def features():
    from sklearn.datasets import load_breast_cancer

    frame, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    return frame


def shared_cache(tmp_path_factory) -> Path:
    """One environment cache for the session's lifecycle tests: the quickstart's `!pip`
    environment is created once. (No conftest.py here: other test folders import theirs by
    the name `conftest`.)"""
    # The same folder as the TUI's end-to-end test: one `!pip` environment for the session.
    cache = tmp_path_factory.getbasetemp() / "quickstart-env-cache"
    cache.mkdir(exist_ok=True)
    return cache


def ame_env(root: Path, cache: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "AME_CACHE_DIR": str(cache),
        "AME_CONFIG_DIR": str(root / "config"),
    }
    for key in ("MLFLOW_TRACKING_URI", "AME_BACKEND", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(key, None)
    return env


@contextlib.contextmanager
def patched_environ(values: dict[str, str]):
    """os.environ as `values` for in-process calls, restored afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def post_json(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def invocation_body(rows: int = 5) -> bytes:
    frame = features().head(rows)
    return json.dumps(
        {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    ).encode()


class Poller:
    """Sends prediction requests to a URL without pause, counting answers and failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.body = invocation_body(3)
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, data = post_json(f"{self.url}/invocations", self.body)
                if status == 200 and len(data.get("predictions", [])) == 3:
                    self.ok += 1
                else:
                    self.failures.append(f"{status}: {data}")
            except (OSError, urllib.error.URLError, ValueError) as exc:
                self.failures.append(repr(exc))
            time.sleep(0.02)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def _stat_fields(pid: str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def tracking_server_groups(root: Path) -> set[int]:
    """Process groups of the local MLflow servers of the projects under `root` (they live until
    stopped, as they should)."""
    from ame_core import tracking_server

    groups = set()
    for level in range(4):
        pattern = "/".join(["*"] * level + [".ame", "mlflow-server.json"])
        for path in root.glob(pattern):
            state = tracking_server.read_state(path.parent.parent) or {}
            if state.get("pid"):
                groups.add(int(state["pid"]))
    return groups


def processes_under(root: Path, *, tracking_servers: bool = True) -> list[str]:
    """Live processes (not zombies) whose working directory or command line is under `root`
    (`tracking_servers=False`: not counting the projects' local MLflow servers)."""
    root_text = str(root.resolve())
    skip = set() if tracking_servers else tracking_server_groups(root)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        fields = _stat_fields(entry.name)
        if fields is None or fields[0] in ("Z", "X") or int(fields[2]) in skip:
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = ""
        if cwd.startswith(root_text) or root_text in cmd:
            found.append(f"{entry.name}: {cmd.strip()} (cwd {cwd})")
    return found


def kill_processes_under(root: Path) -> list[str]:
    """Last resort at teardown: stop the projects' local MLflow servers (they run until
    stopped), then kill what is left (and say what it was)."""
    from ame_core import tracking_server

    tracking_server.stop_all_under(root)
    leaked = processes_under(root)
    for line in leaked:
        with contextlib.suppress(OSError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    return leaked


class MlflowServer:
    """A real `mlflow server` on a free 127.0.0.1 port, stores in a temp dir."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "server.log"
        argv = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
        ]
        server_env = {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=root,
                env=server_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mlflow server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"mlflow server not ready:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        """TERM the server's process group (its workers too), KILL what is left."""
        pgid = self.process.pid
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.process.poll()
                if not group_alive(pgid):
                    return
                time.sleep(0.1)


def group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                return True
    return False
