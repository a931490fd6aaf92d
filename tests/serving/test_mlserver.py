"""Local serving with MLServer and per-version environments, with real processes: MLServer's
MLflow runtime serving a scikit-learn model behind ame's proxy (V2 and /invocations agree), a
version switch under load with no failed request, the version's environment reused, the switch
to `mlflow models serve` in its own environment, and one-line refusals.

The tests share one served model and run in file order: v1 on MLServer → v2 on MLServer under
load → v2 on `mlflow models serve` → refusals (nothing served changes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from serving_support import ame_env, kill_processes_under

from ame_core.runtime.backend import BackendError
from ame_core.serving import v2, versions
from ame_core.serving.environments import serving_env
from ame_core.serving.health import probe, probe_endpoint
from ame_core.serving.local import LocalServing
from ame_core.serving.runtimes import RUNTIMES
from ame_core.spec.models import Deployment
from ame_tui.services.smoke import send

pytestmark = pytest.mark.slow

MODEL = "cancer"
NO_SUCH_PACKAGE = "ame-no-such-package-xyz"  # as in mlserver_support.py
MLSERVER = Deployment(serving="mlserver")


@dataclass
class Served:
    root: Path
    uri: str
    env: dict[str, str]
    serving: LocalServing
    timings: dict[str, float] = field(default_factory=dict)

    def files(self, version: str) -> versions.ModelFiles:
        return versions.read_model_files(self.serving.version_dir(MODEL, version) / "model")

    def example(self, version: str = "1") -> dict:
        example = self.files(version).serving_example()
        assert example is not None
        return example


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("mlserver")
    project = root / "project"
    project.mkdir()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = ame_env(root, root / "cache")
    saved = dict(os.environ)
    os.environ.update(
        {k: v for k, v in env.items() if k in ("PATH", "MLFLOW_DISABLE_TELEMETRY", "AME_CACHE_DIR")}
    )
    here = Path(__file__).parent
    subprocess.run(
        [sys.executable, str(here / "mlserver_support.py"), uri],
        cwd=here, env={**env, "PYTHONPATH": str(here)}, check=True, timeout=300,
        capture_output=True,
    )  # fmt: skip
    serving = LocalServing(project)
    result = Served(root, uri, env, serving)
    try:
        started = time.monotonic()
        serving.deploy(MODEL, "1", uri, MLSERVER)
        result.timings["first deploy (env built)"] = time.monotonic() - started
        yield result
    finally:
        serving.undeploy(MODEL)
        os.environ.clear()
        os.environ.update(saved)
        print(
            "\nmlserver timings: " + json.dumps({k: round(v, 2) for k, v in result.timings.items()})
        )
    leaked = kill_processes_under(root)
    assert not leaked, f"processes left running: {leaked}"


def post_json(url: str, body: dict) -> tuple[int | None, dict | str]:
    """(status, answer) of a JSON POST; (None, why) when nothing answered."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return None, str(exc)


def _get(url: str) -> tuple[int, dict]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def test_v2_and_invocations_answer_the_same(served: Served) -> None:
    endpoint = served.serving.endpoint(MODEL)
    assert endpoint is not None and endpoint.status.value == "ready", endpoint
    assert endpoint.extra["serving"] == "mlserver" and endpoint.extra["protocol"] == "v2"
    # The server runs in the version's environment, not in ame's interpreter.
    exe = Path(f"/proc/{endpoint.extra['pid']}/cmdline").read_bytes().split(b"\0")[0].decode()
    assert exe.startswith(str(served.root / "cache" / "envs")), exe
    url = endpoint.url
    assert _get(f"{url}/v2/health/ready")[0] == 200
    status, metadata = _get(f"{url}/v2/models/{MODEL}")
    assert status == 200 and metadata["name"] == MODEL
    assert metadata["inputs"][0] == {
        "name": "mean radius", "datatype": "FP64", "shape": [-1, 1],
        "parameters": {"content_type": "np"},
    }  # fmt: skip
    example = served.example()
    request = v2.request(example, served.files("1").signature_inputs or [])
    status, answer = post_json(f"{url}/v2/models/{MODEL}/infer", request)
    assert status == 200, answer
    v2_predictions = answer["outputs"][0]["data"]
    status, answer = post_json(f"{url}/invocations", example)
    assert status == 200, answer
    assert answer["predictions"] == v2_predictions and len(v2_predictions) == 3
    # `ame model status`'s probe and the console's smoke request speak V2 to it.
    body = json.dumps(example).encode()
    for health in (probe(url, body), probe_endpoint(endpoint, body)):
        assert health.protocol == "v2" and health.ping_ok and health.smoke_ok, health
    smoke = send(url, example)
    assert smoke.ok, smoke
    assert json.loads(smoke.answer)["outputs"][0]["data"] == v2_predictions
    served.timings["mlserver ready (s)"] = float(endpoint.extra["ready_seconds"])


