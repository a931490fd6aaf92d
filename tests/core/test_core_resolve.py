"""Resolution: template merge rules, chains, task references, pipelines, other projects."""

from __future__ import annotations

from pathlib import Path

from ame_core.engine import analyze
from ame_core.workspace import FileWorkspace

PROJECT = """\
project: main
templates:
  - name: base
    resources: {cpu: 1, memory: 1Gi}
    environment:
      - {key: A, val: base}
      - {key: B, val: base}
    secrets:
      - !ame {key: s1, injectAs: TOKEN}
    dataSets: [raw]
    artifacts: {paths: [out/a]}
    executor: !pip {pythonVersion: "3.10", command: python base.py}
  - name: gpu
    fromTemplate: base
    resources: {nvidia.com/gpu: 1}
dataSets:
  - name: raw
    path: data/raw
  - name: clean
    path: data/clean
tasks:
  - name: train
    fromTemplate: gpu
    resources: {memory: 4Gi}
    environment:
      - {key: B, val: task}
    secrets:
      - !ame {key: s2, injectAs: TOKEN}
    dataSets: [clean]
    artifacts: {paths: [out/b]}
    executor: !poetry {pythonVersion: "3.11", command: python train.py}
  - name: again
    taskRef: train
  - name: flow
    pipeline:
      - taskRef: train
      - - taskRef: again
        - name: inline
          executor: !custom {command: echo hi}
"""


def resolve(name: str):
    analysis = analyze(PROJECT, "ame.yml")
    assert analysis.errors == []
    return analysis.resolver.resolve_by_name(name)


def test_templates_merge_field_by_field():
    resolved = resolve("train")
    task = resolved.task
    assert task.resources == {"cpu": 1, "memory": "4Gi", "nvidia.com/gpu": 1}
    assert {e.key: e.val for e in task.environment} == {"A": "base", "B": "task"}
    assert [s.variant.key for s in task.secrets] == ["s2"]  # merged by injectAs
    assert [str(d) for d in task.data_sets] == ["raw", "clean"]
    assert task.artifacts.paths == ["out/a", "out/b"]
    assert task.executor.kind == "poetry"  # the executor is replaced, not merged


def test_origins_say_where_each_value_came_from():
    origins = resolve("train").origins
    assert (origins["resources.cpu"].kind, origins["resources.cpu"].name) == ("template", "base")
    assert origins["resources.nvidia.com/gpu"].name == "gpu"
    assert origins["resources.memory"].kind == "task"


def test_task_reference_is_the_referenced_task():
    resolved = resolve("again")
    assert resolved.name == "again" and resolved.task.executor.kind == "poetry"


def test_pipeline_steps_resolve_with_parallel_groups():
    resolved = resolve("flow")
    assert resolved.is_pipeline
    first, group = resolved.steps
    assert first.name == "train"
    assert [step.name for step in group] == ["again", "inline"]
    assert group[1].task.executor.kind == "custom"


def test_cross_project_templates_through_the_workspace(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "ame.yml").write_text(
        "project: shared_templates\ntemplates:\n"
        "  - name: xgboost_resources\n    resources: {cpu: 4, memory: 10G}\n"
    )
    main = tmp_path / "main"
    main.mkdir()
    text = (
        "project: main\ntasks:\n  - name: t\n    fromTemplate: shared_templates.xgboost_resources\n"
        "    executor: !custom {command: x}\n"
        "  - name: u\n    fromTemplate: shared_templates.xgboost_resourcs\n"
        "    executor: !custom {command: x}\n"
        "  - name: v\n    fromTemplate: {name: xgboost_resources, project: shared_templatez}\n"
        "    executor: !custom {command: x}\n"
    )
    analysis = analyze(text, str(main / "ame.yml"), FileWorkspace([tmp_path]))
    assert [d.code for d in analysis.diagnostics] == ["AME204", "AME206"]
    assert "did you mean 'xgboost_resources'" in analysis.diagnostics[0].message
    assert "did you mean 'shared_templates'" in analysis.diagnostics[1].message
    task = analysis.resolver.resolve_by_name("t").task
    assert task.resources == {"cpu": 4, "memory": "10G"}
