"""Step 3: train a decision tree on data/iris.csv and log its test accuracy."""

import os

import mlflow
from iris_data import TARGET, load_iris_csv
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

SEED = 42


def main() -> None:
    max_depth = int(os.environ.get("MAX_DEPTH", "3"))
    frame = load_iris_csv()
    X, y = frame.drop(columns=TARGET), frame[TARGET]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=SEED, stratify=y
    )
    model = DecisionTreeClassifier(max_depth=max_depth, random_state=SEED).fit(X_train, y_train)
    accuracy = float(accuracy_score(y_test, model.predict(X_test)))

    with mlflow.start_run():
        mlflow.log_params({"max_depth": max_depth, "seed": SEED})
        mlflow.log_metrics({"accuracy": accuracy, "n_leaves": model.get_n_leaves()})
    print(f"decision tree (max_depth={max_depth}): accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
