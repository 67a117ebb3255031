"""Fuzzing the public fit/predict API with random hyperparameters and data.

Every hyperparameter is drawn from its documented range (and, now and then, from
just outside it), the data from random shapes, dtypes, sparse formats, label types,
sample weights and soft targets. A fit must either succeed, with finite
coefficients and valid probabilities, or raise one of the library's documented
errors: ValueError (invalid input or hyperparameter) or FloatingPointError
(divergence). Warnings are allowed only from the documented kinds
(ConvergenceWarning, scikit-learn's data warnings); a numpy RuntimeWarning (overflow,
invalid value) is a failure.

Bounded in time: ``SKCE_FUZZ_SECONDS`` (default 5 s locally, 60 s under the "ci"
hypothesis profile); once the budget is spent the remaining examples return at once.
``--hypothesis-show-statistics`` reports how many examples ran ("fuzz: ran") and
which outcomes they had; ``SKCE_FUZZ_LOG=<file>`` appends every documented error's
message to a file, to read them by hand.
"""

import math
import os
import time
import warnings

import numpy as np
import scipy.sparse as sp
from conftest_hypothesis import IN_CI, estimators, examples
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from skce import solvers as S

BUDGET = float(os.environ.get("SKCE_FUZZ_SECONDS", 60 if IN_CI else 5))
ESTIMATORS = estimators()
DOCUMENTED_ERRORS = (ValueError, FloatingPointError)
ALLOWED_WARNINGS = (ConvergenceWarning, DataConversionWarning)
STOCHASTIC_NAMES = ["sgd", "minibatch", "momentum", "nesterov", "adagrad", "rmsprop",
                    "adam"]

_clock = {"start": None, "failed": False}


def _budget_left():
    if _clock["start"] is None:
        _clock["start"] = time.perf_counter()
    # once something failed, hypothesis replays and shrinks it: never cut that short
    return _clock["failed"] or time.perf_counter() - _clock["start"] < BUDGET


# ----------------------------------------------------------- strategies
def _rarely(strategy, otherwise, one_in=4):
    """``strategy`` about once in ``one_in`` draws, else ``otherwise``."""
    return st.integers(1, one_in).flatmap(lambda i: strategy if i == 1 else otherwise)


learning_rates = st.one_of(
    st.just("auto"),
    st.floats(1e-4, 10.0),
    st.builds(S.Constant, st.floats(1e-4, 1.0)),
    st.builds(S.InverseScaling, st.floats(1e-4, 1.0), st.floats(0.1, 1.0),
              st.floats(1.0, 1e4)),
    st.builds(S.StepDecay, st.floats(1e-4, 1.0), st.integers(1, 10),
              st.floats(0.1, 0.9)),
    st.builds(S.ExponentialDecay, st.floats(1e-4, 1.0), st.floats(0.5, 0.999)),
    st.builds(S.CosineDecay, st.floats(1e-4, 1.0),
              st.one_of(st.none(), st.integers(1, 20)), st.floats(0, 1e-4)),
    st.builds(S.Adaptive, st.floats(1e-4, 1.0), st.floats(1.5, 10.0),
              st.integers(1, 5), st.floats(0, 1e-2)),
)
batch_sizes = st.integers(1, 64)
solver_objects = st.one_of(
    st.builds(S.LBFGS, st.integers(1, 30), st.integers(1, 50)),
    st.builds(S.NewtonCG, st.integers(1, 50), st.floats(1e-6, 0.4)),
    st.builds(S.GradientDescent, st.booleans(), st.floats(0.1, 1.0)),
    st.builds(S.SGD, learning_rates, batch_sizes),
    st.builds(S.MiniBatchSGD, learning_rates, batch_sizes),
    st.builds(S.Momentum, learning_rates, st.floats(0.0, 0.99), batch_sizes),
    st.builds(S.Nesterov, learning_rates, st.floats(0.0, 0.99), batch_sizes),
    st.builds(S.Adagrad, learning_rates, st.floats(1e-10, 1e-4), batch_sizes),
    st.builds(S.RMSprop, learning_rates, st.floats(0.5, 0.999), st.floats(1e-10, 1e-4),
              batch_sizes),
    st.builds(S.Adam, learning_rates, st.floats(0.0, 0.99), st.floats(0.9, 0.9999),
              st.floats(1e-10, 1e-4), batch_sizes),
)
solvers = st.one_of(st.sampled_from(sorted(S.SOLVERS)), solver_objects)

