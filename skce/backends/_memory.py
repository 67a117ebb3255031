"""In-memory back ends: numpy / scipy.sparse, and any array API namespace.

Both hold the whole data set in memory (the array API one on X's device) and share
every operation but validation and where the fitted arrays live: the loss engine
and :class:`~skce._objective.Objective` are written against the array API, with
numpy's in-place fast path.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .. import _validation as V
from .._loss import make_targets
from .._objective import Objective
from .._training import run_epochs
from .._xp import device_of, namespace, numpy_dtype, to_numpy, uses_array_api

ACCEPT_SPARSE = ("csr", "csc")
DTYPES = (np.float64, np.float32)


@dataclass
class Data:
    """Validated training data, in the back end's own arrays.

    Attributes
    ----------
    X : array of shape (n_samples, n_features)
    kind : {"hard", "soft"}
    classes : ndarray of shape (n_classes,)
        The classes, on the host (numpy).
    target : array of shape (n_samples,) or (n_samples, n_classes)
        Integer class codes, or soft target rows (X's dtype), in X's namespace.
    sample_weight : array of shape (n_samples,)
        Validated sample weights in X's namespace and dtype.
    dtype : numpy dtype
        X's floating dtype, as numpy names it.
    """

    X: Any
    kind: str
    classes: np.ndarray
    target: Any
    sample_weight: Any
    dtype: Any

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_classes(self):
        return len(self.classes)


class _InMemory:
    """What both in-memory back ends share."""

    epochs = staticmethod(run_epochs)

    def counts(self, data, weights):
        """sum_i w_i T_i (unsmoothed), host float64 of shape (n_classes,)."""
        return make_targets(data.target, data.n_classes).counts(weights)

    def sample_weights(self, data, class_weight):
        """s_i = sample_weight_i * (T_i . class_weight), X's namespace and dtype.

        Computed in float64 and then cast: a class weight beyond float32's range
        (normalizing a dict weight of 1e-250) times a zero sample weight is 0, not
        inf * 0."""
        xp, is_np = namespace(data.X)
        cw = self.asarray(np.asarray(class_weight, dtype=np.float64), data.X)
        sw = xp.astype(data.sample_weight, xp.float64)
        if data.kind == "hard":
            picked = cw[data.target] if is_np else xp.take(cw, data.target, axis=0)
            s = sw * picked
        else:
            s = sw * (xp.astype(data.target, xp.float64) @ cw)
        V.check_weight_range(float(xp.max(s)), data.dtype)
        return xp.astype(s, xp.float32 if data.dtype == np.float32 else xp.float64)

    def objective(self, X, target, sample_weight, loss, *, n_classes, smoothing,
                  rows=None, **penalty):
        """The objective over all rows, or over ``rows`` (sorted host indices):
        numpy and scipy X are then not copied (the Objective takes a few thousand
        rows at a time); other namespaces take the rows on the device."""
        if rows is not None:
            target, sample_weight = (self.take(a, rows) for a in (target,
                                                                   sample_weight))
            if namespace(X)[1]:
                return Objective(X, make_targets(target, n_classes, smoothing),
                                 sample_weight, loss, rows=rows, **penalty)
            X = self.take(X, rows)
        return Objective(X, make_targets(target, n_classes, smoothing), sample_weight,
                         loss, **penalty)

    def labels(self, data):
        """Each sample's class code (argmax of soft targets), on the host."""
        codes = data.target if data.kind == "hard" else \
            namespace(data.target)[0].argmax(data.target, axis=1)
        return to_numpy(codes)

    def take(self, a, rows):
        """Rows ``rows`` (a sorted host index array) of ``a``, in a's namespace."""
        xp, is_np = namespace(a)
        if is_np:
            return a[rows]
        return xp.take(a, xp.asarray(rows, device=device_of(a)), axis=0)

    def total(self, a):
        xp, _ = namespace(a)
        return float(xp.sum(xp.astype(a, xp.float64)))

    def separated(self, data, s, coef, intercept):
        """Whether every positively weighted sample is classified correctly."""
        return margins_positive(data.X, data.target, s, self.asarray(coef, data.X),
                                self.asarray(intercept, data.X))

    @staticmethod
    def asarray(a, like):
        """A host array in ``like``'s namespace, on its device (dtype kept)."""
        xp, is_np = namespace(like)
        if is_np:
            return a
        return xp.asarray(a, device=device_of(like))

    def place(self, data, a):
        """A fitted host array as the array the estimator stores."""
        return self.asarray(a, data.X)


class NumpyBackend(_InMemory):
    """numpy arrays and scipy sparse matrices (CSR, CSC), never copied."""

    name = "numpy"

    def validate(self, estimator, X, y, sample_weight, *, classes, reset):
        X = validate_data(estimator, X, reset=reset, accept_sparse=ACCEPT_SPARSE,
                          dtype=DTYPES)
        if y is None:
            raise V.missing_y(type(estimator).__name__)
        kind, classes, target = V.encode_labels(y, X.shape[0], classes)
        if kind == "soft":
            target = target.astype(X.dtype)
        sw = V.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return Data(X, kind, classes, target, sw, X.dtype)

    def check_predict_X(self, estimator, X, method):
        if uses_array_api(estimator.coef_):
            xp, _ = namespace(estimator.coef_)
            raise V.other_namespace(type(estimator).__name__, method, xp.__name__,
                                    "numpy")
        return validate_data(estimator, X, reset=False, accept_sparse=ACCEPT_SPARSE,
                             dtype=DTYPES)


class ArrayAPIBackend(_InMemory):
    """Arrays of any array API namespace (torch, CuPy, array-api-strict), which stay
    in their library and on their device; needs
    ``sklearn.set_config(array_api_dispatch=True)``."""

    name = "array API"

    def validate(self, estimator, X, y, sample_weight, *, classes, reset):
        xp, _ = namespace(X)
        dev = device_of(X)
        X = _check_X(X, xp)
        n, d = X.shape
        if not reset and d != estimator.n_features_in_:
            raise ValueError(
                f"X has {d} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input.")
        if y is None:
            raise V.missing_y(type(estimator).__name__)
        y = _as_namespace(y, xp, dev, "y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D class labels or 2-D soft targets; got shape "
                f"{tuple(y.shape)}.")
        if y.shape[0] != n:
            raise V.inconsistent_samples(n, y.shape[0])
        if y.ndim == 2:
            kind, classes, target = "soft", *_soft_targets(xp, y, X.dtype, classes)
        else:
            kind = "hard"
            found = xp.unique_values(y)
            found_host = to_numpy(found)
            check_classification_targets(found_host)
            if classes is None:
                classes, table = found_host, found
            else:
                unseen = np.setdiff1d(found_host, classes)
                if unseen.size:
                    raise V.unseen_labels(unseen.tolist(), classes.tolist())
                table = xp.asarray(classes, device=dev)
            target = xp.searchsorted(table, y)
        sw = _sample_weight(xp, dev, sample_weight, n, X.dtype)
        if reset:
            estimator.n_features_in_ = d
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return Data(X, kind, np.asarray(classes), target, sw,
                    numpy_dtype(xp, X.dtype))

    def check_predict_X(self, estimator, X, method):
        xp, _ = namespace(X)
        name = type(estimator).__name__
        fitted, _ = namespace(estimator.coef_)
        if fitted is not xp or device_of(X) != device_of(estimator.coef_):
            raise V.other_namespace(
                name, method, f"{fitted.__name__} on {device_of(estimator.coef_)}",
                f"{xp.__name__} on {device_of(X)}")
        if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has shape {tuple(X.shape)}, but {name} is expecting "
                f"{estimator.n_features_in_} features as input.")
        return X if X.dtype == estimator.coef_.dtype else \
            xp.astype(X, estimator.coef_.dtype)


