"""Stochastic first-order optimizers: hyperparameters, ``init`` and ``update``.

Each optimizer is its hyperparameters plus two pure functions (optax's seam):
``init(params) -> state`` and ``update(grad, state, params, learning_rate) ->
(step, state)``; the training loop adds ``step`` to ``params``. The state is returned,
never hidden on the object, so it can be carried across ``partial_fit`` calls,
pickled and inspected. ``learning_rate`` is resolved by the loop (a float, a schedule
or ``"auto"``) and passed in.

Defaults (see :class:`~skce.solvers.FirstOrderSolver`): ``learning_rate="auto"`` is a
peak rate annealed to 0 by a cosine over the planned epochs, and ``max_iter=None``
runs a budget of updates (``default_steps``, at least ``min_epochs`` epochs).
Measured on standardized iris, wine, breast_cancer and digits
(``benchmarks/stochastic_gaps.py``), every optimizer but single-sample :class:`SGD`
ends within 2e-3 relative objective of the optimum at ``alpha=1e-3`` and
``1e-4`` but Adagrad on digits at ``1e-4`` (3.4e-3); SGD up to 0.41 (digits, see
its Notes). ``average=`` (all
of them) returns the mean of the last iterates instead of the last one.
"""

import math
import numbers
from typing import NamedTuple

import numpy as np

from ._base import FirstOrderSolver, curvature_bound, rows_in_memory
from ._schedules import Schedule, check_number


def check_learning_rate(owner):
    """``owner.learning_rate`` is a positive finite float, ``"auto"`` or a Schedule
    object (then validated too); raise ValueError naming it otherwise.

    Examples
    --------
    >>> from skce.solvers import Adam
    >>> from skce.solvers._first_order import check_learning_rate
    >>> check_learning_rate(Adam(learning_rate="fast"))
    Traceback (most recent call last):
        ...
    ValueError: Adam: learning_rate must be a positive finite float, 'auto' or a \
Schedule object from skce.solvers; got learning_rate='fast'.
    """
    lr = owner.learning_rate
    if isinstance(lr, Schedule):
        lr.validate()
        return
    if isinstance(lr, str) and lr == "auto":
        return
    if isinstance(lr, numbers.Real) and not isinstance(lr, bool) and \
            math.isfinite(lr) and lr > 0:
        return
    raise ValueError(
        f"{type(owner).__name__}: learning_rate must be a positive finite float, "
        f"'auto' or a Schedule object from skce.solvers; got learning_rate={lr!r}.")


def _check_common(owner):
    check_learning_rate(owner)
    check_number(owner, "batch_size", owner.batch_size, low=1, integer=True)
    check_average(owner)


def check_average(owner):
    """``owner.average`` is a bool or a float in [0, 1]; raise ValueError naming it
    otherwise.

    Examples
    --------
    >>> from skce.solvers import SGD
    >>> from skce.solvers._first_order import check_average
    >>> check_average(SGD(average=1.5))
    Traceback (most recent call last):
        ...
    ValueError: SGD: average must be True, False or a float in [0, 1] (the fraction \
of the planned epochs, at the end, whose iterates are averaged); got average=1.5.
    """
    a = getattr(owner, "average", False)
    if isinstance(a, (bool, np.bool_)):
        return
    if isinstance(a, numbers.Real) and math.isfinite(a) and 0 <= a <= 1:
        return
    raise ValueError(
        f"{type(owner).__name__}: average must be True, False or a float in [0, 1] "
        f"(the fraction of the planned epochs, at the end, whose iterates are "
        f"averaged); got average={a!r}.")


def _check_unit(owner, name):
    check_number(owner, name, getattr(owner, name), low=0.0, high=1.0,
                 high_open=True)


def _check_epsilon(owner):
    check_number(owner, "epsilon", owner.epsilon, low=0.0, low_open=True)


