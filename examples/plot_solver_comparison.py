"""
Comparing the solvers
=====================

Every solver minimizes the same objective. We record the exact training objective
after each iteration (full-batch) or epoch (stochastic and saga) with a callback and
plot the relative suboptimality (f(w) - f*) / f* against wall-clock time, f* being
newton-cg's value at a tight tolerance.

The stochastic solvers run their whole learning-rate schedule: the "auto" rate is
annealed to 0 by a cosine over ``max_iter`` epochs, and with the default
``tol=None`` no early stop cuts the schedule short (a ``tol`` with
``n_iter_no_change`` would stop them while the rate is still high, far from the
optimum). To keep this page quick they get 100 epochs each (1,900 updates of 32
samples) instead of their default budget of 20,000 updates, on the first 600 digits;
single-sample ``"sgd"``, whose epochs are 600 Python-level updates, is left out. The
full-batch solvers and saga, a variance-reduced method with a constant step, run to
``tol=1e-6``.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skce import SoftmaxRegressor

X, y = load_digits(return_X_y=True)
X, y = StandardScaler().fit_transform(X[:600]), y[:600]  # a third: a quick page
alpha = 1e-3
rows = np.arange(len(y))


def objective(params):
    """Mean cross-entropy plus alpha / 2 ||W||^2; params has shape (65, 10), the
    last row being the intercept (the layout callbacks receive)."""
    Z = X @ params[:-1] + params[-1]
    ce = logsumexp(Z, axis=1) - Z[rows, y]
    return ce.mean() + 0.5 * alpha * np.sum(params[:-1] ** 2)


reference = SoftmaxRegressor(solver="newton-cg", alpha=alpha, tol=1e-10).fit(X, y)
f_star = objective(np.vstack([reference.coef_.T, reference.intercept_]))

full_batch = ["lbfgs", "newton-cg", "gd"]
stochastic = ["minibatch", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
traces, notes = {}, {}
for name in full_batch + ["saga"] + stochastic:
    times, values = [], []
    start = time.perf_counter()

    def record(rec, times=times, values=values, start=start):
        times.append(time.perf_counter() - start)  # the objective is not timed
        values.append(objective(rec.coef))

    budget = {"max_iter": 100} if name in stochastic else {"tol": 1e-6}
    model = SoftmaxRegressor(solver=name, alpha=alpha, random_state=0,
                             callbacks=[record], **budget)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    traces[name] = (times, values)
    notes[name] = model.stop_reason_ + (" (warned)" if caught else "")

fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (times, values) in traces.items():
    style = "-" if name in full_batch + ["saga"] else "--"
    ax.plot(times, [max((v - f_star) / f_star, 1e-16) for v in values], style,
            label=name)
ax.set(xscale="log", yscale="log", xlabel="seconds", ylabel="(f(w) - f*) / f*",
       title="600 digits, alpha=1e-3 (stochastic: 100 epochs, cosine-annealed rate)")
ax.legend(ncol=2, fontsize=8)
fig.tight_layout()

# %%
# Where each run ended (the relative suboptimality of its final coefficients):

for name, (times, values) in traces.items():
    print(f"{name:10s} {len(values):4d} iterations  {times[-1]:6.2f} s  "
          f"final {max((values[-1] - f_star) / f_star, 0.0):.1e}  stop: {notes[name]}")
