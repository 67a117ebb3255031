"""The dask back end: the objective as per-chunk partial sums reduced on a cluster.

The full-batch solvers only ever call the objective (``value_grad``, ``smooth_value``,
``hessp``, ...), so scaling out is a matter of swapping the objective:
:class:`DaskObjective` keeps X, the targets and the per-sample weights on the
workers (persisted once) and evaluates the penalized loss as a sum over row
chunks. Each chunk builds the ordinary in-memory :class:`~skce._objective.Objective`
on its block (the one loss engine: cross-entropy or focal, hard, smoothed or soft
targets) and returns *unnormalized* sums; a tree of small reductions runs on the
cluster, and only coefficient-sized vectors (the parameters in, one gradient out)
cross the network.

    f(params) = (1 / S) sum_c F_c(params) + penalty,   S = sum_i s_i,

with F_c the weighted loss summed over chunk c. Gradients and Hessian-vector
products add up the same way. The Hessian's per-chunk state (the softmax at the
current point) is persisted on the worker that holds the chunk.

The stochastic solvers cannot sample rows across the whole array without moving
it, so they stream: one epoch is one pass over the chunks in a random order (drawn
from ``random_state``), each chunk fetched once and swept in shuffled mini-batches by
the shared training loop, :func:`skce._training.run_epochs`.

Nothing here is imported unless X is a dask array; dask is an optional dependency
(``pip install skce[dask]``).
"""

import copy

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from .. import _validation as V
from .._loss import make_targets
from .._objective import Objective, Penalty
from .._training import averaged, run_epochs
from .._xp import is_dask_collection
from ._memory import Data, NumpyBackend, margins_positive

# --------------------------------------------------------------- per-chunk tasks
# Module-level functions, so workers unpickle them by reference.

def _block_objective(X, target, sample_weight, spec, weight_sum=1.0):
    loss, n_classes, smoothing, fit_intercept, offset = spec
    objective = Objective(X, make_targets(target, n_classes, smoothing),
                          sample_weight, loss, alpha=0.0, fit_intercept=fit_intercept,
                          offset=offset)
    # weight_sum = 1 makes the block return raw sums; the driver divides by the
    # global S. The stochastic path uses n_c * S / n instead (see _stream_epochs).
    objective.weight_sum = weight_sum
    return objective


def _block_value_grad(X, codes, sample_weight, spec, params):
    value, grad = _block_objective(X, codes, sample_weight, spec).value_grad(params)
    return value, grad.astype(np.float64)


def _block_value(X, codes, sample_weight, spec, params):
    return _block_objective(X, codes, sample_weight, spec).smooth_value(params)


def _block_hessian(X, codes, sample_weight, spec, params):
    """The chunk's ``v -> H_c v`` (holding the chunk's softmax); stays on a worker."""
    if X.shape[0] == 0:
        return None
    return _block_objective(X, codes, sample_weight, spec).hessp(params)


def _block_hessian_product(product, v):
    if product is None:
        return np.zeros(v.shape)
    return product(v).astype(np.float64)


def _block_lipschitz(X, target, sample_weight, spec):
    """(sum_c s_i c||x~_i||^2, max_c c||x~_i||^2): the data parts of the two bounds."""
    if X.shape[0] == 0:
        return 0.0, 0.0
    objective = _block_objective(X, target, sample_weight, spec)
    return objective.lipschitz_bound(), objective.lipschitz_bound(per_sample=True)


def _block_gram_product(X, target, sample_weight, spec, v):
    """X~_c^T S_c X~_c v for one chunk (unnormalized), float64."""
    if X.shape[0] == 0:
        return np.zeros(v.shape)
    return _block_objective(X, target, sample_weight, spec).gram_product(v)


def _encode(labels, classes):
    return np.searchsorted(classes, labels).astype(np.intp)


def _per_sample_weight(sample_weight, codes, class_weight):
    """s_i = sample_weight_i * w_{y_i}."""
    return sample_weight * class_weight[codes]


def _block_counts(target, sample_weight, n_classes):
    return make_targets(target, n_classes).counts(sample_weight)


def _block_soft_stats(T):
    """(all finite and >= 0, number of rows not summing to 1, first such row's
    local index and sum) for one chunk of soft targets."""
    T = np.asarray(T, dtype=np.float64)
    ok = bool(np.all(np.isfinite(T)) and not np.any(T < 0))
    if not ok:
        return False, 0, -1, 0.0
    sums = T.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    return True, bad.size, int(bad[0]) if bad.size else -1, \
        float(sums[bad[0]]) if bad.size else 0.0


