"""Local model serving, each figure beside its peer.

For each local serving runtime (`mlflow`, `mlserver`):

1. Request latency through the model's stable URL (AME's front proxy) beside the same request
   sent straight to the server process behind it: median and p95 of a small `/invocations`
   request, and the ratio.
2. Deploy time of a version (`LocalServing.deploy`, health-checked, in the version's own
   environment, built once and then reused) beside a bare `mlflow models serve` (in ame's
   environment) until its `/ping` answers.
3. A version switch under load: requests answered during the switch and failures (must be 0).

A scikit-learn model is trained and registered in a temp sqlite store; everything is stopped at
the end.

    python benchmarks/bench_serving.py [--requests N] [--serving mlflow|mlserver]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

from ame_core.net import free_port  # noqa: E402
from ame_core.serving.local import LocalServing  # noqa: E402


def register_model(uri: str) -> bytes:
    """Two versions of a small model; returns an /invocations body."""
    import mlflow
    import mlflow.sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    from mlflow.models import infer_signature

    model = LogisticRegression(max_iter=5000).fit(X, y)
    signature = infer_signature(X.head(), model.predict(X.head()))  # MLServer's V2 needs it
    for _ in range(2):
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name="bench",
                pip_requirements=["scikit-learn"],
                signature=signature,
            )
    rows = X.head(5)
    return json.dumps(
        {"dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}}
    ).encode()


def post(url: str, body: bytes) -> float:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return (time.perf_counter() - start) * 1000.0


def latency(url: str, body: bytes, count: int) -> tuple[float, float]:
    for _ in range(10):
        post(url, body)  # warm up
    times = sorted(post(url, body) for _ in range(count))
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def bare_serve_seconds(uri: str, root: Path) -> float:
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    argv = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/bench/1"]
    argv += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    start = time.perf_counter()
    with open(root / "bare.log", "wb") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    return time.perf_counter() - start
            except OSError:
                if process.poll() is not None:
                    raise SystemExit("bare mlflow models serve exited") from None
                time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def measure(serving_kind: str, root: Path, uri: str, body: bytes, requests: int) -> dict:
    from ame_core.spec.models import Deployment

    deployment = Deployment(serving=serving_kind)
    serving = LocalServing(root)
    try:
        start = time.perf_counter()
        endpoint = serving.deploy("bench", "1", uri, deployment)
        first_s = time.perf_counter() - start  # builds the version's environment once
        serving.undeploy("bench")
        start = time.perf_counter()
        endpoint = serving.deploy("bench", "1", uri, deployment)
        deploy_s = time.perf_counter() - start
        proxy_med, proxy_p95 = latency(endpoint.url or "", body, requests)
        direct_med, direct_p95 = latency(endpoint.extra["upstream"], body, requests)

        answered, failures, stop = [0], [0], threading.Event()

        def poll() -> None:
            while not stop.is_set():
                try:
                    post(endpoint.url or "", body)
                    answered[0] += 1
                except OSError:
                    failures[0] += 1

        thread = threading.Thread(target=poll)
        thread.start()
        start = time.perf_counter()
        serving.deploy("bench", "2", uri, deployment)
        switch_s = time.perf_counter() - start
        stop.set()
        thread.join()
    finally:
        for found in serving.list():
            serving.undeploy(found.model)
    return {
        "first_s": first_s,
        "deploy_s": deploy_s,
        "proxy": (proxy_med, proxy_p95),
        "direct": (direct_med, direct_p95),
        "switch": (switch_s, answered[0], failures[0]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--serving", choices=("mlflow", "mlserver"), action="append")
    args = parser.parse_args()
    kinds = args.serving or ["mlflow", "mlserver"]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ame-bench-serving-") as tmp:
        root = Path(tmp)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        body = register_model(uri)
        bare_s = bare_serve_seconds(uri, root)
        results = {kind: measure(kind, root, uri, body, args.requests) for kind in kinds}
    print(f"{'':42}{'ame (proxy URL)':>18}{'direct/bare':>14}{'ratio':>8}")
    for kind, r in results.items():
        (proxy_med, proxy_p95), (direct_med, direct_p95) = r["proxy"], r["direct"]
        print(
            f"{kind + ': invocations median (ms)':42}{proxy_med:18.2f}{direct_med:14.2f}"
            f"{proxy_med / direct_med:8.2f}"
        )
        print(
            f"{kind + ': invocations p95 (ms)':42}{proxy_p95:18.2f}{direct_p95:14.2f}"
            f"{proxy_p95 / direct_p95:8.2f}"
        )
        print(
            f"{kind + ': deploy until healthy (s)':42}{r['deploy_s']:18.2f}{bare_s:14.2f}"
            f"{r['deploy_s'] / bare_s:8.2f}"
        )
        print(f"{kind + ': first deploy (env built) (s)':42}{r['first_s']:18.2f}")
        switch_s, answered, failures = r["switch"]
        print(
            f"{kind}: version switch {switch_s:.1f} s, {answered} requests answered during "
            f"it, {failures} failed"
        )
        failed += failures
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
