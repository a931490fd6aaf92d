"""Resolution: references between objects, template merging, task references and pipelines.

A `ProjectIndex` names the objects of one project file; a `Workspace` finds other projects by
name for `project.name` references. `Resolver` answers "what does this task run": templates
merged by the rules of FORMAT.md (with where each value came from), `taskRef` chains followed,
pipeline steps expanded. Problems (unknown names, cycles) are returned as `ResolveProblem`s with
the JSON path of the reference, which the checks turn into diagnostics.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ame_core.spec.models import (
    Artifacts,
    DataSet,
    DataSetRefSpec,
    Model,
    Project,
    RefSpec,
    Secret,
    Task,
    Template,
)

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed reference: `name` or `project.name`."""

    name: str
    project: str | None = None

    def __str__(self) -> str:
        return f"{self.project}.{self.name}" if self.project else self.name


def parse_ref(value: Any) -> Ref | None:
    if isinstance(value, str):
        project, dot, name = value.rpartition(".")
        return Ref(name, project or None) if dot else Ref(value)
    if isinstance(value, RefSpec):
        return Ref(value.name, value.project)
    if isinstance(value, DataSetRefSpec):
        return Ref(value.ref.name, value.ref.project)
    return None


def ref_value_path(owner_path: Path, key: str, value: Any) -> Path:
    """Path of the text that names the target: the string, or the `name` of a map reference."""
    if isinstance(value, RefSpec):
        return (*owner_path, key, "name")
    if isinstance(value, DataSetRefSpec):
        return (*owner_path, key, "ref", "name")
    return (*owner_path, key)


@dataclass
class ProjectIndex:
    """The named objects of one project file (the first of each name wins)."""

    project: Project
    path: str | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    data_sets: dict[str, DataSet] = field(default_factory=dict)
    # When this index holds only part of its file (the language server re-checks one edited
    # item in a copy of the file without the others), the names of the whole file: an unknown
    # name is then answered with the same "did you mean" as the full check would give.
    whole_file_names: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def build(cls, project: Project, path: str | None = None) -> ProjectIndex:
        index = cls(project, path)
        for task in project.task_list():
            if task.name:
                index.tasks.setdefault(task.name, task)
        for template in project.template_list():
            index.templates.setdefault(template.name, template)
        for model in project.model_list():
            index.models.setdefault(model.name, model)
        for data_set in project.data_set_list():
            index.data_sets.setdefault(data_set.name, data_set)
        return index

    @property
    def name(self) -> str:
        return self.project.project

    def names(self, kind: str) -> list[str]:
        """The names of one kind ("tasks", "templates", "dataSets"), in file order (for a
        partial index: the whole file's)."""
        if self.whole_file_names is not None and kind in self.whole_file_names:
            return list(self.whole_file_names[kind])
        return self.defined_names(kind)

    def defined_names(self, kind: str) -> list[str]:
        """The names of one kind ("tasks", "templates", "dataSets", "models") this index holds."""
        by_kind = {
            "tasks": self.tasks,
            "templates": self.templates,
            "dataSets": self.data_sets,
            "models": self.models,
        }
        return list(by_kind[kind])

    def name_lists(self) -> dict[str, tuple[str, ...]]:
        """Every kind's names, for `whole_file_names` of a partial index of the same file."""
        return {kind: tuple(self.names(kind)) for kind in ("tasks", "templates", "dataSets")}


class Workspace:
    """Project files by project name, for `project.name` references.

    `loader` turns a project name into its index (or None); the language server and the CLI
    each plug in how they find and keep files.
    """

    def __init__(self, loader: Callable[[str], ProjectIndex | None] | None = None) -> None:
        self._loader = loader
        self._known: dict[str, ProjectIndex] = {}
        # Where the team policies of its files come from (an `ame_core.policy.PolicySource`);
        # None: no policies are checked.
        self.policies: Any = None

    def add(self, index: ProjectIndex) -> None:
        self._known.setdefault(index.name, index)

    def get(self, project: str) -> ProjectIndex | None:
        if project in self._known:
            return self._known[project]
        if self._loader is not None:
            found = self._loader(project)
            if found is not None:
                self._known[project] = found
            return found
        return None

    def project_names(self) -> list[str]:
        return sorted(self._known)

    def loaded_projects(self) -> set[str]:
        """The projects read so far (no lookup: `project_names` may scan the workspace)."""
        return set(self._known)

    def missing_hint(self) -> str:
        """What to add to "no project 'x' in the workspace": where the workspace looked and
        how to widen it (empty where the user does not choose the workspace)."""
        return ""


