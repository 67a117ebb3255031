"""Full-batch solvers: L-BFGS (scipy), Newton-CG and (accelerated) gradient descent."""

import math
import os
import warnings
from contextlib import nullcontext
from functools import lru_cache

import numpy as np
import scipy
import scipy.optimize
import scipy.sparse as sp

from ._base import FullBatchSolver, SolverResult, max_abs
from ._schedules import check_number


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


# Rounding floor of the gradient, in units of eps * (the sum of the absolute values of
# the terms it is summed from); calibrated in tests/test_convergence.py, where the
# measured noise stays below one unit in float64 and float32, dense and sparse.
_FLOOR_UNITS = 4.0


# Trials a line search may spend on a gradient where the objective is flat to its
# rounding (see NewtonCG._line_search).
_FLAT_TRIALS = 3
# Gradient-descent steps on a flat objective without a new smallest gradient mapping
# after which the mapping is taken to be at its rounding noise.
_FLAT_STALL = 10


def _floor_message(converged, grad, floor, tol):
    g = max_abs(grad)
    if converged:
        return (f"converged at the precision floor of X's dtype: max|grad| = {g:.1e} "
                f"is within the rounding of the gradient (up to {floor:.1e}), where "
                f"tol={tol:g} cannot be checked")
    return (f"no decrease left at the precision of X's dtype, with max|grad| = "
            f"{g:.1e} above the rounding of the gradient (up to {floor:.1e})")


def _in_memory(objective):
    """An Objective over all rows of numpy or scipy X (the column moments and the
    rounding floor read X directly)."""
    from .._objective import Objective

    return isinstance(objective, Objective) and objective.is_numpy \
        and objective.rows is None


# Above this, L-BFGS's history is a memory cost worth avoiding (Auto.select).
_HISTORY_BYTES = 64 << 20


