"""Models registered for the MLServer tests, run in a process of their own (the test process
never imports MLflow's stores): `python mlserver_support.py URI`.

- `cancer` v1, v2: one LogisticRegression with a signature and an input example;
- `flavorless` v1: an MLmodel with only an `onnx` flavor (no python_function);
- `needs_xgb` v1: a pyfunc whose loader imports xgboost, logged without it in requirements;
- `unbuildable` v1: a pyfunc whose requirements name a package no index has.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import mlflow
import mlflow.pyfunc

NO_SUCH_PACKAGE = "ame-no-such-package-xyz"


class NeedsXgboost(mlflow.pyfunc.PythonModel):
    def load_context(self, context):  # noqa: ANN001 - MLflow's interface
        import xgboost  # noqa: F401 - the point: it is not in the serving environment

    def predict(self, context, model_input):  # noqa: ANN001
        return model_input


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):  # noqa: ANN001
        return model_input


def register(uri: str) -> None:
    from importlib.metadata import version

    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("mlserver")
    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    fitted = LogisticRegression(max_iter=5000).fit(frame.values, target)
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(
            fitted,
            name="model",
            signature=infer_signature(frame.head(), fitted.predict(frame.head().values)),
            input_example=frame.head(3),
        )
    for _ in range(2):
        mlflow.register_model(f"runs:/{run.info.run_id}/model", "cancer")

    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "MLmodel").write_text(
            "flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.16.0\n"
            f"mlflow_version: {mlflow.__version__}\n"
        )
        (Path(folder) / "model.onnx").write_bytes(b"not really onnx")
        mlflow.log_artifacts(folder, "model")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "flavorless")

    own = [f"mlflow=={mlflow.__version__}", f"cloudpickle=={version('cloudpickle')}"]
    for name, model, requirements in (
        ("needs_xgb", NeedsXgboost(), own),
        ("unbuildable", Echo(), [*own, f"{NO_SUCH_PACKAGE}==1.0"]),
    ):
        with mlflow.start_run() as run:
            mlflow.pyfunc.log_model(name="model", python_model=model, pip_requirements=requirements)
        mlflow.register_model(f"runs:/{run.info.run_id}/model", name)


if __name__ == "__main__":
    register(sys.argv[1])
