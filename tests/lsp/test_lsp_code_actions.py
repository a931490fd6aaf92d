"""Code actions: the engine's fixes and the refactors, applied and re-checked with the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import (
    SERVER_COMMAND,
    apply_edits,
    init_params,
    make_client,
    open_doc,
    pos,
    wait_for_publish,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ame_core.engine import analyze

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("actions")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    scope="module",
)
async def client(lsp_client: LanguageClient, root: Path):
    await lsp_client.initialize_session(init_params(root, options={"debounceMs": 0}))
    yield
    await lsp_client.shutdown_session()


_COUNTER = iter(range(1000))


async def _open(client: LanguageClient, root: Path, text: str) -> str:
    path = root / f"p{next(_COUNTER)}" / "ame.yml"
    path.parent.mkdir()
    path.write_text(text)
    doc_uri = open_doc(client, path, text)
    await wait_for_publish(client, doc_uri, 1)
    return doc_uri


async def _actions(
    client: LanguageClient, doc_uri: str, position: types.Position, only: list[str] | None = None
) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=doc_uri),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def _apply(text: str, action: types.CodeAction, doc_uri: str) -> str:
    assert action.edit is not None and action.edit.changes is not None
    return apply_edits(text, action.edit.changes[doc_uri])


async def test_quick_fix_did_you_mean(client: LanguageClient, root: Path):
    text = (
        'project: qf\ntasks:\n  - name: train\n    executor: !pip\n      pythonVersion: "3.11"\n'
        "      command: python t.py\n  - name: flow\n    pipeline:\n      - taskRef: trian\n"
    )
    doc_uri = await _open(client, root, text)
    actions = await _actions(client, doc_uri, pos(text, "trian"))
    fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix)
    assert (
        fix.title == "Change to 'train'" and fix.diagnostics and fix.diagnostics[0].code == "AME203"
    )
    fixed = _apply(text, fix, doc_uri)
    assert "taskRef: train\n" in fixed and analyze(fixed).diagnostics == []


async def test_quick_fix_quote_python_version(client: LanguageClient, root: Path):
    text = "project: qv\ntasks:\n  - name: a\n    executor: !pip\n      pythonVersion: 3.10\n      command: x\n"
    doc_uri = await _open(client, root, text)
    actions = await _actions(client, doc_uri, pos(text, "3.10"))
    fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix)
    assert '"3.10"' in _apply(text, fix, doc_uri)


async def test_quick_fix_moves_misplaced_tag(client: LanguageClient, root: Path):
    text = 'project: mt\ntasks:\n  - name: a\n    !pip\n    executor:\n      pythonVersion: "3.11"\n      command: x\n'
    doc_uri = await _open(client, root, text)
    actions = await _actions(client, doc_uri, pos(text, "!pip"))
    fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix)
    fixed = _apply(text, fix, doc_uri)
    assert "executor: !pip" in fixed and analyze(fixed).diagnostics == []


async def test_executor_tag_to_map_and_back(client: LanguageClient, root: Path):
    text = (
        'project: ex\ntasks:\n  - name: a\n    executor: !poetry\n      pythonVersion: "3.11"\n'
        "      command: python a.py\n    resources:\n      cpu: 1\n"
    )
    doc_uri = await _open(client, root, text)
    actions = await _actions(client, doc_uri, pos(text, "!poetry"), [types.CodeActionKind.Refactor])
    to_map = next(a for a in actions if a.kind == types.CodeActionKind.RefactorRewrite)
    as_map = _apply(text, to_map, doc_uri)
    assert (
        '    executor:\n      poetry:\n        pythonVersion: "3.11"\n        command: python a.py\n'
        in as_map
    )
    assert analyze(as_map).diagnostics == []
    # and back: the map spelling converts to the tag
    map_uri = await _open(client, root, as_map.replace("project: ex", "project: ex2"))
    back = await _actions(client, map_uri, pos(as_map, "poetry:"), [types.CodeActionKind.Refactor])
    to_tag = next(a for a in back if a.kind == types.CodeActionKind.RefactorRewrite)
    again = _apply(as_map.replace("project: ex", "project: ex2"), to_tag, map_uri)
    assert again == text.replace("project: ex", "project: ex2")


async def test_extract_resources_into_template(client: LanguageClient, root: Path):
    text = (
        'project: xr\ntasks:\n  - name: train\n    executor: !pip\n      pythonVersion: "3.11"\n'
        "      command: python t.py\n    resources:\n      cpu: 2\n      memory: 4Gi\n"
    )
    doc_uri = await _open(client, root, text)
    actions = await _actions(
        client, doc_uri, pos(text, "cpu: 2"), [types.CodeActionKind.RefactorExtract]
    )
    assert actions, "no extract action"
    result = _apply(text, actions[0], doc_uri)
    analysis = analyze(result)
    assert analysis.diagnostics == [], result
    assert analysis.project is not None
    assert analysis.project.template_list()[0].name == "train_resources"
    resolved = analysis.resolver.resolve_by_name("train")
    assert resolved.task.resources == {"cpu": 2, "memory": "4Gi"}
    assert resolved.origins["resources.cpu"].kind == "template"


async def test_inline_task_ref(client: LanguageClient, root: Path):
    text = (
        'project: il\ntasks:\n  - name: prep\n    executor: !pip\n      pythonVersion: "3.11"\n'
        "      command: python prep.py\n  - name: flow\n    pipeline:\n      - taskRef: prep\n"
    )
    doc_uri = await _open(client, root, text)
    actions = await _actions(
        client, doc_uri, pos(text, "taskRef: prep", 10), [types.CodeActionKind.RefactorInline]
    )
    assert actions
    result = _apply(text, actions[0], doc_uri)
    assert (
        '      - executor: !pip\n          pythonVersion: "3.11"\n          command: python prep.py\n'
        in result
    )
    assert analyze(result).diagnostics == []


async def test_quick_fixes_alias_and_legacy_spellings(client: LanguageClient, root: Path):
    text = (
        "project: al\ntasks:\n  - taskname: a\n    executor: !pip\n"
        '      pythonVersion: "3.11"\n      command: x\n    env:\n      - key: A\n        val: b\n'
    )
    doc_uri = await _open(client, root, text)
    legacy = next(
        a
        for a in await _actions(client, doc_uri, pos(text, "taskname"))
        if a.kind == types.CodeActionKind.QuickFix
    )
    assert legacy.diagnostics and legacy.diagnostics[0].code == "AME105"
    text = _apply(text, legacy, doc_uri)
    assert "  - name: a\n" in text
    alias_uri = await _open(client, root, text.replace("project: al", "project: al2"))
    text = text.replace("project: al", "project: al2")
    alias = next(
        a
        for a in await _actions(client, alias_uri, pos(text, "env:"))
        if a.kind == types.CodeActionKind.QuickFix
    )
    assert alias.diagnostics and alias.diagnostics[0].code == "AME104"
    assert list(alias.diagnostics[0].tags or []) == [types.DiagnosticTag.Deprecated]
    fixed = _apply(text, alias, alias_uri)
    assert "    environment:\n" in fixed and analyze(fixed).diagnostics == []