def _add(*parts):
    """Sum scalars, arrays or tuples of them elementwise."""
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_add(*column) for column in zip(*parts, strict=True))
    total = first
    for part in parts[1:]:
        total = total + part
    return total


def _tree_sum(parts, split_every):
    from dask import delayed

    while len(parts) > 1:
        parts = [delayed(_add, pure=False)(*parts[i:i + split_every])
                 for i in range(0, len(parts), split_every)]
    return parts[0]


class DaskObjective(Penalty):
    """The penalized loss of :class:`~skce._objective.Objective`, on dask.

    Same interface as ``Objective`` for the full-batch solvers (``value_grad``,
    ``smooth_value``, ``value``, ``hessp``, ``prox``, ``l1_penalty``,
    ``lipschitz_bound``, ``smoothness``, ``as_params``), computed as per-chunk
    partial sums reduced on the cluster. X, the targets and the weights are
    persisted once, at construction; each evaluation sends the parameters to the
    workers and gets one reduced value and gradient back.

    Parameters
    ----------
    X : dask array of shape (n_samples, n_features)
        Chunked by rows only (one chunk along the columns).
    target : dask array of shape (n_samples,) or (n_samples, n_classes)
        Integer class codes in ``[0, n_classes)``, or soft target rows; chunked
        like X's rows.
    sample_weight : dask array of shape (n_samples,)
        Per-sample weights s_i (class weights folded in), chunked like X's rows.
    loss : a loss of :mod:`skce._loss` or :mod:`skce._focal`
    n_classes : int
    label_smoothing : float, default=0.0
    alpha, l1_ratio : float, default=0.0
    fit_intercept : bool, default=True
    offset : ndarray of shape (n_outputs,) or None, default=None
    split_every : int, default=8
        Fan-in of the reduction tree.

    Attributes
    ----------
    shape : tuple
        ``(n_features + fit_intercept, n_outputs)``, the params layout of
        ``Objective``.
    n_chunks : int
        Number of (non-empty) row chunks.

    Examples
    --------
    >>> import pytest
    >>> dask = pytest.importorskip("dask")  # the optional extra: skce[dask]
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skce._loss import SoftmaxCrossEntropy
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(rng.normal(size=(60, 3)), chunks=(20, 3))
    >>> codes = da.from_array(rng.integers(0, 3, size=60), chunks=20)
    >>> sw = da.ones(60, chunks=20)
    >>> with dask.config.set(scheduler="sync"):
    ...     obj = DaskObjective(X, codes, sw, SoftmaxCrossEntropy(3), n_classes=3)
    ...     value, grad = obj.value_grad(np.zeros(obj.shape))
    >>> print(f"{value:.6f} = log(3) = {np.log(3):.6f}; grad shape {grad.shape}")
    1.098612 = log(3) = 1.098612; grad shape (4, 3)
    """

    def __init__(self, X, target, sample_weight, loss, *, n_classes,
                 label_smoothing=0.0, alpha=0.0, l1_ratio=0.0, fit_intercept=True,
                 offset=None, split_every=8):
        import dask

        if len(X.chunks[1]) != 1:
            raise ValueError(_column_chunk_message(X))
        target = target.rechunk((X.chunks[0],) + ((-1,) if target.ndim == 2 else ()))
        sample_weight = sample_weight.rechunk((X.chunks[0],))
        # Persisted once: every evaluation reuses the blocks held by the workers.
        self.X, self.target, self.sample_weight = dask.persist(X, target,
                                                               sample_weight)
        self.loss = loss
        self.n_classes = n_classes
        self.label_smoothing = label_smoothing
        self._set_penalty(alpha, l1_ratio, fit_intercept)
        self.offset = offset
        self.split_every = split_every
        self.dtype = X.dtype
        self.n_samples, self.n_features = X.shape
        self.shape = (self.n_features + int(fit_intercept), loss.n_outputs)
        sizes = X.chunks[0]
        blocks = zip(self.X.to_delayed().ravel(), self.target.to_delayed().ravel(),
                     self.sample_weight.to_delayed().ravel(), strict=True)
        self._blocks = [b for b, size in zip(blocks, sizes, strict=True) if size > 0]
        self.n_chunks = len(self._blocks)
        self._spec = dask.delayed(
            (loss, n_classes, float(label_smoothing), fit_intercept, offset),
            pure=True)
        self.weight_sum = float(self.sample_weight.sum(dtype=np.float64).compute())
        self._lipschitz = None
        self._smoothness = None

    # ------------------------------------------------------------------ helpers
    def _map_reduce(self, func, *args):
        """``sum_c func(X_c, target_c, s_c, spec, *args)`` computed on the cluster."""
        import dask

        args = [dask.delayed(a, pure=False) for a in args]
        parts = [dask.delayed(func, pure=False)(x, c, s, self._spec, *args)
                 for x, c, s in self._blocks]
        return dask.compute(_tree_sum(parts, self.split_every))[0]

    # ------------------------------------------------------------------ API
    def value_grad(self, params, rows=None):
        """Smooth part of the objective and its gradient (full batch only).

        Parameters
        ----------
        params : ndarray of shape ``self.shape``
        rows : None
            Mini-batches are not offered: stochastic solvers stream the chunks.

        Returns
        -------
        value : float
        grad : ndarray of shape ``self.shape``, X's dtype
        """
        if rows is not None:
            raise ValueError(
                "DaskObjective evaluates full batches only (rows=None); stochastic "
                "solvers stream the chunks instead.")
        params = self.as_params(params)
        value, grad = self._map_reduce(_block_value_grad, params)
        d = self.n_features
        grad = (grad / self.weight_sum).astype(self.dtype)
        W = params[:d]
        if self.l2:
            grad[:d] += self.l2 * W
        return float(value / self.weight_sum) + self._penalty(W), grad

    def smooth_value(self, params):
        """Smooth part of the objective only (one product with each chunk)."""
        params = self.as_params(params)
        value = self._map_reduce(_block_value, params)
        return float(value / self.weight_sum) + self._penalty(params[: self.n_features])

    def value(self, params):
        """The full objective, L1 included."""
        return self.smooth_value(params) + self.l1_penalty(self.as_params(params))

    def hessp(self, params):
        """Return ``v -> H v`` for the smooth part at ``params``.

        The per-chunk Hessian state (the softmax or the sigmoid's p (1 - p)) is
        computed once and persisted on the workers; each product is then one
        X_c @ V and one X_c.T @ (H_c dV) per chunk, and one reduction.
        """
        import dask

        params = self.as_params(params)
        p = dask.delayed(params, pure=False)
        states = dask.persist(*[
            dask.delayed(_block_hessian, pure=False)(x, c, s, self._spec, p)
            for x, c, s in self._blocks])

        def product(v):
            v = self.as_params(v)
            v_delayed = dask.delayed(v, pure=False)
            parts = [dask.delayed(_block_hessian_product, pure=False)(st, v_delayed)
                     for st in states]
            out = dask.compute(_tree_sum(parts, self.split_every))[0]
            out = (out / self.weight_sum).astype(self.dtype)
            if self.l2:
                out[: self.n_features] += self.l2 * v[: self.n_features]
            return out

        return product

    def gram_product(self, v):
        """(X~^T S X~ v) / sum(s), one map-reduce on the cluster."""
        return self._map_reduce(_block_gram_product, v) / self.weight_sum

    def lipschitz_bound(self, per_sample=False):
        """The bounds of ``Objective.lipschitz_bound``, from one pass on the cluster."""
        if self._lipschitz is None:
            import dask

            parts = [dask.delayed(_block_lipschitz, pure=False)(x, c, s, self._spec)
                     for x, c, s in self._blocks]
            self._lipschitz = dask.compute(*parts)
        if per_sample:
            return max(m for _, m in self._lipschitz) + self.l2
        return sum(t for t, _ in self._lipschitz) / self.weight_sum + self.l2


