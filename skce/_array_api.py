"""Fitting and predicting on array API inputs (PyTorch, CuPy, array-api-strict).

With ``sklearn.set_config(array_api_dispatch=True)``, a non-numpy array that follows
the array API standard stays in its library and on its device. The seam is again the
objective: :class:`ArrayAPIObjective` offers the interface of
:class:`~skce._objective.Objective` to the full-batch solvers, with X, the one-hot
targets and the per-sample weights held on the device and the cross-entropy, its
gradient and Hessian-vector products computed there with the input's namespace. The
solvers keep running on the host on coefficient-sized numpy vectors: per evaluation,
the parameters go to the device and one value and gradient come back. The fitted
``coef_``, ``intercept_`` and ``classes_`` are arrays of the input's namespace, on its
device, in its dtype; ``predict`` and friends return arrays there too.

Only the full-batch solvers (``lbfgs``, ``newton-cg``, ``gd``) and the plain softmax
and sigmoid cross-entropy are offered on this path.
"""

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.multiclass import check_classification_targets

from ._loss import SigmoidCrossEntropy, SoftmaxCrossEntropy
from ._objective import Penalty


def uses_array_api(X):
    """True when array API dispatch is on and X is a non-numpy array API array.

    Examples
    --------
    >>> import numpy as np
    >>> uses_array_api(np.ones((2, 2)))  # numpy always takes the numpy path
    False
    """
    if isinstance(X, np.ndarray) or sp.issparse(X) or \
            not get_config()["array_api_dispatch"]:
        return False
    from sklearn.externals.array_api_compat import is_array_api_obj, is_numpy_array

    return is_array_api_obj(X) and not is_numpy_array(X)


def _namespace(X):
    from sklearn.externals.array_api_compat import array_namespace, device

    return array_namespace(X), device(X)


def to_numpy(a):
    """Copy an array of any supported namespace to a numpy array on the host."""
    from sklearn.externals.array_api_compat import is_cupy_array, is_torch_array

    if is_torch_array(a):
        return a.detach().cpu().numpy()
    if is_cupy_array(a):
        return a.get()
    if isinstance(a, np.ndarray):
        return a
    return np.from_dlpack(a)


def _numpy_dtype(xp, dtype):
    return np.dtype(np.float32) if dtype == xp.float32 else np.dtype(np.float64)


