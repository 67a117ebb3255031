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


def _weighted_sum(sample_weight, values):
    """sum_i s_i v_i accumulated in float64 (float32 sums over 1e5 rows drift)."""
    return float(np.dot(sample_weight.astype(np.float64, copy=False),
                        values.astype(np.float64, copy=False)))


def log_softmax(raw, out=None):
    """Stable log-softmax along axis 1: ``raw - logsumexp(raw)``.

    Parameters
    ----------
    raw : ndarray of shape (n_samples, K)
    out : ndarray of shape (n_samples, K), optional
        Where to write; may be ``raw`` itself.

    Returns
    -------
    ndarray of shape (n_samples, K)
    """
    out = np.subtract(raw, raw.max(axis=1, keepdims=True), out=out)
    lse = np.log(np.exp(out).sum(axis=1, keepdims=True))
    out -= lse
    return out


def softmax(raw, out=None):
    """Stable softmax along axis 1 (max subtracted before ``exp``).

    Parameters
    ----------
    raw : ndarray of shape (n_samples, K)
    out : ndarray of shape (n_samples, K), optional
        Where to write; may be ``raw`` itself.

    Returns
    -------
    ndarray of shape (n_samples, K)
    """
    out = np.subtract(raw, raw.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


class HardTargets:
    """Integer class codes, optionally label-smoothed.

    T_i = (1 - eps) * onehot(y_i) + eps / K, PyTorch's ``CrossEntropyLoss``
    semantics for ``label_smoothing=eps``. The dense (n, K) matrix is never built.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,), integer codes in [0, K)
    n_classes : int
    smoothing : float in [0, 1)
    """

    def __init__(self, codes, n_classes, smoothing=0.0):
        self.codes = codes
        self.n_classes = n_classes
        self.smoothing = smoothing
        self._rows = None  # arange(n_samples), made once for the fancy indexing

    def __len__(self):
        return self.codes.shape[0]

    def _row_index(self):
        if self._rows is None or self._rows.shape[0] != self.codes.shape[0]:
            self._rows = np.arange(self.codes.shape[0])
        return self._rows

    def take(self, rows):
        """The targets of a subset of rows."""
        return HardTargets(self.codes[rows], self.n_classes, self.smoothing)

    def dot(self, raw):
        """sum_k T_ik raw_ik for each row, shape (n_samples,)."""
        picked = raw[self._row_index(), self.codes]
        if self.smoothing == 0.0:
            return picked
        return (1.0 - self.smoothing) * picked + (
            self.smoothing / self.n_classes
        ) * raw.sum(axis=1)

    def subtract_from(self, P, weight=None):
        """P -= T in place; with ``weight`` (shape (n_samples,)), P -= weight * T."""
        if weight is None:
            P[self._row_index(), self.codes] -= 1.0 - self.smoothing
            if self.smoothing:
                P -= self.smoothing / self.n_classes
            return P
        P[self._row_index(), self.codes] -= (1.0 - self.smoothing) * weight
        if self.smoothing:
            P -= (self.smoothing / self.n_classes) * weight[:, None]
        return P

    def positive(self, dtype):
        """T_i1, the target probability of class 1 (binary problems)."""
        t = self.codes.astype(dtype)
        if self.smoothing:
            t *= 1.0 - self.smoothing
            t += self.smoothing / 2.0
        return t

    def class_mass(self, sample_weight):
        """sum_i s_i T_ik for each class k, shape (K,)."""
        mass = np.bincount(self.codes, weights=sample_weight, minlength=self.n_classes)
        if self.smoothing:
            mass = (1.0 - self.smoothing) * mass + self.smoothing / self.n_classes * (
                sample_weight.sum()
            )
        return mass


class SoftTargets:
    """Dense target distributions, one probability row per sample.

    Parameters
    ----------
    T : ndarray of shape (n_samples, K)
        Non-negative rows summing to one (validated upstream).
    """

    def __init__(self, T):
        self.T = T
        self.n_classes = T.shape[1]

    def __len__(self):
        return self.T.shape[0]

    def take(self, rows):
        """The targets of a subset of rows."""
        return SoftTargets(self.T[rows])

    def dot(self, raw):
        """sum_k T_ik raw_ik for each row, shape (n_samples,)."""
        return np.einsum("ij,ij->i", self.T, raw)

    def subtract_from(self, P, weight=None):
        """P -= T in place; with ``weight`` (shape (n_samples,)), P -= weight * T."""
        if weight is None:
            P -= self.T
        else:
            P -= self.T * weight[:, None]
        return P

    def positive(self, dtype):
        """T_i1, the target probability of class 1 (binary problems)."""
        return self.T[:, 1].astype(dtype)

    def class_mass(self, sample_weight):
        """sum_i s_i T_ik for each class k, shape (K,)."""
        return sample_weight @ self.T


class SoftmaxCrossEntropy:
    """Multiclass cross-entropy with the softmax link.

    CE(T_i, q_i) = -sum_k T_ik log softmax(raw_i)_k = logsumexp(raw_i) - T_i . raw_i
    (for rows of T summing to one). Gradient w.r.t. raw_i: s_i (q_i - T_i).
    Hessian w.r.t. raw_i: s_i (diag(q_i) - q_i q_i^T).
    """

    def __init__(self, n_classes):
        self.n_classes = n_classes
        self.n_outputs = n_classes

    def curvature_bound(self):
        """sup of the largest eigenvalue of diag(q) - q q^T over the simplex: 1/2."""
        return 0.5

    def loss_gradient(self, raw, targets, sample_weight):
        """Return ``(sum_i s_i CE_i, G)``; G overwrites ``raw``, shape (n, K)."""
        # Five passes over (n, K): the max, the shift, exp, the row sums, and one
        # scaling by s_i / se_i that both normalizes and weights. The row reductions
        # are fast when raw is column-major (the objective's buffers are).
        tz = targets.dot(raw)
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
        """Return ``sum_i s_i CE_i``; ``raw`` is overwritten."""
        tz = targets.dot(raw)
        m = raw.max(axis=1)
        raw -= m[:, None]
        np.exp(raw, out=raw)
        return _weighted_sum(sample_weight, np.log(raw.sum(axis=1)) + m - tz)

    def hessian_setup(self, raw, targets, sample_weight):
        """Everything the Hessian-vector product needs at ``raw``: the softmax."""
        return softmax(raw, out=raw), sample_weight

    def hessian_product(self, state, d_raw):
        """(H d_raw)_i = s_i (q_i * d_i - q_i (q_i . d_i)); ``d_raw`` is overwritten."""
        P, sample_weight = state
        d_raw -= np.einsum("ij,ij->i", P, d_raw)[:, None]
        d_raw *= P
        d_raw *= sample_weight[:, None]
        return d_raw


class SigmoidCrossEntropy:
    """Binary cross-entropy on a single logit (the K = 2 case, as LogisticRegression).

    CE_i = -t_i log sigmoid(z_i) - (1 - t_i) log sigmoid(-z_i) = softplus(z_i) - t_i z_i
    where t_i = T_i1. Gradient: s_i (sigmoid(z_i) - t_i). Hessian: s_i p_i (1 - p_i).
    """

    n_classes = 2
    n_outputs = 1

    def curvature_bound(self):
        """sup_z sigmoid'(z) = 1/4."""
        return 0.25

    def loss_gradient(self, raw, targets, sample_weight):
        """Return ``(sum_i s_i CE_i, G)``; G overwrites ``raw``, shape (n, 1)."""
        z = raw[:, 0]
        t = targets.positive(raw.dtype)
        # softplus(z) - t z = -log_expit(-z) - t z, stable for any finite z
        loss = _weighted_sum(sample_weight, -log_expit(-z) - t * z)
        expit(z, out=z)
        z -= t
        z *= sample_weight
        return loss, raw

    def loss(self, raw, targets, sample_weight):
        """Return ``sum_i s_i CE_i``."""
        z = raw[:, 0]
        t = targets.positive(raw.dtype)
        return _weighted_sum(sample_weight, -log_expit(-z) - t * z)

    def hessian_setup(self, raw, targets, sample_weight):
        """The diagonal s_i p_i (1 - p_i), shape (n, 1)."""
        p = expit(raw)
        return p * (1.0 - p) * sample_weight[:, None]

    def hessian_product(self, state, d_raw):
        """(H d)_i = s_i p_i (1 - p_i) d_i; ``d_raw`` is overwritten."""
        d_raw *= state
        return d_raw
