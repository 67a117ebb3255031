"""The training objective: data, weights and penalty bound once.

    f(W, b) = sum_i s_i CE(T_i, link(W x_i + b + o)) / sum_i s_i
              + alpha * ((1 - l1_ratio) / 2 * ||W||_F^2 + l1_ratio * ||W||_1)

``o`` is an optional fixed logit offset (logit adjustment). The intercept is never
penalized. With l1_ratio = 0 this is scikit-learn's LogisticRegression objective
divided by C * sum_i s_i, i.e. C = 1 / (alpha * sum_i s_i).

Conventions
-----------
params : ndarray of shape (n_features + fit_intercept, n_outputs)
    Rows 0..d-1 hold W transposed; the last row holds b when fit_intercept.
    This layout makes both products BLAS-friendly without copies:
    ``raw = X @ params[:d]`` and ``grad[:d] = X.T @ G``.
    ``coef_ = params[:d].T`` and ``intercept_ = params[d]``.

The smooth part (data term plus L2) is what ``value_grad`` and ``hessp`` see; the L1
part is handled by the solvers' proximal steps (``prox``) and counted in ``value``.

Back ends: X may be a numpy array, a scipy sparse matrix or an array of any array
API namespace (torch, CuPy, array-api-strict). The data term is computed in X's
namespace and on its device; the parameters and gradients the solvers see are
always coefficient-sized numpy arrays on the host (one transfer each way per
evaluation). numpy takes the in-place, cache-blocked fast path.
"""

import numpy as np
import scipy.sparse as sp

from ._loss import _weighted_sum
from ._xp import device_of, namespace, numpy_dtype, to_numpy


def _matmul(X, W, out):
    """``X @ W`` written into ``out`` (column-major, shape (n, k)) when given.

    Column-major logits make the per-row reductions of the softmax (max and sum over
    the K classes) run along contiguous columns: ten times faster than over rows of
    length K. ``W.T @ X.T`` is the same product as BLAS sees it, written straight
    into ``out.T`` (C-contiguous), so no copy is made.
    """
    if sp.issparse(X):
        if out is None:
            return np.asarray(X @ W)
        out[...] = X @ W
        return out
    if out is None:
        return np.matmul(X, W)
    np.matmul(W.T, X.T, out=out.T)
    return out


# Bytes of logits per row block of the elementwise passes (see Objective._blocks).
_BLOCK_BYTES = 1 << 18
# Bytes of X taken at a time by a full pass over a row subset (Objective(rows=)).
_SUBSET_BYTES = 1 << 20


def _empty_logits(n_rows, n_outputs, dtype):
    return np.empty((n_rows, n_outputs), dtype=dtype, order="F")


def power_iteration(gram_product, dim, n_iter=30):
    """Largest eigenvalue of a positive semi-definite operator by power iteration.

    Deterministic (starts from a vector of ones); ``gram_product(v)`` takes and
    returns float64 numpy vectors of length ``dim``.
    """
    v = np.ones(dim)
    lam = 0.0
    for _ in range(n_iter):
        norm = np.linalg.norm(v)
        if norm == 0:
            break
        v = v / norm
        w = np.asarray(gram_product(v), dtype=np.float64)
        lam = float(v @ w)
        v = w
    return lam


