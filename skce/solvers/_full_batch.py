"""Full-batch solvers: L-BFGS (scipy), Newton-CG and (accelerated) gradient descent."""

import math
import os
import warnings
from contextlib import nullcontext
from functools import lru_cache

import numpy as np
import scipy
import scipy.optimize

from ._base import FullBatchSolver, SolverResult


@lru_cache(maxsize=1)
def _scipy_blas_controllers():
    """The BLAS libraries that ship inside scipy's wheel (not numpy's).

    With pip wheels numpy and scipy each bundle an OpenBLAS. L-BFGS-B's Fortran
    calls scipy's on vectors of a few thousand entries, while numpy's threads are
    still spinning after the big products: on 2 cores that contention made
    ``setulb`` 20x slower (0.9 s against 0.05 s on digits). Its vectors are small,
    so one thread is always enough for it.
    """
    from threadpoolctl import ThreadpoolController

    scipy_dir = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
    marks = (os.path.join(scipy_dir, "scipy.libs"),
             os.path.dirname(os.path.abspath(scipy.__file__)))
    controller = ThreadpoolController()
    own = [c for c in controller.lib_controllers
           if c.user_api == "blas" and c.filepath.startswith(marks)]
    return controller, tuple(c.filepath for c in own)


def _single_threaded_scipy_blas():
    try:
        controller, paths = _scipy_blas_controllers()
    except Exception:  # pragma: no cover - threadpoolctl missing or unreadable
        return nullcontext()
    if not paths:
        return nullcontext()
    return controller.select(filepath=list(paths)).limit(limits=1)


def _max_abs(a):
    return float(np.max(np.abs(a))) if a.size else 0.0


class LBFGS(FullBatchSolver):
    """Limited-memory BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    Each iteration costs one fused value-and-gradient evaluation per line-search
    trial (usually one). Converged when the max-norm of the gradient is at most
    ``tol`` (scipy's ``gtol``) or when an iteration lowers the objective by less
    than 64 machine epsilons relative (scipy's ``ftol``, as scikit-learn sets it).
    The second test usually ends the run at gradients of 1e-8 to 1e-7 in float64,
    so a ``tol`` below that changes nothing (measured on 150 random problems);
    use ``solver="newton-cg"`` for tighter optima.

    Parameters
    ----------
    history_size : int, default=10
        Number of correction pairs kept (scipy's ``maxcor``).
    max_linesearch : int, default=50
        Line-search steps per iteration (scipy's ``maxls``).

    Examples
    --------
    >>> from skce import SoftmaxRegressor
    >>> from skce.solvers import LBFGS
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> SoftmaxRegressor(solver=LBFGS(history_size=20)).fit(X, y).score(X, y) > 0.95
    True
    """

    def __init__(self, history_size=10, max_linesearch=50):
        self.history_size = history_size
        self.max_linesearch = max_linesearch

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        shape, dtype = params.shape, params.dtype
        state = {"n_iter": 0, "stopped": False}

        def fun(x):
            value, grad = objective.value_grad(x)
            return value, grad.astype(np.float64).ravel()

        def callback(intermediate_result):
            state["n_iter"] += 1
            x = intermediate_result.x.reshape(shape).astype(dtype)
            if monitor(x, float(intermediate_result.fun)):
                state["stopped"] = True
                raise StopIteration

        # the factr test: stop when the relative decrease is below 64 * eps
        ftol = 64 * np.finfo(float).eps
        with _single_threaded_scipy_blas():
            res = scipy.optimize.minimize(
                fun, params.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
                callback=callback,
                options={"maxiter": max_iter, "maxfun": max(15000, 2 * max_iter),
                         "gtol": tol, "ftol": ftol, "maxcor": self.history_size,
                         "maxls": self.max_linesearch},
            )
        out = res.x.reshape(shape).astype(dtype)
        msg = str(res.message)
        converged = bool(res.success)
        if not converged and not state["stopped"] and "ABNORMAL" in msg.upper():
            # The line search failed: at the precision of X's dtype no decrease is
            # left. Count it as converged when the gradient is as small as the
            # arithmetic allows.
            grad = res.jac
            converged = _max_abs(grad) <= max(tol, 1e3 * np.finfo(dtype).eps)
        return SolverResult(out, state["n_iter"], converged, state["stopped"], msg)


