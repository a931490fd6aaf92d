"""The command-line contract: exit codes, output formats, show, schema, init."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from core_support import REPO

GOOD = 'project: p\ntasks:\n  - name: t\n    executor: !pip {pythonVersion: "3.11", command: x}\n'
BAD = (
    "project: p\ntasks:\n  - name: t\n    fromTemplate: nope\n    executor: !custom {command: x}\n"
)
WARN = "name: p\ntasks:\n  - name: t\n    executor: !custom {command: x}\n"


def ame(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def project(tmp_path: Path):
    # A clean project has its requirements.txt (`!pip` without one is warned about: AME403).
    (tmp_path / "requirements.txt").touch()

    def write(text: str, name: str = "ame.yml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_exit_codes(project, tmp_path):
    assert ame("lint", str(project(GOOD))).returncode == 0
    bad = ame("lint", str(project(BAD)))
    assert bad.returncode == 1
    assert bad.stdout.startswith(f"{project(BAD)}:4:19: error AME204 unknown template 'nope'")
    warn = project(WARN)
    assert ame("lint", str(warn)).returncode == 0
    assert ame("lint", "--strict", str(warn)).returncode == 1


def test_usage_and_io_problems_exit_2_with_one_line(tmp_path):
    missing = ame("lint", str(tmp_path / "nope.yml"))
    assert (
        missing.returncode == 2
        and missing.stderr.count("\n") == 1
        and "no such file" in missing.stderr
    )
    (tmp_path / "latin1").mkdir()
    latin1 = tmp_path / "latin1" / "ame.yml"
    latin1.write_bytes("project: caf\xe9\n".encode("latin-1"))
    not_utf8 = ame("lint", str(latin1))
    assert not_utf8.returncode == 2 and ":1:13: not UTF-8" in not_utf8.stderr
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    assert ame("lint", str(empty_dir)).returncode == 2
    no_project = ame("lint", cwd=empty_dir)
    assert no_project.returncode == 2 and "ame init" in no_project.stderr


def test_default_is_the_project_found_from_the_current_directory(project, tmp_path):
    project(BAD)
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    result = ame("lint", cwd=sub)
    assert result.returncode == 1 and "AME204" in result.stdout


def test_directories_are_searched(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "ame.yml").write_text(GOOD)
    (tmp_path / "b" / "c" / "ame.yaml").write_text(BAD)
    result = ame("lint", str(tmp_path))
    assert result.returncode == 1 and "ame.yaml:4:19" in result.stdout


def test_both_spellings_in_one_directory_is_an_error(project):
    project(GOOD)
    path = project(GOOD, "ame.yaml")
    result = ame("lint", str(path))
    assert result.returncode == 1 and "AME402" in result.stdout


def test_json_format(project):
    records = json.loads(ame("lint", "--format", "json", str(project(BAD))).stdout)
    assert records == [
        {
            "file": records[0]["file"],
            "line": 4,
            "column": 19,
            "endLine": 4,
            "endColumn": 23,
            "severity": "error",
            "code": "AME204",
            "message": records[0]["message"],
        }
    ]


def test_github_format(project):
    out = ame("lint", "--format", "github", str(project(BAD))).stdout
    assert out.startswith("::error file=") and ",line=4,col=19," in out and "title=AME204" in out


def test_sarif_format_validates_against_its_shape(project):
    sarif = json.loads(ame("lint", "--format", "sarif", str(project(BAD))).stdout)
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == "AME204" and result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (4, 19)
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "AME204"


def test_lint_imports_nothing_heavy(project):
    code = (
        "import sys, runpy; sys.argv=['ame','lint',sys.argv[1]];"
        "from ame_cli.main import main; rc=main();"
        "heavy=[m for m in ('mlflow','kubernetes','textual','pygls','sklearn') if m in sys.modules];"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(project(GOOD))], capture_output=True, text=True, timeout=60
    )
    summary, heavy = result.stdout.splitlines()
    assert summary.endswith("ame.yml: no problems") and heavy == "[]"


def test_show_prints_the_canonical_view(project):
    path = project(WARN)
    shown = json.loads(ame("show", "--format", "json", str(path)).stdout)
    assert shown == {
        "project": "p",
        "tasks": [{"name": "t", "executor": {"custom": {"command": "x"}}}],
    }


def test_show_resolved_applies_templates_and_references():
    result = ame("show", "--resolved", "--format", "json", str(REPO / "examples" / "quickstart"))
    assert result.returncode == 0
    view = json.loads(result.stdout)
    training = view["models"][0]["training"]["task"]
    assert training["name"] == "train_logreg"
    assert training["resources"]["memory"] == "1Gi"  # from the template
    assert "fromTemplate" not in training and "taskRef" not in training


def test_show_never_prints_secret_values(project, tmp_path):
    text = GOOD.replace(
        "executor:",
        "secrets:\n      - !ame {key: db_password, injectAs: DB_PASSWORD}\n    executor:",
    )
    out = ame("show", "--resolved", str(project(text))).stdout
    assert "db_password" in out and "DB_PASSWORD" in out


def test_schema_output_is_the_committed_file():
    result = ame("schema")
    committed = (REPO / "schema" / "ame.schema.json").read_text()
    assert result.stdout == committed, (
        "schema/ame.schema.json drifted: run `ame schema -o schema/ame.schema.json`"
    )


def test_init_writes_a_valid_project_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "new-project"
    first = ame("init", str(target))
    assert first.returncode == 0
    text = (target / "ame.yml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert "project: new-project" in text
    assert ame("lint", str(target)).returncode == 0
    second = ame("init", str(target))
    assert second.returncode == 2 and "already exists" in second.stderr
    assert (target / "ame.yml").read_text() == text


def test_pre_commit_hook_is_declared():
    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "ame-lint"]
    assert hook["entry"].startswith("ame lint")


@pytest.mark.parametrize(
    "args",
    [("schema",), ("model", "list", "--json")],
    ids=["plain-command", "model-command"],
)
def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path, args) -> None:
    """`ame … | head -1`: the pipe closes before ame writes; ame exits 0 and says nothing."""
    shutil.copytree(REPO / "examples" / "quickstart", tmp_path / "qs")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ame_cli", "--project", str(tmp_path / "qs"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert "BrokenPipe" not in err and "Traceback" not in err and "unexpected" not in err