# Values just outside the documented ranges: each must raise ValueError.
INVALID = {
    "solver": ["no-such-solver", 3],
    "alpha": [-1.0, np.nan, np.inf, "0.1"],
    "l1_ratio": [1.5, -0.1],
    "fit_intercept": ["yes", None],
    "label_smoothing": [1.0, -0.2],
    "max_iter": [0, -5, 2.5],
    "tol": [-1.0],
    "validation_fraction": [0.0, 1.0],
    "n_iter_no_change": [0],
    "max_time": [0.0, -1.0],
    "class_weight": ["no-such-strategy", {"no-such-class": 1.0}, [1.0, 2.0]],
    "callbacks": [["not callable"]],
    "beta": [1.0, -0.5],
    "focal_gamma": [-1.0],
    "tau": [-0.5],
    "logit_adjustment": ["sideways"],
}


@st.composite
def hyperparameters(draw, estimator, classes):
    params = {
        "solver": draw(solvers),
        "alpha": draw(st.sampled_from([0.0, 1e-6, 1e-4, 1e-2, 1.0]) | st.floats(0, 10)),
        "l1_ratio": draw(_rarely(st.floats(0, 1), st.just(0.0))),
        "fit_intercept": draw(st.booleans()),
        "label_smoothing": draw(_rarely(st.floats(0, 0.99), st.just(0.0))),
        "max_iter": draw(st.integers(1, 25)),
        "tol": draw(st.none() | st.floats(0, 1e-2)),
        "warm_start": draw(st.booleans()),
        "random_state": draw(st.none() | st.integers(0, 2**31 - 1)),
        "early_stopping": draw(_rarely(st.just(True), st.just(False))),
        "validation_fraction": draw(st.floats(0.05, 0.5)),
        "n_iter_no_change": draw(st.integers(1, 10)),
        "max_time": draw(_rarely(st.floats(1e-3, 1.0), st.none())),
        "callbacks": draw(_rarely(st.integers(1, 5).map(
            lambda k: [lambda record, k=k: record.iteration >= k]), st.none())),
    }
    names = estimator().get_params()
    class_weights = [None, "balanced"]
    if "beta" in names:
        class_weights += ["balanced_sqrt", "effective_number"]
        params["beta"] = draw(st.floats(0, 0.9999))
        params["focal_gamma"] = draw(_rarely(st.floats(0, 5), st.just(0.0), 2))
        params["tau"] = draw(_rarely(st.floats(0, 2), st.just(0.0), 2))
        params["logit_adjustment"] = draw(st.sampled_from(["loss", "post-hoc"]))
    kind = draw(st.sampled_from(class_weights + ["dict"]))
    if kind == "dict":
        keys = draw(st.lists(st.sampled_from(list(classes)), unique=True, max_size=3))
        kind = {k: draw(st.floats(0, 5)) for k in keys}
    params["class_weight"] = kind
    # about one example in eight gets one value outside its documented range
    if draw(st.integers(1, 8)) == 1:
        name = draw(st.sampled_from(sorted(set(INVALID) & set(params))))
        params[name] = draw(st.sampled_from(INVALID[name]))
        event("fuzz: invalid hyperparameter")
    return params


@st.composite
def datasets(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 60))
    d = draw(st.integers(1, 20))
    K = draw(st.integers(1, 6))
    codes = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) * 10 ** draw(st.floats(-3, 3)) \
        + rng.normal(size=(K, d))[codes]
    if draw(st.booleans()):
        X[rng.random(X.shape) < 0.7] = 0.0
    X = X.astype(draw(st.sampled_from([np.float64, np.float32])))
    fmt = draw(st.sampled_from([None, None, "csr", "csc"]))
    if fmt:
        X = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    target = draw(st.sampled_from(["int", "str", "soft"]))
    if target == "soft":
        y = rng.dirichlet(np.ones(max(K, 2)), size=n)
        classes = list(range(max(K, 2)))
    elif target == "str":
        names = np.array(["ant", "bee", "cat", "dog", "eel", "fox"])
        y = names[codes]
        classes = sorted(set(y.tolist()))
    else:
        y = codes * 7 - 3
        classes = sorted(set(y.tolist()))
    sw = None
    if draw(st.booleans()):
        sw = rng.uniform(0, 3, n)
        sw[rng.random(n) < 0.2] = 0.0
    return X, y, sw, classes


