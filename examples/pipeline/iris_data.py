"""Where the pipeline's data set lives, and how the later steps read it."""

import sys
from pathlib import Path

import pandas as pd

# Relative to the project directory, as `path:` of the `raw_iris` data set in ame.yml.
IRIS_CSV = Path("data/iris.csv")
TARGET = "species"


def load_iris_csv() -> pd.DataFrame:
    if not IRIS_CSV.exists():
        sys.exit(f"{IRIS_CSV} is missing: run prepare_data.py (task prepare_data) first")
    return pd.read_csv(IRIS_CSV)
