"""What `ame model …` says when it cannot go ahead: one line, what is wrong and what to do,
never a traceback. These stop before any task runs or any server starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ame_cli.main import main

PROJECT = """\
project: errs
tasks:
  - name: hello
    executor: !custom
      command: echo hello
models:
  - name: logreg
    training:
      task:
        taskRef: hello
  - name: fancy
    deployment:
      serving: kserve
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ame.yml").write_text(PROJECT)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("AME_BACKEND", raising=False)
    return tmp_path


def ame(project: Path, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--project", str(project), "model", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "logrge"), "has no model 'logrge'; did you mean 'logreg'?"),
        (
            ("deploy", "fancy", "--version", "1"),
            "model fancy: serving 'kserve' does not run on the local backend (it runs mlflow, "
            "mlserver); deploy with --backend kubernetes",
        ),
        (("train", "fancy"), "model fancy has no training task"),
        (("validate", "logreg"), "model logreg has no validation task"),
        (("monitor", "logreg"), "logreg is not deployed; monitoring watches the served version"),
        (("predict", "logreg"), "no batchInference section: give --input FILE"),
        (("predict", "logreg", "--input", "a.txt", "--output", "b.csv"), "unknown file type .txt"),
    ],
)
def test_one_line_errors(project: Path, capsys, args: tuple[str, ...], message: str) -> None:
    code, out, err = ame(project, capsys, *args)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


def test_a_project_with_errors_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "ame.yml").write_text("project: bad\ntasks:\n  - name: x\n    executor: !nope {}\n")
    code, out, err = ame(tmp_path, capsys, "train", "x")
    assert code == 2 and "ame.yml" in err  # a project that cannot be used: exit 2, as lint


def test_local_dry_run_says_what_would_be_served(project: Path, capsys) -> None:
    code, out, err = ame(project, capsys, "deploy", "logreg", "--version", "3", "--dry-run")
    assert code == 0, err
    assert "models:/logreg/3" in out and "mlflow models serve" in out


def test_version_and_alias_are_exclusive(project: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--project",
                str(project),
                "model",
                "deploy",
                "logreg",
                "--version",
                "1",
                "--alias",
                "a",
            ]
        )
    assert exc.value.code == 2
