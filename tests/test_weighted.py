"""WeightedCEClassifier and the focal losses.

References are independent of the code under test: finite differences for the
focal derivatives, hand-computed class weights, SoftmaxRegressor fits with explicit
per-sample weights, and the true probabilities of a well-specified model.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _skce_data import fd_grad
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import make_scorer, recall_score
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_class_weight_balanced_classifiers,
    check_class_weight_balanced_linear_classifier,
    parametrize_with_checks,
)

from skce import SoftmaxRegressor, WeightedCEClassifier
from skce._focal import SigmoidFocalLoss, SoftmaxFocalLoss
from skce._loss import (
    HardTargets,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SoftTargets,
)
from skce._objective import Objective

# ------------------------------------------------------------------ focal loss


def _focal(K, gamma):
    return SigmoidFocalLoss(gamma) if K == 2 else SoftmaxFocalLoss(K, gamma)


def _ce(K):
    return SigmoidCrossEntropy() if K == 2 else SoftmaxCrossEntropy(K)


def _targets(kind, n, K, rng):
    if kind == "soft":
        return SoftTargets(rng.dirichlet(np.ones(K), n))
    return HardTargets(rng.integers(0, K, n), K, 0.2 if kind == "smoothed" else 0.0)


def _problem(K, kind, sparse, seed=0):
    rng = np.random.default_rng(seed)
    n, d = 12, 3
    X = rng.normal(size=(n, d))
    if sparse:
        X[rng.random((n, d)) < 0.4] = 0.0
        X = sp.csr_matrix(X)
    sw = rng.uniform(0.2, 3.0, n)
    targets = _targets(kind, n, K, rng)
    n_out = 1 if K == 2 else K
    params = rng.normal(scale=2.0, size=(d + 1, n_out))
    return X, targets, sw, params


@pytest.mark.parametrize("K", [2, 4])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize("kind", ["hard", "smoothed", "soft"])
@pytest.mark.parametrize("sparse", [False, True])
def test_focal_gradient_and_hessp_match_finite_differences(K, gamma, kind, sparse):
    X, targets, sw, params = _problem(K, kind, sparse)
    obj = Objective(X, targets, sw, _focal(K, gamma), alpha=0.05)
    value, grad = obj.value_grad(params)
    assert value == pytest.approx(obj.smooth_value(params), rel=1e-12)
    assert_allclose(grad, fd_grad(obj.smooth_value, params), rtol=1e-6, atol=1e-8)

    v = np.random.default_rng(1).normal(size=params.shape)
    eps = 1e-6
    fd_hv = (obj.value_grad(params + eps * v)[1]
             - obj.value_grad(params - eps * v)[1]) / (2 * eps)
    assert_allclose(obj.hessp(params)(v), fd_hv, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("K", [2, 3])
def test_focal_float32_matches_float64(K):
    X, targets, sw, params = _problem(K, "hard", False)
    loss = _focal(K, 2.0)
    o64 = Objective(X, targets, sw, loss, alpha=0.01)
    o32 = Objective(X.astype(np.float32), targets, sw.astype(np.float32), loss,
                    alpha=0.01)
    v64, g64 = o64.value_grad(params)
    v32, g32 = o32.value_grad(params.astype(np.float32))
    assert g32.dtype == np.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)
    hv = o32.hessp(params.astype(np.float32))(np.ones(params.shape, np.float32))
    assert hv.dtype == np.float32
    assert_allclose(hv, o64.hessp(params)(np.ones(params.shape)), rtol=1e-4,
                    atol=1e-5)


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("kind", ["hard", "smoothed", "soft"])
def test_focal_gamma_zero_is_cross_entropy(K, kind):
    X, targets, sw, params = _problem(K, kind, False)
    focal = Objective(X, targets, sw, _focal(K, 0.0))
    ce = Objective(X, targets, sw, _ce(K))
    assert focal.value(params) == pytest.approx(ce.value(params), rel=1e-13)
    assert_allclose(focal.value_grad(params)[1], ce.value_grad(params)[1],
                    rtol=1e-12, atol=1e-14)
    v = np.ones(params.shape)
    assert_allclose(focal.hessp(params)(v), ce.hessp(params)(v), rtol=1e-12,
                    atol=1e-14)


def test_focal_gamma_zero_estimator_is_softmax_regressor():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    plain = SoftmaxRegressor().fit(X, y)
    same = WeightedCEClassifier(class_weight=None, focal_gamma=0.0).fit(X, y)
    assert isinstance(same._make_loss(3), SoftmaxCrossEntropy)
    assert isinstance(same._make_loss(2), SigmoidCrossEntropy)
    assert_array_equal(same.coef_, plain.coef_)
    assert_array_equal(same.intercept_, plain.intercept_)


def test_focal_loss_by_hand():
    # three samples, labels 0, 1, 2; FL = -sum_i (1 - q_iy)^2 log q_iy
    raw = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-3.0, 1.0, 4.0]])
    y = np.array([0, 1, 2])
    q = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    qy = q[np.arange(3), y]
    expected = -np.sum((1 - qy) ** 2 * np.log(qy))
    loss = SoftmaxFocalLoss(3, 2.0).loss(raw.copy(), HardTargets(y, 3), np.ones(3))
    assert loss == pytest.approx(expected, rel=1e-14)
    z = np.array([[1.5], [-0.5]])
    p = 1 / (1 + np.exp(-z[:, 0]))
    expected = -(1 - p[0]) ** 3 * np.log(p[0]) - p[1] ** 3 * np.log(1 - p[1])
    got = SigmoidFocalLoss(3.0).loss(z.copy(), HardTargets(np.array([1, 0]), 2),
                                     np.ones(2))
    assert got == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.0, 5.0])
def test_focal_curvature_bound_holds_and_is_tight(gamma):
    rng = np.random.default_rng(0)
    # binary: the second derivative on a grid, both labels
    z = np.linspace(-30, 30, 6001)[:, None]
    loss = SigmoidFocalLoss(gamma)
    worst = 0.0
    for label in (0, 1):
        h = loss.hessian_setup(z.copy(), HardTargets(np.full(len(z), label), 2),
                               np.ones(len(z)))
        worst = max(worst, h.max())
    assert worst <= loss.curvature_bound() <= 1.02 * worst
    # softmax: largest eigenvalue of the logit Hessian at random logits
    K, n = 4, 4000
    soft = SoftmaxFocalLoss(K, gamma)
    raw = rng.normal(size=(n, K)) * rng.uniform(0, 8, (n, 1))
    state = soft.hessian_setup(raw.copy(), HardTargets(np.zeros(n, np.intp), K),
                               np.ones(n))
    H = np.stack([soft.hessian_product(state, np.tile(e, (n, 1)))
                  for e in np.eye(K)], axis=2)
    lam = np.linalg.eigvalsh((H + H.transpose(0, 2, 1)) / 2)
    assert lam[:, -1].max() <= soft.curvature_bound()
    # and the focal loss is not convex in the logits: negative curvature exists
    assert lam[:, 0].min() < -1e-3


@pytest.mark.parametrize("gamma", [0.3, 2.0])
def test_focal_extreme_logits_stay_finite(gamma):
    raw = np.array([[800.0, 0.0, -5.0], [40.0, 0.0, 0.0], [0.0, 0.0, 0.0],
                    [-800.0, 0.0, 800.0]])
    targets = HardTargets(np.array([0, 0, 1, 0]), 3)
    loss = SoftmaxFocalLoss(3, gamma)
    value, G = loss.loss_gradient(raw.copy(), targets, np.ones(4))
    state = loss.hessian_setup(raw.copy(), targets, np.ones(4))
    Hv = loss.hessian_product(state, np.arange(12.0).reshape(4, 3))
    assert np.isfinite(value) and np.all(np.isfinite(G)) and np.all(np.isfinite(Hv))
    assert value == pytest.approx(1600.0, rel=1e-3)  # the last row: -log q ~ 1600
    assert_allclose(G[0], 0.0, atol=1e-300)  # a confident right answer: no gradient
    z = np.array([[800.0], [-800.0], [40.0]])
    bin_targets = HardTargets(np.array([1, 1, 0]), 2)
    value, G = SigmoidFocalLoss(gamma).loss_gradient(z.copy(), bin_targets, np.ones(3))
    assert value == pytest.approx(840.0)
    assert_allclose(G[:, 0], [0.0, -1.0, 1.0], atol=1e-12)


def _iris_scaled():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# tol=1e-9 can be below what gd resolves in float64 ("no decrease left"); the
# agreement asserted below is what matters
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["newton-cg", "gd"])
@pytest.mark.parametrize("binary", [False, True])
def test_focal_full_batch_solvers_agree_with_lbfgs(solver, binary):
    X, y = _iris_scaled()
    if binary:
        y = (y == 2).astype(int)
    kw = dict(focal_gamma=2.0, alpha=1e-2, tol=1e-9)
    ref = WeightedCEClassifier(**kw).fit(X, y)
    other = WeightedCEClassifier(solver=solver, **kw).fit(X, y)
    assert_allclose(other.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(other.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)


def test_focal_stochastic_solver_reaches_lbfgs_objective():
    X, y = _iris_scaled()
    kw = dict(focal_gamma=2.0, alpha=1e-2)
    ref = WeightedCEClassifier(**kw).fit(X, y)
    sgd = WeightedCEClassifier(solver="minibatch", max_iter=300, random_state=0,
                               **kw).fit(X, y)
    # the "auto" step is 1 / L with L from the focal curvature bound: stable
    assert sgd.loss_curve_[-1] == pytest.approx(ref.loss_curve_[-1], rel=2e-2)
    assert np.mean(sgd.predict(X) == ref.predict(X)) > 0.97


# --------------------------------------------------------------- class weights

def _three_classes(counts=(60, 30, 10), seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), counts)
    X = rng.normal(size=(len(y), 2)) + y[:, None]
    return X, y


@pytest.mark.parametrize("strategy", ["balanced", "balanced_sqrt", "effective_number",
                                      "dict", None])
def test_class_weight_strategies_by_hand(strategy):
    X, y = _three_classes()
    n_c = np.array([60.0, 30.0, 10.0])
    n = n_c.sum()
    beta = 0.99
    raw = {
        "balanced": n / (3 * n_c),
        "balanced_sqrt": np.sqrt(n / (3 * n_c)),
        "effective_number": (1 - beta) / (1 - beta ** n_c),
        "dict": np.array([1.0, 2.0, 5.0]),
        None: np.ones(3),
    }[strategy]
    expected = raw * n / (raw @ n_c)  # normalized: sum_c w_c n_c = n
    cw = {0: 1.0, 1: 2.0, 2: 5.0} if strategy == "dict" else strategy
    clf = WeightedCEClassifier(class_weight=cw, beta=beta).fit(X, y)
    assert_allclose(clf.class_weight_, expected, rtol=1e-12)
    assert clf.class_weight_ @ n_c == pytest.approx(n)
    assert_allclose(clf.class_prior_, n_c / n)
    if strategy == "effective_number":  # hand values: (1 - .99) / (1 - .99^n_c)
        assert_allclose(raw, [0.02208, 0.03842, 0.10458], atol=1e-5)


def test_class_weights_align_with_string_labels():
    X, y = _three_classes()
    labels = np.array(["c", "a", "b"])[y]  # classes_ sorted: a (30), b (10), c (60)
    clf = WeightedCEClassifier().fit(X, labels)
    assert_array_equal(clf.classes_, ["a", "b", "c"])
    w = 100 / (3 * np.array([30.0, 10.0, 60.0]))
    assert_allclose(clf.class_weight_, w)


def test_scaling_dict_weights_changes_nothing():
    X, y = _three_classes()
    a = WeightedCEClassifier(class_weight={0: 1.0, 1: 3.0, 2: 10.0}).fit(X, y)
    b = WeightedCEClassifier(class_weight={0: 7.5, 1: 22.5, 2: 75.0}).fit(X, y)
    assert_allclose(b.class_weight_, a.class_weight_, rtol=1e-14)
    assert_allclose(b.coef_, a.coef_, rtol=1e-9)
    assert_allclose(b.intercept_, a.intercept_, rtol=1e-9, atol=1e-12)


def test_sample_weight_multiplies_class_weights():
    X, y = _three_classes()
    sw = np.random.default_rng(3).uniform(0.1, 2.0, len(y))
    clf = WeightedCEClassifier().fit(X, y, sample_weight=sw)
    n_c = np.bincount(y, weights=sw)  # n_c counts weighted samples
    w = sw.sum() / (3 * n_c)
    assert_allclose(clf.class_weight_, w, rtol=1e-12)
    ref = SoftmaxRegressor(tol=1e-10).fit(X, y, sample_weight=sw * w[y])
    clf = WeightedCEClassifier(tol=1e-10).fit(X, y, sample_weight=sw)
    assert_allclose(clf.coef_, ref.coef_, rtol=1e-6)
    assert_allclose(clf.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)


def test_integer_sample_weight_equals_repetition():
    X, y = _three_classes()
    reps = np.random.default_rng(4).integers(1, 4, len(y))
    kw = dict(class_weight="effective_number", beta=0.95, tol=1e-10)
    a = WeightedCEClassifier(**kw).fit(X, y, sample_weight=reps)
    b = WeightedCEClassifier(**kw).fit(np.repeat(X, reps, axis=0), np.repeat(y, reps))
    assert_allclose(a.class_weight_, b.class_weight_, rtol=1e-12)
    assert_allclose(a.coef_, b.coef_, rtol=1e-6)


def test_soft_targets_use_soft_class_mass():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    T = rng.dirichlet([5.0, 1.0], 50)
    clf = WeightedCEClassifier().fit(X, T)
    n_c = T.sum(axis=0)
    assert_array_equal(clf.classes_, [0, 1])
    assert_allclose(clf.class_weight_, 50 / (2 * n_c))


def test_partial_fit_counts_every_sample_seen():
    X, y = _three_classes()
    first, second = np.arange(0, 100, 2), np.arange(1, 100, 2)
    clf = WeightedCEClassifier(solver="sgd", random_state=0)
    clf.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert_allclose(clf.class_weight_, 50 / (3 * np.bincount(y[first])))
    clf.partial_fit(X[second], y[second])
    assert_allclose(clf.class_weight_, 100 / (3 * np.array([60.0, 30.0, 10.0])))
    assert_allclose(clf.class_prior_, [0.6, 0.3, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(max_iter=2).fit(X[first], y[first])  # a fit starts afresh
    assert_allclose(clf.class_weight_, 50 / (3 * np.bincount(y[first])))


# ------------------------------------------------- logit adjustment and probabilities

def _well_specified(K, n, seed=0):
    """Samples from a fixed multinomial logistic model with imbalanced priors; the
    seed draws X and y only."""
    d = 2
    W = np.random.default_rng(12345).normal(scale=1.5, size=(K, d))
    prior = np.array([0.85, 0.12, 0.03])[:K]
    b = np.log(prior / prior.sum())
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logits = X @ W.T + b
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, y, P


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("params", [
    dict(),
    dict(class_weight="effective_number", beta=0.9999),
    dict(class_weight={0: 1.0, 1: 4.0, 2: 20.0}),
    dict(class_weight=None, tau=1.0),
    dict(class_weight=None, tau=1.0, logit_adjustment="post-hoc"),
    dict(tau=0.5),
])
def test_prior_corrected_probabilities_match_unweighted_fit(K, params):
    X, y, _ = _well_specified(K, 20000)
    if "class_weight" in params and isinstance(params["class_weight"], dict):
        params = dict(params, class_weight={k: v for k, v in
                                             params["class_weight"].items() if k < K})
    Xt, _, P_true = _well_specified(K, 2000, seed=1)
    plain = SoftmaxRegressor(alpha=1e-8).fit(X, y).predict_proba(Xt)
    clf = WeightedCEClassifier(alpha=1e-8, **params).fit(X, y)
    corrected = clf.predict_proba_prior(Xt)
    assert_allclose(corrected.sum(axis=1), 1.0)
    gap = np.abs(corrected - plain)
    if np.ptp(clf.class_weight_) == 0:  # only logit adjustment: an exact identity
        assert gap.max() < 1e-5
    else:  # a weighted fit estimates the same thing with more variance
        assert gap.max() < 0.03 and gap.mean() < 0.005
    # both estimate the truth; the uncorrected weighted probabilities do not
    assert np.abs(corrected - P_true).mean() < 0.01
    assert np.abs(clf.predict_proba(Xt) - P_true).mean() > 0.03


@pytest.mark.parametrize("focal_gamma", [0.0, 2.0])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize("K", [2, 3])
def test_loss_time_equals_post_hoc_with_intercept(focal_gamma, class_weight, K):
    X, y, _ = _well_specified(K, 600)
    kw = dict(focal_gamma=focal_gamma, class_weight=class_weight, tau=1.0, tol=1e-10)
    loss_time = WeightedCEClassifier(**kw).fit(X, y)
    post_hoc = WeightedCEClassifier(logit_adjustment="post-hoc", **kw).fit(X, y)
    # the free intercept absorbs the training offset: the same classifier
    assert_allclose(loss_time.coef_, post_hoc.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(loss_time.decision_function(X), post_hoc.decision_function(X),
                    atol=1e-6)
    # intercept_ is the decision function's: the post-hoc offset is folded in
    assert_allclose(loss_time.intercept_, post_hoc.intercept_, atol=1e-6)
    assert_allclose(post_hoc.intercept_,
                    post_hoc.raw_intercept_ + post_hoc.logit_offset_, atol=1e-15)
    assert_allclose(loss_time.predict_proba_prior(X), post_hoc.predict_proba_prior(X),
                    atol=1e-6)
    assert not np.any(loss_time.logit_offset_)


def test_loss_time_and_post_hoc_differ_without_intercept():
    X, y, _ = _well_specified(3, 600)
    X = X + 1.0  # something for the weights to absorb
    kw = dict(class_weight=None, tau=1.0, fit_intercept=False)
    a = WeightedCEClassifier(**kw).fit(X, y)
    b = WeightedCEClassifier(logit_adjustment="post-hoc", **kw).fit(X, y)
    assert np.abs(a.coef_ - b.coef_).max() > 0.05
    assert_allclose(a.intercept_, 0.0)


@pytest.mark.parametrize("K", [2, 3])
def test_post_hoc_shifts_an_ordinary_fit_by_tau_log_prior(K):
    X, y, _ = _well_specified(K, 600)
    tau = 0.7
    plain = SoftmaxRegressor().fit(X, y)
    clf = WeightedCEClassifier(class_weight=None, tau=tau,
                               logit_adjustment="post-hoc").fit(X, y)
    log_prior = np.log(np.bincount(y) / len(y))
    expected = plain.decision_function(X)
    if K == 2:
        expected = expected - tau * (log_prior[1] - log_prior[0])
    else:
        expected = expected - tau * (log_prior - log_prior.mean())
    assert_allclose(clf.decision_function(X), expected, atol=1e-8)
    assert_array_equal(clf.raw_intercept_, plain.intercept_)
    proba = clf.predict_proba(X)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    # the adjustment moves decisions towards the rare classes
    assert np.mean(clf.predict(X) != 0) > np.mean(plain.predict(X) != 0)


def test_predict_proba_prior_refuses_zero_class_weight():
    X, y = _three_classes()
    clf = WeightedCEClassifier(class_weight={2: 0.0}).fit(X, y)
    assert clf.predict(X).shape == y.shape
    with pytest.raises(ValueError, match=r"cannot undo a class weight of 0 \(classes "
                                         r"\[2\]\)"):
        clf.predict_proba_prior(X)


# ---------------------------------------------------------------------- errors

@pytest.mark.parametrize("params, match", [
    (dict(beta=1.0), r"beta must be a finite number in \[0.0, 1.0\); got beta=1.0"),
    (dict(beta=-0.1), r"beta must be a finite number in \[0.0, 1.0\)"),
    (dict(focal_gamma=-1.0), r"focal_gamma must be a finite number in \[0.0, inf\); "
                             r"got focal_gamma=-1.0"),
    (dict(focal_gamma=np.inf), r"focal_gamma must be a finite number"),
    (dict(tau=-0.5), r"tau must be a finite number in \[0.0, inf\); got tau=-0.5"),
    (dict(logit_adjustment="posthoc"), r"logit_adjustment must be one of \['loss', "
                                       r"'post-hoc'\]; got logit_adjustment='posthoc'"),
    (dict(class_weight="auto"), r"class_weight='auto' is not supported; use None, a "
                                r"dict \{class: weight\} or one of \['balanced', "
                                r"'balanced_sqrt', 'effective_number'\]"),
    (dict(class_weight={7: 1.0}), r"class_weight names classes that are not in the "
                                  r"training labels: \[7\]"),
    (dict(class_weight={1: -2.0}), r"class_weight\[1\] must be a finite non-negative "
                                   r"number; got -2.0"),
    (dict(class_weight=[1, 2, 3]), r"class_weight must be None, a dict or a string; "
                                   r"got list"),
    (dict(class_weight={0: 0.0, 1: 0.0, 2: 0.0}), r"All samples have zero weight after "
                                                  r"applying class_weight"),
])
def test_errors(params, match):
    X, y = _three_classes()
    with pytest.raises(ValueError, match=match):
        WeightedCEClassifier(**params).fit(X, y)


# ---------------------------------------------- imbalanced data: the evidence

def _thin_digits(seed=0):
    """Digits as 3 classes at 1:10:100: '3' (10), '8' (100), other digits (1000)."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    rest = np.flatnonzero((y != 3) & (y != 8))
    rows = np.concatenate([rng.choice(np.flatnonzero(y == 3), 10, replace=False),
                           rng.choice(np.flatnonzero(y == 8), 100, replace=False),
                           rng.choice(rest, 1000, replace=False)])
    return X[rows], np.select([y[rows] == 3, y[rows] == 8], [0, 1], 2)


