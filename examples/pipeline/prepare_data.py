"""Step 1: write scikit-learn's iris data set to data/iris.csv (the `raw_iris` data set)."""

import mlflow
from iris_data import IRIS_CSV, TARGET
from sklearn.datasets import load_iris


def main() -> None:
    iris = load_iris(as_frame=True)
    frame = iris.data.rename(columns=lambda c: c.removesuffix(" (cm)").replace(" ", "_"))
    frame[TARGET] = iris.target_names[iris.target]
    IRIS_CSV.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(IRIS_CSV, index=False)

    with mlflow.start_run():
        mlflow.log_metrics({"rows": len(frame), "columns": frame.shape[1]})
    print(f"wrote {IRIS_CSV}: {len(frame)} rows, columns {list(frame.columns)}")


if __name__ == "__main__":
    main()
