"""Train a logistic regression on scikit-learn's breast cancer data and register it in MLflow.

Under AME the runner sets MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID, so
``mlflow.start_run()`` resumes the run AME created for this task. Run plainly, MLflow uses its
defaults (a local store and the default experiment).
"""

import os
import tempfile

import mlflow
import mlflow.sklearn
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 42
PIP_REQUIREMENTS = ["mlflow==3.17.2", "scikit-learn==1.9.1", "pandas==3.1.1"]


def build_model(c: float) -> Pipeline:
    return make_pipeline(
        StandardScaler(), LogisticRegression(C=c, max_iter=1000, random_state=SEED)
    )


def main() -> None:
    model_name = os.environ.get("AME_MODEL_NAME", "logreg")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=y
    )
    params = {"C": 1.0, "test_size": 0.25, "seed": SEED}

    with mlflow.start_run():
        mlflow.log_params(params)
        model = build_model(params["C"]).fit(X_train, y_train)
        predicted = model.predict(X_test)
        metrics = {
            "accuracy": float(accuracy_score(y_test, predicted)),
            "f1": float(f1_score(y_test, predicted)),
            "roc_auc": float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])),
        }
        mlflow.log_metrics(metrics)
        # The output is a class label, declared rather than inferred: inferring it from the
        # predictions (integers) prints MLflow's long hint about integer columns and missing
        # values, which a prediction never has.
        signature = ModelSignature(
            inputs=infer_signature(X_train).inputs, outputs=Schema([ColSpec("long")])
        )
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=model_name,
            signature=signature,
            input_example=X_test[:5],
            pip_requirements=PIP_REQUIREMENTS,
        )
        # The inputs the model learned from: `ame model monitor` compares what the served model
        # is sent with them (the runtime contract names the artifact folder).
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "train.csv")
            X_train.to_csv(path, index=False)
            mlflow.log_artifact(path, os.environ.get("AME_REFERENCE_ARTIFACT", "ame-reference"))

    version = info.registered_model_version
    print(
        f"trained {model_name} v{version}: accuracy={metrics['accuracy']:.4f} "
        f"f1={metrics['f1']:.4f} roc_auc={metrics['roc_auc']:.4f}"
    )


if __name__ == "__main__":
    main()
