"""Team policies (issue 16): each AME keyword on hand-made cases, a rule broken through a
template (reported on the template's line, naming the task), severities and messages from the
schema, broken policy files, where policies come from, and `ame lint`'s text, GitHub and SARIF
output from the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from core_support import REPO, text_at

from ame_core.diagnostics import Severity
from ame_core.engine import analyze
from ame_core.policy.keywords import policy_validator_class
from ame_core.policy.loading import PolicySource
from ame_core.workspace import FileWorkspace

PROJECT = """\
project: team
templates:
  - name: big
    resources:
      cpu: 2
      memory: 100G
tasks:
  - name: small
    executor: !custom
      command: echo small
    resources:
      cpu: 1
      memory: 1Gi
  - name: greedy
    fromTemplate: big
    executor: !custom
      command: echo greedy
  - name: bare
    executor: !custom
      command: echo bare
models:
  - name: m
    training:
      task:
        taskRef: small
    deployment:
      autoDeploy: true
"""

LIMITS = """\
$schema: https://json-schema.org/draft/2020-12/schema
properties:
  tasks:
    items:
      required: [resources]
      properties:
        resources:
          properties:
            memory:
              x-ame-maxQuantity: 64Gi
  models:
    items:
      if:
        required: [deployment]
        properties: {deployment: {properties: {autoDeploy: {const: true}}}}
      then:
        required: [validation]
        x-ame-message: a model with autoDeploy needs a validation task
        x-ame-severity: warning
