"""Learning-rate schedules: values by hand, use in training, GridSearchCV."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skce import SoftmaxRegressor
from skce._fit import loop_state
from skce.solvers import (
    Adam,
    Adaptive,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseScaling,
    MiniBatchSGD,
    Schedule,
    StepDecay,
)


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    return X, y


# ------------------------------------------------------------- values by hand
def test_constant():
    s = Constant(0.3)
    assert [s.rate({}, k, e, 10) for k, e in [(0, 0), (99, 7.5), (10**6, 20)]] == \
        [0.3, 0.3, 0.3]


def test_inverse_scaling():
    s = InverseScaling(0.8, power_t=0.5, decay_steps=100)
    assert s.rate({}, 0, 0, None) == 0.8
    assert_allclose(s.rate({}, 300, 0, None), 0.8 / 2.0)  # (1 + 3) ** 0.5 = 2
    assert_allclose(s.rate({}, 50, 9, None), 0.8 / math.sqrt(1.5))
    assert_allclose(InverseScaling(1.0, power_t=1.0, decay_steps=1).rate(
        {}, 9, 0, None), 0.1)


def test_step_decay_is_a_staircase():
    s = StepDecay(1.0, step_size=3, gamma=0.1)
    got = [s.rate({}, 0, e, None) for e in [0, 2.99, 3, 5.5, 6, 9]]
    assert_allclose(got, [1.0, 1.0, 0.1, 0.1, 0.01, 0.001])


def test_exponential_decay():
    s = ExponentialDecay(2.0, gamma=0.5)
    got = [s.rate({}, 0, e, None) for e in [0, 1, 3, 1.5]]
    assert_allclose(got, [2.0, 1.0, 0.25, 2.0 * 0.5**1.5])


def test_cosine_decay():
    s = CosineDecay(1.0, min_learning_rate=0.2)
    got = [s.rate({}, 0, e, 8) for e in [0, 2, 4, 6, 8, 12]]
    c = [(1 + math.cos(math.pi * f)) / 2 for f in [0, 0.25, 0.5, 0.75, 1, 1]]
    assert_allclose(got, [0.2 + 0.8 * v for v in c], atol=1e-15)
    # its own n_epochs wins over the estimator's horizon
    assert_allclose(CosineDecay(1.0, n_epochs=4).rate({}, 0, 2, 100), 0.5)
    # no horizon (partial_fit without n_epochs): the peak
    assert CosineDecay(0.7).rate({}, 0, 50, None) == 0.7


def test_adaptive_divides_by_factor_after_patience_bad_epochs():
    s = Adaptive(1.0, factor=5.0, patience=2, tol=0.1)
    state = s.init()
    rates = []
    for loss in [1.0, 0.5, 0.45, 0.44, 0.2, 0.2, 0.2, 0.2]:
        rates.append(s.rate(state, 0, 0, None))
        s.end_epoch(state, loss)
    # improvements > tol: 1.0 (first), 0.5, 0.2; bad: 0.45, 0.44 -> /5 from the
    # 5th epoch; 0.2 new best; then 0.2, 0.2 bad -> /5 from the 8th; one more bad
    assert_allclose(rates, [1, 1, 1, 1, 0.2, 0.2, 0.2, 0.04])
    assert state["bad"] == 1
    assert_allclose(s.rate(state, 0, 0, None), 0.04)
    assert s.init() == {"scale": 1.0, "best": math.inf, "bad": 0}


def test_schedules_are_estimators_with_params():
    for s in [Constant(0.1), InverseScaling(), StepDecay(), ExponentialDecay(),
              CosineDecay(), Adaptive()]:
        assert isinstance(s, Schedule)
        assert clone(s).get_params() == s.get_params()
        assert s.set_params(learning_rate=0.5).learning_rate == 0.5


# ------------------------------------------------------------ in the training
def _rates(solver, max_iter=6, n=90):
    X, y = _data(n)
    seen = []
    SoftmaxRegressor(solver=solver, max_iter=max_iter, random_state=0,
                     callbacks=[seen.append]).fit(X, y)
    return [r.learning_rate for r in seen]


def test_training_uses_the_schedule_per_epoch():
    # one batch per epoch: the rate of epoch e is the schedule at position e
    got = _rates(MiniBatchSGD(StepDecay(0.4, step_size=2, gamma=0.5),
                              batch_size=128))
    assert_allclose(got, [0.4, 0.4, 0.2, 0.2, 0.1, 0.1])
    got = _rates(Adam(ExponentialDecay(0.1, gamma=0.9), batch_size=128))
    assert_allclose(got, [0.1 * 0.9**e for e in range(6)])


def test_training_positions_are_fractional_within_an_epoch():
    # 90 samples in batches of 32: three updates per epoch at e, e + 1/3, e + 2/3;
    # the record carries the rate of the epoch's last update
    got = _rates(MiniBatchSGD(CosineDecay(1.0)), max_iter=3)
    assert_allclose(got, [(1 + math.cos(math.pi * (e + 2 / 3) / 3)) / 2
                          for e in range(3)])
    got = _rates(MiniBatchSGD(InverseScaling(1.0, power_t=1.0, decay_steps=1)),
                 max_iter=2)
    assert_allclose(got, [1 / 3, 1 / 6])  # steps 2 and 5 (0-based) before update


def test_adaptive_schedule_reacts_to_the_training_loss():
    # tol so large that no epoch counts as an improvement after the first
    got = _rates(MiniBatchSGD(Adaptive(1.0, factor=5.0, patience=1, tol=1e9),
                              batch_size=128), max_iter=4)
    assert_allclose(got, [1.0, 1.0, 0.2, 0.04])


def test_schedule_state_carries_across_partial_fit():
    X, y = _data()
    solver = MiniBatchSGD(Adaptive(1.0, factor=2.0, patience=1, tol=1e9),
                          batch_size=128)
    seen = []
    clf = SoftmaxRegressor(solver=solver, callbacks=[seen.append])
    for _ in range(4):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert_allclose([r.learning_rate for r in seen], [1.0, 1.0, 0.5, 0.25])
    assert loop_state(clf).schedule_state["scale"] == 0.125
    assert solver.learning_rate.init()["scale"] == 1.0  # the object is untouched


def test_float_learning_rate_is_constant():
    assert _rates(Adam(0.02)) == [0.02] * 6


# --------------------------------------------------------------- GridSearchCV
def test_schedules_are_tunable_in_grid_search():
    X, y = _data(120)
    grid = GridSearchCV(
        SoftmaxRegressor(solver=MiniBatchSGD(), max_iter=5, random_state=0),
        {"solver__learning_rate": [Constant(0.1), CosineDecay(0.1)]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 2
    best = grid.best_params_["solver__learning_rate"]
    assert isinstance(best, (Constant, CosineDecay))
    assert grid.best_estimator_.solver.learning_rate.get_params() == \
        best.get_params()
    # nested: a schedule's own parameter
    grid = GridSearchCV(
        SoftmaxRegressor(solver=Adam(CosineDecay()), max_iter=5, random_state=0),
        {"solver__learning_rate__learning_rate": [0.01, 0.1]}, cv=3).fit(X, y)
    assert grid.best_params_["solver__learning_rate__learning_rate"] in (0.01, 0.1)
    assert [p["solver__learning_rate__learning_rate"]
            for p in grid.cv_results_["params"]] == [0.01, 0.1]


@pytest.mark.parametrize("schedule", [Constant(0.05), CosineDecay(0.05),
                                      StepDecay(0.05), Adaptive(0.05)], ids=repr)
def test_fitting_never_mutates_the_schedule(schedule):
    before = schedule.get_params()
    X, y = _data()
    SoftmaxRegressor(solver=Adam(schedule), max_iter=3, random_state=0).fit(X, y)
    assert schedule.get_params() == before
