"""Focal losses (Lin et al. 2017) on logits, with the interface of :mod:`skce._loss`.

Pure numerics, like :class:`~skce._loss.SoftmaxCrossEntropy`: ``loss_gradient``,
``loss``, ``hessian_setup`` and ``hessian_product`` on ``raw`` of shape
(n_samples, n_outputs); ``raw`` and ``d_raw`` may be overwritten. Class weights
arrive folded into the per-sample weights s_i (the alpha-balanced form).

Math
----
With q = softmax(z), u_k = 1 - q_k and target distribution T (one-hot, smoothed or
soft), the focal loss of one sample is

    FL(T, z) = -sum_k T_k u_k^gamma log q_k,

which is the cross-entropy for gamma = 0. Write beta(q) for d(-u^gamma log q)/dq
times q, i.e. for b_k = T_k q_k d(-u_k^gamma log q_k)/dq_k, and r_k = -log(q_k)/u_k
(in (0, 1/q_k], -> 1 as u_k -> 0):

    b_k = -T_k u_k^gamma (1 + gamma q_k r_k).

Since dq_k/dz_j = q_k (delta_kj - q_j), the gradient is

    g_j = b_j - q_j sum_k b_k.

With c_k = q_k db_k/dq_k = gamma T_k q_k u_k^(gamma-1) (log q_k + 2 +
(gamma - 1) q_k r_k), S = sum_k b_k and w = v - (q . v), the exact Hessian-vector
product is

    (H v)_j = (c_j - S q_j) w_j - q_j (c . w)
            = [sum_k c_k w_k (e_k - q) - S (q * w)]_j.

H is symmetric but, for gamma > 0, not positive semi-definite everywhere (focal loss
is not convex in the logits); Newton-CG's conjugate gradients stop at the first
direction of non-positive curvature (a truncated-Newton step, still a descent
direction), so the exact product is what it needs.

Numerical care: u_k^(gamma-1) is unbounded as u_k -> 0 when gamma < 1, while c_k w_k
stays O(u_k^gamma). The most probable class gets u and log q without cancellation
(u = s / (1 + s), log q = -log1p(s) with s the sum of the other exponentials), and
its w is computed as u v_j - sum_{l != j} q_l v_l, so the product is accurate; where u
underflows to 0, c is set to its limit contribution, 0.

The binary (sigmoid) form is the K = 2 case with logits (0, z): p = sigmoid(z),
FL = -t (1 - p)^gamma log p - (1 - t) p^gamma log(1 - p), gradient g_1 and Hessian
H_11 of the two-class formulas, computed from ``expit`` and ``log_expit`` on +-z.

References
----------
Lin, Goyal, Girshick, He and Dollar, "Focal Loss for Dense Object Detection",
ICCV 2017.
"""

import functools

import numpy as np

from ._loss import HardTargets, _weighted_sum, expit_xp, log_expit_xp
from ._xp import device_of, namespace


def _onehot_argmax(xp, raw):
    """Boolean (n, K) mask of each row's argmax (one True per row)."""
    K = raw.shape[1]
    top = xp.argmax(raw, axis=1)
    classes = np.arange(K) if xp is np else xp.arange(K, device=device_of(raw))
    return classes[None, :] == top[:, None]


def _softmax_parts(raw):
    """q, u = 1 - q, log q and the argmax mask, each without cancellation.

    Written once against the array API (masks instead of fancy indexing), so the
    same lines run on numpy, torch or CuPy.
    """
    xp, _ = namespace(raw)
    onehot = _onehot_argmax(xp, raw)
    shifted = raw - xp.max(raw, axis=1, keepdims=True)
    E = xp.where(onehot, xp.zeros_like(shifted), xp.exp(shifted))
    s = xp.sum(E, axis=1)  # sum of the other exponentials, relative to the max
    log_q = shifted - xp.log1p(s)[:, None]
    q = xp.exp(log_q)
    u = xp.where(onehot, (s / (1.0 + s))[:, None], 1.0 - q)
    return q, u, log_q, onehot


def _at(xp, a, onehot):
    """The entries of ``a`` at the mask's True positions, one per row."""
    return xp.sum(xp.where(onehot, a, xp.zeros_like(a)), axis=1)


