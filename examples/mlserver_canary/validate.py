"""Judge the model version AME hands over: pass if its training accuracy meets a threshold.

AME sets AME_MODEL_NAME and AME_MODEL_VERSION for a validation task. The exit status is the
verdict: 0 = good enough, 1 = rejected, 2 = misconfigured.
"""

import os
import sys

import mlflow


def main() -> int:
    name = os.environ.get("AME_MODEL_NAME")
    version = os.environ.get("AME_MODEL_VERSION")
    if not name or not version:
        print(
            "validate.py: AME_MODEL_NAME and AME_MODEL_VERSION must be set "
            "(AME sets them for a model's validation task)",
            file=sys.stderr,
        )
        return 2
    threshold = float(os.environ.get("MIN_ACCURACY", "0.9"))

    client = mlflow.MlflowClient()
    model_version = client.get_model_version(name, version)
    metrics = client.get_run(model_version.run_id).data.metrics
    if "accuracy" not in metrics:
        print(f"{name} v{version}: its training run logged no 'accuracy' metric", file=sys.stderr)
        return 1
    accuracy = metrics["accuracy"]

    with mlflow.start_run():
        mlflow.log_metrics({"validated_accuracy": accuracy, "min_accuracy": threshold})

    if accuracy < threshold:
        print(f"{name} v{version} rejected: accuracy {accuracy:.4f} < threshold {threshold}")
        return 1
    print(f"{name} v{version} accepted: accuracy {accuracy:.4f} >= threshold {threshold}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
