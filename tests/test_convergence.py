"""Stopping rules of the full-batch solvers (lbfgs, newton-cg, gd): where the
arithmetic ends, what is reported as converged, and what warns.

The references are independent of skce: a dense Newton method written here
(:func:`newton_reference`), scikit-learn's LogisticRegression, and gradients and
objectives computed with numpy and scipy.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _skce_data import dataset, iris, objective_value
from numpy.testing import assert_allclose
from scipy.special import expit, logsumexp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import shuffle

from skce import SoftmaxRegressor
from skce._loss import HardTargets, SigmoidCrossEntropy
from skce._objective import Objective
from skce.solvers import LBFGS, GradientDescent, NewtonCG

FULL_BATCH = ["lbfgs", "newton-cg", "gd"]


def newton_reference(X, y, alpha, sample_weight=None, n_iter=100):
    """The optimum by a dense Newton method on the column-scaled problem.

    Columns are divided by sqrt(weighted mean x^2 + alpha), which scales the data
    and the penalty parts of the Hessian alike, so columns of 1e-8 and 1e8 pose no
    problem; the Newton systems are solved by least squares (the softmax leaves a
    shift of the intercepts free). Binary y: one logit, the sigmoid.

    Returns
    -------
    f : float
    coef : ndarray of shape (n_outputs, n_features)
    intercept : ndarray of shape (n_outputs,)
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    classes = np.unique(y)
    Y = np.eye(len(classes))[np.searchsorted(classes, y)]
    if len(classes) == 2:
        Y = Y[:, 1:]
    K = Y.shape[1]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    S = s.sum()
    scale = np.sqrt(s @ X**2 / S + alpha)
    Xt = np.hstack([X / scale, np.ones((n, 1))])
    penalty = np.r_[alpha / scale**2, 0.0][:, None]

    def evaluate(U):
        Z = Xt @ U
        if K == 1:
            P = expit(Z)
            ce = np.logaddexp(0.0, Z[:, 0]) - Z[:, 0] * Y[:, 0]
        else:
            lse = logsumexp(Z, axis=1)
            P = np.exp(Z - lse[:, None])
            ce = lse - (Z * Y).sum(axis=1)
        f = s @ ce / S + 0.5 * np.sum(penalty * U**2)
        G = Xt.T @ (s[:, None] * (P - Y)) / S + penalty * U
        H = np.empty(((d + 1) * K, (d + 1) * K))
        for k in range(K):
            for m in range(K):
                w = s * P[:, k] * ((k == m) - P[:, m]) / S if K > 1 else \
                    s * P[:, 0] * (1 - P[:, 0]) / S
                H[k::K, m::K] = Xt.T @ (w[:, None] * Xt)
        H += np.diag(np.repeat(penalty[:, 0], K))
        return f, G, H

    U = np.zeros((d + 1, K))
    f, G, H = evaluate(U)
    for _ in range(n_iter):
        step = -np.linalg.lstsq(H, G.ravel(), rcond=1e-15)[0].reshape(U.shape)
        t = 1.0
        while True:
            f_new, G_new, H_new = evaluate(U + t * step)
            if f_new <= f + 1e-4 * t * (G.ravel() @ step.ravel()) or t < 1e-10:
                break
            t *= 0.5
        if not f_new <= f:
            break
        U, f, G, H = U + t * step, f_new, G_new, H_new
        if np.abs(G).max() <= 1e-15:
            break
    intercept = U[d] - U[d].mean() if K > 1 else U[d]
    return f, (U[:d] / scale[:, None]).T, intercept


def gradient(clf, X, y, alpha, sample_weight=None):
    """The gradient of the objective at clf's coefficients, computed with numpy."""
    X = np.asarray(X, dtype=np.float64)
    classes = np.unique(y)
    Y = np.eye(len(classes))[np.searchsorted(classes, y)]
    Z = X @ clf.coef_.T + clf.intercept_
    if Z.shape[1] == 1:
        Y, P = Y[:, 1:], expit(Z)
    else:
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    G = s[:, None] * (P - Y) / s.sum()
    return np.vstack([X.T @ G + alpha * clf.coef_.T, G.sum(axis=0)])


