"""Learning-rate schedules: small objects, tunable in GridSearchCV.

A schedule maps the training position to a learning rate. ``init()`` returns its
state (a dict carried across ``partial_fit`` calls and warm starts);
``rate(state, step, epoch, n_epochs)`` gives the rate for the next update, where
``step`` counts the updates done, ``epoch`` is the position in epochs, fractional
within an epoch (2.5 halfway through the third; so a cosine decays smoothly even
over a single epoch of a large data set) and ``n_epochs`` is the planned end
(``max_iter`` plus the epochs of earlier warm starts; None under ``partial_fit``);
``end_epoch(state, loss)`` is called with each epoch's training loss. Positions and
state carry across ``partial_fit`` calls and warm starts.

A float ``learning_rate`` on a solver is a constant rate; ``"auto"`` is the
solver's own peak rate with a cosine decay (see ``FirstOrderSolver``).
"""

import math
import numbers

from sklearn.base import BaseEstimator


def check_number(owner, name, value, *, low=None, high=None, low_open=False,
                 high_open=False, integer=False, allow_none=False):
    """Raise ValueError naming ``owner``'s parameter ``name`` and its valid range
    unless ``value`` is a finite real (an integer with ``integer=True``) in it.

    Examples
    --------
    >>> from skce.solvers import Adam
    >>> from skce.solvers._schedules import check_number
    >>> check_number(Adam(), "beta_1", 1.0, low=0.0, high=1.0, high_open=True)
    Traceback (most recent call last):
        ...
    ValueError: Adam: beta_1 must be a float in [0.0, 1.0); got beta_1=1.0.
    """
    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if ok:
        return
    what = "an integer" if integer else "a float"
    if integer and low == 1 and high is None:
        what, where = "a positive integer", ""
    elif low == 0 and low_open and high is None:
        what, where = f"a positive finite {'integer' if integer else 'float'}", ""
    elif low is None and high is None:
        where = " (finite)"
    else:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "inf)" if high is None else f"{high}" + (")" if high_open else "]")
        where = f" in {lo}, {hi}"
    none = " or None" if allow_none else ""
    raise ValueError(f"{type(owner).__name__}: {name} must be {what}{where}{none}; "
                     f"got {name}={value!r}.")


class Schedule(BaseEstimator):
    """Base class: a learning rate that depends on the training position.

    Subclasses implement ``rate(state, step, epoch, n_epochs)`` and, if they keep
    state, ``init()`` and ``end_epoch(state, loss)``.

    Examples
    --------
    A linear warm-up over the first 100 updates, then constant:

    >>> from skce.solvers import Schedule
    >>> class Warmup(Schedule):
    ...     def __init__(self, learning_rate=0.1, warmup_steps=100):
    ...         self.learning_rate = learning_rate
    ...         self.warmup_steps = warmup_steps
    ...     def rate(self, state, step, epoch, n_epochs):
    ...         return self.learning_rate * min(1.0, (step + 1) / self.warmup_steps)
    >>> schedule = Warmup()
    >>> schedule.rate(schedule.init(), step=49, epoch=0, n_epochs=None)
    0.05
    """

    def init(self):
        """The schedule's state at the start of training."""
        return {}

    def validate(self):
        """Raise ValueError naming a hyperparameter outside its valid range.

        Every schedule has a ``learning_rate``, a positive finite float; subclasses
        check their other parameters in :meth:`_validate_extra`.
        """
        if hasattr(self, "learning_rate"):
            check_number(self, "learning_rate", self.learning_rate, low=0.0,
                         low_open=True)
        self._validate_extra()

    def _validate_extra(self):
        """Checks of a subclass's own parameters (none here)."""

    def end_epoch(self, state, loss):
        """Update ``state`` after an epoch whose training loss was ``loss``."""

    def rate(self, state, step, epoch, n_epochs):  # pragma: no cover - abstract
        raise NotImplementedError


class Constant(Schedule):
    """A constant learning rate.

    Parameters
    ----------
    learning_rate : float, default=0.01

    Examples
    --------
    >>> from skce.solvers import Constant
    >>> Constant(0.1).rate({}, step=100, epoch=3, n_epochs=10)
    0.1
    """

    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate

    def rate(self, state, step, epoch, n_epochs):
        return self.learning_rate


class InverseScaling(Schedule):
    """eta_t = learning_rate / (1 + step / decay_steps) ** power_t.

    Parameters
    ----------
    learning_rate : float, default=0.01
    power_t : float, default=0.5
    decay_steps : float, default=1000.0
        Number of updates over which the rate falls by 2 ** power_t.

    Examples
    --------
    >>> from skce.solvers import InverseScaling
    >>> InverseScaling(1.0, power_t=1.0, decay_steps=10).rate({}, 10, 0, None)
    0.5
    """

    def __init__(self, learning_rate=0.01, power_t=0.5, decay_steps=1000.0):
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.decay_steps = decay_steps

    def _validate_extra(self):
        check_number(self, "power_t", self.power_t, low=0.0)
        check_number(self, "decay_steps", self.decay_steps, low=0.0, low_open=True)

    def rate(self, state, step, epoch, n_epochs):
        return self.learning_rate / (1.0 + step / self.decay_steps) ** self.power_t


