"""
Fitting on a Dask cluster
=========================

When the training data outgrow one machine's memory, keep them in a dask array
chunked by rows and pass it to ``fit`` as it is. The full-batch solvers (``lbfgs``,
``newton-cg``, ``gd``) then evaluate the loss, its gradient and Hessian-vector
products as per-chunk partial sums on the workers: the chunks are persisted once and
never leave them, only coefficient-sized vectors travel. The result is the in-memory
fit, to rounding. The stochastic solvers stream the chunks instead, one pass over all
of them per epoch.

This example starts a small local cluster, fits on data that live on its workers,
checks the result against the in-memory fit and measures what one iteration costs
each way. It needs the ``dask`` extra: ``pip install skce[dask]``.
"""

# %%
# A local cluster
# ---------------
# Two workers with one thread each. In the documentation build they are threads of
# this process (``processes=False``: a script run under sphinx-gallery cannot spawn
# worker processes); on a real cluster pass ``Client("scheduler-address:8786")``
# instead, nothing else changes.
import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

from skce import SoftmaxRegressor

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=":0")
client = Client(cluster)

# %%
# Data made on the workers
# ------------------------
# 200,000 samples, 20 features and 4 classes in 8 row chunks, drawn from a
# multinomial logistic model (Gumbel-max sampling) by the workers themselves: the
# client never holds X.
n_samples, n_features, n_classes, n_chunks = 200_000, 20, 4, 8
chunk = n_samples // n_chunks
rs = da.random.RandomState(0)
X = rs.standard_normal((n_samples, n_features), chunks=(chunk, n_features))
W_true = np.random.default_rng(0).normal(size=(n_features, n_classes))
noise = rs.gumbel(size=(n_samples, n_classes), chunks=(chunk, n_classes))
y = da.argmax(X @ W_true + noise, axis=1)
X, y = client.persist([X, y])
print(f"X: {X.nbytes / 2**20:.0f} MiB in {X.numblocks[0]} chunks of {chunk} rows")

# %%
# Fit on the cluster and in memory
# --------------------------------
# A callback records the time at the end of every L-BFGS iteration; one iteration is
# (almost always) one evaluation of the loss and its gradient.


def fit_timed(X, y):
    stamps = []
    model = SoftmaxRegressor(alpha=1e-4, callbacks=[lambda r: stamps.append(r.elapsed)])
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start, np.median(np.diff(stamps))


on_cluster, total_cluster, per_iter_cluster = fit_timed(X, y)

X_local, y_local = X.compute(), y.compute()  # small enough here, for the comparison
in_memory, total_memory, per_iter_memory = fit_timed(X_local, y_local)

gap = abs(on_cluster.loss_curve_[-1] - in_memory.loss_curve_[-1])
print(f"iterations: cluster {on_cluster.n_iter_}, in memory {in_memory.n_iter_}")
print(f"relative objective gap: {gap / in_memory.loss_curve_[-1]:.1e}")
print(f"max |coef difference|: {np.abs(on_cluster.coef_ - in_memory.coef_).max():.1e}")
print(f"one iteration: cluster {1e3 * per_iter_cluster:.1f} ms, "
      f"in memory {1e3 * per_iter_memory:.1f} ms")
print(f"whole fit:     cluster {total_cluster:.2f} s, in memory {total_memory:.2f} s")

# %%
# The two fits follow the same path: the cluster computes the same sums, only in
# another order. One iteration on the cluster costs the per-chunk work spread over
# the workers plus a fixed round trip through the scheduler (tens of milliseconds),
# so on data that fit in memory it is slower; it pays off when the per-chunk work
# dominates, and it is the only way when X does not fit on one machine.

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.plot(on_cluster.loss_curve_, "o-", label="dask, 8 chunks")
ax1.plot(in_memory.loss_curve_, "x--", label="in memory")
ax1.set(xlabel="L-BFGS iteration", ylabel="objective", yscale="log")
ax1.legend()
ax2.bar(["dask", "in memory"], [1e3 * per_iter_cluster, 1e3 * per_iter_memory])
ax2.set(ylabel="ms per iteration", title="one value-and-gradient")
fig.tight_layout()

# %%
# Stochastic solvers stream the chunks
# ------------------------------------
# With a first-order solver one epoch is one pass over the chunks, in an order drawn
# from ``random_state``; each chunk is fetched once per epoch and swept in shuffled
# mini-batches, with class weights computed over the whole array.
adam = SoftmaxRegressor(solver="adam", alpha=1e-4, max_iter=3, tol=None,
                        random_state=0).fit(X, y)
print(f"adam, 3 epochs: training accuracy {adam.score(X_local, y_local):.3f} "
      f"(L-BFGS: {on_cluster.score(X_local, y_local):.3f})")

# %%
client.close()
cluster.close()
