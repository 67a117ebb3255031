"""Back ends: the data operations of a fit, one module per kind of input.

A back end validates and encodes the data in its own library, reduces it (class
counts, weight sums, the checks' statistics), takes row subsets, builds the
objective and runs the stochastic epochs. It never calls the estimator: the one fit
driver (:mod:`skce._fit`) calls it. Which back end serves an input:

- numpy arrays and scipy sparse matrices: :class:`NumpyBackend`;
- arrays of another array API namespace (torch, CuPy, array-api-strict) when
  ``sklearn.set_config(array_api_dispatch=True)``: :class:`ArrayAPIBackend`;
- dask arrays: :class:`~skce.backends._dask.DaskBackend` (imported only then).

Every feature works on every back end; :data:`SUPPORT` is the table the docs show.
"""

from .._xp import is_dask_collection, uses_array_api
from ._memory import ArrayAPIBackend, Data, NumpyBackend


def backend_for(X):
    """The back end that serves ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> backend_for(np.ones((2, 2))).name
    'numpy'
    """
    if is_dask_collection(X):
        from ._dask import DaskBackend

        return DaskBackend()
    if uses_array_api(X):
        return ArrayAPIBackend()
    return NumpyBackend()


#: Feature x back end: what works where. Rendered in the docs (docs/scaling.rst)
#: and checked cell by cell by tests/test_backends.py.
FEATURES = (
    "lbfgs, newton-cg, gd (elastic net)",
    "stochastic solvers and partial_fit",
    "sample_weight, class_weight",
    "label_smoothing",
    "soft targets (2-D y)",
    "early_stopping",
    "WeightedCEClassifier (focal, tau, predict_proba_prior)",
    "warm_start",
    "saga",
)
BACKENDS = ("numpy / scipy.sparse", "dask", "array API")
SUPPORT = {(feature, backend): "yes" for feature in FEATURES for backend in BACKENDS}
# saga samples single rows and keeps a per-row gradient table: it needs the rows
# in host memory (it raises a ValueError naming lbfgs, newton-cg and gd)
SUPPORT["saga", "dask"] = SUPPORT["saga", "array API"] = \
    "no: it samples rows of host memory; use lbfgs, newton-cg or gd"

__all__ = ["backend_for", "is_dask_collection", "NumpyBackend", "ArrayAPIBackend",
           "Data", "SUPPORT", "FEATURES", "BACKENDS"]
