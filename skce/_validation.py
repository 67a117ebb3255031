"""Every parameter and input check of skce, each message written once.

The back ends (numpy, array API, dask) compute what a check needs in their own
namespace (a sum, a minimum, a count) and call the functions here, so a bad input
gets the same message whatever library holds it.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from .solvers import SOLVERS, resolve_solver, solver_traits


def check_number(name, value, *, low=None, high=None, low_open=False,
                 high_open=False, integer=False, allow_none=False):
    """Raise a ValueError naming ``name`` and its valid range unless ``value`` is a
    finite number (an integer with ``integer=True``) in the range.

    Examples
    --------
    >>> check_number("alpha", -1.0, low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a finite number in [0.0, inf); got alpha=-1.0.
    """
    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = bool(np.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "inf)" if high is None else f"{high}" + (")" if high_open else "]")
        what = "an integer" if integer else "a finite number"
        rng = f" in {lo}{hi}" if low is not None else ""
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {what}{rng}{none}; got {name}={value!r}.")


def stochastic_names():
    """The names of the stochastic solvers, for messages."""
    return [k for k, v in SOLVERS.items() if v.family == "stochastic"]


def check_params(estimator):
    """Validate an estimator's parameters; return ``(solver, traits)``."""
    est = estimator
    solver = resolve_solver(est.solver)
    check_number("alpha", est.alpha, low=0.0)
    check_number("l1_ratio", est.l1_ratio, low=0.0, high=1.0)
    check_number("label_smoothing", est.label_smoothing, low=0.0, high=1.0,
                 high_open=True)
    check_number("max_iter", est.max_iter, low=1, integer=True, allow_none=True)
    check_number("tol", est.tol, low=0.0, allow_none=True)
    check_number("validation_fraction", est.validation_fraction, low=0.0, high=1.0,
                 low_open=True, high_open=True)
    check_number("n_iter_no_change", est.n_iter_no_change, low=1, integer=True)
    check_number("max_time", est.max_time, low=0.0, low_open=True, allow_none=True)
    if not isinstance(est.fit_intercept, (bool, np.bool_)):
        raise ValueError(
            f"fit_intercept must be True or False; got {est.fit_intercept!r}.")
    traits = solver_traits(solver)
    if est.l1_ratio > 0 and est.alpha > 0 and not traits["supports_l1"]:
        able = [k for k, v in SOLVERS.items() if v.supports_l1]
        raise ValueError(
            f"solver={est.solver!r} does not support l1_ratio > 0 (L1 or elastic "
            f"net need proximal steps); use one of {able}.")
    if est.callbacks is not None and not all(callable(c) for c in est.callbacks):
        raise ValueError("callbacks must be a list of callables (or None).")
    est._check_extra_params(solver)
    validate = getattr(solver, "validate", None)
    if callable(validate):  # the solver's own hyperparameters, at fit time
        validate()
    return solver, traits


# ------------------------------------------------------------------- targets
def missing_y(name):
    return ValueError(
        f"{name} requires y to be passed, but the target y is None.")


def inconsistent_samples(n_x, n_y, name="y"):
    return ValueError(
        f"X and {name} have inconsistent numbers of samples: {n_x} and {n_y}.")


def unseen_labels(unseen, classes):
    return ValueError(
        f"y contains labels {list(unseen)} that are not in classes "
        f"{list(classes)}; pass every class in `classes` on the first "
        f"partial_fit call.")


def check_soft_stats(*, numeric, finite_nonnegative, n_bad_rows, first_bad=None,
                     first_sum=None, dtype=None):
    """The soft-target checks, from statistics each back end computes itself."""
    if not numeric:
        raise ValueError(
            f"2-D y is read as soft targets and must be numeric; got dtype {dtype}.")
    if not finite_nonnegative:
        raise ValueError(
            "Soft targets (2-D y) must be finite and non-negative: each row is a "
            "probability distribution over the classes.")
    if n_bad_rows:
        raise ValueError(
            f"Soft targets (2-D y) must have rows summing to 1; row {first_bad} sums "
            f"to {first_sum:.6g} ({n_bad_rows} rows off). Normalize the rows, "
            f"or pass 1-D class labels.")


def check_soft_width(K, classes):
    if classes is not None and len(classes) != K:
        raise ValueError(
            f"Soft targets have {K} columns but the model has {len(classes)} "
            f"classes.")


def encode_labels(y, n_samples, classes=None):
    """Host labels -> ``("hard", classes, codes)`` or ``("soft", arange(K), T)``.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, K)
    n_samples : int
    classes : ndarray or None
        Every class (``partial_fit``), or None to take ``unique(y)``.
    """
    if not sp.issparse(y) and getattr(y, "ndim", None) is None:
        y = np.asarray(y, dtype=object) if _ragged(y) else np.asarray(y)
    if getattr(y, "ndim", 1) == 2 and y.shape[1] > 1:
        T = np.asarray(y.toarray() if sp.issparse(y) else y)
        numeric = T.dtype.kind in "fiub"
        check_soft_stats(numeric=numeric, finite_nonnegative=True, n_bad_rows=0,
                         dtype=T.dtype)
        T = T.astype(np.float64)
        if T.shape[0] != n_samples:
            raise inconsistent_samples(n_samples, T.shape[0])
        ok = bool(np.all(np.isfinite(T)) and not np.any(T < 0))
        sums = T.sum(axis=1) if ok else None
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6) if ok else []
        check_soft_stats(numeric=True, finite_nonnegative=ok, n_bad_rows=len(bad),
                         first_bad=bad[0] if len(bad) else None,
                         first_sum=sums[bad[0]] if len(bad) else None)
        check_soft_width(T.shape[1], classes)
        return "soft", np.arange(T.shape[1]), T
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise inconsistent_samples(n_samples, y.shape[0])
    check_classification_targets(y)
    if classes is None:
        classes = np.unique(y)
    codes = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    if np.any(classes[codes] != y):
        raise unseen_labels(np.setdiff1d(np.unique(y), classes).tolist(),
                            classes.tolist())
    return "hard", classes, codes.astype(np.intp)


