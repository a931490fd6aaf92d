"""A canary rollout on this machine, with real `mlflow models serve` processes behind the real
proxy, driven by the deploy flow's detached driver as `ame model deploy` starts it: v1 served,
v2 takes half the requests for the window and its gate holds (promoted); v3, whose model fails
every request, is rolled back as soon as the gate has enough requests. Both in the history.

The tests share one project and run in file order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from serving_support import (
    ame_env,
    invocation_body,
    kill_processes_under,
    processes_under,
    wait_for,
)

pytestmark = pytest.mark.slow

MODEL = "scorer"
PROJECT = f"""\
project: canary
models:
  - name: {MODEL}
    deployment:
      rollout:
        strategy: canary
        canary: 50%
        window: 15s
        minRequests: 30
        gate: {{maxErrorRate: 5%}}
"""

FAILING_MODEL = """
import mlflow.pyfunc
from mlflow.models import set_model


class Failing(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        raise RuntimeError("this version is broken")


set_model(Failing())
"""


def register(uri: str, root: Path) -> None:
    """v1 and v2: one LogisticRegression; v3: a model that raises, with the same requirements
    (so it is served from the same environment)."""
    script = textwrap.dedent(
        f"""
        import mlflow, serving_support as s
        s.register_versions({uri!r}, {MODEL!r}, 2)
        client = mlflow.MlflowClient({uri!r})
        v1 = client.get_model_version({MODEL!r}, "1")
        requirements = mlflow.artifacts.download_artifacts(
            f"models:/{MODEL}/1/requirements.txt", dst_path={str(root / "req")!r}
        )
        lines = [x for x in open(requirements).read().splitlines() if x.strip()]
        info = mlflow.pyfunc.log_model(
            name="model", python_model={str(root / "failing.py")!r}, pip_requirements=lines,
            input_example=s.features().head(3),
        )
        mlflow.register_model(info.model_uri, {MODEL!r})
        """
    )
    (root / "failing.py").write_text(FAILING_MODEL)
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        check=True,
        timeout=600,
    )


@dataclass
class Canary:
    root: Path
    project: Path
    uri: str
    env: dict[str, str]

    def ame(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ame_cli", "--project", str(self.project),
             "--mlflow-uri", self.uri, *args],
            capture_output=True, text=True, env=self.env, timeout=timeout,
        )  # fmt: skip

    def status(self) -> dict:
        done = self.ame("model", "status", MODEL, "--json", "--no-health")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def history(self) -> list[dict]:
        done = self.ame("model", "history", MODEL, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@dataclass
class Load:
    """Requests through the model's URL all the time, with the version that answered."""

    url: str
    answers: list[tuple[int, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        body = invocation_body(3)
        while not self.stop.is_set():
            request = urllib.request.Request(
                f"{self.url}/invocations", data=body, method="POST",
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    self.answers.append((response.status, response.headers["AME-Model-Version"]))
            except urllib.error.HTTPError as exc:
                self.answers.append((exc.code, exc.headers.get("AME-Model-Version")))
            except OSError:
                self.answers.append((0, None))
            self.stop.wait(0.03)

    def __enter__(self) -> Load:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canary]:
    root = tmp_path_factory.mktemp("canary")
    project = root / "project"
    project.mkdir()
    (project / "ame.yml").write_text(PROJECT)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    register(uri, root)
    env = ame_env(root, root / "cache")
    setup = Canary(root, project, uri, env)
    try:
        first = setup.ame("model", "deploy", MODEL, "--version", "1", "--force", "--quiet")
        assert first.returncode == 0, first.stderr  # nothing served yet: a plain deploy
        yield setup
    finally:
        setup.ame("model", "undeploy", MODEL, "--quiet", timeout=120)
        # The undeploy flow's driver exits a moment after it wrote the flow's end.
        wait_for(
            lambda: not [p for p in processes_under(root) if "flows.driver" in p],
            "the last driver to exit",
            30,
        )
        leaked = kill_processes_under(root)
        assert not leaked, f"processes left running: {leaked}"


def test_a_canary_whose_gate_holds_is_promoted(canary: Canary) -> None:
    url = canary.status()["endpoint"]["url"]
    with Load(url) as load:
        done = canary.ame("model", "deploy", MODEL, "--version", "2", "--force", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "takes canary 50% for 15s" in done.stderr
    assert "promoted: gate held: error rate 0.00% ≤ 5%" in done.stderr
    status = canary.status()
    assert status["deployed"] == "2" and status["endpoint"]["version"] == "2"
    answered = [version for code, version in load.answers if code == 200]
    assert len(answered) == len(load.answers), load.answers[:5]  # no failed request
    assert set(answered) == {"1", "2"}  # every answer names its version
    # While the canary ran (from v2's first answer to v1's last), about half went to v2.
    first, last = answered.index("2"), len(answered) - 1 - answered[::-1].index("1")
    split = answered[first : last + 1]
    share = split.count("2") / len(split)
    assert len(split) >= 30 and 0.3 < share < 0.7, (share, len(split))
    assert answered[-1] == "2"
    event = canary.history()[0]
    assert (event["event"], event["from_version"], event["to_version"]) == ("deploy", "1", "2")
    assert (event["strategy"], event["outcome"]) == ("canary", "succeeded")
    assert event["metrics"]["canary_requests"] >= 30
    assert event["metrics"]["canary_error_rate"] == 0.0


def test_a_canary_that_fails_requests_is_rolled_back(canary: Canary) -> None:
    url = canary.status()["endpoint"]["url"]
    with Load(url) as load:
        done = canary.ame("model", "deploy", MODEL, "--version", "3", "--force", "--quiet")
    assert done.returncode == 1
    assert "canary scorer v3 rolled back: error rate" in done.stderr.strip().splitlines()[-1]
    status = canary.status()
    assert status["deployed"] == "2" and status["endpoint"]["version"] == "2"
    assert "canary" not in (status["endpoint"]["extra"] or {})
    failed = [version for code, version in load.answers if code != 200]
    assert failed and set(failed) == {"3"}  # only the canary's share failed
    event = canary.history()[0]
    assert (event["to_version"], event["strategy"], event["outcome"]) == (
        "3",
        "canary",
        "rolled back",
    )
    assert event["reason"].startswith("error rate 100.00% > 5%")


def test_ame_model_promote_ends_a_canary_early(canary: Canary) -> None:
    started = canary.ame("model", "deploy", MODEL, "--version", "1", "--force", "--detach")
    assert started.returncode == 0, started.stderr
    wait_for(
        lambda: (canary.status()["endpoint"]["extra"] or {}).get("canary"),
        "the canary of v1 to be served",
        300,
    )
    done = canary.ame("model", "promote", MODEL, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "the canary is asked to promote" in done.stderr
    status = canary.status()
    assert status["deployed"] == "1" and status["endpoint"]["version"] == "1"
    event = canary.history()[0]
    assert (event["event"], event["from_version"], event["to_version"]) == ("promote", "2", "1")
    assert event["reason"] == "promoted on request (ame model promote)"
    # Nothing running to promote now: one line.
    again = canary.ame("model", "promote", MODEL)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "ame: scorer has no canary running (a deploy with `rollout: {strategy: canary}` starts one)"
    )
