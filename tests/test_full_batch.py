"""Full-batch solvers (lbfgs, newton-cg, gd): accuracy of the optimum, parity with
scikit-learn's LogisticRegression, L1 / elastic net, warnings and history."""

import functools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _skce_data import dataset, iris, objective_value
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skce import SoftmaxRegressor

DATASETS = ["iris", "wine", "breast_cancer", "digits"]
FULL_BATCH = ["lbfgs", "newton-cg", "gd"]
ALPHA = 1e-4  # the default


@functools.cache
def _reference(name):
    """The optimum: newton-cg at tol=1e-10, its objective and test accuracy."""
    X, X_test, y, y_test = dataset(name)
    ref = SoftmaxRegressor(solver="newton-cg", tol=1e-10, max_iter=1000).fit(X, y)
    f_star = objective_value(ref.coef_, ref.intercept_, X, y, alpha=ALPHA)
    return f_star


@functools.cache
def _lbfgs_accuracy(name):
    X, X_test, y, y_test = dataset(name)
    return SoftmaxRegressor().fit(X, y).score(X_test, y_test)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("solver", FULL_BATCH)
def test_defaults_reach_the_optimum(name, solver):
    X, X_test, y, y_test = dataset(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SoftmaxRegressor(solver=solver).fit(X, y)
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=ALPHA)
    f_star = _reference(name)
    assert (f - f_star) / f_star <= 1e-6
    assert abs(clf.score(X_test, y_test) - _lbfgs_accuracy(name)) <= 0.01
    assert clf.stop_reason_ == "converged"
    # the history: one entry per iteration, non-increasing, ending at the optimum
    curve = np.asarray(clf.loss_curve_)
    assert clf.n_iter_ >= 1
    assert len(curve) == clf.n_iter_  # FISTA's restarts are recorded too
    assert np.all(np.diff(curve) <= 1e-12 * curve[:-1])
    assert curve[-1] == pytest.approx(f, rel=1e-9)


def _check_parity(clf, lr, rtol):
    """coef_ and intercept_ equal to rtol, relative to the largest coefficient
    (entries of 1e-6 next to entries of 10 cannot be compared one by one)."""
    scale = np.abs(lr.coef_).max()
    assert_allclose(clf.coef_, lr.coef_, rtol=rtol, atol=rtol * scale)
    b_ref = lr.intercept_
    if b_ref.shape[0] > 1:  # softmax: defined up to a shared shift
        assert abs(clf.intercept_.sum()) <= 1e-10 * scale
        b_ref = b_ref - b_ref.mean()
    assert_allclose(clf.intercept_, b_ref, rtol=rtol, atol=rtol * scale)
    return max(np.abs(clf.coef_ - lr.coef_).max(),
               np.abs(clf.intercept_ - b_ref).max()) / scale


@functools.cache
def _sklearn_fit(name, weighted, solver="lbfgs"):
    X, _, y, _ = dataset(name)
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    total = len(y) if sw is None else sw.sum()
    lr = LogisticRegression(C=1.0 / (ALPHA * total), tol=1e-10, max_iter=10000,
                            solver=solver).fit(X, y, sample_weight=sw)
    return lr, sw


PARITY_ERRORS = {}


@pytest.mark.parametrize("name", ["iris", "iris_binary", "wine", "breast_cancer",
                                  "digits"])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_parity_with_logistic_regression(name, solver, weighted):
    X, _, y, _ = dataset(name)
    lr, sw = _sklearn_fit(name, weighted)
    clf = SoftmaxRegressor(solver=solver, tol=1e-10, max_iter=10000).fit(
        X, y, sample_weight=sw)
    assert clf.coef_.shape == lr.coef_.shape
    assert clf.intercept_.shape == lr.intercept_.shape
    # sklearn's lbfgs stops on a relative decrease of 64 eps, leaving a gradient
    # of ~1e-9 and coefficients ~1e-5 (relative) from the exact optimum here
    err = _check_parity(clf, lr, rtol=1e-4)
    PARITY_ERRORS[(name, solver, weighted, "lbfgs")] = err
    if solver == "newton-cg":
        # both Newton methods reach the optimum to machine precision: 1e-6 holds
        lr_newton, _ = _sklearn_fit(name, weighted, "newton-cholesky")
        PARITY_ERRORS[(name, solver, weighted, "newton-cholesky")] = _check_parity(
            clf, lr_newton, rtol=1e-6)


