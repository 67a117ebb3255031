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
    """

    params: np.ndarray
    n_iter: int
    converged: bool
    stopped: bool = False
    message: str = ""


class FullBatchSolver(BaseEstimator):
    """Base for solvers that see the whole objective at every iteration."""

    family = "full-batch"
    supports_l1 = False
    needs_hessian = False
    default_max_iter = 1000
    default_tol = 1e-7


class FirstOrderSolver(BaseEstimator):
    """Base for the stochastic first-order optimizers (init / update)."""

    family = "stochastic"
    supports_l1 = True
    needs_hessian = False
    default_max_iter = 200
    default_tol = 1e-4
    momentum_scale = 1.0  # effective step = lr / momentum_scale for 'auto'

    def auto_learning_rate(self, objective):
        """The "auto" step: 1 / L(b), with L(b) the expected smoothness of a batch.

        For batches of b out of n samples, L(b) = n (b - 1) / (b (n - 1)) L
        + (n - b) / (b (n - 1)) L_max (Gower et al. 2019, "SGD: general analysis and
        improved rates"), with L the full-batch and L_max the per-sample bound.
        Momentum methods divide by 1 / (1 - momentum) since their effective step is
        lr / (1 - momentum).
        """
        n = objective.n_samples
        b = min(self.batch_size, n)
        L = objective.lipschitz_bound()
        L_max = objective.lipschitz_bound(per_sample=True)
        if n > 1:
            Lb = n * (b - 1) / (b * (n - 1)) * L + (n - b) / (b * (n - 1)) * L_max
        else:
            Lb = L_max
        return 1.0 / (Lb * self.momentum_scale)