class Penalty:
    """The parts of an objective that act on the parameters alone: the elastic-net
    penalty, its proximal step and the parameter layout. Shared by :class:`Objective`
    and the dask and array API objectives, which differ only in where the data term
    is computed. Subclasses set ``n_features``, ``shape`` and ``dtype`` and call
    :meth:`_set_penalty`.
    """

    def _set_penalty(self, alpha, l1_ratio, fit_intercept):
        # Python floats: a NumPy float64 alpha (from np.logspace in a grid) would
        # promote float32 parameters in every step that multiplies by it
        alpha, l1_ratio = float(alpha), float(l1_ratio)
        self.alpha, self.l1_ratio = alpha, l1_ratio
        self.l2 = alpha * (1.0 - l1_ratio)
        self.l1 = alpha * l1_ratio
        self.fit_intercept = fit_intercept

    def _penalty(self, W):
        """The L2 part, alpha * (1 - l1_ratio) / 2 * ||W||^2."""
        return 0.5 * self.l2 * float(np.vdot(W, W)) if self.l2 else 0.0

    def l1_penalty(self, params):
        """alpha * l1_ratio * ||W||_1."""
        if not self.l1:
            return 0.0
        return self.l1 * float(np.abs(params[: self.n_features]).sum())

    def as_params(self, params):
        """View a flat or differently typed vector as params in X's dtype."""
        return np.asarray(params, dtype=self.dtype).reshape(self.shape)

    def prox(self, params, step):
        """Proximal step of step * alpha * l1_ratio * ||W||_1 (soft thresholding),
        in place."""
        if self.l1:
            W = params[: self.n_features]
            threshold = step * self.l1
            W[...] = np.sign(W) * np.maximum(np.abs(W) - threshold, 0.0)
        return params

    def cumulative_prox(self, params, total, applied):
        """The cumulative L1 penalty of Tsuruoka, Tsujii and Ananiadou (2009), in
        place: each weight is pulled towards zero by the penalty accumulated so far
        (``total``, the sum of step * alpha * l1_ratio, one number or one per
        coordinate for preconditioned steps) less what it already
        received (``applied``, updated), never past zero. Unlike a per-step
        soft threshold, the noise of stochastic steps cannot keep a weight whose
        optimum is zero away from it: the fit ends with exact zeros."""
        if not self.l1:
            return params
        W = params[: self.n_features]
        before = W.copy()
        total = np.broadcast_to(total, W.shape)  # per coordinate, or one number
        positive, negative = W > 0, W < 0
        W[positive] = np.maximum(0.0, W[positive]
                                 - (total[positive] + applied[positive]))
        W[negative] = np.minimum(0.0, W[negative]
                                 + (total[negative] - applied[negative]))
        applied += W - before
        return params

    def smoothness(self, n_iter=30):
        """The smoothness constant of the smooth part, the one bound every "auto"
        step size uses: c * lambda_max(X~^T S X~ / sum(s)) + l2, with X~ = [X, 1]
        (the ones only when fitting an intercept), S = diag(sample_weight) and c the
        loss's ``curvature_bound()`` (1/2 softmax, 1/4 sigmoid, more for focal
        losses). lambda_max by ``n_iter`` steps of power iteration over
        :meth:`gram_product`; computed once per objective."""
        cached = getattr(self, "_smoothness", None)
        if cached is None or cached[0] != n_iter:
            lam = power_iteration(self.gram_product, self.shape[0], n_iter)
            self._smoothness = (n_iter, self.loss.curvature_bound() * lam)
        return self._smoothness[1] + self.l2 + 1e-12


