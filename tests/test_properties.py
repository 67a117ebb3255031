"""Property-based tests (hypothesis) of the fitted models.

1. Invariances of the full-batch fit (lbfgs and newton-cg, tight tolerance, alpha in
   [1e-3, 1] so the optimum is unique and well conditioned): permuting the samples,
   scaling every sample_weight by a constant, integer weights against duplicated
   rows, zero weights against dropped rows, relabeling the classes, float32 against
   float64, sparse against dense.
2. Outputs: predict_proba rows finite, in [0, 1] and summing to 1; predict the
   argmax of predict_proba, predict_log_proba and decision_function; log-probas
   finite for features up to 1e150 (logits far beyond exp's range).
3. Determinism of the stochastic solvers: the same random_state gives bit-identical
   coefficients, different ones different coefficients.

The problems are drawn over 1 to 50 features, 2 to 12 classes, tiny to moderate
sample sizes, dense and sparse X, sample weights, class weights, label smoothing and
soft targets. Every fit also checks that no input was modified in place. The
profiles ("ci", "dev") live in tests/conftest_hypothesis.py.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp
from conftest_hypothesis import estimators, examples
from hypothesis import given, note, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_softmax
from sklearn.exceptions import ConvergenceWarning

ESTIMATORS = estimators()
STOCHASTIC = ["sgd", "minibatch", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
TIGHT = 1e-10
# Two tight fits of the same strongly convex problem agree to this, relative to the
# largest coefficient. Newton-CG reaches tol=1e-10. L-BFGS cannot: its line search
# compares objective values, which in float64 resolve gradients down to ~1e-8 only,
# and scipy's relative-decrease test (ftol = 64 eps, as in scikit-learn) stops it
# with max|grad| of 1e-8 to 3e-7 on these problems (measured over 150 of them).
# Along a weakly curved direction (an unpenalized intercept with soft targets and
# few samples) that is a coefficient error of up to ~1e-3, so L-BFGS fits are
# compared on the objective as well (OBJECTIVE, relative), where they agree tightly.
SAME = {"newton-cg": 2e-5, "lbfgs": 5e-3}
OBJECTIVE = 1e-8


# ----------------------------------------------------------------- helpers
def _copy(a):
    if a is None or np.isscalar(a):
        return a
    return a.copy() if sp.issparse(a) else np.array(a, copy=True)


def _assert_unchanged(before, after):
    if before is None or np.isscalar(before):
        return
    if sp.issparse(before):
        assert after.format == before.format and after.dtype == before.dtype
        assert (after != before).nnz == 0, "X was modified in place"
    else:
        assert after.dtype == before.dtype
        assert_array_equal(after, before, err_msg="an input was modified in place")


def fit(model, X, y, sample_weight=None):
    """Fit quietly (the comparisons judge convergence) and check that X, y and
    sample_weight come back untouched."""
    inputs = (X, y, sample_weight)
    copies = [_copy(a) for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, sample_weight=sample_weight)
    for before, after in zip(copies, inputs, strict=True):
        _assert_unchanged(before, after)
    return model


def assert_same_fit(problem, a, b, sample_weight="problem"):
    """a and b are fits of the same problem: same coefficients (within SAME) and,
    where an independent reference is at hand, the same objective value (that of
    the problem solved by ``a``: ``problem`` with ``sample_weight``)."""
    rtol = SAME[a.solver]
    scale = max(1.0, float(np.abs(a.coef_).max()), float(np.abs(a.intercept_).max()))
    assert_array_equal(a.classes_, b.classes_)
    assert_allclose(b.coef_, a.coef_, rtol=0, atol=rtol * scale)
    assert_allclose(b.intercept_, a.intercept_, rtol=0, atol=rtol * scale)
    if problem.has_reference:
        fa = problem.objective(a, sample_weight)
        fb = problem.objective(b, sample_weight)
        note(f"objective values {fa!r} and {fb!r}")
        assert abs(fa - fb) <= OBJECTIVE * max(1.0, fa)


def reference_objective(model, X, y, sample_weight, alpha, label_smoothing=0.0):
    """The penalized, weighted cross-entropy of SoftmaxRegressor's docstring at the
    model's coefficients, in float64 with scipy (independent of skce's engine)."""
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    W = model.coef_.astype(np.float64)
    z = X @ W.T + model.intercept_.astype(np.float64)
    if z.shape[1] == 1:  # binary: one logit = the softmax of (0, z)
        z = np.column_stack([np.zeros(len(z)), z])
    K = z.shape[1]
    T = y if y.ndim == 2 else np.eye(K)[np.searchsorted(model.classes_, y)]
    T = (1 - label_smoothing) * T + label_smoothing / K
    s = np.ones(len(z)) if sample_weight is None else np.asarray(sample_weight)
    ce = -(T * log_softmax(z, axis=1)).sum(axis=1)
    return float(s @ ce / s.sum() + 0.5 * alpha * np.sum(W**2))


# ----------------------------------------------------------------- problems
@dataclass
class Problem:
    estimator: type
    X: np.ndarray  # dense float64; see data()
    y: np.ndarray  # labels (n,) or soft targets (n, K)
    sample_weight: object  # ndarray or None
    params: dict
    sparse: object  # None, "csr" or "csc"
    n_classes: int
    kind: str  # "hard", "smoothed" or "soft"

    def model(self, **override):
        return self.estimator(**{**self.params, **override})

    def data(self, dtype=np.float64, sparse="default", rows=None):
        fmt = self.sparse if sparse == "default" else sparse
        X = self.X if rows is None else self.X[rows]
        X = X.astype(dtype)
        return {"csr": sp.csr_matrix, "csc": sp.csc_matrix}[fmt](X) if fmt else X

    @property
    def has_reference(self):
        """Whether reference_objective computes this problem's objective."""
        return self.estimator.__name__ == "SoftmaxRegressor" and \
            self.params["class_weight"] is None

    def objective(self, model, sample_weight="problem"):
        if isinstance(sample_weight, str):
            sample_weight = self.sample_weight
        return reference_objective(model, self.X, self.y, sample_weight,
                                   self.params["alpha"],
                                   self.params["label_smoothing"])

    @property
    def weights(self):
        if self.sample_weight is None:
            return np.ones(len(self.X))
        return self.sample_weight


