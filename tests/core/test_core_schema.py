"""The exported JSON Schema: valid 2020-12, accepts what we accept (map spelling), rejects what
we reject, and carries what editors show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from core_support import REPO

from ame_core.engine import analyze
from ame_core.schema import build_schema
from ame_core.views import project_view

SCHEMA = build_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EXAMPLES = sorted((REPO / "examples").glob("*/ame.yml"))


def test_schema_is_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_in_map_spelling_validate(path: Path):
    analysis = analyze(path.read_text(), str(path))
    assert analysis.errors == []
    errors = list(VALIDATOR.iter_errors(project_view(analysis.project)))
    assert errors == []


def test_check_jsonschema_accepts_a_map_spelling_file(tmp_path: Path):
    analysis = analyze((REPO / "examples" / "quickstart" / "ame.yml").read_text())
    target = tmp_path / "ame.yml"
    target.write_text(yaml.safe_dump(project_view(analysis.project), sort_keys=False))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--schemafile",
            str(REPO / "schema" / "ame.schema.json"),
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "document",
    [
        {"projectname": "p"},
        {"project": "p", "tasks": {"echo": {}}},
        {"project": "bad.name"},
        {"project": "p", "tasks": [{"name": "t", "executor": {"pip": {}, "poetry": {}}}]},
        {"project": "p", "tasks": [{"name": "t", "resources": {"memory": "10GB"}}]},
        {"project": "p", "tasks": [{"name": "t", "resources": {"nvidia.com/gpu": 0.5}}]},
        {"project": "p", "models": [{"name": "m", "deployment": {"serving": "sagemaker"}}]},
    ],
)
def test_schema_rejects_what_ame_rejects(document):
    assert list(VALIDATOR.iter_errors(document)), document


def test_aliases_are_accepted_and_marked_deprecated():
    document = {"name": "p", "tasks": [{"name": "t", "env": [{"key": "A", "val": "b"}]}]}
    assert list(VALIDATOR.iter_errors(document)) == []
    task = SCHEMA["$defs"]["Task"]["properties"]
    assert task["env"]["deprecated"] is True and "environment" in task["env"]["description"]


def test_editor_metadata():
    task = SCHEMA["$defs"]["Task"]
    assert task["properties"]["fromTemplate"]["markdownDescription"]
    assert task["defaultSnippets"]
    serving = SCHEMA["$defs"]["Deployment"]["properties"]["serving"]
    assert len(serving["enumDescriptions"]) == len(serving["enum"])
    assert json.dumps(SCHEMA).count('"examples"') > 3


@pytest.mark.parametrize(
    "executor",
    [
        {"pythonVersion": "3.11", "command": "python train.py"},  # !pip / !poetry as tools see it
        {"command": "./run.sh"},  # !custom / !pipenv
        {},  # !mlflow {}
        {"pip": {"pythonVersion": "3.11", "command": "python train.py"}},  # map spelling
    ],
)
def test_a_tagged_executor_as_json_schema_tools_see_it_validates(executor):
    # A custom tag is invisible to JSON-Schema tools: they see the mapping under it.
    document = {"project": "p", "tasks": [{"name": "t", "executor": executor}]}
    assert list(VALIDATOR.iter_errors(document)) == []


@pytest.mark.parametrize(
    "executor",
    [
        {"pythonVersion": "3.11", "comand": "python train.py"},
        {"pip": {"pythonVersion": "3.11", "command": "a"}, "command": "b"},
        {"pip": {"pythonVersion": "3.11", "comand": "a"}},
    ],
)
def test_unknown_keys_in_an_executor_are_still_caught(executor):
    document = {"project": "p", "tasks": [{"name": "t", "executor": executor}]}
    assert list(VALIDATOR.iter_errors(document)), executor


def test_a_tagged_secret_as_tools_see_it():
    ok = {
        "project": "p",
        "tasks": [{"name": "t", "secrets": [{"vault": "s/x", "key": "k", "injectAs": "K"}]}],
    }
    assert list(VALIDATOR.iter_errors(ok)) == []
    bad = {"project": "p", "tasks": [{"name": "t", "secrets": [{"key": "k", "inject": "K"}]}]}
    assert list(VALIDATOR.iter_errors(bad))