class Objective(Penalty):
    """Full-batch and mini-batch views of the penalized cross-entropy.

    Parameters
    ----------
    X : array or sparse matrix of shape (n_samples, n_features)
        numpy, scipy sparse or any array API array. Never copied and never written
        to.
    targets : HardTargets or SoftTargets
        In X's namespace, on its device.
    sample_weight : array of shape (n_samples,)
        In X's namespace and dtype.
    loss : SoftmaxCrossEntropy or SigmoidCrossEntropy (or any object with the
        same methods, e.g. a focal loss)
    alpha, l1_ratio : float
    fit_intercept : bool
    offset : ndarray of shape (n_outputs,) or None
        Added to the logits in training only.
    rows : ndarray of int or None
        numpy and scipy X only: the objective is over these rows of X (sorted),
        with ``targets`` and ``sample_weight`` already of length ``len(rows)``. X
        is not copied: full evaluations take a few thousand rows at a time, and
        mini-batches index X directly (the early-stopping split uses this).

    Examples
    --------
    >>> import numpy as np
    >>> from skce._loss import HardTargets, SoftmaxCrossEntropy
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> obj = Objective(X, HardTargets(np.arange(30) % 3, 3), np.ones(30),
    ...                 SoftmaxCrossEntropy(3))
    >>> value, grad = obj.value_grad(np.zeros(obj.shape))
    >>> print(f"{value:.6f} = log(3) = {np.log(3):.6f}; {grad.shape}")
    1.098612 = log(3) = 1.098612; (3, 3)
    """

    def __init__(self, X, targets, sample_weight, loss, *, alpha=0.0, l1_ratio=0.0,
                 fit_intercept=True, offset=None, rows=None):
        self.X = X
        self.rows = rows
        self.targets = targets
        self.sample_weight = sample_weight
        self.loss = loss
        self._set_penalty(alpha, l1_ratio, fit_intercept)
        self.xp, self.is_numpy = namespace(X)
        self.device = device_of(X)
        self.dtype = numpy_dtype(self.xp, X.dtype)
        self.offset = None if offset is None else np.asarray(offset, self.dtype)
        self._offset_dev = None if offset is None else self._to_device(self.offset)
        self.n_samples, self.n_features = X.shape
        if rows is not None:
            if not self.is_numpy:
                raise ValueError("rows= needs numpy or scipy sparse X.")
            self.n_samples = len(rows)
        if self.is_numpy:
            self.weight_sum = float(sample_weight.sum(dtype=np.float64))
        else:
            xp = self.xp
            self.weight_sum = float(xp.sum(xp.astype(sample_weight, xp.float64)))
        self.shape = (self.n_features + int(fit_intercept), loss.n_outputs)
        self._raw = None  # flat logits scratch, one row block, made on first use
        self._views = {}  # n_rows -> (n_rows, K) view of _raw, for mini-batches
        self._scratch_uses = 0  # calls of _scratch: tells hessp its setup is stale
        self._hvp = None  # flat buffer of the Hessian products' d_raw
        self._smoothness = None

    # ------------------------------------------------------------------ helpers
    def _to_device(self, a):
        """A host numpy array in X's namespace, device and dtype."""
        if self.is_numpy:
            return a
        return self.xp.asarray(np.ascontiguousarray(a, dtype=self.dtype),
                               device=self.device)

    def _chunks(self, rows):
        """``(X_c, targets_c, s_c)`` parts covering a batch (all rows for None),
        and the batch's scale: one part, except over a row subset (``rows=`` at
        construction), where a full pass takes a few thousand rows at a time so X
        is never copied whole."""
        if rows is None:
            scale = 1.0 / self.weight_sum
            if self.rows is None:
                return [(self.X, self.targets, self.sample_weight)], scale
            step = max(1024, _SUBSET_BYTES // max(1, self.n_features
                                                  * self.dtype.itemsize))
            # a generator: one part of X taken at a time
            parts = ((self.X[self.rows[part]], self.targets.take(part),
                      self.sample_weight[part])
                     for part in (slice(start, min(start + step, self.n_samples))
                                  for start in range(0, self.n_samples, step)))
            return parts, scale
        X, targets, sw, scale = self._batch(rows)
        return [(X, targets, sw)], scale

    def _batch(self, rows):
        """A mini-batch ``(X_B, targets_B, s_B, n / (|B| S))``."""
        if self.is_numpy:
            X_rows = rows if self.rows is None else self.rows[rows]
            return (self.X[X_rows], self.targets.take(rows), self.sample_weight[rows],
                    self._batch_scale(rows.shape[0]))
        xp = self.xp
        if isinstance(rows, np.ndarray):
            rows = xp.asarray(rows, device=self.device)
        return (xp.take(self.X, rows, axis=0), self.targets.take(rows),
                xp.take(self.sample_weight, rows, axis=0),
                self._batch_scale(rows.shape[0]))

    def _batch_scale(self, n_rows):
        # An unbiased estimate of the full objective: scale by n / (|B| * S).
        return self.n_samples / (n_rows * self.weight_sum) if n_rows else 0.0

    def batches_per_chunk(self, batch_size):
        """How many batches of ``batch_size`` rows make one gathered chunk of X's
        rows, about ``_SUBSET_BYTES`` (at least one batch): the stochastic loop
        and SAGA copy an epoch's rows this much at a time, never X whole. A CSR
        row counts its values, column indices and row pointer."""
        X = self.X
        if sp.issparse(X):
            row_bytes = (X.nnz * (X.data.itemsize + X.indices.itemsize)
                         / max(1, X.shape[0]) + 8)
        else:
            row_bytes = (self.n_features + 1) * self.dtype.itemsize
        return max(1, int(_SUBSET_BYTES // max(1.0, row_bytes * max(1, batch_size))))

    def epoch_batches(self, order, batch_size):
        """The mini-batches of one epoch, in ``order`` (a permutation of the
        objective's rows, numpy): yields ``(batch, n_rows)`` with ``batch`` what
        :meth:`batch_value_grad` takes.

        Consecutive runs of ``batch_size`` positions of ``order`` make the batches
        (the last one shorter). On numpy each batch's rows are sorted
        (cache-friendly gathering) and X's rows are gathered a chunk of about
        ``_SUBSET_BYTES`` at a time, each batch then a view into its chunk: one
        fancy index per chunk instead of per batch (with single-sample batches
        the gathering, not the arithmetic, was most of a step) and never a copy
        of X beyond one chunk. Other namespaces move the order to X's device once
        and take each batch there.
        """
        n = order.shape[0]
        b = max(1, min(int(batch_size), n))
        if not self.is_numpy:
            order = self.xp.asarray(order, device=self.device)
            for start in range(0, n, b):
                rows = order[start:min(start + b, n)]
                yield self._batch(rows), rows.shape[0]
            return
        if b > 1:
            order = order.copy()
            full = (n // b) * b
            order[:full].reshape(-1, b).sort(axis=1)
            order[full:].sort()
        per_chunk = self.batches_per_chunk(b) * b
        full_scale = self._batch_scale(b)
        for start in range(0, n, per_chunk):
            rows = order[start:min(start + per_chunk, n)]
            X = self.X[rows if self.rows is None else self.rows[rows]]
            targets = self.targets.take(rows)
            sw = self.sample_weight[rows]
            for a in range(0, rows.shape[0], b):
                part = slice(a, min(a + b, rows.shape[0]))
                m = part.stop - a
                scale = full_scale if m == b else self._batch_scale(m)
                yield (X[part], targets.take(part), sw[part], scale), m

    def _blocks(self, n_rows):
        """Row blocks of the logits for the elementwise passes, as slices.

        The products of an evaluation are done whole (one BLAS call each, which
        keeps BLAS's threads efficient), but the loss's five or so elementwise
        passes over the (n, K) logits run a block of rows at a time, so the block
        stays in cache between passes instead of streaming from memory on each of
        them. Hessian-vector products take X a block at a time too, so that they
        need no (n, K) array beside the setup's. Other namespaces get one block
        (their kernels are launched per pass anyway).
        """
        rows = self._block_rows()
        if n_rows <= rows or not self.is_numpy:
            return [slice(0, n_rows)]
        return [slice(start, min(start + rows, n_rows))
                for start in range(0, n_rows, rows)]

    def _block_rows(self):
        return max(1024, _BLOCK_BYTES // (self.loss.n_outputs * self.dtype.itemsize))

    def _scratch(self, n_rows):
        """A column-major (n_rows, n_outputs) view of the reused scratch buffer
        (numpy); None elsewhere."""
        if not self.is_numpy:
            return None
        self._scratch_uses += 1  # what hessp's guard compares
        view = self._views.get(n_rows)
        if view is not None:
            return view
        K = self.loss.n_outputs
        if self._raw is None or self._raw.size < n_rows * K:
            self._raw = np.empty(n_rows * K, dtype=self.dtype)
            self._views = {}  # views of the old buffer
        view = self._raw[: n_rows * K].reshape((n_rows, K), order="F")
        if len(self._views) < 4:  # the batch sizes of an epoch: full and last
            self._views[n_rows] = view
        return view

    def _logits(self, params, X, out=None):
        d = self.n_features
        if not self.is_numpy:
            P = self._to_device(params)
            raw = X @ P[:d, :]
            if self.fit_intercept:
                raw = raw + P[d, :]
            if self._offset_dev is not None:
                raw = raw + self._offset_dev
            return raw
        raw = _matmul(X, params[:d], out)
        if self.fit_intercept and self.offset is not None:
            raw += params[d] + self.offset  # one pass over (n, K), not two
        elif self.fit_intercept:
            raw += params[d]
        elif self.offset is not None:
            raw += self.offset
        return raw

    def _pointwise(self, method, raw, targets, sw):
        """Apply a loss method over the row blocks of ``raw``; returns the summed
        values and ``raw`` holding the method's array output (numpy in place)."""
        if not self.is_numpy or raw.shape[0] <= self._block_rows():
            # one block (a mini-batch): no slicing, no second take of the targets
            value, G = method(raw, targets, sw)
            if self.is_numpy and G is not raw:
                raw[...] = G
                G = raw
            return value, G
        total = 0.0
        for block in self._blocks(raw.shape[0]):
            view = raw[block] if self.is_numpy else raw
            value, G = method(view, targets.take(block) if self.is_numpy else targets,
                              sw[block] if self.is_numpy else sw)
            total += value
            if not self.is_numpy:
                return total, G
            if G is not view:  # a loss that does not write in place
                view[...] = G
        return total, raw

    # ------------------------------------------------------------------ API
    def value_grad(self, params, rows=None):
        """Smooth part of the objective and its gradient.

        Parameters
        ----------
        params : ndarray of shape ``self.shape``
        rows : index array, optional
            A mini-batch (numpy, or of X's namespace); the value and gradient are
            then unbiased estimates of the full-batch ones (scaled by
            n / (|B| * sum_i s_i)).

        Returns
        -------
        value : float
        grad : ndarray of shape ``self.shape``, X's dtype (numpy, on the host)
        """
        params = self.as_params(params)
        if rows is not None:
            return self.batch_value_grad(params, self._batch(rows))
        parts, scale = self._chunks(None)
        loss, grad = 0.0, None
        for X, targets, sw in parts:
            raw = self._logits(params, X, self._scratch(X.shape[0]))
            value, G = self._pointwise(self.loss.loss_gradient, raw, targets, sw)
            loss += value
            grad = self._backward(X, G, grad)
        W = params[: self.n_features]
        return loss * scale + self._penalty(W), self._finish(grad, scale, W)

    def batch_value_grad(self, params, batch):
        """``value_grad`` on one mini-batch from :meth:`epoch_batches` (``params``
        already of ``self.shape`` and dtype): the unbiased estimates, scaled by
        n / (|B| * sum_i s_i). The per-step path of the stochastic loop."""
        X, targets, sw, scale = batch
        raw = self._logits(params, X, self._scratch(X.shape[0]))
        value, G = self._pointwise(self.loss.loss_gradient, raw, targets, sw)
        W = params[: self.n_features]
        return (value * scale + self._penalty(W),
                self._finish(self._backward(X, G), scale, W))

    def smooth_value(self, params, rows=None):
        """Smooth part of the objective only (one product with X)."""
        params = self.as_params(params)
        parts, scale = self._chunks(rows)
        loss = 0.0
        for X, targets, sw in parts:
            raw = self._logits(params, X, self._scratch(X.shape[0]))
            for block in self._blocks(X.shape[0]):
                if self.is_numpy:
                    loss += self.loss.loss(raw[block], targets.take(block), sw[block])
                else:
                    loss += self.loss.loss(raw, targets, sw)
        return loss * scale + self._penalty(params[: self.n_features])

    def value(self, params):
        """The full objective, L1 included (what ``loss_curve_`` records)."""
        return self.smooth_value(params) + self.l1_penalty(self.as_params(params))

    def hessp(self, params, rows=None):
        """Return ``v -> H v`` for the smooth part at ``params``.

        Setting up costs one product with X; each product after costs one X @ V and
        one X.T @ (H_raw dV), a row block at a time. On numpy the setup is kept in
        the scratch buffer of :meth:`value_grad` (no second (n, K) array): an
        evaluation between two products overwrites it, and the next product then
        redoes the setup (one more product with X).

        Parameters
        ----------
        params : ndarray of shape ``self.shape``
        rows : index array, optional
            Estimate the Hessian on these rows only (scaled by n / (|B| * sum_i s_i),
            as ``value_grad`` does for a mini-batch): a subsampled Hessian, each
            product then costing |B| / n of a full one.
        """
        params = self.as_params(params)
        parts, scale = self._chunks(rows)
        d = self.n_features
        if not self.is_numpy:
            (X, targets, sw), = parts
            state = self.loss.hessian_setup(self._logits(params, X), targets, sw)

            def product(v):
                v = self.as_params(v)
                d_raw = self._logits_of(self._to_device(v), X)
                H = self.loss.hessian_product(state, d_raw)
                return self._finish(self._backward(X, H), scale, v[:d])

            return product
        subset = self.rows is not None and rows is None
        # Without a row subset there is one part, whose setup (the softmax at
        # params: n x K, 80 MB at K=1000 on 10,000 rows) is written in the scratch
        # buffer of value_grad and smooth_value instead of a buffer of its own.
        # An evaluation in between (a line search) overwrites it: each product
        # checks that the scratch still holds this setup and redoes it if not.
        shared = not subset
        if shared:
            params = params.copy()  # the caller may change its array in between
        setups, kept = [], None
        for X, targets, sw in parts:
            kept = (X, targets, sw)
            setups.append(self._hessian_setup(params, X, targets, sw, shared))
        token = self._scratch_uses
        # over a row subset the parts of X are taken again at each product (never
        # all of them at once); otherwise the one part is kept
        if subset:
            kept = None

        def product(v):
            nonlocal token
            if shared and self._scratch_uses != token:
                setups[0] = self._hessian_setup(params, *kept, shared)
                token = self._scratch_uses
            v = self.as_params(v)
            out = None
            X_parts = (part[0] for part in self._chunks(None)[0]) if subset \
                else [kept[0]]
            for (blocks, states), X in zip(setups, X_parts, strict=True):
                # a row block at a time, in one d_raw buffer of a block's size
                # kept on the objective: the products need no (n, K) array of
                # their own (80 MB at K=1000 on 10,000 rows)
                for block, state in zip(blocks, states, strict=True):
                    X_b = X[block] if len(blocks) > 1 else X
                    d_raw = _matmul(X_b, v[:d], self._product_scratch(X_b.shape[0]))
                    if self.fit_intercept:
                        d_raw += v[d]
                    H = self.loss.hessian_product(state, d_raw)
                    if H is not d_raw:
                        d_raw[...] = H
                    out = self._backward(X_b, d_raw, out)
            return self._finish(out, scale, v[:d])

        return product

    def _hessian_setup(self, params, X, targets, sw, in_scratch):
        """``(blocks, states)``: the loss's Hessian setup at ``params`` over the
        row blocks of X, its logits in the scratch buffer or a buffer of its own."""
        n = X.shape[0]
        out = self._scratch(n) if in_scratch else \
            _empty_logits(n, self.loss.n_outputs, self.dtype)
        raw = self._logits(params, X, out)
        blocks = self._blocks(n)
        return blocks, [self.loss.hessian_setup(raw[b], targets.take(b), sw[b])
                        for b in blocks]

    def _product_scratch(self, n_rows):
        """A column-major (n_rows, n_outputs) view of the Hessian products'
        buffer (one row block), kept on the objective from one Newton step to the
        next."""
        K = self.loss.n_outputs
        if self._hvp is None or self._hvp.size < n_rows * K:
            self._hvp = np.empty(n_rows * K, dtype=self.dtype)
        return self._hvp[: n_rows * K].reshape((n_rows, K), order="F")

    def _logits_of(self, V, X):
        """The directional derivative of the logits, X @ V[:d] (+ V[d]); no offset."""
        d = self.n_features
        out = X @ V[:d, :]
        return out + V[d, :] if self.fit_intercept else out

    def _backward(self, X, G, total=None):
        """``[X.T @ G; sum_i G_i]``: a derivative in the logits taken back to the
        parameter layout (the one product with X.T of an evaluation; shared by the
        gradient and the Hessian-vector product), added to ``total`` when given.
        A host numpy array in X's dtype."""
        d = self.n_features
        out = np.empty(self.shape, self.dtype)
        if not self.is_numpy:
            xp = self.xp
            parts = [X.T @ G]
            if self.fit_intercept:
                parts.append(xp.sum(G, axis=0)[None, :])
            out[...] = to_numpy(xp.concat(parts, axis=0) if len(parts) > 1
                                else parts[0])
        elif sp.issparse(X):
            out[:d] = X.T @ G
        else:
            np.matmul(X.T, G, out=out[:d])
        if self.fit_intercept and self.is_numpy:
            out[d] = G.sum(axis=0)
        if total is not None:
            total += out
            return total
        return out

    def _finish(self, data_part, scale, W):
        """``scale * data_part + l2 * [W; 0]``, in place."""
        data_part *= scale
        if self.l2:
            data_part[: self.n_features] += self.l2 * W
        return data_part

    def row_norms(self):
        """||x~_i||^2 = ||x_i||^2 + fit_intercept for the objective's rows (those
        of ``rows=`` when given), float64, X's namespace."""
        sq = self._row_norms()
        return sq if self.rows is None else sq[self.rows]

    def parts(self):
        """The objective's rows in memory-bounded parts: yields ``(start, X_part,
        targets_part, sample_weight_part)`` with ``start`` the first row's
        position among the objective's rows. One part (X itself) without
        ``rows=``; over a row subset, a few thousand rows at a time, each part
        of X taken (copied) only while it is used."""
        start = 0
        for X_part, targets, sw in self._chunks(None)[0]:
            yield start, X_part, targets, sw
            start += X_part.shape[0]

    def _row_norms(self):
        """||x~_i||^2 = ||x_i||^2 + fit_intercept for every row of X, float64,
        X's namespace."""
        X = self.X
        if not self.is_numpy:
            xp = self.xp
            return xp.sum(xp.astype(X, xp.float64) ** 2, axis=1) + float(
                self.fit_intercept)
        # in row blocks of about _SUBSET_BYTES: never a (float64) copy of all of X
        sq = np.empty(X.shape[0])
        if sp.issparse(X):
            X = X.tocsr()
            step = max(256, _SUBSET_BYTES * X.shape[0] // (12 * max(1, X.nnz)))
            for start in range(0, X.shape[0], step):
                block = X[start:start + step]
                sq[start:start + step] = np.asarray(
                    block.multiply(block).sum(axis=1), dtype=np.float64).ravel()
        else:
            step = max(256, _SUBSET_BYTES // (8 * max(1, X.shape[1])))
            for start in range(0, X.shape[0], step):
                block = X[start:start + step].astype(np.float64)
                sq[start:start + step] = np.einsum("ij,ij->i", block, block)
        return sq + float(self.fit_intercept)

    def lipschitz_bound(self, per_sample=False):
        """An upper bound on the smoothness constant of the smooth part.

        The Hessian of the link is bounded by c times the identity (c the loss's
        ``curvature_bound()``), so L <= c * lambda_max(sum_i s_i x~_i x~_i^T) / S
        + l2 with x~ = [x, 1]; lambda_max is bounded by the trace. ``per_sample``
        bounds a single sample's term, which is what a batch-of-one step must
        respect: c * max_i ||x~_i||^2 + l2.
        """
        c = self.loss.curvature_bound()
        sq = self.row_norms()
        if per_sample:
            return c * float(self.xp.max(sq)) + self.l2
        return c * _weighted_sum(self.sample_weight, sq) / self.weight_sum + self.l2

    def gram_product(self, v):
        """(X~^T S X~ v) / sum(s) for a float64 host vector v of length
        n_features + fit_intercept, computed in X's dtype (a float64 vector would
        make numpy copy a float32 X per product)."""
        d = self.n_features
        if not self.is_numpy:
            xp = self.xp
            V = self._to_device(v[:, None])
            u = self._logits_of(V, self.X)[:, 0] * self.sample_weight
            w = xp.concat([self.X.T @ u, xp.sum(u)[None]]) if self.fit_intercept \
                else self.X.T @ u
            return to_numpy(w).astype(np.float64) / self.weight_sum
        vv = v.astype(self.dtype)
        u = np.asarray(self.X @ vv[:d]).ravel()
        if self.fit_intercept:
            u = u + vv[d]
        if self.rows is not None:  # zero outside the subset: X is not copied
            keep = u[self.rows] * self.sample_weight
            u[...] = 0
            u[self.rows] = keep
        else:
            u *= self.sample_weight
        w = np.empty(len(v))
        w[:d] = np.asarray(self.X.T @ u).ravel()
        if self.fit_intercept:
            w[d] = u.sum(dtype=np.float64)
        return w / self.weight_sum
