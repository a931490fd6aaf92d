"""Model serving: local `mlflow models serve` processes behind a stable front proxy."""

from ame_core.serving.local import LocalServing

__all__ = ["LocalServing"]