def test_report_parity_errors(capsys):
    # runs last in this module: prints the errors reached (pytest -s shows them)
    if not PARITY_ERRORS:
        pytest.skip("parity tests did not run in this process")
    with capsys.disabled():
        for key, err in sorted(PARITY_ERRORS.items()):
            print(f"\n  {key}: {err:.1e}", end="")
        worst = max(PARITY_ERRORS.values())
        print(f"\nmax relative parity error: {worst:.1e} over "
              f"{len(PARITY_ERRORS)} comparisons")


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
@pytest.mark.parametrize("alpha, l1_ratio", [(0.01, 0.5), (0.02, 1.0)])
def test_gd_elastic_net_matches_saga(name, alpha, l1_ratio):
    X, _, y, _ = dataset(name)
    clf = SoftmaxRegressor(solver="gd", alpha=alpha, l1_ratio=l1_ratio).fit(X, y)
    lr = LogisticRegression(solver="saga", l1_ratio=l1_ratio, C=1 / (alpha * len(y)),
                            tol=1e-8, max_iter=100000).fit(X, y)
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=alpha,
                        l1_ratio=l1_ratio)
    f_saga = objective_value(lr.coef_, lr.intercept_, X, y, alpha=alpha,
                             l1_ratio=l1_ratio)
    assert f <= f_saga * (1 + 1e-8)
    assert (f - f_saga) / f_saga >= -1e-6  # saga is close to the optimum too
    # exact zeros from the proximal step, the same ones as saga's
    zeros = clf.coef_ == 0
    assert zeros.sum() >= clf.coef_.size // 4
    np.testing.assert_array_equal(zeros, lr.coef_ == 0)
    assert_allclose(clf.coef_, lr.coef_, atol=1e-3)
    assert np.all(np.diff(clf.loss_curve_) <= 1e-12)


def test_l1_gives_more_zeros_as_alpha_grows():
    X, _, y, _ = dataset("digits")
    zeros = [np.mean(SoftmaxRegressor(solver="gd", alpha=a, l1_ratio=1.0)
                     .fit(X, y).coef_ == 0) for a in (1e-3, 1e-2)]
    assert 0 < zeros[0] < zeros[1]


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_l1_needs_a_proximal_solver(solver):
    X, y = iris()
    with pytest.raises(ValueError, match=(
            rf"solver='{solver}' does not support l1_ratio > 0 .*use one of "
            r"\[.*'gd'.*'adam'.*\]")):
        SoftmaxRegressor(solver=solver, l1_ratio=0.5).fit(X, y)


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_convergence_warning_when_max_iter_too_small(solver):
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match=(
            rf"solver='{solver}' did not converge: .*Increase max_iter \(now 2\), "
            r"loosen tol \(now 1e-07\)")):
        clf = SoftmaxRegressor(solver=solver, max_iter=2).fit(X, y)
    assert clf.n_iter_ == 2
    assert len(clf.loss_curve_) == 2
    assert clf.stop_reason_ == "max_iter"
    assert np.all(np.isfinite(clf.coef_))


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_warm_start_continues(solver):
    X, y = iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxRegressor(solver=solver, max_iter=3, warm_start=True).fit(X, y)
        f3 = objective_value(clf.coef_, clf.intercept_, X, y, alpha=ALPHA)
        clf.set_params(max_iter=1000).fit(X, y)
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=ALPHA)
    full = SoftmaxRegressor(solver="newton-cg", tol=1e-10).fit(X, y)
    f_star = objective_value(full.coef_, full.intercept_, X, y, alpha=ALPHA)
    assert f < f3
    assert (f - f_star) / f_star <= 1e-6
    assert clf.n_iter_ > 3  # counted over both calls


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_extreme_features_never_give_nan(solver):
    X, y = iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clf = SoftmaxRegressor(solver=solver, max_iter=50).fit(X * 1e150, y)
        except (ValueError, FloatingPointError) as exc:  # a clear error is allowed
            assert "standardize" in str(exc) or "finite" in str(exc)
            return
    assert np.all(np.isfinite(clf.coef_))
    assert np.all(np.isfinite(clf.intercept_))
    assert np.all(np.isfinite(clf.predict_proba(X * 1e150)))