def _block_rows(X, budget=1 << 20):
    """Rows of X per block so that a float64 block takes about ``budget`` bytes
    (at least 256 rows): passes over X in blocks then allocate a small,
    size-independent amount (a fixed 8192 rows was 0.8 x X on 20,000 x 40 float32)."""
    return max(256, budget // (8 * max(1, X.shape[1])))


def _abs_blocks(X):
    """|X| a block of rows at a time: never a copy of X (sparse: of its rows)."""
    rows = _block_rows(X) if not sp.issparse(X) else max(
        256, (1 << 20) * X.shape[0] // (12 * max(1, X.nnz)))
    if sp.issparse(X):
        X = X.tocsr()
    for start in range(0, X.shape[0], rows):
        block = slice(start, min(start + rows, X.shape[0]))
        yield block, np.abs(X[block])


class _Criterion:
    """The stopping test shared by the full-batch solvers.

    The test is per entry: ``|g_jk| <= tol * min(1, r_j)`` with
    ``r_j = sqrt(sum_i s_i x_ij^2 / S + l2)`` (1 for the intercept row). On
    standardized X (``r_j ~ 1``) that is the documented ``max|g| <= tol``; a column
    of scale 1e-6 gets a 1e6 times tighter bound, since its gradient entry is 1e-6
    times that of the same column standardized, and ``max|g| <= tol`` there would
    stop far from the optimum.

    Where no step makes progress any more (the line search finds no decrease), the
    bound is loosened to the rounding floor of the gradient (:meth:`floor`), which
    grows with the scale of the column, the sample weights and the logits: a run
    that stops there with every entry below it has converged as far as X's dtype
    allows.

    For objectives that are not in memory (dask, array API) the test is
    ``max|g| <= tol`` and the floor ``1e3 * eps``.
    """

    def __init__(self, objective, tol, dtype):
        self.objective = objective
        self.tol = tol
        self.eps = float(np.finfo(dtype).eps)
        self.in_memory = _in_memory(objective)
        self._threshold = None
        self._column_moments = None

    def _moments(self):
        """Weighted column means of |x| and x^2: ndarrays of shape (n_features,);
        one pass over X, once per fit."""
        if self._column_moments is None:
            obj = self.objective
            s = np.asarray(obj.sample_weight, dtype=np.float64)
            first = np.zeros(obj.n_features)
            second = np.zeros(obj.n_features)
            for block, A in _abs_blocks(obj.X):  # |x|, a block of rows at a time
                weights = s[block]
                if sp.issparse(A):
                    first += np.asarray(A.T @ weights).ravel()
                    second += np.asarray(A.multiply(A).T @ weights).ravel()
                else:
                    A = A.astype(np.float64, copy=False)
                    first += weights @ A
                    second += np.einsum("i,ij,ij->j", weights, A, A)
            self._column_moments = first / obj.weight_sum, second / obj.weight_sum
        return self._column_moments

    def _row_scales(self):
        """r_j for every parameter row, ndarray of shape (n_rows, 1)."""
        obj = self.objective
        second = self._moments()[1]
        if obj.fit_intercept:
            second = np.append(second, 1.0)
        return np.sqrt(second + obj.l2)[:, None]

    def value_noise(self, params, value):
        """Rounding of the objective's value: ``4 eps (|f| + mean_i s_i |z_i|)``.

        Each term of f is computed from logits ``z_i`` with an error of
        ``eps * |z_i|``; near a separable optimum f is 1e-3 while the logits are 10,
        so ``eps * |f|`` alone is 1e4 times too small. The mean logit is bounded by
        ``sum_j mean|x_j| max_k |w_jk| + max|b| + max|o|``.
        """
        scale = abs(value)
        obj = self.objective
        if self.in_memory:
            params = np.asarray(params).reshape(obj.shape)
            d = obj.n_features
            scale += float(self._moments()[0] @ np.abs(params[:d]).max(axis=1))
            if obj.fit_intercept:
                scale += max_abs(params[d])
            if getattr(obj, "offset", None) is not None:
                scale += max_abs(np.asarray(obj.offset))
        return 4 * self.eps * scale

    def threshold(self):
        """The per-entry bound, broadcastable to the gradient's shape."""
        if self._threshold is None:
            if self.in_memory:
                self._threshold = self.tol * np.minimum(1.0, self._row_scales())
            else:
                self._threshold = self.tol
        return self._threshold

    def passed(self, grad):
        """Whether every gradient entry is below its bound."""
        if max_abs(grad) > self.tol:  # cheap, and decides most calls
            return False
        return bool(np.all(np.abs(grad) <= self.threshold()))

    def floor(self, params):
        """Rounding floor of each gradient entry at ``params``.

        ``g_j = (1/S) sum_i x_ij G_i + l2 w_j`` with ``|G_i| <= s_i`` (cross-entropy:
        ``s_i |p_i - t_i|``). Each ``G_i`` carries the rounding of its logit,
        ``eps * a_i`` with ``a_i = sum_j |x_ij| max_k |w_jk| + max|b| + max|o|``, and
        of its own evaluation, ``eps * s_i``; the sum adds ``eps`` per term. So
        ``|dg_j| <~ eps * (sum_i s_i |x_ij| (1 + a_i) / S + l2 |w_j|)``. Costs two
        passes over X; only called once a run has stalled.
        """
        obj = self.objective
        if not self.in_memory:
            return np.asarray(1e3 * self.eps)
        params = np.asarray(params, dtype=np.float64).reshape(obj.shape)
        d = obj.n_features
        s = np.asarray(obj.sample_weight, dtype=np.float64)
        w = np.abs(params[:d]).max(axis=1)
        shift = 0.0
        if obj.fit_intercept:
            shift += float(np.abs(params[d]).max())
        if getattr(obj, "offset", None) is not None:
            shift += float(np.abs(obj.offset).max())
        rows = np.empty(obj.n_samples)
        for block, A in _abs_blocks(obj.X):
            rows[block] = np.asarray(A @ w.astype(A.dtype)).ravel()
        rows = s * (1.0 + rows + shift) / obj.weight_sum
        cols = np.zeros(d)
        for block, A in _abs_blocks(obj.X):
            cols += np.asarray(A.T @ rows[block].astype(A.dtype)).ravel()
        if obj.fit_intercept:
            cols = np.append(cols, rows.sum())
        floor = cols[:, None] + np.zeros(obj.shape)
        if obj.l2:
            floor[:d] += obj.l2 * np.abs(params[:d])
        return _FLOOR_UNITS * self.eps * floor

    def settle(self, grad, params, extra=0.0, what="gradient"):
        """``(converged, precision_floor, message)`` for a run that can make no
        more progress: converged if the test passes, or passes at the floor."""
        if self.passed(grad):
            return True, None, f"{what} below tol"
        ok, floor = self.at_floor(grad, params, extra)
        return ok, floor if ok else None, _floor_message(ok, grad, floor, self.tol)

    def at_floor(self, grad, params, extra=0.0):
        """``(passed, floor)``: the test with each bound raised to the rounding
        floor (plus ``extra``), and the largest floor."""
        floor = self.floor(params) + extra
        bound = np.maximum(self.threshold(), floor)
        return bool(np.all(np.abs(grad) <= bound)), float(np.max(floor))


class LBFGS(FullBatchSolver):
    """Limited-memory BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    Each iteration costs one fused value-and-gradient evaluation per line-search
    trial (usually one). scipy stops when the max-norm of the gradient is at most
    ``tol`` (its ``gtol``), when an iteration lowers the objective by less than 64
    machine epsilons relative (its ``ftol``, as scikit-learn sets it) or when its
    line search fails. Only the gradient test (per entry, see ``_Criterion``) counts
    as converged: after a stop on the other two with the test failing (a ``tol``
    below 1e-8, or ill-conditioned X) the run is finished by Newton-CG steps
    (exact Hessian products), within the same ``max_iter``.

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

    def validate(self):
        """Check the hyperparameters (called at fit time)."""
        check_number(self, "history_size", self.history_size, low=1, integer=True)
        check_number(self, "max_linesearch", self.max_linesearch, low=1,
                     integer=True)

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        shape, dtype = params.shape, params.dtype
        state = {"n_iter": 0, "stopped": False, "error": None}

        def fun(x):
            value, grad = objective.value_grad(x)
            return value, grad.astype(np.float64).ravel()

        def callback(intermediate_result):
            state["n_iter"] += 1
            x = intermediate_result.x.reshape(shape).astype(dtype)
            try:
                stop = monitor(x, float(intermediate_result.fun))
            except BaseException as exc:
                # scipy ends the run quietly on a StopIteration from the callback
                # (and would on ours): keep the exception, raise it after scipy
                state["error"] = exc
                raise StopIteration from None
            if stop:
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
        if state["error"] is not None:
            raise state["error"]
        out = res.x.reshape(shape).astype(dtype)
        n_iter = state["n_iter"]
        if state["stopped"]:
            return SolverResult(out, n_iter, False, True, "stopped by monitor")
        grad = res.jac.reshape(shape)  # the gradient at ``out`` (fun casts x)
        test = _Criterion(objective, tol, dtype)
        if test.passed(grad):
            return SolverResult(out, n_iter, True, False, str(res.message))
        if n_iter >= max_iter:
            return SolverResult(out, n_iter, False, False,
                                f"reached max_iter={max_iter}")
        # scipy stopped on its relative-decrease test or a failed line search with
        # the gradient test failing: ill-conditioned (unscaled) X, or a tol below
        # what ftol allows. Newton steps finish the job from here.
        newton = NewtonCG()._minimize(
            objective, out, max_iter=max_iter - n_iter, tol=tol, monitor=monitor,
            value=float(res.fun), grad=grad.astype(dtype))
        message = (f"L-BFGS stopped with max|grad| = {max_abs(grad):.1e} "
                   f"({res.message}); Newton-CG from there: {newton.message}")
        return SolverResult(newton.params, n_iter + newton.n_iter, newton.converged,
                            newton.stopped, message, newton.precision_floor)


class NewtonCG(FullBatchSolver):
    """Inexact Newton: conjugate gradient on exact Hessian-vector products, then an
    Armijo backtracking line search.

    Order of calls per iteration: value and gradient -> Hessian setup (the softmax at
    the current point) -> CG solve of H p = -g to relative residual
    ``min(0.5, sqrt(||g||))`` (Eisenstat-Walker forcing, superlinear near the
    optimum) -> backtracking line search on the objective (step 1 first; one product
    with X per trial) -> convergence check ``max|g| <= tol`` (per entry, tighter on
    columns of small scale). Where the objective is flat to its rounding the line
    search judges trials by the gradient's norm, and a run that can make no more
    progress with the gradient within its rounding floor stops converged there
    (``SolverResult.precision_floor``). In float64 with exact Hessian products, one
    final Newton step with CG to its floor follows the passed check.

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

    def validate(self):
        """Check the hyperparameters (called at fit time)."""
        check_number(self, "max_cg_iter", self.max_cg_iter, low=1, integer=True)
        check_number(self, "armijo", self.armijo, low=0.0, high=1.0, low_open=True,
                     high_open=True)
        option = self.hessian_subsample
        if not (option is None or option == "auto" or (
                isinstance(option, (int, np.integer))
                and not isinstance(option, bool) and option > 0)):
            raise ValueError(
                f"hessian_subsample must be 'auto', a positive integer or None; "
                f"got {option!r}.")

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

    def _cg(self, hessp, g, rtol_floor=0.0, exact=False, max_iter=None):
        """Solve H p = -g approximately; return ``(p, products)`` (p: steepest
        descent if CG stalls).

        ``exact``: to the floor of the residual, for the final step. Returns the
        iterate of smallest residual: once the residual reaches the rounding of
        ``g`` (a relative 1e-6 at a gradient of 1e-11) it stops decreasing, and
        the iterates after that wander off along directions of rounding-level
        curvature (the softmax's shift of all intercepts), where steps of 1e-20 of
        gradient over 1e-20 of curvature are arbitrary and large. A bound on the
        curvature relative to the largest cannot tell those from the genuine
        curvature of 1e-4 next to 1e12 of columns scaled 1e-6..1e6.
        """
        r = -g.astype(np.float64)
        gnorm = math.sqrt(float(np.vdot(r, r)))
        forcing = 0.0 if exact else min(0.5, math.sqrt(gnorm))
        eta = max(forcing, rtol_floor, math.sqrt(np.finfo(g.dtype).eps)) * gnorm
        d = r.copy()
        rr = gnorm * gnorm
        p = np.zeros(g.shape, dtype=np.float64)
        best, best_rr = p.copy(), rr
        products = 0
        for _ in range(self.max_cg_iter if max_iter is None else max_iter):
            products += 1
            Hd = hessp(d).astype(np.float64)
            curv = float(np.vdot(d, Hd))
            if curv <= 0:  # cannot happen for a convex loss; guard numerical noise
                break
            a = rr / curv
            p += a * d
            r -= a * Hd
            rr_new = float(np.vdot(r, r))
            if rr_new < best_rr:
                best[...], best_rr = p, rr_new
            if math.sqrt(rr_new) <= eta:
                break
            d *= rr_new / rr
            d += r
            rr = rr_new
        if not np.any(best):
            best = -g.astype(np.float64)
        return best, products

    def _line_search(self, objective, x, value, grad, p, slope, test):
        """Backtracking from step 1: ``(trial, value, grad or None)``, or None.

        Armijo's test on the objective, with a strict decrease. Where it fails by
        less than the objective's rounding (:meth:`_Criterion.value_noise`), f
        cannot tell a better point from a worse one: on 200,000 rows a Newton
        step near the optimum lowers f by 1e-20 against a rounding of 3e-17, and
        Armijo then accepted steps of 1e-5 at random (issue 18). There a trial is
        accepted when it lowers the norm of the gradient (as scikit-learn's
        Newton solvers do), which costs a gradient per trial: at most
        ``_FLAT_TRIALS`` of them, after which the run is at the precision floor.
        """
        f_noise = None  # one pass over X the first time: only where Armijo fails
        gnorm = float(np.linalg.norm(grad))
        flat = 0
        step = 1.0
        for _ in range(40):
            trial = x + step * p
            if np.array_equal(trial, x):
                return None
            trial_value = objective.smooth_value(trial)
            if trial_value < value and \
                    trial_value <= value + self.armijo * step * slope:
                return trial, trial_value, None
            if f_noise is None:
                f_noise = test.value_noise(x, value)
            if abs(trial_value - value) <= f_noise:
                if flat == _FLAT_TRIALS:
                    return None
                flat += 1
                trial_value, trial_grad = objective.value_grad(trial)
                if float(np.linalg.norm(trial_grad)) < gnorm:
                    return trial, trial_value, trial_grad
            step *= 0.5
        return None

    def _direction(self, objective, x, grad, m, rng, exact=False, max_iter=None):
        """The Newton direction and the number of Hessian products it took."""
        if m is None:
            p, products = self._cg(objective.hessp(x), grad, exact=exact,
                                   max_iter=max_iter)
            return p.astype(x.dtype), products
        rows = np.sort(rng.choice(objective.n_samples, m, replace=False))
        hessp = objective.hessp(x, rows=rows)
        p, products = self._cg(hessp, grad, rtol_floor=1e-2)
        return p.astype(x.dtype), products

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        return self._minimize(objective, params, max_iter=max_iter, tol=tol,
                              monitor=monitor)

    def _minimize(self, objective, params, *, max_iter, tol, monitor, value=None,
                  grad=None):
        dtype = params.dtype
        x = params.copy()
        test = _Criterion(objective, tol, dtype)
        m = self._subsample_size(objective)
        rng = np.random.default_rng(0)  # the subsamples are reproducible
        if grad is None:
            value, grad = objective.value_grad(x)
        # In float64, once the test passes, one more Newton step with exact
        # Hessian products and CG run to its floor: it takes the gradient from tol
        # to ~1e-4 of it, so that fits optimal to tol also agree with each other far
        # beyond it (scikit-learn's sample-weight equivalence checks: 15 x 30,
        # smallest Hessian eigenvalue alpha=1e-4, predict_proba to 1e-7). Its CG
        # may take twice the products of the step before, so it costs at most
        # two iterations; not where the Hessian is subsampled (n_samples far
        # above the parameters), whose exact products would cost more than the
        # whole fit (200,000 x 100, 10 classes: 88 products, 11 s against 5 s).
        polish = np.finfo(dtype).eps < 1e-10 and m is None
        products = 0
        final = False
        converged = stopped = False
        floor = None
        message = f"reached max_iter={max_iter}"
        n_iter = 0
        while True:
            if test.passed(grad):
                if final or not polish or n_iter >= max_iter:
                    converged, message = True, "gradient below tol"
                    break
                final, m = True, None
            elif n_iter >= max_iter:
                break
            p, products = self._direction(
                objective, x, grad, m, rng, exact=final,
                max_iter=max(2 * products, 10) if final else None)
            slope = float(np.vdot(grad, p))
            if slope >= 0:  # not a descent direction: fall back on the gradient
                p = -grad
                slope = -float(np.vdot(grad, grad))
            found = self._line_search(objective, x, value, grad, p, slope, test)
            if found is None:
                if m is not None:  # the estimate's direction failed: go exact
                    m = None
                    continue
                if final:  # the point already passed the test
                    converged, message = True, "gradient below tol"
                    break
                converged, floor, message = test.settle(grad, x)
                break
            trial, trial_value, trial_grad = found
            previous = max_abs(grad)
            if m is not None and trial_grad is not None and \
                    max_abs(trial_grad) > 0.5 * previous:
                # On a flat objective the subsampled direction no longer halves
                # the gradient: finish with exact Hessian products.
                m = None
            x = trial
            if trial_grad is None:
                value, grad = objective.value_grad(x)
            else:
                value, grad = trial_value, trial_grad
            n_iter += 1
            if monitor(x, value):
                stopped, message = True, "stopped by monitor"
                break
            if trial_grad is not None and not test.passed(grad):
                # A step the objective could not see. Where the gradient is
                # within its rounding no step can do better (float32: ~1e-6 on
                # 1e5 rows, above the default tol): stop there. The floor costs
                # two passes over X, so it is only looked at on such steps.
                at_floor, floor_now = test.at_floor(grad, x)
                if at_floor:
                    converged, floor = True, floor_now
                    message = _floor_message(True, grad, floor, tol)
                    break
        if not converged:
            floor = None
        return SolverResult(x, n_iter, converged, stopped, message,
                            precision_floor=floor)


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

    def validate(self):
        """Check the hyperparameters (called at fit time)."""
        if not isinstance(self.accelerated, (bool, np.bool_)):
            raise ValueError(
                f"GradientDescent: accelerated must be True or False; got "
                f"accelerated={self.accelerated!r}.")
        check_number(self, "decrease", self.decrease, low=0.0, high=1.0,
                     low_open=True)

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        dtype = params.dtype
        x = params.copy()
        y = x
        t = 1.0
        L = objective.lipschitz_bound() * 0.1 or 1.0
        F_x = objective.value(x)
        test = _Criterion(objective, tol, dtype)
        converged = stopped = False
        floor = None
        message = f"reached max_iter={max_iter}"
        eps = np.finfo(dtype).eps
        best_flat, stall, last_size = math.inf, 0, math.inf
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
            mapping = diff * L
            F_new = f_new + objective.l1_penalty(x_new)
            # A plain step from x uphill by less than the objective's rounding:
            # f cannot tell better from worse there (alpha=1e6: a step's decrease
            # is 1e-18 against 2e-16); take it, and steer by the gradient mapping.
            flat = F_new > F_x and t == 1.0 and y is x and \
                F_new - F_x <= test.value_noise(x, F_x)
            if self.accelerated:
                if F_new > F_x and not flat:  # adaptive restart: went uphill
                    if t == 1.0 and y is x:
                        # A plain proximal step from x went uphill beyond the
                        # rounding of f: no decrease is left at X's precision.
                        # The step y - g / L rounds each entry by eps * |y|,
                        # times L in the mapping.
                        converged, floor, message = test.settle(
                            mapping, x, extra=_FLOOR_UNITS * eps * L * np.abs(x),
                            what="gradient mapping")
                        break
                    t, y = 1.0, x
                    if test.passed(mapping):
                        converged, message = True, "gradient mapping below tol"
                        break
                    # a restart is an iteration (it cost a gradient): report it, so
                    # that n_iter_ == len(loss_curve_); the objective is unchanged
                    if monitor(x, F_x):
                        stopped, message = True, "stopped by monitor"
                        break
                    continue
                if flat:
                    t, y = 1.0, x_new
                else:
                    t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
                    y = x_new + ((t - 1.0) / t_new) * (x_new - x)
                    t = t_new
            else:
                y = x_new
            x, F_x = x_new, F_new
            size = max_abs(mapping)
            if not flat:
                L *= self.decrease
            elif size > last_size:
                # The quadratic bound cannot be checked on a flat f; a step of at
                # most 1 / Lipschitz never lengthens the mapping, so a longer one
                # says the step was too long.
                L *= 2.0
            last_size = size
            if monitor(x, F_x):
                stopped, message = True, "stopped by monitor"
                break
            if test.passed(mapping):
                converged, message = True, "gradient mapping below tol"
                break
            if flat:
                stall = 0 if size < best_flat else stall + 1
                best_flat = min(best_flat, size)
                if stall >= _FLAT_STALL:
                    # flat, and the mapping no longer shrinks: its rounding noise
                    converged, floor, message = test.settle(
                        mapping, x, extra=_FLOOR_UNITS * eps * L * np.abs(x),
                        what="gradient mapping")
                    break
        if not np.all(np.isfinite(x)):  # pragma: no cover - guarded upstream
            warnings.warn("gradient descent produced non-finite values", RuntimeWarning)
        return SolverResult(x, n_iter, converged, stopped, message,
                            precision_floor=floor)


class Auto(FullBatchSolver):
    """Choose the full-batch solver from the size of the problem and the penalty.

    - ``l1_ratio > 0`` (with ``alpha > 0``): :class:`GradientDescent`, the one
      full-batch solver with proximal steps;
    - ``n_samples * n_features >= threshold``: :class:`NewtonCG`, whose few
      iterations (with subsampled Hessian products when rows far outnumber
      parameters) win once a pass over X is expensive;
    - otherwise :class:`LBFGS`, which is as fast on small problems and reaches the
      optimum of the tiny, ill-conditioned problems of scikit-learn's estimator
      checks to their tolerance; unless its history (``2 * history_size``
      parameter vectors) would exceed both X's memory and 64 MiB, where
      :class:`NewtonCG` is used (see the memory column of the solver table).

    Why: the time to 1e-6 relative objective of each solver on each problem of
    ``benchmarks/run.py`` (``benchmarks/results/latest.md``; the user guide's
    solvers page quotes it), where newton-cg leads on the large dense and sparse
    problems and lbfgs ties it on small ones; at many classes (K = 100 and 1,000 on
    10,000 x 50) lbfgs was the fastest and newton-cg's Hessian products the
    slowest (``benchmarks/results/scale.md``). The estimator records the solver it
    used as ``solver_``.

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
    >>> Auto().select(n_samples=50, n_features=100_000, l1=False,   # 5M parameters
    ...               n_params=5_000_050, data_bytes=10_000_000)
    NewtonCG()
    """

    supports_l1 = True

    def __init__(self, threshold=1e6):
        self.threshold = threshold

    def validate(self):
        """Check the hyperparameters (called at fit time)."""
        check_number(self, "threshold", self.threshold, low=0.0, low_open=True)

    def select(self, n_samples, n_features, l1, n_params=None, data_bytes=None):
        """The solver object for a problem of this size and penalty.

        ``n_params`` (coefficients and intercepts) and ``data_bytes`` (X's size in
        memory), when given, let the choice avoid L-BFGS where its history of
        ``2 * history_size`` parameter vectors (float64) would take more memory
        than X and more than 64 MiB: a wide problem with few rows and many
        classes, where :class:`NewtonCG`'s few vectors are the smaller choice.
        """
        if l1:
            return GradientDescent()
        if n_samples * n_features >= self.threshold:
            return NewtonCG()
        if n_params is not None and data_bytes is not None:
            history = 2 * LBFGS().history_size * n_params * 8
            if history > max(data_bytes, _HISTORY_BYTES):
                return NewtonCG()
        return LBFGS()

    def minimize(self, objective, params, *, max_iter, tol, monitor):
        solver = self.select(objective.n_samples, objective.n_features,
                             bool(objective.l1))
        return solver.minimize(objective, params, max_iter=max_iter, tol=tol,
                               monitor=monitor)