# -------------------------------------------------------------- validation
def _column_chunk_message(X):
    return (
        f"X is chunked along its columns ({len(X.chunks[1])} column chunks of "
        f"sizes {X.chunks[1]}); skce needs dask arrays chunked by rows only. Use "
        f"X.rechunk({{1: -1}}).")


def _check_dask_X(X):
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(
            f"Dask input must be a dask array; got {type(X).__name__}. For a dask "
            f"DataFrame use X.to_dask_array(lengths=True).")
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D dask array for X; got {X.ndim} dimension(s) with shape "
            f"{X.shape}.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "X has unknown chunk sizes (NaN); call X.compute_chunk_sizes() first.")
    if len(X.chunks[1]) != 1:
        raise ValueError(_column_chunk_message(X))
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
            f"while a minimum of 1 is required.")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric; got a dask array of dtype {X.dtype}.")
    if X.dtype != np.float32:
        X = X.astype(np.float64)
    return X


def _as_row_chunked(v, X, name):
    """A dask array aligned with X's row chunks (numpy input is scattered); 2-D
    only for y (soft targets)."""
    import dask.array as da

    if not is_dask_collection(v):
        v = np.asarray(v)
    elif not isinstance(v, da.Array):
        v = v.to_dask_array(lengths=True)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim == 2 and name != "y":
        raise ValueError(f"{name} must be 1-D; got shape {v.shape}.")
    if v.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D; got shape {v.shape}.")
    if isinstance(v, da.Array) and any(np.isnan(c) for c in v.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN); call compute_chunk_sizes() first.")
    if v.shape[0] != X.shape[0]:
        raise V.inconsistent_samples(X.shape[0], v.shape[0], name)
    chunks = (X.chunks[0],) + ((v.shape[1],) if v.ndim == 2 else ())
    if isinstance(v, da.Array):
        return v.rechunk(chunks)
    return da.from_array(v, chunks=chunks)


