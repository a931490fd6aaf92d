"""Property-based tests: nothing escapes the loader and the engine, whatever the input."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ame_core.diagnostics import Diagnostic
from ame_core.engine import analyze

REPO = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text() for p in sorted((REPO / "examples").glob("*/ame.yml"))] + [
    p.read_text() for p in sorted((REPO.parent / "shared" / "compat" / "upstream").glob("*.yaml"))
]
YAMLISH = "abc: -[]{}!&*<>#|'\"\n\t %@`,?.0123456789xyz"


def assert_well_formed(text: str, diagnostics: list[Diagnostic]) -> None:
    # Lines as YAML and the editor protocol count them: "\r" alone ends one too.
    n_lines = len(re.split(r"\r\n|\r|\n", text))
    for d in diagnostics:
        r = d.range
        assert 0 <= r.start_line <= r.end_line <= n_lines, d
        assert r.start_col >= 0 and r.end_col >= 0, d
        assert d.message and d.code.startswith("AME"), d


settings.register_profile("ame", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ame")


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
@example("\r{")  # a lone carriage return ends a line: the error is on the second
def test_random_text(text):
    assert_well_formed(text, analyze(text).diagnostics)


@settings(max_examples=300)
@given(st.text(alphabet=YAMLISH, max_size=300))
def test_random_yamlish_text(text):
    assert_well_formed(text, analyze(text).diagnostics)


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "cut"]))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif op == "insert":
            text = text[:at] + draw(st.text(alphabet=YAMLISH, max_size=8)) + text[at:]
        elif op == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 80)))
            text = text[:end] + text[at:end] + text[end:]
        elif op == "cut":  # a line typed only so far: `  - name: tr`, `  - `
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]))))]
            text = "\n".join(lines)
        else:
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@settings(max_examples=400)
@given(mutated())
def test_mutated_real_documents(text):
    analysis = analyze(text)
    assert_well_formed(text, analysis.diagnostics)
    if analysis.resolver is not None and analysis.index is not None:
        for name in analysis.index.tasks:
            try:
                analysis.resolver.resolve_by_name(name)
            except Exception as exc:  # noqa: BLE001 - only ResolveError is allowed out of resolution
                assert type(exc).__name__ == "ResolveError", exc


def test_empty_list_items_are_reported_where_they_are():
    """`- ` with nothing after it, in every list: an error on that line, never an exception."""
    text = (
        "project: p\n"
        "templates:\n  - \n"
        "dataSets:\n  - name: d\n    path: x\n  -\n"
        "tasks:\n  - name: a\n    executor: !custom {command: x}\n    dataSets:\n      - \n"
        "  - name: flow\n    pipeline:\n      - \n"
        "  - \n"
        "models:\n  - \n"
    )
    analysis = analyze(text)
    empty = sorted(
        d.range.start_line + 1 for d in analysis.diagnostics if "empty list item" in d.message
    )
    assert empty == [3, 7, 12, 15, 16, 18]
    assert all(d.code == "AME101" for d in analysis.diagnostics if "empty list" in d.message)


def test_a_key_with_nothing_under_it_means_not_written():
    """`paths:` with its items commented out is null: the default, not a crash later."""
    text = (
        "project: p\n"
        "tasks:\n"
        "  - name: a\n"
        "    executor: !custom {command: x}\n"
        "    artifacts:\n"
        "      paths:\n"
        "        # - out/model.pkl\n"
        "    environment:\n"
        "    resources:\n"
    )
    analysis = analyze(text)
    assert analysis.diagnostics == []
    assert analysis.resolver is not None
    assert analysis.index is not None
    task = analysis.index.tasks["a"]
    assert task.artifacts is not None and task.artifacts.paths == []
    assert not task.environment and not task.resources
    resolved = analysis.resolver.resolve_by_name("a")  # merging the layers does not trip
    assert not (resolved.task.artifacts and resolved.task.artifacts.paths)
