"""The training loop, written once for every solver.

Two pieces:

- :class:`Monitor` is called once per iteration (full-batch) or epoch (stochastic)
  with the parameters and the training loss. It records ``loss_curve_`` and the
  validation curve, applies the stopping rules that do not belong to any optimizer
  (no improvement for ``n_iter_no_change`` epochs, early stopping on a validation
  set, callbacks, ``max_time``), keeps the best parameters and prints progress.
- :func:`run_epochs` is the stochastic loop: shuffling with the estimator's random
  state, batching, learning-rate resolution (float, "auto" or schedule), the
  optimizer's ``update``, proximal steps for L1 and the divergence guard. Its state
  (optimizer state, schedule state, step and epoch counters) is a
  :class:`LoopState` that ``partial_fit`` and ``warm_start`` carry over.

"auto" is the solver's peak rate (``auto_learning_rate``) times a cosine from 1 to 0
over the planned epochs; :func:`default_epochs` turns ``max_iter=None`` into a budget
of updates. Both were chosen by measurement (see ``FirstOrderSolver``).
"""

import collections
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .solvers._schedules import Schedule


class IterationRecord(NamedTuple):
    """What a callback receives after every iteration (full-batch) or epoch.

    Attributes
    ----------
    iteration : int
        1-based count of iterations or epochs done so far (over warm starts too).
    loss : float
        The training objective (penalty included) at this point.
    validation_loss : float or None
        The validation loss when early stopping is on.
    learning_rate : float or None
        A first-order solver's learning rate at the epoch's last update (None for
        the full-batch solvers).
    elapsed : float
        Seconds since this fit started.
    coef : ndarray
        A read-only view of the parameters, shape (n_features + fit_intercept,
        n_outputs): rows are features, the last row is the intercept when fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skce import SoftmaxRegressor
    >>> X, y = load_iris(return_X_y=True)
    >>> records = []
    >>> def keep(record):
    ...     records.append(record)
    ...     return record.iteration == 3          # True stops training cleanly
    >>> clf = SoftmaxRegressor(callbacks=[keep]).fit(X, y)
    >>> [r.iteration for r in records], records[-1].coef.shape
    ([1, 2, 3], (5, 3))
    >>> records[-1].coef.flags.writeable
    False
    """

    iteration: int
    loss: float
    validation_loss: Any
    learning_rate: Any
    elapsed: float
    coef: np.ndarray