class NewtonCG(FullBatchSolver):
    """Inexact Newton: conjugate gradient on exact Hessian-vector products, then an
    Armijo backtracking line search.

    Order of calls per iteration: value and gradient -> Hessian setup (the softmax at
    the current point) -> CG solve of H p = -g to relative residual
    ``min(0.5, sqrt(||g||))`` (Eisenstat-Walker forcing, superlinear near the
    optimum) -> backtracking line search on the objective (step 1 first; one product
    with X per trial) -> convergence check ``max|g| <= tol``.

    When n_samples is much larger than the number of parameters, the CG products use
    a Hessian estimated on a random subsample of rows, drawn afresh at each Newton
    step (Byrd, Chin, Neveitt and Nocedal 2011, "On the use of stochastic Hessian
    information in optimization methods for machine learning"): the gradient, the
    line search and the stopping test stay exact, so the solution is the same, while
    each CG iteration costs a fraction of a full pass over X. The relative CG
    residual is then only driven down to 1e-2, the accuracy of the estimate. The CG
    residual is never asked below sqrt(eps) of X's dtype (3e-4 in float32), where the
    products' rounding stops it from decreasing.

    Parameters
    ----------
    max_cg_iter : int, default=200
        Conjugate-gradient iterations per Newton step.
    armijo : float, default=1e-4
        Sufficient-decrease constant of the line search.
    hessian_subsample : "auto", int or None, default="auto"
        Rows used for the Hessian-vector products. None: all rows (exact
        Newton-CG). An int: that many rows. "auto": all rows unless n_samples
        exceeds twice ``max(20000, 20 * n_params)``, in which case that many.
        Only for in-memory objectives; others always use all rows.

    Examples
    --------
    >>> from skce import SoftmaxRegressor
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegressor(solver="newton-cg").fit(X, y)
    >>> clf.n_iter_ < 30
    True
    """

    needs_hessian = True
    default_max_iter = 200

    def __init__(self, max_cg_iter=200, armijo=1e-4, hessian_subsample="auto"):
        self.max_cg_iter = max_cg_iter
        self.armijo = armijo
        self.hessian_subsample = hessian_subsample

    def _subsample_size(self, objective):
        """Rows for the Hessian products, or None for all of them."""
        from .._objective import Objective

        option = self.hessian_subsample
        if option is None or not isinstance(objective, Objective):
            return None
        n = objective.n_samples
        if isinstance(option, str):
            if option != "auto":
                raise ValueError(
                    f"hessian_subsample must be 'auto', a positive integer or None; "
                    f"got {option!r}.")
            m = max(20_000, 20 * int(np.prod(objective.shape)))
            return m if 2 * m < n else None
        if isinstance(option, (int, np.integer)) and not isinstance(option, bool) \
                and option > 0:
            return int(option) if option < n else None
        raise ValueError(
            f"hessian_subsample must be 'auto', a positive integer or None; got "
            f"{option!r}.")

    def _cg(self, hessp, g, rtol_floor=0.0):
        """Solve H p = -g approximately; return p (steepest descent if CG stalls)."""
        p = np.zeros_like(g)
        r = -g.astype(np.float64)
        gnorm = math.sqrt(float(np.vdot(r, r)))
        eta = max(min(0.5, math.sqrt(gnorm)), rtol_floor,
                  math.sqrt(np.finfo(g.dtype).eps)) * gnorm
        d = r.copy()
        rr = gnorm * gnorm
        p = p.astype(np.float64)
        for _ in range(self.max_cg_iter):
            Hd = hessp(d).astype(np.float64)
            curv = float(np.vdot(d, Hd))
            if curv <= 0:  # cannot happen for a convex loss; guard numerical noise
                break
            a = rr / curv
            p += a * d
            r -= a * Hd
            rr_new = float(np.vdot(r, r))
            if math.sqrt(rr_new) <= eta:
                break
            d *= rr_new / rr
            d += r
            rr = rr_new
        if not np.any(p):
            p = -g.astype(np.float64)
        return p

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        dtype = params.dtype
        x = params.copy()
        m = self._subsample_size(objective)
        rng = np.random.default_rng(0)  # the subsamples are reproducible
        value, grad = objective.value_grad(x)
        converged = stopped = False
        message = f"reached max_iter={max_iter}"
        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            if _max_abs(grad) <= tol:
                converged, message, n_iter = True, "gradient below tol", n_iter - 1
                break
            if m is None:
                hessp = objective.hessp(x)
                p = self._cg(hessp, grad).astype(dtype)
            else:
                rows = np.sort(rng.choice(objective.n_samples, m, replace=False))
                hessp = objective.hessp(x, rows=rows)
                p = self._cg(hessp, grad, rtol_floor=1e-2).astype(dtype)
            slope = float(np.vdot(grad, p))
            if slope >= 0:  # not a descent direction: fall back on the gradient
                p = -grad
                slope = -float(np.vdot(grad, grad))
            step = 1.0
            for _ in range(40):
                trial = x + step * p
                trial_value = objective.smooth_value(trial)
                if trial_value <= value + self.armijo * step * slope:
                    break
                step *= 0.5
            else:
                if m is not None:  # the estimate's direction failed: go exact
                    m = None
                    continue
                # no decrease at the dtype's precision: the optimum is reached
                converged = _max_abs(grad) <= max(tol, 1e3 * np.finfo(dtype).eps)
                message = "line search found no decrease"
                n_iter -= 1
                break
            floor = 1e3 * np.finfo(dtype).eps
            if m is not None and not trial_value < value:
                # The subsampled direction's decrease is below the rounding of f:
                # finish with exact Hessian products, whose steps still make
                # progress on the gradient.
                m = None
            elif np.array_equal(trial, x) or (
                    not trial_value < value and _max_abs(grad) <= floor):
                # No progress left at X's precision (float32): Armijo accepts the
                # step because value + c * slope rounds to value, and every later
                # iteration would repeat this one until max_iter.
                converged = _max_abs(grad) <= max(tol, floor)
                message = "no decrease left at the precision of X's dtype"
                n_iter -= 1
                break
            x = trial
            previous = _max_abs(grad)
            value, grad = objective.value_grad(x)
            if monitor(x, value):
                stopped, message = True, "stopped by monitor"
                break
            current = _max_abs(grad)
            if tol < current <= floor and current > 0.5 * previous:
                # The gradient has reached the rounding noise of X's dtype (float32:
                # ~1e-6 on 1e5 rows) and stopped shrinking: no step can lower it.
                converged = True
                message = "gradient stalled at the precision of X's dtype"
                break
        return SolverResult(x, n_iter, converged, stopped, message)