def _extra_params(estimator, draw, class_weights, focal):
    """WeightedCEClassifier's own hyperparameters (focal_gamma=0 unless ``focal``:
    the focal loss is not convex, so the invariances of a unique optimum need 0)."""
    names = estimator().get_params()
    extra = {}
    if "tau" in names:
        extra["tau"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    if "logit_adjustment" in names:
        extra["logit_adjustment"] = draw(st.sampled_from(["loss", "post-hoc"]))
    if "focal_gamma" in names:
        extra["focal_gamma"] = draw(st.sampled_from([0.0, 0.5, 2.0])) if focal else 0.0
    if "beta" in names and class_weights:
        extra["class_weight"] = draw(st.sampled_from(class_weights))
    return extra


@st.composite
def problems(draw, kinds=("hard", "smoothed", "soft"),
             class_weights=(None, "balanced"), max_classes=12,
             solvers=("lbfgs", "newton-cg"),
             weighted_class_weights=("balanced_sqrt", "effective_number"),
             focal=False):
    """Random problems; WeightedCEClassifier also draws from
    ``class_weights + weighted_class_weights``."""
    estimator = draw(st.sampled_from(ESTIMATORS))
    n_features = draw(st.integers(1, 50))
    K = draw(st.integers(2, max_classes))
    n = draw(st.integers(K, 4 * K + 40))
    kind = draw(st.sampled_from(kinds))
    sparse = draw(st.sampled_from([None, None, "csr", "csc"]))
    weighted = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    codes = rng.permutation(np.r_[np.arange(K), rng.integers(0, K, n - K)])
    means = rng.normal(size=(K, n_features))
    X = rng.normal(size=(n, n_features)) + 0.7 * means[codes]
    X *= 10 ** rng.uniform(-0.5, 0.5)
    if sparse:
        X[rng.random(X.shape) < 0.6] = 0.0
    if kind == "soft":
        y = 0.5 * np.eye(K)[codes] + 0.5 * rng.dirichlet(np.full(K, 0.5), size=n)
    else:
        y = codes
    params = {
        "solver": draw(st.sampled_from(solvers)),
        "alpha": 10 ** draw(st.floats(-3, 0)),
        "fit_intercept": draw(st.booleans()),
        "class_weight": draw(st.sampled_from(class_weights)),
        "label_smoothing": draw(st.floats(0.01, 0.4)) if kind == "smoothed" else 0.0,
        "tol": TIGHT,
        **_extra_params(estimator, draw, class_weights + weighted_class_weights,
                        focal),
    }
    sw = rng.uniform(0.1, 3.0, n) if weighted else None
    problem = Problem(estimator, X, y, sw, params, sparse, K, kind)
    note(f"{estimator.__name__} n={n} d={n_features} K={K} kind={kind} "
         f"sparse={sparse} weighted={weighted} params={params}")
    return problem


# ------------------------------------------------------------ 1. invariances
@settings(max_examples=examples())
@given(problem=problems(), seed=st.integers(0, 2**32 - 1))
def test_permuting_samples_changes_nothing(problem, seed):
    perm = np.random.default_rng(seed).permutation(len(problem.X))
    sw = problem.sample_weight
    a = fit(problem.model(), problem.data(), problem.y, sw)
    b = fit(problem.model(), problem.data(rows=perm), problem.y[perm],
            None if sw is None else sw[perm])
    assert_same_fit(problem, a, b)


@settings(max_examples=examples())
@given(problem=problems(weighted_class_weights=("balanced_sqrt",)),
       exponent=st.floats(-3, 3))
def test_scaling_sample_weight_changes_nothing(problem, exponent):
    """(Not with class_weight="effective_number": it counts samples, so it changes
    when every weight is scaled, by design.)"""
    sw = problem.weights
    a = fit(problem.model(), problem.data(), problem.y, sw)
    b = fit(problem.model(), problem.data(), problem.y, sw * 10**exponent)
    assert_same_fit(problem, a, b)


@settings(max_examples=examples())
@given(problem=problems(), seed=st.integers(0, 2**32 - 1))
def test_integer_weight_equals_duplicated_rows(problem, seed):
    counts = np.random.default_rng(seed).integers(1, 4, len(problem.X))
    rows = np.repeat(np.arange(len(problem.X)), counts)
    sw = problem.sample_weight
    weights = counts if sw is None else counts * sw
    a = fit(problem.model(), problem.data(), problem.y, weights)
    b = fit(problem.model(), problem.data(rows=rows), problem.y[rows],
            None if sw is None else sw[rows])
    assert_same_fit(problem, a, b, weights)


@settings(max_examples=examples())
@given(problem=problems(), seed=st.integers(0, 2**32 - 1))
def test_zero_weight_equals_dropped_rows(problem, seed):
    rng = np.random.default_rng(seed)
    n = len(problem.X)
    drop = rng.random(n) < 0.3
    labels = problem.y.argmax(axis=1) if problem.y.ndim == 2 else problem.y
    for k in range(problem.n_classes):  # every class keeps a sample
        drop[rng.choice(np.flatnonzero(labels == k))] = False
    keep = np.flatnonzero(~drop)
    sw = problem.weights.copy()
    sw[drop] = 0.0
    a = fit(problem.model(), problem.data(), problem.y, sw)
    b = fit(problem.model(), problem.data(rows=keep), problem.y[keep], sw[keep])
    assert_same_fit(problem, a, b, sw)


@settings(max_examples=examples())
@given(problem=problems(), seed=st.integers(0, 2**32 - 1), strings=st.booleans())
def test_relabeling_classes_permutes_coef_rows(problem, seed, strings):
    K = problem.n_classes
    perm = np.random.default_rng(seed).permutation(K)  # old class k -> new perm[k]
    if problem.y.ndim == 2:
        y2 = np.empty_like(problem.y)
        y2[:, perm] = problem.y
    else:
        names = np.array([f"class {j:02d}" for j in range(K)]) if strings \
            else np.arange(K) * 3 - 5
        y2 = names[perm[problem.y]]
    sw = problem.sample_weight
    a = fit(problem.model(), problem.data(), problem.y, sw)
    b = fit(problem.model(), problem.data(), y2, sw)
    assert len(b.classes_) == K
    scale = max(1.0, float(np.abs(a.coef_).max()), float(np.abs(a.intercept_).max()))
    if K == 2 and perm[0] == 1:  # binary, swapped: the one logit changes sign
        expected_coef, expected_b = -a.coef_, -a.intercept_
    elif K == 2:
        expected_coef, expected_b = a.coef_, a.intercept_
    else:
        expected_coef = np.empty_like(a.coef_)
        expected_coef[perm] = a.coef_
        expected_b = np.empty_like(a.intercept_)
        expected_b[perm] = a.intercept_
    atol = SAME[a.solver] * scale
    assert_allclose(b.coef_, expected_coef, rtol=0, atol=atol)
    assert_allclose(b.intercept_, expected_b, rtol=0, atol=atol)
    if problem.has_reference:
        fa = problem.objective(a)
        fb = reference_objective(b, problem.X, y2, sw, problem.params["alpha"],
                                 problem.params["label_smoothing"])
        assert abs(fa - fb) <= OBJECTIVE * max(1.0, fa)


@settings(max_examples=examples())
@given(problem=problems(class_weights=(None,), weighted_class_weights=()))
def test_float32_agrees_with_float64(problem):
    sw = problem.sample_weight
    a = fit(problem.model(), problem.data(np.float64), problem.y, sw)
    b = fit(problem.model(tol=None), problem.data(np.float32), problem.y, sw)
    assert b.coef_.dtype == np.float32 and b.intercept_.dtype == np.float32
    p64 = a.predict_proba(problem.data(np.float64))
    p32 = b.predict_proba(problem.data(np.float32))
    assert p32.dtype == np.float32
    assert np.abs(p32 - p64).max() <= 5e-3
    if problem.estimator.__name__ == "SoftmaxRegressor":
        # float32 reaches the float64 optimum up to float32 rounding of the objective
        f64, f32 = problem.objective(a), problem.objective(b)
        note(f"objective float64 {f64!r}, float32 {f32!r}")
        # The float32 solvers stop once max|grad| <= 1e3 * eps32 (no decrease is
        # left to measure); by strong convexity (modulus ~alpha) that leaves an
        # objective gap of at most n_params * (1e3 * eps32)**2 / (2 * alpha).
        floor = 1e3 * np.finfo(np.float32).eps
        n_params = b.coef_.size + b.intercept_.size
        bound = n_params * floor**2 / (2 * problem.params["alpha"])
        assert f32 - f64 <= 1e-5 * max(1.0, f64) + bound
        assert f64 - f32 <= 1e-9 * max(1.0, f64)  # the tight fit is the optimum


@settings(max_examples=examples())
@given(problem=problems(), fmt=st.sampled_from(["csr", "csc"]))
def test_sparse_agrees_with_dense(problem, fmt):
    sw = problem.sample_weight
    a = fit(problem.model(), problem.data(sparse=None), problem.y, sw)
    b = fit(problem.model(), problem.data(sparse=fmt), problem.y, sw)
    assert_same_fit(problem, a, b)
    X_test = problem.data(sparse=None)
    assert_allclose(b.predict_proba(sp.csr_matrix(X_test)), a.predict_proba(X_test),
                    rtol=0, atol=0.05 * SAME[a.solver])


# ---------------------------------------------------------------- 2. outputs
@settings(max_examples=examples(1.5))
@given(problem=problems(solvers=("lbfgs", "newton-cg", "adam", "sgd"), focal=True),
       dtype=st.sampled_from([np.float64, np.float32]),
       exponent=st.floats(0, 150), seed=st.integers(0, 2**32 - 1))
def test_predict_outputs_are_probabilities(problem, dtype, exponent, seed):
    model = fit(problem.model(tol=None, max_iter=30, random_state=0),
                problem.data(dtype), problem.y, problem.sample_weight)
    if dtype == np.float32:
        exponent = min(exponent, 30.0)  # float32 overflows past 3.4e38
    rng = np.random.default_rng(seed)
    n_features = problem.X.shape[1]
    X = rng.normal(size=(20, n_features)) * 10**exponent
    X[0] = 0.0
    X[1, 0] = 10**exponent  # one huge feature, the others zero
    X[1, 1:] = 0.0
    X = X.astype(dtype)
    K = len(model.classes_)

    logp = model.predict_log_proba(X)
    proba = model.predict_proba(X)
    decision = model.decision_function(X)
    pred = model.predict(X)
    assert logp.shape == proba.shape == (len(X), K)
    assert np.all(np.isfinite(logp)), "log-probabilities must stay finite"
    assert np.all(logp <= 0)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    eps = np.finfo(proba.dtype).eps
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4 * K * eps)
    assert np.all(np.isfinite(decision))

    if K == 2:
        assert decision.shape == (len(X),)
        assert_array_equal(pred, model.classes_[(decision > 0).astype(int)])
    else:
        assert_array_equal(pred, model.classes_[decision.argmax(axis=1)])
    index = np.searchsorted(model.classes_, pred)
    rows = np.arange(len(X))
    # the predicted class attains the largest probability (ties allowed)
    assert np.all(proba[rows, index] == proba.max(axis=1))
    assert np.all(logp[rows, index] == logp.max(axis=1))


