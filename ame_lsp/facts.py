"""The named objects of a file and every reference to them, with their source ranges.

Built from an Analysis (the engine's parse and typed objects), so navigation, rename, symbols
and semantic tokens all agree with the diagnostics on what a reference is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from ame_core.diagnostics import Range
from ame_core.document import Path, node_range
from ame_core.engine import Analysis
from ame_core.resolve import iter_inline_tasks, parse_ref, ref_value_path
from ame_core.spec.models import DataSetRefSpec, RefSpec

KINDS = ("task", "template", "model", "data set")
_SECTIONS = {"task": "tasks", "template": "templates", "model": "models", "data set": "dataSets"}


@dataclass(frozen=True)
class Definition:
    kind: str
    name: str
    project: str
    name_range: Range  # the name's text
    range: Range  # the whole object
    path: Path  # its JSON path


@dataclass(frozen=True)
class Reference:
    kind: str  # what it refers to: task, template, data set
    project: str  # the target's project (the file's own when unqualified)
    name: str
    name_range: Range  # the target name's text only (after `project.`)
    range: Range  # the whole reference text
    path: Path
    qualified: bool


@dataclass
class Facts:
    project: str | None
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    def at(self, line: int, col: int) -> Definition | Reference | None:
        for ref in self.references:
            if ref.range.contains(line, col):
                return ref
        for definition in self.definitions:
            if definition.name_range.contains(line, col):
                return definition
        return None

    def definition(self, kind: str, name: str) -> Definition | None:
        for definition in self.definitions:
            if definition.kind == kind and definition.name == name:
                return definition
        return None


def build_facts(analysis: Analysis) -> Facts:
    project = analysis.project
    if project is None:
        return Facts(None)
    facts = Facts(project.project)
    doc = analysis.doc
    own = project.project

    def scalar_range(path: Path) -> Range | None:
        """The scalar's text without its quotes."""
        node = doc.node_at(path)
        if not isinstance(node, yaml.ScalarNode):
            return None
        rng = node_range(node)
        if node.style in ("'", '"') and rng.start_line == rng.end_line:
            return Range(
                rng.start_line,
                rng.start_col + 1,
                rng.end_line,
                max(rng.end_col - 1, rng.start_col + 1),
            )
        return rng

    groups = [
        ("task", project.task_list()),
        ("template", project.template_list()),
        ("model", project.model_list()),
        ("data set", project.data_set_list()),
    ]
    for kind, items in groups:
        for item in items:
            if not item.name:
                continue
            rng = scalar_range((*item.source_path, "name"))
            whole = doc.node_at(item.source_path)
            if rng is None or whole is None:
                continue
            facts.definitions.append(
                Definition(kind, item.name, own, rng, node_range(whole), item.source_path)
            )

    def add_ref(kind: str, value: object, path: Path) -> None:
        ref = parse_ref(value)
        if ref is None:
            return
        rng = scalar_range(path)
        if rng is None:
            return
        name_range = rng
        qualified = False
        if isinstance(value, str) and ref.project:
            qualified = True
            if rng.start_line == rng.end_line:
                start = rng.start_col + len(ref.project) + 1
                name_range = Range(rng.start_line, start, rng.end_line, start + len(ref.name))
        elif isinstance(value, RefSpec | DataSetRefSpec) and ref.project:
            qualified = True
        facts.references.append(
            Reference(kind, ref.project or own, ref.name, name_range, rng, path, qualified)
        )

    for task, _ in iter_inline_tasks(project):
        base = task.source_path
        if task.task_ref is not None:
            add_ref("task", task.task_ref, ref_value_path(base, "taskRef", task.task_ref))
        if task.from_template is not None:
            add_ref(
                "template",
                task.from_template,
                ref_value_path(base, "fromTemplate", task.from_template),
            )
        for i, data_set in enumerate(task.data_sets or []):
            path = (*base, "dataSets", i)
            if not isinstance(data_set, str):
                path = (*path, "ref", "name")
            add_ref("data set", data_set, path)
    for template in project.template_list():
        if template.from_template is not None:
            add_ref(
                "template",
                template.from_template,
                ref_value_path(template.source_path, "fromTemplate", template.from_template),
            )
    for model in project.model_list():
        batch = model.batch_inference
        if batch is not None and batch.data_set:
            add_ref("data set", batch.data_set, (*batch.source_path, "dataSet"))
    return facts