# ---------------------------------------------------------- array API checks
def _check_X(X, xp):
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array for X; got {X.ndim} dimension(s) with shape "
            f"{tuple(X.shape)}.")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
            f"while a minimum of 1 is required.")
    if X.dtype not in (xp.float32, xp.float64):
        if not xp.isdtype(X.dtype, ("integral", "bool", "real floating")):
            raise ValueError(f"X must be real-valued; got dtype {X.dtype}.")
        X = xp.astype(X, xp.float64)
    if not bool(xp.all(xp.isfinite(X))):
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _as_namespace(a, xp, dev, name):
    """y or sample_weight as an array of X's namespace, on X's device."""
    if uses_array_api(a):
        if namespace(a)[0] is not xp or device_of(a) != dev:
            # another library or device (y and weights are small): to X's
            a = to_numpy(a)
        else:
            return a
    a = np.asarray(a)
    if a.dtype.kind not in "iufb":
        raise ValueError(
            f"With array API dispatch, {name} must be numeric (got dtype {a.dtype}): "
            f"encode string labels first, e.g. with LabelEncoder.")
    return xp.asarray(a, device=dev)


def _soft_targets(xp, T, dtype, classes):
    """Soft targets on the device: checked there, then cast to X's dtype."""
    V.check_soft_stats(numeric=xp.isdtype(T.dtype, ("real floating", "integral")),
                       finite_nonnegative=True, n_bad_rows=0, dtype=T.dtype)
    T64 = xp.astype(T, xp.float64)
    ok = bool(xp.all(xp.isfinite(T64))) and not bool(xp.any(T64 < 0))
    bad_rows, first, first_sum = 0, None, None
    if ok:
        sums = xp.sum(T64, axis=1)
        bad = to_numpy(xp.abs(sums - 1.0) > 1e-6)
        bad_rows = int(bad.sum())
        if bad_rows:
            first = int(np.flatnonzero(bad)[0])
            first_sum = float(to_numpy(sums)[first])
    V.check_soft_stats(numeric=True, finite_nonnegative=ok, n_bad_rows=bad_rows,
                       first_bad=first, first_sum=first_sum)
    V.check_soft_width(T.shape[1], classes)
    return np.arange(T.shape[1]), xp.astype(T, dtype)