def _thin_cancer(seed=0):
    """breast_cancer with the malignant class (0) thinned to 5% of the samples."""
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    benign = np.flatnonzero(y == 1)
    k = round(0.05 / 0.95 * len(benign))
    rows = np.concatenate([rng.choice(np.flatnonzero(y == 0), k, replace=False),
                           benign])
    return X[rows], y[rows]


@pytest.mark.parametrize("make", [_thin_digits, _thin_cancer])
def test_weighted_beats_unweighted_on_imbalanced_data(make):
    # Which few minority samples survive the thinning matters: average over three
    # draws (over eight draws, weighted won on balanced accuracy 8/8 on digits and
    # 7/8 on breast_cancer; see examples/plot_imbalanced.py).
    scores = {"plain": [], "weighted": []}
    for draw in range(3):
        X, y = make(draw)
        minority = np.argmin(np.bincount(y))
        scoring = {"ba": "balanced_accuracy",
                   "recall": make_scorer(recall_score, labels=[minority],
                                         average="macro")}
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=draw)
        for name, clf in [("plain", SoftmaxRegressor()),
                          ("weighted", WeightedCEClassifier())]:
            r = cross_validate(make_pipeline(StandardScaler(), clf), X, y, cv=cv,
                               scoring=scoring)
            scores[name].append((r["test_ba"].mean(), r["test_recall"].mean()))
    plain, weighted = np.mean(scores["plain"], axis=0), np.mean(scores["weighted"],
                                                                axis=0)
    assert weighted[0] > plain[0] + 0.01  # balanced accuracy
    assert weighted[1] > plain[1] + 0.02  # minority recall


