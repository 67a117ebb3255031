"""Array API inputs (array-api-strict, PyTorch on CPU) against the numpy fit."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification

pytest.importorskip("array_api_strict")

from _skce_data import assert_objectives_agree  # noqa: E402

from skce import SoftmaxRegressor  # noqa: E402
from skce._loss import HardTargets, SigmoidCrossEntropy, SoftmaxCrossEntropy  # noqa: E402
from skce._objective import Objective  # noqa: E402
from skce._xp import to_numpy  # noqa: E402


def _strict():
    import array_api_strict

    return array_api_strict, None


def _torch():
    torch = pytest.importorskip("torch")
    return torch, "cpu"


NAMESPACES = [_strict, _torch]


@pytest.fixture
def dispatch(monkeypatch):
    # scikit-learn refuses dispatch without it; skce never hands xp arrays to scipy
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    with sklearn.config_context(array_api_dispatch=True):
        yield


def _to(xp, device, a, dtype=None):
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    return xp.asarray(a) if device is None else xp.asarray(a, device=device)


def _data(n_classes, seed=0):
    return make_classification(200, 5, n_informative=4, n_redundant=0,
                               n_classes=n_classes, random_state=seed)


def _objective(coef, intercept, X, y, alpha, s):
    """sum_i s_i CE_i / sum_i s_i + alpha / 2 ||W||^2, computed here in numpy."""
    scores = X @ coef.T + intercept
    if scores.shape[1] == 1:
        scores = np.column_stack([np.zeros(len(y)), scores[:, 0]])
    m = scores.max(axis=1, keepdims=True)
    logp = scores - m - np.log(np.exp(scores - m).sum(axis=1, keepdims=True))
    ce = -logp[np.arange(len(y)), y]
    return float(s @ ce / s.sum() + 0.5 * alpha * np.sum(coef**2))


@pytest.mark.parametrize("make_xp", NAMESPACES)
@pytest.mark.parametrize("solver,n_classes", [
    ("lbfgs", 3), ("lbfgs", 2), ("newton-cg", 3), ("newton-cg", 2), ("gd", 3)])
def test_fit_matches_numpy(dispatch, make_xp, solver, n_classes):
    xp, device = make_xp()
    X, y = _data(n_classes)
    alpha = 0.1
    model = SoftmaxRegressor(solver=solver, alpha=alpha).fit(
        _to(xp, device, X), _to(xp, device, y))
    with sklearn.config_context(array_api_dispatch=False):
        ref = SoftmaxRegressor(solver=solver, alpha=alpha).fit(X, y)
    # fitted attributes stay in the input's namespace, device and dtype
    for attr in (model.coef_, model.intercept_, model.classes_):
        assert type(attr) is type(_to(xp, device, X))
    assert model.coef_.dtype == xp.float64
    coef, intercept = to_numpy(model.coef_), to_numpy(model.intercept_)
    s = np.ones(len(y))
    f, f_ref = (_objective(coef, intercept, X, y, alpha, s),
                _objective(ref.coef_, ref.intercept_, X, y, alpha, s))
    assert abs(f - f_ref) <= 1e-6 * f_ref
    assert_allclose(coef, ref.coef_, atol=1e-6)
    Xd = _to(xp, device, X)
    proba = model.predict_proba(Xd)
    assert type(proba) is type(Xd)
    with sklearn.config_context(array_api_dispatch=False):
        ref_proba = ref.predict_proba(X)
        ref_pred = ref.predict(X)
    assert_allclose(to_numpy(proba), ref_proba, atol=1e-6)
    assert_allclose(to_numpy(model.predict_log_proba(Xd)), np.log(ref_proba),
                    atol=1e-6)
    assert_array_equal(to_numpy(model.predict(Xd)), ref_pred)
    scores = to_numpy(model.decision_function(Xd))
    assert scores.shape == ((200,) if n_classes == 2 else (200, n_classes))


@pytest.mark.parametrize("make_xp", NAMESPACES)
def test_float32_and_weights(dispatch, make_xp):
    xp, device = make_xp()
    X, y = _data(3, seed=1)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, size=len(y))
    alpha = 0.1
    model = SoftmaxRegressor(alpha=alpha, class_weight="balanced").fit(
        _to(xp, device, X, np.float32), _to(xp, device, y),
        sample_weight=_to(xp, device, sw, np.float32))
    assert model.coef_.dtype == xp.float32
    with sklearn.config_context(array_api_dispatch=False):
        ref = SoftmaxRegressor(alpha=alpha, class_weight="balanced").fit(
            X, y, sample_weight=sw)
    counts = np.bincount(y, weights=sw)
    s = sw * (counts.sum() / (3 * counts))[y]  # balanced weights, by hand
    f = _objective(to_numpy(model.coef_).astype(np.float64),
                   to_numpy(model.intercept_), X, y, alpha, s)
    f_ref = _objective(ref.coef_, ref.intercept_, X, y, alpha, s)
    assert abs(f - f_ref) <= 1e-5 * f_ref  # float32 arithmetic
    proba = model.predict_proba(_to(xp, device, X, np.float32))
    assert proba.dtype == xp.float32


@pytest.mark.parametrize("n_classes", [2, 3])
def test_objective_matches_numpy_objective(n_classes):
    import array_api_strict as xp

    X, y = _data(n_classes, seed=2)
    sw = np.random.default_rng(1).uniform(0.5, 1.5, size=len(y))
    loss = SoftmaxCrossEntropy(3) if n_classes == 3 else SigmoidCrossEntropy()
    kw = dict(alpha=0.1, l1_ratio=0.3, fit_intercept=True,
              offset=np.full(loss.n_outputs, 0.2))
    ref = Objective(X, HardTargets(y, n_classes, 0.1), sw, loss, **kw)
    # the one Objective, on array-api-strict arrays
    obj = Objective(xp.asarray(X), HardTargets(xp.asarray(y), n_classes, 0.1),
                    xp.asarray(sw), loss, **kw)
    rng = np.random.default_rng(2)
    params, v = rng.normal(size=(2, *ref.shape))
    assert_objectives_agree(obj, ref, params, v)
    rows = np.array([3, 17, 40, 41])  # a mini-batch, taken on the device
    for got, want in zip(obj.value_grad(params, rows=rows),
                         ref.value_grad(params, rows=rows), strict=True):
        assert_allclose(got, want, rtol=1e-10)
    assert_allclose(obj.hessp(params, rows=rows)(v), ref.hessp(params, rows=rows)(v),
                    rtol=1e-10)


def test_errors(dispatch):
    import array_api_strict as xp

    X, y = _data(3)
    Xs, ys = xp.asarray(X), xp.asarray(y)
    with pytest.raises(ValueError, match="encode string labels first"):
        SoftmaxRegressor().fit(Xs, np.array(["a", "b", "c"])[y])
    with pytest.raises(ValueError, match="y must be 1-D class labels or 2-D soft"):
        SoftmaxRegressor().fit(Xs, xp.asarray(np.eye(3)[y][:, :, None]))
    with pytest.raises(ValueError, match="rows summing to 1"):
        SoftmaxRegressor().fit(Xs, xp.asarray(2 * np.eye(3)[y]))
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        SoftmaxRegressor().fit(xp.asarray(np.where(X > 2, np.nan, X)), ys)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SoftmaxRegressor().fit(Xs, ys[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxRegressor().fit(Xs, xp.zeros(200, dtype=xp.int64))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        SoftmaxRegressor().fit(Xs, ys, sample_weight=-xp.ones(200))
    numpy_model = SoftmaxRegressor().fit(X, y)
    with pytest.raises(ValueError, match="fitted on arrays of another namespace"):
        numpy_model.predict(Xs)
    model = SoftmaxRegressor().fit(Xs, ys)
    with pytest.raises(ValueError, match="expecting 5 features"):
        model.predict(Xs[:, :3])
    with pytest.raises(ValueError, match="fitted on arrays of another namespace"):
        model.predict(X)  # fitted on array-api-strict, asked with numpy


@pytest.mark.filterwarnings("ignore:.*did not converge")
@pytest.mark.parametrize("n_classes", [2, 3])
def test_separable_data_warn_as_numpy(dispatch, n_classes):
    import array_api_strict as xp

    X, _ = _data(2, seed=8)
    y = np.digitize(X[:, 0], [0.0] if n_classes == 2 else [-0.5, 0.5])  # separable
    with pytest.warns(Warning, match="perfectly separable"):
        SoftmaxRegressor(alpha=0.0, max_iter=20).fit(xp.asarray(X), xp.asarray(y))
    with sklearn.config_context(array_api_dispatch=False):
        with pytest.warns(Warning, match="perfectly separable"):
            SoftmaxRegressor(alpha=0.0, max_iter=20).fit(X, y)


def test_logit_overflow_error(dispatch):
    import array_api_strict as xp

    X, y = _data(3)
    model = SoftmaxRegressor().fit(xp.asarray(X), xp.asarray(y))
    with pytest.raises(ValueError, match="The logits overflow"):
        model.predict(xp.asarray(np.where(X > 0, 1e308, -1e308)))
