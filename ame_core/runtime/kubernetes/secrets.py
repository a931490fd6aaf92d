"""`ame secret set|list|delete --backend kubernetes`: one labelled Secret per key.

Tasks reference them with `secretKeyRef` (`ame-secret-<key>`, data key `value`), so a value is
never written into a Job, printed, or logged. `list_secrets` returns keys only.
"""

from __future__ import annotations

from typing import Any

from ame_core.runtime.backend import BackendError
from ame_core.runtime.kubernetes import manifests as m
from ame_core.runtime.kubernetes import names as n


def _backend(context: str | None, namespace: str | None, kube: Any = None):
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    return KubernetesBackend(context=context, namespace=namespace, kube=kube)


def set_secret(
    key: str,
    value: str,
    *,
    context: str | None = None,
    namespace: str | None = None,
    kube: Any = None,
) -> str:
    """Create or replace the Secret of `key`; returns the Secret's name."""
    if not key:
        raise BackendError("a secret needs a key")
    backend = _backend(context, namespace, kube)
    obj = m.secret(backend.namespace, key, value)
    backend.apply(obj)
    return obj["metadata"]["name"]


def list_secrets(
    *, context: str | None = None, namespace: str | None = None, kube: Any = None
) -> list[str]:
    """The keys of ame's Secrets in the namespace (never their values)."""
    backend = _backend(context, namespace, kube)
    keys = []
    for obj in backend.objects.list("Secret", {n.MANAGED_BY: n.MANAGED_BY_VALUE}):
        meta = obj.get("metadata") or {}
        key = (meta.get("annotations") or {}).get(n.ANN_SECRET_KEY) or (
            meta.get("labels") or {}
        ).get(n.LABEL_SECRET_KEY)
        if key:
            keys.append(key)
    return sorted(keys)


def delete_secret(
    key: str, *, context: str | None = None, namespace: str | None = None, kube: Any = None
) -> bool:
    """Delete the Secret of `key`; False when there was none."""
    return _backend(context, namespace, kube).delete("Secret", n.secret_name(key))