class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs (a staircase).

    eta = learning_rate * gamma ** floor(epoch / step_size).

    Parameters
    ----------
    learning_rate : float, default=0.01
    step_size : int, default=10
    gamma : float, default=0.5

    Examples
    --------
    >>> from skce.solvers import StepDecay
    >>> StepDecay(1.0, step_size=10, gamma=0.5).rate({}, 0, 25, None)
    0.25
    """

    def __init__(self, learning_rate=0.01, step_size=10, gamma=0.5):
        self.learning_rate = learning_rate
        self.step_size = step_size
        self.gamma = gamma

    def _validate_extra(self):
        check_number(self, "step_size", self.step_size, low=1, integer=True)
        check_number(self, "gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def rate(self, state, step, epoch, n_epochs):
        return self.learning_rate * self.gamma ** math.floor(epoch / self.step_size)


class ExponentialDecay(Schedule):
    """eta = learning_rate * gamma ** epoch, smooth within an epoch.

    Parameters
    ----------
    learning_rate : float, default=0.01
    gamma : float, default=0.95

    Examples
    --------
    >>> from skce.solvers import ExponentialDecay
    >>> round(ExponentialDecay(1.0, gamma=0.9).rate({}, 0, 2, None), 6)
    0.81
    """

    def __init__(self, learning_rate=0.01, gamma=0.95):
        self.learning_rate = learning_rate
        self.gamma = gamma

    def _validate_extra(self):
        check_number(self, "gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def rate(self, state, step, epoch, n_epochs):
        return self.learning_rate * self.gamma**epoch


class CosineDecay(Schedule):
    """Cosine annealing from ``learning_rate`` to ``min_learning_rate`` over training.

    eta = min + (lr - min) * (1 + cos(pi * epoch / n_epochs)) / 2, where n_epochs is
    ``n_epochs`` if given, else the estimator's ``max_iter``. Under ``partial_fit``
    with no ``n_epochs`` the rate stays at ``learning_rate``.

    Parameters
    ----------
    learning_rate : float, default=0.01
    n_epochs : int or None, default=None
    min_learning_rate : float, default=0.0

    Examples
    --------
    >>> from skce.solvers import CosineDecay
    >>> CosineDecay(1.0).rate({}, 0, 5, 10)
    0.5
    """

    def __init__(self, learning_rate=0.01, n_epochs=None, min_learning_rate=0.0):
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.min_learning_rate = min_learning_rate

    def _validate_extra(self):
        check_number(self, "n_epochs", self.n_epochs, low=1, integer=True,
                     allow_none=True)
        check_number(self, "min_learning_rate", self.min_learning_rate, low=0.0,
                     high=self.learning_rate)

    def rate(self, state, step, epoch, n_epochs):
        total = self.n_epochs or n_epochs
        if not total:
            return self.learning_rate
        frac = min(epoch / total, 1.0)
        lo = self.min_learning_rate
        return lo + (self.learning_rate - lo) * 0.5 * (1.0 + math.cos(math.pi * frac))


class Adaptive(Schedule):
    """Divide the rate by ``factor`` when the training loss stops improving.

    After ``patience`` epochs in a row whose loss does not beat the best by ``tol``,
    the rate is divided by ``factor`` (scikit-learn's ``learning_rate="adaptive"``).

    Parameters
    ----------
    learning_rate : float, default=0.01
    factor : float, default=5.0
    patience : int, default=2
    tol : float, default=1e-4

    Examples
    --------
    >>> from skce.solvers import Adaptive
    >>> s = Adaptive(1.0, patience=1)
    >>> state = s.init()
    >>> s.end_epoch(state, 1.0); s.end_epoch(state, 1.0)
    >>> s.rate(state, 0, 2, None)
    0.2
    """

    def __init__(self, learning_rate=0.01, factor=5.0, patience=2, tol=1e-4):
        self.learning_rate = learning_rate
        self.factor = factor
        self.patience = patience
        self.tol = tol

    def _validate_extra(self):
        check_number(self, "factor", self.factor, low=1.0, low_open=True)
        check_number(self, "patience", self.patience, low=1, integer=True)
        check_number(self, "tol", self.tol, low=0.0)

    def init(self):
        return {"scale": 1.0, "best": math.inf, "bad": 0}

    def end_epoch(self, state, loss):
        if loss < state["best"] - self.tol:
            state["best"], state["bad"] = loss, 0
        else:
            state["bad"] += 1
            if state["bad"] >= self.patience:
                state["scale"] /= self.factor
                state["bad"] = 0

    def rate(self, state, step, epoch, n_epochs):
        return self.learning_rate * state["scale"]