def fit_quietly(**params):
    """Fit and return (clf, the ConvergenceWarnings raised)."""
    def fit(X, y, sample_weight=None):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf = SoftmaxRegressor(**params).fit(X, y, sample_weight=sample_weight)
        return clf, [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    return fit


def ill_conditioned():
    """Three classes, five columns scaled by 10**uniform(-6, 6)."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 200)
    X = (rng.normal(size=(200, 5)) + rng.normal(size=(3, 5))[y]) \
        * 10 ** rng.uniform(-6, 6, 5)
    return X, y


# ----------------------------------------------------- the precision floor
def test_newton_cg_stops_at_the_precision_of_200k_rows():
    # Issue 18: a Newton step near this optimum lowers f by 1e-20, below f's
    # rounding (3e-17), so Armijo's test accepted steps of 1e-5 at random and the
    # run went on at max|grad| = 3.4e-12: 60 iterations and ~1000 line-search trials
    # at tol=1e-12 (the tol=1e-10 did the same on the reporter's BLAS;
    # here it stopped after 15). Now steps where f is flat are judged by the
    # gradient, which reaches 1e-17.
    X, y = make_classification(n_samples=200_000, n_features=100, random_state=0)
    alpha = 1.0 / len(y)
    clf, caught = fit_quietly(solver="newton-cg", tol=1e-12, alpha=alpha,
                              max_iter=40)(X, y)
    assert not caught
    assert clf.stop_reason_ == "converged"
    assert clf.n_iter_ <= 25
    assert np.abs(gradient(clf, X, y, alpha)).max() <= 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_newton_cg_converges_at_the_floor_below_it(dtype, sparse):
    # tol=1e-30 is below what any dtype resolves: the run ends converged at the
    # rounding floor, says so, and the floor bounds the gradient computed in
    # float64 (X's rounding aside).
    X, y = make_classification(n_samples=2000, n_features=20, random_state=0)
    X = X.astype(dtype)
    obj = Objective(sp.csr_matrix(X) if sparse else X,
                    HardTargets(y, 2), np.ones(len(y), dtype=dtype),
                    SigmoidCrossEntropy(), alpha=1e-3)
    result = NewtonCG().minimize(obj, np.zeros(obj.shape, dtype=dtype),
                                 max_iter=100, tol=1e-30,
                                 monitor=lambda params, loss: False)
    assert result.converged and not result.stopped
    assert result.n_iter <= 20
    assert result.precision_floor is not None
    assert "precision floor" in result.message and "tol=1e-30" in result.message
    eps = np.finfo(dtype).eps
    # the floor is eps times the size of the gradient's terms (here ~1): not a
    # blanket bound of 1e3 eps
    assert eps < result.precision_floor <= 1e3 * eps
    coef = result.params.astype(np.float64)

    class Fitted:
        coef_, intercept_ = coef[:-1].T, coef[-1]

    g = gradient(Fitted, X, y, 1e-3)
    assert np.abs(g).max() <= result.precision_floor


@pytest.mark.parametrize("alpha", [1e-4, 1e-2, 1e6])
@pytest.mark.parametrize("solver", FULL_BATCH)
def test_estimator_with_a_tol_below_the_floor(solver, alpha):
    # Newton's steps reach the floor and stop there, converged. Gradient descent,
    # steered by its gradient mapping once f is flat, may stall above the floor
    # (alpha=1e-4: at 1.7e-9, against a floor of 2e-12); it must then say so.
    X, y = iris()
    clf, caught = fit_quietly(solver=solver, tol=1e-30, alpha=alpha)(X, y)
    f_ref = newton_reference(X, y, alpha)[0]
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=alpha)
    if solver == "gd" and caught:
        assert clf.stop_reason_ == "max_iter"
        assert "no decrease left at the precision of X's dtype, with max|grad|" in \
            str(caught[0].message)
        assert (f - f_ref) / f_ref <= 1e-12
        return
    assert not caught
    # "precision_floor" once the estimator reports SolverResult.precision_floor
    assert clf.stop_reason_ in ("converged", "precision_floor")
    assert (f - f_ref) / f_ref <= 1e-14


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_strong_penalty_converges_without_warning(solver):
    # alpha=1e6: a step's decrease (1e-18) is below f's rounding (2e-16) from the
    # first iterations; gd warned "no decrease left" at the optimum and reported
    # max_iter after 13 iterations.
    X, y = iris()
    clf, caught = fit_quietly(solver=solver, alpha=1e6)(X, y)
    assert not caught
    assert clf.stop_reason_ == "converged"
    assert clf.n_iter_ <= 20
    lr = LogisticRegression(C=1 / (1e6 * len(y)), solver="newton-cholesky",
                            tol=1e-14).fit(X, y)
    # max|grad| <= tol = 1e-7 puts the coefficients within tol / alpha = 1e-13
    assert_allclose(clf.coef_, lr.coef_, rtol=0, atol=1e-13)
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=1e6)
    f_ref = newton_reference(X, y, 1e6)[0]
    assert abs(f - f_ref) <= 4 * np.finfo(float).eps * f_ref


# ------------------------------------------- ill-conditioned X, false stops
def test_lbfgs_reaches_the_optimum_of_ill_conditioned_X():
    # scipy's L-BFGS-B stops on its relative-decrease test (ftol) at max|grad| of
    # 6e-3; that was reported converged, without a warning, 15% above the optimum.
    X, y = ill_conditioned()
    clf, caught = fit_quietly()(X, y)  # solver="auto": lbfgs here
    assert type(clf.solver_).__name__ == "LBFGS"
    f_ref = newton_reference(X, y, 1e-4)[0]
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=1e-4)
    assert not caught
    assert clf.stop_reason_ == "converged"
    assert (f - f_ref) / f_ref <= 1e-4


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_ill_conditioned_X_is_never_a_false_convergence(solver):
    # with too few iterations to finish, every solver says so and suggests scaling
    X, y = ill_conditioned()
    f_ref = newton_reference(X, y, 1e-4)[0]
    for max_iter in (60, None):
        clf, caught = fit_quietly(solver=solver, max_iter=max_iter)(X, y)
        f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=1e-4)
        if (f - f_ref) / f_ref > 1e-4:
            assert len(caught) == 1
            assert clf.stop_reason_ == "max_iter"
            assert "StandardScaler" in str(caught[0].message)
        else:
            assert clf.stop_reason_ == "converged"


def test_lbfgs_says_why_it_did_not_finish():
    X, y = ill_conditioned()
    with pytest.warns(ConvergenceWarning, match=(
            r"did not converge: L-BFGS stopped with max\|grad\| = \S+ \(CONVERGENCE: "
            r"RELATIVE REDUCTION OF F <= FACTR\*EPSMCH\); Newton-CG from there: "
            r"reached max_iter=\d+\. .*standardize X \(e\.g\. with StandardScaler\)")):
        clf = SoftmaxRegressor(solver="lbfgs", max_iter=60).fit(X, y)
    assert clf.n_iter_ == 60 == len(clf.loss_curve_)


def test_lbfgs_honours_a_tight_tol():
    # tol=1e-10: scipy stops on ftol = 64 eps first (max|grad| 1e-9), 2e-6 from
    # the optimum in predict_proba; Newton-CG steps finish the job.
    X, _, y, _ = dataset("breast_cancer")
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    # scikit-learn's own lbfgs stops on the same ftol (1.5e-6 away here): compare
    # with its Newton solver
    lr = LogisticRegression(C=1 / (1e-4 * sw.sum()), solver="newton-cholesky",
                            tol=1e-12, max_iter=1000).fit(X, y, sample_weight=sw)
    clf, caught = fit_quietly(solver="lbfgs", tol=1e-10)(X, y, sample_weight=sw)
    assert not caught
    assert clf.stop_reason_ == "converged"
    assert np.abs(gradient(clf, X, y, 1e-4, sw)).max() <= 1e-10
    assert_allclose(clf.predict_proba(X), lr.predict_proba(X), rtol=0, atol=1e-7)


# ---------------------------------------------------- exceptions propagate
class Interrupt(Exception):
    pass


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("exception", [StopIteration, Interrupt, KeyboardInterrupt])
def test_callback_exceptions_propagate(solver, exception):
    # scipy ends L-BFGS-B quietly on a StopIteration from its callback: the fit
    # returned after 2 iterations with stop_reason_ "max_iter"
    X, y = iris()
    seen = []

    def callback(record):
        seen.append(record.iteration)
        if record.iteration == 2:
            raise exception("at 2")

    with pytest.raises(exception, match="at 2"):
        SoftmaxRegressor(solver=solver, callbacks=[callback]).fit(X, y)
    assert seen == [1, 2]


@pytest.mark.parametrize("solver", [LBFGS(), NewtonCG(), GradientDescent()])
def test_monitor_exceptions_propagate_from_minimize(solver):
    X, y = iris()
    obj = Objective(X, HardTargets((y > 0).astype(int), 2), np.ones(len(y)),
                    SigmoidCrossEntropy())

    def monitor(params, loss):
        raise Interrupt("from the monitor")

    with pytest.raises(Interrupt, match="from the monitor"):
        solver.minimize(obj, np.zeros(obj.shape), max_iter=10, tol=1e-7,
                        monitor=monitor)


# ------------------------------------------------- tight default stopping
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_newton_cg_weights_equal_repetitions(sparse):
    # scikit-learn's check_sample_weight_equivalence problem: 15 x 30, alpha=1e-4
    # (the Hessian's smallest eigenvalue). At max|grad| <= tol=1e-7 the two fits
    # differed by 8e-7 relative in predict_proba; the final exact Newton step takes
    # both to ~1e-11.
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    X_rep, y_rep = X.repeat(sw, axis=0), y.repeat(sw)
    X_w, y_w, sw_w = shuffle(X, y, sw, random_state=0)
    to = sp.csr_matrix if sparse else np.asarray
    repeated = SoftmaxRegressor(solver="newton-cg").fit(to(X_rep), y_rep)
    weighted = SoftmaxRegressor(solver="newton-cg").fit(to(X_w), y_w,
                                                       sample_weight=sw_w)
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7)
    f_ref = newton_reference(X_rep, y_rep, 1e-4)[0]
    for clf in (repeated, weighted):
        f = objective_value(clf.coef_, clf.intercept_, X_rep, y_rep, alpha=1e-4)
        assert abs(f - f_ref) <= 1e-14


# ------------------------------------------------------------ beyond the list
def _scaled_columns(name, low, high):
    X, _, y, _ = dataset(name)
    scale = 10 ** np.random.default_rng(0).uniform(low, high, X.shape[1])
    return X * scale, y


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_columns_scaled_1e8_never_converge_falsely(solver, name):
    # Columns of 1e-8..1e8: the Hessian's condition number is ~1e32. A solver may
    # fail to finish (lbfgs and gd do, with a warning); it may not say converged
    # away from the optimum.
    X, y = _scaled_columns(name, -8, 8)
    clf, caught = fit_quietly(solver=solver)(X, y)
    f_ref = newton_reference(X, y, 1e-4)[0]
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=1e-4)
    if clf.stop_reason_ == "converged":
        assert not caught
        assert (f - f_ref) / f_ref <= 1e-6
    else:
        assert len(caught) == 1 and clf.stop_reason_ == "max_iter"


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_sample_weights_spanning_1e16(solver, name):
    X, _, y, _ = dataset(name)
    sw = 10 ** np.random.default_rng(1).uniform(-8, 8, len(y))
    clf, caught = fit_quietly(solver=solver)(X, y, sample_weight=sw)
    assert not caught
    assert clf.stop_reason_ == "converged"
    f_ref = newton_reference(X, y, 1e-4, sw)[0]
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=1e-4,
                        sample_weight=sw)
    assert (f - f_ref) / f_ref <= 1e-6


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_float32_is_at_the_optimum_or_warns(solver, name):
    # gd in float32 stopped where a plain step went uphill, 6.5e-3 (wine) and 2e-3
    # (breast_cancer) above the optimum with max|mapping| = 4e-5 and 8e-5, and
    # reported converged (the old floor was 1e3 eps = 1.2e-4 whatever the data).
    # Its gradient's rounding there is ~1e-5: it now warns. lbfgs and newton-cg
    # reach the float64 optimum to 1e-10.
    X, _, y, _ = dataset(name)
    clf, caught = fit_quietly(solver=solver)(X.astype(np.float32), y)
    f_ref = newton_reference(X, y, 1e-4)[0]
    f = objective_value(clf.coef_, clf.intercept_, X, y, alpha=1e-4)
    converged = ("converged", "precision_floor")  # the latter: at X's rounding
    if solver == "gd" and clf.stop_reason_ not in converged:
        assert len(caught) == 1 and clf.stop_reason_ == "max_iter"
        assert "no decrease left at the precision of X's dtype" in \
            str(caught[0].message)
    else:
        assert not caught
        assert clf.stop_reason_ in converged
        assert (f - f_ref) / f_ref <= (1e-4 if solver == "gd" else 1e-9)