def _ratio(u, log_q, onehot):
    """r = -log(q) / u, with its limit 1 where u -> 0 (only the argmax can be there)."""
    xp, _ = namespace(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = -log_q / u
    ut = _at(xp, u, onehot)
    # -log(1 - u) / u = 1 + u/2 + u^2/3 + ...: exact to O(u^3) where division is noisy
    series = (1.0 + ut * (0.5 + ut / 3.0))[:, None]
    return xp.where(onehot & (ut < 1e-4)[:, None], series, r)


def _power(u, a):
    """u ** a with 0 ** a read as 0 for a < 0 (where it multiplies an O(u) factor)."""
    xp, _ = namespace(u)
    if a == 0:
        return xp.ones_like(u)
    with np.errstate(divide="ignore", over="ignore"):
        out = u**a
    if a < 0:
        # u == 0, or u so small that u ** a overflows (float32): the factor it
        # multiplies is O(u), so the product's limit, 0, is used, as at u == 0
        out = xp.where((u == 0) | ~xp.isfinite(out), xp.zeros_like(out), out)
    return out


def _pieces(q, u, log_q, r, T, gamma, need_c):
    """b (gradient pieces) and optionally c (Hessian pieces), both T-weighted."""
    ug = _power(u, gamma)
    b = -T * ug * (1.0 + gamma * q * r)
    if not need_c:
        return b, None
    c = gamma * T * q * _power(u, gamma - 1.0) * (log_q + 2.0 + (gamma - 1.0) * q * r)
    return b, c


def _store(raw, G):
    """numpy: write G into raw (the engine's in-place contract); else return G."""
    if isinstance(raw, np.ndarray):
        raw[...] = G
        return raw
    return G


@functools.lru_cache(maxsize=64)
def _binary_curvature(gamma):
    """1.01 * max_z h(z) for t = 1 (t = 0 is its mirror image), on a grid of step
    1e-3 over [-40, 40]; h is smooth with a single hump, so the grid error is far
    below the padding."""
    if gamma == 0:
        return 0.25
    z = np.linspace(-40.0, 40.0, 80001)[:, None]
    loss = SigmoidFocalLoss(gamma)
    h = loss.hessian_setup(z, HardTargets(np.ones(z.shape[0], np.intp), 2),
                           np.ones(z.shape[0]))
    return 1.01 * float(h.max())


class SoftmaxFocalLoss:
    """Multiclass focal loss with the softmax link.

    FL(T_i, z_i) = -sum_k T_ik (1 - q_ik)^gamma log q_ik, q_i = softmax(z_i).
    gamma = 0 gives :class:`~skce._loss.SoftmaxCrossEntropy` (which is faster).

    Parameters
    ----------
    n_classes : int
    gamma : float >= 0
        The focusing parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from skce._focal import SoftmaxFocalLoss
    >>> from skce._loss import HardTargets
    >>> loss = SoftmaxFocalLoss(3, gamma=2.0)
    >>> raw = np.array([[2.0, 0.0, -1.0]])
    >>> value, grad = loss.loss_gradient(raw.copy(), HardTargets(np.array([0]), 3),
    ...                                  np.ones(1))
    >>> q = np.exp(raw[0]) / np.exp(raw[0]).sum()
    >>> bool(np.isclose(value, -(1 - q[0]) ** 2 * np.log(q[0])))
    True
    >>> round(value, 6)
    0.004144
    """

    def __init__(self, n_classes, gamma=2.0):
        self.n_classes = n_classes
        self.n_outputs = n_classes
        self.gamma = float(gamma)

    def curvature_bound(self):
        """An upper bound on the largest eigenvalue of the Hessian w.r.t. the logits.

        Twice :meth:`SigmoidFocalLoss.curvature_bound`, as for the cross-entropy
        (1/2 vs 1/4): the worst case puts the probability on two classes. H is
        linear in T, so one-hot targets give the extremes; that the multiclass
        supremum equals the two-class one was checked by numerical maximization for
        K = 3, 4, 7 and gamma = 0.5, 2, 5 (agreement to 1e-8), not proven. Used for
        the stochastic solvers' "auto" learning rate.
        """
        return 2.0 * _binary_curvature(self.gamma)

    def loss_gradient(self, raw, targets, sample_weight):
        """Return ``(sum_i s_i FL_i, G)``; G (numpy: in ``raw``), shape (n, K)."""
        xp, _ = namespace(raw)
        T = targets.dense(raw.dtype)
        q, u, log_q, onehot = _softmax_parts(raw)
        r = _ratio(u, log_q, onehot)
        loss = _weighted_sum(sample_weight,
                             -xp.sum(T * _power(u, self.gamma) * log_q, axis=1))
        b, _ = _pieces(q, u, log_q, r, T, self.gamma, False)
        G = (b - q * xp.sum(b, axis=1, keepdims=True)) * sample_weight[:, None]
        return loss, _store(raw, G)

    def loss(self, raw, targets, sample_weight):
        """Return ``sum_i s_i FL_i``."""
        xp, _ = namespace(raw)
        T = targets.dense(raw.dtype)
        _, u, log_q, _ = _softmax_parts(raw)
        return _weighted_sum(sample_weight,
                             -xp.sum(T * _power(u, self.gamma) * log_q, axis=1))

    def hessian_setup(self, raw, targets, sample_weight):
        """q, the masked q (argmax zeroed), u at the argmax, c, S and the weights."""
        xp, _ = namespace(raw)
        T = targets.dense(raw.dtype)
        q, u, log_q, onehot = _softmax_parts(raw)
        r = _ratio(u, log_q, onehot)
        b, c = _pieces(q, u, log_q, r, T, self.gamma, True)
        q_other = xp.where(onehot, xp.zeros_like(q), q)
        return (q, q_other, _at(xp, u, onehot), onehot, c, xp.sum(b, axis=1),
                sample_weight)

    def hessian_product(self, state, d_raw):
        """The exact (H d_raw)_i times s_i."""
        q, q_other, u_top, onehot, c, S, sample_weight = state
        xp, _ = namespace(d_raw)
        qv = xp.sum(q * d_raw, axis=1)
        v_top = _at(xp, d_raw, onehot)
        # w_top = sum_{l != top} q_l (v_top - v_l), free of cancellation
        w_top = u_top * v_top - xp.sum(q_other * d_raw, axis=1)
        w = xp.where(onehot, w_top[:, None], d_raw - qv[:, None])
        cw = xp.sum(c * w, axis=1)
        out = (c - S[:, None] * q) * w - q * cw[:, None]
        return out * sample_weight[:, None]


class SigmoidFocalLoss:
    """Binary focal loss on a single logit (the K = 2 case, as LogisticRegression).

    FL_i = -t_i (1 - p_i)^gamma log p_i - (1 - t_i) p_i^gamma log(1 - p_i), with
    p_i = sigmoid(z_i) and t_i = T_i1 (hard, smoothed or soft). gamma = 0 gives
    :class:`~skce._loss.SigmoidCrossEntropy`.

    Parameters
    ----------
    gamma : float >= 0
        The focusing parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from skce._focal import SigmoidFocalLoss
    >>> from skce._loss import HardTargets
    >>> loss = SigmoidFocalLoss(gamma=2.0)
    >>> raw = np.array([[2.0], [-1.0]])
    >>> value, grad = loss.loss_gradient(raw.copy(), HardTargets(np.array([1, 1]), 2),
    ...                                  np.ones(2))
    >>> p = 1 / (1 + np.exp(-raw[:, 0]))
    >>> bool(np.isclose(value, -((1 - p) ** 2 * np.log(p)).sum()))
    True
    >>> round(value, 6)
    0.703672
    """

    n_classes = 2
    n_outputs = 1

    def __init__(self, gamma=2.0):
        self.gamma = float(gamma)

    def curvature_bound(self):
        """An upper bound on the second derivative w.r.t. the logit.

        sup_z d^2 FL / dz^2 for t in {0, 1} (the second derivative is linear in t),
        found on a fine grid and padded by 1%: 0.25 at gamma = 0, 0.325 at 0.5,
        0.496 at 2. Used for the stochastic solvers' "auto" learning rate.
        """
        return _binary_curvature(self.gamma)

    def _parts(self, raw, targets):
        xp, _ = namespace(raw)
        z = raw[:, 0]
        t = targets.positive(raw.dtype)
        # columns: class 0 (logit 0), class 1 (logit z)
        q = xp.stack([expit_xp(xp, -z), expit_xp(xp, z)], axis=1)
        log_q = xp.stack([log_expit_xp(xp, -z), log_expit_xp(xp, z)], axis=1)
        u = xp.stack([q[:, 1], q[:, 0]], axis=1)
        T = xp.stack([1.0 - t, t], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = -log_q / u
        r = xp.where(u < 1e-4, 1.0 + u * (0.5 + u / 3.0), r)
        return T, q, u, log_q, r

    def loss_gradient(self, raw, targets, sample_weight):
        """Return ``(sum_i s_i FL_i, G)``; G (numpy: in ``raw``), shape (n, 1)."""
        xp, _ = namespace(raw)
        T, q, u, log_q, r = self._parts(raw, targets)
        loss = _weighted_sum(sample_weight,
                             -xp.sum(T * _power(u, self.gamma) * log_q, axis=1))
        b, _ = _pieces(q, u, log_q, r, T, self.gamma, False)
        # g_1 = b_1 - p (b_0 + b_1) = (1 - p) b_1 - p b_0
        G = ((q[:, 0] * b[:, 1] - q[:, 1] * b[:, 0]) * sample_weight)[:, None]
        return loss, _store(raw, G)

    def loss(self, raw, targets, sample_weight):
        """Return ``sum_i s_i FL_i``."""
        xp, _ = namespace(raw)
        T, _, u, log_q, _ = self._parts(raw, targets)
        return _weighted_sum(sample_weight,
                             -xp.sum(T * _power(u, self.gamma) * log_q, axis=1))

    def hessian_setup(self, raw, targets, sample_weight):
        """The second derivative s_i d^2 FL_i / dz_i^2, shape (n, 1)."""
        xp, _ = namespace(raw)
        T, q, u, log_q, r = self._parts(raw, targets)
        g = self.gamma
        b, _ = _pieces(q, u, log_q, r, T, g, False)
        # H_11 = c_1 u_1^2 + c_0 u_0^2 - S p (1 - p), with c_k u_k^2 =
        # gamma T_k q_k u_k^(gamma+1) (log q_k + 2 + (gamma - 1) q_k r_k): bounded
        d = g * T * q * _power(u, g + 1.0) * (log_q + 2.0 + (g - 1.0) * q * r)
        h = xp.sum(d, axis=1) - xp.sum(b, axis=1) * q[:, 0] * q[:, 1]
        return (h * sample_weight)[:, None]

    def hessian_product(self, state, d_raw):
        """(H d)_i = h_i d_i; ``d_raw`` is overwritten (numpy)."""
        if isinstance(d_raw, np.ndarray):
            d_raw *= state
            return d_raw
        return d_raw * state