class GradientDescent(FullBatchSolver):
    """Full-batch (proximal) gradient descent with a backtracking line search.

    No step to tune: the step is 1 / L with L found by backtracking (doubled until
    the quadratic upper bound holds, then allowed to shrink by ``decrease`` per
    iteration). With ``accelerated=True`` (default) this is FISTA (Beck and Teboulle
    2009) with function-value adaptive restart (O'Donoghue and Candes 2015), which
    keeps gradient descent practical on ill-conditioned problems. L1 and elastic-net
    penalties are handled by the proximal (soft-thresholding) step. Converged when the
    max-norm of the gradient mapping ``L (y - prox(y - g / L))`` is at most ``tol``.

    Parameters
    ----------
    accelerated : bool, default=True
        Nesterov/FISTA momentum with adaptive restart; False gives plain proximal
        gradient descent.
    decrease : float in (0, 1], default=0.9
        Factor applied to L after each accepted step, so the step can grow again.

    Examples
    --------
    >>> from skce import SoftmaxRegressor
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> SoftmaxRegressor(solver="gd").fit(X, y).score(X, y) > 0.95
    True
    """

    supports_l1 = True
    default_max_iter = 10000

    def __init__(self, accelerated=True, decrease=0.9):
        self.accelerated = accelerated
        self.decrease = decrease

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        dtype = params.dtype
        x = params.copy()
        y = x
        t = 1.0
        L = objective.lipschitz_bound() * 0.1 or 1.0
        F_x = objective.value(x)
        converged = stopped = False
        message = f"reached max_iter={max_iter}"
        eps = np.finfo(dtype).eps
        n_iter = 0
        for n_iter in range(1, max_iter + 1):  # noqa: B007 (returned after the loop)
            f_y, g_y = objective.value_grad(y)
            for _ in range(60):
                x_new = objective.prox(y - g_y / L, 1.0 / L)
                diff = x_new - y
                f_new = objective.smooth_value(x_new)
                bound = (f_y + float(np.vdot(g_y, diff))
                         + 0.5 * L * float(np.vdot(diff, diff)))
                # relative slack: at float precision the bound can fail by rounding
                if f_new <= bound + 10 * eps * abs(f_y):
                    break
                L *= 2.0
            mapping = _max_abs(diff) * L
            F_new = f_new + objective.l1_penalty(x_new)
            if self.accelerated:
                if F_new > F_x:  # adaptive restart: momentum went uphill
                    if t == 1.0 and y is x:
                        # a plain proximal step from x went uphill: only rounding
                        # does that, so X's precision leaves no decrease (float32)
                        converged = mapping <= max(tol, 1e3 * eps)
                        message = "no decrease left at the precision of X's dtype"
                        break
                    t, y = 1.0, x
                    if mapping <= tol:
                        converged, message = True, "gradient mapping below tol"
                        break
                    # a restart is an iteration (it cost a gradient): report it, so
                    # that n_iter_ == len(loss_curve_); the objective is unchanged
                    if monitor(x, F_x):
                        stopped, message = True, "stopped by monitor"
                        break
                    continue
                t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
                y = x_new + ((t - 1.0) / t_new) * (x_new - x)
                t = t_new
            else:
                y = x_new
            x, F_x = x_new, F_new
            L *= self.decrease
            if monitor(x, F_x):
                stopped, message = True, "stopped by monitor"
                break
            if mapping <= tol:
                converged, message = True, "gradient mapping below tol"
                break
        if not np.all(np.isfinite(x)):  # pragma: no cover - guarded upstream
            warnings.warn("gradient descent produced non-finite values", RuntimeWarning)
        return SolverResult(x, n_iter, converged, stopped, message)


