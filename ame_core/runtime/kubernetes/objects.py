"""The cluster's objects: create, apply, patch, delete, list and read the kinds ame uses.

One job: the verbs on namespaced objects, through one table of kinds, over a connection made
on first use (a dry run never connects). Every other part of the Kubernetes backend goes
through here; what the objects mean (records, Jobs, Deployments) is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ame_core.runtime.kubernetes import names as n
from ame_core.runtime.kubernetes.client import Conflict, Kube, NamespaceNotFound, NotFound, connect

T = TypeVar("T")

# kind → (client attribute, method stem, resource): one table for every verb ame uses.
KINDS: dict[str, tuple[str, str, str]] = {
    "Job": ("batch", "job", "jobs"),
    "CronJob": ("batch", "cron_job", "cronjobs"),
    "Pod": ("core", "pod", "pods"),
    "ConfigMap": ("core", "config_map", "configmaps"),
    "Secret": ("core", "secret", "secrets"),
    "Service": ("core", "service", "services"),
    "Deployment": ("apps", "deployment", "deployments"),
    "Ingress": ("networking", "ingress", "ingresses"),
}

# Server-side apply: ame owns the fields it writes, even over another manager's.
APPLY_OPTIONS: dict[str, Any] = {
    "field_manager": "ame",
    "force": True,
    "_content_type": "application/apply-patch+yaml",
}


def unless_missing(call: Callable[[], T]) -> T | None:
    """The call's answer; None when the object is not there. A missing namespace still
    raises: it is the user's to fix, not an absent object."""
    try:
        return call()
    except NamespaceNotFound:
        raise
    except NotFound:
        return None


class ClusterObjects:
    """The namespaced objects of one context and namespace."""

    def __init__(
        self, context: str | None = None, namespace: str | None = None, kube: Kube | None = None
    ) -> None:
        self.context = context
        self._namespace = namespace
        self._kube = kube

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            self._kube = connect(self.context, self._namespace)
        return self._kube

    @property
    def namespace(self) -> str:
        return self.kube.namespace

    def api(self, verb: str, kind: str) -> tuple[Callable[..., Any], str]:
        """The client method for `verb` on `kind` (`create` + Job → create_namespaced_job) and
        the resource name that error messages and permission checks use."""
        api, stem, resource = KINDS[kind]
        return getattr(getattr(self.kube, api), f"{verb}_namespaced_{stem}"), resource

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        ns = obj["metadata"].get("namespace") or self.namespace
        fn, resource = self.api("create", obj["kind"])
        return self.kube.call("create", resource, fn, ns, obj, name=obj["metadata"]["name"])

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create, or update what exists (server-side apply; create when the object is new)."""
        name = obj["metadata"]["name"]
        ns = obj["metadata"].get("namespace") or self.namespace
        fn, resource = self.api("patch", obj["kind"])

        def server_side_apply() -> dict[str, Any]:
            return self.kube.call("patch", resource, fn, name, ns, obj, name=name, **APPLY_OPTIONS)

        return self._or_create(server_side_apply, obj)

    def patch(self, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """A merge patch of an object that exists (NotFound when it does not)."""
        fn, resource = self.api("patch", kind)
        return self.kube.call("patch", resource, fn, name, self.namespace, body, name=name)

    def upsert(self, obj: dict[str, Any]) -> None:
        """Write `obj`'s labels and data over the object of its name, creating it when new
        (records: ame's own, so a merge keeps nothing of value)."""
        patch = {"metadata": {"labels": obj["metadata"]["labels"]}, "data": obj["data"]}
        name = obj["metadata"]["name"]
        self._or_create(lambda: self.patch(obj["kind"], name, patch), obj)

    def _or_create(self, change: Callable[[], dict[str, Any]], obj: dict[str, Any]):
        """`change` an existing object; create `obj` when there is none, and change it after
        all when someone else created it in between."""
        found = unless_missing(change)
        if found is not None:
            return found
        try:
            return self.create(obj)
        except Conflict:
            return change()

    def delete(self, kind: str, name: str, propagation: str = "Background") -> bool:
        """Delete the object; False when there was none."""
        fn, resource = self.api("delete", kind)
        body = {"propagationPolicy": propagation}

        def call() -> bool:
            self.kube.call("delete", resource, fn, name, self.namespace, name=name, body=body)
            return True

        return unless_missing(call) or False

    def list(self, kind: str, labels: dict[str, str]) -> list[dict[str, Any]]:
        """The objects of `kind` that carry every one of `labels`."""
        fn, resource = self.api("list", kind)
        data = self.kube.call(
            "list", resource, fn, self.namespace, label_selector=n.selector(labels)
        )
        return [item for item in data.get("items") or [] if n.matches(item, labels)]

    def read(self, kind: str, name: str) -> dict[str, Any] | None:
        """The object; None when there is none."""
        fn, resource = self.api("read", kind)
        return unless_missing(
            lambda: self.kube.call("get", resource, fn, name, self.namespace, name=name)
        )
