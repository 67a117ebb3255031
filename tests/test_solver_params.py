"""Solver and schedule hyperparameters are validated at fit time (``validate()``),
each message naming the parameter and its valid range; and nested ``set_params``
on a solver, as GridSearchCV and RandomizedSearchCV do it."""

import re

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import RandomizedSearchCV
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor
from skce.solvers import (
    LBFGS,
    SAGA,
    SGD,
    SOLVERS,
    Adagrad,
    Adam,
    Adaptive,
    Auto,
    Constant,
    CosineDecay,
    ExponentialDecay,
    GradientDescent,
    InverseScaling,
    MiniBatchSGD,
    Momentum,
    Nesterov,
    NewtonCG,
    RMSprop,
    StepDecay,
)

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)

LR = ("learning_rate must be a positive finite float, 'auto' or a Schedule object "
      "from skce.solvers; got learning_rate=")
UNIT = "must be a float in [0.0, 1.0); got "
POSITIVE_INT = "must be a positive integer; got "
POSITIVE = "must be a positive finite float; got "

# (solver, the message's start): every stochastic solver's every parameter, SAGA's,
# and a schedule passed as learning_rate
INVALID = [
    (Adam(learning_rate="fast"), f"Adam: {LR}'fast'."),
    (Adam(learning_rate=None), f"Adam: {LR}None."),
    (SGD(learning_rate=-1), f"SGD: {LR}-1."),
    (MiniBatchSGD(learning_rate=0.0), f"MiniBatchSGD: {LR}0.0."),
    (Momentum(learning_rate=np.inf), f"Momentum: {LR}inf."),
    (Nesterov(learning_rate=True), f"Nesterov: {LR}True."),
    (Adagrad(learning_rate=np.nan), f"Adagrad: {LR}nan."),
    (RMSprop(learning_rate=[0.1]), f"RMSprop: {LR}[0.1]."),
    (SGD(batch_size=0), f"SGD: batch_size {POSITIVE_INT}batch_size=0."),
    (MiniBatchSGD(batch_size=-5), f"MiniBatchSGD: batch_size {POSITIVE_INT}"
                                  "batch_size=-5."),
    (Adam(batch_size=2.5), f"Adam: batch_size {POSITIVE_INT}batch_size=2.5."),
    (Momentum(momentum=1.0), f"Momentum: momentum {UNIT}momentum=1.0."),
    (Nesterov(momentum=-0.1), f"Nesterov: momentum {UNIT}momentum=-0.1."),
    (RMSprop(rho=1.0), f"RMSprop: rho {UNIT}rho=1.0."),
    (Adam(beta_1=1.0), f"Adam: beta_1 {UNIT}beta_1=1.0."),
    (Adam(beta_2=-0.5), f"Adam: beta_2 {UNIT}beta_2=-0.5."),
    (Adam(epsilon=0.0), f"Adam: epsilon {POSITIVE}epsilon=0.0."),
    (Adagrad(epsilon=-1e-8), f"Adagrad: epsilon {POSITIVE}epsilon=-1e-08."),
    (RMSprop(epsilon="tiny"), f"RMSprop: epsilon {POSITIVE}epsilon='tiny'."),
    (SAGA(batch_size=0), "SAGA: batch_size must be 'auto' or a positive integer; "
                         "got batch_size=0."),
    (SAGA(batch_size=1.5), "SAGA: batch_size must be 'auto' or a positive integer; "
                           "got batch_size=1.5."),
    (SAGA(sampling="random"), "SAGA: sampling must be 'importance' or 'uniform'; got "
                              "sampling='random'."),
    (SAGA(accelerated="yes"), "SAGA: accelerated must be True or False; got "
                              "accelerated='yes'."),
    (SAGA(random_state=-1), "SAGA: random_state must be None, a non-negative "
                            "integer, a RandomState or a Generator; got "
                            "random_state=-1."),
    # schedules, passed as learning_rate: validated by the solver's validate()
    (Adam(learning_rate=Constant(-0.1)),
     f"Constant: learning_rate {POSITIVE}learning_rate=-0.1."),
    (SGD(learning_rate=InverseScaling(power_t=-1.0)),
     "InverseScaling: power_t must be a float in [0.0, inf); got power_t=-1.0."),
    (SGD(learning_rate=InverseScaling(decay_steps=0)),
     f"InverseScaling: decay_steps {POSITIVE}decay_steps=0."),
    (Momentum(learning_rate=StepDecay(step_size=0)),
     f"StepDecay: step_size {POSITIVE_INT}step_size=0."),
    (Momentum(learning_rate=StepDecay(gamma=1.5)),
     "StepDecay: gamma must be a float in (0.0, 1.0]; got gamma=1.5."),
    (Adagrad(learning_rate=ExponentialDecay(gamma=0.0)),
     "ExponentialDecay: gamma must be a float in (0.0, 1.0]; got gamma=0.0."),
    (RMSprop(learning_rate=CosineDecay(learning_rate=None)),
     f"CosineDecay: learning_rate {POSITIVE}learning_rate=None."),
    (Adam(learning_rate=CosineDecay(n_epochs=0)),
     "CosineDecay: n_epochs must be a positive integer or None; got n_epochs=0."),
    (Adam(learning_rate=CosineDecay(0.1, min_learning_rate=0.2)),
     "CosineDecay: min_learning_rate must be a float in [0.0, 0.1]; got "
     "min_learning_rate=0.2."),
    (Nesterov(learning_rate=Adaptive(factor=1.0)),
     "Adaptive: factor must be a float in (1.0, inf); got factor=1.0."),
    (Nesterov(learning_rate=Adaptive(patience=0)),
     f"Adaptive: patience {POSITIVE_INT}patience=0."),
    (Nesterov(learning_rate=Adaptive(tol=-1.0)),
     "Adaptive: tol must be a float in [0.0, inf); got tol=-1.0."),
]


