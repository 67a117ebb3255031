"""Cross-entropy engine: pointwise losses on logits, and the targets they compare to.

Pure numerics. Nothing here knows about solvers, estimators or the penalty.

Conventions
-----------
n_samples : number of rows of the logits.
K : number of classes; ``n_outputs`` is K for the softmax loss and 1 for the
    binary sigmoid loss (a single logit, as in scikit-learn's LogisticRegression).
raw : ndarray of shape (n_samples, n_outputs)
    The logits ``X @ W.T + b``. Every method that takes ``raw`` may overwrite it:
    callers pass a scratch buffer, which is how one evaluation gets away with a
    single (n_samples, n_outputs) array.
targets : HardTargets or SoftTargets
    The target distributions T_i. Rows are probability vectors over the K classes.
sample_weight : ndarray of shape (n_samples,)
    Non-negative per-sample weights s_i (class weights are folded in upstream).

Each loss returns ``sum_i s_i * CE(T_i, q_i)`` (not normalized) and the gradient
with respect to ``raw``, ``G_i = d(s_i CE_i)/d raw_i``; the objective layer does the
normalization, the penalty and the products with X.
"""

import numpy as np
from scipy.special import expit, log_expit

from ._xp import namespace, to_numpy


def _weighted_sum(sample_weight, values):
    """sum_i s_i v_i accumulated in float64 (float32 sums over 1e5 rows drift).

    A plain reduction, not ``np.dot``: on vectors of ~1e4 elements a
    multi-threaded BLAS spends milliseconds waking its threads for microseconds of
    work, and more threads made fits slower.
    """
    xp, is_np = namespace(values)
    if is_np:
        a = sample_weight.astype(np.float64, copy=False)
        b = values.astype(np.float64, copy=False)
        # np.dot is fastest on short vectors (mini-batches); on long ones its
        # threaded BLAS kernel is what was slow
        return float(np.dot(a, b) if a.shape[0] <= 4096 else np.einsum("i,i->", a, b))
    return float(xp.sum(xp.astype(sample_weight, xp.float64)
                        * xp.astype(values, xp.float64)))


def log_expit_xp(xp, z):
    """log sigmoid(z) = -log(1 + exp(-z)), stable for any finite z."""
    if xp is np:
        return log_expit(z)
    return -xp.logaddexp(xp.zeros_like(z), -z)


def expit_xp(xp, z):
    """sigmoid(z), stable for any finite z."""
    if xp is np:
        return expit(z)
    return xp.exp(log_expit_xp(xp, z))


