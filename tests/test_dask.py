"""Fitting on dask arrays on a 2-process LocalCluster, against the in-memory fit."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _skce_data import assert_objectives_agree  # noqa: E402

from skce import SoftmaxRegressor  # noqa: E402
from skce._loss import HardTargets, SigmoidCrossEntropy, SoftmaxCrossEntropy  # noqa: E402
from skce._objective import Objective  # noqa: E402
from skce.backends._dask import DaskObjective  # noqa: E402
from skce.solvers import Adam  # noqa: E402

CHUNK = 80  # 250 rows -> chunks of 80, 80, 80, 10


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True,
                                       threads_per_worker=1, dashboard_address=":0")
    client = distributed.Client(cluster)
    client.run(__import__, "skce.backends._dask")  # workers import once
    yield client
    client.close()
    cluster.close()


def _data(n_classes=3, n=250, d=5, seed=0):
    X, y = make_classification(n, d, n_informative=4, n_redundant=0,
                               n_classes=n_classes, random_state=seed)
    return X, y


def _dask(X, y=None):
    Xd = da.from_array(X, chunks=(CHUNK, X.shape[1]))
    if y is None:
        return Xd
    return Xd, da.from_array(y, chunks=CHUNK)


def _objective(clf, X, y, alpha, s):
    """sum_i s_i CE_i / sum_i s_i + alpha / 2 ||W||^2, from predict_log_proba."""
    logp = clf.predict_log_proba(X)
    codes = np.searchsorted(clf.classes_, y)
    ce = -logp[np.arange(len(y)), codes]
    return float(s @ ce / s.sum() + 0.5 * alpha * np.sum(clf.coef_**2))


@pytest.mark.parametrize("solver,n_classes", [
    ("lbfgs", 3), ("lbfgs", 2), ("newton-cg", 3), ("gd", 3)])
def test_full_batch_matches_in_memory(client, solver, n_classes):
    X, y = _data(n_classes)
    alpha = 0.1
    # both fits follow the same path, so a loose tol still tests equality
    kw = dict(solver=solver, alpha=alpha, tol=1e-5)
    on_cluster = SoftmaxRegressor(**kw).fit(*_dask(X, y))
    in_memory = SoftmaxRegressor(**kw).fit(X, y)
    s = np.ones(len(y))
    f_cluster = _objective(on_cluster, X, y, alpha, s)
    f_memory = _objective(in_memory, X, y, alpha, s)
    assert abs(f_cluster - f_memory) <= 1e-6 * f_memory
    assert_allclose(on_cluster.coef_, in_memory.coef_, atol=1e-5)
    assert_array_equal(on_cluster.classes_, in_memory.classes_)
    assert on_cluster.n_features_in_ == X.shape[1]
    assert on_cluster.n_iter_ == in_memory.n_iter_
    # predict on a dask array (computed locally) equals predict on numpy
    assert_array_equal(on_cluster.predict(_dask(X)), in_memory.predict(X))


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}])
def test_sample_and_class_weights(client, class_weight):
    X, y = _data(3, seed=1)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, size=len(y))
    Xd, yd = _dask(X, y)
    swd = da.from_array(sw, chunks=50)  # other chunks than X's: rechunked
    alpha = 1e-2
    on_cluster = SoftmaxRegressor(alpha=alpha, class_weight=class_weight).fit(
        Xd, yd, sample_weight=swd)
    in_memory = SoftmaxRegressor(alpha=alpha, class_weight=class_weight).fit(
        X, y, sample_weight=sw)
    # the effective weights s_i = sw_i * w_{y_i}, computed here independently
    counts = np.bincount(y, weights=sw)
    if class_weight == "balanced":
        w = counts.sum() / (3 * counts)
    else:
        w = np.array([class_weight[k] for k in range(3)])
    s = sw * w[y]
    f_cluster = _objective(on_cluster, X, y, alpha, s)
    f_memory = _objective(in_memory, X, y, alpha, s)
    assert abs(f_cluster - f_memory) <= 1e-6 * f_memory
    assert_allclose(on_cluster.coef_, in_memory.coef_, atol=1e-5)


def test_string_labels_numpy_y_and_float32(client):
    X, y = _data(3, seed=2)
    labels = np.array(["ant", "bee", "cat"])[y]
    Xd = _dask(X.astype(np.float32))
    clf = SoftmaxRegressor(alpha=0.1, tol=1e-5).fit(Xd, labels)  # numpy y
    ref = SoftmaxRegressor(alpha=0.1, tol=1e-5).fit(X.astype(np.float32), labels)
    assert clf.coef_.dtype == np.float32
    assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    assert_allclose(clf.coef_, ref.coef_, atol=1e-3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_dask_objective_matches_objective(client, n_classes):
    X, y = _data(n_classes, seed=3)
    sw = np.random.default_rng(1).uniform(0.5, 1.5, size=len(y))
    loss = SoftmaxCrossEntropy(3) if n_classes == 3 else SigmoidCrossEntropy()
    kw = dict(alpha=0.1, l1_ratio=0.3, fit_intercept=True,
              offset=np.full(loss.n_outputs, 0.2))
    ref = Objective(X, HardTargets(y, n_classes, 0.1), sw, loss, **kw)
    obj = DaskObjective(*_dask(X, y), da.from_array(sw, chunks=CHUNK), loss,
                        n_classes=n_classes, label_smoothing=0.1, **kw)
    assert obj.n_chunks == 4 and obj.shape == ref.shape
    rng = np.random.default_rng(2)
    params, v = rng.normal(size=(2, *ref.shape))
    assert_objectives_agree(obj, ref, params, v)
    # the gradient is the derivative of the value (central differences)
    e = np.zeros(ref.shape)
    e[1, 0] = 1e-6
    fd = (obj.smooth_value(params + e) - obj.smooth_value(params - e)) / 2e-6
    assert_allclose(obj.value_grad(params)[1][1, 0], fd, rtol=1e-6)
    with pytest.raises(ValueError, match="full batches only"):
        obj.value_grad(params, rows=np.arange(3))


def test_stochastic_streams_chunks(client):
    X, y = _data(3, seed=4)
    Xd, yd = _dask(X, y)
    alpha = 1e-2
    kw = dict(solver=Adam(learning_rate=0.05), alpha=alpha, random_state=0,
              max_iter=12, tol=0)
    with pytest.warns(Warning, match="did not converge"):
        a = SoftmaxRegressor(**kw).fit(Xd, yd)
    with pytest.warns(Warning, match="did not converge"):
        b = SoftmaxRegressor(**kw).fit(Xd, yd)
    assert_array_equal(a.coef_, b.coef_)  # chunk order drawn from random_state
    assert a.n_iter_ == 12 and len(a.loss_curve_) == 12  # one epoch = all chunks
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    best = SoftmaxRegressor(alpha=alpha).fit(X, y)  # the optimum, by L-BFGS
    s = np.ones(len(y))
    assert _objective(a, X, y, alpha, s) < _objective(best, X, y, alpha, s) + 0.02


def test_partial_fit_on_dask_array(client):
    X, y = _data(3, seed=5)
    Xd, yd = _dask(X, y)
    clf = SoftmaxRegressor(solver=Adam(learning_rate=0.05), alpha=0.0,
                           random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(Xd, yd)
    clf.partial_fit(Xd, yd, classes=[0, 1, 2])
    clf.partial_fit(Xd, yd)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    # below the cross-entropy of the class priors, where training starts
    prior = np.bincount(y) / len(y)
    prior_ce = -float(prior @ np.log(prior))
    assert _objective(clf, X, y, 0.0, np.ones(len(y))) < 0.9 * prior_ce
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        clf.partial_fit(Xd, da.where(yd == 2, 7, yd))


def test_dask_ml_incremental(client):
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data(3, seed=6)
    Xd, yd = _dask(X, y)
    inc = dask_ml_wrappers.Incremental(
        SoftmaxRegressor(solver="adam", random_state=0), shuffle_blocks=False)
    inc.fit(Xd, yd, classes=[0, 1, 2])
    # Incremental calls partial_fit once per block, in order: do the same by hand
    ref = SoftmaxRegressor(solver="adam", random_state=0)
    for start in range(0, len(y), CHUNK):
        ref.partial_fit(X[start:start + CHUNK], y[start:start + CHUNK],
                        classes=[0, 1, 2])
    assert_allclose(inc.estimator_.coef_, ref.coef_, rtol=1e-12)
    assert inc.estimator_.n_iter_ == 4


def test_errors(client):
    X, y = _data(3)
    Xd, yd = _dask(X, y)
    clf = SoftmaxRegressor()
    with pytest.raises(ValueError, match=r"chunked along its columns .*rechunk"):
        clf.fit(da.from_array(X, chunks=(100, 3)), yd)
    with pytest.raises(ValueError, match="rows summing to 1"):
        clf.fit(Xd, 2 * np.eye(3)[y])
    with pytest.raises(ValueError, match="inconsistent numbers of samples: 250 and"):
        clf.fit(Xd, yd[:-1])
    with pytest.raises(ValueError, match="Expected a 2-D dask array"):
        clf.fit(Xd[:, 0], yd)
    with pytest.raises(ValueError, match="X must be numeric"):
        clf.fit(Xd.astype(str), yd)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        clf.fit(Xd[Xd[:, 0] > 0], yd)
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        clf.fit(da.where(Xd > 2, np.nan, Xd), yd)
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        clf.fit(Xd, yd, sample_weight=-np.ones(250))
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        clf.fit(Xd, yd, sample_weight=np.zeros(250))
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(Xd, da.zeros(250, chunks=CHUNK, dtype=int))
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(Xd, da.from_array(X[:, 0], chunks=CHUNK))
    with pytest.raises(ValueError, match="requires y to be passed"):
        clf.fit(Xd, None)
    with pytest.raises(ValueError, match="zero weight after applying class_weight"):
        SoftmaxRegressor(class_weight={0: 0, 1: 0, 2: 0}).fit(Xd, yd)


def test_weighted_classifier_focal_and_logit_adjustment(client):
    from skce import WeightedCEClassifier

    X, y = _data(3, seed=7)
    kw = dict(alpha=0.1, focal_gamma=1.0, tau=1.0, class_weight="balanced")
    on_cluster = WeightedCEClassifier(**kw).fit(*_dask(X, y))
    in_memory = WeightedCEClassifier(**kw).fit(X, y)
    assert_allclose(on_cluster.loss_curve_[-1], in_memory.loss_curve_[-1],
                    rtol=1e-6)
    assert_allclose(on_cluster.coef_, in_memory.coef_, atol=1e-5)
    assert_allclose(on_cluster.class_prior_, in_memory.class_prior_, rtol=1e-12)
    assert_allclose(on_cluster.predict_proba(X), in_memory.predict_proba(X),
                    atol=1e-6)


@pytest.mark.filterwarnings("ignore:.*did not converge")
def test_separable_data_warn_as_in_memory(client):
    X, _ = _data(2, seed=8)
    y = (X[:, 0] > 0).astype(int)
    Xd, yd = _dask(X, y)
    with pytest.warns(Warning, match="perfectly separable"):
        SoftmaxRegressor(alpha=0.0, max_iter=20).fit(Xd, yd)
    with pytest.warns(Warning, match="perfectly separable"):
        SoftmaxRegressor(alpha=0.0, max_iter=20).fit(X, y)


def test_averaging_solver_is_monitored_on_its_average():
    """With ``average=`` the dask epochs handed early stopping the last iterate,
    not the running mean the numpy loop monitors: on wine (one chunk, so the same
    updates) the validation losses were [1.59, 0.42, 0.59, ...] against numpy's
    [0.107, 0.058, 0.124, ...] and the restored best coefficients differed by 0.23;
    now they agree to rounding."""
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    from skce.solvers import SGD

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(solver=SGD(batch_size=8, average=True), early_stopping=True,
              random_state=0, max_iter=30, n_iter_no_change=3)
    ref = SoftmaxRegressor(**kw).fit(X, y)
    clf = SoftmaxRegressor(**kw).fit(da.from_array(X, chunks=(len(X), X.shape[1])),
                                     da.from_array(y, chunks=len(X)))
    assert_allclose(clf.validation_loss_curve_, ref.validation_loss_curve_,
                    rtol=1e-12)
    assert_allclose(ref.validation_loss_curve_[:2], [0.10729, 0.05789], atol=1e-5)
    assert clf.best_iteration_ == ref.best_iteration_
    assert_allclose(clf.coef_, ref.coef_, rtol=1e-10, atol=1e-12)