@dataclass(frozen=True, slots=True)
class ResolveProblem:
    """A reference that does not resolve, or a cycle. `path` is the offending reference."""

    code: str
    message: str
    path: Path
    index: ProjectIndex
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a resolved value came from: the task itself or a template (maybe in another project)."""

    kind: str  # "task" or "template"
    name: str
    project: str
    path: Path

    def __str__(self) -> str:
        return f"{self.kind} {self.project}.{self.name}" if self.kind else self.name


@dataclass
class ResolvedTask:
    """A task as it will run: templates merged, `taskRef` followed."""

    name: str
    project: str
    task: Task  # the merged task (executor, resources, ... all in place)
    origins: dict[str, Origin] = field(default_factory=dict)  # "resources.cpu" → origin
    steps: list[ResolvedStep] = field(default_factory=list)  # for pipelines
    source_path: Path = ()

    @property
    def is_pipeline(self) -> bool:
        return bool(self.task.pipeline)


# A pipeline step: one task, or a group of steps that run in parallel.
ResolvedStep = ResolvedTask | list["ResolvedStep"]


class ResolveError(Exception):
    def __init__(self, problem: ResolveProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _closest(name: str, names: list[str]) -> str | None:
    """The existing name closest to `name` (difflib's ratio ≥ 0.6), or None."""
    return _closest_cached(name, tuple(names))


@functools.lru_cache(maxsize=512)
def _closest_cached(name: str, names: tuple[str, ...]) -> str | None:
    import difflib

    candidates: Iterable[str] = names
    if len(names) > 64:
        # difflib over thousands of names costs tens of milliseconds per unknown reference
        # (and an editor asks on every keystroke): keep the names that share most character
        # pairs with `name`, then let difflib choose among those.
        wanted = _bigrams(name)
        candidates = heapq.nlargest(32, names, key=lambda other: len(wanted & _bigrams(other)))
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


@functools.lru_cache(maxsize=65536)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


class Resolver:
    """Resolves the references of one project, against the workspace for other projects."""

    def __init__(self, index: ProjectIndex, workspace: Workspace | None = None) -> None:
        self.index = index
        self.workspace = workspace or Workspace()
        self.workspace.add(index)

    # --- looking up names ---------------------------------------------------------------

    def _project(self, ref: Ref, here: ProjectIndex, at: Path) -> ProjectIndex:
        if ref.project is None or ref.project == here.name:
            return here
        found = self.workspace.get(ref.project)
        if found is None:
            known = self.workspace.project_names()
            suggestion = _closest(ref.project, known)
            hint = f"; did you mean '{suggestion}'?" if suggestion else ""
            where = f" (known: {', '.join(known)})" if known and not suggestion else ""
            if not suggestion:
                where += self.workspace.missing_hint()
            raise ResolveError(
                ResolveProblem(
                    "AME206",
                    f"no project '{ref.project}' in the workspace{where}{hint}",
                    at,
                    here,
                    f"{suggestion}.{ref.name}" if suggestion else None,
                )
            )
        return found

    def find_template(
        self, ref: Ref, here: ProjectIndex, at: Path
    ) -> tuple[Template, ProjectIndex]:
        owner = self._project(ref, here, at)
        template = owner.templates.get(ref.name)
        if template is None:
            raise ResolveError(
                self._unknown("AME204", "template", ref, owner.names("templates"), at, here)
            )
        return template, owner

    def find_task(self, ref: Ref, here: ProjectIndex, at: Path) -> tuple[Task, ProjectIndex]:
        owner = self._project(ref, here, at)
        task = owner.tasks.get(ref.name)
        if task is None:
            raise ResolveError(self._unknown("AME203", "task", ref, owner.names("tasks"), at, here))
        return task, owner

    def find_data_set(self, ref: Ref, here: ProjectIndex, at: Path) -> tuple[DataSet, ProjectIndex]:
        owner = self._project(ref, here, at)
        data_set = owner.data_sets.get(ref.name)
        if data_set is None:
            raise ResolveError(
                self._unknown("AME205", "data set", ref, owner.names("dataSets"), at, here)
            )
        return data_set, owner

    @staticmethod
    def _unknown(
        code: str, kind: str, ref: Ref, names: list[str], at: Path, here: ProjectIndex
    ) -> ResolveProblem:
        suggestion = _closest(ref.name, names)
        where = f" in project '{ref.project}'" if ref.project else ""
        if suggestion:
            hint = f"; did you mean '{suggestion}'?"
        elif names:
            hint = f"; known {kind}s: {', '.join(sorted(names)[:8])}"
        else:
            hint = f"; there are no {kind}s{where or ' in this project'}"
        fixed = f"{ref.project}.{suggestion}" if ref.project and suggestion else suggestion
        return ResolveProblem(code, f"unknown {kind} '{ref.name}'{where}{hint}", at, here, fixed)

    # --- templates ------------------------------------------------------------------------

    def template_chain(
        self, obj: Task | Template, here: ProjectIndex
    ) -> list[tuple[Template, ProjectIndex]]:
        """The templates `obj` starts from, nearest first. Raises ResolveError on a cycle."""
        chain: list[tuple[Template, ProjectIndex]] = []
        seen: set[tuple[str, str]] = set()
        if isinstance(obj, Template):
            seen.add((here.name, obj.name))
        current: Task | Template = obj
        owner = here
        while current.from_template is not None:
            ref = parse_ref(current.from_template)
            at = ref_value_path(current.source_path, "fromTemplate", current.from_template)
            assert ref is not None
            template, owner = self.find_template(ref, owner, at)
            key = (owner.name, template.name)
            if key in seen:
                names = " → ".join(f"{t.name}" for t, _ in chain) or obj_name(obj)
                raise ResolveError(
                    ResolveProblem(
                        "AME207",
                        f"template cycle: {obj_name(obj)} → {names} → {template.name}",
                        at,
                        here,
                    )
                )
            seen.add(key)
            chain.append((template, owner))
            current = template
        return chain

    def merged(self, task: Task, here: ProjectIndex) -> tuple[Task, dict[str, Origin]]:
        """The task with its template chain merged in (FORMAT.md "Template")."""
        chain = self.template_chain(task, here)
        layers: list[tuple[Task | Template, Origin]] = [
            (template, Origin("template", template.name, owner.name, template.source_path))
            for template, owner in reversed(chain)
        ]
        layers.append((task, Origin("task", task.name or "(inline)", here.name, task.source_path)))
        return merge_layers(layers)

    # --- tasks ----------------------------------------------------------------------------

    def resolve_task(
        self, task: Task, here: ProjectIndex | None = None, _stack: tuple[str, ...] = ()
    ) -> ResolvedTask:
        """Follow `taskRef`, merge templates, expand a pipeline. Raises ResolveError."""
        here = here or self.index
        first_ref = parse_ref(task.task_ref) if task.task_ref is not None else None
        # A step `{taskRef: again}` runs under the name it was written with.
        start_name = task.name or (first_ref.name if first_ref else None) or "(inline)"
        current, owner = task, here
        stack = list(_stack)
        while current.task_ref is not None:
            ref = parse_ref(current.task_ref)
            assert ref is not None
            at = ref_value_path(current.source_path, "taskRef", current.task_ref)
            target, target_owner = self.find_task(ref, owner, at)
            key = f"{target_owner.name}.{target.name}"
            if key in stack or target is current:
                raise ResolveError(
                    ResolveProblem(
                        "AME207",
                        "task reference cycle: " + " → ".join([*stack, key]),
                        at,
                        here,
                    )
                )
            stack.append(key)
            current, owner = target, target_owner
        merged, origins = self.merged(current, owner)
        resolved = ResolvedTask(
            name=task.name or (first_ref.name if first_ref else None) or current.name or start_name,
            project=owner.name,
            task=merged,
            origins=origins,
            source_path=current.source_path,
        )
        if merged.pipeline:
            key = f"{owner.name}.{current.name or start_name}"
            resolved.steps = self._steps(merged.pipeline, owner, (*stack, key))
        return resolved

    def _steps(self, steps: list[Any], owner: ProjectIndex, stack: tuple[str, ...]) -> list[Any]:
        out: list[Any] = []
        for step in steps:
            if isinstance(step, list):
                out.append(self._steps(step, owner, stack))
            else:
                out.append(self.resolve_task(step, owner, stack))
        return out

    def resolve_by_name(self, name: str) -> ResolvedTask:
        ref = parse_ref(name)
        assert ref is not None
        task, owner = self.find_task(ref, self.index, ())
        return self.resolve_task(task, owner)


def obj_name(obj: Task | Template) -> str:
    return obj.name or "(inline task)"


def merge_layers(layers: list[tuple[Task | Template, Origin]]) -> tuple[Task, dict[str, Origin]]:
    """Merge task layers, base first: scalars and the executor are replaced, resources merge by
    key, environment by `key`, secrets by `injectAs`, data sets and artifact paths are unions."""
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    resources: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    secrets: dict[str, Secret] = {}
    data_sets: dict[str, Any] = {}
    artifact_paths: dict[str, None] = {}
    save_changed: bool | None = None
    for layer, origin in layers:
        for name in layer.model_fields_set:
            value = getattr(layer, name)
            if value is None or name in ("name", "from_template"):
                continue
            if name == "resources":
                for key, quantity in value.items():
                    resources[key] = quantity
                    origins[f"resources.{key}"] = origin
            elif name == "environment":
                for env in value:
                    environment[env.key] = env
                    origins[f"environment.{env.key}"] = origin
            elif name == "secrets":
                for secret in value:
                    inject_as = secret.variant.inject_as if _has_variant(secret) else id(secret)
                    secrets[str(inject_as)] = secret
                    origins[f"secrets.{inject_as}"] = origin
            elif name == "data_sets":
                for ref in value:
                    data_sets[str(parse_ref(ref))] = ref
                origins["dataSets"] = origin
            elif name == "artifacts":
                artifacts: Artifacts = value
                for path in artifacts.paths:
                    artifact_paths[path] = None
                if "save_changed_files" in artifacts.model_fields_set:
                    save_changed = artifacts.save_changed_files
                origins["artifacts"] = origin
            else:
                values[name] = value
                origins[_FILE_KEYS.get(name, name)] = origin
    if resources:
        values["resources"] = resources
    if environment:
        values["environment"] = list(environment.values())
    if secrets:
        values["secrets"] = list(secrets.values())
    if data_sets:
        values["data_sets"] = list(data_sets.values())
    last = layers[-1][0]
    if artifact_paths or save_changed is not None:
        values["artifacts"] = Artifacts.build(
            {"paths": list(artifact_paths), "save_changed_files": bool(save_changed)},
            last.source_path,
        )
    if isinstance(last, Task) and last.name:
        values["name"] = last.name
    return Task.build(values, last.source_path), origins


def _has_variant(secret: Secret) -> bool:
    return secret.ame is not None or secret.vault is not None


_FILE_KEYS = {
    "task_ref": "taskRef",
    "data_sets": "dataSets",
}


# Module functions, not closures: a nested function that calls itself is a reference cycle,
# which would keep what it refers to alive until the cyclic collector runs.
def _pipeline_steps(task: Task) -> Iterator[tuple[Task, str]]:
    for step in task.pipeline or []:
        yield from _walk_step(step)


def _walk_step(step: Any) -> Iterator[tuple[Task, str]]:
    if isinstance(step, list):
        for inner in step:
            yield from _walk_step(inner)
    else:
        yield step, "pipeline step"
        yield from _pipeline_steps(step)


def iter_inline_tasks(project: Project) -> Iterator[tuple[Task, str]]:
    """Every task object in the file (top-level, pipeline steps, model and data set tasks),
    with a word for where it is."""

    for task in project.task_list():
        yield task, "task"
        yield from _pipeline_steps(task)
    for model in project.model_list():
        for slot_name in ("training", "validation"):
            slot = getattr(model, slot_name)
            if slot is not None and slot.task is not None:
                yield slot.task, f"{slot_name} task"
                yield from _pipeline_steps(slot.task)
        if model.monitoring is not None and model.monitoring.task is not None:
            yield model.monitoring.task, "monitoring task"
    for data_set in project.data_set_list():
        if data_set.task is not None:
            yield data_set.task, "data set task"
            yield from _pipeline_steps(data_set.task)
