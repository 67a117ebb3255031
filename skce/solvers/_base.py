"""What every solver shares: the result record and the two documented protocols.

Full-batch protocol
    ``solver.minimize(objective, params, *, max_iter, tol, monitor) -> SolverResult``.
    ``objective`` offers ``value_grad(params)``, ``smooth_value(params)``,
    ``value(params)``, ``hessp(params)``, ``prox(params, step)`` (see
    :class:`skce._objective.Objective`); ``monitor(params, loss)`` must be called once
    per iteration and returns True when training must stop (callbacks, max_time,
    early stopping). ``tol`` bounds the gradient's (or gradient mapping's) max-norm.

First-order (stochastic) protocol
    ``solver.init(params) -> state`` and
    ``solver.update(grad, state, params, learning_rate) -> (step, state)``, with
    attributes ``learning_rate`` (a float, ``"auto"`` or a schedule) and
    ``batch_size``. The shared training loop in :mod:`skce._training` does the
    shuffling, batching, schedules, proximal steps and stopping. ``tol`` bounds the
    improvement of the epoch's training loss (see ``n_iter_no_change``).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator


@dataclass
class SolverResult:
    """What a full-batch solver returns.

    Attributes
    ----------
    params : ndarray
        The final parameters.
    n_iter : int
        Iterations done.
    converged : bool
        Whether the solver's own criterion (``tol``) was met.
    stopped : bool
        Whether the monitor stopped the run (callback, max_time, early stopping).
    message : str
        Why the solver stopped, for warnings and ``verbose``.
    precision_floor : float or None
        Set when the run converged at the rounding floor of the gradient rather
        than at ``tol``: no step made progress any more and every gradient entry
        was within its rounding noise (the largest noise bound is the value), while
        some entry was above ``tol``. None otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skce.solvers import SolverResult
    >>> result = SolverResult(np.zeros((3, 2)), n_iter=7, converged=True)
    >>> result.n_iter, result.stopped
    (7, False)
    """

    params: np.ndarray
    n_iter: int
    converged: bool
    stopped: bool = False
    message: str = ""
    precision_floor: float | None = None


class FullBatchSolver(BaseEstimator):
    """Base for solvers that see the whole objective at every iteration.

    A subclass implements ``minimize(objective, params, *, max_iter, tol, monitor)``
    and returns a :class:`SolverResult`; deriving from this class gives it
    ``get_params``/``set_params`` (so ``clone`` and ``GridSearchCV`` work) and the
    family's defaults. Class attributes: ``supports_l1`` (the solver applies
    ``objective.prox``), ``default_max_iter``, ``default_tol``.

    Examples
    --------
    A fixed-step gradient descent, written against the protocol:

    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skce import SoftmaxRegressor
    >>> from skce.solvers import FullBatchSolver, SolverResult
    >>> class FixedStepGD(FullBatchSolver):
    ...     def __init__(self, step=0.5):
    ...         self.step = step
    ...     def minimize(self, objective, params, *, max_iter, tol, monitor):
    ...         x = params.copy()
    ...         for it in range(1, max_iter + 1):
    ...             value, grad = objective.value_grad(x)
    ...             if np.abs(grad).max() <= tol:
    ...                 return SolverResult(x, it - 1, converged=True)
    ...             x -= self.step * grad
    ...             if monitor(x, objective.value(x)):
    ...                 return SolverResult(x, it, converged=False, stopped=True)
    ...         return SolverResult(x, max_iter, converged=False)
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = SoftmaxRegressor(solver=FixedStepGD(step=1.0), alpha=1e-2, tol=1e-7,
    ...                        max_iter=5000).fit(X, y)
    >>> reference = SoftmaxRegressor(alpha=1e-2, tol=1e-8).fit(X, y)   # lbfgs
    >>> clf.stop_reason_, bool(np.allclose(clf.coef_, reference.coef_, atol=1e-4))
    ('converged', True)
    """

    family = "full-batch"
    supports_l1 = False
    needs_hessian = False
    default_max_iter = 1000
    default_tol = 1e-7


class FirstOrderSolver(BaseEstimator):
    """Base for the stochastic first-order optimizers (init / update).

    Defaults shared by the family, measured on standardized iris, wine,
    breast_cancer and digits (``alpha=1e-4``, relative objective gap to newton-cg):

    - ``learning_rate="auto"``: :meth:`auto_learning_rate` decayed by a cosine from
      1 to 0 over the planned epochs (``max_iter``); under ``partial_fit``, where
      no horizon is known, by ``1 / sqrt(1 + epoch)`` with epoch counting the calls
      (Adam: constant, ``decay_without_horizon = False``, which measured better).
    - ``max_iter=None`` runs ``ceil(default_steps / batches_per_epoch)`` epochs (at
      least ``min_epochs``): a budget of updates, not of epochs, since the number of
      updates an ill-conditioned problem needs hardly depends on its size. Small
      data sets get more epochs (at most ``max_epochs``), large ones fewer (at
      least ``min_epochs``); the work of a fit stays bounded.
    - ``tol=None``: no stopping on the training loss; the schedule runs to its end.

    A subclass implements ``init(params) -> state`` and
    ``update(grad, state, params, learning_rate) -> (step, state)`` and has
    ``learning_rate`` and ``batch_size`` attributes.

    Examples
    --------
    signSGD (Bernstein et al. 2018), written against the protocol:

    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skce import SoftmaxRegressor
    >>> from skce.solvers import CosineDecay, FirstOrderSolver
    >>> class SignSGD(FirstOrderSolver):
    ...     def __init__(self, learning_rate=CosineDecay(0.05), batch_size=16):
    ...         self.learning_rate = learning_rate
    ...         self.batch_size = batch_size
    ...     def init(self, params):
    ...         return 0
    ...     def update(self, grad, state, params, learning_rate):
    ...         return -learning_rate * np.sign(grad), state + 1
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = SoftmaxRegressor(solver=SignSGD(), max_iter=50, random_state=0)
    >>> bool(clf.fit(X, y).score(X, y) > 0.9)
    True
    """

    family = "stochastic"
    supports_l1 = True
    needs_hessian = False
    default_max_iter = None  # from default_steps, see skce._training.default_epochs
    default_steps = 20_000
    min_epochs = 10
    max_epochs = 2000
    default_tol = None
    momentum_scale = 1.0  # effective step = lr * momentum_scale
    auto_rate_scale = 15.0
    auto_rate = None  # adaptive methods: a fixed peak, in units of the parameters
    l2_rate_cap = 0.25
    decay_without_horizon = True  # "auto" under partial_fit: peak / sqrt(1 + calls)

    def l1_step(self, state, learning_rate):
        """The step size in which the L1 penalty is applied after an update: a
        scalar, or an array of the parameters' shape for methods that scale each
        coordinate (Adagrad, RMSprop, Adam). The proximal step of a
        preconditioned update must use the same per-coordinate step, or the fit
        minimizes a differently weighted penalty. Momentum methods take
        ``learning_rate * momentum_scale``, their effective step."""
        return learning_rate * self.momentum_scale

    def auto_learning_rate(self, objective):
        """The peak of the "auto" rate: ``auto_rate_scale / (momentum_scale * L)``.

        L is the largest curvature the link allows, c * lambda_max(sum_i s_i x~_i
        x~_i^T) / sum_i s_i + l2 with x~ = [x, 1] and c = 1/2 (softmax) or 1/4
        (sigmoid), found by power iteration (:func:`curvature_bound`). It follows
        the scale of X, so unscaled features get a proportionally smaller rate.
        Steps of 1/L are safe but slow here: near a near-separable optimum the
        curvature is far below L, and cross-entropy's gradients are bounded, so
        ``auto_rate_scale = 15`` times larger peaks, annealed to 0, measured best
        (within 1e-2 relative objective on all four data sets); they are capped
        below 1 / l2, beyond which the L2 part (a quadratic) flips sign at every
        step (see ``l2_rate_cap`` below).
        Momentum methods divide by ``momentum_scale = 1 / (1 - momentum)``, their
        effective step multiplier.

        Adaptive methods (Adagrad, RMSprop, Adam) take steps of about the rate in
        every coordinate whatever the gradient's size, so their ``auto_rate`` is a
        length in parameter units, times ``min(1, l2_rate_cap * L_data / l2)``
        with ``L_data = L - l2``: 1 at small alpha (the measured constants), and
        ``auto_rate * l2_rate_cap * L_data / l2`` when the penalty dominates, where
        the optimum shrinks like 1 / alpha (a constant 1.0 made Adagrad's penalty
        1e4 times its starting loss at alpha=1e4, a "diverged" fit).
        ``l2_rate_cap = 0.25`` (0.05 for single-sample SGD) also caps the other
        methods at ``l2_rate_cap / l2``: with 1 / l2 each mini-batch step jumped to
        that batch's own optimum, and ``coef_`` ended 1.8e-3 (relative) off the optimum
        at alpha >= 1e2 on iris against 8e-4.
        """
        L = curvature_bound(objective)
        l2 = objective.l2
        fixed = getattr(self, "auto_rate", None)
        if fixed is not None:
            data = max(L - l2, 0.0)
            if l2 > 0 and data > 0:
                return fixed * min(1.0, self.l2_rate_cap * data / l2)
            return fixed
        rate = self.auto_rate_scale / L
        if l2 > 0:  # the L2 part is a quadratic: steps above 1 / l2 flip it
            rate = min(rate, self.l2_rate_cap / l2)
        return rate / self.momentum_scale


def max_abs(a):
    """max |a| as a float (0.0 for an empty array): the solvers' gradient norm."""
    return float(np.max(np.abs(a))) if a.size else 0.0