"""


def _errors(schema: dict, instance: object) -> list[str]:
    cls = policy_validator_class()
    return [e.message for e in cls(schema).iter_errors(instance)]


@pytest.mark.parametrize(
    ("keyword", "limit", "value", "broken"),
    [
        ("x-ame-maxQuantity", "64Gi", "100G", True),  # 100e9 > 64 * 2^30
        ("x-ame-maxQuantity", "64Gi", "64Gi", False),
        ("x-ame-maxQuantity", "64Gi", "68719476736", False),  # exactly 64Gi in bytes
        ("x-ame-maxQuantity", "64Gi", "68719476737", True),
        ("x-ame-maxQuantity", "2", 3, True),
        ("x-ame-maxQuantity", "2", "1500m", False),
        ("x-ame-minQuantity", "1Gi", "512Mi", True),
        ("x-ame-minQuantity", "1Gi", "1Gi", False),
        ("x-ame-minQuantity", "0.5", "250m", True),
        ("x-ame-maxDuration", "30m", "1h", True),
        ("x-ame-maxDuration", "30m", "1800s", False),
        ("x-ame-minDuration", "30s", "250ms", True),
        ("x-ame-minDuration", "30s", "1m", False),
        # not a quantity or a duration: the format's own checks report it, not the policy
        ("x-ame-maxQuantity", "64Gi", "lots", False),
        ("x-ame-maxDuration", "30m", 5, False),
    ],
)
def test_keywords_compare_exactly(keyword: str, limit: str, value: object, broken: bool):
    messages = _errors({keyword: limit}, value)
    assert bool(messages) == broken, messages
    if broken:
        assert str(limit) in messages[0]


@pytest.fixture
def team(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # the workspace root
    (tmp_path / "ame.yml").write_text(PROJECT)
    (tmp_path / ".ame-policy").mkdir()
    (tmp_path / ".ame-policy" / "limits.yaml").write_text(LIMITS)
    return tmp_path


def _analyze(root: Path, extra: tuple[Path, ...] = ()):
    workspace = FileWorkspace([root])
    workspace.policies = PolicySource(root, extra)
    path = root / "ame.yml"
    return analyze(path.read_text(), str(path), workspace)


def test_rule_broken_through_a_template_is_on_the_templates_line(team: Path):
    analysis = _analyze(team)
    found = [d for d in analysis.diagnostics if d.code == "AME501"]
    memory = [d for d in found if "64Gi" in d.message]
    assert len(memory) == 1
    (d,) = memory
    assert text_at(PROJECT, d) == "100G"
    assert d.range.start_line == 5  # the template's `memory: 100G`
    assert "task 'greedy' (value from template 'big')" in d.message
    assert "[policy .ame-policy/limits.yaml]" in d.message
    (related,) = d.related
    assert related.message == "task 'greedy' uses this value"
    assert PROJECT.split("\n")[related.range.start_line].strip() == "- name: greedy"


def test_required_missing_message_and_severity_from_the_schema(team: Path):
    analysis = _analyze(team)
    by_text = {d.message: d for d in analysis.diagnostics if d.code == "AME501"}
    bare = by_text["task 'bare': `resources` is required [policy .ame-policy/limits.yaml]"]
    assert bare.severity == Severity.ERROR
    assert PROJECT.split("\n")[bare.range.start_line].strip() == "- name: bare"
    model = by_text[
        "model 'm': a model with autoDeploy needs a validation task [policy .ame-policy/limits.yaml]"
    ]
    assert model.severity == Severity.WARNING
    assert "small" not in " ".join(by_text)  # the task within limits breaks nothing


def test_a_project_within_the_policy_is_clean(team: Path):
    fixed = PROJECT.replace("100G", "64Gi").replace(
        "  - name: bare\n    executor: !custom\n      command: echo bare\n", ""
    )
    fixed = fixed.replace(
        "    deployment:\n",
        "    validation:\n      task:\n        taskRef: small\n    deployment:\n",
    )
    (team / "ame.yml").write_text(fixed)
    assert [d for d in _analyze(team).diagnostics if d.code.startswith("AME5")] == []


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("properties: [1, 2\n", ":2:1:", "not YAML or JSON"),
        ("properties:\n  tasks:\n    type: lst\n", ":3:5:", "at /properties/tasks/type"),
        (
            "properties:\n  tasks:\n    x-ame-maxQuantity: lots\n",
            ":3:5:",
            "x-ame-maxQuantity must be",
        ),
        (
            "properties:\n  tasks:\n    x-ame-maxQuanity: 1Gi\n",
            ":3:5:",
            "unknown keyword x-ame-maxQuanity",
        ),
        ("- a list\n", ":1:1:", "a policy is a JSON Schema"),
    ],
)
def test_broken_policy_is_one_error_and_the_others_still_hold(
    team: Path, text: str, where: str, what: str
):
    (team / ".ame-policy" / "broken.yaml").write_text(text)
    analysis = _analyze(team)
    (broken,) = [d for d in analysis.diagnostics if d.code == "AME500"]
    assert broken.message.startswith(f"policy .ame-policy/broken.yaml{where}"), broken.message
    assert what in broken.message
    assert broken.message.endswith("checked without this policy")
    assert broken.related[0].path == str(team / ".ame-policy" / "broken.yaml")
    assert any("64Gi" in d.message for d in analysis.diagnostics)  # limits.yaml still checked


def test_policies_from_environment_and_caller_and_parent_folders(team: Path, monkeypatch):
    (team / ".ame-policy" / "limits.yaml").unlink()
    nested = team / "sub" / "proj"
    nested.mkdir(parents=True)
    (nested / "ame.yml").write_text(PROJECT)
    (team / "sub" / ".ame-policy").mkdir()
    (team / "sub" / ".ame-policy" / "cpu.json").write_text(
        json.dumps(
            {
                "properties": {
                    "tasks": {
                        "items": {
                            "properties": {
                                "resources": {
                                    "properties": {
                                        "cpu": {
                                            "x-ame-maxQuantity": "1",
                                            "description": "one CPU each",
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    other = team / "elsewhere.yml"
    other.write_text(LIMITS)
    source = PolicySource(team, (other,))
    files, problems = source.files_for(str(nested / "ame.yml"))
    assert files == [(team / "sub" / ".ame-policy" / "cpu.json").resolve(), other.resolve()]
    monkeypatch.setenv("AME_POLICY", f"{team / 'missing.yaml'}")
    files, problems = source.files_for(str(nested / "ame.yml"))
    assert [str(p) for p in problems] == [f"policy {team / 'missing.yaml'}:1:1: no such file"]
    monkeypatch.delenv("AME_POLICY")
    workspace = FileWorkspace([team])
    analysis = analyze(PROJECT, str(nested / "ame.yml"), workspace)
    cpu = [d for d in analysis.diagnostics if "one CPU each" in d.message]
    assert len(cpu) == 1 and text_at(PROJECT, cpu[0]) == "2"


# --- the real command ------------------------------------------------------------------------


def _lint(cwd: Path, *args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "AME_CACHE_DIR": str(cache or cwd / ".cache")}
    full.pop("AME_POLICY", None)
    return subprocess.run(
        [sys.executable, "-m", "ame_cli", "lint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
    )


def test_lint_text_github_and_sarif(team: Path):
    text = _lint(team)
    assert text.returncode == 1, text.stderr
    assert (
        "ame.yml:6:15: error AME501 task 'greedy' (value from template 'big'): 100G is more than "
        "the maximum 64Gi [policy .ame-policy/limits.yaml]"
    ) in text.stdout
    again = _lint(team)  # the second lint reads the results back from the cache: the same
    assert again.stdout == text.stdout
    github = _lint(team, "--format", "github").stdout
    assert (
        "::error file=ame.yml,line=6,col=15,endLine=6,endColumn=19,title=AME501::task 'greedy'"
        in github
    )
    assert "::warning file=ame.yml,line=22,col=5" in github
    sarif = json.loads(_lint(team, "--format", "sarif").stdout)
    results = sarif["runs"][0]["results"]
    greedy = next(r for r in results if "greedy" in r["message"]["text"])
    assert greedy["ruleId"] == "AME501" and greedy["level"] == "error"
    assert greedy["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    related = greedy["relatedLocations"][0]
    assert related["message"]["text"] == "task 'greedy' uses this value"
    assert related["physicalLocation"]["region"]["startLine"] == 14
    rules = {
        r["id"]: r["shortDescription"]["text"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]
    }
    assert rules["AME501"] == "team policy broken"


def test_lint_policy_option_is_repeatable(team: Path):
    (team / ".ame-policy" / "limits.yaml").unlink()
    extra1, extra2 = team / "one.yaml", team / "two.json"
    extra1.write_text("properties: {project: {const: other}}\n")
    extra2.write_text(json.dumps({"properties": {"tasks": {"maxItems": 1}}}))
    out = _lint(team, "--policy", str(extra1), "--policy", str(extra2)).stdout
    assert "project: team is not allowed: it must be other" in out
    assert "project: allows at most 1 item" in out or "allows at most 1 item" in out
    assert _lint(team).returncode == 0  # without the options: no policy


def test_quickstart_example_is_clean_and_its_policy_catches_each_rule(tmp_path: Path):
    example = REPO / "examples" / "quickstart"
    assert (example / ".ame-policy" / "team.yaml").is_file()
    clean = _lint(REPO, "examples/quickstart", cache=tmp_path / "cache")
    assert clean.returncode == 0 and "no problems" in clean.stdout, clean.stdout
    copy = tmp_path / "qs"
    subprocess.run(["cp", "-r", str(example), str(copy)], check=True)
    (copy / ".git").mkdir()
    text = (copy / "ame.yml").read_text()
    text = text.replace(
        "      memory: 1Gi\n\ntasks", "      memory: 1Gi\n      nvidia.com/gpu: 1\n\ntasks", 1
    )
    text = text.replace("    validation:\n      task:\n        taskRef: validate_logreg\n", "")
    (copy / "ame.yml").write_text(text)
    out = _lint(copy).stdout
    assert "(value from template 'small_cpu'): no GPUs in this team's projects" in out
    assert "model 'logreg': a model with autoDeploy needs a validation task" in out


def test_console_problems_are_lints(team: Path):
    """The console's Problems view reads the same engine: the same AME5xx rows as `ame lint`."""
    from ame_tui.services.project import load_project

    info = load_project(team / "ame.yml")
    rows = [(p.line, p.col, p.code, p.message) for p in info.problems if p.code >= "AME5"]
    linted = [
        (r["line"], r["column"], r["code"], r["message"])
        for r in json.loads(_lint(team, "--format", "json").stdout)
        if r["code"] >= "AME5"
    ]
    assert rows == linted and len(rows) == 3