def stable_rank(objective):
    """``trace(M) / lambda_max(M)`` of ``M = X~^T S X~ / sum(s)`` (``X~ = [X, 1]``
    when fitting an intercept): the mean of the samples' curvatures over the
    largest curvature of their mean, in [1, n_features + 1]. None when X is not a
    numpy array or scipy sparse matrix (dask, array API) or is all zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from skce._loss import HardTargets, SoftmaxCrossEntropy
    >>> from skce._objective import Objective
    >>> from skce.solvers._first_order import stable_rank
    >>> X = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> obj = Objective(X, HardTargets(np.array([0, 1]), 2), np.ones(2),
    ...                 SoftmaxCrossEntropy(2), fit_intercept=False)
    >>> round(stable_rank(obj), 4)  # (4 + 1) / 2 over lambda_max 4 / 2
    1.25
    """
    X = getattr(objective, "X", None)
    if not rows_in_memory(X):
        return None
    # ||[x_i, 1]||^2 over the objective's rows (early stopping's training part),
    # in row blocks: never a float64 copy of X
    sq = np.asarray(objective.row_norms(), dtype=np.float64)
    s = np.asarray(objective.sample_weight, dtype=np.float64)
    trace = float(s @ sq) / objective.weight_sum
    lam = (curvature_bound(objective) - objective.l2) / objective.loss.curvature_bound()
    if not (lam > 0 and trace > 0):
        return None
    return max(trace / lam, 1.0)


class _RankScaledRate:
    """The "auto" peak of Adagrad and RMSprop: ``rank_rate / sqrt(stable_rank)``
    (see ``stable_rank``) times the penalty's cap of
    ``FirstOrderSolver.auto_learning_rate``; ``auto_rate`` where the stable rank
    is unknown (dask, array API).

    Their per-coordinate steps are lengths in parameter units, so the rate that
    fits depends on how spread the samples' curvatures are: on standardized
    digits (stable rank 8.5: rare pixels of standardized value near 40) the
    noise of large rates dominated, on iris (1.7) too small a rate stopped short.
    Measured (``benchmarks/stochastic_gaps.py``, alpha 1e-3 and 1e-4): RMSprop's
    fixed 0.03 ended up to 2.3e-3 off the optimal objective (digits), Adagrad's
    fixed 1.0 2.1e-3 to 3.7e-3 at alpha=1e-4; with the stable rank, RMSprop at
    most 1.6e-3, Adagrad at most 6.3e-4 but on digits at alpha=1e-4 (3.4e-3,
    no better at any fixed rate from 0.3 to 10; its default batch of 64 fixed
    that, see ``Adagrad``).
    """

    def auto_learning_rate(self, objective):
        rate = super().auto_learning_rate(objective)
        rank = stable_rank(objective)
        if rank is None:
            return rate
        return rate * self.rank_rate / (self.auto_rate * math.sqrt(rank))


class StepState(NamedTuple):
    """State of plain SGD: the update count."""

    t: int


class MomentumState(NamedTuple):
    """State of the momentum methods: update count and velocity."""

    t: int
    velocity: np.ndarray


class AccumulatorState(NamedTuple):
    """State of Adagrad and RMSprop: update count and squared-gradient accumulator."""

    t: int
    accumulator: np.ndarray


class AdamState(NamedTuple):
    """State of Adam: update count, first and second moment estimates."""

    t: int
    m: np.ndarray
    v: np.ndarray


