"""SoftmaxRegressor's estimator API: predictions, labels, pandas, meta-estimators,
metadata routing, soft targets, label smoothing and class weights."""

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from _skce_data import dataset, iris, objective_value
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skce import SoftmaxRegressor
from skce.solvers import LBFGS, Adam

# newton-cg at tol=1e-10 ends with a gradient of ~1e-13: fits of the same
# objective reached by different routes agree to ~1e-9 (lbfgs stops on a relative
# decrease of 64 eps, ~1e-5 from the optimum in the coefficients)
TIGHT = {"solver": "newton-cg", "tol": 1e-10, "max_iter": 1000}


def test_is_a_classifier():
    assert is_classifier(SoftmaxRegressor())
    assert SoftmaxRegressor().get_params()["solver"] == "auto"


@pytest.mark.parametrize("name", ["iris", "iris_binary"])
def test_prediction_methods_agree(name):
    X, X_test, y, y_test = dataset(name)
    clf = SoftmaxRegressor().fit(X, y)
    K = len(np.unique(y))
    n = X_test.shape[0]
    assert clf.fit(X, y) is clf
    assert_array_equal(clf.classes_, np.unique(y))
    assert clf.n_features_in_ == X.shape[1]
    assert clf.coef_.shape == ((1, 4) if K == 2 else (K, 4))
    scores = clf.decision_function(X_test)
    assert_allclose(scores, np.squeeze(X_test @ clf.coef_.T + clf.intercept_))
    proba = clf.predict_proba(X_test)
    log_proba = clf.predict_log_proba(X_test)
    assert proba.shape == log_proba.shape == (n, K)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(np.exp(log_proba), proba, rtol=1e-12)
    if K == 2:
        assert_allclose(log_proba, np.column_stack([log_expit(-scores),
                                                    log_expit(scores)]), rtol=1e-12)
        assert scores.shape == (n,)
        assert_allclose(proba[:, 1], expit(scores))
        assert_array_equal(clf.predict(X_test), clf.classes_[(scores > 0).astype(int)])
    else:
        assert scores.shape == (n, K)
        assert_allclose(proba, softmax(scores, axis=1))
        assert_allclose(log_proba, log_softmax(scores, axis=1), rtol=1e-12)
        assert_allclose(clf.intercept_.sum(), 0.0, atol=1e-12)
    pred = clf.predict(X_test)
    assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X_test, y_test) == accuracy_score(y_test, pred)
    assert clf.score(X_test, y_test) > 0.85


def test_sparse_input_gives_the_dense_fit():
    X, X_test, y, _ = dataset("digits")
    dense = SoftmaxRegressor(**TIGHT).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = SoftmaxRegressor(**TIGHT).fit(fmt(X), y)
        assert_allclose(sparse.coef_, dense.coef_, rtol=1e-5, atol=1e-6)
        assert_allclose(sparse.predict_proba(fmt(X_test)), dense.predict_proba(X_test),
                        atol=1e-7)


def test_string_labels_and_pandas():
    X, y = iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = SoftmaxRegressor().fit(X, names)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.predict(X[:2]).tolist() == ["setosa", "setosa"]
    ref = SoftmaxRegressor().fit(X, y)
    assert_allclose(clf.coef_, ref.coef_)

    df = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    cat = pd.Series(pd.Categorical(names))
    clf = SoftmaxRegressor().fit(df, cat)
    assert_array_equal(clf.feature_names_in_, ["sl", "sw", "pl", "pw"])
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert_allclose(clf.coef_, ref.coef_)
    assert_array_equal(clf.predict(df), clf.classes_[ref.predict(X)])
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(df.rename(columns={"sl": "other"}))
    # integer labels that are not 0..K-1, and a binary string problem
    clf = SoftmaxRegressor().fit(X, y * 10 - 5)
    assert_array_equal(clf.classes_, [-5, 5, 15])
    yes_no = np.where(y == 0, "yes", "no")
    clf = SoftmaxRegressor().fit(X, yes_no)
    assert clf.coef_.shape == (1, 4)
    assert_array_equal(clf.classes_, ["no", "yes"])
    assert clf.score(X, yes_no) == 1.0


def test_pipeline_and_cross_val_score():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SoftmaxRegressor())
    scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=0))
    manual = []
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        scaler = StandardScaler().fit(X[train])
        clf = SoftmaxRegressor().fit(scaler.transform(X[train]), y[train])
        manual.append(clf.score(scaler.transform(X[test]), y[test]))
    assert_allclose(scores, manual)
    assert scores.mean() > 0.95


def test_grid_search_over_nested_solver_parameters():
    X, y = iris()
    search = GridSearchCV(SoftmaxRegressor(solver=LBFGS()),
                          {"solver__history_size": [3, 10], "alpha": [1e-4, 1e-1]},
                          cv=3).fit(X, y)
    assert search.best_params_["solver__history_size"] in (3, 10)
    best = search.best_estimator_
    assert isinstance(best.solver, LBFGS)
    assert best.solver.history_size == search.best_params_["solver__history_size"]
    assert len(search.cv_results_["params"]) == 4


