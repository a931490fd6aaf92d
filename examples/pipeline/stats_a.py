"""Step 2a (runs in parallel with 2b): the mean of every feature per species."""

import mlflow
from iris_data import TARGET, load_iris_csv


def main() -> None:
    means = load_iris_csv().groupby(TARGET).mean()
    print(means.round(3).to_string())

    with mlflow.start_run():
        mlflow.log_metrics(
            {
                f"mean_{feature}_{species}": float(value)
                for species, row in means.iterrows()
                for feature, value in row.items()
            }
        )
        mlflow.log_text(means.to_csv(), "species_means.csv")


if __name__ == "__main__":
    main()
