"""In production: skops files that trust only public types, warm starts after a
round trip, the decision-function intercept that shap and converters read, and
the HTML repr's documentation link.

Fits are short on purpose (``max_iter=3``): what matters is that the round trip
changes nothing.
"""

import pickle

import numpy as np
import pytest
from _skce_data import blobs
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

import skce
from skce import SoftmaxRegressor, WeightedCEClassifier
from skce._fit import loop_state
from skce.solvers import SOLVERS, Adam, CosineDecay, Momentum

sio = pytest.importorskip("skops.io")
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _data(n=90, n_features=4, K=3, seed=0):
    return blobs(n, n_features, K, seed)


def _skops_round_trip(model):
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= set(skce.TRUSTED_TYPES), untrusted
    return sio.loads(data, trusted=list(skce.TRUSTED_TYPES)), untrusted


def test_trusted_types_are_the_public_classes():
    assert skce.TRUSTED_TYPES == tuple(sorted(skce.TRUSTED_TYPES))
    assert {"skce.SoftmaxRegressor", "skce.WeightedCEClassifier",
            "skce.solvers.LBFGS", "skce.solvers.Adam",
            "skce.solvers.CosineDecay"} <= set(skce.TRUSTED_TYPES)
    for name in skce.TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        obj = getattr(pytest.importorskip(module), attr)
        assert f"{obj.__module__}.{obj.__qualname__}" == name
        assert "._" not in name  # nothing private to trust


@pytest.mark.parametrize("estimator", [SoftmaxRegressor, WeightedCEClassifier])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_skops_round_trip_trusts_only_public_types(estimator, solver):
    X, y = _data()
    kw = dict(tau=1.0, logit_adjustment="post-hoc") \
        if estimator is WeightedCEClassifier else {}
    model = estimator(solver=solver, max_iter=3, random_state=0, **kw).fit(X, y)
    back, untrusted = _skops_round_trip(model)
    assert f"skce.{estimator.__name__}" in untrusted
    assert f"skce.solvers.{type(model.solver_).__name__}" in untrusted
    for method in METHODS:
        assert_array_equal(getattr(back, method)(X), getattr(model, method)(X))
    # nothing private anywhere in the fitted estimator, pickled either
    assert b"skce._" not in pickle.dumps(model)


@pytest.mark.parametrize("estimator", [SoftmaxRegressor, WeightedCEClassifier])
@pytest.mark.parametrize("how", ["skops", "pickle"])
def test_warm_start_and_partial_fit_continue_after_a_round_trip(estimator, how):
    """The optimizer state stored as plain data comes back as the optimizer's
    state: continuing after a round trip equals continuing without one."""
    X, y = _data()

    def trip(model):
        if how == "pickle":
            return pickle.loads(pickle.dumps(model))
        return _skops_round_trip(model)[0]

    solver = Adam(learning_rate=CosineDecay(0.05), batch_size=16)
    model = estimator(solver=solver, max_iter=3, warm_start=True,
                      random_state=0).fit(X, y)
    back = trip(model)
    assert isinstance(model._loop, dict)
    assert isinstance(model._loop["optimizer_state"], dict)
    for m in (model, back):
        m.set_params(max_iter=2).fit(X, y)
    assert back.n_iter_ == model.n_iter_ == 5
    assert_array_equal(back.coef_, model.coef_)
    assert_array_equal(back.intercept_, model.intercept_)
    # partial_fit: optimizer state, schedule state and shuffling stream
    model = estimator(solver="adagrad", random_state=0)
    model.partial_fit(X[:45], y[:45], classes=[0, 1, 2])
    back = trip(model)
    for m in (model, back):
        m.partial_fit(X[45:], y[45:])
    assert_array_equal(back.coef_, model.coef_)


def test_state_of_another_optimizer_restarts_cleanly():
    X, y = _data()
    model = SoftmaxRegressor(solver="adam", max_iter=2, warm_start=True,
                             random_state=0).fit(X, y)
    model.set_params(solver="momentum").fit(X, y)
    fresh = Momentum().init(np.zeros((5, 3)))
    state = loop_state(model).optimizer_state
    assert type(state) is type(fresh)
    assert state.t == 2 * 3  # counted from the reset: two epochs of 3 batches of 32