def _dask_sample_weight(sample_weight, X):
    import dask.array as da

    if sample_weight is None:
        return da.ones(X.shape[0], chunks=(X.chunks[0],), dtype=X.dtype)
    if np.ndim(sample_weight) == 0 and not is_dask_collection(sample_weight):
        return da.full(X.shape[0], float(sample_weight), chunks=(X.chunks[0],),
                       dtype=np.float64)
    sw = _as_row_chunked(sample_weight, X, "sample_weight")
    V.check_sample_weight_stats(numeric=sw.dtype.kind in "fiub", dtype=sw.dtype,
                                finite=True, minimum=0, total=1)
    return sw.astype(np.float64)


# ----------------------------------------------------------------- back end
class DaskBackend:
    """Row-chunked dask arrays: validated lazily, fitted on the cluster."""

    name = "dask"

    def validate(self, estimator, X, y, sample_weight, *, classes, reset):
        """One pass over the persisted blocks for every check that needs the data."""
        import dask
        import dask.array as da

        name = type(estimator).__name__
        X = _check_dask_X(X)
        if y is None:
            raise V.missing_y(name)
        y = _as_row_chunked(y, X, "y")
        sw = _dask_sample_weight(sample_weight, X)
        X, y, sw = dask.persist(X, y, sw)
        n, d = X.shape
        if not reset and d != estimator.n_features_in_:
            raise ValueError(
                f"X has {d} features, but {name} is expecting "
                f"{estimator.n_features_in_} features as input.")
        soft = y.ndim == 2
        if soft:
            V.check_soft_stats(numeric=y.dtype.kind in "fiub",
                               finite_nonnegative=True, n_bad_rows=0, dtype=y.dtype)
            y = y.astype(X.dtype)
        checks = [da.isfinite(X).all(), da.isfinite(sw).all(), sw.min(), sw.sum()]
        if soft:
            checks.append([dask.delayed(_block_soft_stats)(b)
                           for b in y.to_delayed().ravel()])
        else:
            checks.append(da.unique(y))
        finite, sw_finite, sw_min, sw_sum, labels = dask.compute(*checks)
        if not finite:
            raise ValueError("Input X contains NaN or infinity.")
        V.check_sample_weight_stats(finite=bool(sw_finite), minimum=float(sw_min),
                                    total=float(sw_sum))
        if soft:
            _check_soft_blocks(labels, y.chunks[0])
            V.check_soft_width(y.shape[1], classes)
            classes, target = np.arange(y.shape[1]), y
        else:
            check_classification_targets(labels)
            if classes is None:
                classes = labels
            unseen = np.setdiff1d(labels, classes)
            if unseen.size:
                raise V.unseen_labels(unseen.tolist(), classes.tolist())
            target = y.map_blocks(_encode, classes=classes, dtype=np.intp)
        if reset:
            estimator.n_features_in_ = d
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return Data(X, "soft" if soft else "hard", np.asarray(classes), target,
                    sw.astype(X.dtype), X.dtype)

    @staticmethod
    def epochs(*args, **kwargs):
        return stream_epochs(*args, **kwargs)

    def counts(self, data, weights):
        import dask

        K = data.n_classes
        parts = [dask.delayed(_block_counts, pure=False)(c, s, K) for c, s in
                 zip(data.target.to_delayed().ravel(), weights.to_delayed().ravel(),
                     strict=True)]
        return _reduce_blocks(parts)

    def sample_weights(self, data, class_weight):
        import dask.array as da

        cw = np.asarray(class_weight, dtype=np.float64)
        if data.kind == "soft":
            return (data.sample_weight * (data.target @ cw)).astype(data.dtype)
        return da.map_blocks(_per_sample_weight, data.sample_weight, data.target,
                             class_weight=cw, dtype=np.float64).astype(data.dtype)

    def objective(self, X, target, sample_weight, loss, *, n_classes, smoothing,
                  rows=None, **penalty):
        """The objective over all rows, or over ``rows`` (taken on the cluster)."""
        if rows is not None:
            X, target, sample_weight = (self.take(a, rows)
                                        for a in (X, target, sample_weight))
        return DaskObjective(X, target, sample_weight, loss, n_classes=n_classes,
                             label_smoothing=smoothing, **penalty)

    def labels(self, data):
        """Each sample's class code on the client (n integers; X stays put)."""
        target = data.target if data.kind == "hard" else data.target.argmax(axis=1)
        return np.asarray(target.compute())

    def take(self, a, rows):
        """Rows ``rows`` (a sorted host index array) of ``a``, kept on the cluster."""
        return a[rows]

    def total(self, a):
        return float(a.sum(dtype=np.float64).compute())

    def separated(self, data, s, coef, intercept):
        """``margins_positive`` of every chunk, computed on the cluster."""
        import dask

        parts = [dask.delayed(margins_positive, pure=False)(x, c, w, coef, intercept)
                 for x, c, w in zip(data.X.to_delayed().ravel(),
                                    data.target.to_delayed().ravel(),
                                    s.to_delayed().ravel(), strict=True)]
        return all(dask.compute(*parts))

    def place(self, data, a):
        return a

    def check_predict_X(self, estimator, X, method):
        # predict computes a dask X into memory (docs show the map_blocks pattern)
        return NumpyBackend().check_predict_X(estimator, X, method)


