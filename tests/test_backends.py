"""Every feature on every back end: back end x feature against the numpy fit.

Back ends: numpy dense, scipy CSR, dask on a 2-process LocalCluster,
array-api-strict and torch (CPU). Each cell fits the same problem and evaluates the
fitted model with an objective computed here, independently of skce (plain numpy:
weighted, smoothed or soft targets, focal term, logit offsets, elastic net).
Full-batch fits must land on the numpy fit's objective to 1e-6 (relative);
stochastic ones within 2e-2 of the optimum (newton-cg at tol 1e-10 on numpy).
Every cell of ``skce.backends.SUPPORT`` is exercised here.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor, WeightedCEClassifier
from skce._xp import to_numpy
from skce.backends import BACKENDS, FEATURES, SUPPORT

N, D = 240, 5


def _data(n_classes=3, seed=0):
    X, y = make_classification(N, D, n_informative=4, n_redundant=0,
                               n_classes=n_classes, weights=None, random_state=seed)
    return StandardScaler().fit_transform(X), y


def _soft(y, K, seed=0):
    """Soft targets: the one-hot rows mixed with random distributions."""
    rng = np.random.default_rng(seed)
    R = rng.dirichlet(np.ones(K), size=len(y))
    return 0.7 * np.eye(K)[y] + 0.3 * R


def independent_objective(model, X, y, *, alpha, l1_ratio=0.0, sample_weight=None,
                          soft=None, smoothing=0.0, focal_gamma=0.0, offset=None):
    """f = sum_i s_i FL(T_i, q_i) / sum_i s_i + alpha ((1-r)/2 ||W||^2 + r ||W||_1)
    with q_i = softmax(z_i + o), z_i = W x_i + b; binary models have logits
    (0, z_i); s_i = sample_weight_i * class_weight_[y_i]; FL = -sum_k T_k
    (1 - q_k)^gamma log q_k (gamma = 0: the cross-entropy)."""
    W = to_numpy(model.coef_).astype(np.float64)
    # the fitted intercept: a post-hoc offset in intercept_ is not trained
    b = to_numpy(getattr(model, "raw_intercept_", model.intercept_)).astype(np.float64)
    Z = X @ W.T + b
    if offset is not None:
        Z = Z + offset
    if Z.shape[1] == 1:
        Z = np.column_stack([np.zeros(len(Z)), Z[:, 0]])
    K = Z.shape[1]
    Z = Z - Z.max(axis=1, keepdims=True)
    logq = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    T = soft if soft is not None else np.eye(K)[y]
    T = (1 - smoothing) * T + smoothing / K
    term = -(T * (1 - np.exp(logq)) ** focal_gamma * logq).sum(axis=1)
    s = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight)
    if hasattr(model, "class_weight_"):
        cw = to_numpy(model.class_weight_)
        s = s * (T @ cw if soft is not None else cw[y])
    return float(s @ term / s.sum() + alpha * ((1 - l1_ratio) / 2 * np.sum(W**2)
                                               + l1_ratio * np.abs(W).sum()))


# feature -> (estimator kwargs, fit extras, objective extras, stochastic?)
CELLS = {
    "lbfgs": (dict(solver="lbfgs"), {}, {}, False),
    "newton-cg": (dict(solver="newton-cg"), {}, {}, False),
    "gd elastic net": (dict(solver="gd", l1_ratio=0.5, alpha=0.02), {}, {}, False),
    "adam": (dict(solver="adam", max_iter=60, random_state=0), {}, {}, True),
    "partial_fit": (dict(solver="adam", random_state=0), {"partial": True}, {},
                    True),
    "sample_weight": (dict(solver="lbfgs"), {"sample_weight": True}, {}, False),
    "label_smoothing": (dict(solver="lbfgs", label_smoothing=0.1), {}, {}, False),
    "soft targets": (dict(solver="lbfgs"), {"soft": True}, {}, False),
    "early_stopping": (dict(solver="adam", early_stopping=True, max_iter=60,
                            random_state=0, n_iter_no_change=100), {}, {}, True),
    "warm_start": (dict(solver="lbfgs", warm_start=True), {"twice": True}, {},
                   False),
    "weighted balanced": (dict(solver="lbfgs"), {"weighted": True}, {}, False),
    "weighted focal": (dict(solver="lbfgs", focal_gamma=2.0), {"weighted": True},
                       {}, False),
    "weighted tau loss": (dict(solver="lbfgs", tau=1.0, class_weight=None),
                          {"weighted": True}, {"tau": "loss"}, False),
    "weighted tau post-hoc": (dict(solver="newton-cg", tau=1.0, class_weight=None,
                                   logit_adjustment="post-hoc"), {"weighted": True},
                              {}, False),
    "weighted adam focal": (dict(solver="adam", focal_gamma=1.0, max_iter=60,
                                 random_state=0), {"weighted": True}, {}, True),
}
ALPHA = 1e-2


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True,
                                       threads_per_worker=1, dashboard_address=":0")
    client = distributed.Client(cluster)
    client.run(__import__, "skce.backends._dask")
    yield client
    client.close()
    cluster.close()


def _converter(backend, request):
    """(to_backend(a, kind), context) for a back end; kind is "X", "y" or "w"."""
    if backend in ("numpy", "csr"):
        def to(a, kind):
            return sp.csr_matrix(a) if backend == "csr" and kind == "X" else a
        return to, sklearn.config_context
    if backend == "dask":
        request.getfixturevalue("dask_client")
        da = pytest.importorskip("dask.array")

        def to(a, kind):
            chunks = (80,) + a.shape[1:]
            return da.from_array(a, chunks=chunks)
        return to, sklearn.config_context
    if backend == "array-api-strict":
        xp = pytest.importorskip("array_api_strict")
        device = None
    else:
        xp = pytest.importorskip("torch")
        device = "cpu"
    request.getfixturevalue("monkeypatch").setenv("SCIPY_ARRAY_API", "1")

    def to(a, kind):
        return xp.asarray(np.asarray(a)) if device is None else \
            xp.asarray(np.asarray(a), device=device)
    return to, lambda: sklearn.config_context(array_api_dispatch=True)


def _fit(params, extras, X, y, to, n_classes):
    weighted = extras.get("weighted", False)
    Est = WeightedCEClassifier if weighted else SoftmaxRegressor
    params = {"alpha": ALPHA, **params}
    model = Est(**params)
    target = _soft(y, n_classes) if extras.get("soft") else y
    kw = {}
    if extras.get("sample_weight"):
        kw["sample_weight"] = to(np.random.default_rng(3).uniform(0.2, 3, N), "w")
    Xb, yb = to(X, "X"), to(target, "y")
    if extras.get("partial"):  # partial_fit: twenty epochs
        for _ in range(20):
            model.partial_fit(Xb, yb, classes=np.arange(n_classes))
        return model, kw
    model.fit(Xb, yb, **kw)
    if extras.get("twice"):
        model.set_params(alpha=ALPHA / 2).fit(Xb, yb, **kw)
        model.set_params(alpha=ALPHA)
        model.fit(Xb, yb, **kw)
    return model, kw


def _objective_of(model, params, extras, obj_extras, X, y, n_classes):
    sw = np.random.default_rng(3).uniform(0.2, 3, N) \
        if extras.get("sample_weight") else None
    offset = None
    if obj_extras.get("tau") == "loss":
        prior = np.bincount(y, minlength=n_classes) / len(y)
        lp = np.log(prior)
        offset = lp[1] - lp[0] if n_classes == 2 else lp
    if hasattr(model, "logit_offset_"):  # post-hoc: in the decision function only
        pass
    return independent_objective(
        model, X, y, alpha=params.get("alpha", ALPHA),
        l1_ratio=params.get("l1_ratio", 0.0), sample_weight=sw,
        soft=_soft(y, n_classes) if extras.get("soft") else None,
        smoothing=params.get("label_smoothing", 0.0),
        focal_gamma=params.get("focal_gamma", 0.0), offset=offset)


BACKEND_IDS = ["numpy", "csr", "dask", "array-api-strict", "torch"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes", [3, 2])
@pytest.mark.parametrize("feature", list(CELLS))
@pytest.mark.parametrize("backend", BACKEND_IDS)
def test_feature_on_backend(request, backend, feature, n_classes):
    params, extras, obj_extras, stochastic = CELLS[feature]
    if n_classes == 2 and feature not in ("lbfgs", "adam", "weighted focal",
                                          "weighted tau loss", "soft targets"):
        pytest.skip("binary: a subset of the features")
    X, y = _data(n_classes)
    to, context = _converter(backend, request)
    with context():
        model, _ = _fit(params, extras, X, y, to, n_classes)
        assert to_numpy(model.coef_).shape == (1 if n_classes == 2 else n_classes, D)
        if backend in ("array-api-strict", "torch"):  # stays in X's namespace
            Xb = to(X, "X")
            assert type(model.coef_) is type(Xb)
            proba = model.predict_proba(Xb)
            assert type(proba) is type(Xb)
            proba = to_numpy(proba)
            pred = to_numpy(model.predict(Xb))
        else:
            Xb = to(X, "X")
            proba = np.asarray(model.predict_proba(Xb))
            pred = np.asarray(model.predict(Xb))
    ref, _ = _fit(params, extras, X, y, lambda a, kind: a, n_classes)
    f = _objective_of(model, params, extras, obj_extras, X, y, n_classes)
    f_ref = _objective_of(ref, params, extras, obj_extras, X, y, n_classes)
    if stochastic:  # against the optimum of the same problem
        opt_params = {k: v for k, v in params.items()
                      if k not in ("solver", "max_iter", "random_state",
                                   "early_stopping", "n_iter_no_change")}
        opt, _ = _fit({**opt_params, "solver": "newton-cg", "tol": 1e-10,
                       "max_iter": 500}, {**extras, "twice": False,
                                          "partial": False}, X, y,
                      lambda a, kind: a, n_classes)
        f_opt = _objective_of(opt, params, extras, obj_extras, X, y, n_classes)
        assert (f - f_opt) / f_opt <= 2e-2, (f, f_opt)
        assert (f_ref - f_opt) / f_opt <= 2e-2, (f_ref, f_opt)
    else:
        assert abs(f - f_ref) <= 1e-6 * f_ref, (f, f_ref)
        assert_allclose(proba, ref.predict_proba(X), atol=1e-4)
        assert (pred == ref.predict(X)).mean() >= 0.99
    if "post-hoc" in feature:
        assert_allclose(to_numpy(model.logit_offset_), ref.logit_offset_, atol=1e-12)
    if extras.get("weighted"):
        assert_allclose(to_numpy(model.class_weight_), ref.class_weight_,
                        rtol=1e-12)
        with context():
            prior = to_numpy(model.predict_proba_prior(Xb))
        assert_allclose(prior, ref.predict_proba_prior(X), atol=1e-4 if not
                        stochastic else 1.0)


def test_support_table_covers_every_cell():
    """The docs' table (skce.backends.SUPPORT) covers every cell: "yes" cells are
    fitted above (saga's numpy cell in tests/test_saga.py), "no" cells raise the
    error the table quotes (below)."""
    assert set(SUPPORT) == {(f, b) for f in FEATURES for b in BACKENDS}
    no = {cell for cell, v in SUPPORT.items() if v != "yes"}
    assert no == {("saga", "dask"), ("saga", "array API")}


@pytest.mark.parametrize("backend", ["dask", "array-api-strict"])
def test_saga_refuses_data_it_cannot_sample(request, backend):
    X, y = _data(3)
    to, context = _converter(backend, request)
    with context(), pytest.raises(ValueError, match="needs the training data in "
                                                    "memory .* use solver='lbfgs'"):
        SoftmaxRegressor(solver="saga").fit(to(X, "X"), to(y, "y"))


@pytest.mark.parametrize("backend", ["numpy", "array-api-strict", "torch"])
def test_partial_fit_balanced_weights_accumulate(request, backend):
    """class_weight="balanced" under partial_fit: counts accumulate over every chunk
    seen, for both estimators (SoftmaxRegressor recomputed them per chunk)."""
    X, y = _data(2)
    to, context = _converter(backend, request)
    first, second = slice(0, 60), slice(60, None)
    for Est in (SoftmaxRegressor, WeightedCEClassifier):
        model = Est(solver="adam", class_weight="balanced", random_state=0)
        with context():
            model.partial_fit(to(X[first], "X"), to(y[first], "y"), classes=[0, 1])
            model.partial_fit(to(X[second], "X"), to(y[second], "y"))
        counts = np.bincount(y, minlength=2)
        assert_allclose(to_numpy(model._class_mass_seen), counts)
        if Est is WeightedCEClassifier:
            assert_allclose(to_numpy(model.class_weight_),
                            N / (2 * counts), rtol=1e-12)


def test_predict_refuses_another_namespace(request):
    import array_api_strict as xp

    X, y = _data(3)
    request.getfixturevalue("monkeypatch").setenv("SCIPY_ARRAY_API", "1")
    with sklearn.config_context(array_api_dispatch=True):
        model = WeightedCEClassifier(tau=1.0, logit_adjustment="post-hoc").fit(
            xp.asarray(X), xp.asarray(y))
        with pytest.raises(ValueError, match="fitted on arrays of another namespace"):
            model.predict(X)
        with pytest.raises(ValueError, match="fitted on arrays of another namespace"):
            model.predict_proba_prior(X)
        assert_array_equal(to_numpy(model.predict(xp.asarray(X))),
                           WeightedCEClassifier(tau=1.0, logit_adjustment="post-hoc")
                           .fit(X, y).predict(X))
    assert SoftmaxRegressor().__sklearn_tags__().array_api_support
    assert WeightedCEClassifier().__sklearn_tags__().array_api_support