class Monitor:
    """Per-iteration bookkeeping and the stopping rules shared by every solver.

    Parameters
    ----------
    watch_training_loss : bool
        Stop when the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` iterations (the rule of the stochastic solvers).
    tol : float or None
        None switches the training-loss rule off (the validation rule then counts
        any improvement).
    n_iter_no_change : int
    validation : callable or None
        ``params -> validation loss``; when given, stopping and the best parameters
        follow the validation loss (early stopping).
    callbacks : list of callables
    max_time : float or None
    verbose : int
    start_iter : int
        Iterations done by earlier calls (warm start, partial_fit).
    progress_total : int or None
        Length of the progress bar.
    """

    def __init__(self, *, watch_training_loss, tol, n_iter_no_change, validation=None,
                 callbacks=(), max_time=None, verbose=0, start_iter=0,
                 progress_total=None, name="", keep_recent=0):
        self.watch_training_loss = watch_training_loss and tol is not None
        self.tol = 0.0 if tol is None else tol
        self.n_iter_no_change = n_iter_no_change
        self.validation = validation
        self.callbacks = list(callbacks or ())
        self.max_time = max_time
        self.verbose = verbose
        self.iteration = start_iter
        self.name = name
        self.loss_curve = []
        self.validation_loss_curve = []
        self.best_score = math.inf
        self.best_params = None
        self.best_iteration = None
        self.no_improvement = 0
        self.stop_reason = None
        self.learning_rate = None
        # copies of the parameters after the last ``keep_recent`` iterations: how
        # far the objective still moved at the end of a stochastic run
        self.recent = collections.deque(maxlen=keep_recent or None) \
            if keep_recent else None
        self.start = time.perf_counter()
        self._bar = None
        if verbose and progress_total:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=progress_total, desc=name, leave=False,
                                 file=sys.stdout)

    def elapsed(self):
        return time.perf_counter() - self.start

    def __call__(self, params, loss):
        """Record one iteration; return True when training must stop."""
        self.iteration += 1
        self.loss_curve.append(float(loss))
        if self.recent is not None:
            self.recent.append(params.copy())
        val = None
        if self.validation is not None:
            val = float(self.validation(params))
            self.validation_loss_curve.append(val)
        watched = val if self.validation is not None else (
            loss if self.watch_training_loss else None)
        if watched is not None:
            if watched < self.best_score - self.tol:
                self.no_improvement = 0
            else:
                self.no_improvement += 1
            if watched < self.best_score:
                self.best_score = watched
                if self.validation is not None:
                    self.best_params = params.copy()
                    self.best_iteration = self.iteration
            if self.no_improvement >= self.n_iter_no_change:
                self.stop_reason = ("early_stopping" if self.validation is not None
                                    else "no_improvement")
        elapsed = self.elapsed()
        self._report(loss, val, elapsed)
        if self.callbacks:
            view = params.view()
            view.flags.writeable = False
            record = IterationRecord(self.iteration, float(loss), val,
                                     self.learning_rate, elapsed, view)
            for callback in self.callbacks:
                if callback(record) is True:
                    self.stop_reason = "callback"
        if self.max_time is not None and elapsed >= self.max_time:
            self.stop_reason = self.stop_reason or "max_time"
        return self.stop_reason is not None

    def _report(self, loss, val, elapsed):
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.6g}")
            return
        line = f"[{self.name}] iter {self.iteration:4d}  loss {loss:.8g}"
        if val is not None:
            line += f"  val_loss {val:.8g}"
        if self.learning_rate is not None:
            line += f"  lr {self.learning_rate:.3g}"
        print(line + f"  {elapsed:.2f}s", flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()


@dataclass
class LoopState:
    """Everything the stochastic loop carries across ``partial_fit`` calls."""

    optimizer_state: Any
    schedule_state: dict = field(default_factory=dict)
    step: int = 0
    epoch: int = 0
    base_rate: Any = None  # the resolved "auto" peak rate
    rate_key: str = ""  # repr of the optimizer that resolved base_rate
    reference_loss: Any = None  # the objective where training started
    reset_reasons: list = field(default_factory=list)  # what _adapt reset
    l1_total: Any = None  # cumulative L1 penalty: sum of step * alpha * l1_ratio
    l1_applied: Any = None  # the penalty each weight has received so far
    problem_key: Any = None  # what the state belongs to (skce._fit.problem_key)
    average_from: Any = None  # position (epochs) where averaging starts, or None
    average: Any = None  # running mean of the iterates since average_from
    n_averaged: int = 0  # iterates in ``average``


def init_loop_state(optimizer, params):
    """A fresh :class:`LoopState` for ``optimizer`` starting at ``params``."""
    lr = optimizer.learning_rate
    schedule_state = lr.init() if isinstance(lr, Schedule) else {}
    return LoopState(optimizer.init(params), schedule_state)


def default_epochs(optimizer, n_samples):
    """Epochs run when ``max_iter=None``: a budget of updates, not of epochs.

    ``ceil(default_steps / batches_per_epoch)`` clipped to ``[min_epochs,
    max_epochs]``; a solver without ``default_steps`` (a user-written one) gets its
    ``default_max_iter`` or 200. The cap keeps fits on tiny data sets, where an
    epoch is one or two updates, from running tens of thousands of epochs. The
    floor of ``min_epochs`` means the budget of ``default_steps`` updates holds
    only up to ``default_steps * batch_size / min_epochs`` samples: beyond, a fit
    runs ``min_epochs`` epochs, ``min_epochs * n_samples / batch_size`` updates
    (single-sample SGD on a million rows: 10 million).

    Examples
    --------
    >>> from skce.solvers import Adam, SGD
    >>> from skce._training import default_epochs
    >>> default_epochs(Adam(), 1797)  # 57 batches of 32 per epoch, 20000 updates
    351
    >>> default_epochs(Adam(), 150)  # capped
    2000
    >>> default_epochs(Adam(), 10**6)
    10
    >>> default_epochs(SGD(), 10**6)  # 10 epochs of 10**6 updates: not 20000
    10
    """
    steps = getattr(optimizer, "default_steps", None)
    if steps is None:
        return getattr(optimizer, "default_max_iter", None) or 200
    batch_size = max(1, min(int(optimizer.batch_size), n_samples))
    n_batches = -(-n_samples // batch_size)
    epochs = -(-int(steps) // n_batches)
    epochs = min(epochs, int(getattr(optimizer, "max_epochs", epochs)))
    return max(int(getattr(optimizer, "min_epochs", 1)), epochs)


def cosine(progress):
    """Cosine annealing factor, 1 at ``progress=0`` down to 0 at 1 (clipped)."""
    return 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def _rate(optimizer, objective, loop, position, horizon):
    """The learning rate of the next update at ``position`` (fractional epochs)."""
    lr = optimizer.learning_rate
    if isinstance(lr, Schedule):
        return lr.rate(loop.schedule_state, loop.step, position, horizon)
    if isinstance(lr, str):  # "auto": peak rate, cosine over the horizon
        if loop.base_rate is None:
            loop.base_rate = float(optimizer.auto_learning_rate(objective))
            loop.rate_key = repr(optimizer)
        if horizon:
            return loop.base_rate * cosine(position / horizon)
        if not getattr(optimizer, "decay_without_horizon", True):
            return loop.base_rate
        return loop.base_rate / math.sqrt(1.0 + loop.epoch)
    return float(lr)


def _adapt(loop, optimizer, params):
    """Keep a carried state usable when the solver's settings changed in between
    (warm_start after set_params): a state of another type is reset, the "auto"
    rate re-resolved, a schedule's missing state initialized."""
    fresh = optimizer.init(params)
    if type(fresh) is not type(loop.optimizer_state) or \
            _shapes(fresh) != _shapes(loop.optimizer_state):
        # another optimizer, or parameters of another shape (fit_intercept changed)
        loop.optimizer_state = fresh
        loop.reset_reasons.append("optimizer state")
    if loop.base_rate is not None and loop.rate_key != repr(optimizer):
        loop.base_rate = None
        loop.reset_reasons.append('"auto" learning rate')
    lr = optimizer.learning_rate
    if isinstance(lr, Schedule):
        initial = lr.init()
        if set(initial) - set(loop.schedule_state):
            loop.schedule_state = initial


def _shapes(state):
    """The shapes of the arrays in an optimizer state (a tuple, a dict or one
    array), to tell whether a carried state fits the parameters."""
    if isinstance(state, np.ndarray):
        return state.shape
    if isinstance(state, dict):
        return tuple((k, _shapes(v)) for k, v in sorted(state.items()))
    if isinstance(state, (tuple, list)):
        return tuple(_shapes(v) for v in state)
    return None


def start_averaging(loop, optimizer, horizon, n_epochs):
    """Set ``loop.average_from`` for this call: the position (in epochs) after
    which iterates are averaged, the last ``optimizer.average`` of the planned
    epochs (``horizon``, or ``n_epochs`` under ``partial_fit``); None when the
    optimizer does not average. The running mean restarts at each call."""
    fraction = getattr(optimizer, "average", False)
    loop.average, loop.n_averaged = None, 0
    if fraction is None or fraction is False or fraction == 0:
        loop.average_from = None
        return
    fraction = 1.0 if fraction is True else float(fraction)
    loop.average_from = loop.epoch + (1.0 - fraction) * (horizon or n_epochs)


def accumulate_average(loop, params):
    """Add ``params`` to the running mean of the iterates (Polyak and Juditsky
    1992): ``a <- a + (w - a) / k``."""
    loop.n_averaged += 1
    if loop.average is None or loop.average.shape != params.shape:
        loop.average, loop.n_averaged = params.copy(), 1
    else:
        loop.average += (params - loop.average) / loop.n_averaged


def averaged(loop, params, objective):
    """The parameters a fit returns: the running mean of the iterates when
    averaging has begun, else ``params``. With an L1 penalty the mean is kept only
    on the support of the last iterate, whose zeros are exact (the cumulative
    penalty): coordinates that are zero there are zero in the result too."""
    if loop.average is None or loop.n_averaged == 0:
        return params
    out = loop.average.copy()
    if objective.l1:
        d = objective.n_features
        out[:d][params[:d] == 0] = 0
    return out


def run_epochs(objective, optimizer, params, loop, *, n_epochs, rng, monitor,
               horizon=None):
    """Run up to ``n_epochs`` shuffled epochs of mini-batch updates, in place.

    Parameters
    ----------
    objective : Objective
    optimizer : first-order solver (``init`` / ``update`` / ``batch_size``)
    params : ndarray, updated in place
    loop : LoopState, updated in place
    n_epochs : int
    rng : numpy.random.Generator
    monitor : Monitor
    horizon : int or None
        The planned number of epochs of this call (``max_iter``) for schedules
        that need it; None under ``partial_fit``. Schedules see the absolute
        position (epochs carried over warm starts included), so the horizon they
        get is the epochs done before this call plus ``horizon``: a warm start
        continues the schedule towards a new end instead of replaying it.

    Returns
    -------
    n_done : int
        Epochs run.
    """
    n = objective.n_samples
    batch_size = max(1, min(int(optimizer.batch_size), n))
    n_batches = -(-n // batch_size)
    if horizon:
        horizon = loop.epoch + horizon
    _adapt(loop, optimizer, params)
    schedule = optimizer.learning_rate if isinstance(
        optimizer.learning_rate, Schedule) else None
    if loop.reference_loss is None:
        loop.reference_loss = float(objective.smooth_value(params))
    # A cross-entropy 1e4 times its starting value (and at least 1e4 nats a
    # sample) means the steps overshoot: finite but meaningless coefficients.
    limit = 1e4 * max(loop.reference_loss, 1.0)
    n_done = 0
    for _ in range(n_epochs):
        order = rng.permutation(n)
        total = 0.0
        lr = None
        # the epoch's batches come gathered from the objective (views into a
        # chunk of rows): the per-step path is the loss and a few small products
        for j, (batch, n_rows) in enumerate(objective.epoch_batches(order,
                                                                    batch_size)):
            value, grad = objective.batch_value_grad(params, batch)
            lr = _rate(optimizer, objective, loop, loop.epoch + j / n_batches,
                       horizon)
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"Training diverged: the loss became non-finite at epoch "
                    f"{loop.epoch + 1} with learning_rate={lr:.3g}. Lower the "
                    f"solver's learning_rate (or use learning_rate='auto'), or "
                    f"standardize X (e.g. StandardScaler)."
                )
            step, loop.optimizer_state = optimizer.update(
                grad, loop.optimizer_state, params, lr)
            params += step
            if objective.l1:  # cumulative L1 penalty: exact zeros survive the noise
                W = params[:objective.n_features]
                if loop.l1_applied is None or loop.l1_applied.shape != W.shape:
                    loop.l1_applied = np.zeros_like(W)
                    loop.l1_total = np.zeros_like(W)
                step_size = optimizer.l1_step(loop.optimizer_state, lr) \
                    if hasattr(optimizer, "l1_step") else lr
                if np.ndim(step_size):
                    step_size = step_size[:objective.n_features]
                loop.l1_total += step_size * objective.l1
                objective.cumulative_prox(params, loop.l1_total, loop.l1_applied)
            loop.step += 1
            total += value * n_rows
            if loop.average_from is not None and \
                    loop.epoch + (j + 1) / n_batches > loop.average_from:
                accumulate_average(loop, params)
        loss = total / n + objective.l1_penalty(params)
        if not (math.isfinite(loss) and np.all(np.isfinite(params))):
            raise FloatingPointError(
                f"Training diverged: non-finite coefficients at epoch {loop.epoch + 1} "
                f"with learning_rate={lr:.3g}. Lower the solver's learning_rate (or "
                f"use learning_rate='auto'), or standardize X (e.g. StandardScaler).")
        if loss > limit:
            raise FloatingPointError(
                f"Training diverged: the training loss grew from "
                f"{loop.reference_loss:.3g} to {loss:.3g} by epoch {loop.epoch + 1} "
                f"with learning_rate={lr:.3g}. Lower the solver's learning_rate (or "
                f"use learning_rate='auto'), or standardize X (e.g. StandardScaler).")
        loop.epoch += 1
        n_done += 1
        if schedule is not None:
            schedule.end_epoch(loop.schedule_state, loss)
        monitor.learning_rate = lr
        if monitor(averaged(loop, params, objective), loss):
            break
    return n_done
