"""Polyak-Ruppert tail averaging of the stochastic solvers (``average=``, issue 12):
validation, the running mean against a plain reference loop, exact L1 zeros, and
the relative objective gap of the defaults on a cheap subset of the gap table
(``benchmarks/stochastic_gaps.py``)."""

import functools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp, softmax
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from skce import SoftmaxRegressor
from skce.solvers import SGD, SOLVERS, Adam, MiniBatchSGD

STOCHASTIC = sorted(k for k, v in SOLVERS.items() if v.family == "stochastic")


@pytest.mark.parametrize("name", STOCHASTIC)
def test_every_stochastic_solver_has_average(name):
    solver = SOLVERS[name]()
    assert solver.get_params()["average"] is False
    solver.set_params(average=0.5).validate()


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), "yes", None])
def test_average_is_validated(bad):
    match = (r"SGD: average must be True, False or a float in \[0, 1\] \(the "
             r"fraction of the planned epochs, at the end, whose iterates are "
             r"averaged\); got average=")
    with pytest.raises(ValueError, match=match):
        SGD(average=bad).validate()
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"Adam: average must be True, False"):
        SoftmaxRegressor(solver=Adam(average=bad)).fit(X, y)


def _reference_average(X, y, *, lr, batch_size, alpha, n_epochs, average, seed):
    """Mini-batch SGD on the softmax cross-entropy (no intercept) written out, with
    the running mean of the iterates whose position (epochs) is past
    ``(1 - average) * n_epochs``; the same shuffles as the estimator's loop."""
    n, d = X.shape
    K = int(y.max()) + 1
    Y = np.eye(K)[y]
    rng = np.random.default_rng(
        check_random_state(seed).randint(np.iinfo(np.int32).max))
    W = np.zeros((d, K))
    start = (1 - average) * n_epochs
    total, count = np.zeros_like(W), 0
    n_batches = -(-n // batch_size)
    for epoch in range(n_epochs):
        order = rng.permutation(n)
        for j in range(n_batches):
            rows = np.sort(order[j * batch_size:(j + 1) * batch_size])
            P = softmax(X[rows] @ W, axis=1)
            W = W - lr * (X[rows].T @ (P - Y[rows]) / len(rows) + alpha * W)
            if epoch + (j + 1) / n_batches > start:
                total += W
                count += 1
    return W, total / count, count


@pytest.mark.parametrize("average", [1.0, 0.5, 0.3])
def test_average_matches_a_reference_loop(average):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X @ rng.normal(size=(4, 3))).argmax(axis=1)
    kwargs = dict(lr=0.3, batch_size=16, alpha=0.01, n_epochs=4, seed=3)
    last, mean, count = _reference_average(X, y, average=average, **kwargs)
    assert count == {1.0: 16, 0.5: 8, 0.3: 5}[average]  # 4 batches an epoch
    assert np.abs(mean - last).max() > 1e-3  # the mean is not the last iterate
    clf = SoftmaxRegressor(
        solver=SGD(learning_rate=0.3, batch_size=16, average=average), alpha=0.01,
        fit_intercept=False, max_iter=4, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert_allclose(clf.coef_, mean.T, rtol=1e-10, atol=1e-12)
    plain = SoftmaxRegressor(
        solver=SGD(learning_rate=0.3, batch_size=16), alpha=0.01,
        fit_intercept=False, max_iter=4, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, y)
    assert_allclose(plain.coef_, last.T, rtol=1e-10, atol=1e-12)


def test_average_keeps_the_input_and_continues_under_partial_fit():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X.flags.writeable = False
    clf = SoftmaxRegressor(solver=MiniBatchSGD(average=0.5), random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
    assert clf.n_iter_ == 3 and clf.score(X, y) > 0.9


@functools.cache
def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = SoftmaxRegressor(solver="gd", alpha=0.02, l1_ratio=1.0, tol=1e-8,
                           max_iter=20_000).fit(X, y)
    return X, y, int((ref.coef_ == 0).sum())


def test_average_keeps_the_exact_l1_zeros():
    """The mean is kept on the last iterate's support: at least 80% of gd's exact
    zeros (the bound of test_stochastic's L1 test), as without averaging."""
    X, y, n_zero = _breast_cancer()
    assert n_zero > 10
    clf = SoftmaxRegressor(solver=MiniBatchSGD(average=0.5), alpha=0.02,
                           l1_ratio=1.0, random_state=0, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert (clf.coef_ == 0).sum() >= 0.8 * n_zero


# ------------------------------------------- the gap table's bound (a subset)
def _objective(clf, X, y, alpha):
    Z = X @ clf.coef_.T + clf.intercept_
    ce = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    return float(ce.mean() + 0.5 * alpha * np.sum(clf.coef_**2))


@pytest.mark.parametrize(("name", "loader", "alpha"),
                         [("adam", load_wine, 1e-3), ("adagrad", load_digits, 1e-4)])
def test_defaults_within_2e3_of_the_optimum(name, loader, alpha):
    """Issue 12's bound, (f - f*) / f* <= 2e-3, on two cells of
    benchmarks/stochastic_gaps.py (measured 2.8e-5 and 7.6e-4; Adagrad on digits
    at alpha=1e-4 was 3.4e-3 with its former batch of 32). Single-sample "sgd"
    does not meet it at alpha=1e-4 (see SGD's Notes and the docs' table)."""
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = SoftmaxRegressor(solver="newton-cg", alpha=alpha, tol=1e-10,
                           max_iter=1000).fit(X, y)
    clf = SoftmaxRegressor(solver=name, alpha=alpha, random_state=0).fit(X, y)
    f_star = _objective(ref, X, y, alpha)
    assert 0 <= (_objective(clf, X, y, alpha) - f_star) / f_star <= 2e-3