def log_softmax(raw, out=None):
    """Stable log-softmax along axis 1: ``raw - logsumexp(raw)``.

    Parameters
    ----------
    raw : array of shape (n_samples, K), any array API namespace
    out : ndarray of shape (n_samples, K), optional
        Where to write (numpy only); may be ``raw`` itself.

    Returns
    -------
    array of shape (n_samples, K)
    """
    xp, is_np = namespace(raw)
    if not is_np:
        shifted = raw - xp.max(raw, axis=1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    out = np.subtract(raw, raw.max(axis=1, keepdims=True), out=out)
    lse = np.log(np.exp(out).sum(axis=1, keepdims=True))
    out -= lse
    return out


def softmax(raw, out=None):
    """Stable softmax along axis 1 (max subtracted before ``exp``).

    Parameters
    ----------
    raw : array of shape (n_samples, K), any array API namespace
    out : ndarray of shape (n_samples, K), optional
        Where to write (numpy only); may be ``raw`` itself.

    Returns
    -------
    array of shape (n_samples, K)
    """
    xp, is_np = namespace(raw)
    if not is_np:
        e = xp.exp(raw - xp.max(raw, axis=1, keepdims=True))
        return e / xp.sum(e, axis=1, keepdims=True)
    out = np.subtract(raw, raw.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def make_targets(target, n_classes, smoothing=0.0):
    """The one constructor of targets: 1-D integer codes give :class:`HardTargets`,
    a 2-D array of probability rows gives :class:`SoftTargets`; either label-smoothed
    by ``smoothing`` (PyTorch's semantics)."""
    if target.ndim == 1:
        return HardTargets(target, n_classes, smoothing)
    return SoftTargets(target, smoothing)


class _Targets:
    """What both kinds of targets share; ``_unsmoothed(dtype)`` is the dense (n, K)
    matrix before smoothing, built only off the numpy fast path (or on demand)."""

    smoothing = 0.0

    def dense(self, dtype):
        """The dense (n_samples, K) target matrix T, smoothed, in ``dtype``."""
        T = self._unsmoothed(dtype)
        if self.smoothing:
            T = (1.0 - self.smoothing) * T + self.smoothing / self.n_classes
        return T

    def _smooth_dot(self, picked, raw):
        if self.smoothing == 0.0:
            return picked
        xp, _ = namespace(raw)
        return (1.0 - self.smoothing) * picked + (
            self.smoothing / self.n_classes) * xp.sum(raw, axis=1)

    def positive(self, dtype):
        """T_i1, the target probability of class 1 (binary problems)."""
        t = self._column1(dtype)
        if self.smoothing:
            t = t * (1.0 - self.smoothing) + self.smoothing / 2.0
        return t

    def class_mass(self, sample_weight):
        """sum_i s_i T_ik for each class k (smoothing included), shape (K,), host
        float64."""
        mass = self.counts(sample_weight)
        if self.smoothing:
            mass = (1.0 - self.smoothing) * mass + self.smoothing / self.n_classes \
                * float(mass.sum())
        return mass


class HardTargets(_Targets):
    """Integer class codes, optionally label-smoothed.

    T_i = (1 - eps) * onehot(y_i) + eps / K, PyTorch's ``CrossEntropyLoss``
    semantics for ``label_smoothing=eps``. On numpy the dense (n, K) matrix is
    never built; on other namespaces it is built once, on the device.

    Parameters
    ----------
    codes : array of shape (n_samples,), integer codes in [0, K)
        numpy or any array API namespace (then every method works in it).
    n_classes : int
    smoothing : float in [0, 1)
    """

    def __init__(self, codes, n_classes, smoothing=0.0):
        self.codes = codes
        self.n_classes = n_classes
        self.smoothing = smoothing
        self.xp, self.is_numpy = namespace(codes)
        self._rows = None  # arange(n_samples), made once for the fancy indexing
        self._onehot = None  # other namespaces: the one-hot matrix, made once

    def __len__(self):
        return self.codes.shape[0]

    def _row_index(self):
        if self._rows is None or self._rows.shape[0] != self.codes.shape[0]:
            self._rows = np.arange(self.codes.shape[0])
        return self._rows

    def _unsmoothed(self, dtype):
        if self.is_numpy:
            T = np.zeros((len(self), self.n_classes), dtype=dtype)
            T[self._row_index(), self.codes] = 1.0
            return T
        xp = self.xp
        if self._onehot is None or self._onehot.dtype != dtype:
            classes = xp.arange(self.n_classes, device=self.codes.device) \
                if hasattr(self.codes, "device") else xp.arange(self.n_classes)
            self._onehot = xp.astype(self.codes[:, None] == classes[None, :], dtype)
        return self._onehot

    def take(self, rows):
        """The targets of a subset of rows (a slice, or an index array of the
        codes' namespace)."""
        if self.is_numpy or isinstance(rows, slice):
            part = HardTargets(self.codes[rows], self.n_classes, self.smoothing)
            if isinstance(rows, slice) and self.is_numpy and rows.step is None \
                    and not rows.start:
                # arange(n)[:m] is arange(m): a mini-batch shares the index
                part._rows = self._row_index()[rows]
            return part
        return HardTargets(self.xp.take(self.codes, rows, axis=0), self.n_classes,
                           self.smoothing)

    def dot(self, raw):
        """sum_k T_ik raw_ik for each row, shape (n_samples,)."""
        if self.is_numpy:
            picked = raw[self._row_index(), self.codes]
        else:
            picked = self.xp.sum(self._unsmoothed(raw.dtype) * raw, axis=1)
        return self._smooth_dot(picked, raw)

    def subtract_from(self, P, weight=None):
        """P - weight * T (numpy: in place); ``weight`` of shape (n_samples,)."""
        if not self.is_numpy:
            T = self.dense(P.dtype)
            return P - (T if weight is None else weight[:, None] * T)
        if weight is None:
            P[self._row_index(), self.codes] -= 1.0 - self.smoothing
            if self.smoothing:
                P -= self.smoothing / self.n_classes
            return P
        # (1 - 0) * weight is weight: no product without smoothing
        P[self._row_index(), self.codes] -= (1.0 - self.smoothing) * weight \
            if self.smoothing else weight
        if self.smoothing:
            P -= (self.smoothing / self.n_classes) * weight[:, None]
        return P

    def _column1(self, dtype):
        if self.is_numpy:
            return self.codes.astype(dtype)
        return self.xp.astype(self.codes, dtype)

    def counts(self, sample_weight):
        """sum_i s_i onehot(y_i): the (unsmoothed) class mass, host float64 (K,)."""
        if self.is_numpy:
            return np.bincount(self.codes, weights=sample_weight,
                               minlength=self.n_classes).astype(np.float64)
        xp = self.xp
        T = self._unsmoothed(xp.float64)
        return to_numpy(xp.sum(xp.astype(sample_weight, xp.float64)[:, None] * T,
                               axis=0))


class SoftTargets(_Targets):
    """Dense target distributions, one probability row per sample.

    Parameters
    ----------
    T : array of shape (n_samples, K)
        Non-negative rows summing to one (validated upstream); numpy or any array
        API namespace.
    smoothing : float in [0, 1)
        Mixes each row with the uniform distribution, as for hard labels.
    """

    def __init__(self, T, smoothing=0.0):
        self.T = T
        self.n_classes = T.shape[1]
        self.smoothing = smoothing
        self.xp, self.is_numpy = namespace(T)

    def __len__(self):
        return self.T.shape[0]

    def _unsmoothed(self, dtype):
        if self.is_numpy:
            return self.T.astype(dtype, copy=False)
        return self.xp.astype(self.T, dtype)

    def take(self, rows):
        """The targets of a subset of rows."""
        if self.is_numpy or isinstance(rows, slice):
            return SoftTargets(self.T[rows], self.smoothing)
        return SoftTargets(self.xp.take(self.T, rows, axis=0), self.smoothing)

    def dot(self, raw):
        """sum_k T_ik raw_ik for each row, shape (n_samples,)."""
        if self.is_numpy:
            picked = np.einsum("ij,ij->i", self.T, raw)
        else:
            picked = self.xp.sum(self._unsmoothed(raw.dtype) * raw, axis=1)
        return self._smooth_dot(picked, raw)

    def subtract_from(self, P, weight=None):
        """P - weight * T (numpy: in place); ``weight`` of shape (n_samples,)."""
        T = self.dense(P.dtype)
        if not self.is_numpy:
            return P - (T if weight is None else weight[:, None] * T)
        if weight is None:
            P -= T
        else:
            P -= T * weight[:, None]
        return P

    def _column1(self, dtype):
        col = self.T[:, 1]
        return col.astype(dtype) if self.is_numpy else self.xp.astype(col, dtype)

    def counts(self, sample_weight):
        """sum_i s_i T_i (unsmoothed), host float64 (K,)."""
        if self.is_numpy:
            return np.asarray(sample_weight, dtype=np.float64) @ \
                self.T.astype(np.float64, copy=False)
        xp = self.xp
        return to_numpy(xp.sum(xp.astype(sample_weight, xp.float64)[:, None]
                               * xp.astype(self.T, xp.float64), axis=0))


class SoftmaxCrossEntropy:
    """Multiclass cross-entropy with the softmax link.

    CE(T_i, q_i) = -sum_k T_ik log softmax(raw_i)_k = logsumexp(raw_i) - T_i . raw_i
    (for rows of T summing to one). Gradient w.r.t. raw_i: s_i (q_i - T_i).
    Hessian w.r.t. raw_i: s_i (diag(q_i) - q_i q_i^T).

    Every method works on any array API namespace; on numpy it overwrites ``raw``
    (the fast path), elsewhere it returns new arrays.
    """

    def __init__(self, n_classes):
        self.n_classes = n_classes
        self.n_outputs = n_classes

    def curvature_bound(self):
        """sup of the largest eigenvalue of diag(q) - q q^T over the simplex: 1/2."""
        return 0.5

    def loss_gradient(self, raw, targets, sample_weight):
        """Return ``(sum_i s_i CE_i, G)``; G (numpy: in ``raw``), shape (n, K)."""
        xp, is_np = namespace(raw)
        tz = targets.dot(raw)
        if not is_np:
            m = xp.max(raw, axis=1, keepdims=True)
            e = xp.exp(raw - m)
            se = xp.sum(e, axis=1, keepdims=True)
            loss = _weighted_sum(sample_weight, xp.log(se[:, 0]) + m[:, 0] - tz)
            G = targets.subtract_from(e * (sample_weight[:, None] / se), sample_weight)
            return loss, G
        # Five passes over (n, K): the max, the shift, exp, the row sums, and one
        # scaling by s_i / se_i that both normalizes and weights. The row reductions
        # are fast when raw is column-major (the objective's buffers are).
        m = raw.max(axis=1)
        raw -= m[:, None]
        np.exp(raw, out=raw)
        se = raw.sum(axis=1)
        # CE_i = log(se_i) + m_i - T_i . raw_i
        loss = _weighted_sum(sample_weight, np.log(se) + m - tz)
        np.divide(sample_weight, se, out=se)
        raw *= se[:, None]  # s_i q_i
        targets.subtract_from(raw, sample_weight)  # s_i (q_i - T_i)
        return loss, raw

    def loss(self, raw, targets, sample_weight):
        """Return ``sum_i s_i CE_i``; ``raw`` is overwritten (numpy)."""
        xp, is_np = namespace(raw)
        tz = targets.dot(raw)
        if not is_np:
            m = xp.max(raw, axis=1, keepdims=True)
            lse = xp.log(xp.sum(xp.exp(raw - m), axis=1)) + m[:, 0]
            return _weighted_sum(sample_weight, lse - tz)
        m = raw.max(axis=1)
        raw -= m[:, None]
        np.exp(raw, out=raw)
        return _weighted_sum(sample_weight, np.log(raw.sum(axis=1)) + m - tz)

    def hessian_setup(self, raw, targets, sample_weight):
        """Everything the Hessian-vector product needs at ``raw``: the softmax."""
        return softmax(raw, out=raw), sample_weight

    def hessian_product(self, state, d_raw):
        """(H d_raw)_i = s_i (q_i * d_i - q_i (q_i . d_i)); ``d_raw`` is overwritten
        (numpy)."""
        P, sample_weight = state
        xp, is_np = namespace(d_raw)
        if not is_np:
            d = d_raw - xp.sum(P * d_raw, axis=1, keepdims=True)
            return d * P * sample_weight[:, None]
        d_raw -= np.einsum("ij,ij->i", P, d_raw)[:, None]
        d_raw *= P
        d_raw *= sample_weight[:, None]
        return d_raw


class SigmoidCrossEntropy:
    """Binary cross-entropy on a single logit (the K = 2 case, as LogisticRegression).

    CE_i = -t_i log sigmoid(z_i) - (1 - t_i) log sigmoid(-z_i) = softplus(z_i) - t_i z_i
    where t_i = T_i1. Gradient: s_i (sigmoid(z_i) - t_i). Hessian: s_i p_i (1 - p_i).
    Works on any array API namespace, like :class:`SoftmaxCrossEntropy`.
    """

    n_classes = 2
    n_outputs = 1

    def curvature_bound(self):
        """sup_z sigmoid'(z) = 1/4."""
        return 0.25

    def loss_gradient(self, raw, targets, sample_weight):
        """Return ``(sum_i s_i CE_i, G)``; G (numpy: in ``raw``), shape (n, 1)."""
        xp, is_np = namespace(raw)
        z = raw[:, 0]
        t = targets.positive(raw.dtype)
        # softplus(z) - t z = -log_expit(-z) - t z, stable for any finite z
        loss = _weighted_sum(sample_weight, -log_expit_xp(xp, -z) - t * z)
        if not is_np:
            return loss, ((expit_xp(xp, z) - t) * sample_weight)[:, None]
        expit(z, out=z)
        z -= t
        z *= sample_weight
        return loss, raw

    def loss(self, raw, targets, sample_weight):
        """Return ``sum_i s_i CE_i``."""
        xp, _ = namespace(raw)
        z = raw[:, 0]
        t = targets.positive(raw.dtype)
        return _weighted_sum(sample_weight, -log_expit_xp(xp, -z) - t * z)

    def hessian_setup(self, raw, targets, sample_weight):
        """The diagonal s_i p_i (1 - p_i), shape (n, 1)."""
        xp, _ = namespace(raw)
        p = expit_xp(xp, raw)
        return p * (1.0 - p) * sample_weight[:, None]

    def hessian_product(self, state, d_raw):
        """(H d)_i = s_i p_i (1 - p_i) d_i; ``d_raw`` is overwritten (numpy)."""
        xp, is_np = namespace(d_raw)
        if not is_np:
            return d_raw * state
        d_raw *= state
        return d_raw


def log_prior_start(mass, n_outputs):
    """The intercept at which all-zero coefficients predict the class priors
    ``mass / sum(mass)``: the log priors, centred (softmax), or their difference
    (the sigmoid's single logit). A class without mass gets prior 1e-12.

    Examples
    --------
    >>> log_prior_start(np.array([1.0, 3.0]), 1).round(4)  # log(3/4) - log(1/4)
    array([1.0986])
    """
    mass = np.asarray(mass, dtype=np.float64)
    logp = np.log(np.maximum(mass, 1e-12) / max(mass.sum(), 1e-12))
    if n_outputs == 1:
        return np.array([logp[1] - logp[0]])
    return logp - logp.mean()