def _sample_weight(xp, dev, sample_weight, n, dtype):
    if sample_weight is None:
        return xp.ones(n, dtype=dtype, device=dev)
    if np.ndim(sample_weight) == 0 and not uses_array_api(sample_weight):
        sw = xp.full(n, float(sample_weight), dtype=dtype, device=dev)
    else:
        sw = _as_namespace(sample_weight, xp, dev, "sample_weight")
        if sw.ndim != 1 or sw.shape[0] != n:
            raise V.sample_weight_shape(sw.shape, n)
        sw = xp.astype(sw, dtype)
    finite = bool(xp.all(xp.isfinite(sw)))
    V.check_sample_weight_stats(
        finite=finite, minimum=float(xp.min(sw)) if finite else 0.0,
        total=float(xp.sum(xp.astype(sw, xp.float64))) if finite else 0.0)
    return sw


def margins_positive(X, target, s, coef, intercept):
    """Whether every sample of positive weight is classified correctly (margin > 0).

    Written once against the array API (numpy, scipy sparse X, torch, ...).

    Parameters
    ----------
    X : array or sparse matrix of shape (n_samples, n_features)
    target : array of shape (n_samples,), integer class codes (soft targets: never
        called)
    s : array of shape (n_samples,), per-sample weights
    coef, intercept : the fitted ``coef_`` and ``intercept_`` in X's namespace

    Returns
    -------
    bool
    """
    xp, is_np = namespace(X)
    keep = s > 0
    if not bool(xp.any(keep)):
        return False
    scores = X @ coef.T + intercept
    if is_np:
        scores = np.asarray(scores)
    if scores.shape[1] == 1:
        margin = xp.where(target == 1, scores[:, 0], -scores[:, 0])
    else:
        K = scores.shape[1]
        classes = np.arange(K) if is_np else xp.arange(K, device=device_of(X))
        onehot = target[:, None] == classes[None, :]
        true = xp.sum(xp.where(onehot, scores, xp.zeros_like(scores)), axis=1)
        other = xp.max(xp.where(onehot, xp.full_like(scores, -xp.inf), scores),
                       axis=1)
        margin = true - other
    return bool(xp.all(xp.logical_or(margin > 0, xp.logical_not(keep))))
