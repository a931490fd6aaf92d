import json
import os

keys = [
    "AME_PROJECT",
    "AME_TASK",
    "AME_RUN_ID",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "GREETING",
    "CUDA_VISIBLE_DEVICES",
]
print("ENV " + json.dumps({k: os.environ.get(k) for k in keys}))
