"""skce: scikit-learn-compatible linear classifiers trained with cross-entropy."""

from ._cv import SoftmaxRegressorCV, WeightedCEClassifierCV
from ._softmax import SoftmaxRegressor
from ._training import IterationRecord
from ._weighted import WeightedCEClassifier

__version__ = "0.1.0"

__all__ = ["SoftmaxRegressor", "WeightedCEClassifier", "SoftmaxRegressorCV",
           "WeightedCEClassifierCV", "IterationRecord", "__version__", "TRUSTED_TYPES"]

# Public classes carry their public path (numpy's ``set_module``): pickles, skops
# files and reprs name ``skce.SoftmaxRegressor``, not the private module.
for _obj in map(globals().get, __all__):
    if isinstance(_obj, type) and _obj.__module__.startswith("skce._"):
        _obj.__module__ = __name__
del _obj


def _trusted_types():
    from sklearn.base import BaseEstimator

    from . import solvers

    return tuple(sorted(
        f"{obj.__module__}.{obj.__qualname__}"
        for module in (globals(), vars(solvers)) for obj in map(module.get,
                                                                  module["__all__"])
        if isinstance(obj, type) and issubclass(obj, BaseEstimator)))


#: The types a fitted skce model may hold beyond numpy's and Python's own: every
#: public estimator, solver and schedule class (their public paths). Pass them to
#: ``skops.io.load(file, trusted=list(skce.TRUSTED_TYPES))``. Fitted models keep
#: optimizer state as plain data, so nothing private needs trusting.
TRUSTED_TYPES = _trusted_types()
