"""The same lifecycle against a real `mlflow server` (client/server tracking and registry,
artifacts proxied by the server): train → validate (passing and failing) → serve → a second
version without a gap → undeploy, driven through `ame --mlflow-uri URL model …`."""

from __future__ import annotations

import time

import pytest
from lifecycle_support import (
    MlflowServer,
    Poller,
    ame_env,
    copy_quickstart,
    invocation_body,
    kill_processes_under,
    patched_environ,
    post_json,
    set_min_accuracy,
    shared_cache,
)

from ame_cli.main import main

pytestmark = pytest.mark.slow

MODEL = "logreg"


@pytest.fixture(scope="module")
def server_project(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lifecycle-server")
    project = copy_quickstart(root / "quickstart")
    env = ame_env(root, shared_cache(tmp_path_factory))
    server = MlflowServer(root / "mlflow-server", env)
    try:
        with patched_environ(env):
            server.wait_ready()
            yield project, server
            from ame_core.serving.local import LocalServing

            serving = LocalServing(project)
            for endpoint in serving.list():
                serving.undeploy(endpoint.model)
    finally:
        server.stop()
        leaked = kill_processes_under(root)
    assert not leaked, f"processes left running: {leaked}"


def test_lifecycle_against_an_mlflow_server(server_project, capsys) -> None:
    project, server = server_project

    def ame(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--project", str(project), "--mlflow-uri", server.url, "model", *args])
        out, err = capsys.readouterr()
        return code, out, err

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)

    # train with autoDeploy: validated, then served
    code, out, err = ame("train", MODEL, "--quiet")
    assert code == 0, err
    assert "logreg v1 registered" in out and "validation: passed" in out
    assert "deployed: v1 at http://127.0.0.1:" in out
    url = out.split("deployed: v1 at ", 1)[1].split()[0]
    version = client.get_model_version(MODEL, "1")
    assert version.tags["ame.validation.status"] == "passed"
    assert str(client.get_model_version_by_alias(MODEL, "deployed").version) == "1"
    # the model's artifacts live behind the server, not in the project
    assert not (project / ".ame" / "mlartifacts").exists()
    status, answer = post_json(f"{url}/invocations", invocation_body(4))
    assert status == 200 and len(answer["predictions"]) == 4

    # a second version: failing validation first (refused), then passing
    code, out, err = ame("train", MODEL, "--no-deploy", "--quiet")
    assert code == 0, err
    assert "logreg v2 registered" in out
    set_min_accuracy(project, "0.999")
    code, out, err = ame("validate", MODEL, "--version", "2", "--quiet")
    assert code == 1 and "failed validation" in out
    assert client.get_model_version(MODEL, "2").tags["ame.validation.status"] == "failed"
    code, out, err = ame("deploy", MODEL, "--version", "2")
    assert code == 1 and "v2 failed validation" in err

    set_min_accuracy(project, "0.8")
    code, out, err = ame("validate", MODEL, "--version", "2", "--quiet")
    assert code == 0, err

    # switch versions while a client keeps asking: no failed request
    with Poller(url) as poller:
        _wait_for(lambda: poller.ok >= 5)
        code, out, err = ame("deploy", MODEL, "--version", "2")
        during = poller.ok
        _wait_for(lambda: poller.ok >= during + 5)
    assert code == 0, err
    assert f"logreg v2 ready at {url}" in out
    assert poller.failures == [], poller.failures[:5]
    assert str(client.get_model_version_by_alias(MODEL, "deployed").version) == "2"

    code, out, err = ame("status", MODEL)
    assert code == 0, err
    assert "served: v2 ready" in out and "v2 (deployed)" in out and "smoke request ok" in out

    code, out, err = ame("undeploy", MODEL)
    assert code == 0 and "no longer served" in out
    assert "deployed" not in client.get_registered_model(MODEL).aliases
    with pytest.raises(OSError):
        post_json(f"{url}/invocations", invocation_body(1), timeout=5)


def _wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
