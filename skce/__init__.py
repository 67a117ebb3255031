"""skce: scikit-learn-compatible linear classifiers trained with cross-entropy."""

from ._cv import SoftmaxRegressorCV, WeightedCEClassifierCV
from ._softmax import SoftmaxRegressor
from ._training import IterationRecord
from ._weighted import WeightedCEClassifier

__version__ = "0.1.0"

__all__ = ["SoftmaxRegressor", "WeightedCEClassifier", "SoftmaxRegressorCV",
           "WeightedCEClassifierCV", "IterationRecord", "__version__"]
