"""The published schema in the YAML extension most users already have: the real
yaml-language-server (npm), configured as the README says (`yaml.schemas` with
`schema/ame.schema.json`, the documented `yaml.customTags`), reads every example and every clean
file of the compatibility corpus without an error, and still finds the common mistakes.

yaml-language-server is installed once into ~/.cache/ame-tests/yamlls (npm); without node/npm
the test is skipped."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from ame_core.engine import analyze

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schema" / "ame.schema.json"
UPSTREAM = REPO.parent / "shared" / "compat" / "upstream"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ame-tests" / "yamlls"
# The README's and docs/format.md's `yaml.customTags` (`!pipEnv` is the deprecated `!pipenv`).
CUSTOM_TAGS = [
    f"!{t} mapping"
    for t in ("poetry", "pip", "pipenv", "pipEnv", "mlflow", "custom", "ame", "vault")
]

EXAMPLES = sorted((REPO / "examples").glob("*/ame.yml"))


def _clean(path: Path) -> bool:
    """A file `ame lint` gives no error (warnings, e.g. deprecated spellings, are allowed)."""
    return analyze(path.read_text(), str(path)).errors == []


CLEAN_UPSTREAM = [p for p in sorted(UPSTREAM.glob("*.yaml")) if _clean(p)]

HEAD = (
    'project: mistakes\ntasks:\n  - name: train\n    executor: !pip\n      pythonVersion: "3.11"\n'
)
# (file text, the line (0-based) and words of the error yaml-language-server must report)
MISTAKES = {
    "unknown key in a tagged executor": (
        HEAD + "      comand: python train.py\n",
        5,
        "comand",
    ),
    "two executor variants in map spelling": (
        'project: mistakes\ntasks:\n  - name: train\n    executor:\n      pip: {pythonVersion: "3.11", '
        "command: a}\n      poetry: {pythonVersion: '3.11', command: b}\n",
        None,
        "",
    ),
    "unknown key in a tagged secret": (
        HEAD
        + "      command: python train.py\n    secrets:\n"
        + "      - !ame {key: db, injectas: DB}\n",
        7,
        "injectas",
    ),
    "memory in the wrong unit": (
        HEAD + "      command: python train.py\n    resources:\n      memory: 10GB\n",
        7,
        "",
    ),
    "unknown task key": (
        HEAD + "      command: python train.py\n    retries: 3\n",
        6,
        "retries",
    ),
    "project name with a dot": (
        "project: bad.name\n",
        0,
        "",
    ),
}


def _yamlls_command() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not found: yaml-language-server (npm) cannot be installed")
    script = CACHE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
    if not script.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE)]
            + ["yaml-language-server@1"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0 or not script.exists():
            pytest.skip(f"npm install yaml-language-server failed: {proc.stderr.strip()[-200:]}")
    return [node, str(script), "--stdio"]


async def _diagnose(cmd: list[str], files: dict[str, Path], root: Path) -> dict[str, list[Any]]:
    """Every file opened where it is (so the examples' `$schema` modelines resolve) in one
    yaml-language-server; its published diagnostics by name."""
    settings = {
        "yaml": {
            "schemas": {SCHEMA.as_uri(): ["ame.yml", "ame.yaml", "**/ame.yml", "**/ame.yaml"]},
            "customTags": CUSTOM_TAGS,
            "schemaStore": {"enable": False},
            "validate": True,
        }
    }
    client = LanguageClient(configuration={"": settings})
    published: dict[str, list[Any]] = {}

    def record(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        published[params.uri] = params.diagnostics

    # pytest-lsp's own handlers answer workspace/configuration with `settings`.
    register_lsp_features(
        client, {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: record}
    )

    await client.start_io(*cmd)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=from_fs_path(str(root)),
                workspace_folders=[
                    types.WorkspaceFolder(uri=from_fs_path(str(root)) or "", name="w")
                ],
            )
        )
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings)
        )
        uris: dict[str, str] = {}
        for name, path in files.items():
            text = path.read_text()
            uris[name] = from_fs_path(str(path)) or ""
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uris[name], language_id="yaml", version=1, text=text
                    )
                )
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while any(u not in published for u in uris.values()) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        missing = [n for n, u in uris.items() if u not in published]
        assert not missing, f"yaml-language-server published nothing for {missing}"
        return {name: published[u] for name, u in uris.items()}
    finally:
        await client.shutdown_session()


@pytest.fixture(scope="module")
def yamlls_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    cmd = _yamlls_command()
    root = tmp_path_factory.mktemp("yamlls")
    files = {f"example-{p.parent.name}": p for p in EXAMPLES}
    files |= {f"upstream-{p.stem}": p for p in CLEAN_UPSTREAM}
    for i, (text, _, _) in enumerate(MISTAKES.values()):
        (root / f"mistake-{i}").mkdir()
        files[f"mistake-{i}"] = root / f"mistake-{i}" / "ame.yml"
        files[f"mistake-{i}"].write_text(text)
    return asyncio.run(_diagnose(cmd, files, root))


def _errors(diagnostics: list[Any]) -> list[str]:
    return [
        f"{d.range.start.line + 1}:{d.range.start.character + 1} {d.message}"
        for d in diagnostics
        if d.severity in (None, types.DiagnosticSeverity.Error)
    ]


def test_the_corpus_has_clean_upstream_files():
    if not UPSTREAM.is_dir():
        pytest.skip(f"{UPSTREAM} is not here (the compat corpus sits beside the repository)")
    # Most of the corpus is older eras (legacy spellings are errors); the last era's are clean.
    assert {p.name for p in CLEAN_UPSTREAM} >= {"ame-template-demo.yaml", "ame-test-env.yaml"}


@pytest.mark.parametrize(
    "name",
    [f"example-{p.parent.name}" for p in EXAMPLES] + [f"upstream-{p.stem}" for p in CLEAN_UPSTREAM],
)
def test_valid_files_have_no_yamlls_error(yamlls_results: dict[str, list[Any]], name: str):
    assert _errors(yamlls_results[name]) == []


@pytest.mark.parametrize("index", range(len(MISTAKES)), ids=list(MISTAKES))
def test_yamlls_finds_the_common_mistakes(yamlls_results: dict[str, list[Any]], index: int):
    _, line, words = list(MISTAKES.values())[index]
    errors = [
        d
        for d in yamlls_results[f"mistake-{index}"]
        if d.severity in (None, types.DiagnosticSeverity.Error)
    ]
    assert errors, "yaml-language-server found no error"
    if line is not None:
        assert any(d.range.start.line == line for d in errors), _errors(errors)
    assert any(words in d.message for d in errors), _errors(errors)


def test_schemastore_catalog_entry():
    entry = json.loads((REPO / "schema" / "schemastore-catalog-entry.json").read_text())
    assert entry["fileMatch"] == ["ame.yml", "ame.yaml"]
    assert entry["url"] == json.loads(SCHEMA.read_text())["$id"]
    assert entry["name"] and entry["description"]
