"""Fixtures of the Kubernetes backend tests (defined in k8s_harness)."""

from k8s_harness import (  # noqa: F401
    _no_host_kube_env,
    cluster,
    kmock_server,
    kubeconfig,
    mlflow_template,
    mlflow_uri,
)
