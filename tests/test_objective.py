"""The objective (skce._objective): value, gradient and Hessian-vector products
against central finite differences, over every data layout the estimators accept."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skce import SoftmaxRegressor
from skce._loss import (
    HardTargets,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SoftTargets,
)
from skce._objective import Objective

CONTAINERS = {
    "C": np.ascontiguousarray,
    "F": np.asfortranarray,
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
}


def _data(n=30, d=4, seed=0, sparse_density=0.6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.uniform(size=(n, d)) > sparse_density] = 0.0
    return X, rng


def _objective(X, K, rng, *, targets="hard", weights=False, smoothing=0.0,
               alpha=0.1, fit_intercept=True, offset=False, l1_ratio=0.0):
    n = X.shape[0]
    dtype = X.dtype
    if targets == "soft":
        tgt = SoftTargets(rng.dirichlet(np.ones(K), size=n).astype(dtype))
    else:
        tgt = HardTargets(rng.integers(0, K, n), K, smoothing)
    sw = rng.uniform(0.2, 3.0, n) if weights else np.ones(n)
    loss = SigmoidCrossEntropy() if K == 2 else SoftmaxCrossEntropy(K)
    off = rng.normal(size=loss.n_outputs).astype(dtype) if offset else None
    return Objective(X, tgt, sw.astype(dtype), loss, alpha=alpha, l1_ratio=l1_ratio,
                     fit_intercept=fit_intercept, offset=off)


def _check_derivatives(obj, rng, rtol, h, atol=0.0):
    """Gradient and Hessian-vector products against central differences."""
    params = rng.normal(size=obj.shape).astype(obj.dtype)
    value, grad = obj.value_grad(params)
    assert grad.shape == obj.shape
    assert grad.dtype == obj.dtype
    assert value == pytest.approx(obj.smooth_value(params), rel=10 * rtol)
    # directional derivatives: each coordinate direction plus two random ones
    p64 = params.astype(np.float64)
    fd = np.empty(obj.shape)
    for idx in np.ndindex(obj.shape):
        e = np.zeros(obj.shape)
        e[idx] = h
        fd[idx] = (obj.smooth_value(p64 + e) - obj.smooth_value(p64 - e)) / (2 * h)
    assert_allclose(grad, fd, rtol=rtol, atol=atol + rtol * np.abs(fd).max())
    hessp = obj.hessp(params)
    for _ in range(2):
        v = rng.normal(size=obj.shape)
        Hv = hessp(v)
        assert Hv.shape == obj.shape
        assert Hv.dtype == obj.dtype
        fd_Hv = (obj.value_grad(p64 + h * v)[1].astype(np.float64)
                 - obj.value_grad(p64 - h * v)[1].astype(np.float64)) / (2 * h)
        assert_allclose(Hv, fd_Hv, rtol=rtol, atol=atol + rtol * np.abs(fd_Hv).max())


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_derivatives_every_layout(container, K, fit_intercept):
    X, rng = _data()
    X = CONTAINERS[container](X)
    obj = _objective(X, K, rng, weights=True, fit_intercept=fit_intercept)
    _check_derivatives(obj, rng, rtol=1e-6, h=1e-5)


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize(
    "options",
    [{"weights": True}, {"smoothing": 0.25}, {"targets": "soft"}, {"offset": True},
     {"targets": "soft", "weights": True, "offset": True},
     {"smoothing": 0.1, "weights": True, "alpha": 0.0}],
    ids=["weights", "smoothing", "soft", "offset", "soft-weights-offset",
         "smoothing-weights-alpha0"])
@pytest.mark.parametrize("container", ["C", "csr"])
def test_derivatives_targets_weights_offset(K, options, container):
    X, rng = _data(seed=1)
    obj = _objective(CONTAINERS[container](X), K, rng, **options)
    _check_derivatives(obj, rng, rtol=1e-6, h=1e-5)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("K", [2, 3])
def test_derivatives_float32(container, K):
    X, rng = _data(seed=2)
    X32 = CONTAINERS[container](X.astype(np.float32))
    obj = _objective(X32, K, rng, weights=True, smoothing=0.1)
    assert obj.dtype == np.float32
    # float32 rounding: the differences are taken in float32 too, so tolerances
    # follow sqrt(eps32) ~ 3e-4
    _check_derivatives(obj, rng, rtol=2e-2, h=1e-2, atol=1e-3)


def test_mini_batch_is_unbiased_scaled():
    X, rng = _data(n=12, seed=3)
    obj = _objective(X, 3, rng, weights=True)
    params = rng.normal(size=obj.shape)
    full_v, full_g = obj.value_grad(params)
    # all rows as one batch equals the full objective
    v, g = obj.value_grad(params, rows=np.arange(12))
    assert v == pytest.approx(full_v, rel=1e-12)
    assert_allclose(g, full_g, rtol=1e-12)
    # the average over a partition into equal batches equals the full objective
    parts = np.array_split(rng.permutation(12), 3)
    vs, gs = zip(*[obj.value_grad(params, rows=r) for r in parts], strict=True)
    assert np.mean(vs) == pytest.approx(full_v, rel=1e-12)
    assert_allclose(np.mean(gs, axis=0), full_g, rtol=1e-10, atol=1e-14)


def test_value_hand_computed_with_penalty():
    # one sample, x = [1, 2], class 0 of 3, W = 0 and b = log([.7, .2, .1]):
    # CE = -log 0.7; penalty alpha/2 ||W||^2 = 0 -> then with W = [[1, 0], ...]
    X = np.array([[1.0, 2.0]])
    obj = Objective(X, HardTargets(np.array([0]), 3), np.ones(1),
                    SoftmaxCrossEntropy(3), alpha=0.5, l1_ratio=0.2)
    params = np.zeros((3, 3))
    params[2] = np.log([0.7, 0.2, 0.1])
    assert obj.value(params) == pytest.approx(-np.log(0.7), rel=1e-12)
    params[0, 1] = 3.0  # W[1, 0] = 3: logit of class 1 moves by 3 * x_0
    q = np.array([0.7, 0.2 * np.exp(3), 0.1])
    q /= q.sum()
    expected = -np.log(q[0]) + 0.5 * (0.8 / 2 * 9 + 0.2 * 3)
    assert obj.value(params) == pytest.approx(expected, rel=1e-12)
    assert obj.smooth_value(params) == pytest.approx(expected - 0.5 * 0.2 * 3,
                                                     rel=1e-12)


def test_intercept_equals_unpenalized_column_of_ones():
    X, rng = _data(seed=4)
    for K in (2, 3):
        codes = rng.integers(0, K, X.shape[0])
        sw = rng.uniform(0.5, 2, X.shape[0])
        loss = SigmoidCrossEntropy() if K == 2 else SoftmaxCrossEntropy(K)
        with_b = Objective(X, HardTargets(codes, K), sw, loss, alpha=0.0)
        X1 = np.hstack([X, np.ones((X.shape[0], 1))])
        ones = Objective(X1, HardTargets(codes, K), sw, loss, alpha=0.0,
                         fit_intercept=False)
        assert with_b.shape == ones.shape
        params = rng.normal(size=with_b.shape)
        v1, g1 = with_b.value_grad(params)
        v2, g2 = ones.value_grad(params)
        assert v1 == pytest.approx(v2, rel=1e-13)
        assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)
        v = rng.normal(size=with_b.shape)
        assert_allclose(with_b.hessp(params)(v), ones.hessp(params)(v), rtol=1e-12,
                        atol=1e-15)
        # with alpha > 0 the intercept row is not penalized, the weights are
        pen = Objective(X, HardTargets(codes, K), sw, loss, alpha=2.0)
        _, g3 = pen.value_grad(params)
        assert_allclose(g3[-1], g1[-1], rtol=1e-12)
        assert_allclose(g3[:-1], g1[:-1] + 2.0 * params[:-1], rtol=1e-12)


def test_intercept_equals_column_of_ones_in_fit():
    # with alpha=0 the estimator's intercept fits exactly like a column of ones
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :3]  # 3 features: not separable
    a = SoftmaxRegressor(alpha=0.0, tol=1e-10).fit(X, y)
    X1 = np.hstack([X, np.ones((X.shape[0], 1))])
    b = SoftmaxRegressor(alpha=0.0, fit_intercept=False, tol=1e-10).fit(X1, y)
    assert_array_equal(b.intercept_, 0.0)
    assert_allclose(a.decision_function(X), b.decision_function(X1), rtol=1e-5,
                    atol=1e-6)


@pytest.mark.parametrize("container", CONTAINERS)
def test_X_is_never_copied_or_written(container):
    X, rng = _data(n=40, seed=5)
    X = CONTAINERS[container](X)
    arrays = [X] if not sp.issparse(X) else [X.data, X.indices, X.indptr]
    before = [a.copy() for a in arrays]
    for a in arrays:
        a.flags.writeable = False  # any write into X raises
    obj = _objective(X, 3, rng, weights=True)
    assert obj.X is X
    params = rng.normal(size=obj.shape)
    obj.value_grad(params)
    obj.value_grad(params, rows=np.arange(5))
    obj.smooth_value(params)
    obj.hessp(params)(params)
    obj.lipschitz_bound()
    for a, b in zip(arrays, before, strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_value_grad_allocates_no_copy_of_X(container, dtype):
    # tall X: a copy (or a float64 upcast) would cost >= X.nbytes; the scratch
    # arrays of one evaluation are (n, K) and (d + 1, K), far smaller
    rng = np.random.default_rng(6)
    X = rng.normal(size=(20000, 50)).astype(dtype)
    X = CONTAINERS[container](X)
    nbytes = X.nbytes if not sp.issparse(X) else X.data.nbytes + X.indices.nbytes
    obj = _objective(X, 3, rng)
    params = rng.normal(size=obj.shape).astype(dtype)
    obj.value_grad(params)  # the scratch buffer is made on the first call
    tracemalloc.start()
    try:
        obj.value_grad(params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < nbytes / 4, (peak, nbytes)


def test_float32_in_float32_out():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X32 = X.astype(np.float32)
    for yy in (y, (y == 1).astype(int)):
        for solver in ("lbfgs", "newton-cg", "gd"):
            clf = SoftmaxRegressor(solver=solver).fit(X32, yy)
            assert clf.coef_.dtype == np.float32
            assert clf.intercept_.dtype == np.float32
            assert clf.predict_proba(X32).dtype == np.float32
            ref = SoftmaxRegressor(solver=solver).fit(X, yy)
            assert_allclose(clf.predict_proba(X32), ref.predict_proba(X), atol=1e-3)


def test_lipschitz_bound_bounds_the_hessian():
    X, rng = _data(seed=7)
    for K in (2, 4):
        obj = _objective(X, K, rng, weights=True)
        L = obj.lipschitz_bound()
        n_params = int(np.prod(obj.shape))
        H = np.column_stack([obj.hessp(rng.normal(size=obj.shape))(e).ravel()
                             for e in np.eye(n_params).reshape(-1, *obj.shape)])
        assert np.linalg.eigvalsh((H + H.T) / 2).max() <= L * (1 + 1e-12)
        assert obj.lipschitz_bound(per_sample=True) >= L * (1 - 1e-12) or K == 2


def test_prox_soft_thresholds_weights_only():
    X, rng = _data(seed=8)
    obj = _objective(X, 3, rng, alpha=1.0, l1_ratio=0.5)
    params = np.array([[0.3, -0.1, 0.05], [-2.0, 0.0, 1.0], [0.1, 0.2, -0.3],
                       [-0.4, 0.6, 0.01], [5.0, -5.0, 0.0]])
    out = obj.prox(params.copy(), step=0.2)  # threshold 0.2 * 0.5 = 0.1
    W = params[:4]
    assert_allclose(out[:4], np.sign(W) * np.maximum(np.abs(W) - 0.1, 0))
    assert_array_equal(out[4], params[4])  # intercept untouched
    assert obj.l1_penalty(params) == pytest.approx(0.5 * np.abs(W).sum())


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("container", list(CONTAINERS))
def test_subsampled_hessp_is_the_derivative_of_the_batch_gradient(K, container):
    """hessp(params, rows) is the Hessian of the mini-batch objective value_grad(.,
    rows): central differences of that gradient, for dense and sparse X; all rows
    as one batch give the full Hessian."""
    X, rng = _data(n=40, seed=5)
    obj = _objective(CONTAINERS[container](X), K, rng, weights=True)
    params = rng.normal(size=obj.shape)
    rows = np.sort(rng.choice(40, size=15, replace=False))
    h = 1e-6
    for _ in range(2):
        v = rng.normal(size=obj.shape)
        Hv = obj.hessp(params, rows=rows)(v)
        fd = (obj.value_grad(params + h * v, rows=rows)[1]
              - obj.value_grad(params - h * v, rows=rows)[1]) / (2 * h)
        assert_allclose(Hv, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
        assert_allclose(obj.hessp(params, rows=np.arange(40))(v),
                        obj.hessp(params)(v), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("K", [2, 4])
def test_row_subset_objective_equals_the_objective_of_the_rows(sparse, K, monkeypatch):
    """Objective(X, ..., rows=r) (the early-stopping split, X not copied) equals the
    objective of X[r]: value, gradient, Hessian products, mini-batches, bounds;
    evaluated in several parts of X at a time."""
    import scipy.sparse as sps

    import skce._objective as objective_module
    from skce._loss import SigmoidCrossEntropy

    monkeypatch.setattr(objective_module, "_SUBSET_BYTES", 64 * 8)  # many parts
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 5))
    if sparse:
        X = sps.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    codes = rng.integers(0, K, 3000)
    sw = rng.uniform(0.5, 2, 3000)
    rows = np.sort(rng.choice(3000, 2000, replace=False))
    loss = SigmoidCrossEntropy() if K == 2 else SoftmaxCrossEntropy(K)
    kw = dict(alpha=0.1, l1_ratio=0.2, offset=np.full(loss.n_outputs, 0.3))
    sub = Objective(X, HardTargets(codes[rows], K), sw[rows], loss, rows=rows, **kw)
    ref = Objective(X[rows], HardTargets(codes[rows], K), sw[rows], loss, **kw)
    params, v = rng.normal(size=(2, *ref.shape))
    for got, want in zip(sub.value_grad(params), ref.value_grad(params), strict=True):
        assert_allclose(got, want, rtol=1e-12)
    assert_allclose(sub.value(params), ref.value(params), rtol=1e-12)
    assert_allclose(sub.hessp(params)(v), ref.hessp(params)(v), rtol=1e-11)
    batch = np.array([5, 17, 1999])
    for got, want in zip(sub.value_grad(params, batch), ref.value_grad(params, batch),
                         strict=True):
        assert_allclose(got, want, rtol=1e-12)
    assert_allclose(sub.lipschitz_bound(), ref.lipschitz_bound(), rtol=1e-12)
    assert_allclose(sub.lipschitz_bound(per_sample=True),
                    ref.lipschitz_bound(per_sample=True), rtol=1e-12)
    assert_allclose(sub.smoothness(), ref.smoothness(), rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# (every solver, adam included, is also held below 1 x X with early stopping by
# tests/test_memory.py)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_early_stopping_does_not_copy_X(solver, dtype):
    """The train/validation split is two row subsets of X, not two copies: the
    fit's peak extra memory is that of the same fit without early stopping plus
    a few small parts of X (it was 1.83 x X). (newton-cg's subsampled Hessian
    takes 20,000 rows, a third of this X, in both.)"""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 40)).astype(dtype)
    y = (X[:, 0] + rng.normal(size=60_000) > 0).astype(int) + (X[:, 1] > 1)
    peaks = {}
    for early_stopping in (False, True):
        model = SoftmaxRegressor(solver=solver, early_stopping=early_stopping,
                                 max_iter=3, random_state=0)
        tracemalloc.start()
        try:
            model.fit(X, y)
            peaks[early_stopping] = tracemalloc.get_traced_memory()[1] / X.nbytes
        finally:
            tracemalloc.stop()
    # a copy of the training part alone would add 0.9 x X; what is added is a
    # 1 MB part of X at a time and O(n) vectors (indices, codes: 0.05 x X each for
    # float32 X of 40 columns)
    assert peaks[True] < peaks[False] + 0.4, peaks
    if solver != "newton-cg":
        assert peaks[True] < 0.75, peaks
