"""Run from the editor, end to end: the `▶ Run` lens above a task starts a real run (a flow and
its driver, as `ame` starts them, with the project's MLflow), the status lens under it changes
when the run ends, and its `log` lens opens the run's log (window/showDocument). Nothing runs on
open or save; a client that cannot show lenses is offered none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsp_support import SERVER_COMMAND, init_params, make_client, open_doc, uri
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

PROJECT = """\
project: lensdemo
tasks:
  - name: hello
    executor: !custom
      command: python -c "print('hello from the lens')"
  - name: both
    pipeline:
      - taskRef: hello
models:
  - name: churn
    training:
      task:
        taskRef: hello
"""

config = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lens") / "lensdemo"
    root.mkdir()
    (root / "ame.yml").write_text(PROJECT)
    yield root / "ame.yml"
    from ame_core import tracking_server

    tracking_server.stop_all_under(root)  # the project's MLflow server the run started


@pytest_lsp.fixture(config=config, scope="module")
async def client(lsp_client: LanguageClient, project: Path):
    params = init_params(project.parent)
    assert params.capabilities.workspace is not None
    params.capabilities.workspace.code_lens = types.CodeLensWorkspaceClientCapabilities(
        refresh_support=True
    )
    lsp_client.init_result = await lsp_client.initialize_session(params)  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _lenses(client: LanguageClient, doc: str) -> list[tuple[int, str, str, list[Any]]]:
    found = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=doc))
    )
    return [
        (lens.range.start.line, lens.command.title, lens.command.command, lens.command.arguments)
        for lens in found or []
        if lens.command is not None
    ]


def _flows(project: Path) -> list[Any]:
    from ame_core.flows import control
    from ame_core.runtime.local import LocalBackend

    return control.listing(LocalBackend(project.parent).flow_store())


async def test_lenses_above_tasks_pipelines_and_models(client: LanguageClient, project: Path):
    assert client.init_result.capabilities.code_lens_provider is not None  # type: ignore[attr-defined]
    doc = open_doc(client, project)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=doc))
    )
    lenses = await _lenses(client, doc)
    titles = {(line, title) for line, title, _, _ in lenses}
    assert {(2, "▶ Run"), (2, "never run")} <= titles  # `- name: hello`
    assert {(5, "▶ Run pipeline"), (5, "never run")} <= titles
    assert {(9, "Train"), (9, "Validate"), (9, "Deploy"), (9, "no version yet")} <= titles
    run = next(args for line, title, _, args in lenses if title == "▶ Run" and line == 2)
    assert list(run) == [doc, "task", "hello"]
    assert _flows(project) == []  # opening, saving and showing lenses ran nothing
    from ame_core import tracking_server

    assert tracking_server.running(project.parent) is None  # nor started MLflow


async def test_the_run_lens_runs_the_task_and_its_status_follows(
    client: LanguageClient, project: Path
):
    doc = uri(project)
    started = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ame.run", arguments=[doc, "task", "hello"])
    )
    assert started and started["flow"].startswith("flow-")
    (flow,) = _flows(project)
    assert flow.id == started["flow"] and flow.task == "hello" and flow.kind == "task"

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 180
    status = ""
    while loop.time() < deadline:
        lenses = await _lenses(client, doc)
        status = next(t for line, t, _, _ in lenses if line == 2 and t != "▶ Run")
        if status.startswith("✓ succeeded"):
            break
        assert not status.startswith(("✗", "⊘")), status
        await asyncio.sleep(0.2)
    assert status.startswith("✓ succeeded") and status.endswith("ago · log"), status
    assert client.lens_refreshes > 0  # type: ignore[attr-defined]  # told, not only polled

    log_lens = next(lens for lens in lenses if lens[0] == 2 and lens[2] == "ame.openLog")
    opened = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ame.openLog", arguments=log_lens[3])
    )
    assert opened is True
    shown = client.shown[-1]  # type: ignore[attr-defined]
    log_file = Path(shown.uri.removeprefix("file://"))
    assert "hello from the lens" in log_file.read_text()


async def test_an_unsaved_file_is_not_run(client: LanguageClient, project: Path):
    doc = uri(project)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=PROJECT + "\n")],
        )
    )
    before = len(_flows(project))
    started = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ame.run", arguments=[doc, "task", "hello"])
    )
    assert started is None
    assert len(_flows(project)) == before
    assert any("save ame.yml first" in m.message for m in client.messages)


@pytest_lsp.fixture(config=config, scope="module")
async def no_lens_client(lsp_client: LanguageClient, project: Path):
    # Emacs 29's eglot declares no code lens support.
    params = init_params(project.parent)
    params.capabilities = client_capabilities("emacs")
    lsp_client.init_result = await lsp_client.initialize_session(params)  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_a_client_without_code_lenses_is_offered_none(no_lens_client: LanguageClient):
    assert no_lens_client.init_result.capabilities.code_lens_provider is None  # type: ignore[attr-defined]


async def test_the_initialization_option_turns_lenses_on_and_off(project: Path):
    from ame_lsp.code_lens import lenses_wanted

    vscode = init_params(project.parent)
    assert lenses_wanted(vscode)
    vscode.initialization_options = {"codeLens": False}
    assert not lenses_wanted(vscode)
    emacs = init_params(project.parent)
    emacs.capabilities = client_capabilities("emacs")
    assert not lenses_wanted(emacs)
    emacs.initialization_options = {"ame": {"codeLens": True}}
    assert lenses_wanted(emacs)


async def test_the_model_status_line():
    # The registry's own VersionInfo, as Registry.latest returns it (a real registered version
    # end to end is not run here: training costs tens of seconds).
    from ame_core.registry import TAG_STATUS, VersionInfo
    from ame_lsp.run_status import version_line

    passed = VersionInfo(
        "churn", "3", 0.0, None, "READY", [], {"accuracy": 0.9312}, {TAG_STATUS: "passed"}
    )
    assert version_line(passed) == "v3 · ✓ validation passed · accuracy 0.9312"
    bare = VersionInfo("churn", "4", 0.0, None, "READY")
    assert version_line(bare) == "v4 · not validated"
