"""Bad input to the commands that run a project: one line, no traceback, exit 2 for a usage or
I/O problem, whichever command reads the project (no MLflow needed for any of these)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def ame(*args: str, cwd: Path, env: dict[str, str] | None = None):
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})},
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.parametrize(
    "command",
    [
        ("lint",),
        ("show",),
        ("task", "list"),
        ("task", "run", "train"),
        ("model", "list"),
        ("model", "train", "m"),
        ("model", "status", "m"),
        ("flow", "list"),
        ("schedule", "status"),
    ],
    ids=" ".join,
)
def test_a_file_that_is_not_utf8_is_the_same_one_line_and_exit_2(tmp_path: Path, command):
    (tmp_path / "ame.yml").write_bytes("project: caf\xe9\n".encode("latin-1"))
    result = ame(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"ame: {tmp_path / 'ame.yml'}:1:13: not UTF-8 (byte 0xe9); save the file as UTF-8\n"
    )


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        (("model", "predict", "m", "--version", "abc"), "--version 'abc'"),
        (("model", "deploy", "m", "--version", "1.5"), "--version '1.5'"),
        (("model", "validate", "m", "--version", "0"), "--version '0'"),
        (("model", "rollback", "m", "--to", "latest"), "--to 'latest'"),
    ],
)
def test_a_version_that_is_not_a_number_is_our_one_line(tmp_path: Path, command, flag):
    (tmp_path / "ame.yml").write_text("project: p\n")
    result = ame(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"ame: {flag}: not a version number (give N or vN")
    assert result.stderr.count("\n") == 1 and "integer" not in result.stderr


CROSS = """\
project: app
tasks:
  - name: t
    fromTemplate: shared_templates.big
    executor: !custom
      command: echo hi
"""
SHARED = "project: shared_templates\ntemplates:\n  - name: big\n    resources: {cpu: 2}\n"


def test_a_project_outside_the_workspace_says_how_to_add_it(tmp_path: Path):
    app, shared = tmp_path / "app", tmp_path / "elsewhere" / "shared"
    app.mkdir()
    shared.mkdir(parents=True)
    (app / "ame.yml").write_text(CROSS)
    (shared / "ame.yml").write_text(SHARED)
    for command in (("task", "run", "t"), ("lint",)):
        result = ame(*command, cwd=app)
        said = result.stderr + result.stdout
        assert result.returncode in (1, 2) and "no project 'shared_templates'" in said
        assert f"looked below {app}" in said and "AME_PATH" in said and "--workspace" in said
    found = ame("lint", cwd=app, env={"AME_PATH": str(shared.parent)})
    assert found.returncode == 0, found.stdout
    widened = ame("lint", "--workspace", str(tmp_path), cwd=app)
    assert widened.returncode == 0, widened.stdout
