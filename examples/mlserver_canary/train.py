"""Train a random forest on scikit-learn's breast cancer data and register it in MLflow, with the
signature and input example MLServer needs: its MLflow runtime types the V2 inputs from the
signature, and ame builds its smoke request from the example.

Under AME the runner sets MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID, so
``mlflow.start_run()`` resumes the run AME created for this task.
"""

import os

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

SEED = 42
# What the serving environment is built from (with MLServer's packages added by ame).
PIP_REQUIREMENTS = ["mlflow==3.17.2", "scikit-learn==1.9.1", "pandas==3.1.1"]


def main() -> None:
    model_name = os.environ.get("AME_MODEL_NAME", "forest")
    trees = int(os.environ.get("N_ESTIMATORS", "50"))
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=y
    )
    with mlflow.start_run():
        mlflow.log_params({"n_estimators": trees, "seed": SEED})
        model = RandomForestClassifier(n_estimators=trees, random_state=SEED).fit(X_train, y_train)
        predicted = model.predict(X_test)
        metrics = {
            "accuracy": float(accuracy_score(y_test, predicted)),
            "f1": float(f1_score(y_test, predicted)),
        }
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=model_name,
            signature=infer_signature(X_test, predicted),
            input_example=X_test[:5],
            pip_requirements=PIP_REQUIREMENTS,
            # MLflow 3 saves scikit-learn models with skops, which refuses a forest's tree
            # type unless it is named as trusted (we made this file ourselves).
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    print(
        f"trained {model_name} v{info.registered_model_version}: "
        f"accuracy={metrics['accuracy']:.4f} f1={metrics['f1']:.4f}"
    )


if __name__ == "__main__":
    main()
