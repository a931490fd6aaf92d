"""Build the VS Code extension in editors/vscode from a clean copy.

Runs ``npm ci`` and ``npm run compile`` (which also copies the project's JSON
Schema into the extension) in a temporary directory. Needs ``npm`` on PATH and
access to the npm registry or a warm npm cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXT_SRC = REPO / "editors" / "vscode"
SCHEMA = REPO / "schema" / "ame.schema.json"
NPM = shutil.which("npm")
TIMEOUT_S = 300


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, (
        f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A compiled copy of the extension and the output of `npm run compile`."""
    if NPM is None:
        pytest.skip("npm is not on PATH; cannot build the VS Code extension")
    ext = tmp_path_factory.mktemp("vscode") / "ext"
    shutil.copytree(
        EXT_SRC,
        ext,
        ignore=shutil.ignore_patterns("node_modules", "out", "*.vsix", "ame.schema.json"),
    )
    env = dict(os.environ)
    # The copy no longer sits at editors/vscode, so point the copy script at the schema
    # (or at where it would be: its absence must be handled gracefully).
    env["AME_SCHEMA_PATH"] = str(SCHEMA)
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    _run([NPM, "ci", "--no-fund", "--no-audit"], ext, env)
    proc = _run([NPM, "run", "compile"], ext, env)
    return ext, proc.stdout + proc.stderr


def test_compile_produces_extension(built: tuple[Path, str]) -> None:
    ext, _ = built
    out = ext / "out" / "extension.js"
    assert out.is_file()
    assert "ame-lsp" in out.read_text(encoding="utf-8")


def test_yaml_validation_schema(built: tuple[Path, str]) -> None:
    ext, log = built
    manifest = json.loads((ext / "package.json").read_text(encoding="utf-8"))
    [validation] = manifest["contributes"]["yamlValidation"]
    assert set(validation["fileMatch"]) == {"ame.yml", "ame.yaml"}
    schema = (ext / validation["url"]).resolve()
    if SCHEMA.is_file():
        assert schema.is_file(), f"{validation['url']} was not created by `npm run compile`"
        assert json.loads(schema.read_text(encoding="utf-8")) == json.loads(
            SCHEMA.read_text(encoding="utf-8")
        )
    else:
        # No project schema yet: compile must still succeed, say so, and create nothing.
        assert "not found; skipping" in log
        assert not schema.exists()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_copy_schema_script(tmp_path: Path) -> None:
    """scripts/copy-schema.js copies $AME_SCHEMA_PATH into ./schema/ and tolerates its absence."""
    ext = tmp_path / "ext"
    shutil.copytree(EXT_SRC / "scripts", ext / "scripts")
    target = ext / "schema" / "ame.schema.json"
    node = shutil.which("node") or "node"

    missing = dict(os.environ, AME_SCHEMA_PATH=str(tmp_path / "missing.json"))
    proc = _run([node, "scripts/copy-schema.js"], ext, missing)
    assert "not found; skipping" in proc.stdout + proc.stderr
    assert not target.exists()

    fake = tmp_path / "fake.schema.json"
    fake.write_text('{"title": "fake"}', encoding="utf-8")
    _run([node, "scripts/copy-schema.js"], ext, dict(os.environ, AME_SCHEMA_PATH=str(fake)))
    assert target.read_text(encoding="utf-8") == fake.read_text(encoding="utf-8")


# --- the packaged extension as VS Code loads it ----------------------------------------------

VSCE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ame-tests" / "vsce"
STUB = REPO / "tests" / "editors_vscode" / "load_with_stub.js"


def _activate(ext: Path, trusted: bool) -> dict:
    node = shutil.which("node") or "node"
    proc = _run(
        [node, str(STUB), str(ext), "trusted" if trusted else "untrusted"], ext, dict(os.environ)
    )
    return json.loads(proc.stdout)


def test_activation_starts_the_server_for_files_and_untitled_documents(built: tuple[Path, str]):
    ext, _ = built
    seen = _activate(ext, trusted=True)
    (client,) = seen["clients"]
    assert client["command"] == "ame-lsp"
    assert {"scheme": "file", "language": "ame"} in client["documentSelector"]
    assert {"scheme": "untitled", "language": "ame"} in client["documentSelector"]
    assert {"scheme": "file", "pattern": "**/ame.{yml,yaml}"} in client["documentSelector"]
    assert "ame.restartServer" in seen["commands"]
    assert client["initializationOptions"] == {"debounceMs": 150, "codeLens": True}


def test_lenses_only_in_a_trusted_workspace(built: tuple[Path, str]):
    ext, _ = built
    seen = _activate(ext, trusted=False)
    (client,) = seen["clients"]
    assert client["initializationOptions"]["codeLens"] is False  # nothing to click that runs
    assert seen["trustListeners"] == 1  # granted trust restarts the client with lenses
    manifest = json.loads((ext / "package.json").read_text(encoding="utf-8"))
    assert manifest["capabilities"]["untrustedWorkspaces"]["supported"] == "limited"


def test_language_configuration_and_grammar(built: tuple[Path, str]):
    ext, _ = built
    manifest = json.loads((ext / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    config = json.loads((ext / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["language"] == "ame"
    tm = json.loads((ext / grammar["path"]).read_text(encoding="utf-8"))
    assert tm["scopeName"] == grammar["scopeName"]


def test_vsce_packages_the_extension(built: tuple[Path, str]):
    ext, _ = built
    vsce = VSCE_DIR / "node_modules" / ".bin" / "vsce"
    if not vsce.exists():
        VSCE_DIR.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [NPM or "npm", "install", "--no-audit", "--no-fund", "--prefix", str(VSCE_DIR)]
            + ["@vscode/vsce@3"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        if proc.returncode != 0 or not vsce.exists():
            pytest.skip(f"npm install @vscode/vsce failed: {proc.stderr.strip()[-200:]}")
    _run([str(vsce), "package", "--out", "ame.vsix"], ext, dict(os.environ))
    import zipfile

    names = set(zipfile.ZipFile(ext / "ame.vsix").namelist())
    for inside in (
        "extension/out/extension.js",
        "extension/language-configuration.json",
        "extension/syntaxes/ame.tmLanguage.json",
        "extension/schema/ame.schema.json",
        "extension/node_modules/vscode-languageclient/package.json",
    ):
        assert inside in names, inside
