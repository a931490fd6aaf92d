"""The checker's objects and its one walk of the models: every field has a check, objects built
from checked values behave like pydantic's, and the collector pause touches no other thread."""

from __future__ import annotations

import gc
import threading

from ame_core.engine import analyze
from ame_core.spec import models
from ame_core.spec.models import AmeModel, Artifacts, Task
from ame_core.validate import _plan

MODEL_CLASSES = [
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, AmeModel) and value is not AmeModel
]


def test_every_field_of_every_model_has_a_check():
    # A field of a type the walk does not know would raise on the first file that uses it.
    missing = []
    for cls in MODEL_CLASSES:
        for name, info in cls.model_fields.items():
            try:
                _plan(info.annotation)
            except TypeError as exc:
                missing.append(f"{cls.__name__}.{name}: {exc}")
    assert missing == []


def test_built_objects_know_what_was_written_and_where():
    task = Task.build({"name": "train"}, ("tasks", 3))
    assert task.name == "train"
    assert task.model_fields_set == {"name"}
    assert task.source_path == ("tasks", 3)
    assert task.executor is None  # a default
    # A copy keeps its place in the file, as pydantic copies private attributes.
    assert task.model_copy(update={"name": "other"}).source_path == ("tasks", 3)


def test_built_objects_do_not_share_a_default_list():
    first = Artifacts.build({}, ("a",))
    second = Artifacts.build({}, ("b",))
    first.paths.append("model.pkl")
    assert second.paths == []
    assert first.model_fields_set == set()


def test_a_nested_pipeline_is_checked_at_each_depth():
    text = (
        "project: p\n"
        "tasks:\n"
        "  - name: a\n"
        "    executor: !pip {pythonVersion: '3.11', command: python a.py}\n"
        "  - name: flow\n"
        "    pipeline:\n"
        "      - taskRef: a\n"
        "      - - taskRef: a\n"
        "        - - 42\n"
    )
    analysis = analyze(text)
    wrong = [d for d in analysis.errors if d.code == "AME101"]
    assert len(wrong) == 1, analysis.diagnostics
    assert wrong[0].range.start_line == 8
    assert "got a number" in wrong[0].message


def test_the_collector_keeps_running_for_other_threads_during_an_analysis():
    text = "project: p\ntasks:\n" + "".join(
        f"  - name: t{i}\n    executor: !pip {{pythonVersion: '3.11', command: python t.py}}\n"
        for i in range(3000)
    )
    seen_disabled = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not gc.isenabled():
                seen_disabled.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        analysis = analyze(text)
    finally:
        stop.set()
        watcher.join()
    assert analysis.project is not None
    assert not seen_disabled.is_set()
    assert gc.isenabled()


def test_the_collector_is_back_on_after_an_analysis_alone():
    analyze("project: p\n")
    assert gc.isenabled()
