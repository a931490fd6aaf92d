"""The commands a task's pod runs, run here for real: the init container fetches the project
from a real MLflow store (the artifact the backend uploaded at submit) and the task container
runs in it with the environment of the Job. Only /workspace is moved to a temp folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from k8s_harness import Kubelet

from ame_core.net import free_port
from ame_core.runtime.backend import RunContext
from ame_core.runtime.kubernetes.backend import KubernetesBackend

PROJECT = """\
project: podcheck
tasks:
  - name: show_env
    executor: !custom
      command: python show.py
    environment:
      - key: GREETING
        val: hello
"""
SHOW = """\
import json, os, pathlib
keys = ["AME_PROJECT", "AME_TASK", "AME_RUN_ID", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME",
        "GREETING"]
pathlib.Path(os.environ["OUT"]).write_text(json.dumps({k: os.environ.get(k) for k in keys}))
print("cwd", pathlib.Path.cwd().name)
"""


@pytest.mark.slow
def test_init_container_and_task_commands_work(
    cluster: Kubelet, tmp_path: Path, mlflow_uri: str
) -> None:
    from ame_core.engine import analyze

    project = tmp_path / "podcheck"
    project.mkdir()
    (project / "ame.yml").write_text(PROJECT)
    (project / "show.py").write_text(SHOW)
    (project / ".gitignore").write_text("secret-notes.txt\n")
    (project / "secret-notes.txt").write_text("not for the cluster")
    analysis = analyze(PROJECT, str(project / "ame.yml"))
    context = RunContext(project_dir=project, project="podcheck", tracking_uri=mlflow_uri)
    record = KubernetesBackend(project).submit(
        analysis.resolver.resolve_by_name("show_env"), context
    )
    job = cluster.job(record.id)
    spec = job["spec"]["template"]["spec"]
    workspace = tmp_path / "workspace"
    scratch = tmp_path / "scratch"
    bin_dir = str(Path(sys.executable).parent)

    def localise(text: str) -> str:
        return text.replace("/workspace", str(workspace)).replace("/tmp/ame-code", str(scratch))

    # The init container: download the code artifact from MLflow, unpack it.
    init = spec["initContainers"][0]
    init_env = {e["name"]: e["value"] for e in init["env"]}
    init_env["MLFLOW_TRACKING_URI"] = mlflow_uri  # the cluster's MLflow is this store here
    env = {**os.environ, **init_env, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    fetched = subprocess.run(
        [init["command"][0], init["command"][1], localise(init["command"][2])],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert f"code from MLflow run {record.mlflow_run_id}" in fetched.stdout
    unpacked = sorted(p.name for p in (workspace / "project").iterdir())
    assert unpacked == [".gitignore", "ame.yml", "show.py"]  # .gitignore honoured

    # The task container: same command, same environment, in the unpacked project.
    task = spec["containers"][0]
    task_env = {e["name"]: e["value"] for e in task["env"]}
    out = tmp_path / "env.json"
    ran = subprocess.run(
        task["command"],
        cwd=localise(task["workingDir"]),
        env={**task_env, "OUT": str(out), "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "cwd project"
    assert json.loads(out.read_text()) == {
        "AME_PROJECT": "podcheck",
        "AME_TASK": "show_env",
        "AME_RUN_ID": record.id,
        "MLFLOW_RUN_ID": record.mlflow_run_id,
        "MLFLOW_EXPERIMENT_NAME": "podcheck",
        "GREETING": "hello",
    }


@pytest.mark.slow
def test_serving_container_command_serves_the_version(tmp_path: Path, mlflow_uri: str) -> None:
    """The model Deployment's command, run here: it serves models:/NAME/VERSION from the
    registry, answers /ping (the readiness probe) and /invocations."""
    import signal
    import time
    import urllib.request

    from ame_core.runtime.kubernetes import manifests as m
    from ame_core.tracking import client

    train = (
        "import mlflow, mlflow.sklearn\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])\n"
        "with mlflow.start_run():\n"
        "    mlflow.sklearn.log_model(model, name='model', registered_model_name='tiny',\n"
        "                             pip_requirements=['scikit-learn'])\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "-c", train], env=env, capture_output=True, text=True, timeout=300,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert client(mlflow_uri).get_model_version("tiny", "1").status == "READY"

    spec = m.ServingSpec("p", "tiny", "1", "ml", "mlflow-image", mlflow_uri)
    container = m.deployment(spec)["spec"]["template"]["spec"]["containers"][0]
    port = free_port()
    script = container["command"][2].replace("--host 0.0.0.0", "--host 127.0.0.1")
    script = script.replace(f"--port {m.SERVING_PORT}", f"--port {port}")
    bin_dir = str(Path(sys.executable).parent)
    server_env = {
        **os.environ,
        **{e["name"]: e["value"] for e in container["env"]},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",  # never download here; the script serves with what it has
    }
    server = subprocess.Popen(
        [container["command"][0], container["command"][1], script],
        env=server_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stdout.read().decode()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the model server did not become ready"
            time.sleep(0.5)
        body = json.dumps({"inputs": [[0.0], [3.0]]}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["predictions"] == [0, 1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