def test_grid_search_over_the_learning_rate():
    X, y = iris()
    solver = Adam(learning_rate=0.5)
    est = SoftmaxRegressor(solver=solver, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(est, {"solver__learning_rate": [1e-4, 0.05]},
                              cv=3).fit(X, y)
    # five epochs at 1e-4 barely move from the prior; 0.05 learns iris
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.2
    assert search.best_params_ == {"solver__learning_rate": 0.05}
    assert search.best_estimator_.solver.learning_rate == 0.05
    assert solver.learning_rate == 0.5  # the object passed in is never modified


def test_clone_and_get_params():
    est = SoftmaxRegressor(solver=Adam(learning_rate=0.01, beta_1=0.8), alpha=0.1)
    params = est.get_params()
    assert params["solver__learning_rate"] == 0.01
    assert params["solver__beta_1"] == 0.8
    copy = clone(est)
    assert copy.solver is not est.solver
    assert copy.solver.get_params() == est.solver.get_params()
    copy.set_params(solver__learning_rate=0.2)
    assert est.solver.learning_rate == 0.01


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_pickle_round_trip(solver):
    X, y = iris()
    clf = SoftmaxRegressor(solver=solver, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.get_params().keys() == clf.get_params().keys()


def test_metadata_routing_sends_sample_weight_to_fit():
    X, _, y, _ = dataset("wine")
    X = X * 3.0 + 1.0  # let the scaler matter
    sw = np.random.default_rng(0).uniform(0.1, 5.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([
            ("scale", StandardScaler().set_fit_request(sample_weight=False)),
            ("clf", SoftmaxRegressor(**TIGHT).set_fit_request(sample_weight=True)
             .set_score_request(sample_weight=True)),
        ])
        pipe.fit(X, y, sample_weight=sw)
        search = GridSearchCV(pipe, {"clf__alpha": [1e-3]}, cv=2).fit(
            X, y, sample_weight=sw)
    Xs = StandardScaler().fit_transform(X)
    direct = SoftmaxRegressor(**TIGHT).fit(Xs, y, sample_weight=sw)
    unweighted = SoftmaxRegressor(**TIGHT).fit(Xs, y)
    assert_allclose(pipe[-1].coef_, direct.coef_, rtol=1e-6, atol=1e-8)
    assert not np.allclose(unweighted.coef_, direct.coef_, rtol=1e-3)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    direct_best = SoftmaxRegressor(alpha=1e-3, **TIGHT).fit(Xs, y, sample_weight=sw)
    assert_allclose(search.best_estimator_[-1].coef_, direct_best.coef_, rtol=1e-6,
                    atol=1e-8)


def test_soft_targets():
    X, _, y, _ = dataset("wine")
    onehot = np.eye(3)[y]
    hard = SoftmaxRegressor(**TIGHT).fit(X, y)
    soft = SoftmaxRegressor(**TIGHT).fit(X, onehot)
    assert_array_equal(soft.classes_, np.arange(3))
    assert_allclose(soft.coef_, hard.coef_, rtol=1e-6, atol=1e-8)
    # a genuine distribution: the fit is stationary for the independent objective
    rng = np.random.default_rng(0)
    T = 0.6 * onehot + 0.4 * rng.dirichlet(np.ones(3), size=len(y))
    clf = SoftmaxRegressor(alpha=1e-2, **TIGHT).fit(X, T)
    f0 = _soft_objective(clf.coef_, clf.intercept_, X, T, 1e-2)
    for _ in range(3):
        dW = rng.normal(size=clf.coef_.shape) * 1e-3
        assert _soft_objective(clf.coef_ + dW, clf.intercept_, X, T, 1e-2) > f0
    # binary soft targets use one logit, like binary labels
    yb = (y == 1).astype(int)
    soft2 = SoftmaxRegressor(**TIGHT).fit(X, np.eye(2)[yb])
    hard2 = SoftmaxRegressor(**TIGHT).fit(X, yb)
    assert soft2.coef_.shape == (1, X.shape[1])
    assert_allclose(soft2.coef_, hard2.coef_, rtol=1e-6, atol=1e-8)


def _soft_objective(coef, intercept, X, T, alpha):
    from scipy.special import logsumexp

    Z = X @ coef.T + intercept
    ce = logsumexp(Z, axis=1) - np.sum(T * Z, axis=1)
    return ce.mean() + alpha / 2 * np.sum(coef**2)


def test_column_vector_y_warns():
    X, y = iris()
    with pytest.warns(DataConversionWarning, match="column-vector y was passed"):
        clf = SoftmaxRegressor().fit(X, y[:, None])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert_allclose(clf.coef_, SoftmaxRegressor().fit(X, y).coef_)


@pytest.mark.parametrize("name", ["wine", "iris_binary"])
def test_label_smoothing_equals_smoothed_soft_targets(name):
    X, _, y, _ = dataset(name)
    classes, codes = np.unique(y, return_inverse=True)
    K = len(classes)
    eps = 0.2
    smoothed = SoftmaxRegressor(label_smoothing=eps, **TIGHT).fit(X, y)
    T = (1 - eps) * np.eye(K)[codes] + eps / K
    soft = SoftmaxRegressor(**TIGHT).fit(X, T)
    assert_allclose(smoothed.coef_, soft.coef_, rtol=1e-6, atol=1e-8)
    assert_array_equal(smoothed.classes_, classes)
    # smoothing makes the model less confident
    plain = SoftmaxRegressor(**TIGHT).fit(X, y)
    assert smoothed.predict_proba(X).max() < plain.predict_proba(X).max()


def test_class_weight_equals_sample_weight():
    X, _, y, _ = dataset("wine")
    weights = {0: 2.0, 1: 0.5, 2: 1.0}
    by_class = SoftmaxRegressor(class_weight=weights, **TIGHT).fit(X, y)
    by_sample = SoftmaxRegressor(**TIGHT).fit(
        X, y, sample_weight=np.array([weights[c] for c in y]))
    assert_array_equal(by_class.coef_, by_sample.coef_)  # the same arithmetic
    assert_array_equal(by_class.intercept_, by_sample.intercept_)
    balanced = SoftmaxRegressor(class_weight="balanced", **TIGHT).fit(X, y)
    ref = SoftmaxRegressor(**TIGHT).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_allclose(balanced.coef_, ref.coef_, rtol=1e-12, atol=1e-14)
    # class and sample weights multiply
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    both = SoftmaxRegressor(class_weight=weights, **TIGHT).fit(X, y, sample_weight=sw)
    ref = SoftmaxRegressor(**TIGHT).fit(
        X, y, sample_weight=sw * np.array([weights[c] for c in y]))
    assert_allclose(both.coef_, ref.coef_, rtol=1e-12, atol=1e-14)


def test_sample_weight_equals_repetition():
    X, y = iris()
    counts = np.random.default_rng(0).integers(0, 4, len(y))
    weighted = SoftmaxRegressor(**TIGHT).fit(X, y, sample_weight=counts)
    repeated = SoftmaxRegressor(**TIGHT).fit(np.repeat(X, counts, axis=0),
                                             np.repeat(y, counts))
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)


def test_fit_minimizes_the_documented_objective():
    # alpha in the objective is per unit weight: scaling all weights changes nothing
    X, _, y, _ = dataset("breast_cancer")
    a = SoftmaxRegressor(alpha=1e-2, **TIGHT).fit(X, y)
    b = SoftmaxRegressor(alpha=1e-2, **TIGHT).fit(X, y, sample_weight=np.full(len(y),
                                                                              7.0))
    assert_allclose(a.coef_, b.coef_, rtol=1e-7, atol=1e-10)
    f = objective_value(a.coef_, a.intercept_, X, y, alpha=1e-2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        dW = rng.normal(size=a.coef_.shape) * 1e-3
        assert objective_value(a.coef_ + dW, a.intercept_, X, y, alpha=1e-2) > f


def test_partial_fit_only_with_stochastic_solvers():
    X, y = iris()
    assert not hasattr(SoftmaxRegressor(), "partial_fit")
    assert hasattr(SoftmaxRegressor(solver="adam"), "partial_fit")
    with pytest.raises(AttributeError) as exc:
        SoftmaxRegressor(solver="newton-cg").partial_fit(X, y, classes=[0, 1, 2])
    # the reason is the error itself or (through available_if) its cause
    message = f"{exc.value} {exc.value.__cause__}"
    assert re.search(r"partial_fit needs a stochastic solver; solver='newton-cg' is "
                     r"full-batch. Use one of \['sgd', .*'adam'\]", message)


def test_demo_doctests_and_command_line():
    # pytest's --doctest-modules skips __main__.py: run its examples here
    import doctest
    import subprocess
    import sys

    import skce.__main__

    result = doctest.testmod(skce.__main__, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5
    assert result.failed == 0
    out = subprocess.run(
        [sys.executable, "-m", "skce", "--alphas", "1e-2", "--solvers", "newton-cg",
         "--cv", "2"], capture_output=True, text=True, check=True).stdout
    assert "chosen: alpha=0.01, solver='newton-cg'" in out
    assert "LogisticRegression(C=0.07424, tol=1e-7)" in out


def test_readme_example_runs():
    # the README's Python example, verbatim
    import contextlib
    import io
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent / "README.md"
    if not readme.exists():  # pragma: no cover - tests run outside the checkout
        pytest.skip("README.md is not next to the tests")
    code = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(code, str(readme), "exec"), {})
    score = float(out.getvalue().splitlines()[0])
    assert 0.95 <= score <= 0.975  # "about 0.96"
