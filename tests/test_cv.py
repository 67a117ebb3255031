"""SoftmaxRegressorCV and WeightedCEClassifierCV against LogisticRegressionCV and
GridSearchCV on the same folds and grid; inputs, routing and every error."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import get_scorer, log_loss
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skce import (
    SoftmaxRegressor,
    SoftmaxRegressorCV,
    WeightedCEClassifier,
    WeightedCEClassifierCV,
)
from skce._cv import balanced_log_loss, neg_balanced_log_loss


def _data(loader, n=None, k=3):
    """Standardized data cut to a multiple of k rows (equal training folds), with
    the stratified folds."""
    X, y = loader(return_X_y=True)
    if n is not None:
        rows = np.random.default_rng(0).permutation(len(y))[:n]
        X, y = X[rows], y[rows]
    n = len(y) - len(y) % k
    X, y = StandardScaler().fit_transform(X[:n]), y[:n]
    return X, y, list(StratifiedKFold(k).split(X, y))


DATASETS = {"breast_cancer": (load_breast_cancer, None),
            "wine": (load_wine, None),
            "digits": (load_digits, 150)}
ALPHAS = np.geomspace(1.0, 1e-3, 4)


@pytest.mark.parametrize("scoring", ["neg_log_loss", "accuracy"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_matches_logistic_regression_cv(name, scoring):
    X, y, folds = _data(*DATASETS[name])
    n_train = len(folds[0][0])
    ours = SoftmaxRegressorCV(alphas=ALPHAS, cv=folds, scoring=scoring,
                              tol=1e-9).fit(X, y)
    # skce's objective is the penalized mean loss: alpha = 1 / (C * n_train)
    ref = LogisticRegressionCV(Cs=1 / (ALPHAS * n_train), cv=folds, scoring=scoring,
                               tol=1e-10, max_iter=10_000, l1_ratios=(0.0,),
                               use_legacy_attributes=False).fit(X, y)
    # LogisticRegressionCV's Cs ascend (alphas descend): the same order
    assert_allclose(ours.scores_, ref.scores_[:, 0, :].T, rtol=0, atol=1e-4)
    assert ours.alpha_ == pytest.approx(1 / (ref.C_ * n_train), rel=1e-12)
    # the refit keeps alpha (a penalty on the mean loss), so its C grows with the
    # whole data's size; LogisticRegressionCV refits at the folds' C instead
    full = LogisticRegression(C=1 / (ours.alpha_ * len(y)), tol=1e-10,
                              max_iter=10_000).fit(X, y)
    assert_allclose(ours.coef_, full.coef_, rtol=0,
                    atol=1e-4 * np.abs(full.coef_).max())


def test_matches_grid_search_with_l1_ratios():
    X, y, folds = _data(load_wine)
    alphas = np.geomspace(0.3, 3e-3, 3)
    ours = SoftmaxRegressorCV(alphas=alphas, l1_ratios=[0.0, 0.5], cv=folds,
                              tol=1e-8).fit(X, y)
    grid = GridSearchCV(SoftmaxRegressor(tol=1e-8),
                        {"alpha": list(alphas), "l1_ratio": [0.0, 0.5]},
                        cv=folds, scoring="neg_log_loss").fit(X, y)
    assert grid.best_params_ == {"alpha": ours.alpha_, "l1_ratio": ours.l1_ratio_}
    assert ours.scores_.shape == (2, 3, 3) and ours.alphas_.shape == (2, 3)
    res = grid.cv_results_
    for i, params in enumerate(res["params"]):
        j = [0.0, 0.5].index(params["l1_ratio"])
        a = list(alphas).index(params["alpha"])
        split = [res[f"split{k}_test_score"][i] for k in range(3)]
        assert_allclose(ours.scores_[j, a], split, rtol=0, atol=1e-4)
    # refit = the base estimator fitted at the choice on all the data
    base = SoftmaxRegressor(alpha=ours.alpha_, l1_ratio=ours.l1_ratio_,
                            tol=1e-8).fit(X, y)
    assert_allclose(ours.coef_, base.coef_, atol=1e-4)


def test_alpha_max_is_where_the_l1_path_leaves_zero():
    X, y, _ = _data(load_wine)
    clf = SoftmaxRegressorCV(alphas=4, l1_ratio=1.0, cv=3).fit(X, y)
    coefs = clf.coefs_paths_[..., :-1]
    # the path keeps exact zeros: nothing is merely tiny
    assert not np.any((np.abs(coefs) < 1e-8) & (coefs != 0))
    # alpha_max (whole data) zeroes most fold coefficients; the next point fewer
    assert np.mean(coefs[0] == 0) > 0.9 > np.mean(coefs[1] == 0) > 0
    top = clf.alphas_[0]
    assert_allclose(clf.alphas_[-1] / top, 1e-4)
    # an independent fit on all the data: zero at alpha_max, not just below it
    at = SoftmaxRegressor(alpha=top, l1_ratio=1.0).fit(X, y)
    below = SoftmaxRegressor(alpha=0.97 * top, l1_ratio=1.0).fit(X, y)
    assert np.all(at.coef_ == 0) and np.any(below.coef_ != 0)
    # l1_ratio = 0: the documented upper end, max|G| / 1e-3
    ridge = SoftmaxRegressorCV(alphas=3, cv=3).fit(X, y)
    assert_allclose(ridge.alphas_[0], top / 1e-3)
    assert_allclose(ridge.alphas_[-1], top / 1e-3 * 1e-6)


def test_path_is_warm_started():
    X, y, folds = _data(load_wine)
    clf = SoftmaxRegressorCV(alphas=ALPHAS, cv=folds).fit(X, y)
    assert clf.n_iter_.shape == (4, 3)
    cold = [SoftmaxRegressor(alpha=ALPHAS[-1]).fit(X[t], y[t]).n_iter_
            for t, _ in folds]
    assert np.all(clf.n_iter_[-1] < np.asarray(cold))


def test_sample_weight_routed_like_grid_search():
    X, y, folds = _data(load_wine)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        weighted = get_scorer("neg_log_loss").set_score_request(sample_weight=True)
        ours = SoftmaxRegressorCV(alphas=ALPHAS, cv=folds, scoring=weighted,
                                  tol=1e-9).fit(X, y, sample_weight=sw)
        grid = GridSearchCV(
            SoftmaxRegressor(tol=1e-9).set_fit_request(sample_weight=True),
            {"alpha": list(ALPHAS)}, cv=folds, scoring=weighted).fit(
                X, y, sample_weight=sw)
    split = np.array([grid.cv_results_[f"split{k}_test_score"] for k in range(3)]).T
    assert_allclose(ours.scores_, split, rtol=0, atol=1e-6)
    assert ours.alpha_ == grid.best_params_["alpha"]
    # without routing, sample_weight reaches the fits and the scorer, as in
    # LogisticRegressionCV
    plain = SoftmaxRegressorCV(alphas=ALPHAS, cv=folds, scoring="neg_log_loss",
                               tol=1e-9).fit(X, y, sample_weight=sw)
    assert_allclose(plain.scores_, ours.scores_, atol=1e-10)


def test_routing_groups_to_the_splitter_and_unrequested_errors():
    from sklearn.model_selection import GroupKFold

    X, y, _ = _data(load_breast_cancer)
    groups = np.arange(len(y)) % 4
    with sklearn.config_context(enable_metadata_routing=True):
        clf = SoftmaxRegressorCV(alphas=2, cv=GroupKFold(4)).fit(X, y, groups=groups)
        assert clf.scores_.shape == (2, 4)
        with pytest.raises(TypeError, match="foo"):
            SoftmaxRegressorCV(alphas=2, cv=3, scoring="neg_log_loss").fit(
                X, y, sample_weight=np.ones(len(y)), foo=1)
    with pytest.raises(ValueError, match="foo"):
        SoftmaxRegressorCV(alphas=2, cv=3).fit(X, y, foo=1)


def test_balanced_log_loss_and_weighted_default_scoring():
    X, y = load_breast_cancer(return_X_y=True)
    rows = np.r_[np.flatnonzero(y == 1)[:150], np.flatnonzero(y == 0)[:30]]
    X, y = StandardScaler().fit_transform(X[rows]), y[rows]  # 5:1
    prob = SoftmaxRegressor().fit(X, y).predict_proba(X)
    ref = log_loss(y, prob, sample_weight=compute_sample_weight("balanced", y))
    assert balanced_log_loss(y, prob) == pytest.approx(ref, rel=1e-12)
    folds = list(StratifiedKFold(3).split(X, y))
    ours = WeightedCEClassifierCV(alphas=ALPHAS, cv=folds, tol=1e-9).fit(X, y)
    grid = GridSearchCV(WeightedCEClassifier(tol=1e-9), {"alpha": list(ALPHAS)},
                        cv=folds, scoring=neg_balanced_log_loss).fit(X, y)
    split = np.array([grid.cv_results_[f"split{k}_test_score"] for k in range(3)]).T
    assert_allclose(ours.scores_, split, rtol=0, atol=1e-6)
    assert ours.alpha_ == grid.best_params_["alpha"]
    assert_allclose(ours.class_weight_, grid.best_estimator_.class_weight_)
    assert_allclose(ours.coef_, grid.best_estimator_.coef_, atol=1e-5)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_path_log_loss_equals_the_scorers(loader):
    """The path scores the log-loss scorers from the fold model's logits (no
    per-call validation): the same numbers as scikit-learn's scorer and the
    balanced one, binary and multiclass, weighted, float32; other scorers, or a
    test fold without a class, go through the scorer itself."""
    from skce._cv import _fast_scorer
    from skce.backends import backend_for

    X, y, _ = _data(loader)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    backend = backend_for(X)
    for est, scorer in [(SoftmaxRegressor(alpha=1e-3), get_scorer("neg_log_loss")),
                        (WeightedCEClassifier(alpha=1e-3, tau=1.0,
                                              logit_adjustment="post-hoc"),
                         neg_balanced_log_loss)]:
        for data in (X, X.astype(np.float32)):
            est.fit(data, y)
            for params in ({}, {"sample_weight": sw}):
                fast = _fast_scorer(scorer, params, backend, data, y, est.classes_)
                assert fast(est) == pytest.approx(scorer(est, data, y, **params),
                                                  rel=1e-6 if data is not X else 1e-12)
    assert _fast_scorer(get_scorer("accuracy"), {}, backend, X, y,
                        est.classes_) is None
    one_class = y == y[0]
    assert _fast_scorer(neg_balanced_log_loss, {}, backend, X[one_class],
                        y[one_class], est.classes_) is None


def test_inputs_float32_sparse_pandas_strings_and_not_modified():
    pd = pytest.importorskip("pandas")
    X, y, folds = _data(load_wine)
    ref = SoftmaxRegressorCV(alphas=3, cv=folds).fit(X, y)
    X32 = X.astype(np.float32)
    m32 = SoftmaxRegressorCV(alphas=3, cv=folds).fit(X32, y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert_allclose(m32.scores_, ref.scores_, atol=1e-4)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    dense = SoftmaxRegressorCV(alphas=3, cv=folds).fit(Xs.toarray(), y)
    sparse = SoftmaxRegressorCV(alphas=3, cv=folds).fit(Xs, y)
    assert_allclose(sparse.scores_, dense.scores_, atol=1e-8)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = pd.Series(np.array(["a", "b", "c"])[y])
    before = frame.copy()
    named = SoftmaxRegressorCV(alphas=3, cv=folds).fit(frame, labels)
    pd.testing.assert_frame_equal(frame, before)
    assert_array_equal(named.classes_, ["a", "b", "c"])
    assert_array_equal(named.feature_names_in_, frame.columns)
    assert_allclose(named.scores_, ref.scores_, atol=1e-10)
    assert_array_equal(named.predict(frame), np.array(["a", "b", "c"])[ref.predict(X)])


def test_dask_matches_numpy():
    da = pytest.importorskip("dask.array")
    X, y, folds = _data(load_wine)
    ref = SoftmaxRegressorCV(alphas=2, cv=folds).fit(X, y)
    clf = SoftmaxRegressorCV(alphas=2, cv=folds).fit(da.from_array(X, chunks=60),
                                                     da.from_array(y, chunks=60))
    assert_allclose(clf.scores_, ref.scores_, atol=1e-8)
    assert clf.alpha_ == ref.alpha_


def test_array_api_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    X, y, folds = _data(load_wine)
    ref = SoftmaxRegressorCV(alphas=1, cv=folds, scoring="accuracy").fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        clf = SoftmaxRegressorCV(alphas=1, cv=folds, scoring="accuracy").fit(
            torch.asarray(X), torch.asarray(y))
        assert isinstance(clf.coef_, torch.Tensor)
    assert_allclose(clf.scores_, ref.scores_, atol=1e-8)
    assert clf.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)


def test_refit_false_n_jobs_pipeline_clone_pickle():
    X, y, folds = _data(load_wine)
    ref = SoftmaxRegressorCV(alphas=3, cv=folds).fit(X, y)
    with joblib.parallel_backend("threading"):  # loky's start-up is slow in CI
        par = SoftmaxRegressorCV(alphas=3, cv=folds, n_jobs=2).fit(X, y)
    assert_allclose(par.scores_, ref.scores_, atol=1e-12)
    no = SoftmaxRegressorCV(alphas=3, cv=folds, refit=False).fit(X, y)
    best = list(ref.alphas_).index(ref.alpha_)
    assert_allclose(no.coef_, ref.coefs_paths_[best].mean(axis=0)[:, :-1])
    again = pickle.loads(pickle.dumps(ref))
    assert_array_equal(again.predict(X), ref.predict(X))
    assert clone(ref).get_params()["alphas"] == 3
    pipe = make_pipeline(StandardScaler(), SoftmaxRegressorCV(alphas=3, cv=3))
    search = GridSearchCV(pipe, {"softmaxregressorcv__fit_intercept": [True, False]},
                          cv=KFold(2, shuffle=True, random_state=0)).fit(X, y)
    assert search.best_estimator_[-1].scores_.shape == (3, 3)
    assert not hasattr(ref, "partial_fit")
    with pytest.raises(AttributeError, match="has no partial_fit"):
        getattr(SoftmaxRegressorCV(solver="sgd"), "partial_fit")  # noqa: B009


@pytest.mark.parametrize("params, match", [
    ({"alphas": 0}, "alphas must be a positive int or an array"),
    ({"alphas": [0.1, -1.0]}, "alphas must be a positive int or an array"),
    ({"alphas": "many"}, "alphas must be a positive int or an array"),
    ({"l1_ratios": [0.5, 2.0]}, "l1_ratios must be None or a non-empty list"),
    ({"l1_ratios": []}, "l1_ratios must be None or a non-empty list"),
    ({"alpha_min_ratio": 1.5}, "alpha_min_ratio"),
    ({"refit": "yes"}, "refit must be True or False"),
    ({"path_tol": -1.0}, r"path_tol must be a finite number in \[0.0, inf\)"),
    ({"path_tol": "fast"}, "path_tol must be a finite number"),
    ({"scoring": 3}, "scoring must be a scikit-learn scorer name"),
    ({"solver": "lbfgs", "l1_ratio": 0.5}, "does not support l1_ratio > 0"),
])
def test_parameter_errors(params, match):
    X, y, _ = _data(load_wine)
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressorCV(**params).fit(X, y)


def test_path_tol_auto():
    """"auto": 1e-6 for full-batch solvers along the path, ``tol`` when set; the
    refit always at ``tol``."""
    X, y, folds = _data(load_wine)
    auto = SoftmaxRegressorCV(alphas=3, cv=folds).fit(X, y)
    explicit = SoftmaxRegressorCV(alphas=3, cv=folds, path_tol=1e-6).fit(X, y)
    assert_array_equal(auto.scores_, explicit.scores_)
    tight = SoftmaxRegressorCV(alphas=3, cv=folds, tol=1e-9).fit(X, y)
    same = SoftmaxRegressorCV(alphas=3, cv=folds, tol=1e-9, path_tol=1e-9).fit(X, y)
    assert_array_equal(tight.scores_, same.scores_)
    assert np.abs(auto.scores_ - tight.scores_).max() < 1e-4
    assert not np.array_equal(auto.scores_, tight.scores_)


@pytest.mark.parametrize("refit", [True, False])
def test_post_hoc_offset_in_intercept_raw_on_the_path(refit):
    """intercept_ holds the post-hoc logit offset (decision_function = X coef_.T +
    intercept_), the path and the warm starts hold the fitted (raw) intercept."""
    X, y, folds = _data(load_wine)
    keep = y != 2
    X, y = X[keep][:90], y[keep][:90]
    kw = dict(class_weight=None, tau=1.0, logit_adjustment="post-hoc", tol=1e-10)
    cv = WeightedCEClassifierCV(alphas=2, cv=3, refit=refit, **kw).fit(X, y)
    assert_allclose(cv.intercept_, cv.raw_intercept_ + cv.logit_offset_)
    assert_allclose(cv.decision_function(X), X @ cv.coef_[0] + cv.intercept_[0])
    best = list(cv.alphas_).index(cv.alpha_)
    if refit:
        one = WeightedCEClassifier(alpha=cv.alpha_, **kw).fit(X, y)
        assert_allclose(cv.intercept_, one.intercept_, atol=1e-5)
    else:
        assert_allclose(cv.raw_intercept_, cv.coefs_paths_[best].mean(axis=0)[:, -1])


def test_data_errors():
    X, y, _ = _data(load_wine)
    soft = np.eye(3)[y] * 0.8 + 0.2 / 3
    with pytest.raises(ValueError, match="needs class labels y; got soft targets"):
        SoftmaxRegressorCV(alphas=2, cv=3).fit(X, soft)
    order = np.argsort(y, kind="stable")
    with pytest.raises(ValueError, match=r"A training fold lacks the classes \[2\]"):
        SoftmaxRegressorCV(alphas=2, cv=KFold(3)).fit(X[order][::-1], y[order][::-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxRegressorCV(alphas=2, cv=3).fit(X, np.zeros(len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="features"):
            SoftmaxRegressorCV(alphas=2, cv=3).fit(X, y).predict(X[:, :3])