class SGD(FirstOrderSolver):
    """Stochastic gradient descent, one sample per update by default.

    Update: ``w <- w - eta_t * g``, with g the gradient on the batch.

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
        "auto" peaks at ``auto_rate_scale / L`` with L the curvature bound of
        ``FirstOrderSolver.auto_learning_rate`` (``auto_rate_scale`` is 0.5 for
        one sample per update, 15 for mini-batches) and is annealed to 0 by a
        cosine over the planned epochs (``1 / sqrt(1 + epoch)`` under
        ``partial_fit``); a float is a constant rate; a schedule object gives the
        rate per update.
    batch_size : int, default=1
    average : bool or float in [0, 1], default=False
        Polyak-Ruppert tail averaging: the fit returns the mean of the iterates of
        the last ``average`` of the planned epochs (True: all of them, as
        ``SGDClassifier(average=True)``; False or 0: the last iterate). With an L1
        penalty the mean is kept on the support of the last iterate only, so the
        exact zeros survive. Under ``partial_fit`` each call averages the tail of
        its own epoch and the next call continues from the mean. The default
        "auto" rate is annealed to 0 by a cosine, whose last iterate is already
        a weighted mean: averaging measured no better there (issue 12: the
        remaining gaps are bias, too few updates, not noise); it helps with a
        constant ``learning_rate``.

    Notes
    -----
    With ``batch_size=1`` a sample of large norm ||x||^2 kicks the weights by
    ``learning_rate * ||x||^2``: rare features of large standardized values (some
    pixels of digits) make single-sample SGD slow to reach a tight optimum, and
    mini-batches (:class:`MiniBatchSGD`) or adaptive steps (:class:`Adam`) do
    better there (measured, ``benchmarks/stochastic_gaps.py``: 0.22 and 0.41
    relative objective on standardized digits at ``alpha=1e-3`` and ``1e-4``;
    averaging, ``average=``, did not help). Each update is a Python step, so the
    time of a fit follows its number of updates. ``max_iter=None`` runs
    ``ceil(default_steps / n_samples)`` epochs clipped to ``[min_epochs,
    max_epochs]`` = [10, 2000] (:func:`skce._training.default_epochs`): 20,000
    updates on mid-sized data, but at least 10 epochs, so ``10 * n_samples``
    updates above 2,000 samples (10 million on a million rows); set ``max_iter``
    to bound the time of a fit on large data.

    Examples
    --------
    >>> from skce import SoftmaxRegressor
    >>> from skce.solvers import SGD
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegressor(solver=SGD(batch_size=8), random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    def __init__(self, learning_rate="auto", batch_size=1, average=False):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.average = average

    @property
    def auto_rate_scale(self):
        # single samples are noisy: a peak 30 times below the mini-batch one
        return 0.5 if self.batch_size == 1 else 15.0

    @property
    def l2_rate_cap(self):
        # when the penalty dominates: the same 5x lower noise for single samples
        return 0.05 if self.batch_size == 1 else 0.25

    def validate(self):
        """Raise ValueError naming a hyperparameter outside its valid range."""
        _check_common(self)

    def init(self, params):
        return StepState(0)

    def update(self, grad, state, params, learning_rate):
        return -learning_rate * grad, StepState(state.t + 1)


class MiniBatchSGD(SGD):
    """Mini-batch stochastic gradient descent (SGD with ``batch_size=32``).

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
        As in :class:`SGD`.
    batch_size : int, default=32
    average : bool or float in [0, 1], default=False
        As in :class:`SGD`.

    Examples
    --------
    >>> from skce.solvers import MiniBatchSGD
    >>> MiniBatchSGD(batch_size=64).batch_size
    64
    """

    def __init__(self, learning_rate="auto", batch_size=32, average=False):
        super().__init__(learning_rate=learning_rate, batch_size=batch_size,
                         average=average)


class Momentum(FirstOrderSolver):
    """SGD with heavy-ball momentum (Polyak 1964), PyTorch's formulation.

    ``v <- mu * v + g``; ``w <- w - eta_t * v``.

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
        "auto" peaks at ``15 (1 - momentum) / L`` (see
        ``FirstOrderSolver.auto_learning_rate``), annealed to 0 by a cosine over
        the planned epochs (``1 / sqrt(1 + epoch)`` under ``partial_fit``).
    momentum : float in [0, 1), default=0.9
    batch_size : int, default=32
    average : bool or float in [0, 1], default=False
        As in :class:`SGD`.

    Examples
    --------
    >>> from skce.solvers import Momentum
    >>> Momentum(momentum=0.5).get_params()["momentum"]
    0.5
    """

    def __init__(self, learning_rate="auto", momentum=0.9, batch_size=32,
                 average=False):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.average = average

    @property
    def momentum_scale(self):
        return 1.0 / (1.0 - self.momentum)

    def validate(self):
        """Raise ValueError naming a hyperparameter outside its valid range."""
        _check_common(self)
        _check_unit(self, "momentum")

    def init(self, params):
        return MomentumState(0, np.zeros_like(params))

    def update(self, grad, state, params, learning_rate):
        v = self.momentum * state.velocity + grad
        return -learning_rate * v, MomentumState(state.t + 1, v)


class Nesterov(Momentum):
    """SGD with Nesterov momentum (Sutskever et al. 2013), PyTorch's formulation.

    ``v <- mu * v + g``; ``w <- w - eta_t * (g + mu * v)``: the look-ahead gradient
    rewritten so that the gradient is taken at the current parameters.

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
    momentum : float in [0, 1), default=0.9
    batch_size : int, default=32
    average : bool or float in [0, 1], default=False
        As in :class:`SGD`.

    Examples
    --------
    >>> from skce.solvers import Nesterov
    >>> Nesterov().batch_size
    32
    """

    def update(self, grad, state, params, learning_rate):
        v = self.momentum * state.velocity + grad
        step = -learning_rate * (grad + self.momentum * v)
        return step, MomentumState(state.t + 1, v)


class Adagrad(_RankScaledRate, FirstOrderSolver):
    """Adagrad (Duchi et al. 2011): per-coordinate steps shrinking with the sum of g^2.

    ``G <- G + g^2``; ``w <- w - eta_t * g / (sqrt(G) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
        "auto" peaks at ``3 / sqrt(r)``, r the stable rank of the data
        (``stable_rank``; 1.0 where unknown), and is annealed to 0 by a cosine
        over the planned epochs (``1 / sqrt(1 + epoch)`` under ``partial_fit``).
    epsilon : float, default=1e-8
    batch_size : int, default=64
        Larger than the other solvers' 32: Adagrad's steps only shrink, and with
        32 the noise of the early steps was never undone on standardized digits at
        ``alpha=1e-4`` (3.4e-3 off the optimal objective after 20,000 updates, at
        any fixed rate from 0.3 to 10); 64 ends within 1.2e-3 on every data set of
        ``benchmarks/stochastic_gaps.py`` (128: up to 4.2e-3 on wine, where its
        batches are close to full-batch and 2,000 epochs are too few updates).
    average : bool or float in [0, 1], default=False
        As in :class:`SGD`.

    Examples
    --------
    >>> from skce.solvers import Adagrad
    >>> Adagrad(learning_rate=0.5).learning_rate
    0.5
    """

    auto_rate = 1.0
    rank_rate = 3.0

    def __init__(self, learning_rate="auto", epsilon=1e-8, batch_size=64,
                 average=False):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.average = average

    def validate(self):
        """Raise ValueError naming a hyperparameter outside its valid range."""
        _check_common(self)
        _check_epsilon(self)

    def init(self, params):
        return AccumulatorState(0, np.zeros_like(params))

    def update(self, grad, state, params, learning_rate):
        G = state.accumulator + grad * grad
        step = -learning_rate * grad / (np.sqrt(G) + self.epsilon)
        return step, AccumulatorState(state.t + 1, G)

    def l1_step(self, state, learning_rate):
        """Per-coordinate step lr / (sqrt(G) + epsilon), in which the L1
        penalty is applied."""
        return learning_rate / (np.sqrt(state.accumulator) + self.epsilon)


class RMSprop(_RankScaledRate, FirstOrderSolver):
    """RMSprop (Tieleman and Hinton 2012): steps scaled by a running RMS of g.

    ``E <- rho * E + (1 - rho) * g^2``; ``w <- w - eta_t * g / (sqrt(E) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
        "auto" peaks at ``0.05 / sqrt(r)``, r the stable rank of the data
        (``stable_rank``; 0.03 where unknown), and is annealed to 0 by a cosine
        over the planned epochs (``1 / sqrt(1 + epoch)`` under ``partial_fit``).
    rho : float in [0, 1), default=0.99
        PyTorch's default. With Hinton's 0.9 the running mean of g^2 forgets in
        ten updates: on coordinates whose feature is rare, the tiny L2 gradient
        gets divided by its own size and RMSprop settles away from the optimum
        (measured: 8e-2 relative objective on digits, 4e-3 with 0.99).
    epsilon : float, default=1e-8
    batch_size : int, default=32
    average : bool or float in [0, 1], default=False
        As in :class:`SGD`.

    Examples
    --------
    >>> from skce.solvers import RMSprop
    >>> RMSprop(rho=0.99).rho
    0.99
    """

    auto_rate = 0.03
    rank_rate = 0.05

    def __init__(self, learning_rate="auto", rho=0.99, epsilon=1e-8, batch_size=32,
                 average=False):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.average = average

    def validate(self):
        """Raise ValueError naming a hyperparameter outside its valid range."""
        _check_common(self)
        _check_unit(self, "rho")
        _check_epsilon(self)

    def init(self, params):
        return AccumulatorState(0, np.zeros_like(params))

    def update(self, grad, state, params, learning_rate):
        E = self.rho * state.accumulator + (1.0 - self.rho) * grad * grad
        step = -learning_rate * grad / (np.sqrt(E) + self.epsilon)
        return step, AccumulatorState(state.t + 1, E)

    def l1_step(self, state, learning_rate):
        """Per-coordinate step lr / (sqrt(E) + epsilon), in which the L1
        penalty is applied."""
        return learning_rate / (np.sqrt(state.accumulator) + self.epsilon)


class Adam(FirstOrderSolver):
    """Adam (Kingma and Ba 2015) with bias-corrected moment estimates.

    ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
    ``w <- w - eta_t * m_hat / (sqrt(v_hat) + epsilon)`` with
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

    Parameters
    ----------
    learning_rate : float, "auto" or Schedule, default="auto"
        "auto" is 0.03 annealed to 0 by a cosine over the planned epochs, and
        constant under ``partial_fit`` (Adam's steps are normalized; a
        ``1 / sqrt(1 + calls)`` decay stalled it: 12% above the optimum where the
        constant rate ended 0.3% above); the usual 1e-3 is too timid for these
        near-separable convex problems.
    beta_1 : float in [0, 1), default=0.9
    beta_2 : float in [0, 1), default=0.999
    epsilon : float, default=1e-8
    batch_size : int, default=32
    average : bool or float in [0, 1], default=False
        As in :class:`SGD`.

    Examples
    --------
    >>> from skce import SoftmaxRegressor
    >>> from skce.solvers import Adam
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegressor(solver=Adam(learning_rate=0.01), random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    auto_rate = 0.03
    decay_without_horizon = False

    def __init__(self, learning_rate="auto", beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 batch_size=32, average=False):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.average = average

    def validate(self):
        """Raise ValueError naming a hyperparameter outside its valid range."""
        _check_common(self)
        _check_unit(self, "beta_1")
        _check_unit(self, "beta_2")
        _check_epsilon(self)

    def init(self, params):
        return AdamState(0, np.zeros_like(params), np.zeros_like(params))

    def update(self, grad, state, params, learning_rate):
        t = state.t + 1
        m = self.beta_1 * state.m + (1.0 - self.beta_1) * grad
        v = self.beta_2 * state.v + (1.0 - self.beta_2) * grad * grad
        m_hat = m / (1.0 - self.beta_1**t)
        v_hat = v / (1.0 - self.beta_2**t)
        step = -learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
        return step, AdamState(t, m, v)

    def l1_step(self, state, learning_rate):
        """Per-coordinate step lr / (sqrt(v_hat) + epsilon), in which the L1
        penalty is applied."""
        v_hat = state.v / (1.0 - self.beta_2 ** max(state.t, 1))
        return learning_rate / (np.sqrt(v_hat) + self.epsilon)