class Auto(FullBatchSolver):
    """Choose the full-batch solver from the size of the problem and the penalty.

    - ``l1_ratio > 0`` (with ``alpha > 0``): :class:`GradientDescent`, the one
      full-batch solver with proximal steps;
    - ``n_samples * n_features >= threshold``: :class:`NewtonCG`, whose few
      iterations (with subsampled Hessian products when rows far outnumber
      parameters) win once a pass over X is expensive;
    - otherwise :class:`LBFGS`, which is as fast on small problems and reaches the
      optimum of the tiny, ill-conditioned problems of scikit-learn's estimator
      checks to their tolerance.

    Why (``benchmarks/results/latest.md``, time to 1e-6 relative objective, one
    thread): on 200,000 x 100 with 10 classes newton-cg took 0.71 s (float64) and
    0.39 s (float32) against 3.65 s and 1.97 s for lbfgs and 3.44 s and 2.10 s for
    scikit-learn's fastest solver; on the sparse 100,000 x 50,000 problem 2.83 s
    against 9.16 s and 3.34 s; on digits (1,797 x 64) lbfgs 0.043 s, newton-cg
    0.047 s. The estimator records the solver it used as ``solver_``.

    Parameters
    ----------
    threshold : float, default=1e6
        Size n_samples * n_features from which newton-cg is used.

    Examples
    --------
    >>> from skce.solvers import Auto
    >>> Auto().select(n_samples=200_000, n_features=100, l1=False)
    NewtonCG()
    >>> Auto().select(n_samples=150, n_features=4, l1=False)
    LBFGS()
    >>> Auto().select(n_samples=150, n_features=4, l1=True)
    GradientDescent()
    """

    supports_l1 = True

    def __init__(self, threshold=1e6):
        self.threshold = threshold

    def select(self, n_samples, n_features, l1):
        """The solver object for a problem of this size and penalty."""
        if l1:
            return GradientDescent()
        if n_samples * n_features >= self.threshold:
            return NewtonCG()
        return LBFGS()

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        solver = self.select(objective.n_samples, objective.n_features,
                             bool(objective.l1))
        return solver.minimize(objective, params, max_iter=max_iter, tol=tol,
                               monitor=monitor)