def _check_fitted(model, X):
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    tol = 1e-4 if proba.dtype == np.float32 else 1e-10
    assert np.allclose(proba.sum(axis=1), 1.0, rtol=0, atol=tol)
    assert np.all(np.isfinite(model.predict_log_proba(X)))
    pred = model.predict(X)
    assert set(np.unique(pred)) <= set(model.classes_.tolist())
    index = np.searchsorted(model.classes_, pred)
    assert np.all(proba[np.arange(len(pred)), index] == proba.max(axis=1))


def _solver_family(solver):
    if isinstance(solver, str):
        return S.SOLVERS[solver].family if solver in S.SOLVERS else None
    return getattr(solver, "family", None)


def _snapshot(X, y, sw):
    data = X.toarray() if sp.issparse(X) else X
    return [np.array(a, copy=True) for a in (data, y, sw) if a is not None]


def _run(model, X, y, sw):
    """fit, predict, warm refit and partial_fit: the public API in one go; no
    input may change, whatever happens."""
    before = _snapshot(X, y, sw)
    try:
        _run_api(model, X, y, sw)
    finally:
        for a, b in zip(before, _snapshot(X, y, sw), strict=True):
            np.testing.assert_array_equal(b, a, err_msg="an input was modified")


def _run_api(model, X, y, sw):
    model.fit(X, y, sample_weight=sw)
    _check_fitted(model, X)
    model.score(X, y.argmax(axis=1) if y.ndim == 2 else y)
    if model.warm_start:
        model.fit(X, y, sample_weight=sw)
        _check_fitted(model, X)
    if _solver_family(model.solver) == "stochastic":
        model.partial_fit(X, y, sample_weight=sw)
        _check_fitted(model, X)


@settings(max_examples=examples(25))
@given(data=st.data(), estimator=st.sampled_from(ESTIMATORS), dataset=datasets())
def test_fuzz_public_api(data, estimator, dataset):
    X, y, sw, classes = dataset
    # draw first, whatever the budget: a replay must draw the same data
    params = data.draw(hyperparameters(estimator, classes))
    if not _budget_left():
        event("fuzz: skipped (time budget spent)")
        return
    if _solver_family(params["solver"]) == "stochastic" and params["max_iter"]:
        params["max_iter"] = min(params["max_iter"], 10)
    model = estimator(**params)
    note(f"{estimator.__name__}({params}); X {X.shape} {type(X).__name__} "
         f"{X.dtype}, y {y.dtype} {y.shape}, sample_weight "
         f"{'None' if sw is None else 'given'}")
    event("fuzz: ran")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", RuntimeWarning)
            try:
                _run(model, X, y, sw)
            except DOCUMENTED_ERRORS as exc:
                message = str(exc)
                assert message and len(message) > 20, f"unhelpful error: {exc!r}"
                event(f"fuzz: {type(exc).__name__}")
                if os.environ.get("SKCE_FUZZ_LOG"):  # for reading the errors by hand
                    with open(os.environ["SKCE_FUZZ_LOG"], "a") as log:
                        log.write(f"{type(exc).__name__}: {message}\n")
                return
        unexpected = [w for w in caught if not issubclass(w.category, ALLOWED_WARNINGS)
                      and "number of unique classes" not in str(w.message)
                      and "column-vector y" not in str(w.message)]
        assert not unexpected, [f"{w.category.__name__}: {w.message}"
                                for w in unexpected]
        event("fuzz: fitted")
    except BaseException:
        _clock["failed"] = True
        raise


def test_fuzz_budget_is_bounded():
    """The budget is what CI can afford: under two minutes."""
    assert 0 < BUDGET <= 110 or "SKCE_FUZZ_SECONDS" in os.environ
    assert not math.isnan(BUDGET)
