"""Secrets: the store (stdin, list, delete, 0600), masking in run logs and output, Vault.

Vault itself cannot be installed on these machines (no network, no package); a small local
HTTP server that speaks Vault's KV read endpoints (v2 `GET /v1/<mount>/data/<path>`, and v1)
stands in for it, driven through the same HTTP API code.
"""

from __future__ import annotations

import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from runtime_support import Env

from ame_core.runtime.secrets import SecretError, read_vault

VALUE = "s3cr3t-Pa55word"


def test_secret_store_and_masking(rt: Env) -> None:
    set_result = rt.ame("secret", "set", "db_pass", input=VALUE + "\n")
    assert set_result.returncode == 0, set_result.stderr
    listing = rt.ame("secret", "list")
    assert listing.stdout.split() == ["db_pass"]
    assert json.loads(rt.ame("secret", "list", "--json").stdout) == ["db_pass"]
    store = rt.root / "config" / "secrets.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert json.loads(store.read_text())["db_pass"] == VALUE  # only here

    run = rt.ame("task", "run", "secretive")
    assert run.returncode == 0, run.stderr
    run_id = run.stderr.split()[1].rstrip(":")
    log = rt.log(run_id)
    assert "pw=****" in log
    assert "split=****" in log  # written in two pieces, masked all the same
    assert VALUE not in log
    everything = run.stdout + run.stderr + log + json.dumps(rt.raw_record(run_id))
    assert VALUE not in everything
    assert VALUE not in rt.ame("runs", "--all", "--json").stdout
    assert VALUE not in rt.ame("logs", run_id).stdout

    deleted = rt.ame("secret", "delete", "db_pass")
    assert deleted.returncode == 0
    assert rt.ame("secret", "list").stdout.strip() == ""
    missing = rt.ame("task", "run", "secretive")
    assert missing.returncode == 2
    assert "ame secret set db_pass" in missing.stderr
    assert rt.ame("secret", "delete", "db_pass").returncode == 2


def test_secret_value_never_from_argv(rt: Env) -> None:
    result = rt.ame("secret", "set", "k", "value-on-argv")
    assert result.returncode == 2  # argparse refuses the extra argument
    empty = rt.ame("secret", "set", "k", input="")
    assert empty.returncode == 2 and "no value" in empty.stderr


class _Vault(BaseHTTPRequestHandler):
    secrets = {
        "/v1/secret/data/app": {"data": {"data": {"token": "vault-Tok3n-value"}, "metadata": {}}},
        "/v1/kv1/app": {"data": {"token": "v1-value"}},
    }

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.headers.get("X-Vault-Token") != "root-token":
            self.send_response(403)
            self.end_headers()
            return
        body = self.secrets.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {"errors": []}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def vault() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Vault)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_vault_secret_in_a_run(rt: Env, vault: str) -> None:
    env = {"VAULT_ADDR": vault, "VAULT_TOKEN": "root-token"}
    run = rt.ame("task", "run", "vaulted", env=env)
    assert run.returncode == 0, run.stderr
    assert "token=****" in run.stdout
    assert "vault-Tok3n-value" not in run.stdout + run.stderr
    no_addr = rt.ame("task", "run", "vaulted")
    assert no_addr.returncode == 2 and "VAULT_ADDR is not set" in no_addr.stderr


def test_vault_reads_and_errors(vault: str) -> None:
    assert read_vault("secret/data/app", "token", vault, "root-token") == "vault-Tok3n-value"
    assert read_vault("secret/app", "token", vault, "root-token") == "vault-Tok3n-value"
    assert read_vault("kv1/app", "token", vault, "root-token") == "v1-value"
    with pytest.raises(SecretError, match="permission denied"):
        read_vault("secret/data/app", "token", vault, "wrong")
    with pytest.raises(SecretError, match=r"no such key .*keys: token"):
        read_vault("secret/data/app", "nope", vault, "root-token")
    with pytest.raises(SecretError, match="not found"):
        read_vault("secret/data/missing", "token", vault, "root-token")
    with pytest.raises(SecretError, match="cannot reach Vault"):
        read_vault("secret/data/app", "token", "http://127.0.0.1:9", "root-token")
