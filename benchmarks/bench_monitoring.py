"""Model monitoring: what the request log costs, and how long a report takes.

1. Proxy overhead of the request log, side by side: two AME proxies in front of one fast
   upstream, one with `AME_REQUEST_LOG=off`, one with the log on (every request's row sampled,
   as at low traffic). Median latency of a 30-feature `/invocations` request, sent alternately
   to both, and requests per second with 4 clients each. Targets: ≤ 1 ms added at the median,
   ≤ 10 % fewer requests/s.
2. `ame model monitor` (whole process) on 100,000 logged rows × 30 features against a
   10,000-row reference, on the quickstart trained and served for real. Target: ≤ 2 s.

    python benchmarks/bench_monitoring.py [--requests N] [--skip-report]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
BIN = str(Path(sys.executable).parent)
os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")

COLUMNS = [f"feature {i}" for i in range(30)]
BODY = json.dumps(
    {"dataframe_split": {"columns": COLUMNS, "data": [[0.5 + i for i in range(30)]]}}
).encode()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"predictions": [1]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_proxy(
    folder: Path, name: str, upstream_port: int, log: bool
) -> tuple[subprocess.Popen, int]:
    state = folder / f"{name}.json"
    state.write_text(json.dumps({"server": {"port": upstream_port, "version": "1"}}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    env = {**os.environ, "AME_REQUEST_LOG": "on" if log else "off"}
    env["AME_REQUEST_LOG_ROWS_PER_MINUTE"] = str(10**9)  # sample every request: the worst case
    cmd = [sys.executable, "-m", "ame_core.serving.proxy", "--fd", str(sock.fileno())]
    process = subprocess.Popen(
        [*cmd, "--state", str(state)], pass_fds=(sock.fileno(),), env=env, cwd=REPO,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    sock.close()
    return process, port


def one(conn: http.client.HTTPConnection) -> float:
    started = time.perf_counter()
    conn.request("POST", "/invocations", body=BODY, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
    return (time.perf_counter() - started) * 1000


def throughput(port: int, seconds: float, clients: int = 4) -> float:
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            one(conn)
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def proxy_overhead(requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ame-bench-log-") as tmp:
        folder = Path(tmp) / ".ame" / "serving"
        folder.mkdir(parents=True)
        upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        upstream.daemon_threads = True
        threading.Thread(target=upstream.serve_forever, daemon=True).start()
        off, off_port = start_proxy(folder, "off", upstream.server_port, log=False)
        on, on_port = start_proxy(folder, "on", upstream.server_port, log=True)
        try:
            time.sleep(1.0)
            a = http.client.HTTPConnection("127.0.0.1", off_port, timeout=30)
            b = http.client.HTTPConnection("127.0.0.1", on_port, timeout=30)
            for _ in range(200):  # warm-up
                one(a), one(b)
            off_ms, on_ms = [], []
            for _ in range(requests):
                off_ms.append(one(a))
                on_ms.append(one(b))
            rates_off, rates_on = [], []
            for _ in range(2):  # alternate, so drift of the machine hits both
                rates_off.append(throughput(off_port, 4.0))
                rates_on.append(throughput(on_port, 4.0))
            time.sleep(1.5)  # the log's last flush
            logged = sum(p.stat().st_size for p in (folder / "requests").rglob("*.jsonl"))
        finally:
            for p in (off, on):
                p.terminate()
                p.wait(timeout=10)
            upstream.shutdown()
        med_off, med_on = statistics.median(off_ms), statistics.median(on_ms)
        rps_off, rps_on = statistics.mean(rates_off), statistics.mean(rates_on)
        print(f"{'':36}{'log on':>12}{'log off':>12}{'difference':>14}")
        print(f"{'median latency (ms)':36}{med_on:12.3f}{med_off:12.3f}{med_on - med_off:+14.3f}")
        p95_on = statistics.quantiles(on_ms, n=20)[-1]
        p95_off = statistics.quantiles(off_ms, n=20)[-1]
        print(f"{'p95 latency (ms)':36}{p95_on:12.3f}{p95_off:12.3f}{p95_on - p95_off:+14.3f}")
        change = (rps_on - rps_off) / rps_off * 100
        print(f"{'requests/s, 4 clients':36}{rps_on:12.0f}{rps_off:12.0f}{change:+13.1f}%")
        print(f"request log written: {logged / 1e6:.1f} MB")
        print("targets: ≤ 1 ms added at the median, ≤ 10 % fewer requests/s")


def report_time(runs: int) -> None:
    from ame_core.monitoring.request_log import RequestLog, Settings, log_root

    with tempfile.TemporaryDirectory(prefix="ame-bench-monitor-") as tmp:
        project = Path(tmp) / "quickstart"
        shutil.copytree(
            REPO / "examples" / "quickstart", project, ignore=shutil.ignore_patterns(".ame")
        )
        env = dict(os.environ)  # the user's environment cache, as `ame` uses it
        ame = [sys.executable, "-m", "ame_cli", "--project", str(project)]
        started = time.monotonic()
        subprocess.run([*ame, "model", "train", "logreg", "--quiet"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        print(f"quickstart trained and served in {time.monotonic() - started:.0f} s")
        try:
            from sklearn.datasets import load_breast_cancer

            frame, _ = load_breast_cancer(return_X_y=True, as_frame=True)
            reference = frame.sample(10_000, replace=True, random_state=1)
            reference.to_csv(project / "reference.csv", index=False)
            text = (project / "ame.yml").read_text()
            text = text.replace(
                "    monitoring:\n", "    monitoring:\n      reference: reference.csv\n"
            )
            (project / "ame.yml").write_text(text)
            served = json.loads((project / ".ame" / "serving" / "logreg.json").read_text())
            version = str(served["server"]["version"])
            log = RequestLog(log_root(project) / "logreg", Settings(rows_per_minute=10**9))
            rows = frame.sample(100_000, replace=True, random_state=2)
            columns = list(rows.columns)
            values = rows.values.tolist()
            for start in range(0, len(values), 10):
                body = {"dataframe_split": {"columns": columns, "data": values[start : start + 10]}}
                log.add(version, 200, 5.0, json.dumps(body).encode(), "application/json")
                if start % 20_000 == 0:
                    log.flush()
            log.flush()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                out = subprocess.run([*ame, "model", "monitor", "logreg", "--no-record", "--json"],
                                     env=env, capture_output=True, text=True)  # fmt: skip
                times.append(time.perf_counter() - t0)
                assert out.returncode == 0, out.stderr
            report = json.loads(out.stdout)
            assert report["drift"]["rows"] == 100_000, report["drift"]["rows"]
            t0 = time.perf_counter()
            recorded = subprocess.run([*ame, "model", "monitor", "logreg"], env=env,
                                      capture_output=True, text=True)  # fmt: skip
            with_record = time.perf_counter() - t0
            assert recorded.returncode == 0, recorded.stderr
            print(
                f"ame model monitor, 100,000 rows x 30 features vs 10,000-row reference: "
                f"median {statistics.median(times):.2f} s of {runs} (best {min(times):.2f} s); "
                f"with the MLflow run recorded: {with_record:.2f} s  (target ≤ 2 s)"
            )
        finally:
            subprocess.run([*ame, "model", "undeploy", "logreg"], env=env, capture_output=True)
            subprocess.run([*ame, "mlflow", "stop"], env=env, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    proxy_overhead(args.requests)
    if not args.skip_report:
        report_time(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