def rows_in_memory(X):
    """Whether X is a numpy array or a scipy sparse matrix, whose rows a solver can
    index and sample (dask and array-API data are not)."""
    import scipy.sparse as sp

    return isinstance(X, np.ndarray) or sp.issparse(X)


def curvature_bound(objective, n_iter=30):
    """The smoothness constant of the smooth objective: ``objective.smoothness()``.

    c * lambda_max(X~^T S X~ / sum(s)) + l2, with X~ = [X, 1] (the column of ones
    only when fitting an intercept), S = diag(sample_weight) and c the loss's
    ``curvature_bound()`` (1/2 softmax, 1/4 sigmoid, more for focal losses): the one
    smoothness bound every "auto" rate uses, computed by the objective (numpy,
    array API or dask) with power iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from skce._loss import HardTargets, SigmoidCrossEntropy
    >>> from skce._objective import Objective
    >>> from skce.solvers._base import curvature_bound
    >>> X = np.diag([3.0, 1.0])
    >>> obj = Objective(X, HardTargets(np.array([0, 1]), 2), np.ones(2),
    ...                 SigmoidCrossEntropy(), fit_intercept=False)
    >>> round(curvature_bound(obj), 6)  # 1/4 * 9 / 2
    1.125
    """
    return objective.smoothness(n_iter)
