"""Hostile input: each case gets a correct result or a clear error naming the problem.

NaN and infinity, object arrays, strings, ragged lists, 3-D arrays, empty X, a single
sample, 1,000 classes, a class with one sample, duplicate and constant features,
perfectly separable data, learning rates of 1e6 and logits that overflow. No input is
ever modified in place (read-only inputs must work), and a failed fit leaves no
half-fitted (NaN) model behind.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest_hypothesis import estimators
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression

from skce.solvers import SOLVERS

ESTIMATORS = estimators()
STOCHASTIC = [k for k, v in SOLVERS.items() if v.family == "stochastic"]
FULL_BATCH = [k for k, v in SOLVERS.items() if v.family == "full-batch"]


def _data(n=40, n_features=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(K), rng.integers(0, K, n - K)]
    X = rng.normal(size=(n, n_features)) + rng.normal(size=(K, n_features))[y]
    return X, y


def _quiet_fit(model, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kw)


def _no_fitted_attributes(model):
    return not any(hasattr(model, a) for a in ("coef_", "intercept_", "classes_"))


# --------------------------------------------------------- invalid X and y
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("bad, message", [
    (np.nan, "Input X contains NaN"),
    (np.inf, "Input X contains infinity"),
    (-np.inf, "Input X contains infinity"),
])
@pytest.mark.parametrize("sparse", [False, True])
def test_non_finite_X_is_refused_in_fit_and_predict(estimator, bad, message, sparse):
    X, y = _data()
    X_bad = X.copy()
    X_bad[3, 1] = bad
    if sparse:
        X_bad = sp.csr_matrix(X_bad)
    model = estimator()
    with pytest.raises(ValueError, match=message):
        model.fit(X_bad, y)
    assert _no_fitted_attributes(model)
    model.fit(X, y)
    with pytest.raises(ValueError, match=message):
        model.predict(X_bad)
    with pytest.raises(ValueError, match=message):
        model.predict_proba(X_bad)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("make, error, message", [
    (lambda X: X.astype(object).tolist()[:2] + [["a", "b", "c", "d"]]
     + X.tolist()[3:], ValueError, "could not convert string to float: 'a'"),
    (lambda X: np.where(X > 1, "big", X.astype(str)), ValueError,
     "could not convert string to float: .*'big'"),
    (lambda X: [list(r) for r in X[:2]] + [list(X[2, :2])]
     + [list(r) for r in X[3:]], ValueError, "inhomogeneous"),
    (lambda X: X.reshape(len(X), 2, 2), ValueError, "Found array with dim 3"),
    (lambda X: X[:, 0], ValueError, "Expected 2D array, got 1D array"),
    (lambda X: X + 1j, ValueError, "Complex data not supported"),
    (lambda X: X[:, :0], ValueError, r"0 feature\(s\)"),
], ids=["string-row", "string-cells", "ragged", "3-D", "1-D", "complex",
        "zero-columns"])
def test_malformed_X_is_refused(estimator, make, error, message):
    X, y = _data()
    model = estimator()
    with pytest.raises(error, match=message):
        model.fit(make(X), y)
    assert _no_fitted_attributes(model)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_zero_rows_are_refused(estimator):
    X, y = _data()
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        estimator().fit(X[:0], y[:0])
    model = estimator().fit(X, y)
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        model.predict(X[:0])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_object_array_of_numbers_fits_like_floats(estimator):
    X, y = _data()
    a = estimator().fit(X, y)
    b = estimator().fit(X.astype(object), y)
    assert_array_equal(b.coef_, a.coef_)
    assert_array_equal(b.predict(X.astype(object)), a.predict(X))
    X_none = X.astype(object)
    X_none[0, 0] = None  # a missing value in an object array reads as NaN
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator().fit(X_none, y)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("make_y, message", [
    (lambda y: np.where(np.arange(len(y)) == 2, np.nan, y), "Input y contains NaN"),
    (lambda y: y + np.linspace(0, 0.5, len(y)), "Unknown label type: continuous"),
    (lambda y: y[:-1], "inconsistent numbers of samples"),
    (lambda y: np.zeros_like(y), r"at least 2 classes; got 1 class: \[0\]"),
    (lambda y: None, "requires y to be passed"),
    (lambda y: np.c_[np.full(len(y), 1.5), np.full(len(y), -0.5)],
     "must be finite and non-negative"),
    (lambda y: np.c_[np.full(len(y), 0.7), np.full(len(y), 0.7)],
     "rows summing to 1; row 0 sums to 1.4"),
    (lambda y: np.c_[y.astype(str), y.astype(str)], "must be numeric"),
], ids=["nan", "continuous", "length", "one-class", "none", "soft-negative",
        "soft-sum", "soft-strings"])
def test_malformed_y_is_refused(estimator, make_y, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        estimator().fit(X, make_y(y))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("make_sw, message", [
    (lambda n: np.r_[np.nan, np.ones(n - 1)], "sample_weight contains NaN or infinity"),
    (lambda n: np.r_[np.inf, np.ones(n - 1)], "sample_weight contains NaN or infinity"),
    (lambda n: np.r_[-1.0, np.ones(n - 1)], "sample_weight must be non-negative"),
    (lambda n: np.zeros(n), "sample_weight sums to zero"),
    (lambda n: np.ones(3), re.escape(
        "sample_weight.shape == (3,), expected (40,)")),
    (lambda n: np.array(["a"] * n), "sample_weight must be numeric"),
], ids=["nan", "inf", "negative", "zero-sum", "shape", "strings"])
def test_malformed_sample_weight_is_refused(estimator, make_sw, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        estimator().fit(X, y, sample_weight=make_sw(len(y)))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "gd", "adagrad"])
def test_early_stopping_split_without_weight_is_refused(estimator, solver):
    """Found by the fuzz test: a split whose part has zero total weight divided by
    zero (ZeroDivisionError) instead of naming the problem."""
    X = np.array([[0.8], [1.9]])
    y = np.array([0, 1])
    model = estimator(solver=solver, early_stopping=True, validation_fraction=0.5,
                      random_state=0)
    with pytest.raises(ValueError, match="part of the split has zero total weight"):
        model.fit(X, y, sample_weight=[1.5, 0.0])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_early_stopping_with_too_few_samples_is_refused(estimator):
    """Found by the fuzz test: scikit-learn's own train_test_split message (about
    test_size) came through instead of one naming early_stopping."""
    X = np.array([[0.8], [1.9], [0.1]])
    soft = np.array([[0.3, 0.7]])
    model = estimator(early_stopping=True, validation_fraction=0.3)
    with pytest.raises(ValueError, match="early_stopping needs enough samples"):
        model.fit(X[:1], soft)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_predict_refuses_unfitted_and_misshaped_input(estimator):
    X, y = _data()
    with pytest.raises(NotFittedError):
        estimator().predict(X)
    model = estimator().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        model.predict(X[:, :3])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_overflowing_logits_are_a_clear_error(estimator):
    """Entries near the float64 limit make X @ coef_.T overflow: an error, not
    NaN probabilities or an arbitrary class."""
    X, y = _data()
    for labels in (y, y % 2):
        model = estimator().fit(X, labels)
        huge = np.sign(X[:5]) * 1.7e308
        for method in ("decision_function", "predict", "predict_proba",
                       "predict_log_proba"):
            with pytest.raises(ValueError, match="The logits overflow"):
                getattr(model, method)(huge)
        # up to 1e150 everything stays finite; the intercept no longer matters
        big = X[:5] * 1e150
        assert np.all(np.isfinite(model.predict_log_proba(big)))
        direction = X[:5] @ model.coef_.T
        expected = (direction[:, 0] > 0).astype(int) if direction.shape[1] == 1 \
            else direction.argmax(axis=1)
        assert_array_equal(model.predict(big), model.classes_[expected])


# -------------------------------------------------- awkward but valid data
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_single_sample(estimator):
    X, y = _data()
    with pytest.raises(ValueError, match="at least 2 classes; got 1 class"):
        estimator().fit(X[:1], y[:1])
    # one sample with a soft target is a valid (penalized) problem
    T = np.array([[0.2, 0.3, 0.5]])
    model = estimator(alpha=1.0).fit(X[:1], T)
    assert_array_equal(model.classes_, [0, 1, 2])
    proba = model.predict_proba(X[:1])
    # the optimum moves the probabilities from uniform towards the target
    assert np.argmax(proba) == 2 and np.argmin(proba) == 0


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_one_sample_per_class(estimator):
    X = np.array([[-1.0, 0.5], [1.0, -0.5], [0.0, 2.0]])
    for K in (2, 3):
        model = estimator(alpha=1e-3, class_weight=None).fit(X[:K], np.arange(K))
        assert_array_equal(model.predict(X[:K]), np.arange(K))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_class_with_one_sample_matches_logistic_regression(estimator):
    """Extreme imbalance (99:1 and 50:50:1) against scikit-learn at the same C."""
    rng = np.random.default_rng(3)
    for counts in ([99, 1], [50, 50, 1]):
        y = np.repeat(np.arange(len(counts)), counts)
        X = rng.normal(size=(len(y), 3)) + 1.5 * np.eye(3)[y]
        alpha = 1e-2
        model = estimator(alpha=alpha, class_weight=None, tol=1e-10,
                          solver="newton-cg").fit(X, y)
        ref = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12,
                                 max_iter=10000).fit(X, y)
        assert_allclose(model.coef_, ref.coef_, atol=1e-6)
        proba = model.predict_proba(X)
        assert_allclose(proba, ref.predict_proba(X), atol=1e-7)
        # the lone sample gets more than its prior share of probability
        assert proba[-1, -1] > counts[-1] / len(y)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_thousand_classes(estimator):
    """1,000 well separated classes, 2 samples each: a 20,000-parameter softmax."""
    rng = np.random.default_rng(0)
    K, d = 1000, 20
    centers = rng.normal(size=(K, d))
    y = np.repeat(np.arange(K), 2)
    X = centers[y] + 0.01 * rng.normal(size=(len(y), d))
    model = _quiet_fit(estimator(alpha=1e-4, class_weight=None, max_iter=30), X, y)
    assert model.coef_.shape == (K, d) and np.all(np.isfinite(model.coef_))
    assert_array_equal(model.classes_, np.arange(K))
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), K)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert model.score(X, y) == 1.0


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_duplicate_feature_columns_share_the_weight(estimator, solver):
    """With an L2 penalty, a duplicated column splits its weight evenly: the fit on
    [X, x0] has w0 = w0' = u / sqrt(2), with u the weight of x0 * sqrt(2) in a fit
    on X alone (the penalty w0^2 + w0'^2 equals u^2 at the even split)."""
    X, y = _data()
    kw = dict(solver=solver, alpha=1e-2, tol=1e-10, class_weight=None)
    dup = estimator(**kw).fit(np.c_[X, X[:, 0]], y)
    scaled = X.copy()
    scaled[:, 0] *= np.sqrt(2)
    ref = estimator(**kw).fit(scaled, y)
    assert_allclose(dup.coef_[:, 0], dup.coef_[:, -1], atol=1e-8)
    assert_allclose(dup.coef_[:, 0], ref.coef_[:, 0] / np.sqrt(2), atol=1e-7)
    assert_allclose(dup.coef_[:, 1:-1], ref.coef_[:, 1:], atol=1e-7)
    assert_allclose(dup.intercept_, ref.intercept_, atol=1e-7)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_constant_features(estimator, solver):
    """A constant column duplicates the (unpenalized) intercept: its weight is 0 and
    the other weights are those of the fit without it."""
    X, y = _data()
    kw = dict(solver=solver, alpha=1e-2, tol=1e-10, class_weight=None)
    with_const = estimator(**kw).fit(np.c_[X, np.full(len(X), 3.0)], y)
    without = estimator(**kw).fit(X, y)
    # lbfgs also stops on scipy's relative-decrease test, a little short of tol
    atol = 1e-8 if solver == "newton-cg" else 1e-6
    assert_allclose(with_const.coef_[:, -1], 0.0, atol=atol)
    assert_allclose(with_const.coef_[:, :-1], without.coef_, atol=10 * atol)
    # only constant features: the probabilities are the class frequencies
    constant = np.full((len(X), 2), -7.0)
    only = estimator(**kw).fit(constant, y)
    assert_allclose(only.coef_, 0.0, atol=1e-8)
    freq = np.bincount(y) / len(y)
    assert_allclose(only.predict_proba(constant), np.tile(freq, (len(X), 1)),
                    atol=1e-8)


def _separable(K):
    rng = np.random.default_rng(1)
    y = np.r_[np.arange(K), rng.integers(0, K, 30 - K)]
    angles = 2 * np.pi * y / K
    X = np.c_[np.cos(angles), np.sin(angles)] * 3 + 0.2 * rng.normal(size=(30, 2))
    return X, y


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("K", [2, 4])
@pytest.mark.parametrize("solver", FULL_BATCH)
def test_separable_data(estimator, K, solver):
    X, y = _separable(K)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all with a penalty
        model = estimator(solver=solver, alpha=1e-3).fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.abs(model.coef_).max() < 100
    assert model.score(X, y) == 1.0
    # no penalty: no minimizer exists, and the user is told so
    with pytest.warns(ConvergenceWarning, match="perfectly separable and alpha=0"):
        model = estimator(solver=solver, alpha=0.0).fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    # label smoothing keeps the optimum finite: no separation warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator(solver=solver, alpha=0.0, label_smoothing=0.1).fit(X, y)
    assert not [w for w in caught if "separable" in str(w.message)]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_overlapping_data_with_alpha_zero_does_not_warn(estimator):
    X, y = _data(n=200, seed=5)
    X = X + 3 * np.random.default_rng(0).normal(size=X.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = estimator(alpha=0.0).fit(X, y)
    assert model.score(X, y) < 1.0


# ------------------------------------------------------- divergence guard
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_learning_rate_1e6_is_a_clear_error(estimator, solver):
    X, y = _data(n=64)
    model = estimator(solver=SOLVERS[solver](learning_rate=1e6), max_iter=5,
                      random_state=0)
    with pytest.raises(FloatingPointError, match="Training diverged.*learning_rate"):
        model.fit(X, y)
    assert _no_fitted_attributes(model)
    # a failed refit leaves the previous, finite fit in place
    model.set_params(solver=solver)
    _quiet_fit(model, X, y)
    before = model.coef_.copy()
    model.set_params(solver=SOLVERS[solver](learning_rate=1e6))
    with pytest.raises(FloatingPointError, match="Training diverged"):
        model.fit(X, y)
    assert_array_equal(model.coef_, before)
    assert np.all(np.isfinite(model.predict_proba(X)))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_partial_fit_divergence_keeps_the_last_good_state(estimator):
    X, y = _data(n=64)
    model = estimator(solver="adam", random_state=0)
    model.partial_fit(X, y, classes=np.unique(y))
    before = model.coef_.copy()
    with pytest.raises(FloatingPointError, match="Training diverged"):
        model.partial_fit(X * 1e12, y)
    assert_array_equal(model.coef_, before)
    model.partial_fit(X, y)  # and it carries on from there
    assert np.all(np.isfinite(model.coef_))


# ----------------------------------------------------- nothing in place
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd", "sgd", "adam"])
@pytest.mark.parametrize("layout", ["C64", "F64", "C32", "csr", "csc"])
def test_read_only_inputs_are_never_written(estimator, solver, layout):
    X, y = _data()
    sw = np.linspace(0.5, 2.0, len(y))
    if layout == "F64":
        X = np.asfortranarray(X)
    elif layout == "C32":
        X = X.astype(np.float32)
    elif layout in ("csr", "csc"):
        X = sp.csr_matrix(X) if layout == "csr" else sp.csc_matrix(X)
    arrays = [X.data if sp.issparse(X) else X, y, sw]
    if sp.issparse(X):
        arrays += [X.indices, X.indptr]
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.flags.writeable = False
    model = _quiet_fit(estimator(solver=solver, max_iter=20, random_state=0,
                                 class_weight="balanced"), X, y, sample_weight=sw)
    model.predict(X)
    model.predict_proba(X)
    model.score(X, y, sample_weight=sw)
    if solver in STOCHASTIC:
        model.partial_fit(X, y, sample_weight=sw)
    for a, c in zip(arrays, copies, strict=True):
        assert_array_equal(a, c)
    # soft targets are never written either
    T = np.eye(3)[y] * 0.8 + 0.2 / 3
    T.flags.writeable = False
    T_copy = T.copy()
    _quiet_fit(estimator(solver=solver, max_iter=20, random_state=0,
                         label_smoothing=0.1), X, T)
    assert_array_equal(T, T_copy)