def _check_soft_blocks(stats, sizes):
    offset, n_bad, first, first_sum = 0, 0, None, None
    for (ok, bad, local, total), size in zip(stats, sizes, strict=True):
        V.check_soft_stats(numeric=True, finite_nonnegative=ok, n_bad_rows=0)
        if bad and first is None:
            first, first_sum = offset + local, total
        n_bad += bad
        offset += size
    V.check_soft_stats(numeric=True, finite_nonnegative=True, n_bad_rows=n_bad,
                       first_bad=first, first_sum=first_sum)


def _reduce_blocks(parts, split_every=8):
    import dask

    return dask.compute(_tree_sum(parts, split_every))[0]


class _ChunkMonitor:
    """Stands in for the Monitor inside one chunk: records the loss, never stops."""

    learning_rate = None
    loss = None

    def __call__(self, params, loss):
        self.loss = loss
        return False


def stream_epochs(objective, optimizer, params, loop, *, n_epochs, rng, monitor,
                  horizon=None):
    """Stochastic epochs over a :class:`DaskObjective`'s chunks, in place.

    One epoch fetches each chunk once, in an order shuffled by ``rng``, and runs
    :func:`~skce._training.run_epochs` over it (shuffled mini-batches). Each chunk's
    objective is normalized by ``n_c * S / n`` instead of its own weight sum, so
    the expected step over an epoch is a step on the global objective. Schedules see
    one epoch per pass over all the chunks, not one per chunk.

    Returns
    -------
    n_done : int
        Epochs run.
    """
    import dask

    n, S = objective.n_samples, objective.weight_sum
    loss_fn, K, smoothing = objective.loss, objective.n_classes, \
        objective.label_smoothing
    schedule_end = getattr(optimizer.learning_rate, "end_epoch", None)
    end = loop.epoch + horizon if horizon else None  # run_epochs counts from here
    n_done = 0
    for _ in range(n_epochs):
        epoch, schedule_state = loop.epoch, loop.schedule_state
        total = 0.0
        for j in rng.permutation(objective.n_chunks):
            Xc, target, sw = dask.compute(*objective._blocks[j])
            chunk = Objective(Xc, make_targets(target, K, smoothing), sw, loss_fn,
                              alpha=objective.alpha, l1_ratio=objective.l1_ratio,
                              fit_intercept=objective.fit_intercept,
                              offset=objective.offset)
            chunk.weight_sum = Xc.shape[0] * S / n
            inner = _ChunkMonitor()
            loop.schedule_state = copy.deepcopy(schedule_state)
            run_epochs(chunk, optimizer, params, loop, n_epochs=1, rng=rng,
                       monitor=inner, horizon=end and end - epoch)
            loop.epoch = epoch  # one chunk is not an epoch
            total += inner.loss * Xc.shape[0]
        loss = total / n
        loop.epoch = epoch + 1
        loop.schedule_state = schedule_state
        if schedule_end is not None:
            schedule_end(loop.schedule_state, loss)
        n_done += 1
        monitor.learning_rate = inner.learning_rate
        # as run_epochs: early stopping, its best coefficients and the "still
        # moving" test see the averaged iterate when the solver averages
        if monitor(averaged(loop, params, objective), loss):
            break
    return n_done