def test_imblearn_pipeline_with_sampler():
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler

    X, y = _thin_cancer()
    pipe = Pipeline([("scale", StandardScaler()),
                     ("sample", RandomUnderSampler(sampling_strategy=0.2,
                                                   random_state=0)),
                     ("clf", WeightedCEClassifier())])
    r = cross_validate(pipe, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                       scoring="balanced_accuracy", return_estimator=True)
    assert r["test_score"].mean() > 0.9
    fitted = r["estimator"][0]
    # the sampler ran before the classifier: it saw 5 benign per malignant
    assert_allclose(fitted[-1].class_prior_, [1 / 6, 5 / 6], atol=0.02)
    assert fitted.predict(X).shape == y.shape


def test_grid_search_over_class_weight_focal_gamma_and_tau():
    X, y = _thin_cancer()
    pipe = make_pipeline(StandardScaler(), WeightedCEClassifier())
    grid = {"weightedceclassifier__class_weight": [None, "balanced", "balanced_sqrt"],
            "weightedceclassifier__focal_gamma": [0.0, 2.0],
            "weightedceclassifier__tau": [0.0, 1.0]}
    search = GridSearchCV(pipe, grid, scoring="balanced_accuracy",
                          cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X, y)
    results = search.cv_results_
    assert len(results["params"]) == 12
    plain = [i for i, p in enumerate(results["params"])
             if p["weightedceclassifier__class_weight"] is None
             and p["weightedceclassifier__focal_gamma"] == 0.0
             and p["weightedceclassifier__tau"] == 0.0][0]
    assert search.best_score_ > results["mean_test_score"][plain]
    assert search.best_estimator_.predict(X).shape == y.shape


