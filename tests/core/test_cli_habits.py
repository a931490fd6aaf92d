"""The CLI's habits: shell completion driven through real bash, zsh and fish; `--json` and
`--format` the same way on every command; one spelling for the scheduler; one repository URL.
(Run and flow ids in completion, from real runs: tests/lifecycle/test_cli_as_found.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from core_support import REPO

from ame_cli.main import build_parser

BIN = str(Path(sys.executable).parent)
PROJECT = """\
project: habits
tasks:
  - name: prepare
    executor: !custom
      command: echo prepare
  - name: train_forest
    executor: !custom
      command: echo train
models:
  - name: forest
    training:
      task:
        taskRef: train_forest
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ame.yml").write_text(PROJECT)
    (tmp_path / "sub").mkdir()
    return tmp_path


def env_for(root: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "AME_CONFIG_DIR": str(root / "config")})
    env.update(extra)
    return env


def ame(*args: str, cwd: Path, env: dict[str, str] | None = None):
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or env_for(cwd),
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def bash_complete(cwd: Path, *words: str, script: str = "source <(ame completion bash)"):
    """COMPREPLY of the real completion function for `words` (the last one being typed)."""
    quoted = " ".join(f"'{w}'" for w in words)
    code = (
        f"{script}; complete -p ame >&2; COMP_WORDS=(ame {quoted}); "
        f'COMP_CWORD={len(words)}; _ame_complete; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    result = subprocess.run(
        ["bash", "-c", code], capture_output=True, text=True, cwd=cwd, env=env_for(cwd), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "complete -F _ame_complete ame" in result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_commands_options_values_and_project_names(project: Path) -> None:
    assert bash_complete(project, "sched") == ["schedule"]  # the old spelling is not offered
    assert bash_complete(project, "task", "") == ["list", "run"]
    assert bash_complete(project, "task", "run", "") == ["prepare", "train_forest"]
    assert bash_complete(project, "task", "run", "tr") == ["train_forest"]
    assert bash_complete(project, "model", "train", "") == ["forest"]
    assert bash_complete(project, "schedule", "delete", "p") == ["prepare"]
    assert {"--all", "--json", "--format", "--project"} <= set(bash_complete(project, "runs", "--"))
    assert bash_complete(project, "lint", "--format", "") == ["text", "json", "github", "sarif"]
    assert bash_complete(project, "completion", "") == ["bash", "zsh", "fish"]
    assert bash_complete(project, "--project", "s") == ["sub"]  # a folder, by the shell
    # --project points the names at another project
    other = project / "sub"
    (other / "ame.yml").write_text(PROJECT.replace("prepare", "other_task"))
    words = ("--project", str(other), "task", "run", "")
    assert bash_complete(project, *words) == ["other_task", "train_forest"]


def test_installed_completion_is_found_by_bash_and_fish(project: Path) -> None:
    home = project / "home"
    env = env_for(project, HOME=str(home), XDG_DATA_HOME="", XDG_CONFIG_HOME="")
    env.pop("XDG_DATA_HOME")
    env.pop("XDG_CONFIG_HOME")
    installed = ame("completion", "--install", "bash", cwd=project, env=env)
    target = home / ".local" / "share" / "bash-completion" / "completions" / "ame"
    assert installed.returncode == 0 and installed.stdout == f"wrote {target}\n"
    assert bash_complete(project, "mod", script=f"source {target}") == ["model"]
    assert ame("completion", "--install", "zsh", cwd=project, env=env).returncode == 0
    assert (home / ".local" / "share" / "zsh" / "site-functions" / "_ame").is_file()
    assert ame("completion", "--install", "fish", cwd=project, env=env).returncode == 0
    fish_file = home / ".config" / "fish" / "completions" / "ame.fish"
    assert fish_file.is_file()
    if shutil.which("fish"):  # fish loads it by itself from ~/.config/fish/completions
        result = subprocess.run(
            ["fish", "-c", "complete -C'ame model tr'"],
            capture_output=True, text=True, cwd=project, env=env, timeout=60,
        )  # fmt: skip
        assert result.stdout.split() == ["train"], result.stderr
    unknown = ame("completion", cwd=project, env={**env, "SHELL": "/bin/tcsh"})
    assert unknown.returncode == 2 and "give one of bash, zsh, fish" in unknown.stderr


@pytest.mark.skipif(
    shutil.which("zsh") is None, reason="zsh is not installed (apt-get install zsh)"
)
def test_zsh_completes_through_its_completion_function(project: Path) -> None:
    # The real function in a real zsh with compinit; compadd records what it is given.
    code = (
        "autoload -Uz compinit && compinit -u; source <(ame completion zsh); "
        'print -r -- "registered: ${_comps[ame]}"; '
        'compadd() { print -l -- "$@" }; words=(ame model train ""); CURRENT=4; _ame; '
        "words=(ame task r); CURRENT=3; _ame"
    )
    result = subprocess.run(
        ["zsh", "-fc", code], capture_output=True, text=True, cwd=project,
        env=env_for(project), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line != "--"]
    assert lines == ["registered: _ame", "forest", "run"]


@pytest.mark.skipif(
    shutil.which("fish") is None, reason="fish is not installed (apt-get install fish)"
)
def test_fish_completes_through_its_completion_function(project: Path) -> None:
    code = "ame completion fish | source; complete -C'ame task run '; complete -C'ame runs --fo'"
    result = subprocess.run(
        ["fish", "-c", code], capture_output=True, text=True, cwd=project,
        env=env_for(project), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["prepare", "train_forest", "--format"]


def _options(parser) -> dict:
    return parser.options


def test_every_command_takes_json_and_format_alike() -> None:
    leaves = {parser.prog: parser for parser in build_parser().subcommand_parsers()}
    listings = [
        "ame task list", "ame runs", "ame model list", "ame model status", "ame model history",
        "ame flow list", "ame flow show", "ame schedule list", "ame schedule status",
        "ame secret list", "ame mlflow status", "ame cluster check", "ame lint", "ame show",
    ]  # fmt: skip
    for prog in listings:
        assert {"--json", "--format"} <= set(_options(leaves[prog])), prog
    for prog, parser in leaves.items():
        options = _options(parser)
        if "--json" in options or ("--format" in options and "json" in options["--format"].choices):
            assert {"--json", "--format"} <= set(options), prog
            assert "json" in options["--format"].choices, prog


@pytest.mark.parametrize(
    "command",
    [("task", "list"), ("runs",), ("flow", "list"), ("schedule", "status"), ("secret", "list"),
     ("mlflow", "status"), ("lint",), ("show",)],
    ids=" ".join,
)  # fmt: skip
def test_json_is_format_json(project: Path, command: tuple[str, ...]) -> None:
    short = ame(*command, "--json", cwd=project)
    long = ame(*command, "--format", "json", cwd=project)
    assert short.returncode == long.returncode == 0, short.stderr + long.stderr
    assert short.stdout == long.stdout
    data = json.loads(short.stdout)
    if command == ("task", "list"):
        assert [t["name"] for t in data] == ["prepare", "train_forest"]
        text = ame(*command, "--format", "text", cwd=project)
        assert text.stdout.startswith("TASK")


def test_one_spelling_for_the_scheduler_and_the_same_answer_when_nothing_is_scheduled(
    project: Path,
) -> None:
    listed = ame("--help", cwd=project).stdout
    commands = [line.split()[0] for line in listed.splitlines() if line.startswith("    ")]
    assert "schedule" in commands and "scheduler" not in commands
    for action in ("run", "start", "stop", "status", "apply", "list", "delete"):
        assert action in ame("schedule", "--help", cwd=project).stdout
    nothing = (
        "ame: nothing to schedule: no task has `triggers.schedule` and no model has "
        "`monitoring.schedule`\n"
    )
    for command in (
        ("schedule", "run"),
        ("schedule", "start"),
        ("schedule", "apply", "--dry-run"),
        ("scheduler",),  # the older spelling still works
        ("scheduler", "start"),
    ):
        result = ame(*command, cwd=project)
        assert (result.returncode, result.stderr) == (2, nothing), command
    old = ame("scheduler", "status", "--json", cwd=project)
    new = ame("schedule", "status", "--json", cwd=project)
    assert old.returncode == new.returncode == 0
    assert json.loads(old.stdout)["running"] is json.loads(new.stdout)["running"] is False


def test_one_repository_url_everywhere(tmp_path: Path) -> None:
    home = "https://github.com/ame/ame-console"
    raw = "https://raw.githubusercontent.com/ame/ame-console/main/"
    from ame_core.report import format_sarif

    sarif = json.loads(format_sarif([], "0"))
    assert sarif["runs"][0]["tool"]["driver"]["informationUri"] == home
    assert ame("init", str(tmp_path / "p"), cwd=tmp_path).returncode == 0
    assert (
        (tmp_path / "p" / "ame.yml")
        .read_text()
        .startswith(f"# yaml-language-server: $schema={raw}schema/ame.schema.json")
    )
    assert f"- repo: {home}\n" in (REPO / "README.md").read_text()
    from ame_lsp.diagnostics import _DOCS

    assert _DOCS.startswith(f"{home}/")
    tracked = subprocess.run(
        ["git", "grep", "-n", "-i", "-E", r"github(usercontent)?\.com/[a-z0-9_-]+/ame\b"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    others = [line for line in tracked.stdout.splitlines() if "ame/ame-console" not in line]
    assert not others, others