class ArrayAPIObjective(Penalty):
    """``Objective``'s interface for the full-batch solvers, computed on a device.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), float32 or float64
        Any array API array (torch tensor, CuPy array, array-api-strict array).
    codes : integer array of shape (n_samples,)
        Class codes in ``[0, n_classes)``, same namespace and device as X.
    sample_weight : array of shape (n_samples,)
        Per-sample weights (class weights folded in), X's namespace and dtype.
    loss : SoftmaxCrossEntropy or SigmoidCrossEntropy
        Which link to use; the arithmetic is redone here with X's namespace.
    n_classes : int
    label_smoothing, alpha, l1_ratio : float, default=0.0
    fit_intercept : bool, default=True
    offset : ndarray of shape (n_outputs,) or None, default=None

    Examples
    --------
    >>> import pytest
    >>> xp = pytest.importorskip("array_api_strict")
    >>> import numpy as np
    >>> from skce._loss import SoftmaxCrossEntropy
    >>> X = xp.asarray(np.random.default_rng(0).normal(size=(30, 2)))
    >>> codes = xp.asarray(np.arange(30) % 3)
    >>> obj = ArrayAPIObjective(X, codes, xp.ones(30, dtype=xp.float64),
    ...                         SoftmaxCrossEntropy(3), n_classes=3)
    >>> value, grad = obj.value_grad(np.zeros(obj.shape))
    >>> print(f"{value:.6f} = log(3) = {np.log(3):.6f}; {type(grad).__name__}")
    1.098612 = log(3) = 1.098612; ndarray
    """

    def __init__(self, X, codes, sample_weight, loss, *, n_classes,
                 label_smoothing=0.0, alpha=0.0, l1_ratio=0.0, fit_intercept=True,
                 offset=None):
        if not isinstance(loss, (SoftmaxCrossEntropy, SigmoidCrossEntropy)):
            raise ValueError(
                f"Array API inputs support the softmax and sigmoid cross-entropy "
                f"only; got {type(loss).__name__} (e.g. a focal loss). Convert X to "
                f"numpy, or use focal_gamma=0.")
        xp, dev = _namespace(X)
        self.xp, self.device = xp, dev
        self.X = X
        self.loss = loss
        self.dtype = _numpy_dtype(xp, X.dtype)
        self.n_samples, self.n_features = X.shape
        self._set_penalty(alpha, l1_ratio, fit_intercept)
        self.shape = (self.n_features + int(fit_intercept), loss.n_outputs)
        T = xp.astype(codes[:, None] == xp.arange(n_classes, device=dev)[None, :],
                      X.dtype)
        if label_smoothing:
            T = (1.0 - label_smoothing) * T + label_smoothing / n_classes
        # binary: one logit, its target is the probability of class 1
        self.T = T[:, 1] if loss.n_outputs == 1 else T
        self.s = sample_weight
        self.weight_sum = float(xp.sum(xp.astype(sample_weight, xp.float64)))
        self.offset = None if offset is None else self._device(offset)
        self._lipschitz = None

    # ------------------------------------------------------------------ helpers
    def _device(self, a):
        return self.xp.asarray(np.ascontiguousarray(a, dtype=self.dtype),
                               device=self.device)

    def _logits(self, P):
        d = self.n_features
        raw = self.X @ P[:d, :]
        if self.fit_intercept:
            raw = raw + P[d, :]
        if self.offset is not None:
            raw = raw + self.offset
        return raw

    def _total(self, values):
        """sum_i values_i accumulated in float64, as a Python float."""
        xp = self.xp
        return float(xp.sum(xp.astype(values, xp.float64)))

    def _loss_and_link(self, raw):
        """(sum_i s_i CE_i, the link's output: probabilities or sigmoid)."""
        xp = self.xp
        if self.loss.n_outputs == 1:
            z = raw[:, 0]
            ce = xp.logaddexp(xp.zeros_like(z), z) - self.T * z  # softplus(z) - t z
            return self._total(self.s * ce), 1.0 / (1.0 + xp.exp(-z))
        m = xp.max(raw, axis=1, keepdims=True)
        e = xp.exp(raw - m)
        se = xp.sum(e, axis=1, keepdims=True)
        ce = xp.log(se[:, 0]) + m[:, 0] - xp.sum(self.T * raw, axis=1)
        return self._total(self.s * ce), e / se

    def _back(self, G):
        """[X.T @ G; sum(G)] on the host, float64."""
        xp = self.xp
        parts = [self.X.T @ G]
        if self.fit_intercept:
            parts.append(xp.sum(G, axis=0)[None, :])
        out = xp.concat(parts, axis=0) if len(parts) > 1 else parts[0]
        return to_numpy(out).astype(np.float64)

    # ------------------------------------------------------------------ API
    def value_grad(self, params, rows=None):
        """Smooth part of the objective and its gradient (numpy, on the host)."""
        if rows is not None:
            raise ValueError("ArrayAPIObjective evaluates full batches only.")
        params = self.as_params(params)
        raw = self._logits(self._device(params))
        loss, link = self._loss_and_link(raw)
        if self.loss.n_outputs == 1:
            G = (self.s * (link - self.T))[:, None]
        else:
            G = self.s[:, None] * (link - self.T)
        grad = self._back(G) / self.weight_sum
        W = params[: self.n_features]
        if self.l2:
            grad[: self.n_features] += self.l2 * W
        return loss / self.weight_sum + self._penalty(W), grad.astype(self.dtype)

    def smooth_value(self, params):
        """Smooth part of the objective only."""
        params = self.as_params(params)
        loss, _ = self._loss_and_link(self._logits(self._device(params)))
        return loss / self.weight_sum + self._penalty(params[: self.n_features])

    def value(self, params):
        """The full objective, L1 included."""
        return self.smooth_value(params) + self.l1_penalty(self.as_params(params))

    def hessp(self, params):
        """Return ``v -> H v`` for the smooth part at ``params``."""
        xp = self.xp
        params = self.as_params(params)
        _, link = self._loss_and_link(self._logits(self._device(params)))
        if self.loss.n_outputs == 1:
            h = (self.s * link * (1.0 - link))[:, None]
        d = self.n_features

        def product(v):
            v = self.as_params(v)
            V = self._device(v)
            dR = self.X @ V[:d, :]
            if self.fit_intercept:
                dR = dR + V[d, :]
            if self.loss.n_outputs == 1:
                H = h * dR
            else:  # s_i (diag(q_i) - q_i q_i^T) dR_i
                H = self.s[:, None] * link * (
                    dR - xp.sum(link * dR, axis=1, keepdims=True))
            out = self._back(H) / self.weight_sum
            if self.l2:
                out[:d] += self.l2 * v[:d]
            return out.astype(self.dtype)

        return product

    def lipschitz_bound(self, per_sample=False):
        """The bounds of ``Objective.lipschitz_bound``, computed on the device."""
        xp = self.xp
        if self._lipschitz is None:
            sq = xp.sum(xp.astype(self.X, xp.float64) ** 2, axis=1) + float(
                self.fit_intercept)
            s = xp.astype(self.s, xp.float64)
            self._lipschitz = (float(xp.sum(s * sq)), float(xp.max(sq)))
        c = 0.5 if self.loss.n_outputs > 1 else 0.25
        if per_sample:
            return c * self._lipschitz[1] + self.l2
        return c * self._lipschitz[0] / self.weight_sum + self.l2


