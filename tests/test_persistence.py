"""Persistence and concurrency: pickling round trips and predictions from threads.

A fitted model pickles (every protocol, joblib too) and unpickles to bit-identical
predictions; a pickled partial_fit carries its optimizer state and random stream,
so training continues exactly as without the round trip. One fitted model answers
predict_proba from 8 threads at once with the serial result, and fits running in
threads on separate estimators give the serial fits.
"""

import copy
import io
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from _skce_data import blobs
from conftest_hypothesis import estimators
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from skce.solvers import Adam, CosineDecay, Momentum, StepDecay

ESTIMATORS = estimators()
# short fits on purpose: what matters is that the round trip changes nothing
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")
SOLVERS = ["lbfgs", "newton-cg", "gd", "sgd", "minibatch", "momentum", "nesterov",
           "adagrad", "rmsprop", "adam"]
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _data(n=120, n_features=6, K=3, seed=0):
    return blobs(n, n_features, K, seed)


def _assert_same_predictions(a, b, X):
    for method in METHODS:
        assert_array_equal(getattr(b, method)(X), getattr(a, method)(X))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("K", [2, 4])
def test_pickle_round_trip_gives_identical_predictions(estimator, solver, K):
    X, y = _data(K=K)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]  # string classes too
    model = estimator(solver=solver, max_iter=20, random_state=0).fit(X, labels)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        clone_ = pickle.loads(pickle.dumps(model, protocol=protocol))
        _assert_same_predictions(model, clone_, X)
        assert_array_equal(clone_.classes_, model.classes_)
        assert clone_.get_params().keys() == model.get_params().keys()
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    _assert_same_predictions(model, joblib.load(buffer), sp.csr_matrix(X))
    _assert_same_predictions(model, copy.deepcopy(model), X)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_pickle_keeps_solver_objects_and_schedules(estimator):
    X, y = _data()
    model = estimator(solver=Adam(learning_rate=CosineDecay(0.05), batch_size=16),
                      max_iter=5, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(model))
    assert repr(back.solver) == repr(model.solver)
    assert back.solver.learning_rate.get_params() == \
        model.solver.learning_rate.get_params()
    _assert_same_predictions(model, back, X)
    # the unfitted estimator and its clone pickle too
    fresh = pickle.loads(pickle.dumps(clone(model)))
    assert not hasattr(fresh, "coef_")
    assert_array_equal(fresh.fit(X, y).coef_, model.coef_)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", [
    "sgd", "adagrad", Momentum(learning_rate=StepDecay(0.05, step_size=1)),
    Adam(learning_rate=0.01, batch_size=8)])
def test_pickled_partial_fit_continues_exactly(estimator, solver):
    """The optimizer state, schedule state and shuffling stream survive a pickle."""
    X, y = _data()
    classes = np.unique(y)
    model = estimator(solver=solver, random_state=0)
    model.partial_fit(X[:60], y[:60], classes=classes)
    back = pickle.loads(pickle.dumps(model))
    for chunk in (slice(60, 120), slice(0, 60)):
        model.partial_fit(X[chunk], y[chunk])
        back.partial_fit(X[chunk], y[chunk])
    assert_array_equal(back.coef_, model.coef_)
    assert_array_equal(back.intercept_, model.intercept_)
    assert back.n_iter_ == model.n_iter_


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("sparse", [False, True])
def test_predict_from_8_threads_equals_serial(estimator, sparse):
    X, y = _data(n=3000, n_features=40, K=5, seed=1)
    model = estimator(alpha=1e-3).fit(X[:500], y[:500])
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    serial = {method: getattr(model, method)(X) for method in METHODS}
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()  # all 8 threads call at once
        method = METHODS[i % len(METHODS)] if i >= 4 else "predict_proba"
        return method, [getattr(model, method)(X) for _ in range(3)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    for method, outputs in results:
        for out in outputs:
            assert_array_equal(out, serial[method])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_fits_in_threads_equal_serial_fits(estimator):
    """Separate estimators fitted in 4 threads at once (L-BFGS changes the BLAS
    thread limits while it runs) give the serial fits."""
    X, y = _data(n=400, n_features=10, K=3, seed=2)
    configs = [dict(solver="lbfgs"), dict(solver="newton-cg"),
               dict(solver="adam", max_iter=5, random_state=0),
               dict(solver="lbfgs", alpha=1e-2)]
    serial = [estimator(**c).fit(X, y) for c in configs]
    barrier = threading.Barrier(len(configs))

    def work(config):
        barrier.wait()
        return estimator(**config).fit(X, y)

    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        threaded = list(pool.map(work, configs))
    for a, b in zip(serial, threaded, strict=True):
        assert_allclose(b.coef_, a.coef_, rtol=0, atol=1e-10)
        assert_allclose(b.intercept_, a.intercept_, rtol=0, atol=1e-10)
