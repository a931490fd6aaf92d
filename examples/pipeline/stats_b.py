"""Step 2b (runs in parallel with 2a): class balance and the most correlated feature pair."""

from itertools import combinations

import mlflow
from iris_data import TARGET, load_iris_csv


def main() -> None:
    frame = load_iris_csv()
    counts = frame[TARGET].value_counts()
    corr = frame.drop(columns=TARGET).corr()
    first, second = max(combinations(corr.columns, 2), key=lambda p: abs(corr.loc[p]))
    top = float(corr.loc[first, second])
    print(f"classes: {counts.to_dict()}; most correlated: {first} ~ {second} ({top:.3f})")

    with mlflow.start_run():
        mlflow.log_metrics({"n_classes": len(counts), "max_correlation": top})
        mlflow.log_params({"correlated_feature_1": first, "correlated_feature_2": second})
        mlflow.log_text(corr.to_csv(), "correlation.csv")


if __name__ == "__main__":
    main()