def test_post_hoc_offset_is_in_intercept_as_shap_reads_it():
    """shap's LinearExplainer (and any converter) takes coef_ and intercept_: its
    base value mean(X) @ coef_.T + intercept_ must be the mean decision value.
    Before the offset was folded in, it was off by tau * log(357 / 212) = 0.521
    on breast_cancer."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = WeightedCEClassifier(class_weight=None, tau=1.0,
                               logit_adjustment="post-hoc").fit(X, y)
    base_value = X.mean(axis=0) @ clf.coef_.T + clf.intercept_
    assert_allclose(base_value, clf.decision_function(X).mean(), rtol=1e-12)
    assert_allclose(clf.decision_function(X), X @ clf.coef_[0] + clf.intercept_[0],
                    rtol=1e-12, atol=1e-12)
    shift = -np.log(357 / 212)  # -tau * (log prior_1 - log prior_0)
    assert_allclose(clf.logit_offset_, [shift], rtol=1e-12)
    assert_allclose(clf.intercept_ - clf.raw_intercept_, [shift], rtol=1e-12)
    # the raw intercept is the ordinary fit's
    plain = WeightedCEClassifier(class_weight=None).fit(X, y)
    assert_array_equal(clf.raw_intercept_, plain.intercept_)
    assert_array_equal(plain.raw_intercept_, plain.intercept_)


def test_post_hoc_warm_start_starts_from_the_raw_intercept():
    """A warm refit of a converged post-hoc model stays where it was (it would
    apply the offset twice if it started from intercept_)."""
    X, y = _data(K=3)
    clf = WeightedCEClassifier(class_weight=None, tau=1.0, logit_adjustment="post-hoc",
                               warm_start=True, tol=1e-10).fit(X, y)
    before = clf.intercept_.copy()
    clf.fit(X, y)
    assert_allclose(clf.intercept_, before, atol=1e-8)
    assert np.abs(clf.logit_offset_).max() > 0.05
    # switching the adjustment off: a warm refit from the raw intercept, which
    # then is intercept_ (the offset is zero)
    raw = clf.raw_intercept_.copy()
    clf.set_params(logit_adjustment="loss", tau=0.0).fit(X, y)
    assert_allclose(clf.intercept_, raw, atol=1e-6)
    assert_array_equal(clf.raw_intercept_, clf.intercept_)


def test_html_repr_links_to_the_api_page():
    """The "?" of the HTML repr opens the class's page of the API reference,
    generated/<public path>.html (tests/test_docs.py checks that the build makes
    those pages)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    base = "https://skce.readthedocs.io/en/stable/generated/"
    assert SoftmaxRegressor()._get_doc_link() == base + "skce.SoftmaxRegressor.html"
    assert Adam()._get_doc_link() == base + "skce.solvers.Adam.html"
    for name in skce.TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        cls = getattr(pytest.importorskip(module), attr)
        if attr not in ("FullBatchSolver", "FirstOrderSolver", "Schedule"):
            assert cls()._get_doc_link() == f"{base}{name}.html"
    html = make_pipeline(StandardScaler(),
                         WeightedCEClassifier(solver=Adam()))._repr_html_()
    assert f'href="{base}skce.WeightedCEClassifier.html"' in html


def test_readme_benchmark_section_is_generated_from_latest_json():
    """The README's benchmark numbers are benchmarks/readme_table.py's rendering
    of benchmarks/results/latest.json, not retyped."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    path = root / "benchmarks" / "readme_table.py"
    if not path.exists():  # pragma: no cover - an installed copy
        pytest.skip("benchmarks/ is not next to the tests")
    spec = importlib.util.spec_from_file_location("readme_table", path)
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    results = json.loads((root / "benchmarks/results/latest.json").read_text())
    readme = (root / "README.md").read_text()
    assert table.section(results) in readme
    assert table.main(["--check"]) == 0
    # a value of the file, formatted as the README shows it
    t = next(run["time_to"]["1e-06"] for res in results["time"].values()
             for name, run in res["runs"].items()
             if name == "skce lbfgs" and run["time_to"]["1e-06"] is not None)
    assert f"| {table._t(t)} |" in readme
    with pytest.raises(ValueError, match="README.md has no section between"):
        table.replace("no markers", results)
    # the CV rows come from cv.json's schema when that file exists
    cv = {"machine": {}, "problems": [{
        "name": "digits", "skce_s": 0.5, "lrcv_solver": "lbfgs", "lrcv_s": 1.25,
        "grid_s": 3.0, "ratio_lrcv": 0.4, "ratio_grid": 1 / 6, "n_folds": 5,
        "n_alphas": 20}]}
    assert "| digits | 5 x 20 | 0.5 | 1.25 (lbfgs) | 0.40 | 3 | 0.17 |" in \
        table.render(results, cv)
    assert "Cross-validation" not in table.render(results, None)


def test_pickles_naming_the_private_modules_still_load():
    """Files written before the classes took their public paths name
    skce._softmax.SoftmaxRegressor and skce.solvers._first_order.Adam: those
    names still resolve, to the same classes."""
    X, y = _data()
    model = SoftmaxRegressor(solver="adam", max_iter=2, random_state=0).fit(X, y)
    data = pickle.dumps(model, protocol=0)
    assert b"cskce\nSoftmaxRegressor\n" in data
    old = data.replace(b"cskce\nSoftmaxRegressor\n",
                       b"cskce._softmax\nSoftmaxRegressor\n").replace(
        b"cskce.solvers\nAdam\n", b"cskce.solvers._first_order\nAdam\n")
    assert old != data
    back = pickle.loads(old)
    assert type(back) is SoftmaxRegressor and type(back.solver_) is Adam
    assert_array_equal(back.predict_proba(X), model.predict_proba(X))
