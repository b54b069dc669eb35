"""Running trained models: checkpoints (alone or as an ensemble) to class probabilities,
with optional test-time augmentation. Used by eval, explain, pseudolabel and live."""

from .predictor import LoadedModel, Predictor
from .tta import VIEWS, count_views, parse_tta

__all__ = ["VIEWS", "LoadedModel", "Predictor", "count_views", "parse_tta"]