def _ragged(y):
    try:
        np.asarray(y)
    except ValueError:
        return True
    return False


def first_partial_fit_classes(estimator, y, classes):
    """The ``classes`` argument of ``partial_fit``: required on the first call
    (unless y holds soft targets), checked against ``classes_`` afterwards."""
    first = not hasattr(estimator, "_loop")
    if first and classes is None and not (
            getattr(y, "ndim", None) == 2 and y.shape[1] > 1):
        raise ValueError(
            "classes must be passed on the first call to partial_fit (all the "
            "labels the model will ever see).")
    if classes is not None:
        classes = np.unique(np.asarray(classes))
        if not first and not np.array_equal(classes, _host(estimator.classes_)):
            raise ValueError(
                f"classes={classes.tolist()} differs from the classes of the first "
                f"partial_fit call, {_host(estimator.classes_).tolist()}.")
    elif not first:
        classes = _host(estimator.classes_)
    return classes


def _host(a):
    from ._xp import to_numpy

    return to_numpy(a)


# ------------------------------------------------------------ sample weights
def check_sample_weight_stats(*, numeric=True, dtype=None, finite, minimum, total):
    """The sample_weight checks, from statistics each back end computes itself."""
    if not numeric:
        raise ValueError(f"sample_weight must be numeric; got dtype {dtype}.")
    if not finite:
        raise ValueError("sample_weight contains NaN or infinity.")
    if minimum < 0:
        raise ValueError("sample_weight must be non-negative; got negative values.")
    if not total > 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a "
                         "positive weight.")


def sample_weight_shape(shape, n_samples):
    return ValueError(
        f"sample_weight.shape == {tuple(shape)}, expected ({n_samples},)!")


def check_sample_weight(sample_weight, n_samples, dtype):
    """Host sample weights as a validated array of ``dtype`` (ones for None)."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sw = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        sw = np.asarray(sample_weight)
        check_sample_weight_stats(numeric=sw.dtype.kind in "fiub", dtype=sw.dtype,
                                  finite=True, minimum=0, total=1)
        sw = sw.astype(np.float64)
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise sample_weight_shape(sw.shape, n_samples)
    finite = bool(np.all(np.isfinite(sw)))
    check_sample_weight_stats(finite=finite, minimum=float(sw.min()) if finite else 0,
                              total=float(sw.sum()) if finite else 0)
    return sw.astype(dtype)


def check_weight_range(largest, dtype):
    """Per-sample weights (sample_weight times class weights) must fit X's
    dtype."""
    limit = float(np.finfo(dtype).max)
    if not largest <= limit:
        raise ValueError(
            f"The per-sample weights (sample_weight times the class weights) reach "
            f"{largest:.3g}, beyond the range of {np.dtype(dtype).name} "
            f"({limit:.3g}); use milder class weights or sample weights.")


def zero_weight_after_class_weight():
    return ValueError("All samples have zero weight after applying class_weight; "
                      "give some class a positive weight.")


# ------------------------------------------------------------------- refits
def check_refit(estimator, *, warm, continuing, n_features, classes):
    """Errors for a warm start or partial_fit that cannot continue the last fit,
    and for a single class."""
    name = type(estimator).__name__
    if continuing and n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input.")
    if warm and not continuing and n_features != estimator.coef_.shape[1]:
        raise ValueError(
            f"warm_start: X has {n_features} features but the previous fit had "
            f"{estimator.coef_.shape[1]}; set warm_start=False to refit.")
    if warm and not np.array_equal(classes, _host(estimator.classes_)):
        raise ValueError(
            f"warm_start: the classes changed from "
            f"{_host(estimator.classes_).tolist()} to {classes.tolist()}; set "
            f"warm_start=False to refit.")
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes; got 1 class: "
            f"{classes.tolist()}.")


def check_split_sizes(n_train, n_val, fraction, n_samples):
    if n_train == 0 or n_val == 0:
        raise ValueError(
            f"early_stopping needs enough samples to split off "
            f"validation_fraction={fraction}; got {n_samples}.")


def check_split_weights(train_weight, val_weight, fraction):
    if not (train_weight > 0 and val_weight > 0):
        part = "training" if not train_weight > 0 else "validation"
        raise ValueError(
            f"early_stopping: the {part} part of the split has zero total "
            f"weight (validation_fraction={fraction}); give "
            f"more samples a positive weight, change validation_fraction, or "
            f"set early_stopping=False.")


def logits_overflow(max_abs):
    return ValueError(
        f"The logits overflow: X @ coef_.T is not finite for X with entries up "
        f"to {max_abs:.3g}. Rescale X (e.g. StandardScaler) before predicting.")


def other_namespace(name, method, fitted, given):
    """scikit-learn's wording (``check_array_api_same_namespace`` reads it)."""
    return ValueError(
        f"Inputs passed to {name}.{method}() must use the same namespace and the same "
        f"device as those passed to fit(): {name} was fitted on arrays of another "
        f"namespace or device ({fitted}) than X ({given}). Predict with the same "
        f"kind of array as fit.")
