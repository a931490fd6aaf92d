"""Small parts on their own: masking, records, executor plans, admission arithmetic."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ame_core.runtime.backend import BackendError, RunRecord, RunStatus
from ame_core.runtime.executors import ExecutorError, build_plan
from ame_core.runtime.masking import Masker
from ame_core.runtime.records import RecordStore
from ame_core.runtime.resources import Inventory, Request, assign_gpus, too_large, waiting_reason
from ame_core.runtime.supervisor import shell_argv
from ame_core.spec.models import Task


def test_masker_masks_values_split_across_chunks() -> None:
    masker = Masker(["hunter2", "abc"])
    out = b""
    for chunk in [b"pass=hun", b"te", b"r2 and ab", b"c!", b" and hun"]:
        out += masker.feed(chunk)
    out += masker.flush()
    assert out == b"pass=**** and ****! and hun"
    assert Masker([]).feed(b"x") == b"x"
    assert Masker(["s"]).mask_text("a secret") == "a ****ecret"


def test_records_are_atomic_and_found_by_part(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    record = RunRecord(id="20260101-000000-abcdef", project="p", task="t", backend="local")
    store.write(record)
    assert not list(store.runs_dir.glob("*.tmp"))
    assert json.loads(store.path(record.id).read_text())["status"] == "queued"
    assert store.find("abcdef") == record.id
    updated = store.update(record.id, lambda r: setattr(r, "status", RunStatus.RUNNING))
    assert updated.status == RunStatus.RUNNING
    with pytest.raises(BackendError, match="no run"):
        store.find("zzz")


def _task(executor: dict) -> Task:
    return Task.model_validate({"name": "t", "executor": executor})


def test_plans_for_every_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AME_CACHE_DIR", str(tmp_path / "cache"))
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    pip = build_plan(_task({"pip": {"pythonVersion": version, "command": "python x.py"}}), tmp_path)
    assert pip.command == "python x.py"
    assert pip.setup and "ame_core.runtime.envs" in pip.setup[0]
    assert pip.path_prepend[0].startswith(str(tmp_path / "cache" / "envs"))
    custom = build_plan(_task({"custom": {"command": "./run.sh"}}), tmp_path)
    assert custom.setup == [] and custom.command == "./run.sh"
    # in a container: the image provides Python; set-up runs there
    c_pip = build_plan(
        _task({"pip": {"pythonVersion": "3.11", "command": "python x.py"}}),
        tmp_path,
        for_container=True,
    )
    assert "pip install" in c_pip.setup[0] and c_pip.command == "python x.py"
    c_poetry = build_plan(
        _task({"poetry": {"pythonVersion": "3.11", "command": "python x.py"}}),
        tmp_path,
        for_container=True,
    )
    assert c_poetry.setup == ["poetry install --no-interaction"]
    assert c_poetry.command == "poetry run python x.py"
    c_pipenv = build_plan(
        _task({"pipenv": {"command": "python x.py"}}), tmp_path, for_container=True
    )
    assert c_pipenv.setup == ["pipenv sync"] and c_pipenv.command == "pipenv run python x.py"
    c_mlflow = build_plan(_task({"mlflow": {"command": "train"}}), tmp_path, for_container=True)
    assert "mlflow run . --env-manager local -e train" in c_mlflow.command
    assert '--run-id "$MLFLOW_RUN_ID"' in c_mlflow.command
    # locally, a missing MLproject or tool is a clear error
    with pytest.raises(ExecutorError, match="MLproject"):
        build_plan(_task({"mlflow": {"command": "train"}}), tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExecutorError, match="needs `poetry` on PATH"):
        build_plan(_task({"poetry": {"pythonVersion": "3.11", "command": "x"}}), tmp_path)


def test_requirements_change_means_a_new_environment(tmp_path: Path, monkeypatch) -> None:
    from ame_core.runtime.envs import env_dir_for

    monkeypatch.setenv("AME_CACHE_DIR", str(tmp_path))
    req = tmp_path / "requirements.txt"
    req.write_text("six==1.16.0\n")
    first = env_dir_for(req, "3.11.7")
    assert env_dir_for(req, "3.11.7") == first
    assert env_dir_for(req, "3.12.1") != first
    req.write_text("six==1.17.0\n")
    assert env_dir_for(req, "3.11.7") != first


def test_admission_arithmetic() -> None:
    inv = Inventory(Decimal(4), Decimal(8 * 2**30), ("0", "1"))
    assert too_large(Request.of({"nvidia.com/gpu": 3}), inv) == (
        "nvidia.com/gpu 3 requested, the machine has 2"
    )
    assert "cpu 8 requested, the machine has 4" in too_large(Request.of({"cpu": 8}), inv)
    assert too_large(Request.of({"cpu": "500m", "memory": "1Gi"}), inv) is None
    used = Request.of({"cpu": 3, "nvidia.com/gpu": 2})
    why = waiting_reason(Request.of({"cpu": 2, "nvidia.com/gpu": 1}), used, inv)
    assert "cpu: 2 requested, 1 of 4 free" in why and "GPUs: 1 requested, 0 of 2 free" in why
    assert waiting_reason(Request.of({"cpu": 1}), used, inv) is None
    assert assign_gpus(1, {"0"}, inv) == ["1"]


def test_simple_commands_run_without_a_shell() -> None:
    assert shell_argv("python train.py --n 3") == ["python", "train.py", "--n", "3"]
    assert shell_argv('python -c "import a; a.b()"') == ["python", "-c", "import a; a.b()"]
    for needs_shell in ("a && b", "echo $HOME", "ls *.py", "X=1 cmd", "a > out", "a; b"):
        assert shell_argv(needs_shell) == ["/bin/sh", "-c", needs_shell]
