"""Semantic checks on a schema-valid project: names, references, cycles, executors, quantities,
schedules, serving. Each reports at the exact key or value, with fixes where one is clear."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

import yaml

from ame_core.cron import CronError, parse_cron
from ame_core.diagnostics import MAX_DIAGNOSTICS, Diagnostic, Fix, Range, Severity, TextEdit
from ame_core.document import Path, YamlDocument, node_range
from ame_core.quantity import QuantityError, check_resource, parse_quantity
from ame_core.resolve import (
    ProjectIndex,
    ResolveError,
    ResolveProblem,
    Resolver,
    iter_inline_tasks,
    parse_ref,
    ref_value_path,
)
from ame_core.spec.models import (
    CLUSTER_ONLY_SERVING,
    NAME_PATTERN,
    SUPPORTED_SERVING,
    Model,
    Project,
    Task,
)

_NAME_RE = re.compile(NAME_PATTERN)


class SemanticChecker:
    def __init__(
        self,
        doc: YamlDocument,
        project: Project,
        index: ProjectIndex,
        resolver: Resolver,
        error_paths: set[Path],
        already: int = 0,
    ) -> None:
        self.already = already  # diagnostics reported before these checks (for the cap)
        self.doc = doc
        self.project = project
        self.index = index
        self.resolver = resolver
        self.error_paths = error_paths
        self.diagnostics: list[Diagnostic] = []
        self._reported: set[tuple[str, Path]] = set()
        # template chain of each task (None: broken), filled by check_references
        self._chains: dict[int, Any] = {}
        self._pipelines_checked: set[str] = set()

    def report(
        self,
        code: str,
        severity: Severity,
        message: str,
        path: Path,
        fixes: tuple[Fix, ...] = (),
        rng: Range | None = None,
    ) -> None:
        if (code, path) in self._reported or self.full:
            return
        self._reported.add((code, path))
        self.diagnostics.append(
            Diagnostic(code, severity, message, rng or self._value_range(path), fixes)
        )

    @property
    def full(self) -> bool:
        return self.already + len(self.diagnostics) >= MAX_DIAGNOSTICS

    def _value_range(self, path: Path) -> Range:
        node = self.doc.node_at(path)
        if isinstance(node, yaml.ScalarNode):
            return node_range(node)
        return self.doc.range_of(path, key=True)

    def run(self) -> list[Diagnostic]:
        self.check_names()
        self.check_references()
        self.check_tasks()
        self.check_resources()
        self.check_schedules()
        self.check_models()
        self.check_project_files()
        return self.diagnostics

    # --- names ----------------------------------------------------------------------------

    def check_names(self) -> None:
        self._check_name(self.project.project, ("project",), "project")
        kinds: list[tuple[str, str, list[Any]]] = [
            ("task", "tasks", self.project.task_list()),
            ("template", "templates", self.project.template_list()),
            ("model", "models", self.project.model_list()),
            ("data set", "dataSets", self.project.data_set_list()),
        ]
        for kind, _, items in kinds:
            seen: dict[str, Path] = {}
            for item in items:
                name = item.name
                if name is None:
                    continue
                path = (*item.source_path, "name")
                self._check_name(name, path, kind)
                if name in seen:
                    first = self.doc.node_at(seen[name])
                    where = f" (first at line {first.start_mark.line + 1})" if first else ""
                    self.report(
                        "AME202",
                        Severity.ERROR,
                        f"duplicate {kind} name '{name}'{where}: names are unique per kind",
                        path,
                    )
                else:
                    seen[name] = path
        for task in self.project.task_list():
            if task.name is None and task.source_path not in self.error_paths:
                self.report(
                    "AME209",
                    Severity.ERROR,
                    "a task in `tasks:` needs a `name` (other tasks and models refer to it by name)",
                    task.source_path,
                    rng=self.doc.range_of(task.source_path),
                )
        for task, _where in iter_inline_tasks(self.project):
            top_level = len(task.source_path) == 2 and task.source_path[0] == "tasks"
            if task.name is not None and not top_level:
                self._check_name(task.name, (*task.source_path, "name"), "task")

    def _check_name(self, name: str, path: Path, kind: str) -> None:
        if _NAME_RE.match(name):
            return
        fixed = re.sub(r"[^A-Za-z0-9_-]", "_", name).lstrip("_-")[:63]
        if "." in name:
            why = "dots separate a project from a name in references"
        elif len(name) > 63:
            why = "at most 63 characters"
        elif not name:
            why = "it is empty"
        else:
            why = "letters, digits, '_' and '-' only, starting with a letter or digit"
        fixes = (Fix(f"Rename to '{fixed}'", (TextEdit(self._value_range(path), fixed),)),)
        self.report(
            "AME201",
            Severity.ERROR,
            f"invalid {kind} name '{name}': {why}",
            path,
            fixes if fixed and _NAME_RE.match(fixed) else (),
        )

    # --- references -------------------------------------------------------------------------

    def _problem(self, problem: ResolveProblem) -> None:
        if problem.index is not self.index:
            return  # a problem inside another project: reported when that file is checked
        fixes: tuple[Fix, ...] = ()
        if problem.suggestion:
            rng = self._value_range(problem.path)
            fixes = (
                Fix(f"Change to '{problem.suggestion}'", (TextEdit(rng, problem.suggestion),)),
            )
        self.report(problem.code, Severity.ERROR, problem.message, problem.path, fixes)

    def check_references(self) -> None:
        for template in self.project.template_list():
            try:
                self.resolver.template_chain(template, self.index)
            except ResolveError as exc:
                self._problem(exc.problem)
        for task, _ in iter_inline_tasks(self.project):
            self._check_task_refs(task)

    def _check_task_refs(self, task: Task) -> None:
        if task.from_template is not None:
            try:
                self._chains[id(task)] = self.resolver.template_chain(task, self.index)
            except ResolveError as exc:
                self._chains[id(task)] = None
                self._problem(exc.problem)
        if task.task_ref is not None:
            ref = parse_ref(task.task_ref)
            at = ref_value_path(task.source_path, "taskRef", task.task_ref)
            try:
                assert ref is not None
                self.resolver.find_task(ref, self.index, at)
            except ResolveError as exc:
                self._problem(exc.problem)
        for i, data_set in enumerate(task.data_sets or []):
            ref = parse_ref(data_set)
            base = (*task.source_path, "dataSets", i)
            at = (*base, "ref", "name") if not isinstance(data_set, str) else base
            try:
                assert ref is not None
                self.resolver.find_data_set(ref, self.index, at)
            except ResolveError as exc:
                self._problem(exc.problem)

    # --- tasks ------------------------------------------------------------------------------

    def check_tasks(self) -> None:
        for task, where in iter_inline_tasks(self.project):
            path = task.source_path
            if task.task_ref is not None:
                extra = sorted(task.model_fields_set - {"task_ref", "name"})
                if extra:
                    keys = ", ".join(f"`{Task.model_fields[k].alias or k}`" for k in extra)
                    self.report(
                        "AME210",
                        Severity.ERROR,
                        f"a task with `taskRef` is the referenced task: its {keys} would be "
                        "ignored; move them to the referenced task or drop `taskRef`",
                        (*path, "taskRef"),
                        rng=self.doc.range_of((*path, "taskRef"), key=True),
                    )
            if path in self.error_paths:
                continue
            if task.task_ref is not None:
                self._check_ref_chain(task)
                continue
            if task.pipeline:
                self._check_pipeline_cycles(task, self.index, ())
                continue
            chain = self._chains.get(id(task), [])
            if chain is None:
                continue  # its template reference is broken: reported by check_references
            has_executor = task.executor is not None or any(
                template.executor is not None for template, _ in chain
            )
            if not has_executor:
                rng = self.doc.range_of((*path, "name"), key=True)
                if self.doc.node_at((*path, "name")) is None:
                    rng = self.doc.range_of(path)
                via = " (its templates have none either)" if task.from_template else ""
                self.report(
                    "AME208",
                    Severity.ERROR,
                    f"{where} '{task.name or '(inline)'}' has no executor{via}: add "
                    "`executor: !pip` (or !poetry, !pipenv, !mlflow, !custom), a `fromTemplate` "
                    "with one, a `taskRef` or a `pipeline`",
                    path,
                    rng=rng,
                )

    def _check_ref_chain(self, task: Task) -> None:
        """A `taskRef` chain must end at a real task, never come back to where it started."""
        seen: list[str] = []
        current, owner = task, self.index
        while current.task_ref is not None:
            ref = parse_ref(current.task_ref)
            at = ref_value_path(current.source_path, "taskRef", current.task_ref)
            try:
                assert ref is not None
                target, owner = self.resolver.find_task(ref, owner, at)
            except ResolveError:
                return  # unknown names are reported by check_references
            key = f"{owner.name}.{target.name}"
            if key in seen or target is task:
                self._problem(
                    ResolveProblem(
                        "AME207",
                        "task reference cycle: " + " → ".join([*seen, key]),
                        (*task.source_path, "taskRef") if owner is self.index else at,
                        self.index,
                    )
                )
                return
            seen.append(key)
            current = target

    def _check_pipeline_cycles(
        self, task: Task, owner: ProjectIndex, stack: tuple[str, ...]
    ) -> None:
        """A pipeline must not contain itself, directly or through the tasks its steps name."""
        key = f"{owner.name}.{task.name or id(task)}"
        if key in self._pipelines_checked:
            return
        stack = (*stack, key)

        for step in task.pipeline or []:
            self._check_step_for_cycles(step, owner, stack)
        self._pipelines_checked.add(key)

    def _check_step_for_cycles(
        self, step: Any, owner: ProjectIndex, stack: tuple[str, ...]
    ) -> None:
        """One pipeline step. A method, not a closure: a closure that calls itself is a
        reference cycle, which would keep the whole analysis alive until the collector runs."""
        if isinstance(step, list):
            for inner in step:
                self._check_step_for_cycles(inner, owner, stack)
            return
        target, target_owner = step, owner
        while target.task_ref is not None:
            ref = parse_ref(target.task_ref)
            try:
                assert ref is not None
                target, target_owner = self.resolver.find_task(ref, target_owner, ())
            except ResolveError:
                return
            target_key = f"{target_owner.name}.{target.name}"
            if target_key in stack:
                at = ref_value_path(step.source_path, "taskRef", step.task_ref)
                self._problem(
                    ResolveProblem(
                        "AME207",
                        "pipeline cycle: " + " → ".join([*stack, target_key]),
                        at,
                        self.index,
                    )
                )
                return
            if target.task_ref is None:
                break
        if target.pipeline:
            self._check_pipeline_cycles(target, target_owner, stack)

    # --- quantities -------------------------------------------------------------------------

    def _resource_maps(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for task, _ in iter_inline_tasks(self.project):
            if task.resources:
                yield (*task.source_path, "resources"), task.resources
        for template in self.project.template_list():
            if template.resources:
                yield (*template.source_path, "resources"), template.resources
        for model in self.project.model_list():
            if model.deployment is not None and model.deployment.resources:
                yield (*model.deployment.source_path, "resources"), model.deployment.resources
            batch = model.batch_inference
            if batch is not None and batch.resources:
                yield (*batch.source_path, "resources"), batch.resources

    def check_resources(self) -> None:
        for base, resources in self._resource_maps():
            if self.full:
                return
            for name, value in resources.items():
                if self.full:
                    return
                path = (*base, name)
                try:
                    check_resource(name, value)
                except QuantityError as exc:
                    message = str(exc)
                    if "/" in name and "whole number" in message:
                        code = "AME302"
                    elif _is_unknown_resource(name):
                        code = "AME303"
                        path_rng = self.doc.range_of(path, key=True)
                        self.report(code, Severity.ERROR, message, path, rng=path_rng)
                        continue
                    else:
                        code = "AME301"
                    self.report(code, Severity.ERROR, message, path)
        for data_set in self.project.data_set_list():
            if data_set.size is not None:
                try:
                    parse_quantity(data_set.size)
                except QuantityError as exc:
                    self.report("AME301", Severity.ERROR, str(exc), (*data_set.source_path, "size"))

    # --- schedules --------------------------------------------------------------------------

    def check_schedules(self) -> None:
        schedules: list[tuple[Path, str]] = []
        for task, _ in iter_inline_tasks(self.project):
            if task.triggers is not None and task.triggers.schedule is not None:
                schedules.append(
                    ((*task.source_path, "triggers", "schedule"), task.triggers.schedule)
                )
        for template in self.project.template_list():
            if template.triggers is not None and template.triggers.schedule is not None:
                schedules.append(
                    ((*template.source_path, "triggers", "schedule"), template.triggers.schedule)
                )
        for model in self.project.model_list():
            for section in (model.monitoring, model.batch_inference):
                if section is not None and section.schedule is not None:
                    schedules.append(((*section.source_path, "schedule"), section.schedule))
        for path, expr in schedules:
            try:
                parse_cron(expr)
            except CronError as exc:
                self.report(
                    "AME304", Severity.ERROR, str(exc), path, rng=self._cron_range(path, exc)
                )

    def _cron_range(self, path: Path, exc: CronError) -> Range:
        node = self.doc.node_at(path)
        if not isinstance(node, yaml.ScalarNode) or exc.start is None:
            return self._value_range(path)
        start = node.start_mark
        if start.line != node.end_mark.line:
            return node_range(node)
        offset = 1 if node.style in ("'", '"') else 0
        if node.style == '"' and "\\" in self.doc.lines[start.line]:
            return node_range(node)  # escapes make offsets unreliable
        col = start.column + offset
        return Range(start.line, col + exc.start, start.line, col + (exc.end or exc.start + 1))

    # --- models -----------------------------------------------------------------------------

    def check_models(self) -> None:
        for model in self.project.model_list():
            self._check_model(model)

    def _check_rollout(self, rollout: Any) -> None:
        from ame_core.durations import FormatValueError, parse_duration, parse_percent

        for kind, key, value, (low, high) in _rollout_values(rollout):
            path = (*rollout.source_path, *key.split("."))
            try:
                if kind == "percent":
                    parse_percent(value, low, high)
                elif parse_duration(value) <= 0:
                    raise FormatValueError(f"{value!r} is not a positive duration")
            except FormatValueError as exc:
                code = "AME306" if kind == "percent" else "AME305"
                self.report(code, Severity.ERROR, f"{key}: {exc}", path)

    def _check_monitoring(self, monitoring: Any) -> None:
        from ame_core.durations import FormatValueError, parse_duration

        try:
            if parse_duration(monitoring.window) <= 0:
                raise FormatValueError(f"{monitoring.window!r} is not a positive duration")
        except FormatValueError as exc:
            path = (*monitoring.source_path, "window")
            self.report("AME305", Severity.ERROR, f"window: {exc}", path)
        threshold = monitoring.drift.threshold if monitoring.drift is not None else None
        if isinstance(threshold, int | float) and threshold <= 0:
            path = (*monitoring.source_path, "drift", "threshold")
            self.report(
                "AME109",
                Severity.ERROR,
                f"must be above 0, got {threshold} (a distance: 0.1 is Evidently's default)",
                path,
            )

    def _check_model(self, model: Model) -> None:
        deployment = model.deployment
        if deployment is not None and deployment.serving in CLUSTER_ONLY_SERVING:
            # The backend is chosen at run time (FORMAT.md: kserve locally is an error then).
            self.report(
                "AME401",
                Severity.INFORMATION,
                f"serving '{deployment.serving}' is cluster only: deploy with --backend kubernetes",
                (*deployment.source_path, "serving"),
            )
        elif deployment is not None and deployment.serving not in SUPPORTED_SERVING:
            self.report(
                "AME401",
                Severity.WARNING,
                f"serving '{deployment.serving}' is not supported yet: only "
                f"{', '.join(SUPPORTED_SERVING)} can be deployed today",
                (*deployment.source_path, "serving"),
            )
        if deployment is not None and deployment.rollout is not None:
            self._check_rollout(deployment.rollout)
        if model.monitoring is not None:
            self._check_monitoring(model.monitoring)
        batch = model.batch_inference
        if batch is not None:
            path = batch.source_path
            if (batch.input is None) == (batch.data_set is None):
                self.report(
                    "AME109",
                    Severity.ERROR,
                    "batchInference needs exactly one of `input` (a file) or `dataSet`",
                    path,
                    rng=self.doc.range_of(path, key=True),
                )
            if batch.version is not None and batch.alias is not None:
                self.report(
                    "AME109",
                    Severity.ERROR,
                    "batchInference takes `version` or `alias`, not both",
                    (*path, "alias"),
                    rng=self.doc.range_of((*path, "alias"), key=True),
                )
            if batch.data_set is not None:
                ref = parse_ref(batch.data_set)
                try:
                    assert ref is not None
                    self.resolver.find_data_set(ref, self.index, (*path, "dataSet"))
                except ResolveError as exc:
                    self._problem(exc.problem)

    # --- files the tasks need -------------------------------------------------------------

    def check_project_files(self) -> None:
        """What a task run would miss on disk: a `!pip` environment without requirements.txt,
        a `python FILE` whose FILE is not there. Only for a saved project file (ame.yml in its
        folder): the folder is where tasks run."""
        folder = _project_folder(self.index.path)
        if folder is None:
            return
        exists: dict[str, bool] = {}

        def present(name: str) -> bool:
            if name not in exists:
                exists[name] = (folder / name).exists()
            return exists[name]

        holders: list[Any] = [task for task, _ in iter_inline_tasks(self.project)]
        holders += self.project.template_list()
        for holder in holders:
            executor = holder.executor
            if executor is None or executor.source_path in self.error_paths:
                continue
            try:
                kind, variant = executor.kind, executor.variant
            except ValueError:
                continue
            if kind == "pip" and not present("requirements.txt"):
                self.report(
                    "AME403",
                    Severity.WARNING,
                    f"`!pip` installs the project's requirements.txt and there is none "
                    f"({folder / 'requirements.txt'}): the task runs without its packages "
                    "(create the file, even empty)",
                    executor.source_path,
                    rng=self._tag_range(executor.source_path, kind),
                )
            command = getattr(variant, "command", None)
            script = python_script(command) if kind != "mlflow" and command else None
            if script is not None and not present(script):
                at = (*variant.source_path, "command")
                self.report(
                    "AME404",
                    Severity.WARNING,
                    f"`{command}` runs {script}, which is not in the project "
                    f'({folder / script}): the task would fail with "can\'t open file"',
                    at,
                    rng=self._word_range(at, script),
                )

    def _tag_range(self, path: Path, kind: str) -> Range:
        """The `!pip` tag of an executor, or the `pip:` key of its map spelling."""
        node = self.doc.node_at(path)
        if node is not None and node.tag == f"!{kind}":
            start = node.start_mark
            line = self.doc.lines[start.line] if start.line < len(self.doc.lines) else ""
            col = line.find(f"!{kind}", start.column)
            if col >= 0:
                return Range(start.line, col, start.line, col + len(kind) + 1)
        return self.doc.range_of((*path, kind), key=True)

    def _word_range(self, path: Path, word: str) -> Range:
        """The range of `word` inside the one-line scalar at `path` (else the scalar's)."""
        node = self.doc.node_at(path)
        if node is None:
            return self.doc.range_of(path)
        rng = node_range(node)
        if rng.start_line == rng.end_line and rng.start_line < len(self.doc.lines):
            col = self.doc.lines[rng.start_line].find(word, rng.start_col, rng.end_col)
            if col >= 0:
                return Range(rng.start_line, col, rng.start_line, col + len(word))
        return rng


_PYTHON_RE = re.compile(r"^(?:.*/)?python(?:\d+(?:\.\d+)?)?$")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Interpreter options that take a value as the next word.
_OPTIONS_WITH_VALUE = {"-W", "-X", "-Q"}


def python_script(command: str) -> str | None:
    """FILE of a `python [OPTIONS] FILE ...` command (relative, literal), else None: `-m`,
    `-c`, shell expansions and other programs are not checked."""
    if any(c in command for c in "$`*?{}~"):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and _ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words or not _PYTHON_RE.match(words[0]):
        return None
    rest = iter(words[1:])
    for word in rest:
        if word.startswith(("-m", "-c")) or word == "-":
            return None
        if word in _OPTIONS_WITH_VALUE:
            next(rest, None)
        elif not word.startswith("-"):
            return None if word.startswith("/") else word
    return None


def _project_folder(path: str | None) -> FsPath | None:
    """The folder of a project file that is on disk, else None (a text being checked alone,
    or one of the corpus's files under another name)."""
    if not path:
        return None
    file = FsPath(path)
    if file.name not in ("ame.yml", "ame.yaml") or not file.is_file():
        return None
    return file.resolve().parent


def _rollout_values(rollout: Any) -> Iterator[tuple[str, str, Any, tuple[float, float]]]:
    """(kind, key path, value, range) of each duration and percentage of a rollout."""
    yield "percent", "canary", rollout.canary, (1.0, 99.0)
    yield "duration", "window", rollout.window, (0.0, 0.0)
    if rollout.gate is not None:
        if rollout.gate.max_error_rate is not None:
            yield "percent", "gate.maxErrorRate", rollout.gate.max_error_rate, (0.0, 100.0)
        if rollout.gate.max_latency_p95 is not None:
            yield "duration", "gate.maxLatencyP95", rollout.gate.max_latency_p95, (0.0, 0.0)


def _is_unknown_resource(name: str) -> bool:
    from ame_core.quantity import KNOWN_RESOURCES

    return "/" not in name and name not in KNOWN_RESOURCES