@pytest.mark.parametrize("solver,message", INVALID, ids=lambda v: repr(v)[:60])
def test_invalid_hyperparameter_is_named_by_validate(solver, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        solver.validate()


@pytest.mark.parametrize("solver,message", INVALID, ids=lambda v: repr(v)[:60])
def test_invalid_hyperparameter_is_named_at_fit(solver, message):
    clf = SoftmaxRegressor(solver=solver, max_iter=2)
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_")


def test_every_default_is_valid():
    for cls in SOLVERS.values():
        if callable(getattr(cls(), "validate", None)):
            cls().validate()
    for schedule in (Constant(), InverseScaling(), StepDecay(), ExponentialDecay(),
                     CosineDecay(), CosineDecay(n_epochs=5), Adaptive()):
        schedule.validate()
        Adam(learning_rate=schedule).validate()
    for lr in (1e-3, 1, np.float32(0.5), "auto"):
        Adam(learning_rate=lr).validate()
    for b in (1, np.int64(7)):
        SGD(batch_size=b).validate()
    SAGA(batch_size=3, random_state=np.random.default_rng(0)).validate()
    SAGA(random_state=None, accelerated=np.bool_(False)).validate()


# The full-batch solvers' classes live in skce/solvers/_full_batch.py, outside this
# branch's files: the validate() they need is described in the report; these turn
# green (and the strict xfail red) when it lands.
FULL_BATCH_INVALID = [
    (LBFGS(history_size=0), "LBFGS: history_size must be a positive integer"),
    (LBFGS(max_linesearch=2.5), "LBFGS: max_linesearch must be a positive integer"),
    (NewtonCG(max_cg_iter=0), "NewtonCG: max_cg_iter must be a positive integer"),
    (NewtonCG(armijo=1.0), r"NewtonCG: armijo must be a float in (0.0, 1.0)"),
    (GradientDescent(decrease=0.0),
     "GradientDescent: decrease must be a float in (0.0, 1.0]"),
    (GradientDescent(accelerated="no"),
     "GradientDescent: accelerated must be True or False"),
    (Auto(threshold=-1), "Auto: threshold must be a positive finite float"),
]


@pytest.mark.parametrize("solver,message", FULL_BATCH_INVALID,
                         ids=lambda v: repr(v)[:60])
def test_full_batch_hyperparameters_are_validated(solver, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SoftmaxRegressor(solver=solver).fit(X, y)


# ------------------------------------------------------------ nested set_params
def test_nested_set_params_on_a_solver_object():
    clf = SoftmaxRegressor(solver=Adam()).set_params(solver__learning_rate=0.01,
                                                     solver__beta_1=0.8)
    assert clf.solver.learning_rate == 0.01 and clf.solver.beta_1 == 0.8
    assert clf.get_params()["solver__learning_rate"] == 0.01
    search = RandomizedSearchCV(
        SoftmaxRegressor(solver=Adam(), max_iter=3, random_state=0),
        {"solver__learning_rate": [0.01, 0.05]}, n_iter=2, cv=2, random_state=0)
    search.fit(X, y)
    assert search.best_params_["solver__learning_rate"] in (0.01, 0.05)


def test_nested_set_params_on_a_solver_name():
    clf = SoftmaxRegressor(solver="adam").set_params(solver__learning_rate=0.01)
    assert clf.solver.learning_rate == 0.01
    search = RandomizedSearchCV(
        SoftmaxRegressor(solver="adam", max_iter=3, random_state=0),
        {"solver__learning_rate": [0.01, 0.05]}, n_iter=2, cv=2, random_state=0)
    search.fit(X, y)
