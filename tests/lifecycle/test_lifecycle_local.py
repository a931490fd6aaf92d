"""The model lifecycle end to end on a copy of examples/quickstart, on the local backend:
real task runs (`!pip` environment), the project's local MLflow server (store under `.ame/`),
real `mlflow models serve` processes answering HTTP.

The tests share one project and run in file order: train (autoDeploy) → validate → serve →
failing validation → a second version without a gap → batch inference → monitoring → undeploy.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from lifecycle_support import (
    Poller,
    ame_env,
    copy_quickstart,
    features,
    invocation_body,
    kill_processes_under,
    patched_environ,
    post_json,
    processes_under,
    set_min_accuracy,
    shared_cache,
)

from ame_cli.main import main
from ame_core.lifecycle import Lifecycle, TrainResult

pytestmark = pytest.mark.slow

MODEL = "logreg"


@dataclass
class Flow:
    root: Path
    project: Path
    lifecycle: Lifecycle
    first: TrainResult

    def ame(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        """`ame --project P ARGS…` in this process (the CLI users type); (code, out, err)."""
        capsys.readouterr()
        code = main(["--project", str(self.project), *args])
        out, err = capsys.readouterr()
        return code, out, err

    def client(self):
        from mlflow import MlflowClient

        uri = self.lifecycle.tracking_uri
        return MlflowClient(tracking_uri=uri, registry_uri=uri)

    def endpoint(self):
        return self.lifecycle.backend.endpoint(MODEL, self.lifecycle.context())


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lifecycle-local")
    project = copy_quickstart(root / "quickstart")
    with patched_environ(ame_env(root, shared_cache(tmp_path_factory))):
        lifecycle = Lifecycle.open(project, run_timeout=900)
        try:
            first = lifecycle.train(MODEL)  # autoDeploy: true → validate → deploy
            yield Flow(root, project, lifecycle, first)
        finally:
            from ame_core.serving.local import LocalServing

            serving = LocalServing(project)
            for endpoint in serving.list():
                serving.undeploy(endpoint.model)
    leaked = kill_processes_under(root)
    assert not leaked, f"processes left running: {leaked}"


def test_training_registers_a_version_and_autodeploy_serves_it(flow: Flow) -> None:
    first = flow.first
    assert first.run.status.value == "succeeded", first.run.reason
    assert first.version == "1"
    # the registry version is the training run's
    version = flow.client().get_model_version(MODEL, "1")
    assert version.run_id == first.run.mlflow_run_id
    # autoDeploy ran the validation task on that version, and recorded its verdict as tags
    assert first.validation is not None and first.validation.passed
    assert version.tags["ame.validation.status"] == "passed"
    assert version.tags["ame.validation.run_id"] == first.validation.run.id
    log = Path(first.validation.run.log_path).read_text()
    assert "logreg v1 accepted" in log  # validate.py got AME_MODEL_NAME/VERSION
    # then deployed it: the registry alias, a healthy endpoint, real predictions over HTTP
    assert first.endpoint is not None and first.endpoint.status.value == "ready"
    assert str(flow.client().get_model_version_by_alias(MODEL, "deployed").version) == "1"
    status, answer = post_json(f"{first.endpoint.url}/invocations", invocation_body(5))
    assert status == 200
    assert len(answer["predictions"]) == 5
    assert set(answer["predictions"]) <= {0, 1}


def test_status_and_list_show_versions_verdicts_and_health(flow: Flow, capsys) -> None:
    code, out, err = flow.ame(capsys, "model", "status", MODEL)
    assert code == 0, err
    assert "v1 (deployed)" in out
    assert "passed" in out and "accuracy=0.986" in out
    assert f"served: v1 ready at {flow.first.endpoint.url}" in out
    assert "ping ok" in out and "smoke request ok" in out

    code, out, err = flow.ame(capsys, "model", "list", "--json")
    assert code == 0, err
    rows = {row["model"]: row for row in json.loads(out)}
    assert set(rows) == {MODEL, "logreg_plain"}
    row = rows[MODEL]
    assert row["model"] == MODEL and row["latest"] == "1" and row["deployed"] == "1"
    assert row["latest_validation"] == "passed"
    assert row["endpoint"]["status"] == "ready"


def test_unvalidated_and_failed_versions_are_refused(flow: Flow, capsys) -> None:
    code, out, err = flow.ame(
        capsys, "model", "train", MODEL, "--no-validate", "--no-deploy", "--quiet"
    )
    assert code == 0, err
    assert "logreg v2 registered" in out

    # never validated: refused, with what to do
    code, out, err = flow.ame(capsys, "model", "deploy", MODEL, "--version", "2")
    assert code == 1
    assert "v2 has not been validated" in err and "--force" in err
    assert "Traceback" not in err

    # a failing validation (a threshold the model cannot meet) is recorded on the version
    set_min_accuracy(flow.project, "0.999")
    code, out, err = flow.ame(capsys, "model", "validate", MODEL, "--version", "2", "--quiet")
    assert code == 1
    assert "logreg v2 failed validation" in out
    version = flow.client().get_model_version(MODEL, "2")
    assert version.tags["ame.validation.status"] == "failed"

    code, out, err = flow.ame(capsys, "model", "deploy", MODEL, "--version", "2")
    assert code == 1
    assert "v2 failed validation" in err and "--force" in err
    # v1 is still the one served
    assert flow.endpoint().version == "1"
    assert str(flow.client().get_model_version_by_alias(MODEL, "deployed").version) == "1"


def test_autodeploy_does_not_deploy_a_version_that_fails_validation(flow: Flow) -> None:
    set_min_accuracy(flow.project, "0.999")
    lifecycle = Lifecycle.open(flow.project)  # re-reads the project file
    result = lifecycle.train(MODEL)
    assert result.run.status.value == "succeeded"
    assert result.version == "3"
    assert result.validation is not None and not result.validation.passed
    assert result.endpoint is None
    assert "did not pass validation" in (result.auto_deploy_note or "")
    assert flow.endpoint().version == "1"
    assert str(flow.client().get_model_version_by_alias(MODEL, "deployed").version) == "1"


def test_deploying_a_new_version_has_no_gap(flow: Flow, capsys) -> None:
    set_min_accuracy(flow.project, "0.8")
    code, out, err = flow.ame(capsys, "model", "validate", MODEL, "--version", "2", "--quiet")
    assert code == 0, err
    assert flow.client().get_model_version(MODEL, "2").tags["ame.validation.status"] == "passed"

    before = flow.endpoint()
    assert before.version == "1"
    with Poller(before.url) as poller:
        _wait_for(lambda: poller.ok >= 5, "the poller's first answers")
        code, out, err = flow.ame(capsys, "model", "deploy", MODEL, "--version", "2")
        answered_during = poller.ok
        _wait_for(lambda: poller.ok >= answered_during + 5, "answers after the switch")
    assert code == 0, err
    assert poller.failures == [], poller.failures[:5]

    after = flow.endpoint()
    assert after.version == "2" and after.status.value == "ready"
    assert after.url == before.url  # one URL for the model, whatever version it serves
    assert after.extra["pid"] != before.extra["pid"]
    assert not _alive(before.extra["pid"])  # the old server is gone
    assert str(flow.client().get_model_version_by_alias(MODEL, "deployed").version) == "2"


def test_a_dead_server_shows_as_failed_and_a_deploy_brings_it_back(flow: Flow, capsys) -> None:
    import os
    import signal

    endpoint = flow.endpoint()
    os.killpg(endpoint.extra["pid"], signal.SIGKILL)  # as if the OOM killer struck
    _wait_for(lambda: flow.endpoint().status.value == "failed", "the endpoint to show failed")
    assert "has exited" in flow.endpoint().detail

    code, out, err = flow.ame(capsys, "model", "status", MODEL)
    assert code == 0, err
    assert "served: v2 failed" in out and "ping FAILED" in out

    code, out, err = flow.ame(capsys, "model", "deploy", MODEL, "--version", "2")
    assert code == 0, err
    assert flow.endpoint().status.value == "ready" and flow.endpoint().url == endpoint.url
    assert post_json(f"{endpoint.url}/invocations", invocation_body(2))[0] == 200


def test_a_deploy_that_cannot_start_leaves_nothing_behind(flow: Flow) -> None:
    from ame_core.runtime.backend import BackendError
    from ame_core.serving.local import LocalServing

    serving = LocalServing(flow.project)
    with pytest.raises(BackendError, match="exited before it was ready"):
        serving.deploy("nosuch", "1", flow.lifecycle.tracking_uri)
    assert serving.endpoint("nosuch") is None
    assert [e.model for e in serving.list()] == [MODEL]
    _wait_for(
        lambda: not [p for p in processes_under(flow.project) if "nosuch" in p],
        "the failed server to exit",
    )


def test_batch_predict_csv_and_json_lines(flow: Flow, capsys) -> None:
    rows = features().head(20)
    (flow.root / "in").mkdir(exist_ok=True)
    rows.to_csv(flow.root / "in" / "rows.csv", index=False)
    rows.to_json(flow.root / "in" / "rows.jsonl", orient="records", lines=True)
    served = post_json(
        f"{flow.endpoint().url}/invocations",
        json.dumps(
            {"dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}}
        ).encode(),
    )[1]["predictions"]

    import pandas as pd

    rows.to_parquet(flow.root / "in" / "rows.parquet", index=False)
    for suffix, read in (
        (".csv", pd.read_csv),
        (".jsonl", _read_jsonl),
        (".parquet", pd.read_parquet),
    ):
        source = flow.root / "in" / f"rows{suffix}"
        target = flow.root / "out" / f"scored{suffix}"
        target.parent.mkdir(exist_ok=True)  # --output into a missing folder is refused
        code, out, err = flow.ame(
            capsys, "model", "predict", MODEL, "--input", str(source), "--output", str(target)
        )
        assert code == 0, err
        assert "20 rows scored with logreg v2" in out  # the deployed version by default
        scored = read(target)
        assert len(scored) == 20
        assert list(scored.columns[:-1]) == list(rows.columns)
        assert scored["prediction"].tolist() == served

    # the model's batchInference section: data/score.csv → out/scored.jsonl, alias deployed
    code, out, err = flow.ame(capsys, "model", "predict", MODEL)
    assert code == 0, err
    assert len(_read_jsonl(flow.project / "out" / "scored.jsonl")) == 10

    code, out, err = flow.ame(
        capsys, "model", "predict", MODEL, "--input", "missing.csv", "--output", "x.csv"
    )
    assert code == 1 and "missing.csv: no such file" in err


def _send(url: str, body: bytes) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_monitor_flags_the_shifted_feature_and_records_it_in_mlflow(flow: Flow, capsys) -> None:
    from ame_core.monitoring import request_log

    url = flow.endpoint().url
    # Earlier tests sent other rows: the report's window must hold these only. The proxy
    # writes its log once a second, so a request it still holds is not on disk yet: the log
    # is quiet when its bytes have not changed for 3 s and its newest record is 3 s old.
    # The window then reaches back 1.5 s before these requests, into that quiet.
    root = request_log.log_root(flow.project)

    def on_disk() -> tuple[float, int]:
        found = request_log.read(root, MODEL, time.time() - 120)
        newest = max((t for log in found.values() for t in log.times), default=0.0)
        return newest, request_log.disk_usage(root, MODEL)

    deadline = time.monotonic() + 60
    seen, unchanged_since = on_disk(), time.monotonic()
    while time.monotonic() < deadline and (
        time.monotonic() - unchanged_since < 3.0 or time.time() - seen[0] <= 3.0
    ):
        time.sleep(0.2)
        if (now := on_disk()) != seen:
            seen, unchanged_since = now, time.monotonic()
    assert time.time() - seen[0] > 3.0, "the request log did not go quiet"
    started = time.time()
    reference = features()
    rows = reference.sample(300, replace=True, random_state=3).reset_index(drop=True)
    rows["mean radius"] += 5 * reference["mean radius"].std()
    for start in range(0, len(rows), 10):
        chunk = rows.iloc[start : start + 10]
        body = {"dataframe_split": {"columns": list(chunk.columns), "data": chunk.values.tolist()}}
        assert _send(url, json.dumps(body).encode()) == 200
    # Bad input reaches the model as it is; the log counts it and goes on.
    assert _send(url, b"{not json") == 400
    assert _send(url, json.dumps({"instances": [[1.0, 2.0, 3.0]]}).encode()) >= 400
    assert _send(url, invocation_body(2)) == 200

    def logged() -> int:
        found = request_log.read(root, MODEL, started)
        return sum(len(rows) for log in found.values() for _, rows in log.samples)

    deadline = time.monotonic() + 15
    while logged() < 300 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert logged() >= 300

    window = f"{int((time.time() - started + 1.5) * 1000)}ms"  # these requests, no others
    code, out, err = flow.ame(capsys, "model", "monitor", MODEL, "--window", window)
    assert code == 0, err
    assert "drift: 1 of 30 features (3%): mean radius" in out, out[-3000:]
    assert "reference: the training run's ame-reference/" in out
    assert "1 requests not JSON" in out and "not matching the signature" in out
    deployed = flow.endpoint().version
    report = json.loads((flow.project / ".ame" / "monitoring" / MODEL / "latest.json").read_text())
    assert report["version"] == deployed and report["drift"]["drifted"] == ["mean radius"]
    assert report["traffic"]["requests"] >= 33 and report["traffic"]["errors"] >= 2
    assert report["traffic"]["latency_ms"]["p95"] > 0
    # The task ran after the report, and was handed it.
    run_id = out.split("monitoring run ", 1)[1].split()[0]
    log_text = Path(flow.lifecycle.backend.get_run(run_id).log_path).read_text()
    assert "REPORT drift" in log_text

    client = flow.client()
    experiment = client.get_experiment_by_name(flow.lifecycle.project.name)
    runs = client.search_runs(
        [experiment.experiment_id], "tags.`ame.kind` = 'monitoring'", max_results=5
    )
    recorded = next(r for r in runs if r.info.run_id == report["mlflow_run_id"])
    assert recorded.data.tags["ame.model"] == MODEL
    assert recorded.data.tags["ame.version"] == deployed
    assert recorded.data.tags["ame.verdict"] == "drift"
    assert recorded.data.metrics["drift_share"] == pytest.approx(1 / 30, abs=1e-6)
    assert recorded.data.metrics["drift.mean radius.p_value"] < 0.05
    assert recorded.data.metrics["drift.mean texture.p_value"] >= 0.05
    assert "latency_p95_ms" in recorded.data.metrics and "error_rate" in recorded.data.metrics
    artifacts = [a.path for a in client.list_artifacts(recorded.info.run_id, "monitoring")]
    assert artifacts == ["monitoring/report.json"]
    # The served model kept answering through it all.
    assert _send(url, invocation_body(1)) == 200


def test_monitoring_runs_against_the_deployed_version(flow: Flow, capsys) -> None:
    code, out, err = flow.ame(capsys, "model", "monitor", MODEL)
    assert code == 0, err
    deployed = flow.endpoint().version
    assert f"of logreg v{deployed}: succeeded" in out
    run_id = out.split("monitoring run ", 1)[1].split()[0]
    record = flow.lifecycle.backend.get_run(run_id)
    seen = json.loads(Path(record.log_path).read_text().split("MONITOR ", 1)[1].splitlines()[0])
    assert seen == {
        "AME_MODEL_NAME": MODEL,
        "AME_MODEL_VERSION": deployed,
        "AME_MODEL_URI": f"models:/{MODEL}/{deployed}",
    }
    metrics = flow.client().get_run(record.mlflow_run_id).data.metrics
    assert metrics["monitored_version"] == float(deployed)


def test_undeploy_stops_the_server(flow: Flow, capsys) -> None:
    url = flow.endpoint().url
    code, out, err = flow.ame(capsys, "model", "undeploy", MODEL)
    assert code == 0, err
    assert "no longer served" in out
    assert flow.endpoint() is None
    aliases = flow.client().get_registered_model(MODEL).aliases
    assert "deployed" not in aliases
    with pytest.raises(OSError):
        post_json(f"{url}/invocations", invocation_body(1), timeout=5)
    _wait_for(
        lambda: not processes_under(flow.project, tracking_servers=False),
        "the serving processes to exit",
    )

    code, out, err = flow.ame(capsys, "model", "undeploy", MODEL)
    assert code == 0 and "was not served" in out

    code, out, err = flow.ame(capsys, "model", "monitor", MODEL)
    assert code == 1 and "logreg is not deployed" in err


def test_autodeploy_without_validation_serves_at_once(flow: Flow, capsys) -> None:
    code, out, err = flow.ame(capsys, "model", "train", "logreg_plain", "--quiet")
    assert code == 0, err
    assert "logreg_plain v1 registered" in out and "validation:" not in out
    assert "deployed: v1 at http://127.0.0.1:" in out
    url = out.split("deployed: v1 at ", 1)[1].split()[0]
    assert post_json(f"{url}/invocations", invocation_body(2))[0] == 200
    code, out, err = flow.ame(capsys, "model", "undeploy", "logreg_plain")
    assert code == 0 and "no longer served" in out


# --- helpers ----------------------------------------------------------------------------------


def _read_jsonl(path: Path):
    import pandas as pd

    return pd.read_json(path, lines=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
