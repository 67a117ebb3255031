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
"""

import numpy as np
import scipy.sparse as sp


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


def _empty_logits(n_rows, n_outputs, dtype):
    return np.empty((n_rows, n_outputs), dtype=dtype, order="F")


class Penalty:
    """The parts of an objective that act on the parameters alone: the elastic-net
    penalty, its proximal step and the parameter layout. Shared by :class:`Objective`
    and the dask and array API objectives, which differ only in where the data term
    is computed. Subclasses set ``n_features``, ``shape`` and ``dtype`` and call
    :meth:`_set_penalty`.
    """

    def _set_penalty(self, alpha, l1_ratio, fit_intercept):
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


class Objective(Penalty):
    """Full-batch and mini-batch views of the penalized cross-entropy.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Never copied and never written to.
    targets : HardTargets or SoftTargets
    sample_weight : ndarray of shape (n_samples,)
    loss : SoftmaxCrossEntropy or SigmoidCrossEntropy (or any object with the
        same methods, e.g. a focal loss)
    alpha, l1_ratio : float
    fit_intercept : bool
    offset : ndarray of shape (n_outputs,) or None
        Added to the logits in training only.
    """

    def __init__(self, X, targets, sample_weight, loss, *, alpha=0.0, l1_ratio=0.0,
                 fit_intercept=True, offset=None):
        self.X = X
        self.targets = targets
        self.sample_weight = sample_weight
        self.loss = loss
        self._set_penalty(alpha, l1_ratio, fit_intercept)
        self.offset = offset
        self.dtype = X.dtype
        self.n_samples, self.n_features = X.shape
        self.weight_sum = float(sample_weight.sum(dtype=np.float64))
        self.shape = (self.n_features + int(fit_intercept), loss.n_outputs)
        self._raw = None  # flat logits scratch, one row block, made on first use

    # ------------------------------------------------------------------ helpers
    def _batch(self, rows):
        if rows is None:
            return self.X, self.targets, self.sample_weight, 1.0 / self.weight_sum
        # An unbiased estimate of the full objective: scale by n / (|B| * S).
        scale = self.n_samples / (len(rows) * self.weight_sum) if len(rows) else 0.0
        return (self.X[rows], self.targets.take(rows), self.sample_weight[rows], scale)

    def _blocks(self, n_rows):
        """Row blocks of the logits for the elementwise passes, as slices.

        The products with X are done whole (one BLAS call each, which keeps BLAS's
        threads efficient), but the loss's five or so elementwise passes over the
        (n, K) logits run a block of rows at a time, so the block stays in cache
        between passes instead of streaming from memory on each of them.
        """
        rows = max(1024, _BLOCK_BYTES // (self.loss.n_outputs * self.dtype.itemsize))
        if n_rows <= rows:
            return [slice(0, n_rows)]
        return [slice(start, min(start + rows, n_rows))
                for start in range(0, n_rows, rows)]

    def _scratch(self, n_rows):
        """A column-major (n_rows, n_outputs) view of the reused scratch buffer."""
        K = self.loss.n_outputs
        if self._raw is None or self._raw.size < n_rows * K:
            self._raw = np.empty(n_rows * K, dtype=self.dtype)
        return self._raw[: n_rows * K].reshape((n_rows, K), order="F")

    def _logits(self, params, X, out=None):
        d = self.n_features
        raw = _matmul(X, params[:d], out)
        if self.fit_intercept and self.offset is not None:
            raw += params[d] + self.offset  # one pass over (n, K), not two
        elif self.fit_intercept:
            raw += params[d]
        elif self.offset is not None:
            raw += self.offset
        return raw

    # ------------------------------------------------------------------ API
    def value_grad(self, params, rows=None):
        """Smooth part of the objective and its gradient.

        Parameters
        ----------
        params : ndarray of shape ``self.shape``
        rows : ndarray of int, optional
            A mini-batch; the value and gradient are then unbiased estimates of the
            full-batch ones (scaled by n / (|B| * sum_i s_i)).

        Returns
        -------
        value : float
        grad : ndarray of shape ``self.shape``, X's dtype
        """
        params = self.as_params(params)
        X, targets, sw, scale = self._batch(rows)
        d = self.n_features
        raw = self._logits(params, X, self._scratch(X.shape[0]))
        loss = 0.0
        for block in self._blocks(X.shape[0]):
            view = raw[block]
            value, G = self.loss.loss_gradient(view, targets.take(block), sw[block])
            if G is not view:  # a loss that does not write in place
                view[...] = G
            loss += value
        W = params[:d]
        return loss * scale + self._penalty(W), self._backward(X, raw, scale, W)

    def smooth_value(self, params, rows=None):
        """Smooth part of the objective only (one product with X)."""
        params = self.as_params(params)
        X, targets, sw, scale = self._batch(rows)
        raw = self._logits(params, X, self._scratch(X.shape[0]))
        loss = 0.0
        for block in self._blocks(X.shape[0]):
            loss += self.loss.loss(raw[block], targets.take(block), sw[block])
        return loss * scale + self._penalty(params[: self.n_features])

    def value(self, params):
        """The full objective, L1 included (what ``loss_curve_`` records)."""
        return self.smooth_value(params) + self.l1_penalty(self.as_params(params))

    def hessp(self, params, rows=None):
        """Return ``v -> H v`` for the smooth part at ``params``.

        Setting up costs one product with X; each product after costs one X @ V and
        one X.T @ (H_raw dV).

        Parameters
        ----------
        params : ndarray of shape ``self.shape``
        rows : ndarray of int, optional
            Estimate the Hessian on these rows only (scaled by n / (|B| * sum_i s_i),
            as ``value_grad`` does for a mini-batch): a subsampled Hessian, each
            product then costing |B| / n of a full one.
        """
        params = self.as_params(params)
        X, targets, sw, scale = self._batch(rows)
        d, K = self.n_features, self.loss.n_outputs
        n = X.shape[0]
        raw = self._logits(params, X, _empty_logits(n, K, self.dtype))
        blocks = self._blocks(n)
        states = [self.loss.hessian_setup(raw[b], targets.take(b), sw[b])
                  for b in blocks]
        d_raw_buffer = _empty_logits(n, K, self.dtype)  # reused by every product

        def product(v):
            v = self.as_params(v)
            d_raw = _matmul(X, v[:d], d_raw_buffer)
            if self.fit_intercept:
                d_raw += v[d]
            for block, state in zip(blocks, states, strict=True):
                view = d_raw[block]
                H = self.loss.hessian_product(state, view)
                if H is not view:
                    view[...] = H
            return self._backward(X, d_raw, scale, v[:d])

        return product

    def _backward(self, X, G, scale, W):
        """``scale * [X.T @ G; sum_i G_i] + l2 * [W; 0]``: a derivative in the logits
        taken back to the parameter layout (the one product with X.T of an
        evaluation; shared by the gradient and the Hessian-vector product)."""
        d = self.n_features
        out = np.empty(self.shape, self.dtype)
        if sp.issparse(X):
            out[:d] = X.T @ G
        else:
            np.matmul(X.T, G, out=out[:d])
        if self.fit_intercept:
            out[d] = G.sum(axis=0)
        out *= scale
        if self.l2:
            out[:d] += self.l2 * W
        return out

    def lipschitz_bound(self, per_sample=False):
        """An upper bound on the smoothness constant of the smooth part.

        The Hessian of the link is bounded by 1/2 (softmax) or 1/4 (sigmoid) times the
        identity, so L <= c * lambda_max(sum_i s_i x~_i x~_i^T) / S + l2 with
        x~ = [x, 1]. ``per_sample=True`` bounds a single sample's term, which is what a
        batch-of-one step must respect: c * max_i ||x~_i||^2 + l2.
        """
        c = self.loss.curvature_bound()
        X = self.X
        if sp.issparse(X):
            sq = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
        else:  # in row blocks: never a float64 copy of all of X
            sq = np.empty(X.shape[0])
            for start in range(0, X.shape[0], 8192):
                block = X[start:start + 8192].astype(np.float64)
                sq[start:start + 8192] = np.einsum("ij,ij->i", block, block)
        sq += float(self.fit_intercept)
        if per_sample:
            return c * float(sq.max()) + self.l2
        # trace bound: lambda_max <= weighted mean of squared norms
        return c * float(self.sample_weight @ sq) / self.weight_sum + self.l2
