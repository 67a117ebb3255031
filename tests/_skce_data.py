"""Data and references shared by the core tests: the four bundled data sets,
standardized, with a fixed split, and the objective computed independently of skce.

A plain module, not a conftest.py: docs/conftest.py exists too, and two conftest
modules outside packages collide under --doctest-modules ("import file mismatch").
"""

import functools

import numpy as np
from scipy.special import log_expit, logsumexp
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

LOADERS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


@functools.cache
def blobs(n=120, n_features=6, K=3, seed=0):
    """Gaussian blobs around K random centres: (X, y), a well-separated problem."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, n_features)) + rng.normal(size=(K, n_features))[y]
    return X, y


def dataset(name):
    """(X_train, X_test, y_train, y_test), standardized on the training part.

    ``"iris_binary"`` is iris classes 1 and 2 (versicolor against virginica, which
    overlap, so the unpenalized optimum is finite).
    """
    if name == "iris_binary":
        X, y = load_iris(return_X_y=True)
        keep = y > 0
        X, y = X[keep], y[keep]
    else:
        X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    out = (scaler.transform(X_train), scaler.transform(X_test), y_train, y_test)
    for a in out:
        a.flags.writeable = False  # shared between tests: nobody may write
    return out


def objective_value(coef, intercept, X, y, *, alpha, l1_ratio=0.0,
                    sample_weight=None, classes=None):
    """The issue's objective computed independently of skce (scipy's logsumexp).

    f = sum_i s_i CE_i / sum_i s_i + alpha ((1 - r)/2 ||W||^2 + r ||W||_1)
    """
    classes = np.unique(y) if classes is None else classes
    codes = np.searchsorted(classes, y)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    Z = X @ np.asarray(coef, dtype=np.float64).T + intercept
    if Z.shape[1] == 1:  # binary: one logit, the sigmoid
        z = Z[:, 0]
        ce = -np.where(codes == 1, log_expit(z), log_expit(-z))
    else:
        ce = logsumexp(Z, axis=1) - Z[np.arange(len(y)), codes]
    W = np.asarray(coef, dtype=np.float64)
    penalty = alpha * ((1 - l1_ratio) / 2 * np.sum(W**2) + l1_ratio * np.abs(W).sum())
    return float(s @ ce / s.sum() + penalty)


@functools.cache
def _iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def iris():
    """Standardized iris, all 150 rows (read-only arrays, shared)."""
    return _iris()


def assert_objectives_agree(obj, ref, params, v):
    """An objective computed elsewhere (dask, array API) equals the numpy
    ``Objective`` ``ref``: value, gradient, full objective, Hessian-vector product
    and both Lipschitz bounds."""
    from numpy.testing import assert_allclose

    value, grad = obj.value_grad(params)
    ref_value, ref_grad = ref.value_grad(params)
    assert_allclose(value, ref_value, rtol=1e-12)
    assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)
    assert_allclose(obj.value(params), ref.value(params), rtol=1e-12)
    assert_allclose(obj.hessp(params)(v), ref.hessp(params)(v), rtol=1e-10,
                    atol=1e-14)
    assert_allclose(obj.lipschitz_bound(), ref.lipschitz_bound(), rtol=1e-12)
    assert_allclose(obj.lipschitz_bound(per_sample=True),
                    ref.lipschitz_bound(per_sample=True), rtol=1e-12)


def fd_grad(f, x, h=1e-6):
    """Central finite differences of the scalar function ``f`` at ``x``, one
    coordinate at a time (same shape as ``x``)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        g[idx] = (f(x + step) - f(x - step)) / (2 * h)
    return g
