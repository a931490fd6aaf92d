"""`ame lint` on what a task needs on disk (AME403, AME404), its one-line summary when clean,
and the examples and the compatibility corpus staying free of these warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from core_support import COMPAT, REPO

PROJECT = """\
project: p
templates:
  - name: tpl
    executor: {pip: {pythonVersion: "3.11", command: "python -u src/job.py"}}
tasks:
  - name: train
    executor: !pip
      pythonVersion: "3.11"
      command: python train.py --epochs 3
  - name: module
    executor: !custom
      command: python -m http.server
  - name: shell
    executor: !custom
      command: python $SCRIPT
  - name: from_template
    fromTemplate: tpl
"""


def lint(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", "lint", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_missing_requirements_and_scripts_are_warned_at_the_value(tmp_path: Path) -> None:
    (tmp_path / "ame.yml").write_text(PROJECT)
    result = lint("--format", "json", str(tmp_path / "ame.yml"))
    assert result.returncode == 0, result.stderr  # warnings only
    found = sorted(
        (d["code"], d["line"], d["column"], d["endColumn"]) for d in json.loads(result.stdout)
    )
    assert found == [
        ("AME403", 4, 16, 19),  # the `pip:` key of the template's map spelling
        ("AME403", 7, 15, 19),  # the `!pip` tag
        ("AME404", 4, 65, 75),  # `src/job.py` inside the command
        ("AME404", 9, 23, 31),  # `train.py`
    ]
    messages = {d["message"] for d in json.loads(result.stdout)}
    assert any(str(tmp_path / "requirements.txt") in m for m in messages)
    assert any(str(tmp_path / "train.py") in m and "can't open file" in m for m in messages)
    # with the files there, the project is clean and lint says so in one line
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "train.py").write_text("")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "job.py").write_text("")
    clean = lint(cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "ame.yml: no problems\n")


def test_a_file_checked_alone_or_under_another_name_is_not_checked_on_disk(
    tmp_path: Path,
) -> None:
    other = tmp_path / "copy-of-project.yaml"
    other.write_text(PROJECT)
    result = lint(str(other))
    assert "AME403" not in result.stdout and "AME404" not in result.stdout
    from ame_core.engine import analyze

    assert analyze(PROJECT, None).diagnostics == []


@pytest.mark.parametrize("where", ["examples", "compat"])
def test_the_examples_and_the_corpus_get_no_new_warnings(where: str) -> None:
    target = REPO / "examples" if where == "examples" else COMPAT
    if not target.is_dir():
        pytest.skip(f"{target} is not here")
    files = [str(p) for p in sorted(target.iterdir()) if p.suffix in (".yml", ".yaml")]
    result = lint("--format", "json", *(files or [str(target)]))
    codes = {d["code"] for d in json.loads(result.stdout)}
    assert not codes & {"AME403", "AME404"}, result.stdout
    if where == "examples":
        clean = lint(str(target))
        assert (clean.returncode, clean.stdout) == (0, "3 files: no problems\n")
