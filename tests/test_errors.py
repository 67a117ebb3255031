"""Bad input gets a clear error (each message asserted) and inputs are never
modified in place."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skce import SoftmaxRegressor


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.arange(30) % 3
    return X, y


@pytest.mark.parametrize("bad, match", [
    (np.nan, "Input X contains NaN"),
    (np.inf, "Input X contains infinity"),
    (-np.inf, "Input X contains infinity"),
])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_non_finite_X(data, bad, match, container):
    X, y = data
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressor().fit(container(X), y)
    clf = SoftmaxRegressor().fit(data[0], y)
    with pytest.raises(ValueError, match=match):
        clf.predict(container(X))


@pytest.mark.parametrize("sw, match", [
    ([np.nan] + [1.0] * 29, "sample_weight contains NaN or infinity"),
    ([np.inf] + [1.0] * 29, "sample_weight contains NaN or infinity"),
    ([-1.0] + [1.0] * 29, "sample_weight must be non-negative; got negative values"),
    ([0.0] * 30, "sample_weight sums to zero: at least one sample needs a positive "
                 "weight"),
    ([1.0] * 29, re.escape("sample_weight.shape == (29,), expected (30,)!")),
    (np.ones((30, 2)), re.escape("sample_weight.shape == (30, 2), expected (30,)!")),
    (["a"] * 30, "sample_weight must be numeric; got dtype <U1"),
])
def test_bad_sample_weight(data, sw, match):
    X, y = data
    sw = np.asarray(sw)
    before = sw.copy()
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressor().fit(X, y, sample_weight=sw)
    assert_array_equal(sw, before)


def test_class_weight_zeroing_every_sample(data):
    X, y = data
    with pytest.raises(ValueError, match="All samples have zero weight after "
                                         "applying class_weight"):
        SoftmaxRegressor(class_weight={0: 0, 1: 0, 2: 0}).fit(X, y)


def test_single_class(data):
    X, _ = data
    with pytest.raises(ValueError, match=re.escape(
            "SoftmaxRegressor needs samples of at least 2 classes; got 1 class: "
            "['a']")):
        SoftmaxRegressor().fit(X, ["a"] * 30)


def test_mismatched_lengths(data):
    X, y = data
    with pytest.raises(ValueError, match="X and y have inconsistent numbers of "
                                         "samples: 30 and 29."):
        SoftmaxRegressor().fit(X, y[:29])
    with pytest.raises(ValueError, match="inconsistent numbers of samples: 30 and 29"):
        SoftmaxRegressor().fit(X, np.eye(3)[y][:29])


def test_y_none_and_continuous_y(data):
    X, y = data
    with pytest.raises(ValueError, match="requires y to be passed"):
        SoftmaxRegressor().fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        SoftmaxRegressor().fit(X, np.linspace(0, 1, 30))


def test_empty_data(data):
    X, y = data
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        SoftmaxRegressor().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match=r"Found array with 0 feature\(s\)"):
        SoftmaxRegressor().fit(X[:, :0], y)


def test_predict_with_wrong_number_of_features(data):
    X, y = data
    clf = SoftmaxRegressor().fit(X, y)
    for method in ("predict", "predict_proba", "predict_log_proba",
                   "decision_function"):
        with pytest.raises(ValueError, match="X has 3 features, but SoftmaxRegressor "
                                             "is expecting 4 features as input"):
            getattr(clf, method)(X[:, :3])


def test_predict_before_fit(data):
    with pytest.raises(NotFittedError, match="This SoftmaxRegressor instance is not "
                                             "fitted yet"):
        SoftmaxRegressor().predict(data[0])


@pytest.mark.parametrize("T, match", [
    (np.full((30, 3), 0.5), r"must have rows summing to 1; row 0 sums to 1.5 "
                            r"\(30 rows off\)"),
    (np.tile([1.5, -0.5, 0.0], (30, 1)), "must be finite and non-negative"),
    (np.tile([np.nan, 0.5, 0.5], (30, 1)), "must be finite and non-negative"),
    (np.tile(["a", "b", "c"], (30, 1)), "2-D y is read as soft targets and must be "
                                        "numeric; got dtype <U1"),
])
def test_bad_soft_targets(data, T, match):
    X, _ = data
    before = T.copy()
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressor().fit(X, T)
    assert_array_equal(T, before)


@pytest.mark.parametrize("class_weight, match", [
    ({0: 1.0, 7: 2.0}, re.escape("class_weight names classes that are not in the "
                                 "training labels: [7]; the classes are [0, 1, 2]")),
    ({0: -1.0}, re.escape("class_weight[0] must be a finite non-negative number; "
                          "got -1.0")),
    ({0: np.nan}, re.escape("class_weight[0] must be a finite non-negative number")),
    ("balanced_sqrt", re.escape("class_weight='balanced_sqrt' is not supported; use "
                                "None, a dict {class: weight} or one of "
                                "['balanced']")),
    ([1.0, 2.0, 3.0], "class_weight must be None, a dict or a string; got list"),
])
def test_bad_class_weight(data, class_weight, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressor(class_weight=class_weight).fit(X, y)


def test_unknown_solver(data):
    X, y = data
    with pytest.raises(ValueError, match=re.escape(
            "Unknown solver 'newton'; use one of ['adagrad', 'adam', 'auto', 'gd', "
            "'lbfgs', "
            "'minibatch', 'momentum', 'nesterov', 'newton-cg', 'rmsprop', "
            "'saga', 'sgd'] or a "
            "solver object from skce.solvers.")):
        SoftmaxRegressor(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="solver=3 is neither a solver name"):
        SoftmaxRegressor(solver=3).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"alpha": -1.0}, r"alpha must be a finite number in \[0.0, inf\); got "
                      r"alpha=-1.0."),
    ({"alpha": np.inf}, r"alpha must be a finite number in \[0.0, inf\); got "
                        r"alpha=inf."),
    ({"alpha": "1"}, r"alpha must be a finite number"),
    ({"l1_ratio": 1.5}, r"l1_ratio must be a finite number in \[0.0, 1.0\]; got "
                        r"l1_ratio=1.5."),
    ({"l1_ratio": -0.1}, r"l1_ratio must be a finite number in \[0.0, 1.0\]"),
    ({"label_smoothing": 1.0}, r"label_smoothing must be a finite number in "
                               r"\[0.0, 1.0\); got label_smoothing=1.0."),
    ({"label_smoothing": -0.1}, r"label_smoothing must be a finite number in "
                                r"\[0.0, 1.0\)"),
    ({"max_iter": 0}, r"max_iter must be an integer in \[1, inf\) or None; got "
                      r"max_iter=0."),
    ({"max_iter": 2.5}, r"max_iter must be an integer"),
    ({"max_iter": True}, r"max_iter must be an integer"),
    ({"tol": -1e-3}, r"tol must be a finite number in \[0.0, inf\) or None"),
    ({"fit_intercept": "yes"}, r"fit_intercept must be True or False; got 'yes'."),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a finite number "
                                   r"in \(0.0, 1.0\)"),
    ({"n_iter_no_change": 0}, r"n_iter_no_change must be an integer in \[1, inf\)"),
    ({"max_time": 0.0}, r"max_time must be a finite number in \(0.0, inf\) or None"),
    ({"callbacks": [1]}, r"callbacks must be a list of callables \(or None\)."),
])
def test_bad_hyperparameters(data, params, match):
    X, y = data
    est = SoftmaxRegressor(**params)
    assert est.get_params()[next(iter(params))] is next(iter(params.values()))
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_partial_fit_needs_classes(data):
    X, y = data
    clf = SoftmaxRegressor(solver="sgd")
    with pytest.raises(ValueError, match="classes must be passed on the first call "
                                         "to partial_fit"):
        clf.partial_fit(X, y)


# ---------------------------------------------------------------- no in-place edits
@pytest.mark.parametrize("container", [np.asarray, np.asfortranarray, sp.csr_matrix,
                                       sp.csc_matrix])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "gd", "sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inputs_are_never_modified(container, solver, dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5)).astype(dtype)
    X[rng.uniform(size=X.shape) < 0.3] = 0.0
    X = container(X)
    y = np.arange(40) % 3
    sw = rng.uniform(0.5, 2.0, 40)
    copies = (X.copy(), y.copy(), sw.copy())
    arrays = [X] if not sp.issparse(X) else [X.data, X.indices, X.indptr]
    for a in (*arrays, y, sw):
        a.flags.writeable = False  # a write raises, even one of the same value
    clf = SoftmaxRegressor(solver=solver, max_iter=5, class_weight="balanced",
                           label_smoothing=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 5 iterations
        clf.fit(X, y, sample_weight=sw)
    clf.predict_proba(X)
    X0, y0, sw0 = copies
    if sp.issparse(X):
        assert (X != X0).nnz == 0
        assert X.format == X0.format
    else:
        assert_array_equal(X, X0)
    assert X.dtype == dtype
    assert_array_equal(y, y0)
    assert_array_equal(sw, sw0)
    assert clf.coef_.dtype == dtype


def test_soft_targets_and_weights_are_not_modified(data):
    X, y = data
    T = np.eye(3)[y] * 0.8 + 0.2 / 3
    sw = np.linspace(0.5, 2.0, 30)
    T0, sw0 = T.copy(), sw.copy()
    SoftmaxRegressor(label_smoothing=0.2, class_weight="balanced").fit(
        X, T, sample_weight=sw)
    assert_array_equal(T, T0)
    assert_array_equal(sw, sw0)


@pytest.mark.parametrize("option", ["full", 0, -5, 2.5, True])
def test_bad_hessian_subsample(data, option):
    from skce.solvers import NewtonCG

    X, y = data
    with pytest.raises(ValueError, match=re.escape(
            f"hessian_subsample must be 'auto', a positive integer or None; got "
            f"{option!r}.")):
        SoftmaxRegressor(solver=NewtonCG(hessian_subsample=option)).fit(X, y)
