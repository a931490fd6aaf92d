"""What is checked before a version is served locally: one line each, saying what to change."""

from __future__ import annotations

from ame_core.runtime import envs
from ame_core.runtime.backend import BackendError
from ame_core.serving.runtimes import Runtime
from ame_core.serving.versions import ModelFiles


def python_of(files: ModelFiles, label: str) -> tuple[str, str]:
    """(interpreter, full version) for the Python the version was logged with (its major.minor),
    else ame's own when the version does not say."""
    import sys

    logged = files.python_version or f"{sys.version_info[0]}.{sys.version_info[1]}"
    wanted = ".".join(logged.split(".")[:2])
    try:
        return envs.find_python(wanted)
    except envs.InterpreterError as exc:
        raise BackendError(
            f"{label} was logged with Python {logged} (python_env.yaml), which is not on "
            f"this machine: install it with `uv python install {wanted}` ({exc})"
        ) from exc


def check(model: str, version: str, files: ModelFiles, runtime: Runtime) -> None:
    """Refuse a version the runtime cannot serve, before anything is started."""
    label = f"{model} v{version}"
    if "python_function" not in files.flavors:
        found = ", ".join(files.flavors) or "none"
        raise BackendError(
            f"{label} has no python_function flavor (flavors: {found}), which serving "
            f"{runtime.name!r} needs: log it with an mlflow.<flavor>.log_model that adds it, "
            "or with mlflow.pyfunc.log_model"
        )
    if runtime.protocol == "v2" and not files.signature_inputs:
        raise BackendError(
            f"{label} has no signature, which serving {runtime.name!r} needs to type V2 "
            "inputs: log it with signature=infer_signature(X, model.predict(X))"
        )