def test_mlserver_metrics_and_the_request_log_see_the_same_requests(served: Served) -> None:
    """What a cluster's report reads (MLServer's Prometheus /metrics) and what the local
    request log keeps, for the same V2 requests."""
    import urllib.request

    from ame_core.monitoring import request_log
    from ame_core.monitoring.prometheus import serving_figures

    endpoint = served.serving.endpoint(MODEL)
    assert endpoint is not None
    version = str(endpoint.version)
    settings = sorted(
        served.serving.version_dir(MODEL, version).glob("mlserver-*/settings.json"),
        key=lambda p: p.stat().st_mtime,
    )[-1]
    metrics_url = f"http://127.0.0.1:{json.loads(settings.read_text())['metrics_port']}/metrics"

    def figures() -> dict:
        with urllib.request.urlopen(metrics_url, timeout=10) as response:
            return serving_figures(response.read().decode())

    before = figures()["requests_total"]
    started = time.time()
    request = v2.request(served.example(), served.files(version).signature_inputs or [])
    for _ in range(6):
        status, answer = post_json(f"{endpoint.url}/v2/models/{MODEL}/infer", request)
        assert status == 200, answer
    after = figures()
    assert after["requests_total"] - before == 6
    assert after["latency_ms"] is None or after["latency_ms"]["p50"] > 0

    root = request_log.log_root(served.serving.project_dir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logged = request_log.read(root, MODEL, started).get(version)
        if logged is not None and len(logged.times) >= 6:
            break
        time.sleep(0.2)
    assert logged is not None and logged.statuses[-6:] == [200] * 6
    columns, rows = logged.samples[-1]  # V2 tensors, one per column, named by the signature
    assert columns is not None and columns[0] == "mean radius" and len(columns) == 30
    assert len(rows) == 3 and len(rows[0]) == 30


def test_a_version_switch_under_load_fails_no_request(served: Served) -> None:
    before = served.serving.endpoint(MODEL)
    assert before is not None
    example = served.example()
    results: list[int | None] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            results.append(post_json(f"{before.url}/invocations", example)[0])

    thread = threading.Thread(target=load)
    thread.start()
    try:
        started = time.monotonic()
        after = served.serving.deploy(MODEL, "2", served.uri, MLSERVER)
        served.timings["switch to v2 (env reused)"] = time.monotonic() - started
        time.sleep(1.0)  # requests keep flowing after the old server is stopped
    finally:
        stop.set()
        thread.join(timeout=30)
    assert after.version == "2" and after.url == before.url
    assert after.extra["env"] == before.extra["env"] and after.extra["env_reused"] is True
    failed = [code for code in results if code != 200]
    assert len(results) > 20 and not failed, f"{len(failed)} of {len(results)} failed: {failed[:5]}"
    # A second look at the same requirements finds the environment in well under a second.
    files = served.files("2")
    log = served.root / "env.log"
    built = serving_env("cancer v2", files, RUNTIMES["mlserver"], log, served.env)
    assert built.reused and built.seconds < 0.5, built
    served.timings["env reuse (s)"] = built.seconds
    # And all that precedes a start of a version already here: files, checks, environment.
    started = time.monotonic()
    prepared = served.serving._prepare(MODEL, "2", served.uri, RUNTIMES["mlserver"])
    served.timings["redeploy preparation (s)"] = time.monotonic() - started
    assert prepared["env_reused"] and time.monotonic() - started < 1.0


def test_switch_to_mlflow_serving_in_its_own_environment(served: Served) -> None:
    before = served.serving.endpoint(MODEL)
    assert before is not None
    started = time.monotonic()
    after = served.serving.deploy(MODEL, "2", served.uri, Deployment(serving="mlflow"))
    served.timings["switch to mlflow models serve"] = time.monotonic() - started
    assert after.extra["serving"] == "mlflow" and after.url == before.url
    assert after.extra["env"] != before.extra["env"]  # no mlserver in it: another environment
    exe = Path(f"/proc/{after.extra['pid']}/cmdline").read_bytes().split(b"\0")[0].decode()
    assert exe.startswith(after.extra["env"]), exe
    example = served.example()
    status, answer = post_json(f"{after.url}/invocations", example)
    assert status == 200 and len(answer["predictions"]) == 3
    health = probe_endpoint(after, json.dumps(example).encode())
    assert health.protocol == "mlflow" and health.smoke_ok, health
    served.timings["mlflow ready (s)"] = float(after.extra["ready_seconds"])


def _refusal(served: Served, model: str, serving: str = "mlserver") -> str:
    with pytest.raises(BackendError) as caught:
        served.serving.deploy(model, "1", served.uri, Deployment(serving=serving), timeout=120)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert served.serving.endpoint(model) is None  # nothing left half-served
    return message


def test_a_version_without_python_function_is_refused(served: Served) -> None:
    message = _refusal(served, "flavorless")
    assert message.startswith("flavorless v1 has no python_function flavor (flavors: onnx)")
    assert "mlflow.pyfunc.log_model" in message


def test_a_missing_module_is_the_first_thing_said(served: Served) -> None:
    message = _refusal(served, "needs_xgb", serving="mlflow")
    assert message.startswith("needs_xgb v1 failed to start: No module named 'xgboost'"), message


def test_a_version_without_signature_is_refused_by_mlserver(served: Served) -> None:
    message = _refusal(served, "unbuildable")
    assert message.startswith("unbuildable v1 has no signature, which serving 'mlserver' needs")


def test_a_requirement_no_index_has_is_the_first_thing_said(served: Served) -> None:
    message = _refusal(served, "unbuildable", serving="mlflow")
    assert message.startswith("unbuildable v1: its serving environment cannot be built:"), message
    assert f"{NO_SUCH_PACKAGE} was not found" in message
    endpoint = served.serving.endpoint(MODEL)
    assert endpoint is not None and endpoint.version == "2" and endpoint.status.value == "ready"