# ------------------------------------------------------------------ fitting
def _check_X(X, xp):
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array for X; got {X.ndim} dimension(s) with shape "
            f"{tuple(X.shape)}.")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
            f"while a minimum of 1 is required.")
    if X.dtype not in (xp.float32, xp.float64):
        if not xp.isdtype(X.dtype, ("integral", "bool", "real floating")):
            raise ValueError(f"X must be real-valued; got dtype {X.dtype}.")
        X = xp.astype(X, xp.float64)
    if not bool(xp.all(xp.isfinite(X))):
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _as_namespace(a, xp, dev, name):
    """y or sample_weight as a 1-D array of X's namespace, on X's device."""
    from sklearn.externals.array_api_compat import array_namespace

    if uses_array_api(a):
        if array_namespace(a) is not xp:
            raise ValueError(
                f"{name} is a {type(a).__name__} but X is of namespace "
                f"{xp.__name__}; pass both from the same library.")
        return a
    a = np.asarray(a)
    if a.dtype.kind not in "iufb":
        raise ValueError(
            f"With array API dispatch, {name} must be numeric (got dtype {a.dtype}): "
            f"encode string labels first, e.g. with LabelEncoder.")
    return xp.asarray(a, device=dev)


def fit_array_api(estimator, X, y, sample_weight, *, solver, traits, partial,
                  classes):
    """``BaseCEClassifier._fit`` for array API inputs (full-batch solvers)."""
    from ._base import BaseCEClassifier

    name = type(estimator).__name__
    if type(estimator)._fit is not BaseCEClassifier._fit:
        raise ValueError(
            f"{name} does not support array API inputs yet; use SoftmaxRegressor or "
            f"convert X to numpy.")
    if traits["family"] != "full-batch" or partial:
        raise ValueError(
            f"Array API inputs (array_api_dispatch=True) support the full-batch "
            f"solvers 'lbfgs', 'newton-cg' and 'gd'; got solver={estimator.solver!r}."
            f" Convert X to numpy for the stochastic solvers.")
    if estimator.early_stopping:
        raise ValueError(
            "early_stopping=True is not supported with array API inputs.")
    xp, dev = _namespace(X)
    X = _check_X(X, xp)
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    y = _as_namespace(y, xp, dev, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"With array API inputs y must be 1-D class labels; got shape "
            f"{tuple(y.shape)} (soft targets need numpy inputs).")
    n_samples, n_features = X.shape
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {n_samples} and "
            f"{y.shape[0]}.")
    classes = xp.unique_values(y)
    classes_host = to_numpy(classes)
    check_classification_targets(classes_host)
    warm = estimator.warm_start and hasattr(estimator, "coef_")
    estimator._check_refit(warm=warm, continuing=False, n_features=n_features,
                           classes=classes_host)
    K = classes_host.shape[0]
    codes = xp.searchsorted(classes, y)
    dtype = X.dtype
    if sample_weight is None:
        sw = xp.ones(n_samples, dtype=dtype, device=dev)
    else:
        sw = _as_namespace(sample_weight, xp, dev, "sample_weight")
        if sw.ndim != 1 or sw.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight.shape == {tuple(sw.shape)}, expected ({n_samples},)!")
        sw = xp.astype(sw, dtype)
        if not bool(xp.all(xp.isfinite(sw))):
            raise ValueError("sample_weight contains NaN or infinity.")
        if bool(xp.any(sw < 0)):
            raise ValueError(
                "sample_weight must be non-negative; got negative values.")
    onehot = xp.astype(codes[:, None] == xp.arange(K, device=dev)[None, :],
                       xp.float64)
    mass = to_numpy(xp.sum(xp.astype(sw, xp.float64)[:, None] * onehot, axis=0))
    if not mass.sum() > 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a "
                         "positive weight.")
    class_weight = estimator._class_weights(classes_host, mass)
    s = sw * xp.take(xp.asarray(class_weight, dtype=dtype, device=dev), codes)
    loss = estimator._make_loss(K)
    offset = estimator._training_offset(mass, _numpy_dtype(xp, dtype))
    objective = ArrayAPIObjective(
        X, codes, s, loss, n_classes=K,
        label_smoothing=float(estimator.label_smoothing), alpha=estimator.alpha,
        l1_ratio=estimator.l1_ratio, fit_intercept=estimator.fit_intercept,
        offset=offset)
    if not objective.weight_sum > 0:
        raise ValueError("All samples have zero weight after applying class_weight; "
                         "give some class a positive weight.")

    solver, traits, max_iter, tol = estimator._plan(solver, traits, n_samples,
                                                    n_features)
    if warm:
        params = np.zeros(objective.shape, dtype=objective.dtype)
        params[:n_features] = to_numpy(estimator.coef_).T
        if objective.fit_intercept:
            params[n_features] = to_numpy(estimator.intercept_)
    else:
        params = estimator._initial_params(objective, mass * class_weight, offset)
    run = estimator._solve(objective, solver, traits, params, partial=False, warm=warm,
                           max_iter=max_iter, tol=tol)
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_

    def place():  # fitted attributes live where the data live, in X's dtype
        estimator.coef_ = xp.asarray(estimator.coef_, dtype=dtype, device=dev)
        estimator.intercept_ = xp.asarray(estimator.intercept_, dtype=dtype,
                                          device=dev)
        estimator.classes_ = classes

    return estimator._finish_fit(
        run, objective, place=place,
        separated=lambda: _separated(estimator, X, codes, s))