# --------------------------------------------------------------- solver="auto"
@pytest.mark.parametrize("n_samples, n_features, l1_ratio, expected", [
    (150, 4, 0.0, "LBFGS"),
    (20_000, 50, 0.0, "NewtonCG"),          # n * d = 1e6: the threshold
    (20_000, 50, 0.5, "GradientDescent"),   # L1 needs proximal steps
])
def test_auto_picks_by_size_and_penalty(n_samples, n_features, l1_ratio, expected):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n_samples, n_features))
    y = (X[:, 0] + 0.5 * rng.standard_normal(n_samples) > 0).astype(int)
    clf = SoftmaxRegressor(l1_ratio=l1_ratio, alpha=1e-2).fit(X, y)
    assert type(clf.solver_).__name__ == expected
    assert clf.get_params()["solver"] == "auto"  # the parameter is left alone


def test_auto_matches_the_solver_it_picks():
    X, y = iris()
    auto = SoftmaxRegressor(tol=1e-10).fit(X, y)
    lbfgs = SoftmaxRegressor(solver="lbfgs", tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(auto.coef_, lbfgs.coef_)
    assert type(auto.solver_).__name__ == "LBFGS"


def test_auto_avoids_lbfgs_history_beyond_memory_of_X():
    """Few rows, many features and classes: below the size threshold, but
    L-BFGS's 20 parameter vectors (72 MB) would dwarf X (14 KB): newton-cg."""
    from skce.solvers import LBFGS, Auto, NewtonCG

    n_params = 45_001 * 10
    assert isinstance(Auto().select(20, 45_000, False), LBFGS)
    assert isinstance(Auto().select(20, 45_000, False, n_params=n_params,
                                    data_bytes=14_400), NewtonCG)
    # a small history stays with L-BFGS
    assert isinstance(Auto().select(20, 4_500, False, n_params=45_001,
                                    data_bytes=14_400), LBFGS)
    X = sp.random(20, 45_000, density=2e-3, format="csr", random_state=0)
    y = np.arange(20) % 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegressor(max_iter=1).fit(X, y)
    assert isinstance(model.solver_, NewtonCG)


def test_hessp_survives_evaluations_between_products():
    """hessp's setup lives in the scratch that value_grad and smooth_value write
    (newton-cg's line search runs between two setups): a product after such
    evaluations redoes the setup, and equals the product before them and the
    finite difference of the gradient; several row blocks (K = 40: 1,024 rows a
    block) and a subsampled Hessian too."""
    from skce._loss import HardTargets, SoftmaxCrossEntropy
    from skce._objective import Objective

    rng = np.random.default_rng(0)
    n, K = 3_000, 40
    X = rng.normal(size=(n, 5))
    obj = Objective(X, HardTargets(rng.integers(0, K, n), K), rng.uniform(size=n),
                    SoftmaxCrossEntropy(K), alpha=1e-2)
    p, v = rng.normal(size=obj.shape), rng.normal(size=obj.shape)
    for rows in (None, np.arange(0, n, 2)):
        product = obj.hessp(p, rows=rows)
        first = product(v)
        obj.value_grad(p + 1.0)
        obj.smooth_value(3.0 * p)
        assert_allclose(product(v), first, rtol=0, atol=0)
    eps = 1e-6
    fd = (obj.value_grad(p + eps * v)[1] - obj.value_grad(p - eps * v)[1]) / (2 * eps)
    assert_allclose(obj.hessp(p)(v), fd, atol=1e-8)
