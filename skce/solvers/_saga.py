"""SAGA: a variance-reduced incremental solver on the full-batch protocol."""

import math
import numbers

import numpy as np
import scipy.sparse as sp

from ._base import (
    FullBatchSolver,
    SolverResult,
    curvature_bound,
    max_abs,
    rows_in_memory,
)

# Bytes of each temporary of the end-of-epoch catch-up (_catch_up), a block of
# features at a time; the epoch's rows are gathered as Objective.batches_per_chunk says.
_CATCH_UP_BYTES = 1 << 20


class SAGA(FullBatchSolver):
    """Proximal SAGA (Defazio, Bach and Lacoste-Julien 2014) with importance
    sampling, mini-batches and momentum between epochs; nothing to tune.

    Write the smooth part of the objective as ``(1/n) sum_j f_j`` with
    ``f_j = (n s_j / S) CE_j + l2/2 ||W||^2``. SAGA keeps a table of each sample's
    gradient in the logits (``G_j``, shape ``(n_samples, n_outputs)``; the parameter
    gradient is ``x~_j G_j^T / S`` with ``x~ = [x, 1]``) and their mean ``a``. A step
    on a batch B of b samples drawn independently with probabilities p_j is::

        v = sum_{j in B} x~_j (G_j(w) - G_j^table)^T / (b p_j S) + a + l2 [W; 0]
        w <- prox_{gamma l1}(w - gamma v)

    after which ``a`` and the table take the batch's fresh gradients (``a`` once per
    distinct sample of the batch). ``v`` is an unbiased estimate of the gradient
    whose variance vanishes at the optimum, so a constant step converges (no
    decaying rate to tune). An epoch is ``ceil(n / b)`` steps; after it one full
    pass refreshes the whole table at the current point (as SVRG's snapshot does;
    any table keeps ``v`` unbiased), gives the exact objective for the monitor and
    the convergence test, and clears the rounding drift of ``a`` in float32.

    Sampling. With ``sampling="importance"`` (default) p_j = 1/(2n) + L_j / (2
    sum_i L_i), with ``L_j = c n s_j ||x~_j||^2 / S`` the smoothness of sample j's
    term (c: the loss's ``curvature_bound()``; Schmidt et al. 2015, "Non-uniform
    stochastic average gradient method for training conditional random fields").
    The step then depends on ``L_imp = max_j L_j / (n p_j) <= 2 mean_j L_j``
    instead of ``max_j L_j``: 60 against 1170 on standardized digits, whose rare
    pixels give a few samples a squared norm 38 times the mean. Sample weights are
    folded in the same way: a heavy sample is drawn more often rather than
    shrinking every step.

    Step and batch. For b independent draws the expected smoothness is at most
    ``L(b) = L + L_imp / b`` (L: the full objective's bound,
    :func:`~skce.solvers._base.curvature_bound`; Gazagnadou, Gower and Salmon 2019,
    "Optimal mini-batch and step sizes for SAGA"); the step is ``1 / L(b)``.
    ``batch_size="auto"`` takes ``b = ceil(L_imp / (L - l2))``, at most 64: up to
    there a larger batch costs little progress per epoch (``L(b) <= 2 L``) and
    divides the number of Python-level steps, each of which costs tens of
    microseconds of numpy overhead however small b is. The theory's 1/(3 L(b))
    measured 1.5 to 2 times slower and never needed.

    Momentum (``accelerated=True``). The bundled problems at ``alpha=1e-4`` are
    ill-conditioned (kappa = L / alpha ~ 1e4-1e5, far above n), where plain SAGA
    needs O(kappa) steps: 1000 epochs (step 1/(3 L(b))) left relative gaps of 2e-3
    to 3e-2. Between epochs the start of the next epoch is extrapolated as in FISTA,
    ``Y = w_k + (t_k - 1) / t_{k+1} (w_k - w_{k-1})``, and reset to ``w_k`` when the
    objective went up (function-value restart, O'Donoghue and Candes 2015): Catalyst
    (Lin, Mairal and Harchaoui 2015) with one epoch per outer step and no proximal
    term, which measured best among kappa in [0, 10] (L(b) b / n units). A heuristic
    without a proof of acceleration; with the default ``tol`` every problem ends
    within 1e-7 of the optimal objective (2e-9 to 9e-8, in 230 to 690 epochs).

    Converged when the max-norm of the gradient mapping ``L (w - prox(w - g / L))``
    at the end of an epoch is at most ``tol`` (the test of :class:`GradientDescent`;
    the gradient's max-norm without L1). ``max_iter`` counts epochs.

    Parameters
    ----------
    batch_size : "auto" or int, default="auto"
        Samples per step (see above); capped at n_samples.
    sampling : {"importance", "uniform"}, default="importance"
        Draw samples in proportion to their smoothness (half and half with
        uniform), or uniformly (textbook SAGA, ``L_imp = max_j L_j``).
    accelerated : bool, default=True
        Momentum between epochs with adaptive restart; False gives plain SAGA.
    random_state : int, numpy Generator or RandomState, or None, default=None
        Seeds the sampling. None (the default) uses the estimator's
        ``random_state``, as the stochastic solvers do; a value here takes
        precedence over it.

    Notes
    -----
    Needs X in memory as a numpy array or scipy sparse matrix: the dask and
    array-API objectives have no rows to sample (use ``"lbfgs"``, ``"newton-cg"``
    or ``"gd"`` there). On sparse X the steps are just-in-time: a feature's row of
    the parameters is brought up to date (the L2 shrinks, mean-gradient terms and,
    with L1, soft thresholds of the steps it skipped, in closed form) only when a
    drawn sample reads it, and every row at the end of an epoch, before the
    objective is evaluated; a step costs O(nnz of its rows x n_outputs) plus
    numpy's per-call overhead (several times faster than dense updates on wide
    sparse X, still far slower per epoch than scikit-learn's compiled saga:
    ``python benchmarks/run.py --saga-only``).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skce import SoftmaxRegressor
    >>> from skce.solvers import SAGA
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = SoftmaxRegressor(solver=SAGA(), alpha=0.02, l1_ratio=1.0).fit(X, y)
    >>> clf.stop_reason_, int((clf.coef_ == 0).sum()) > 15
    ('converged', True)
    """

    supports_l1 = True
    default_max_iter = 1000  # epochs
    default_tol = 1e-7
    max_auto_batch = 64
    step_factor = 1.0

    def __init__(self, batch_size="auto", sampling="importance", accelerated=True,
                 random_state=None):
        self.batch_size = batch_size
        self.accelerated = accelerated
        self.sampling = sampling
        self.random_state = random_state

    # -------------------------------------------------------------- validation
    def validate(self):
        """Check the hyperparameters; raise ValueError naming the bad one."""
        b = self.batch_size
        if not (isinstance(b, str) and b == "auto") and not (
                isinstance(b, numbers.Integral) and not isinstance(b, bool) and b >= 1):
            raise ValueError(
                f"SAGA: batch_size must be 'auto' or a positive integer; got "
                f"batch_size={b!r}.")
        if self.sampling not in ("importance", "uniform"):
            raise ValueError(
                f"SAGA: sampling must be 'importance' or 'uniform'; got "
                f"sampling={self.sampling!r}.")
        if not isinstance(self.accelerated, (bool, np.bool_)):
            raise ValueError(
                f"SAGA: accelerated must be True or False; got "
                f"accelerated={self.accelerated!r}.")
        _rng(self.random_state)

    # ----------------------------------------------------------------- set-up
    def plan(self, objective):
        """The sampling probabilities, batch size and step for ``objective``.

        Returns
        -------
        p : ndarray of shape (n_samples,)
        batch_size : int
        step : float
        L : float
            The smoothness bound of the full objective (used by the convergence
            test's gradient mapping).
        """
        n = objective.n_samples
        s = np.asarray(objective.sample_weight, dtype=np.float64)
        sq = np.asarray(objective.row_norms(), dtype=np.float64)  # ||[x_i, 1]||^2
        c = objective.loss.curvature_bound()
        L_j = c * n * s * sq / objective.weight_sum
        total = float(L_j.sum())
        if self.sampling == "importance" and total > 0:
            p = 0.5 / n + 0.5 * L_j / total
        else:
            p = np.full(n, 1.0 / n)
        L_imp = float(np.max(L_j / (n * p)))
        L = curvature_bound(objective)  # includes l2
        L_data = max(L - objective.l2, 1e-12)
        if self.batch_size == "auto":
            b = int(min(max(1, math.ceil(L_imp / L_data)), self.max_auto_batch))
        else:
            b = int(self.batch_size)
        b = max(1, min(b, n))
        step = 1.0 / (self.step_factor * (L + L_imp / b))
        return p, b, step, L

    @staticmethod
    def draw(rng, p, n_steps, batch_size):
        """One epoch of batches: ``n_steps`` rows of ``batch_size`` independent draws
        with probabilities ``p`` (uniform when ``p`` is None), each row sorted.

        Returns
        -------
        ndarray of int of shape (n_steps, batch_size)
        """
        n = len(p)
        if np.all(p == p[0]):
            rows = rng.integers(0, n, size=(n_steps, batch_size))
        else:
            rows = rng.choice(n, size=(n_steps, batch_size), p=p)
        rows.sort(axis=1)  # duplicates adjacent; sorted rows gather faster
        return rows

    uses_random_state = True  # the driver passes ``rng`` from the estimator

    def minimize(self, objective, params, *, max_iter, tol, monitor, rng=None):
        X = getattr(objective, "X", None)
        if not rows_in_memory(X):
            raise ValueError(
                "solver='saga' needs the training data in memory as a numpy array "
                "or a scipy sparse matrix (it samples rows); for dask or array-API "
                "inputs use solver='lbfgs', 'newton-cg' or 'gd'.")
        self.validate()
        if sp.issparse(X):
            X = X.tocsr()
        if self.random_state is not None or rng is None:
            rng = _rng(self.random_state)
        p, b, step, L = self.plan(objective)
        dtype = params.dtype
        n, d = objective.n_samples, X.shape[1]
        # the objective's rows of X (early stopping's training part), or all of X
        index = getattr(objective, "rows", None)
        # an epoch's draws are gathered from X a chunk of steps at a time, as
        # the stochastic loop gathers its batches (all at once would copy ~X)
        chunk = objective.batches_per_chunk(b)
        K = params.shape[1]
        S = objective.weight_sum
        s = np.asarray(objective.sample_weight, dtype=dtype)
        l1, l2 = objective.l1, objective.l2
        fit_intercept = objective.fit_intercept
        offset = objective.offset
        loss = objective.loss
        m = -(-n // b)  # steps per epoch
        W = params.astype(dtype, copy=True)
        table = np.empty((n, K), dtype=dtype)

        def full_pass():
            """Refresh the table at W; return (objective value, gradient mean a)."""
            value = 0.0
            a = np.zeros_like(W)
            for start, X_part, targets_part, _ in objective.parts():
                rows = slice(start, start + X_part.shape[0])
                raw = np.asarray(X_part @ W[:d])
                if fit_intercept:
                    raw += W[d]
                if offset is not None:
                    raw += offset
                part_value, G = loss.loss_gradient(raw, targets_part, s[rows])
                value += part_value
                table[rows] = G
                a[:d] += np.asarray(X_part.T @ G)
                if fit_intercept:
                    a[d] += G.sum(axis=0)
            a /= S
            Wd = W[:d].astype(np.float64)
            value = value / S + 0.5 * l2 * float(np.vdot(Wd, Wd)) + \
                l1 * float(np.abs(Wd).sum())
            return value, a

        def mapping(a):
            grad = a.copy()
            if l2:
                grad[:d] += l2 * W[:d]
            if not l1:
                return max_abs(grad)
            moved = objective.prox(W - grad / L, 1.0 / L)
            return L * max_abs(W - moved)

        value, a = full_pass()
        if not math.isfinite(value):
            return SolverResult(W, 0, False, False, "non-finite objective at start")
        if mapping(a) <= tol:
            return SolverResult(W, 0, True, False, "gradient mapping below tol")
        converged = stopped = False
        message = f"reached max_iter={max_iter}"
        # float32: the full gradient's rounding keeps its max-norm from falling far
        # below 1e3 eps; below that floor, when neither it nor the objective has
        # improved (halved; by 10 eps relative) for 10 epochs, no more is possible
        eps = float(np.finfo(dtype).eps)
        floor = 1e3 * eps
        best_mapping = best_value = math.inf
        stalled = 0
        C = np.empty((b, 2 * K), dtype=dtype)
        Y = W.copy()  # where the next epoch starts (extrapolated when accelerated)
        W_prev = W.copy()
        F_prev = value
        t = 1.0
        n_iter = 0
        # sparse X: just-in-time updates, a step costs O(nnz of its rows); a
        # feature's row of W has had last[j] of the epoch's steps applied
        lazy = sp.issparse(X)
        last = np.zeros(d, dtype=np.int64) if lazy else None
        for n_iter in range(1, max_iter + 1):  # noqa: B007 (returned after the loop)
            W[...] = Y
            rows = self.draw(rng, p, m, b)
            first = np.ones(rows.shape, dtype=bool)
            first[:, 1:] = rows[:, 1:] != rows[:, :-1]
            rows = rows.ravel()
            # per draw: 1 / (b p_j S) for the estimate; 1 / S for the exact update of
            # the mean a, on the first copy of each distinct row of the batch only
            weight = (1.0 / (b * p[rows] * S)).astype(dtype)
            once = (first.ravel() / S).astype(dtype)
            for first_step in range(0, m, chunk):
                steps = min(chunk, m - first_step)
                draws = slice(first_step * b, (first_step + steps) * b)
                self._steps(X, rows[draws], index, weight[draws], once[draws],
                            objective, s, W, a, table, C, step=step, b=b,
                            steps=steps, last=last, t0=first_step)
            if lazy:  # every feature up to date before the objective is evaluated
                _catch_up(W, a, last, m, step=step, l1=l1, l2=l2)
                last[:] = 0

            value, a = full_pass()
            if not math.isfinite(value) or not np.all(np.isfinite(W)):
                message = "non-finite objective: the steps diverged"
                break
            if self.accelerated:
                # FISTA's extrapolation between epochs, reset when F goes up
                # (O'Donoghue and Candes 2015's function-value restart)
                if value > F_prev:
                    t = 1.0
                    Y[...] = W
                else:
                    t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
                    np.subtract(W, W_prev, out=Y)
                    Y *= (t - 1.0) / t_new
                    Y += W
                    t = t_new
                W_prev[...] = W
                F_prev = value
            else:
                Y[...] = W
            if monitor(W, value):
                stopped, message = True, "stopped by monitor"
                break
            current = mapping(a)
            if current <= tol:
                converged, message = True, "gradient mapping below tol"
                break
            progress = current < 0.5 * best_mapping or \
                value < best_value - 10 * eps * abs(best_value)
            best_mapping = min(best_mapping, current)
            best_value = min(best_value, value)
            stalled = 0 if progress else stalled + 1
            if current <= floor and stalled >= 10:
                converged = True
                message = "gradient mapping stalled at the precision of X's dtype"
                break
        return SolverResult(W, n_iter, converged, stopped, message)


    @staticmethod
    def _steps(X, rows, index, weight, once, objective, s, W, a, table, C, *, step,
               b, steps, last, t0):
        """``steps`` SAGA steps of ``b`` draws each, in place on W, a and table.

        ``rows`` are the draws (positions among the objective's rows); ``index``
        maps them to X's rows (None: the same). Only these draws' rows of X are
        gathered. ``last`` is None for dense steps; on sparse X it holds the
        just-in-time state (see :func:`_lazy_steps`), the chunk's first step being
        the epoch's step ``t0``."""
        Xe = X[rows if index is None else index[rows]]
        targets = objective.targets.take(rows)
        se = s[rows]
        K = W.shape[1]
        d = X.shape[1]
        l1, l2 = objective.l1, objective.l2
        loss, offset = objective.loss, objective.offset
        if last is not None:
            _lazy_steps(Xe, rows, weight, once, targets, se, W, a, table, last,
                        loss=loss, step=step, l1=l1, l2=l2, b=b, m=steps, t0=t0,
                        fit_intercept=objective.fit_intercept, offset=offset)
            return
        Xe = _with_ones(Xe, objective.fit_intercept)
        for k in range(steps):
            sl = slice(k * b, (k + 1) * b)
            XB, idx = Xe[sl], rows[sl]
            raw = np.asarray(XB @ W)
            if offset is not None:
                raw += offset
            _, G = loss.loss_gradient(raw, targets.take(sl), se[sl])
            dG = G - table[idx]
            table[idx] = G
            np.multiply(dG, weight[sl, None], out=C[:, :K])
            np.multiply(dG, once[sl, None], out=C[:, K:])
            P = np.asarray(XB.T @ C)
            if l2:
                W[:d] *= 1.0 - step * l2
            W -= step * (P[:, :K] + a)
            if l1:
                objective.prox(W, step)
            a += P[:, K:]


def _lazy_steps(XR, rows, weight, once, targets, se, W, a, table, last, *, loss, step,
                l1, l2, b, m, t0, fit_intercept, offset):
    """SAGA steps ``t0 .. t0 + m - 1`` of an epoch on sparse rows with just-in-time
    updates, in place.

    Between two steps that read feature j, its row of W only takes the steps'
    shrink and the mean-gradient term ``a_j`` (unchanged: a feature's mean gradient
    only moves when one of its samples is drawn), then the soft threshold; those
    skipped steps are applied in closed form (:func:`_skipped_steps`) when the
    feature is next read, and for every feature at the end of the epoch
    (:func:`_catch_up`; Schmidt, Le Roux and Bach 2017, section 4.1, for the
    smooth part). A step then costs O(nnz of its rows x n_outputs); the intercept
    row is updated at each step. The iterates equal the dense loop's up to
    rounding.

    Parameters
    ----------
    XR : CSR matrix of shape (m * b, n_features)
        The chunk's drawn rows, in order.
    rows, weight, once, targets, se
        Per draw: the sample index, 1 / (b p_j S), 1 / S on a batch's first copy
        of a sample (else 0), the targets and the sample weight.
    W, a, table : ndarray
        Parameters (n_features + fit_intercept, K), the mean gradient, the
        per-sample gradient table; updated in place.
    last : ndarray of int of shape (n_features,)
        The number of the epoch's steps already applied to each feature's row of
        W; updated in place.
    """
    d = XR.shape[1]
    K = W.shape[1]
    c = 1.0 - step * l2
    threshold = step * l1
    indptr, indices, data = XR.indptr, XR.indices, XR.data
    # the draw (row of the chunk) of each stored entry, for the sums over rows
    owner = np.repeat(np.arange(XR.shape[0]), np.diff(indptr))
    for k in range(m):
        t = t0 + k
        lo, hi = indptr[k * b], indptr[(k + 1) * b]
        J, local = np.unique(indices[lo:hi], return_inverse=True)
        local = local.ravel()
        vals = data[lo:hi, None]
        rid = owner[lo:hi] - k * b
        aJ = a[J]
        WJ = _skipped_steps(W[J], aJ, (t - last[J])[:, None], step=step, l1=l1,
                            l2=l2)  # caught up to step t
        raw = _segment_sums(rid, vals * WJ[local], b, W.dtype)
        if fit_intercept:
            raw += W[d]
        if offset is not None:
            raw += offset
        sl = slice(k * b, (k + 1) * b)
        idx = rows[sl]
        _, G = loss.loss_gradient(raw, targets.take(sl), se[sl])
        dG = G - table[idx]
        table[idx] = G
        C = np.concatenate([dG * weight[sl, None], dG * once[sl, None]], axis=1)
        P = _segment_sums(local, vals * C[rid], len(J), W.dtype)
        WJ = c * WJ - step * (P[:, :K] + aJ)
        if l1:  # the dense loop's soft threshold (Objective.prox), on these rows
            WJ = np.sign(WJ) * np.maximum(np.abs(WJ) - threshold, 0.0)
        W[J] = WJ
        a[J] = aJ + P[:, K:]
        last[J] = t + 1
        if fit_intercept:
            W[d] -= step * (C[:, :K].sum(axis=0) + a[d])
            a[d] += C[:, K:].sum(axis=0)


def _catch_up(W, a, last, t, *, step, l1, l2):
    """Bring every feature's row of W up to step ``t`` (:func:`_skipped_steps`), in
    place; ``last`` as in :func:`_lazy_steps`. A block of rows at a time, so that
    the closed form's temporaries stay near ``_CATCH_UP_BYTES`` each."""
    d, K = len(last), W.shape[1]
    block = max(1, _CATCH_UP_BYTES // (8 * K))
    for lo in range(0, d, block):
        rows = slice(lo, min(lo + block, d))
        W[rows] = _skipped_steps(W[rows], a[rows], (t - last[rows])[:, None],
                                 step=step, l1=l1, l2=l2)


def _skipped_steps(w, g, k, *, step, l1, l2):
    """``k`` proximal steps with a fixed gradient ``g``, in closed form, elementwise.

    One step is the dense loop's ``w <- soft(c w - step g, tau)`` with ``c = 1 -
    step l2`` (in (0, 1]: the step is below ``1 / l2``), ``tau = step l1`` and
    ``soft(x, tau) = sign(x) max(|x| - tau, 0)``. Written as ``T(w) = max(c w -
    beta_+, 0) + min(c w - beta_-, 0)`` with ``beta_+- = step (g +- l1)``, T is
    nondecreasing, so the iterates ``w_t`` move monotonically (towards T's fixed
    point, or without end when ``l2 = 0``). Mirror the problem (``w, g -> -w, -g``)
    so that they do not increase. Then they follow the affine ``A_+(w) = c w -
    beta_+`` while positive, ``A_+^t(w) = c^t w - beta_+ (1 + c + ... + c^(t-1))``,
    for the first ``j`` steps, ``j`` the number of ``t >= 1`` with ``A_+^t(w_0) >
    0`` (solved in closed form: ``t < log(1 + w_0 (1 - c) / beta_+) / -log(c)``,
    ``w_0 / beta_+`` without L2; every step when ``beta_+ <= 0``); step ``j + 1``
    is one T (to zero, or past it); after it the iterate is at most 0 and each
    step is ``min(A_-(w), 0)``, which stays at zero when ``|g| <= l1`` (``beta_-
    <= 0``) and otherwise keeps decreasing along ``A_-``. ``c^t`` and the
    geometric sums are taken with ``log1p`` and ``expm1``, exact for ``c`` near 1.
    Without L1 it is the affine ``A^k(w)``.

    Parameters
    ----------
    w, g : ndarray
        Starting points and the (fixed) gradients, broadcast together.
    k : ndarray of int
        Number of steps (>= 0), broadcast with ``w``.
    step, l1, l2 : float

    Returns
    -------
    ndarray of float64
        The iterates after ``k`` steps.

    Examples
    --------
    >>> from skce.solvers._saga import _skipped_steps
    >>> w = 1.0
    >>> for _ in range(4):  # the loop it replaces: 0.4, 0.0, -0.3, -0.57
    ...     u = 0.9 * w - 0.1 * 4.0  # step 0.1, l2 = 1, g = 4
    ...     w = max(abs(u) - 0.1 * 1.0, 0.0) * (1 if u > 0 else -1)  # l1 = 1
    >>> round(w, 12), round(float(_skipped_steps(1.0, 4.0, 4, step=0.1, l1=1.0,
    ...                                          l2=1.0)), 12)
    (-0.57, -0.57)
    """
    w = np.asarray(w, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    rate = step * l2  # 1 - c
    log_c = math.log1p(-rate)
    # A^t(w) = c^t w - beta (1 + c + ... + c^(t-1)) = c^t w + (c^t - 1) beta / rate,
    # with c^t - 1 = expm1(t log c)

    def affine(t, w, beta):
        if not l2:
            return w - t * beta
        t_log_c = t * log_c
        return np.exp(t_log_c) * w + np.expm1(t_log_c) * (beta / rate)

    if not l1:
        return affine(k, w, step * g)
    tau = step * l1
    sg = step * g
    k = k + np.zeros_like(sg)  # broadcast once, not in each operation
    x = (1.0 - rate) * w - sg
    one = x - np.minimum(np.maximum(x, -tau), tau)  # T(w)
    sigma = np.copysign(1.0, w - one)  # mirrored: the iterates do not increase
    u = sigma * w
    hs = sigma * sg
    beta_p = hs + tau
    beta_m = hs - tau
    with np.errstate(divide="ignore", invalid="ignore"):
        # the positive run, A_+^t(u) > 0 for t < t_star (where u > 0 < beta_p)
        t_star = np.log1p(u * rate / beta_p) / -log_c if l2 else u / beta_p
        j = np.where(beta_p > 0.0, np.ceil(t_star) - 1.0, np.inf)
    j = np.where(u > 0.0, j, 0.0)
    j = np.minimum(j, k)
    # v = A_+^j(u): the answer when j == k
    v = affine(j, u, beta_p)
    cv = (1.0 - rate) * v
    v1 = np.maximum(cv - beta_p, 0.0) + np.minimum(cv - beta_m, 0.0)  # T(v)
    r = k - j - 1.0  # steps along A_- after it (-1 where j == k: not used)
    tail = affine(r, v1, beta_m)
    tail = np.minimum(tail, 0.0)
    return sigma * np.where(j >= k, v, tail)


def _segment_sums(labels, values, n, dtype):
    """``out[i] = sum of values[labels == i]``, shape (n, values.shape[1]): one
    ``bincount`` a column (``np.add.at`` measured ten times slower)."""
    out = np.empty((n, values.shape[1]), dtype=dtype)
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(labels, weights=values[:, j], minlength=n)
    return out


def _with_ones(XB, fit_intercept):
    """[XB, 1] when fitting an intercept (the params' last row), else XB."""
    if not fit_intercept:
        return XB
    if sp.issparse(XB):
        ones = sp.csr_matrix(np.ones((XB.shape[0], 1), dtype=XB.dtype))
        return sp.hstack([XB, ones], format="csr")
    out = np.empty((XB.shape[0], XB.shape[1] + 1), dtype=XB.dtype)
    out[:, :-1] = XB
    out[:, -1] = 1.0
    return out


def _rng(random_state):
    """A numpy Generator from an int, None, RandomState or Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or (isinstance(random_state, numbers.Integral)
                                and not isinstance(random_state, bool)
                                and random_state >= 0):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"SAGA: random_state must be None, a non-negative integer, a RandomState or a "
        f"Generator; got random_state={random_state!r}.")