def _separated(estimator, X, codes, s):
    """``_base.margins_positive`` with the margins computed on X's device."""
    xp, dev = _namespace(X)
    coef = xp.asarray(estimator.coef_, dtype=X.dtype, device=dev)
    intercept = xp.asarray(estimator.intercept_, dtype=X.dtype, device=dev)
    keep = s > 0
    scores = X @ coef.T + intercept
    if scores.shape[1] == 1:
        margin = xp.where(codes == 1, scores[:, 0], -scores[:, 0])
    else:
        onehot = codes[:, None] == xp.arange(scores.shape[1], device=dev)
        true = xp.sum(xp.where(onehot, scores, xp.zeros_like(scores)), axis=1)
        other = xp.max(xp.where(onehot, xp.full_like(scores, -xp.inf), scores), axis=1)
        margin = true - other
    return bool(xp.any(keep)) and bool(xp.all(xp.where(keep, margin > 0, True)))


# --------------------------------------------------------------- prediction
def decision_function(estimator, X):
    """Logits on X's device: ``X @ coef_.T + intercept_``."""
    xp, _ = _namespace(X)
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has shape {tuple(X.shape)}, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input.")
    coef = estimator.coef_
    if uses_array_api(coef) is False or _namespace(coef)[0] is not xp:
        raise ValueError(
            f"{type(estimator).__name__} was fitted on arrays of another namespace "
            f"than {xp.__name__}; predict with the same kind of array as fit.")
    if X.dtype != coef.dtype:
        X = xp.astype(X, coef.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # numpy-backed namespaces
        scores = X @ coef.T + estimator.intercept_
    if not bool(xp.all(xp.isfinite(scores))):
        raise ValueError(
            f"The logits overflow: X @ coef_.T is not finite for X with entries up "
            f"to {float(xp.max(xp.abs(X))):.3g}. Rescale X (e.g. StandardScaler) "
            f"before predicting.")
    return scores[:, 0] if scores.shape[1] == 1 else scores


def predict(estimator, X):
    """Most probable class, as an array of ``classes_``' namespace."""
    xp, _ = _namespace(X)
    scores = decision_function(estimator, X)
    if scores.ndim == 1:
        index = xp.astype(scores > 0, xp.int64)
    else:
        index = xp.argmax(scores, axis=1)
    return xp.take(estimator.classes_, index)


def predict_log_proba(estimator, X):
    """Log class probabilities on X's device, computed stably."""
    xp, _ = _namespace(X)
    scores = decision_function(estimator, X)
    if scores.ndim == 1:  # log sigmoid(+-z) = -log(1 + exp(-+z))
        zero = xp.zeros_like(scores)
        return xp.stack([-xp.logaddexp(zero, scores), -xp.logaddexp(zero, -scores)],
                        axis=1)
    shifted = scores - xp.max(scores, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def predict_proba(estimator, X):
    """Class probabilities on X's device."""
    xp, _ = _namespace(X)
    return xp.exp(predict_log_proba(estimator, X))