# ------------------------------------------------------ scikit-learn's checks

ESTIMATORS = [
    WeightedCEClassifier(),
    WeightedCEClassifier(focal_gamma=2.0, tau=1.0),
    WeightedCEClassifier(class_weight="effective_number", tau=1.0,
                         logit_adjustment="post-hoc"),
    WeightedCEClassifier(solver="newton-cg", focal_gamma=2.0),
]


_ILL_CONDITIONED = (
    "the check's problem has 15 samples and 30 features, so the Hessian's smallest "
    "eigenvalue is alpha=1e-4 and two fits optimal to the solver's tolerance differ "
    "beyond the check's rtol=1e-7/atol=1e-9. Measured: {}. The same holds at "
    "tol=1e-10, and for SoftmaxRegressor(solver='newton-cg') (tests/test_common.py)."
)
_WEIGHT_EQUIVALENCE = ("check_sample_weight_equivalence_on_dense_data",
                       "check_sample_weight_equivalence_on_sparse_data")


def expected_failed_checks(estimator):
    """{check name: reason} for the checks that truly fail."""
    params = estimator.get_params()
    if params["class_weight"] == "effective_number":
        # passes or fails from run to run: the gap sits at the threshold
        why = _ILL_CONDITIONED.format(
            "lbfgs differs by 1.5e-9 absolute on a decision value of 9e-4 (one "
            "entry of 45)")
        return dict.fromkeys(_WEIGHT_EQUIVALENCE, why)
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_sklearn_class_weight_checks():
    # not run by parametrize_with_checks: the first needs LinearClassifierMixin,
    # the second data from the caller
    check_class_weight_balanced_linear_classifier(
        "WeightedCEClassifier", WeightedCEClassifier(class_weight=None))
    # Balancing raises weighted F1 when the test set is balanced (label shift);
    # on a test set as imbalanced as the training set it usually lowers it.
    centers = np.random.default_rng(0).normal(scale=4, size=(3, 2))
    X_train, y_train = make_blobs(n_samples=[300, 40, 15], centers=centers,
                                  cluster_std=3.0, random_state=0)
    X_test, y_test = make_blobs(n_samples=[100, 100, 100], centers=centers,
                                cluster_std=3.0, random_state=100)
    check_class_weight_balanced_classifiers(
        "WeightedCEClassifier", WeightedCEClassifier(class_weight=None),
        X_train, y_train, X_test, y_test, None)