# ------------------------------------------------------------ 3. determinism
def _small_problem(n=90, n_features=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, n_features)) + rng.normal(size=(K, n_features))[y]
    return X, y


@pytest.mark.parametrize("solver", STOCHASTIC)
@settings(max_examples=examples(0.3))
@given(estimator=st.sampled_from(ESTIMATORS),
       seed=st.integers(0, 2**31 - 2), sparse=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]),
       early_stopping=st.booleans(), l1_ratio=st.sampled_from([0.0, 0.5]))
def test_stochastic_solvers_are_deterministic(solver, estimator, seed, sparse, dtype,
                                              early_stopping, l1_ratio):
    X, y = _small_problem()
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    kw = dict(solver=solver, max_iter=3, early_stopping=early_stopping,
              l1_ratio=l1_ratio, alpha=1e-3)
    a = fit(estimator(random_state=seed, **kw), X, y)
    b = fit(estimator(random_state=seed, **kw), X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert a.loss_curve_ == b.loss_curve_
    # a RandomState instance seeded alike gives the same fit too
    c = fit(estimator(random_state=np.random.RandomState(seed), **kw), X, y)
    assert_array_equal(a.coef_, c.coef_)
    d = fit(estimator(random_state=seed + 1, **kw), X, y)
    assert not np.array_equal(a.coef_, d.coef_), \
        "a different random_state must give different coefficients"


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd"])
def test_full_batch_solvers_ignore_random_state(estimator, solver):
    X, y = _small_problem()
    fits = [fit(estimator(solver=solver, random_state=seed), X, y) for seed in (0, 1)]
    assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert_array_equal(fits[0].intercept_, fits[1].intercept_)
