"""Secrets: AME's own store (a 0600 JSON file in the user's config directory) and Vault.

Values never travel through argv, records or logs: the supervisor reads them when the run
starts and hands them to the task's environment only.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ame_core.atomic_files import atomic_write
from ame_core.user_config import config_dir

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.\-/]{1,200}$")


class SecretError(Exception):
    """A secret that cannot be read; the message says why and never contains a value."""


class SecretStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else config_dir()
        self.path = self.directory / "secrets.json"

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SecretError(f"secret store {self.path} is unreadable: {exc}") from None
        if not isinstance(data, dict):
            raise SecretError(f"secret store {self.path} is not a JSON object")
        return {str(k): str(v) for k, v in data.items()}

    def _save(self, data: dict[str, str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(
            self.path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o600, durable=True
        )

    def set(self, key: str, value: str) -> None:
        if not KEY_PATTERN.match(key):
            raise SecretError(f"invalid secret key {key!r}: use letters, digits, _ . - /")
        data = self._load()
        data[key] = value
        self._save(data)

    def get(self, key: str) -> str:
        data = self._load()
        if key not in data:
            raise SecretError(
                f"no secret '{key}' in AME's secret store; set it with `ame secret set {key}`"
            )
        return data[key]

    def has(self, key: str) -> bool:
        return key in self._load()

    def keys(self) -> list[str]:
        return sorted(self._load())

    def delete(self, key: str) -> bool:
        data = self._load()
        if key not in data:
            return False
        del data[key]
        self._save(data)
        return True


# --- Vault -------------------------------------------------------------------------------


def _vault_get(addr: str, token: str, path: str) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    url = f"{addr.rstrip('/')}/v1/{path.strip('/')}"
    request = urllib.request.Request(url, headers={"X-Vault-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SecretError(f"cannot reach Vault at {addr}: {reason}") from None
    except ValueError:
        raise SecretError(f"Vault at {addr} answered something that is not JSON") from None


def read_vault(path: str, key: str, addr: str | None = None, token: str | None = None) -> str:
    """`key` of the Vault secret at `path` (KV v2 `mount/data/…`, or KV v1)."""
    addr = addr or os.environ.get("VAULT_ADDR")
    token = token or os.environ.get("VAULT_TOKEN")
    where = f"vault secret '{path}' key '{key}'"
    if not addr:
        raise SecretError(f"{where}: VAULT_ADDR is not set (export VAULT_ADDR and VAULT_TOKEN)")
    if not token:
        raise SecretError(f"{where}: VAULT_TOKEN is not set")
    candidates = [path]
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[1] != "data":
        candidates.append("/".join([parts[0], "data", *parts[1:]]))  # KV v2 spelled without data/
    status = 0
    for candidate in candidates:
        status, body = _vault_get(addr, token, candidate)
        if status == 200 and isinstance(body, dict):
            data = body.get("data") or {}
            fields = data.get("data") if isinstance(data.get("data"), dict) else data  # v2 : v1
            if key in fields:
                return str(fields[key])
            known = ", ".join(sorted(fields)) or "none"
            raise SecretError(f"{where}: no such key in the secret (keys: {known})")
        if status in (401, 403):
            raise SecretError(
                f"{where}: permission denied by Vault (HTTP {status}); check VAULT_TOKEN"
            )
    raise SecretError(f"{where}: not found in Vault at {addr} (HTTP {status})")


# --- a task's secrets ----------------------------------------------------------------------


@dataclass
class SecretRef:
    kind: str  # "ame" | "vault"
    key: str
    inject_as: str
    vault_path: str | None = None

    def describe(self) -> str:
        if self.kind == "vault":
            return f"!vault {self.vault_path}#{self.key}"
        return f"!ame {self.key}"


def secret_refs(task: Any) -> list[SecretRef]:
    """The secrets of a spec Task as plain references."""
    refs = []
    for secret in getattr(task, "secrets", None) or []:
        variant = secret.variant
        if secret.vault is not None:
            refs.append(SecretRef("vault", variant.key, variant.inject_as, variant.vault))
        else:
            refs.append(SecretRef("ame", variant.key, variant.inject_as))
    return refs


def check_secrets(refs: list[SecretRef], store: SecretStore | None = None) -> None:
    """Fail early, before a run starts, on a secret that cannot be read (no values kept)."""
    store = store or SecretStore()
    for ref in refs:
        if ref.kind == "ame" and not store.has(ref.key):
            raise SecretError(
                f"secret '{ref.key}' (for {ref.inject_as}) is not in AME's secret store; "
                f"set it with `ame secret set {ref.key}`"
            )
        if ref.kind == "vault":
            read_vault(ref.vault_path or "", ref.key)


def resolve_secrets(refs: list[SecretRef], store: SecretStore | None = None) -> dict[str, str]:
    store = store or SecretStore()
    values = {}
    for ref in refs:
        if ref.kind == "vault":
            values[ref.inject_as] = read_vault(ref.vault_path or "", ref.key)
        else:
            values[ref.inject_as] = store.get(ref.key)
    return values
