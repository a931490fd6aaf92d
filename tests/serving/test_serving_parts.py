"""The small parts of local serving, without servers: V2 requests from MLflow examples, the cause
found in a failed server's log or a failed environment build, the checks before deploying, and
the environment key of a runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from ame_core.runtime.backend import BackendError
from ame_core.runtime.envs import build_cause
from ame_core.serving import checks, v2
from ame_core.serving.causes import first_cause
from ame_core.serving.runtimes import RUNTIMES
from ame_core.serving.versions import ModelFiles, read_model_files

SIGNATURE = [{"type": "double", "name": "a"}, {"type": "long", "name": "b"}]


def test_a_v2_request_from_a_split_example() -> None:
    example = {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [3.0, 4]]}}
    assert v2.request(example, SIGNATURE) == {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": "a", "shape": [2, 1], "datatype": "FP64", "data": [1.5, 3.0]},
            {"name": "b", "shape": [2, 1], "datatype": "INT64", "data": [2, 4]},
        ],
    }


def test_a_v2_request_from_records_and_from_tensors() -> None:
    records = {"dataframe_records": [{"a": 1.0, "b": 2}]}
    assert [i["data"] for i in v2.request(records, SIGNATURE)["inputs"]] == [[1.0], [2]]
    tensor = [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]
    body = v2.request({"inputs": [[1, 2], [3, 4]]}, tensor)
    assert body["inputs"] == [
        {"name": "input-0", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}
    ]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match=r"a row needs 2 values \(a, b\)"):
        v2.request({"inputs": [[1.0]]}, SIGNATURE)


def test_server_metadata_types_a_request_as_the_signature_does() -> None:
    metadata = {"inputs": [{"name": "a", "datatype": "FP64"}, {"name": "b", "datatype": "INT64"}]}
    assert v2.signature_from_metadata(metadata) == [
        {"name": "a", "type": "double"},
        {"name": "b", "type": "long"},
    ]


def test_the_cause_is_the_exception_not_the_last_line() -> None:
    log = """INFO:     Started server process [12]
Traceback (most recent call last):
  File "x.py", line 3, in load_context
ModuleNotFoundError: No module named 'xgboost'
INFO:     Waiting for application shutdown.
INFO:     Application shutdown complete."""
    assert first_cause(log) == "No module named 'xgboost'"
    assert first_cause("mlflow.exceptions.MlflowException: bad model") == "bad model"
    assert first_cause("a\nb\n") == "b" and first_cause("") == ""


def test_the_cause_of_a_failed_uv_install() -> None:
    log = """[ame] $ uv pip install --python /e/bin/python -r r.txt
Using Python 3.11.7 environment at: /e
error: No solution found when resolving dependencies
  cause: Because nope was not found in the package registry, we can conclude that ...
[ame] environment set-up failed: uv exited with 1"""
    assert build_cause(log).startswith("Because nope was not found in the package registry")
    assert build_cause("  × No solution\n  ╰─▶ Because x is missing") == "Because x is missing"


def _files(tmp_path: Path, mlmodel: str, requirements: str = "") -> ModelFiles:
    (tmp_path / "MLmodel").write_text(mlmodel)
    (tmp_path / "requirements.txt").write_text(requirements)
    (tmp_path / "python_env.yaml").write_text("python: 3.11.7\n")
    return read_model_files(tmp_path)


def test_checks_say_what_to_change(tmp_path: Path) -> None:
    no_signature = _files(tmp_path, "flavors:\n  python_function: {}\nmlflow_version: 3.1.0\n")
    checks.check("m", "1", no_signature, RUNTIMES["mlflow"])  # mlflow serving needs none
    with pytest.raises(BackendError, match=r"^m v1 has no signature, which serving 'mlserver'"):
        checks.check("m", "1", no_signature, RUNTIMES["mlserver"])
    onnx = _files(tmp_path, "flavors:\n  onnx: {}\n")
    with pytest.raises(
        BackendError, match=r"^m v1 has no python_function flavor \(flavors: onnx\)"
    ):
        checks.check("m", "1", onnx, RUNTIMES["mlflow"])


def test_a_python_that_is_missing_is_named(tmp_path: Path) -> None:
    files = _files(tmp_path, "flavors:\n  python_function: {}\n")
    files.python_version = "2.9.1"
    with pytest.raises(BackendError) as caught:
        checks.python_of(files, "m v1")
    message = str(caught.value)
    assert message.startswith("m v1 was logged with Python 2.9.1 (python_env.yaml), which is not")
    assert "uv python install 2.9" in message and "\n" not in message


def test_runtime_requirements_add_the_server_not_a_second_mlflow(tmp_path: Path) -> None:
    logged = _files(tmp_path, "flavors: {}\nmlflow_version: 3.1.0\n", "mlflow==3.1.0\nnumpy\n")
    assert RUNTIMES["mlflow"].requirements(logged) == "mlflow==3.1.0\nnumpy\n"
    assert RUNTIMES["mlserver"].requirements(logged).splitlines() == [
        "mlserver==1.7.1",
        "mlserver-mlflow==1.7.1",
        "mlflow==3.1.0",
        "numpy",
    ]
    bare = _files(tmp_path, "flavors: {}\nmlflow_version: 3.1.0\n", "numpy\n")
    assert RUNTIMES["mlflow"].requirements(bare) == "mlflow==3.1.0\nnumpy\n"


def test_deployment_resources_are_admitted_as_task_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ame_core.runtime.resources import GPU_KEY
    from ame_core.serving.admission import admit

    monkeypatch.setenv("AME_FAKE_GPUS", "2")
    monkeypatch.setenv("AME_FAKE_MEMORY", "8Gi")
    monkeypatch.setenv("AME_FAKE_STORAGE", "10Gi")
    assert admit("m v1", None, 1, tmp_path, set()) == []
    assert admit("m v1", {GPU_KEY: 1, "memory": "1Gi"}, 1, tmp_path, {"0"}) == ["1"]
    with pytest.raises(BackendError, match=r"^m v1: 1 GPU\(s\) requested, 0 of 2 free"):
        admit("m v1", {GPU_KEY: 1}, 1, tmp_path, {"0", "1"})
    with pytest.raises(BackendError) as caught:
        admit("m v1", {"memory": "3Gi", "storage": "20Gi"}, 3, tmp_path, set())
    assert str(caught.value) == (
        "m v1: deployment.resources (3 replicas) ask for more than this machine has: "
        "memory 9 GiB requested, the machine has 8 GiB; "
        "storage 20 GiB requested, the project's file system has 10 GiB free"
    )
    with pytest.raises(BackendError, match=r"^deployment.resources.cpu: "):
        admit("m v1", {"cpu": "lots"}, 1, tmp_path, set())


def test_a_cluster_runtime_is_refused_locally_in_one_line(tmp_path: Path) -> None:
    from ame_core.serving.local import LocalServing
    from ame_core.spec.models import Deployment

    with pytest.raises(BackendError) as caught:
        LocalServing(tmp_path).deploy("m", "1", "sqlite:///x.db", Deployment(serving="kserve"))
    assert str(caught.value) == (
        "serving 'kserve' runs on a cluster only: deploy with --backend kubernetes, "
        "or serve locally with serving: mlflow or mlserver"
    )
    assert not (tmp_path / ".ame").exists()  # nothing written
